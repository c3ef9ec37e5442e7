import Catalog
import CoreSupport
import Storage
import Synchronization

/// The domain's governance: the active policy, decisions on it, and their audit.
///
/// The first time a domain is governed, its creator gets an ordinary admin
/// grant as policy version 1, written and audited like any other: there is no
/// hidden superuser. Changing the policy needs the `governance:admin` permission.
public final class GovernanceService: Sendable {
    /// The permission that policy changes need.
    public static let adminPermission = "governance:admin"

    public let store: PolicyStore
    public let audit: AuditLog
    public let defaultCatalog: String
    private let domain: Domain
    /// The catalog column names are bound against (opened on first use).
    private let catalogStore = Mutex<Catalog?>(nil)
    private let cache = Mutex<(version: Int, engine: PolicyEngine)?>(nil)
    private let plans = Mutex<(version: Int, entries: [PlanKey: AccessPlan])>((0, [:]))

    private struct PlanKey: Hashable {
        var user: String
        var table: TableDescriptor
        var permission: DataPermission
    }

    /// The access plan of `user` on `table`, remembered per policy version (the table's
    /// descriptor is part of the key, so a renamed column or a new tag makes a new plan).
    public func accessPlan(user: String, table: TableDescriptor, permission: DataPermission) throws(GovernanceError)
        -> (version: Int, plan: AccessPlan)
    {
        let (version, engine) = try engine()
        return (version, accessPlan(user: user, table: table, permission: permission, version: version, engine: engine))
    }

    /// The access plan under an engine the caller already holds (one policy-version read per statement, not per table).
    public func accessPlan(user: String, table: TableDescriptor, permission: DataPermission, version: Int, engine: PolicyEngine)
        -> AccessPlan
    {
        let key = PlanKey(user: user, table: table, permission: permission)
        if let plan = plans.withLock({ $0.version == version ? $0.entries[key] : nil }) { return plan }
        let plan = engine.accessPlan(user: user, table: table, permission: permission)
        plans.withLock { state in
            if state.version != version || state.entries.count > 10_000 { state = (version, [:]) }
            state.entries[key] = plan
        }
        return plan
    }

    /// The policy a new domain starts with: its creator may do everything, with grant option.
    public static func initialPolicy(admin: String) -> String {
        """
        # The initial policy of this domain: its creator is its admin.
        # Replace it with `wb policy apply FILE`; see Docs/governance.md.
        version: 1
        grants:
          - id: domain-admin
            to: "user:\(admin)"
            permissions: [ALL, "*:*"]
            on: {catalog: "*"}
            grant_option: true

        """
    }

    /// Opens the governance of `domain`, writing the initial policy if there is none yet.
    public init(domain: Domain, defaultCatalog: String = Catalog.managedCatalogName) throws(GovernanceError) {
        self.domain = domain
        store = try PolicyStore(domain: domain)
        audit = AuditLog(store: store, headPath: FilePath.join(domain.path, "audit.head"))
        self.defaultCatalog = defaultCatalog
        if try store.active() == nil {
            let creator = domain.info.createdBy
            let (version, created) = try store.apply(
                Self.initialPolicy(admin: creator), file: "initial policy", by: creator,
                comment: "initial policy: the domain's creator is its admin")
            if created {
                audit.append(
                    AuditRecord(
                        principal: "user:\(creator)", action: "policy:apply", resource: "policy", allowed: true,
                        grants: ["domain-admin"], policyVersion: version.version, detail: "initial policy"))
                try audit.flush()
            }
        }
        if try store.pendingTableBinding() { try bindTablesAfterUpgrade() }
    }

    /// Binds the active version's grants on tables to the tables' ids, once, after an upgrade from a store
    /// whose grants named tables: the same text as a new version, by the domain's creator, audited
    /// (`policy:upgrade`). Each name means the table it names today, as it did before the upgrade; a grant
    /// on a table that does not exist stays matched by name until the policy is next applied.
    private func bindTablesAfterUpgrade() throws(GovernanceError) {
        if let active = try store.active() {
            _ = try store(
                active.source, file: "policy version \(active.version.version)", by: domain.info.createdBy,
                comment: "upgrade: grants on tables bound to the tables' ids", action: "policy:upgrade", grants: [],
                missingTables: .keepByName)
        }
        try store.finishTableBinding()
    }

