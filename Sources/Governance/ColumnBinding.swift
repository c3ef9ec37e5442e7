import Catalog

/// One column name of one grant, bound to the catalog's column id when the policy was applied.
///
/// Bindings are kept with the policy version (`policy_bindings`), so a grant follows
/// its columns through renames: the policy text keeps the name it was written with,
/// decisions use the id, and `wb policy export|plan|explain` show the current name.
public struct ColumnBinding: Sendable, Hashable, Comparable {
    public var grantID: String
    /// The catalog id of the grant's table.
    public var tableID: String
    /// The column's name as the policy text writes it, lower-cased.
    public var name: String
    /// The catalog id of the column.
    public var columnID: String

    public init(grantID: String, tableID: String, name: String, columnID: String) {
        self.grantID = grantID
        self.tableID = tableID
        self.name = name.lowercased()
        self.columnID = columnID
    }

    public static func < (a: ColumnBinding, b: ColumnBinding) -> Bool {
        (a.grantID, a.name) < (b.grantID, b.name)
    }
}

/// One grant on one table, bound to the catalog's table id when the policy was applied.
///
/// Bindings are kept with the policy version (`policy_table_bindings`), so a grant follows its
/// table through renames (`ALTER TABLE ... RENAME TO`), and a table dropped and created again
/// under the same name is another table: the old grant does not reach it.
public struct TableBinding: Sendable, Hashable, Comparable {
    public var grantID: String
    /// The catalog id of the table.
    public var tableID: String
    /// The table as the policy text writes it (`db.table` or `catalog.db.table`), lower-cased.
    public var name: String

    public init(grantID: String, tableID: String, name: String) {
        self.grantID = grantID
        self.tableID = tableID
        self.name = name.lowercased()
    }

    /// How a grant's table resource is written, lower-cased: `db.table` or `catalog.db.table`.
    public static func written(catalog: String?, database: String, table: String) -> String {
        ((catalog.map { [$0] } ?? []) + [database, table]).joined(separator: ".").lowercased()
    }

    public static func < (a: TableBinding, b: TableBinding) -> Bool { a.grantID < b.grantID }
}

/// Where a bound table is now: its catalog, database and current name.
public struct CurrentTable: Sendable, Hashable {
    public var catalog: String
    public var database: String
    public var name: String

    public init(catalog: String, database: String, name: String) {
        self.catalog = catalog
        self.database = database
        self.name = name
    }
}

/// What binding a policy's table and column names to the catalog found.
public struct BindingResult: Sendable, Equatable {
    public var bindings: [ColumnBinding]
    /// Each grant on one table → the table's id.
    public var tables: [TableBinding] = []
    /// One line each: tables renamed or dropped since, columns dropped since (their part of the grant
    /// is inert), columns renamed since, grants kept by name on an upgrade.
    public var warnings: [String]
    /// Column id → its current name (for columns dropped since: the last name it had).
    public var currentNames: [String: String]
    /// Table id → where the table is now (live tables only).
    public var currentTables: [String: CurrentTable] = [:]

    public init(
        bindings: [ColumnBinding], tables: [TableBinding] = [], warnings: [String], currentNames: [String: String],
        currentTables: [String: CurrentTable] = [:]
    ) {
        self.bindings = bindings
        self.tables = tables
        self.warnings = warnings
        self.currentNames = currentNames
        self.currentTables = currentTables
    }
}

/// What binding does with a grant on a table that does not exist.
public enum MissingTable: Sendable {
    /// Refuse the policy (`apply`, `validate`, `plan`, the imperative commands), as Lake Formation refuses a grant on a table that does not exist.
    case refuse
    /// Keep the grant unbound, matched by name, with a warning (only when a store of the previous version is upgraded).
    case keepByName
}

extension Grant {
    /// Every column name the grant uses (column list, row filter, masks), first spelling of each, in order.
    public var columnNames: [String] {
        var names: [String] = []
        var seen: Set<String> = []
        func add(_ ref: ColumnRef) { if seen.insert(ref.name.lowercased()).inserted { names.append(ref.name) } }
        switch columns {
        case .include(let refs)?, .exclude(let refs)?: refs.forEach(add)
        case nil: break
        }
        rows?.columns.forEach(add)
        for mask in masks {
            add(mask.column)
            if case .expression(let expression) = mask.mask { expression.columns.forEach(add) }
        }
        return names
    }

    /// The same grant with every column reference passed through `transform`.
    public func mappingColumns(_ transform: (ColumnRef) -> ColumnRef) -> Grant {
        var copy = self
        switch columns {
        case .include(let refs)?: copy.columns = .include(refs.map(transform))
        case .exclude(let refs)?: copy.columns = .exclude(refs.map(transform))
        case nil: break
        }
        copy.rows = try? rows?.mapColumns { ref throws(GovernanceError) in transform(ref) }
        copy.masks = masks.map { mask in
            var out = ColumnMask(transform(mask.column), mask.mask)
            if case .expression(let expression) = mask.mask { out.mask = .expression(expression.mapColumns(transform)) }
            return out
        }
        return copy
    }
}

