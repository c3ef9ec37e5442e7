import CoreSupport
import Governance
import Storage
import Testing
import TestSupport

private let v1 = """
    version: 1
    grants:
      - id: read
        to: user:alice
        permissions: [SELECT]
        on: {table: sales.orders}
    """

private let v2 = v1 + """

      - id: import
        to: user:alice
        permissions: ["lakehouse:import"]
    """

@Suite struct PolicyStoreTests {
    func store() throws -> (PolicyStore, Domain) {
        let domain = try Domain.open(at: try Scratch.directory("policy-store"))
        return (try PolicyStore(domain: domain), domain)
    }

    @Test func appliesVersionsAndRollsBack() throws {
        let (store, _) = try store()
        #expect(try store.active() == nil)
        let first = try store.apply(v1, by: "root", comment: "first")
        #expect(first.created && first.version.version == 1)
        // The same text again changes nothing.
        #expect(try store.apply(v1, by: "root").created == false)
        try store.apply(v2, by: "root")
        #expect(try store.active()?.version.version == 2)
        #expect(try store.active()?.policy.grants.map(\.id) == ["read", "import"])
        let rolled = try store.rollback(to: 1, by: "root")
        #expect(rolled.version == 3 && rolled.comment == "rollback to version 1")
        #expect(try store.active()?.source == v1)
        #expect(try store.versions().map(\.version) == [1, 2, 3])
        #expect(try store.versions().map(\.isActive) == [false, false, true])
        #expect(try store.source(of: 2) == v2)
    }

    @Test func aBadFileLeavesTheActivePolicy() throws {
        let (store, _) = try store()
        try store.apply(v1, by: "root")
        #expect(throws: GovernanceError.self) {
            try store.apply(v1 + "\n    frobnicate: true\n", file: "bad.yaml", by: "root")
        }
        #expect(try store.active()?.source == v1)
        #expect(try store.versions().count == 1)
        #expect(throws: GovernanceError.self) { try store.rollback(to: 9, by: "root") }
    }

    @Test func theStoreSurvivesReopening() throws {
        let path = try Scratch.directory("policy-reopen")
        try PolicyStore(domain: try Domain.open(at: path)).apply(v2, by: "root")
        let reopened = try PolicyStore(domain: try Domain.open(at: path))
        #expect(try reopened.active()?.policy.grants.count == 2)
    }
}

@Suite struct AuditLogTests {
    func log() throws -> (AuditLog, PolicyStore, Domain) {
        let domain = try Domain.open(at: try Scratch.directory("audit"))
        let store = try PolicyStore(domain: domain)
        return (AuditLog(store: store, headPath: FilePath.join(domain.path, "audit.head"), batchSize: 7), store, domain)
    }

    func record(_ i: Int, allowed: Bool = true) -> AuditRecord {
        AuditRecord(
            time: "2026-01-01T00:00:\(10 + i % 50).000000Z", principal: "user:u\(i % 3)", action: "SELECT", resource: "main.sales.orders", allowed: allowed, grants: ["g\(i)"],
            policyVersion: 1, query: "SELECT \(i)", detail: "case \(i)")
    }

    @Test func recordsAreChainedSearchableAndVerified() throws {
        let (log, _, _) = try log()
        for i in 0..<50 { log.append(record(i, allowed: i % 5 != 0)) }
        try log.flush()
        let all = try log.search()
        #expect(all.map(\.sequence) == Array(1...50))
        #expect(all[3].record == record(3))
        #expect(try log.search(principal: "user:u1").count == 17)
        #expect(try log.search(decision: false).count == 10)
        #expect(try log.search(principal: "user:u0", decision: false).map(\.sequence) == [1, 16, 31, 46])
        #expect(try log.verify() == AuditVerification(records: 50, problem: nil))
    }

    @Test func tamperingIsDetected() throws {
        let (log, _, domain) = try log()
        for i in 0..<10 { log.append(record(i)) }
        try log.flush()
        let db = try DatabaseQueue(path: domain.path(of: .governance))

        // An edited record.
        try db.write { try $0.execute("UPDATE audit_log SET decision = 'allow', grants = '[]' WHERE seq = 4") }
        #expect(try log.verify().problem?.contains("record 4 was changed") == true)
        try db.write { try $0.execute("UPDATE audit_log SET grants = '[\"g3\"]' WHERE seq = 4") }
        #expect(try log.verify().isIntact)

        // A removed record in the middle.
        let saved = try db.read { try $0.fetchOne("SELECT * FROM audit_log WHERE seq = 5") }!
        try db.write { try $0.execute("DELETE FROM audit_log WHERE seq = 5") }
        #expect(try log.verify().problem?.contains("record 5 is missing") == true)
        try db.write { try $0.execute("INSERT INTO audit_log VALUES (\(saved.values.map { _ in "?" }.joined(separator: ",")))", StatementArguments(saved.values)) }
        #expect(try log.verify().isIntact)

        // A cut-off tail: the chain is consistent, but shorter than its head says.
        try db.write { try $0.execute("DELETE FROM audit_log WHERE seq > 8") }
        #expect(try log.verify().problem?.contains("tail was cut off") == true)
    }

    @Test func aRecomputedChainDoesNotMatchTheHead() throws {
        let (log, store, domain) = try log()
        for i in 0..<5 { log.append(record(i)) }
        try log.flush()
        // Someone rewrites the whole log with a fresh chain (through a second log whose head goes elsewhere).
        let db = try DatabaseQueue(path: domain.path(of: .governance))
        try db.write { try $0.execute("DELETE FROM audit_log") }
        let forger = AuditLog(store: store, headPath: FilePath.join(domain.path, "forged.head"))
        for i in 0..<5 { forger.append(record(i, allowed: false)) }
        try forger.flush()
        #expect(try forger.verify().isIntact)
        #expect(try log.verify().problem?.contains("recomputed") == true)
    }
}
