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
        commands.finish()
        let (manager, watcher, worker) = shared.withLock { s in
            s.closed = true
            return (s.manager, s.watcher, s.worker)
        }
        watcher?.cancel()
        answer("")
        worker?.cancel()
        await manager?.shutdown()
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
                try? await manager?.interrupt()
            case .restart:
                if let kernel = manager {
                    queue.post(.kernelStatus(.restarting))
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
            case .answerInput, .save, .autosave, .discardRecovery:
                break
            }
        }
    }

    /// Launches the kernel and waits for it; nil (after reporting it dead, with why) when it cannot start.
    private func start() async -> KernelManager? {
        queue.post(.kernelStatus(.starting))
        let kernel: KernelManager
        do {
            let spec = try configuration.finder.spec(named: configuration.kernelName)
            kernel = try KernelManager.start(
                spec: spec, directory: configuration.directory, pythonPrefix: configuration.finder.pythonPrefix,
                runtimeDirectory: configuration.runtimeDirectory, setup: configuration.kernelSetup(spec))
        } catch {
            queue.post(.kernelStatus(.dead(Self.firstLine(error.message))))
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
        return kernel
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
        let pending = kernel.submit(
            code, options: ExecuteOptions(allowStdin: true),
            onMessage: { message in
                switch message.msgType {
                case "stream":
                    queue.post(
                        .stream(
                            cell: key, name: message.content["name"]?.stringValue ?? "stdout",
                            text: message.content["text"]?.stringValue ?? ""))
                case "display_data", "execute_result", "update_display_data", "error", "clear_output":
                    queue.post(.output(cell: key, message))
                case "execute_input":
                    queue.post(.cellStarted(cell: key, executionCount: message.content["execution_count"]?.intValue))
                default:
                    break
                }
            },
            onInput: { [weak self] prompt, password in
                guard let self else { return nil }
                return await self.waitForAnswer(cell: key, prompt: prompt, password: password)
            })
        Task {
            let result = await pending.result()
            queue.post(.cellFinished(cell: key, outcome: result.outcome, executionCount: result.executionCount))
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
