internal import CSQLite3

/// A failed database operation: the SQLite result code, its message, the SQL and the file.
///
/// Every error this module throws is a `DatabaseError`. Most come from SQLite through one
/// path (`Database.check`); `kind` tells apart the outcomes callers handle differently:
/// a cancelled or timed-out statement, and a store whose schema this build cannot use.
public struct DatabaseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An SQLite result code, primary (`SQLITE_CONSTRAINT`) or extended (`SQLITE_CONSTRAINT_UNIQUE`).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: Int32

        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// The primary code (the low byte) of an extended code.
        public var primary: Code { Code(rawValue: rawValue & 0xFF) }

        /// The C name, such as `SQLITE_CONSTRAINT_UNIQUE`, or the number for a code this build does not name.
        public var name: String { Code.names[rawValue] ?? "SQLITE_\(rawValue)" }

        public var description: String { "\(name) (\(rawValue))" }

        /// Whether `code` is this code, or an extended code of this primary code.
        public static func ~= (pattern: Code, code: Code) -> Bool {
            pattern.rawValue == pattern.primary.rawValue ? pattern == code.primary : pattern == code
        }

        public static let ok = Code(rawValue: 0)
        public static let error = Code(rawValue: 1)
        public static let `internal` = Code(rawValue: 2)
        public static let permission = Code(rawValue: 3)
        public static let abort = Code(rawValue: 4)
        public static let busy = Code(rawValue: 5)
        public static let locked = Code(rawValue: 6)
        public static let noMemory = Code(rawValue: 7)
        public static let readOnly = Code(rawValue: 8)
        public static let interrupt = Code(rawValue: 9)
        public static let ioError = Code(rawValue: 10)
        public static let corrupt = Code(rawValue: 11)
        public static let notFound = Code(rawValue: 12)
        public static let full = Code(rawValue: 13)
        public static let cannotOpen = Code(rawValue: 14)
        public static let `protocol` = Code(rawValue: 15)
        public static let schema = Code(rawValue: 17)
        public static let tooBig = Code(rawValue: 18)
        public static let constraint = Code(rawValue: 19)
        public static let mismatch = Code(rawValue: 20)
        public static let misuse = Code(rawValue: 21)
        public static let auth = Code(rawValue: 23)
        public static let range = Code(rawValue: 25)
        public static let notADatabase = Code(rawValue: 26)
        public static let constraintCheck = Code(rawValue: 19 | 1 << 8)
        public static let constraintForeignKey = Code(rawValue: 19 | 3 << 8)
        public static let constraintNotNull = Code(rawValue: 19 | 5 << 8)
        public static let constraintPrimaryKey = Code(rawValue: 19 | 6 << 8)
        public static let constraintUnique = Code(rawValue: 19 | 8 << 8)
        public static let busySnapshot = Code(rawValue: 5 | 2 << 8)
        public static let abortRollback = Code(rawValue: 4 | 2 << 8)

        static let names: [Int32: String] = [
            0: "SQLITE_OK", 1: "SQLITE_ERROR", 2: "SQLITE_INTERNAL", 3: "SQLITE_PERM", 4: "SQLITE_ABORT",
            5: "SQLITE_BUSY", 6: "SQLITE_LOCKED", 7: "SQLITE_NOMEM", 8: "SQLITE_READONLY", 9: "SQLITE_INTERRUPT",
            10: "SQLITE_IOERR", 11: "SQLITE_CORRUPT", 12: "SQLITE_NOTFOUND", 13: "SQLITE_FULL",
            14: "SQLITE_CANTOPEN", 15: "SQLITE_PROTOCOL", 16: "SQLITE_EMPTY", 17: "SQLITE_SCHEMA",
            18: "SQLITE_TOOBIG", 19: "SQLITE_CONSTRAINT", 20: "SQLITE_MISMATCH", 21: "SQLITE_MISUSE",
            22: "SQLITE_NOLFS", 23: "SQLITE_AUTH", 24: "SQLITE_FORMAT", 25: "SQLITE_RANGE", 26: "SQLITE_NOTADB",
            27: "SQLITE_NOTICE", 28: "SQLITE_WARNING", 100: "SQLITE_ROW", 101: "SQLITE_DONE",
            1 | 1 << 8: "SQLITE_ERROR_MISSING_COLLSEQ", 1 | 2 << 8: "SQLITE_ERROR_RETRY",
            1 | 3 << 8: "SQLITE_ERROR_SNAPSHOT",
            4 | 2 << 8: "SQLITE_ABORT_ROLLBACK",
            5 | 1 << 8: "SQLITE_BUSY_RECOVERY", 5 | 2 << 8: "SQLITE_BUSY_SNAPSHOT", 5 | 3 << 8: "SQLITE_BUSY_TIMEOUT",
            6 | 1 << 8: "SQLITE_LOCKED_SHAREDCACHE", 6 | 2 << 8: "SQLITE_LOCKED_VTAB",
            8 | 1 << 8: "SQLITE_READONLY_RECOVERY", 8 | 2 << 8: "SQLITE_READONLY_CANTLOCK",
            8 | 3 << 8: "SQLITE_READONLY_ROLLBACK", 8 | 4 << 8: "SQLITE_READONLY_DBMOVED",
            8 | 5 << 8: "SQLITE_READONLY_CANTINIT", 8 | 6 << 8: "SQLITE_READONLY_DIRECTORY",
            10 | 1 << 8: "SQLITE_IOERR_READ", 10 | 2 << 8: "SQLITE_IOERR_SHORT_READ", 10 | 3 << 8: "SQLITE_IOERR_WRITE",
            10 | 4 << 8: "SQLITE_IOERR_FSYNC", 10 | 10 << 8: "SQLITE_IOERR_DELETE", 10 | 13 << 8: "SQLITE_IOERR_ACCESS",
            10 | 15 << 8: "SQLITE_IOERR_LOCK", 10 | 18 << 8: "SQLITE_IOERR_SHMOPEN", 10 | 20 << 8: "SQLITE_IOERR_SHMLOCK",
            11 | 1 << 8: "SQLITE_CORRUPT_VTAB", 11 | 2 << 8: "SQLITE_CORRUPT_SEQUENCE", 11 | 3 << 8: "SQLITE_CORRUPT_INDEX",
            14 | 1 << 8: "SQLITE_CANTOPEN_NOTEMPDIR", 14 | 2 << 8: "SQLITE_CANTOPEN_ISDIR",
            14 | 3 << 8: "SQLITE_CANTOPEN_FULLPATH", 14 | 6 << 8: "SQLITE_CANTOPEN_SYMLINK",
            19 | 1 << 8: "SQLITE_CONSTRAINT_CHECK", 19 | 2 << 8: "SQLITE_CONSTRAINT_COMMITHOOK",
            19 | 3 << 8: "SQLITE_CONSTRAINT_FOREIGNKEY", 19 | 4 << 8: "SQLITE_CONSTRAINT_FUNCTION",
            19 | 5 << 8: "SQLITE_CONSTRAINT_NOTNULL", 19 | 6 << 8: "SQLITE_CONSTRAINT_PRIMARYKEY",
            19 | 7 << 8: "SQLITE_CONSTRAINT_TRIGGER", 19 | 8 << 8: "SQLITE_CONSTRAINT_UNIQUE",
            19 | 9 << 8: "SQLITE_CONSTRAINT_VTAB", 19 | 10 << 8: "SQLITE_CONSTRAINT_ROWID",
            19 | 11 << 8: "SQLITE_CONSTRAINT_PINNED", 19 | 12 << 8: "SQLITE_CONSTRAINT_DATATYPE",
            23 | 1 << 8: "SQLITE_AUTH_USER",
        ]
    }

    /// What kind of failure this is, for callers that react differently to each.
    public enum Kind: Sendable, Equatable {
        /// SQLite refused or failed the operation; `extendedCode` says why.
        case sqlite
        /// The work was stopped on request (`interrupt()` or a cancelled task).
        case cancelled
        /// The work was stopped because its deadline passed.
        case timedOut
        /// The store was written by a newer schema version than this build knows.
        case newerSchema
        /// The store's migration history does not match this build's migrations.
        case incompatibleSchema
    }

    /// What kind of failure this is.
    public var kind: Kind
    /// The extended SQLite result code (equal to the primary code when SQLite gave no detail).
    public var extendedCode: Code
    /// SQLite's message, or this module's explanation.
    public var message: String
    /// The SQL being prepared or run, if any (the text with `?` placeholders, never the bound values).
    public var sql: String?
    /// The database file (or `:memory:`).
    public var path: String
    /// Where in `sql` SQLite found the error (a UTF-8 byte offset), when it says (`sqlite3_error_offset`).
    public var offset: Int?

    /// The primary SQLite result code.
    public var code: Code { extendedCode.primary }

    /// Makes an error; `kind` defaults to a plain SQLite failure.
    public init(kind: Kind = .sqlite, code: Code, message: String, sql: String? = nil, path: String) {
        self.kind = kind
        self.extendedCode = code
        self.message = message
        self.sql = sql
        self.path = path
    }

    public var description: String {
        var text: String
        switch kind {
        case .sqlite: text = "SQLite error \(extendedCode.rawValue) \(extendedCode.name): \(message)"
        case .cancelled: text = "cancelled: \(message)"
        case .timedOut: text = "timed out: \(message)"
        case .newerSchema, .incompatibleSchema: text = message
        }
        if let sql, !sql.isEmpty { text += " — while running `\(DatabaseError.abbreviated(sql))`" }
        if kind == .sqlite || kind == .cancelled || kind == .timedOut { text += " in \(path)" }
        return text
    }

    /// SQL on one line, cut to a readable length.
    static func abbreviated(_ sql: String) -> String {
        var out = ""
        var lastWasSpace = false
        for ch in sql {
            let space = ch == " " || ch == "\n" || ch == "\t" || ch == "\r"
            if space {
                if !lastWasSpace && !out.isEmpty { out.append(" ") }
            } else {
                out.append(ch)
            }
            lastWasSpace = space
        }
        while out.last == " " { out.removeLast() }
        return out.count > 500 ? String(out.prefix(500)) + "…" : out
    }
}

extension DatabaseError.Code {
    /// Whether `error` is a `DatabaseError` with this code (a primary code matches its extended codes).
    public static func ~= (pattern: DatabaseError.Code, error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return pattern ~= error.extendedCode
    }
}

extension DatabaseError {
    /// SQLite's generic text for a result code, such as "constraint failed".
    static func text(for code: Int32) -> String { String(cString: sqlite3_errstr(code)) }
}
