import Catalog
import CoreSupport
import Governance
import Storage

/// What kind of statement the gate runs, from its first keywords.
enum StatementKind: Equatable {
    case read, dml
    case createDatabase, dropDatabase, createTable, dropTable, alterTable, createIndex, dropIndex

    static func classify(_ tokens: [SQLToken], sql: String) throws(LakehouseError) -> StatementKind {
        let words = tokens.filter(\.isSignificant)
        guard let first = words.first else { throw LakehouseError(.syntax, "empty statement", sql: sql) }
        let second = words.count > 1 ? words[1].text.uppercased() : ""
        let third = words.count > 2 ? words[2].text.uppercased() : ""
        switch first.text.uppercased() {
        case "SELECT", "VALUES", "EXPLAIN": return .read
        case "WITH": return dmlVerb(tokens) == nil ? .read : .dml
        case "INSERT", "REPLACE", "UPDATE", "DELETE": return .dml
        case "CREATE":
            switch second {
            case "TABLE": return .createTable
            case "DATABASE", "SCHEMA": return .createDatabase
            case "INDEX": return .createIndex
            case "UNIQUE" where third == "INDEX": return .createIndex
            default: break
            }
        case "DROP":
            switch second {
            case "TABLE": return .dropTable
            case "DATABASE", "SCHEMA": return .dropDatabase
            case "INDEX": return .dropIndex
            default: break
            }
        case "ALTER" where second == "TABLE": return .alterTable
        default: break
        }
        let what = words.prefix(2).map { $0.text.uppercased() }.joined(separator: " ")
        throw LakehouseError.syntax(
            "the lakehouse does not run \(what) statements; it runs SELECT, INSERT, UPDATE, DELETE, CREATE/DROP TABLE, "
                + "CREATE/DROP DATABASE, CREATE/DROP INDEX and ALTER TABLE", sql: sql, offset: first.start)
    }

    /// INSERT, UPDATE or DELETE when the statement writes (looking past a WITH clause), else nil.
    static func dmlVerb(_ tokens: [SQLToken]) -> String? {
        let words = tokens.filter(\.isSignificant)
        var depth = 0
        for (i, token) in words.enumerated() {
            if token.kind == .leftParen { depth += 1 }
            if token.kind == .rightParen { depth -= 1 }
            guard depth == 0, token.kind == .word else { continue }
            switch token.text.uppercased() {
            case "INSERT": return "INSERT"
            case "REPLACE" where i + 1 < words.count && words[i + 1].isKeyword("INTO"): return "INSERT"
            case "UPDATE" where i == 0 || !words[i - 1].isKeyword("DO"): return "UPDATE"
            case "DELETE": return "DELETE"
            default: continue
            }
        }
        return nil
    }
}

/// One write transaction of the lakehouse: its commit id, and what it did to each table.
final class Commit {
    struct Change {
        var rowsBefore: Int64
        var added = 0
        var deleted = 0
        var updated = 0
        var operations: [String] = []
        var schemaChanges: [String] = []
        var created = false
        var rewritten = 0
        var recount = false
    }

    let db: Database
    let id: Int64
    let time: Double
    let principal: Principal
    private var order: [Int64] = []
    private var changes: [Int64: Change] = [:]
    private var finished = false

    /// Starts a commit: a new commit id, and `lh_snapshot()` returning it on this connection.
    init(db: Database, principal: Principal) throws {
        self.db = db
        self.principal = principal
        (id, time) = try CatalogAccess(db).beginCommit(principal: principal.description)
        let id = self.id
        try db.addFunction("lh_snapshot", argumentCount: 0, options: [.innocuous]) { _ in .integer(id) }
        // REPLACE and UPSERT deletions fire the history trigger only with recursive triggers on.
        try db.execute("PRAGMA recursive_triggers = ON")
    }

    deinit {
        // Outside a commit nothing may write managed tables: the default and triggers then fail.
        try? db.addFunction("lh_snapshot", argumentCount: 0, options: [.innocuous]) { _ in
            throw LakehouseError(.unsupported, "lakehouse tables are written only through the lakehouse's query gate")
        }
    }

