#if canImport(Glibc)
import Glibc
#endif
public import CoreSupport

/// How one lifecycle script ended.
public struct ScriptResult: Sendable {
    /// Which script: `on-create` or `on-start`, and from which file.
    public var name: String
    /// How the script's process ended (nil if it could not start).
    public var status: ExitStatus?
    public var timedOut: Bool
    public var seconds: Double
    /// The last lines it printed.
    public var lastLines: [String]

    public var succeeded: Bool { !timedOut && status == .exited(0) }

    /// A one-line account for the user: what failed, how, and its last lines.
    public var report: String {
        let how: String
        if timedOut {
            how = "timed out after \(Int(seconds.rounded())) s (its process group was killed)"
        } else if let status {
            how = status.description
        } else {
            how = "could not be started"
        }
        let tail = lastLines.isEmpty ? "" : "\n--- last lines ---\n" + lastLines.joined(separator: "\n")
        return "\(name) \(how)\(tail)"
    }
}

/// Runs lifecycle scripts: each in its own session (its own process group), with a time-out, output to the lifecycle log.
///
/// A script's background jobs (`nohup ... &`) share its process group: they survive a script
/// that ends on its own, and only a timed-out script has its group killed (SIGTERM, then SIGKILL).
public struct ScriptRunner: Sendable {
    /// The log every script's output is appended to (`$WB_HOME/logs/lifecycle.log`).
    public let logFile: String
    /// Where scripts are written before they run.
    public let scratchDirectory: String

    public init(home: String) {
        logFile = ScriptRunner.logFile(home: home)
        scratchDirectory = FilePath.join(home, "runtime")
    }

    public static func logFile(home: String) -> String { FilePath.join(home, "logs", "lifecycle.log") }

    /// Runs `script` with `/bin/sh` in `directory`, waiting at most `timeout` seconds.
    public func run(name: String, script: String, environment: [String: String], directory: String, timeout: Double) async -> ScriptResult {
        try? FileIO.createDirectory(FilePath.directory(of: logFile), mode: 0o700)
        try? FileIO.createDirectory(scratchDirectory, mode: 0o700)
        let file = FilePath.join(scratchDirectory, "lifecycle-\(Identifier.uuid()).sh")
        defer { unlink(file) }
        OutputsJournal.append("=== \(Clock.iso8601()) \(name): started in \(directory)\n", to: logFile)
        let offset = fileSize(logFile)
        let started = Clock.monotonic()
        var result = ScriptResult(name: name, status: nil, timedOut: false, seconds: 0, lastLines: [])
        do {
            try AtomicFile.write(script, to: file, mode: 0o700)
            let process = try ChildProcess(
                argv: ["/bin/sh", file], environment: Environment.all().merging(environment) { _, new in new },
                directory: directory, output: .file(logFile), newSession: true)
            if let status = await process.wait(timeout: timeout) {
                result.status = status
            } else {
                result.timedOut = true
                killpg(process.pid, SIGTERM)
                if await process.wait(timeout: 2) == nil { killpg(process.pid, SIGKILL) }
                result.status = await process.wait(timeout: 10)
            }
        } catch {
            OutputsJournal.append("wb: cannot run the script: \(error)\n", to: logFile)
        }
        result.seconds = Clock.monotonic() - started
        result.lastLines = lastLines(of: logFile, from: offset, count: 10)
        let how = result.timedOut ? "timed out after \(Int(result.seconds.rounded())) s" : (result.status?.description ?? "did not start")
        OutputsJournal.append("=== \(Clock.iso8601()) \(name): \(how)\n", to: logFile)
        return result
    }

    private func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    private func lastLines(of path: String, from offset: Int, count: Int) -> [String] {
        guard let bytes = try? FileIO.read(path), offset <= bytes.count else { return [] }
        let text = String(decoding: bytes[offset...], as: UTF8.self)
        return text.split(separator: "\n").suffix(count).map(String.init)
    }
}

/// Runs a session's on-create and on-start scripts, global ones first, then the workspace's.
public struct LifecycleScripts: Sendable {
    public let home: String
    public let runner: ScriptRunner

    public init(home: String) {
        self.home = home
        runner = ScriptRunner(home: home)
    }

    /// The outcome of preparing a session.
    public struct Preparation: Sendable {
        public var results: [ScriptResult] = []
        /// The first failure that stops the session from starting, if any.
        public var blockingFailure: ScriptResult?
        /// Failures let through by `continue_on_failure: true`.
        public var toleratedFailures: [ScriptResult] = []

        /// No scripts run (yet).
        public init() {}
    }

    /// The global config, then the workspace's (either may be missing).
    public func configs(workspace: String) throws(LifecycleError) -> [LifecycleConfig] {
        var configs: [LifecycleConfig] = []
        if let global = try LifecycleConfig.load(Workspace.globalConfigFile(home: home)) { configs.append(global) }
        if let local = try LifecycleConfig.load(Workspace.configFile(workspace)) { configs.append(local) }
        return configs
    }

    /// Sets the workspace up if it is new (creating `.wb/` and running on-create), then runs on-start.
    ///
    /// With `setUp` false (`wb open` of a notebook outside any workspace: a read-only folder or a git
    /// work tree must not change) nothing is created: no `.wb/`, no on-create, and only the global
    /// config's on-start runs, in `workspace` (the notebook's folder), as SageMaker runs a user's
    /// lifecycle config for every session.
    public func prepare(workspace: String, sessionID: String, notebook: String, setUp: Bool = true) async throws(LifecycleError)
        -> Preparation
    {
        let configs: [LifecycleConfig]
        if setUp {
            configs = try self.configs(workspace: workspace)
            do {
                try FileIO.createDirectory(FilePath.join(workspace, Workspace.folderName), mode: 0o755)
            } catch {
                throw LifecycleError(.invalidConfig, "cannot set up the workspace \(workspace): \(error)")
            }
        } else {
            configs = try LifecycleConfig.load(Workspace.globalConfigFile(home: home)).map { [$0] } ?? []
        }
        let environment = [
            "WB_WORKSPACE": workspace, "WB_USER": Environment.userName, "WB_SESSION_ID": sessionID, "WB_HOME": home,
            "WB_NOTEBOOK": notebook,
        ]
        var preparation = Preparation()
        let marker = Workspace.createdMarker(workspace)
        let needsCreate = setUp && !FileIO.exists(marker)
        for (event, pick) in [("on-create", \LifecycleConfig.onCreate), ("on-start", \LifecycleConfig.onStart)] {
            if event == "on-create", !needsCreate { continue }
            for config in configs {
                guard let script = config[keyPath: pick] else { continue }
                var env = environment
                env["WB_LIFECYCLE_EVENT"] = event
                let result = await runner.run(
                    name: "\(event) script of \(config.file ?? "config")", script: script, environment: env, directory: workspace,
                    timeout: config.timeout)
                preparation.results.append(result)
                if !result.succeeded {
                    if config.continueOnFailure {
                        preparation.toleratedFailures.append(result)
                    } else {
                        preparation.blockingFailure = result
                        return preparation
                    }
                }
            }
            if event == "on-create", needsCreate {
                try? AtomicFile.write(Clock.iso8601() + "\n", to: marker, mode: 0o644)
            }
        }
        return preparation
    }
}