    /// The engine for the active policy (re-read when another process applied a new version).
    public func engine() throws(GovernanceError) -> (version: Int, engine: PolicyEngine) {
        guard let active = try store.activeVersion() else {
            throw GovernanceError(.store, "the domain has no active policy")
        }
        if let cached = cache.withLock({ $0 }), cached.version == active { return cached }
        guard let current = try store.active() else { throw GovernanceError(.store, "the domain has no active policy") }
        let fresh = (current.version.version, PolicyEngine(policy: current.policy, defaultCatalog: defaultCatalog))
        cache.withLock { $0 = fresh }
        return fresh
    }

    /// Plugin-permission decisions of the active version, per user and action (a decision depends on nothing else).
    private let decisions = Mutex<(version: Int, entries: [DecisionKey: Decision])>((0, [:]))

    private struct DecisionKey: Hashable {
        var user: String
        var action: String
    }

    /// Decides a plugin permission for `user` and audits the decision.
    public func authorize(user: String, action: String, resource: String? = nil, detail: String = "") throws(GovernanceError) -> Decision {
        let (version, engine) = try engine()
        let key = DecisionKey(user: user, action: action)
        let decision: Decision
        if let kept = decisions.withLock({ $0.version == version ? $0.entries[key] : nil }) {
            decision = kept
        } else {
            decision = engine.decide(user: user, action: action)
            decisions.withLock { state in
                if state.version != version || state.entries.count > 10_000 { state = (version, [:]) }
                state.entries[key] = decision
            }
        }
        audit.append(
            AuditRecord(
                principal: "user:\(user)", action: action, resource: resource ?? action, allowed: decision.allowed,
                grants: decision.decidingGrants, policyVersion: version, detail: detail.isEmpty ? decision.reason : detail))
        return decision
    }

    /// The outcome of applying a policy.
    public struct Applied: Sendable, Equatable {
        public var version: PolicyVersion
        /// False when the text and its column bindings were already the active policy.
        public var created: Bool
        /// What binding the policy's column names found worth saying (dropped or renamed columns, tables not there yet).
        public var warnings: [String]
    }

    /// The catalog of the domain, opened on first use.
    public func catalog() throws(GovernanceError) -> Catalog {
        if let open = catalogStore.withLock({ $0 }) { return open }
        do {
            let opened = try Catalog(domain: domain)
            catalogStore.withLock { $0 = opened }
            return opened
        } catch {
            throw GovernanceError(.store, "cannot open the catalog: \(error)")
        }
    }

    /// Binds the grants on one table of `policy` to the catalog's table ids and their column names to column ids
    /// (`Policy.bindColumns`), the active version's bindings (or `prior` and `priorTables`) counting as the earlier ones.
    public func bind(
        _ policy: Policy, prior: [ColumnBinding]? = nil, priorTables: [TableBinding]? = nil, missingTables: MissingTable = .refuse
    ) throws(GovernanceError) -> BindingResult {
        var earlier = prior ?? []
        var earlierTables = priorTables ?? []
        if prior == nil || priorTables == nil, let active = try store.activeVersion() {
            if prior == nil { earlier = try store.bindings(of: active) }
            if priorTables == nil { earlierTables = try store.tableBindings(of: active) }
        }
        return try policy.bindColumns(
            in: catalog(), defaultCatalog: defaultCatalog, prior: earlier, priorTables: earlierTables, missingTables: missingTables)
    }

    /// What `source` would be once applied: the parsed policy with its table and column bindings, and the binding's
    /// warnings. Nothing is written; an invalid file, a table that does not exist or a column the table does not
    /// have is an error, as in `apply`.
    public func preview(_ source: String, file: String?) throws(GovernanceError) -> (policy: Policy, binding: BindingResult) {
        let parsed = try PolicyFile.parse(source, file: file)
        var result = try bind(parsed)
        let bound = parsed.binding(result.bindings, tables: result.tables)
        result.warnings += Self.abandonedWarnings(bound, defaultCatalog: defaultCatalog)
        return (bound, result)
    }

