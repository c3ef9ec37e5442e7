public import CoreSupport
public import Notebook
import Synchronization

/// Runs every code cell of a notebook in a kernel, headless (what papermill and `jupyter execute` do).
///
/// Finished cells are saved to the output file as the run goes (at most once
/// per `saveInterval`), so a crash keeps the work done; the input file is never
/// written. A failing cell stops the run, is marked in the output notebook and
/// named in the report.
public struct NotebookRunner: Sendable {
    public struct Options: Sendable {
        public var kernelName: String?
        public var parameters: [(String, JSON)] = []
        public var cellTimeout: Double?
        public var startupTimeout: Double = 60
        public var saveInterval: Double = 1
        public var outputPath: String?
        /// The kernel's working directory; default: the input notebook's folder.
        public var workingDirectory: String?
        /// Whether to wait at the end until the kernel's process has exited, not only until it has
        /// acknowledged its shutdown (`KernelManager.shutdown(awaitExit:)`); `wb run`, which exits next, does not.
        public var awaitKernelExit = true
        /// What the application adds to the kernel it starts for this notebook (environment, start-up code).
        public var kernelSetup: @Sendable (KernelSpec) -> KernelSetup = { _ in KernelSetup() }

        public init() {}
    }

    /// How a run ended.
    public enum Status: String, Sendable {
        case ok
        case cellError = "cell-error"
        case cellTimeout = "cell-timeout"
        case kernelDied = "kernel-died"
        case cancelled
    }

    public struct Report: Sendable {
        public var status: Status = .ok
        public var kernelName = ""
        public var codeCells = 0
        public var executed = 0
        /// Index (0-based, counting the injected parameters cell, before the error banner) of the cell that stopped the run.
        public var failedCell: Int?
        public var failedCellID: String?
        public var message: String?
        public var secondsToReady: Double = 0
        public var secondsTotal: Double = 0
        public var saves = 0
        public var notebook: Notebook

        public var json: JSON {
            var o: JSONObject = [
                "status": .string(status.rawValue), "kernel": .string(kernelName), "code_cells": .int(codeCells),
                "executed": .int(executed), "seconds_to_ready": .double((secondsToReady * 1000).rounded() / 1000),
                "seconds_total": .double((secondsTotal * 1000).rounded() / 1000),
            ]
            if let failedCell { o["failed_cell"] = .int(failedCell + 1) }
            if let failedCellID { o["failed_cell_id"] = .string(failedCellID) }
            if let message { o["message"] = .string(message) }
            return .object(o)
        }
    }

    /// What the runner tells its caller as it goes.
    public enum Progress: Sendable {
        case kernelReady(name: String, seconds: Double)
        case cellStarted(index: Int, ordinal: Int, total: Int, source: String)
        case output(index: Int, message: KernelMessage)
        case cellFinished(index: Int, ordinal: Int, total: Int, result: ExecutionResult)
        case saved(path: String)
        case saveFailed(String)
    }

    public var options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Checks a cancellation flag between cells and while a cell runs.
    public final class Cancellation: Sendable {
        private let flag = Mutex(false)
        public init() {}
        public func cancel() { flag.withLock { $0 = true } }
        public var isCancelled: Bool { flag.withLock { $0 } }
    }

