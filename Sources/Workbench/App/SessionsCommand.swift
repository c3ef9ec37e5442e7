import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Kernels
import Lifecycle
import Notebook
import Storage

extension Exit {
    static let noSuchSession = ExitCode(40)
    static let scriptFailed = ExitCode(41)
    static let invalidLifecycleConfig = ExitCode(42)
    static let stopFailed = ExitCode(43)

    static let sessionsHelp = """
        Exit codes: 0 success; 5 the notebook cannot be read; 6 the kernel cannot be found or started; \
        23 the domain cannot be opened; \
        40 no such session; 41 a lifecycle script failed or timed out; 42 a lifecycle config is invalid; \
        43 a session could not be stopped; 64 bad usage.
        """

    /// The exit code for a Lifecycle error.
    static func lifecycle(_ error: LifecycleError) -> ExitCode {
        switch error.code {
        case .registry: domainUnavailable
        case .noSuchSession: noSuchSession
        case .invalidConfig: invalidLifecycleConfig
        case .scriptFailed: scriptFailed
        case .kernel: kernelUnavailable
        }
    }
}

/// Opens a domain's session registry; failures are printed and become exit codes.
func openRegistry(_ options: DomainOptions, command: String) throws -> SessionRegistry {
    let domain = try options.open(command: command)
    do {
        return try SessionRegistry(domain: domain)
    } catch {
        printError("wb \(command): \(error)")
        throw Exit.lifecycle(error)
    }
}

/// Seconds as `1h02m`, `3m05s` or `12s`.
func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded(.down))
    if s >= 3600 { return "\(s / 3600)h\(String(format2: (s % 3600) / 60))m" }
    if s >= 60 { return "\(s / 60)m\(String(format2: s % 60))s" }
    return "\(s)s"
}

