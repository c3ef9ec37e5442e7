#if canImport(Glibc)
import Glibc
#endif
import CoreSupport
public import Kernels
import Notebook
import Synchronization

/// The small per-session process that owns a kernel while no TUI is attached (`wb sessions host`).
///
/// It starts the kernel, registers the session, then listens to the kernel's IOPub broadcast
/// (every client's traffic reaches it): activity and the busy/idle state go to the registry,
/// outputs are appended to the notebook's outputs journal, so nothing printed while detached is
/// lost. It ends when the kernel ends, removing the session from the registry.
public enum SessionHost {
    /// Seconds between registry writes for plain activity (a change of busy/idle is written at once).
    public static let activityWriteInterval = 1.0

    /// What the host needs to start its session.
    public struct Options: Sendable {
        public var id: String
        public var workspace: String
        public var notebook: String
        public var spec: KernelSpec
        public var pythonPrefix: String?
        public var runtimeDirectory: String
        /// Where outputs that arrive while detached are appended (JSON lines).
        public var outputsJournal: String
        public var extraEnvironment: [String: String]
        /// What the application adds to the kernel (environment, start-up code such as loading `%%sql`).
        public var setup: KernelSetup

        public init(
            id: String, workspace: String, notebook: String, spec: KernelSpec, pythonPrefix: String?, runtimeDirectory: String,
            outputsJournal: String, extraEnvironment: [String: String] = [:], setup: KernelSetup = KernelSetup()
        ) {
            self.setup = setup
            self.id = id
            self.workspace = workspace
            self.notebook = notebook
            self.spec = spec
            self.pythonPrefix = pythonPrefix
            self.runtimeDirectory = runtimeDirectory
            self.outputsJournal = outputsJournal
            self.extraEnvironment = extraEnvironment
        }
    }

    /// Runs a session until its kernel ends; returns why it ended.
    public static func run(_ options: Options, registry: SessionRegistry) async throws(LifecycleError) -> String {
        try registry.register(
            SessionRecord(
                id: options.id, workspace: options.workspace, notebook: options.notebook, kernelName: options.spec.name,
                host: .current, state: .starting))
        let kernel: KernelManager
        do {
            kernel = try KernelManager.start(
                spec: options.spec, directory: FilePath.directory(of: options.notebook), pythonPrefix: options.pythonPrefix,
                runtimeDirectory: options.runtimeDirectory,
                extraEnvironment: options.extraEnvironment.merging(["WB_SESSION_ID": options.id]) { a, _ in a }, setup: options.setup)
            try await kernel.waitForReady(timeout: 120)
        } catch {
            _ = try? registry.remove(options.id)
            throw LifecycleError(.kernel, "cannot start kernel \(options.spec.name) for \(options.notebook): \(error)")
        }
        guard let identity = ProcessIdentity.of(kernel.pid) else {
            _ = try? registry.remove(options.id)
            throw LifecycleError(.kernel, "kernel \(options.spec.name) exited right after starting\n\(kernel.logTail())")
        }
        do {
            try registry.markRunning(options.id, kernel: identity, connectionFile: kernel.connectionFile, host: .current)
        } catch {
            await kernel.shutdown()
            throw error
        }
        let monitor = ActivityMonitor(registry: registry, id: options.id, journal: options.outputsJournal)
        let stream = kernel.client.unsolicited
        let reason = await withTaskGroup(of: String.self) { group in
            group.addTask {
                for await event in stream {
                    if case .message(let channel, let message) = event, channel == .iopub { monitor.observe(message) }
                }
                return "the connection closed"
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    monitor.flush()
                    if case .dead(let why) = kernel.status {
                        // An attached TUI asked for a restart: it stopped the old process, the new one starts here.
                        if (try? registry.session(options.id))?.state == .restarting {
                            do {
                                try await kernel.restart(timeout: 120)
                                guard let identity = ProcessIdentity.of(kernel.pid) else { throw LifecycleError(.kernel, "it exited at once") }
                                try registry.markRunning(options.id, kernel: identity, connectionFile: kernel.connectionFile, host: .current)
                                monitor.restarted()
                                continue
                            } catch {
                                monitor.markDead()
                                return "the kernel could not be restarted (\(error))"
                            }
                        }
                        monitor.markDead()
                        // A hung kernel (no heartbeat) still runs: it is left for `wb sessions stop` or the culler.
                        return "the kernel died (\(why))"
                    }
                    if case .shutDown = kernel.status { return "the kernel was shut down" }
                    if !registry.exists {
                        await kernel.shutdown()
                        return "its domain's session registry was deleted"
                    }
                }
                return "cancelled"
            }
            let first = await group.next() ?? "ended"
            group.cancelAll()
            return first
        }
        monitor.flush()
        if !kernel.isAlive {
            await kernel.shutdown(timeout: 1)
            _ = try? registry.remove(options.id)
        }
        return reason
    }
}

