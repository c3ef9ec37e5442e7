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
            and edit modes, cells run in the kernel as you go, Ctrl-S saves, F1 lists the keys, Ctrl-P \
            finds any action. Several files open in tabs (Ctrl-O opens more, Ctrl-T switches); each notebook \
            gets its own kernel, and text files (.py without `# %%` cells, .sql, .md, .yaml, .txt) open in \
            the same editor. The kernel \
            starts in the background. A FILE that does not exist is created on the first save; without FILE, \
            the first free Untitled.ipynb in this folder is used. Unsaved edits are written every few seconds \
            to $WB_HOME/recovery/, and reopening after a crash offers them back. \
            Each notebook's kernel runs in a session host (see wb sessions): Ctrl-Q quits and stops them; Ctrl-D \
            (or closing the terminal) detaches, leaving them running, and wb open on the same notebook re-attaches \
            and shows what it printed meanwhile. \
            With --headless, or when standard input or output is not a terminal, the notebook runs headless \
            in its kernel and each cell is printed with its outputs as a transcript; the file is not modified. \
            Exit codes in a terminal: 0 after quitting or detaching; 1 ncurses cannot drive the terminal (check \
            TERM) or a notebook is open in another wb; 5 a file cannot be read; 143 the session was \
            stopped (wb sessions stop, the culler). Headless: \(Exit.help)
            """)

    @Argument(
        help: "The files to open, each in a tab: notebooks (.ipynb, percent-format .py) and text files (.py, .sql, .md, .yaml, .txt ...); created on save if they do not exist.")
    var files: [String] = []

    @Option(help: "The kernel to use (default: the notebook's kernelspec, else python3).")
    var kernel: String?

    @Flag(help: "Run the notebook headless and print a transcript (the default when not in a terminal).")
    var headless = false

    func run() async throws {
        if headless || !isTerminal(0) || !isTerminal(1) {
            guard files.count == 1, let notebook = files.first else {
                printError("wb open: name one notebook to run headless (no terminal to open it in)")
                throw ExitCode.validationFailure
            }
            try await runHeadless(notebook)
        } else {
            try await runFullScreen(files.isEmpty ? [Self.untitled()] : files)
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

    func runFullScreen(_ paths: [String]) async throws {
        let home = Environment.workbenchHome
        // Each notebook's kernel lives in a session host when the registry can be opened; else it is this process's own (no detach).
        let registry = try? SessionRegistry(domain: Domain.open(at: home))
        var documents: [TUI.Workspace.Document] = []
        for path in paths {
            do {
                documents.append(try TUI.Workspace.read(path: path, home: home))
            } catch {
                printError("wb open: \(error)")
                throw Exit.badNotebook
            }
            if case .notebook = documents.last, let registry, let other = NotebookHosting.otherClient(of: path, registry: registry) {
                printError(
                    "wb open: \(path) is open in another wb (pid \(other.pid)): detach there with Ctrl-D, or stop the session with "
                        + "wb sessions stop \(other.session.prefix(8))")
                throw ExitCode.failure
            }
        }
        let runtime = TUI.Workspace.Runtime(
            state: TUI.Workspace.State(documents: documents), home: home, kernelName: kernel, gitTool: GitTool.path
        ) { notebook, name, queue in
            NotebookHosting.attach(&notebook, kernelName: name, queue: queue, registry: registry, home: home)
        }
        let ending: NotebookApp.Ending
        do {
            ending = try await TUI.Workspace.runInTerminal(runtime)
        } catch {
            await runtime.finish(.quit)
            printError("wb open: \(error)")
            throw ExitCode.failure
        }
        await ending.writes?.value
        // The terminal went away: hung up, or its input closed before any quit.
        let terminalGone = ending.signal == SIGHUP || (ending.signal == nil && !runtime.state.quit)
        let how: TUI.Workspace.Finish =
            terminalGone ? .hungUp : ending.detached ? .detach : ending.signal != nil ? .stopped : .quit
        await runtime.finish(how)
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