extension String {
    init(format2 value: Int) { self = value < 10 ? "0\(value)" : String(value) }
}

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "Sessions: notebooks with a running kernel, kept by a host process when no terminal shows them.",
        discussion: Exit.sessionsHelp,
        subcommands: [List.self, Start.self, Stop.self, Host.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List sessions: id, notebook, kernel, pid, state, started, last activity, clients, idle for.",
            discussion: "Entries whose kernel died are cleaned (and logged to the cull log) first.\n" + Exit.sessionsHelp)

        @OptionGroup var domain: DomainOptions
        @Flag(help: "Print JSON for scripts.") var json = false

        func run() async throws {
            let registry = try openRegistry(domain, command: "sessions list")
            let sessions: [SessionRecord]
            do {
                // Idle culling off: this only cleans entries whose kernel is gone.
                _ = try await Culler(policy: CullPolicy(idleTimeout: 0), registry: registry).check()
                sessions = try registry.list()
            } catch {
                printError("wb sessions list: \(error)")
                throw Exit.lifecycle(error)
            }
            let now = Clock.now()
            if json {
                printJSON(["sessions": .array(sessions.map { $0.json(now: now) })])
                return
            }
            if sessions.isEmpty {
                print("No sessions.")
                return
            }
            let header = ["ID", "NOTEBOOK", "KERNEL", "PID", "STATE", "STARTED", "LAST ACTIVITY", "CLIENTS", "IDLE FOR"]
            let rows = sessions.map { s -> [String] in
                [
                    String(s.id.prefix(8)), s.notebook, s.kernelName, s.kernel.map { String($0.pid) } ?? "-",
                    s.state == .running ? s.executionState : s.state.rawValue, String(Clock.iso8601(s.startedAt).prefix(19)),
                    String(Clock.iso8601(s.lastActivity).prefix(19)), String(s.clients), formatDuration(s.idleSeconds(now: now)),
                ]
            }
            let widths = header.indices.map { i in max(header[i].count, rows.map { $0[i].count }.max() ?? 0) }
            for line in [header] + rows {
                print(line.indices.map { line[$0].padded(to: widths[$0]) }.joined(separator: "  ").trimmedRight())
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a session for a notebook: run lifecycle scripts, then start its kernel in a background host.",
            discussion: """
                The workspace is the nearest folder holding `.wb/` (else the notebook's folder, which gets one). \
                On a new workspace the on-create scripts run first; then the on-start scripts (global, then the \
                workspace's). A failing or timed-out script stops the session from starting unless its config \
                says `continue_on_failure: true`. See `wb lifecycle logs`.
                """ + "\n" + Exit.sessionsHelp)

        @OptionGroup var domain: DomainOptions
        @Argument(help: "The notebook.") var notebook: String
        @Option(help: "The kernel (default: the notebook's kernelspec, else python3).") var kernel: String?
        @Option(help: "Seconds to wait for the kernel to be ready.") var timeout: Double = 120
        @Flag(help: "Print JSON for scripts.") var json = false

        func run() async throws {
            let registry = try openRegistry(domain, command: "sessions start")
            let path = FilePath.absolute(notebook)
            let parsed: Notebook
            do {
                parsed = try Notebook.read(path: path)
            } catch {
                printError("wb sessions start: \(error)")
                throw Exit.badNotebook
            }
            let kernelName = kernel ?? parsed.metadata["kernelspec"]?["name"]?.stringValue ?? "python3"
            do {
                _ = try KernelSpecFinder().spec(named: kernelName)
            } catch {
                printError("wb sessions start: \(error)")
                throw Exit.kernelUnavailable
            }
            let record: SessionRecord
            do {
                record = try await SessionLauncher.start(registry: registry, notebook: path, kernelName: kernelName, timeout: timeout) {
                    printError("wb sessions start: \($0)")
                }
            } catch {
                printError("wb sessions start: \(error.message)")
                throw error.exit
            }
            if json {
                printJSON(record.json(now: Clock.now()))
            } else {
                print(record.id)
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop sessions: shutdown_request to the kernel, then SIGTERM, then SIGKILL.",
            discussion: "ID may be any unique prefix of a session id.\n" + Exit.sessionsHelp)

        @OptionGroup var domain: DomainOptions
        @Argument(help: "The session id (or a unique prefix).") var id: String?
        @Flag(help: "Stop every session.") var all = false
        @Flag(help: "Skip the polite shutdown_request: SIGTERM, then SIGKILL.") var force = false
        @Option(help: "Seconds each step waits for the kernel to go.") var timeout: Double = 5
        @Flag(help: "Print JSON for scripts.") var json = false

        func validate() throws {
            guard (id != nil) != all else { throw ValidationError("give a session ID or --all (not both)") }
        }

        func run() async throws {
            let registry = try openRegistry(domain, command: "sessions stop")
            var targets: [SessionRecord]
            do {
                let sessions = try registry.list()
                if all {
                    targets = sessions
                } else {
                    let id = self.id ?? ""
                    targets = sessions.filter { $0.id == id }
                    if targets.isEmpty { targets = sessions.filter { $0.id.hasPrefix(id) } }
                    if targets.count > 1 {
                        printError("wb sessions stop: \(id) matches \(targets.count) sessions; give more of the id")
                        throw ExitCode.validationFailure
                    }
                    if targets.isEmpty {
                        printError("wb sessions stop: no session \(id) (see wb sessions list)")
                        throw Exit.noSuchSession
                    }
                }
            } catch let error as LifecycleError {
                printError("wb sessions stop: \(error)")
                throw Exit.lifecycle(error)
            }
            var results: [JSON] = []
            var failed = false
            for session in targets {
                guard (try? registry.claim(session.id)) == true else {
                    if !json { print("\(session.id.prefix(8))  already being stopped by another process") }
                    continue
                }
                let outcome = await SessionStopper.stop(session, registry: registry, force: force, timeout: timeout)
                let survived = session.kernel?.isAlive ?? false
                failed = failed || survived
                results.append(["id": .string(session.id), "notebook": .string(session.notebook), "stopped_by": .string(outcome.rawValue), "stopped": .bool(!survived)])
                if !json {
                    print("\(session.id.prefix(8))  \(session.notebook)  " + (survived ? "still running after SIGKILL" : "stopped (\(outcome.rawValue))"))
                }
            }
            if json { printJSON(["stopped": .array(results)]) }
            if failed { throw Exit.stopFailed }
        }
    }

    /// The per-session host process `wb sessions start` launches.
    struct Host: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a session host (started by `wb sessions start`).", shouldDisplay: false)

        @OptionGroup var domain: DomainOptions
        @Option var id: String
        @Option var notebook: String
        @Option var workspace: String
        @Option var kernel: String

        func run() async throws {
            let registry = try openRegistry(domain, command: "sessions host")
            let home = registry.domain.path
            do {
                let spec = try KernelSpecFinder().spec(named: kernel)
                let options = SessionHost.Options(
                    id: id, workspace: workspace, notebook: notebook, spec: spec, pythonPrefix: KernelSpecFinder.defaultPythonPrefix(),
                    runtimeDirectory: FilePath.join(home, "runtime"), outputsJournal: OutputsJournal.path(for: notebook, home: home),
                    extraEnvironment: ["WB_WORKSPACE": workspace], setup: SQLMagic.kernelSetup(for: spec, home: home))
                let reason = try await SessionHost.run(options, registry: registry)
                print("\(Clock.iso8601()) session \(id) ended: \(reason)")
            } catch let error as LifecycleError {
                printError("wb sessions host: \(error)")
                throw Exit.lifecycle(error)
            } catch {
                printError("wb sessions host: \(error)")
                throw Exit.kernelUnavailable
            }
        }
    }
}

