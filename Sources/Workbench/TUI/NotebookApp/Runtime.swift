internal import Kernels
public import CoreSupport
public import Notebook
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

extension NotebookApp {
    /// Opens `path` for the app: the notebook in it, or a new one when the file does not exist yet,
    /// with a recovery file's unsaved edits offered when there are any.
    public static func open(path: String, size: Size = Size(width: 80, height: 24), home: String = Environment.workbenchHome)
        throws(NotebookError) -> State
    {
        let notebook: Notebook
        var isNew = false
        if FileIO.exists(path) {
            notebook = try Notebook.read(path: path)
        } else {
            let directory = FilePath.directory(of: FilePath.absolute(path))
            guard FileIO.isDirectory(directory) else {
                throw NotebookError(.io, "the folder \(directory) does not exist", path: path)
            }
            notebook = Notebook(metadata: [
                "kernelspec": ["display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"]
            ])
            isNew = true
        }
        var state = State(notebook: notebook, path: path, size: size)
        if isNew { state.say("new notebook: Ctrl-S creates \(state.fileName)") }
        if let found = Recovery.read(for: path, home: home) {
            if !isNew && found.notebook.ipynbBytes() == notebook.ipynbBytes() {
                Recovery.discard(for: path, home: home)
            } else {
                state.recovered = found.notebook
                state.overlay = .recovery(savedAt: found.savedAt)
            }
        }
        return state
    }

    /// Runs the app's commands against a kernel session and the file system, feeding the results back as events.
    ///
    /// Used from one thread (the UI loop's); file writes run in the background one after another.
    public final class Runtime {
        /// The app's state.
        public private(set) var state: State
        /// Where the kernel session and file writes report.
        public let queue: EventQueue
        /// The kernel (nil runs without one, as in tests of saving).
        public let session: KernelSession?
        /// `$WB_HOME`, for the recovery file.
        public let home: String
        /// The last file write queued; each write waits for the one before, so they land in order.
        public private(set) var writes: Task<Void, Never>?
        /// The session in the registry, when there is one: user input is reported to it as activity.
        public var link: SessionLink?
        /// When input was last reported (monotonic seconds).
        private var lastActivityReport = -Double.infinity

        /// A runtime for `state`.
        public init(state: State, session: KernelSession?, queue: EventQueue, home: String = Environment.workbenchHome) {
            self.state = state
            self.session = session
            self.queue = queue
            self.home = home
        }

        /// Updates the state with `event` and performs the commands it produced.
        public func send(_ event: Event) {
            if case .input = event, let link {
                let now = Clock.monotonic()
                if now - lastActivityReport >= NotebookApp.activityInterval {
                    lastActivityReport = now
                    link.userActivity()
                }
            }
            state = NotebookApp.update(state, event)
            perform()
        }

        /// Feeds every waiting session event to the state, at time `now`; returns whether there were any.
        @discardableResult
        public func drain(now: Double = Clock.monotonic()) -> Bool {
            let events = queue.drain()
            guard !events.isEmpty else { return false }
            state = NotebookApp.update(state, .tick(now))
            for event in events { state = NotebookApp.update(state, .session(event)) }
            perform()
            return true
        }

        /// Lays image outputs out for a terminal that shows them as `layout`.
        public func setImageLayout(_ layout: ImageLayout) {
            state.setImageLayout(layout)
        }

        /// Writes the recovery file now, on this thread (for a process about to die of a signal).
        public func writeRecoveryNow() {
            guard state.isDirty else { return }
            try? Recovery.write(state.notebookForSave, for: state.path, home: home)
        }

        private func perform() {
            let commands = state.commands
            guard !commands.isEmpty else { return }
            state.commands = []
            for command in commands {
                NotebookApp.perform(command, path: state.path, session: session, link: link, queue: queue, home: home, write: write)
            }
        }

        /// Queues a file write after the ones before it.
        private func write(_ body: @escaping @Sendable (EventQueue) -> Void) {
            let previous = writes
            let queue = self.queue
            writes = Task.detached {
                await previous?.value
                body(queue)
            }
        }
    }

    /// Performs one command for the notebook at `path`: kernel work goes to `session` (without one, a run
    /// reports the kernel missing), answers to the culler to `link`, file writes are handed to `write`,
    /// which runs them in order off the caller's thread.
    static func perform(
        _ command: Command, path: String, session: KernelSession?, link: SessionLink?, queue: EventQueue, home: String,
        write: (@escaping @Sendable (EventQueue) -> Void) -> Void
    ) {
        switch command {
        case .execute, .interrupt, .restart, .answerInput, .complete, .inspect:
            if let session {
                session.send(command)
            } else if case .execute(let key, _) = command {
                queue.post(.cellFinished(cell: key, outcome: .kernelDied("no kernel"), executionCount: nil))
            }
        case .save(let notebook, let path, let change):
            write { queue in
                do {
                    try notebook.write(path: path)
                    queue.post(.saved(change: change, error: nil))
                } catch {
                    queue.post(.saved(change: change, error: "\(error)"))
                }
            }
        case .autosave(let notebook, let change):
            write { queue in
                do {
                    try Recovery.write(notebook, for: path, home: home)
                    queue.post(.autosaved(change: change, error: nil))
                } catch {
                    queue.post(.autosaved(change: change, error: "\(error)"))
                }
            }
        case .discardRecovery:
            write { _ in Recovery.discard(for: path, home: home) }
        case .keepAlive:
            link?.keepAlive()
        }
    }
}
