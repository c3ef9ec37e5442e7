import CoreSupport
import Foundation
import Git
import Notebook
import TestSupport
import Testing

@Suite struct StatusTests {
    @Test func modifiedUntrackedIgnoredRenamedStagedMatchGit() throws {
        let (repo, dir) = try makeRepository()
        try write("keep\n", "kept.txt", in: dir)
        try write("will change\n", "changed.txt", in: dir)
        try write(String(repeating: "a long enough body for rename detection\n", count: 20), "old-name.txt", in: dir)
        try write("*.log\nbuild/\n", ".gitignore", in: dir)
        try repo.add(["."])
        try repo.commit(message: "base")

        try write("changed now\n", "changed.txt", in: dir)
        try write("new\n", "untracked.txt", in: dir)
        try write("noise\n", "debug.log", in: dir)
        try write("artifact\n", "build/out.bin", in: dir)
        try FileManager.default.moveItem(atPath: dir + "/old-name.txt", toPath: dir + "/new-name.txt")
        try repo.add(["old-name.txt", "new-name.txt"])
        try write("staged\n", "staged.txt", in: dir)
        try repo.add(["staged.txt"])

        let status = try repo.status(includeIgnored: true)
        func entry(_ path: String) -> StatusEntry? { status.entries.first { $0.path == path } }
        #expect(entry("changed.txt")?.unstaged == .modified)
        #expect(entry("untracked.txt")?.unstaged == .untracked)
        #expect(entry("debug.log")?.unstaged == .ignored)
        #expect(status.ignored.contains { $0.path.hasPrefix("build/") })
        #expect(entry("new-name.txt")?.staged == .renamed)
        #expect(entry("new-name.txt")?.oldPath == "old-name.txt")
        #expect(entry("staged.txt")?.staged == .added)
        #expect(entry("kept.txt") == nil)
        #expect(!status.isClean)

        // Without --ignored, ignored files are not listed; .gitignore is respected.
        #expect(try repo.status().entries.allSatisfy { $0.unstaged != .ignored })

        // Same codes as `git status --porcelain` for every path git reports.
        let porcelain = try git(["status", "--porcelain", "--ignored", "--untracked-files=all"], in: dir)
        for line in porcelain.split(separator: "\n") {
            let code = String(line.prefix(2))
            var path = String(line.dropFirst(3))
            if let arrow = path.range(of: " -> ") { path = String(path[arrow.upperBound...]) }
            if path.hasSuffix("/") { continue }
            #expect(entry(path)?.shortCode == code, "\(path): git says \(code)")
        }
    }

    @Test func submodulesAreListedNotManaged() throws {
        let (inner, innerDir) = try makeRepository("inner")
        try write("lib\n", "lib.txt", in: innerDir)
        try inner.add(["lib.txt"])
        let innerCommit = try inner.commit(message: "lib")
        let (_, dir) = try makeRepository("outer")
        try git(["-c", "protocol.file.allow=always", "submodule", "add", "-q", innerDir, "vendor/lib"], in: dir)
        try git(["-c", "user.name=x", "-c", "user.email=x@y", "commit", "-qm", "add submodule"], in: dir)
        let repo = try Repository.open(dir)
        let status = try repo.status()
        #expect(status.submodules.count == 1)
        #expect(status.submodules.first?.path == "vendor/lib")
        #expect(status.submodules.first?.recordedCommit == innerCommit.id)
        #expect(status.submodules.first?.checkedOutCommit == innerCommit.id)
        #expect(status.entries.isEmpty)
    }
}

