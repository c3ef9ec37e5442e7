#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CoreSupport
import Synchronization

/// A Workbench domain: the folder holding `domain.json`, the SQLite stores and the object store.
///
/// Opening creates the folder (0700) and `domain.json` when missing, under an exclusive `flock` on
/// `domain.lock`, so `wb` processes opening the same domain at once agree on one `domain.json`.
/// The SQLite stores open lazily, on first use, each with its own migrations.
public final class Domain: Sendable {
    /// The `domain.json` format this build writes, and the newest it can open.
    public static let formatVersion = 1
    /// The file describing the domain.
    public static let infoFileName = "domain.json"
    /// The file locked while a process sets the domain up.
    public static let lockFileName = "domain.lock"
    /// The object store's folder inside the domain.
    public static let objectsFolderName = "objects"

    /// What `domain.json` records.
    public struct Info: Sendable, Equatable {
        /// The format version of the domain's layout.
        public var version: Int
        /// When the domain was created (ISO 8601, UTC).
        public var createdAt: String
        /// The user who created it.
        public var createdBy: String

        /// Makes a description of a domain.
        public init(version: Int, createdAt: String, createdBy: String) {
            self.version = version
            self.createdAt = createdAt
            self.createdBy = createdBy
        }
    }

    /// The SQLite stores of a domain, one file each.
    public enum Store: String, Sendable, CaseIterable {
        case catalog
        case jobs
        case sessions
        /// Policy versions and the audit log (the Governance module's).
        case governance

        /// The store's file name in the domain, such as `catalog.db`.
        public var fileName: String { rawValue + ".db" }

        /// The store's first migrations (a `meta` table); its owner registers its own after these.
        public var migrator: Migrator {
            var migrator = Migrator()
            let name = rawValue
            migrator.register(Store.baseMigrationName) { db in
                try db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID")
                try db.execute(
                    "INSERT INTO meta (key, value) VALUES ('store', ?), ('created_at', ?)", [name, Clock.iso8601()])
            }
            return migrator
        }

        /// The name of every store's first migration.
        public static let baseMigrationName = "create-meta"
    }

    /// The domain folder (absolute).
    public let path: String
    /// What `domain.json` says.
    public let info: Info
    /// The content-addressed files of the domain.
    public let objects: ObjectStore
    /// How the SQLite stores are opened.
    public let configuration: Configuration

    private struct OpenStore {
        var pool: DatabasePool
        var version: Int
    }
    private let stores = Mutex<[Store: OpenStore]>([:])

    private init(path: String, info: Info, objects: ObjectStore, configuration: Configuration) {
        self.path = path
        self.info = info
        self.objects = objects
        self.configuration = configuration
    }

    /// Opens the domain at `path` (default `$WB_HOME`, else `$XDG_DATA_HOME/wb`), creating it if missing.
    public static func open(at path: String? = nil, configuration: Configuration = Configuration()) throws(DomainError) -> Domain {
        var root = FilePath.absolute(path.flatMap { $0.isEmpty ? nil : $0 } ?? Environment.workbenchHome)
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        try prepareFolder(root)
        let (info, objects) = try withLock(FilePath.join(root, lockFileName)) { () throws(DomainError) in
            removeAbandonedInfoFiles(root)
            let info = try readOrCreateInfo(FilePath.join(root, infoFileName))
            let objects = try ObjectStore(directory: FilePath.join(root, objectsFolderName))
            return (info, objects)
        }
        return Domain(path: root, info: info, objects: objects, configuration: configuration)
    }

    /// The file of `store` in this domain.
    public func path(of store: Store) -> String {
        FilePath.join(path, store.fileName)
    }

    /// The SQLite store `store`, opened (and migrated) on first use and shared afterwards.
    ///
    /// `migrator` must begin with `store.migrator`'s migrations; a later call with more migrations applies them.
    public func database(_ store: Store, migrator: Migrator? = nil) throws(DomainError) -> DatabasePool {
        let migrator = migrator ?? store.migrator
        precondition(
            migrator.migrations.first?.name == Store.baseMigrationName,
            "the migrator of the \(store.rawValue) store must start with Domain.Store.migrator's migrations")
        let file = path(of: store)
        let configuration = self.configuration
        return try stores.withLock { open throws(DomainError) -> DatabasePool in
            do {
                if let existing = open[store] {
                    if migrator.version > existing.version {
                        try existing.pool.writeWithoutTransaction { db in try migrator.migrate(db) }
                        open[store]?.version = migrator.version
                    }
                    return existing.pool
                }
                let pool = try DatabasePool(path: file, configuration: configuration, migrator: migrator)
                open[store] = OpenStore(pool: pool, version: migrator.version)
                return pool
            } catch let error as DatabaseError {
                throw DomainError(
                    .database, path: file, message: "cannot open the \(store.rawValue) store: \(error)", database: error)
            } catch {
                throw DomainError(.database, path: file, message: "cannot open the \(store.rawValue) store \(file): \(error)")
            }
        }
    }

