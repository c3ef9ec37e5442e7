import Catalog
import Synchronization

/// A decision with the grants that made it and why, for `wb policy explain` and the audit log.
public struct Decision: Sendable, Equatable, CustomStringConvertible {
    public var allowed: Bool
    /// The grants that decided: the allowing grants, or the denying ones (empty for the default deny).
    public var decidingGrants: [String]
    /// One sentence.
    public var reason: String

    public init(allowed: Bool, decidingGrants: [String], reason: String) {
        self.allowed = allowed
        self.decidingGrants = decidingGrants
        self.reason = reason
    }

    public var description: String {
        "\(allowed ? "allow" : "deny") [\(decidingGrants.joined(separator: ", "))]: \(reason)"
    }
}

/// What one principal gets from one table for one permission: the engine-neutral access plan.
///
/// Rows: a row is covered when some branch's predicate is true for it and no
/// deny predicate is. Columns: `visibleColumns` are the union of the branches'
/// columns; any other column is absent (as if it did not exist). A cell shows
/// the raw value when an admitting branch grants its column unmasked, else the
/// most revealing mask among admitting branches that grant it masked, else NULL.
public struct AccessPlan: Sendable, Equatable {
    /// What one allowing grant contributes.
    public struct Branch: Sendable, Equatable {
        public var grantID: String
        /// The row filter, columns bound to the table and CURRENT_USER resolved; nil admits every row.
        public var rows: RowPredicate?
        /// Column id → mask (nil: raw).
        public var columns: [String: Mask?]

        public init(grantID: String, rows: RowPredicate?, columns: [String: Mask?]) {
            self.grantID = grantID
            self.rows = rows
            self.columns = columns
        }
    }

    public var user: String
    public var table: TableDescriptor
    public var permission: DataPermission
    public var branches: [Branch]
    /// Rows matching any of these are removed, whatever the branches say.
    public var deniedRows: [(grantID: String, rows: RowPredicate)]
    /// Grants that could not be applied (an unknown column in a filter, say); they grant nothing.
    public var problems: [String]
    public var decision: Decision
    /// Parts of grants that are inert here (a column dropped since the policy was applied).
    public var warnings: [String] = []

    /// The columns the principal sees, in table order.
    public var visibleColumns: [ColumnDescriptor] {
        let visible = Set(branches.flatMap(\.columns.keys))
        return table.columns.filter { visible.contains($0.id) }
    }

    /// Whether the plan is the table itself: every row, every column raw.
    public var isUnrestricted: Bool {
        deniedRows.isEmpty
            && branches.contains { b in b.rows == nil && table.columns.allSatisfy { b.columns[$0.id] == .some(.none) } }
    }

    public static func == (a: AccessPlan, b: AccessPlan) -> Bool {
        a.user == b.user && a.table == b.table && a.permission == b.permission && a.branches == b.branches
            && a.deniedRows.map(\.grantID) == b.deniedRows.map(\.grantID) && a.deniedRows.map(\.rows) == b.deniedRows.map(\.rows)
            && a.problems == b.problems && a.decision == b.decision && a.warnings == b.warnings
    }
}

/// Evaluates a policy: who a user is (groups, roles), and what they may do.
///
/// Rules (Docs/governance.md): default deny; an explicit deny beats any allow;
/// row filters of several allowing grants combine as a union of rows; masks
/// apply unless an unmasked grant also covers the cell. Admins are principals
/// like any other: no bypass.
public struct PolicyEngine: Sendable {
    public let policy: Policy
    /// The catalog that two-part names (`db.table`) in grants refer to.
    public let defaultCatalog: String

    // Indexes built once, so a decision costs the user's own grants, not the policy's size.
    private let groupsOfUser: [String: [String]]
    /// Users and groups → the roles they are members of.
    private let rolesOfMember: [Principal: [String]]
    /// A role → itself and every role it inherits, transitively.
    private let impliedRoles: [String: [String]]
    /// A principal → the positions of the grants naming it.
    private let grantsOfPrincipal: [Principal: [Int]]
    /// Each user's grant positions, computed on first use.
    private let cache = Cache()
    /// The grants, by position, in a form cheap to test (no struct copies on the hot path).
    private let compiled: [CompiledGrant]
    /// The distinct tag expressions of the grants on tags (`CompiledGrant.tagExpression` is a position here).
    private let tagExpressions: [TagExpression]

