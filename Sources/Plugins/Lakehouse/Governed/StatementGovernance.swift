import Catalog
import CoreSupport
import Governance

/// The governance of one statement: who runs it, the policy in force, and what was decided for each table.
///
/// The binder asks it about every `db.table` the statement names. A read the
/// caller may make in full binds as before; a restricted read binds to a
/// secure SELECT compiled from the caller's access plan; a refused read or
/// write stops the statement. Every decision is audited.
public final class StatementGovernance {
    let service: GovernanceService
    let user: String
    let policyVersion: Int
    let engine: PolicyEngine
    let sql: String
    /// Whether some table of the statement is read through a filter or mask (the authorizer then narrows functions).
    private(set) var isRestricted = false
    private var decidedKeys: Set<String> = []

    /// Turns the plan of a restricted read into its secure SELECT.
    let compiler: SecureView.Compiler

    init(service: GovernanceService, principal: Principal, sql: String, compiler: SecureView.Compiler = .standard) throws {
        guard principal.kind == .user else {
            throw LakehouseError(.denied, "queries run as a user, not as \(principal)", sql: sql)
        }
        self.service = service
        self.user = principal.name
        do {
            (policyVersion, engine) = try service.engine()
        } catch {
            throw LakehouseError(.storage, "cannot read the access policy: \(error)", sql: sql)
        }
        self.sql = sql
        self.compiler = compiler
    }

    /// Governance's view of a catalog table (ids, names and tags; catalog tags are not kept apart from the database's).
    public static func descriptor(_ table: TableInfo, database: DatabaseInfo, columns: [(id: Int64, name: String, tags: [String: String])]? = nil)
        -> TableDescriptor
    {
        let cols = columns ?? table.columns.map { ($0.id, $0.name, $0.tags) }
        return TableDescriptor(
            id: String(table.id),
            database: DatabaseDescriptor(catalog: database.catalogName, name: database.name, tags: database.tags),
            name: table.name, tags: table.tags,
            columns: cols.map { ColumnDescriptor(id: String($0.id), name: $0.name, tags: $0.tags) })
    }

    /// A decision this statement audited, to audit again when a kept mapping of the same statement runs.
    struct Decided: Sendable {
        /// The record as first audited; a later run audits a copy made anew (`AuditRecord.madeAgain()`).
        var record: AuditRecord
    }

    /// The decisions audited so far, in order.
    private(set) var decided: [Decided] = []

    /// Audits decisions a previous run of the same statement made under the same policy version and catalog
    /// (the same user, text and version, so the same records but for their time).
    func audit(again decisions: [Decided]) {
        for entry in decisions { service.audit.append(entry.record.madeAgain()) }
    }

    private func audit(_ permission: DataPermission, _ table: TableDescriptor, _ decision: Decision, detail: String) {
        // One record per table and permission per statement.
        let key = "\(permission.rawValue) \(table.id)"
        guard decidedKeys.insert(key).inserted else { return }
        let record = AuditRecord(
            principal: "user:\(user)", action: permission.rawValue, resource: table.qualifiedName, allowed: decision.allowed,
            grants: decision.decidingGrants, policyVersion: policyVersion, query: sql, detail: detail)
        decided.append(Decided(record: record))
        service.audit.append(record)
    }

    private func refuse(_ permission: DataPermission, _ table: TableDescriptor, _ decision: Decision, offset: Int?) -> LakehouseError {
        let verb = permission == .select ? "read" : permission.rawValue
        let message = "\(user) may not \(verb) \(table.qualifiedName): \(decision.reason)"
        guard let offset else { return LakehouseError(.denied, message, sql: sql) }
        let (line, column) = LakehouseError.position(of: offset, in: sql)
        return LakehouseError(.denied, message, sql: sql, line: line, column: column)
    }

    /// The secure SELECT for reading `table` from `relation`, nil when the caller may read all of it; throws when refused.
    ///
    /// - Parameter columnName: the relation's name for a column id (an as-of relation names columns as they were then).
    func read(_ table: TableDescriptor, from relation: String, columnName: @escaping (ColumnDescriptor) -> String, offset: Int?) throws
        -> String?
    {
        let plan = cachedPlan(table, .select)
        let restricted = plan.decision.allowed && !plan.isUnrestricted
        audit(.select, table, plan.decision, detail: restricted ? "filtered: \(plan.decision.reason)" : plan.decision.reason)
        guard plan.decision.allowed, let select = compiler.select(plan, from: relation, columnName: columnName) else {
            throw refuse(.select, table, plan.decision, offset: offset)
        }
        guard restricted else { return nil }
        isRestricted = true
        return select
    }

    /// Checks a write (INSERT, UPDATE, DELETE) of `table`: nil when the caller may write all of it,
    /// else the plan a `FilteredWrite` enforces (rows under a filter, some columns, masks).
    func write(_ table: TableDescriptor, permission: DataPermission, offset: Int?) throws -> AccessPlan? {
        let plan = cachedPlan(table, permission)
        audit(permission, table, plan.decision, detail: plan.isUnrestricted ? plan.decision.reason : "filtered: \(plan.decision.reason)")
        guard plan.decision.allowed else { throw refuse(permission, table, plan.decision, offset: offset) }
        return plan.isUnrestricted ? nil : plan
    }

