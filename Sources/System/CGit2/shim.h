#ifndef CGit2_SHIM_H
#define CGit2_SHIM_H
#include <git2.h>

/// `git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, path)`, which Swift cannot call (variadic).
static inline int wb_git_set_ssl_cert_locations(const char *file, const char *path) {
    return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, path);
}

#endif
