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

/// Stopping a kernel that will not go: shutdown_request, then SIGTERM, then SIGKILL, each step waited for.
@Suite(.serialized, .timeLimit(.minutes(6)))
struct StopTests {
    /// A session on a kernel that ignores `shutdown_request` (and, with `ignoreSIGTERM`, SIGTERM), whose
    /// first cell started a `sleep` child in the kernel's process group.
    func stubbornSession(ignoreSIGTERM: Bool) async throws -> (LC.Running, ProcessIdentity, Int32) {
        let jupyterPath = LC.scratch("jp")
        let directory = try StubbornKernel.install(name: "stubborn", ignoreSIGTERM: ignoreSIGTERM, jupyterPath: jupyterPath)
        let spec = try KernelSpec.load(name: "stubborn", directory: directory)
        let registry = try LC.registry()
        let session = try await LC.start(registry, notebook: "stubborn.ipynb", spec: spec)
        let kernel = try #require(session.record?.kernel)
        let client = try await LC.subscribedClient(session)
        defer { client.close() }
        let run = LC.submit(client, "import subprocess; child = subprocess.Popen(['sleep', '600']); print(child.pid)")
        let printed = await LC.collect(client, run).compactMap { $0.1.msgType == "stream" ? $0.1.content["text"]?.stringValue : nil }
        let child = try #require(Int32(printed.joined().trimmed()), "the cell printed its child's pid")
        #expect(StubbornKernel.processes(inGroup: kernel.pid).contains(child))
        return (session, kernel, child)
    }

    @Test func aKernelIgnoringShutdownRequestIsStoppedBySIGTERM() async throws {
        let (session, kernel, child) = try await stubbornSession(ignoreSIGTERM: false)
        let record = try #require(session.record)
        let outcome = await SessionStopper.stop(record, registry: session.registry, timeout: 3)
        #expect(outcome == .terminated)
        #expect(!kernel.isAlive)
        #expect(await poll(30) { StubbornKernel.processes(inGroup: kernel.pid).isEmpty }, "nothing is left of its process group")
        #expect(ProcessIdentity.of(child) == nil)
        #expect(try session.registry.session(session.id) == nil)
        #expect(!FileIO.exists(try #require(record.connectionFile)))
        _ = try? await session.host.value
    }

    @Test func aKernelIgnoringShutdownRequestAndSIGTERMIsKilled() async throws {
        let (session, kernel, child) = try await stubbornSession(ignoreSIGTERM: true)
        let record = try #require(session.record)
        // The control: SIGTERM alone leaves it running and answering (an ignored signal is discarded when
        // sent), so the stop has to escalate.
        #expect(kill(kernel.pid, SIGTERM) == 0)
        let client = try await LC.subscribedClient(session)
        let reply = await LC.collect(client, LC.submit(client, "print('still here')"))
        client.close()
        #expect(reply.contains { $0.1.content["text"]?.stringValue == "still here\n" })
        #expect(kernel.isAlive)
        let outcome = await SessionStopper.stop(record, registry: session.registry, timeout: 3)
        #expect(outcome == .killed)
        #expect(!kernel.isAlive)
        #expect(await poll(30) { StubbornKernel.processes(inGroup: kernel.pid).isEmpty }, "nothing is left of its process group")
        #expect(ProcessIdentity.of(child) == nil)
        #expect(try session.registry.session(session.id) == nil)
        _ = try? await session.host.value
    }
}