    /// The catalog store (`catalog.db`).
    public func catalog() throws(DomainError) -> DatabasePool { try database(.catalog) }
    /// The jobs store (`jobs.db`).
    public func jobs() throws(DomainError) -> DatabasePool { try database(.jobs) }
    /// The sessions store (`sessions.db`).
    public func sessions() throws(DomainError) -> DatabasePool { try database(.sessions) }

    // MARK: Opening

    /// Creates the folder (and its parents) 0700 if missing, and checks it is a writable folder.
    static func prepareFolder(_ root: String) throws(DomainError) {
        if !FileIO.exists(root) {
            let parent = FilePath.directory(of: root)
            do {
                try FileIO.createDirectory(parent, mode: 0o700)
            } catch {
                throw DomainError(
                    error.code == EACCES || error.code == EROFS || error.code == EPERM ? .notWritable : .io, path: parent,
                    message: "cannot create the Workbench domain \(root): \(error)", systemCode: error.code)
            }
            if mkdir(root, 0o700) != 0, errno != EEXIST {
                let error = SystemError.errno("create the folder", path: root)
                throw DomainError(
                    error.code == EACCES || error.code == EROFS || error.code == EPERM ? .notWritable : .io, path: root,
                    message: "cannot create the Workbench domain \(root): \(error.reason)", systemCode: error.code)
            }
        }
        guard FileIO.isDirectory(root) else {
            throw DomainError(
                .notADirectory, path: root,
                message: "the Workbench domain \(root) exists and is not a folder; set WB_HOME or --home to a folder",
                systemCode: ENOTDIR)
        }
        if access(root, W_OK | X_OK) != 0 {
            let error = SystemError.errno("write in", path: root)
            throw DomainError(
                .notWritable, path: root,
                message: "the Workbench domain \(root) is not writable (\(error.reason)); "
                    + "fix its permissions or choose another folder with WB_HOME or --home",
                systemCode: error.code)
        }
    }

    /// Runs `body` holding an exclusive `flock` on `file` (created 0600): other threads and processes wait.
    static func withLock<T>(_ file: String, _ body: () throws(DomainError) -> T) throws(DomainError) -> T {
        let fd = Glibc.open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DomainError.errno("open the lock file", path: file) }
        defer { close(fd) }  // Closing releases the lock.
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw DomainError.errno("lock", path: file) }
        }
        return try body()
    }

    /// Removes temporary copies of `domain.json` left by a crash (call holding the lock: no write is running).
    static func removeAbandonedInfoFiles(_ root: String) {
        for name in FileIO.list(root) where name.hasPrefix(".\(infoFileName).wb-tmp-") {
            unlink(FilePath.join(root, name))
        }
    }

    /// Reads `domain.json`, or writes a new one when there is none (call holding the lock).
    static func readOrCreateInfo(_ file: String) throws(DomainError) -> Info {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(file)
        } catch {
            guard error.code == ENOENT else { throw DomainError.system(error) }
            let info = Info(version: formatVersion, createdAt: Clock.iso8601(), createdBy: Environment.userName)
            do {
                try AtomicFile.write(infoJSON(info), to: file, mode: 0o600)
            } catch {
                throw DomainError.system(error)
            }
            return info
        }
        return try parseInfo(bytes, file: file)
    }

    /// The text of `domain.json` for `info`.
    static func infoJSON(_ info: Info) -> String {
        let json: JSON = [
            "format": "workbench-domain",
            "version": .int(info.version),
            "created_at": .string(info.createdAt),
            "created_by": .string(info.createdBy),
        ]
        return json.serialized(.pretty) + "\n"
    }

    /// Parses `domain.json`: a newer format is refused, anything malformed is reported with what is wrong.
    static func parseInfo(_ bytes: [UInt8], file: String) throws(DomainError) -> Info {
        func damaged(_ what: String) -> DomainError {
            DomainError(
                .corrupt, path: file,
                message: "\(file) is damaged: \(what). Restore it from a backup, or remove it and wb writes a new one")
        }
        let json: JSON
        do {
            json = try JSON.parse(bytes)
        } catch {
            throw damaged(bytes.isEmpty ? "it is empty" : "it is not valid JSON (\(error))")
        }
        guard let object = json.objectValue else { throw damaged("it holds \(json.typeName), not an object") }
        guard let versionValue = object["version"] else { throw damaged("it has no \"version\"") }
        guard case .int(let version) = versionValue else {
            throw damaged("\"version\" is \(versionValue.typeName), not an integer")
        }
        guard version >= 1 else { throw damaged("\"version\" is \(version); versions start at 1") }
        if version > formatVersion {
            throw DomainError(
                .newerFormat, path: file,
                message: "\(file) says format version \(version), and this version of wb understands up to "
                    + "\(formatVersion): the domain was written by a newer Workbench. Upgrade wb to open it; nothing was changed")
        }
        func text(_ key: String) throws(DomainError) -> String {
            guard let value = object[key] else { throw damaged("it has no \"\(key)\"") }
            guard let string = value.stringValue else { throw damaged("\"\(key)\" is \(value.typeName), not a string") }
            return string
        }
        return Info(version: version, createdAt: try text("created_at"), createdBy: try text("created_by"))
    }
}
