import CoreSupport
import Foundation
import Kernels
import TestSupport
import Testing

/// The pinned Python environment scripts/test prepares; the kernel tests need it.
enum TestEnvironment {
    static var pythonEnv: String { Python.environmentOrIssue }

    static var finder: KernelSpecFinder { KernelSpecFinder(pythonPrefix: pythonEnv) }

    /// A fresh scratch folder for one test.
    static func scratch(_ name: String = "t") -> String {
        try! Scratch.directory(name)
    }

    /// Starts the pinned ipykernel and waits until it is ready.
    static func startPython(runtime: String = scratch("runtime")) async throws -> KernelManager {
        let spec = try finder.spec(named: "python3")
        let kernel = try KernelManager.start(spec: spec, pythonPrefix: pythonEnv, runtimeDirectory: runtime)
        try await kernel.waitForReady(timeout: 90)
        return kernel
    }
}

/// Polls `condition` until it holds or `seconds` pass (no fixed sleeps in tests).
func waitUntil(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
    await poll(seconds, condition)
}

/// The first shell message answering `request` (of `type`, when given), or nil when none comes
/// within `seconds`: the request's stream is then ended, so a lost reply fails the test instead of hanging it.
func firstShellReply(
    _ client: KernelClient, _ request: KernelClient.Request, type: String? = nil, within seconds: Double = 60
) async -> KernelMessage? {
    let timer = Task {
        try? await Task.sleep(for: .seconds(seconds))
        if !Task.isCancelled { client.finish(request.msgID) }
    }
    defer { timer.cancel() }
    for await event in request.events {
        if case .message(.shell, let message) = event, type == nil || message.msgType == type { return message }
    }
    return nil
}
