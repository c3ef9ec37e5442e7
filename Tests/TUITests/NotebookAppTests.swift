import CoreSupport
import Kernels
import Notebook
import Testing

@testable import TUI

/// Drives the notebook app's pure `update` with events and reads the rendered screen back as text.
@Suite("Notebook app")
struct NotebookAppTests {
    typealias App = NotebookApp

    static func buffer(_ state: App.State) -> ScreenBuffer {
        var buffer = ScreenBuffer(size: state.size)
        App.render(state, into: &buffer)
        return buffer
    }

    static func screen(_ state: App.State) -> [String] { buffer(state).lines(trimmed: true) }

    static func send(_ state: App.State, _ events: App.Event...) -> App.State {
        events.reduce(state) { App.update($0, $1) }
    }

    static func keys(_ state: App.State, _ keys: InputEvent...) -> App.State {
        keys.reduce(state) { App.update($0, .input($1)) }
    }

    static func type(_ state: App.State, _ text: String) -> App.State {
        text.reduce(state) { App.update($0, .input(.char($1))) }
    }

    static func state(_ notebook: Notebook, width: Int = 60, height: Int = 20) -> App.State {
        App.update(App.State(notebook: notebook, path: "/tmp/demo.ipynb", size: Size(width: width, height: height)), .tick(100))
    }

    static func notebook(_ sources: [String]) -> Notebook {
        Notebook(
            cells: sources.map { NotebookCell(.code, source: $0) },
            metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
    }

    /// The state after the kernel ran the selected cell: started, printed `text`, finished with `count`.
    static func ran(_ state: App.State, text: String, count: Int) -> App.State {
        let key = state.current.key
        var next = keys(state, .key(.function(5)))
        next = send(
            next, .session(.kernelStatus(.idle)), .session(.cellStarted(cell: key, executionCount: count)), .tick(101.25),
            .session(.stream(cell: key, name: "stdout", text: text)),
            .session(.cellFinished(cell: key, outcome: .ok, executionCount: count)))
        return next
    }

    static func executes(_ state: App.State) -> [String] {
        state.commands.compactMap { if case .execute(_, let code) = $0 { code } else { nil } }
    }

    static func rule(_ title: String, width: Int, selected: Bool = false) -> String {
        (selected ? "▌" : " ") + "─ \(title) " + String(repeating: "─", count: width - 4 - DisplayWidth.of(title))
    }

    // MARK: Rendering

    @Test func everyOutputKindShowsUnderItsCell() throws {
        let state = Self.send(Self.state(try NotebookViewTests.notebook(), width: 60, height: 30), .session(.kernelStatus(.idle)))
        let screen = Self.screen(state)
        #expect(
            screen == [
                Self.rule("markdown · cell 1", width: 60, selected: true),
                "▌│ # Title",  // Markdown cells show rendered in command mode
                "▌│",
                "▌│ Some    text",
                "",
                Self.rule("[1] code · cell 2", width: 60),
                " │ print('hi')",
                "   hi red!",
                "",
                Self.rule("[2] code · cell 3", width: 60),
                " │ df",
                "   name | n",
                "   東京 | 42",
                "   abcd | 7",
                "",
                Self.rule("[3] code · cell 4", width: 60),
                " │ plot()",
                " │ show()",
                "   [image/png 1x1]",
                "   x",  // <b>x</b>: HTML without a table shows its text
                "   ValueError: bad",
                "",
                Self.rule("[ ] code · cell 5", width: 60),
                " │",
                "",
                "", "", "", "",
                " demo.ipynb  COMMAND  python3: idle  [0]  1/5       F1 help",
            ])
        let buffer = Self.buffer(state)
        // Colours survive sanitizing (the OSC 52 clipboard write does not): "red" is red, the traceback's name too.
        #expect(buffer[6, 7].grapheme == "r" && buffer[6, 7].style.foreground == .red)
        #expect(buffer[3, 20].grapheme == "V" && buffer[3, 20].style.foreground == .red)
        #expect(buffer[2, 29].style.attributes.contains(.reverse))
        #expect(buffer.cursor == nil, "no cursor in command mode")
    }

