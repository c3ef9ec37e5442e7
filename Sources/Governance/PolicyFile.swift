import YAML

/// Reads policy files: YAML with groups, roles, tags and grants (Docs/governance.md).
///
/// Every problem is reported with the file, line and column of the node at
/// fault, and unknown keys are errors, so a typo never silently grants or
/// drops anything.
public enum PolicyFile {
    /// The policy format version this Workbench reads and writes.
    public static let formatVersion = 1

    /// Parses and validates a policy document.
    public static func parse(_ text: String, file: String? = nil) throws(GovernanceError) -> Policy {
        let root: YAMLNode?
        do {
            root = try YAML.compose(text)
        } catch {
            throw GovernanceError(.invalidPolicy, "not valid YAML: \(error.problem)", at: .init(file: file, line: error.mark?.line, column: error.mark?.column))
        }
        var reader = Reader(file: file)
        guard let root else {
            throw GovernanceError(.invalidPolicy, "the policy file is empty", at: .init(file: file, line: 1))
        }
        let policy = try reader.policy(root)
        try policy.validate()
        return policy
    }

    private struct Reader {
        let file: String?

        func location(_ node: YAMLNode) -> GovernanceError.Location {
            .init(file: file, line: node.mark?.line, column: node.mark?.column)
        }

        func fail(_ node: YAMLNode, _ message: String, _ code: GovernanceError.Code = .invalidPolicy) -> GovernanceError {
            GovernanceError(code, message, at: location(node))
        }

