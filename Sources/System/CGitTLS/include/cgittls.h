#ifndef CGITTLS_H
#define CGITTLS_H

/// Deferring libgit2's CA certificates (Docs/architecture.md, Git, "TLS certificates on demand").
///
/// libgit2 1.5 built with mbedTLS (Debian's) parses the whole system CA bundle inside
/// `git_libgit2_init`, which every git command pays for and only https needs. This library defines
/// `mbedtls_x509_crt_parse_file` and `mbedtls_x509_crt_parse_path` in the executable, so libgit2's
/// calls reach them first: while deferring is on they only record what libgit2 asked to load;
/// otherwise they call mbedTLS's own. The certificates are then loaded with
/// `GIT_OPT_SET_SSL_CERT_LOCATIONS` before the first https connection. Where the interposition does
/// not take effect (libgit2 built with OpenSSL, or the symbols not exported), nothing is recorded and
/// libgit2 behaves as usual.

/// Turns deferring on (1) or off (0); on only around `git_libgit2_init`.
void wb_tls_set_deferring(int on);
/// The CA file libgit2 asked for while deferring, or NULL.
const char *wb_tls_deferred_file(void);
/// The CA folder libgit2 asked for while deferring, or NULL.
const char *wb_tls_deferred_path(void);

#endif