    private final class CompiledGrant: Sendable {
        let grant: Grant
        let id: String
        let isDeny: Bool
        let resource: ResourcePattern
        /// Bit `i` set: grants `DataPermission.allCases[i]`.
        let dataMask: UInt16
        let exactActions: Set<String>
        let actionPrefixes: [String]
        let everyAction: Bool
        /// The position of the grant's tag expression in `PolicyEngine.tagExpressions`; -1 when it is not on tags.
        let tagExpression: Int

        init(_ grant: Grant, tagExpression: Int) {
            self.grant = grant
            self.tagExpression = tagExpression
            id = grant.id
            isDeny = grant.effect == .deny
            resource = grant.resource
            var mask: UInt16 = 0
            var exact: Set<String> = []
            var prefixes: [String] = []
            var every = false
            for permission in grant.permissions {
                switch permission {
                case .data(let p): mask |= CompiledGrant.bit(p)
                case .action(let pattern):
                    if pattern == "*:*" {
                        every = true
                    } else if pattern.hasSuffix(":*") {
                        prefixes.append(String(pattern.dropLast()))
                    } else {
                        exact.insert(pattern)
                    }
                }
            }
            dataMask = mask
            exactActions = exact
            actionPrefixes = prefixes
            everyAction = every
        }

        static func bit(_ permission: DataPermission) -> UInt16 {
            // One bit per case, in declaration order (`allCases` would build an array on every decision).
            let position: UInt16 =
                switch permission {
                case .describe: 0
                case .select: 1
                case .insert: 2
                case .update: 3
                case .delete: 4
                case .alter: 5
                case .drop: 6
                case .createTable: 7
                case .createDatabase: 8
                case .assignTag: 9
                }
            return 1 << position
        }

        var givesActions: Bool { everyAction || !exactActions.isEmpty || !actionPrefixes.isEmpty }

        func covers(action: String) -> Bool {
            everyAction || exactActions.contains(action) || actionPrefixes.contains { action.hasPrefix($0) }
        }

        /// Whether every action `pattern` (`ns:verb`, `ns:*` or `*:*`) matches is covered.
        func covers(actionPattern pattern: String) -> Bool {
            if pattern == "*:*" { return everyAction }
            if pattern.hasSuffix(":*") { return everyAction || actionPrefixes.contains(String(pattern.dropLast())) }
            return covers(action: pattern)
        }

        /// Whether some action `pattern` matches is also matched here.
        func overlaps(actionPattern pattern: String) -> Bool {
            if everyAction || pattern == "*:*" { return givesActions }
            if pattern.hasSuffix(":*") {
                let prefix = String(pattern.dropLast())
                return actionPrefixes.contains { $0.hasPrefix(prefix) || prefix.hasPrefix($0) } || exactActions.contains { $0.hasPrefix(prefix) }
            }
            return covers(action: pattern)
        }
    }

    private final class Cache: Sendable {
        let byUser = Mutex<[String: UserGrants]>([:])
        /// Per table, the grants on catalog objects that cover it (`tableGrants`). The descriptor holds the
        /// table's ids, names and every tag of it, its database and its columns, so an entry never goes stale.
        let byTable = Mutex<[TableDescriptor: TableGrants]>([:])
    }

    /// The grants whose resource covers one table, in policy order, each with the columns it covers (before
    /// its own column list): a function of the table and the policy alone, whoever asks.
    private struct TableGrants: Sendable {
        var positions: [Int] = []
        var columns: [[ColumnDescriptor]] = []
    }

    /// Tables whose covering grants are kept (`Cache.byTable`); past this, the kept ones are dropped.
    private static let keptTables = 4096

    /// The grants covering `table`, found once per table (and policy, as the engine is per policy version).
    ///
    /// A plan then costs the grants that both cover the table and name the user (a merge of two sorted
    /// lists), not a test of every grant the user holds: with 10,000 grants a user holds hundreds, and
    /// testing each one (tag expressions against every column's tags above all) was most of a plan.
    private func tableGrants(_ table: TableDescriptor) -> TableGrants {
        if let kept = cache.byTable.withLock({ $0[table] }) { return kept }
        var found = TableGrants()
        var tagColumns: [Int: [ColumnDescriptor]?] = [:]
        for (position, grant) in compiled.enumerated() {
            let covered: [ColumnDescriptor]?
            if grant.tagExpression >= 0 {
                if let known = tagColumns[grant.tagExpression] {
                    covered = known
                } else {
                    covered = Self.columns(of: table, matching: tagExpressions[grant.tagExpression])
                    tagColumns[grant.tagExpression] = covered
                }
            } else {
                covered = coveredColumns(grant.resource, boundTable: grant.grant.boundTable, table)
            }
            guard let covered else { continue }
            found.positions.append(position)
            found.columns.append(covered)
        }
        cache.byTable.withLock { kept in
            if kept.count >= Self.keptTables { kept.removeAll() }
            kept[table] = found
        }
        return found
    }

