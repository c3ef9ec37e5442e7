import Catalog
import CoreSupport
import Governance

/// What of the catalog a user may see and change, when the lakehouse is governed.
///
/// Listings, descriptions and search show only the tables a user holds some permission on
/// (and only the columns one of those permissions covers), so a table's existence or its
/// column names are not disclosed by `wb catalog`. Tagging needs ASSIGN_TAG, comments and
/// maintenance need ALTER. Every refusal is audited; allowed catalog reads are not (they
/// would flood the log), the data reads behind them are.
struct CatalogVisibility {
    let service: GovernanceService
    let user: String

    init?(_ service: GovernanceService?, principal: Principal) {
        guard let service else { return nil }
        self.service = service
        self.user = principal.kind == .user ? principal.name : ""
    }

    private func descriptor(_ table: TableInfo, _ access: CatalogAccess) throws -> TableDescriptor? {
        guard let database = try access.database(named: table.databaseName) else { return nil }
        return StatementGovernance.descriptor(table, database: database)
    }

    /// The ids of the columns of `table` some allowed permission of the user covers; nil when the table is not visible.
    func visibleColumns(_ table: TableInfo, _ access: CatalogAccess) throws -> Set<Int64>? {
        guard let descriptor = try descriptor(table, access) else { return nil }
        var ids: Set<Int64> = []
        var any = false
        for permission in DataPermission.allCases where permission != .createDatabase {
            let plan = try service.accessPlan(user: user, table: descriptor, permission: permission).plan
            guard plan.decision.allowed else { continue }
            any = true
            for column in plan.visibleColumns { if let id = Int64(column.id) { ids.insert(id) } }
        }
        return any ? ids : nil
    }

    func canSee(_ table: TableInfo, _ access: CatalogAccess) throws -> Bool { try visibleColumns(table, access) != nil }

    /// A database is visible when the user holds a permission on it, or sees one of its tables.
    func canSee(_ database: DatabaseInfo, _ access: CatalogAccess) throws -> Bool {
        let (_, engine) = try service.engine()
        let descriptor = DatabaseDescriptor(catalog: database.catalogName, name: database.name, tags: database.tags)
        if DataPermission.allCases.contains(where: { engine.decide(user: user, permission: $0, database: descriptor).allowed }) {
            return true
        }
        return try access.tables(inDatabase: database.id).contains { try canSee($0, access) }
    }

    /// The table as the user may see it (hidden columns removed), or a not-found error as for a table that does not exist.
    func visible(_ table: TableInfo, _ access: CatalogAccess) throws -> TableInfo {
        guard let columns = try visibleColumns(table, access) else {
            throw LakehouseError(.notFound, "there is no table \(table.qualifiedName)")
        }
        var copy = table
        copy.columns = table.columns.filter { columns.contains($0.id) }
        return copy
    }

    private func audit(_ action: String, _ resource: String, _ decision: Decision) {
        service.audit.append(
            AuditRecord(
                principal: "user:\(user)", action: action, resource: resource, allowed: decision.allowed, grants: decision.decidingGrants,
                policyVersion: (try? service.engine().version) ?? 0, detail: decision.reason))
    }

    /// Checks tags to assign against the policy's tag ontology: a key the ontology defines takes only
    /// its allowed values (so `classification=PII` cannot slip past a grant or deny on `pii`); other
    /// keys are free (no grant can name them).
    func checkOntology(_ tags: [String: String]) throws {
        let ontology = try service.engine().engine.policy.tags
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            guard let allowed = ontology[key], !allowed.contains(value) else { continue }
            throw LakehouseError(
                .invalidInput,
                "'\(value)' is not a value of tag '\(key)' (the policy allows: \(allowed.joined(separator: ", ")); `wb tag define \(key) \(value)` adds it)")
        }
    }

    /// Checks `permission` on a table (ASSIGN_TAG, ALTER), audited; throws `.denied`.
    func require(_ permission: DataPermission, on table: TableInfo, _ access: CatalogAccess) throws {
        guard let descriptor = try descriptor(table, access) else { return }
        let decision = try service.accessPlan(user: user, table: descriptor, permission: permission).plan.decision
        audit(permission.rawValue, descriptor.qualifiedName, decision)
        guard decision.allowed else {
            throw LakehouseError(.denied, "\(user) may not \(permission.rawValue) \(descriptor.qualifiedName): \(decision.reason)")
        }
    }

    /// Checks `permission` on a database, audited; throws `.denied`.
    func require(_ permission: DataPermission, on database: DatabaseInfo) throws {
        let (_, engine) = try service.engine()
        let descriptor = DatabaseDescriptor(catalog: database.catalogName, name: database.name, tags: database.tags)
        let decision = engine.decide(user: user, permission: permission, database: descriptor)
        audit(permission.rawValue, "\(database.catalogName).\(database.name)", decision)
        guard decision.allowed else {
            throw LakehouseError(.denied, "\(user) may not \(permission.rawValue) \(database.catalogName).\(database.name): \(decision.reason)")
        }
    }
}
