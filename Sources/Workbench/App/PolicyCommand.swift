import ArgumentParser
import CoreSupport
import Catalog
import Governance
import Lakehouse
import Storage

/// `wb policy`: the domain's access policy as code.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate, plan, apply and roll back the access policy; check decisions.",
        discussion: """
            The policy is a YAML file of groups, roles, tags and grants (Docs/governance.md; \
            an example is Docs/examples/policies.yaml). Every applied version is kept.

            \(Exit.governanceHelp)
            """,
        subcommands: [Validate.self, Plan.self, Apply.self, Rollback.self, Versions.self, Export.self, Check.self, Explain.self])

    /// Reads a policy file; an unreadable file exits 66.
    static func read(_ path: String, command: String) throws -> String {
        do {
            return try FileIO.readText(path)
        } catch {
            printError("wb policy \(command): cannot read \(path): \(error)")
            throw Exit.noInput
        }
    }

    static func fail(_ command: String, _ error: GovernanceError) -> ExitCode {
        printError("wb policy \(command): \(error)")
        switch error.code {
        case .denied: return Exit.denied
        case .store: return Exit.domainUnavailable
        default: return Exit.invalidPolicy
        }
    }

    static func service(_ options: DomainOptions, command: String) throws -> GovernanceService {
        let domain = try options.open(command: "policy \(command)")
        do {
            return try GovernanceService(domain: domain)
        } catch {
            throw fail(command, error)
        }
    }

    /// The text of a version with its bound columns under their current names: the text as applied when
    /// no table or column it names was renamed since, else the policy rendered again (`renamed` is then true).
    static func currentText(of version: Int, _ service: GovernanceService) throws(GovernanceError) -> (text: String, renamed: Bool) {
        let source = try service.store.source(of: version)
        let bindings = try service.store.bindings(of: version)
        let tables = try service.store.tableBindings(of: version)
        guard !bindings.isEmpty || !tables.isEmpty else { return (source, false) }
        let policy = try PolicyFile.parse(source, file: "policy version \(version)").binding(bindings, tables: tables)
        let names = try service.currentNames(of: policy)
        let current = policy.renamingColumns(names.columns).renamingTables(names.tables)
        guard current.grants.map(\.resource) != policy.grants.map(\.resource)
            || bindings.contains(where: { binding in names.columns[binding.columnID].map { $0.lowercased() != binding.name } ?? false })
        else {
            return (source, false)
        }
        let header = "Policy version \(version), with tables and columns renamed since it was applied under their current names."
        return (PolicyFile.render(current, header: header), true)
    }

    static func json(_ version: PolicyVersion) -> JSON {
        [
            "version": .int(version.version), "created_at": .string(version.createdAt), "created_by": .string(version.createdBy),
            "comment": .string(version.comment), "sha256": .string(version.sha256), "active": .bool(version.isActive),
        ]
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a policy file without applying it.",
            discussion: """
                Prints FILE:LINE:COLUMN: reason for the first problem. When the domain exists (--home, \
                else $WB_HOME), the grants' column names are also checked against its catalog, as apply \
                does: a table that does not exist or a column a table does not have is an error; a table or \
                column renamed or dropped since is a warning (on standard error). \
                Exit 0 valid, 20 invalid, 66 unreadable.
                """)

        @OptionGroup var domain: DomainOptions
        @Argument(help: "The policy file.") var file: String
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            let text = try PolicyCommand.read(file, command: "validate")
            let root = domain.home ?? Environment.workbenchHome
            let checked = FileIO.exists(FilePath.join(root, Domain.infoFileName))
            let service = checked ? try PolicyCommand.service(domain, command: "validate") : nil
            do {
                let policy = try PolicyFile.parse(text, file: file)
                let warnings = try service?.preview(text, file: file).binding.warnings ?? []
                if json {
                    printJSON([
                        "valid": true, "groups": .int(policy.groups.count), "roles": .int(policy.roles.count),
                        "tags": .int(policy.tags.count), "grants": .int(policy.grants.count),
                        "checked_against_catalog": .bool(checked), "warnings": .array(warnings.map(JSON.string)),
                    ])
                } else {
                    for warning in warnings { printError("wb policy validate: warning: \(warning)") }
                    print("\(file): valid (\(policy.grants.count) grants, \(policy.roles.count) roles, \(policy.groups.count) groups)"
                        + (checked ? "" : "; column names not checked (no domain at \(root))"))
                }
            } catch {
                if json {
                    printJSON([
                        "valid": false, "message": .string(error.message), "file": .string(file),
                        "line": error.location?.line.map(JSON.int) ?? .null, "column": error.location?.column.map(JSON.int) ?? .null,
                    ])
                }
                throw PolicyCommand.fail("validate", error)
            }
        }
    }

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what applying a policy file would change.",
            discussion: "Lines start with + (added), - (removed) or ~ (changed). Exit 0, 20 invalid file.")

        @OptionGroup var domain: DomainOptions
        @Argument(help: "The policy file.") var file: String
        @Flag(help: "Print the changes as JSON.") var json = false

        func run() async throws {
            let text = try PolicyCommand.read(file, command: "plan")
            let service = try PolicyCommand.service(domain, command: "plan")
            do {
                let (bound, binding) = try service.preview(text, file: file)
                let new = bound.renamingColumns(binding.currentNames).renamingTables(binding.currentTables)
                let active = try service.store.active()
                var old = Policy()
                if let active { old = try service.withCurrentNames(active.policy) }
                let changes = old.changes(to: new)
                if json {
                    printJSON([
                        "active_version": active.map { .int($0.version.version) } ?? .null,
                        "changes": .array(
                            changes.map {
                                ["kind": .string("\($0.kind)"), "subject": .string($0.subject), "details": .array($0.details.map(JSON.string))]
                            }),
                        "warnings": .array(binding.warnings.map(JSON.string)),
                    ])
                    return
                }
                for warning in binding.warnings { print("! \(warning)") }
                if changes.isEmpty {
                    print("No changes: \(file) matches the active policy (version \(active?.version.version ?? 0)).")
                } else {
                    print("Against the active policy (version \(active?.version.version ?? 0)), \(file) would make \(changes.count) change\(changes.count == 1 ? "" : "s"):")
                    for change in changes { print(change) }
                }
            } catch {
                throw PolicyCommand.fail("plan", error)
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a policy file the active policy, as a new version.",
            discussion: """
                Needs the governance:admin permission. The file is validated first; when it is \
                invalid nothing changes. Exit 0, 20 invalid file, 21 not permitted.
                """)

        @OptionGroup var domain: DomainOptions
        @Argument(help: "The policy file.") var file: String
        @Option(help: "Why (kept with the version).") var comment = ""
        @Flag(help: "Print the new version as JSON.") var json = false

        func run() async throws {
            let text = try PolicyCommand.read(file, command: "apply")
            let service = try PolicyCommand.service(domain, command: "apply")
            do {
                let applied = try service.apply(text, file: file, by: Environment.userName, comment: comment)
                let version = applied.version
                if json {
                    var object = PolicyCommand.json(version)
                    object["created"] = .bool(applied.created)
                    object["warnings"] = .array(applied.warnings.map(JSON.string))
                    printJSON(object)
                } else {
                    for warning in applied.warnings { printError("wb policy apply: warning: \(warning)") }
                    print(applied.created ? "Applied \(file) as policy version \(version.version)." : "Unchanged: \(file) is already the active policy (version \(version.version)).")
                }
            } catch {
                throw PolicyCommand.fail("apply", error)
            }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an earlier version's policy active again (as a new version).",
            discussion: "Needs the governance:admin permission. Exit 0, 21 not permitted, 20 no such version.")

        @OptionGroup var domain: DomainOptions
        @Argument(help: "The version to return to (see `wb policy versions`).") var version: Int
        @Flag(help: "Print the new version as JSON.") var json = false

        func run() async throws {
            let service = try PolicyCommand.service(domain, command: "rollback")
            do {
                let result = try service.rollback(to: version, by: Environment.userName)
                if json { printJSON(PolicyCommand.json(result)) } else { print("Policy version \(version) is active again, as version \(result.version).") }
            } catch {
                throw PolicyCommand.fail("rollback", error)
            }
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every applied policy version.")

        @OptionGroup var domain: DomainOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let service = try PolicyCommand.service(domain, command: "versions")
            do {
                let versions = try service.store.versions()
                if json {
                    printJSON(.array(versions.map(PolicyCommand.json)))
                } else {
                    for v in versions {
                        print("\(v.isActive ? "*" : " ") \(v.version)  \(v.createdAt)  \(v.createdBy)  \(v.comment)")
                    }
                }
            } catch {
                throw PolicyCommand.fail("versions", error)
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the active policy (or one version) as it was applied.",
            discussion: """
                Grants follow their tables and columns by id. When a table or column a version names has been \
                renamed since, the policy is printed again from its parsed form with the current names (comments \
                and layout of the original text are not kept then; a note on standard error says so).
                """)

        @OptionGroup var domain: DomainOptions
        @Option(help: "A version other than the active one.") var version: Int?
        @Option(name: .shortAndLong, help: "Write to this file (atomically) instead of standard output.") var output: String?

        func run() async throws {
            let service = try PolicyCommand.service(domain, command: "export")
            do {
                guard let number = try version ?? service.store.activeVersion() else {
                    throw GovernanceError(.store, "the domain has no active policy")
                }
                let current = try PolicyCommand.currentText(of: number, service)
                if current.renamed {
                    printError("wb policy export: tables and columns renamed since version \(number) was applied are shown under their current names")
                }
                let text = current.text
                if let output {
                    do {
                        try AtomicFile.write(text, to: output)
                    } catch {
                        printError("wb policy export: cannot write \(output): \(error)")
                        throw Exit.writeFailed
                    }
                } else {
                    print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
                }
            } catch let error as GovernanceError {
                throw PolicyCommand.fail("export", error)
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decide whether a user may do something, and say which grants decided.",
            discussion: """
                ACTION is a plugin action (lakehouse:import, experiments:write, ...) or a data permission \
                (SELECT, INSERT, UPDATE, DELETE, ALTER, DROP, DESCRIBE, CREATE_TABLE, CREATE_DATABASE, ASSIGN_TAG). \
                RESOURCE is a table (db.table, catalog.db.table or table:db.table), a database (db or \
                database:db) or a catalog (catalog:NAME); a data permission needs one. For a lakehouse \
                action on a resource, the decision also covers what that action needs there, as the \
                lakehouse checks it: lakehouse:import needs INSERT on an existing table (CREATE_TABLE on \
                the database of a new one), lakehouse:export and lakehouse:query SELECT, \
                lakehouse:catalog-read any permission, lakehouse:catalog-write ASSIGN_TAG, \
                lakehouse:maintain ALTER, lakehouse:admin CREATE_DATABASE on a catalog. A table read \
                through a row filter, column list or mask is allowed and reported as filtered. \
                Checking for another user needs the governance:explain permission; every decision is \
                audited. Exit 0 allowed, 21 denied (or not permitted to ask), 1 no such table or \
                database, 64 bad usage.
                """)

        @OptionGroup var domain: DomainOptions
        @Option(name: .customLong("as"), help: "The user to decide for (default: you).") var user: String?
        @Argument(help: "A plugin permission such as lakehouse:import, or a data permission such as SELECT.") var permission: String
        @Argument(help: "What it is on: db.table, db, catalog:NAME (see the discussion).") var resource: String?
        @Flag(help: "Print the decision as JSON.") var json = false

        /// What RESOURCE names.
        enum Target {
            case catalog(String)
            case database(String)
            case table(catalog: String?, TableName)

            init(parsing text: String) throws {
                let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
                let kind = parts.count == 2 ? parts[0] : nil
                let names = (parts.count == 2 ? parts[1] : text).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                guard !names.contains(where: \.isEmpty) else { throw ValidationError("'\(text)' is not a resource (db.table, db or catalog:NAME)") }
                switch (kind, names.count) {
                case ("catalog", 1): self = .catalog(names[0])
                case ("database", 1), (nil, 1): self = .database(names[0])
                case ("table", 2), (nil, 2): self = .table(catalog: nil, TableName(names[0], names[1]))
                case ("table", 3), (nil, 3): self = .table(catalog: names[0], TableName(names[1], names[2]))
                default: throw ValidationError("'\(text)' is not a resource (db.table, catalog.db.table, db, database:DB or catalog:NAME)")
                }
            }
        }

        /// One decision of the check, for the report.
        struct Part {
            var permission: String
            var resource: String
            var decision: Decision
            var filtered = false
        }

        func run() async throws {
            let isAction = permission.contains(":")
            let data = DataPermission(rawValue: permission.uppercased())
            guard isAction || data != nil else { throw ValidationError("unknown permission '\(permission)' (a plugin action ns:verb, or SELECT, INSERT, ...)") }
            if !isAction, resource == nil { throw ValidationError("\(permission.uppercased()) is a data permission: give the table, database or catalog it is on") }
            let target = try resource.map { try Target(parsing: $0) }
            let domain = try self.domain.open(command: "policy check")
            let service = try PolicyCommand.service(self.domain, command: "check")
            let me = Environment.userName
            let subject = user ?? me
            var parts: [Part] = []
            do {
                if subject != me {
                    let may = try service.authorize(user: me, action: "governance:explain", resource: "user:\(subject)", detail: "policy check --as \(subject)")
                    guard may.allowed else {
                        try service.audit.flush()
                        throw GovernanceError(.denied, "\(me) may not check decisions for other users: \(may.reason)")
                    }
                }
                if isAction {
                    let decision = try service.authorize(user: subject, action: permission, resource: resource, detail: "policy check by \(me)")
                    parts.append(Part(permission: permission, resource: permission, decision: decision))
                }
                if let target {
                    parts.append(try decide(target, data: data, service: service, domain: domain, user: subject, by: me))
                }
                try service.audit.flush()
            } catch let error as GovernanceError {
                throw PolicyCommand.fail("check", error)
            }
            let allowed = parts.allSatisfy(\.decision.allowed)
            var grants: [String] = []
            for part in parts { for id in part.decision.decidingGrants where !grants.contains(id) { grants.append(id) } }
            let reason = parts.map(\.decision.reason).joined(separator: "; ")
            if json {
                printJSON([
                    "user": .string(subject), "permission": .string(permission), "resource": resource.map(JSON.string) ?? .null,
                    "allowed": .bool(allowed), "grants": .array(grants.map(JSON.string)), "reason": .string(reason),
                    "decisions": .array(parts.map { part in
                        [
                            "permission": .string(part.permission), "resource": .string(part.resource), "allowed": .bool(part.decision.allowed),
                            "filtered": .bool(part.filtered), "grants": .array(part.decision.decidingGrants.map(JSON.string)),
                            "reason": .string(part.decision.reason),
                        ]
                    }),
                ])
            } else {
                for part in parts {
                    let verdict = !part.decision.allowed ? "DENY" : (part.filtered ? "ALLOW, filtered" : "ALLOW")
                    let ids = part.decision.decidingGrants.isEmpty ? "" : " (grants: \(part.decision.decidingGrants.joined(separator: ", ")))"
                    print("\(verdict): \(part.decision.reason)\(ids)")
                }
            }
            if !allowed { throw Exit.denied }
        }

        /// The decision on the resource: the data permission asked for, or the one the lakehouse action needs there. Audited.
        func decide(_ target: Target, data: DataPermission?, service: GovernanceService, domain: Domain, user: String, by me: String) throws
            -> Part
        {
            let (version, engine) = try service.engine()
            let catalog: Catalog
            do {
                catalog = try Catalog(domain: domain)
            } catch {
                printError("wb policy check: \(error)")
                throw Exit.domainUnavailable
            }
            func requirement(_ kind: LakehousePlugin.ObjectKind) throws -> LakehousePlugin.ObjectRequirement {
                if let data { return .permission(data) }
                guard let needed = LakehousePlugin.requirement(of: permission, on: kind) else {
                    throw ValidationError("\(permission) does not act on \(kind == .newTable ? "a new table" : "a \(kind)") (give no resource, or another)")
                }
                return needed
            }
            func audited(_ part: Part) -> Part {
                service.audit.append(
                    AuditRecord(
                        principal: "user:\(user)", action: part.permission, resource: part.resource, allowed: part.decision.allowed,
                        grants: part.decision.decidingGrants, policyVersion: version, detail: "policy check by \(me): \(part.decision.reason)"))
                return part
            }
            func any(_ decide: (DataPermission) -> Decision, _ object: String) -> Decision {
                for permission in DataPermission.allCases {
                    let decision = decide(permission)
                    if decision.allowed {
                        return Decision(allowed: true, decidingGrants: decision.decidingGrants, reason: "\(user) holds \(permission.rawValue) on \(object)")
                    }
                }
                return Decision(allowed: false, decidingGrants: [], reason: "\(user) holds no permission on \(object)")
            }
            let found: (TableInfo?, DatabaseInfo?)
            do {
                found = try catalog.read { access -> (TableInfo?, DatabaseInfo?) in
                    switch target {
                    case .catalog: return (nil, nil)
                    case .database(let name): return (nil, try access.database(named: name))
                    case .table(_, let name): return (try access.table(database: name.database, name: name.table), try access.database(named: name.database))
                    }
                }
            } catch {
                printError("wb policy check: \(error)")
                throw Exit.domainUnavailable
            }
            func describe(_ database: DatabaseInfo) -> DatabaseDescriptor {
                DatabaseDescriptor(catalog: database.catalogName, name: database.name, tags: database.tags)
            }
            func missing(_ what: String) -> ExitCode {
                printError("wb policy check: there is no \(what)")
                return ExitCode.failure
            }
            switch target {
            case .catalog(let name):
                guard case .permission(let needed) = try requirement(.catalog) else { throw ValidationError("a catalog takes a data permission") }
                return audited(Part(permission: needed.rawValue, resource: name, decision: engine.decide(user: user, permission: needed, catalog: name)))
            case .database(let name):
                guard let database = found.1 else { throw missing("database \(name)") }
                let object = "\(database.catalogName).\(database.name)"
                switch try requirement(.database) {
                case .permission(let needed):
                    return audited(Part(permission: needed.rawValue, resource: object, decision: engine.decide(user: user, permission: needed, database: describe(database))))
                case .anyPermission:
                    // As `wb catalog` shows it: a permission on the database, or on one of its tables.
                    var decision = any({ engine.decide(user: user, permission: $0, database: describe(database)) }, "database \(object)")
                    if !decision.allowed {
                        let tables = (try? catalog.read { try $0.tables(inDatabase: database.id) }) ?? []
                        for table in tables {
                            let seen = engine.canDescribe(user: user, table: StatementGovernance.descriptor(table, database: database))
                            if seen.allowed {
                                decision = Decision(allowed: true, decidingGrants: seen.decidingGrants, reason: "\(seen.reason), in database \(object)")
                                break
                            }
                        }
                    }
                    return audited(Part(permission: "any", resource: object, decision: decision))
                }
            case .table(let catalogName, let name):
                guard let database = found.1, catalogName.map({ $0.lowercased() == database.catalogName.lowercased() }) ?? true else {
                    throw missing("database \(name.database)")
                }
                guard let table = found.0 else {
                    // A table that does not exist yet: only creating it can be decided, on its database.
                    guard data == nil, case .permission(let needed) = try requirement(.newTable) else { throw missing("table \(name)") }
                    let object = "\(database.catalogName).\(database.name)"
                    return audited(Part(permission: needed.rawValue, resource: object, decision: engine.decide(user: user, permission: needed, database: describe(database))))
                }
                let descriptor = StatementGovernance.descriptor(table, database: database)
                switch try requirement(.table) {
                case .permission(let needed):
                    let plan = engine.accessPlan(user: user, table: descriptor, permission: needed)
                    return audited(Part(permission: needed.rawValue, resource: descriptor.qualifiedName, decision: plan.decision, filtered: plan.decision.allowed && !plan.isUnrestricted))
                case .anyPermission:
                    return audited(Part(permission: "any", resource: descriptor.qualifiedName, decision: engine.canDescribe(user: user, table: descriptor)))
                }
            }
        }
    }
}

extension PolicyCommand {
    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a user gets from a table or a query: columns, masks, row filters, and the grants that decided.",
            discussion: """
                Give a table (db.table) or a whole statement ("SELECT ... FROM a.x JOIN b.y ..."): a statement is \
                explained table by table, each with the permission it needs there (SELECT for what it reads; \
                INSERT, UPDATE or DELETE for the table it writes). \
                Explaining for another user needs the governance:explain permission; it is audited. \
                --sql also prints the secure SELECT the SQLite engine runs for them. \
                Exit 0 allowed (in full or filtered), 21 denied (for a statement: some table denied), 1 no such table.
                """)

        @OptionGroup var domain: DomainOptions
        @Option(name: .customLong("as"), help: "The user to explain for (default: you).") var user: String?
        @Option(help: "For a table: the permission, SELECT (default), INSERT, UPDATE, DELETE, ALTER, DROP.") var permission = "SELECT"
        @Argument(help: "The table, db.table, or an SQL statement.") var table: String
        @Flag(help: "Also print the secure SELECT the engine compiles.") var sql = false
        @Flag(help: "Print JSON.") var json = false

        /// Whether the argument is a statement rather than a `db.table` name.
        var isStatement: Bool { table.contains { $0 == " " || $0 == "\n" || $0 == "(" || $0 == "*" } }

        func run() async throws {
            let domain = try self.domain.open(command: "policy explain")
            let service = try PolicyCommand.service(self.domain, command: "explain")
            let me = Environment.userName
            let subject = user ?? me
            guard let permission = DataPermission(rawValue: permission.uppercased()) else {
                throw ValidationError("unknown permission \(permission)")
            }
            do {
                if subject != me {
                    let may = try service.authorize(user: me, action: "governance:explain", resource: "user:\(subject)", detail: "policy explain \(table)")
                    try service.audit.flush()
                    guard may.allowed else { throw GovernanceError(.denied, "\(me) may not explain decisions for \(subject): \(may.reason)") }
                }
            } catch let error as GovernanceError {
                throw PolicyCommand.fail("explain", error)
            }
            let catalog: Catalog
            do {
                catalog = try Catalog(domain: domain)
            } catch {
                printError("wb policy explain: \(error)")
                throw Exit.domainUnavailable
            }
            let wanted: [QueryTable]
            do {
                if isStatement {
                    wanted = try catalog.read { access in
                        try Lakehouse.tables(in: table) { try access.database(named: $0) != nil }
                    }
                    if wanted.isEmpty {
                        printError("wb policy explain: the statement names no table (tables are named db.table)")
                        throw ExitCode.failure
                    }
                } else {
                    wanted = [QueryTable(name: try TableName(parsing: table), permission: permission)]
                }
            } catch let error as ExitCode {
                throw error
            } catch {
                printError("wb policy explain: \(error)")
                throw ExitCode.validationFailure
            }
            var found: [(QueryTable, TableInfo, DatabaseInfo)] = []
            do {
                for entry in wanted {
                    let hit = try catalog.read { access -> (TableInfo, DatabaseInfo)? in
                        guard let database = try access.database(named: entry.name.database),
                            let info = try access.table(database: entry.name.database, name: entry.name.table)
                        else { return nil }
                        return (info, database)
                    }
                    guard let (info, database) = hit else {
                        printError("wb policy explain: there is no table \(entry.name)")
                        throw ExitCode.failure
                    }
                    found.append((entry, info, database))
                }
            } catch let error as ExitCode {
                throw error
            } catch {
                printError("wb policy explain: \(error)")
                throw Exit.domainUnavailable
            }
            let (version, engine): (Int, PolicyEngine)
            do {
                (version, engine) = try service.engine()
            } catch {
                throw PolicyCommand.fail("explain", error)
            }
            var reports: [JSON] = []
            var allowed = true
            if isStatement, !json { print("\(subject) runs this statement under policy version \(version):") }
            for (entry, info, database) in found {
                let descriptor = StatementGovernance.descriptor(info, database: database)
                let plan = engine.accessPlan(user: subject, table: descriptor, permission: entry.permission)
                allowed = allowed && plan.decision.allowed
                if json {
                    reports.append(report(plan, descriptor, info: info, version: version))
                } else {
                    printReport(plan, descriptor, info: info, version: version, indent: isStatement ? "  " : "")
                }
            }
            if json {
                if isStatement {
                    printJSON(["user": .string(subject), "query": .string(table), "policy_version": .int(version), "allowed": .bool(allowed), "tables": .array(reports)])
                } else if let only = reports.first {
                    printJSON(only)
                }
            }
            if !allowed { throw Exit.denied }
        }

        func report(_ plan: AccessPlan, _ descriptor: TableDescriptor, info: TableInfo, version: Int) -> JSON {
            let visible = Set(plan.visibleColumns.map(\.id))
            let compiled = SecureView.select(plan, from: "main.\"_lh_v\(info.id)\"")
            return [
                "user": .string(plan.user), "table": .string(descriptor.qualifiedName), "permission": .string(plan.permission.rawValue),
                "policy_version": .int(version), "allowed": .bool(plan.decision.allowed), "restricted": .bool(!plan.isUnrestricted),
                "grants": .array(plan.decision.decidingGrants.map(JSON.string)), "reason": .string(plan.decision.reason),
                "visible_columns": .array(plan.visibleColumns.map { .string($0.name) }),
                "hidden_columns": .array(descriptor.columns.filter { !visible.contains($0.id) }.map { .string($0.name) }),
                "branches": .array(plan.branches.map { branch in
                    [
                        "grant": .string(branch.grantID), "rows": branch.rows.map { .string($0.description) } ?? .null,
                        "columns": .object(JSONObject(descriptor.columns.compactMap { column in
                            branch.columns[column.id].map { (column.name, $0.map { JSON.string($0.description) } ?? .string("raw")) }
                        })),
                    ]
                }),
                "denied_rows": .array(plan.deniedRows.map { ["grant": .string($0.grantID), "rows": .string($0.rows.description)] }),
                "problems": .array(plan.problems.map(JSON.string)),
                "warnings": .array(plan.warnings.map(JSON.string)),
                "sql": sql ? compiled.map(JSON.string) ?? .null : .null,
            ]
        }

        func printReport(_ plan: AccessPlan, _ descriptor: TableDescriptor, info: TableInfo, version: Int, indent: String) {
            let visible = Set(plan.visibleColumns.map(\.id))
            let verdict = !plan.decision.allowed ? "DENY" : (plan.isUnrestricted ? "ALLOW (every row and column)" : "ALLOW, filtered")
            let versionNote = indent.isEmpty ? " (policy version \(version))" : ""
            print("\(indent)\(plan.user) \(plan.permission.rawValue) on \(descriptor.qualifiedName)\(versionNote): \(verdict)")
            print("\(indent)  \(plan.decision.reason)")
            if plan.decision.allowed {
                let hidden = descriptor.columns.filter { !visible.contains($0.id) }.map(\.name)
                print("\(indent)  columns: \(plan.visibleColumns.map(\.name).joined(separator: ", "))" + (hidden.isEmpty ? "" : "; hidden: \(hidden.joined(separator: ", "))"))
                for branch in plan.branches {
                    let masks = descriptor.columns.compactMap { column -> String? in
                        guard case .some(.some(let mask)) = branch.columns[column.id] else { return nil }
                        return "\(column.name) \(mask)"
                    }
                    print("\(indent)  grant \(branch.grantID): rows \(branch.rows?.description ?? "all")"
                        + "; columns \(descriptor.columns.filter { branch.columns[$0.id] != nil }.map(\.name).joined(separator: ", "))"
                        + (masks.isEmpty ? "" : "; masks \(masks.joined(separator: ", "))"))
                }
                for denied in plan.deniedRows { print("\(indent)  deny \(denied.grantID): removes rows where \(denied.rows)") }
            }
            for problem in plan.problems { print("\(indent)  problem: \(problem)") }
            for warning in plan.warnings { print("\(indent)  warning: \(warning)") }
            if sql, let compiled = SecureView.select(plan, from: "main.\"_lh_v\(info.id)\"") { print("\(indent)  SQL: \(compiled)") }
        }
    }
}

