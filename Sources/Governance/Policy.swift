/// A permission on catalog objects (catalog, database, table, column).
public enum DataPermission: String, Sendable, Hashable, CaseIterable, Comparable {
    case describe = "DESCRIBE"
    case select = "SELECT"
    case insert = "INSERT"
    case update = "UPDATE"
    case delete = "DELETE"
    case alter = "ALTER"
    case drop = "DROP"
    case createTable = "CREATE_TABLE"
    /// Creating databases in a catalog.
    case createDatabase = "CREATE_DATABASE"
    /// Assigning tags to the resource (LF-Tags' ASSOCIATE).
    case assignTag = "ASSIGN_TAG"

    public static func < (a: DataPermission, b: DataPermission) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What a grant gives: data permissions, or plugin actions (`lakehouse:import`).
public enum GrantedPermission: Sendable, Hashable, CustomStringConvertible {
    case data(DataPermission)
    /// A plugin permission `namespace:verb`; `namespace:*` and `*:*` match every verb / every plugin.
    case action(String)

    public var description: String {
        switch self {
        case .data(let p): p.rawValue
        case .action(let a): a
        }
    }

    /// Whether this granted action pattern covers the requested plugin permission.
    func covers(action requested: String) -> Bool {
        guard case .action(let pattern) = self else { return false }
        if pattern == requested || pattern == "*:*" { return true }
        if pattern.hasSuffix(":*") {
            return requested.hasPrefix(pattern.dropLast())
        }
        return false
    }
}

/// Keys ANDed, values ORed: `{classification: [public, internal], domain: [sales]}` (LF-Tags semantics).
public struct TagExpression: Sendable, Hashable, CustomStringConvertible {
    public var clauses: [(key: String, values: [String])]

    public init(_ clauses: [(key: String, values: [String])]) {
        self.clauses = clauses
    }

    /// Whether `tags` (a resource's effective tags) satisfy every clause.
    public func matches(_ tags: [String: String]) -> Bool {
        clauses.allSatisfy { clause in tags[clause.key].map { clause.values.contains($0) } ?? false }
    }

    /// Whether the tags `value(key)` looks up satisfy every clause (no merged dictionary needed).
    public func matches(_ value: (String) -> String?) -> Bool {
        clauses.allSatisfy { clause in value(clause.key).map { clause.values.contains($0) } ?? false }
    }

    public var description: String {
        clauses.map { "\($0.key)=\($0.values.joined(separator: "|"))" }.joined(separator: " AND ")
    }

    public static func == (a: TagExpression, b: TagExpression) -> Bool {
        a.clauses.map(\.key) == b.clauses.map(\.key) && a.clauses.map(\.values) == b.clauses.map(\.values)
    }

    public func hash(into hasher: inout Hasher) {
        for clause in clauses {
            hasher.combine(clause.key)
            hasher.combine(clause.values)
        }
    }
}

/// What a grant is on.
public enum ResourcePattern: Sendable, Hashable, CustomStringConvertible {
    /// A catalog by name; `*` is every catalog.
    case catalog(String)
    /// A database; a nil catalog means the default catalog.
    case database(catalog: String?, name: String)
    /// A table; `*` as the table name is every table of the database.
    case table(catalog: String?, database: String, name: String)
    /// Every database, table and column whose effective tags match.
    case tags(TagExpression)
    /// Plugin actions only (no catalog object).
    case none

    var isTags: Bool { if case .tags = self { true } else { false } }

    public var description: String {
        switch self {
        case .catalog(let c): "catalog \(c)"
        case .database(let c, let d): "database \(c.map { "\($0)." } ?? "")\(d)"
        case .table(let c, let d, let t): "table \(c.map { "\($0)." } ?? "")\(d).\(t)"
        case .tags(let e): "tags \(e)"
        case .none: "plugin actions"
        }
    }
}

/// A column-level selection of a grant.
public enum ColumnSelection: Sendable, Hashable {
    /// Only these columns.
    case include([ColumnRef])
    /// Every column but these.
    case exclude([ColumnRef])
}

/// How a column's values are hidden from a principal who may read the column.
public enum Mask: Sendable, Hashable, CustomStringConvertible {
    /// Always NULL.
    case null
    /// A hex SHA-256 of the value's text (NULL stays NULL).
    case hash
    /// The last N characters, the rest replaced by `*`.
    case showLast(Int)
    /// The fixed text `[REDACTED]` (NULL stays NULL).
    case redact
    /// A date or timestamp reduced to its year (text `YYYY`).
    case dateToYear
    /// A custom expression over the masked column only (Docs/governance.md lists its functions).
    case expression(ValueExpression)

