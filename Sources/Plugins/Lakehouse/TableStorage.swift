import Catalog
import CoreSupport
import Governance
import Storage

/// The SQLite objects behind a managed table, and how they are made, changed and read at a snapshot.
struct TableStorage {
    let db: Database
    let access: CatalogAccess

    static let snapshotColumn = "_lh_snap"
    static let addedColumn = "_lh_added"
    static let removedColumn = "_lh_removed"
    static let storagePattern = "_lh_t{id}"
    static func tableName(_ id: Int64) -> String { "_lh_t\(id)" }
    static func historyName(_ id: Int64) -> String { "_lh_h\(id)" }
    static func viewName(_ id: Int64) -> String { "_lh_v\(id)" }
    static func updateTriggerName(_ id: Int64) -> String { "_lh_u\(id)" }
    static func deleteTriggerName(_ id: Int64) -> String { "_lh_d\(id)" }
    static func droppedColumnName(_ id: Int64) -> String { "_lh_dropped_\(id)" }

    static func q(_ name: String) -> String { SQLName.alwaysQuoted(name) }

    /// The database `name` of the managed catalog, created when missing.
    func managedDatabase(_ name: String, principal: Principal) throws -> DatabaseInfo {
        if let found = try access.database(named: name) {
            guard found.catalogKind == .managed else {
                throw LakehouseError(.readOnly, "\(SQLName.quoted(name)) is a federated source and is read-only")
            }
            return found
        }
        let catalog = try access.managedCatalog(owner: principal.description)
        return try access.createDatabase(name, inCatalog: catalog.id, owner: principal.description)
    }

    /// Creates a managed table from column definitions (for bulk appends).
    func createManagedTable(_ name: TableName, columns: [ColumnDefinition], commit: Commit, principal: Principal) throws -> TableInfo {
        guard !columns.isEmpty else { throw LakehouseError(.invalidInput, "a table needs at least one column") }
        var seen = Set<String>()
        for column in columns {
            if let problem = SQLName.problem(column.name, what: "column") { throw LakehouseError(.invalidInput, problem) }
            guard seen.insert(column.name.lowercased()).inserted else {
                throw LakehouseError(.invalidInput, "the column name '\(column.name)' appears twice")
            }
        }
        let definitions = columns.map { column in
            TableStorage.q(column.name) + (column.type.isEmpty ? "" : " " + column.type) + (column.nullable ? "" : " NOT NULL")
        }.joined(separator: ", ")
        let table = try create(name, definitions: definitions, suffix: "", commit: commit, principal: principal)
        for column in columns where column.comment != nil {
            if let info = table.columns.first(where: { $0.name == column.name }) { try access.setComment(.column, id: info.id, column.comment) }
        }
        return try access.table(id: table.id)!
    }

    /// Creates the catalog entry and storage of a table whose column definitions (and table constraints) are SQL text.
    ///
    /// `_lh_snap` goes after the user's columns: SQLite decodes a row's header only up to the column a
    /// query reads, so a snapshot column in front would cost every scan one more header entry per row
    /// (about 2% more instructions in a LIKE scan; Docs/performance.md, figure (4)).
    func create(
        _ name: TableName, definitions: String, constraints: String = "", suffix: String, commit: Commit, principal: Principal
    ) throws -> TableInfo {
        let database = try managedDatabase(name.database, principal: principal)
        let entry = try access.createTable(
            name.table, inDatabase: database.id, kind: .managed, storageName: TableStorage.storagePattern, owner: principal.description)
        let snapshot = "\(TableStorage.q(TableStorage.snapshotColumn)) INTEGER NOT NULL DEFAULT (lh_snapshot())"
        try db.execute(
            "CREATE TABLE main.\(TableStorage.q(entry.storageName)) (\(definitions), \(snapshot)"
                + "\(constraints.isEmpty ? "" : ", " + constraints))\(suffix)")
        for row in try db.fetchAll("SELECT name, type, \"notnull\" FROM pragma_table_info(?, 'main') ORDER BY cid", [entry.storageName]) {
            let column: String = row.value(0) ?? ""
            guard column != TableStorage.snapshotColumn else { continue }
            if let problem = SQLName.problem(column, what: "column") { throw LakehouseError(.invalidInput, problem) }
            try access.addColumn(toTable: entry.id, name: column, type: row.value(1) ?? "", nullable: (row.value(2, as: Int.self) ?? 0) == 0)
        }
        let table = try access.table(id: entry.id)!
        try createHistory(table)
        try rebuildDerived(table)
        commit.create(table.id)
        return table
    }

    /// Every stored column (live and dropped) with its declared type, in storage order.
    func storedColumns(_ table: TableInfo) throws -> [(name: String, type: String)] {
        try db.fetchAll("SELECT name, type FROM pragma_table_info(?, 'main') ORDER BY cid", [table.storageName]).compactMap { row in
            let name: String = row.value(0) ?? ""
            return name == TableStorage.snapshotColumn ? nil : (name, row.value(1) ?? "")
        }
    }

