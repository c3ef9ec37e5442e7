public import CoreSupport
public import Notebook
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a kernel is doing, as the status bar shows it.
public enum KernelStatus: Sendable, Equatable, CustomStringConvertible {
    case starting
    case idle
    case busy
    case restarting
    case dead(String)
    case shutDown

    public var description: String {
        switch self {
        case .starting: return "starting"
        case .idle: return "idle"
        case .busy: return "busy"
        case .restarting: return "restarting"
        case .dead(let why): return "dead (\(why))"
        case .shutDown: return "shut down"
        }
    }
}

/// Starts, watches and stops one kernel process, and talks to it.
///
/// The kernel runs in its own session (so an interrupt reaches its whole
/// process group). Its exit is noticed at once by a waiting thread and turned
/// into `.dead`; every request then ends instead of hanging.
public final class KernelManager: Sendable {
    public let spec: KernelSpec
    public let connection: ConnectionInfo
    public let connectionFile: String
    public let logFile: String
    public let client: KernelClient
    /// Seconds of heartbeat silence after which the kernel counts as dead.
    public let heartbeatTimeout: Double
    private let launch: Launch
    private let state: Mutex<State>

    struct Launch: Sendable {
        var argv: [String]
        var environment: [String: String]
        var directory: String?
        var startupCode: String?
        /// For a kernel another process owns (`connect`): asks that owner for a new kernel process and returns its pid.
        var respawn: (@Sendable (Int32) async throws -> Int32)? = nil
        /// For a kernel another process owns: tells that owner a restart is coming, before the old process is stopped.
        var willRestart: (@Sendable () async -> Void)? = nil
    }

    private struct State {
        var process: ChildProcess
        var status: KernelStatus = .starting
        var kernelInfo: JSONObject? = nil
        var expectingExit = false
        var heartbeatWatch: Task<Void, Never>? = nil
        /// The process has not yet run the setup's startup code.
        var needsStartup = true
        var startupProblem: String? = nil
    }

    /// Starts a kernel from its spec, in `directory` (the notebook's folder).
    /// `transport` (`tcp` or `ipc`) overrides the choice `transport(for:ipcPath:)` makes. A kernel
    /// whose heartbeat stays silent for `heartbeatTimeout` seconds is declared dead (a hung or
    /// stopped process), as Jupyter's restarter does. `setup` adds environment variables and code
    /// that `waitForReady` runs silently once each kernel process is ready (after a restart too).
    public static func start(
        spec: KernelSpec, directory: String? = nil, pythonPrefix: String? = KernelSpecFinder.defaultPythonPrefix(),
        runtimeDirectory: String = FilePath.join(Environment.workbenchHome, "runtime"), extraEnvironment: [String: String] = [:],
        setup: KernelSetup = KernelSetup(), transport: String? = nil, heartbeatTimeout: Double = 30
    ) throws(KernelError) -> KernelManager {
        let id = Identifier.uuid()
        var connection: ConnectionInfo
        do {
            try FileIO.createDirectory(runtimeDirectory, mode: 0o700)
            let ipcPath = FilePath.join(runtimeDirectory, "k-\(id.prefix(8))")
            if (transport ?? KernelManager.transport(for: spec, ipcPath: ipcPath)) == "ipc" {
                connection = ConnectionInfo.allocateIPC(path: ipcPath, kernelName: spec.name)
            } else {
                connection = try ConnectionInfo.allocate(kernelName: spec.name)
            }
            chmod(runtimeDirectory, 0o700)
        } catch {
            throw KernelError(.launchFailed, "cannot prepare the kernel's connection: \(error)")
        }
        let connectionFile = FilePath.join(runtimeDirectory, "kernel-\(id).json")
        let logFile = FilePath.join(runtimeDirectory, "kernel-\(id).log")
        do {
            try connection.write(path: connectionFile)
        } catch {
            throw KernelError(.launchFailed, "cannot write the connection file: \(error)")
        }
        let launch = Launch(
            argv: formatArgv(spec: spec, connectionFile: connectionFile, pythonPrefix: pythonPrefix),
            environment: kernelEnvironment(spec: spec, extra: extraEnvironment.merging(setup.environment) { _, new in new }),
            directory: directory, startupCode: setup.startupCode)
        let process: ChildProcess
        do {
            process = try ChildProcess(
                argv: launch.argv, environment: launch.environment, directory: directory, output: .file(logFile))
        } catch {
            unlink(connectionFile)
            throw KernelError(.launchFailed, "cannot start kernel \(spec.name) (\(launch.argv.joined(separator: " "))): \(error.reason)")
        }
        let client: KernelClient
        do {
            client = try KernelClient(connection: connection)
        } catch {
            process.signal(SIGKILL)
            throw error
        }
        let manager = KernelManager(
            spec: spec, connection: connection, connectionFile: connectionFile, logFile: logFile, client: client,
            launch: launch, process: process, heartbeatTimeout: heartbeatTimeout)
        manager.watch(process)
        manager.startHeartbeatWatch()
        return manager
    }

