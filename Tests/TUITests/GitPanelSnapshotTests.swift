import CoreSupport
import Foundation
import Git
import Notebook
import TestSupport
import Testing

@testable import TUI

/// The git panel's screens drawn from pure state: `wb-git`'s answers (made by the Git module itself,
/// as `wb-git` prints them) are fed to `Workspace.update` as the runtime would, and the screens are
/// compared with text snapshots in Fixtures/snapshots (`WB_RECORD_SNAPSHOTS=1` rewrites them).
@Suite("Git panel: snapshots")
struct GitPanelSnapshotTests {
    typealias T = WorkspaceTests
    static let root = "/work/proj"
    static let ctrlG = InputEvent.char("g", .control)

    /// A notebook and a text file (with unsaved edits) of a repository, on an 80x20 screen.
    static func workspace() -> Workspace.State {
        var state = T.state(
            T.notebook(["import pandas as pd"], path: root + "/analysis.ipynb"), T.text("# Report\n", path: root + "/report.md"),
            width: 80, height: 20)
        state = T.keys(state, .char("2", .alt), .key(.end))
        state = T.type(state, "Draft.")
        return T.keys(state, .char("1", .alt))
    }

    /// The status as `wb git status --json` prints it.
    static func statusJSON(state: RepositoryState = .none, entries: [StatusEntry]? = nil) -> String {
        let status = Status(
            head: .branch(name: "main", commit: ObjectID(hex: "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b")), state: state,
            entries: entries ?? [
                StatusEntry(path: "analysis.ipynb", staged: .modified),
                StatusEntry(path: "data/clean.py", staged: .added, unstaged: .modified),
                StatusEntry(path: "merge.ipynb", unstaged: .conflicted),
                StatusEntry(path: "notes/old.txt", unstaged: .deleted),
                StatusEntry(path: "report.md", unstaged: .modified),
                StatusEntry(path: "scratch.ipynb", unstaged: .untracked),
            ])
        return status.json(root: root + "/", upstream: UpstreamStatus(name: "origin/main", ahead: 2, behind: 1), stripOutputs: true)
            .serialized(.pretty)
    }

    /// The git requests the last update queued.
    static func requests(_ state: Workspace.State) -> [(GitPanel.Job, String)] {
        state.commands.compactMap { if case .git(let job, let directory) = $0 { (job, directory) } else { nil } }
    }

    /// Answers the oldest pending request (or the oldest of `kind`) with `stdout` (exit `status`), as the runtime would.
    static func answer(
        _ state: Workspace.State, _ stdout: String, status: Int32 = 0, stderr: String = "", kind: ((GitRequest) -> Bool)? = nil
    ) -> Workspace.State {
        guard let job = state.git?.pending.first(where: { kind?($0.request) ?? true }) else {
            Issue.record("no request is pending")
            return state
        }
        var state = state
        state.commands = []
        return Workspace.update(state, .git(GitResult(id: job.id, request: job.request, status: status, stdout: stdout, stderr: stderr)))
    }

    /// Keys, after taking away the commands queued before (the runtime would have).
    static func keys(_ state: Workspace.State, _ keys: InputEvent...) -> Workspace.State {
        var state = state
        state.commands = []
        return keys.reduce(state) { Workspace.update($0, .input($1)) }
    }

    static func type(_ state: Workspace.State, _ text: String) -> Workspace.State {
        var state = state
        state.commands = []
        return T.type(state, text)
    }

    /// The workspace with the panel open on a loaded status.
    static func opened() -> Workspace.State {
        var state = keys(workspace(), ctrlG)
        state = answer(state, statusJSON())
        return state
    }

