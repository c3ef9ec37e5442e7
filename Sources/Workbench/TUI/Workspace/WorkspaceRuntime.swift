public import CoreSupport
public import Kernels
public import Notebook
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

extension Workspace {
    /// Reads `path` into a document: a notebook for `.ipynb` and percent-format `.py` files (with a
    /// recovery file's edits offered), a text file for anything else; a file that does not exist yet
    /// opens empty and is created on the first save.
    public static func read(path: String, home: String = Environment.workbenchHome, size: Size = Size(width: 80, height: 24)) throws(NotebookError) -> Document {
        if FileIO.isDirectory(path) { throw NotebookError(.io, "it is a folder, not a file", path: path) }
        let ext = FilePath.pathExtension(path)
        let exists = FileIO.exists(path)
        if ext == "ipynb" { return .notebook(try NotebookApp.open(path: path, size: size, home: home)) }
        guard exists else {
            let directory = FilePath.directory(of: FilePath.absolute(path))
            guard FileIO.isDirectory(directory) else { throw NotebookError(.io, "the folder \(directory) does not exist", path: path) }
            var document = TextDocument(path: path, text: "", isNew: true, size: size)
            document.message = NotebookApp.Message(text: "new file: Ctrl-S creates \(document.fileName)", isError: false, until: 4)
            return .text(document)
        }
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(path)
        } catch {
            throw NotebookError(.io, error.description, path: path)
        }
        if bytes.contains(0) { throw NotebookError(.notANotebook, "it is a binary file, not text", path: path) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw NotebookError(.notANotebook, "it is not UTF-8 text", path: path)
        }
        if ext == "py" && isPercentScript(text) { return .notebook(try NotebookApp.open(path: path, size: size, home: home)) }
        return .text(TextDocument(path: path, text: text, size: size))
    }

    /// Whether a `.py` file's text is a percent-format notebook (a line starting with `# %%`).
    public static func isPercentScript(_ text: String) -> Bool {
        text.split(separator: "\n", omittingEmptySubsequences: false).contains { $0.hasPrefix("# %%") }
    }

    /// How a notebook's kernel is let go.
    public enum Finish: Sendable, Equatable {
        /// Its tab closed or its kernel was replaced: the kernel stops.
        case closed
        /// The app quit: the kernel stops.
        case quit
        /// The user detached: the kernel keeps running for the next `wb open`.
        case detach
        /// The terminal went away (hung up, or its input closed): as detach, with no one to tell.
        case hungUp
        /// A signal ended the app (`wb sessions stop`, the culler, SIGTERM).
        case stopped
    }

    /// A notebook tab's kernel as the application attached it: the session, its registry link, and how it ends.
    public struct NotebookKernel: Sendable {
        /// The kernel session (nil runs without one).
        public var session: KernelSession?
        /// The notebook's session in the registry, for activity and cull answers.
        public var link: NotebookApp.SessionLink?
        /// Lets the kernel go, given the notebook's last state.
        public var finish: @Sendable (_ state: NotebookApp.State, _ how: Finish) async -> Void

        /// A kernel; by default it finishes by shutting the session down, whatever the reason.
        public init(
            session: KernelSession?, link: NotebookApp.SessionLink? = nil,
            finish: (@Sendable (_ state: NotebookApp.State, _ how: Finish) async -> Void)? = nil
        ) {
            self.session = session
            self.link = link
            self.finish = finish ?? { _, _ in await session?.shutdown() }
        }
    }

    /// Runs the workspace's commands: a kernel session per open notebook, file reads and writes, kernelspec
    /// discovery; the results come back as events.
    ///
    /// Used from one thread (the UI loop's); file writes run in the background one after another, and
    /// every notebook's kernel reports into its own queue, all sharing one wake pipe.
    public final class Runtime {
        /// Attaches a kernel to a notebook as its tab opens (it may change the notebook: a re-attached session's cells),
        /// given the kernelspec name and the queue the kernel reports to.
        public typealias StartKernel = @Sendable (_ notebook: inout NotebookApp.State, _ kernelName: String, _ queue: EventQueue) -> NotebookKernel

        /// A notebook tab's kernel and the queue it reports to.
        struct Kernel {
            var path: String
            var queue: EventQueue
            var attached: NotebookKernel
        }

        /// The workspace's state.
        public private(set) var state: State
        /// The pipe every notebook's queue wakes the loop through.
        public let wake = EventQueue()
        /// `$WB_HOME`, for recovery files.
        public let home: String
        /// The last file write queued; each waits for the one before.
        public private(set) var writes: Task<Void, Never>?
        /// The last git panel request queued; each waits for the one before (git locks its index).
        public private(set) var gitJobs: Task<Void, Never>?
        /// The `wb-git` executable the git panel runs (nil: the panel says git is not available).
        public let gitTool: String?
        /// When user input was last reported as activity (monotonic seconds).
        private var lastActivityReport = -Double.infinity
        /// Kernels of closed tabs or replaced kernels, shutting down.
        public private(set) var retired: [Task<Void, Never>] = []
        private let startKernel: StartKernel
        private let finder: KernelSpecFinder
        private var kernels: [Int: Kernel] = [:]
        /// Reports of text file writes, waiting for the loop.
        private let mailbox = Mailbox()

        /// Events posted from other threads that are not a notebook's (text file writes).
        final class Mailbox: Sendable {
            let events = Mutex<[Event]>([])
        }

        /// A runtime for `state`; `startKernel` starts each notebook's kernel, now and as notebooks are opened.
        ///
        /// `kernelName` replaces the kernelspec of the notebooks open now (`wb open --kernel`), not of those opened later.
        public init(
            state: State, home: String = Environment.workbenchHome, finder: KernelSpecFinder = KernelSpecFinder(), kernelName: String? = nil,
            gitTool: String? = nil, startKernel: @escaping StartKernel
        ) {
            self.state = state
            self.home = home
            self.gitTool = gitTool
            self.finder = finder
            self.startKernel = startKernel
            startKernels(override: kernelName)
        }

        /// The descriptor the loop polls for reports.
        public var readFD: Int32 { wake.readFD }

        /// The kernel session of tab `id`, if it has one.
        public func session(tab id: Int) -> KernelSession? { kernels[id]?.attached.session }

        /// Updates the state with `event` and performs the commands it produced; input counts as activity in every notebook's session.
        public func send(_ event: Event) {
            if case .input = event {
                let now = Clock.monotonic()
                if now - lastActivityReport >= NotebookApp.activityInterval {
                    lastActivityReport = now
                    for kernel in kernels.values { kernel.attached.link?.userActivity() }
                }
            }
            state = Workspace.update(state, event)
            perform()
        }

        /// Feeds every waiting report to the state, at time `now`; returns whether there were any.
        @discardableResult
        public func drain(now: Double = Clock.monotonic()) -> Bool {
            _ = wake.drain()
            var events: [Event] = []
            for (id, kernel) in kernels.sorted(by: { $0.key < $1.key }) {
                events += kernel.queue.drain().map { .session(tab: id, $0) }
            }
            events += mailbox.events.withLock { list in
                defer { list.removeAll() }
                return list
            }
            guard !events.isEmpty else { return false }
            state = Workspace.update(state, .tick(now))
            for event in events { state = Workspace.update(state, event) }
            perform()
            return true
        }

        /// Lays image outputs out for a terminal that shows them as `layout` (notebooks opened later too).
        public func setImageLayout(_ layout: ImageLayout) {
            state.setImageLayout(layout)
        }

        /// Writes every unsaved notebook's recovery file now, on this thread (for a process about to die of a signal).
        public func writeRecoveryNow() {
            for tab in state.tabs {
                guard case .notebook(let notebook) = tab.document, notebook.isDirty else { continue }
                try? Recovery.write(notebook.notebookForSave, for: notebook.path, home: home)
            }
        }

        /// Lets every notebook's kernel go (`how`: stopped, or left running when detaching), waits for those of
        /// closed tabs, and for the file writes.
        public func finish(_ how: Finish) async {
            let open = kernels.sorted { $0.key < $1.key }
            kernels = [:]
            for (id, kernel) in open {
                guard let index = state.index(ofTab: id), case .notebook(let notebook) = state.tabs[index].document else { continue }
                await kernel.attached.finish(notebook, how)
            }
            for task in retired { await task.value }
            await writes?.value
            // A commit or a resolve under way is let finish, never cut off.
            await gitJobs?.value
        }

        /// Stops every kernel (open and retired) and waits for the file writes.
        public func shutdown() async { await finish(.quit) }

        /// Starts a kernel for every notebook tab that has none yet.
        private func startKernels(override: String? = nil) {
            for (index, tab) in state.tabs.enumerated() where kernels[tab.id] == nil {
                guard case .notebook(var notebook) = tab.document else { continue }
                if let override { notebook.kernelName = override }
                let queue = EventQueue(sharingPipeOf: wake)
                let attached = startKernel(&notebook, override ?? notebook.notebook.kernelName ?? "python3", queue)
                state.tabs[index].document = .notebook(notebook)
                kernels[tab.id] = Kernel(path: notebook.path, queue: queue, attached: attached)
            }
        }

        /// Lets the kernel of a closed tab (or a replaced kernel) go in the background.
        private func retire(_ kernel: Kernel?, state notebook: NotebookApp.State?) {
            guard let kernel, let notebook else { return }
            retired.append(Task { await kernel.attached.finish(notebook, .closed) })
        }

        /// The notebook in tab `id` now, if it is one.
        private func notebook(tab id: Int) -> NotebookApp.State? {
            state.index(ofTab: id).flatMap { state.tabs[$0].document.notebook }
        }

        private func perform() {
            startKernels()
            while !state.commands.isEmpty {
                let commands = state.commands
                state.commands = []
                for command in commands { perform(command) }
                startKernels()
            }
        }

        private func perform(_ command: Command) {
            switch command {
            case .notebook(let id, let command):
                // The tab may be gone already (discarding the recovery file of a tab just closed).
                guard let kernel = kernels[id] else { return }
                NotebookApp.perform(command, path: kernel.path, session: kernel.attached.session, link: kernel.attached.link, queue: kernel.queue, home: home) { body in
                    let queue = kernel.queue
                    write { body(queue) }
                }
            case .saveText(let id, let text, let path, let change):
                write { [mailbox, wake] in
                    var error: String?
                    do {
                        try AtomicFile.write(text, to: path)
                    } catch let failure {
                        error = "\(failure)"
                    }
                    mailbox.events.withLock { $0.append(.textSaved(tab: id, change: change, error: error)) }
                    wake.wake()
                }
            case .open(let path):
                do {
                    send(.opened(try Workspace.read(path: path, home: home, size: state.documentSize)))
                } catch {
                    send(.openFailed(path: path, error: error.message))
                }
            case .list(let directory):
                guard FileIO.isDirectory(directory) else {
                    send(.listed(directory: directory, entries: [], error: "cannot read \(directory): not a folder"))
                    return
                }
                let entries = FileIO.list(directory).map { name in
                    DirectoryEntry(name: name, isDirectory: FileIO.isDirectory(FilePath.join(directory, name)))
                }
                send(.listed(directory: directory, entries: entries, error: nil))
            case .findKernels:
                let (specs, problems) = finder.allSpecs()
                let choices = specs.map { KernelChoice(name: $0.name, displayName: $0.displayName, language: $0.language) }
                send(.kernelsFound(choices.sorted { $0.name < $1.name }, problems: problems.map(\.message)))
            case .changeKernel(let id, let name):
                guard let index = state.index(ofTab: id), case .notebook(var notebook) = state.tabs[index].document else { return }
                retire(kernels[id], state: notebook)
                let queue = EventQueue(sharingPipeOf: wake)
                let attached = startKernel(&notebook, name, queue)
                state.tabs[index].document = .notebook(notebook)
                kernels[id] = Kernel(path: notebook.path, queue: queue, attached: attached)
            case .closed(let id, let last):
                retire(kernels.removeValue(forKey: id), state: last)
            case .git(let job, let directory):
                let previous = gitJobs
                let tool = gitTool
                gitJobs = Task.detached { [mailbox, wake] in
                    await previous?.value
                    let result = await GitRunner.run(job, tool: tool, directory: directory)
                    mailbox.events.withLock { $0.append(.git(result)) }
                    wake.wake()
                }
            case .reload(let id, let path):
                let content: Reloaded
                do {
                    if state.index(ofTab: id).map({ state.tabs[$0].document.notebook != nil }) == true {
                        content = .notebook(try Notebook.read(path: path))
                    } else {
                        content = .text(try FileIO.readText(path))
                    }
                } catch {
                    content = .failed("\(error)")
                }
                send(.reloaded(tab: id, content))
            }
        }

        /// Queues a file write after the ones before it.
        private func write(_ body: @escaping @Sendable () -> Void) {
            let previous = writes
            writes = Task.detached {
                await previous?.value
                body()
            }
        }
    }
}
