import ArgumentParser
import CoreSupport
import TUI

extension BenchCommand {
    /// `wb bench editor`: how long the cell editor takes per keystroke and frame on a big cell.
    struct Editor: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "editor",
            abstract: "Time cell-editor keystrokes and frames on a large Python cell (see Benchmarks/editor).")

        @Option(help: "Lines in the cell.") var lines = 5000
        @Option(help: "Timed keystrokes per measurement.") var count = 500
        @Option(help: "Columns of the editor's view.") var width = 100
        @Option(help: "Rows of the editor's view.") var height = 40
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard lines >= 10, count >= 1, width >= 10, height >= 1 else {
                printError("wb bench editor: --lines needs at least 10, --count 1, --width 10, --height 1")
                throw ExitCode.validationFailure
            }
            let source = Self.pythonSource(lines: lines)
            var screen = ScreenBuffer(width: width, height: height)

            let loadStart = Clock.monotonic()
            var editor = TextEditor(text: source, language: .python)
            let loadMs = (Clock.monotonic() - loadStart) * 1000
            editor.wrapWidth = width
            editor.moveCursor(to: TextPosition(line: lines / 2, column: 8))

            /// One frame as the notebook draws it: the cell's height, the cursor row, the visible rows.
            func frame(_ editor: TextEditor) {
                _ = editor.height(width: width)
                let row = editor.cursorRow(width: width)
                _ = editor.render(into: &screen, rect: screen.area, focused: true, scrollRow: max(0, row - height / 2))
            }
            func measure(_ body: (inout TextEditor) -> Void) -> [Double] {
                var samples: [Double] = []
                samples.reserveCapacity(count)
                for _ in 0..<count {
                    let t0 = Clock.monotonic()
                    body(&editor)
                    frame(editor)
                    samples.append((Clock.monotonic() - t0) * 1_000_000)
                }
                return samples.sorted()
            }

            let typing = measure { _ = $0.handle(KeyEvent(.character("x"))) }
            let backspace = measure { _ = $0.handle(KeyEvent(.backspace)) }
            let newline = measure { e in
                _ = e.handle(KeyEvent(.enter))
                _ = e.handle(KeyEvent(.backspace))
            }
            let moving = measure { _ = $0.handle(KeyEvent(.down)) }
            editor.moveCursor(to: TextPosition(line: lines / 2, column: 0))
            let undo = measure { e in
                e.insert("y = (1, 2)\n")
                e.undo()
            }
            // Worst case: a triple quote at the top turns every line into string, then back.
            editor.moveCursor(to: TextPosition(line: 0, column: 0))
            let rehighlight = measure { e in
                e.insert("\"\"\"")
                e.undo()
            }
            let frameOnly = measure { _ in }
            let report: JSON = [
                "lines": .int(lines), "count": .int(count), "width": .int(width), "height": .int(height),
                "load_ms": .double((loadMs * 1000).rounded() / 1000),
                "type_us": Self.summary(typing), "backspace_us": Self.summary(backspace),
                "enter_backspace_us": Self.summary(newline), "down_us": Self.summary(moving),
                "paste_undo_us": Self.summary(undo), "rehighlight_all_us": Self.summary(rehighlight),
                "frame_us": Self.summary(frameOnly), "peak_rss_kb": .int(ProcessMemory.peakKB),
            ]
            if json { print(report.serialized(.init(sortKeys: true))) } else { print(report.serialized(.pretty)) }
        }

        static func summary(_ sorted: [Double]) -> JSON {
            ["median": .double(percentile(sorted, 0.5)), "p99": .double(percentile(sorted, 0.99)), "max": .double(percentile(sorted, 1))]
        }

        /// A plausible Python module of `lines` lines: functions, docstrings, comments, strings, brackets.
        static func pythonSource(lines: Int) -> String {
            let block = [
                "@decorator(name=\"block\")",
                "def function_NUM(data, *, limit=100, label='series NUM'):",
                "    \"\"\"Summarise the rows of `data` up to `limit` (NUM).",
                "",
                "    Returns a dict of totals keyed by label.",
                "    \"\"\"",
                "    totals = {}  # label -> running total",
                "    for index, row in enumerate(data[:limit]):",
                "        if row.get(\"value\") is None or index % 7 == 3:",
                "            continue",
                "        totals[label] = totals.get(label, 0) + float(row[\"value\"]) * 1.5e-3",
                "    return {k: round(v, 2) for k, v in sorted(totals.items())}",
                "",
            ]
            var out: [String] = []
            out.reserveCapacity(lines)
            var n = 0
            while out.count < lines {
                for line in block where out.count < lines { out.append(line.replacingNUM(n)) }
                n += 1
            }
            return out.joined(separator: "\n")
        }
    }
}

extension String {
    /// The text with every `NUM` replaced by `n`.
    fileprivate func replacingNUM(_ n: Int) -> String {
        split(separator: "NUM", omittingEmptySubsequences: false).joined(separator: String(n))
    }
}