    /// Connects to a running kernel that another process started (a session host), through its connection file.
    ///
    /// The kernel is watched by polling its pid (`ChildProcess(adopting:)`); interrupting signals its
    /// process group, shutting down sends `shutdown_request`, then SIGTERM, then SIGKILL, as for a kernel
    /// started here. Its owner already ran any start-up code. Since only the owner can launch the
    /// next process, `restart` calls `willRestart`, stops this one and calls `respawn` with its pid, which returns the new pid.
    /// Readiness is asked on the control channel, which answers while a cell runs on the shell channel.
    public static func connect(
        spec: KernelSpec, connectionFile: String, pid: Int32, logFile: String? = nil, heartbeatTimeout: Double = 30,
        willRestart: @escaping @Sendable () async -> Void = {}, respawn: @escaping @Sendable (Int32) async throws -> Int32
    ) throws(KernelError) -> KernelManager {
        let connection: ConnectionInfo
        do {
            connection = try ConnectionInfo.read(path: connectionFile)
        } catch {
            throw KernelError(.launchFailed, "cannot read the kernel's connection file \(connectionFile): \(error)")
        }
        guard let process = ChildProcess(adopting: pid) else {
            throw KernelError(.died, "kernel \(spec.name) (pid \(pid)) is not running")
        }
        let client = try KernelClient(connection: connection)
        let log = logFile ?? (connectionFile.hasSuffix(".json") ? String(connectionFile.dropLast(5)) + ".log" : connectionFile + ".log")
        let manager = KernelManager(
            spec: spec, connection: connection, connectionFile: connectionFile, logFile: log, client: client,
            launch: Launch(argv: [], environment: [:], directory: nil, startupCode: nil, respawn: respawn, willRestart: willRestart),
            process: process,
            heartbeatTimeout: heartbeatTimeout)
        manager.state.withLock { $0.needsStartup = false }
        manager.watch(process)
        manager.startHeartbeatWatch()
        return manager
    }

    /// Whether another process owns the kernel (it was joined with `connect`).
    public var isAdopted: Bool { launch.respawn != nil }

    private init(
        spec: KernelSpec, connection: ConnectionInfo, connectionFile: String, logFile: String, client: KernelClient,
        launch: Launch, process: ChildProcess, heartbeatTimeout: Double
    ) {
        self.heartbeatTimeout = heartbeatTimeout
        self.spec = spec
        self.connection = connection
        self.connectionFile = connectionFile
        self.logFile = logFile
        self.client = client
        self.launch = launch
        self.state = Mutex(State(process: process))
    }

    /// The transport for a kernel: `$WB_KERNEL_TRANSPORT` (`tcp` or `ipc`) when set; else
    /// Unix domain sockets for ipykernel, which supports them (they live in the owner-only
    /// runtime folder, so no other local user can reach the kernel, and they are a little
    /// faster than loopback TCP); else TCP, which every kernel supports.
    static func transport(for spec: KernelSpec, ipcPath: String) -> String {
        if let forced = Environment.nonEmpty("WB_KERNEL_TRANSPORT"), forced == "tcp" || forced == "ipc" { return forced }
        // A socket path must fit in sockaddr_un (108 bytes with the "-N" suffix).
        guard ipcPath.utf8.count < 100 else { return "tcp" }
        let launchesIPykernel = spec.argv.contains { $0 == "ipykernel_launcher" || $0 == "ipykernel" || $0.hasSuffix("/ipykernel_launcher.py") }
        return launchesIPykernel ? "ipc" : "tcp"
    }

    /// `argv` with `{connection_file}` and `{resource_dir}` filled in, and a bare
    /// `python` pointed at Workbench's Python environment (as jupyter_client does with its own).
    static func formatArgv(spec: KernelSpec, connectionFile: String, pythonPrefix: String?) -> [String] {
        var argv = spec.argv.map { arg in
            arg.replacingAll("{connection_file}", with: connectionFile)
                .replacingAll("{resource_dir}", with: spec.resourceDirectory)
                .replacingAll("{prefix}", with: pythonPrefix ?? "")
        }
        if let first = argv.first, ["python", "python3"].contains(first), let prefix = pythonPrefix {
            let python = FilePath.join(prefix, "bin", "python")
            if FileIO.exists(python) { argv[0] = python }
        }
        return argv
    }

