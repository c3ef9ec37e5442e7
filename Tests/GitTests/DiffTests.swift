import CoreSupport
import Foundation
import Git
import Notebook
import TestSupport
import Testing

@Suite struct LineDiffTests {
    @Test func unifiedDiffMatchesDiffU() throws {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
        let new = "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\n"
        #expect(LineDiff.unified(old: old, new: new, oldName: "old", newName: "new") == """
            --- old
            +++ new
            @@ -1,5 +1,5 @@
             a
            -b
            +B
             c
             d
             e
            @@ -8,3 +8,4 @@
             h
             i
             j
            +k

            """)
        #expect(LineDiff.unified(old: old, new: old) == "")
        #expect(LineDiff.hunks(old: "", new: "x\n").first?.header == "@@ -0,0 +1 @@")
    }

    @Test(arguments: 0..<40) func editScriptsRebuildTheTarget(_ seed: Int) {
        var rng = SplitMix(seed: UInt64(seed))
        let a = (0..<Int(rng.next() % 30)).map { _ in "l\(rng.next() % 6)" }
        let b = (0..<Int(rng.next() % 30)).map { _ in "l\(rng.next() % 6)" }
        let ops = LineDiff.operations(a, b)
        var rebuilt: [String] = []
        var kept = 0
        for op in ops {
            switch op {
            case .equal(let o, let n):
                #expect(a[o] == b[n])
                rebuilt.append(b[n])
                kept += 1
            case .insert(let n): rebuilt.append(b[n])
            case .delete: break
            }
        }
        #expect(rebuilt == b)
        // Shortest: deletions + insertions equal |a| + |b| - 2 * LCS.
        #expect(ops.count - kept == a.count + b.count - 2 * lcs(a, b))
    }

    func lcs(_ a: [String], _ b: [String]) -> Int {
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        return table[0][0]
    }
}

typealias SplitMix = SplitMix64

@Suite struct NotebookDiffTests {
    @Test func sourceOutputsAndMetadataPerCellMatchedById() {
        let old = notebook(["import math", "x = 1\ny = 2", "print(x)", "gone = True"], outputs: [2: "1\n"])
        var new = notebook(["import math", "x = 10\ny = 2", "print(x)"], outputs: [2: "10\n"])
        new.cells[0].metadata = ["tags": ["setup"]]
        var added = Cell(.markdown, source: "# Notes", id: "m1")
        added.metadata = [:]
        new.cells.insert(added, at: 1)
        let diff = NotebookDiffer.diff(old, new)
        #expect(diff.matchedByID)
        #expect(diff.unchangedCells == 0)
        let byKind = Dictionary(grouping: diff.cells, by: \.kind)
        #expect(byKind[.added]?.map(\.id) == ["m1"])
        #expect(byKind[.deleted]?.map(\.id) == ["c3"])
        let modified = byKind[.modified] ?? []
        #expect(modified.map(\.id) == ["c0", "c1", "c2"])
        // c0: only metadata.
        #expect(modified[0].source.isEmpty)
        #expect(modified[0].metadata == [MetadataChange(key: "tags", old: nil, new: ["setup"])])
        #expect(modified[0].outputsChanged == false)
        // c1: a source line changed.
        #expect(modified[1].source.first?.lines.map { $0.kind.rawValue + $0.text } == ["-x = 1", "+x = 10", " y = 2"])
        #expect(modified[1].outputsChanged == false)
        // c2: same source, different output.
        #expect(modified[2].source.isEmpty)
        #expect(modified[2].outputsChanged == true)
        #expect(modified[2].outputs.flatMap(\.lines).contains { $0.kind == .added && $0.text == "10" })

        let text = DiffText(color: false).render(diff)
        #expect(text.contains("## modified cell 2 → 3 (code, id c1)"))
        #expect(text.contains("-x = 1\n+x = 10\n"))
        #expect(text.contains("outputs changed (1 → 1)"))
        #expect(text.contains("## added cell 2 (markdown, id m1)\n@@ -0,0 +1 @@\n+# Notes"))
        #expect(text.contains("## deleted cell 4 (code, id c3)"))
        #expect(!text.contains("{"), "no raw JSON in the notebook diff")
    }

    @Test func optionsIgnoreOutputsAndMetadata() {
        let old = notebook(["a = 1"], outputs: [0: "old\n"])
        var new = notebook(["a = 1"], outputs: [0: "new\n"])
        new.cells[0].metadata = ["collapsed": true]
        new.metadata = ["kernelspec": ["name": "python3"]]
        #expect(!NotebookDiffer.diff(old, new).isEmpty)
        #expect(NotebookDiffer.diff(old, new, options: NotebookDiffOptions(ignoreOutputs: true, ignoreMetadata: true)).isEmpty)
        let onlyOutputs = NotebookDiffer.diff(old, new, options: NotebookDiffOptions(ignoreMetadata: true))
        #expect(onlyOutputs.cells.map(\.outputsChanged) == [true])
        #expect(onlyOutputs.metadata.isEmpty)
    }

    @Test func cellsWithoutIdsAreAlignedByContent() {
        let old = notebook(["import os", "def f():\n    return 1\n", "f()", "print('bye')"], ids: false)
        let new = notebook(["import os", "print('hello')", "def f():\n    return 2\n", "f()"], ids: false)
        let diff = NotebookDiffer.diff(old, new)
        #expect(!diff.matchedByID)
        #expect(diff.unchangedCells == 2)
        #expect(diff.cells.map(\.kind) == [.added, .modified, .deleted])
        #expect(diff.cells[1].oldIndex == 1)
        #expect(diff.cells[1].newIndex == 2)
        #expect(diff.cells[1].source.first?.lines.contains(LineDiff.Line(kind: .added, text: "    return 2")) == true)
    }

    @Test func notebookDiffInARepositoryIsPerCell() throws {
        let (repo, dir) = try makeRepository()
        try notebook(["x = 1", "print(x)"], outputs: [1: "1\n"]).write(path: dir + "/nb.ipynb")
        try write("plain\n", "notes.txt", in: dir)
        try repo.add(["."])
        try repo.commit(message: "base")
        try notebook(["x = 2", "print(x)"], outputs: [1: "2\n"]).write(path: dir + "/nb.ipynb")
        try write("plain\nmore\n", "notes.txt", in: dir)

        let unstaged = try repo.diff()
        #expect(unstaged.map(\.path) == ["nb.ipynb", "notes.txt"])
        let nb = try #require(unstaged[0].notebook)
        #expect(nb.cells.count == 2)
        #expect(nb.cells[0].source.first?.lines.map { $0.kind.rawValue + $0.text } == ["-x = 1", "+x = 2"])
        #expect(nb.cells[1].outputsChanged == true)
        #expect(unstaged[1].patch?.contains("+more\n") == true)
        // libgit2's plain patch equals what `git diff` prints.
        #expect(unstaged[1].patch == (try git(["diff", "notes.txt"], in: dir)))

        try repo.add(["nb.ipynb"])
        #expect(try repo.diff().map(\.path) == ["notes.txt"])
        let cached = try repo.diff(from: .revision("HEAD"), to: .index)
        #expect(cached.map(\.path) == ["nb.ipynb"])
        #expect(try repo.diff(from: .revision("HEAD"), to: .index, options: NotebookDiffOptions(ignoreOutputs: true))
            .first?.notebook?.cells.count == 1)
        try repo.commit(message: "two")
        let history = try repo.diff(from: .revision("HEAD~1"), to: .revision("HEAD"), paths: ["nb.ipynb"])
        #expect(history.count == 1)
        #expect(history[0].notebook?.cells.first?.id == "c0")
    }
}