extension Policy {
    /// The policy with `bindings` laid on: each grant on one table gets its table id (`tables`), each of its
    /// column references the column id (`bindings`).
    public func binding(_ bindings: [ColumnBinding], tables: [TableBinding] = []) -> Policy {
        guard !bindings.isEmpty || !tables.isEmpty else { return self }
        var byGrant: [String: [ColumnBinding]] = [:]
        for binding in bindings { byGrant[binding.grantID, default: []].append(binding) }
        let tableOf = Dictionary(tables.map { ($0.grantID, $0.tableID) }, uniquingKeysWith: { a, _ in a })
        var copy = self
        for index in copy.grants.indices {
            let id = copy.grants[index].id
            let mine = byGrant[id] ?? []
            guard let table = tableOf[id] ?? mine.first?.tableID else { continue }
            let ids = Dictionary(mine.filter { $0.tableID == table }.map { ($0.name, $0.columnID) }, uniquingKeysWith: { a, _ in a })
            if !ids.isEmpty {
                copy.grants[index] = copy.grants[index].mappingColumns { ref in
                    ColumnRef(ref.name, id: ids[ref.name.lowercased()] ?? ref.id)
                }
            }
            copy.grants[index].boundTable = table
        }
        return copy
    }

    /// The policy with every bound column reference under its column's current name (`names`: column id → name).
    public func renamingColumns(_ names: [String: String]) -> Policy {
        var copy = self
        for index in copy.grants.indices where copy.grants[index].boundTable != nil {
            copy.grants[index] = copy.grants[index].mappingColumns { ref in
                guard let id = ref.id, let name = names[id] else { return ref }
                return ColumnRef(name, id: id)
            }
        }
        return copy
    }

    /// The policy with every grant bound to a live table naming it as it is called now (`tables`: table id → where it is).
    ///
    /// A grant bound to a table dropped since keeps the name it was written with (and reaches no table).
    public func renamingTables(_ tables: [String: CurrentTable]) -> Policy {
        var copy = self
        for index in copy.grants.indices {
            guard let id = copy.grants[index].boundTable, let now = tables[id],
                case .table(let catalog, let database, let name) = copy.grants[index].resource, name != "*"
            else { continue }
            guard database.lowercased() != now.database.lowercased() || name.lowercased() != now.name.lowercased() else { continue }
            copy.grants[index].resource = .table(catalog: catalog.map { _ in now.catalog }, database: now.database, name: now.name)
        }
        return copy
    }