    private struct UserGrants: Sendable {
        /// Grants giving plugin actions.
        var action: [Int] = []
        /// Grants on catalog objects.
        var data: [Int] = []
    }

    public init(policy: Policy, defaultCatalog: String = Catalog.managedCatalogName) {
        self.policy = policy
        self.defaultCatalog = defaultCatalog
        var groupsOfUser: [String: [String]] = [:]
        for (group, members) in policy.groups {
            for user in members { groupsOfUser[user, default: []].append(group) }
        }
        var rolesOfMember: [Principal: [String]] = [:]
        for (name, role) in policy.roles {
            for member in role.members { rolesOfMember[member, default: []].append(name) }
        }
        var impliedRoles: [String: [String]] = [:]
        for name in policy.roles.keys {
            var seen: Set<String> = [name]
            var stack = [name]
            while let next = stack.popLast() {
                for parent in policy.roles[next]?.inherits ?? [] where seen.insert(parent).inserted { stack.append(parent) }
            }
            impliedRoles[name] = Array(seen)
        }
        var grantsOfPrincipal: [Principal: [Int]] = [:]
        for (index, grant) in policy.grants.enumerated() {
            for principal in Set(grant.principals) { grantsOfPrincipal[principal, default: []].append(index) }
        }
        self.groupsOfUser = groupsOfUser
        self.rolesOfMember = rolesOfMember
        self.impliedRoles = impliedRoles
        self.grantsOfPrincipal = grantsOfPrincipal
        var expressions: [TagExpression] = []
        var expressionPositions: [TagExpression: Int] = [:]
        compiled = policy.grants.map { grant in
            guard case .tags(let expression) = grant.resource else { return CompiledGrant(grant, tagExpression: -1) }
            if let known = expressionPositions[expression] { return CompiledGrant(grant, tagExpression: known) }
            expressionPositions[expression] = expressions.count
            expressions.append(expression)
            return CompiledGrant(grant, tagExpression: expressions.count - 1)
        }
        tagExpressions = expressions
    }

    /// The user and every group and role they hold, directly or through inheritance.
    public func principals(of user: String) -> Set<Principal> {
        let me = Principal(.user, user)
        var result: Set<Principal> = [me]
        var direct: [String] = rolesOfMember[me] ?? []
        for group in groupsOfUser[user] ?? [] {
            let principal = Principal(.group, group)
            result.insert(principal)
            direct += rolesOfMember[principal] ?? []
        }
        for role in direct {
            for implied in impliedRoles[role] ?? [role] { result.insert(Principal(.role, implied)) }
        }
        return result
    }

    /// Positions of the grants that name the user or a group or role they hold, in policy order, split by kind.
    private func grantIndexes(for user: String) -> UserGrants {
        if let cached = cache.byUser.withLock({ $0[user] }) { return cached }
        var indexes: [Int] = []
        for principal in principals(of: user) { indexes += grantsOfPrincipal[principal] ?? [] }
        indexes.sort()
        var result = UserGrants()
        var last = -1
        for index in indexes where index != last {
            last = index
            if compiled[index].givesActions { result.action.append(index) }
            if compiled[index].resource != .none { result.data.append(index) }
        }
        cache.byUser.withLock { $0[user] = result }
        return result
    }

    // MARK: Plugin actions

    /// Decides whether `user` may use the plugin permission `action` (such as `lakehouse:import`).
    public func decide(user: String, action: String) -> Decision {
        var allows: [String] = []
        var denies: [String] = []
        for index in grantIndexes(for: user).action {
            let grant = compiled[index]
            guard grant.covers(action: action) else { continue }
            if grant.isDeny { denies.append(grant.id) } else { allows.append(grant.id) }
        }
        if !denies.isEmpty {
            return Decision(allowed: false, decidingGrants: denies, reason: "\(user) is denied \(action) explicitly")
        }
        if allows.isEmpty {
            return Decision(allowed: false, decidingGrants: [], reason: "no grant gives \(user) \(action) (default deny)")
        }
        return Decision(allowed: true, decidingGrants: allows, reason: "\(user) is granted \(action)")
    }

    // MARK: Databases and catalogs

