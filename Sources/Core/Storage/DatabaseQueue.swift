import Dispatch
import Synchronization

/// Something that runs read-only closures on a database, from any thread or task.
public protocol DatabaseReader: AnyObject, Sendable {
    /// The database file.
    var path: String { get }

    /// Runs `body` in a read-only transaction (one consistent snapshot) and returns its result.
    func read<T>(_ body: (Database) throws -> T) throws -> T

    /// Runs `body` in a read-only transaction off the caller's thread; cancelling the task interrupts it.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T

    /// Stops the work in progress: the running statement, and any later one in the same closure,
    /// fails with a `.cancelled` error. Does nothing when idle. Callable from any thread.
    func interrupt()
}

/// Something that also runs writes, one at a time.
public protocol DatabaseWriter: DatabaseReader {
    /// Runs `body` in an immediate transaction: committed when it returns, rolled back when it throws.
    func write<T>(_ body: (Database) throws -> T) throws -> T

    /// Runs `body` in an immediate transaction off the caller's thread; cancelling the task interrupts it.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T

    /// Runs `body` on the writer connection outside any transaction (for VACUUM, some pragmas, or own transactions).
    func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T
}

/// One connection and the lock that serializes its use.
final class SerializedDatabase: @unchecked Sendable {
    // `database` is touched only while `lock` is held.
    private let database: Database
    private let lock = ConnectionLock()
    let control: ConnectionControl
    let path: String

    init(path: String, configuration: Configuration) throws(DatabaseError) {
        let control = ConnectionControl()
        self.control = control
        self.path = path
        database = try Database.open(path: path, configuration: configuration, control: control)
    }

    deinit {
        lock.withLock { database.close() }
    }

    /// Runs `body` with the connection, as the access `token` (which another thread may cancel).
    func access<T>(_ token: AccessToken = AccessToken(), _ body: (Database) throws -> T) throws -> T {
        try lock.withLock {
            guard control.begin(token) else {
                control.end(token)
                throw DatabaseError(kind: .cancelled, code: .interrupt, message: "cancelled before it started", path: path)
            }
            defer { control.end(token) }
            return try body(database)
        }
    }

    func interrupt() {
        control.interruptCurrent()
    }

    /// Applies a migrator's pending migrations on this connection.
    func migrate(_ migrator: Migrator) throws(DatabaseError) {
        do {
            try access { db in try migrator.migrate(db) }
        } catch let error as DatabaseError {
            throw error
        } catch {
            throw DatabaseError(code: .error, message: "\(error)", path: path)
        }
    }
}

/// Runs `work` on a thread outside Swift's cooperative pool (SQLite calls block), wiring task cancellation to it.
func offThread<T: Sendable>(
    _ queue: DispatchQueue, _ work: @escaping @Sendable (AccessToken) throws -> T
) async throws -> T {
    let token = AccessToken()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.async {
                continuation.resume(with: Result { try work(token) })
            }
        }
    } onCancel: {
        token.cancel()
    }
}

/// A Sendable front for one connection: reads and writes take turns.
///
/// The simplest store: one connection, so `read` waits while a `write` runs. Other processes and
/// other fronts on the same file still read during writes thanks to WAL.
public final class DatabaseQueue: DatabaseWriter {
    /// The database file (or `:memory:`).
    public let path: String
    /// The configuration the connection was opened with.
    public let configuration: Configuration
    private let connection: SerializedDatabase
    private let queue = DispatchQueue(label: "wb.storage.queue")

    /// Opens or creates a database file, sets it up (WAL, foreign keys, busy timeout) and runs pending migrations.
    ///
    /// A store written by a newer schema version fails with a `.newerSchema` error.
    public init(path: String, configuration: Configuration = Configuration(), migrator: Migrator? = nil) throws(DatabaseError) {
        self.path = path
        self.configuration = configuration
        connection = try SerializedDatabase(path: path, configuration: configuration)
        if let migrator {
            try connection.migrate(migrator)
        }
    }

    /// A private in-memory database (gone when the queue is).
    public static func inMemory(configuration: Configuration = Configuration(), migrator: Migrator? = nil) throws(DatabaseError)
        -> DatabaseQueue
    {
        try DatabaseQueue(path: ":memory:", configuration: configuration, migrator: migrator)
    }

    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try connection.access { db in try db.readTransaction { try body(db) } }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await offThread(queue) { [connection] token in
            try connection.access(token) { db in try db.readTransaction { try body(db) } }
        }
    }

    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try connection.access { db in try db.inTransaction(.immediate) { try body(db) } }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await offThread(queue) { [connection] token in
            try connection.access(token) { db in try db.inTransaction(.immediate) { try body(db) } }
        }
    }

    public func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try connection.access { db in try body(db) }
    }

    public func interrupt() {
        connection.interrupt()
    }
}