    /// Binds every grant on one table to the catalog's table id, and the column names of those grants to column ids.
    ///
    /// A table is bound, in this order, to: the table an earlier binding of the same grant (`priorTables`)
    /// points to, when that table is now called so or was called so when the earlier version was written
    /// (so re-applying a file after a rename keeps the grant on its table); when that table was dropped
    /// since and the grant still names it as written, to the dropped table (the grant is then inert, and
    /// a warning says so: a table created since under the same name is another table); else to the live
    /// table of that name. A table that does not exist is refused (`missingTables`), as Lake Formation
    /// refuses a grant on a table that does not exist.
    ///
    /// A column name is bound, in this order, to: the column an earlier binding of the same grant and
    /// table (`prior`) points to, when that column now has this name, or had it when the earlier
    /// version was written (so re-applying a file after a rename keeps the grant on its column);
    /// a live column of that name; a dropped column of that name (the grant's part about it is
    /// then inert, and a warning says so). A name the table never had is refused, as Lake
    /// Formation refuses grants on columns that do not exist. Grants on tags name columns of many
    /// tables and are matched by name; grants on databases, catalogs and `db.*` name no one table.
    public func bindColumns(
        in catalog: Catalog, defaultCatalog: String, prior: [ColumnBinding], priorTables: [TableBinding] = [],
        missingTables: MissingTable = .refuse
    ) throws(GovernanceError) -> BindingResult {
        var priorByGrant: [String: [ColumnBinding]] = [:]
        for binding in prior { priorByGrant[binding.grantID, default: []].append(binding) }
        let priorTable = Dictionary(priorTables.map { ($0.grantID, $0) }, uniquingKeysWith: { a, _ in a })
        do {
            return try catalog.read { access in
                var result = BindingResult(bindings: [], warnings: [], currentNames: [:])
                /// A live table and where it is, by id.
                func live(_ id: Int64) throws -> (TableInfo, CurrentTable)? {
                    guard let table = try access.table(id: id), let database = try access.database(id: table.databaseID) else { return nil }
                    return (table, CurrentTable(catalog: database.catalogName, database: database.name, name: table.name))
                }
                for grant in grants {
                    guard case .table(let catalogName, let databaseName, let tableName) = grant.resource, tableName != "*" else { continue }
                    let names = grant.columnNames
                    let qualified = "\(catalogName ?? defaultCatalog).\(databaseName).\(tableName)"
                    let written = TableBinding.written(catalog: catalogName, database: databaseName, table: tableName)
                    func isCalledSo(_ now: CurrentTable) -> Bool {
                        now.catalog.lowercased() == (catalogName ?? defaultCatalog).lowercased()
                            && now.database.lowercased() == databaseName.lowercased() && now.name.lowercased() == tableName.lowercased()
                    }
                    var found: (TableInfo, CurrentTable)?
                    if let earlier = priorTable[grant.id], let id = Int64(earlier.tableID) {
                        if let hit = try live(id), isCalledSo(hit.1) || earlier.name == written {
                            found = hit
                            let now = hit.1
                            if !isCalledSo(now) {
                                result.warnings.append(
                                    "grant '\(grant.id)': table \(qualified) is now named \(now.catalog).\(now.database).\(now.name); the grant follows it")
                            }
                        } else if earlier.name == written, try live(id) == nil {
                            // Dropped since: the grant stays on the dropped table and reaches nothing.
                            result.tables.append(TableBinding(grantID: grant.id, tableID: earlier.tableID, name: written))
                            result.warnings.append(
                                "grant '\(grant.id)': table \(qualified) (id \(id)) was dropped; the grant is inert. "
                                    + "A table created since under that name is another table: grant on it anew, with a grant id of its own")
                            continue
                        }
                    }
                    if found == nil, let database = try access.database(named: databaseName),
                        database.catalogName.lowercased() == (catalogName ?? defaultCatalog).lowercased(),
                        let table = try access.table(database: databaseName, name: tableName, withTags: false)
                    {
                        found = (table, CurrentTable(catalog: database.catalogName, database: database.name, name: table.name))
                    }
                    guard let hit = found else {
                        switch missingTables {
                        case .refuse:
                            throw GovernanceError(
                                .unknownReference,
                                "grant '\(grant.id)' is on table \(qualified), which does not exist (create the table first; "
                                    + "grants bind to the table itself, not to its name)",
                                at: grant.location)
                        case .keepByName:
                            result.warnings.append(
                                "grant '\(grant.id)': table \(qualified) does not exist, so the grant is matched by name until the policy "
                                    + "is applied again, which refuses it while the table does not exist")
                            continue
                        }
                    }
                    let (table, now) = hit
                    let tableID = String(table.id)
                    result.tables.append(TableBinding(grantID: grant.id, tableID: tableID, name: written))
                    result.currentTables[tableID] = now
                    guard !names.isEmpty else { continue }
                    let all = try access.allColumns(ofTable: table.id)
                    let liveColumns = Set(table.columns.map(\.id))
                    for column in all.values { result.currentNames[String(column.id)] = column.name }
                    let earlier = (priorByGrant[grant.id] ?? []).filter { $0.tableID == tableID }
                    func currentName(_ binding: ColumnBinding) -> String? { Int64(binding.columnID).flatMap { all[$0] }?.name.lowercased() }
                    // Names that are an earlier-bound column's current name claim it first, so a file naming both the
                    // new name of a renamed column and a new column under its old name binds each to its own column.
                    let claimed = Set(names.compactMap { name in earlier.first { currentName($0) == name.lowercased() }?.columnID })
                    for name in names {
                        let lowered = name.lowercased()
                        let current = earlier.first { currentName($0) == lowered }
                        let writtenColumn = earlier.first { $0.name == lowered && !claimed.contains($0.columnID) }
                        let columnID: String
                        if let kept = current ?? writtenColumn {
                            columnID = kept.columnID
                        } else if let column = table.columns.first(where: { $0.name.lowercased() == lowered }) {
                            columnID = String(column.id)
                        } else if let dropped = all.values.filter({ !liveColumns.contains($0.id) && $0.name.lowercased() == lowered })
                            .max(by: { $0.id < $1.id })
                        {
                            columnID = String(dropped.id)
                        } else {
                            throw GovernanceError(
                                .unknownReference,
                                "grant '\(grant.id)' names column '\(name)', which \(qualified) does not have (create the column first)",
                                at: grant.location)
                        }
                        result.bindings.append(ColumnBinding(grantID: grant.id, tableID: tableID, name: name, columnID: columnID))
                        let column = Int64(columnID).flatMap { all[$0] }
                        if column == nil || !liveColumns.contains(column!.id) {
                            result.warnings.append(Self.droppedWarning(grant, name, qualified))
                        } else if let column, column.name.lowercased() != lowered {
                            result.warnings.append(
                                "grant '\(grant.id)': column '\(name)' of \(qualified) is now named '\(column.name)'; the grant follows it")
                        }
                    }
                }
                result.bindings.sort()
                result.tables.sort()
                return result
            }
        } catch let error as GovernanceError {
            throw error
        } catch {
            throw GovernanceError(.store, "cannot read the catalog to bind the policy's tables and columns: \(error)")
        }
    }

    private static func droppedWarning(_ grant: Grant, _ name: String, _ table: String) -> String {
        let lowered = name.lowercased()
        let inFilter = grant.rows?.columns.contains { $0.name.lowercased() == lowered } ?? false
        let consequence: String
        if inFilter {
            consequence =
                grant.effect == .deny
                ? "its row filter reads it, so the deny now covers the whole table"
                : "its row filter reads it, so the grant now grants nothing"
        } else {
            consequence = "what the grant says about it is inert"
        }
        return "grant '\(grant.id)': column '\(name)' of \(table) was dropped; \(consequence)"
    }
}
