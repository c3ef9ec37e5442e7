import CoreSupport
import Notebook
import Testing

@testable import TUI

@Suite("Notebook view")
struct NotebookViewTests {
    /// A 1x1 PNG, base64 as notebooks store it.
    static let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

    /// A notebook with markdown, a stream with escapes, a CJK table, an image and a traceback.
    static func notebook(extraCells: Int = 0) throws -> Notebook {
        let cells: [JSON] = [
            ["cell_type": "markdown", "metadata": [:], "source": ["# Title\n", "Some\ttext"]],
            [
                "cell_type": "code", "metadata": [:], "execution_count": 1, "source": "print('hi')",
                "outputs": [["output_type": "stream", "name": "stdout", "text": "hi \u{1B}[31mred\u{1B}[0m\u{1B}]52;c;aGk=\u{07}!\n"]],
            ],
            [
                "cell_type": "code", "metadata": [:], "execution_count": 2, "source": "df",
                "outputs": [
                    [
                        "output_type": "execute_result", "execution_count": 2, "metadata": [:],
                        "data": ["text/plain": ["name | n\n", "東京 | 42\n", "abcd | 7"], "text/html": "<table/>"],
                    ]
                ],
            ],
            [
                "cell_type": "code", "metadata": [:], "execution_count": 3, "source": "plot()\nshow()",
                "outputs": [
                    ["output_type": "display_data", "metadata": [:], "data": ["image/png": .string(png), "text/plain": "<Figure>"]],
                    ["output_type": "display_data", "metadata": [:], "data": ["text/html": "<b>x</b>"]],
                    ["output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["\u{1B}[31mValueError\u{1B}[0m: bad"]],
                ],
            ],
            ["cell_type": "code", "metadata": [:], "execution_count": .null, "source": "", "outputs": []],
        ] + (0..<extraCells).map { i in
            ["cell_type": "code", "metadata": [:], "execution_count": .null, "source": .string("x\(i) = \(i)"), "outputs": []]
        }
        let file: JSON = ["nbformat": 4, "nbformat_minor": 4, "metadata": [:], "cells": .array(cells)]
        return try Notebook(ipynb: Array(file.serialized(.compact).utf8))
    }

    static func screen(_ state: NotebookView.State) -> [String] {
        var buffer = ScreenBuffer(size: state.size)
        NotebookView.render(state, into: &buffer)
        return buffer.lines(trimmed: true)
    }

    static func press(_ state: NotebookView.State, _ keys: InputEvent...) -> NotebookView.State {
        keys.reduce(state) { NotebookView.update($0, .input($1)) }
    }

    @Test func rendersEveryCellKindAndOutputKind() throws {
        let state = NotebookView.state(for: try Self.notebook(), fileName: "demo.ipynb", size: Size(width: 50, height: 26))
        let rule = { (title: String) in "── \(title) " + String(repeating: "─", count: 50 - 4 - DisplayWidth.of(title)) }
        #expect(
            Self.screen(state) == [
                rule("markdown · cell 1"),
                "  # Title",  // Markdown cells show rendered
                "",
                "  Some    text",
                "",
                rule("[1] code · cell 2"),
                "│ print('hi')",
                "  hi red!",
                "",
                rule("[2] code · cell 3"),
                "│ df",
                "  name | n",
                "  東京 | 42",
                "  abcd | 7",
                "",
                rule("[3] code · cell 4"),
                "│ plot()",
                "│ show()",
                "  [image/png 1x1]",
                "  x",  // <b>x</b>: HTML without a table shows its text
                "  ValueError: bad",
                "",
                rule("[ ] code · cell 5"),
                "",
                "",
                " demo.ipynb  cell 1/5  read-only",
            ])
    }

    @Test func wideCharactersTakeTwoCellsSoColumnsAlign() throws {
        let state = NotebookView.state(for: try Self.notebook(), fileName: "demo.ipynb", size: Size(width: 40, height: 20))
        var buffer = ScreenBuffer(size: state.size)
        NotebookView.render(state, into: &buffer)
        #expect(buffer[2, 12].grapheme == "東" && buffer[3, 12].isContinuation)
        #expect(buffer[7, 12].grapheme == "|" && buffer[7, 13].grapheme == "|")
    }

    @Test func outputStylesSurviveAndEscapesDoNot() throws {
        let state = NotebookView.state(for: try Self.notebook(), fileName: "demo.ipynb", size: Size(width: 40, height: 20))
        var buffer = ScreenBuffer(size: state.size)
        NotebookView.render(state, into: &buffer)
        #expect(buffer[5, 7].grapheme == "r" && buffer[5, 7].style.foreground == .red)
        #expect(buffer[2, 7].style.foreground == .default)
        #expect(buffer[0, 19].style.attributes.contains(.reverse))
    }

    /// Every cell laid out, in order: the lines the view scrolls through.
    static func allLines(_ state: NotebookView.State) -> [NotebookView.Line] {
        state.cells.list.enumerated().flatMap { NotebookView.lines(of: $1, number: $0 + 1, width: state.layoutWidth) }
    }

    /// The index in `allLines` of the line at the top of the screen.
    static func lineIndex(_ state: NotebookView.State) -> Int {
        (0..<state.top.cell).reduce(0) { sum, cell in
            sum + NotebookView.lines(of: state.cells.list[cell], number: cell + 1, width: state.layoutWidth).count
        } + state.top.line
    }

    @Test func scrollingKeysMoveAndClamp() throws {
        let start = NotebookView.state(for: try Self.notebook(extraCells: 10), fileName: "long.ipynb", size: Size(width: 40, height: 10))
        let total = Self.allLines(start).count
        func line(_ state: NotebookView.State) -> Int { Self.lineIndex(state) }
        #expect(line(Self.press(start, .char("G"))) == total - 9)
        #expect(line(Self.press(start, .char("j"))) == 1)
        #expect(line(Self.press(start, .key(.down), .key(.down), .char("k"))) == 1)
        #expect(line(Self.press(start, .char("k"))) == 0)
        #expect(line(Self.press(start, .key(.pageDown))) == 8)
        #expect(line(Self.press(start, .key(.pageDown), .key(.pageUp))) == 0)
        #expect(line(Self.press(start, .char("G"), .char("j"))) == total - 9)
        #expect(line(Self.press(start, .char("G"), .char("g"))) == 0)
        #expect(Self.press(start, .char("n")).top == NotebookView.Position(cell: 1, line: 0))
        #expect(Self.press(start, .char("n"), .char("n"), .char("p")).top == NotebookView.Position(cell: 1, line: 0))
        #expect(Self.press(start, .char("n"), .char("j"), .char("p")).top == NotebookView.Position(cell: 1, line: 0))
        #expect(Self.press(start, .char("x")) == start)
        #expect(!start.quit && Self.press(start, .char("q")).quit && Self.press(start, .char("c", .control)).quit)
    }

    @Test func onlyTheCellsNearTheScreenAreLaidOutAndTheyDrawAsTheWholeNotebookWould() throws {
        let size = Size(width: 40, height: 10)
        let start = NotebookView.state(for: try Self.notebook(extraCells: 60), fileName: "long.ipynb", size: size)
        // The first page and the last page; nothing between.
        let laidOut = (0..<start.cellCount).filter(start.isLaidOut)
        #expect(laidOut.contains(0) && laidOut.contains(start.cellCount - 1))
        #expect(laidOut.count < 12, "laid out: \(laidOut)")
        #expect(!start.isLaidOut(30))
        // Scrolling through the notebook, every screen is the same as the whole notebook laid out at once.
        let all = Self.allLines(start)
        var state = start
        var steps = 0
        repeat {
            let index = Self.lineIndex(state)
            var expected = ScreenBuffer(size: size)
            for (row, line) in all[index..<min(all.count, index + 9)].enumerated() {
                NotebookView.draw(line, row: row, width: size.width, into: &expected)
            }
            #expect(Array(Self.screen(state).prefix(9)) == Array(expected.lines(trimmed: true).prefix(9)), "at line \(index)")
            state = Self.press(state, steps % 3 == 2 ? .char("j") : .key(.pageDown))
            steps += 1
        } while state.top < state.bottom && steps < 200
        #expect(state.top == state.bottom && steps > 10)
        #expect(Self.screen(state)[9] == " long.ipynb  cell 65/65  read-only")
    }

    @Test func aResizeLaysTheCellsOutForTheNewWidth() throws {
        let long = String(repeating: "word ", count: 30)
        var nb = Notebook()
        nb.cells = [NotebookCell(.markdown, source: long), NotebookCell(.code, source: "x = 1")]
        let narrow = NotebookView.state(for: nb, fileName: "wrap.ipynb", size: Size(width: 40, height: 20))
        let wide = NotebookView.update(narrow, .resize(Size(width: 100, height: 20)))
        // The Markdown paragraph wraps at 38 columns, then at 98: fewer lines, and the code cell moves up.
        let narrowRows = Self.screen(narrow).firstIndex { $0.hasPrefix("── [ ] code") }
        let wideRows = Self.screen(wide).firstIndex { $0.hasPrefix("── [ ] code") }
        #expect(narrowRows == 7 && wideRows == 4, "\(Self.screen(narrow)) \(Self.screen(wide))")
        #expect(Self.screen(wide).allSatisfy { DisplayWidth.of($0) <= 100 })
    }

    @Test func bottomScreenShowsTheLastCellAndItsNumber() throws {
        let start = NotebookView.state(for: try Self.notebook(extraCells: 10), fileName: "long.ipynb", size: Size(width: 40, height: 6))
        let lines = Self.screen(Self.press(start, .char("G")))
        #expect(lines == ["│ x8 = 8", "", "── [ ] code · cell 15 ──────────────────", "│ x9 = 9", "", " long.ipynb  cell 15/15  read-only"])
    }

    @Test func resizeKeepsTheTopInRange() throws {
        let start = NotebookView.state(for: try Self.notebook(), fileName: "demo.ipynb", size: Size(width: 40, height: 10))
        let bottom = Self.press(start, .char("G"))
        let taller = NotebookView.update(bottom, .resize(Size(width: 40, height: 100)))
        #expect(taller.top == NotebookView.Position(cell: 0, line: 0))
        var terminal = Terminal(backend: InMemoryBackend(width: 40, height: 100))
        terminal.draw { NotebookView.render(taller, into: &$0) }
        #expect(terminal.backend.lines(trimmed: true)[99].hasPrefix(" demo.ipynb  cell 1/5  read-only"))
    }

    @Test func emptyNotebookSaysSo() {
        let state = NotebookView.state(for: Notebook(), fileName: "empty.ipynb", size: Size(width: 40, height: 3))
        #expect(Self.screen(state) == ["  (no cells)", "", " empty.ipynb  no cells  read-only"])
    }

    @Test func pngSizeComesFromTheHeader() {
        #expect(NotebookView.pngSize(Self.png) == "1x1")
        #expect(NotebookView.pngSize("bm90IGEgcG5n") == nil)
    }
}
