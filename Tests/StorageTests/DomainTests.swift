import CoreSupport
import Storage
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Removes a folder and everything in it (best effort; objects are 0444 but their folders are writable).
func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if (info.st_mode & S_IFMT) == S_IFDIR {
        for name in FileIO.list(path) { removeTree(FilePath.join(path, name)) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// A small tmpfs mounted for one test (needs root): a full disk, or a read-only file system, on demand.
struct TinyDisk {
    let path: String

    /// Whether this process may mount file systems.
    static var available: Bool { getuid() == 0 }

    /// Mounts a tmpfs of `size` (such as `"256k"`) on a new scratch folder; `nil` when mounting is refused.
    static func mount(size: String) throws -> TinyDisk? {
        let path = try Scratch.directory("tinydisk")
        guard Glibc.mount("tmpfs", path, "tmpfs", 0, "size=\(size),mode=0700") == 0 else {
            rmdir(path)
            return nil
        }
        return TinyDisk(path: path)
    }

    /// Makes the file system read-only.
    func remountReadOnly() -> Bool {
        let remount: UInt = 32  // MS_REMOUNT
        let readOnly: UInt = 1  // MS_RDONLY
        return Glibc.mount("tmpfs", path, "tmpfs", remount | readOnly, nil) == 0
    }

    /// Unmounts and removes the folder.
    func remove() {
        umount2(path, 2)  // MNT_DETACH
        rmdir(path)
    }
}

/// Runs `body` on `count` threads released together, and returns their results in order.
func race<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) async throws -> [T] {
    let arrived = Atomic<Int>(0)
    let barrier = Flag()
    let tasks = (0..<count).map { index in
        onThread {
            if arrived.add(1, ordering: .sequentiallyConsistent).newValue == count { barrier.raise() }
            guard barrier.wait() else { throw TimedOutWaiting() }
            return try body(index)
        }
    }
    var results: [T] = []
    for task in tasks { results.append(try await task.value) }
    return results
}

@Suite("Domain: the folder holding domain.json, the stores and the objects")
struct DomainTests {
    @Test func openingCreatesAPrivateFolderAndDomainJSON() throws {
        let scratch = try Scratch.directory("domain")
        defer { removeTree(scratch) }
        let home = FilePath.join(scratch, "data/wb")
        let domain = try Domain.open(at: home + "/")
        #expect(domain.path == home)
        #expect(permissions(home) == 0o700)
        #expect(domain.info.version == Domain.formatVersion)
        #expect(domain.info.createdBy == Environment.userName)
        #expect(Clock.parseISO8601(domain.info.createdAt) != nil)

        let infoFile = FilePath.join(home, Domain.infoFileName)
        let json = try JSON.parse(try FileIO.read(infoFile))
        #expect(json["version"] == 1)
        #expect(json["created_by"]?.stringValue == Environment.userName)
        #expect(json["created_at"]?.stringValue == domain.info.createdAt)
        #expect(permissions(infoFile) == 0o600)
        #expect(FileIO.isDirectory(FilePath.join(home, "objects")))

        // Opening again reads the same domain.json and changes nothing.
        let again = try Domain.open(at: home)
        #expect(again.info == domain.info)
        #expect(try JSON.parse(try FileIO.read(infoFile)) == json)
    }

    @Test func storesOpenLazilyEachInItsOwnFileWithAMetaTable() throws {
        let home = try Scratch.directory("domain")
        defer { removeTree(home) }
        let domain = try Domain.open(at: home)
        for store in Domain.Store.allCases { #expect(!FileIO.exists(domain.path(of: store))) }

        let catalog = try domain.catalog()
        #expect(catalog.path == FilePath.join(home, "catalog.db"))
        #expect(try domain.catalog() === catalog)
        #expect(!FileIO.exists(domain.path(of: .jobs)))
        let jobs = try domain.jobs()
        let sessions = try domain.sessions()
        #expect(jobs.path == FilePath.join(home, "jobs.db"))
        #expect(sessions.path == FilePath.join(home, "sessions.db"))
        for (store, pool) in [(Domain.Store.catalog, catalog), (.jobs, jobs), (.sessions, sessions)] {
            #expect(permissions(pool.path) == 0o600)
            let (name, migrations) = try pool.read { db in
                (
                    try db.fetchValue("SELECT value FROM meta WHERE key = 'store'", as: String.self),
                    try db.fetchAll("SELECT name FROM wb_migrations").map { $0.value(0, as: String.self) }
                )
            }
            #expect(name == store.rawValue)
            #expect(migrations == [Domain.Store.baseMigrationName])
        }
    }

    @Test func aStoresOwnerAddsMigrationsAfterTheBaseOnes() throws {
        let home = try Scratch.directory("domain")
        defer { removeTree(home) }
        let domain = try Domain.open(at: home)
        let base = try domain.catalog()
        var migrator = Domain.Store.catalog.migrator
        migrator.register("create-tables") { db in try db.execute("CREATE TABLE tables (id INTEGER PRIMARY KEY)") }
        let extended = try domain.database(.catalog, migrator: migrator)
        #expect(extended === base)
        #expect(try extended.read { db in try db.tableExists("tables") })

        // Another process (here: another Domain) with the same migrations applies nothing more.
        let other = try Domain.open(at: home).database(.catalog, migrator: migrator)
        #expect(try other.read { db in try db.fetchValue("SELECT count(*) FROM wb_migrations", as: Int.self) } == 2)
    }

    @Test func aStoreFromANewerWorkbenchIsRefused() throws {
        let home = try Scratch.directory("domain")
        defer { removeTree(home) }
        do {
            let newer = try DatabaseQueue(path: FilePath.join(home, "jobs.db"))
            try newer.writeWithoutTransaction { db in try db.execute("PRAGMA user_version = 7") }
        }
        let domain = try Domain.open(at: home)
        let error = try #require(throws: DomainError.self) { try domain.jobs() }
        #expect(error.code == .database)
        #expect(error.database?.kind == .newerSchema)
        #expect(error.message.contains(FilePath.join(home, "jobs.db")))
        #expect(error.message.contains("newer version of wb"))
    }

    @Test func aDomainFromANewerWorkbenchIsRefusedAndLeftAlone() throws {
        let home = try Scratch.directory("domain")
        defer { removeTree(home) }
        let infoFile = FilePath.join(home, Domain.infoFileName)
        let text = #"{"version": 2, "created_at": "2030-01-01T00:00:00.000000Z", "created_by": "future", "shiny": true}"#
        try AtomicFile.write(text, to: infoFile)
        let error = try #require(throws: DomainError.self) { try Domain.open(at: home) }
        #expect(error.code == .newerFormat)
        #expect(error.path == infoFile)
        #expect(error.message.contains(infoFile))
        #expect(error.message.contains("format version 2"))
        #expect(error.message.contains("newer Workbench"))
        #expect(try FileIO.readText(infoFile) == text)
        #expect(!FileIO.exists(FilePath.join(home, "objects")))
    }

    @Test(arguments: [
        ("", "it is empty"),
        ("{\"version\": 1,", "not valid JSON"),
        ("[1]", "holds array, not an object"),
        ("{}", "no \"version\""),
        ("{\"version\": \"1\"}", "\"version\" is string, not an integer"),
        ("{\"version\": 0}", "versions start at 1"),
        ("{\"version\": 1, \"created_at\": \"x\"}", "no \"created_by\""),
        ("{\"version\": 1, \"created_at\": 5, \"created_by\": \"me\"}", "\"created_at\" is integer, not a string"),
    ])
    func aDamagedDomainJSONSaysWhereAndWhat(text: String, what: String) throws {
        let home = try Scratch.directory("domain")
        defer { removeTree(home) }
        let infoFile = FilePath.join(home, Domain.infoFileName)
        try AtomicFile.write(text, to: infoFile)
        let error = try #require(throws: DomainError.self) { try Domain.open(at: home) }
        #expect(error.code == .corrupt)
        #expect(error.path == infoFile)
        #expect(error.message.contains(infoFile))
        #expect(error.message.contains(what), "\(error.message)")
        #expect(try FileIO.readText(infoFile) == text)
    }

    @Test func aFileWhereTheFolderShouldBeIsRefused() throws {
        let scratch = try Scratch.directory("domain")
        defer { removeTree(scratch) }
        let file = FilePath.join(scratch, "home")
        try AtomicFile.write("not a folder", to: file)
        let error = try #require(throws: DomainError.self) { try Domain.open(at: file) }
        #expect(error.code == .notADirectory)
        #expect(error.message.contains(file))
    }

    @Test(.enabled(if: TinyDisk.available)) func aFolderThatCannotBeWrittenGivesAClearError() throws {
        guard let disk = try TinyDisk.mount(size: "1m") else { return }
        defer { disk.remove() }
        let existing = FilePath.join(disk.path, "existing")
        _ = try Domain.open(at: existing)
        #expect(disk.remountReadOnly())

        // An existing domain on a read-only file system.
        let error = try #require(throws: DomainError.self) { try Domain.open(at: existing) }
        #expect(error.code == .notWritable)
        #expect(error.systemCode == EROFS)
        #expect(error.message.contains(existing))
        #expect(error.message.contains("not writable"))

        // A new domain that cannot be created there.
        let fresh = FilePath.join(disk.path, "fresh/wb")
        let refused = try #require(throws: DomainError.self) { try Domain.open(at: fresh) }
        #expect(refused.code == .notWritable)
        #expect(refused.message.contains(fresh))
    }

    @Test func threadsRacingToCreateOneDomainAgreeOnIt() async throws {
        let scratch = try Scratch.directory("domain")
        defer { removeTree(scratch) }
        let home = FilePath.join(scratch, "a/b/wb")
        let infos = try await race(8) { _ in try Domain.open(at: home).info }
        #expect(Set(infos.map(\.createdAt)).count == 1)
        let stored = try JSON.parse(try FileIO.read(FilePath.join(home, Domain.infoFileName)))
        #expect(stored["created_at"]?.stringValue == infos[0].createdAt)
        #expect(FileIO.list(home) == ["domain.json", "domain.lock", "objects"])

        // Separate Domain values (as separate processes would) migrate each store exactly once.
        let counts = try await race(6) { index in
            let domain = try Domain.open(at: home)
            let store = Domain.Store.allCases[index % 3]
            return try domain.database(store).read { db in
                try db.fetchValue("SELECT count(*) FROM wb_migrations", as: Int.self)
            }
        }
        #expect(counts == Array(repeating: 1, count: 6))
    }

    @Test func threadsSharingADomainGetOneConnectionPoolPerStore() async throws {
        let home = try Scratch.directory("domain")
        defer { removeTree(home) }
        let domain = try Domain.open(at: home)
        let pools = try await race(8) { _ in try domain.sessions() }
        #expect(pools.allSatisfy { $0 === pools[0] })
    }

    @Test func leftoversOfACrashedDomainJSONWriteAreRemoved() throws {
        let home = try Scratch.directory("domain")
        defer { removeTree(home) }
        _ = try Domain.open(at: home)
        let leftover = FilePath.join(home, ".domain.json.wb-tmp-abc123")
        try AtomicFile.write("{\"vers", to: leftover)
        _ = try Domain.open(at: home)
        #expect(!FileIO.exists(leftover))
    }
}

@Suite("Domain: another process setting the domain up", .serialized)
struct DomainProcessTests {
    static var hasPython: Bool {
        ChildProcess.which("python3", path: Environment.get("PATH") ?? "/usr/bin:/bin") != nil
    }

    /// Holds `domain.lock` in a Python process, writes its own domain.json once told to, then exits.
    static let holder = """
        import fcntl, json, os, sys, time
        home, locked, go = sys.argv[1:4]
        fd = os.open(os.path.join(home, "domain.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        open(locked, "w").close()
        deadline = time.monotonic() + 60
        while not os.path.exists(go) and time.monotonic() < deadline:
            time.sleep(0.005)
        info = {"version": 1, "created_at": "2026-01-01T00:00:00.000000Z", "created_by": "other-process"}
        with open(os.path.join(home, ".tmp-info"), "w") as f:
            json.dump(info, f)
        os.rename(os.path.join(home, ".tmp-info"), os.path.join(home, "domain.json"))
        """

    /// Whether `/proc/locks` shows a process waiting for a lock on the file with inode `inode`.
    static func someoneWaits(onInode inode: UInt) -> Bool {
        guard let text = try? FileIO.readText("/proc/locks") else { return false }
        return text.split(separator: "\n").contains { $0.contains("->") && $0.contains(":\(inode) ") }
    }

    @Test(.enabled(if: hasPython)) func openingWaitsForAProcessHoldingTheLockAndReadsWhatItWrote() async throws {
        let scratch = try Scratch.directory("domain")
        defer { removeTree(scratch) }
        let home = FilePath.join(scratch, "wb")
        try FileIO.createDirectory(home, mode: 0o700)
        let locked = FilePath.join(scratch, "locked")
        let go = FilePath.join(scratch, "go")
        let child = try ChildProcess(
            argv: ["python3", "-c", DomainProcessTests.holder, home, locked, go], environment: Environment.all())
        defer { child.signal(SIGKILL) }
        #expect(await eventually { FileIO.exists(locked) })

        let opening = onThread { try Domain.open(at: home).info }
        var info = stat()
        #expect(stat(FilePath.join(home, Domain.lockFileName), &info) == 0)
        let inode = UInt(info.st_ino)
        #expect(await eventually { DomainProcessTests.someoneWaits(onInode: inode) })
        #expect(!FileIO.exists(FilePath.join(home, Domain.infoFileName)))

        try AtomicFile.write("", to: go)
        let opened = try await opening.value
        #expect(opened.createdBy == "other-process")
        #expect(await child.wait(timeout: 60) == .exited(0))
    }
}