    /// Decides a permission on a database itself (CREATE_TABLE, DESCRIBE, ALTER, DROP, ASSIGN_TAG).
    public func decide(user: String, permission: DataPermission, database: DatabaseDescriptor) -> Decision {
        let bit = CompiledGrant.bit(permission)
        let applicable = grantIndexes(for: user).data.lazy.map { self.compiled[$0] }
            .filter { $0.dataMask & bit != 0 && self.coversDatabase($0.resource, database) }
            .map(\.grant).filter { $0.rows == nil && $0.columns == nil }
        let list = Array(applicable)
        return combine(user: user, permission: permission, object: "database \(database.catalog).\(database.name)", list)
    }

    /// Decides a permission on a catalog itself (CREATE_DATABASE).
    public func decide(user: String, permission: DataPermission, catalog: String) -> Decision {
        let bit = CompiledGrant.bit(permission)
        let applicable = grantIndexes(for: user).data.lazy.map { self.compiled[$0] }
            .filter { grant in
                guard grant.dataMask & bit != 0 else { return false }
                if case .catalog(let name) = grant.resource { return name == "*" || name == catalog }
                return false
            }
            .map(\.grant)
        return combine(user: user, permission: permission, object: "catalog \(catalog)", Array(applicable))
    }

    private func combine(user: String, permission: DataPermission, object: String, _ applicable: [Grant]) -> Decision {
        let denies = applicable.filter { $0.effect == .deny }
        if !denies.isEmpty {
            return Decision(allowed: false, decidingGrants: denies.map(\.id), reason: "\(permission.rawValue) on \(object) is denied explicitly")
        }
        let allows = applicable.filter { $0.effect == .allow }
        if allows.isEmpty {
            return Decision(
                allowed: false, decidingGrants: [], reason: "no grant gives \(user) \(permission.rawValue) on \(object) (default deny)")
        }
        return Decision(allowed: true, decidingGrants: allows.map(\.id), reason: "\(permission.rawValue) on \(object) is granted")
    }

    private func catalogMatches(_ pattern: String?, _ catalog: String) -> Bool {
        (pattern ?? defaultCatalog) == catalog
    }

    private func coversDatabase(_ resource: ResourcePattern, _ database: DatabaseDescriptor) -> Bool {
        switch resource {
        case .catalog(let c): c == "*" || c == database.catalog
        case .database(let c, let d): catalogMatches(c, database.catalog) && d == database.name
        case .tags(let expression): expression.matches(database.tags)
        case .table, .none: false
        }
    }

    // MARK: Tables

    /// The columns of `table` a grant's resource covers (before its own column list), or nil when it does not cover the table.
    ///
    /// A grant on one table that was bound to a table id covers that table only, whatever it is called
    /// now; an unbound one (a policy used without a catalog) is matched by name.
    private func coveredColumns(_ resource: ResourcePattern, boundTable: String?, _ table: TableDescriptor) -> [ColumnDescriptor]? {
        if let boundTable, case .table(_, _, let name) = resource, name != "*" {
            return boundTable == table.id ? table.columns : nil
        }
        switch resource {
        case .catalog(let c):
            return c == "*" || c == table.database.catalog ? table.columns : nil
        case .database(let c, let d):
            return catalogMatches(c, table.database.catalog) && d == table.database.name ? table.columns : nil
        case .table(let c, let d, let t):
            guard catalogMatches(c, table.database.catalog), d == table.database.name, t == "*" || t == table.name else {
                return nil
            }
            return table.columns
        case .tags(let expression):
            return Self.columns(of: table, matching: expression)
        case .none:
            return nil
        }
    }

    /// The columns of `table` whose effective tags match `expression`, or nil when none does.
    private static func columns(of table: TableDescriptor, matching expression: TagExpression) -> [ColumnDescriptor]? {
        let columns = table.columns.filter { column in expression.matches { table.effectiveTag($0, of: column) } }
        return columns.isEmpty ? nil : columns
    }

    /// What a grant's column reference names in a table.
    private enum Resolved {
        case column(ColumnDescriptor)
        /// The grant was bound to this table and the column is gone (dropped since): the reference is inert.
        case dropped
        /// No column of that name (an unbound grant): the grant cannot be applied.
        case unknown
    }

    /// Resolves a reference by column id when the grant was bound to this very table, else by name.
    private func resolve(_ ref: ColumnRef, in table: TableDescriptor, byID: Bool) -> Resolved {
        if byID, let id = ref.id {
            return table.columns.first { $0.id == id }.map(Resolved.column) ?? .dropped
        }
        let lowered = ref.name.lowercased()
        return table.columns.first { $0.name.lowercased() == lowered }.map(Resolved.column) ?? .unknown
    }

