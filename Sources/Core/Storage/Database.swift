#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CoreSupport
internal import CSQLite3
import Synchronization

/// The kind of lock a transaction takes when it begins.
public enum TransactionKind: String, Sendable {
    /// Locks on the first read or write: for reads.
    case deferred = "DEFERRED"
    /// Takes the write lock at once, so the transaction cannot fail later with `SQLITE_BUSY`: for writes.
    case immediate = "IMMEDIATE"
    /// Like immediate; in WAL mode it is the same.
    case exclusive = "EXCLUSIVE"

    /// The statement that begins such a transaction (a literal: no string is built per transaction).
    var begin: String {
        switch self {
        case .deferred: "BEGIN DEFERRED TRANSACTION"
        case .immediate: "BEGIN IMMEDIATE TRANSACTION"
        case .exclusive: "BEGIN EXCLUSIVE TRANSACTION"
        }
    }
}

/// One SQLite connection, reachable only inside the closures of a `DatabaseQueue` or `DatabasePool`.
///
/// Not Sendable: it belongs to the thread running the closure. Do not keep it after the closure returns.
public final class Database {
    /// The database file (or `:memory:`).
    public let path: String
    /// The configuration the connection was opened with.
    public let configuration: Configuration

    /// The `sqlite3 *`; nil once closed.
    private(set) var handle: OpaquePointer?
    let control: ConnectionControl
    private var statementCache: [String: Statement] = [:]
    var authorizer: ((AuthorizerAction) -> AuthorizerDecision)?
    /// Above zero while this module runs its own statements (BEGIN, COMMIT, pragmas): the
    /// authorizer allows them, and cancellation and deadlines do not stop them.
    var internalDepth = 0
    /// The monotonic time after which statements stop, and the timeout it came from.
    private var deadline: (at: Double, seconds: Double)?
    /// When the current wait for a lock began (for the busy handler).
    private var busyStart = 0.0

    private init(path: String, configuration: Configuration, handle: OpaquePointer, control: ConnectionControl) {
        self.path = path
        self.configuration = configuration
        self.handle = handle
        self.control = control
    }

    deinit { close() }

    // MARK: Opening and closing

    /// Opens (creating if needed) a database file and sets the connection up.
    static func open(path: String, configuration: Configuration, control: ConnectionControl) throws(DatabaseError) -> Database {
        let isFile = Database.isFile(path)
        if isFile && !configuration.readOnly {
            try createIfMissing(path, mode: mode_t(configuration.fileMode))
        }
        var flags = configuration.readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        flags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        var raw: OpaquePointer?
        let rc = sqlite3_open_v2(path, &raw, flags, nil)
        guard rc == SQLITE_OK, let raw else {
            let message = raw.map { String(cString: sqlite3_errmsg($0)) } ?? DatabaseError.text(for: rc)
            sqlite3_close(raw)
            throw DatabaseError(code: DatabaseError.Code(rawValue: rc), message: message, path: path)
        }
        let database = Database(path: path, configuration: configuration, handle: raw, control: control)
        do {
            try database.setUp(isFile: isFile)
        } catch {
            database.close()
            throw error
        }
        return database
    }

    static func isFile(_ path: String) -> Bool {
        !path.isEmpty && path != ":memory:" && !path.hasPrefix("file:")
    }

