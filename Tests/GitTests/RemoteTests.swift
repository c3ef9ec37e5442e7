import CoreSupport
import Foundation
import Git
import Notebook
import TestSupport
import Testing

/// A bare "server" repository holding one commit on main, pushed there by Workbench.
func bareOrigin() throws -> (bare: String, seed: Repository, seedDir: String) {
    let (_, bare) = try makeRepository("origin", identity: false, bare: true)
    let (seed, seedDir) = try makeRepository("seed")
    try notebook(["x = 1"]).write(path: seedDir + "/nb.ipynb")
    try write("readme\n", "README.md", in: seedDir)
    try seed.add(["."])
    try seed.commit(message: "seed")
    try seed.addRemote("origin", url: bare)
    try seed.push("origin")
    return (bare, seed, seedDir)
}

func cloneWithIdentity(_ url: String, _ name: String) throws -> (Repository, String) {
    let dir = try Scratch.directory(name) + "/work"
    let repo = try Repository.clone(url, to: dir)
    try repo.setConfig("user.name", "Clone \(name)")
    try repo.setConfig("user.email", "\(name)@example.com")
    return (repo, dir)
}

@Suite struct RemoteTests {
    @Test func cloneFromALocalBareRepositoryByPathAndFileURL() throws {
        let (bare, seed, _) = try bareOrigin()
        #expect(try git(["log", "--format=%s", "main"], in: bare) == "seed\n")
        _ = try git(["fsck", "--strict", "--no-dangling"], in: bare)
        #expect(try seed.branches().first?.upstream == "origin/main")

        var progressCalls = 0
        let dir = try Scratch.directory("clone") + "/by-path"
        let byPath = try Repository.clone(bare, to: dir, progress: { _ in progressCalls += 1 })
        #expect(try byPath.head().branchName == "main")
        #expect(try Notebook.read(path: dir + "/nb.ipynb").cells.first?.source == "x = 1")
        #expect(try byPath.remotes().map { "\($0.name) \($0.url)" } == ["origin \(bare)"])
        #expect(try byPath.branches().first { $0.name == "main" }?.upstream == "origin/main")
        #expect(try byPath.status().isClean)

        let (byURL, urlDir) = try cloneWithIdentity("file://" + bare, "by-url")
        #expect(try byURL.log().map(\.summary) == ["seed"])
        #expect(try git(["status", "--porcelain"], in: urlDir) == "")

        let again = #expect(throws: GitError.self) { try Repository.clone(bare, to: dir) }
        #expect(again?.code == .exists)
        let missing = #expect(throws: GitError.self) { try Repository.clone("/nonexistent/repo.git", to: dir + "-2") }
        #expect(missing?.code == .network || missing?.code == .notFound)
        #expect(missing?.message.contains("/nonexistent/repo.git") == true)
    }

    @Test func pushAndPullBetweenTwoClones() throws {
        let (bare, _, _) = try bareOrigin()
        let (alice, aliceDir) = try cloneWithIdentity(bare, "alice")
        let (bob, bobDir) = try cloneWithIdentity("file://" + bare, "bob")

        // Alice pushes; Bob pulls a fast-forward.
        try write("from alice\n", "alice.txt", in: aliceDir)
        try alice.add(["alice.txt"])
        let aliceCommit = try alice.commit(message: "alice")
        try alice.push()
        #expect(try bob.pull() == .fastForward(to: aliceCommit.id))
        #expect(try FileIO.readText(bobDir + "/alice.txt") == "from alice\n")

        // Both commit; Bob pushes first, Alice's push is rejected until she pulls.
        try write("from bob\n", "bob.txt", in: bobDir)
        try bob.add(["bob.txt"])
        try bob.commit(message: "bob")
        try bob.push()
        try write("alice again\n", "alice.txt", in: aliceDir)
        try alice.add(["alice.txt"])
        try alice.commit(message: "alice again")
        let rejected = #expect(throws: GitError.self) { try alice.push() }
        #expect(rejected?.code == .nonFastForward)
        #expect(rejected?.message.contains("wb git pull") == true)
        guard case .merged(let merge) = try alice.pull() else {
            Issue.record("expected a merge commit")
            return
        }
        #expect(merge.parents.count == 2)
        try alice.push()
        let fetched = try bob.fetch()
        #expect(fetched.updated.map(\.ref) == ["origin/main"])
        guard case .fastForward = try bob.pull() else {
            Issue.record("expected a fast-forward")
            return
        }
        #expect(try FileIO.readText(bobDir + "/alice.txt") == "alice again\n")
        #expect(try bob.resolveCommit("HEAD") == merge.id)
        // The server is consistent for git too.
        _ = try git(["fsck", "--strict", "--no-dangling"], in: bare)
        #expect(try git(["rev-parse", "main"], in: bare) == merge.id.hex + "\n")
    }

    @Test func remotesAddListRemove() throws {
        let (repo, _) = try makeRepository()
        try repo.addRemote("upstream", url: "https://example.com/team/project.git")
        #expect(try repo.remotes().map(\.name) == ["upstream"])
        #expect(throws: GitError.self) { try repo.addRemote("upstream", url: "/elsewhere") }
        try repo.setRemoteURL("upstream", url: "/elsewhere")
        #expect(try repo.remotes().first?.url == "/elsewhere")
        try repo.removeRemote("upstream")
        #expect(try repo.remotes().isEmpty)
        let error = #expect(throws: GitError.self) { try repo.fetch("upstream") }
        #expect(error?.code == .notFound)
    }

    @Test func credentialHelpersAreAskedAsGitAsksThem() throws {
        let dir = try Scratch.directory("helper")
        let helper = dir + "/git-credential-test"
        let log = dir + "/request"
        try AtomicFile.write(
            """
            #!/bin/sh
            [ "$1" = get ] || exit 0
            cat > \(log)
            echo username=alice
            echo password=s3cret
            """, to: helper, mode: 0o755)
        let found = CredentialHelper.fill(helpers: [helper], url: "https://example.com/team/repo.git", username: nil)
        #expect(found?.username == "alice")
        #expect(found?.password == "s3cret")
        // As git: no path for http(s) unless credential.useHttpPath; always for other protocols.
        #expect(try FileIO.readText(log) == "protocol=https\nhost=example.com\n\n")
        _ = CredentialHelper.fill(helpers: [helper], url: "https://example.com/team/repo.git", username: "bob", useHTTPPath: true)
        #expect(try FileIO.readText(log) == "protocol=https\nhost=example.com\npath=team/repo.git\nusername=bob\n\n")
        #expect(CredentialHelper.command("store --file ~/.creds", action: "get") == ["git-credential-store", "--file", "~/.creds", "get"])
        #expect(CredentialHelper.command("/opt/bin/helper", action: "erase") == ["/opt/bin/helper", "erase"])
        // Shell snippets run with /bin/sh, the action as their last argument, as git runs them.
        #expect(
            CredentialHelper.command("!f() { echo; }; f", action: "get")
                == ["/bin/sh", "-c", "f() { echo; }; f \"$@\"", "credential-helper", "get"])
        let snippet = CredentialHelper.fill(
            helpers: ["!f() { test \"$1\" = get && echo username=carol && echo password=pw; }; f"], url: "https://h/x", username: nil)
        #expect(snippet?.username == "carol")
        #expect(snippet?.password == "pw")
        // A helper that fails or does not exist gives nothing, and the next one is asked.
        #expect(CredentialHelper.fill(helpers: ["no-such-helper-xyz", helper], url: "https://h/x", username: "bob")?.password == "s3cret")
    }
}