    public var description: String {
        switch self {
        case .null: "null"
        case .hash: "hash"
        case .showLast(let n): "show_last(\(n))"
        case .redact: "redact"
        case .dateToYear: "date_to_year"
        case .expression(let e): "expression(\(e))"
        }
    }

    /// How much of the value the mask reveals; when several grants mask one cell, the one that reveals most wins.
    public var revealRank: Int {
        switch self {
        case .null: 0
        case .redact: 1
        case .hash: 2
        case .dateToYear: 3
        case .showLast(let n): 4 + min(n, 1_000_000)
        case .expression: 2_000_000
        }
    }
}

/// Allow or deny.
public enum Effect: String, Sendable, Hashable {
    case allow, deny
}

/// One policy statement: who gets (or is denied) what, on which resource, with which filters and masks.
public struct Grant: Sendable, Hashable {
    /// Stable id, named in decisions and the audit log.
    public var id: String
    public var effect: Effect
    /// Users, groups and roles it applies to.
    public var principals: [Principal]
    public var permissions: [GrantedPermission]
    public var resource: ResourcePattern
    public var columns: ColumnSelection?
    /// The row filter: only rows where it is true are covered.
    public var rows: RowPredicate?
    /// Column masks, in file order.
    public var masks: [ColumnMask]
    /// Whether the grantee may grant the same to others.
    public var grantOption: Bool
    /// Who added the grant with `wb grant` (an admin, or a holder of the grant option), so they may revoke it.
    public var grantedBy: Principal?
    /// The catalog id of the table whose column ids the grant's column names were bound to when the
    /// policy was applied (nil: not bound, names are matched at decision time).
    public var boundTable: String?
    /// Where the grant is written (for messages).
    public var location: GovernanceError.Location?

    public init(
        id: String, effect: Effect = .allow, principals: [Principal], permissions: [GrantedPermission],
        resource: ResourcePattern, columns: ColumnSelection? = nil, rows: RowPredicate? = nil, masks: [ColumnMask] = [],
        grantOption: Bool = false, location: GovernanceError.Location? = nil
    ) {
        self.id = id
        self.effect = effect
        self.principals = principals
        self.permissions = permissions
        self.resource = resource
        self.columns = columns
        self.rows = rows
        self.masks = masks
        self.grantOption = grantOption
        self.location = location
    }