    /// Notes that a statement is about to change `table`.
    func willChange(_ table: TableInfo, db: Database) throws {
        if changes[table.id] == nil {
            order.append(table.id)
            changes[table.id] = Change(rowsBefore: table.rowCount ?? 0)
        }
    }

    func created(_ tableID: Int64) -> Bool { changes[tableID]?.created ?? false }

    /// Notes a table created in this commit.
    func create(_ tableID: Int64) {
        if changes[tableID] == nil { order.append(tableID) }
        changes[tableID] = Change(rowsBefore: 0, created: true)
    }

    /// Adds row counts and an operation name to a table's change.
    func record(_ tableID: Int64, added: Int = 0, deleted: Int = 0, updated: Int = 0, rewritten: Int = 0, operation: String? = nil) {
        if changes[tableID] == nil {
            order.append(tableID)
            changes[tableID] = Change(rowsBefore: 0)
        }
        changes[tableID]!.added += added
        changes[tableID]!.deleted += deleted
        changes[tableID]!.updated += updated
        changes[tableID]!.rewritten += rewritten
        if let operation { changes[tableID]!.operations.append(operation) }
    }

    /// Notes a schema change of a table (`add column x INTEGER`).
    func schemaChange(_ tableID: Int64, rowsBefore: Int64, _ description: String) {
        if changes[tableID] == nil {
            order.append(tableID)
            changes[tableID] = Change(rowsBefore: rowsBefore)
        }
        changes[tableID]!.schemaChanges.append(description)
    }

    /// Notes what an INSERT, UPDATE or DELETE statement did.
    func didChange(_ table: TableInfo, statementKind verb: String?, changes count: Int, tokens: [SQLToken], db: Database) throws {
        let upsert = tokens.contains { $0.isKeyword("REPLACE") || $0.isKeyword("CONFLICT") }
        switch verb {
        case "INSERT": record(table.id, added: count, operation: upsert ? "overwrite" : "append")
        case "UPDATE": record(table.id, updated: count, operation: "update")
        case "DELETE": record(table.id, deleted: count, operation: "delete")
        default: record(table.id, operation: "overwrite")
        }
        if upsert { changes[table.id]!.recount = true }
    }

    /// Records one snapshot per changed table and the tables' new state; returns the snapshots.
    func finish() throws -> [CommittedSnapshot] {
        precondition(!finished, "a commit finishes once")
        finished = true
        let access = CatalogAccess(db)
        var snapshots: [CommittedSnapshot] = []
        for tableID in order {
            guard let change = changes[tableID], let table = try access.table(id: tableID) else { continue }
            let rowChanges = change.added + change.deleted + change.updated
            guard change.created || rowChanges > 0 || !change.schemaChanges.isEmpty || change.rewritten > 0 else { continue }
            var rows = change.rowsBefore + Int64(change.added) - Int64(change.deleted)
            if change.recount {
                rows = try db.fetchValue("SELECT count(*) FROM main.\(SQLName.alwaysQuoted(table.storageName))", as: Int64.self) ?? rows
            }
            let operations = Set(change.operations)
            let operation: String =
                if change.created { "create" }
                else if change.rewritten > 0 && rowChanges == 0 { "replace" }
                else if rowChanges == 0 { "schema" }
                else if operations.count == 1 { operations.first! }
                else { "overwrite" }
            var summary: JSONObject = [
                "added-rows": .int(change.added), "deleted-rows": .int(change.deleted), "updated-rows": .int(change.updated),
                "total-rows": .int(Int(rows)),
            ]
            if !change.schemaChanges.isEmpty { summary["schema-changes"] = .array(change.schemaChanges.map(JSON.string)) }
            if change.rewritten > 0 { summary["rewritten-rows"] = .int(change.rewritten) }
            let schema = table.columns.map { SchemaColumn(id: $0.id, name: $0.name, type: $0.type) }
            try access.recordSnapshot(tableID: tableID, commitID: id, operation: operation, summary: .object(summary), schema: schema)
            try access.setTableState(id: tableID, snapshot: id, rowCount: rows)
            snapshots.append(CommittedSnapshot(table: table.qualifiedName, snapshotID: id, operation: operation, summary: .object(summary)))
        }
        if snapshots.isEmpty { try access.discardCommit(id: id) }
        return snapshots
    }
}