    /// The caller's environment plus the spec's `env` (whose `${VAR}` references are expanded).
    static func kernelEnvironment(spec: KernelSpec, extra: [String: String]) -> [String: String] {
        var env = Environment.all()
        for (key, value) in spec.env { env[key] = expandVariables(value, env) }
        for (key, value) in extra { env[key] = value }
        env["JPY_PARENT_PID"] = String(getpid())
        return env
    }

    static func expandVariables(_ text: String, _ env: [String: String]) -> String {
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.first == "{", let close = after.firstIndex(of: "}") {
                let name = String(after[after.index(after: after.startIndex)..<close])
                out += env[name] ?? "${\(name)}"
                rest = after[after.index(after: close)...]
            } else {
                out += "$"
                rest = after
            }
        }
        return out + rest
    }

    private func watch(_ process: ChildProcess) {
        process.onExit { [weak self] status in
            guard let self else { return }
            let expected = self.state.withLock { s -> Bool in
                guard s.process.pid == process.pid else { return true }
                if s.expectingExit {
                    s.status = .shutDown
                    return true
                }
                s.status = .dead(status.description)
                return false
            }
            if !expected { self.client.failAll(status.description) }
        }
    }

    /// Checks the heartbeat once a second; a kernel silent for `heartbeatTimeout` is dead.
    private func startHeartbeatWatch() {
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let self else { return }
                let silent = self.client.secondsWithoutHeartbeat
                guard silent > self.heartbeatTimeout else { continue }
                let declared = self.state.withLock { s -> Bool in
                    // Only a kernel that was ready counts: a slow start is waitForReady's business.
                    switch s.status {
                    case .idle, .busy:
                        guard s.process.isRunning, !s.expectingExit else { return false }
                        s.status = .dead("no heartbeat for \(Int(silent)) s")
                        return true
                    default:
                        return false
                    }
                }
                if declared { self.client.failAll("it stopped answering its heartbeat for \(Int(silent)) s") }
            }
        }
        state.withLock { $0.heartbeatWatch = task }
    }

    public var status: KernelStatus {
        state.withLock { s in
            if case .idle = s.status, let exec = client.executionState, exec == "busy" { return .busy }
            return s.status
        }
    }

    public var pid: Int32 { state.withLock { $0.process.pid } }
    public var kernelInfo: JSONObject? { state.withLock { $0.kernelInfo } }
    public var isAlive: Bool { state.withLock { $0.process.isRunning } }

    private var process: ChildProcess { state.withLock { $0.process } }

    /// The last lines the kernel wrote to its log, to explain a failure (known noise left out).
    public func logTail(lines: Int = 15) -> String {
        guard let text = try? FileIO.readText(logFile) else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("Kernel is running over TCP without encryption") }
            .suffix(lines).joined(separator: "\n").trimmed()
    }

    private func deathError(_ reason: String) -> KernelError {
        let tail = logTail()
        return KernelError(.died, "kernel \(spec.name) died (\(reason))" + (tail.isEmpty ? "" : "\n--- kernel log (\(logFile)) ---\n\(tail)"))
    }

    /// Waits until the kernel answers `kernel_info` and its IOPub channel is live.
    @discardableResult
    public func waitForReady(timeout: Double = 60) async throws(KernelError) -> JSONObject {
        let deadline = Clock.monotonic() + timeout
        var attempts = 0, replies = 0
        // How long to wait for IOPub after a reply before asking again: short at first, since the
        // usual cause is ZeroMQ's slow joiner (the kernel published the status before our
        // subscription reached it) and the next request's status then arrives; longer later.
        var iopubGrace = 0.05
        while Clock.monotonic() < deadline {
            if case .dead(let why) = state.withLock({ $0.status }) { throw deathError(why) }
            attempts += 1
            let request = client.send("kernel_info_request", channel: isAdopted ? .control : .shell)
            var reply: JSONObject? = nil
            var iopubLive = false
            let remaining = deadline - Clock.monotonic()
            // After the reply, allow a short time for this request's IOPub status to show IOPub is connected.
            let outcome = await collect(request, timeout: remaining) { channel, message, replyAt in
                if channel == .shell || channel == .control, message.msgType == "kernel_info_reply" { reply = message.content }
                if channel == .iopub, message.msgType == "status" { iopubLive = true }
                if reply != nil, iopubLive { return true }
                if let replyAt, Clock.monotonic() - replyAt > iopubGrace { return true }
                return false
            }
            if case .died(let why) = outcome { throw deathError(why) }
            if reply != nil { replies += 1 }
            iopubGrace = min(iopubGrace * 2, 0.5)
            if let reply, iopubLive {
                // Input requests to a stdin socket that is not connected yet are dropped by the kernel.
                try await waitForStdin(until: deadline)
                state.withLock { s in
                    s.kernelInfo = reply
                    if case .starting = s.status { s.status = .idle }
                    if case .restarting = s.status { s.status = .idle }
                }
                client.resetHeartbeat()
                try await runStartupCode()
                return reply
            }
        }
        // Say which part never answered: the kernel itself (still starting, or stuck), or its IOPub channel.
        let heartbeat = client.secondsSinceHeartbeat == nil ? "the heartbeat never answered either" : "the heartbeat answers"
        let seen =
            replies == 0
            ? "no kernel_info reply to \(attempts) requests (\(heartbeat))"
            : "\(replies) of \(attempts) kernel_info requests answered, but IOPub delivered none of their status messages"
        throw KernelError(
            .notReady, "kernel \(spec.name) (pid \(pid)) did not become ready within \(Int(timeout)) s: \(seen)"
                + (logTail().isEmpty ? "" : "\n--- kernel log ---\n\(logTail())"))
    }

    /// Waits until the stdin channel is connected, or the deadline passes.
    ///
    /// A kernel that never accepts a stdin connection still becomes ready (after up to
    /// 10 s): it only loses `input()`, which it could not serve anyway.
    private func waitForStdin(until deadline: Double) async throws(KernelError) {
        let limit = min(deadline, Clock.monotonic() + 10)
        while !client.stdinConnected, Clock.monotonic() < limit {
            if case .dead(let why) = state.withLock({ $0.status }) { throw deathError(why) }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Runs the setup's startup code once per kernel process: silently, outside the history.
    ///
    /// Code that fails leaves a usable kernel: the failure is kept in `startupProblem` (and the
    /// kernel's own features still work); only a kernel that dies meanwhile is an error.
    private func runStartupCode() async throws(KernelError) {
        guard let code = launch.startupCode else { return }
        let due = state.withLock { s in
            defer { s.needsStartup = false }
            return s.needsStartup
        }
        guard due else { return }
        var options = ExecuteOptions(timeout: 60)
        options.silent = true
        options.storeHistory = false
        let result = await execute(code, options: options)
        let problem: String?
        switch result.outcome {
        case .ok, .aborted:
            problem = nil
        case .kernelDied(let why):
            throw KernelError(.died, why)
        case .error(let name, let value):
            problem = "the start-up code (\(code)) failed: \(name): \(value)"
        case .timedOut:
            problem = "the start-up code (\(code)) did not finish within 60 s"
        }
        state.withLock { $0.startupProblem = problem }
    }

    /// Why the setup's start-up code failed in the current kernel process, if it did.
    public var startupProblem: String? { state.withLock { $0.startupProblem } }

    enum CollectOutcome {
        case done
        case died(String)
        case timedOut
    }

    /// Feeds a request's messages to `handle` until it returns true, the kernel dies or time runs out.
    /// `handle` gets the time the shell reply arrived (nil before it).
    private func collect(
        _ request: KernelClient.Request, timeout: Double,
        handle: (Channel, KernelMessage, Double?) -> Bool
    ) async -> CollectOutcome {
        let msgID = request.msgID
        let client = self.client
        let timer = Task {
            try? await Task.sleep(for: .seconds(max(0.001, timeout)))
            if !Task.isCancelled { client.finish(msgID) }
        }
        // A ticker lets `handle` see time pass when no message comes.
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                client.tick(msgID)
            }
        }
        defer {
            timer.cancel()
            ticker.cancel()
            client.finish(msgID)
        }
        var replyAt: Double? = nil
        for await event in request.events {
            switch event {
            case .message(let channel, let message):
                if channel == .shell || channel == .control, message.msgType.hasSuffix("_reply") { replyAt = replyAt ?? Clock.monotonic() }
                if handle(channel, message, replyAt) { return .done }
            case .kernelDied(let why):
                return .died(why)
            case .deadline:
                return .timedOut
            case .tick:
                if handle(.heartbeat, KernelMessage(header: [:]), replyAt) { return .done }
            }
        }
        return .timedOut
    }

    /// Sends a request and returns its reply's content (for complete, inspect, is_complete, history...).
    public func call(
        _ msgType: String, content: JSONObject = [:], channel: Channel = .shell, timeout: Double = 30
    ) async throws(KernelError) -> JSONObject {
        if case .dead(let why) = state.withLock({ $0.status }) { throw deathError(why) }
        let request = client.send(msgType, content: content, channel: channel)
        let replyType = msgType.hasSuffix("_request") ? String(msgType.dropLast("_request".count)) + "_reply" : ""
        var reply: JSONObject? = nil
        let outcome = await collect(request, timeout: timeout) { ch, message, _ in
            if ch == channel, message.msgType == replyType {
                reply = message.content
                return true
            }
            return false
        }
        switch outcome {
        case .done: return reply ?? [:]
        case .died(let why): throw deathError(why)
        case .timedOut: throw KernelError(.timeout, "kernel \(spec.name) did not answer \(msgType) within \(Int(timeout)) s")
        }
    }

    public func complete(code: String, cursorPosition: Int) async throws(KernelError) -> JSONObject {
        try await call("complete_request", content: ["code": .string(code), "cursor_pos": .int(cursorPosition)])
    }

    public func inspect(code: String, cursorPosition: Int, detailLevel: Int = 0) async throws(KernelError) -> JSONObject {
        try await call(
            "inspect_request",
            content: ["code": .string(code), "cursor_pos": .int(cursorPosition), "detail_level": .int(detailLevel)])
    }

    public func isComplete(code: String) async throws(KernelError) -> JSONObject {
        try await call("is_complete_request", content: ["code": .string(code)])
    }

    public func history(lastN: Int = 10) async throws(KernelError) -> JSONObject {
        try await call(
            "history_request",
            content: ["output": false, "raw": true, "hist_access_type": "tail", "n": .int(lastN)])
    }

    /// How `interrupt()` reached the kernel.
    public enum Interruption: Sendable, Equatable {
        /// SIGINT to the kernel's process group (`interrupt_mode: signal`, the default).
        case signal
        /// An `interrupt_request` on the control channel (`interrupt_mode: message`), with the
        /// content of the `interrupt_reply` the kernel sent back on that channel.
        case message(reply: JSONObject)
    }

    /// Interrupts the running cell: SIGINT to the kernel's process group, or an
    /// `interrupt_request` on the control channel when the spec asks for messages.
    @discardableResult
    public func interrupt() async throws(KernelError) -> Interruption {
        if spec.interruptMode == "message" {
            return .message(reply: try await call("interrupt_request", channel: .control, timeout: 10))
        }
        process.signal(SIGINT)
        return .signal
    }

    /// Runs one cell's code and gathers its outputs.
    ///
    /// Messages are handled on the client's I/O thread as they arrive; the
    /// caller is resumed once, when the reply and the kernel's `idle` status for
    /// this request have both come (or the kernel died, or time ran out).
    /// `onMessage` is called on that thread for every message: keep it quick.
    public func execute(
        _ code: String, options: ExecuteOptions = ExecuteOptions(),
        onMessage: @escaping @Sendable (KernelMessage) -> Void = { _ in },
        onInput: @escaping @Sendable (_ prompt: String, _ password: Bool) async -> String? = { _, _ in nil }
    ) async -> ExecutionResult {
        await submit(code, options: options, onMessage: onMessage, onInput: onInput).result()
    }

    /// Sends a cell to the kernel now and returns a handle to await its result.
    ///
    /// Requests reach the kernel in the order they are submitted and it runs
    /// them one after another, so a runner can queue the next cell while one
    /// runs (as JupyterLab's "run all" does); with `stopOnError` the kernel
    /// aborts the queued ones after an error. A cell's time-out counts from
    /// when the kernel starts it, not from when it was queued.
    public func submit(
        _ code: String, options: ExecuteOptions = ExecuteOptions(),
        onMessage: @escaping @Sendable (KernelMessage) -> Void = { _ in },
        onInput: @escaping @Sendable (_ prompt: String, _ password: Bool) async -> String? = { _, _ in nil }
    ) -> PendingExecution {
        let tracker = ExecutionTracker(onMessage: onMessage)
        if case .dead(let why) = state.withLock({ $0.status }) {
            tracker.finishEarly(.died(why))
            return PendingExecution(tracker: tracker, manager: self)
        }
        let client = self.client
        let content: JSONObject = [
            "code": .string(code), "silent": .bool(options.silent), "store_history": .bool(options.storeHistory),
            "user_expressions": .object([:]), "allow_stdin": .bool(options.allowStdin),
            "stop_on_error": .bool(options.stopOnError),
        ]
        let header = client.send("execute_request", content: content) { [weak self] event in
            switch tracker.handle(event) {
            case .none:
                break
            case .input(let prompt, let password, let parent):
                Task {
                    let answer = await onInput(prompt, password)
                    client.post("input_reply", content: ["value": .string(answer ?? "")], parent: parent, channel: .stdin)
                    // Nobody can answer: interrupt rather than hang (as nbclient does without stdin).
                    if answer == nil { _ = try? await self?.interrupt() }
                }
            case .startDeadline(let msgID):
                guard let seconds = options.timeout else { break }
                tracker.setDeadlineTask(Task {
                    try? await Task.sleep(for: .seconds(seconds))
                    if !Task.isCancelled { client.inject(msgID, .deadline) }
                })
            case .interrupt(let graceMsgID):
                Task {
                    _ = try? await self?.interrupt()
                    // An interrupted cell gets a moment to report; one that ignores SIGINT is left to the caller.
                    try? await Task.sleep(for: .seconds(options.interruptGrace))
                    client.inject(graceMsgID, .tick)
                }
            }
        }
        tracker.setMessageID(header["msg_id"]?.stringValue ?? "")
        return PendingExecution(tracker: tracker, manager: self)
    }

    /// Turns a finished request's state into its result.
    fileprivate func result(of tracker: ExecutionTracker, _ outcome: ExecutionTracker.Finish) -> ExecutionResult {
        client.finish(tracker.messageID)
        var result = tracker.result
        switch outcome {
        case .died(let why):
            result.outcome = .kernelDied(deathError(why).message)
        case .timedOut:
            result.outcome = .timedOut
        case .completed:
            if !(tracker.completed), case .dead(let why) = state.withLock({ $0.status }) {
                result.outcome = .kernelDied(deathError(why).message)
            } else if result.reply?["status"]?.stringValue == "error" || result.outputs.contains(where: { $0.outputType == "error" }) {
                let reply = result.reply ?? [:]
                let lastError = result.outputs.last { $0.outputType == "error" }
                result.outcome = .error(
                    name: reply["ename"]?.stringValue ?? lastError?.errorName ?? "Error",
                    value: reply["evalue"]?.stringValue ?? lastError?.errorValue ?? "")
            } else if result.reply?["status"]?.stringValue == "aborted" {
                result.outcome = .aborted
            } else {
                result.outcome = .ok
            }
        }
        return result
    }

    /// Restarts the kernel process on the same connection (as Jupyter's restart does).
    public func restart(timeout: Double = 60) async throws(KernelError) {
        let previous = pid
        await launch.willRestart?()
        try await stopProcess(restart: true)
        let process: ChildProcess
        if let respawn = launch.respawn {
            let next: Int32
            do {
                next = try await respawn(previous)
            } catch {
                throw KernelError(.launchFailed, "cannot restart kernel \(spec.name): \(error)")
            }
            guard let adopted = ChildProcess(adopting: next) else {
                throw KernelError(.died, "kernel \(spec.name) exited right after its restart (pid \(next))")
            }
            process = adopted
        } else {
            do {
                process = try ChildProcess(
                    argv: launch.argv, environment: launch.environment, directory: launch.directory, output: .file(logFile))
            } catch {
                throw KernelError(.launchFailed, "cannot restart kernel \(spec.name): \(error.reason)")
            }
        }
        state.withLock { s in
            s.process = process
            s.status = .restarting
            s.expectingExit = false
            s.needsStartup = true
        }
        client.resetHeartbeat()
        client.resetStdinConnection()
        watch(process)
        try await waitForReady(timeout: timeout)
    }

    /// Shuts the kernel down: a `shutdown_request` on the control channel, then SIGTERM, then SIGKILL.
    ///
    /// With `awaitExit` false, a kernel that acknowledged the request and started nothing else in its
    /// process group is left to finish exiting by itself (ipykernel takes about a quarter of a second
    /// after its reply to tear its interpreter down); it still watches its parent through
    /// `JPY_PARENT_PID` and leaves within a second of this process's exit. For a caller about to exit,
    /// such as `wb run`. Otherwise, or if the kernel does not answer, this waits for the exit as always.
    public func shutdown(timeout: Double = 5, awaitExit: Bool = true) async {
        let diedEarlier = state.withLock { s -> Bool in
            if case .dead = s.status { return true }
            return false
        }
        var requested = false
        if !awaitExit, !diedEarlier, state.withLock({ $0.process.isRunning }) {
            requested = true
            state.withLock { $0.expectingExit = true }
            let answered = (try? await call("shutdown_request", content: ["restart": .bool(false)], channel: .control, timeout: timeout)) != nil
            let pid = state.withLock { $0.process.pid }
            // Children a cell started in the kernel's group must not outlive it: those take the full path.
            if answered, ChildProcess.members(ofGroup: pid).allSatisfy({ $0 == pid }) {
                client.failAll("the kernel was shut down")
                finishShutdown(diedEarlier: false)
                return
            }
        }
        try? await stopProcess(restart: false, timeout: timeout, requested: requested)
        finishShutdown(diedEarlier: diedEarlier)
    }

    private func finishShutdown(diedEarlier: Bool) {
        let watch = state.withLock { s -> Task<Void, Never>? in
            s.status = .shutDown
            return s.heartbeatWatch
        }
        watch?.cancel()
        client.close()
        unlink(connectionFile)
        if connection.transport == "ipc" {
            // A killed kernel cannot remove its sockets.
            for channel in Channel.allCases { unlink(String(connection.endpoint(for: channel).dropFirst("ipc://".count))) }
        }
        // The log of a kernel that died stays, since error messages point to it.
        if !diedEarlier { unlink(logFile) }
    }

    /// Stops the kernel's process and its group; `requested`: a `shutdown_request` was already sent.
    private func stopProcess(restart: Bool, timeout: Double = 5, requested: Bool = false) async throws(KernelError) {
        let process = state.withLock { s in
            s.expectingExit = true
            return s.process
        }
        if process.isRunning {
            if !requested {
                _ = try? await call("shutdown_request", content: ["restart": .bool(restart)], channel: .control, timeout: timeout)
            }
            if await process.wait(timeout: timeout) == nil {
                process.signal(SIGTERM)
                if await process.wait(timeout: timeout) == nil {
                    process.signal(SIGKILL)
                    _ = await process.wait(timeout: 10)
                }
            }
        }
        // Children the kernel started in its group go too.
        killpg(process.pid, SIGKILL)
        client.failAll("the kernel was \(restart ? "restarted" : "shut down")")
    }
}

