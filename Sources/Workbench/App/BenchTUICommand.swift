import ArgumentParser
import CoreSupport
import Kernels
import Notebook
import TUI

extension BenchCommand {
    /// `wb bench tui`: the notebook screen's own work, in process: opening a notebook to its first frame, and frames while a cell streams.
    struct Screen: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tui",
            abstract: "Time the notebook screen in process: open to first frame, and frames while a cell streams (see Benchmarks/tui).",
            discussion: """
                Open: reads NOTEBOOK as `wb open` does (file, notebook model, screen state), then lays out and \
                renders the first frame for a --width x --height terminal; then jumps to the last cell (End) \
                and renders that frame; then does what `wb view` does up to its first frame (read, view state, \
                resize, render). Stream: a cell receives --lines lines, --chunk lines per frame (as the \
                terminal loop gathers a flood of output into one batch a frame); each frame is the update \
                applying the batch plus the render. No kernel, no terminal: the numbers are the app's own work, \
                without process start-up, ncurses or tmux, which Benchmarks/tui measures around it.
                """)

        @Option(help: "A notebook to open (.ipynb); without it only the stream is measured.") var notebook: String?
        @Option(name: .customLong("repeat"), help: "Times each open is repeated (the median is reported).") var runs = 5
        @Option(help: "Lines the streaming cell prints.") var lines = 100_000
        @Option(help: "Lines a frame receives while streaming.") var chunk = 40
        @Option(help: "Columns of the screen.") var width = 120
        @Option(help: "Rows of the screen.") var height = 40
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            guard runs >= 1, lines >= 1, chunk >= 1, width >= 10, height >= 3 else {
                printError("wb bench tui: --repeat, --lines and --chunk need at least 1, --width 10, --height 3")
                throw ExitCode.validationFailure
            }
            let size = Size(width: width, height: height)
            var report: JSON = ["width": .int(width), "height": .int(height)]
            if let notebook {
                do {
                    report["open"] = try Self.open(notebook, size: size, runs: runs)
                } catch {
                    printError("wb bench tui: \(error)")
                    throw ExitCode(5)
                }
            }
            report["stream"] = Self.stream(lines: lines, chunk: chunk, size: size)
            report["peak_rss_kb"] = .int(ProcessMemory.peakKB)
            if json { print(report.serialized(.init(sortKeys: true))) } else { print(report.serialized(.pretty)) }
        }

        /// Milliseconds since `start`.
        static func ms(since start: Double) -> Double { (Clock.monotonic() - start) * 1000 }

        static func median(_ xs: [Double]) -> Double { percentile(xs.sorted(), 0.5) }

        /// Opening `path`: the file parsed, the screen state built, the first frame laid out and drawn, and the last cell's frame.
        static func open(_ path: String, size: Size, runs: Int) throws -> JSON {
            var parse: [Double] = []
            var state: [Double] = []
            var frame: [Double] = []
            var end: [Double] = []
            var view: [Double] = []
            var cells = 0
            var firstScreen: [String] = []
            var lastScreen: [String] = []
            for _ in 0..<runs {
                var t0 = Clock.monotonic()
                _ = try Notebook.read(path: path)
                parse.append(ms(since: t0))
                // As `wb open` does: the file read again with the screen state (`Workspace.read`), then the terminal's size.
                t0 = Clock.monotonic()
                var app = try NotebookApp.open(path: path, size: Size(width: 80, height: 24))
                state.append(ms(since: t0))
                t0 = Clock.monotonic()
                app = NotebookApp.update(app, .resize(size))
                var buffer = ScreenBuffer(size: size)
                NotebookApp.render(app, into: &buffer)
                frame.append(ms(since: t0))
                firstScreen = buffer.lines(trimmed: true)
                t0 = Clock.monotonic()
                app = NotebookApp.update(app, .input(.key(.end)))
                buffer = ScreenBuffer(size: size)
                NotebookApp.render(app, into: &buffer)
                end.append(ms(since: t0))
                lastScreen = buffer.lines(trimmed: true)
                cells = app.cells.count
                // `wb view`: the file read, the view's state, the terminal's size, the first frame.
                t0 = Clock.monotonic()
                let viewed = NotebookView.update(
                    NotebookView.state(for: try Notebook.read(path: path), fileName: FilePath.lastComponent(of: path)), .resize(size))
                buffer = ScreenBuffer(size: size)
                NotebookView.render(viewed, into: &buffer)
                view.append(ms(since: t0))
            }
            let bytes = (try? FileIO.read(path).count) ?? 0
            return [
                "path": .string(path), "bytes": .int(bytes), "cells": .int(cells), "repeat": .int(runs),
                "parse_ms": .double(median(parse)), "open_ms": .double(median(state)), "first_frame_ms": .double(median(frame)),
                "first_screen_ms": .double(median(zip(state, frame).map { $0 + $1 })),
                "end_frame_ms": .double(median(end)), "view_first_screen_ms": .double(median(view)),
                // What the two frames showed, so a fast but wrong screen is visible in the report.
                "first_screen_top": .string(firstScreen.first ?? ""), "end_screen_status": .string(lastScreen.last ?? ""),
            ]
        }

        /// A cell printing `lines` lines, `chunk` a frame: each frame's update and render times.
        static func stream(lines: Int, chunk: Int, size: Size) -> JSON {
            let nb = Notebook(
                cells: [NotebookCell(.code, source: "for i in range(\(lines)):\n    print(f'stream line {i}')"), NotebookCell(.code, source: "")],
                metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
            var app = NotebookApp.State(notebook: nb, path: "bench-stream.ipynb", size: size)
            app = NotebookApp.update(app, .tick(1))
            let key = app.current.key
            app = NotebookApp.update(app, .input(.key(.function(5))))
            app = NotebookApp.update(app, .session(.kernelStatus(.idle)))
            app = NotebookApp.update(app, .session(.cellStarted(cell: key, executionCount: 1)))
            var updates: [Double] = []
            var renders: [Double] = []
            var frames: [Double] = []
            var printed = 0
            var buffer = ScreenBuffer(size: size)
            while printed < lines {
                let n = min(chunk, lines - printed)
                var text = ""
                for i in printed..<(printed + n) { text += "stream line \(i)\n" }
                printed += n
                var t0 = Clock.monotonic()
                app = NotebookApp.update(app, .session(.stream(cell: key, name: "stdout", text: text)))
                let update = ms(since: t0)
                t0 = Clock.monotonic()
                buffer = ScreenBuffer(size: size)
                NotebookApp.render(app, into: &buffer)
                let render = ms(since: t0)
                updates.append(update)
                renders.append(render)
                frames.append(update + render)
            }
            let t0 = Clock.monotonic()
            app = NotebookApp.update(app, .session(.cellFinished(cell: key, outcome: .ok, executionCount: 1)))
            let finish = ms(since: t0)
            let screen = buffer.lines(trimmed: true)
            func summary(_ xs: [Double]) -> JSON {
                let s = xs.sorted()
                return ["median": .double(percentile(s, 0.5)), "p99": .double(percentile(s, 0.99)), "max": .double(percentile(s, 1))]
            }
            // The first and second half of the frames: a cost that grows with the text printed so far shows as a rise.
            let half = frames.count / 2
            return [
                "lines": .int(lines), "chunk": .int(chunk), "frames": .int(frames.count),
                "frame_ms": summary(frames), "update_ms": summary(updates), "render_ms": summary(renders),
                "frame_ms_first_half": summary(Array(frames[..<half])), "frame_ms_second_half": summary(Array(frames[half...])),
                "frames_over_16ms": .int(frames.filter { $0 > 16 }.count), "finish_ms": .double((finish * 1000).rounded() / 1000),
                "last_line_shown": .bool(screen.contains { $0.hasSuffix("stream line \(lines - 1)") }),
                "capped_marker_shown": .bool(screen.contains { $0.contains("earlier lines hidden") }),
            ]
        }
    }
}
