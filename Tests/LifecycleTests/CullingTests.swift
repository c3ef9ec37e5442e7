import CoreSupport
import Foundation
import Kernels
import Lifecycle
import Storage
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Culling with real kernels behind real session hosts; the check runs with an injected clock, so
/// only the kernels' own work takes real time.
@Suite(.serialized, .timeLimit(.minutes(6)))
struct CullingTests {
    let policy = CullPolicy(idleTimeout: 30, interval: 5)

    @Test func idleKernelIsCulledWhileABusyOneIsKept() async throws {
        let registry = try LC.registry()
        let idle = try await LC.start(registry, notebook: "idle.ipynb")
        let busy = try await LC.start(registry, notebook: "busy.ipynb")
        let client = try busy.client()
        defer { client.close() }
        LC.submit(client, "while True: pass")
        #expect(await poll(60) { busy.record?.executionState == "busy" })
        let idleKernel = try #require(idle.record?.kernel)

        let later = Clock.now() + 100
        // The polite request gets a generous time: the busy kernel holds one of two cores meanwhile.
        var culler = Culler(policy: policy, registry: registry)
        culler.stopTimeout = 30
        let decisions = try await culler.check(now: later)
        let byID = Dictionary(uniqueKeysWithValues: decisions.map { ($0.session.id, $0) })
        #expect(byID[idle.id]?.action == .cull)
        #expect(byID[idle.id]?.rule == .idleTimeout)
        #expect(byID[idle.id]?.outcome == "shutdown_request")
        #expect(byID[busy.id]?.action == .keep)
        #expect(byID[busy.id]?.rule == .busy)
        #expect(!idleKernel.isAlive)
        #expect(try registry.session(idle.id) == nil)
        #expect(try registry.session(busy.id) != nil)
        // With cull_busy on, the same busy kernel would go.
        var cullBusy = Culler(policy: policy, registry: registry)
        cullBusy.policy.cullBusy = true
        #expect(try await cullBusy.check(now: later, dryRun: true).first { $0.session.id == busy.id }?.action == .cull)

        // Every stop and every protected keep is in the log, with its rule and reason.
        let log = try FileIO.readText(Culler.defaultLogFile(home: registry.domain.path))
        #expect(log.contains("\"rule\":\"idle-timeout\""))
        #expect(log.contains("\"rule\":\"busy\""))
        await LC.cleanUp(registry, [idle, busy])
    }

    @Test func aKernelIsCulledOnlyAfterItsLongRunEndsPlusTheTimeout() async throws {
        let registry = try LC.registry()
        let session = try await LC.start(registry)
        let control = try await LC.start(registry, notebook: "control.ipynb")
        let client = try session.client()
        defer { client.close() }
        let submitted = Clock.now()
        let request = LC.submit(client, "import time; time.sleep(3)")
        #expect(await poll(60) { session.record?.executionState == "busy" })
        let culler = Culler(policy: CullPolicy(idleTimeout: 2), registry: registry)
        // During the run: well past the timeout since it started, but busy, so kept; the idle control goes.
        let during = try await culler.check(now: submitted + 2.5, dryRun: true)
        #expect(during.first { $0.session.id == session.id }?.rule == .busy)
        #expect(during.first { $0.session.id == control.id }?.action == .cull)
        _ = await LC.collect(client, request)
        #expect(await poll(30) { session.record?.executionState == "idle" })
        let record = try #require(session.record)
        // The end of the run is activity: the clock restarts there.
        #expect(record.lastActivity >= submitted + 2.9)
        let justBefore = try await culler.check(now: record.lastActivity + 1.9, dryRun: true)
        #expect(justBefore.first { $0.session.id == session.id }?.action == .keep)
        let after = try await culler.check(now: record.lastActivity + 2.1)
        #expect(after.first { $0.session.id == session.id }?.action == .cull)
        #expect(try registry.session(session.id) == nil)
        await LC.cleanUp(registry, [session, control])
    }

    @Test func connectedSessionIsKeptWhenCullConnectedIsOff() async throws {
        let registry = try LC.registry()
        let attached = try await LC.start(registry, notebook: "attached.ipynb")
        let alone = try await LC.start(registry, notebook: "alone.ipynb")
        try registry.attach(attached.id)
        let later = Clock.now() + 100
        let decisions = try await Culler(policy: policy, registry: registry).check(now: later, dryRun: true)
        #expect(decisions.first { $0.session.id == attached.id }?.rule == .connected)
        #expect(decisions.first { $0.session.id == alone.id }?.action == .cull)
        var connected = policy
        connected.cullConnected = true
        connected.warning = 0
        let withFlag = try await Culler(policy: connected, registry: registry).check(now: later)
        #expect(withFlag.first { $0.session.id == attached.id }?.action == .cull)
        #expect(try registry.list().isEmpty)
        await LC.cleanUp(registry, [attached, alone])
    }