/// How to run one cell.
public struct ExecuteOptions: Sendable {
    public var silent = false
    public var storeHistory = true
    public var allowStdin = false
    public var stopOnError = true
    /// Seconds before the cell is interrupted and reported as timed out.
    public var timeout: Double? = nil
    /// Seconds to wait for an interrupted cell to finish after a time-out.
    public var interruptGrace: Double = 5

    public init(allowStdin: Bool = false, timeout: Double? = nil) {
        self.allowStdin = allowStdin
        self.timeout = timeout
    }
}

/// The outcome of running one cell.
public struct ExecutionResult: Sendable {
    public enum Outcome: Sendable, Equatable {
        case ok
        case error(name: String, value: String)
        case aborted
        case timedOut
        case kernelDied(String)
    }

    public var outcome: Outcome = .ok
    public var outputs: [Output] = []
    public var executionCount: Int? = nil
    public var reply: JSONObject? = nil
    /// nbclient's `metadata.execution` timestamps.
    public var timing: JSONObject = [:]

    public init() {}
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}

/// A cell sent to the kernel; `result()` waits for it to finish.
public struct PendingExecution: Sendable {
    fileprivate let tracker: ExecutionTracker
    fileprivate let manager: KernelManager

    /// The id of the `execute_request`.
    public var msgID: String { tracker.messageID }

