import Catalog
import CoreSupport
import Governance
import Storage

/// Decides what each `db.table` of one statement means, and what the statement may touch.
final class Binder {
    let engine: SQLiteEngine
    let access: CatalogAccess
    let asOf: AsOf?
    let sql: String
    /// The table an INSERT, UPDATE or DELETE writes.
    private(set) var target: TableInfo?
    private var verb: String?
    private var databases: [String: DatabaseInfo?] = [:]
    /// The caller's access policy, when the lakehouse is governed.
    var governance: StatementGovernance?
    /// The target's view when the caller may write it only under a filter, column list or mask.
    private(set) var filteredWrite: FilteredWrite?
    /// The statement's tokens (a filtered write checks them).
    var tokens: [SQLToken] = []

    init(engine: SQLiteEngine, access: CatalogAccess, asOf: AsOf?, sql: String) {
        self.engine = engine
        self.access = access
        self.asOf = asOf
        self.sql = sql
    }

    func setVerb(_ verb: String?) { self.verb = verb }

    private func database(_ name: String) throws -> DatabaseInfo? {
        if let cached = databases[name.lowercased()] { return cached }
        let found = try access.database(named: name)
        databases[name.lowercased()] = found
        return found
    }

    func isDatabase(_ name: String) throws -> Bool { try database(name) != nil }