    /// One warning per grant passed on by a user that the policy no longer holds up (`PolicyEngine.dependentGrants`):
    /// a file may keep such a grant, and `apply` says so; `wb revoke` refuses to leave one unless it cascades.
    static func abandonedWarnings(_ policy: Policy, defaultCatalog: String) -> [String] {
        guard policy.grants.contains(where: { $0.grantedBy != nil }) else { return [] }
        return PolicyEngine.dependentGrants(of: policy, defaultCatalog: defaultCatalog).map { grant in
            "grant '\(grant.id)' was passed on by \(grant.grantedBy?.description ?? "?"), who no longer holds what it gives with grant option "
                + "(nor governance:admin): it stays, as the file says, but `wb revoke` would refuse to leave it without --cascade"
        }
    }

    /// The current names of the tables and columns `policy`'s bound grants name: column id → name (a dropped
    /// column keeps its last name), and table id → where the table is now (a dropped table is absent).
    public func currentNames(of policy: Policy) throws(GovernanceError) -> (columns: [String: String], tables: [String: CurrentTable]) {
        let tables = Set(policy.grants.compactMap(\.boundTable)).compactMap { Int64($0) }
        guard !tables.isEmpty else { return ([:], [:]) }
        do {
            return try catalog().read { access in
                var names: [String: String] = [:]
                var places: [String: CurrentTable] = [:]
                for id in tables {
                    for column in try access.allColumns(ofTable: id).values { names[String(column.id)] = column.name }
                    if let table = try access.table(id: id), let database = try access.database(id: table.databaseID) {
                        places[String(id)] = CurrentTable(catalog: database.catalogName, database: database.name, name: table.name)
                    }
                }
                return (names, places)
            }
        } catch let error as GovernanceError {
            throw error
        } catch {
            throw GovernanceError(.store, "cannot read the catalog: \(error)")
        }
    }

    /// The current names of the columns `policy`'s bound grants name (column id → name; a dropped column keeps its last name).
    public func currentColumnNames(of policy: Policy) throws(GovernanceError) -> [String: String] {
        try currentNames(of: policy).columns
    }

    /// `policy` with every bound table and column under its current name, as `wb policy export|plan` and the imperative commands show it.
    public func withCurrentNames(_ policy: Policy) throws(GovernanceError) -> Policy {
        let names = try currentNames(of: policy)
        return policy.renamingColumns(names.columns).renamingTables(names.tables)
    }

    /// Applies a new policy text if `user` may administer governance; audited either way.
    ///
    /// The text's column names are bound to the catalog's column ids and the bindings stored with
    /// the version, so a grant keeps its columns through renames. A column the table does not have
    /// is refused (with the file and line of the grant).
    @discardableResult
    public func apply(_ source: String, file: String?, by user: String, comment: String = "") throws(GovernanceError) -> Applied {
        try requireAdmin(user, action: "policy:apply")
        return try store(source, file: file, by: user, comment: comment, action: "policy:apply", grants: [])
    }

    /// Binds and stores a policy text as a new version, and audits it (the caller has authorized `user`).
    func store(
        _ source: String, file: String?, by user: String, comment: String, action: String, grants: [String],
        missingTables: MissingTable = .refuse
    ) throws(GovernanceError) -> Applied {
        let parsed = try PolicyFile.parse(source, file: file)
        var binding = try bind(parsed, missingTables: missingTables)
        binding.warnings += Self.abandonedWarnings(parsed.binding(binding.bindings, tables: binding.tables), defaultCatalog: defaultCatalog)
        let result = try store.apply(source, file: file, by: user, comment: comment, bindings: binding.bindings, tables: binding.tables)
        audit.append(
            AuditRecord(
                principal: "user:\(user)", action: action, resource: "policy", allowed: true, grants: grants,
                policyVersion: result.version.version,
                detail: result.created ? "applied version \(result.version.version)\(comment.isEmpty ? "" : ": \(comment)")" : "unchanged"))
        try audit.flush()
        return Applied(version: result.version, created: result.created, warnings: binding.warnings)
    }

