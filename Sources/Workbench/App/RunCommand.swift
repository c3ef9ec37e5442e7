import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
@preconcurrency import Dispatch
import Kernels
import Notebook
import YAML

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Execute a notebook headless, like papermill or `jupyter execute`.",
        discussion: """
            Parameters go in an `injected-parameters` cell after the cell tagged `parameters` \
            (or at the top), as papermill does. Finished cells are saved to OUTPUT as the run goes \
            (at most once a second). The input file is never modified. Cells tagged `skip-execution` \
            are skipped; an error in a cell tagged `raises-exception` does not stop the run.

            \(Exit.help)
            """)

    @Argument(help: "The notebook to run (.ipynb or percent-format .py).")
    var input: String

    @Option(name: [.short, .customLong("output")], help: "Where to write the executed notebook.")
    var output: String?

    @Option(name: [.customShort("p"), .customLong("parameter")], parsing: .upToNextOption,
        help: ArgumentHelp("A parameter: -p NAME VALUE (VALUE typed as papermill does).", valueName: "name value"))
    var parameterWords: [String] = []

    /// `-p NAME VALUE` occurrences, as name/value pairs.
    var parameterPairs: [[String]] {
        stride(from: 0, to: parameterWords.count, by: 2).map { Array(parameterWords[$0..<min($0 + 2, parameterWords.count)]) }
    }

    @Option(name: [.short, .customLong("parameters-file")], help: "A YAML file of parameters.")
    var file: String?

    @Option(help: "The kernel to use (default: the notebook's kernelspec, else python3).")
    var kernel: String?

    @Option(name: .customLong("cell-timeout"), help: "Seconds a cell may run before it is interrupted.")
    var cellTimeout: Double?

    @Option(name: .customLong("startup-timeout"), help: "Seconds to wait for the kernel to start.")
    var startupTimeout: Double = 60

    @Option(name: .customLong("cwd"), help: "The kernel's working directory (default: the notebook's folder).")
    var workingDirectory: String?

    @Flag(name: .customLong("log-output"), help: "Show cell outputs live on standard error.")
    var logOutput = false

    @Flag(help: "Print a JSON report on standard output.")
    var json = false

    @Flag(name: .customLong("no-progress"), help: "Do not draw the progress bar.")
    var noProgress = false

    func validate() throws {
        for pair in parameterPairs where pair.count != 2 {
            throw ValidationError("-p takes a name and a value, as in -p alpha 0.5 (got \(pair.joined(separator: " ")))")
        }
        if let output, FilePath.absolute(output) == FilePath.absolute(input) {
            throw ValidationError("the output must not be the input file; wb run never modifies its input")
        }
    }

    func parameters() throws -> [(String, JSON)] {
        var result: [(String, JSON)] = []
        if let file {
            let text: String
            do { text = try FileIO.readText(file) } catch { throw ValidationError("cannot read \(file): \(error)") }
            let loaded: JSON?
            do { loaded = try YAML.load(text) } catch { throw ValidationError("\(file) is not valid YAML: \(error)") }
            guard let object = loaded?.objectValue else {
                throw ValidationError("\(file) must hold a mapping of parameter names to values")
            }
            for (key, value) in object { result.append((key, value)) }
        }
        for pair in parameterPairs {
            result.removeAll { $0.0 == pair[0] }
            result.append((pair[0], Parameters.infer(pair[1])))
        }
        return result
    }

    func run() async throws {
        let notebook: Notebook
        do {
            notebook = try Notebook.read(path: input)
        } catch {
            printError("wb run: \(error)")
            throw Exit.badNotebook
        }
        var options = NotebookRunner.Options()
        options.kernelName = kernel
        options.parameters = try parameters()
        options.cellTimeout = cellTimeout
        options.startupTimeout = startupTimeout
        options.outputPath = output
        options.workingDirectory = workingDirectory
        options.kernelSetup = { SQLMagic.kernelSetup(for: $0) }
        // wb exits right after: the kernel finishes exiting on its own once it has acknowledged its shutdown.
        options.awaitKernelExit = false
        if let output {
            let dir = FilePath.directory(of: FilePath.absolute(output))
            guard FileIO.isDirectory(dir) else {
                printError("wb run: cannot write \(output): the folder \(dir) does not exist")
                throw Exit.writeFailed
            }
        }
        let cancellation = NotebookRunner.Cancellation()
        let signals = SignalWatcher([SIGINT, SIGTERM]) { cancellation.cancel() }
        defer { signals.stop() }
        let display = RunDisplay(
            showProgress: !noProgress && isTerminal(2), logOutput: logOutput, inputName: FilePath.lastComponent(of: input))
        let report: NotebookRunner.Report
        do {
            report = try await NotebookRunner(options: options).run(
                notebook, inputPath: input, cancellation: cancellation, progress: display.handle)
        } catch {
            display.finish()
            printError("wb run: \(error.message)")
            throw Exit.kernelUnavailable
        }
        display.finish()
        if json {
            var value = report.json
            if let output { value["output"] = .string(output) }
            printJSON(value)
        }
        let summary = "\(report.executed)/\(report.codeCells) cells in \(String(format3(report.secondsTotal))) s"
        switch report.status {
        case .ok:
            if !json { printError("wb run: ran \(summary)" + (output.map { ", wrote \($0)" } ?? "")) }
        case .cellError:
            printError("wb run: \(report.message ?? "a cell failed")" + (output.map { " (see \($0))" } ?? ""))
            throw Exit.cellError
        case .cellTimeout:
            printError("wb run: \(report.message ?? "a cell timed out")")
            throw Exit.cellTimeout
        case .kernelDied:
            printError("wb run: \(report.message ?? "the kernel died")")
            throw Exit.kernelDied
        case .cancelled:
            printError("wb run: interrupted; \(summary)" + (output.map { ", finished cells saved in \($0)" } ?? ""))
            throw Exit.cancelled
        }
    }
}

func format3(_ value: Double) -> String {
    let scaled = (value * 1000).rounded() / 1000
    return "\(scaled)"
}

/// Calls `handler` when one of the signals arrives, instead of dying.
final class SignalWatcher: @unchecked Sendable {  // DispatchSource is thread-safe
    private let sources: [any DispatchSourceSignal]

    init(_ signals: [Int32], handler: @escaping @Sendable () -> Void) {
        sources = signals.map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
    }

    func stop() {
        sources.forEach { $0.cancel() }
    }
}