        func mapping(_ node: YAMLNode, _ what: String, keys allowed: Set<String>) throws(GovernanceError) -> [(key: String, keyNode: YAMLNode, value: YAMLNode)] {
            guard let mapping = node.mapping else { throw fail(node, "\(what) must be a mapping") }
            var result: [(String, YAMLNode, YAMLNode)] = []
            var seen: Set<String> = []
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw fail(key, "\(what): keys must be plain names") }
                if !allowed.isEmpty, !allowed.contains(name) {
                    throw fail(key, "\(what): unknown key '\(name)' (expected one of: \(allowed.sorted().joined(separator: ", ")))")
                }
                guard seen.insert(name).inserted else { throw fail(key, "\(what): key '\(name)' appears twice") }
                result.append((name, key, value))
            }
            return result
        }

        func string(_ node: YAMLNode, _ what: String) throws(GovernanceError) -> String {
            guard let scalar = node.scalar else { throw fail(node, "\(what) must be a single value") }
            return scalar.string
        }

        /// A list of strings; a single string counts as a list of one.
        func strings(_ node: YAMLNode, _ what: String) throws(GovernanceError) -> [String] {
            if let scalar = node.scalar { return [scalar.string] }
            guard let sequence = node.sequence else { throw fail(node, "\(what) must be a list") }
            var result: [String] = []
            for item in sequence { result.append(try string(item, "each item of \(what)")) }
            return result
        }

        func principal(_ node: YAMLNode, _ what: String) throws(GovernanceError) -> Principal {
            let text = try string(node, what)
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let kind = Principal.Kind(rawValue: String(parts[0])), !parts[1].isEmpty else {
                throw fail(node, "\(what): '\(text)' is not of the form user:NAME, group:NAME or role:NAME")
            }
            return Principal(kind, String(parts[1]))
        }

        func principals(_ node: YAMLNode, _ what: String) throws(GovernanceError) -> [Principal] {
            let items = node.sequence.map(Array.init) ?? [node]
            var result: [Principal] = []
            for item in items { result.append(try principal(item, what)) }
            return result
        }

        mutating func policy(_ root: YAMLNode) throws(GovernanceError) -> Policy {
            var policy = Policy()
            for (key, keyNode, value) in try mapping(root, "the policy", keys: ["version", "groups", "roles", "tags", "grants"]) {
                switch key {
                case "version":
                    guard let v = Int(try string(value, "version")), v == PolicyFile.formatVersion else {
                        throw fail(value, "this Workbench reads policy version \(PolicyFile.formatVersion); the file says \(value.scalar?.string ?? "?")")
                    }
                case "groups":
                    for (name, _, members) in try mapping(value, "groups", keys: []) {
                        policy.groups[name] = try strings(members, "the members of group '\(name)'")
                    }
                case "roles":
                    for (name, _, body) in try mapping(value, "roles", keys: []) {
                        var role = Role(name: name)
                        for (field, _, item) in try mapping(body, "role '\(name)'", keys: ["members", "inherits"]) {
                            if field == "members" {
                                role.members = try principals(item, "the members of role '\(name)'")
                                if let bad = role.members.first(where: { $0.kind == .role }) {
                                    throw fail(item, "role '\(name)': a role is not a member; write 'inherits: [\(bad.name)]' instead")
                                }
                            } else {
                                role.inherits = try strings(item, "the roles '\(name)' inherits")
                            }
                        }
                        policy.roles[name] = role
                    }
                case "tags":
                    for (name, _, values) in try mapping(value, "tags", keys: []) {
                        policy.tags[name] = try strings(values, "the values of tag '\(name)'")
                    }
                case "grants":
                    guard let sequence = value.sequence else { throw fail(value, "grants must be a list") }
                    for item in sequence { policy.grants.append(try grant(item)) }
                default:
                    throw fail(keyNode, "unknown key '\(key)'")
                }
            }
            return policy
        }

        func grant(_ node: YAMLNode) throws(GovernanceError) -> Grant {
            let fields = try mapping(
                node, "a grant", keys: ["id", "effect", "to", "permissions", "on", "columns", "rows", "masks", "grant_option", "granted_by", "comment"])
            guard let idField = fields.first(where: { $0.key == "id" }) else { throw fail(node, "a grant needs an 'id'") }
            let id = try string(idField.value, "id")
            guard !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw fail(idField.value, "grant id '\(id)' may hold only letters, digits, '-', '_' and '.'")
            }
            var grant = Grant(id: id, principals: [], permissions: [], resource: .none, location: location(node))
            var sawTo = false
            var sawPermissions = false
            for (key, _, value) in fields {
                switch key {
                case "effect":
                    guard let effect = Effect(rawValue: try string(value, "effect")) else {
                        throw fail(value, "grant '\(id)': effect must be allow or deny")
                    }
                    grant.effect = effect
                case "to":
                    sawTo = true
                    grant.principals = try principals(value, "grant '\(id)': to")
                case "permissions":
                    sawPermissions = true
                    for text in try strings(value, "grant '\(id)': permissions") {
                        grant.permissions += try permissions(text, value, id)
                    }
                case "on":
                    grant.resource = try resource(value, id)
                case "columns":
                    grant.columns = try columns(value, id)
                case "rows":
                    let text = try string(value, "grant '\(id)': rows")
                    do {
                        grant.rows = try RowPredicate.parse(text)
                    } catch {
                        throw error.located(file: file, line: value.mark?.line, column: scalarColumn(value))
                            .prefixed("grant '\(id)': row filter: ")
                    }
                case "masks":
                    for (column, _, spec) in try mapping(value, "grant '\(id)': masks", keys: []) {
                        grant.masks.append(ColumnMask(ColumnRef(column), try mask(spec, id, column)))
                    }
                case "grant_option":
                    guard let flag = value.bool else { throw fail(value, "grant '\(id)': grant_option must be true or false") }
                    grant.grantOption = flag
                case "granted_by":
                    let grantors = try principals(value, "grant '\(id)': granted_by")
                    guard grantors.count == 1 else { throw fail(value, "grant '\(id)': granted_by names one user") }
                    grant.grantedBy = grantors[0]
                default:
                    break
                }
            }
            guard sawTo, !grant.principals.isEmpty else { throw fail(node, "grant '\(id)' needs 'to' (who it is for)") }
            guard sawPermissions, !grant.permissions.isEmpty else { throw fail(node, "grant '\(id)' needs 'permissions'") }
            return grant
        }

        /// Where the text of a scalar starts (after its opening quote).
        func scalarColumn(_ node: YAMLNode) -> Int? {
            guard let column = node.mark?.column else { return nil }
            switch node.scalar?.style {
            case .singleQuoted?, .doubleQuoted?: return column + 1
            default: return column
            }
        }

        func permissions(_ text: String, _ node: YAMLNode, _ id: String) throws(GovernanceError) -> [GrantedPermission] {
            if text.uppercased() == "ALL" { return DataPermission.allCases.map(GrantedPermission.data) }
            if let data = DataPermission(rawValue: text.uppercased()) { return [.data(data)] }
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                text.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || "-_.:*".unicodeScalars.contains($0) })
            {
                return [.action(text)]
            }
            throw fail(
                node,
                "grant '\(id)': unknown permission '\(text)' (data permissions: ALL, \(DataPermission.allCases.map(\.rawValue).joined(separator: ", ")); plugin actions look like lakehouse:import)"
            )
        }

        func resource(_ node: YAMLNode, _ id: String) throws(GovernanceError) -> ResourcePattern {
            let fields = try mapping(node, "grant '\(id)': on", keys: ["catalog", "database", "table", "tags"])
            guard fields.count == 1, let (key, _, value) = fields.first else {
                throw fail(node, "grant '\(id)': 'on' names exactly one of catalog, database, table or tags")
            }
            switch key {
            case "catalog":
                return .catalog(try string(value, "catalog"))
            case "database":
                let parts = try string(value, "database").split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                switch parts.count {
                case 1 where !parts[0].isEmpty: return .database(catalog: nil, name: parts[0])
                case 2 where !parts.contains(""): return .database(catalog: parts[0], name: parts[1])
                default: throw fail(value, "grant '\(id)': database is DB or CATALOG.DB")
                }
            case "table":
                let parts = try string(value, "table").split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                switch parts.count {
                case 2 where !parts.contains(""): return .table(catalog: nil, database: parts[0], name: parts[1])
                case 3 where !parts.contains(""): return .table(catalog: parts[0], database: parts[1], name: parts[2])
                default: throw fail(value, "grant '\(id)': table is DB.TABLE or CATALOG.DB.TABLE (TABLE may be *)")
                }
            default:
                var clauses: [(key: String, values: [String])] = []
                for (tag, _, values) in try mapping(value, "grant '\(id)': tags", keys: []) {
                    let list = try strings(values, "the values of tag '\(tag)'")
                    guard !list.isEmpty else { throw fail(values, "grant '\(id)': tag '\(tag)' needs at least one value") }
                    clauses.append((tag, list))
                }
                guard !clauses.isEmpty else { throw fail(value, "grant '\(id)': tags needs at least one key") }
                return .tags(TagExpression(clauses))
            }
        }

        func columns(_ node: YAMLNode, _ id: String) throws(GovernanceError) -> ColumnSelection {
            if node.sequence != nil { return .include(try strings(node, "columns").map { ColumnRef($0) }) }
            let fields = try mapping(node, "grant '\(id)': columns", keys: ["include", "exclude"])
            guard fields.count == 1, let (key, _, value) = fields.first else {
                throw fail(node, "grant '\(id)': columns has either include or exclude")
            }
            let refs = try strings(value, "columns \(key)").map { ColumnRef($0) }
            guard !refs.isEmpty else { throw fail(value, "grant '\(id)': columns \(key) is empty") }
            return key == "include" ? .include(refs) : .exclude(refs)
        }

        func mask(_ node: YAMLNode, _ id: String, _ column: String) throws(GovernanceError) -> Mask {
            if let scalar = node.scalar {
                switch scalar.string {
                case "null", "~", "": return .null
                case "hash": return .hash
                case "redact": return .redact
                case "date_to_year": return .dateToYear
                default:
                    throw fail(node, "grant '\(id)': unknown mask '\(scalar.string)' for '\(column)' (null, hash, redact, date_to_year, {show_last: N}, {expression: ...})")
                }
            }
            let fields = try mapping(node, "grant '\(id)': mask of '\(column)'", keys: ["show_last", "expression"])
            guard fields.count == 1, let (key, _, value) = fields.first else {
                throw fail(node, "grant '\(id)': a mask is one of null, hash, redact, date_to_year, {show_last: N}, {expression: ...}")
            }
            if key == "show_last" {
                guard let n = value.int, n >= 0 else { throw fail(value, "grant '\(id)': show_last needs a whole number ≥ 0") }
                return .showLast(n)
            }
            do {
                return .expression(try ValueExpression.parse(try string(value, "expression")))
            } catch {
                throw error.located(file: file, line: value.mark?.line, column: scalarColumn(value))
                    .prefixed("grant '\(id)': mask of '\(column)': ")
            }
        }
    }
}

extension GovernanceError {
    func prefixed(_ prefix: String) -> GovernanceError {
        var copy = self
        copy.message = prefix + message
        return copy
    }
}
