/// Writes a `Policy` as a policy file that `PolicyFile.parse` reads back to the same policy.
///
/// Used by the imperative commands (`wb grant`, `wb revoke`, ...), which change the active
/// policy and apply the result as a new version, and by tests that generate policies.
extension PolicyFile {
    public static func render(_ policy: Policy, header: String? = nil) -> String {
        var lines: [String] = []
        if let header { lines += header.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" } }
        lines.append("version: \(formatVersion)")
        if !policy.groups.isEmpty {
            lines.append("groups:")
            for name in policy.groups.keys.sorted() {
                lines.append("  \(quote(name)): \(list(policy.groups[name]!))")
            }
        }
        if !policy.roles.isEmpty {
            lines.append("roles:")
            for name in policy.roles.keys.sorted() {
                let role = policy.roles[name]!
                var fields: [String] = []
                if !role.members.isEmpty { fields.append("members: \(list(role.members.map(\.description)))") }
                if !role.inherits.isEmpty { fields.append("inherits: \(list(role.inherits))") }
                lines.append("  \(quote(name)): {\(fields.joined(separator: ", "))}")
            }
        }
        if !policy.tags.isEmpty {
            lines.append("tags:")
            for key in policy.tags.keys.sorted() { lines.append("  \(quote(key)): \(list(policy.tags[key]!))") }
        }
        if !policy.grants.isEmpty {
            lines.append("grants:")
            for grant in policy.grants { lines += render(grant) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func render(_ grant: Grant) -> [String] {
        var lines = ["  - id: \(quote(grant.id))"]
        if grant.effect == .deny { lines.append("    effect: deny") }
        lines.append("    to: \(list(grant.principals.map(\.description)))")
        lines.append("    permissions: \(list(compactPermissions(grant.permissions)))")
        switch grant.resource {
        case .none: break
        case .catalog(let name): lines.append("    on: {catalog: \(quote(name))}")
        case .database(let catalog, let name): lines.append("    on: {database: \(quote((catalog.map { [$0] } ?? []) + [name]))}")
        case .table(let catalog, let database, let name):
            lines.append("    on: {table: \(quote((catalog.map { [$0] } ?? []) + [database, name]))}")
        case .tags(let expression):
            lines.append("    on: {tags: {\(expression.clauses.map { "\(quote($0.key)): \(list($0.values))" }.joined(separator: ", "))}}")
        }
        switch grant.columns {
        case nil: break
        case .include(let refs)?: lines.append("    columns: {include: \(list(refs.map(\.name)))}")
        case .exclude(let refs)?: lines.append("    columns: {exclude: \(list(refs.map(\.name)))}")
        }
        if let rows = grant.rows { lines.append("    rows: \(quote(rows.description, always: true))") }
        if !grant.masks.isEmpty {
            lines.append("    masks:")
            for mask in grant.masks {
                let spec: String =
                    switch mask.mask {
                    case .null: "\"null\""
                    case .hash: "hash"
                    case .redact: "redact"
                    case .dateToYear: "date_to_year"
                    case .showLast(let n): "{show_last: \(n)}"
                    case .expression(let e): "{expression: \(quote(e.description, always: true))}"
                    }
                lines.append("      \(quote(mask.column.name)): \(spec)")
            }
        }
        if grant.grantOption { lines.append("    grant_option: true") }
        if let grantor = grant.grantedBy { lines.append("    granted_by: \(quote(grantor.description))") }
        return lines
    }

    /// `ALL` when every data permission is there, then the rest.
    static func compactPermissions(_ permissions: [GrantedPermission]) -> [String] {
        let data = Set(permissions.compactMap { if case .data(let p) = $0 { p } else { nil } })
        guard data.count == DataPermission.allCases.count else { return permissions.map(\.description) }
        return ["ALL"] + permissions.compactMap { if case .action(let a) = $0 { a } else { nil } }
    }

    static func list(_ items: [String]) -> String { "[" + items.map { quote($0) }.joined(separator: ", ") + "]" }

    static func quote(_ parts: [String]) -> String { quote(parts.joined(separator: ".")) }

    /// A YAML scalar: plain when unambiguous, else double-quoted with escapes.
    static func quote(_ text: String, always: Bool = false) -> String {
        let plain =
            !always && !text.isEmpty
            && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0) }
            && !["null", "true", "false", "yes", "no", "on", "off", "~"].contains(text.lowercased())
            && !(text.first?.isNumber ?? false)
        if plain { return text }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
