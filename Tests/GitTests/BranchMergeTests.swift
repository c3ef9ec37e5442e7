import CoreSupport
import Foundation
import Git
import Notebook
import TestSupport
import Testing

/// A repository with one commit on main: a.txt and b.txt.
func repositoryWithHistory() throws -> (Repository, String) {
    let (repo, dir) = try makeRepository()
    try write("a on main\n", "a.txt", in: dir)
    try write("b\n", "b.txt", in: dir)
    try repo.add(["."])
    try repo.commit(message: "base")
    return (repo, dir)
}

@Suite struct BranchTests {
    @Test func createListSwitchAndDelete() throws {
        let (repo, dir) = try repositoryWithHistory()
        try repo.createBranch("feature")
        #expect(try repo.branches().map(\.name) == ["feature", "main"])
        #expect(try repo.branches().first { $0.isHead }?.name == "main")
        try repo.switchTo("feature")
        try write("a on feature\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        try repo.commit(message: "feature work")
        try repo.switchTo("main")
        #expect(try FileIO.readText(dir + "/a.txt") == "a on main\n")
        #expect(try git(["rev-parse", "--abbrev-ref", "HEAD"], in: dir) == "main\n")
        // Unmerged work is protected; --force deletes it.
        let refused = #expect(throws: GitError.self) { try repo.deleteBranch("feature") }
        #expect(refused?.message.contains("not in HEAD") == true)
        let current = #expect(throws: GitError.self) { try repo.deleteBranch("main") }
        #expect(current?.message.contains("current branch") == true)
        try repo.deleteBranch("feature", force: true)
        #expect(try repo.branches().map(\.name) == ["main"])
        #expect(throws: GitError.self) { try repo.createBranch("bad..name") }
    }

    @Test func switchRefusesToOverwriteLocalChangesAndCarriesOthers() throws {
        let (repo, dir) = try repositoryWithHistory()
        try repo.switchTo("feature", create: true)
        try write("a on feature\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        try repo.commit(message: "feature changes a")
        try repo.switchTo("main")

        // A local edit to a file the switch would change: refused, nothing touched.
        try write("my unsaved edit\n", "a.txt", in: dir)
        let error = #expect(throws: GitError.self) { try repo.switchTo("feature") }
        #expect(error?.code == .localChanges)
        #expect(error?.message.contains("a.txt") == true)
        #expect(error?.message.contains("stash") == true)
        #expect(try FileIO.readText(dir + "/a.txt") == "my unsaved edit\n")
        #expect(try repo.head().branchName == "main")

        // A local edit to a file the switch does not touch comes along.
        try repo.discard(["a.txt"])
        try write("b edited\n", "b.txt", in: dir)
        try repo.switchTo("feature")
        #expect(try repo.head().branchName == "feature")
        #expect(try FileIO.readText(dir + "/a.txt") == "a on feature\n")
        #expect(try FileIO.readText(dir + "/b.txt") == "b edited\n")

        // Detached HEAD on request.
        try repo.discard(["b.txt"])
        try repo.switchTo("main~0", detach: true)
        if case .detached = try repo.head() {} else { Issue.record("HEAD should be detached") }
        #expect(throws: GitError.self) { try repo.switchTo("no-such-branch") }
    }

    @Test func stashSaveListPop() throws {
        let (repo, dir) = try repositoryWithHistory()
        try write("work in progress\n", "a.txt", in: dir)
        try write("new file\n", "new.txt", in: dir)
        try repo.stash(message: "wip", includeUntracked: true)
        #expect(try repo.status().entries.isEmpty)
        #expect(try FileIO.readText(dir + "/a.txt") == "a on main\n")
        #expect(try repo.stashes().map(\.message).first?.contains("wip") == true)
        #expect(try git(["stash", "list"], in: dir).contains("wip"))
        try repo.applyStash()
        #expect(try FileIO.readText(dir + "/a.txt") == "work in progress\n")
        #expect(try FileIO.readText(dir + "/new.txt") == "new file\n")
        #expect(try repo.stashes().isEmpty)
        let nothing = #expect(throws: GitError.self) {
            try repo.discard(["a.txt"])
            try FileManager.default.removeItem(atPath: dir + "/new.txt")
            try repo.stash()
        }
        #expect(nothing?.code == .nothingToCommit)
    }
}

@Suite struct MergeTests {
    @Test func fastForwardAndCleanMerge() throws {
        let (repo, dir) = try repositoryWithHistory()
        try repo.switchTo("feature", create: true)
        try write("a on feature\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        let featureCommit = try repo.commit(message: "feature")
        try repo.switchTo("main")
        #expect(try repo.merge("feature") == .fastForward(to: featureCommit.id))
        #expect(try repo.merge("feature") == .upToDate)
        #expect(try FileIO.readText(dir + "/a.txt") == "a on feature\n")

        // Diverged, touching different files: a merge commit with two parents.
        try repo.switchTo("other", create: true)
        try write("b on other\n", "b.txt", in: dir)
        try repo.add(["b.txt"])
        let otherCommit = try repo.commit(message: "other")
        try repo.switchTo("main")
        try write("c\n", "c.txt", in: dir)
        try repo.add(["c.txt"])
        let mainCommit = try repo.commit(message: "main")
        guard case .merged(let merge) = try repo.merge("other") else {
            Issue.record("expected a merge commit")
            return
        }
        #expect(merge.parents == [mainCommit.id, otherCommit.id])
        #expect(repo.state == .none)
        #expect(try FileIO.readText(dir + "/b.txt") == "b on other\n")
        _ = try git(["fsck", "--strict", "--no-dangling"], in: dir)
        #expect(try git(["log", "-1", "--format=%P"], in: dir) == "\(mainCommit.id.hex) \(otherCommit.id.hex)\n")
    }

    @Test func notebookConflictLeavesAValidNotebookAndIsResolvedPerCell() throws {
        let (repo, dir) = try makeRepository()
        let path = dir + "/analysis.ipynb"
        try notebook(["import pandas as pd", "x = 1", "print(x)"], outputs: [2: "1\n"]).write(path: path)
        try write("notes\n", "notes.txt", in: dir)
        try repo.add(["."])
        try repo.commit(message: "base")

        try repo.switchTo("feature", create: true)
        var theirs = try Notebook.read(path: path)
        theirs.cells[1].source = "x = 3"
        theirs.cells[2].source = "print(x * 2)"
        try theirs.write(path: path)
        try write("notes from feature\n", "notes.txt", in: dir)
        try repo.add(["."])
        try repo.commit(message: "feature edits")

        try repo.switchTo("main")
        var ours = try Notebook.read(path: path)
        ours.cells[1].source = "x = 2"
        ours.cells[0].metadata = ["tags": ["setup"]]
        try ours.write(path: path)
        try write("notes from main\n", "notes.txt", in: dir)
        try repo.add(["."])
        let mainHead = try repo.commit(message: "main edits")

        guard case .conflicts(let files, let notebooks) = try repo.merge("feature") else {
            Issue.record("expected conflicts")
            return
        }
        #expect(files == ["analysis.ipynb", "notes.txt"])
        let report = try #require(notebooks.first)
        #expect(report.path == "analysis.ipynb")
        #expect(report.cells.map(\.index) == [1])
        #expect(report.cells.first?.fields == ["source"])
        #expect(report.cells.first?.ours?.source == "x = 2")
        #expect(report.cells.first?.theirs?.source == "x = 3")
        #expect(report.cells.first?.base?.source == "x = 1")

        // The file is a valid notebook (ours where in conflict, both sides' other changes merged), no markers.
        let text = try FileIO.readText(path)
        #expect(!text.contains("<<<<<<<") && !text.contains(">>>>>>>"))
        let merged = try Notebook.read(path: path)
        #expect(merged.cells.map(\.source) == ["import pandas as pd", "x = 2", "print(x * 2)"])
        #expect(merged.cells[0].tags == ["setup"])
        #expect(merged.cells[1].metadata[NotebookMerger.conflictKey]?["theirs"]?["source"] != nil)
        // The index keeps the three stages; git agrees the path is unmerged.
        let stages = try git(["ls-files", "-u", "analysis.ipynb"], in: dir).split(separator: "\n").map { $0.split(separator: "\t")[0].split(separator: " ")[2] }
        #expect(stages == ["1", "2", "3"])
        #expect(try repo.status().conflicted.map(\.path) == ["analysis.ipynb", "notes.txt"])
        #expect(repo.state == .merge)
        let refused = #expect(throws: GitError.self) { try repo.commit(message: "too early") }
        #expect(refused?.code == .unmerged)

        // Resolve per cell, and the plain file by side.
        let wrongCell = #expect(throws: GitError.self) { try repo.resolve("analysis.ipynb", cell: 1, choice: .ours) }
        #expect(wrongCell?.message.contains("conflicts are in cell(s) 2") == true)
        #expect(try repo.resolve("analysis.ipynb", cell: 2, choice: .theirs).isEmpty)
        try repo.resolve("notes.txt", choice: .ours)
        #expect(try repo.conflictedPaths().isEmpty)
        let commit = try repo.commit(message: "Merge feature")
        #expect(commit.parents.count == 2)
        #expect(commit.parents.first == mainHead.id)
        #expect(repo.state == .none)

        let final = try Notebook(ipynb: Array(try git(["show", "HEAD:analysis.ipynb"], in: dir).utf8))
        #expect(final.cells.map(\.source) == ["import pandas as pd", "x = 3", "print(x * 2)"])
        #expect(final.cells.allSatisfy { $0.metadata[NotebookMerger.conflictKey] == nil })
        #expect(try git(["show", "HEAD:notes.txt"], in: dir) == "notes from main\n")
        _ = try git(["fsck", "--strict", "--no-dangling"], in: dir)
    }

    @Test func notebookEditsToDifferentCellsMergeCleanly() throws {
        let (repo, dir) = try makeRepository()
        let path = dir + "/nb.ipynb"
        try notebook((0..<8).map { "cell_\($0) = \($0)" }).write(path: path)
        try repo.add(["nb.ipynb"])
        try repo.commit(message: "base")
        try repo.switchTo("feature", create: true)
        var theirs = try Notebook.read(path: path)
        theirs.cells[7].source = "cell_7 = 'theirs'"
        theirs.cells.append(Cell(.markdown, source: "The end", id: "end"))
        try theirs.write(path: path)
        try repo.add(["nb.ipynb"])
        try repo.commit(message: "theirs")
        try repo.switchTo("main")
        var ours = try Notebook.read(path: path)
        ours.cells[0].source = "cell_0 = 'ours'"
        try ours.write(path: path)
        try repo.add(["nb.ipynb"])
        try repo.commit(message: "ours")
        guard case .merged = try repo.merge("feature") else {
            Issue.record("expected a clean merge")
            return
        }
        let merged = try Notebook.read(path: path)
        #expect(merged.cells.first?.source == "cell_0 = 'ours'")
        #expect(merged.cells[7].source == "cell_7 = 'theirs'")
        #expect(merged.cells.last?.source == "The end")
        #expect(try repo.status().isClean)
    }

    @Test func localChangesBlockAMergeWithoutLosingThem() throws {
        let (repo, dir) = try repositoryWithHistory()
        try repo.switchTo("feature", create: true)
        try write("a on feature\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        try repo.commit(message: "feature")
        try repo.switchTo("main")
        try write("c\n", "c.txt", in: dir)
        try repo.add(["c.txt"])
        try repo.commit(message: "main")
        try write("unsaved\n", "a.txt", in: dir)
        let error = #expect(throws: GitError.self) { try repo.merge("feature") }
        #expect(error?.code == .localChanges)
        #expect(try FileIO.readText(dir + "/a.txt") == "unsaved\n")
        #expect(repo.state == .none)
    }
}

@Suite struct NotebookMergerTests {
    @Test func fieldsMergeIndependently() {
        let base = notebook(["a = 1", "b = 2"], outputs: [1: "old\n"])
        var ours = base
        ours.cells[0].source = "a = 10"
        var theirs = base
        theirs.cells[1].outputs = [Output.stream(name: "stdout", text: "new\n")]
        theirs.cells.append(Cell(.markdown, source: "## added by theirs", id: "m9"))
        let result = NotebookMerger.merge(base: base, ours: ours, theirs: theirs)
        #expect(result.conflicts.isEmpty)
        #expect(result.notebook.cells.map(\.source) == ["a = 10", "b = 2", "## added by theirs"])
        #expect(result.notebook.cells[1].outputs.first?.text == "new\n")
    }

    @Test func deletedOnOneSideChangedOnTheOtherIsAConflict() throws {
        let base = notebook(["keep", "contested"])
        var ours = base
        ours.cells.remove(at: 1)
        var theirs = base
        theirs.cells[1].source = "contested, improved"
        let result = NotebookMerger.merge(base: base, ours: ours, theirs: theirs)
        #expect(result.conflicts.map(\.fields) == [["deleted"]])
        #expect(result.conflicts.first?.ours == nil)
        var nb = result.notebook
        try NotebookMerger.resolve(&nb, cell: 1, choice: .ours)
        #expect(nb.cells.map(\.source) == ["keep"])
    }

    @Test func bothKeepsOursThenTheirsWithDistinctIds() throws {
        let base = notebook(["x = 0"])
        var ours = base
        ours.cells[0].source = "x = 1"
        var theirs = base
        theirs.cells[0].source = "x = 2"
        var nb = NotebookMerger.merge(base: base, ours: ours, theirs: theirs).notebook
        try NotebookMerger.resolve(&nb, cell: 0, choice: .both)
        #expect(nb.cells.map(\.source) == ["x = 1", "x = 2"])
        #expect(Set(nb.cells.compactMap(\.id)).count == 2)
        #expect(NotebookMerger.conflicts(in: nb).isEmpty)
    }

    @Test func notebooksWithoutIdsMergeByContent() {
        let base = notebook(["import os", "x = 1", "print(x)"], ids: false)
        var ours = base
        ours.cells.insert(Cell(.code, source: "# ours first", id: nil), at: 0)
        var theirs = base
        theirs.cells[2].source = "print(x + 1)"
        let result = NotebookMerger.merge(base: base, ours: ours, theirs: theirs)
        #expect(result.conflicts.isEmpty)
        #expect(result.notebook.cells.map(\.source) == ["# ours first", "import os", "x = 1", "print(x + 1)"])
    }
}