/// Starts sessions: lifecycle scripts, then a background session host that owns the kernel (`wb sessions start`, `wb open`).
enum SessionLauncher {
    /// Why a session did not start, with the exit code for it.
    struct Failure: Error {
        var message: String
        var exit: ExitCode
    }

    /// Runs the workspace's lifecycle scripts, starts `wb sessions host` for `path` and waits until its kernel runs.
    ///
    /// The workspace is the nearest folder holding `.wb/`, else the notebook's folder, which gets one
    /// when `setUpWorkspace`; without it (`wb open`: a read-only folder or a git work tree must not
    /// change) a notebook outside any workspace gets no `.wb/` and runs only the global on-start script
    /// (`$WB_HOME/lifecycle.yaml`), in the notebook's folder. Warnings of scripts that failed but
    /// may continue go to `warn`; `launched` gets the host process as soon as it runs.
    static func start(
        registry: SessionRegistry, notebook path: String, kernelName: String, timeout: Double, setUpWorkspace: Bool = true,
        launched: (ChildProcess) -> Void = { _ in }, warn: (String) -> Void
    ) async throws(Failure) -> SessionRecord {
        let found = Workspace.find(from: FilePath.directory(of: path))
        let workspace = found ?? FilePath.directory(of: path)
        let id = Identifier.uuid()
        let home = registry.domain.path
        let preparation: LifecycleScripts.Preparation
        do {
            preparation = try await LifecycleScripts(home: home).prepare(
                workspace: workspace, sessionID: id, notebook: path, setUp: found != nil || setUpWorkspace)
        } catch {
            throw SessionLauncher.Failure(message: "\(error)", exit: Exit.lifecycle(error))
        }
        for failure in preparation.toleratedFailures {
            warn("warning: \(failure.report)\n(continuing: continue_on_failure is true)")
        }
        if let failure = preparation.blockingFailure {
            throw SessionLauncher.Failure(
                message: "the session was not started: \(failure.report)\nFull output: wb lifecycle logs", exit: Exit.scriptFailed)
        }
        let logs = FilePath.join(home, "logs")
        try? FileIO.createDirectory(logs, mode: 0o700)
        let hostLog = FilePath.join(logs, "session-\(id).log")
        let host: ChildProcess
        do {
            keepFileDescriptorsFromChildren()
            var env = Environment.all()
            env["WB_HOME"] = home
            host = try ChildProcess(
                argv: [selfExecutable(), "sessions", "host", "--id", id, "--notebook", path, "--workspace", workspace, "--kernel", kernelName],
                environment: env, directory: workspace, output: .file(hostLog))
        } catch {
            throw SessionLauncher.Failure(message: "cannot start the session host: \(error)", exit: Exit.kernelUnavailable)
        }
        launched(host)
        let deadline = Clock.monotonic() + timeout
        var record: SessionRecord? = nil
        while Clock.monotonic() < deadline {
            if let found = try? registry.session(id), found.state == .running {
                record = found
                break
            }
            if !host.isRunning { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        guard let record else {
            let tail = ((try? FileIO.readText(hostLog)) ?? "").split(separator: "\n").suffix(15).joined(separator: "\n")
            throw SessionLauncher.Failure(message: "the kernel did not start within \(Int(timeout)) s\n\(tail)", exit: Exit.kernelUnavailable)
        }
        return record
    }
}

/// Marks every descriptor above stderr close-on-exec, so the long-lived host does not inherit them.
///
/// A caller waiting for this process through a pipe or socket (a script reading our output, Foundation's
/// `Process`) would otherwise wait as long as the host runs.
func keepFileDescriptorsFromChildren() {
    for name in FileIO.list("/proc/self/fd") {
        guard let fd = Int32(name), fd > 2 else { continue }
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }
}

/// The path of the running `wb` executable.
func selfExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return CommandLine.arguments[0] }
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

extension String {
    func trimmedRight() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
