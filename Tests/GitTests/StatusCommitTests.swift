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

    /// The parallel working-tree scan reports exactly what one full libgit2 status does, and what git does.
    @Test func scannedStatusMatchesFullStatusAndGit() throws {
        let (repo, dir) = try makeRepository()
        // Top-level names whose byte order is tricky ("a-b" < "a.txt" < "a/..." < "a0"), files at the root, nesting.
        for top in ["a", "a-b", "a0", "b", "c", "deep", "y", "z"] {
            for i in 0..<6 { try write("\(top) \(i)\n", "\(top)/f\(i).txt", in: dir) }
        }
        try write("nested\n", "deep/one/two/three.txt", in: dir)
        try write(String(repeating: "a body long enough for rename detection\n", count: 20), "b/moved.txt", in: dir)
        for name in ["a.txt", "root.txt", "gone.txt", "link-me.txt", "conflict.txt", "z-last.txt"] {
            try write("\(name)\n", name, in: dir)
        }
        try write("*.log\nbuild/\n", ".gitignore", in: dir)
        try repo.add(["."])
        try repo.commit(message: "base")

        // A conflict, made with the git command line.
        try git(["checkout", "-q", "-b", "side"], in: dir)
        try write("side\n", "conflict.txt", in: dir)
        try git(["commit", "-qam", "side"], in: dir)
        try git(["checkout", "-q", "main"], in: dir)
        try write("main\n", "conflict.txt", in: dir)
        try git(["commit", "-qam", "main"], in: dir)
        _ = try git(["merge", "side"], in: dir, allowFailure: true)

        // Changes in every shard: modified, deleted, staged rename across top-level folders, typechange,
        // untracked (nested and at the root), ignored files and folders, a staged deletion with a new untracked file.
        try write("changed\n", "a/f1.txt", in: dir)
        try write("changed\n", "a-b/f2.txt", in: dir)
        try write("changed\n", "a.txt", in: dir)
        try write("changed\n", "z/f5.txt", in: dir)
        try FileManager.default.removeItem(atPath: dir + "/a0/f3.txt")
        try FileManager.default.removeItem(atPath: dir + "/gone.txt")
        try FileManager.default.moveItem(atPath: dir + "/b/moved.txt", toPath: dir + "/y/moved.txt")
        try repo.add(["b/moved.txt", "y/moved.txt"])
        try FileManager.default.removeItem(atPath: dir + "/link-me.txt")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link-me.txt", withDestinationPath: "root.txt")
        try write("new\n", "newdir/sub/f.txt", in: dir)
        try write("new\n", "c/new.txt", in: dir)
        try write("new\n", "0-first.txt", in: dir)
        try write("noise\n", "deep/one/noise.log", in: dir)
        try write("artifact\n", "build/out.bin", in: dir)
        try write("staged\n", "deep/staged.txt", in: dir)
        try repo.add(["deep/staged.txt"])
        try git(["rm", "-q", "--cached", "c/f0.txt"], in: dir)
        // Ignore rules the scan applies to files the index does not know: a tracked folder that became
        // ignored, a nested .gitignore, and a same-size edit that only hashing reveals. (No negation of a parent's
        // pattern: libgit2 1.5 still calls `!keep.log` under `*.log` ignored where git does not.)
        try write("kept\n", "gen/kept.txt", in: dir)
        try write("*.tmp\n", "deep/one/.gitignore", in: dir)
        try repo.add(["gen/kept.txt", "deep/one/.gitignore"])
        try write("*.log\nbuild/\ngen/\n", ".gitignore", in: dir)
        try write("generated\n", "gen/new.txt", in: dir)
        try write("scratch\n", "deep/one/x.tmp", in: dir)
        try write("notes\n", "deep/one/x.tmp.txt", in: dir)
        try write("Y 0\n", "y/f0.txt", in: dir)
        // A tracked folder replaced by a symlink to its moved self: same files, but no longer tracked paths.
        try FileManager.default.moveItem(atPath: dir + "/z", toPath: dir + "/zz-moved")
        try FileManager.default.createSymbolicLink(atPath: dir + "/z", withDestinationPath: "zz-moved")

        // One libgit2 status over everything, and the scan first (on 1 to 8 threads): the same entries.
        let one = try repo.status(includeIgnored: true, scan: false)
        for threads in [1, 2, 3, 8] {
            let scanned = try repo.status(includeIgnored: true, scan: true, threads: threads)
            #expect(scanned.entries == one.entries, "\(threads) threads")
            #expect(try repo.status(scan: true, threads: threads).entries == repo.status(scan: false).entries)
            // The index read without libgit2 while it starts on another thread: the same again.
            let early = try Repository.openWithStatus(dir, includeIgnored: true, scan: true, threads: threads)
            #expect(early.1.entries == one.entries, "\(threads) threads, index read early")
            #expect(early.0.workingDirectory == repo.workingDirectory)
            #expect(try Repository.openWithStatus(dir + "/deep/one", scan: true, threads: threads).1.entries == repo.status(scan: false).entries)
        }
        #expect(one.entries.first { $0.path == "gen/new.txt" }?.unstaged == .ignored)
        #expect(one.entries.first { $0.path == "deep/one/x.tmp.txt" }?.unstaged == .untracked)
        #expect(one.entries.first { $0.path == "deep/one/x.tmp" }?.unstaged == .ignored)
        #expect(one.entries.first { $0.path == "y/f0.txt" }?.unstaged == .modified)
        let paths = one.entries.map(\.path)
        #expect(paths == paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(one.entries.first { $0.path == "y/moved.txt" }?.oldPath == "b/moved.txt")
        #expect(one.conflicted.map(\.path) == ["conflict.txt"])
        // Removed from the index but still on disk: one entry, as libgit2 pairs them (git prints two lines).
        let unstagedRemoval = one.entries.first { $0.path == "c/f0.txt" }
        #expect(unstagedRemoval?.staged == .deleted && unstagedRemoval?.unstaged == .untracked)

        // Same codes as `git status --porcelain` for every path git reports.
        let porcelain = try git(["status", "--porcelain", "--ignored", "--untracked-files=all"], in: dir)
        var seen = 0
        for line in porcelain.split(separator: "\n") {
            let code = String(line.prefix(2))
            var path = String(line.dropFirst(3))
            if let arrow = path.range(of: " -> ") { path = String(path[arrow.upperBound...]) }
            if path.hasSuffix("/") || code == "D " || code == "??" && path == "c/f0.txt" { continue }
            seen += 1
            #expect(one.entries.first { $0.path == path }?.shortCode == code, "\(path): git says \(code)")
        }
        #expect(seen >= 15)
        #expect(one.entries.first { $0.path == "z/f0.txt" }?.unstaged == .deleted)
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