    /// Creates the history table of a new table.
    func createHistory(_ table: TableInfo) throws {
        let history = TableStorage.historyName(table.id)
        let columns = try storedColumns(table).map { TableStorage.q($0.name) + ($0.type.isEmpty ? "" : " " + $0.type) }
        try db.execute(
            "CREATE TABLE main.\(TableStorage.q(history)) (\((columns + ["\(TableStorage.addedColumn) INTEGER NOT NULL", "\(TableStorage.removedColumn) INTEGER NOT NULL"]).joined(separator: ", ")))")
        try db.execute("CREATE INDEX main.\(TableStorage.q(history + "_removed")) ON \(TableStorage.q(history)) (\(TableStorage.removedColumn))")
    }

    /// Drops the view and triggers of a table.
    func dropDerived(_ tableID: Int64) throws {
        try db.execute("DROP VIEW IF EXISTS main.\(TableStorage.q(TableStorage.viewName(tableID)))")
        try db.execute("DROP TRIGGER IF EXISTS main.\(TableStorage.q(TableStorage.updateTriggerName(tableID)))")
        try db.execute("DROP TRIGGER IF EXISTS main.\(TableStorage.q(TableStorage.deleteTriggerName(tableID)))")
    }

    /// (Re)creates the view of the current rows and the triggers that keep older versions.
    func rebuildDerived(_ table: TableInfo) throws {
        try dropDerived(table.id)
        let id = table.id
        let t = TableStorage.q(table.storageName), h = TableStorage.q(TableStorage.historyName(id))
        let live = try access.columns(ofTable: id)
        let select = live.map { "\(TableStorage.q($0.storageName)) AS \(TableStorage.q($0.name))" }.joined(separator: ", ")
        try db.execute("CREATE VIEW main.\(TableStorage.q(TableStorage.viewName(id))) AS SELECT \(select) FROM main.\(t)")
        let stored = try storedColumns(table).map { TableStorage.q($0.name) }
        let names = (stored + [TableStorage.addedColumn, TableStorage.removedColumn]).joined(separator: ", ")
        let old = (stored.map { "OLD.\($0)" } + ["OLD.\(TableStorage.snapshotColumn)", "lh_snapshot()"]).joined(separator: ", ")
        let snap = TableStorage.snapshotColumn
        try db.execute(
            """
            CREATE TRIGGER main.\(TableStorage.q(TableStorage.updateTriggerName(id))) AFTER UPDATE ON \(t)
            WHEN NEW.\(snap) IS NOT lh_snapshot() BEGIN
                INSERT INTO \(h) (\(names)) VALUES (\(old));
                UPDATE \(t) SET \(snap) = lh_snapshot() WHERE rowid = NEW.rowid;
            END
            """)
        try db.execute(
            """
            CREATE TRIGGER main.\(TableStorage.q(TableStorage.deleteTriggerName(id))) AFTER DELETE ON \(t)
            WHEN OLD.\(snap) IS NOT lh_snapshot() BEGIN
                INSERT INTO \(h) (\(names)) VALUES (\(old));
            END
            """)
    }

    /// Drops a table's storage (table, history, view, triggers, indexes).
    func dropStorage(_ table: TableInfo) throws {
        try dropDerived(table.id)
        try db.execute("DROP TABLE IF EXISTS main.\(TableStorage.q(table.storageName))")
        try db.execute("DROP TABLE IF EXISTS main.\(TableStorage.q(TableStorage.historyName(table.id)))")
    }

    /// The query for a table's rows as of a commit, with the columns it had then (named as they were).
    static func asOfQuery(_ table: TableInfo, commit: Int64, access: CatalogAccess) throws -> String {
        guard let snapshot = try access.snapshot(ofTable: table.id, atCommit: commit) else {
            throw LakehouseError(.expired, "\(table.qualifiedName) did not exist at snapshot \(commit)")
        }
        let all = try access.allColumns(ofTable: table.id)
        var current: [String] = [], history: [String] = []
        for column in snapshot.schema {
            guard let stored = all[column.id] else {
                throw LakehouseError(.expired, "the column \(column.name) of \(table.qualifiedName) at snapshot \(commit) was purged by compaction")
            }
            current.append("\(q(stored.storageName)) AS \(q(column.name))")
            history.append(q(stored.storageName))
        }
        return "SELECT \(current.joined(separator: ", ")) FROM main.\(q(table.storageName)) WHERE \(snapshotColumn) <= \(commit) "
            + "UNION ALL SELECT \(history.joined(separator: ", ")) FROM main.\(q(historyName(table.id))) "
            + "WHERE \(addedColumn) <= \(commit) AND \(removedColumn) > \(commit)"
    }
}
