import CoreSupport
import Kernels
import Notebook
import Testing

@testable import TUI

/// The notebook lays out only the cells near the screen; these check that what shows is what
/// laying out every cell would show, while scrolling, moving, editing and resizing.
@Suite("Notebook lazy layout")
struct LazyLayoutTests {
    typealias App = NotebookApp

    /// A large notebook of training logs: a Markdown heading (whose rendered height differs from its
    /// source's, so its estimate is corrected when laid out), then a code cell with a long stream,
    /// every fifth cell also a rich output.
    static func logNotebook(sections: Int, logLines: Int = 120) -> Notebook {
        var cells: [NotebookCell] = [NotebookCell(.code, source: "first_cell_marker = 0")]
        for i in 0..<sections {
            cells.append(NotebookCell(.markdown, source: "### Epoch \(i)\nThe loss after **epoch \(i)** and a long sentence that wraps at narrow widths, word after word."))
            var code = NotebookCell(.code, source: "train(epoch=\(i))")
            var outputs: [Output] = [
                .stream(name: "stdout", text: (0..<logLines).map { "epoch \(i) step \($0) loss \(1.0 / Double($0 + 1))\n" }.joined())
            ]
            if i % 5 == 0 {
                outputs.append(Output(json: ["output_type": "display_data", "metadata": [:], "data": ["text/markdown": .string("**done** with epoch \(i)\n\n- one\n- two")]]))
                outputs.append(
                    Output(json: [
                        "output_type": "execute_result", "execution_count": .int(i), "metadata": [:],
                        "data": ["text/html": .string("<table><tr><th>a</th><th>b</th></tr><tr><td>\(i)</td><td>x</td></tr></table>"), "text/plain": "(table)"],
                    ]))
            }
            code.outputs = outputs
            code.executionCount = i + 1
            cells.append(code)
        }
        return Notebook(cells: cells, metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
    }

    static func screen(_ state: App.State) -> [String] {
        var buffer = ScreenBuffer(size: state.size)
        App.render(state, into: &buffer)
        return buffer.lines(trimmed: true)
    }

    static func send(_ state: App.State, _ events: [App.Event]) -> App.State {
        events.reduce(state) { App.update($0, $1) }
    }

    static func open(_ notebook: Notebook, width: Int = 80, height: Int = 24) -> App.State {
        App.update(App.State(notebook: notebook, path: "/tmp/big.ipynb", size: Size(width: width, height: height)), .tick(100))
    }

    /// The same state with every cell laid out: the reference a lazy state must look like.
    static func eager(_ state: App.State) -> App.State {
        var state = state
        for i in state.cells.indices { state.cells[i].layOut() }
        return App.update(state, .tick(100))
    }

    /// Checks the lazy state shows what the eager one shows after the same events, and that the cells on screen are laid out.
    static func expectSameScreen(_ lazy: App.State, _ eager: App.State, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(screen(lazy) == screen(eager), comment, sourceLocation: sourceLocation)
        let tops = lazy.cellTops().tops
        for i in lazy.cells.indices where tops[i] < lazy.scrollTop + lazy.pageHeight && tops[i] + lazy.height(of: i) > lazy.scrollTop {
            #expect(lazy.cells[i].isLaidOut, "cell \(i + 1) is on screen, so laid out (\(comment))", sourceLocation: sourceLocation)
        }
    }

    @Test func openingLaysOutOnlyTheCellsNearTheFirstScreen() {
        let state = Self.open(Self.logNotebook(sections: 200))
        #expect(state.cells.count == 401)
        let laidOut = state.cells.filter(\.isLaidOut).count
        #expect(laidOut > 0 && laidOut < 20, "only the first page and its margin are laid out, not \(laidOut) cells")
        #expect(Self.screen(state)[1] == "▌│ first_cell_marker = 0")
        // Plain-text logs are counted exactly without being laid out, so the heights of those cells are already right.
        let eager = Self.eager(state)
        let plainLogs = state.cells.indices.filter { !state.cells[$0].isLaidOut && state.cells[$0].isCode && state.cells[$0].outputs.count == 1 }
        #expect(plainLogs.count > 100)
        #expect(plainLogs.allSatisfy { state.height(of: $0) == eager.height(of: $0) })
    }

    @Test func endShowsTheLastCellAndMovingThroughTheNotebookMatchesAFullLayout() {
        var lazy = Self.open(Self.logNotebook(sections: 150))
        var eager = Self.eager(lazy)
        Self.expectSameScreen(lazy, eager, "first screen")
        lazy = App.update(lazy, .input(.key(.end)))
        eager = App.update(eager, .input(.key(.end)))
        Self.expectSameScreen(lazy, eager, "after End")
        let screen = Self.screen(lazy)
        #expect(screen.contains { $0.contains("[150] code · cell 301") })
        #expect(screen.contains { $0.hasSuffix("  epoch 149 step 119 loss 0.008333333333333333") }, "the last cell's newest output line shows")
        #expect(screen.contains { $0.contains("earlier lines hidden (O shows all)") }, "its long output is capped")
        #expect(screen.last?.contains("301/301") == true)
        // Up through the notebook a cell at a time, then back down by pages: the same screens as with everything laid out.
        for step in 1...300 {
            lazy = App.update(lazy, .input(.char("k")))
            eager = App.update(eager, .input(.char("k")))
            if step % 23 == 0 { Self.expectSameScreen(lazy, eager, "after \(step) × k") }
        }
        #expect(lazy.selected == 0)
        Self.expectSameScreen(lazy, eager, "back at the top")
        for step in 1...40 {
            lazy = App.update(lazy, .input(.key(.pageDown)))
            eager = App.update(eager, .input(.key(.pageDown)))
            if step % 7 == 0 { Self.expectSameScreen(lazy, eager, "after \(step) × PageDown") }
        }
    }

    @Test func scrollingByHandToTheBottomReachesTheEndOfTheLastCell() {
        var state = Self.open(Self.logNotebook(sections: 60), width: 70, height: 20)
        let rows = state.cellTops().total
        for _ in 0..<(rows / 3 + 50) { state = App.update(state, .input(.mouse(MouseEvent(.scrollDown, x: 0, y: 0)))) }
        let screen = Self.screen(state)
        let total = state.cellTops().total
        #expect(state.scrollTop == total - state.pageHeight, "the view stops at the document's end, with every height on the way corrected")
        #expect(screen[screen.count - 3] == "   epoch 59 step 119 loss 0.008333333333333333", "the last output line sits above the gap and the status bar")
        // Every cell the wheel passed over on screen was laid out, so scrolling back up shows them exactly.
        for _ in 0..<20 { state = App.update(state, .input(.mouse(MouseEvent(.scrollUp, x: 0, y: 0)))) }
        let eagerScreen = Self.screen(Self.eagerKeepingScroll(state))
        #expect(Self.screen(state) == eagerScreen)
    }

    /// `state` with every cell laid out and the same cell at the top of the view (hand scrolling keeps positions, not the selection, in view).
    static func eagerKeepingScroll(_ state: App.State) -> App.State {
        let tops = state.cellTops().tops
        let anchor = App.State.lastIndex(in: tops, atOrBefore: state.scrollTop)
        var eager = state
        for i in eager.cells.indices { eager.cells[i].layOut() }
        eager.scrollTop = eager.cellTops().tops[anchor] + (state.scrollTop - tops[anchor])
        return eager
    }

    @Test func editsAndResizesAfterLazyLayoutRepaintCorrectly() {
        var lazy = Self.open(Self.logNotebook(sections: 80))
        var eager = Self.eager(lazy)
        func both(_ events: App.Event...) {
            lazy = Self.send(lazy, events)
            eager = Self.send(eager, events)
        }
        // A Markdown cell far down: edit it, leave edit mode, and it renders the new text.
        both(.input(.key(.end)), .input(.char("k")))
        #expect(lazy.current.base.kind == .markdown && lazy.selected == 159)
        both(.input(.key(.enter)), .input(.paste("\n\nA **new** paragraph")), .input(.key(.escape)))
        Self.expectSameScreen(lazy, eager, "after editing a Markdown cell")
        #expect(Self.screen(lazy).contains("▌│ A new paragraph"))
        // A code cell's text, then the output of a run that replaces its long log.
        both(.input(.char("j")), .input(.key(.enter)), .input(.paste("\nprint('done')")), .input(.key(.escape)))
        Self.expectSameScreen(lazy, eager, "after editing a code cell")
        // Narrower: Markdown and outputs wrap anew, the view stays on the selection.
        both(.resize(Size(width: 44, height: 16)))
        Self.expectSameScreen(lazy, eager, "after a resize")
        both(.input(.key(.home)))
        Self.expectSameScreen(lazy, eager, "back at the top after the resize")
        both(.input(.char("j")))
        Self.expectSameScreen(lazy, eager, "the first Markdown cell, wrapped for 44 columns")
        // Delete a cell and undo, far from where the notebook was laid out.
        both(.input(.key(.end)), .input(.char("d")), .input(.char("d")))
        Self.expectSameScreen(lazy, eager, "after deleting the last cell")
        both(.input(.char("z")))
        Self.expectSameScreen(lazy, eager, "after undoing the delete")
    }

    @Test func pendingOutputsCountTheirLinesAsLayingOutDoes() {
        // A PNG header saying 400 x 300 pixels: the layout reads only the header.
        let png = "iVBORw0KGgoAAAANSUhEUgAAAZAAAAEsCAYAAAAAAAAAAAAAAA=="
        let outputs: [Output] = [
            .stream(name: "stdout", text: (0..<500).map { "line \($0)\tvalue\n" }.joined()),
            .stream(name: "stderr", text: "no newline at the end"),
            .stream(name: "stdout", text: "a\n\n\nb\n"),
            Output(json: ["output_type": "display_data", "metadata": [:], "data": ["image/png": .string(png), "text/plain": "<Figure>"]]),
            Output(json: ["output_type": "execute_result", "execution_count": 1, "metadata": [:], "data": ["text/plain": "1\n2\n3"]]),
        ]
        for layout in [ImageLayout.placeholders, ImageLayout(graphics: .kitty, cellWidth: 10, cellHeight: 20)] {
            let lazy = OutputArea(outputs: outputs, images: layout, width: 60, lazily: true)
            let eager = OutputArea(outputs: outputs, images: layout, width: 60)
            #expect(!lazy.isLaidOut)
            #expect(lazy.lineCount == eager.lineCount, "plain text and PNG headers are counted exactly without laying out")
            #expect(lazy.laidOut().lines(from: 0, count: eager.lineCount, width: 60) == eager.lines(from: 0, count: eager.lineCount, width: 60))
            #expect(lazy.lines(from: 495, count: 20, width: 60) == eager.lines(from: 495, count: 20, width: 60), "drawing a pending area lays it out for the call")
        }
        // Markdown, tables and line-editing controls are estimated, and exact once laid out.
        let estimated: [Output] = [
            .stream(name: "stdout", text: "progress 10%\rprogress 100%\n"),
            Output(json: ["output_type": "display_data", "metadata": [:], "data": ["text/markdown": "# Title\nSome **bold** text\n\n- a\n- b"]]),
            Output(json: ["output_type": "execute_result", "execution_count": 1, "metadata": [:], "data": ["text/html": "<table><tr><th>a</th></tr><tr><td>1</td></tr></table>", "text/plain": "x"]]),
        ]
        var lazy = OutputArea(outputs: estimated, width: 30, lazily: true)
        lazy.layOut()
        let eager = OutputArea(outputs: estimated, width: 30)
        #expect(lazy.isLaidOut && lazy.lineCount == eager.lineCount)
        #expect(lazy.lines(from: 0, count: 100, width: 30) == eager.lines(from: 0, count: 100, width: 30))
    }

    @Test func streamingIntoACellAppendsWithCarriageReturnsAndColoursAcrossChunks() {
        var state = Self.open(Self.logNotebook(sections: 3), width: 60, height: 20)
        let key = state.current.key
        state = App.update(state, .input(.key(.function(5))))
        state = Self.send(state, [.session(.kernelStatus(.idle)), .session(.cellStarted(cell: key, executionCount: 9))])
        // A progress bar redrawn with \r, split mid-sequence and mid-line across chunks, then coloured lines.
        let chunks = ["fit  10%", "\rfit  50%\u{1B}[3", "2m", " ok\u{1B}[0m", "\rfit 100%\n", "\u{1B}[31mred", " line\u{1B}[0m\n"]
        for chunk in chunks { state = App.update(state, .session(.stream(cell: key, name: "stdout", text: chunk))) }
        let lines = state.cells[0].area.lines(from: 0, count: 10, width: 60)
        #expect(lines.map { $0.map(\.text).joined() } == ["fit 100% ok", "red line"])
        #expect(lines[1].first?.style.foreground == .red)
        #expect(state.cells[0].outputs.count == 1 && state.cells[0].outputs[0].text == chunks.joined(), "the saved text is the raw stream, as Jupyter keeps it")
        state = App.update(state, .session(.stream(cell: key, name: "stderr", text: "warning\n")))
        state = App.update(state, .session(.stream(cell: key, name: "stdout", text: "more\n")))
        state = App.update(state, .session(.cellFinished(cell: key, outcome: .ok, executionCount: 9)))
        #expect(state.cells[0].outputs.map { $0.streamName ?? "" } == ["stdout", "stderr", "stdout"])
        #expect(Self.screen(state)[2...5] == ["▌  fit 100% ok", "▌  red line", "▌  warning", "▌  more"])
    }
}
