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

/// What binding a policy's column names to the catalog found.
public struct BindingResult: Sendable, Equatable {
    public var bindings: [ColumnBinding]
    /// One line each: columns dropped since (their part of the grant is inert), columns renamed
    /// since, grants on tables that do not exist yet.
    public var warnings: [String]
    /// Column id → its current name (for columns dropped since: the last name it had).
    public var currentNames: [String: String]
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
    /// The policy with `bindings` laid on: each bound grant gets its table id, each of its column references the column id.
    public func binding(_ bindings: [ColumnBinding]) -> Policy {
        guard !bindings.isEmpty else { return self }
        var byGrant: [String: [ColumnBinding]] = [:]
        for binding in bindings { byGrant[binding.grantID, default: []].append(binding) }
        var copy = self
        for index in copy.grants.indices {
            guard let mine = byGrant[copy.grants[index].id], let table = mine.first?.tableID else { continue }
            let ids = Dictionary(mine.map { ($0.name, $0.columnID) }, uniquingKeysWith: { a, _ in a })
            copy.grants[index] = copy.grants[index].mappingColumns { ref in
                ColumnRef(ref.name, id: ids[ref.name.lowercased()] ?? ref.id)
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

    /// Binds the column names of every grant on one table to the catalog's column ids.
    ///
    /// A name is bound, in this order, to: the column an earlier binding of the same grant and
    /// table (`prior`) points to, when that column now has this name, or had it when the earlier
    /// version was written (so re-applying a file after a rename keeps the grant on its column);
    /// a live column of that name; a dropped column of that name (the grant's part about it is
    /// then inert, and a warning says so). A name the table never had is refused, as Lake
    /// Formation refuses grants on columns that do not exist. A grant on a table that does not
    /// exist yet is not bound (a warning says so): its names are matched at decision time
    /// until the policy is applied again after the table is created. Grants on tags name
    /// columns of many tables and are matched by name.
    public func bindColumns(in catalog: Catalog, defaultCatalog: String, prior: [ColumnBinding]) throws(GovernanceError)
        -> BindingResult
    {
        var priorByGrant: [String: [ColumnBinding]] = [:]
        for binding in prior { priorByGrant[binding.grantID, default: []].append(binding) }
        do {
            return try catalog.read { access in
                var result = BindingResult(bindings: [], warnings: [], currentNames: [:])
                for grant in grants {
                    guard case .table(let catalogName, let databaseName, let tableName) = grant.resource, tableName != "*" else { continue }
                    let names = grant.columnNames
                    guard !names.isEmpty else { continue }
                    let qualified = "\(catalogName ?? defaultCatalog).\(databaseName).\(tableName)"
                    guard let database = try access.database(named: databaseName),
                        database.catalogName.lowercased() == (catalogName ?? defaultCatalog).lowercased(),
                        let table = try access.table(database: databaseName, name: tableName, withTags: false)
                    else {
                        result.warnings.append(
                            "grant '\(grant.id)': table \(qualified) does not exist yet, so its columns (\(names.joined(separator: ", "))) "
                                + "are matched by name until the policy is applied again after the table is created")
                        continue
                    }
                    let tableID = String(table.id)
                    let all = try access.allColumns(ofTable: table.id)
                    let live = Set(table.columns.map(\.id))
                    for column in all.values { result.currentNames[String(column.id)] = column.name }
                    let earlier = (priorByGrant[grant.id] ?? []).filter { $0.tableID == tableID }
                    func currentName(_ binding: ColumnBinding) -> String? { Int64(binding.columnID).flatMap { all[$0] }?.name.lowercased() }
                    // Names that are an earlier-bound column's current name claim it first, so a file naming both the
                    // new name of a renamed column and a new column under its old name binds each to its own column.
                    let claimed = Set(names.compactMap { name in earlier.first { currentName($0) == name.lowercased() }?.columnID })
                    for name in names {
                        let lowered = name.lowercased()
                        let current = earlier.first { currentName($0) == lowered }
                        let written = earlier.first { $0.name == lowered && !claimed.contains($0.columnID) }
                        let columnID: String
                        if let kept = current ?? written {
                            columnID = kept.columnID
                        } else if let column = table.columns.first(where: { $0.name.lowercased() == lowered }) {
                            columnID = String(column.id)
                        } else if let dropped = all.values.filter({ !live.contains($0.id) && $0.name.lowercased() == lowered })
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
                        if column == nil || !live.contains(column!.id) {
                            result.warnings.append(Self.droppedWarning(grant, name, qualified))
                        } else if let column, column.name.lowercased() != lowered {
                            result.warnings.append(
                                "grant '\(grant.id)': column '\(name)' of \(qualified) is now named '\(column.name)'; the grant follows it")
                        }
                    }
                }
                result.bindings.sort()
                return result
            }
        } catch let error as GovernanceError {
            throw error
        } catch {
            throw GovernanceError(.store, "cannot read the catalog to bind the policy's columns: \(error)")
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
