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

    /// Decides a plugin permission for `user` and audits the decision.
    public func authorize(user: String, action: String, resource: String? = nil, detail: String = "") throws(GovernanceError) -> Decision {
        let (version, engine) = try engine()
        let decision = engine.decide(user: user, action: action)
        audit.append(
            AuditRecord(
                principal: "user:\(user)", action: action, resource: resource ?? action, allowed: decision.allowed,
                grants: decision.decidingGrants, policyVersion: version, detail: detail.isEmpty ? decision.reason : detail))
        return decision
    }

    /// Applies a new policy text if `user` may administer governance; audited either way.
    @discardableResult
    public func apply(_ source: String, file: String?, by user: String, comment: String = "") throws(GovernanceError)
        -> (version: PolicyVersion, created: Bool)
    {
        try requireAdmin(user, action: "policy:apply")
        let result = try store.apply(source, file: file, by: user, comment: comment)
        audit.append(
            AuditRecord(
                principal: "user:\(user)", action: "policy:apply", resource: "policy", allowed: true, grants: [],
                policyVersion: result.version.version, detail: result.created ? "applied version \(result.version.version)" : "unchanged"))
        try audit.flush()
        return result
    }

    /// Rolls back to an earlier version if `user` may administer governance; audited.
    @discardableResult
    public func rollback(to version: Int, by user: String) throws(GovernanceError) -> PolicyVersion {
        try requireAdmin(user, action: "policy:rollback")
        let result = try store.rollback(to: version, by: user)
        audit.append(
            AuditRecord(
                principal: "user:\(user)", action: "policy:rollback", resource: "policy", allowed: true, grants: [],
                policyVersion: result.version, detail: "rollback to version \(version)"))
        try audit.flush()
        return result
    }

    private func requireAdmin(_ user: String, action: String) throws(GovernanceError) {
        let decision = try authorize(user: user, action: Self.adminPermission, resource: "policy", detail: action)
        guard decision.allowed else {
            try audit.flush()
            throw GovernanceError(.denied, "\(user) may not change the policy: \(decision.reason)")
        }
    }
}
