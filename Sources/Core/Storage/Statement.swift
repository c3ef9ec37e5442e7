internal import CSQLite3

/// A prepared SQL statement: bind arguments, step through rows, read columns.
///
/// Belongs to its `Database` and, like it, to the closure that made it.
public final class Statement {
    let database: Database
    let handle: OpaquePointer
    /// The SQL text the statement was prepared from.
    public let sql: String
    private var columnIndex: ColumnIndex?

    init(database: Database, handle: OpaquePointer, sql: String) {
        self.database = database
        self.handle = handle
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    /// The number of result columns (0 for statements that return no rows).
    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    /// The result column names, in order.
    public var columnNames: [String] {
        (0..<Int32(columnCount)).map { String(cString: sqlite3_column_name(handle, $0)) }
    }

    /// The declared types of the result columns (`INTEGER`, ...), nil for expressions.
    public var declaredTypes: [String?] {
        (0..<Int32(columnCount)).map { sqlite3_column_decltype(handle, $0).map { String(cString: $0) } }
    }

    /// The number of parameters (the largest `?NNN` index when numbered).
    public var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    /// Whether the statement cannot change the database (SQLite's own judgement, as used by authorizing layers).
    public var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    /// Whether the statement has started and not yet finished or been reset.
    public var isBusy: Bool { sqlite3_stmt_busy(handle) != 0 }

    /// Resets the statement to run again (bindings are kept).
    public func reset() {
        sqlite3_reset(handle)
    }

    /// Binds arguments, replacing earlier ones; their number (or names) must match the parameters.
    public func bind(_ arguments: StatementArguments) throws(DatabaseError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let count = parameterCount
        if !arguments.named.isEmpty {
            guard arguments.positional.isEmpty else {
                throw database.misuse("use positional or named arguments, not both", code: .range, sql: sql)
            }
            for index in stride(from: 1, through: count, by: 1) {
                guard let cName = sqlite3_bind_parameter_name(handle, Int32(index)) else {
                    throw database.misuse("parameter \(index) has no name but named arguments were given", code: .range, sql: sql)
                }
                let name = String(String(cString: cName).dropFirst())
                guard let value = arguments.named[name] else {
                    throw database.misuse("no argument for parameter :\(name)", code: .range, sql: sql)
                }
                try bind(value, at: Int32(index))
            }
        } else {
            guard arguments.positional.count == count else {
                throw database.misuse(
                    "the statement has \(count) parameter\(count == 1 ? "" : "s") but \(arguments.positional.count) argument\(arguments.positional.count == 1 ? " was" : "s were") given",
                    code: .range, sql: sql)
            }
            for (i, value) in arguments.positional.enumerated() {
                try bind(value, at: Int32(i + 1))
            }
        }
    }

    private func bind(_ value: DatabaseValue, at index: Int32) throws(DatabaseError) {
        let rc: Int32
        switch value {
        case .null:
            rc = sqlite3_bind_null(handle, index)
        case .integer(let v):
            rc = sqlite3_bind_int64(handle, index, v)
        case .real(let d):
            rc = sqlite3_bind_double(handle, index, d)
        case .text(var s):
            rc = s.withUTF8 { utf8 -> Int32 in
                guard utf8.count <= Int(Int32.max) else { return SQLITE_TOOBIG }
                let base = utf8.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
                return wb_sqlite3_bind_text(handle, index, base, Int32(utf8.count))
            }
        case .blob(let bytes):
            rc = bytes.withUnsafeBytes { raw -> Int32 in
                guard raw.count <= Int(Int32.max) else { return SQLITE_TOOBIG }
                return wb_sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count))
            }
        }
        try database.check(rc, sql: sql)
    }

    /// Advances to the next row: true when a row is ready, false when done (the statement is then reset).
    ///
    /// Stops with `.cancelled` or `.timedOut` when the access was cancelled or its deadline passed.
    public func step() throws(DatabaseError) -> Bool {
        // The full check (with the clock) only before the first row; later rows rely on the progress handler.
        if isBusy {
            try database.checkCancelled(sql: sql)
        } else {
            try database.checkInterrupts(sql: sql)
        }
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE {
            sqlite3_reset(handle)
            return false
        }
        let error = database.makeError(rc, sql: sql)
        sqlite3_reset(handle)
        throw error
    }

    /// The value of a column of the current row (0-based).
    public func value(at index: Int) -> DatabaseValue {
        let i = Int32(index)
        switch sqlite3_column_type(handle, i) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, i))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, i))
        case SQLITE_TEXT:
            let text = sqlite3_column_text(handle, i)
            let count = Int(sqlite3_column_bytes(handle, i))
            return DatabaseValue.fromText(UnsafeBufferPointer(start: text, count: text == nil ? 0 : count))
        case SQLITE_BLOB:
            let bytes = sqlite3_column_blob(handle, i)
            let count = Int(sqlite3_column_bytes(handle, i))
            guard let bytes, count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            return .null
        }
    }

    /// The current row as a `Row` (a copy that outlives the statement).
    public func currentRow() -> Row {
        let count = columnCount
        if columnIndex?.names.count != count { columnIndex = ColumnIndex(columnNames) }
        var values: [DatabaseValue] = []
        values.reserveCapacity(count)
        for i in 0..<count { values.append(value(at: i)) }
        return Row(values: values, columns: columnIndex!)
    }

    /// Runs the statement to completion with these arguments, ignoring any rows.
    public func execute(_ arguments: StatementArguments = []) throws(DatabaseError) {
        try bind(arguments)
        while try step() {}
    }

    /// All rows for these arguments.
    public func fetchAll(_ arguments: StatementArguments = []) throws(DatabaseError) -> [Row] {
        try bind(arguments)
        columnIndex = nil  // the schema may have changed since the last run
        var rows: [Row] = []
        while try step() { rows.append(currentRow()) }
        return rows
    }

    /// The first row for these arguments, or nil.
    public func fetchOne(_ arguments: StatementArguments = []) throws(DatabaseError) -> Row? {
        try bind(arguments)
        columnIndex = nil
        defer { sqlite3_reset(handle) }
        return try step() ? currentRow() : nil
    }

    /// Calls `body` for each row; an error thrown by `body` stops the iteration and resets the statement.
    public func forEachRow(_ arguments: StatementArguments = [], _ body: (Row) throws -> Void) throws {
        try bind(arguments)
        columnIndex = nil
        defer { sqlite3_reset(handle) }
        while try step() { try body(currentRow()) }
    }
}

extension DatabaseValue {
    /// Text from SQLite: a String when it is valid UTF-8, else its exact bytes as a blob.
    static func fromText(_ bytes: UnsafeBufferPointer<UInt8>) -> DatabaseValue {
        if let text = String(validating: bytes, as: UTF8.self) { return .text(text) }
        return .blob(Array(bytes))
    }
}
