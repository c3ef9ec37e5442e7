import Catalog
import CoreSupport
import Governance
import Storage

/// The two table-maintenance jobs: snapshot retention and compaction.
extension SQLiteEngine {
    /// Maintenance changes what time travel can reach: it needs ALTER on the table when the lakehouse is governed.
    func requireAlter(_ table: TableInfo, access: CatalogAccess, context: QueryContext, what: String) throws {
        guard let governance = try governance(for: context.principal, sql: "\(what) \(table.qualifiedName)"),
            let database = try access.database(named: table.databaseName)
        else { return }
        try governance.table(StatementGovernance.descriptor(table, database: database), permission: .alter)
    }

    public func expireSnapshots(of name: TableName, policy: RetentionPolicy, context: QueryContext) throws -> MaintenanceOutcome {
        guard policy.olderThan != nil || policy.keepLast != nil else {
            throw LakehouseError(.invalidInput, "say which snapshots to keep: an age (--older-than) or a count (--keep-last), or both")
        }
        if let keep = policy.keepLast, keep < 1 {
            throw LakehouseError(.invalidInput, "--keep-last must be at least 1 (the current snapshot is always kept)")
        }
        if let age = policy.olderThan, age < 0 { throw LakehouseError(.invalidInput, "--older-than must not be negative") }
        do {
            return try withWriter(context) { db in
                let access = CatalogAccess(db)
                let table = try managedTable(name, access: access)
                try requireAlter(table, access: access, context: context, what: "expire snapshots of")
                let snapshots = try access.snapshots(ofTable: table.id)
                let cutoff = policy.olderThan.map { Clock.now() - $0 }
                var kept: [Int64] = [], expired: [Int64] = []
                for (index, snapshot) in snapshots.enumerated() {
                    let fromNewest = snapshots.count - index
                    let keep =
                        fromNewest == 1 || policy.keepLast.map { fromNewest <= $0 } ?? false
                        || cutoff.map { snapshot.committedAt >= $0 } ?? false
                    if keep { kept.append(snapshot.id) } else { expired.append(snapshot.id) }
                }
                var outcome = MaintenanceOutcome(table: table.qualifiedName)
                outcome.snapshotsExpired = try access.expireSnapshots(ofTable: table.id, commitIDs: expired)
                outcome.snapshotsKept = kept.count
                // A history row stays only if some kept snapshot sees it (added <= S < removed).
                let keptJSON = JSON.array(kept.map { .int(Int($0)) }).serialized()
                try db.execute(
                    """
                    DELETE FROM main.\(TableStorage.q(TableStorage.historyName(table.id))) WHERE NOT EXISTS (
                        SELECT 1 FROM json_each(?) k WHERE k.value >= \(TableStorage.addedColumn) AND k.value < \(TableStorage.removedColumn))
                    """, [keptJSON])
                outcome.historyRowsRemoved = db.changesCount
                return outcome
            }
        } catch {
            throw LakehouseError.wrap(error)
        }
    }

    public func compact(_ name: TableName, context: QueryContext) throws -> MaintenanceOutcome {
        do {
            return try withWriter(context) { db in
                let access = CatalogAccess(db)
                let commit = try Commit(db: db, principal: context.principal)
                var table = try managedTable(name, access: access)
                try requireAlter(table, access: access, context: context, what: "compact")
                let storage = TableStorage(db: db, access: access)
                var outcome = MaintenanceOutcome(table: table.qualifiedName)
                try storage.dropDerived(table.id)

                // Dropped columns no kept snapshot reads any more leave storage.
                let needed = Set(try access.snapshots(ofTable: table.id).flatMap { $0.schema.map(\.id) })
                let live = Set(table.columns.map(\.id))
                for column in try access.allColumns(ofTable: table.id).values where !live.contains(column.id) && !needed.contains(column.id) {
                    do {
                        try db.inSavepoint {
                            for stored in [table.storageName, TableStorage.historyName(table.id)] {
                                try db.execute("ALTER TABLE main.\(TableStorage.q(stored)) DROP COLUMN \(TableStorage.q(column.storageName))")
                            }
                        }
                        try access.purgeDroppedColumn(id: column.id)
                        outcome.columnsPurged += 1
                    } catch {
                        // SQLite keeps columns that an index or constraint uses; they stay hidden.
                        continue
                    }
                }
                table = try access.table(id: table.id)!
                outcome.rowsRewritten = try rewrite(table.storageName, order: "rowid", db: db)
                outcome.historyRowsRemoved = 0
                _ = try rewrite(TableStorage.historyName(table.id), order: "\(TableStorage.removedColumn), rowid", db: db)
                try storage.rebuildDerived(table)
                commit.record(table.id, rewritten: max(outcome.rowsRewritten, 1), operation: "replace")
                outcome.snapshot = try commit.finish().first
                return outcome
            }
        } catch {
            throw LakehouseError.wrap(error)
        }
    }

    /// Copies a stored table into a fresh one in `order` (same rowids, same indexes) and swaps it in; returns the rows copied.
    private func rewrite(_ name: String, order: String, db: Database) throws -> Int {
        guard let create = try db.fetchValue("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [name], as: String.self) else {
            throw LakehouseError(.storage, "the storage table \(name) is missing")
        }
        let indexes = try db.fetchAll(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", [name]
        ).compactMap { $0.value(0, as: String.self) }
        let columns = try db.fetchAll("SELECT name FROM pragma_table_info(?, 'main') ORDER BY cid", [name])
            .compactMap { $0.value(0, as: String.self) }.map(TableStorage.q).joined(separator: ", ")
        let fresh = name + "_compact"
        let quoted = TableStorage.q(name)
        guard create.contains(quoted) else { throw LakehouseError(.storage, "unexpected definition of \(name): \(create)") }
        try db.execute(create.replacingFirst(quoted, with: TableStorage.q(fresh)))
        try db.execute(
            "INSERT INTO main.\(TableStorage.q(fresh)) (rowid, \(columns)) SELECT rowid, \(columns) FROM main.\(quoted) ORDER BY \(order)")
        let rows = db.changesCount
        try db.execute("DROP TABLE main.\(quoted)")
        try db.execute("ALTER TABLE main.\(TableStorage.q(fresh)) RENAME TO \(quoted)")
        for index in indexes { try db.execute(index) }
        return rows
    }

    /// Runs `body` in a write transaction under the context's time limit and cancellation.
    func withWriter<T>(_ context: QueryContext, _ body: (Database) throws -> T) throws -> T {
        let timeout = context.timeout
        return try store.write(context.cancellation?.token ?? AccessToken()) { db in
            guard let timeout else { return try body(db) }
            return try db.withTimeout(timeout) { try body(db) }
        }
    }

    func managedTable(_ name: TableName, access: CatalogAccess) throws -> TableInfo {
        guard let table = try access.table(database: name.database, name: name.table) else {
            throw LakehouseError(.notFound, "there is no table \(name)")
        }
        guard table.kind == .managed else { throw LakehouseError(.readOnly, "\(name) is a federated source: it has no snapshots") }
        return table
    }
}

extension String {
    /// The string with the first occurrence of `target` replaced.
    func replacingFirst(_ target: String, with replacement: String) -> String {
        let source = Array(utf8), pattern = Array(target.utf8)
        guard !pattern.isEmpty, source.count >= pattern.count else { return self }
        for i in 0...(source.count - pattern.count) where Array(source[i..<(i + pattern.count)]) == pattern {
            return String(decoding: source[..<i] + Array(replacement.utf8) + source[(i + pattern.count)...], as: UTF8.self)
        }
        return self
    }
}
