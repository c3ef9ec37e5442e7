import Foundation

/// Runs the pinned venv's Python (from `WB_PYTHON_ENV`, which scripts/test sets) to cross-check against.
///
/// Tests that need it fail with a clear message when the variable is missing:
/// the comparison with Python is the point of those tests, so they never skip.
enum Python {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The venv's interpreter.
    static func executable() throws -> String {
        guard let venv = ProcessInfo.processInfo.environment["WB_PYTHON_ENV"], !venv.isEmpty else {
            throw Failure(
                description: """
                    WB_PYTHON_ENV is not set. Run the tests with scripts/test, or set it to the venv that \
                    `source scripts/lib.sh; ensure_venv scripts/requirements.txt venv` prints.
                    """)
        }
        let python = venv + "/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Failure(description: "WB_PYTHON_ENV=\(venv) has no bin/python")
        }
        return python
    }

    /// Runs `script` with `arguments`, feeding it `input`; returns its standard output.
    /// A non-zero exit is an error carrying the standard error.
    static func run(_ script: String, arguments: [String] = [], input: [UInt8] = []) throws -> [UInt8] {
        let python = try executable()
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let inPath = dir + "/stdin", outPath = dir + "/stdout", errPath = dir + "/stderr"
        _ = FileManager.default.createFile(atPath: inPath, contents: Data(input))
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-X", "utf8", "-c", script] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONHASHSEED"] = "0"
        process.environment = environment
        let stdin = FileHandle(forReadingAtPath: inPath)!
        let stdout = FileHandle(forWritingAtPath: outPath)!
        let stderr = FileHandle(forWritingAtPath: errPath)!
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        process.waitUntilExit()
        try? stdin.close()
        try? stdout.close()
        try? stderr.close()
        let out = [UInt8](FileManager.default.contents(atPath: outPath) ?? Data())
        if process.terminationStatus != 0 {
            let err = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
            throw Failure(description: "python exited with \(process.terminationStatus):\n\(err)")
        }
        return out
    }

    /// Like `run`, returning standard output as text.
    static func text(_ script: String, arguments: [String] = [], input: [UInt8] = []) throws -> String {
        String(decoding: try run(script, arguments: arguments, input: input), as: UTF8.self)
    }
}

/// Fresh directories for tests, under `WB_TEST_SCRATCH` when scripts/test sets it.
enum Scratch {
    static func directory() throws -> String {
        let base = ProcessInfo.processInfo.environment["WB_TEST_SCRATCH"] ?? NSTemporaryDirectory()
        let path = (base as NSString).appendingPathComponent("wb-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