    /// Waits until the cell has finished (or the kernel died, or it timed out).
    public func result() async -> ExecutionResult {
        let outcome = await tracker.wait()
        return manager.result(of: tracker, outcome)
    }
}

/// The state of one `execute_request`, updated on the client's I/O thread.
final class ExecutionTracker: Sendable {
    enum Finish: Sendable {
        case completed
        case timedOut
        case died(String)
    }

    /// Work the handler must start outside the lock.
    enum Action {
        case none
        case input(prompt: String, password: Bool, parent: JSONObject)
        case startDeadline(msgID: String)
        case interrupt(msgID: String)
    }

    private struct State {
        var continuation: CheckedContinuation<Finish, Never>?
        var finished: Finish?
        var collector = OutputCollector()
        var result = ExecutionResult()
        var gotReply = false
        var gotIdle = false
        var started = false
        var timedOut = false
        var msgID = ""
        var deadlineTask: Task<Void, Never>?
    }

    private let state = Mutex(State())
    private let onMessage: @Sendable (KernelMessage) -> Void

    init(onMessage: @escaping @Sendable (KernelMessage) -> Void) {
        self.onMessage = onMessage
    }

    func setMessageID(_ id: String) { state.withLock { if $0.msgID.isEmpty { $0.msgID = id } } }
    var messageID: String { state.withLock { $0.msgID } }