    /// Refuses what a write under a filter may not contain: conflict handling that replaces or changes
    /// the conflicting row (REPLACE, upserts) would reach rows the caller cannot see.
    func checkFilteredWrite(_ tokens: [SQLToken], table: String) throws {
        let words = tokens.filter { $0.kind != .space && $0.kind != .comment }
        for (index, token) in words.enumerated() where token.kind == .word {
            let word = token.text.uppercased()
            let upsert = word == "CONFLICT" && index > 0 && words[index - 1].isKeyword("ON")
            if word == "REPLACE" || upsert {
                throw LakehouseError(
                    .denied,
                    "\(user) writes \(table) under a row filter or column list, where REPLACE and ON CONFLICT are not allowed "
                        + "(they would replace rows \(user) cannot see); write INSERT, UPDATE or DELETE", sql: sql)
            }
        }
    }

    /// The plan of this statement's user, from the service's cache (kept per policy version).
    private func cachedPlan(_ table: TableDescriptor, _ permission: DataPermission) -> AccessPlan {
        service.accessPlan(user: user, table: table, permission: permission, version: policyVersion, engine: engine)
    }

    /// Checks a permission on a table itself (DROP, ALTER).
    func table(_ table: TableDescriptor, permission: DataPermission) throws {
        let decision = engine.accessPlan(user: user, table: table, permission: permission).decision
        audit(permission, table, decision, detail: decision.reason)
        guard decision.allowed else { throw refuse(permission, table, decision, offset: nil) }
    }

    /// Checks a permission on a catalog (CREATE_DATABASE).
    func catalog(_ name: String, permission: DataPermission) throws {
        let decision = engine.decide(user: user, permission: permission, catalog: name)
        service.audit.append(
            AuditRecord(
                principal: "user:\(user)", action: permission.rawValue, resource: name, allowed: decision.allowed,
                grants: decision.decidingGrants, policyVersion: policyVersion, query: sql, detail: decision.reason))
        guard decision.allowed else {
            throw LakehouseError(.denied, "\(user) may not \(permission.rawValue) in catalog \(name): \(decision.reason)", sql: sql)
        }
    }

    /// Checks a permission on a database (CREATE_TABLE, DROP, ALTER of what it holds).
    func database(_ database: DatabaseInfo, permission: DataPermission) throws {
        let descriptor = DatabaseDescriptor(catalog: database.catalogName, name: database.name, tags: database.tags)
        let decision = engine.decide(user: user, permission: permission, database: descriptor)
        service.audit.append(
            AuditRecord(
                principal: "user:\(user)", action: permission.rawValue, resource: "\(database.catalogName).\(database.name)",
                allowed: decision.allowed, grants: decision.decidingGrants, policyVersion: policyVersion, query: sql, detail: decision.reason))
        guard decision.allowed else {
            throw LakehouseError(.denied, "\(user) may not \(permission.rawValue) in \(database.catalogName).\(database.name): \(decision.reason)", sql: sql)
        }
    }

    /// Refuses what a statement reading a filtered or masked table may not contain: EXPLAIN (its plan
    /// would show the filter), LIKE ... ESCAPE and like()/glob() calls (a bad escape character raises an
    /// error on whatever row it meets, hidden rows included).
    func checkRestrictedStatement(_ tokens: [SQLToken]) throws {
        let words = tokens.filter { $0.kind != .space && $0.kind != .comment }
        for (index, token) in words.enumerated() {
            let name = token.identifier?.lowercased()
            if token.kind == .word, name == "explain" {
                throw LakehouseError(.denied, "EXPLAIN is not allowed on tables \(user) reads through a row filter or mask", sql: sql)
            }
            if token.kind == .word, name == "escape" {
                throw LakehouseError(
                    .denied, "LIKE ... ESCAPE is not allowed on tables \(user) reads through a row filter or mask", sql: sql)
            }
            if let name, name == "like" || name == "glob", index + 1 < words.count, words[index + 1].kind == .leftParen {
                throw LakehouseError(
                    .denied,
                    "\(name)() as a function is not allowed on tables \(user) reads through a row filter or mask; write x \(name.uppercased()) 'pattern'",
                    sql: sql)
            }
        }
    }

    /// Functions a statement reading a filtered or masked table may call: none of them can raise an
    /// error whatever its arguments, so a predicate cannot turn a hidden value into an error (SQLite
    /// may evaluate the user's conditions before the filter's).
    static let safeFunctions: Set<String> = [
        "coalesce", "ifnull", "nullif", "iif", "if", "length", "octet_length", "lower", "upper", "substr", "substring",
        "trim", "ltrim", "rtrim", "replace", "instr", "hex", "quote", "typeof", "round", "min", "max", "count", "sum",
        "total", "avg", "group_concat", "string_agg", "random", "unicode", "char", "date", "time", "datetime",
        "julianday", "unixepoch", "strftime", "timediff", "like", "glob", "row_number", "rank", "dense_rank",
        "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value", "last_value", "nth_value",
        "changes", "total_changes", "last_insert_rowid", "sqlite_version", "concat", "concat_ws", "sign",
        SecureView.hashFunction, SecureView.showLastFunction, "lh_snapshot", FilteredWrite.countFunction,
    ]
}
