import Catalog
public import CoreSupport
import Storage

/// A lakehouse failure: what went wrong and, for SQL, where (line and column in the text the user wrote).
public struct LakehouseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure, for callers that react differently (the CLI maps them to exit codes).
    public enum Code: String, Sendable {
        /// The SQL does not parse, or names something that does not exist in it (SQLite's own errors too).
        case syntax
        /// A database, table, column or snapshot that does not exist.
        case notFound
        /// A name that is taken.
        case alreadyExists
        /// A write to a federated (read-only) source, or a write with `--as-of`.
        case readOnly
        /// A statement the lakehouse does not run (PRAGMA, ATTACH, triggers, WITHOUT ROWID tables, ...).
        case unsupported
        /// A snapshot removed by retention, or a time before the table existed.
        case expired
        /// A constraint failed, or input rows do not fit the table.
        case invalidInput
        /// Another process held the write lock past the busy timeout.
        case busy
        case cancelled
        case timedOut
        /// The access policy does not let the caller do this (Docs/governance.md).
        case denied
        /// The store failed (I/O, disk full, damaged file).
        case storage
    }

    public var code: Code
    public var message: String
    /// The statement the error is about, as the user wrote it.
    public var sql: String?
    /// 1-based line and column in `sql`, when the engine knows the place.
    public var line: Int?
    public var column: Int?

    public init(_ code: Code, _ message: String, sql: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        self.line = line
        self.column = column
    }

    /// A syntax error at a UTF-8 byte offset of `sql`.
    static func syntax(_ message: String, sql: String, offset: Int) -> LakehouseError {
        let (line, column) = LakehouseError.position(of: offset, in: sql)
        return LakehouseError(.syntax, message, sql: sql, line: line, column: column)
    }

    /// The 1-based line and column (in characters) of a UTF-8 byte offset.
    static func position(of offset: Int, in sql: String) -> (Int, Int) {
        var line = 1, column = 1, consumed = 0
        for character in sql {
            if consumed >= offset { break }
            consumed += character.utf8.count
            if character == "\n" || character == "\r\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }

    public var description: String {
        guard let line, let column else { return message }
        return "\(message) (at line \(line), column \(column))"
    }

    /// The error as JSON, for `--json` and the bus.
    public var jsonValue: JSON {
        var object: JSONObject = ["code": .string(code.rawValue), "message": .string(message)]
        if let line { object["line"] = .int(line) }
        if let column { object["column"] = .int(column) }
        return .object(object)
    }

    /// The caret line for terminals: the statement's line and a `^` under the column.
    public var pointer: String? {
        guard let sql, let line, let column else { return nil }
        let lines = sql.split(separator: "\n", omittingEmptySubsequences: false)
        guard line - 1 < lines.count else { return nil }
        let text = String(lines[line - 1])
        return text + "\n" + String(repeating: " ", count: max(0, column - 1)) + "^"
    }

    /// Wraps any error from a lower layer.
    static func wrap(_ error: any Error, sql: String? = nil) -> LakehouseError {
        switch error {
        case let error as LakehouseError: return error
        case let error as CatalogError:
            let code: Code =
                switch error.code {
                case .notFound: .notFound
                case .alreadyExists: .alreadyExists
                case .invalidName: .invalidInput
                case .readOnly: .readOnly
                case .database: .storage
                }
            return LakehouseError(code, error.message, sql: sql)
        case let error as DatabaseError:
            return LakehouseError.from(error, sql: sql)
        case is CancellationError:
            return LakehouseError(.cancelled, "the query was cancelled", sql: sql)
        case let error as DomainError:
            return LakehouseError(.storage, error.message, sql: sql)
        default:
            return LakehouseError(.storage, "\(error)", sql: sql)
        }
    }

    static func from(_ error: DatabaseError, sql: String?) -> LakehouseError {
        switch error.kind {
        case .cancelled: return LakehouseError(.cancelled, "the query was cancelled", sql: sql)
        case .timedOut: return LakehouseError(.timedOut, "the query \(error.message)", sql: sql)
        default: break
        }
        switch error.code.primary {
        case .busy, .locked:
            return LakehouseError(.busy, "the lakehouse is busy (another writer held the lock too long): \(error.message)", sql: sql)
        case .constraint, .mismatch, .tooBig, .range:
            return LakehouseError(.invalidInput, error.message, sql: sql)
        case .auth:
            return LakehouseError(.unsupported, "not allowed in lakehouse SQL: \(error.message)", sql: sql)
        case .readOnly:
            return LakehouseError(.readOnly, error.message, sql: sql)
        case .error:
            return LakehouseError(.syntax, error.message, sql: sql)
        default:
            return LakehouseError(.storage, error.message, sql: sql)
        }
    }
}
