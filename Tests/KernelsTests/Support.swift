import CoreSupport
import Foundation
import Kernels
import Testing

/// The pinned Python environment scripts/test prepares; the kernel tests need it.
enum TestEnvironment {
    static var pythonEnv: String {
        guard let env = ProcessInfo.processInfo.environment["WB_PYTHON_ENV"], !env.isEmpty else {
            Issue.record("WB_PYTHON_ENV is not set: run the tests with ./scripts/test, which creates the Python environment")
            return "/nonexistent"
        }
        return env
    }

    static var finder: KernelSpecFinder { KernelSpecFinder(pythonPrefix: pythonEnv) }

    /// A fresh scratch folder for one test.
    static func scratch(_ name: String = "t") -> String {
        let base = ProcessInfo.processInfo.environment["WB_TEST_SCRATCH"] ?? NSTemporaryDirectory()
        let dir = FilePath.join(base, "\(name)-\(Identifier.randomHex(bytes: 6))")
        try! FileIO.createDirectory(dir)
        return dir
    }

    /// Starts the pinned ipykernel and waits until it is ready.
    static func startPython(runtime: String = scratch("runtime")) async throws -> KernelManager {
        let spec = try finder.spec(named: "python3")
        let kernel = try KernelManager.start(spec: spec, pythonPrefix: pythonEnv, runtimeDirectory: runtime)
        try await kernel.waitForReady(timeout: 90)
        return kernel
    }

    /// Runs a command and returns its standard output, failing the test on a non-zero exit.
    @discardableResult
    static func run(_ argv: [String], environment: [String: String]? = nil, input: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        if let environment { process.environment = environment }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes fully before waiting, so a chatty child cannot block.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            outData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
    }
}

/// Polls `condition` until it holds or `seconds` pass (no fixed sleeps in tests).
func waitUntil(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = Clock.monotonic() + seconds
    while Clock.monotonic() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}
