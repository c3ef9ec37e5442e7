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

        let sender = CellSender(
            kernel: kernel, steps: codeIndexes.map { (index: $0, source: nb.cells[$0].source) },
            cellTimeout: options.cellTimeout, cancellation: cancellation, progress: progress)
        for (ordinal, index) in codeIndexes.enumerated() {
            // A cell already sent ahead has started (or is about to): it is waited for, and the
            // watcher's interrupt ends it if the run was cancelled meanwhile.
            if cancellation.isCancelled, !sender.wasSent(ordinal) {
                report.status = .cancelled
                report.message = "cancelled before cell \(index + 1)"
                break
            }
            let result = await sender.execution(ordinal).result()
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
        sender.stop()
        if report.status != .ok, let failed = report.failedCell {
            markFailure(&nb, at: failed, message: report.message ?? "")
        }
        dirty = true
        save(true)
        report.notebook = nb
        if case .kernelDied = report.status {
            await kernel.shutdown(timeout: 1)
        } else {
            await kernel.shutdown()
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

/// Sends a run's cells to the kernel, one at a time, each as soon as the kernel can take it.
///
/// A cell is sent when the one before it has succeeded: the moment its `execute_reply` says
/// `ok`, on the client's I/O thread, not after the runner has been woken for its `idle` status
/// and has filed its outputs. The kernel, which publishes `idle` only after that reply, then
/// finds the next request waiting, so the runner's bookkeeping (and a save) overlaps the next
/// cell instead of adding to every cell. A cell whose reply is an error (or `aborted`) has no
/// successor sent: the runner decides, as before, whether the run goes on (`raises-exception`)
/// and sends the next cell itself, after the kernel has dealt with its queue (`stop_on_error`).
/// (A reply of `ok` with an error among the cell's outputs still stops the run, but the next
/// cell has then been sent; its outputs are not kept.)
final class CellSender: Sendable {
    private let kernel: KernelManager
    private let steps: [(index: Int, source: String)]
    private let cellTimeout: Double?
    private let cancellation: NotebookRunner.Cancellation
    private let progress: @Sendable (NotebookRunner.Progress) -> Void

    private struct State {
        /// Ordinals of the cells sent so far: 0..<sent (`Int.max` once stopped).
        var sent = 0
        /// Cells sent ahead whose execution the runner has not taken yet.
        var ahead: [Int: PendingExecution] = [:]
        /// Cells whose `cellStarted` went out.
        var announced = Set<Int>()
    }

    private let state = Mutex(State())

    init(
        kernel: KernelManager, steps: [(index: Int, source: String)], cellTimeout: Double?,
        cancellation: NotebookRunner.Cancellation, progress: @escaping @Sendable (NotebookRunner.Progress) -> Void
    ) {
        self.kernel = kernel
        self.steps = steps
        self.cellTimeout = cellTimeout
        self.cancellation = cancellation
        self.progress = progress
    }

    /// Sends nothing more ahead (the run is over).
    func stop() { state.withLock { $0.sent = Int.max } }

    /// Whether cell `ordinal` has been sent to the kernel.
    func wasSent(_ ordinal: Int) -> Bool { state.withLock { ordinal < $0.sent } }

    /// The execution of cell `ordinal`: the one sent ahead, or one sent now.
    func execution(_ ordinal: Int) -> PendingExecution {
        let ready = state.withLock { s -> PendingExecution? in
            if let ahead = s.ahead.removeValue(forKey: ordinal) { return ahead }
            s.sent = max(s.sent, ordinal + 1)  // from now on `sendAhead(ordinal)` does nothing
            return nil
        }
        // All outputs of the cell before have been delivered by now, so this is in order; a cell sent
        // ahead has usually been announced already, by its first message.
        announce(ordinal)
        return ready ?? submit(ordinal)
    }

    /// Sends cell `ordinal` from the I/O thread, if it is the next one and the run goes on.
    private func sendAhead(_ ordinal: Int) {
        guard ordinal < steps.count, !cancellation.isCancelled else { return }
        state.withLock { s in
            guard s.sent == ordinal else { return }
            s.sent = ordinal + 1
            // Safe under the lock: `submit` calls `onMessage` only later, for messages received.
            s.ahead[ordinal] = submit(ordinal)
        }
    }

    /// Tells the caller a cell started, once: before it is sent by the runner, or (sent ahead) at its first message.
    private func announce(_ ordinal: Int) {
        let first = state.withLock { $0.announced.insert(ordinal).inserted }
        if first {
            progress(.cellStarted(index: steps[ordinal].index, ordinal: ordinal + 1, total: steps.count, source: steps[ordinal].source))
        }
    }

    private func submit(_ ordinal: Int) -> PendingExecution {
        let index = steps[ordinal].index
        var options = ExecuteOptions(timeout: cellTimeout)
        options.stopOnError = true
        return kernel.submit(steps[ordinal].source, options: options, onMessage: { [self] message in
            if message.msgType == "execute_reply", message.content["status"]?.stringValue == "ok" {
                sendAhead(ordinal + 1)
            }
            announce(ordinal)
            progress(.output(index: index, message: message))
        })
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
