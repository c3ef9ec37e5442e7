import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Kernels
import Lifecycle
import Notebook
import Storage
import TUI

struct OpenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Open a notebook full-screen: edit, run and save it.",
        discussion: """
            In a terminal, `wb open` (and plain `wb`) is the full-screen notebook: Jupyter's command \
            and edit modes, cells run in the kernel as you go, Ctrl-S saves, F1 lists the keys. The kernel \
            starts in the background. A FILE that does not exist is created on the first save; without FILE, \
            the first free Untitled.ipynb in this folder is used. Unsaved edits are written every few seconds \
            to $WB_HOME/recovery/, and reopening after a crash offers them back. \
            The kernel runs in a session host (see wb sessions): Ctrl-Q quits and stops it; Ctrl-D (or \
            closing the terminal) detaches, leaving it running, and wb open on the same notebook re-attaches \
            and shows what it printed meanwhile. \
            With --headless, or when standard input or output is not a terminal, the notebook runs headless \
            in its kernel and each cell is printed with its outputs as a transcript; the file is not modified. \
            Exit codes in a terminal: 0 after quitting or detaching; 1 ncurses cannot drive the terminal (check \
            TERM) or the notebook is open in another wb; 5 the notebook cannot be read; 143 the session was \
            stopped (wb sessions stop, the culler). Headless: \(Exit.help)
            """)

    @Argument(help: "The notebook to open (.ipynb or percent-format .py); created on save if it does not exist.")
    var notebook: String?

    @Option(help: "The kernel to use (default: the notebook's kernelspec, else python3).")
    var kernel: String?

    @Flag(help: "Run the notebook headless and print a transcript (the default when not in a terminal).")
    var headless = false

    func run() async throws {
        if headless || !isTerminal(0) || !isTerminal(1) {
            guard let notebook else {
                printError("wb open: name the notebook to run headless (no terminal to open it in)")
                throw ExitCode.validationFailure
            }
            try await runHeadless(notebook)
        } else {
            try await runFullScreen(notebook ?? Self.untitled())
        }
    }

    /// The first of Untitled.ipynb, Untitled1.ipynb, ... that does not exist in the current folder.
    static func untitled() -> String {
        var n = 0
        while true {
            let name = n == 0 ? "Untitled.ipynb" : "Untitled\(n).ipynb"
            if !FileIO.exists(name) { return name }
            n += 1
        }
    }

    func runFullScreen(_ path: String) async throws {
        let home = Environment.workbenchHome
        var state: NotebookApp.State
        do {
            state = try NotebookApp.open(path: path, home: home)
        } catch {
            printError("wb open: \(error)")
            throw Exit.badNotebook
        }
        var kernelName = kernel ?? state.notebook.kernelName ?? "python3"
        if kernel != nil { state.kernelName = kernelName }
        let queue = EventQueue()
        // The kernel lives in a session host when the registry can be opened; else it is this process's own (no detach).
        let registry = try? SessionRegistry(domain: Domain.open(at: home))
        let openSession = registry.map { OpenSession(registry: $0, notebook: FilePath.absolute(path), kernelName: kernelName) }
        var adopted: [String: Int] = [:]
        var journal: @Sendable () -> [KernelMessage] = { [] }
        if let link = openSession, let record = try? link.existing() {
            if let other = record.clientProcesses.first(where: { $0.pid != getpid() }) {
                printError(
                    "wb open: \(path) is open in another wb (pid \(other.pid)): detach there with Ctrl-D, or stop the session with "
                        + "wb sessions stop \(record.id.prefix(8))")
                throw ExitCode.failure
            }
            kernelName = record.kernelName
            state.kernelName = record.kernelName
            if let cells = link.detachedCells(session: record.id) {
                adopted = state.reattach(cells)
                journal = { link.unseenMessages(cells) }
            }
            link.adopt(record)
        }
        var configuration = KernelSession.Configuration(
            kernelName: kernelName, directory: FilePath.directory(of: FilePath.absolute(path)),
            kernelSetup: { SQLMagic.kernelSetup(for: $0, home: home) })
        if let link = openSession {
            configuration.attachment = NotebookApp.Attachment(connect: { try await link.connect() }, journal: journal)
            configuration.adoptedCells = adopted
        }
        let session = KernelSession(configuration: configuration, queue: queue)
        let runtime = NotebookApp.Runtime(state: state, session: session, queue: queue, home: home)
        runtime.link = openSession?.link()
        let warnings = openSession?.watchWarnings(queue)
        defer { warnings?.cancel() }
        let ending: NotebookApp.Ending
        do {
            ending = try await NotebookApp.runInTerminal(runtime)
        } catch {
            await session.shutdown()
            openSession?.ended()
            printError("wb open: \(error)")
            throw ExitCode.failure
        }
        await ending.writes?.value
        warnings?.cancel()
        // The terminal went away: hung up, or its input closed before any quit.
        let terminalGone = ending.signal == SIGHUP || (ending.signal == nil && !runtime.state.quit)
        if let link = openSession, ending.detached || terminalGone {
            // Detach (or the terminal went away): the host keeps the kernel; the edits and a marker are written.
            let unfinished = await session.detach()
            runtime.drain()
            link.detach(state: runtime.state, unfinished: unfinished, home: home)
            if ending.signal == nil, let id = link.id {
                print(
                    "Detached from \(path): its kernel keeps running (session \(id.prefix(8))).\n"
                        + "wb open \(path) re-attaches; wb sessions stop \(id.prefix(8)) stops it.")
            }
        } else if let link = openSession, ending.signal != nil, link.isBeingStopped {
            // `wb sessions stop` or the culler asked (SIGTERM): the edits are in the recovery file; the kernel is theirs to stop.
            await session.release()
            link.leave()
        } else {
            await session.shutdown()
            openSession?.ended()
        }
        if let signal = ending.signal { NotebookApp.die(of: signal) }
    }

    func runHeadless(_ notebook: String) async throws {
        let nb: Notebook
        do {
            nb = try Notebook.read(path: notebook)
        } catch {
            printError("wb open: \(error)")
            throw Exit.badNotebook
        }
        var options = NotebookRunner.Options()
        options.kernelName = kernel
        options.kernelSetup = { SQLMagic.kernelSetup(for: $0) }
        let cancellation = NotebookRunner.Cancellation()
        let signals = SignalWatcher([SIGINT, SIGTERM]) { cancellation.cancel() }
        defer { signals.stop() }
        printError("\(notebook): \(nb.cells.count) cells, kernel \(kernel ?? nb.kernelName ?? "python3")")
        let display = RunDisplay(showProgress: false, logOutput: true, inputName: notebook, style: .transcript)
        let report: NotebookRunner.Report
        do {
            report = try await NotebookRunner(options: options).run(nb, inputPath: notebook, cancellation: cancellation, progress: display.handle)
        } catch {
            printError("wb open: \(error.message)")
            throw Exit.kernelUnavailable
        }
        printError("\nwb open: \(report.status == .ok ? "ran" : "stopped after") \(report.executed)/\(report.codeCells) code cells in \(format3(report.secondsTotal)) s" + (report.message.map { ": \($0)" } ?? ""))
        switch report.status {
        case .ok: return
        case .cellError: throw Exit.cellError
        case .cellTimeout: throw Exit.cellTimeout
        case .kernelDied: throw Exit.kernelDied
        case .cancelled: throw Exit.cancelled
        }
    }
}