    /// Creates an empty file with `mode`, so that SQLite (and its WAL files) never widen the permissions.
    private static func createIfMissing(_ path: String, mode: mode_t) throws(DatabaseError) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd >= 0 {
            Glibc.close(fd)
            return
        }
        let code = errno
        if code == EEXIST { return }
        throw DatabaseError(
            code: .cannotOpen, message: "cannot create the database file: \(String(cString: strerror(code)))", path: path)
    }

    private func setUp(isFile: Bool) throws(DatabaseError) {
        guard let handle else { return }
        sqlite3_extended_result_codes(handle, 1)
        let me = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_busy_handler(handle, busyCallback, me)
        sqlite3_progress_handler(handle, 1000, progressCallback, me)
        let dqs: Int32 = configuration.acceptsDoubleQuotedStringLiterals ? 1 : 0
        _ = wb_sqlite3_db_config_bool(handle, SQLITE_DBCONFIG_DQS_DML, dqs)
        _ = wb_sqlite3_db_config_bool(handle, SQLITE_DBCONFIG_DQS_DDL, dqs)
        if configuration.defensive { _ = wb_sqlite3_db_config_bool(handle, SQLITE_DBCONFIG_DEFENSIVE, 1) }
        control.setHandle(handle)
        try internally { () throws(DatabaseError) in
            try executeScript("PRAGMA foreign_keys = \(configuration.foreignKeys ? "ON" : "OFF")")
            if isFile && !configuration.readOnly {
                let mode = try fetchValue("PRAGMA journal_mode = \(configuration.journalMode.rawValue)", as: String.self)
                guard mode?.uppercased() == configuration.journalMode.rawValue else {
                    throw DatabaseError(
                        code: .error,
                        message: "cannot set journal mode \(configuration.journalMode.rawValue) (SQLite kept \(mode ?? "none"))",
                        path: path)
                }
                try executeScript("PRAGMA synchronous = \(configuration.synchronous.rawValue)")
            } else {
                // Reading the schema fails now, with a clear error, for a file that is not a database.
                _ = try fetchValue("SELECT count(*) FROM sqlite_master", as: Int.self)
            }
        }
        if let prepare = configuration.prepareDatabase {
            do {
                try prepare(self)
            } catch let error as DatabaseError {
                throw error
            } catch {
                throw DatabaseError(code: .error, message: "preparing the connection failed: \(error)", path: path)
            }
        }
    }

    /// Finalizes cached statements and closes the connection (statements still held elsewhere keep it alive until freed).
    func close() {
        guard let handle else { return }
        statementCache.removeAll()
        control.setHandle(nil)
        sqlite3_progress_handler(handle, 0, nil, nil)
        sqlite3_busy_handler(handle, nil, nil)
        sqlite3_set_authorizer(handle, nil, nil)
        authorizer = nil
        sqlite3_close_v2(handle)
        self.handle = nil
    }

    // MARK: Errors

    /// The one path from an SQLite result code to a thrown `DatabaseError`.
    func check(_ rc: Int32, sql: String? = nil) throws(DatabaseError) {
        guard rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE else { return }
        throw makeError(rc, sql: sql)
    }

    /// The error for a failed call: SQLite's message, and whether it was a cancellation or a deadline.
    func makeError(_ rc: Int32, sql: String?) -> DatabaseError {
        let code = DatabaseError.Code(rawValue: rc)
        if code.primary == .interrupt || code.primary == .busy {
            if control.cancelled.load(ordering: .relaxed) {
                return DatabaseError(kind: .cancelled, code: code, message: "the statement was interrupted", sql: sql, path: path)
            }
            if let deadline, Clock.monotonic() >= deadline.at {
                return timedOut(deadline.seconds, code: code, sql: sql)
            }
        }
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? DatabaseError.text(for: rc)
        var error = DatabaseError(code: code, message: message, sql: sql, path: path)
        if let handle {
            let offset = sqlite3_error_offset(handle)
            if offset >= 0 { error.offset = Int(offset) }
        }
        return error
    }

    private func timedOut(_ seconds: Double, code: DatabaseError.Code, sql: String?) -> DatabaseError {
        DatabaseError(kind: .timedOut, code: code, message: "stopped after the \(seconds) s time limit", sql: sql, path: path)
    }

    /// An error this module raises itself (wrong argument count, several statements where one is expected).
    func misuse(_ message: String, code: DatabaseError.Code = .misuse, sql: String?) -> DatabaseError {
        DatabaseError(code: code, message: message, sql: sql, path: path)
    }

    /// Throws if the running access was cancelled or its deadline passed; long Swift loops call it between statements.
    public func checkCancellation() throws(DatabaseError) {
        try checkInterrupts(sql: nil)
    }

    func checkInterrupts(sql: String?) throws(DatabaseError) {
        try checkCancelled(sql: sql)
        guard internalDepth == 0 else { return }
        if let deadline, Clock.monotonic() >= deadline.at {
            throw timedOut(deadline.seconds, code: .interrupt, sql: sql)
        }
    }

    /// Throws if the running access was cancelled (one atomic load: cheap enough for every row).
    func checkCancelled(sql: String?) throws(DatabaseError) {
        if internalDepth == 0 && control.cancelled.load(ordering: .relaxed) {
            throw DatabaseError(kind: .cancelled, code: .interrupt, message: "the access was cancelled", sql: sql, path: path)
        }
    }

    /// Whether the progress handler should stop the running statement.
    fileprivate var shouldStop: Bool {
        guard internalDepth == 0 else { return false }
        if control.cancelled.load(ordering: .relaxed) { return true }
        if let deadline { return Clock.monotonic() >= deadline.at }
        return false
    }

    /// Whether the busy handler should wait again for a lock (and sleeps a little if so).
    fileprivate func waitForLock(attempt: Int32) -> Bool {
        let now = Clock.monotonic()
        if attempt == 0 { busyStart = now }
        if control.cancelled.load(ordering: .relaxed) { return false }
        var remaining = configuration.busyTimeout - (now - busyStart)
        if let deadline { remaining = min(remaining, deadline.at - now) }
        guard remaining > 0 else { return false }
        let delays: [Double] = [0.001, 0.002, 0.005, 0.010, 0.015, 0.020, 0.025, 0.025, 0.025, 0.050, 0.050, 0.100]
        let delay = min(delays[min(Int(attempt), delays.count - 1)], remaining)
        var request = timespec(tv_sec: 0, tv_nsec: Int(delay * 1e9))
        var left = timespec()
        while nanosleep(&request, &left) != 0 && errno == EINTR { request = left }
        return true
    }

    /// Runs `body` with a time limit: a statement still running when it passes stops with a `.timedOut` error.
    ///
    /// Nested limits keep the earlier deadline. Waiting for a lock counts too.
    public func withTimeout<T>(_ seconds: Double, _ body: () throws -> T) throws -> T {
        let previous = deadline
        let at = Clock.monotonic() + seconds
        if previous == nil || at < previous!.at { deadline = (at, seconds) }
        defer { deadline = previous }
        return try body()
    }

    /// Runs this module's own statements: the authorizer allows them and interruptions do not stop them.
    func internally<T>(_ body: () throws(DatabaseError) -> T) throws(DatabaseError) -> T {
        internalDepth += 1
        defer { internalDepth -= 1 }
        return try body()
    }

    // MARK: Statements

    /// Prepares one statement (not cached). SQL with more than one statement is an error.
    public func makeStatement(_ sql: String) throws(DatabaseError) -> Statement {
        try prepare(sql, persistent: false)
    }

    /// A prepared statement for `sql`, reused across calls (a fresh one while the cached one is mid-iteration).
    public func cachedStatement(_ sql: String) throws(DatabaseError) -> Statement {
        if let statement = statementCache[sql] {
            if !statement.isBusy { return statement }
            return try prepare(sql, persistent: false)
        }
        let statement = try prepare(sql, persistent: true)
        if statementCache.count >= configuration.statementCacheSize {
            statementCache = statementCache.filter { $0.value.isBusy }
        }
        statementCache[sql] = statement
        return statement
    }

    private func prepare(_ sql: String, persistent: Bool) throws(DatabaseError) -> Statement {
        guard let handle else { throw misuse("the connection is closed", sql: sql) }
        var statement: OpaquePointer?
        var extra: OpaquePointer?
        let flags: UInt32 = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let (rc, extraRC) = sql.withCString { text -> (Int32, Int32) in
            var tail: UnsafePointer<CChar>?
            let rc = sqlite3_prepare_v3(handle, text, -1, flags, &statement, &tail)
            guard rc == SQLITE_OK, let tail, !Database.isBlank(tail) else { return (rc, SQLITE_OK) }
            // Something follows the first statement: only comments may.
            let extraRC = sqlite3_prepare_v2(handle, tail, -1, &extra, nil)
            return (rc, extraRC)
        }
        guard rc == SQLITE_OK else {
            sqlite3_finalize(statement)
            throw makeError(rc, sql: sql)
        }
        if extra != nil || extraRC != SQLITE_OK {
            sqlite3_finalize(extra)
            sqlite3_finalize(statement)
            throw misuse("expected one SQL statement, found more; run scripts with execute(_:) and no arguments", sql: sql)
        }
        guard let statement else { throw misuse("no SQL statement to run", sql: sql) }
        return Statement(database: self, handle: statement, sql: sql)
    }

    private static func isBlank(_ text: UnsafePointer<CChar>) -> Bool {
        var p = text
        while p.pointee != 0 {
            switch UInt8(bitPattern: p.pointee) {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0C, UInt8(ascii: ";"): p += 1
            default: return false
            }
        }
        return true
    }

    /// Runs SQL: with no arguments, every statement in `sql` (a script); with arguments, the one statement they bind.
    public func execute(_ sql: String, _ arguments: StatementArguments = []) throws(DatabaseError) {
        if arguments.isEmpty {
            try executeScript(sql)
        } else {
            try cachedStatement(sql).execute(arguments)
        }
    }

    /// Runs each statement of a script in turn, stopping at the first error.
    private func executeScript(_ sql: String) throws(DatabaseError) {
        guard let handle else { throw misuse("the connection is closed", sql: sql) }
        let bytes = Array(sql.utf8CString)
        var offset = 0
        while offset < bytes.count - 1 {
            var raw: OpaquePointer?
            var consumed = 0
            let rc = bytes.withUnsafeBufferPointer { buffer -> Int32 in
                let start = buffer.baseAddress! + offset
                var tail: UnsafePointer<CChar>?
                let rc = sqlite3_prepare_v2(handle, start, Int32(buffer.count - 1 - offset), &raw, &tail)
                consumed = tail.map { $0 - start } ?? (buffer.count - 1 - offset)
                return rc
            }
            let text = String(decoding: bytes[offset..<(offset + consumed)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard rc == SQLITE_OK else {
                sqlite3_finalize(raw)
                throw makeError(rc, sql: text.trimmed())
            }
            if consumed == 0 && raw == nil { break }
            offset += consumed
            guard let raw else { continue }  // only a comment or whitespace
            let statement = Statement(database: self, handle: raw, sql: text.trimmed())
            try statement.execute([])
        }
    }

    /// All rows of a query.
    public func fetchAll(_ sql: String, _ arguments: StatementArguments = []) throws(DatabaseError) -> [Row] {
        try cachedStatement(sql).fetchAll(arguments)
    }

    /// The first row of a query, or nil when it has none.
    public func fetchOne(_ sql: String, _ arguments: StatementArguments = []) throws(DatabaseError) -> Row? {
        try cachedStatement(sql).fetchOne(arguments)
    }

    /// The first column of the first row converted to `T`; nil for no row, NULL, or a value `T` does not accept.
    public func fetchValue<T: DatabaseValueConvertible>(
        _ sql: String, _ arguments: StatementArguments = [], as type: T.Type = T.self
    ) throws(DatabaseError) -> T? {
        // No `Row` (and no column-name index) for one value: this runs for every version check.
        let statement = try cachedStatement(sql)
        try statement.bind(arguments)
        defer { statement.reset() }
        guard try statement.step(), statement.columnCount > 0 else { return nil }
        return T.fromDatabaseValue(statement.value(at: 0))
    }

    /// Calls `body` for each row of a query, without keeping them all in memory; an error thrown by `body` stops it.
    public func forEachRow(_ sql: String, _ arguments: StatementArguments = [], _ body: (Row) throws -> Void) throws {
        try cachedStatement(sql).forEachRow(arguments, body)
    }

    /// Drops every cached statement (they are finalized unless still held elsewhere).
    func clearStatementCache() {
        statementCache.removeAll()
    }

    /// Resets every statement still mid-iteration (after an error, so ROLLBACK is not refused or interrupted).
    func resetActiveStatements() {
        guard let handle else { return }
        var statement = sqlite3_next_stmt(handle, nil)
        while let current = statement {
            if sqlite3_stmt_busy(current) != 0 { sqlite3_reset(current) }
            statement = sqlite3_next_stmt(handle, current)
        }
    }

    // MARK: Facts

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertedRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    /// The rows changed by the last INSERT, UPDATE or DELETE.
    public var changesCount: Int { handle.map { Int(sqlite3_changes64($0)) } ?? 0 }

    /// Whether a transaction is open.
    public var isInsideTransaction: Bool { handle.map { sqlite3_get_autocommit($0) == 0 } ?? false }

    /// Whether a table (or view) with this name exists in the main schema.
    public func tableExists(_ name: String) throws(DatabaseError) -> Bool {
        try internally { () throws(DatabaseError) in
            try fetchValue(
                "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ? COLLATE NOCASE", [name],
                as: Int.self) != nil
        }
    }

    // MARK: Transactions

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    public func inTransaction<T>(_ kind: TransactionKind = .deferred, _ body: () throws -> T) throws -> T {
        try executeOwn(kind.begin)
        let value: T
        do {
            value = try body()
        } catch {
            rollback()
            throw error
        }
        guard isInsideTransaction else {
            throw DatabaseError(
                code: .abort,
                message: "the transaction was already rolled back (SQLite undoes it after some errors), so nothing was committed",
                path: path)
        }
        do {
            try executeOwn("COMMIT TRANSACTION")
        } catch {
            rollback()
            throw error
        }
        return value
    }

    /// Runs one of this module's own fixed statements (BEGIN, COMMIT, ...) as `internally` does, prepared
    /// once per connection: they run around every read and write, where parsing them again each time showed.
    func executeOwn(_ sql: String) throws(DatabaseError) {
        try internally { () throws(DatabaseError) in
            let statement = try cachedStatement(sql)
            statement.reset()
            while try statement.step() {}
        }
    }

    /// Runs `body` in a savepoint (a nested transaction): released when it returns, undone when it throws.
    public func inSavepoint<T>(_ body: () throws -> T) throws -> T {
        try internally { () throws(DatabaseError) in try executeScript("SAVEPOINT wb_savepoint") }
        do {
            let value = try body()
            try internally { () throws(DatabaseError) in try executeScript("RELEASE SAVEPOINT wb_savepoint") }
            return value
        } catch {
            resetActiveStatements()
            try? internally { () throws(DatabaseError) in
                try executeScript("ROLLBACK TO SAVEPOINT wb_savepoint; RELEASE SAVEPOINT wb_savepoint")
            }
            throw error
        }
    }

    /// Rolls back the open transaction, if SQLite has not already; an interruption cannot stop it.
    func rollback() {
        guard isInsideTransaction else { return }
        resetActiveStatements()
        do {
            try executeOwn("ROLLBACK TRANSACTION")
        } catch {
            // A late sqlite3_interrupt can still hit the ROLLBACK itself: reset and try once more.
            resetActiveStatements()
            try? executeOwn("ROLLBACK TRANSACTION")
        }
    }

    /// Runs `body` in a deferred transaction with writes refused (`PRAGMA query_only`).
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        if configuration.readOnly { return try inTransaction(.deferred, body) }
        try executeOwn("PRAGMA query_only = 1")
        defer { try? executeOwn("PRAGMA query_only = 0") }
        return try inTransaction(.deferred, body)
    }
}

// MARK: C callbacks (no captures: the connection comes back through the user-data pointer)

private let busyCallback: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32 = { raw, attempt in
    let database = Unmanaged<Database>.fromOpaque(raw!).takeUnretainedValue()
    return database.waitForLock(attempt: attempt) ? 1 : 0
}

private let progressCallback: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { raw in
    let database = Unmanaged<Database>.fromOpaque(raw!).takeUnretainedValue()
    return database.shouldStop ? 1 : 0
}
