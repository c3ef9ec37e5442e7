import ArgumentParser
import Catalog
import CoreSupport
import Governance

/// Prints what an imperative command applied.
private func report(_ applied: GovernanceService.Applied, command: String, comment: String, json: Bool) {
    let version = applied.version
    if json {
        var object = PolicyCommand.json(version)
        object["created"] = .bool(applied.created)
        object["warnings"] = .array(applied.warnings.map(JSON.string))
        printJSON(object)
    } else {
        for warning in applied.warnings { printError("wb \(command): warning: \(warning)") }
        print(applied.created ? "Policy version \(version.version): \(comment)." : "No change: the policy already says that (version \(version.version)).")
    }
}

/// Changes the active policy with `change` and applies the result as a new version (needs governance:admin).
///
/// A change that leaves grants passed on with a grant option it takes away standing on nothing is refused
/// (exit 21) naming them, unless `cascade` (`GovernanceService.change`).
private func changePolicy(
    _ domain: DomainOptions, command: String, comment: String, cascade: Bool, json: Bool,
    _ change: (inout Policy) throws -> Void
) throws {
    let service = try PolicyCommand.service(domain, command: command)
    do {
        let applied = try service.change(
            by: Environment.userName, command: command, comment: comment, mode: cascade ? .cascade : .restrict, change)
        report(applied, command: command, comment: applied.version.comment, json: json)
    } catch {
        throw PolicyCommand.fail(command, error)
    }
}

private func parsePrincipal(_ text: String) throws -> Principal {
    let parts = text.split(separator: ":", maxSplits: 1)
    guard parts.count == 2, let kind = Principal.Kind(rawValue: String(parts[0])), !parts[1].isEmpty else {
        throw ValidationError("'\(text)' is not user:NAME, group:NAME or role:NAME")
    }
    return Principal(kind, String(parts[1]))
}

/// `--on`: `catalog:NAME`, `database:DB`, `table:DB.TABLE`, or `tags:KEY=V1|V2,KEY2=V`.
private func parseResource(_ text: String) throws -> ResourcePattern {
    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
    guard parts.count == 2 else { throw ValidationError("--on is catalog:NAME, database:DB, table:DB.TABLE or tags:KEY=V1|V2,...") }
    let value = parts[1]
    switch parts[0] {
    case "catalog": return .catalog(value)
    case "database":
        let names = value.split(separator: ".").map(String.init)
        guard names.count == 1 || names.count == 2 else { throw ValidationError("database:DB or database:CATALOG.DB") }
        return names.count == 1 ? .database(catalog: nil, name: names[0]) : .database(catalog: names[0], name: names[1])
    case "table":
        let names = value.split(separator: ".").map(String.init)
        guard names.count == 2 || names.count == 3 else { throw ValidationError("table:DB.TABLE or table:CATALOG.DB.TABLE") }
        return names.count == 2
            ? .table(catalog: nil, database: names[0], name: names[1]) : .table(catalog: names[0], database: names[1], name: names[2])
    case "tags":
        var clauses: [(key: String, values: [String])] = []
        for clause in value.split(separator: ",") {
            let kv = clause.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw ValidationError("tags:KEY=V1|V2,KEY2=V") }
            clauses.append((kv[0], kv[1].split(separator: "|").map(String.init)))
        }
        return .tags(TagExpression(clauses))
    default:
        throw ValidationError("--on is catalog:NAME, database:DB, table:DB.TABLE or tags:KEY=V1|V2,...")
    }
}

/// A mask as `wb mask` and `wb grant --mask` take it: null, hash, redact, date_to_year, show_last:N, or expression:EXPR.
private func parseMask(_ text: String) throws -> Mask {
    switch text {
    case "null": return .null
    case "hash": return .hash
    case "redact": return .redact
    case "date_to_year": return .dateToYear
    default:
        if text.hasPrefix("show_last:"), let n = Int(text.dropFirst("show_last:".count)), n >= 0 { return .showLast(n) }
        if text.hasPrefix("expression:") {
            do {
                return .expression(try ValueExpression.parse(String(text.dropFirst("expression:".count))))
            } catch {
                throw ValidationError("mask expression: \(error)")
            }
        }
        throw ValidationError("a mask is null, hash, redact, date_to_year, show_last:N or expression:EXPR, not '\(text)'")
    }
}

private func parseRows(_ text: String) throws -> RowPredicate {
    do {
        return try RowPredicate.parse(text)
    } catch {
        throw ValidationError("row filter: \(error)")
    }
}