    private func select(
        _ columns: [ColumnDescriptor], _ selection: ColumnSelection?, in table: TableDescriptor, grant: Grant, byID: Bool,
        warnings: inout [String]
    ) -> Result<[ColumnDescriptor], GovernanceError> {
        guard let selection else { return .success(columns) }
        let refs: [ColumnRef]
        switch selection {
        case .include(let r), .exclude(let r): refs = r
        }
        var ids: Set<String> = []
        for ref in refs {
            switch resolve(ref, in: table, byID: byID) {
            case .column(let column): ids.insert(column.id)
            case .dropped: warnings.append(droppedColumn(ref, grant, table))
            case .unknown: return .failure(unknownColumn(ref, grant, table))
            }
        }
        if case .include = selection { return .success(columns.filter { ids.contains($0.id) }) }
        return .success(columns.filter { !ids.contains($0.id) })
    }

    private func unknownColumn(_ ref: ColumnRef, _ grant: Grant, _ table: TableDescriptor) -> GovernanceError {
        GovernanceError(
            .unknownReference, "grant '\(grant.id)' names column '\(ref.name)', which \(table.qualifiedName) does not have",
            at: grant.location)
    }

    private func droppedColumn(_ ref: ColumnRef, _ grant: Grant, _ table: TableDescriptor) -> String {
        "grant '\(grant.id)': column '\(ref.name)' was dropped from \(table.qualifiedName); what the grant says about it is inert"
    }

    /// Binds a row filter to the table's columns (ids and current names) and resolves CURRENT_USER.
    private func bind(_ predicate: RowPredicate, to table: TableDescriptor, user: String, grant: Grant, byID: Bool)
        -> Result<RowPredicate, GovernanceError>
    {
        do {
            let bound = try predicate.mapColumns { ref throws(GovernanceError) in
                switch resolve(ref, in: table, byID: byID) {
                case .column(let column): return ColumnRef(column.name, id: column.id)
                case .unknown: throw unknownColumn(ref, grant, table)
                case .dropped:
                    throw GovernanceError(
                        .unknownReference,
                        "grant '\(grant.id)' filters rows on column '\(ref.name)', which was dropped from \(table.qualifiedName)",
                        at: grant.location)
                }
            }
            return .success(Self.resolveCurrentUser(bound, user))
        } catch {
            return .failure(error)
        }
    }

    private static func resolveCurrentUser(_ p: RowPredicate, _ user: String) -> RowPredicate {
        func op(_ o: Operand) -> Operand { o == .currentUser ? .literal(.text(user)) : o }
        switch p {
        case .and(let ps): return .and(ps.map { resolveCurrentUser($0, user) })
        case .or(let ps): return .or(ps.map { resolveCurrentUser($0, user) })
        case .not(let q): return .not(resolveCurrentUser(q, user))
        case .compare(let a, let o, let b): return .compare(op(a), o, op(b))
        case .isNull(let a, let n): return .isNull(op(a), negated: n)
        case .inList(let a, let list, let n): return .inList(op(a), list.map(op), negated: n)
        case .between(let a, let lo, let hi, let n): return .between(op(a), low: op(lo), high: op(hi), negated: n)
        case .like(let a, let pat, let e, let n): return .like(op(a), pattern: pat, escape: e, negated: n)
        case .constant: return p
        }
    }

