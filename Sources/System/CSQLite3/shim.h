#ifndef CSQLite3_SHIM_H
#define CSQLite3_SHIM_H
#include <sqlite3.h>

// Swift cannot import SQLITE_TRANSIENT (a cast of -1 to a function pointer) nor call
// the variadic sqlite3_db_config; these wrappers keep both on the C side.

/// Binds a copy of `n` bytes of UTF-8 text; an empty string stays text, not NULL.
static inline int wb_sqlite3_bind_text(sqlite3_stmt *stmt, int index, const char *text, int n) {
    if (n == 0) return sqlite3_bind_text(stmt, index, "", 0, SQLITE_STATIC);
    return sqlite3_bind_text(stmt, index, text, n, SQLITE_TRANSIENT);
}

/// Binds a copy of `n` bytes; an empty blob stays a blob, not NULL.
static inline int wb_sqlite3_bind_blob(sqlite3_stmt *stmt, int index, const void *bytes, int n) {
    if (n == 0) return sqlite3_bind_zeroblob(stmt, index, 0);
    return sqlite3_bind_blob(stmt, index, bytes, n, SQLITE_TRANSIENT);
}

/// Returns a copy of `n` bytes of UTF-8 text from a custom function.
static inline void wb_sqlite3_result_text(sqlite3_context *context, const char *text, int n) {
    if (n == 0) { sqlite3_result_text(context, "", 0, SQLITE_STATIC); return; }
    sqlite3_result_text(context, text, n, SQLITE_TRANSIENT);
}

/// Returns a copy of `n` bytes from a custom function.
static inline void wb_sqlite3_result_blob(sqlite3_context *context, const void *bytes, int n) {
    if (n == 0) { sqlite3_result_zeroblob(context, 0); return; }
    sqlite3_result_blob(context, bytes, n, SQLITE_TRANSIENT);
}

/// sqlite3_db_config for the boolean options (`op` is an SQLITE_DBCONFIG_* constant).
static inline int wb_sqlite3_db_config_bool(sqlite3 *db, int op, int on) {
    return sqlite3_db_config(db, op, on, (int *)0);
}

#endif