/// A Sendable front with one writer and several reader connections (WAL): reads run concurrently with each other and with the write.
///
/// Each read sees the last commit made before it began, for its whole closure.
public final class DatabasePool: DatabaseWriter {
    /// The database file.
    public let path: String
    /// The configuration the writer was opened with (readers open the same file read-only).
    public let configuration: Configuration
    private let writer: SerializedDatabase
    private let writerQueue = DispatchQueue(label: "wb.storage.pool.writer")
    private let readerSlots: DispatchSemaphore
    private struct Readers {
        var idle: [SerializedDatabase] = []
        var all: [SerializedDatabase] = []
    }
    private let readers = Mutex(Readers())
    /// A read-only connection that only ever asks `PRAGMA data_version` (opened on first use, never in a transaction).
    private let watcher = Mutex<SerializedDatabase?>(nil)

    /// Opens or creates a database file in WAL mode, runs pending migrations, and opens readers as they are needed.
    public init(path: String, configuration: Configuration = Configuration(), migrator: Migrator? = nil) throws(DatabaseError) {
        guard Database.isFile(path), configuration.journalMode == .wal, !configuration.readOnly else {
            throw DatabaseError(
                code: .misuse, message: "a DatabasePool needs a database file opened for writing in WAL mode", path: path)
        }
        self.path = path
        self.configuration = configuration
        writer = try SerializedDatabase(path: path, configuration: configuration)
        readerSlots = DispatchSemaphore(value: max(1, configuration.maximumReaderCount))
        if let migrator {
            try writer.migrate(migrator)
        }
    }

    private func takeReader() throws(DatabaseError) -> SerializedDatabase {
        if let reader = readers.withLock({ $0.idle.popLast() }) { return reader }
        var readerConfiguration = configuration
        readerConfiguration.readOnly = true
        let reader = try SerializedDatabase(path: path, configuration: readerConfiguration)
        readers.withLock { $0.all.append(reader) }
        return reader
    }

    private func withReader<T>(_ token: AccessToken, _ body: (Database) throws -> T) throws -> T {
        readerSlots.wait()
        defer { readerSlots.signal() }
        let reader = try takeReader()
        defer { readers.withLock { $0.idle.append(reader) } }
        return try reader.access(token) { db in try db.readTransaction { try body(db) } }
    }

    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try withReader(AccessToken(), body)
    }

    /// Runs `body` in a read-only transaction that `token` can cancel (and only it: other accesses run on).
    public func read<T>(_ token: AccessToken, _ body: (Database) throws -> T) throws -> T {
        try withReader(token, body)
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        // A queue per read: reads run side by side, each on its own thread while it waits or works.
        try await offThread(DispatchQueue(label: "wb.storage.pool.reader")) { token in
            try self.withReader(token, body)
        }
    }

    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.access { db in try db.inTransaction(.immediate) { try body(db) } }
    }

    /// Runs `body` in an immediate transaction that `token` can cancel (and only it).
    public func write<T>(_ token: AccessToken, _ body: (Database) throws -> T) throws -> T {
        try writer.access(token) { db in try db.inTransaction(.immediate) { try body(db) } }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await offThread(writerQueue) { [writer] token in
            try writer.access(token) { db in try db.inTransaction(.immediate) { try body(db) } }
        }
    }

    public func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try writer.access { db in try body(db) }
    }

    /// Runs `body` on the writer outside any transaction, cancellable by `token` (and only it).
    public func writeWithoutTransaction<T>(_ token: AccessToken, _ body: (Database) throws -> T) throws -> T {
        try writer.access(token) { db in try body(db) }
    }

    /// A number that changes whenever a commit to the file was made since it was last asked, by any
    /// connection of any process (this pool's writer included); equal numbers mean nothing was committed between.
    ///
    /// SQLite's `PRAGMA data_version` on a connection kept for this alone, which never writes: one short
    /// read of the WAL index (no transaction of its own, no table read), so a cache of something stored in
    /// the file can be checked before every use and re-read only after a commit.
    public func dataVersion() throws(DatabaseError) -> Int64 {
        let connection: SerializedDatabase
        if let open = watcher.withLock({ $0 }) {
            connection = open
        } else {
            var readOnly = configuration
            readOnly.readOnly = true
            readOnly.prepareDatabase = nil
            let opened = try SerializedDatabase(path: path, configuration: readOnly)
            connection = watcher.withLock { kept in
                if let kept { return kept }
                kept = opened
                return opened
            }
        }
        do {
            return try connection.access { db in
                try db.internally { () throws(DatabaseError) in
                    let statement = try db.cachedStatement("PRAGMA data_version")
                    guard try statement.step() else { return 0 }
                    defer { statement.reset() }
                    guard case .integer(let version) = statement.value(at: 0) else { return 0 }
                    return version
                }
            }
        } catch let error as DatabaseError {
            throw error
        } catch {
            throw DatabaseError(code: .error, message: "\(error)", path: path)
        }
    }

    /// Stops the work in progress on the writer and on every reader.
    public func interrupt() {
        writer.interrupt()
        for reader in readers.withLock({ $0.all }) { reader.interrupt() }
    }
}