    /// The access plan of `user` on `table` for `permission` (SELECT for reads; INSERT, UPDATE, DELETE for writes).
    public func accessPlan(user: String, table: TableDescriptor, permission: DataPermission = .select) -> AccessPlan {
        var problems: [String] = []
        var branches: [AccessPlan.Branch] = []
        var deniedRows: [(grantID: String, rows: RowPredicate)] = []
        var deniedColumns: Set<String> = []
        var denyingGrants: [String] = []
        var wholeTableDenied = false
        var warnings: [String] = []

        let bit = CompiledGrant.bit(permission)
        // The grants that name the user (or a group or role they hold) and cover the table: both lists are in policy order.
        let mine = grantIndexes(for: user).data
        let covering = tableGrants(table)
        var i = 0
        var j = 0
        while i < mine.count, j < covering.positions.count {
            let index = mine[i]
            let position = covering.positions[j]
            if index < position {
                i += 1
                continue
            }
            if index > position {
                j += 1
                continue
            }
            let covered = covering.columns[j]
            i += 1
            j += 1
            let compiled = compiled[index]
            guard compiled.dataMask & bit != 0 else { continue }
            let grant = compiled.grant
            // Column names bound to this table's ids follow the columns through renames (a grant on one table is
            // bound to it, so reaches no other); grants on tags, databases and catalogs match names.
            let byID = grant.boundTable == table.id
            let columns: [ColumnDescriptor]
            switch select(covered, grant.columns, in: table, grant: grant, byID: byID, warnings: &warnings) {
            case .success(let c): columns = c
            case .failure(let error):
                if grant.effect == .deny {
                    // A deny that cannot be applied precisely denies the whole table: fail closed.
                    wholeTableDenied = true
                    denyingGrants.append(grant.id)
                }
                problems.append(error.description)
                continue
            }
            var rows: RowPredicate?
            if let predicate = grant.rows {
                switch bind(predicate, to: table, user: user, grant: grant, byID: byID) {
                case .success(let bound): rows = bound
                case .failure(let error):
                    if grant.effect == .deny {
                        wholeTableDenied = true
                        denyingGrants.append(grant.id)
                    }
                    problems.append(error.description)
                    continue
                }
            }
            switch grant.effect {
            case .deny:
                denyingGrants.append(grant.id)
                if let rows {
                    deniedRows.append((grant.id, rows))
                } else if grant.columns == nil, case .tags = grant.resource {
                    deniedColumns.formUnion(columns.map(\.id))
                } else if grant.columns == nil {
                    wholeTableDenied = true
                } else {
                    deniedColumns.formUnion(columns.map(\.id))
                }
            case .allow:
                var access: [String: Mask?] = [:]
                for column in columns { access[column.id] = .some(nil) }
                var maskProblem = false
                for mask in grant.masks {
                    switch resolve(mask.column, in: table, byID: byID) {
                    case .column(let column):
                        if access[column.id] != nil { access[column.id] = .some(mask.mask) }
                    case .dropped:
                        warnings.append(droppedColumn(mask.column, grant, table))
                    case .unknown:
                        problems.append(unknownColumn(mask.column, grant, table).description)
                        maskProblem = true
                    }
                    if maskProblem { break }
                }
                // A grant whose mask cannot be applied grants nothing (fail closed).
                if maskProblem { continue }
                branches.append(AccessPlan.Branch(grantID: grant.id, rows: rows, columns: access))
            }
        }

        let object = "\(permission.rawValue) on \(table.qualifiedName)"
        if wholeTableDenied {
            return AccessPlan(
                user: user, table: table, permission: permission, branches: [], deniedRows: [], problems: problems,
                decision: Decision(allowed: false, decidingGrants: denyingGrants, reason: "\(object) is denied explicitly"),
                warnings: warnings)
        }
        let anyAllow = !branches.isEmpty
        for index in branches.indices {
            for id in deniedColumns { branches[index].columns[id] = nil }
        }
        branches.removeAll { $0.columns.isEmpty }
        let decision: Decision
        if branches.isEmpty {
            decision =
                !anyAllow
                ? Decision(allowed: false, decidingGrants: [], reason: "no grant gives \(user) \(object) (default deny)")
                : Decision(allowed: false, decidingGrants: denyingGrants, reason: "every column granted for \(object) is denied")
        } else {
            let limits = deniedRows.isEmpty && deniedColumns.isEmpty ? "" : ", limited by \(denyingGrants.joined(separator: ", "))"
            decision = Decision(
                allowed: true, decidingGrants: branches.map(\.grantID) + denyingGrants,
                reason: "\(object) is granted by \(branches.map(\.grantID).joined(separator: ", "))\(limits)")
        }
        return AccessPlan(
            user: user, table: table, permission: permission, branches: branches, deniedRows: deniedRows, problems: problems,
            decision: decision, warnings: warnings)
    }

    /// Whether `user` may see that `table` exists: any allowed data permission on it.
    public func canDescribe(user: String, table: TableDescriptor) -> Decision {
        for permission in DataPermission.allCases {
            let plan = accessPlan(user: user, table: table, permission: permission)
            if plan.decision.allowed {
                return Decision(
                    allowed: true, decidingGrants: plan.decision.decidingGrants,
                    reason: "\(user) holds \(permission.rawValue) on \(table.qualifiedName)")
            }
        }
        return Decision(allowed: false, decidingGrants: [], reason: "\(user) holds no permission on \(table.qualifiedName)")
    }

    // MARK: Grant option

