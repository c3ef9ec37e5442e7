import CoreSupport
import Foundation
import Git
import TestSupport
import Testing

@testable import TUI

/// The git panel's branch creation, stashes, fetch, pull and push: the keys queue the `wb-git`
/// commands, and the answers — made by the Git module on real repositories (a bare remote and a
/// clone in a temporary folder), as `wb-git --json` prints them — show on the screen.
@Suite("Git panel: new branch, stashes, fetch, pull, push", .serialized)
struct GitPanelRemoteTests {
    typealias S = GitPanelSnapshotTests
    typealias T = WorkspaceTests

    /// Commits and stashes need an identity; the sandbox deliberately has none.
    static func identify(_ repo: Repository) throws {
        try repo.setConfig("user.name", "Grace Hopper")
        try repo.setConfig("user.email", "grace@example.com")
    }

    /// A bare remote with one commit, and a clone of it; both removed by the caller.
    static func remoteAndClone() throws -> (remote: String, clone: Repository, dir: String, base: String) {
        // libgit2 reads HOME once per process: the shared sandbox must be in place before it starts.
        _ = GitSandbox.home
        let base = FilePath.join(NSTemporaryDirectory(), "wb-git-panel-remote-\(Identifier.randomHex(bytes: 6))")
        let seed = try Repository.create(at: base + "/seed", initialBranch: "main")
        try identify(seed)
        try AtomicFile.write("one\n", to: base + "/seed/a.txt")
        try seed.add(["a.txt"])
        try seed.commit(message: "first")
        _ = try Repository.create(at: base + "/remote.git", bare: true, initialBranch: "main")
        try seed.addRemote("origin", url: base + "/remote.git")
        try seed.push("origin", branch: "main")
        let clone = try Repository.clone(base + "/remote.git", to: base + "/clone")
        try identify(clone)
        return (base + "/remote.git", clone, base + "/clone", base)
    }

    @Test func nKeyOnTheBranchesAsksForANameAndMakesTheBranchAtHead() throws {
        var state = S.keys(S.opened(), .char("b"))
        #expect(S.requests(state).map(\.0.request) == [.branches])
        state = S.keys(state, .char("n"))
        #expect(state.git?.newBranch == "")
        state = S.type(state, "feature/cleaning")
        state = S.keys(state, .key(.backspace), .char("g"))
        #expect(state.git?.newBranch == "feature/cleaning")
        try OutputSnapshotTests.check(T.screen(state), "git-panel-new-branch")
        state = S.keys(state, .key(.enter))
        #expect(state.git?.newBranch == nil)
        let sent = S.requests(state)
        #expect(sent.map(\.0.request) == [.createBranch("feature/cleaning"), .branches])
        #expect(sent.first?.0.request.arguments == ["branch", "--json", "--", "feature/cleaning"])
        state = S.answer(
            state, #"{"name": "feature/cleaning", "head": false, "commit": "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b"}"#,
            kind: { $0 == .createBranch("feature/cleaning") })
        #expect(T.screen(state).contains { $0.contains("created branch feature/cleaning") })
        // Esc gives up without asking git anything.
        state = S.keys(state, .char("n"))
        state = S.type(state, "oops")
        state = S.keys(state, .key(.escape))
        #expect(state.git?.newBranch == nil)
        #expect(S.requests(state).isEmpty)
        #expect(state.git?.screen == .branches)
    }