    static func oldAndNewNotebooks() -> (Notebook, Notebook) {
        var old = Notebook(metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
        old.cells = [
            NotebookCell(.markdown, source: "# Sales", id: "intro"),
            NotebookCell(.code, source: "import pandas as pd\ndf = pd.read_csv('sales.csv')", id: "load"),
            NotebookCell(.code, source: "df.describe()", id: "describe"),
        ]
        old.cells[2].outputs = [Output.stream(name: "stdout", text: "count 3\n")]
        old.cells[2].executionCount = 1
        var new = old
        new.cells[1].source = "import pandas as pd\ndf = pd.read_csv('sales.csv')\ndf = df.dropna()"
        new.cells[2].outputs = [Output.stream(name: "stdout", text: "count 2\n")]
        new.cells[2].executionCount = 2
        new.cells.append(NotebookCell(.code, source: "df.plot()", id: "plot"))
        return (old, new)
    }

    @Test func ctrlGOpensThePanelAndReadsTheStatusInTheFilesFolder() {
        let state = Self.keys(Self.workspace(), Self.ctrlG)
        #expect(state.panel == .git)
        let sent = Self.requests(state)
        #expect(sent.count == 1)
        #expect(sent.first?.0.request == .status)
        #expect(sent.first?.1 == Self.root)
        #expect(sent.first?.0.request.arguments == ["status", "--json"])
        #expect(T.screen(state).contains { $0.contains("reading the repository") })
        #expect(T.screen(state).contains { $0.contains("reading the status") })
    }

    @Test func statusListsGroupsBranchAndUpstream() throws {
        let state = Self.opened()
        try OutputSnapshotTests.check(T.screen(state), "git-panel-status")
        // Staged in green, unstaged in red; the chosen row in reverse cyan.
        var buffer = ScreenBuffer(size: state.size)
        Workspace.render(state, into: &buffer)
        let rows = buffer.lines(trimmed: true)
        let staged = try #require(rows.firstIndex { $0.contains("analysis.ipynb") })
        #expect(buffer[3, staged].style.foreground == .green)
        let unstaged = try #require(rows.firstIndex { $0.contains("notes/old.txt") })
        #expect(buffer[3, unstaged].style.foreground == .red)
    }

    @Test func stagingUnstagingAndDiscardSendWbGitCommands() {
        var state = Self.opened()
        // Rows: merge.ipynb (conflicted), analysis.ipynb, data/clean.py (staged), data/clean.py, notes/old.txt,
        // report.md (unstaged), scratch.ipynb (untracked).
        state = Self.keys(state, .char("j"), .char("j"), .char("j"))
        #expect(state.git?.selectedEntry == GitPanel.Entry(group: .unstaged, path: "data/clean.py", change: "modified"))
        state = Self.keys(state, .char("s"))
        #expect(Self.requests(state).map(\.0.request) == [.stage(["data/clean.py"]), .status])
        #expect(Self.requests(state).first?.0.request.arguments == ["add", "--json", "--", "data/clean.py"])
        state = Self.keys(state, .char("k"), .char("u"))
        #expect(Self.requests(state).map(\.0.request) == [.unstage(["data/clean.py"]), .status])
        state = Self.keys(state, .char("U"))
        #expect(Self.requests(state).first?.0.request.arguments == ["restore", "--staged", "--json", "--", "."])
        // Discard asks first; n keeps, y discards.
        state = Self.keys(state, .char("j"), .char("j"), .char("x"))
        #expect(state.git?.confirmDiscard == ["notes/old.txt"])
        #expect(T.screen(state).contains { $0.contains("Discard your changes to notes/old.txt?") })
        state = Self.keys(state, .char("n"))
        #expect(state.git?.confirmDiscard == nil)
        #expect(Self.requests(state).isEmpty)
        state = Self.keys(state, .char("x"), .char("y"))
        #expect(Self.requests(state).map(\.0.request) == [.discard(["notes/old.txt"]), .status])
        // Untracked files are never discarded.
        state = Self.keys(state, .key(.end), .char("x"))
        #expect(state.git?.confirmDiscard == nil)
        #expect(T.screen(state).contains { $0.contains("untracked files are never discarded here") })
    }

    @Test func aNotebooksDiffIsShownPerCell() throws {
        var state = Self.keys(Self.opened(), .char("j"), .key(.enter))
        let sent = Self.requests(state)
        #expect(sent.map(\.0.request) == [.diff(path: "analysis.ipynb", group: .staged)])
        #expect(sent.first?.0.request.arguments == ["diff", "--color", "always", "--cached", "--", "analysis.ipynb"])
        // What `wb git diff --color always --cached analysis.ipynb` prints: DiffText over the notebook differ.
        let (old, new) = Self.oldAndNewNotebooks()
        let file = FileDiff(path: "analysis.ipynb", change: .modified, notebook: NotebookDiffer.diff(old, new))
        state = Self.answer(state, DiffText(color: true).render([file]))
        try OutputSnapshotTests.check(T.screen(state), "git-panel-notebook-diff")
        var buffer = ScreenBuffer(size: state.size)
        Workspace.render(state, into: &buffer)
        let rows = buffer.lines(trimmed: true)
        let added = try #require(rows.firstIndex { $0.contains("+df = df.dropna()") })
        #expect(buffer[1, added].style.foreground == .green)
        // Esc goes back to the list, which is read again.
        state = Self.keys(state, .key(.escape))
        #expect(state.git?.screen == .status)
        #expect(Self.requests(state).map(\.0.request) == [.status])
    }

    @Test func historyShowsTheChosenCommitsDiff() throws {
        var state = Self.keys(Self.opened(), .char("l"))
        #expect(Self.requests(state).map(\.0.request) == [.log])
        #expect(Self.requests(state).first?.0.request.arguments == ["log", "--json", "-n", "200"])
        func commit(_ id: String, _ summary: String, _ time: Int, parents: [String]) -> JSON {
            let author: JSON = ["name": "Grace Hopper", "email": "grace@example.com", "time": .int(time), "offset_minutes": 0]
            return [
                "id": .string(id), "parents": .array(parents.map(JSON.string)), "author": author, "committer": author,
                "summary": .string(summary), "message": .string(summary + "\n"),
            ]
        }
        let ids = ["c0ffee1" + String(repeating: "1", count: 33), "bada55e" + String(repeating: "2", count: 33), "0ddba11" + String(repeating: "3", count: 33)]
        let log: JSON = [
            "commits": [
                commit(ids[0], "Drop rows without a region", 1_764_756_000, parents: [ids[1]]),
                commit(ids[1], "Load the sales data", 1_764_752_400, parents: [ids[2]]),
                commit(ids[2], "First notebook", 1_764_748_800, parents: []),
            ]
        ]
        state = Self.answer(state, log.serialized(.pretty))
        // The newest commit is chosen and its diff asked for.
        #expect(Self.requests(state).map(\.0.request) == [.show(commit: ids[0])])
        #expect(Self.requests(state).first?.0.request.arguments == ["show", "--color", "always", ids[0]])
        let (old, new) = Self.oldAndNewNotebooks()
        let file = FileDiff(path: "analysis.ipynb", change: .modified, notebook: NotebookDiffer.diff(old, new, options: NotebookDiffOptions(ignoreOutputs: true)))
        let header = "\u{1B}[33mcommit \(ids[0])\u{1B}[0m\nAuthor: Grace Hopper <grace@example.com>\nDate:   2025-12-03T10:00:00Z\n\n    Drop rows without a region\n\n"
        state = Self.answer(state, header + DiffText(color: true).render([file]))
        try OutputSnapshotTests.check(T.screen(state), "git-panel-history")
        // Moving on asks for the next commit's diff.
        state = Self.keys(state, .char("j"))
        #expect(Self.requests(state).map(\.0.request) == [.show(commit: ids[1])])
    }

    @Test func conflictingNotebookCellsAreListedAndResolvedOneByOne() throws {
        var state = Self.opened()
        #expect(state.git?.selectedEntry?.path == "merge.ipynb")
        state = Self.keys(state, .key(.enter))
        #expect(Self.requests(state).map(\.0.request) == [.conflicts(path: "merge.ipynb")])
        #expect(Self.requests(state).first?.0.request.arguments == ["resolve", "--list", "--json", "--", "merge.ipynb"])
        // What `wb git resolve merge.ipynb --list --json` prints after a merge that stopped.
        var base = Notebook()
        base.cells = [NotebookCell(.code, source: "x = 1", id: "a"), NotebookCell(.code, source: "y = 1", id: "b"), NotebookCell(.markdown, source: "Notes", id: "c")]
        var ours = base, theirs = base
        ours.cells[1].source = "y = 'ours'"
        theirs.cells[1].source = "y = 'theirs'\nprint(y)"
        ours.cells[2].source = "Our notes"
        theirs.cells[2].source = "Their notes"
        let merged = NotebookMerger.merge(base: base, ours: ours, theirs: theirs)
        #expect(merged.conflicts.count == 2)
        state = Self.answer(state, JSON.object(["path": "merge.ipynb", "cells": .array(merged.conflicts.map(\.json))]).serialized(.pretty))
        try OutputSnapshotTests.check(T.screen(state), "git-panel-conflicts")

        // Theirs for cell 2: `wb git resolve --theirs --cell 2`; one conflict is left.
        state = Self.keys(state, .char("t"))
        let sent = Self.requests(state)
        #expect(sent.map(\.0.request) == [.resolve(path: "merge.ipynb", cell: 2, choice: "theirs"), .status])
        #expect(sent.first?.0.request.arguments == ["resolve", "--json", "--theirs", "--cell", "2", "--", "merge.ipynb"])
        var resolved = ours
        resolved.cells = merged.notebook.cells
        try NotebookMerger.resolve(&resolved, cell: 1, choice: .theirs)
        let remaining = NotebookMerger.conflicts(in: resolved)
        state = Self.answer(
            state, JSON.object(["path": "merge.ipynb", "remaining": .array(remaining.map(\.json)), "staged": false]).serialized(),
            kind: { if case .resolve = $0 { true } else { false } })
        #expect(state.git?.conflicts.map(\.cell) == [3])
        #expect(T.screen(state).contains { $0.contains("1 conflicting cell left in merge.ipynb") })
        // Both for the last one: the notebook is staged and the panel goes back to the list.
        state = Self.keys(state, .char("b"))
        #expect(Self.requests(state).first?.0.request == .resolve(path: "merge.ipynb", cell: 3, choice: "both"))
        state = Self.answer(
            state, JSON.object(["path": "merge.ipynb", "remaining": [], "staged": true]).serialized(),
            kind: { if case .resolve = $0 { true } else { false } })
        #expect(state.git?.screen == .status)
        #expect(T.screen(state).contains { $0.contains("merge.ipynb: resolved and staged;") })
        // The open files in the repository without unsaved edits are read again (git rewrote merge.ipynb).
        let reloads = state.commands.compactMap { if case .reload(_, let path) = $0 { path } else { nil } }
        #expect(reloads == [Self.root + "/analysis.ipynb"])
        #expect(state.git?.notice?.text.hasSuffix("report.md not read again (unsaved edits): saving would undo git's change") == true)
    }

    @Test func commitWithoutAnIdentityIsRefusedClearlyAndKeepsTheMessage() throws {
        var state = Self.keys(Self.opened(), .char("c"))
        #expect(state.git?.message != nil)
        state = Self.type(state, "Drop rows without a region")
        state = Self.keys(state, .char("s", .control))
        #expect(Self.requests(state).map(\.0.request) == [.commit(message: "Drop rows without a region"), .status])
        #expect(Self.requests(state).first?.0.request.arguments == ["commit", "--json", "-m", "Drop rows without a region"])
        try OutputSnapshotTests.check(T.screen(state), "git-panel-commit-running")
        // `wb git commit --json` with no identity: exit 34 and the error as JSON.
        let refusal = GitError(
            .noIdentity,
            "no git identity: user.name and user.email are not set. Tell git who you are in ~/.gitconfig (or this repository's .git/config):\n  [user]\n    name = Your Name\n    email = you@example.com")
        state = Self.answer(state, JSON.object(["error": refusal.json]).serialized(.pretty), status: 34)
        try OutputSnapshotTests.check(T.screen(state), "git-panel-no-identity")
        // Any key closes the box; the message is still there to commit once the identity is set.
        state = Self.keys(state, .char(" "))
        #expect(state.git?.message?.text == "Drop rows without a region")
    }

    @Test func outsideAWorkTreeThePanelClosesWithAMessage() {
        var state = Self.keys(Self.workspace(), Self.ctrlG)
        let error = GitError(.notARepository, "no git repository at or above /work/proj", path: "/work/proj")
        state = Self.answer(state, JSON.object(["error": error.json]).serialized(), status: GitResult.notARepository)
        #expect(state.panel == nil)
        #expect(state.git == nil)
        #expect(T.screen(state).contains { $0.contains("git: analysis.ipynb is not in a git work tree") })
    }

    @Test func theKeyIsInTheActionTableSoHelpAndPaletteShowIt() {
        let action = Workspace.actions.first { $0.keys == "Ctrl-G" }
        #expect(action?.invoke == [KeyEvent(.character("g"), .control)])
        #expect(NotebookApp.helpLines.contains { $0.first?.text == "Git panel (Ctrl-G)" })
        var palette = CommandPalette()
        palette.query = "git panel"
        #expect(palette.matches.first.map { Workspace.actions[$0].keys } == "Ctrl-G")
        // Running a panel action from the palette opens the panel first.
        var state = Self.keys(Self.workspace(), .char("p", .control))
        state = Self.type(state, "history with")
        state = Self.keys(state, .key(.enter))
        #expect(state.panel == .git)
        #expect(state.git?.screen == .history)
        // F1 in the panel shows the keys at the panel's section.
        state = Self.keys(state, .key(.function(1)))
        #expect(T.screen(state).contains { $0.contains("Git panel (Ctrl-G)") })
        // Any other key closes the help and the panel is back.
        state = Self.keys(state, .key(.escape))
        #expect(state.panel == .git)
    }
}

/// The panel reads what the Git module writes: a status of a real repository, through the same JSON.
@Suite("Git panel: wb-git's JSON", .serialized)
struct GitPanelJSONTests {
    @Test func aRealRepositorysStatusIsGroupedAsGitSeesIt() throws {
        let dir = FilePath.join(NSTemporaryDirectory(), "wb-git-panel-\(Identifier.randomHex(bytes: 6))")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // libgit2 reads HOME once per process: the shared sandbox must be in place before it starts.
        _ = GitSandbox.home
        let repo = try Repository.create(at: dir, initialBranch: "main")
        try AtomicFile.write("one\n", to: dir + "/a.txt")
        try AtomicFile.write("two\n", to: dir + "/b.txt")
        try repo.add(["a.txt", "b.txt"])
        try AtomicFile.write("one changed\n", to: dir + "/a.txt")
        try AtomicFile.write("new\n", to: dir + "/c.txt")
        let status = try repo.status()
        let json = try JSON.parse(status.json(root: repo.workingDirectory, upstream: try repo.upstreamStatus(), stripOutputs: repo.stripsOutputs).serialized())
        let decoded = try #require(GitPanel.status(json))
        #expect(decoded.summary.branch == "main")
        #expect(decoded.summary.unborn)
        #expect(decoded.summary.upstream == nil)
        #expect(decoded.summary.root.hasSuffix("/"))
        #expect(
            decoded.entries == [
                GitPanel.Entry(group: .staged, path: "a.txt", change: "added"),
                GitPanel.Entry(group: .staged, path: "b.txt", change: "added"),
                GitPanel.Entry(group: .unstaged, path: "a.txt", change: "modified"),
                GitPanel.Entry(group: .untracked, path: "c.txt", change: "untracked"),
            ])
    }
}
