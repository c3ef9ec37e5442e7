internal import CSQLite3

/// One action SQLite asks the authorizer about while preparing a statement.
///
/// The meaning of the four strings depends on the code (see https://sqlite.org/c3ref/c_alter_table.html):
/// for `.read` and `.update` they are the table, the column, the schema (`main`, `temp`, an attached name)
/// and the innermost trigger or view the access comes from.
public struct AuthorizerAction: Sendable, Equatable, CustomStringConvertible {
    /// What is being done.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let createIndex = Code(rawValue: SQLITE_CREATE_INDEX)
        public static let createTable = Code(rawValue: SQLITE_CREATE_TABLE)
        public static let createTempIndex = Code(rawValue: SQLITE_CREATE_TEMP_INDEX)
        public static let createTempTable = Code(rawValue: SQLITE_CREATE_TEMP_TABLE)
        public static let createTempTrigger = Code(rawValue: SQLITE_CREATE_TEMP_TRIGGER)
        public static let createTempView = Code(rawValue: SQLITE_CREATE_TEMP_VIEW)
        public static let createTrigger = Code(rawValue: SQLITE_CREATE_TRIGGER)
        public static let createView = Code(rawValue: SQLITE_CREATE_VIEW)
        public static let delete = Code(rawValue: SQLITE_DELETE)
        public static let dropIndex = Code(rawValue: SQLITE_DROP_INDEX)
        public static let dropTable = Code(rawValue: SQLITE_DROP_TABLE)
        public static let dropTempIndex = Code(rawValue: SQLITE_DROP_TEMP_INDEX)
        public static let dropTempTable = Code(rawValue: SQLITE_DROP_TEMP_TABLE)
        public static let dropTempTrigger = Code(rawValue: SQLITE_DROP_TEMP_TRIGGER)
        public static let dropTempView = Code(rawValue: SQLITE_DROP_TEMP_VIEW)
        public static let dropTrigger = Code(rawValue: SQLITE_DROP_TRIGGER)
        public static let dropView = Code(rawValue: SQLITE_DROP_VIEW)
        public static let insert = Code(rawValue: SQLITE_INSERT)
        public static let pragma = Code(rawValue: SQLITE_PRAGMA)
        public static let read = Code(rawValue: SQLITE_READ)
        public static let select = Code(rawValue: SQLITE_SELECT)
        public static let transaction = Code(rawValue: SQLITE_TRANSACTION)
        public static let update = Code(rawValue: SQLITE_UPDATE)
        public static let attach = Code(rawValue: SQLITE_ATTACH)
        public static let detach = Code(rawValue: SQLITE_DETACH)
        public static let alterTable = Code(rawValue: SQLITE_ALTER_TABLE)
        public static let reindex = Code(rawValue: SQLITE_REINDEX)
        public static let analyze = Code(rawValue: SQLITE_ANALYZE)
        public static let createVTable = Code(rawValue: SQLITE_CREATE_VTABLE)
        public static let dropVTable = Code(rawValue: SQLITE_DROP_VTABLE)
        public static let function = Code(rawValue: SQLITE_FUNCTION)
        public static let savepoint = Code(rawValue: SQLITE_SAVEPOINT)
        public static let recursive = Code(rawValue: SQLITE_RECURSIVE)

