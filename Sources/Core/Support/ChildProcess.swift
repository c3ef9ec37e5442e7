#if canImport(Glibc)
import Glibc
#endif
import Synchronization
internal import CPosix

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return "exited with code \(code)"
        case .signaled(let signal): return "killed by \(ExitStatus.signalName(signal))"
        }
    }

    public static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: return "SIGKILL"
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGSEGV: return "SIGSEGV"
        case SIGABRT: return "SIGABRT"
        case SIGHUP: return "SIGHUP"
        case SIGBUS: return "SIGBUS"
        default: return "signal \(signal)"
        }
    }
}

/// A launched child process in its own session (so signals can reach its whole group).
///
/// A background thread waits for the exit, so callers can await it and the
/// exit is noticed at once, without polling.
public final class ChildProcess: Sendable {
    public let pid: Int32
    private let state = Mutex<State>(State())

    private struct State {
        var status: ExitStatus?
        var waiters: [@Sendable (ExitStatus) -> Void] = []
    }

    /// What the child's standard output and error go to.
    public enum Output: Sendable {
        case inherit
        case null
        /// Appended to this file (created 0600).
        case file(String)
        /// Standard output and standard error each appended to its own file (created 0600).
        case files(stdout: String, stderr: String)
    }

    /// Starts `argv[0]` (searched in `PATH` when it has no slash).
    public init(
        argv: [String], environment: [String: String], directory: String? = nil, output: Output = .inherit,
        newSession: Bool = true
    ) throws(SystemError) {
        guard let program = argv.first else { throw SystemError(operation: "start an empty command", path: "", code: EINVAL) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case .inherit: break
        case .null:
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .file(let path):
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        case .files(let stdout, let stderr):
            posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        }
        if let directory { wb_spawn_file_actions_addchdir(&actions, directory) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= 0x80 }  // POSIX_SPAWN_SETSID (glibc >= 2.26)
        posix_spawnattr_setflags(&attributes, flags)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc: Int32
        if program.contains("/") {
            rc = posix_spawn(&child, program, &actions, &attributes, cArgs, cEnv)
        } else {
            // posix_spawnp searches the *parent's* PATH; use the child's when given.
            let resolved = ChildProcess.which(program, path: environment["PATH"] ?? Environment.get("PATH") ?? "/usr/bin:/bin")
            rc = posix_spawn(&child, resolved ?? program, &actions, &attributes, cArgs, cEnv)
        }
        guard rc == 0 else { throw SystemError(operation: "start", path: program, code: rc) }
        pid = child
        startReaper()
    }

    /// Watches a running process this one did not start (a kernel another `wb` launched): its exit is noticed by polling.
    ///
    /// Returns nil when `pid` does not run (or is a zombie). The process is told apart from a later
    /// one reusing its pid by its start time (`/proc/PID/stat`), so a reused pid reads as an exit.
    /// Its exit status is unknown to a non-parent and is reported as `.exited(0)`. The watch checks
    /// every `pollInterval` seconds on a thread of its own, which ends with the process.
    public init?(adopting pid: Int32, pollInterval: Double = 0.1) {
        guard pid > 0, let start = ChildProcess.startTime(of: pid) else { return nil }
        self.pid = pid
        let micros = useconds_t(max(0.001, pollInterval) * 1_000_000)
        Thread.start(name: "wb-watch-\(pid)") { [self] in
            while ChildProcess.startTime(of: pid) == start { usleep(micros) }
            let waiters = state.withLock { state in
                state.status = .exited(0)
                defer { state.waiters = [] }
                return state.waiters
            }
            waiters.forEach { $0(.exited(0)) }
        }
    }

    /// The start time (clock ticks after boot) of a running, non-zombie process, from `/proc/PID/stat`.
    static func startTime(of pid: Int32) -> Int64? {
        guard kill(pid, 0) == 0 || errno == EPERM, let text = try? FileIO.readText("/proc/\(pid)/stat"),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the name: field 3 (state) is fields[0], field 22 (starttime) is fields[19].
        guard fields.count > 19, let state = fields[0].first, state != "Z", state != "X" else { return nil }
        return Int64(fields[19])
    }

    /// Live processes in process group `group`, from `/proc` (zombies left out).
    public static func members(ofGroup group: Int32) -> [Int32] {
        FileIO.list("/proc").compactMap { name -> Int32? in
            guard let pid = Int32(name), let text = try? FileIO.readText("/proc/\(pid)/stat"),
                let close = text.lastIndex(of: ")")
            else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ")
            // After the name: field 3 (state) is fields[0], field 5 (pgrp) is fields[2].
            guard fields.count > 2, let state = fields[0].first, state != "Z", state != "X", Int32(fields[2]) == group
            else { return nil }
            return pid
        }
    }

    /// Finds an executable in a `PATH`-style list.
    public static func which(_ program: String, path: String) -> String? {
        for dir in path.split(separator: ":") {
            let candidate = FilePath.join(String(dir), program)
            if access(candidate, X_OK) == 0, !FileIO.isDirectory(candidate) { return candidate }
        }
        return nil
    }

    private func startReaper() {
        let pid = self.pid
        Thread.start(name: "wb-reap-\(pid)") { [self] in
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 {
                if errno != EINTR { break }
            }
            // WIFEXITED / WEXITSTATUS / WTERMSIG as in <sys/wait.h>.
            let status: ExitStatus = (raw & 0x7f) == 0 ? .exited((raw >> 8) & 0xff) : .signaled(raw & 0x7f)
            let waiters = state.withLock { state in
                state.status = status
                defer { state.waiters = [] }
                return state.waiters
            }
            waiters.forEach { $0(status) }
        }
    }

    /// The exit status, once the process has ended.
    public var exitStatus: ExitStatus? { state.withLock { $0.status } }

    public var isRunning: Bool { exitStatus == nil }

    /// Calls `body` once when the process ends (at once if it already has).
    public func onExit(_ body: @escaping @Sendable (ExitStatus) -> Void) {
        let status: ExitStatus? = state.withLock { state in
            if state.status == nil { state.waiters.append(body) }
            return state.status
        }
        if let status { body(status) }
    }

    /// Waits for the process to end, up to `timeout` seconds; `nil` on time-out.
    public func wait(timeout: Double) async -> ExitStatus? {
        let deadline = Clock.monotonic() + timeout
        while Clock.monotonic() < deadline {
            if let status = exitStatus { return status }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return exitStatus
    }

    /// Waits for the process to end.
    public func wait() async -> ExitStatus {
        await withCheckedContinuation { continuation in
            onExit { continuation.resume(returning: $0) }
        }
    }

    /// Sends a signal to the process, or to its whole process group.
    public func signal(_ signal: Int32, group: Bool = true) {
        guard isRunning else { return }
        if group, killpg(pid, signal) == 0 { return }
        kill(pid, signal)
    }
}

/// Plain POSIX threads, for blocking loops that must not occupy the Swift concurrency pool.
public enum Thread {
    private final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts a detached thread running `body`.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if rc == 0 {
            _ = wb_pthread_setname(thread, String(name.prefix(15)))
            pthread_detach(thread)
        } else {
            Unmanaged<Box>.fromOpaque(box).release()
            preconditionFailure("cannot start thread \(name): \(String(cString: strerror(rc)))")
        }
    }
}