    /// Whether `user` may add `grant` to the policy on the strength of grant options they hold.
    ///
    /// Each permission the grant gives must be held by the user through an allowing grant with
    /// `grant_option: true` that covers the new grant's resource (the same resource or one below it:
    /// catalog ⊇ database ⊇ table; tags only by an equal or narrower tag expression) and gives at
    /// least as much: when that grant has a column list, the new one names the same table and no
    /// other columns; when it has a row filter, the new grant has the same filter (or that filter
    /// ANDed with more); when it masks a column, the new grant masks it the same way or leaves the
    /// column out. No deny of the user's may touch the resource for that permission, and only
    /// admins add denies. Policy administration (`governance:admin`) is decided apart.
    public func canGrant(user: String, grant new: Grant) -> Decision {
        guard new.effect == .allow else {
            return Decision(allowed: false, decidingGrants: [], reason: "only governance admins add denies")
        }
        let mine = grantIndexes(for: user)
        var deciding: [String] = []
        for permission in new.permissions {
            let what = "\(permission) on \(new.resource)"
            switch permission {
            case .action(let pattern):
                let denies = mine.action.map { compiled[$0] }.filter { $0.isDeny && $0.overlaps(actionPattern: pattern) }
                if !denies.isEmpty {
                    return Decision(
                        allowed: false, decidingGrants: denies.map(\.id), reason: "\(user) is denied \(permission), so cannot grant it")
                }
                let allows = mine.action.map { compiled[$0] }.filter { !$0.isDeny && $0.covers(actionPattern: pattern) }
                guard let holder = allows.first(where: { $0.grant.grantOption }) else {
                    return Decision(
                        allowed: false, decidingGrants: allows.map(\.id),
                        reason: allows.isEmpty
                            ? "\(user) does not hold \(permission), so cannot grant it"
                            : "\(user) holds \(permission) without grant option (grants: \(allows.map(\.id).joined(separator: ", ")))")
                }
                deciding.append(holder.id)
            case .data(let data):
                let bit = CompiledGrant.bit(data)
                let relevant = mine.data.map { compiled[$0] }.filter { $0.dataMask & bit != 0 }
                let denies = relevant.filter { $0.isDeny && (resourceCovers($0.grant, new) || resourceCovers(new, $0.grant) || $0.resource.isTags || new.resource.isTags) }
                if !denies.isEmpty {
                    return Decision(
                        allowed: false, decidingGrants: denies.map(\.id),
                        reason: "\(user) is denied \(data.rawValue) on part of \(new.resource) (grants: \(denies.map(\.id).joined(separator: ", "))), so cannot grant \(what)")
                }
                let covering = relevant.filter { !$0.isDeny && resourceCovers($0.grant, new) }
                let optioned = covering.filter { $0.grant.grantOption }
                var why: [String] = []
                var found: CompiledGrant?
                for holder in optioned {
                    if let problem = widening(new, beyond: holder.grant) { why.append("\(holder.id) \(problem)") } else { found = holder; break }
                }
                guard let holder = found else {
                    let reason: String
                    if covering.isEmpty {
                        reason = "\(user) does not hold \(what), so cannot grant it"
                    } else if optioned.isEmpty {
                        reason = "\(user) holds \(what) without grant option (grants: \(covering.map(\.id).joined(separator: ", ")))"
                    } else {
                        reason = "\(user) may grant \(data.rawValue) there only as narrowly as held: \(why.joined(separator: "; "))"
                    }
                    return Decision(allowed: false, decidingGrants: covering.map(\.id), reason: reason)
                }
                deciding.append(holder.id)
            }
        }
        var unique: [String] = []
        for id in deciding where !unique.contains(id) { unique.append(id) }
        return Decision(
            allowed: true, decidingGrants: unique, reason: "\(user) holds what grant '\(new.id)' gives with grant option (\(unique.joined(separator: ", ")))")
    }

    /// The grants passed on by users (`granted_by`) that no longer stand on anything, in policy order.
    ///
    /// A grant an admin wrote into the policy (no `granted_by`) stands. A grant passed on by a user
    /// stands when, among the grants that stand, the user holds `governance:admin` or holds what it
    /// gives with grant option (`canGrant`); the grants that stand are found from the admin's up, so
    /// two users who passed a grant option to each other do not hold each other up (SQL's abandoned
    /// privileges).
    ///
    /// Denies are never abandoned (only admins add them, and cascading a revocation to one would widen
    /// access), and every deny counts against the grantors, whoever added it: a deny `wb grant --deny`
    /// added records its admin as `granted_by` like any other grant.
    public static func dependentGrants(of policy: Policy, defaultCatalog: String = Catalog.managedCatalogName) -> [Grant] {
        var standing = policy.grants.filter { $0.grantedBy == nil || $0.effect == .deny }
        var pending = policy.grants.filter { $0.grantedBy != nil && $0.effect != .deny }
        while !pending.isEmpty {
            var base = policy
            base.grants = standing
            let engine = PolicyEngine(policy: base, defaultCatalog: defaultCatalog)
            var still: [Grant] = []
            for grant in pending {
                let grantor = grant.grantedBy?.name ?? ""
                if engine.decide(user: grantor, action: GovernanceService.adminPermission).allowed
                    || engine.canGrant(user: grantor, grant: grant).allowed
                {
                    standing.append(grant)
                } else {
                    still.append(grant)
                }
            }
            if still.count == pending.count { break }
            pending = still
        }
        let abandoned = Set(pending.map(\.id))
        return policy.grants.filter { abandoned.contains($0.id) }
    }

