import CoreSupport
import Governance
import PluginBus
import Storage
import Testing
import TestSupport

/// The bus guarded by the real policy engine: a request reaches the plugin only when
/// the caller holds the action's registered permission, and every decision is audited.
@Suite struct GovernanceAuthorizerTests {
    @Test func thePolicyDecidesWhichRequestsReachThePlugin() async throws {
        let domain = try Domain.open(at: try Scratch.directory("bus-governance"))
        let service = try GovernanceService(domain: domain)
        try service.apply(
            """
            version: 1
            groups: {writers: [wendy]}
            grants:
              - {id: admin, to: "user:\(domain.info.createdBy)", permissions: ["governance:admin"]}
              - {id: readers, to: ["user:rita", "group:writers"], permissions: ["notes:read"]}
              - {id: writers, to: "group:writers", permissions: ["notes:*"]}
            """, file: "policy.yaml", by: domain.info.createdBy)
        let bus = Bus(middleware: [RequireRegisteredPermission(GovernanceAuthorizer(service))])
        try bus.register(NotesPlugin(events: bus.publisher))

        #expect(try await bus.send(AddNote(text: "hi"), as: Principal(.user, "wendy")) == NoteNumber(1))
        #expect(try await bus.send(CountNotes(), as: Principal(.user, "rita")) == NoteNumber(1))
        let denied = await #expect(throws: BusError.self) {
            try await bus.send(AddNote(text: "no"), as: Principal(.user, "rita"), requestID: "r-denied")
        }
        #expect(denied?.code == .denied)
        #expect(denied?.message.contains("no grant gives rita notes:write") == true)
        await #expect(throws: BusError.self) { try await bus.send(CountNotes(), as: Principal(.group, "writers")) }
        #expect(try await bus.send(CountNotes(), as: Principal(.user, "wendy")) == NoteNumber(1))

        try service.audit.flush()
        let records = try service.audit.search(resource: "notes.add")
        #expect(records.map(\.record.principal) == ["user:wendy", "user:rita"])
        #expect(records.map(\.record.allowed) == [true, false])
        #expect(records[0].record.grants == ["writers"])
        #expect(records[1].record.detail == "request r-denied")
        #expect(try service.audit.verify().isIntact)
    }
}