    /// Adds `grant` to the active policy as a new version, made by `user`; audited either way.
    ///
    /// A holder of `governance:admin` may add any grant. Anyone else may add only what they hold
    /// with grant option, as narrowly as they hold it (`PolicyEngine.canGrant`); the grant
    /// records them as its grantor (`granted_by`), so they may revoke it again. A deny that takes away
    /// what a user held with grant option is refused while grants they passed on stand on it, unless
    /// `mode` is `.cascade` (as `change` and `revoke`).
    @discardableResult
    public func grant(_ grant: Grant, by user: String, mode: RevokeMode = .restrict) throws(GovernanceError) -> Applied {
        guard let active = try store.active() else { throw GovernanceError(.store, "the domain has no active policy") }
        var policy = try withCurrentNames(active.policy)
        if policy.grants.contains(where: { $0.id == grant.id }) {
            throw GovernanceError(.invalidPolicy, "there is already a grant '\(grant.id)'; give another id, or revoke '\(grant.id)' first")
        }
        let engine = PolicyEngine(policy: policy, defaultCatalog: defaultCatalog)
        let admin = engine.decide(user: user, action: Self.adminPermission)
        var decision = admin
        if !admin.allowed {
            // Held grants on one table cover only the table they are bound to: compare the new grant by its table's id.
            var candidate = grant
            candidate.boundTable = try bind(Policy(grants: [grant]), prior: [], priorTables: []).tables.first?.tableID
            decision = engine.canGrant(user: user, grant: candidate)
        }
        let resource = "grant \(grant.id)"
        let refuse = refusal(by: user, action: "policy:grant", resource: resource, version: active.version.version)
        guard decision.allowed else { try refuse(decision, "\(user) may not grant '\(grant.id)': \(decision.reason)") }
        let before = grant.effect == .deny ? Set(PolicyEngine.dependentGrants(of: policy, defaultCatalog: defaultCatalog).map(\.id)) : []
        var added = grant
        added.grantedBy = Principal(.user, user)
        policy.grants.append(added)
        try policy.validate()
        var comment = "grant \(grant.id)"
        if grant.effect == .deny {
            let cascaded = try settleDependents(
                &policy, abandonedBefore: before, mode: mode, refusing: "cannot grant '\(grant.id)'", retry: "grant with --cascade",
                refuse: refuse)
            if !cascaded.isEmpty {
                comment += ", cascading to \(cascaded.joined(separator: ", "))"
                decision.decidingGrants += cascaded
            }
        }
        let text = PolicyFile.render(policy, header: "Written by `wb grant` from policy version \(active.version.version); \(comment) by \(user)")
        return try store(text, file: "wb grant", by: user, comment: comment, action: "policy:grant", grants: decision.decidingGrants)
    }

    /// How `revoke` treats grants that were passed on with a grant option the revocation takes away.
    public enum RevokeMode: Sendable {
        /// Refuse, naming the dependent grants (SQL's REVOKE ... RESTRICT, the default).
        case restrict
        /// Revoke the dependent grants too, and theirs in turn (SQL's REVOKE ... CASCADE).
        case cascade
    }

