internal import CSQLite3

/// Binding one parameter at a time, without building `DatabaseValue`s: the bulk-insert path.
///
/// Indexes are 1-based, as in SQLite. Text and blob bytes are copied by SQLite at once, so
/// the caller's buffer may change after the call. Bind every parameter, then `executeBound()`.
extension Statement {
    /// Binds NULL.
    public func bindNull(at index: Int32) throws(DatabaseError) {
        try database.check(sqlite3_bind_null(handle, index), sql: sql)
    }

    /// Binds a 64-bit integer.
    public func bind(_ value: Int64, at index: Int32) throws(DatabaseError) {
        try database.check(sqlite3_bind_int64(handle, index, value), sql: sql)
    }

    /// Binds a double.
    public func bind(_ value: Double, at index: Int32) throws(DatabaseError) {
        try database.check(sqlite3_bind_double(handle, index, value), sql: sql)
    }

    /// Binds UTF-8 text from raw bytes (which must be valid UTF-8).
    public func bindText(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws(DatabaseError) {
        guard bytes.count <= Int(Int32.max) else { throw database.misuse("text too large to bind", code: .tooBig, sql: sql) }
        let base = bytes.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) }
        try database.check(wb_sqlite3_bind_text(handle, index, base, Int32(bytes.count)), sql: sql)
    }

    /// Binds a blob from raw bytes.
    public func bindBlob(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws(DatabaseError) {
        guard bytes.count <= Int(Int32.max) else { throw database.misuse("blob too large to bind", code: .tooBig, sql: sql) }
        try database.check(wb_sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count)), sql: sql)
    }

    /// Binds UTF-8 text without copying it (`SQLITE_STATIC`): the bytes must stay valid and unchanged
    /// until the statement has run and every parameter bound this way is bound again or cleared.
    public func bindTextNoCopy(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws(DatabaseError) {
        guard bytes.count <= Int(Int32.max) else { throw database.misuse("text too large to bind", code: .tooBig, sql: sql) }
        // A NULL pointer would bind NULL: the empty string is a static one.
        let base = bytes.isEmpty ? emptyText : bytes.baseAddress!.assumingMemoryBound(to: CChar.self)
        try database.check(sqlite3_bind_text(handle, index, base, Int32(bytes.count), nil), sql: sql)
    }

    /// Binds a blob without copying it (`SQLITE_STATIC`), under the same rule as `bindTextNoCopy`.
    public func bindBlobNoCopy(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws(DatabaseError) {
        guard bytes.count <= Int(Int32.max) else { throw database.misuse("blob too large to bind", code: .tooBig, sql: sql) }
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            try database.check(sqlite3_bind_zeroblob(handle, index, 0), sql: sql)
            return
        }
        try database.check(sqlite3_bind_blob(handle, index, base, Int32(bytes.count), nil), sql: sql)
    }

    /// Runs the statement once with the parameters bound so far, ignoring any rows, and resets it
    /// (bindings are kept). Stops with `.cancelled` when the access was cancelled.
    public func executeBound() throws(DatabaseError) {
        try database.checkCancelled(sql: sql)
        var rc = sqlite3_step(handle)
        while rc == SQLITE_ROW { rc = sqlite3_step(handle) }
        guard rc == SQLITE_DONE else {
            let error = database.makeError(rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
        sqlite3_reset(handle)
    }
}

/// The empty C string, in the binary's constant data: valid for the process's life.
private var emptyText: UnsafePointer<CChar> { UnsafeRawPointer(StaticString("").utf8Start).assumingMemoryBound(to: CChar.self) }
