import Notebook
import Testing

@testable import TUI

/// Whole-screen snapshots of the workspace's windows: the command palette, the find bar, the switcher, the file browser.
@Suite("Workspace: snapshots")
struct WorkspaceSnapshotTests {
    typealias T = WorkspaceTests

    static func snapshot(_ state: Workspace.State) -> String {
        T.screen(state).joined(separator: "\n")
    }

    /// The rows with find matches marked: `^` under the current match, `~` under the others.
    static func marks(_ state: Workspace.State) -> String {
        var buffer = ScreenBuffer(size: state.size)
        Workspace.render(state, into: &buffer)
        var rows: [String] = []
        for y in 0..<buffer.height {
            var row = ""
            for x in 0..<buffer.width {
                let background = buffer[x, y].style.background
                row.append(background == .cyan && buffer[x, y].style.attributes.contains(.reverse) ? "^" : background == .yellow ? "~" : " ")
            }
            while row.last == " " { row.removeLast() }
            if !row.isEmpty { rows.append("\(y): \(row)") }
        }
        return rows.joined(separator: "\n")
    }

    static func twoFiles() -> Workspace.State {
        T.state(
            T.notebook(["import pandas as pd\ndf = pd.read_csv('sales.csv')", "df.describe()"], path: "/work/demo.ipynb"),
            T.text("SELECT region, SUM(amount)\nFROM sales\nGROUP BY region;\n", path: "/work/report.sql"), width: 64, height: 14)
    }

    @Test func palette() {
        var state = Self.twoFiles()
        state = T.keys(state, T.ctrlP)
        state = T.type(state, "run")
        let expected = """
             1 demo.ipynb │ 2 report.sql │                     Ctrl-T files
            ▌─ [ ] code · cell 1 ───────────────────────────────────────────
            ▌│┌─ Commands (type to filter, Enter runs, Esc closes) ──────┐
            ▌││ > run                                                    │
              │ Ctrl-Enter / F5       run cell                           │
             ─│ F6                    run all cells                      │──
             ││ F7                    run all cells above                │
              │ Shift-Enter / Ctrl-R  run cell, select the next          │
              │ F8                    run this cell and all below        │
              │ Alt-Enter             run cell, insert a cell below      │
              │ Alt-A                 replace all matches (one undo step)│
              │ x                     discard the file's unstaged changes│
              └──────────────────────────────────────────────────────────┘
             demo.ipynb  COMMAND  python3: starting  [0]  1/2       F1 help
            """
        #expect(Self.snapshot(state) == expected)
    }

    @Test func findBar() {
        var state = Self.twoFiles()
        state = T.keys(state, T.ctrlF)
        state = T.type(state, "df")
        state = T.keys(state, .key(.tab))
        state = T.type(state, "sales")
        let expected = """
             1 demo.ipynb │ 2 report.sql │                     Ctrl-T files
            ▌─ [ ] code · cell 1 ───────────────────────────────────────────
            ▌│ import pandas as pd
            ▌│ df = pd.read_csv('sales.csv')

             ─ [ ] code · cell 2 ───────────────────────────────────────────
             │ df.describe()




             demo.ipynb  COMMAND  python3: starting  [0]  1/2       F1 help
              Find:    df  1/2  [ ] Aa case Alt-C  [ ] .* regex Alt-R
            ▸ Replace: sales  Enter replace · Alt-A all · Ctrl-Z undo · Esc
            """
        #expect(Self.snapshot(state) == expected)
        // The current match (cell 1, row 3) and the other one (cell 2, row 6), each at the cell text's column 3.
        #expect(Self.marks(state) == "3:    ^^\n6:    ~~")
    }

    @Test func switcher() {
        var state = Self.twoFiles()
        state = T.keys(state, .char("n", .alt), .key(.end))
        state = T.type(state, " -- total")
        state = T.keys(state, .char("t", .control))
        let expected = """
             1 demo.ipynb │ 2 report.sql [+] │                 Ctrl-T files
            SELECT region, SUM(amount) -- total
            FROM sales
            GROUP B┌─ Open files ──────────────────────────────────┐
                   │   1 demo.ipynb   notebook · python3: starting │
                   │ ▸ 2 report.sql [+]   text · sql  (shown)      │
                   │                                               │
                   │ Enter switch · 1-9 jump · x close · Esc       │
                   └───────────────────────────────────────────────┘




             report.sql [+]  TEXT  sql  Ln 1, Col 36
            """
        #expect(Self.snapshot(state) == expected)
    }

    @Test func fileBrowser() {
        var state = Self.twoFiles()
        state = T.keys(state, .char("o", .control))
        state = Workspace.update(
            state,
            .listed(
                directory: "/work",
                entries: [
                    .init(name: "demo.ipynb", isDirectory: false), .init(name: "report.sql", isDirectory: false),
                    .init(name: "data", isDirectory: true), .init(name: ".cache", isDirectory: true),
                    .init(name: "config.yaml", isDirectory: false), .init(name: "photo.png", isDirectory: false),
                ], error: nil))
        state = T.keys(state, .key(.down), .key(.down))
        let expected = """
             1 demo.ipynb │ 2 report.sql │                     Ctrl-T files
            ▌─ [ ]┌─ Open a file ───────────────────────────────────┐───────
            ▌│ imp│ /work                                           │
            ▌│ df │                                                 │
                  │   ../                                           │
             ─ [ ]│   data/                                         │───────
             │ df.│ ▸ config.yaml                                   │
                  │   demo.ipynb                                    │
                  │   report.sql                                    │
                  │                                                 │
                  │ Enter open · Backspace up · . show hidden · Esc │
                  └─────────────────────────────────────────────────┘

             demo.ipynb  COMMAND  python3: starting  [0]  1/2       F1 help
            """
        #expect(Self.snapshot(state) == expected)
    }
}
