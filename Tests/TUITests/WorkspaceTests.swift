import CoreSupport
import Notebook
import Testing

@testable import TUI

/// Drives the workspace's pure `update` (tabs, find and replace, the palette, the file browser, the kernel picker) and reads the screen back.
@Suite("Workspace")
struct WorkspaceTests {
    static func notebook(_ sources: [String], path: String = "/tmp/ws/demo.ipynb") -> Workspace.Document {
        let nb = Notebook(
            cells: sources.map { NotebookCell(.code, source: $0) },
            metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
        return .notebook(NotebookApp.State(notebook: nb, path: path))
    }

    static func text(_ text: String, path: String = "/tmp/ws/query.sql") -> Workspace.Document {
        .text(TextDocument(path: path, text: text))
    }

    static func state(_ documents: Workspace.Document..., width: Int = 60, height: Int = 16) -> Workspace.State {
        Workspace.update(Workspace.State(documents: documents, size: Size(width: width, height: height)), .tick(100))
    }

    static func screen(_ state: Workspace.State) -> [String] {
        var buffer = ScreenBuffer(size: state.size)
        Workspace.render(state, into: &buffer)
        return buffer.lines(trimmed: true)
    }

    static func keys(_ state: Workspace.State, _ keys: InputEvent...) -> Workspace.State {
        keys.reduce(state) { Workspace.update($0, .input($1)) }
    }

    static func type(_ state: Workspace.State, _ text: String) -> Workspace.State {
        text.reduce(state) { Workspace.update($0, .input(.char($1))) }
    }

    static func sources(_ state: Workspace.State) -> [String] {
        state.document?.notebook?.cells.map(\.source) ?? []
    }

    static let ctrlF = InputEvent.char("f", .control)
    static let ctrlP = InputEvent.char("p", .control)
    static let altA = InputEvent.char("a", .alt)
    static let ctrlZ = InputEvent.char("z", .control)

    // MARK: Tabs

    @Test func tabsShowEveryFileAndSwitchWithAltKeysTheSwitcherAndClicks() {
        var state = Self.state(Self.notebook(["x = 1"]), Self.text("SELECT 1;"))
        #expect(state.active == 0, "the first file named is shown first")
        #expect(Self.screen(state)[0].hasPrefix(" 1 demo.ipynb │ 2 query.sql │"))
        #expect(state.document?.notebook?.size == Size(width: 60, height: 15), "the tab bar takes a row from the notebook")
        state = Self.keys(state, .char("n", .alt))
        #expect(state.active == 1)
        #expect(Self.screen(state).last?.hasPrefix(" query.sql  TEXT  sql  Ln 1, Col 1") == true)
        state = Self.keys(state, .char("1", .alt))
        #expect(state.active == 0)
        state = Self.keys(state, .char("p", .alt))
        #expect(state.active == 1, "Alt-P wraps around")
        state = Self.keys(state, .char("t", .control))
        #expect(state.panel == .switcher(selected: 1))
        state = Self.keys(state, .key(.up), .key(.enter))
        #expect(state.active == 0 && state.panel == nil)
        // A click on the second tab shows it.
        state = Self.keys(state, .mouse(MouseEvent(.press(.left), x: 16, y: 0)))
        #expect(state.active == 1)
        state = Self.keys(state, .char("9", .alt))
        #expect(state.active == 1 && state.document?.text?.message?.text == "only 2 files are open")
    }

    @Test func eachFileKeepsItsOwnUnsavedMarkerAndClosingAsksForUnsavedOnes() {
        var state = Self.state(Self.notebook(["x = 1"]), Self.text("SELECT 1;"))
        state = Self.keys(state, .char("n", .alt), .key(.end))
        state = Self.type(state, " -- one")
        #expect(state.tabs[1].document.isDirty && !state.tabs[0].document.isDirty)
        #expect(Self.screen(state)[0].hasPrefix(" 1 demo.ipynb │ 2 query.sql [+] │"))
        state = Self.keys(state, .char("w", .alt))
        #expect(state.panel == .confirmClose(tab: 1))
        #expect(Self.screen(state).joined(separator: "\n").contains("query.sql has changes that are not saved."))
        state = Self.keys(state, .key(.escape))
        #expect(state.tabs.count == 2 && state.panel == nil, "Esc keeps it open")
        state = Self.keys(state, .char("w", .alt), .char("y"))
        #expect(state.tabs.count == 2, "closes once saved")
        guard case .saveText(1, "SELECT 1; -- one", "/tmp/ws/query.sql", let change)? = state.commands.last else {
            Issue.record("no save command: \(state.commands)")
            return
        }
        state = Workspace.update(state, .textSaved(tab: 1, change: change, error: nil))
        #expect(state.tabs.count == 1 && state.active == 0)
        #expect(state.commands.contains { if case .closed(tab: 1, _) = $0 { true } else { false } }, "its kernel (if any) is shut down")
        #expect(Self.screen(state)[0].hasPrefix("▌─ [ ] code · cell 1"), "one file left: no tab bar")
        // Closing the last file quits.
        state = Self.keys(state, .char("w", .alt))
        #expect(state.quit)
    }

    @Test func quitAsksOnceForEveryUnsavedFileAndWaitsForAllSaves() {
        var state = Self.state(Self.notebook(["x = 1"]), Self.text("a: 1\n", path: "/tmp/ws/conf.yaml"), Self.text("notes\n", path: "/tmp/ws/n.txt"))
        state = Self.keys(state, .char("b"))  // a new cell: the notebook has changes
        state = Self.keys(state, .char("2", .alt), .key(.end, .control))
        state = Self.type(state, "b: 2")
        state = Self.keys(state, .char("q", .control))
        #expect(state.panel == .confirmQuit && !state.quit)
        let screen = Self.screen(state).joined(separator: "\n")
        #expect(screen.contains("demo.ipynb") && screen.contains("conf.yaml") && !screen.contains("  n.txt"))
        state.commands = []
        state = Self.keys(state, .char("y"))
        var notebookSave: Int?
        var textSave: Int?
        for command in state.commands {
            if case .notebook(0, .save(_, _, let change)) = command { notebookSave = change }
            if case .saveText(1, "a: 1\nb: 2", _, let change) = command { textSave = change }
        }
        #expect(notebookSave != nil && textSave != nil, "\(state.commands)")
        state = Workspace.update(state, .session(tab: 0, .saved(change: notebookSave ?? 0, error: nil)))
        #expect(!state.quit, "one file is still being saved")
        state = Workspace.update(state, .textSaved(tab: 1, change: textSave ?? 0, error: "disk full"))
        #expect(!state.quit && !state.quitAfterSave, "a failed save keeps the app open")
        #expect(state.tabs[1].document.text?.message?.text == "not saved: disk full")
        // Quitting again, without saving this time.
        state = Self.keys(state, .char("q", .control), .char("n"))
        #expect(state.quit)
    }

    // MARK: Text files

    @Test func textFilesOpenInTheEditorHighlightedByExtensionAndSaveWithCtrlS() {
        var state = Self.state(Self.text("SELECT name FROM t;\n", path: "/tmp/ws/q.sql"))
        #expect(state.document?.text?.editor.language == .sql)
        #expect(TextDocument(path: "a.py", text: "").editor.language == .python)
        #expect(TextDocument(path: "README.md", text: "").editor.language == .markdown)
        #expect(TextDocument(path: "c.yaml", text: "").editor.language == .yaml)
        #expect(TextDocument(path: "notes.txt", text: "").editor.language == .plain)
        state = Self.keys(state, .key(.down))
        state = Self.type(state, "-- done")
        #expect(Self.screen(state).last?.hasPrefix(" q.sql [+]  TEXT  sql  Ln 2, Col 8") == true)
        state = Self.keys(state, .char("s", .control))
        guard case .saveText(0, "SELECT name FROM t;\n-- done", "/tmp/ws/q.sql", let change)? = state.commands.last else {
            Issue.record("no save: \(state.commands)")
            return
        }
        state = Workspace.update(state, .textSaved(tab: 0, change: change, error: nil))
        #expect(state.document?.isDirty == false)
        #expect(Self.screen(state).contains(" saved q.sql"))
    }

    @Test func newTextFilesSayHowTheyAreCreatedUntilTheMessageExpires() throws {
        var document = TextDocument(path: "/tmp/ws/new.yaml", text: "", isNew: true)
        document.message = NotebookApp.Message(text: "new file: Ctrl-S creates new.yaml", isError: false, until: 4)
        var state = Workspace.State(documents: [.text(document)])
        state = Workspace.update(state, .tick(1000))
        #expect(state.document?.text?.message?.text == "new file: Ctrl-S creates new.yaml", "counts from the first tick")
        state = Workspace.update(state, .tick(1005))
        #expect(state.document?.text?.message == nil)
    }

    @Test func yamlFilesAreHighlighted() {
        let source = """
            --- # config
            name: "wb"   # quoted
            retries: 3
            enabled: true
            paths:
              - &base /data
              - *base
            ratio: -0.5e3
            url: http://x:80/a
            """
        #expect(TextDocument(path: "c.yml", text: "").editor.language == .yaml)
        #expect(
            EditorSnapshotTests.snapshot(source, .yaml, width: 30, height: 10).joined(separator: "\n") == #"""
                --- # config
                rrr cccccccc
                name: "wb"   # quoted
                ffff. ssss   cccccccc
                retries: 3
                fffffff. n
                enabled: true
                fffffff. kkkk
                paths:
                fffff.
                  - &base /data
                  m ddddd .....
                  - *base
                  m ddddd
                ratio: -0.5e3
                fffff. nnnnnn
                url: http://x:80/a
                fff. .............
                """#)
    }

    // MARK: Find and replace

    @Test func findMatchesEveryCellAndStepsThroughThem() {
        var state = Self.state(Self.notebook(["x = 1\nprint(x)", "y = X + 1", "z = 0"]))
        state = Self.keys(state, .key(.enter))  // edit mode: find leaves it so every cell shows its text
        state = Self.keys(state, Self.ctrlF)
        #expect(state.document?.notebook?.mode == .command)
        state = Self.type(state, "x")
        #expect(state.find?.matches.map { [$0.cell, $0.line, $0.columns.lowerBound] } == [[0, 0, 0], [0, 1, 6], [1, 0, 4]], "any case by default")
        #expect(state.find?.current == 0)
        state = Self.keys(state, .key(.down), .key(.enter))
        #expect(state.find?.current == 2 && state.document?.notebook?.selected == 1, "the match's cell is selected")
        state = Self.keys(state, .key(.down))
        #expect(state.find?.current == 0, "wraps around")
        state = Self.keys(state, .key(.up))
        #expect(state.find?.current == 2)
        state = Self.keys(state, .char("c", .alt))
        #expect(state.find?.matches.count == 2 && state.find?.caseSensitive == true)
        state = Self.keys(state, .key(.backspace), .char("X"))
        #expect(state.find?.matches.map(\.cell) == [1])
        #expect(Self.screen(state).contains { $0.contains("1/1") && $0.contains("[x] Aa case") })
        state = Self.keys(state, .key(.escape))
        #expect(state.find == nil && state.document?.notebook?.size.height == 16, "closing gives the rows back")
    }

    @Test func replaceOneRegexWithGroupsAndBadPatterns() {
        var state = Self.state(Self.notebook(["a = 1\nb = 2", "c = 3"]))
        state = Self.keys(state, Self.ctrlF, .char("r", .alt))
        state = Self.type(state, "(\\w) = (\\d")
        #expect(state.find?.error == "not a valid regular expression")
        #expect(Self.screen(state).contains { $0.contains("not a valid regular expression") })
        state = Self.type(state, ")")
        #expect(state.find?.matches.count == 3 && state.find?.error == nil)
        state = Self.keys(state, .key(.tab))
        state = Self.type(state, "$1 == $2$$")
        state = Self.keys(state, .key(.enter))
        #expect(Self.sources(state) == ["a == 1$\nb = 2", "c = 3"])
        #expect(state.find?.current == 0 && state.find?.matches.first?.line == 1, "the next match is the one after the replaced text")
        state = Self.keys(state, .key(.enter))
        #expect(Self.sources(state) == ["a == 1$\nb == 2$", "c = 3"])
        #expect(state.document?.isDirty == true)
    }

    @Test func replaceAllIsOneUndoStepInNotebooksAndTextFiles() {
        var state = Self.state(Self.notebook(["df = load()\nprint(df)", "df.head()", "other"]))
        let change = state.document?.notebook?.change ?? -1
        state = Self.keys(state, Self.ctrlF)
        state = Self.type(state, "df")
        state = Self.keys(state, .key(.tab))
        state = Self.type(state, "frame")
        state = Self.keys(state, Self.altA)
        #expect(Self.sources(state) == ["frame = load()\nprint(frame)", "frame.head()", "other"])
        #expect(state.document?.notebook?.change == change + 1, "one change for the whole replace")
        #expect(state.find?.matches.isEmpty == true)
        #expect(state.document?.notebook?.message?.text == "replaced 3 matches in 2 cells — Ctrl-Z undoes")
        state = Self.keys(state, Self.ctrlZ)
        #expect(Self.sources(state) == ["df = load()\nprint(df)", "df.head()", "other"], "one Ctrl-Z undoes all of it")
        #expect(state.find?.matches.count == 3)

        var text = Self.state(Self.text("SELECT a FROM t WHERE a > 1;\n-- a\n", path: "/tmp/ws/q.sql"))
        text = Self.keys(text, Self.ctrlF, .char("c", .alt), .char("r", .alt))
        text = Self.type(text, "\\ba\\b")
        text = Self.keys(text, .key(.tab))
        text = Self.type(text, "amount")
        text = Self.keys(text, Self.altA)
        #expect(text.document?.text?.editor.text == "SELECT amount FROM t WHERE amount > 1;\n-- amount\n")
        text = Self.keys(text, Self.ctrlZ)
        #expect(text.document?.text?.editor.text == "SELECT a FROM t WHERE a > 1;\n-- a\n", "the editor undoes the whole replace in one step")
    }

    @Test func matchesAreHighlightedTheCurrentOneDifferently() {
        var state = Self.state(Self.notebook(["total = price * qty", "tax = total * 0.2"]))
        state = Self.keys(state, Self.ctrlF)
        state = Self.type(state, "total")
        var buffer = ScreenBuffer(size: state.size)
        Workspace.render(state, into: &buffer)
        // Cell 1's text is on row 1, cell 2's on row 4; cell text starts at column 3.
        #expect(buffer[3, 1].style.background == .cyan, "the current match")
        #expect(buffer[7, 1].style.background == .cyan)
        #expect(buffer[8, 1].style.background != .cyan && buffer[8, 1].style.background != .yellow)
        #expect(buffer[9, 4].style.background == .yellow && buffer[9, 4].style.attributes.contains(.underline), "another match")
        #expect(buffer[3, 4].style.background != .yellow)
    }

    // MARK: Palette

    @Test func paletteFiltersFuzzilyAndRunsTheChosenAction() {
        var state = Self.state(Self.notebook(["x = 1"]))
        state = Self.keys(state, .char(":"))
        #expect(state.panel == .palette(CommandPalette()))
        state = Self.type(state, "insbelow")
        guard case .palette(let palette) = state.panel else {
            Issue.record("no palette")
            return
        }
        #expect(Workspace.actions[palette.matches[0]].title == "insert a cell below")
        #expect(Self.screen(state).contains { $0.contains("b") && $0.contains("insert a cell below") })
        state = Self.keys(state, .key(.enter))
        #expect(state.panel == nil && state.document?.notebook?.cells.count == 2 && state.document?.notebook?.selected == 1)
        // From edit mode, a command-mode action leaves edit mode first; d,d is fed as two keys.
        state = Self.keys(state, .key(.enter), Self.ctrlP)
        state = Self.type(state, "delete the cell")
        state = Self.keys(state, .key(.enter))
        #expect(state.document?.notebook?.cells.count == 1 && state.document?.notebook?.mode == .command)
        // Keys matter too: "F8" finds the action bound to it.
        state = Self.keys(state, Self.ctrlP)
        state = Self.type(state, "f8")
        if case .palette(let p) = state.panel { #expect(Workspace.actions[p.matches[0]].keys == "F8") } else { Issue.record("no palette") }
        state = Self.keys(state, .key(.escape))
        #expect(state.panel == nil)
        // Nothing matches: Enter does nothing.
        state = Self.keys(state, Self.ctrlP)
        state = Self.type(state, "zzzqqq")
        #expect(Self.screen(state).contains { $0.contains("no action matches") })
        state = Self.keys(state, .key(.enter))
        #expect(state.panel == nil && state.document?.notebook?.cells.count == 1)
    }

    @Test func paletteListsEveryActionOfTheTableTheHelpIsMadeFrom() {
        #expect(CommandPalette().matches == Workspace.actions.indices.filter { Workspace.actions[$0].scope != .list })
        let help = NotebookApp.help.flatMap(\.keys)
        #expect(help.map(\.keys) == Workspace.actions.map(\.keys))
        #expect(help.map(\.action) == Workspace.actions.map(\.title))
        #expect(CommandPalette.score("rc", in: "run cell")! > CommandPalette.score("rc", in: "fresh cell")!, "word starts score more")
        #expect(CommandPalette.score("xyz", in: "run cell") == nil)
        #expect(CommandPalette.score("RUN", in: "run cell") != nil, "any case")
    }

    @Test func paletteRunsFindAndTextActionsWhereTheyApply() {
        var state = Self.state(Self.text("hello hello\n", path: "/tmp/ws/a.txt"))
        state = Self.keys(state, Self.ctrlP)
        state = Self.type(state, "insert a cell below")
        state = Self.keys(state, .key(.enter))
        #expect(state.document?.text?.message?.text == "insert a cell below: only in a notebook")
        state = Self.keys(state, Self.ctrlF)
        state = Self.type(state, "hello")
        state = Self.keys(state, .key(.tab))
        state = Self.type(state, "bye")
        state = Self.keys(state, Self.ctrlP)
        state = Self.type(state, "replace all")
        state = Self.keys(state, .key(.enter))
        #expect(state.document?.text?.editor.text == "bye bye\n")
    }

    // MARK: File browser and kernel picker

    @Test func fileBrowserShowsFoldersAndOpenableFilesHidingDotFiles() {
        var state = Self.state(Self.notebook(["x"], path: "/tmp/ws/demo.ipynb"))
        state = Self.keys(state, .char("o", .control))
        #expect(state.commands.contains { if case .list(directory: "/tmp/ws") = $0 { true } else { false } })
        let entries: [Workspace.DirectoryEntry] = [
            .init(name: "demo.ipynb", isDirectory: false), .init(name: ".git", isDirectory: true), .init(name: "data", isDirectory: true),
            .init(name: "q.sql", isDirectory: false), .init(name: "model.bin", isDirectory: false), .init(name: ".env.yaml", isDirectory: false),
        ]
        state = Workspace.update(state, .listed(directory: "/tmp/ws", entries: entries, error: nil))
        guard case .files(let browser) = state.panel else {
            Issue.record("no browser")
            return
        }
        #expect(browser.rows.map(\.name) == ["..", "data", "demo.ipynb", "q.sql"])
        state = Self.keys(state, .char("."))
        if case .files(let shown) = state.panel { #expect(shown.rows.map(\.name) == ["..", ".git", "data", ".env.yaml", "demo.ipynb", "q.sql"]) }
        state = Self.keys(state, .char("."), .key(.down), .key(.enter))
        #expect(state.commands.contains { if case .list(directory: "/tmp/ws/data") = $0 { true } else { false } })
        state = Self.keys(state, .key(.backspace))
        #expect(state.commands.contains { if case .list(directory: "/tmp/ws") = $0 { true } else { false } })
        state = Workspace.update(state, .listed(directory: "/tmp/ws", entries: entries, error: nil))
        state.commands = []
        // The open notebook: switches to it. Another file: asks the runtime to open it.
        state = Self.keys(state, .key(.down), .key(.down), .key(.enter))
        #expect(state.panel == nil && state.commands.isEmpty && state.document?.notebook?.message?.text == "demo.ipynb is already open")
        state = Self.keys(state, .char("o", .control))
        state = Workspace.update(state, .listed(directory: "/tmp/ws", entries: entries, error: nil))
        state = Self.keys(state, .key(.end), .key(.enter))
        #expect(state.commands.contains { if case .open(path: "/tmp/ws/q.sql") = $0 { true } else { false } })
        state = Workspace.update(state, .opened(Self.text("SELECT 1;", path: "/tmp/ws/q.sql")))
        #expect(state.tabs.count == 2 && state.active == 1 && state.document?.text?.size == Size(width: 60, height: 15))
        state = Workspace.update(state, .openFailed(path: "/tmp/ws/x.ipynb", error: "not valid JSON at byte 3"))
        #expect(state.document?.text?.message?.text == "cannot open /tmp/ws/x.ipynb: not valid JSON at byte 3")
    }

    @Test func kernelPickerSwitchesTheNotebooksKernelAndSavesItsChoice() {
        var state = Self.state(Self.notebook(["x"]))
        state = Self.keys(state, .char("k", .control))
        #expect(state.commands.contains { if case .findKernels = $0 { true } else { false } })
        let choices = [
            Workspace.KernelChoice(name: "python3", displayName: "Python 3 (ipykernel)", language: "python"),
            Workspace.KernelChoice(name: "wb-sql", displayName: "Workbench SQL", language: "sql"),
        ]
        state = Workspace.update(state, .kernelsFound(choices, problems: ["broken: kernel.json is not JSON"]))
        let screen = Self.screen(state).joined(separator: "\n")
        #expect(screen.contains("▸* Python 3 (ipykernel)  (python3, python)") && screen.contains("Workbench SQL  (wb-sql, sql)"))
        #expect(screen.contains("! broken: kernel.json is not JSON"))
        state = Self.keys(state, .key(.down), .key(.enter))
        #expect(state.commands.contains { if case .changeKernel(tab: 0, name: "wb-sql") = $0 { true } else { false } })
        let notebook = state.document?.notebook
        #expect(notebook?.notebook.kernelName == "wb-sql" && notebook?.notebook.language == "sql")
        #expect(notebook?.kernelName == "Workbench SQL" && notebook?.kernel == .starting && notebook?.isDirty == true)
        // Text files have no kernel.
        state = Workspace.update(state, .opened(Self.text("x")))
        state = Self.keys(state, .char("k", .control))
        #expect(state.panel == nil && state.document?.text?.message?.isError == true)
    }
}