private let imperativeDiscussion = """
    Each command changes the active policy and applies the result as a new version, exactly as \
    `wb policy apply` would (it needs governance:admin; `wb policy versions` and `rollback` see it). \
    For many changes at once, edit a policy file instead.

    A change that takes away what a user held with grant option (out of a role or group, a narrower \
    row filter, a mask) while grants that user passed on stand on it is refused with exit 21, \
    naming those grants, as `wb revoke` is; --cascade revokes them too.

    \(Exit.governanceHelp)
    """

private let cascadeHelp: ArgumentHelp =
    "Also revoke the grants passed on with a grant option this change takes away (otherwise the change is refused)."

private let delegationDiscussion = """
    Each command changes the active policy and applies the result as a new version, audited \
    (`wb policy versions` and `rollback` see it). A holder of governance:admin may grant and revoke \
    anything. Anyone else may grant what they hold with grant option, no wider than they hold it: \
    the same resource or one below it, no other columns, the same row filter (or it ANDed with more), \
    the same masks; not a deny. The new grant records its grantor (granted_by), who may revoke it \
    again. Otherwise the command is refused with exit 21 and the reason.

    \(Exit.governanceHelp)
    """

struct GrantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant", abstract: "Add a grant (or, with --deny, a deny) to the access policy.",
        discussion: """
            Examples:
              wb grant SELECT --to group:analysts --on table:sales.orders --rows "region = 'EU'" --mask email=hash
              wb grant SELECT,INSERT --to role:engineer --on database:staging
              wb grant lakehouse:import --to user:ivan
              wb grant SELECT --deny --to group:stewards --on tags:classification=pii
              wb grant SELECT --to user:bob --on table:sales.orders --columns id,total --grant-option

            \(delegationDiscussion)
            """)

    @OptionGroup var domain: DomainOptions
    @Argument(help: "Permissions, comma-separated: ALL, SELECT, INSERT, ... or plugin actions such as lakehouse:import.")
    var permissions: String
    @Option(help: "Who: user:NAME, group:NAME or role:NAME (repeatable).") var to: [String] = []
    @Option(help: "catalog:NAME, database:DB, table:DB.TABLE or tags:KEY=V1|V2,... (none for plugin actions).") var on: String?
    @Option(help: "Only these columns (comma-separated).") var columns: String?
    @Option(name: .customLong("exclude-columns"), help: "Every column but these (comma-separated).") var excludeColumns: String?
    @Option(help: "A row filter (Docs/governance.md).") var rows: String?
    @Option(help: "COLUMN=MASK (repeatable): null, hash, redact, date_to_year, show_last:N, expression:EXPR.") var mask: [String] = []
    @Option(help: "The grant's id (default: made from the principal and resource).") var id: String?
    @Flag(help: "A deny instead of an allow.") var deny = false
    @Flag(name: .customLong("grant-option"), help: "The grantee may grant it on.") var grantOption = false
    @Flag(help: cascadeHelp) var cascade = false
    @Flag(help: "Print the new version as JSON.") var json = false

    func run() async throws {
        guard !to.isEmpty else { throw ValidationError("--to is required") }
        let principals = try to.map(parsePrincipal)
        let resource = try on.map(parseResource) ?? .none
        var granted: [GrantedPermission] = []
        for item in permissions.split(separator: ",").map({ String($0).trimmingSpaces }) {
            if item.uppercased() == "ALL" {
                granted += DataPermission.allCases.map(GrantedPermission.data)
            } else if let data = DataPermission(rawValue: item.uppercased()) {
                granted.append(.data(data))
            } else if item.contains(":") {
                granted.append(.action(item))
            } else {
                throw ValidationError("unknown permission '\(item)'")
            }
        }
        var selection: ColumnSelection?
        if let columns { selection = .include(columns.split(separator: ",").map { ColumnRef(String($0).trimmingSpaces) }) }
        if let excludeColumns {
            guard selection == nil else { throw ValidationError("give --columns or --exclude-columns, not both") }
            selection = .exclude(excludeColumns.split(separator: ",").map { ColumnRef(String($0).trimmingSpaces) })
        }
        var masks: [ColumnMask] = []
        for spec in mask {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--mask is COLUMN=MASK") }
            masks.append(ColumnMask(ColumnRef(parts[0]), try parseMask(parts[1])))
        }
        let filter = try rows.map(parseRows)
        let grantID =
            id ?? ([deny ? "deny" : "grant"] + principals.map { "\($0.kind.rawValue)-\($0.name)" } + [on.map { $0.replacingAll(":", with: "-") } ?? "actions"])
            .joined(separator: "-").filter { $0.isLetter || $0.isNumber || "-_.".contains($0) }
        let grant = Grant(
            id: grantID, effect: deny ? .deny : .allow, principals: principals, permissions: granted, resource: resource,
            columns: selection, rows: filter, masks: masks, grantOption: grantOption)
        let service = try PolicyCommand.service(domain, command: "grant")
        do {
            let applied = try service.grant(grant, by: Environment.userName, mode: cascade ? .cascade : .restrict)
            report(applied, command: "grant", comment: "\(deny ? "deny" : "grant") \(grantID)", json: json)
        } catch {
            throw PolicyCommand.fail("grant", error)
        }
    }
}

