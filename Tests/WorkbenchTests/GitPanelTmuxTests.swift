import CoreSupport
import Foundation
import Notebook
import TestSupport
import Testing

/// The git panel of `wb open` in a real terminal (tmux) on real repositories in temp folders; the
/// results are checked with the `git` command line (`git log`, `git status`, `git fsck --strict`)
/// and nbformat's validator.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct GitPanelTmuxTests {
    typealias O = OpenTests

    /// A repository with a private git configuration (identity set), and the variables that select it.
    /// (`scratch`, outside the repository, holds the tmux script and wb's home.)
    static func repository(_ name: String) throws -> (dir: String, env: [String: String], home: String, scratch: String) {
        let (gitHome, env) = GitCLI.sandbox()
        try GitCLI.identity(gitHome)
        let scratch = WB.scratch(name)
        let dir = scratch + "/project"
        #expect(try WB.run(["git", "init", dir], environment: env).status == 0)
        return (dir, env, FilePath.join(scratch, "wb-home"), scratch)
    }

    /// Checks the repository with git itself: clean, and `git fsck --strict` passes.
    static func checkWithGit(_ dir: String, _ env: [String: String]) throws {
        let status = try GitCLI.git(["status", "--porcelain"], in: dir, env: env)
        #expect(status.status == 0)
        #expect(status.stdout == "", "git status: \(status.stdout)")
        let fsck = try GitCLI.git(["fsck", "--strict"], in: dir, env: env)
        #expect(fsck.status == 0, "git fsck --strict: \(fsck.stdout)\(fsck.stderr)")
    }

    /// nbformat's validator on a file; nil when valid.
    static func nbformatProblem(_ path: String) throws -> String? {
        let out = try Python.text(
            """
            import sys, nbformat
            try:
                nbformat.validate(nbformat.read(sys.argv[1], as_version=4))
                print("valid")
            except Exception as e:
                print("invalid: %s" % e)
            """, arguments: [path])
        return out.hasPrefix("valid") ? nil : out
    }

    @Test func editSaveStageAndCommitFromThePanel() async throws {
        let (dir, env, home, scratch) = try Self.repository("git-panel-commit")
        let path = dir + "/nb.ipynb"
        try GitCLI.notebook(["x = 1", "print(x)"], path: path)
        #expect(try WB.run(["git", "add", "nb.ipynb"], environment: env, cwd: dir).status == 0)
        #expect(try WB.run(["git", "commit", "-m", "First notebook"], environment: env, cwd: dir).status == 0)
        // A second branch where the notebook differs, to switch to.
        #expect(try WB.run(["git", "switch", "-c", "other"], environment: env, cwd: dir).status == 0)
        try GitCLI.notebook(["x = 'other'", "print(x)"], path: path)
        #expect(try WB.run(["git", "commit", "-a", "-m", "Other idea"], environment: env, cwd: dir).status == 0)
        #expect(try WB.run(["git", "switch", "main"], environment: env, cwd: dir).status == 0)

        let (tmux, _) = try await O.start(path, in: scratch, home: home, environment: env)
        defer { O.cleanUp(tmux, home: home) }
        guard await O.wait(tmux, "the notebook", { $0.hasPrefix(" nb.ipynb  COMMAND") }) else { return }

        // Edit the first cell and save.
        try await tmux.keys("Enter")
        guard await O.wait(tmux, "edit mode", { $0.contains("EDIT") }) else { return }
        try await tmux.keys("End")
        try await O.type(tmux, "0  # ten")
        try await tmux.keys("Escape")
        guard await O.wait(tmux, "command mode", { $0.hasPrefix(" nb.ipynb [+]  COMMAND") }) else { return }
        try await tmux.keys("C-s")
        guard await O.wait(tmux, "the save", { $0.contains("saved nb.ipynb") }) else { return }

        // The panel: the notebook is changed, not staged; s stages it.
        try await tmux.keys("C-g")
        guard await O.wait(tmux, "the panel", { $0.hasPrefix(" Git  project  on main") }) else { return }
        guard await O.wait(tmux, "the unstaged notebook", { $0.contains("Changed, not staged") }) else { return }
        guard await O.wait(tmux, "the notebook listed", { $0.contains("modified") && $0.contains("nb.ipynb") }) else { return }

        // Switching now would overwrite the saved edit: refused, naming the file, nothing changed.
        try await tmux.keys("b")
        guard await O.wait(tmux, "the branches", { $0.contains("other") && !$0.contains("*") }) else { return }
        try await tmux.keys("Down", "Enter")
        guard await O.wait(tmux, "the refusal", { $0.contains("local changes to nb.ipynb would be overwritten") }) else { return }
        #expect(try Notebook.read(path: path).cells[0].source == "x = 10  # ten")
        try await tmux.keys("Space", "Escape")
        guard await O.wait(tmux, "the list again", { $0.contains("Changed, not staged") }) else { return }
        try await tmux.keys("s")
        guard await O.wait(tmux, "the staged notebook", { $0.contains("Staged (will be committed)") }) else { return }
        guard await GitPanelTmuxTests.gone(tmux, "Changed, not staged") else { return }

        // Enter shows the staged diff per cell.
        try await tmux.keys("Enter")
        guard await O.wait(tmux, "the cell diff", { $0.contains("modified cell 1") }) else { return }
        guard await O.wait(tmux, "the changed line", { $0.contains("+x = 10  # ten") }) else { return }
        try await tmux.keys("Escape")
        guard await O.wait(tmux, "the list again", { $0.contains("Staged (will be committed)") }) else { return }

        // c writes the message, Ctrl-S commits with the git identity.
        try await tmux.keys("c")
        guard await O.wait(tmux, "the message box", { $0.contains("Commit message (Ctrl-S commits") }) else { return }
        try await O.type(tmux, "Make x ten")
        try await tmux.keys("C-s")
        guard await O.wait(tmux, "the commit", { $0.contains("committed ") && $0.contains("Make x ten") }) else { return }
        guard await O.wait(tmux, "a clean tree", { $0.contains("Nothing to commit, working tree clean.") }) else { return }

        // History: the new commit on top, its diff below.
        try await tmux.keys("l")
        guard await O.wait(tmux, "the history", { $0.contains("Make x ten") && $0.contains("Grace Hopper") }) else { return }
        guard await O.wait(tmux, "the commit's diff", { $0.contains("+x = 10  # ten") }) else { return }

        // Now the switch goes through, and the open notebook (no unsaved edits) shows the other branch's cells.
        try await tmux.keys("Escape")
        // (Wait for the list: Esc and a key at once read as Alt and that key.)
        guard await O.wait(tmux, "the list", { $0.contains("Nothing to commit, working tree clean.") }) else { return }
        try await tmux.keys("b")
        guard await O.wait(tmux, "the branches", { $0.contains("* main") }) else { return }
        try await tmux.keys("End", "Enter")
        guard await O.wait(tmux, "the switch", { $0.contains("switched to other") }) else { return }
        guard await O.wait(tmux, "the new branch", { $0.hasPrefix(" Git  project  on other") }) else { return }
        try await tmux.keys("C-g")
        guard await GitPanelTmuxTests.gone(tmux, " Git  project") else { return }
        guard await O.wait(tmux, "the other branch's cell", { $0.contains("x = 'other'") }) else { return }
        try await tmux.keys("C-q")
        guard await O.wait(tmux, "wb's exit status", { $0.hasPrefix("wb-exit=") }) else { return }
        #expect(await tmux.screen().contains("wb-exit=0"))

        // git itself sees the commit, by the configured identity, and a sound repository.
        #expect(try GitCLI.git(["branch", "--show-current"], in: dir, env: env).stdout == "other\n")
        let log = try GitCLI.git(["log", "main", "--format=%s|%an <%ae>"], in: dir, env: env)
        #expect(log.stdout == "Make x ten|Grace Hopper <grace@example.com>\nFirst notebook|Grace Hopper <grace@example.com>\n")
        let committed = try GitCLI.git(["show", "main:nb.ipynb"], in: dir, env: env)
        #expect(try Notebook(ipynb: Array(committed.stdout.utf8)).cells.map(\.source) == ["x = 10  # ten", "print(x)"])
        #expect(try Notebook.read(path: path).cells.map(\.source) == ["x = 'other'", "print(x)"])
        try Self.checkWithGit(dir, env)
    }

    @Test func resolveANotebookMergeConflictCellByCellInThePanel() async throws {
        let (dir, env, home, scratch) = try Self.repository("git-panel-merge")
        let path = dir + "/nb.ipynb"
        func wb(_ args: [String]) throws -> Command.Result { try WB.run(["git"] + args, environment: env, cwd: dir) }
        try GitCLI.notebook(["x = 1", "y = 1", "z = 1"], path: path)
        #expect(try wb(["add", "nb.ipynb"]).status == 0)
        #expect(try wb(["commit", "-m", "base"]).status == 0)
        #expect(try wb(["switch", "-c", "feature"]).status == 0)
        try GitCLI.notebook(["x = 1", "y = 'theirs'", "z = 'theirs'"], path: path)
        #expect(try wb(["commit", "-a", "-m", "theirs"]).status == 0)
        #expect(try wb(["switch", "main"]).status == 0)
        try GitCLI.notebook(["x = 1", "y = 'ours'", "z = 'ours'"], path: path)
        #expect(try wb(["commit", "-a", "-m", "ours"]).status == 0)
        #expect(try wb(["merge", "feature"]).status == 32)

        let (tmux, _) = try await O.start(path, in: scratch, home: home, environment: env)
        defer { O.cleanUp(tmux, home: home) }
        guard await O.wait(tmux, "the notebook", { $0.hasPrefix(" nb.ipynb  COMMAND") }) else { return }
        try await tmux.keys("C-g")
        guard await O.wait(tmux, "the merge in the title", { $0.contains("[merge in progress]") }) else { return }
        guard await O.wait(tmux, "the conflicted notebook", { $0.contains("Conflicted (Enter resolves)") }) else { return }
        try await tmux.keys("Enter")
        guard await O.wait(tmux, "the conflicting cells", { $0.contains("nb.ipynb: 2 conflicting cells") }) else { return }
        guard await O.wait(tmux, "cell 2", { $0.contains("cell 2 (id cell1): both changed source") }) else { return }
        guard await O.wait(tmux, "their side", { $0.contains("│ y = 'theirs'") }) else { return }

        // Cell 2: theirs. Cell 3: both (ours, then theirs).
        try await tmux.keys("t")
        guard await O.wait(tmux, "one cell left", { $0.contains("1 conflicting cell left in nb.ipynb") }) else { return }
        guard await O.wait(tmux, "cell 3", { $0.contains("▸ cell 3 (id cell2): both changed source") }) else { return }
        try await tmux.keys("b")
        guard await O.wait(tmux, "the file resolved", { $0.contains("nb.ipynb: resolved and staged") }) else { return }
        guard await O.wait(tmux, "the staged notebook", { $0.contains("Staged (will be committed)") }) else { return }
        // The open notebook was read again: it shows the resolved cells.
        try await tmux.keys("c")
        guard await O.wait(tmux, "the message box", { $0.contains("Commit message (Ctrl-S commits") }) else { return }
        try await O.type(tmux, "Merge feature")
        try await tmux.keys("C-s")
        guard await O.wait(tmux, "the merge commit", { $0.contains("committed ") && $0.contains("Merge feature") }) else { return }
        guard await GitPanelTmuxTests.gone(tmux, "[merge in progress]") else { return }
        try await tmux.keys("Escape")
        guard await O.wait(tmux, "the notebook again", { $0.contains("z = 'theirs'") }) else { return }
        try await tmux.keys("C-q")
        guard await O.wait(tmux, "wb's exit status", { $0.hasPrefix("wb-exit=") }) else { return }
        #expect(await tmux.screen().contains("wb-exit=0"))

        // git: a merge commit with two parents, nothing left unmerged, a sound repository.
        let parents = try GitCLI.git(["log", "-1", "--format=%P"], in: dir, env: env).stdout.split(separator: " ")
        #expect(parents.count == 2)
        #expect(try GitCLI.git(["ls-files", "-u"], in: dir, env: env).stdout == "")
        try Self.checkWithGit(dir, env)
        let final = try Notebook.read(path: path)
        #expect(final.cells.map(\.source) == ["x = 1", "y = 'theirs'", "z = 'ours'", "z = 'theirs'"])
        #expect(final.cells.allSatisfy { $0.metadata["wb_merge_conflict"] == nil })
        #expect(try Self.nbformatProblem(path) == nil)
        let committed = try GitCLI.git(["show", "HEAD:nb.ipynb"], in: dir, env: env)
        let ids = try Notebook(ipynb: Array(committed.stdout.utf8)).cells.compactMap(\.id)
        #expect(Set(ids).count == 4, "cell ids stay unique: \(ids)")
    }

    @Test func outsideARepositoryThePanelSaysSo() async throws {
        let scratch = WB.scratch("git-panel-none")
        let (_, env) = GitCLI.sandbox()
        let path = try WB.notebook(["x = 1"], in: scratch)
        let home = FilePath.join(scratch, "wb-home")
        let (tmux, _) = try await O.start(path, in: scratch, home: home, environment: env)
        defer { O.cleanUp(tmux, home: home) }
        guard await O.wait(tmux, "the notebook", { $0.hasPrefix(" nb.ipynb  COMMAND") }) else { return }
        try await tmux.keys("C-g")
        guard await O.wait(tmux, "the message", { $0.contains("git: nb.ipynb is not in a git work tree") }) else { return }
        #expect(await !tmux.screen().contains { $0.hasPrefix(" Git ") })
    }

    /// Waits (up to 90 s) until no line contains `text`.
    static func gone(_ tmux: Tmux, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) async -> Bool {
        await WorkspaceTmuxTests.waitGone(tmux, text, sourceLocation: sourceLocation)
    }
}