    @Test func anAttachedClientIsWarnedFirstAndActivityWithdrawsTheWarning() async throws {
        let registry = try LC.registry()
        let attached = try await LC.start(registry, notebook: "warned.ipynb")
        try registry.attach(attached.id)
        var rules = policy
        rules.cullConnected = true
        rules.warning = 5
        let culler = Culler(policy: rules, registry: registry)
        let idle = try #require(try registry.session(attached.id)).lastActivity + policy.idleTimeout + 1
        // Past the timeout: a warning with its deadline, not a cull.
        let first = try await culler.check(now: idle)
        #expect(first.first?.action == .warn && first.first?.rule == .warned)
        #expect(try registry.session(attached.id)?.cullWarningUntil == idle + 5)
        // During the countdown: kept; a second warning does not move the deadline.
        let during = try await culler.check(now: idle + 2)
        #expect(during.first?.action == .keep && during.first?.rule == .warned)
        #expect(try registry.session(attached.id)?.cullWarningUntil == idle + 5)
        // Activity newer than the last withdraws it, and the next check finds the session active.
        try registry.recordActivity(attached.id, at: idle + 3)
        #expect(try registry.session(attached.id)?.cullWarningUntil == nil)
        let active = try await culler.check(now: idle + 4)
        #expect(active.first?.action == .keep && active.first?.rule == .active)
        // The control: warned again and left alone, it is stopped once the countdown is over.
        let again = idle + 3 + policy.idleTimeout + 1
        #expect(try await culler.check(now: again).first?.action == .warn)
        #expect(try await culler.check(now: again + 4.9).first?.action == .keep)
        let culled = try await culler.check(now: again + 5)
        #expect(culled.first?.action == .cull && culled.first?.rule == .idleTimeout)
        #expect(try registry.list().isEmpty)
        await LC.cleanUp(registry, [attached])
    }

    @Test func deadKernelIsCleanedAndALiveOneKept() async throws {
        let registry = try LC.registry()
        let doomed = try await LC.start(registry, notebook: "doomed.ipynb")
        let live = try await LC.start(registry, notebook: "live.ipynb")
        let record = try #require(doomed.record)
        let kernel = try #require(record.kernel)
        let connectionFile = try #require(record.connectionFile)
        // The host removes its own entry when its kernel dies; a host that died too leaves it behind.
        // Simulate the latter: register the same dead kernel under a host that no longer runs.
        kill(kernel.pid, SIGKILL)
        #expect(await poll(30) { !kernel.isAlive })
        _ = try? await doomed.host.value
        let orphan = SessionRecord(
            workspace: record.workspace, notebook: record.notebook, kernelName: "python3", kernel: kernel,
            connectionFile: connectionFile, host: ProcessIdentity(pid: kernel.pid, startTime: kernel.startTime), state: .running)
        try registry.register(orphan)
        try "{}".write(toFile: connectionFile, atomically: true, encoding: .utf8)
        let decisions = try await Culler(policy: CullPolicy(idleTimeout: 0), registry: registry).check()
        #expect(decisions.first { $0.session.id == orphan.id }?.action == .clean)
        #expect(decisions.first { $0.session.id == orphan.id }?.rule == .deadKernel)
        #expect(decisions.first { $0.session.id == live.id }?.action == .keep)
        #expect(try registry.session(orphan.id) == nil)
        #expect(!FileIO.exists(connectionFile))
        #expect(try registry.session(live.id) != nil)
        await LC.cleanUp(registry, [live])
    }

    @Test func maxAgeStopsEvenABusySessionAndDecisionsArePure() async throws {
        let registry = try LC.registry()
        let culler = Culler(policy: CullPolicy(idleTimeout: 0, maxAge: 60), registry: registry)
        let now = Clock.now()
        let old = SessionRecord(workspace: "/w", notebook: "/w/a.ipynb", kernelName: "python3", host: .current, state: .running,
                                startedAt: now - 61, lastActivity: now, executionState: "busy")
        let young = SessionRecord(workspace: "/w", notebook: "/w/b.ipynb", kernelName: "python3", host: .current, state: .running,
                                  startedAt: now - 59, lastActivity: now - 59, executionState: "idle")
        #expect(culler.decide(old, now: now, kernelDead: false).rule == .maxAge)
        #expect(culler.decide(young, now: now, kernelDead: false).rule == .disabled)
        #expect(culler.decide(young, now: now, kernelDead: true).action == .clean)
        var starting = old
        starting.state = .starting
        #expect(culler.decide(starting, now: now, kernelDead: false).action == .keep)
    }
}

/// Which kernel traffic counts as activity, checked on messages from a real kernel.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct ActivityTests {
    @Test func userRequestsCountAndStatusPollingDoesNot() async throws {
        let registry = try LC.registry()
        let session = try await LC.start(registry)
        let client = try session.client()
        defer { client.close() }
        // A new IOPub subscription takes a moment to reach the kernel (ZeroMQ's slow joiner), so the
        // first kernel_info's status broadcasts may be missed: ask again, as jupyter_client's
        // wait_for_ready does, until they are seen (bounded).
        var infoIOPub: [(Channel, KernelMessage)] = []
        for _ in 0..<12 where infoIOPub.isEmpty {
            let info = client.send("kernel_info_request")
            infoIOPub = await LC.collect(client, info, seconds: 5).filter { $0.0 == .iopub }
        }
        #expect(!infoIOPub.isEmpty)
        #expect(infoIOPub.allSatisfy { !Activity.classify($0.1).counts })

        let before = try #require(session.record).lastActivity
        let run = LC.submit(client, "print('hello from the host test')")
        let runMessages = await LC.collect(client, run)
        let runIOPub = runMessages.filter { $0.0 == .iopub }
        #expect(runIOPub.allSatisfy { Activity.classify($0.1).counts })
        #expect(runIOPub.compactMap { Activity.classify($0.1).executionState } == ["busy", "idle"])
        // The host saw the same broadcast: activity recorded, and the output journaled.
        #expect(await poll(30) { (session.record?.lastActivity ?? 0) > before })
        let journal = OutputsJournal.path(for: try #require(session.record).notebook, home: registry.domain.path)
        #expect(await poll(30) { ((try? FileIO.readText(journal)) ?? "").contains("hello from the host test") })
        await LC.cleanUp(registry, [session])
    }
}
