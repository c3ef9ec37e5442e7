import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Kernels
import Notebook
import Synchronization
import TUI

/// Shows a run's progress on standard error: a bar on terminals, live outputs when asked.
final class RunDisplay: Sendable {
    enum Style: Sendable {
        /// A progress bar (and live outputs with `--log-output`).
        case progress
        /// Each cell's input and outputs as a transcript (the headless `wb open`).
        case transcript
    }

    private struct State {
        var barShown = false
        var ordinal = 0
        var total = 0
        var cellStarted = 0.0
        var runStarted = Clock.monotonic()
        var lastProgressLine = -1
    }

    private let state = Mutex(State())
    private let showProgress: Bool
    private let logOutput: Bool
    private let style: Style
    private let inputName: String

    init(showProgress: Bool, logOutput: Bool, inputName: String, style: Style = .progress) {
        self.showProgress = showProgress
        self.logOutput = logOutput
        self.inputName = inputName
        self.style = style
    }

    func handle(_ event: NotebookRunner.Progress) {
        state.withLock { s in
            switch event {
            case .kernelReady(let name, let seconds):
                if style == .transcript {
                    emit(&s, paint("2", "kernel \(name) ready in \(format3(seconds)) s") + "\n")
                }
            case .cellStarted(let index, let ordinal, let total, let source):
                s.ordinal = ordinal
                s.total = total
                s.cellStarted = Clock.monotonic()
                if style == .transcript {
                    emit(&s, "\n" + paint("32", "cell \(index + 1):") + " " + source.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n        ") + "\n")
                } else if logOutput {
                    emit(&s, "--- cell \(index + 1) (\(ordinal)/\(total)) ---\n")
                }
                drawBar(&s)
            case .output(_, let message):
                // Kernel output is untrusted: only colour and style reach the terminal.
                if style == .transcript || logOutput, let lines = RunDisplay.lines(of: message, width: transcriptWidth) {
                    emit(&s, ANSIEncoding.text(lines, color: useColor) + "\n")
                }
            case .cellFinished(let index, let ordinal, let total, let result):
                if !showProgress, style == .progress, !logOutput {
                    // Without a terminal: a line at every tenth of the run.
                    let line = total > 0 ? ordinal * 10 / total : 10
                    if line != s.lastProgressLine {
                        s.lastProgressLine = line
                        emit(&s, "\(inputName): \(ordinal)/\(total) cells done\n")
                    }
                }
                if case .error(let name, _) = result.outcome, style == .transcript {
                    emit(&s, paint("31", "(cell \(index + 1) raised \(name))") + "\n")
                }
                drawBar(&s)
            case .saved:
                break
            case .saveFailed(let why):
                emit(&s, "wb: could not save progress: \(why)\n")
            }
        }
    }

    func finish() {
        state.withLock { s in clearBar(&s) }
    }

    /// Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
    private let useColor = isTerminal(2) && Environment.get("NO_COLOR") == nil

    private func paint(_ sgr: String, _ text: String) -> String {
        useColor ? "\u{1B}[\(sgr)m\(text)\u{1B}[0m" : text
    }

    private func emit(_ s: inout State, _ text: String) {
        clearBar(&s)
        printError(text.hasSuffix("\n") ? String(text.dropLast()) : text)
    }

    private func clearBar(_ s: inout State) {
        guard s.barShown else { return }
        var err = StandardError()
        err.write("\r\u{1B}[2K")
        s.barShown = false
    }

    private func drawBar(_ s: inout State) {
        guard showProgress, style == .progress, s.total > 0 else { return }
        let width = 30
        let done = (s.ordinal - 1) * width / s.total
        let bar = String(repeating: "=", count: done) + ">" + String(repeating: " ", count: max(0, width - done - 1))
        let elapsed = Clock.monotonic() - s.runStarted
        var err = StandardError()
        err.write("\r\u{1B}[2K\(inputName) [\(bar)] \(s.ordinal)/\(s.total) \(String(format1(elapsed))) s")
        s.barShown = true
    }

    /// Columns for Markdown and tables in the log: the terminal's, or (into a file or pipe) enough that no column is cut.
    private let transcriptWidth = terminalColumns(2) ?? 1000

    /// The lines an IOPub message shows in a terminal log, sanitized: Markdown and HTML tables as the
    /// notebook app draws them (`RichOutput`), other outputs as their text.
    static func lines(of message: KernelMessage, width: Int) -> [[Span]]? {
        if message.msgType == "execute_result" || message.msgType == "display_data",
            let data = message.content["data"]?.objectValue, let rich = RichOutput.lines(data, width: width)
        {
            return rich
        }
        return text(of: message).map(OutputSanitizer.sanitize)
    }

    /// The text an IOPub message shows in a terminal log, if any.
    static func text(of message: KernelMessage) -> String? {
        let c = message.content
        switch message.msgType {
        case "stream":
            return c["text"]?.stringValue
        case "execute_result", "display_data":
            guard let data = c["data"]?.objectValue else { return nil }
            if let plain = data["text/plain"].map(Cell.joinLines) {
                return plain + "\n"
            }
            let kinds = data.keys.joined(separator: ", ")
            return "[\(kinds)]\n"
        case "error":
            let tb = c["traceback"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return tb.joined(separator: "\n") + "\n"
        default:
            return nil
        }
    }
}

func format1(_ value: Double) -> String {
    let scaled = (value * 10).rounded() / 10
    return "\(scaled)"
}