struct RevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Remove grants from the access policy, by id.",
        discussion: """
            Examples:
              wb revoke bob-orders
              wb revoke alice-sales --cascade              # and the grants alice passed on with its grant option
              wb revoke alice-sales --grant-option         # keep the grant, take away only its grant option

            A grant a user passed on with a grant option depends on it: a revocation that would leave such \
            a grant standing on nothing is refused (exit 21) naming the dependent grants, unless --cascade \
            revokes them too, and what was passed on from them in turn (SQL's REVOKE ... RESTRICT and \
            CASCADE).

            \(delegationDiscussion)
            """)

    @OptionGroup var domain: DomainOptions
    @Argument(help: "Grant ids (see `wb policy export`).") var ids: [String]
    @Flag(help: "Also revoke the grants passed on with the grant option this takes away.") var cascade = false
    @Flag(name: .customLong("grant-option"), help: "Take away only the grants' grant option; the grants stay.") var grantOptionOnly = false
    @Flag(help: "Print the new version as JSON.") var json = false

    func run() async throws {
        let service = try PolicyCommand.service(domain, command: "revoke")
        do {
            let applied = try service.revoke(
                ids, by: Environment.userName, mode: cascade ? .cascade : .restrict, grantOptionOnly: grantOptionOnly)
            report(applied, command: "revoke", comment: applied.version.comment, json: json)
        } catch {
            throw PolicyCommand.fail("revoke", error)
        }
    }
}

struct RoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "role", abstract: "Create, change and delete roles and groups in the access policy.",
        discussion: """
            wb role create analyst [--inherits reader]
            wb role add analyst group:data-team        # a user or group now holds the role
            wb role remove analyst user:bob
            wb role delete analyst                     # refused while grants or roles name it
            wb role group data-team alice bob          # set a group's members

            \(imperativeDiscussion)
            """)

    @OptionGroup var domain: DomainOptions
    @Argument(help: "create, add, remove, delete or group.") var action: String
    @Argument(help: "The role (or group) name.") var name: String
    @Argument(help: "Members: user:NAME or group:NAME (for group: user names).") var members: [String] = []
    @Option(help: "Roles the new role inherits (comma-separated).") var inherits: String?
    @Flag(help: cascadeHelp) var cascade = false
    @Flag(help: "Print the new version as JSON.") var json = false

    func run() async throws {
        let parents = inherits.map { $0.split(separator: ",").map { String($0).trimmingSpaces } } ?? []
        let action = self.action
        let principals = action == "group" ? [] : try members.map(parsePrincipal)
        try changePolicy(domain, command: "role", comment: "role \(action) \(name)", cascade: cascade, json: json) { policy in
            switch action {
            case "create":
                guard policy.roles[name] == nil else { throw GovernanceError(.invalidPolicy, "the role '\(name)' exists already") }
                policy.roles[name] = Role(name: name, members: principals, inherits: parents)
            case "add":
                guard var role = policy.roles[name] else { throw GovernanceError(.unknownReference, "there is no role '\(name)'") }
                for p in principals where !role.members.contains(p) { role.members.append(p) }
                role.inherits += parents.filter { !role.inherits.contains($0) }
                policy.roles[name] = role
            case "remove":
                guard var role = policy.roles[name] else { throw GovernanceError(.unknownReference, "there is no role '\(name)'") }
                role.members.removeAll { principals.contains($0) }
                role.inherits.removeAll { parents.contains($0) }
                policy.roles[name] = role
            case "delete":
                guard policy.roles[name] != nil else { throw GovernanceError(.unknownReference, "there is no role '\(name)'") }
                let users = policy.grants.filter { $0.principals.contains(Principal(.role, name)) }.map(\.id)
                    + policy.roles.values.filter { $0.inherits.contains(name) }.map { "role \($0.name)" }
                guard users.isEmpty else {
                    throw GovernanceError(.invalidPolicy, "the role '\(name)' is still used by \(users.joined(separator: ", "))")
                }
                policy.roles[name] = nil
            case "group":
                policy.groups[name] = members
            default:
                throw GovernanceError(.invalidPolicy, "unknown action '\(action)' (create, add, remove, delete, group)")
            }
        }
    }
}

