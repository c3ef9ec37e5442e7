import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Kernels
import Notebook

struct OpenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Open a notebook.",
        discussion: """
            Until the full-screen notebook lands, `wb open` runs the notebook headless in its kernel \
            and prints each cell with its outputs as a transcript; the file is not modified. \
            \(Exit.help)
            """)

    @Argument(help: "The notebook to open (.ipynb or percent-format .py).")
    var notebook: String

    @Option(help: "The kernel to use (default: the notebook's kernelspec, else python3).")
    var kernel: String?

    func run() async throws {
        let nb: Notebook
        do {
            nb = try Notebook.read(path: notebook)
        } catch {
            printError("wb open: \(error)")
            throw Exit.badNotebook
        }
        var options = NotebookRunner.Options()
        options.kernelName = kernel
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