    @Test func zStashesZListsAndEnterPopsARealStash() throws {
        let (_, clone, dir, base) = try Self.remoteAndClone()
        defer { try? FileManager.default.removeItem(atPath: base) }
        var state = S.keys(S.opened(), .char("z"))
        #expect(S.requests(state).map(\.0.request) == [.stash, .status])
        #expect(S.requests(state).first?.0.request.arguments == ["stash", "push", "--json"])
        #expect(GitRequest.stash.changesFiles)

        // What `wb git stash push --json` and `stash list --json` print for a real repository.
        try AtomicFile.write("one changed\n", to: dir + "/a.txt")
        let id = try clone.stash(message: "half-done cleaning")
        state = S.answer(state, JSON.object(["stashed": .string(id.hex)]).serialized())
        #expect(T.screen(state).contains { $0.contains("stashed the local changes") })
        state = S.keys(state, .char("Z"))
        #expect(state.git?.screen == .stashes)
        #expect(S.requests(state).map(\.0.request) == [.stashes])
        #expect(S.requests(state).first?.0.request.arguments == ["stash", "list", "--json"])
        let listed = try clone.stashes()
        #expect(listed.count == 1)
        state = S.answer(state, JSON.object(["stashes": .array(listed.map(\.json))]).serialized(.pretty), kind: { $0 == .stashes })
        #expect(state.git?.stashes.map(\.index) == [0])
        #expect(state.git?.stashes.first?.commit == id.hex)
        #expect(T.screen(state).contains { $0.contains("stash@{0}") && $0.contains("half-done cleaning") })

        state = S.keys(state, .key(.enter))
        #expect(S.requests(state).map(\.0.request) == [.stashPop(0), .status, .stashes])
        #expect(S.requests(state).first?.0.request.arguments == ["stash", "pop", "--json", "0"])
        try clone.applyStash(index: 0, drop: true)
        #expect(try String(contentsOfFile: dir + "/a.txt", encoding: .utf8) == "one changed\n")
        state = S.answer(state, JSON.object(["popped": 0]).serialized(), kind: { $0 == .stashPop(0) })
        #expect(T.screen(state).contains { $0.contains("brought back stash@{0}") })
        state = S.answer(state, JSON.object(["stashes": .array(try clone.stashes().map(\.json))]).serialized(), kind: { $0 == .stashes })
        #expect(T.screen(state).contains { $0.contains("nothing stashed") })
    }

    @Test func fetchPullAndPushRunTheCommandsAndSayWhatCame() throws {
        let (remote, clone, dir, base) = try Self.remoteAndClone()
        defer { try? FileManager.default.removeItem(atPath: base) }
        // Someone else pushes a commit.
        let other = try Repository.clone(remote, to: base + "/other")
        try Self.identify(other)
        try AtomicFile.write("two\n", to: base + "/other/b.txt")
        try other.add(["b.txt"])
        try other.commit(message: "second")
        try other.push("origin", branch: "main")

        var state = S.keys(S.opened(), .char("f"))
        #expect(S.requests(state).map(\.0.request) == [.fetch, .status])
        #expect(S.requests(state).first?.0.request.arguments == ["fetch", "--json"])
        state = S.answer(state, try clone.fetch("origin").json.serialized(.pretty))
        #expect(T.screen(state).contains { $0.contains("fetched origin: ") && $0.contains("moved") })

        state = S.keys(state, .char("p"))
        #expect(S.requests(state).map(\.0.request) == [.pull, .status])
        #expect(S.requests(state).first?.0.request.arguments == ["pull", "--json"])
        #expect(GitRequest.pull.changesFiles)
        let pulled = try clone.pull()
        #expect(FileIO.exists(dir + "/b.txt"))
        state = S.answer(state, pulled.json.serialized(.pretty), kind: { $0 == .pull })
        #expect(T.screen(state).contains { $0.contains("pulled: fast-forward to") })

        state = S.keys(state, .char("P"))
        #expect(S.requests(state).map(\.0.request) == [.push, .status])
        #expect(S.requests(state).first?.0.request.arguments == ["push", "--json"])
        try AtomicFile.write("three\n", to: dir + "/c.txt")
        try clone.add(["c.txt"])
        try clone.commit(message: "third")
        try clone.push("origin")
        state = S.answer(state, JSON.object(["pushed": "main", "remote": "origin"]).serialized(), kind: { $0 == .push })
        #expect(T.screen(state).contains { $0.contains("pushed main to origin") })
        #expect(try Repository.open(remote).resolveCommit("main") == clone.resolveCommit("HEAD"))
    }

    @Test func aPullThatStopsOnConflictsSaysSoAndARefusedPushShowsWhy() throws {
        var state = S.keys(S.opened(), .char("p"))
        // `wb git pull --json` exits 32 with the merge outcome when the merge stopped.
        let stopped = MergeOutcome.conflicts(files: ["merge.ipynb", "notes.txt"], notebooks: [])
        state = S.answer(state, stopped.json.serialized(.pretty), status: GitResult.conflicts, kind: { $0 == .pull })
        #expect(T.screen(state).contains { $0.contains("the pull stopped with conflicts in 2 files") })
        #expect(state.git?.notice?.isBox == false)
        // A push the remote refuses: wb-git's error in the box.
        state = S.keys(state, .char("P"))
        let refusal = GitError(.nonFastForward, "the remote's main has commits you do not have: pull first")
        state = S.answer(state, JSON.object(["error": refusal.json]).serialized(), status: 38, kind: { $0 == .push })
        #expect(state.git?.notice?.isBox == true)
        #expect(T.screen(state).contains { $0.contains("pull first") })
    }
}