    public static func == (a: Grant, b: Grant) -> Bool {
        a.id == b.id && a.effect == b.effect && a.principals == b.principals && a.permissions == b.permissions
            && a.resource == b.resource && a.columns == b.columns && a.rows == b.rows && a.masks == b.masks
            && a.grantOption == b.grantOption && a.grantedBy == b.grantedBy && a.boundTable == b.boundTable
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// A mask on one column.
public struct ColumnMask: Sendable, Hashable {
    public var column: ColumnRef
    public var mask: Mask

    public init(_ column: ColumnRef, _ mask: Mask) {
        self.column = column
        self.mask = mask
    }
}

/// A role: its members (users and groups) and the roles whose grants it inherits.
public struct Role: Sendable, Hashable {
    public var name: String
    public var members: [Principal]
    public var inherits: [String]

    public init(name: String, members: [Principal] = [], inherits: [String] = []) {
        self.name = name
        self.members = members
        self.inherits = inherits
    }
}

/// A whole policy: groups, roles, the tag ontology and the grants.
public struct Policy: Sendable, Equatable {
    /// Group name → member user names.
    public var groups: [String: [String]]
    /// Roles by name.
    public var roles: [String: Role]
    /// Tag key → allowed values (the ontology tags on catalog objects are checked against).
    public var tags: [String: [String]]
    /// Grants in file order.
    public var grants: [Grant]

    public init(
        groups: [String: [String]] = [:], roles: [String: Role] = [:], tags: [String: [String]] = [:], grants: [Grant] = []
    ) {
        self.groups = groups
        self.roles = roles
        self.tags = tags
        self.grants = grants
    }

    /// Checks what can be checked without a catalog: references to groups and roles,
    /// role cycles, tag keys and values, duplicate grant ids, and grant shapes.
    public func validate() throws(GovernanceError) {
        for (name, role) in roles.sorted(by: { $0.key < $1.key }) {
            for parent in role.inherits where roles[parent] == nil {
                throw GovernanceError(.unknownReference, "role '\(name)' inherits unknown role '\(parent)'")
            }
            for member in role.members {
                try checkExists(member, in: "role '\(name)'", location: nil)
            }
        }
        if let cycle = roleCycle() {
            throw GovernanceError(.roleCycle, "role inheritance has a cycle: \(cycle.joined(separator: " -> "))")
        }
        var seen: Set<String> = []
        for grant in grants {
            guard seen.insert(grant.id).inserted else {
                throw GovernanceError(.invalidPolicy, "grant id '\(grant.id)' is used twice", at: grant.location)
            }
            for principal in grant.principals {
                try checkExists(principal, in: "grant '\(grant.id)'", location: grant.location)
            }
            if let grantor = grant.grantedBy, grantor.kind != .user {
                throw GovernanceError(.invalidPolicy, "grant '\(grant.id)': granted_by is a user (user:NAME), not \(grantor)", at: grant.location)
            }
            if case .tags(let expression) = grant.resource {
                for clause in expression.clauses {
                    guard let allowed = tags[clause.key] else {
                        throw GovernanceError(
                            .unknownReference, "grant '\(grant.id)' uses tag key '\(clause.key)', which the policy's tags do not define",
                            at: grant.location)
                    }
                    for value in clause.values where !allowed.contains(value) {
                        throw GovernanceError(
                            .unknownReference,
                            "grant '\(grant.id)': '\(value)' is not a value of tag '\(clause.key)' (allowed: \(allowed.joined(separator: ", ")))",
                            at: grant.location)
                    }
                }
            }
            let hasData = grant.permissions.contains { if case .data = $0 { true } else { false } }
            if hasData, grant.resource == .none {
                throw GovernanceError(.invalidPolicy, "grant '\(grant.id)' gives data permissions but names no resource ('on')", at: grant.location)
            }
            if !hasData, grant.resource != .none {
                throw GovernanceError(
                    .invalidPolicy, "grant '\(grant.id)' names a resource but gives only plugin actions, which have none", at: grant.location)
            }
            if grant.effect == .deny {
                if !grant.masks.isEmpty {
                    throw GovernanceError(.invalidPolicy, "deny grant '\(grant.id)' cannot have masks", at: grant.location)
                }
                if grant.rows != nil, grant.columns != nil {
                    throw GovernanceError(
                        .invalidPolicy, "deny grant '\(grant.id)' may deny rows or columns, not both at once", at: grant.location)
                }
            }
            if grant.rows != nil || grant.columns != nil || !grant.masks.isEmpty {
                switch grant.resource {
                case .table(_, _, let name) where name != "*": break
                case .tags: if grant.rows != nil {
                    throw GovernanceError(
                        .invalidPolicy, "grant '\(grant.id)': a row filter needs one table ('on: {table: db.table}'), not tags", at: grant.location)
                }
                default:
                    throw GovernanceError(
                        .invalidPolicy, "grant '\(grant.id)': row filters, column lists and masks need one table ('on: {table: db.table}')",
                        at: grant.location)
                }
            }
            for mask in grant.masks {
                if case .expression(let expression) = mask.mask {
                    for column in expression.columns where column.name.lowercased() != mask.column.name.lowercased() {
                        throw GovernanceError(
                            .invalidPolicy,
                            "grant '\(grant.id)': the mask of '\(mask.column.name)' may read only that column, not '\(column.name)'",
                            at: grant.location)
                    }
                }
            }
        }
    }

    private func checkExists(_ principal: Principal, in owner: String, location: GovernanceError.Location?) throws(GovernanceError) {
        switch principal.kind {
        case .user: return
        case .group where groups[principal.name] == nil:
            throw GovernanceError(.unknownReference, "\(owner) names unknown group '\(principal.name)'", at: location)
        case .role where roles[principal.name] == nil:
            throw GovernanceError(.unknownReference, "\(owner) names unknown role '\(principal.name)'", at: location)
        default: return
        }
    }

    /// One cycle in role inheritance, as the path of role names, or nil.
    func roleCycle() -> [String]? {
        var state: [String: Int] = [:]  // 1 visiting, 2 done
        var path: [String] = []
        func visit(_ name: String) -> [String]? {
            if state[name] == 2 { return nil }
            if state[name] == 1 {
                let start = path.firstIndex(of: name) ?? 0
                return Array(path[start...]) + [name]
            }
            state[name] = 1
            path.append(name)
            for parent in roles[name]?.inherits ?? [] {
                if let cycle = visit(parent) { return cycle }
            }
            path.removeLast()
            state[name] = 2
            return nil
        }
        for name in roles.keys.sorted() {
            if let cycle = visit(name) { return cycle }
        }
        return nil
    }
}