        public var description: String {
            let names: [Int32: String] = [
                1: "createIndex", 2: "createTable", 3: "createTempIndex", 4: "createTempTable", 5: "createTempTrigger",
                6: "createTempView", 7: "createTrigger", 8: "createView", 9: "delete", 10: "dropIndex", 11: "dropTable",
                12: "dropTempIndex", 13: "dropTempTable", 14: "dropTempTrigger", 15: "dropTempView", 16: "dropTrigger",
                17: "dropView", 18: "insert", 19: "pragma", 20: "read", 21: "select", 22: "transaction", 23: "update",
                24: "attach", 25: "detach", 26: "alterTable", 27: "reindex", 28: "analyze", 29: "createVTable",
                30: "dropVTable", 31: "function", 32: "savepoint", 33: "recursive",
            ]
            return names[rawValue] ?? "action\(rawValue)"
        }
    }

    /// What is being done.
    public var code: Code
    /// The first detail (a table, index or pragma name, or a function name for `.function`).
    public var first: String?
    /// The second detail (a column name for `.read` and `.update`, the function name for `.function`).
    public var second: String?
    /// The schema name (`main`, `temp` or an attached database), when it applies.
    public var schema: String?
    /// The innermost trigger or view responsible for the access, or nil for direct access from the statement.
    public var source: String?

    public init(code: Code, first: String? = nil, second: String? = nil, schema: String? = nil, source: String? = nil) {
        self.code = code
        self.first = first
        self.second = second
        self.schema = schema
        self.source = source
    }

    /// The table, for actions on a table (`.read`, `.update`, `.insert`, `.delete`, ...).
    public var table: String? { first }
    /// The column, for `.read` and `.update`.
    public var column: String? { second }

    public var description: String {
        "\(code)(\([first, second, schema, source].map { $0 ?? "-" }.joined(separator: ", ")))"
    }
}

/// The authorizer's answer for one action.
public enum AuthorizerDecision: Sendable {
    /// Allow the action.
    case allow
    /// Refuse the whole statement: preparing it fails with `SQLITE_AUTH`.
    case deny
    /// For `.read`, read the column as NULL; for `.delete`, turn off the truncate optimization; else the same as deny.
    case ignore
}

/// Options for a custom SQL function.
public struct FunctionOptions: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The same arguments always give the same result (lets SQLite use it in indexes and factor calls out).
    public static let deterministic = FunctionOptions(rawValue: SQLITE_DETERMINISTIC)
    /// Callable only from top-level SQL, never from views, triggers or schema (`SQLITE_DIRECTONLY`).
    public static let directOnly = FunctionOptions(rawValue: SQLITE_DIRECTONLY)
    /// Harmless even when called from a schema written by someone else (`SQLITE_INNOCUOUS`).
    public static let innocuous = FunctionOptions(rawValue: SQLITE_INNOCUOUS)
}

/// A custom function's Swift body, kept alive by SQLite until the function is replaced or the connection closes.
private final class FunctionBox {
    let body: ([DatabaseValue]) throws -> DatabaseValue
    init(_ body: @escaping ([DatabaseValue]) throws -> DatabaseValue) { self.body = body }
}

extension Database {
    /// Installs (or with nil removes) the authorizer consulted for every action of every statement this connection prepares.
    ///
    /// It stays on the connection (for later reads and writes too) until replaced; `withAuthorizer` scopes one.
    /// Statements prepared earlier are prepared again, so they meet the new authorizer. The statements
    /// this module runs itself (BEGIN, COMMIT, ROLLBACK, `PRAGMA query_only`, migration bookkeeping)
    /// are not shown to it. The closure must not use the database.
    public func setAuthorizer(_ authorizer: ((AuthorizerAction) -> AuthorizerDecision)?) {
        guard let handle else { return }
        self.authorizer = authorizer
        if authorizer == nil {
            sqlite3_set_authorizer(handle, nil, nil)
        } else {
            sqlite3_set_authorizer(handle, authorizerCallback, Unmanaged.passUnretained(self).toOpaque())
        }
        // SQLite expires prepared statements on a new authorizer; dropping the cache also frees them now.
        clearStatementCache()
    }

    /// Runs `body` with `authorizer` installed, then puts back the one before it.
    public func withAuthorizer<T>(
        _ authorizer: @escaping (AuthorizerAction) -> AuthorizerDecision, _ body: () throws -> T
    ) rethrows -> T {
        let previous = self.authorizer
        setAuthorizer(authorizer)
        defer { setAuthorizer(previous) }
        return try body()
    }

    fileprivate func authorize(_ action: AuthorizerAction) -> Int32 {
        guard internalDepth == 0, let authorizer else { return SQLITE_OK }
        switch authorizer(action) {
        case .allow: return SQLITE_OK
        case .deny: return SQLITE_DENY
        case .ignore: return SQLITE_IGNORE
        }
    }

