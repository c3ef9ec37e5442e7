import CoreSupport
import Foundation
import Kernels
import Lifecycle
import Storage
import TestSupport
import Testing

/// Real domains, real kernels behind real session hosts, for the lifecycle tests.
enum LC {
    static var pythonEnv: String { Python.environmentOrIssue }

    static func scratch(_ name: String = "lc") -> String { try! Scratch.directory(name) }

    /// A fresh domain and its registry.
    static func registry() throws -> SessionRegistry {
        try SessionRegistry(domain: Domain.open(at: FilePath.join(scratch("home"), "wb")))
    }

    /// A running session: a session host (in this process) that started a real ipykernel.
    struct Running {
        let id: String
        let host: Task<String, any Error>
        let registry: SessionRegistry

        var record: SessionRecord? { try? registry.session(id) }

        /// A second client on the kernel, as a TUI would connect through the connection file.
        func client() throws -> KernelClient {
            let file = try #require(record?.connectionFile)
            return try KernelClient(connection: ConnectionInfo.read(path: file))
        }
    }

    /// Starts a session host for a notebook path and waits until its kernel is ready and registered.
    static func start(_ registry: SessionRegistry, notebook: String = "nb.ipynb", spec: KernelSpec? = nil) async throws -> Running {
        let spec = try spec ?? KernelSpecFinder(pythonPrefix: pythonEnv).spec(named: "python3")
        let home = registry.domain.path
        let path = FilePath.join(scratch("ws"), notebook)
        let id = Identifier.uuid()
        let options = SessionHost.Options(
            id: id, workspace: FilePath.directory(of: path), notebook: path, spec: spec, pythonPrefix: pythonEnv,
            runtimeDirectory: FilePath.join(home, "runtime"), outputsJournal: OutputsJournal.path(for: path, home: home))
        let host = Task { try await SessionHost.run(options, registry: registry) }
        let ready = await poll(120) { (try? registry.session(id))?.state == .running }
        try #require(ready, "the session host did not start its kernel")
        return Running(id: id, host: host, registry: registry)
    }

    /// A second client whose IOPub subscription has reached the kernel. A new subscription takes a
    /// moment to connect (ZeroMQ's slow joiner) and a cell's output sent before then is lost, so
    /// kernel_info is asked again until its broadcasts are seen (bounded), as jupyter_client does.
    static func subscribedClient(_ session: Running) async throws -> KernelClient {
        let client = try session.client()
        for _ in 0..<12 {
            let info = client.send("kernel_info_request")
            if await !collect(client, info, seconds: 5).filter({ $0.0 == .iopub }).isEmpty { break }
        }
        return client
    }

    /// Sends a cell without waiting for it.
    @discardableResult
    static func submit(_ client: KernelClient, _ code: String) -> KernelClient.Request {
        client.send(
            "execute_request",
            content: [
                "code": .string(code), "silent": false, "store_history": true, "user_expressions": .object([:]), "allow_stdin": false,
                "stop_on_error": true,
            ])
    }

    /// Every message answering `request` until its `idle` status (bounded by `seconds`).
    static func collect(_ client: KernelClient, _ request: KernelClient.Request, seconds: Double = 60) async -> [(Channel, KernelMessage)] {
        let box = LockedBox<[(Channel, KernelMessage)]>([])
        let timer = Task {
            try? await Task.sleep(for: .seconds(seconds))
            client.finish(request.msgID)
        }
        defer { timer.cancel() }
        for await event in request.events {
            guard case .message(let channel, let message) = event else { continue }
            box.mutate { $0.append((channel, message)) }
            if channel == .iopub, message.msgType == "status", message.content["execution_state"]?.stringValue == "idle" { break }
        }
        client.finish(request.msgID)
        return box.value
    }

    /// Stops every session left and waits for their hosts.
    static func cleanUp(_ registry: SessionRegistry, _ running: [Running]) async {
        for record in (try? registry.list()) ?? [] {
            _ = await SessionStopper.stop(record, registry: registry, force: true, timeout: 5)
        }
        for r in running { _ = try? await r.host.value }
    }
}
