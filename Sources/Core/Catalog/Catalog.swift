public import CoreSupport
public import Storage

/// The catalog store: the hierarchy, ids, tags and the lakehouse's snapshot log, in the domain's `catalog.db`.
///
/// `Catalog` is the Sendable front; inside a transaction use `CatalogAccess`, so catalog changes commit
/// together with the data they describe (the lakehouse keeps its tables in the same file).
public final class Catalog: Sendable {
    /// The name of the catalog holding the lakehouse's managed tables.
    public static let managedCatalogName = "lakehouse"

    /// The store's connections.
    public let store: DatabasePool

    /// Opens the catalog of `domain`, applying its migrations.
    public init(domain: Domain) throws(CatalogError) {
        do {
            store = try domain.database(.catalog, migrator: Catalog.migrator)
        } catch {
            throw CatalogError(.database, error.message, database: error.database)
        }
    }

    /// Runs `body` in a read transaction.
    public func read<T>(_ body: (CatalogAccess) throws -> T) throws -> T {
        try store.read { db in try body(CatalogAccess(db)) }
    }

    /// Runs `body` in a write transaction.
    public func write<T>(_ body: (CatalogAccess) throws -> T) throws -> T {
        try store.write { db in try body(CatalogAccess(db)) }
    }

    /// The migrations of `catalog.db`: the store's base migration, then the catalog's.
    public static var migrator: Migrator {
        var migrator = Domain.Store.catalog.migrator
        migrator.register("catalog-hierarchy") { db in
            try db.execute(
                """
                CREATE TABLE catalogs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    kind TEXT NOT NULL,
                    location TEXT,
                    comment TEXT,
                    owner TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL);
                CREATE TABLE databases (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    catalog_id INTEGER NOT NULL REFERENCES catalogs(id) ON DELETE CASCADE,
                    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    comment TEXT,
                    owner TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL);
                CREATE TABLE tables (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    database_id INTEGER NOT NULL REFERENCES databases(id) ON DELETE CASCADE,
                    name TEXT NOT NULL COLLATE NOCASE,
                    kind TEXT NOT NULL,
                    storage_name TEXT NOT NULL,
                    comment TEXT,
                    owner TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    current_snapshot INTEGER,
                    row_count INTEGER,
                    UNIQUE (database_id, name));
                CREATE TABLE columns (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    table_id INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
                    name TEXT NOT NULL COLLATE NOCASE,
                    type TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    nullable INTEGER NOT NULL,
                    comment TEXT,
                    storage_name TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    updated_at TEXT NOT NULL,
                    dropped_snapshot INTEGER);
                CREATE UNIQUE INDEX columns_live_name ON columns (table_id, name) WHERE dropped_snapshot IS NULL;
                CREATE TABLE tags (
                    object_kind TEXT NOT NULL,
                    object_id INTEGER NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (object_kind, object_id, key)) WITHOUT ROWID;
                CREATE TABLE commits (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    committed_at REAL NOT NULL,
                    principal TEXT NOT NULL);
                CREATE TABLE snapshots (
                    table_id INTEGER NOT NULL,
                    commit_id INTEGER NOT NULL,
                    operation TEXT NOT NULL,
                    summary TEXT NOT NULL,
                    schema TEXT NOT NULL,
                    expired INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (table_id, commit_id)) WITHOUT ROWID;
                CREATE INDEX commits_time ON commits (committed_at);
                """)
        }
        // A counter every change of names, storage, columns or tags moves (not row counts or
        // snapshots), so the lakehouse can keep what it derived from the catalog until it changes.
        migrator.register("catalog-version") { db in
            var script = """
                CREATE TABLE catalog_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
                INSERT INTO catalog_version VALUES (1, 1);

                """
            let bump = "BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;\n"
            for (table, updateOf) in [
                ("catalogs", "name, kind, location"), ("databases", "name, catalog_id"),
                ("tables", "name, database_id, kind, storage_name"), ("columns", nil), ("tags", nil),
            ] {
                script += "CREATE TRIGGER _catalog_version_\(table)_insert AFTER INSERT ON \(table) " + bump
                script += "CREATE TRIGGER _catalog_version_\(table)_delete AFTER DELETE ON \(table) " + bump
                script += "CREATE TRIGGER _catalog_version_\(table)_update AFTER UPDATE \(updateOf.map { "OF \($0) " } ?? "")ON \(table) " + bump
            }
            try db.execute(script)
        }
        return migrator
    }
}

