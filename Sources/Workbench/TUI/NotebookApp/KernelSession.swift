public import CoreSupport
public import Kernels
internal import Synchronization

/// The notebook app's kernel: started in the background, fed commands in order, reporting through an `EventQueue`.
///
/// Nothing here blocks the caller. The kernel starts when the session is created, while the
/// first screen is already up; cells run before it is ready wait in order. Each cell's IOPub
/// messages go to the queue from the kernel client's I/O thread as they arrive; completions
/// and inspections run beside a busy cell (their replies come when the kernel gets to them).
public final class KernelSession: Sendable {
    /// What kernel to start, and where.
    public struct Configuration: Sendable {
        /// The kernelspec name.
        public var kernelName: String
        /// The kernel's working folder (the notebook's).
        public var directory: String
        /// Where kernelspecs are looked up.
        public var finder: KernelSpecFinder
        /// Where connection files and kernel logs go.
        public var runtimeDirectory: String
        /// Seconds the kernel has to answer `kernel_info` after it starts.
        public var startupTimeout: Double
        /// What the application adds to the kernel (environment, start-up code such as loading `%%sql`).
        public var kernelSetup: @Sendable (KernelSpec) -> KernelSetup
        /// Join a session's kernel instead of starting one here (`wb open` with the session registry).
        public var attachment: NotebookApp.Attachment?
        /// Cells left running by a detached TUI: their `execute_request` ids and cell keys (see `State.reattach`).
        public var adoptedCells: [String: Int] = [:]

        /// A configuration; the runtime folder defaults to `$WB_HOME/runtime`.
        public init(
            kernelName: String, directory: String, finder: KernelSpecFinder = KernelSpecFinder(),
            runtimeDirectory: String = FilePath.join(Environment.workbenchHome, "runtime"), startupTimeout: Double = 60,
            kernelSetup: @escaping @Sendable (KernelSpec) -> KernelSetup = { _ in KernelSetup() }
        ) {
            self.kernelSetup = kernelSetup
            self.kernelName = kernelName
            self.directory = directory
            self.finder = finder
            self.runtimeDirectory = runtimeDirectory
            self.startupTimeout = startupTimeout
        }
    }

    private struct Shared {
        var manager: KernelManager?
        var pendingInput: CheckedContinuation<String?, Never>?
        var closed = false
        var watcher: Task<Void, Never>?
        var worker: Task<Void, Never>?
        var listener: Task<Void, Never>?
        /// Unfinished executions by cell key: the request's id.
        var running: [Int: String] = [:]
        /// The id of the last output shown, by cell key.
        var lastSeen: [Int: String] = [:]
        /// Executions this TUI did not send (left running before a re-attach), by request id.
        var adopted: [String: Int] = [:]
        /// The error each adopted execution raised, if any.
        var adoptedErrors: [Int: (name: String, value: String)] = [:]
        /// The execution count each adopted execution got.
        var adoptedCounts: [Int: Int] = [:]
        /// Detached: nothing more is posted, so the app's state stays what the detach marker describes.
        var frozen = false
    }

    private let configuration: Configuration
    private let queue: EventQueue
    private let shared = Mutex(Shared())
    private let commands: AsyncStream<NotebookApp.Command>.Continuation

    /// Starts the kernel in the background and begins taking commands.
    public init(configuration: Configuration, queue: EventQueue) {
        self.configuration = configuration
        self.queue = queue
        let (stream, continuation) = AsyncStream.makeStream(of: NotebookApp.Command.self)
        commands = continuation
        let worker = Task { [self] in await self.work(stream) }
        shared.withLock { $0.worker = worker }
    }

    /// Queues a command: execute, interrupt, restart, answer an `input()`, complete, inspect.
    public func send(_ command: NotebookApp.Command) {
        if case .answerInput(let text) = command {
            answer(text)
            return
        }
        if case .interrupt = command { answer("") }
        commands.yield(command)
    }

    /// The kernel manager, once the kernel is launched.
    public var manager: KernelManager? { shared.withLock { $0.manager } }

    /// Stops taking commands and shuts the kernel down (interrupt, shutdown request, then signals).
    public func shutdown() async {
        await release()?.shutdown()
    }

    /// Stops taking commands and lets go of the kernel without stopping it (detach); returns the manager, if any.
    @discardableResult
    public func release() async -> KernelManager? {
        commands.finish()
        let (manager, watcher, worker, listener) = shared.withLock { s in
            s.closed = true
            return (s.manager, s.watcher, s.worker, s.listener)
        }
        watcher?.cancel()
        listener?.cancel()
        answer("")
        worker?.cancel()
        return manager
    }

    /// Detaches: stops taking commands and posting events, leaving the kernel running; returns the executions
    /// not finished yet, by cell key, with the id of the last output posted for each (for the detach marker).
    public func detach() async -> [Int: (request: String, lastSeen: String?)] {
        await release()
        return shared.withLock { s in
            s.frozen = true
            var unfinished: [Int: (request: String, lastSeen: String?)] = [:]
            for (key, request) in s.running { unfinished[key] = (request, s.lastSeen[key]) }
            return unfinished
        }
    }

