import CoreSupport
import Foundation
import Lifecycle
import Storage
import TestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(3)))
struct RegistryTests {
    @Test func registerListAttachRemove() throws {
        let registry = try LC.registry()
        let record = SessionRecord(workspace: "/w", notebook: "/w/a.ipynb", kernelName: "python3", host: .current, state: .running)
        try registry.register(record)
        #expect(try registry.list().map(\.id) == [record.id])
        try registry.attach(record.id)
        #expect(try registry.session(record.id)?.clients == 1)
        try registry.detach(record.id)
        #expect(try registry.session(record.id)?.clients == 0)
        try registry.recordActivity(record.id, at: record.lastActivity + 5, executionState: "busy")
        let updated = try #require(try registry.session(record.id))
        #expect(updated.executionState == "busy")
        #expect(updated.lastActivity == record.lastActivity + 5)
        // Activity never moves backwards (a late writer cannot make a session look idler).
        try registry.recordActivity(record.id, at: record.lastActivity + 1)
        #expect(try registry.session(record.id)?.lastActivity == record.lastActivity + 5)
        #expect(try registry.remove(record.id))
        #expect(try registry.remove(record.id) == false)
        #expect(try registry.list().isEmpty)
    }

    @Test func aReusedPidIsNotMistakenForTheRecordedProcess() throws {
        let me = ProcessIdentity.current
        #expect(me.isAlive)
        #expect(me.startTime > 0)
        // Same pid, another start time: the pid was reused by another process.
        #expect(!ProcessIdentity(pid: me.pid, startTime: me.startTime + 1).isAlive)
        // A process that exited (and was reaped).
        let exited = try Command.run(["/bin/sh", "-c", "echo $$"])
        let pid = Int32(exited.stdout.trimmed())!
        #expect(!ProcessIdentity(pid: pid, startTime: 1).isAlive)
        #expect(ProcessIdentity.of(pid) == nil || ProcessIdentity.of(pid)?.startTime != 1)
    }

    @Test func deadClientsAreDroppedAndStaleSessionsDetected() throws {
        let registry = try LC.registry()
        let gone = ProcessIdentity(pid: ProcessIdentity.current.pid, startTime: ProcessIdentity.current.startTime + 7)
        let stale = SessionRecord(workspace: "/w", notebook: "/w/a.ipynb", kernelName: "python3", kernel: gone, host: gone, state: .running)
        let live = SessionRecord(workspace: "/w", notebook: "/w/b.ipynb", kernelName: "python3", kernel: .current, host: .current, state: .running)
        try registry.register(stale)
        try registry.register(live)
        try registry.attach(live.id, client: gone)
        try registry.attach(live.id)
        #expect(try registry.session(live.id)?.clients == 1)
        #expect(SessionRegistry.isDead(try #require(try registry.session(stale.id))))
        #expect(!SessionRegistry.isDead(try #require(try registry.session(live.id))))
    }

    @Test func claimingIsExclusive() throws {
        let registry = try LC.registry()
        let record = SessionRecord(workspace: "/w", notebook: "/w/a.ipynb", kernelName: "python3", state: .running)
        try registry.register(record)
        #expect(try registry.claim(record.id))
        #expect(try registry.claim(record.id) == false)
        #expect(try registry.claim("no-such-id") == false)
    }

    @Test func manyThreadsWritingAtOnceLoseNothing() async throws {
        let registry = try LC.registry()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    let r = SessionRecord(workspace: "/w", notebook: "/w/\(i).ipynb", kernelName: "python3", state: .running)
                    try? registry.register(r)
                    try? registry.recordActivity(r.id, executionState: "idle")
                }
            }
        }
        #expect(try registry.list().count == 40)
    }
}