    /// Removes grants (or, with `grantOptionOnly`, only their grant option) from the active policy as a new
    /// version; audited either way.
    ///
    /// An admin may revoke any grant; anyone else only grants they made (`granted_by`). A grant passed on
    /// by a user (`granted_by`) stands on that user's grant option, or on their `governance:admin`; one
    /// that would no longer (`dependentGrants`) makes the revocation fail naming it, unless `mode` is
    /// `.cascade`, which revokes it too, and what was passed on from it in turn.
    @discardableResult
    public func revoke(_ ids: [String], by user: String, mode: RevokeMode = .restrict, grantOptionOnly: Bool = false)
        throws(GovernanceError) -> Applied
    {
        guard let active = try store.active() else { throw GovernanceError(.store, "the domain has no active policy") }
        var policy = try withCurrentNames(active.policy)
        for id in ids where !policy.grants.contains(where: { $0.id == id }) {
            throw GovernanceError(.unknownReference, "there is no grant '\(id)' in the active policy")
        }
        let engine = PolicyEngine(policy: policy, defaultCatalog: defaultCatalog)
        var decision = engine.decide(user: user, action: Self.adminPermission)
        if !decision.allowed {
            let others = policy.grants.filter { ids.contains($0.id) && $0.grantedBy != Principal(.user, user) }
            if others.isEmpty {
                decision = Decision(allowed: true, decidingGrants: ids, reason: "\(user) granted \(ids.joined(separator: ", "))")
            } else {
                decision.reason = "\(user) may revoke only grants they made, and \(others.map { "'\($0.id)' was granted by \($0.grantedBy?.description ?? "an admin")" }.joined(separator: ", ")) (\(decision.reason))"
            }
        }
        let what = (grantOptionOnly ? "the grant option of " : "") + ids.joined(separator: ", ")
        let resource = "grant \(ids.joined(separator: ","))"
        let refuse = refusal(by: user, action: "policy:revoke", resource: resource, version: active.version.version)
        guard decision.allowed else { try refuse(decision, "\(user) may not revoke \(what): \(decision.reason)") }
        if grantOptionOnly {
            for index in policy.grants.indices where ids.contains(policy.grants[index].id) { policy.grants[index].grantOption = false }
        } else {
            policy.grants.removeAll { ids.contains($0.id) }
        }
        var comment = "revoke \(what)"
        let cascaded = try settleDependents(
            &policy, abandonedBefore: [], mode: mode, refusing: "cannot revoke \(what)", retry: "revoke with --cascade", refuse: refuse)
        if !cascaded.isEmpty {
            comment += ", cascading to \(cascaded.joined(separator: ", "))"
            decision.decidingGrants += cascaded
        }
        let text = PolicyFile.render(
            policy, header: "Written by `wb revoke` from policy version \(active.version.version); \(comment) by \(user)")
        return try store(text, file: "wb revoke", by: user, comment: comment, action: "policy:revoke", grants: decision.decidingGrants)
    }

    /// Makes a policy change with `change` (an imperative command's: roles, groups, filters, masks, tags) as `user`,
    /// who needs `governance:admin`, and applies the result as a new version; audited as `policy:apply`.
    ///
    /// A change can take away what a user held with grant option, and so leave grants they passed on standing
    /// on nothing: taking the user out of a role or group, narrowing a grant's rows or columns, masking a
    /// column (a deny does it through `grant`). As with `revoke`, such a change is refused naming those grants (RESTRICT), unless
    /// `mode` is `.cascade`, which revokes them too, and what was passed on from them in turn. Grants that
    /// stood on nothing before the change (a policy file may keep them) neither block it nor go with it.
    @discardableResult
    public func change(
        by user: String, command: String, comment: String, mode: RevokeMode = .restrict,
        _ edit: (inout Policy) throws -> Void
    ) throws(GovernanceError) -> Applied {
        try requireAdmin(user, action: "policy:apply")
        guard let active = try store.active() else { throw GovernanceError(.store, "the domain has no active policy") }
        // Bound columns under their current names, so the new text reads as the catalog does today.
        var policy = try withCurrentNames(active.policy)
        let before = Set(PolicyEngine.dependentGrants(of: policy, defaultCatalog: defaultCatalog).map(\.id))
        do {
            try edit(&policy)
        } catch let error as GovernanceError {
            throw error
        } catch {
            throw GovernanceError(.invalidPolicy, "cannot \(command) (\(comment)): \(error)")
        }
        try policy.validate()
        let refuse = refusal(by: user, action: "policy:apply", resource: "policy", version: active.version.version) { "\(comment): \($0.reason)" }
        var note = comment
        let cascaded = try settleDependents(
            &policy, abandonedBefore: before, mode: mode, refusing: "cannot \(command) (\(comment))",
            retry: "repeat with --cascade", refuse: refuse)
        if !cascaded.isEmpty { note += ", cascading to \(cascaded.joined(separator: ", "))" }
        let text = PolicyFile.render(policy, header: "Written by `wb \(command)` from policy version \(active.version.version); \(note)")
        return try store(text, file: "wb \(command)", by: user, comment: note, action: "policy:apply", grants: cascaded)
    }