    /// Runs `notebook` (read from `inputPath`) and returns the report with the executed notebook.
    public func run(
        _ notebook: Notebook, inputPath: String, finder: KernelSpecFinder = KernelSpecFinder(),
        cancellation: Cancellation = Cancellation(), progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws(KernelError) -> Report {
        let started = Clock.monotonic()
        var nb = notebook
        let kernelName = options.kernelName ?? nb.kernelName ?? "python3"
        let spec = try finder.spec(named: kernelName)
        if !options.parameters.isEmpty {
            Parameters.inject(options.parameters, into: &nb, language: nb.language ?? spec.language)
        }
        var report = Report(kernelName: spec.name, notebook: nb)
        let directory = options.workingDirectory ?? FilePath.directory(of: FilePath.absolute(inputPath))
        let kernel = try KernelManager.start(
            spec: spec, directory: directory, pythonPrefix: finder.pythonPrefix, setup: options.kernelSetup(spec))
        do {
            try await kernel.waitForReady(timeout: options.startupTimeout)
        } catch {
            await kernel.shutdown()
            throw error
        }
        report.secondsToReady = Clock.monotonic() - started
        progress(.kernelReady(name: spec.name, seconds: report.secondsToReady))
        if let info = kernel.kernelInfo?["language_info"], case .object = info {
            var meta = nb.metadata
            meta["language_info"] = info
            if meta["kernelspec"] == nil {
                meta["kernelspec"] = [
                    "display_name": .string(spec.displayName), "language": .string(spec.language), "name": .string(spec.name),
                ]
            }
            nb.metadata = meta
        }

        let codeIndexes = nb.cells.indices.filter { nb.cells[$0].kind == .code && !nb.cells[$0].tags.contains("skip-execution") }
        report.codeCells = codeIndexes.count
        var lastSave = Clock.monotonic()
        var dirty = false
        func save(_ force: Bool) {
            guard let path = options.outputPath, dirty, force || Clock.monotonic() - lastSave >= options.saveInterval else { return }
            do {
                try nb.write(path: path)
                report.saves += 1
                dirty = false
                lastSave = Clock.monotonic()
                progress(.saved(path: path))
            } catch {
                progress(.saveFailed(error.description))
            }
        }
        // Outputs of earlier runs go, as in papermill and nbclient.
        for index in codeIndexes {
            nb.cells[index].outputs = []
            nb.cells[index].executionCount = nil
        }
        dirty = true
        save(true)

        let watcher = Task {
            while !Task.isCancelled {
                if cancellation.isCancelled {
                    _ = try? await kernel.interrupt()
                    return
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        defer { watcher.cancel() }

        for (ordinal, index) in codeIndexes.enumerated() {
            if cancellation.isCancelled {
                report.status = .cancelled
                report.message = "cancelled before cell \(index + 1)"
                break
            }
            let source = nb.cells[index].source
            progress(.cellStarted(index: index, ordinal: ordinal + 1, total: codeIndexes.count, source: source))
            var execOptions = ExecuteOptions(timeout: options.cellTimeout)
            execOptions.stopOnError = true
            let result = await kernel.execute(source, options: execOptions, onMessage: { message in
                progress(.output(index: index, message: message))
            })
            nb.cells[index].outputs = result.outputs
            nb.cells[index].executionCount = result.executionCount
            var meta = nb.cells[index].metadata
            if !result.timing.isEmpty { meta["execution"] = .object(result.timing) }
            nb.cells[index].metadata = meta
            dirty = true
            report.executed += 1
            progress(.cellFinished(index: index, ordinal: ordinal + 1, total: codeIndexes.count, result: result))
            let allowedError = nb.cells[index].tags.contains("raises-exception")
            switch result.outcome {
            case .ok, .aborted:
                break
            case .error(let name, let value) where !allowedError:
                report.status = cancellation.isCancelled ? .cancelled : .cellError
                report.message = cancellation.isCancelled ? "cancelled during cell \(index + 1)" : "cell \(index + 1) raised \(name): \(value)"
            case .error:
                break
            case .timedOut:
                report.status = .cellTimeout
                report.message = "cell \(index + 1) did not finish within \(Double(options.cellTimeout ?? 0).formattedSeconds) and was interrupted"
            case .kernelDied(let why):
                report.status = .kernelDied
                report.message = "cell \(index + 1) was running when the \(why)"
            }
            if report.status != .ok {
                report.failedCell = index
                report.failedCellID = nb.cells[index].id
                break
            }
            save(false)
        }
        if report.status != .ok, let failed = report.failedCell {
            markFailure(&nb, at: failed, message: report.message ?? "")
        }
        dirty = true
        save(true)
        report.notebook = nb
        if case .kernelDied = report.status {
            await kernel.shutdown(timeout: 1)
        } else {
            await kernel.shutdown(awaitExit: options.awaitKernelExit)
        }
        report.secondsTotal = Clock.monotonic() - started
        return report
    }

    /// Marks the failing cell: a markdown banner before it (as papermill does) and a flag in its metadata.
    func markFailure(_ nb: inout Notebook, at index: Int, message: String) {
        var meta = nb.cells[index].metadata
        meta["wb"] = ["status": "failed", "message": .string(message)]
        nb.cells[index].metadata = meta
        var banner = Cell(
            .markdown,
            source: "<span style=\"color:red; font-size:1.5em;\">Execution stopped here: \(message.htmlEscaped)</span>",
            id: nb.hasCellIDs ? Cell.randomID() : nil)
        banner.metadata = ["tags": ["wb-error"]]
        nb.cells.insert(banner, at: index)
    }
}

extension Double {
    var formattedSeconds: String {
        self == rounded() ? "\(Int(self)) s" : "\(self) s"
    }
}

extension String {
    var htmlEscaped: String {
        replacingAll("&", with: "&amp;").replacingAll("<", with: "&lt;").replacingAll(">", with: "&gt;")
    }
}