@Suite struct CommitTests {
    @Test func commitAndLogReadBackAndPassGitFsck() throws {
        let (repo, dir) = try makeRepository()
        try write("one\n", "a.txt", in: dir)
        try notebook(["x = 1", "print(x)"], outputs: [1: "1\n"]).write(path: dir + "/nb.ipynb")
        try repo.add(["."])
        let first = try repo.commit(message: "First commit\n\nWith a body.  \n\n")
        try write("two\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        let second = try repo.commit(message: "Second")
        #expect(second.parents == [first.id])
        #expect(first.author.name == "Ada Lovelace")
        #expect(first.author.email == "ada@example.com")
        #expect(first.message == "First commit\n\nWith a body.\n")

        let log = try repo.log()
        #expect(log.map(\.id) == [second.id, first.id])
        #expect(try repo.log(limit: 1).map(\.id) == [second.id])
        #expect(try repo.log(path: "nb.ipynb").map(\.id) == [first.id])
        #expect(try repo.status().isClean)

        // The git command line reads what we wrote, and finds nothing wrong.
        _ = try git(["fsck", "--strict", "--no-dangling"], in: dir)
        #expect(try git(["log", "--format=%H %an <%ae> %s"], in: dir) == """
            \(second.id.hex) Ada Lovelace <ada@example.com> Second
            \(first.id.hex) Ada Lovelace <ada@example.com> First commit

            """)
        #expect(try git(["show", "HEAD:a.txt"], in: dir) == "two\n")
        #expect(try git(["status", "--porcelain"], in: dir) == "")
    }

    @Test func commitWithoutIdentityIsRefusedClearly() throws {
        let (repo, dir) = try makeRepository(identity: false)
        try write("x\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        let error = #expect(throws: GitError.self) { try repo.commit(message: "x") }
        #expect(error?.code == .noIdentity)
        #expect(error?.message.contains("user.name") == true)
        #expect(error?.message.contains("user.email") == true)
        #expect(try repo.log().isEmpty)
    }

    @Test func nothingToCommitIsRefused() throws {
        let (repo, dir) = try makeRepository()
        try write("x\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        try repo.commit(message: "x")
        let error = #expect(throws: GitError.self) { try repo.commit(message: "again") }
        #expect(error?.code == .nothingToCommit)
    }

    @Test func unstageAndDiscard() throws {
        let (repo, dir) = try makeRepository()
        try write("base\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        try repo.commit(message: "base")
        try write("edited\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        #expect(try repo.status().staged.map(\.path) == ["a.txt"])
        try repo.unstage(["a.txt"])
        let status = try repo.status()
        #expect(status.staged.isEmpty)
        #expect(status.unstaged.map(\.path) == ["a.txt"])
        #expect(try FileIO.readText(dir + "/a.txt") == "edited\n")
        try repo.discard(["a.txt"])
        #expect(try FileIO.readText(dir + "/a.txt") == "base\n")
        #expect(try repo.status().isClean)
    }

    @Test func readsRepositoriesAfterGitGc() throws {
        let (repo, dir) = try makeRepository()
        var ids: [ObjectID] = []
        for i in 0..<3 {
            try write("version \(i)\n", "a.txt", in: dir)
            try repo.add(["a.txt"])
            ids.append(try repo.commit(message: "v\(i)").id)
        }
        try git(["branch", "side"], in: dir)
        try git(["gc", "-q", "--aggressive", "--prune=now"], in: dir)
        #expect(FileIO.exists(dir + "/.git/packed-refs"))
        #expect(FileIO.list(dir + "/.git/objects/pack").contains { $0.hasSuffix(".pack") })
        let reopened = try Repository.open(dir)
        #expect(try reopened.log().map(\.id) == ids.reversed())
        #expect(try reopened.resolveCommit("side") == ids[2])
        #expect(try reopened.status().isClean)
        let diff = try reopened.diff(from: .revision("HEAD~2"), to: .revision("HEAD"))
        #expect(diff.first?.patch?.contains("-version 0\n+version 2\n") == true)
    }
}

@Suite struct OutputStrippingTests {
    @Test func notebooksAreCommittedWithoutOutputsWhileTheFileKeepsThem() throws {
        let (repo, dir) = try makeRepository()
        #expect(repo.stripsOutputs == false)
        try repo.setStripsOutputs(true)
        #expect(try git(["config", "--get", "workbench.stripOutputs"], in: dir) == "true\n")
        let path = dir + "/nb.ipynb"
        try notebook(["print('hi')", "x = 1"], outputs: [0: "hi\n"]).write(path: path)
        try repo.add(["nb.ipynb"])
        try repo.commit(message: "stripped")

        let committed = try Notebook(ipynb: Array(try git(["show", "HEAD:nb.ipynb"], in: dir).utf8))
        #expect(committed.cells.allSatisfy { $0.outputs.isEmpty && $0.executionCount == nil })
        #expect(committed.cells.map(\.source) == ["print('hi')", "x = 1"])
        #expect(try Notebook.read(path: path).cells[0].outputs.first?.text == "hi\n")
        // Outputs alone are not a change; a source edit is.
        #expect(try repo.status().isClean)
        #expect(try repo.diff().isEmpty)
        var edited = try Notebook.read(path: path)
        edited.cells[1].source = "x = 2"
        edited.cells[0].outputs = [Output.stream(name: "stdout", text: "hi again\n")]
        try edited.write(path: path)
        #expect(try repo.status().unstaged.map(\.path) == ["nb.ipynb"])
        let diff = try #require(try repo.diff().first?.notebook)
        #expect(diff.cells.map(\.id) == ["c1"])
        _ = try git(["fsck", "--strict", "--no-dangling"], in: dir)
    }
}