    /// Registers a scalar SQL function implemented in Swift, replacing one with the same name and argument count.
    ///
    /// `argumentCount` nil accepts any number of arguments. An error thrown by `body` fails the statement
    /// with that error's description as its message.
    public func addFunction(
        _ name: String, argumentCount: Int?, options: FunctionOptions = [.deterministic],
        _ body: @escaping ([DatabaseValue]) throws -> DatabaseValue
    ) throws(DatabaseError) {
        guard let handle else { throw misuse("the connection is closed", sql: nil) }
        let box = Unmanaged.passRetained(FunctionBox(body)).toOpaque()
        // On failure SQLite calls the destructor itself, which releases the box.
        let rc = sqlite3_create_function_v2(
            handle, name, Int32(argumentCount ?? -1), SQLITE_UTF8 | options.rawValue, box,
            functionCallback, nil, nil, functionDestructor)
        try check(rc)
    }

    /// Removes a custom function registered with `addFunction`.
    public func removeFunction(_ name: String, argumentCount: Int?) throws(DatabaseError) {
        guard let handle else { throw misuse("the connection is closed", sql: nil) }
        let rc = sqlite3_create_function_v2(handle, name, Int32(argumentCount ?? -1), SQLITE_UTF8, nil, nil, nil, nil, nil)
        try check(rc)
    }
}

private let authorizerCallback:
    @convention(c) (
        UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
        UnsafePointer<CChar>?
    ) -> Int32 = { raw, code, a, b, c, d in
        let database = Unmanaged<Database>.fromOpaque(raw!).takeUnretainedValue()
        let action = AuthorizerAction(
            code: AuthorizerAction.Code(rawValue: code), first: a.map { String(cString: $0) },
            second: b.map { String(cString: $0) }, schema: c.map { String(cString: $0) },
            source: d.map { String(cString: $0) })
        return database.authorize(action)
    }

private let functionCallback: @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?) -> Void = {
    context, count, argv in
    let box = Unmanaged<FunctionBox>.fromOpaque(sqlite3_user_data(context)!).takeUnretainedValue()
    var arguments: [DatabaseValue] = []
    arguments.reserveCapacity(Int(count))
    for i in 0..<Int(count) {
        arguments.append(DatabaseValue(sqliteValue: argv![i]))
    }
    do {
        switch try box.body(arguments) {
        case .null:
            sqlite3_result_null(context)
        case .integer(let v):
            sqlite3_result_int64(context, v)
        case .real(let d):
            sqlite3_result_double(context, d)
        case .text(var s):
            s.withUTF8 { utf8 in
                guard utf8.count <= Int(Int32.max) else { return sqlite3_result_error_toobig(context) }
                let base = utf8.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
                wb_sqlite3_result_text(context, base, Int32(utf8.count))
            }
        case .blob(let bytes):
            bytes.withUnsafeBytes { raw in
                guard raw.count <= Int(Int32.max) else { return sqlite3_result_error_toobig(context) }
                wb_sqlite3_result_blob(context, raw.baseAddress, Int32(raw.count))
            }
        }
    } catch let error as DatabaseError {
        sqlite3_result_error(context, error.message, -1)
    } catch {
        sqlite3_result_error(context, "\(error)", -1)
    }
}

private let functionDestructor: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    guard let raw else { return }
    Unmanaged<FunctionBox>.fromOpaque(raw).release()
}

extension DatabaseValue {
    /// A copy of an `sqlite3_value` (a function argument).
    init(sqliteValue value: OpaquePointer?) {
        switch sqlite3_value_type(value) {
        case SQLITE_INTEGER:
            self = .integer(sqlite3_value_int64(value))
        case SQLITE_FLOAT:
            self = .real(sqlite3_value_double(value))
        case SQLITE_TEXT:
            let text = sqlite3_value_text(value)
            let count = Int(sqlite3_value_bytes(value))
            self = .fromText(UnsafeBufferPointer(start: text, count: text == nil ? 0 : count))
        case SQLITE_BLOB:
            let bytes = sqlite3_value_blob(value)
            let count = Int(sqlite3_value_bytes(value))
            guard let bytes, count > 0 else {
                self = .blob([])
                return
            }
            self = .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            self = .null
        }
    }
}
