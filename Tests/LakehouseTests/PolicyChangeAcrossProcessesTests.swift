import CoreSupport
import Foundation
import Governance
import Lakehouse
import PluginBus
import Storage
import TestSupport
import Testing

/// A policy change made by another process is enforced by this one's next request, however warm its
/// caches: the active policy version is kept between statements and re-read only after a commit to
/// the governance store (`PolicyStore.activeVersion`), and the kept mapping of a read is keyed by it.
///
/// Process A is this test process (a bus with governance in front of the lakehouse, as `wb` builds
/// it); process B is the `wb` binary built with these tests, running `wb revoke` and `wb grant`.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct PolicyChangeAcrossProcessesTests {
    /// The `wb` built with these tests (next to the test bundle), else one in `.build`.
    static var wbBinary: String? {
        var candidates: [String] = []
        if let bundle = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(FilePath.join(FilePath.directory(of: bundle), "wb"))
        }
        var root = #filePath
        for _ in 0..<3 { root = FilePath.directory(of: root) }
        for config in ["debug", "release"] { candidates.append(FilePath.join(root, ".build", config, "wb")) }
        return candidates.first(where: FileIO.exists)
    }

    @Test func aRevokeInAnotherProcessIsEnforcedByTheNextRequest() async throws {
        let wb = try #require(Self.wbBinary, "the wb binary is not built; run ./scripts/test")
        let f = try GovernedFixture("governed-two-processes") { admin in
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              - {id: erin-query, to: "user:erin", permissions: ["lakehouse:query"]}
              - {id: erin-open, to: "user:erin", permissions: [SELECT], on: {table: sales.open}}
            """
        }
        func otherProcess(_ arguments: [String]) throws {
            let result = try Command.run([wb] + arguments + ["--home", f.domain.path])
            #expect(result.status == 0, "wb \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        let bus = Bus(middleware: [RequireRegisteredPermission(GovernanceAuthorizer(f.governance))])
        try bus.register(LakehousePlugin(f.lakehouse, events: bus.publisher))
        let erin = Principal(.user, "erin")
        let read = LakehouseQuery(sql: "SELECT k FROM sales.open ORDER BY k")
        // Warm: the policy version, the plan and the read's mapping are all kept after these.
        for _ in 0..<3 { #expect(try await bus.send(read, as: erin).rows == [[.integer(1)], [.integer(2)]]) }

        // B takes the table grant away: A's next statement is refused.
        try otherProcess(["revoke", "erin-open"])
        let refused = await #expect(throws: LakehouseError.self) { try await bus.send(read, as: erin) }
        #expect(refused?.code == .denied)

        // B gives it back: A reads again.
        try otherProcess(["grant", "SELECT", "--to", "user:erin", "--on", "table:sales.open", "--id", "erin-open"])
        #expect(try await bus.send(read, as: erin).rows == [[.integer(1)], [.integer(2)]])

        // B takes the plugin action away: A's bus refuses the request before the lakehouse sees it.
        try otherProcess(["revoke", "erin-query"])
        let denied = await #expect(throws: BusError.self) { try await bus.send(read, as: erin) }
        #expect(denied?.code == .denied)

        // Every decision, on both sides of each change, is in the log, and the chain holds.
        try f.governance.audit.flush()
        let selects = try f.governance.audit.search(principal: "user:erin", action: "SELECT").map(\.record.allowed)
        #expect(selects == [true, true, true, false, true])
        let requests = try f.governance.audit.search(principal: "user:erin", action: "lakehouse:query").map(\.record.allowed)
        #expect(requests == [true, true, true, true, true, false])
        #expect(try f.governance.audit.verify().isIntact)
    }

    @Test func anotherServiceOnTheSameDomainSeesEachChangeAtOnce() throws {
        // Two services are two sets of connections, as two processes have: what one applies, the other's
        // next decision uses, with no statement in between to warm anything.
        let f = try GovernedFixture("governed-two-services") { admin in
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              - {id: erin-import, to: "user:erin", permissions: ["lakehouse:import"]}
            """
        }
        let other = try GovernanceService(domain: try Domain.open(at: f.domain.path))
        #expect(try other.authorize(user: "erin", action: "lakehouse:import").allowed)
        for round in 0..<5 {
            try f.governance.revoke(["erin-import"], by: f.admin)
            #expect(try !other.authorize(user: "erin", action: "lakehouse:import").allowed, "round \(round)")
            try f.governance.grant(
                Grant(id: "erin-import", principals: [Principal(.user, "erin")], permissions: [.action("lakehouse:import")], resource: .none),
                by: f.admin)
            #expect(try other.authorize(user: "erin", action: "lakehouse:import").allowed, "round \(round)")
        }
        // Audit writes commit to the same store: they make the version be read again, and change nothing.
        try other.audit.flush()
        #expect(try other.authorize(user: "erin", action: "lakehouse:import").allowed)
        #expect(try other.engine().version == f.governance.engine().version)
    }
    /// The change signal's word (`governance.signal`), read as another process would map it.
    static func signalWord(_ f: GovernedFixture) throws -> UInt64 {
        let signal = try #require(ChangeSignal.open(path: FilePath.join(f.domain.path, PolicyStore.signalFileName)))
        return signal.load().word
    }

    static let twoGrants: @Sendable (String) -> String = { admin in
        """
        version: 1
        grants:
          - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
          - {id: erin-open, to: "user:erin", permissions: [SELECT], on: {table: sales.open}}
          - {id: erin-people, to: "user:erin", permissions: [SELECT], on: {table: sales.people}}
        """
    }

    @Test func aWriterKilledBetweenItsCommitAndTheSignalStillHasItsChangeSeen() throws {
        let wb = try #require(Self.wbBinary, "the wb binary is not built; run ./scripts/test")
        let f = try GovernedFixture("governed-writer-dies", policy: Self.twoGrants)
        let read = "SELECT k FROM sales.open ORDER BY k"
        // Warm: after these the engine answers the policy version from the signal alone.
        for _ in 0..<3 { #expect(try f.rows(read, as: "erin") == [[.integer(1)], [.integer(2)]]) }
        #expect(try Self.signalWord(f) & 1 == 0)

        // B revokes and dies right after its commit, before it advances the signal: the mark stays set.
        let dying = try Command.run(
            [wb, "revoke", "erin-open", "--home", f.domain.path],
            environment: ProcessInfo.processInfo.environment.merging(["WB_TEST_POLICY_WRITER_DIES": "after-commit"]) { $1 })
        #expect(dying.status == 75, "wb revoke: \(dying.stderr)")
        #expect(try Self.signalWord(f) & 1 == 1, "the dead writer's mark stays")
        // A's next statement sees the revoke (the exact path), and so does every one after it.
        for _ in 0..<3 { #expect(f.error(read, as: "erin")?.code == .denied) }
        #expect(try f.rows("SELECT count(*) FROM sales.people", as: "erin") == [[.integer(4)]])

        // A later writer clears the mark; A sees its change too, and the signal is back to even.
        let revoked = try Command.run([wb, "revoke", "erin-people", "--home", f.domain.path])
        #expect(revoked.status == 0, "wb revoke: \(revoked.stderr)")
        #expect(try Self.signalWord(f) & 1 == 0)
        #expect(f.error("SELECT count(*) FROM sales.people", as: "erin")?.code == .denied)
        #expect(f.error(read, as: "erin")?.code == .denied)
        let versions = try f.governance.store.versions()
        #expect(versions.last?.comment.contains("erin-people") == true)
        #expect(versions.dropLast().last?.comment.contains("erin-open") == true)
    }

    @Test func aDeletedSignalFileIsMadeAgainAndEveryWriterMarksTheNewOne() throws {
        let wb = try #require(Self.wbBinary, "the wb binary is not built; run ./scripts/test")
        let f = try GovernedFixture("governed-signal-deleted", policy: Self.twoGrants)
        let read = "SELECT k FROM sales.open ORDER BY k"
        let file = FilePath.join(f.domain.path, PolicyStore.signalFileName)
        for _ in 0..<3 { #expect(try f.rows(read, as: "erin") == [[.integer(1)], [.integer(2)]]) }
        try FileManager.default.removeItem(atPath: file)
        #expect(!FileIO.exists(file))

        // A reader opened after the deletion maps a new file, fresh (its word is 0).
        let late = try GovernedFixture.attach(to: f)
        #expect(FileIO.exists(file))
        #expect(try late.rows(read, as: "erin") == [[.integer(1)], [.integer(2)]])
        #expect(try late.rows(read, as: "erin") == [[.integer(1)], [.integer(2)]])
        // A, which still maps the deleted file, revokes: it maps the file the path names and marks both,
        // so the late reader's next statement sees the change.
        try f.governance.revoke(["erin-open"], by: f.admin)
        #expect(late.error(read, as: "erin")?.code == .denied)
        #expect(f.error(read, as: "erin")?.code == .denied)

        // Another process grants it back, marking the new file: both readers see it.
        let granted = try Command.run(
            [wb, "grant", "SELECT", "--to", "user:erin", "--on", "table:sales.open", "--id", "erin-open", "--home", f.domain.path])
        #expect(granted.status == 0, "wb grant: \(granted.stderr)")
        #expect(try late.rows(read, as: "erin") == [[.integer(1)], [.integer(2)]])
        #expect(try f.rows(read, as: "erin") == [[.integer(1)], [.integer(2)]])
    }
}