    @Test func aNarrowTerminalCutsLinesAndKeepsTheStatusBar() throws {
        var state = Self.state(try NotebookViewTests.notebook(), width: 40, height: 12)
        state = Self.keys(state, .char("j"), .char("j"))
        let screen = Self.screen(state)
        #expect(
            screen == [
                "",
                Self.rule("[1] code · cell 2", width: 40),
                " │ print('hi')",
                "   hi red!",
                "",
                Self.rule("[2] code · cell 3", width: 40, selected: true),
                "▌│ df",
                "▌  name | n",
                "▌  東京 | 42",
                "▌  abcd | 7",
                "",
                " demo.ipynb  COMMAND  python3: starting",
            ], "scrolled just enough to show the selected cell whole")
        #expect(screen.allSatisfy { DisplayWidth.of($0) <= 40 })
    }

    @Test func wideCharactersTakeTwoColumnsInSourceAndOutput() throws {
        var state = Self.state(Self.notebook(["名前 = '東京'  # 🍣\nprint(名前)"]), width: 40, height: 8)
        state = Self.ran(state, text: "東京|1\nabcd|2\n", count: 1)
        let buffer = Self.buffer(state)
        let lines = buffer.lines(trimmed: true)
        #expect(lines[1] == "▌│ 名前 = '東京'  # 🍣")
        #expect(lines[3] == "▌  東京|1" && lines[4] == "▌  abcd|2")
        // The bars line up: 東京 fills columns 3-6, so both bars sit in column 7.
        #expect(buffer[7, 3].grapheme == "|" && buffer[7, 4].grapheme == "|")
        #expect(buffer[4, 3].isContinuation)
    }

    @Test func anErrorColoursItsHeaderAndTraceback() throws {
        var state = Self.state(Self.notebook(["1/0", "x = 1"]), width: 60, height: 12)
        let key = state.current.key
        state = Self.keys(state, .char("r", .control))
        let traceback = [
            "\u{1B}[0;31m---------------------------------------------------------------------------\u{1B}[0m",
            "\u{1B}[0;31mZeroDivisionError\u{1B}[0m                         Traceback (most recent call last)",
            "\u{1B}[0;31mZeroDivisionError\u{1B}[0m: division by zero",
        ]
        let error = KernelMessage(
            header: ["msg_type": "error"],
            content: ["ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": .array(traceback.map(JSON.string))])
        state = Self.send(
            state, .session(.cellStarted(cell: key, executionCount: 1)), .session(.output(cell: key, error)),
            .session(.cellFinished(cell: key, outcome: .error(name: "ZeroDivisionError", value: "division by zero"), executionCount: 1)))
        let buffer = Self.buffer(state)
        let lines = buffer.lines(trimmed: true)
        #expect(lines[0].hasPrefix(" ─ [1] code · cell 1 · 0.00s · error ─"))
        #expect(lines[2...4] == [
            "   " + String(repeating: "-", count: 57),
            "   ZeroDivisionError                         Traceback (most",
            "   ZeroDivisionError: division by zero",
        ])
        #expect(buffer[3, 0].style.foreground == .red && buffer[3, 0].style.attributes.contains(.bold), "the failed cell's title is red")
        #expect(buffer[3, 4].style.foreground == .red, "the traceback keeps its colours")
        #expect(state.selected == 1, "Ctrl-R moved on to the next cell")
        #expect(state.cells[0].outputs.first?.outputType == "error", "the error is kept for saving")
    }

    // MARK: Command mode

    @Test func commandKeysInsertDeleteUndoCopyPasteAndRetype() {
        var state = Self.state(Self.notebook(["one", "two"]))
        state = Self.keys(state, .char("b"))
        #expect(state.cells.map(\.source) == ["one", "", "two"] && state.selected == 1)
        state = Self.keys(state, .char("a"))
        #expect(state.cells.count == 4 && state.selected == 1)
        state = Self.keys(state, .char("d"), .char("d"), .char("d"), .char("d"))
        #expect(state.cells.map(\.source) == ["one", "two"] && state.selected == 1)
        state = Self.keys(state, .char("z"))
        #expect(state.cells.map(\.source) == ["one", "", "two"], "z brings back the last deleted cell where it was")
        state = Self.keys(state, .char("d"), .char("j"), .char("d"))
        #expect(state.cells.count == 3 && state.selected == 2, "d then another key is not a delete")
        state = Self.keys(state, .char("c"), .char("k"), .char("k"), .char("v"))
        #expect(state.cells.map(\.source) == ["one", "two", "", "two"] && state.selected == 1)
        #expect(state.cells[1].base.id != state.cells[3].base.id, "a pasted cell gets its own id")
        state = Self.keys(state, .char("x"), .char("V"))
        #expect(state.cells.map(\.source) == ["one", "two", "", "two"] && state.selected == 1)
        state = Self.keys(state, .char("m"))
        #expect(state.cells[1].cellType == "markdown" && state.cells[1].source == "two")
        #expect(Self.screen(state)[3] == Self.rule("markdown · cell 2", width: 60, selected: true))
        state = Self.keys(state, .char("r"), .char("y"))
        #expect(state.cells[1].cellType == "code" && state.cells[1].notebookCell.json["outputs"] == .array([]))
        state = Self.keys(state, .key(.end), .key(.up), .key(.home), .key(.down))
        #expect(state.selected == 1)
        #expect(state.isDirty)
        // Deleting every cell leaves one empty code cell, as Jupyter does.
        for _ in 0..<4 { state = Self.keys(state, .char("d"), .char("d")) }
        #expect(state.cells.count == 1 && state.cells[0].source == "" && state.cells[0].isCode)
    }

    @Test func runKeysQueueCellsInOrder() {
        var state = Self.state(Self.notebook(["a = 1", "b = 2", "c = 3"]))
        state = Self.keys(state, .key(.function(6)))
        #expect(Self.executes(state) == ["a = 1", "b = 2", "c = 3"])
        #expect(state.cells.allSatisfy { $0.run == .queued })
        #expect(Self.screen(state)[0].hasPrefix("▌─ [*] code · cell 1 · queued ─"))
        state = Self.state(Self.notebook(["a = 1", "b = 2", "c = 3"]))
        state = Self.keys(state, .key(.down), .key(.function(7)))
        #expect(Self.executes(state) == ["a = 1"])
        state = Self.keys(Self.state(Self.notebook(["a = 1", "b = 2", "c = 3"])), .key(.down), .key(.function(8)))
        #expect(Self.executes(state) == ["b = 2", "c = 3"])
        // Shift-Enter (CSI-u terminals) and Ctrl-R run and move on; on the last cell a new one opens.
        state = Self.keys(Self.state(Self.notebook(["a = 1", "b = 2"])), .key(.enter, .shift))
        #expect(Self.executes(state) == ["a = 1"] && state.selected == 1 && state.mode == .command)
        state = Self.keys(state, .char("r", .control))
        #expect(Self.executes(state) == ["a = 1", "b = 2"] && state.cells.count == 3 && state.selected == 2)
        // Ctrl-Enter and F5 run in place; Alt-Enter runs and inserts a cell below.
        state = Self.keys(Self.state(Self.notebook(["a = 1", "b = 2"])), .key(.enter, .control), .key(.function(5)))
        #expect(Self.executes(state) == ["a = 1", "a = 1"] && state.selected == 0)
        state = Self.keys(Self.state(Self.notebook(["a = 1", "b = 2"])), .key(.enter, .alt))
        #expect(Self.executes(state) == ["a = 1"] && state.cells.map(\.source) == ["a = 1", "", "b = 2"] && state.selected == 1)
        // Markdown cells are not sent to the kernel.
        state = Self.keys(Self.state(Self.notebook(["# title"])), .char("m"), .key(.function(5)))
        #expect(Self.executes(state).isEmpty)
    }

    @Test func interruptAndRestartTakeTwoPresses() {
        var state = Self.state(Self.notebook(["import time; time.sleep(60)"]))
        state = Self.send(state, .session(.kernelStatus(.idle)))
        state = Self.keys(state, .char("i"))
        #expect(state.commands.isEmpty)
        state = Self.keys(state, .char("i"))
        #expect(state.commands.contains { if case .interrupt = $0 { true } else { false } })
        state.commands = []
        state = Self.keys(state, .char("0"), .char("0"))
        #expect(state.commands.contains { if case .restart = $0 { true } else { false } })
        #expect(state.kernel == .restarting)
        #expect(Self.screen(state).last?.contains("python3: restarting") == true)
    }

    @Test func theStatusBarShowsKernelCounterTimerAndUnsavedMarker() {
        var state = Self.state(Self.notebook(["import time; time.sleep(60)", "x"]), width: 80, height: 10)
        #expect(Self.screen(state).last == " demo.ipynb  COMMAND  python3: starting  [0]  1/2" + String(repeating: " ", count: 23) + "F1 help")
        let key = state.current.key
        state = Self.send(
            state, .session(.kernelReady(displayName: "Python 3 (ipykernel)", languageInfo: ["name": "python"])),
            .session(.kernelStatus(.idle)))
        state = Self.keys(state, .key(.function(5)))
        state = Self.send(state, .session(.cellStarted(cell: key, executionCount: 7)), .session(.kernelStatus(.busy)), .tick(103.5))
        let status = Self.screen(state).last ?? ""
        #expect(status.hasPrefix(" demo.ipynb [+]  COMMAND  Python 3 (ipykernel): busy  [7]  cell 1 3.50s  1/2"))
        #expect(Self.screen(state)[0].hasPrefix("▌─ [*] code · cell 1 · running 3.50s ─"))
        #expect(state.notebook.metadata["language_info"]?["name"] == "python")
    }

    @Test func helpListsEveryKeyAndScrolls() {
        var state = Self.state(Self.notebook(["x"]), width: 80, height: 16)
        state = Self.keys(state, .key(.function(1)))
        var text = Self.screen(state).joined(separator: "\n")
        #expect(text.contains("Keys (j/k scroll, other keys close)") && text.contains("Shift-Enter / Ctrl-R"))
        for _ in 0..<100 { state = Self.keys(state, .char("j")) }
        text = Self.screen(state).joined(separator: "\n")
        #expect(text.contains("interrupt instead"), "scrolled to the end of the help")
        state = Self.keys(state, .key(.escape))
        #expect(state.overlay == nil)
        let all = App.helpLines.map { $0.map(\.text).joined() }.joined(separator: "\n")
        for keys in ["d,d", "i,i", "0,0", "Alt-Enter", "Ctrl-Enter / F5", "Ctrl-S", "Esc", "F6", "F7", "F8", "Ctrl-P / :", "Ctrl-F", "Ctrl-O", "Ctrl-K"] {
            #expect(all.contains(keys), "help lists \(keys)")
        }
        // The help is made from the action table the command palette lists: every action is a line of it.
        let lines = App.helpLines.map { $0.map(\.text).joined() }
        for action in Workspace.actions {
            #expect(lines.contains { $0.hasPrefix("  " + action.keys + " ") && $0.hasSuffix(action.title) }, "help lists \(action.keys) \(action.title)")
        }
    }

    // MARK: Output

    @Test func aHundredThousandLinesAreCappedAndLaidOutAsTheyCome() {
        var state = Self.state(Self.notebook(["for i in range(100_000): print(i)", "next"]), width: 60, height: 20)
        let key = state.current.key
        state = Self.keys(state, .key(.function(5)))
        state = Self.send(state, .session(.cellStarted(cell: key, executionCount: 1)))
        for chunk in 0..<1000 {
            let text = (0..<100).map { "line \(chunk * 100 + $0)\n" }.joined()
            state = Self.send(state, .session(.stream(cell: key, name: "stdout", text: text)))
        }
        #expect(state.cells[0].area.lineCount == 100_000)
        #expect(state.cells[0].area.blocks.count == 1, "one growing block, fed chunk by chunk")
        let cap = state.outputCap
        var screen = Self.screen(state)
        #expect(screen[2] == "▌  ⋯ \(100_000 - cap) earlier lines hidden (O shows all)")
        #expect(screen[2 + cap] == "▌  line 99999", "the newest line shows last")
        state = Self.send(state, .session(.cellFinished(cell: key, outcome: .ok, executionCount: 1)))
        #expect(state.cells[0].outputs.count == 1 && state.cells[0].outputs[0].text?.hasSuffix("line 99999\n") == true)
        state = Self.keys(state, .char("O"))
        #expect(state.height(of: 0) == 1 + 1 + 100_000 + 1)
        screen = Self.screen(state)
        #expect(screen[2] == "▌  line 0")
        state = Self.keys(state, .char("o"))
        screen = Self.screen(state)
        #expect(screen[2] == "▌  ⋯ 100000 output lines collapsed (o shows them)")
        #expect(screen[4].hasPrefix(" ─ [ ] code · cell 2"))
    }

    @Test func clearOutputWaitAndDisplayUpdatesAreHonoured() {
        var state = Self.state(Self.notebook(["progress()"]))
        let key = state.current.key
        state = Self.keys(state, .key(.function(5)))
        func message(_ type: String, _ content: JSONObject) -> App.Event {
            .session(.output(cell: key, KernelMessage(header: ["msg_type": .string(type)], content: content)))
        }
        state = Self.send(
            state, .session(.cellStarted(cell: key, executionCount: 1)),
            message("display_data", ["data": ["text/plain": "10%"], "metadata": [:], "transient": ["display_id": "bar"]]),
            .session(.stream(cell: key, name: "stdout", text: "step 1\n")),
            message("update_display_data", ["data": ["text/plain": "50%"], "metadata": [:], "transient": ["display_id": "bar"]]))
        #expect(Self.screen(state)[2...3] == ["▌  50%", "▌  step 1"])
        state = Self.send(state, message("clear_output", ["wait": true]))
        #expect(Self.screen(state)[2] == "▌  50%", "clear_output(wait=True) waits for the next output")
        state = Self.send(state, .session(.stream(cell: key, name: "stdout", text: "step 2\n")))
        #expect(Self.screen(state)[2...3] == ["▌  step 2", ""])
    }

    // MARK: Kernel states

    @Test func aDeadKernelShowsAtOnceAndKeepsTheEdits() {
        var state = Self.state(Self.notebook(["import os; os._exit(9)", "y = 2"]), width: 80, height: 10)
        let key = state.current.key
        state = Self.send(state, .session(.kernelStatus(.idle)))
        state = Self.keys(state, .key(.function(5)))
        state = Self.send(
            state, .session(.cellStarted(cell: key, executionCount: 1)), .session(.kernelStatus(.dead("exited with code 9"))))
        let screen = Self.screen(state)
        #expect(screen.last == " demo.ipynb [+]  COMMAND   python3: dead (0,0 restarts)   [1]  1/2      F1 help")
        #expect(screen[8] == " kernel died: exited with code 9 — press 0,0 to restart it; your edits are kept")
        #expect(state.cells[0].run == .idle, "nothing stays queued on a dead kernel")
        #expect(Self.buffer(state)[30, 9].style.background == .red)
        #expect(Self.buffer(state)[3, 8].style.foreground == .red)
        state = Self.send(state, .session(.cellFinished(cell: key, outcome: .kernelDied("kernel python3 died (exited with code 9)"), executionCount: nil)))
        #expect(state.cells.map(\.source) == ["import os; os._exit(9)", "y = 2"])
        state.commands = []
        state = Self.keys(state, .char("j"), .key(.function(5)))
        #expect(state.commands.isEmpty, "nothing is sent to a dead kernel")
        #expect(state.message?.text.contains("press 0,0") == true)
        state = Self.keys(state, .char("0"), .char("0"))
        #expect(state.commands.contains { if case .restart = $0 { true } else { false } })
        state = Self.send(state, .session(.kernelStatus(.idle)))
        #expect(Self.screen(state).last?.contains("python3: idle  [0]") == true)
    }

    @Test func inputPromptsAreAnsweredInlineAndPasswordsHidden() {
        var state = Self.state(Self.notebook(["x = input('name? ')", "y"]), width: 40, height: 10)
        let key = state.current.key
        state = Self.keys(state, .key(.function(5)))
        state = Self.send(state, .session(.cellStarted(cell: key, executionCount: 1)), .session(.inputRequested(cell: key, prompt: "name? ", password: false)))
        state = Self.type(state, "Ada")
        var buffer = Self.buffer(state)
        #expect(buffer.lines(trimmed: true)[2] == "▌  name? Ada")
        #expect(buffer.cursor == Position(x: 12, y: 2))
        state = Self.keys(state, .key(.enter))
        #expect(state.commands.contains { if case .answerInput("Ada") = $0 { true } else { false } })
        #expect(state.inputPrompt == nil)
        state = Self.send(state, .session(.inputRequested(cell: key, prompt: "Password: ", password: true)))
        state = Self.type(state, "s3cret")
        state = Self.keys(state, .key(.backspace))
        buffer = Self.buffer(state)
        #expect(buffer.lines(trimmed: true)[2] == "▌  Password: •••••")
        #expect(!buffer.lines().joined().contains("s3cre"))
        state.commands = []
        state = Self.keys(state, .char("c", .control))
        #expect(state.commands.count == 2 && state.inputPrompt == nil, "Ctrl-C answers empty and interrupts")
    }

    // MARK: Saving and quitting

    @Test func quittingWithUnsavedChangesAsksFirst() {
        var state = Self.state(Self.notebook(["x"]))
        state = Self.keys(state, .char("q", .control))
        #expect(state.quit, "nothing to lose: quits at once")
        state = Self.keys(Self.state(Self.notebook(["x"])), .char("b"), .char("q", .control))
        #expect(!state.quit && state.overlay == .confirmQuit)
        #expect(Self.screen(state).joined(separator: "\n").contains("demo.ipynb has changes that are not saved."))
        state = Self.keys(state, .key(.escape))
        #expect(!state.quit && state.overlay == nil)
        state = Self.keys(state, .char("q", .control), .char("y"))
        guard case .save(let saved, let path, let change)? = state.commands.last else {
            Issue.record("y saves first")
            return
        }
        #expect(saved.cells.count == 2 && path == "/tmp/demo.ipynb" && !state.quit)
        state = Self.send(state, .session(.saved(change: change, error: nil)))
        #expect(state.quit && !state.isDirty)
        state = Self.keys(Self.state(Self.notebook(["x"])), .char("b"), .char("q", .control), .char("y"))
        state = Self.send(state, .session(.saved(change: state.change, error: "disk full")))
        #expect(!state.quit && state.message?.text == "not saved: disk full" && state.isDirty)
        state = Self.keys(state, .char("q", .control), .char("n"))
        #expect(state.quit && state.commands.contains { if case .discardRecovery = $0 { true } else { false } })
    }

    @Test func changesAreAutosavedEveryFewSeconds() {
        var state = Self.state(Self.notebook(["x"]))
        state = Self.send(state, .tick(110))
        #expect(state.commands.isEmpty, "nothing to autosave")
        state = Self.keys(state, .char("b"))
        state = Self.send(state, .tick(110.5))
        guard case .autosave(let notebook, _)? = state.commands.last else {
            Issue.record("a change is autosaved at the next tick")
            return
        }
        #expect(notebook.cells.count == 2)
        state.commands = []
        state = Self.keys(state, .char("b"))
        state = Self.send(state, .tick(111))
        #expect(state.commands.isEmpty, "at most one recovery write per interval")
        state = Self.send(state, .tick(110.5 + App.autosaveInterval))
        #expect(state.commands.count == 1)
    }


    // MARK: Edit mode

    @Test func editModeTypesIntoTheCellAndMovesAcrossCells() {
        var state = Self.state(Self.notebook(["a = 1", "b = 2"]), width: 40, height: 10)
        state = Self.keys(state, .key(.enter))
        #expect(state.mode == .edit && state.editor?.cursor == TextPosition(line: 0, column: 5))
        state = Self.keys(state, .key(.enter))
        state = Self.type(state, "c = 名前")
        #expect(state.cells[0].source == "a = 1\nc = 名前" && state.isDirty)
        var buffer = Self.buffer(state)
        #expect(buffer.lines(trimmed: true)[0...2] == [Self.rule("[ ] code · cell 1", width: 40, selected: true), "▌│ a = 1", "▌│ c = 名前"])
        #expect(buffer.cursor == Position(x: 3 + 8, y: 2), "the cursor after the two wide characters")
        #expect(buffer.lines(trimmed: true).last?.hasPrefix(" demo.ipynb [+]  EDIT") == true)
        #expect(buffer[7, 1].grapheme == "1" && buffer[7, 1].style != Style.plain, "Python is highlighted")
        // Down on the last line goes into the next cell, at its start; Up on the first line comes back, at the end.
        state = Self.keys(state, .key(.down))
        #expect(state.selected == 1 && state.mode == .edit && state.editor?.cursor == .zero)
        state = Self.keys(state, .key(.up))
        #expect(state.selected == 0 && state.editor?.cursor == TextPosition(line: 1, column: 6))
        // Ctrl-Z undoes in the editor; Esc leaves edit mode with the text kept.
        state = Self.keys(state, .char("z", .control), .key(.escape))
        let undone = state.cells[0].source
        #expect(state.mode == .command && state.editor == nil && undone.hasPrefix("a = 1\n") && !undone.hasSuffix("名前"))
        buffer = Self.buffer(state)
        #expect(buffer.cursor == nil)
        // A paste in command mode opens the editor and goes in as it is.
        state = Self.send(state, .input(.paste("x = [\n    1,\n]")))
        #expect(state.mode == .edit && state.cells[0].source == undone + "x = [\n    1,\n]")
    }

    @Test func tabAsksTheKernelForCompletionsAndThePopupChooses() {
        var state = Self.state(Self.notebook(["import os; os.pa"]), width: 40, height: 12)
        state = Self.keys(state, .key(.enter))
        state.commands = []
        state = Self.keys(state, .key(.tab))
        guard case .complete(let id, let code, let cursor)? = state.commands.last else {
            Issue.record("Tab after a name asks for completions")
            return
        }
        #expect(code == "import os; os.pa" && cursor == 16)
        state = Self.send(state, .session(.completions(id: id, matches: ["pardir", "path", "pathsep"], start: 14, end: 16)))
        state = Self.keys(state, .key(.down))
        let screen = Self.screen(state)
        #expect(screen[1] == "▌│ import os; os.pa")
        #expect(screen[2...4] == ["                    pardir", "                    path", "                    pathsep"])
        #expect(Self.buffer(state)[20, 3].style.background == .cyan, "the chosen match is highlighted")
        state = Self.keys(state, .key(.enter))
        #expect(state.cells[0].source == "import os; os.path" && state.completion == nil)
        // One match is taken at once; Tab in leading space indents instead.
        state = Self.type(state, ".jo")
        state = Self.keys(state, .key(.tab))
        guard case .complete(let second, _, _)? = state.commands.last else { return }
        state = Self.send(state, .session(.completions(id: second, matches: ["join"], start: 19, end: 21)))
        #expect(state.cells[0].source == "import os; os.path.join")
        state = Self.keys(state, .key(.enter))
        state.commands = []
        state = Self.keys(state, .key(.tab))
        #expect(state.commands.isEmpty && state.cells[0].source == "import os; os.path.join\n    ")
        // A late answer for an old request is ignored.
        state = Self.send(state, .session(.completions(id: id, matches: ["stale", "old"], start: 0, end: 0)))
        #expect(state.completion == nil)
    }

    @Test func shiftTabOrF2ShowsTheKernelsHelp() {
        var state = Self.state(Self.notebook(["len"]), width: 50, height: 12)
        state = Self.keys(state, .key(.enter), .key(.tab, .shift))
        guard case .inspect(let id, "len", 3)? = state.commands.last else {
            Issue.record("Shift-Tab after a name inspects it")
            return
        }
        state = Self.send(state, .session(.inspection(id: id, text: "\u{1B}[31mSignature:\u{1B}[0m len(obj, /)\nReturn the number of items.")))
        let text = Self.screen(state).joined(separator: "\n")
        #expect(text.contains("Help (any key closes)") && text.contains("Signature: len(obj, /)") && text.contains("Return the number of items."))
        state = Self.keys(state, .key(.escape))
        #expect(state.overlay == nil && state.mode == .edit)
        state = Self.keys(state, .key(.function(2)))
        guard case .inspect(let again, _, _)? = state.commands.last else { return }
        state = Self.send(state, .session(.inspection(id: again, text: nil)))
        #expect(state.message?.text == "the kernel has no help for that")
    }

    @Test func clicksSelectWheelScrollsAndResizeReflows() {
        var state = Self.state(Self.notebook((0..<10).map { "x\($0) = \($0)" }), width: 40, height: 10)
        state = Self.send(state, .input(.mouse(MouseEvent(.press(.left), x: 5, y: 4))))
        #expect(state.selected == 1, "row 4 is the header of cell 2 (three rows a cell)")
        state = Self.send(state, .input(.mouse(MouseEvent(.scrollDown, x: 0, y: 0))))
        #expect(state.scrollTop == 3 && Self.screen(state)[0] == Self.rule("[ ] code · cell 2", width: 40, selected: true))
        state = Self.send(state, .input(.mouse(MouseEvent(.press(.left), x: 5, y: 7))))
        #expect(state.selected == 3)
        state = Self.send(state, .resize(Size(width: 30, height: 6)))
        let screen = Self.screen(state)
        #expect(screen.count == 6 && screen.contains(Self.rule("[ ] code · cell 4", width: 30, selected: true)))
        #expect(screen.allSatisfy { DisplayWidth.of($0) <= 30 })
        #expect(screen[5].hasPrefix(" demo.ipynb  COMMAND  python3"))
    }
}
