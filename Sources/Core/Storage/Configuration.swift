/// How a store's connections are opened and set up.
public struct Configuration: Sendable {
    /// The journal mode set on open (file databases opened for writing only).
    public enum JournalMode: String, Sendable {
        /// Write-ahead log: readers never block the writer nor each other. The default.
        case wal = "WAL"
        /// The classic rollback journal, for files that must stay a single file (exports, copies).
        case delete = "DELETE"
    }

    /// The `PRAGMA synchronous` level.
    public enum Synchronous: String, Sendable {
        /// fsync at checkpoints only: with WAL, a power loss may drop the last commits but never corrupts. The default.
        case normal = "NORMAL"
        /// fsync at every commit.
        case full = "FULL"
    }

    /// Opens the file read-only (no journal-mode change, no migrations applied).
    public var readOnly = false
    /// Enforces foreign keys (`PRAGMA foreign_keys = ON`).
    public var foreignKeys = true
    /// How long to wait for another connection's lock before failing with `SQLITE_BUSY`, in seconds.
    public var busyTimeout: Double = 5
    /// The journal mode set on open.
    public var journalMode: JournalMode = .wal
    /// The fsync level.
    public var synchronous: Synchronous = .normal
    /// The permission bits of a database file this module creates (the WAL and shared-memory files follow them).
    public var fileMode: UInt32 = 0o600
    /// Lets `"text"` mean a string where no column has that name (SQLite's legacy misfeature); off by default.
    public var acceptsDoubleQuotedStringLiterals = false
    /// SQLite's defensive mode: SQL cannot corrupt the file on purpose (`writable_schema` and friends are refused).
    public var defensive = true
    /// The most reader connections a `DatabasePool` opens.
    public var maximumReaderCount = 4
    /// The most statements kept prepared per connection for reuse.
    public var statementCacheSize = 128
    /// Runs on every new connection after its set-up: register functions, set pragmas such as `cache_size`.
    public var prepareDatabase: (@Sendable (Database) throws -> Void)?

    /// The default configuration: WAL, foreign keys on, a 5 s busy timeout, new files 0600.
    public init() {}
}
