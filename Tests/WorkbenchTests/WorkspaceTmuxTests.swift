import CoreSupport
import Foundation
import Notebook
import TestSupport
import Testing

/// `wb open` with several files in a real terminal (tmux): the file browser opens a second file, tabs switch,
/// find and replace change both, the palette quits, and the files on disk hold the edits.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct WorkspaceTmuxTests {
    /// Waits (polling, up to 90 s) until no line contains `text`.
    static func waitGone(_ tmux: Tmux, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) async -> Bool {
        let deadline = Clock.monotonic() + 90
        while Clock.monotonic() < deadline {
            if await !tmux.screen().contains(where: { $0.contains(text) }) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("\(text) still on screen", sourceLocation: sourceLocation)
        return false
    }

    @Test func openTwoFilesSwitchFindReplaceSaveAndQuit() async throws {
        let dir = WB.scratch("workspace-tmux")
        let home = FilePath.join(dir, "home")
        let path = try WB.notebook(["total = 1", "print(total)"], in: dir)
        let sql = FilePath.join(dir, "report.sql")
        try AtomicFile.write("SELECT total FROM t;\n", to: sql)
        try AtomicFile.write("SELECT 0;\n", to: FilePath.join(dir, ".hidden.sql"))
        let (tmux, _) = try await OpenTests.start(path, in: dir, home: home)
        defer { tmux.kill() }
        typealias O = OpenTests
        guard await O.wait(tmux, "the notebook", { $0.hasPrefix(" nb.ipynb  COMMAND") }) else { return }

        // The file browser: the notebook's folder, hidden files left out; the SQL file opens in a second tab.
        try await tmux.keys("C-o")
        guard await O.wait(tmux, "the file browser", { $0.contains("report.sql") }) else { return }
        #expect(await !tmux.screen().contains { $0.contains(".hidden.sql") })
        // The rows: .., home/, nb.ipynb, report.sql, run.sh (folders first, then files wb edits).
        try await tmux.keys("Down", "Down", "Down")
        guard await O.wait(tmux, "report.sql chosen", { $0.contains("▸ report.sql") }) else { return }
        try await tmux.keys("Enter")
        guard await O.wait(tmux, "the second tab", { $0.hasPrefix(" 1 nb.ipynb │ 2 report.sql │") }) else { return }
        guard await O.wait(tmux, "the SQL file", { $0.hasPrefix(" report.sql  TEXT  sql") }) else { return }

        // Back to the notebook; replace across its cells in one step.
        try await tmux.keys("M-1")
        guard await O.wait(tmux, "the notebook again", { $0.hasPrefix(" nb.ipynb  COMMAND") }) else { return }
        try await tmux.keys("C-f")
        guard await O.wait(tmux, "the find bar", { $0.contains("Find:") }) else { return }
        try await O.type(tmux, "total")
        guard await O.wait(tmux, "two matches", { $0.contains("Find:    total  1/2") }) else { return }
        try await tmux.keys("Tab")
        try await O.type(tmux, "amount")
        guard await O.wait(tmux, "the replacement", { $0.contains("Replace: amount") }) else { return }
        try await tmux.keys("M-a")
        guard await O.wait(tmux, "the replace", { $0.contains("replaced 2 matches in 2 cells") }) else { return }
        try await tmux.keys("Escape")
        // Wait for the bar to go, so the next key is not read as Alt and that key.
        guard await O.wait(tmux, "the notebook's last row", { $0.hasPrefix(" nb.ipynb [+]  COMMAND") }) else { return }
        guard await Self.waitGone(tmux, "Find:") else { return }
        try await tmux.keys("C-s")
        guard await O.wait(tmux, "the notebook saved", { $0.contains("saved nb.ipynb") }) else { return }

        // The SQL file through the switcher; replace its one match; save.
        try await tmux.keys("C-t")
        guard await O.wait(tmux, "the switcher", { $0.contains("Open files") }) else { return }
        try await tmux.keys("2")
        guard await O.wait(tmux, "the SQL file again", { $0.hasPrefix(" report.sql  TEXT  sql") }) else { return }
        try await tmux.keys("C-f")
        guard await O.wait(tmux, "the find bar", { $0.contains("Find:") }) else { return }
        try await O.type(tmux, "total")
        guard await O.wait(tmux, "one match", { $0.contains("Find:    total  1/1") }) else { return }
        try await tmux.keys("Tab")
        try await O.type(tmux, "amount")
        guard await O.wait(tmux, "the replacement", { $0.contains("Replace: amount") }) else { return }
        try await tmux.keys("Enter")
        guard await O.wait(tmux, "the replaced text", { $0.hasPrefix("SELECT amount FROM t;") }) else { return }
        try await tmux.keys("C-s")  // saves with the find bar open too
        guard await O.wait(tmux, "the SQL file saved", { $0.contains("saved report.sql") }) else { return }

        // The palette quits (nothing unsaved, so without asking).
        try await tmux.keys("C-p")
        guard await O.wait(tmux, "the palette", { $0.contains("Commands (type to filter") }) else { return }
        try await O.type(tmux, "quit")
        guard await O.wait(tmux, "the quit action", { $0.contains("Ctrl-Q") && $0.contains("quit (asks") }) else { return }
        try await tmux.keys("Enter")
        guard await O.wait(tmux, "wb's exit status", { $0.hasPrefix("wb-exit=") }) else { return }
        #expect(await tmux.screen().contains("wb-exit=0"))

        let saved = try Notebook.read(path: path)
        #expect(saved.cells.map(\.source) == ["amount = 1", "print(amount)"])
        #expect(try FileIO.readText(sql) == "SELECT amount FROM t;\n")
        #expect(try FileIO.readText(FilePath.join(dir, ".hidden.sql")) == "SELECT 0;\n")
    }
}
