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
}