    /// Whether grant `outer`'s resource covers everything of grant `inner`'s (the same resource or one below it).
    ///
    /// Two grants on one table each bound to a table id cover each other only when the ids are equal
    /// (a grant left on a dropped table covers no table created since under its name).
    private func resourceCovers(_ outer: Grant, _ inner: Grant) -> Bool {
        if case .table(_, _, let a) = outer.resource, a != "*", case .table(_, _, let b) = inner.resource, b != "*",
            let outerID = outer.boundTable, let innerID = inner.boundTable
        {
            return outerID == innerID
        }
        return resourceCovers(outer.resource, inner.resource)
    }

    /// Whether a grant on `outer` covers everything on `inner` by name (the same resource or one below it).
    private func resourceCovers(_ outer: ResourcePattern, _ inner: ResourcePattern) -> Bool {
        func same(_ a: String?, _ b: String?) -> Bool { (a ?? defaultCatalog).lowercased() == (b ?? defaultCatalog).lowercased() }
        switch (outer, inner) {
        case (.catalog(let c), .catalog(let d)): return c == "*" || (d != "*" && same(c, d))
        case (.catalog(let c), .database(let d, _)), (.catalog(let c), .table(let d, _, _)): return c == "*" || same(c, d)
        case (.catalog(let c), .tags): return c == "*"
        case (.database(let c, let d), .database(let c2, let d2)): return same(c, c2) && d.lowercased() == d2.lowercased()
        case (.database(let c, let d), .table(let c2, let d2, _)): return same(c, c2) && d.lowercased() == d2.lowercased()
        case (.table(let c, let d, let t), .table(let c2, let d2, let t2)):
            return same(c, c2) && d.lowercased() == d2.lowercased() && (t == "*" || (t2 != "*" && t.lowercased() == t2.lowercased()))
        case (.tags(let outer), .tags(let inner)):
            // Narrower: every key of the outer expression is there, with a subset of its values.
            return outer.clauses.allSatisfy { clause in
                inner.clauses.contains { $0.key == clause.key && Set($0.values).isSubset(of: clause.values) }
            }
        default: return false
        }
    }

    /// Why `new` would give more than `held` does in columns, rows or masks (nil: it does not).
    private func widening(_ new: Grant, beyond held: Grant) -> String? {
        // Compared by name (the engine's policy carries the current names), case-insensitively.
        let new = new.mappingColumns { ColumnRef($0.name.lowercased()) }
        let held = held.mappingColumns { ColumnRef($0.name.lowercased()) }
        func names(_ refs: [ColumnRef]) -> Set<String> { Set(refs.map { $0.name.lowercased() }) }
        /// Whether a column (lower-cased) is among those the new grant gives.
        func gives(_ column: String) -> Bool {
            switch new.columns {
            case nil: return true
            case .include(let refs)?: return names(refs).contains(column)
            case .exclude(let refs)?: return !names(refs).contains(column)
            }
        }
        switch held.columns {
        case nil: break
        case .include(let refs)?:
            guard case .include(let mine)? = new.columns, names(mine).isSubset(of: names(refs)) else {
                return "gives only the columns \(refs.map(\.name).joined(separator: ", "))"
            }
        case .exclude(let refs)?:
            let hidden = names(refs)
            if let column = hidden.sorted().first(where: gives) { return "does not give column \(column)" }
        }
        if let rows = held.rows {
            let conjuncts: [RowPredicate] = if case .and(let parts)? = new.rows { parts } else { new.rows.map { [$0] } ?? [] }
            let required: [RowPredicate] = if case .and(let parts) = rows { parts } else { [rows] }
            guard new.rows == rows || required.allSatisfy(conjuncts.contains) else {
                return "gives only rows where \(rows) (the new grant needs that filter, or it ANDed with more)"
            }
        }
        for mask in held.masks where gives(mask.column.name.lowercased()) {
            let same = new.masks.contains { $0.column.name.lowercased() == mask.column.name.lowercased() && $0.mask == mask.mask }
            if !same { return "masks \(mask.column.name) as \(mask.mask) (the new grant must mask it so, or leave it out)" }
        }
        return nil
    }
}
