import CoreSupport
import Storage
import Testing

@Suite("Migrator: versioned migrations run on open")
struct MigratorTests {
    /// The catalog schema in three steps; `upTo` keeps only the first ones (an older build).
    func migrator(upTo count: Int = 3) -> Migrator {
        var migrator = Migrator()
        let steps: [(String, @Sendable (Database) throws -> Void)] = [
            ("create-tables", { db in try db.execute("CREATE TABLE tables (id INTEGER PRIMARY KEY, name TEXT NOT NULL)") }),
            ("add-comment", { db in try db.execute("ALTER TABLE tables ADD COLUMN comment TEXT") }),
            (
                "create-tags",
                { db in
                    try db.execute("CREATE TABLE tags (table_id INTEGER NOT NULL REFERENCES tables(id), key TEXT, value TEXT)")
                }
            ),
        ]
        for (name, body) in steps.prefix(count) { migrator.register(name, body) }
        return migrator
    }

    func history(_ queue: DatabaseQueue) throws -> (names: [String], userVersion: Int) {
        try queue.read { db in
            (
                try db.fetchAll("SELECT name FROM wb_migrations ORDER BY version").map { $0.value(0, as: String.self)! },
                try db.fetchValue("PRAGMA user_version", as: Int.self) ?? -1
            )
        }
    }

    @Test func aFreshStoreGetsEveryMigration() throws {
        let queue = try DatabaseQueue(path: try Scratch.databasePath(), migrator: migrator())
        let (names, userVersion) = try history(queue)
        #expect(names == ["create-tables", "add-comment", "create-tags"])
        #expect(userVersion == 3)
        try queue.write { db in
            try db.execute("INSERT INTO tables (name, comment) VALUES ('orders', 'raw')")
            try db.execute("INSERT INTO tags VALUES (1, 'pii', 'no')")
        }
        // Opening again applies nothing.
        let again = try DatabaseQueue(path: queue.path, migrator: migrator())
        #expect(try history(again).names.count == 3)
        #expect(try again.read { db in try db.fetchValue("SELECT count(*) FROM tags", as: Int.self) } == 1)
    }

    @Test func anOlderStoreGetsOnlyThePendingMigrations() throws {
        let path = try Scratch.databasePath()
        do {
            let old = try DatabaseQueue(path: path, migrator: migrator(upTo: 1))
            try old.write { db in try db.execute("INSERT INTO tables (name) VALUES ('kept')") }
            #expect(try history(old).names == ["create-tables"])
        }
        let new = try DatabaseQueue(path: path, migrator: migrator())
        let (names, userVersion) = try history(new)
        #expect(names == ["create-tables", "add-comment", "create-tags"])
        #expect(userVersion == 3)
        #expect(try new.read { db in try db.fetchValue("SELECT name FROM tables", as: String.self) } == "kept")
    }

    @Test func aStoreFromANewerVersionIsRefusedAndLeftAlone() throws {
        let path = try Scratch.databasePath("catalog.db")
        _ = try DatabaseQueue(path: path, migrator: migrator())
        let error = #expect(throws: DatabaseError.self) { _ = try DatabaseQueue(path: path, migrator: migrator(upTo: 2)) }
        #expect(error?.kind == .newerSchema)
        let message = error.map(String.init(describing:)) ?? ""
        #expect(message.contains(path))
        #expect(message.contains("schema version 3"))
        #expect(message.contains("knows up to 2"))
        // A pool refuses it the same way, and the file is still at version 3.
        let poolError = #expect(throws: DatabaseError.self) { _ = try DatabasePool(path: path, migrator: migrator(upTo: 2)) }
        #expect(poolError?.kind == .newerSchema)
        let (names, userVersion) = try history(try DatabaseQueue(path: path))
        #expect(names.count == 3 && userVersion == 3)
    }

    @Test func aFailingMigrationLeavesThePreviousVersion() throws {
        let path = try Scratch.databasePath()
        var broken = migrator(upTo: 1)
        broken.register("broken") { db in
            try db.execute("CREATE TABLE half_done (x)")
            try db.execute("INSERT INTO no_such_table VALUES (1)")
        }
        let error = #expect(throws: DatabaseError.self) { _ = try DatabaseQueue(path: path, migrator: broken) }
        #expect(error?.message.contains("migration 2 (broken) failed") == true)
        #expect(error?.message.contains("no_such_table") == true)
        let queue = try DatabaseQueue(path: path)
        #expect(try history(queue).names == ["create-tables"])
        #expect(try queue.read { db in try db.tableExists("half_done") } == false)
    }

    @Test func aDifferentHistoryIsRefused() throws {
        let path = try Scratch.databasePath()
        _ = try DatabaseQueue(path: path, migrator: migrator(upTo: 1))
        var other = Migrator()
        other.register("something-else") { _ in }
        other.register("more") { _ in }
        let error = #expect(throws: DatabaseError.self) { _ = try DatabaseQueue(path: path, migrator: other) }
        #expect(error?.kind == .incompatibleSchema)
        #expect(error?.message.contains("create-tables") == true)
    }

    @Test func readOnlyOpeningChecksTheVersionWithoutMigrating() throws {
        let path = try Scratch.databasePath()
        _ = try DatabaseQueue(path: path, migrator: migrator(upTo: 2))
        var readOnly = Configuration()
        readOnly.readOnly = true
        _ = try DatabaseQueue(path: path, configuration: readOnly, migrator: migrator(upTo: 2))
        let error = #expect(throws: DatabaseError.self) {
            _ = try DatabaseQueue(path: path, configuration: readOnly, migrator: migrator())
        }
        #expect(error?.kind == .incompatibleSchema)
    }
}
