#define _GNU_SOURCE
#include "cgittls.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

// mbedTLS's MBEDTLS_ERR_X509_FILE_IO_ERROR, returned if mbedTLS's own function cannot be found.
#define FILE_IO_ERROR (-0x2900)

static atomic_int deferring;
static char *deferred_file;
static char *deferred_path;

void wb_tls_set_deferring(int on) { atomic_store(&deferring, on); }
const char *wb_tls_deferred_file(void) { return deferred_file; }
const char *wb_tls_deferred_path(void) { return deferred_path; }

typedef int (*parse_function)(void *chain, const char *location);

static int forward(const char *name, void *chain, const char *location) {
    parse_function real = (parse_function)dlsym(RTLD_NEXT, name);
    return real ? real(chain, location) : FILE_IO_ERROR;
}

/// Interposes mbedTLS's: records the CA file while deferring (the chain stays empty), else parses it.
int mbedtls_x509_crt_parse_file(void *chain, const char *file) {
    if (atomic_load(&deferring) && file) {
        free(deferred_file);
        deferred_file = strdup(file);
        return 0;
    }
    return forward("mbedtls_x509_crt_parse_file", chain, file);
}

/// Interposes mbedTLS's: records the CA folder while deferring (the chain stays empty), else parses it.
int mbedtls_x509_crt_parse_path(void *chain, const char *path) {
    if (atomic_load(&deferring) && path) {
        free(deferred_path);
        deferred_path = strdup(path);
        return 0;
    }
    return forward("mbedtls_x509_crt_parse_path", chain, path);
}