struct FilterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "filter", abstract: "Set (or with --clear remove) the row filter of a grant.",
        discussion: "wb filter eu-orders \"region = 'EU' AND status <> 'test'\"\n\n\(imperativeDiscussion)")

    @OptionGroup var domain: DomainOptions
    @Argument(help: "The grant id.") var id: String
    @Argument(help: "The row filter (Docs/governance.md).") var rows: String?
    @Flag(help: "Remove the grant's row filter.") var clear = false
    @Flag(help: cascadeHelp) var cascade = false
    @Flag(help: "Print the new version as JSON.") var json = false

    func validate() throws {
        if clear == (rows != nil) { throw ValidationError("give a row filter, or --clear") }
    }

    func run() async throws {
        let filter = try rows.map(parseRows)
        try changePolicy(domain, command: "filter", comment: "filter of \(id): \(filter?.description ?? "cleared")", cascade: cascade, json: json) { policy in
            guard let index = policy.grants.firstIndex(where: { $0.id == id }) else {
                throw GovernanceError(.unknownReference, "there is no grant '\(id)' in the active policy")
            }
            policy.grants[index].rows = filter
        }
    }
}

struct MaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mask", abstract: "Set (or with --clear remove) a column mask of a grant.",
        discussion: "wb mask eu-orders email hash\nwb mask eu-orders phone show_last:4\nwb mask eu-orders email --clear\n\n\(imperativeDiscussion)")

    @OptionGroup var domain: DomainOptions
    @Argument(help: "The grant id.") var id: String
    @Argument(help: "The column.") var column: String
    @Argument(help: "null, hash, redact, date_to_year, show_last:N or expression:EXPR.") var mask: String?
    @Flag(help: "Remove the column's mask.") var clear = false
    @Flag(help: cascadeHelp) var cascade = false
    @Flag(help: "Print the new version as JSON.") var json = false

    func validate() throws {
        if clear == (mask != nil) { throw ValidationError("give a mask, or --clear") }
    }

    func run() async throws {
        let parsed = try mask.map(parseMask)
        try changePolicy(domain, command: "mask", comment: "mask of \(id).\(column): \(parsed?.description ?? "cleared")", cascade: cascade, json: json) {
            policy in
            guard let index = policy.grants.firstIndex(where: { $0.id == id }) else {
                throw GovernanceError(.unknownReference, "there is no grant '\(id)' in the active policy")
            }
            policy.grants[index].masks.removeAll { $0.column.name.lowercased() == column.lowercased() }
            if let parsed { policy.grants[index].masks.append(ColumnMask(ColumnRef(column), parsed)) }
        }
    }
}