    /// Waits for the finish, which may already have happened.
    func wait() async -> Finish {
        await withCheckedContinuation { continuation in
            let done = state.withLock { s -> Finish? in
                if s.finished == nil { s.continuation = continuation }
                return s.finished
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// Finishes before anything was sent (the kernel was already dead).
    func finishEarly(_ outcome: Finish) {
        state.withLock { $0.finished = outcome }
    }

    func setDeadlineTask(_ task: Task<Void, Never>) {
        let finished = state.withLock { s -> Bool in
            if s.finished != nil { return true }
            s.deadlineTask = task
            return false
        }
        if finished { task.cancel() }
    }

    var completed: Bool { state.withLock { $0.gotReply && $0.gotIdle } }

    var result: ExecutionResult {
        state.withLock { s in
            var r = s.result
            r.outputs = s.collector.outputs
            return r
        }
    }

    /// Applies one event; returns what the caller must do next.
    func handle(_ event: KernelEvent) -> Action {
        if case .message(_, let message) = event { onMessage(message) }
        var action = Action.none
        var resume: (CheckedContinuation<Finish, Never>?, Finish, Task<Void, Never>?)? = nil
        state.withLock { s in
            guard s.finished == nil else { return }
            var finish: Finish? = nil
            switch event {
            case .message(let channel, let message):
                // The route is keyed by this id, so the first message may come before setMessageID runs.
                if s.msgID.isEmpty, let parent = message.parentMsgID { s.msgID = parent }
                switch channel {
                case .iopub:
                    let date = message.header["date"] ?? .string(Clock.iso8601())
                    switch message.msgType {
                    case "status":
                        let execution = message.content["execution_state"]?.stringValue
                        if execution == "busy" {
                            s.result.timing["iopub.status.busy"] = date
                            if !s.started {
                                s.started = true
                                action = .startDeadline(msgID: s.msgID)
                            }
                        }
                        if execution == "idle" {
                            s.result.timing["iopub.status.idle"] = date
                            s.gotIdle = true
                        }
                    case "execute_input":
                        s.result.timing["iopub.execute_input"] = date
                        s.result.executionCount = message.content["execution_count"]?.intValue ?? s.result.executionCount
                    default:
                        s.collector.apply(message)
                    }
                case .shell where message.msgType == "execute_reply":
                    s.gotReply = true
                    s.result.timing["shell.execute_reply"] = message.header["date"] ?? .string(Clock.iso8601())
                    s.result.reply = message.content
                    s.result.executionCount = message.content["execution_count"]?.intValue ?? s.result.executionCount
                case .stdin where message.msgType == "input_request":
                    action = .input(
                        prompt: message.content["prompt"]?.stringValue ?? "",
                        password: message.content["password"]?.boolValue ?? false, parent: message.header)
                default:
                    break
                }
                if s.gotReply && s.gotIdle { finish = s.timedOut ? .timedOut : .completed }
            case .kernelDied(let why):
                finish = .died(why)
            case .deadline:
                if !s.timedOut {
                    s.timedOut = true
                    action = .interrupt(msgID: s.msgID)
                }
            case .tick:
                // The grace period after a time-out is over.
                if s.timedOut { finish = .timedOut }
            }
            if let finish {
                s.finished = finish
                resume = (s.continuation, finish, s.deadlineTask)
                s.continuation = nil
            }
        }
        if let (continuation, outcome, deadline) = resume {
            deadline?.cancel()
            continuation?.resume(returning: outcome)
        }
        return action
    }
}

/// What an application adds to the kernels it starts: environment variables, and code run once each kernel process is ready.
public struct KernelSetup: Sendable {
    /// Variables set in the kernel's environment (over the caller's and the spec's).
    public var environment: [String: String]
    /// Code `waitForReady` runs silently and outside the history, in every new kernel process (after a restart too).
    public var startupCode: String?

    public init(environment: [String: String] = [:], startupCode: String? = nil) {
        self.environment = environment
        self.startupCode = startupCode
    }
}