    func bind(_ reference: TableReference) throws -> Binding {
        guard let database = try database(reference.database),
            // A governed statement needs the table's and columns' tags: grants and denies on tags (TBAC) match them.
            let table = try access.table(database: reference.database, name: reference.table, withTags: governance != nil)
        else {
            let known = try access.database(named: reference.database).map { try access.tables(inDatabase: $0.id).map(\.name) } ?? []
            throw LakehouseError.syntax(
                "there is no table \(SQLName.qualified(reference.database, reference.table))"
                    + (known.isEmpty ? "" : " (\(SQLName.quoted(reference.database)) has \(known.map(SQLName.quoted).joined(separator: ", ")))"),
                sql: sql, offset: reference.offset)
        }
        if table.kind == .external {
            if reference.isWriteTarget {
                throw LakehouseError(.readOnly, "\(table.qualifiedName) is a federated source and is read-only", sql: sql)
            }
            if reference.asOf != nil {
                throw LakehouseError(.unsupported, "\(table.qualifiedName) is a federated source: it has no snapshots to travel to", sql: sql)
            }
            let source = SQLName.alwaysQuoted(SQLiteEngine.sourceSchema(database.catalogID)) + "." + SQLName.alwaysQuoted(table.storageName)
            if let governance {
                let descriptor = StatementGovernance.descriptor(table, database: database)
                if let secure = try governance.read(descriptor, from: source, columnName: { $0.name }, offset: reference.offset) {
                    return governed(table, secure)
                }
            }
            return Binding(text: source)
        }
        let storage = "main." + SQLName.alwaysQuoted(table.storageName)
        if reference.isWriteTarget {
            if reference.asOf != nil {
                throw LakehouseError.syntax("a table that is written cannot be read AS OF a snapshot", sql: sql, offset: reference.offset)
            }
            target = table
            if let governance {
                let permission: DataPermission =
                    switch verb {
                    case "UPDATE": .update
                    case "DELETE": .delete
                    default: .insert
                    }
                let descriptor = StatementGovernance.descriptor(table, database: database)
                let plan = try governance.write(descriptor, permission: permission, offset: reference.offset)
                // REPLACE and upserts also delete or update what they displace.
                if verb == "REPLACE" { _ = try governance.write(descriptor, permission: .delete, offset: reference.offset) }
                if let plan {
                    try governance.checkFilteredWrite(tokens, table: table.qualifiedName)
                    let write = try FilteredWrite.install(plan: plan, table: table, user: governance.user, db: access.db, sql: sql)
                    filteredWrite = write
                    return Binding(text: write.target, insertColumns: verb == "INSERT" ? write.insertColumns : nil)
                }
            }
            let columns = verb == "INSERT" ? table.columns.map { SQLName.alwaysQuoted($0.storageName) }.joined(separator: ", ") : nil
            return Binding(text: storage, insertColumns: columns)
        }
        if reference.isColumnQualifier, let target, target.id == table.id, verb != "INSERT" {
            return Binding(text: filteredWrite?.target ?? storage)
        }
        guard let point = reference.asOf ?? asOf else {
            let view = "main." + SQLName.alwaysQuoted(TableStorage.viewName(table.id))
            if let governance,
                let secure = try governance.read(
                    StatementGovernance.descriptor(table, database: database), from: view, columnName: { $0.name }, offset: reference.offset)
            {
                return governed(table, secure)
            }
            return Binding(text: view)
        }
        let commitID = try resolve(point, table: table, offset: reference.offset)
        let name = "_lh_asof_\(table.id)_\(commitID)"
        let asOfQuery = try TableStorage.asOfQuery(table, commit: commitID, access: access)
        if let governance, let snapshot = try access.snapshot(ofTable: table.id, atCommit: commitID) {
            // Time travel reads old data under the current policy: grants bind to column ids, so a column
            // renamed since keeps its grants; the relation names columns as they were then.
            let current = Dictionary(table.columns.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let thenNames = Dictionary(snapshot.schema.map { (String($0.id), $0.name) }, uniquingKeysWith: { a, _ in a })
            let columns = snapshot.schema.map { column in
                (id: column.id, name: current[column.id]?.name ?? column.name, tags: current[column.id]?.tags ?? [:])
            }
            let descriptor = StatementGovernance.descriptor(table, database: database, columns: columns)
            if let secure = try governance.read(
                descriptor, from: "(\(asOfQuery))", columnName: { thenNames[$0.id] ?? $0.name }, offset: reference.offset)
            {
                let governedName = "_lh_g\(table.id)_\(commitID)"
                return Binding(text: SQLName.alwaysQuoted(governedName), cte: (governedName, secure))
            }
        }
        return Binding(text: SQLName.alwaysQuoted(name), cte: (name, asOfQuery))
    }

    /// A reference bound to the caller's secure SELECT of `table`, as a common table expression.
    private func governed(_ table: TableInfo, _ secure: String) -> Binding {
        let name = "_lh_g\(table.id)"
        return Binding(text: SQLName.alwaysQuoted(name), cte: (name, secure))
    }

    /// The commit id a point in time means for `table`, checking the table had a kept snapshot then.
    private func resolve(_ point: AsOf, table: TableInfo, offset: Int) throws -> Int64 {
        let commitID: Int64
        switch point {
        case .snapshot(let id):
            let last = try access.lastCommit()
            guard id >= 1, id <= last else {
                throw LakehouseError(.notFound, "there is no snapshot \(id) (the latest is \(last))", sql: sql)
            }
            commitID = id
        case .time(let time):
            guard let id = try access.commit(atOrBefore: time) else {
                throw LakehouseError(.expired, "nothing was committed at or before \(Clock.iso8601(time))", sql: sql)
            }
            commitID = id
        }
        guard let snapshot = try access.snapshot(ofTable: table.id, atCommit: commitID) else {
            throw LakehouseError(.expired, "\(table.qualifiedName) did not exist at \(point) (commit \(commitID))", sql: sql)
        }
        if snapshot.expired {
            let kept = try access.snapshots(ofTable: table.id).first?.id
            throw LakehouseError(
                .expired,
                "\(table.qualifiedName) at \(point) is snapshot \(snapshot.id), which retention expired"
                    + (kept.map { " (the oldest kept is \($0))" } ?? ""), sql: sql)
        }
        return commitID
    }

    /// The authorizer for a user statement: reads of lakehouse storage and federated sources, writes of the target only.
    func authorizer(writing target: TableInfo?) -> (AuthorizerAction) -> AuthorizerDecision {
        Binder.rules(target: target, restricted: (governance?.isRestricted ?? false) || filteredWrite != nil, writeView: filteredWrite?.viewName)
    }

    /// The authorizer's rules for a statement writing `target` (nil: a read), reading some table through
    /// a filter or mask when `restricted`, and writing through the filtered-write view `writeView` if any.
    static func rules(target: TableInfo?, restricted: Bool, writeView: String?) -> (AuthorizerAction) -> AuthorizerDecision {
        let targetName = target.map(\.storageName)
        let historyName = target.map { TableStorage.historyName($0.id) }
        let updateTrigger = target.map { TableStorage.updateTriggerName($0.id) }
        return { action in
            // A filtered write's statement reads and writes its view; the view's triggers write the storage.
            if let writeView, action.schema == "temp", action.table == writeView,
                [.read, .insert, .update, .delete].contains(action.code)
            {
                return .allow
            }
            switch action.code {
            case .read:
                let table = action.table ?? ""
                // No schema: a common table expression of the statement itself.
                guard let schema = action.schema else { return .allow }
                if (schema == "main" && table.hasPrefix("_lh_")) || schema.hasPrefix("_lh_src_") { return .allow }
                return .deny
            case .select, .recursive:
                return .allow
            case .function:
                let name = (action.second ?? "").lowercased()
                if restricted { return StatementGovernance.safeFunctions.contains(name) ? .allow : .deny }
                return ["load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"].contains(name) ? .deny : .allow
            case .insert, .delete:
                let table = action.table ?? ""
                return (table == targetName || table == historyName) && action.schema != "temp" ? .allow : .deny
            case .update:
                let table = action.table ?? ""
                guard table == targetName || table == historyName else { return .deny }
                if action.column == TableStorage.snapshotColumn && action.source != updateTrigger { return .deny }
                return .allow
            default:
                return .deny
            }
        }
    }
}