/// `wb tag`: the policy's tag ontology, the keys and values tags on catalog objects may use.
struct TagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag", abstract: "Define, list and remove the tag keys and values of the access policy.",
        discussion: """
            The policy's tags are its ontology (LF-Tags): grants on tags may name only these keys and \
            values, and `wb catalog tag` may give a key defined here only one of its values. Assigning \
            tags to databases, tables and columns is `wb catalog tag` (it needs ASSIGN_TAG on the object).

              wb tag define classification public internal pii   # a new key, or more values for a key
              wb tag list [--json]
              wb tag remove classification internal              # some values; refused while a grant uses them
              wb tag remove classification                       # the whole key

            \(imperativeDiscussion)
            """,
        subcommands: [Define.self, List.self, Remove.self])

    struct Define: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a tag key with its allowed values, or add values to a key.", discussion: imperativeDiscussion)

        @OptionGroup var domain: DomainOptions
        @Argument(help: "The tag key.") var key: String
        @Argument(help: "Allowed values (one or more).") var values: [String]
        @Flag(help: "Print the new version as JSON.") var json = false

        func validate() throws {
            try TagCommand.checkName(key, "tag key")
            guard !values.isEmpty else { throw ValidationError("give the key's allowed values") }
            for value in values { try TagCommand.checkName(value, "tag value") }
        }

        func run() async throws {
            let key = self.key, values = self.values
            try changePolicy(domain, command: "tag", comment: "tag \(key): define \(values.joined(separator: ", "))", cascade: false, json: json) { policy in
                var allowed = policy.tags[key] ?? []
                for value in values where !allowed.contains(value) { allowed.append(value) }
                policy.tags[key] = allowed
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tag keys, their values, and the grants that use each.")

        @OptionGroup var domain: DomainOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let service = try PolicyCommand.service(domain, command: "tag list")
            do {
                guard let active = try service.store.active() else { throw GovernanceError(.store, "the domain has no active policy") }
                let policy = active.policy
                var items: [JSON] = []
                for key in policy.tags.keys.sorted() {
                    let values = policy.tags[key]!
                    let users = TagCommand.grants(using: key, value: nil, in: policy)
                    if json {
                        items.append([
                            "key": .string(key), "values": .array(values.map(JSON.string)),
                            "grants": .array(users.map(JSON.string)),
                        ])
                    } else {
                        print("\(key): \(values.joined(separator: ", "))" + (users.isEmpty ? "" : "  (grants: \(users.joined(separator: ", ")))"))
                    }
                }
                if json {
                    printJSON(["policy_version": .int(active.version.version), "tags": .array(items)])
                } else if policy.tags.isEmpty {
                    print("The policy defines no tags (version \(active.version.version)); `wb tag define KEY VALUE...` adds one.")
                }
            } catch let error as GovernanceError {
                throw PolicyCommand.fail("tag list", error)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove values of a tag key, or the whole key.",
            discussion: """
                Refused (exit 20) while a grant uses the key or a removed value. Tags already on catalog \
                objects stay; a removed value can no longer be assigned.

                \(imperativeDiscussion)
                """)

        @OptionGroup var domain: DomainOptions
        @Argument(help: "The tag key.") var key: String
        @Argument(help: "Values to remove (none: the whole key).") var values: [String] = []
        @Flag(help: "Print the new version as JSON.") var json = false

        func run() async throws {
            let key = self.key, values = self.values
            let what = values.isEmpty ? "remove" : "remove \(values.joined(separator: ", "))"
            try changePolicy(domain, command: "tag", comment: "tag \(key): \(what)", cascade: false, json: json) { policy in
                guard var allowed = policy.tags[key] else { throw GovernanceError(.unknownReference, "the policy defines no tag '\(key)'") }
                for value in values where !allowed.contains(value) {
                    throw GovernanceError(.unknownReference, "'\(value)' is not a value of tag '\(key)' (values: \(allowed.joined(separator: ", ")))")
                }
                let users = values.isEmpty
                    ? TagCommand.grants(using: key, value: nil, in: policy)
                    : values.flatMap { TagCommand.grants(using: key, value: $0, in: policy) }
                if !users.isEmpty {
                    throw GovernanceError(
                        .invalidPolicy,
                        "tag \(key)\(values.isEmpty ? "" : "=" + values.joined(separator: "|")) is used by grant\(users.count == 1 ? "" : "s") "
                            + "\(Array(Set(users)).sorted().joined(separator: ", ")); change or revoke \(users.count == 1 ? "it" : "them") first")
                }
                if values.isEmpty {
                    policy.tags[key] = nil
                } else {
                    allowed.removeAll { values.contains($0) }
                    guard !allowed.isEmpty else {
                        throw GovernanceError(.invalidPolicy, "tag '\(key)' would have no values left; remove the key instead: wb tag remove \(key)")
                    }
                    policy.tags[key] = allowed
                }
            }
        }
    }

    /// The ids of grants on tags that use `key` (and `value`, when given).
    static func grants(using key: String, value: String?, in policy: Policy) -> [String] {
        policy.grants.compactMap { grant in
            guard case .tags(let expression) = grant.resource else { return nil }
            let uses = expression.clauses.contains { $0.key == key && (value.map($0.values.contains) ?? true) }
            return uses ? grant.id : nil
        }
    }

    static func checkName(_ text: String, _ what: String) throws {
        guard !text.isEmpty, !text.contains(where: { $0 == "=" || $0 == "," || $0 == "|" || $0.isWhitespace || $0.isNewline }) else {
            throw ValidationError("'\(text)' is not a \(what): no spaces, '=', ',' or '|'")
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