/// `wb audit`: the hash-chained record of every governance decision.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Search and verify the audit log of access decisions.",
        subcommands: [Search.self, Verify.self])

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audit records, oldest first.")

        @OptionGroup var domain: DomainOptions
        @Option(help: "Only this principal, such as user:alice.") var principal: String?
        @Option(help: "Only this action, such as SELECT or lakehouse:import.") var action: String?
        @Option(help: "Only this resource, such as main.sales.orders.") var resource: String?
        @Option(help: "allow or deny.") var decision: String?
        @Option(help: "Only records at or after this ISO 8601 time.") var since: String?
        @Option(help: "At most this many records.") var limit = 1000
        @Flag(help: "Print JSON lines.") var json = false

        func validate() throws {
            if let decision, decision != "allow", decision != "deny" {
                throw ValidationError("--decision is allow or deny, not \(decision)")
            }
        }

        func run() async throws {
            let service = try PolicyCommand.service(domain, command: "audit search")
            do {
                let records = try service.audit.search(
                    principal: principal, action: action, resource: resource, decision: decision.map { $0 == "allow" }, since: since,
                    limit: limit)
                for stored in records {
                    if json {
                        guard case .object(var object) = stored.record.json else { continue }
                        object["seq"] = .int(stored.sequence)
                        object["hash"] = .string(stored.hash)
                        print(JSON.object(object).serialized())
                    } else {
                        let r = stored.record
                        print("\(stored.sequence)  \(r.time)  \(r.allowed ? "allow" : "DENY ")  \(r.principal)  \(r.action)  \(r.resource)  [\(r.grants.joined(separator: ","))]  \(r.detail)")
                    }
                }
            } catch {
                throw PolicyCommand.fail("audit search", error)
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the audit chain and compare it with its head.",
            discussion: "Exit 0 intact, 22 broken (the message says which record and how).")

        @OptionGroup var domain: DomainOptions
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            let service = try PolicyCommand.service(domain, command: "audit verify")
            do {
                let result = try service.audit.verify()
                if json {
                    printJSON(["records": .int(result.records), "intact": .bool(result.isIntact), "problem": result.problem.map(JSON.string) ?? .null])
                } else if let problem = result.problem {
                    printError("wb audit verify: BROKEN after checking \(result.records) records: \(problem)")
                } else {
                    print("The audit log is intact: \(result.records) records, chain head matches.")
                }
                if !result.isIntact { throw Exit.auditBroken }
            } catch let error as GovernanceError {
                throw PolicyCommand.fail("audit verify", error)
            }
        }
    }
}