/// The catalog inside one transaction: reads and, in a write transaction, changes.
///
/// Not Sendable: use it only inside the closure that made it.
public struct CatalogAccess {
    /// The connection of the running transaction.
    public let db: Database

    public init(_ db: Database) { self.db = db }

    // MARK: Catalogs

    /// Every catalog, by name.
    public func catalogs() throws -> [CatalogInfo] {
        try db.fetchAll("SELECT * FROM catalogs ORDER BY name").map(catalogInfo)
    }

    /// The catalog named `name` (case-insensitive), or nil.
    public func catalog(named name: String) throws -> CatalogInfo? {
        try db.fetchOne("SELECT * FROM catalogs WHERE name = ?", [name]).map(catalogInfo)
    }

    /// The catalog with this id, or nil.
    public func catalog(id: Int64) throws -> CatalogInfo? {
        try db.fetchOne("SELECT * FROM catalogs WHERE id = ?", [id]).map(catalogInfo)
    }

    /// Creates a catalog; its name must be free.
    @discardableResult
    public func createCatalog(
        _ name: String, kind: CatalogKind, location: String? = nil, comment: String? = nil, owner: String
    ) throws -> CatalogInfo {
        if let problem = SQLName.problem(name, what: "catalog") { throw CatalogError(.invalidName, problem) }
        if try catalog(named: name) != nil { throw CatalogError(.alreadyExists, "a catalog named '\(name)' already exists") }
        let now = Clock.iso8601()
        try db.execute(
            "INSERT INTO catalogs (name, kind, location, comment, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [name, kind.rawValue, location, comment, owner, now, now])
        return try catalog(id: db.lastInsertedRowID)!
    }

    /// The managed catalog, created on first use.
    public func managedCatalog(owner: String) throws -> CatalogInfo {
        if let existing = try catalog(named: Catalog.managedCatalogName) { return existing }
        return try createCatalog(Catalog.managedCatalogName, kind: .managed, comment: "tables managed by the lakehouse", owner: owner)
    }

    /// Removes a catalog with its databases, tables, columns and tags.
    public func dropCatalog(id: Int64) throws {
        for database in try databases(inCatalog: id) { try dropDatabase(id: database.id) }
        try db.execute("DELETE FROM tags WHERE object_kind = 'catalog' AND object_id = ?", [id])
        try db.execute("DELETE FROM catalogs WHERE id = ?", [id])
    }

    // MARK: Databases

    /// Every database, by name; those of one catalog when `catalogID` is given.
    public func databases(inCatalog catalogID: Int64? = nil) throws -> [DatabaseInfo] {
        let rows =
            if let catalogID {
                try db.fetchAll(Self.databaseSelect + " WHERE d.catalog_id = ? ORDER BY d.name", [catalogID])
            } else {
                try db.fetchAll(Self.databaseSelect + " ORDER BY d.name")
            }
        return try rows.map(databaseInfo)
    }

    /// The database named `name` (case-insensitive), or nil.
    public func database(named name: String) throws -> DatabaseInfo? {
        try db.fetchOne(Self.databaseSelect + " WHERE d.name = ?", [name]).map(databaseInfo)
    }

    /// The database with this id, or nil.
    public func database(id: Int64) throws -> DatabaseInfo? {
        try db.fetchOne(Self.databaseSelect + " WHERE d.id = ?", [id]).map(databaseInfo)
    }

    /// Creates a database in a catalog; database names are unique across catalogs.
    @discardableResult
    public func createDatabase(_ name: String, inCatalog catalogID: Int64, comment: String? = nil, owner: String) throws
        -> DatabaseInfo
    {
        if let problem = SQLName.problem(name, what: "database") { throw CatalogError(.invalidName, problem) }
        if name.lowercased() == "main" || name.lowercased() == "temp" {
            throw CatalogError(.invalidName, "'\(name)' is reserved by SQLite; choose another database name")
        }
        if let existing = try database(named: name) {
            throw CatalogError(.alreadyExists, "a database named '\(existing.name)' already exists (catalog \(existing.catalogName))")
        }
        let now = Clock.iso8601()
        try db.execute(
            "INSERT INTO databases (catalog_id, name, comment, owner, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [catalogID, name, comment, owner, now, now])
        return try database(id: db.lastInsertedRowID)!
    }

    /// Removes a database's catalog entries (its tables' storage is the caller's to drop first).
    public func dropDatabase(id: Int64) throws {
        for table in try tables(inDatabase: id) { try dropTable(id: table.id) }
        try db.execute("DELETE FROM tags WHERE object_kind = 'database' AND object_id = ?", [id])
        try db.execute("DELETE FROM databases WHERE id = ?", [id])
    }

    // MARK: Tables

    /// The tables of a database, by name, with their columns.
    public func tables(inDatabase databaseID: Int64) throws -> [TableInfo] {
        try db.fetchAll(Self.tableSelect + " WHERE t.database_id = ? ORDER BY t.name", [databaseID]).map(tableInfo)
    }

    /// Every table of every database.
    public func allTables() throws -> [TableInfo] {
        try db.fetchAll(Self.tableSelect + " ORDER BY d.name, t.name").map(tableInfo)
    }

    /// The table `database.table` (case-insensitive), or nil; `withTags: false` skips the tags (a faster lookup).
    public func table(database: String, name: String, withTags: Bool = true) throws -> TableInfo? {
        try db.fetchOne(Self.tableSelect + " WHERE d.name = ? AND t.name = ?", [database, name]).map { try tableInfo($0, withTags: withTags) }
    }

    /// The table with this id, or nil.
    public func table(id: Int64) throws -> TableInfo? {
        try db.fetchOne(Self.tableSelect + " WHERE t.id = ?", [id]).map(tableInfo)
    }

    /// Creates a table entry with no columns; the storage name may use `{id}`, replaced by the new id.
    @discardableResult
    public func createTable(
        _ name: String, inDatabase databaseID: Int64, kind: TableKind, storageName: String, comment: String? = nil,
        owner: String
    ) throws -> TableInfo {
        if let problem = SQLName.problem(name, what: "table") { throw CatalogError(.invalidName, problem) }
        guard let database = try database(id: databaseID) else { throw CatalogError(.notFound, "no database with id \(databaseID)") }
        if try table(database: database.name, name: name) != nil {
            throw CatalogError(.alreadyExists, "the table \(SQLName.qualified(database.name, name)) already exists")
        }
        let now = Clock.iso8601()
        try db.execute(
            """
            INSERT INTO tables (database_id, name, kind, storage_name, comment, owner, created_at, updated_at, row_count)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [databaseID, name, kind.rawValue, storageName, comment, owner, now, now, kind == .managed ? 0 : nil])
        let id = db.lastInsertedRowID
        if storageName.contains("{id}") {
            try db.execute("UPDATE tables SET storage_name = ? WHERE id = ?", [storageName.replacingAll("{id}", with: String(id)), id])
        }
        return try table(id: id)!
    }

    /// Renames a table (the catalog entry only: ids and storage stay).
    public func renameTable(id: Int64, to name: String) throws {
        if let problem = SQLName.problem(name, what: "table") { throw CatalogError(.invalidName, problem) }
        guard let table = try table(id: id) else { throw CatalogError(.notFound, "no table with id \(id)") }
        if let other = try self.table(database: table.databaseName, name: name), other.id != id {
            throw CatalogError(.alreadyExists, "the table \(other.qualifiedName) already exists")
        }
        try db.execute("UPDATE tables SET name = ?, updated_at = ? WHERE id = ?", [name, Clock.iso8601(), id])
    }

    /// Removes a table's entry, columns, tags and snapshot log.
    public func dropTable(id: Int64) throws {
        try db.execute(
            "DELETE FROM tags WHERE object_kind = 'column' AND object_id IN (SELECT id FROM columns WHERE table_id = ?)", [id])
        try db.execute("DELETE FROM tags WHERE object_kind = 'table' AND object_id = ?", [id])
        try db.execute("DELETE FROM snapshots WHERE table_id = ?", [id])
        try db.execute("DELETE FROM columns WHERE table_id = ?", [id])
        try db.execute("DELETE FROM tables WHERE id = ?", [id])
    }

    /// Sets a table's current snapshot and row count.
    public func setTableState(id: Int64, snapshot: Int64?, rowCount: Int64?) throws {
        try db.execute(
            "UPDATE tables SET current_snapshot = ?, row_count = ?, updated_at = ? WHERE id = ?",
            [snapshot, rowCount, Clock.iso8601(), id])
    }

    // MARK: Columns

    /// The live columns of a table, in order.
    public func columns(ofTable tableID: Int64, withTags: Bool = true) throws -> [ColumnInfo] {
        try db.fetchAll(
            "SELECT * FROM columns WHERE table_id = ? AND dropped_snapshot IS NULL ORDER BY position", [tableID]
        ).map { try columnInfo($0, withTags: withTags) }
    }

    /// Every column the table ever had, dropped ones included, by id.
    public func allColumns(ofTable tableID: Int64) throws -> [Int64: ColumnInfo] {
        var result: [Int64: ColumnInfo] = [:]
        for row in try db.fetchAll("SELECT * FROM columns WHERE table_id = ?", [tableID]) {
            let column = try columnInfo(row)
            result[column.id] = column
        }
        return result
    }

    /// Adds a live column at the end; returns it.
    @discardableResult
    public func addColumn(
        toTable tableID: Int64, name: String, type: String, nullable: Bool = true, comment: String? = nil,
        storageName: String? = nil
    ) throws -> ColumnInfo {
        if let problem = SQLName.problem(name, what: "column") { throw CatalogError(.invalidName, problem) }
        let live = try columns(ofTable: tableID)
        if let clash = live.first(where: { $0.name.lowercased() == name.lowercased() }) {
            throw CatalogError(.alreadyExists, "the table already has a column named '\(clash.name)'")
        }
        let now = Clock.iso8601()
        try db.execute(
            """
            INSERT INTO columns (table_id, name, type, position, nullable, comment, storage_name, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [tableID, name, type, live.count, nullable, comment, storageName ?? name, now, now])
        return try columnInfo(db.fetchOne("SELECT * FROM columns WHERE id = ?", [db.lastInsertedRowID])!)
    }

    /// Renames a live column (its id stays); the storage name follows unless given.
    public func renameColumn(id: Int64, to name: String, storageName: String? = nil) throws {
        if let problem = SQLName.problem(name, what: "column") { throw CatalogError(.invalidName, problem) }
        try db.execute(
            "UPDATE columns SET name = ?, storage_name = ?, updated_at = ? WHERE id = ?",
            [name, storageName ?? name, Clock.iso8601(), id])
    }

    /// Marks a column dropped at `snapshot` (kept for time travel under a new storage name) and renumbers the rest.
    public func dropColumn(id: Int64, atSnapshot snapshot: Int64, storageName: String) throws {
        guard let row = try db.fetchOne("SELECT table_id FROM columns WHERE id = ?", [id]), let tableID = row.value(0, as: Int64.self)
        else { throw CatalogError(.notFound, "no column with id \(id)") }
        try db.execute(
            "UPDATE columns SET dropped_snapshot = ?, storage_name = ?, position = -1, updated_at = ? WHERE id = ?",
            [snapshot, storageName, Clock.iso8601(), id])
        for (position, column) in try columns(ofTable: tableID).enumerated() {
            try db.execute("UPDATE columns SET position = ? WHERE id = ?", [position, column.id])
        }
    }

    /// Forgets dropped columns (after their storage was removed).
    public func purgeDroppedColumn(id: Int64) throws {
        try db.execute("DELETE FROM tags WHERE object_kind = 'column' AND object_id = ?", [id])
        try db.execute("DELETE FROM columns WHERE id = ?", [id])
    }

    /// Sets the comment of a database, table or column.
    public func setComment(_ kind: CatalogObjectKind, id: Int64, _ comment: String?) throws {
        let table: String =
            switch kind {
            case .catalog: "catalogs"
            case .database: "databases"
            case .table: "tables"
            case .column: "columns"
            }
        try db.execute("UPDATE \(table) SET comment = ?, updated_at = ? WHERE id = ?", [comment, Clock.iso8601(), id])
        guard db.changesCount == 1 else { throw CatalogError(.notFound, "no \(kind.rawValue) with id \(id)") }
    }

    // MARK: Tags

    /// Sets tag `key` to `value` on an object, replacing an earlier value.
    public func setTag(_ kind: CatalogObjectKind, id: Int64, key: String, value: String) throws {
        guard !key.isEmpty, !key.contains("=") else { throw CatalogError(.invalidName, "a tag key must be non-empty and hold no '='") }
        try db.execute("INSERT OR REPLACE INTO tags (object_kind, object_id, key, value) VALUES (?, ?, ?, ?)", [kind.rawValue, id, key, value])
    }

    /// Removes tag `key` from an object.
    public func removeTag(_ kind: CatalogObjectKind, id: Int64, key: String) throws {
        try db.execute("DELETE FROM tags WHERE object_kind = ? AND object_id = ? AND key = ?", [kind.rawValue, id, key])
    }

    /// The tags of an object.
    public func tags(_ kind: CatalogObjectKind, id: Int64) throws -> [String: String] {
        var result: [String: String] = [:]
        for row in try db.fetchAll("SELECT key, value FROM tags WHERE object_kind = ? AND object_id = ?", [kind.rawValue, id]) {
            result[row.value(0, as: String.self) ?? ""] = row.value(1, as: String.self) ?? ""
        }
        return result
    }

    // MARK: Search

    /// Databases, tables and columns whose name or comment contains `text`, or whose tags match it.
    ///
    /// `key=value` matches tags exactly (case-insensitive); other text matches names, comments,
    /// tag keys and tag values as a case-insensitive substring.
    public func search(_ text: String) throws -> [SearchHit] {
        var hits: [SearchHit] = []
        var seen = Set<String>()
        func add(_ hit: SearchHit) {
            if seen.insert("\(hit.kind.rawValue):\(hit.id):\(hit.matched)").inserted { hits.append(hit) }
        }
        let tagQuery: (key: String, value: String)? = {
            guard let eq = text.firstIndex(of: "=") else { return nil }
            return (String(text[..<eq]).trimmed(), String(text[text.index(after: eq)...]).trimmed())
        }()
        let pattern = "%" + text.replacingAll("\\", with: "\\\\").replacingAll("%", with: "\\%").replacingAll("_", with: "\\_") + "%"
        if tagQuery == nil {
            for row in try db.fetchAll(
                "SELECT id, name, comment FROM databases WHERE name LIKE ?1 ESCAPE '\\' OR comment LIKE ?1 ESCAPE '\\'", [pattern])
            {
                let name = row.value(1, as: String.self) ?? ""
                let comment = row.value(2, as: String.self)
                add(SearchHit(kind: .database, id: row.value(0)!, path: SQLName.quoted(name),
                    matched: name.lowercased().contains(text.lowercased()) ? "name" : "comment", comment: comment))
            }
            for row in try db.fetchAll(
                """
                SELECT t.id, d.name, t.name, t.comment FROM tables t JOIN databases d ON d.id = t.database_id
                WHERE t.name LIKE ?1 ESCAPE '\\' OR t.comment LIKE ?1 ESCAPE '\\'
                """, [pattern])
            {
                let name = row.value(2, as: String.self) ?? ""
                add(SearchHit(kind: .table, id: row.value(0)!, path: SQLName.qualified(row.value(1) ?? "", name),
                    matched: name.lowercased().contains(text.lowercased()) ? "name" : "comment", comment: row.value(3)))
            }
            for row in try db.fetchAll(
                """
                SELECT c.id, d.name, t.name, c.name, c.comment FROM columns c JOIN tables t ON t.id = c.table_id
                JOIN databases d ON d.id = t.database_id
                WHERE c.dropped_snapshot IS NULL AND (c.name LIKE ?1 ESCAPE '\\' OR c.comment LIKE ?1 ESCAPE '\\')
                """, [pattern])
            {
                let name = row.value(3, as: String.self) ?? ""
                add(SearchHit(kind: .column, id: row.value(0)!, path: SQLName.qualified(row.value(1) ?? "", row.value(2) ?? "", name),
                    matched: name.lowercased().contains(text.lowercased()) ? "name" : "comment", comment: row.value(4)))
            }
        }
        let tagRows =
            if let tagQuery {
                try db.fetchAll(
                    "SELECT object_kind, object_id, key, value FROM tags WHERE key = ? COLLATE NOCASE AND (? = '' OR value = ? COLLATE NOCASE)",
                    [tagQuery.key, tagQuery.value, tagQuery.value])
            } else {
                try db.fetchAll(
                    "SELECT object_kind, object_id, key, value FROM tags WHERE key LIKE ?1 ESCAPE '\\' OR value LIKE ?1 ESCAPE '\\'", [pattern])
            }
        for row in tagRows {
            guard let kind = (row.value(0, as: String.self)).flatMap(CatalogObjectKind.init(rawValue:)), let id = row.value(1, as: Int64.self)
            else { continue }
            guard let (path, comment) = try describePath(kind, id: id) else { continue }
            add(SearchHit(kind: kind, id: id, path: path, matched: "tag \(row.value(2, as: String.self) ?? "")=\(row.value(3, as: String.self) ?? "")", comment: comment))
        }
        return hits.sorted { ($0.path, $0.matched) < ($1.path, $1.matched) }
    }

    private func describePath(_ kind: CatalogObjectKind, id: Int64) throws -> (String, String?)? {
        switch kind {
        case .catalog:
            return try catalog(id: id).map { (SQLName.quoted($0.name), $0.comment) }
        case .database:
            return try database(id: id).map { (SQLName.quoted($0.name), $0.comment) }
        case .table:
            return try table(id: id).map { ($0.qualifiedName, $0.comment) }
        case .column:
            guard let row = try db.fetchOne(
                """
                SELECT d.name, t.name, c.name, c.comment FROM columns c JOIN tables t ON t.id = c.table_id
                JOIN databases d ON d.id = t.database_id WHERE c.id = ? AND c.dropped_snapshot IS NULL
                """, [id])
            else { return nil }
            return (SQLName.qualified(row.value(0) ?? "", row.value(1) ?? "", row.value(2) ?? ""), row.value(3))
        }
    }

    // MARK: Commits and snapshots

    /// Starts a commit: a new commit id (greater than every earlier one) at the current time.
    public func beginCommit(principal: String) throws -> (id: Int64, time: Double) {
        // Microseconds, as ISO 8601 times print them, so a printed time names its commit exactly.
        var time = (Clock.now() * 1_000_000).rounded() / 1_000_000
        // Commit times never go backwards, even if the wall clock does: time travel by time stays ordered.
        if let last = try db.fetchValue("SELECT max(committed_at) FROM commits", as: Double.self), last >= time {
            time = ((last + 0.000_001) * 1_000_000).rounded() / 1_000_000
        }
        try db.execute("INSERT INTO commits (committed_at, principal) VALUES (?, ?)", [time, principal])
        return (db.lastInsertedRowID, time)
    }

    /// Removes a commit that made no snapshot (a transaction that changed nothing).
    public func discardCommit(id: Int64) throws {
        try db.execute("DELETE FROM commits WHERE id = ? AND NOT EXISTS (SELECT 1 FROM snapshots WHERE commit_id = ?)", [id, id])
    }

    /// Records a snapshot of a table in a commit.
    public func recordSnapshot(tableID: Int64, commitID: Int64, operation: String, summary: JSON, schema: [SchemaColumn]) throws {
        try db.execute(
            "INSERT OR REPLACE INTO snapshots (table_id, commit_id, operation, summary, schema) VALUES (?, ?, ?, ?, ?)",
            [tableID, commitID, operation, summary.serialized(), JSON.array(schema.map(\.jsonValue)).serialized()])
    }

    /// A table's snapshots, oldest first: the retained ones, and the expired ones too when asked.
    public func snapshots(ofTable tableID: Int64, includingExpired: Bool = false) throws -> [SnapshotInfo] {
        try db.fetchAll(
            Self.snapshotSelect + " WHERE s.table_id = ? AND (? OR s.expired = 0) ORDER BY s.commit_id", [tableID, includingExpired]
        ).map(snapshotInfo)
    }

    /// The snapshot of a table current at commit `commitID` (its latest at or before it, maybe expired), or nil.
    public func snapshot(ofTable tableID: Int64, atCommit commitID: Int64) throws -> SnapshotInfo? {
        try db.fetchOne(
            Self.snapshotSelect + " WHERE s.table_id = ? AND s.commit_id <= ? ORDER BY s.commit_id DESC LIMIT 1", [tableID, commitID]
        ).map(snapshotInfo)
    }

    /// The last commit made at or before `time` (epoch seconds), or nil.
    public func commit(atOrBefore time: Double) throws -> Int64? {
        try db.fetchValue("SELECT max(id) FROM commits WHERE committed_at <= ?", [time], as: Int64.self)
    }

    /// The catalog's version: it moves with every change of a name, storage name, column or tag
    /// (not with row counts or snapshots), so what was derived from those can be kept until it does.
    public func version() throws -> Int64 {
        try db.fetchValue("SELECT version FROM catalog_version WHERE id = 1", as: Int64.self) ?? 0
    }

    /// The id of the newest commit, 0 when there is none.
    public func lastCommit() throws -> Int64 {
        try db.fetchValue("SELECT max(id) FROM commits", as: Int64.self) ?? 0
    }

    /// Whether a commit with this id was made (and not discarded).
    public func commitExists(_ id: Int64) throws -> Bool {
        try db.fetchValue("SELECT 1 FROM commits WHERE id = ?", [id], as: Int.self) != nil
    }

    /// Marks snapshots of a table expired (retention): their entries stay, so time travel to them says so.
    public func expireSnapshots(ofTable tableID: Int64, commitIDs: [Int64]) throws -> Int {
        var expired = 0
        for id in commitIDs {
            try db.execute("UPDATE snapshots SET expired = 1 WHERE table_id = ? AND commit_id = ? AND expired = 0", [tableID, id])
            expired += db.changesCount
        }
        return expired
    }

    // MARK: Rows to values

    private static let databaseSelect = """
        SELECT d.*, c.name AS catalog_name, c.kind AS catalog_kind FROM databases d JOIN catalogs c ON c.id = d.catalog_id
        """
    private static let tableSelect = "SELECT t.*, d.name AS database_name FROM tables t JOIN databases d ON d.id = t.database_id"
    private static let snapshotSelect = """
        SELECT s.*, c.committed_at, c.principal FROM snapshots s JOIN commits c ON c.id = s.commit_id
        """

    private func catalogInfo(_ row: Row) throws -> CatalogInfo {
        CatalogInfo(
            id: row.value("id")!, name: row.value("name")!, kind: CatalogKind(rawValue: row.value("kind") ?? "") ?? .managed,
            location: row.value("location"), comment: row.value("comment"), owner: row.value("owner") ?? "",
            createdAt: row.value("created_at") ?? "", updatedAt: row.value("updated_at") ?? "")
    }

    private func databaseInfo(_ row: Row) throws -> DatabaseInfo {
        let id: Int64 = row.value("id")!
        return DatabaseInfo(
            id: id, catalogID: row.value("catalog_id")!, catalogName: row.value("catalog_name") ?? "",
            catalogKind: CatalogKind(rawValue: row.value("catalog_kind") ?? "") ?? .managed, name: row.value("name")!,
            comment: row.value("comment"), owner: row.value("owner") ?? "", tags: try tags(.database, id: id),
            createdAt: row.value("created_at") ?? "", updatedAt: row.value("updated_at") ?? "")
    }

    private func tableInfo(_ row: Row) throws -> TableInfo {
        try tableInfo(row, withTags: true)
    }

    private func tableInfo(_ row: Row, withTags: Bool) throws -> TableInfo {
        let id: Int64 = row.value("id")!
        return TableInfo(
            id: id, databaseID: row.value("database_id")!, databaseName: row.value("database_name") ?? "", name: row.value("name")!,
            kind: TableKind(rawValue: row.value("kind") ?? "") ?? .managed, storageName: row.value("storage_name") ?? "",
            comment: row.value("comment"), owner: row.value("owner") ?? "", tags: withTags ? try tags(.table, id: id) : [:],
            createdAt: row.value("created_at") ?? "", updatedAt: row.value("updated_at") ?? "",
            currentSnapshot: row.value("current_snapshot"), rowCount: row.value("row_count"),
            columns: try columns(ofTable: id, withTags: withTags))
    }

    private func columnInfo(_ row: Row) throws -> ColumnInfo {
        try columnInfo(row, withTags: true)
    }

    private func columnInfo(_ row: Row, withTags: Bool) throws -> ColumnInfo {
        let id: Int64 = row.value("id")!
        return ColumnInfo(
            id: id, tableID: row.value("table_id")!, name: row.value("name")!, type: row.value("type") ?? "",
            position: row.value("position") ?? 0, nullable: row.value("nullable") ?? true, comment: row.value("comment"),
            tags: withTags ? try tags(.column, id: id) : [:], storageName: row.value("storage_name") ?? "",
            createdAt: row.value("created_at") ?? "", updatedAt: row.value("updated_at") ?? "")
    }

    private func snapshotInfo(_ row: Row) throws -> SnapshotInfo {
        let schema = (try? JSON.parse(row.value("schema") ?? "[]"))?.arrayValue?.compactMap(SchemaColumn.init(json:)) ?? []
        return SnapshotInfo(
            id: row.value("commit_id")!, tableID: row.value("table_id")!, committedAt: row.value("committed_at") ?? 0,
            operation: row.value("operation") ?? "", summary: (try? JSON.parse(row.value("summary") ?? "{}")) ?? [:],
            principal: row.value("principal") ?? "", schema: schema, expired: row.value("expired") ?? false)
    }
}