/// Turns a session's IOPub traffic into registry updates and journal lines.
final class ActivityMonitor: Sendable {
    private let registry: SessionRegistry
    private let id: String
    private let journal: String
    private struct State {
        var executionState = "idle"
        var lastWrite = 0.0
        var pending: Double? = nil
    }
    private let state = Mutex(State())

    init(registry: SessionRegistry, id: String, journal: String) {
        self.registry = registry
        self.id = id
        self.journal = journal
    }

    func observe(_ message: KernelMessage) {
        let observation = Activity.classify(message)
        guard observation.counts else { return }
        if Activity.isJournaled(message) { append(message) }
        let now = Clock.now()
        let write = state.withLock { s -> (Double, String?)? in
            if let exec = observation.executionState, exec != s.executionState {
                s.executionState = exec
                s.lastWrite = now
                s.pending = nil
                return (now, exec)
            }
            if now - s.lastWrite >= SessionHost.activityWriteInterval {
                s.lastWrite = now
                s.pending = nil
                return (now, nil)
            }
            s.pending = now
            return nil
        }
        if let (time, exec) = write { try? registry.recordActivity(id, at: time, executionState: exec) }
    }

    /// Writes activity held back by the write interval.
    func flush() {
        let pending = state.withLock { s -> Double? in
            defer { s.pending = nil }
            return s.pending
        }
        if let pending { try? registry.recordActivity(id, at: pending) }
    }

    /// A new kernel process answers: it starts idle.
    func restarted() {
        state.withLock { $0.executionState = "idle" }
    }

    func markDead() {
        try? registry.recordActivity(id, at: 0, executionState: "dead")
    }

    /// Appends one message as a JSON line: when, its id, which request it answers, its content and (for an output) the nbformat output.
    private func append(_ message: KernelMessage) {
        var line: JSON = [
            "at": .string(Clock.iso8601()), "session": .string(id), "msg_id": .string(message.msgID),
            "parent": .string(message.parentMsgID ?? ""), "msg_type": .string(message.msgType), "content": .object(message.content),
        ]
        if Activity.isOutput(message) {
            var collector = OutputCollector()
            collector.apply(message)
            line["output"] = collector.outputs.first.map { .object($0.json) } ?? .object(message.content)
        }
        OutputsJournal.append(line.serialized(.compact) + "\n", to: journal)
    }
}

/// The file where a session host appends the outputs that arrive while no TUI is attached.
///
/// It sits next to the notebook's recovery file in `$WB_HOME/recovery/`, named like it (the
/// notebook's name plus an FNV-1a hash of its absolute path) with `.outputs.jsonl`.
public enum OutputsJournal {
    /// The journal of the notebook at `notebookPath` in the domain `home`.
    public static func path(for notebookPath: String, home: String) -> String {
        let absolute = FilePath.absolute(notebookPath)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in absolute.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        let name = FilePath.lastComponent(of: absolute)
        return FilePath.join(home, "recovery", "\(name)-\(String(repeating: "0", count: 16 - hex.count) + hex).outputs.jsonl")
    }

    /// Appends `text` with one `write` on an `O_APPEND` descriptor, so concurrent writers never interleave a line.
    public static func append(_ text: String, to file: String) {
        try? FileIO.createDirectory(FilePath.directory(of: file), mode: 0o700)
        let fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
