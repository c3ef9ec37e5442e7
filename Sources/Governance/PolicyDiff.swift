/// What changes between two policies, for `wb policy plan`.
public struct PolicyChange: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case added = "+"
        case removed = "-"
        case changed = "~"
    }

    public var kind: Kind
    /// `grant eu-orders`, `group analysts`, `role reader`, `tag classification`.
    public var subject: String
    /// What differs, one line per field.
    public var details: [String]

    public var description: String {
        ([("\(kind.rawValue) \(subject)")] + details.map { "    \($0)" }).joined(separator: "\n")
    }
}

extension Policy {
    /// The changes that turn `self` into `new`, in a stable order: groups, roles, tags, then grants in `new`'s order.
    public func changes(to new: Policy) -> [PolicyChange] {
        var result: [PolicyChange] = []
        func compare<V: Equatable>(_ kind: String, _ old: [String: V], _ new: [String: V], _ describe: (V) -> String) {
            for name in Set(old.keys).union(new.keys).sorted() {
                switch (old[name], new[name]) {
                case (nil, let n?): result.append(PolicyChange(kind: .added, subject: "\(kind) \(name)", details: [describe(n)]))
                case (let o?, nil): result.append(PolicyChange(kind: .removed, subject: "\(kind) \(name)", details: [describe(o)]))
                case (let o?, let n?) where o != n:
                    result.append(PolicyChange(kind: .changed, subject: "\(kind) \(name)", details: ["was: \(describe(o))", "now: \(describe(n))"]))
                default: break
                }
            }
        }
        compare("group", groups, new.groups) { "members: \($0.joined(separator: ", "))" }
        compare("role", roles, new.roles) { role in
            "members: \(role.members.map(\.description).joined(separator: ", ")); inherits: \(role.inherits.joined(separator: ", "))"
        }
        compare("tag", tags, new.tags) { "values: \($0.joined(separator: ", "))" }
        let oldGrants = Dictionary(grants.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let newIDs = Set(new.grants.map(\.id))
        for grant in new.grants {
            guard let old = oldGrants[grant.id] else {
                result.append(PolicyChange(kind: .added, subject: "grant \(grant.id)", details: grant.summary))
                continue
            }
            let before = old.summary
            let after = grant.summary
            if before != after {
                var details: [String] = []
                for (b, a) in zip(before, after) where b != a { details.append("was: \(b)"); details.append("now: \(a)") }
                result.append(PolicyChange(kind: .changed, subject: "grant \(grant.id)", details: details))
            }
        }
        for grant in grants where !newIDs.contains(grant.id) {
            result.append(PolicyChange(kind: .removed, subject: "grant \(grant.id)", details: grant.summary))
        }
        return result
    }
}

extension Grant {
    /// The grant as fixed lines (one per field, always the same fields), for diffs and `explain`.
    public var summary: [String] {
        let columnText: String =
            switch columns {
            case nil: "all"
            case .include(let c)?: "only " + c.map(\.description).joined(separator: ", ")
            case .exclude(let c)?: "all but " + c.map(\.description).joined(separator: ", ")
            }
        return [
            "effect: \(effect.rawValue)",
            "to: \(principals.map(\.description).joined(separator: ", "))",
            "permissions: \(permissions.map(\.description).joined(separator: ", "))",
            "on: \(resource)",
            "columns: \(columnText)",
            "rows: \(rows?.description ?? "all")",
            "masks: \(masks.isEmpty ? "none" : masks.map { "\($0.column) \($0.mask)" }.joined(separator: ", "))",
            "grant option: \(grantOption ? "yes" : "no")",
            "granted by: \(grantedBy?.description ?? "-")",
        ]
    }
}
