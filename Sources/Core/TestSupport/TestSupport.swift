// Helpers shared by the test targets (never linked into wb): the pinned Python,
// scratch folders, running commands, and waiting on conditions without fixed sleeps.
import Foundation
import Testing

/// A test helper failure with a message saying what to do.
public struct TestSupportFailure: Error, CustomStringConvertible {
    public var description: String
}

/// The pinned Python environment (`WB_PYTHON_ENV`, set by scripts/test) to cross-check against.
///
/// Tests that need it fail with a clear message when the variable is missing:
/// the comparison with Python is the point of those tests, so they never skip.
public enum Python {
    /// The environment's folder.
    public static func environment() throws -> String {
        guard let venv = ProcessInfo.processInfo.environment["WB_PYTHON_ENV"], !venv.isEmpty else {
            throw TestSupportFailure(
                description: """
                    WB_PYTHON_ENV is not set. Run the tests with scripts/test, or set it to the venv that \
                    `source scripts/lib.sh; ensure_venv scripts/requirements.txt venv` prints.
                    """)
        }
        return venv
    }

    /// The environment's folder; when it is missing, records a test issue saying how to fix it.
    public static var environmentOrIssue: String {
        do {
            return try environment()
        } catch {
            Issue.record("\(error)")
            return "/nonexistent"
        }
    }

    /// The environment's interpreter.
    public static func executable() throws -> String {
        let venv = try environment()
        let python = venv + "/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestSupportFailure(description: "WB_PYTHON_ENV=\(venv) has no bin/python")
        }
        return python
    }

    /// Runs `script` with `arguments`, feeding it `input`; returns its standard output.
    /// A non-zero exit is an error carrying the standard error.
    public static func run(_ script: String, arguments: [String] = [], input: [UInt8] = []) throws -> [UInt8] {
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONHASHSEED"] = "0"
        let result = try Command.run(
            [try executable(), "-X", "utf8", "-c", script] + arguments, environment: environment, input: input)
        if result.status != 0 {
            throw TestSupportFailure(description: "python exited with \(result.status):\n\(result.stderr)")
        }
        return result.stdoutBytes
    }

    /// Like `run`, returning standard output as text.
    public static func text(_ script: String, arguments: [String] = [], input: [UInt8] = []) throws -> String {
        String(decoding: try run(script, arguments: arguments, input: input), as: UTF8.self)
    }
}

/// Fresh folders for tests, under `WB_TEST_SCRATCH` when scripts/test sets it.
public enum Scratch {
    public static func directory(_ name: String = "wb-test") throws -> String {
        let base = ProcessInfo.processInfo.environment["WB_TEST_SCRATCH"] ?? NSTemporaryDirectory()
        let path = (base as NSString).appendingPathComponent("\(name)-\(UUID().uuidString.prefix(12))")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Runs commands to completion. Output goes through files, so a chatty child can never block on a full pipe.
public enum Command {
    public struct Result: Sendable {
        public var status: Int32
        public var stdoutBytes: [UInt8]
        public var stderr: String
        public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    }

    /// Runs `argv` (argv[0] a path) with the given environment (default: this process's) and folder.
    public static func run(
        _ argv: [String], environment: [String: String]? = nil, cwd: String? = nil, input: [UInt8] = []
    ) throws -> Result {
        let dir = try Scratch.directory("cmd")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inPath = dir + "/stdin", outPath = dir + "/stdout", errPath = dir + "/stderr"
        _ = FileManager.default.createFile(atPath: inPath, contents: Data(input))
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        if let environment { process.environment = environment }
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let stdin = FileHandle(forReadingAtPath: inPath)!
        let stdout = FileHandle(forWritingAtPath: outPath)!
        let stderr = FileHandle(forWritingAtPath: errPath)!
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        // Waits on the termination handler, not `waitUntilExit()`: on Linux that can return while
        // the child still runs (swift-corelibs-foundation#4740), which read as status 0 with an
        // empty stdout in a loaded test run. The handler runs once the child is reaped.
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        exited.wait()
        try? stdin.close()
        try? stdout.close()
        try? stderr.close()
        return Result(
            status: process.terminationStatus,
            stdoutBytes: [UInt8](FileManager.default.contents(atPath: outPath) ?? Data()),
            stderr: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
    }
}

/// Polls `condition` until it holds or `seconds` pass; generous deadlines, no fixed sleeps.
public func poll(_ seconds: Double, _ condition: () -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// A value shared with `@Sendable` closures in tests.
public final class LockedBox<T: Sendable>: @unchecked Sendable {
    private var stored: T
    private let lock = NSLock()
    public init(_ value: T) { stored = value }
    public var value: T { lock.withLock { stored } }
    public func mutate(_ body: (inout T) -> Void) { lock.withLock { body(&stored) } }
}
