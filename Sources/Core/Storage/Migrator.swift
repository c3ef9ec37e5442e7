import CoreSupport

/// Named, ordered schema migrations, applied once each and recorded in the store.
///
/// Migration N (1-based, in registration order) brings the store to schema version N. Each runs in its
/// own immediate transaction together with its record in `wb_migrations` and `PRAGMA user_version`, so a
/// failed migration leaves the store at the previous version. A store at a version above the last
/// migration known here was written by a newer build and is refused rather than misread.
public struct Migrator: Sendable {
    /// One step of the schema.
    public struct Migration: Sendable {
        /// The migration's name, recorded in the store.
        public let name: String
        let body: @Sendable (Database) throws -> Void
    }

    /// The table recording applied migrations.
    public static let tableName = "wb_migrations"

    /// The registered migrations, in order.
    public private(set) var migrations: [Migration] = []

    /// An empty migrator.
    public init() {}

    /// The schema version this migrator brings a store to (the number of migrations).
    public var version: Int { migrations.count }

    /// Appends a migration; names must be unique.
    public mutating func register(_ name: String, _ body: @escaping @Sendable (Database) throws -> Void) {
        precondition(!migrations.contains { $0.name == name }, "migration \(name) is registered twice")
        migrations.append(Migration(name: name, body: body))
    }

    /// The names of the migrations applied to the store, in order (empty for a new store).
    public func appliedMigrations(_ db: Database) throws(DatabaseError) -> [String] {
        try db.internally { () throws(DatabaseError) in
            guard try db.tableExists(Migrator.tableName) else { return [] }
            return try db.fetchAll("SELECT name FROM \(Migrator.tableName) ORDER BY version").compactMap {
                $0.value(0, as: String.self)
            }
        }
    }

    /// Applies the pending migrations (call with no transaction open); a store from a newer build is refused.
    ///
    /// On a read-only connection it only checks that the store is at exactly this migrator's version.
    public func migrate(_ db: Database) throws(DatabaseError) {
        if db.configuration.readOnly {
            let applied = try checkHistory(db)
            guard applied == version else {
                throw DatabaseError(
                    kind: .incompatibleSchema, code: .readOnly,
                    message: "\(db.path) is at schema version \(applied) and this version of wb needs \(version); "
                        + "open it once for writing to upgrade it", path: db.path)
            }
            return
        }
        while true {
            let done = try db.inTransactionTyped(.immediate) { () throws(DatabaseError) -> Bool in
                // Read the history inside the write lock: another process may have migrated meanwhile.
                let applied = try checkHistory(db)
                guard applied < version else { return true }
                try db.internally { () throws(DatabaseError) in
                    try db.execute(
                        """
                        CREATE TABLE IF NOT EXISTS \(Migrator.tableName) (
                            version INTEGER PRIMARY KEY,
                            name TEXT NOT NULL UNIQUE,
                            applied_at TEXT NOT NULL)
                        """)
                }
                let migration = migrations[applied]
                do {
                    try migration.body(db)
                } catch let error as DatabaseError {
                    var error = error
                    error.message = "migration \(applied + 1) (\(migration.name)) failed: \(error.message)"
                    throw error
                } catch {
                    throw DatabaseError(
                        code: .error, message: "migration \(applied + 1) (\(migration.name)) failed: \(error)", path: db.path)
                }
                try db.internally { () throws(DatabaseError) in
                    try db.execute(
                        "INSERT INTO \(Migrator.tableName) (version, name, applied_at) VALUES (?, ?, ?)",
                        [applied + 1, migration.name, Clock.iso8601()])
                    try db.execute("PRAGMA user_version = \(applied + 1)")
                }
                return applied + 1 >= version
            }
            if done { return }
        }
    }

    /// The store's schema version, after checking it is not newer than this migrator and that names agree.
    private func checkHistory(_ db: Database) throws(DatabaseError) -> Int {
        let applied = try appliedMigrations(db)
        let userVersion = try db.internally { () throws(DatabaseError) in
            try db.fetchValue("PRAGMA user_version", as: Int.self) ?? 0
        }
        let stored = max(applied.count, userVersion)
        if stored > version {
            throw DatabaseError(
                kind: .newerSchema, code: .error,
                message: "\(db.path) was written by a newer version of wb (schema version \(stored); "
                    + "this version knows up to \(version)). Upgrade wb to open it; the file was not changed.",
                path: db.path)
        }
        for (index, name) in applied.enumerated() where migrations[index].name != name {
            throw DatabaseError(
                kind: .incompatibleSchema, code: .error,
                message: "\(db.path) records migration \(index + 1) as \"\(name)\" but this version of wb names it "
                    + "\"\(migrations[index].name)\"; the store comes from a different build", path: db.path)
        }
        return stored
    }
}

extension Database {
    /// `inTransaction` for bodies that throw only `DatabaseError`, keeping the error type.
    func inTransactionTyped<T>(_ kind: TransactionKind, _ body: () throws(DatabaseError) -> T) throws(DatabaseError) -> T {
        do {
            return try inTransaction(kind) { () throws -> T in try body() }
        } catch let error as DatabaseError {
            throw error
        } catch {
            throw DatabaseError(code: .error, message: "\(error)", path: path)
        }
    }
}