    /// How a policy change by `user` is refused: the refusal is audited (the decision's grants, and `detail`
    /// of the decision, its reason by default), then `message` is thrown as a denial.
    private func refusal(
        by user: String, action: String, resource: String, version: Int, detail: @escaping @Sendable (Decision) -> String = { $0.reason }
    ) -> (Decision, String) throws(GovernanceError) -> Never {
        { [audit] decision, message throws(GovernanceError) -> Never in
            audit.append(
                AuditRecord(
                    principal: "user:\(user)", action: action, resource: resource, allowed: false, grants: decision.decidingGrants,
                    policyVersion: version, detail: detail(decision)))
            try audit.flush()
            throw GovernanceError(.denied, message)
        }
    }

    /// The grants passed on by users that `policy` newly leaves standing on nothing (`PolicyEngine.dependentGrants`,
    /// less `abandonedBefore`): with `.restrict` the change is refused through `refuse`, naming each and its grantor;
    /// with `.cascade` they are removed from `policy` and their ids returned.
    private func settleDependents(
        _ policy: inout Policy, abandonedBefore: Set<String>, mode: RevokeMode, refusing: String, retry: String,
        refuse: (Decision, String) throws(GovernanceError) -> Never
    ) throws(GovernanceError) -> [String] {
        let dependents = PolicyEngine.dependentGrants(of: policy, defaultCatalog: defaultCatalog).filter { !abandonedBefore.contains($0.id) }
        guard !dependents.isEmpty else { return [] }
        let list = dependents.map { "'\($0.id)' (granted by \($0.grantedBy?.description ?? "?"))" }.joined(separator: ", ")
        guard mode == .cascade else {
            try refuse(
                Decision(allowed: false, decidingGrants: dependents.map(\.id), reason: "dependent grants exist: \(list)"),
                "\(refusing): grants passed on with the grant option it takes away depend on it: \(list). "
                    + "Revoke those first, or \(retry) to revoke them too")
        }
        let gone = Set(dependents.map(\.id))
        policy.grants.removeAll { gone.contains($0.id) }
        return dependents.map(\.id)
    }

    /// Rolls back to an earlier version if `user` may administer governance; audited.
    ///
    /// The old text comes back with the old version's table and column bindings (names it used are
    /// bound to the tables and columns they meant then, whatever those are called now; a table dropped
    /// since stays dropped for its grants).
    @discardableResult
    public func rollback(to version: Int, by user: String) throws(GovernanceError) -> PolicyVersion {
        try requireAdmin(user, action: "policy:rollback")
        let text = try store.source(of: version)
        let prior = try store.bindings(of: version)
        let priorTables = try store.tableBindings(of: version)
        let parsed = try PolicyFile.parse(text, file: "policy version \(version)")
        let binding = try bind(parsed, prior: prior, priorTables: priorTables)
        let result = try store.apply(
            text, file: "policy version \(version)", by: user, comment: "rollback to version \(version)", bindings: binding.bindings,
            tables: binding.tables)
        audit.append(
            AuditRecord(
                principal: "user:\(user)", action: "policy:rollback", resource: "policy", allowed: true, grants: [],
                policyVersion: result.version.version, detail: "rollback to version \(version)"))
        try audit.flush()
        return result.version
    }

    private func requireAdmin(_ user: String, action: String) throws(GovernanceError) {
        let decision = try authorize(user: user, action: Self.adminPermission, resource: "policy", detail: action)
        guard decision.allowed else {
            try audit.flush()
            throw GovernanceError(.denied, "\(user) may not change the policy: \(decision.reason)")
        }
    }
}