    // MARK: Worker

    private func work(_ stream: AsyncStream<NotebookApp.Command>) async {
        var manager = await start()
        for await command in stream {
            switch command {
            case .execute(let key, let code):
                guard let kernel = manager else {
                    queue.post(.cellFinished(cell: key, outcome: .kernelDied("the kernel is not running"), executionCount: nil))
                    continue
                }
                execute(key: key, code: code, on: kernel)
            case .interrupt:
                _ = try? await manager?.interrupt()
            case .restart:
                if let kernel = manager {
                    queue.post(.kernelStatus(.restarting))
                    shared.withLock { s in
                        s.running = [:]
                        s.adopted = [:]
                    }
                    answer("")
                    do {
                        try await kernel.restart(timeout: configuration.startupTimeout)
                        ready(kernel)
                        startWatching(kernel)
                    } catch {
                        queue.post(.kernelStatus(.dead(Self.firstLine(error.message))))
                    }
                } else {
                    manager = await start()
                }
            case .complete(let id, let code, let cursor):
                guard let kernel = manager else {
                    queue.post(.completions(id: id, matches: [], start: cursor, end: cursor))
                    continue
                }
                let queue = self.queue
                Task {
                    let reply = try? await kernel.complete(code: code, cursorPosition: cursor)
                    let matches = reply?["matches"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    queue.post(
                        .completions(
                            id: id, matches: matches, start: reply?["cursor_start"]?.intValue ?? cursor,
                            end: reply?["cursor_end"]?.intValue ?? cursor))
                }
            case .inspect(let id, let code, let cursor):
                guard let kernel = manager else {
                    queue.post(.inspection(id: id, text: nil))
                    continue
                }
                let queue = self.queue
                Task {
                    let reply = try? await kernel.inspect(code: code, cursorPosition: cursor)
                    let found = reply?["found"]?.boolValue ?? false
                    queue.post(.inspection(id: id, text: found ? reply?["data"]?["text/plain"]?.stringValue : nil))
                }
            case .answerInput, .save, .autosave, .discardRecovery, .keepAlive:
                break
            }
        }
    }

    /// Launches the kernel and waits for it; nil (after reporting it dead, with why) when it cannot start.
    private func start() async -> KernelManager? {
        queue.post(.kernelStatus(.starting))
        let kernel: KernelManager
        do {
            if let attachment = configuration.attachment {
                kernel = try await attachment.connect()
            } else {
                let spec = try configuration.finder.spec(named: configuration.kernelName)
                kernel = try KernelManager.start(
                    spec: spec, directory: configuration.directory, pythonPrefix: configuration.finder.pythonPrefix,
                    runtimeDirectory: configuration.runtimeDirectory, setup: configuration.kernelSetup(spec))
            }
        } catch let error as KernelError {
            queue.post(.kernelStatus(.dead(Self.firstLine(error.message))))
            return nil
        } catch {
            queue.post(.kernelStatus(.dead(Self.firstLine("\(error)"))))
            return nil
        }
        let closed = shared.withLock { s in
            if !s.closed { s.manager = kernel }
            return s.closed
        }
        if closed {
            await kernel.shutdown()
            return nil
        }
        do {
            try await kernel.waitForReady(timeout: configuration.startupTimeout)
        } catch {
            queue.post(.kernelStatus(.dead(Self.firstLine(error.message))))
            return kernel
        }
        ready(kernel)
        startWatching(kernel)
        if let attachment = configuration.attachment, !configuration.adoptedCells.isEmpty { catchUp(kernel, attachment) }
        return kernel
    }

    // MARK: Re-attach

    /// Shows what the cells left running printed while no TUI was attached, then follows them live.
    ///
    /// The journal is read after the kernel is joined, so nothing falls between the two; a message
    /// both journaled and received live is shown once (by its `msg_id`).
    private func catchUp(_ kernel: KernelManager, _ attachment: NotebookApp.Attachment) {
        shared.withLock { s in
            s.adopted = configuration.adoptedCells
            for (request, key) in configuration.adoptedCells { s.running[key] = request }
        }
        var shown = Set<String>()
        for message in attachment.journal() where shown.insert(message.msgID).inserted { deliver(message) }
        let stream = kernel.client.unsolicited
        let task = Task { [weak self] in
            for await event in stream {
                guard let self, !Task.isCancelled else { return }
                guard case .message(let channel, let message) = event, channel == .iopub, !shown.contains(message.msgID) else { continue }
                self.deliver(message)
                if self.shared.withLock({ $0.adopted.isEmpty }) { return }
            }
        }
        shared.withLock { $0.listener = task }
    }

    /// Turns one message of an adopted execution into the app's events.
    private func deliver(_ message: KernelMessage) {
        shared.withLock { s in
            guard !s.frozen, let parent = message.parentMsgID, let key = s.adopted[parent] else { return }
            deliver(message, parent: parent, key: key, &s)
        }
    }

    private func deliver(_ message: KernelMessage, parent: String, key: Int, _ s: inout Shared) {
        switch message.msgType {
        case "stream":
            queue.post(.stream(cell: key, name: message.content["name"]?.stringValue ?? "stdout", text: message.content["text"]?.stringValue ?? ""))
        case "display_data", "execute_result", "update_display_data", "error", "clear_output":
            if message.msgType == "error" {
                s.adoptedErrors[key] = (message.content["ename"]?.stringValue ?? "Error", message.content["evalue"]?.stringValue ?? "")
            }
            queue.post(.output(cell: key, message))
        case "execute_input":
            let count = message.content["execution_count"]?.intValue
            s.adoptedCounts[key] = count
            queue.post(.cellStarted(cell: key, executionCount: count))
            return
        case "status":
            guard message.content["execution_state"]?.stringValue == "idle" else { return }
            s.adopted[parent] = nil
            s.running[key] = nil
            let error = s.adoptedErrors.removeValue(forKey: key)
            let count = s.adoptedCounts.removeValue(forKey: key)
            queue.post(.cellFinished(cell: key, outcome: error.map { .error(name: $0.name, value: $0.value) } ?? .ok, executionCount: count))
            return
        default:
            return
        }
        s.lastSeen[key] = message.msgID
    }

    private func ready(_ kernel: KernelManager) {
        queue.post(.kernelReady(displayName: kernel.spec.displayName, languageInfo: kernel.kernelInfo?["language_info"]))
        queue.post(.kernelStatus(.idle))
    }

    /// Reports the kernel's state (idle, busy, dead) when it changes, checked ten times a second.
    private func startWatching(_ kernel: KernelManager) {
        guard shared.withLock({ $0.watcher == nil }) else { return }
        let queue = self.queue
        let task = Task {
            var last: NotebookApp.KernelState? = .idle
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(100))
                let now: NotebookApp.KernelState?
                switch kernel.status {
                case .starting: now = .starting
                case .idle: now = .idle
                case .busy: now = .busy
                case .restarting: now = .restarting
                case .dead(let why): now = .dead(why)
                case .shutDown: now = nil
                }
                if let now, now != last {
                    queue.post(.kernelStatus(now))
                    last = now
                }
            }
        }
        shared.withLock { $0.watcher = task }
    }

    private func execute(key: Int, code: String, on kernel: KernelManager) {
        let queue = self.queue
        shared.withLock { $0.lastSeen[key] = nil }
        let pending = kernel.submit(
            code, options: ExecuteOptions(allowStdin: true),
            onMessage: { [weak self] message in
                guard let self else { return }
                // Under the lock, so a detach's snapshot of what was shown matches what was posted.
                self.shared.withLock { s in
                    guard !s.frozen else { return }
                    switch message.msgType {
                    case "stream":
                        s.lastSeen[key] = message.msgID
                        queue.post(
                            .stream(
                                cell: key, name: message.content["name"]?.stringValue ?? "stdout",
                                text: message.content["text"]?.stringValue ?? ""))
                    case "display_data", "execute_result", "update_display_data", "error", "clear_output":
                        s.lastSeen[key] = message.msgID
                        queue.post(.output(cell: key, message))
                    case "execute_input":
                        queue.post(.cellStarted(cell: key, executionCount: message.content["execution_count"]?.intValue))
                    default:
                        break
                    }
                }
            },
            onInput: { [weak self] prompt, password in
                guard let self else { return nil }
                return await self.waitForAnswer(cell: key, prompt: prompt, password: password)
            })
        shared.withLock { $0.running[key] = pending.msgID }
        Task { [weak self] in
            let result = await pending.result()
            let frozen = self?.shared.withLock { s -> Bool in
                guard !s.frozen else { return true }
                if s.running[key] == pending.msgID { s.running[key] = nil }
                return false
            }
            if frozen != true { queue.post(.cellFinished(cell: key, outcome: result.outcome, executionCount: result.executionCount)) }
        }
    }

    // MARK: input()

    private func waitForAnswer(cell: Int, prompt: String, password: Bool) async -> String? {
        await withCheckedContinuation { continuation in
            let previous = shared.withLock { s -> CheckedContinuation<String?, Never>? in
                defer { s.pendingInput = continuation }
                return s.pendingInput
            }
            previous?.resume(returning: "")
            queue.post(.inputRequested(cell: cell, prompt: prompt, password: password))
        }
    }

    private func answer(_ text: String) {
        let pending = shared.withLock { s -> CheckedContinuation<String?, Never>? in
            defer { s.pendingInput = nil }
            return s.pendingInput
        }
        pending?.resume(returning: text)
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n", maxSplits: 1).first ?? "")
    }
}
