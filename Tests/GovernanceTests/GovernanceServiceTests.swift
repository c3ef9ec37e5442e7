import Catalog
import CoreSupport
import Governance
import Storage
import Testing
import TestSupport

@Suite struct GovernanceServiceTests {
    @Test func theCreatorGetsAnOrdinaryAuditedAdminGrant() throws {
        let domain = try Domain.open(at: try Scratch.directory("gov-service"))
        let service = try GovernanceService(domain: domain)
        let creator = domain.info.createdBy
        let active = try #require(try service.store.active())
        #expect(active.version.version == 1)
        #expect(active.policy.grants.map(\.id) == ["domain-admin"])
        #expect(active.policy.grants[0].principals == [Principal(.user, creator)])
        let records = try service.audit.search()
        #expect(records.map(\.record.action) == ["policy:apply"])
        // Opening again does not write a second initial policy.
        _ = try GovernanceService(domain: domain)
        #expect(try service.store.versions().count == 1)
    }

    @Test func onlyAdminsChangeThePolicyAndEveryDecisionIsAudited() throws {
        let domain = try Domain.open(at: try Scratch.directory("gov-admin"))
        let service = try GovernanceService(domain: domain)
        let creator = domain.info.createdBy
        let next = """
            version: 1
            grants:
              - id: admins
                to: user:\(creator)
                permissions: ["governance:admin"]
              - id: import
                to: user:ivan
                permissions: ["lakehouse:import"]
            """
        #expect {
            try service.apply(next, file: "p.yaml", by: "mallory")
        } throws: { ($0 as? GovernanceError)?.code == .denied }
        #expect(try service.store.versions().count == 1)
        try service.apply(next, file: "p.yaml", by: creator, comment: "second")
        #expect(try service.authorize(user: "ivan", action: "lakehouse:import").allowed)
        #expect(try service.authorize(user: "ivan", action: "lakehouse:export").allowed == false)
        try service.audit.flush()
        let denies = try service.audit.search(decision: false)
        #expect(denies.map(\.record.principal) == ["user:mallory", "user:ivan"])
        #expect(denies[1].record.action == "lakehouse:export")
        #expect(try service.audit.verify().isIntact)
        // The creator lost nothing hidden: only what version 2 grants.
        try service.rollback(to: 1, by: creator)
        #expect(try service.store.active()?.version.version == 3)
    }

    @Test func planListsTheChanges() throws {
        let old = try PolicyFile.parse(
            """
            version: 1
            groups: {a: [x]}
            grants:
              - {id: g1, to: "user:x", permissions: [SELECT], on: {table: d.t}}
              - {id: g2, to: "user:x", permissions: [SELECT], on: {table: d.u}}
            """)
        let new = try PolicyFile.parse(
            """
            version: 1
            groups: {a: [x, y]}
            grants:
              - {id: g1, to: "user:x", permissions: [SELECT], on: {table: d.t}, rows: "k = 1"}
              - {id: g3, to: "group:a", permissions: ["lakehouse:import"]}
            """)
        let changes = old.changes(to: new)
        #expect(changes.map { "\($0.kind.rawValue) \($0.subject)" } == ["~ group a", "~ grant g1", "+ grant g3", "- grant g2"])
        #expect(changes[1].details == ["was: rows: all", "now: rows: k = 1"])
        #expect(new.changes(to: new).isEmpty)
    }

    /// A holder of a permission with grant option may pass it on, as narrowly as held, and revoke what they
    /// passed on; without it (or wider than held) the change is refused and audited. Each change is a version.
    @Test func theGrantOptionLetsAHolderPassOnWhatItHolds() throws {
        let domain = try Domain.open(at: try Scratch.directory("gov-grant-option"))
        let service = try GovernanceService(domain: domain)
        let creator = domain.info.createdBy
        let ids = try makeTables(domain, ["sales.orders": ["id"], "hr.people": ["id", "name", "email", "salary", "region"]])
        try service.apply(
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(creator)", permissions: ["governance:admin"]}
              - {id: alice-sales, to: user:alice, permissions: [SELECT, INSERT], on: {database: sales}, grant_option: true}
              - id: alice-people
                to: user:alice
                permissions: [SELECT]
                on: {table: hr.people}
                columns: [id, name, email]
                rows: "region = 'EU'"
                masks: {email: hash}
                grant_option: true
              - {id: alice-import, to: user:alice, permissions: ["lakehouse:import"], grant_option: true}
              - {id: alice-export, to: user:alice, permissions: ["lakehouse:export"]}
              - {id: carol-sales, to: user:carol, permissions: [SELECT], on: {database: sales}}
            """, file: "p.yaml", by: creator)
        let start = try service.store.versions().count
        func grant(_ id: String, _ permissions: [GrantedPermission], on resource: ResourcePattern = .none, columns: ColumnSelection? = nil,
                   rows: String? = nil, masks: [ColumnMask] = [], effect: Effect = .allow) throws -> Grant {
            Grant(id: id, effect: effect, principals: [Principal(.user, "bob")], permissions: permissions, resource: resource, columns: columns,
                  rows: try rows.map { try RowPredicate.parse($0) }, masks: masks)
        }
        let orders = ResourcePattern.table(catalog: nil, database: "sales", name: "orders")
        let people = ResourcePattern.table(catalog: nil, database: "hr", name: "people")

        // Below the held resource, a held permission: allowed, a new version recording its grantor.
        let passed = try service.grant(try grant("bob-orders", [.data(.select)], on: orders), by: "alice")
        #expect(passed.created && passed.version.version == start + 1)
        let active = try #require(try service.store.active())
        #expect(active.policy.grants.last?.grantedBy == Principal(.user, "alice"))
        let table = TableDescriptor(
            id: ids["sales.orders"]!, database: DatabaseDescriptor(catalog: "lakehouse", name: "sales"), name: "orders",
            columns: [ColumnDescriptor(id: "70", name: "id")])
        #expect(try service.engine().engine.accessPlan(user: "bob", table: table).decision.allowed)
        #expect(try service.grant(try grant("bob-import", [.action("lakehouse:import")]), by: "alice").created)

        // Not held, held without grant option, wider than held, a deny: refused, nothing applied.
        #expect(refusal { try service.grant(try grant("x1", [.data(.delete)], on: orders), by: "alice") }.contains("alice does not hold DELETE"))
        #expect(refusal { try service.grant(try grant("x2", [.data(.select)], on: .catalog("lakehouse")), by: "alice") }.contains("does not hold SELECT on catalog lakehouse"))
        #expect(refusal { try service.grant(try grant("x3", [.action("lakehouse:export")]), by: "alice") }.contains("holds lakehouse:export without grant option"))
        #expect(refusal { try service.grant(try grant("x4", [.data(.select)], on: orders), by: "carol") }.contains("without grant option (grants: carol-sales)"))
        #expect(refusal { try service.grant(try grant("x5", [.data(.select)], on: orders, effect: .deny), by: "alice") }.contains("only governance admins add denies"))
        // A data cell filter is passed on only as narrowly: no other columns, the same filter, the same masks.
        let hashed = [ColumnMask(ColumnRef("email"), .hash)]
        #expect(refusal { try service.grant(try grant("x6", [.data(.select)], on: people, columns: .include([ColumnRef("id"), ColumnRef("salary")]), rows: "region = 'EU'", masks: hashed), by: "alice") }.contains("gives only the columns id, name, email"))
        #expect(refusal { try service.grant(try grant("x7", [.data(.select)], on: people, columns: .include([ColumnRef("id")]), masks: hashed), by: "alice") }.contains("gives only rows where region = 'EU'"))
        #expect(refusal { try service.grant(try grant("x8", [.data(.select)], on: people, columns: .include([ColumnRef("id"), ColumnRef("email")]), rows: "region = 'EU'"), by: "alice") }.contains("masks email as hash"))
        #expect(try service.store.versions().count == start + 2)
        let narrower = try service.grant(
            try grant("bob-people", [.data(.select)], on: people, columns: .include([ColumnRef("id"), ColumnRef("EMAIL")]), rows: "region = 'EU' AND id > 1", masks: hashed),
            by: "alice")
        #expect(narrower.created)

        // A grantor revokes what they granted, and nothing else; an admin revokes anything.
        #expect(refusal { try service.revoke(["bob-orders"], by: "carol") }.contains("'bob-orders' was granted by user:alice"))
        #expect(refusal { try service.revoke(["carol-sales"], by: "alice") }.contains("'carol-sales' was granted by an admin"))
        #expect(try service.revoke(["bob-orders", "bob-people"], by: "alice").created)
        #expect(try service.revoke(["bob-import"], by: creator).created)
        #expect(try service.store.versions().count == start + 5)

        // Every change and every refusal is in the audit log.
        try service.audit.flush()
        let grants = try service.audit.search(action: "policy:grant")
        #expect(grants.filter(\.record.allowed).count == 3)
        #expect(grants.filter { !$0.record.allowed }.count == 8)
        #expect(grants.first?.record.grants == ["alice-sales"])
        let revokes = try service.audit.search(action: "policy:revoke")
        #expect(revokes.map(\.record.allowed) == [false, false, true, true])
        #expect(try service.audit.verify().isIntact)
    }

    /// Revoking a grant whose grant option others used is refused, naming the grants that depend on it,
    /// unless it cascades (SQL's REVOKE ... RESTRICT and CASCADE): then those grants go too, and what was
    /// passed on from them, while a grant that also stands on something else stays.
    @Test func revokingAGrantOptionThatWasUsedRestrictsOrCascades() throws {
        let domain = try Domain.open(at: try Scratch.directory("gov-revoke-cascade"))
        let service = try GovernanceService(domain: domain)
        let creator = domain.info.createdBy
        _ = try makeTables(domain, ["sales.orders": ["id", "region"], "sales.items": ["id"]])
        try service.apply(
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(creator)", permissions: ["governance:admin"]}
              - {id: alice-sales, to: user:alice, permissions: [SELECT], on: {database: sales}, grant_option: true}
              - {id: dave-items, to: user:dave, permissions: [SELECT], on: {table: sales.items}, grant_option: true}
              - {id: alice-import, to: user:alice, permissions: ["lakehouse:import"], grant_option: true}
            """, file: "p.yaml", by: creator)
        func on(_ table: String) -> ResourcePattern { .table(catalog: nil, database: "sales", name: table) }
        func grant(_ id: String, to user: String, _ resource: ResourcePattern, option: Bool = false) -> Grant {
            Grant(id: id, principals: [Principal(.user, user)], permissions: [.data(.select)], resource: resource, grantOption: option)
        }
        // alice → bob (with option) → carol; bob and dave pass items to each other (a cycle); dave's own grant holds dave-erin up.
        try service.grant(grant("bob-orders", to: "bob", on("orders"), option: true), by: "alice")
        try service.grant(grant("carol-orders", to: "carol", on("orders")), by: "bob")
        try service.grant(grant("bob-items", to: "bob", on("items"), option: true), by: "alice")
        try service.grant(grant("dave-items-2", to: "dave", on("items"), option: true), by: "bob")
        try service.grant(grant("bob-items-2", to: "bob", on("items"), option: true), by: "dave")
        try service.grant(grant("erin-items", to: "erin", on("items")), by: "dave")
        let before = try service.store.versions().count
        #expect(PolicyEngine.dependentGrants(of: try #require(try service.store.active()).policy).isEmpty)

        // Restrict (the default): refused, naming every grant that would stand on nothing; nothing changes.
        let message: String
        do {
            try service.revoke(["alice-sales"], by: creator)
            message = "not refused"
        } catch {
            message = error.code == .denied ? error.message : "wrong code: \(error)"
        }
        #expect(message.hasPrefix("cannot revoke alice-sales: grants passed on with the grant option it takes away depend on it: "), "\(message)")
        for id in ["bob-orders", "carol-orders", "bob-items"] { #expect(message.contains("'\(id)'"), "\(id): \(message)") }
        #expect(message.contains("'carol-orders' (granted by user:bob)") && message.contains("--cascade"), "\(message)")
        #expect(!message.contains("erin-items") && !message.contains("dave-items-2"), "dave's grants stand on dave-items: \(message)")
        // Taking away only the grant option is refused the same way.
        #expect(throws: GovernanceError.self) { try service.revoke(["alice-sales"], by: creator, grantOptionOnly: true) }
        #expect(try service.store.versions().count == before)

        // The grant option alone, where nothing depends on it: the grant stays, its option goes.
        try service.revoke(["alice-import"], by: creator, grantOptionOnly: true)
        let kept = try #require(try service.store.active()).policy.grants.first { $0.id == "alice-import" }
        #expect(kept?.grantOption == false)

        // Cascade: the dependent grants go; the cycle does not hold itself up; grants standing on dave's own grant stay.
        let cascaded = try service.revoke(["alice-sales"], by: creator, mode: .cascade)
        #expect(cascaded.version.comment.hasPrefix("revoke alice-sales, cascading to "), "\(cascaded.version.comment)")
        let left = try #require(try service.store.active()).policy.grants.map(\.id)
        #expect(left == ["admin", "dave-items", "alice-import", "dave-items-2", "bob-items-2", "erin-items"], "\(left)")
        // dave-items-2 (granted by bob) now stands on nothing bob holds: but bob-items-2, granted by dave, gives bob the option again.
        #expect(PolicyEngine.dependentGrants(of: try #require(try service.store.active()).policy).isEmpty)

        // A file may keep a grant whose grantor lost the option: applied as written, with a warning naming it.
        let file = PolicyFile.render(try service.withCurrentNames(try #require(try service.store.active()).policy))
            .replacingAll("id: dave-items\n    to: [\"user:dave\"]", with: "id: dave-items\n    to: [\"user:dave2\"]")
        let abandoned = try service.apply(file, file: "kept.yaml", by: creator)
        #expect(abandoned.warnings.contains { $0.hasPrefix("grant 'erin-items' was passed on by user:dave, who no longer holds") }, "\(abandoned.warnings)\n\(file)")
        try service.rollback(to: abandoned.version.version - 1, by: creator)

        // Revoking dave's own grant cascades to everything passed on from it, the cycle included.
        try service.revoke(["dave-items"], by: creator, mode: .cascade)
        #expect(try #require(try service.store.active()).policy.grants.map(\.id) == ["admin", "alice-import"])
        try service.audit.flush()
        let revokes = try service.audit.search(action: "policy:revoke")
        #expect(revokes.map(\.record.allowed) == [false, false, true, true, true])
        #expect(try service.audit.verify().isIntact)
    }

    /// A change other than a revocation that takes away what a user held with grant option (out of a role, a
    /// narrower row filter, a deny) is refused while grants the user passed on stand on it, naming them, unless it
    /// cascades; grants a policy file already left standing on nothing neither block a change nor go with it.
    @Test func changesThatTakeAwayAUsedGrantOptionRestrictOrCascade() throws {
        let domain = try Domain.open(at: try Scratch.directory("gov-change-cascade"))
        let service = try GovernanceService(domain: domain)
        let creator = domain.info.createdBy
        _ = try makeTables(domain, ["sales.orders": ["id", "region"]])
        try service.apply(
            """
            version: 1
            roles:
              sellers: {members: ["user:alice"]}
            grants:
              - {id: admin, to: "user:\(creator)", permissions: ["governance:admin"]}
              - {id: sellers-sales, to: role:sellers, permissions: [SELECT], on: {table: sales.orders}, grant_option: true}
              - {id: old-orders, to: user:zoe, permissions: [SELECT], on: {table: sales.orders}, granted_by: "user:nobody"}
            """, file: "p.yaml", by: creator)
        let orders = ResourcePattern.table(catalog: nil, database: "sales", name: "orders")
        try service.grant(
            Grant(id: "bob-orders", principals: [Principal(.user, "bob")], permissions: [.data(.select)], resource: orders), by: "alice")
        func active() throws -> Policy { try #require(try service.store.active()).policy }
        let before = try service.store.versions().count
        // 'old-orders' stood on nothing before any of these changes: it never blocks one.
        #expect(PolicyEngine.dependentGrants(of: try active()).map(\.id) == ["old-orders"])

        // Out of the role: refused, naming bob's grant and its grantor; nothing changes.
        let outOfRole = refusal {
            try service.change(by: creator, command: "role", comment: "role remove sellers") { policy in
                policy.roles["sellers"]?.members.removeAll { $0 == Principal(.user, "alice") }
            }
        }
        #expect(outOfRole.hasPrefix("cannot role (role remove sellers): grants passed on with the grant option it takes away depend on it: 'bob-orders' (granted by user:alice)"), "\(outOfRole)")
        #expect(outOfRole.contains("--cascade") && !outOfRole.contains("old-orders"), "\(outOfRole)")
        // A row filter on the grant alice's option comes from: bob's unfiltered grant is wider than what she holds.
        let narrower = refusal {
            try service.change(by: creator, command: "filter", comment: "filter of sellers-sales") { policy in
                let index = policy.grants.firstIndex { $0.id == "sellers-sales" }!
                policy.grants[index].rows = try RowPredicate.parse("region = 'EU'")
            }
        }
        #expect(narrower.contains("'bob-orders' (granted by user:alice)"), "\(narrower)")
        // A deny on alice, added by an admin.
        let deny = Grant(id: "deny-alice", effect: .deny, principals: [Principal(.user, "alice")], permissions: [.data(.select)], resource: orders)
        let denied = refusal { try service.grant(deny, by: creator) }
        #expect(denied.hasPrefix("cannot grant 'deny-alice': grants passed on with the grant option it takes away depend on it: 'bob-orders'"), "\(denied)")
        #expect(try service.store.versions().count == before)
        #expect(try active().grants.map(\.id) == ["admin", "sellers-sales", "old-orders", "bob-orders"])

        // A change that abandons nothing new goes through although 'old-orders' stands on nothing.
        try service.change(by: creator, command: "role", comment: "role add sellers") { policy in
            policy.roles["sellers"]?.members.append(Principal(.user, "carol"))
        }
        // Cascade: the change is made and bob's grant goes with it; 'old-orders' stays as the file wrote it.
        let cascaded = try service.change(by: creator, command: "role", comment: "role remove sellers", mode: .cascade) { policy in
            policy.roles["sellers"]?.members.removeAll { $0 == Principal(.user, "alice") }
        }
        #expect(cascaded.version.comment == "role remove sellers, cascading to bob-orders", "\(cascaded.version.comment)")
        #expect(try active().grants.map(\.id) == ["admin", "sellers-sales", "old-orders"])
        #expect(try active().roles["sellers"]?.members == [Principal(.user, "carol")])
        try service.audit.flush()
        let refused = try service.audit.search(action: "policy:apply").filter { !$0.record.allowed }
        #expect(refused.count == 2 && refused.allSatisfy { $0.record.grants == ["bob-orders"] }, "\(refused.map(\.record))")
        #expect(try service.audit.verify().isIntact)
    }
}

/// The message of the denial `body` ends with, or what happened instead ("not refused", another error).
func refusal(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "not refused"
    } catch let error as GovernanceError {
        return error.code == .denied ? error.message : "wrong code: \(error)"
    } catch {
        return "not a GovernanceError: \(error)"
    }
}

/// Creates databases and tables in the domain's catalog (`db.table` → column names); returns each table's id.
func makeTables(_ domain: Domain, _ tables: [String: [String]]) throws -> [String: String] {
    let catalog = try Catalog(domain: domain)
    return try catalog.write { access in
        let owner = domain.info.createdBy
        let home = try access.managedCatalog(owner: owner)
        var ids: [String: String] = [:]
        for (name, columns) in tables.sorted(by: { $0.key < $1.key }) {
            let parts = name.split(separator: ".").map(String.init)
            let database = try access.database(named: parts[0]) ?? access.createDatabase(parts[0], inCatalog: home.id, owner: owner)
            let table = try access.createTable(parts[1], inDatabase: database.id, kind: .managed, storageName: "t{id}", owner: owner)
            for column in columns { _ = try access.addColumn(toTable: table.id, name: column, type: "TEXT") }
            ids[name] = String(table.id)
        }
        return ids
    }
}
