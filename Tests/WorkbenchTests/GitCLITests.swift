import CoreSupport
import Foundation
import Notebook
import TestSupport
import Testing

/// `wb git` and `wb nbdiff` run as a user would, with a private HOME so no git configuration leaks in.
enum GitCLI {
    static func sandbox() -> (home: String, env: [String: String]) {
        let home = WB.scratch("git-cli-home")
        try! AtomicFile.write("[init]\n\tdefaultBranch = main\n", to: home + "/.gitconfig")
        let env = [
            "HOME": home, "XDG_CONFIG_HOME": home + "/.config", "GIT_CONFIG_GLOBAL": home + "/.gitconfig",
            "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "1",
        ]
        return (home, env)
    }

    static func identity(_ home: String) throws {
        try AtomicFile.write("[init]\n\tdefaultBranch = main\n[user]\n\tname = Grace Hopper\n\temail = grace@example.com\n", to: home + "/.gitconfig")
    }

    static func notebook(_ sources: [String], outputs: [String] = [], path: String) throws {
        var nb = Notebook(metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
        for (i, source) in sources.enumerated() {
            var cell = Cell(.code, source: source, id: "cell\(i)")
            if i < outputs.count {
                cell.outputs = [Output.stream(name: "stdout", text: outputs[i])]
                cell.executionCount = i + 1
            }
            nb.cells.append(cell)
        }
        try nb.write(path: path)
    }

    static func git(_ args: [String], in dir: String, env: [String: String]) throws -> Command.Result {
        var all = ProcessInfo.processInfo.environment
        for (k, v) in env { all[k] = v }
        return try Command.run(["/usr/bin/git"] + args, environment: all, cwd: dir)
    }
    /// ROOT/seed: a repository made with the git command line, one commit of data.csv ("rows\n").
    static func seedRepository(_ root: String, env: [String: String]) throws {
        try FileManager.default.createDirectory(atPath: root + "/seed", withIntermediateDirectories: true)
        #expect(try git(["init", "-q"], in: root + "/seed", env: env).status == 0)
        try AtomicFile.write("rows\n", to: root + "/seed/data.csv")
        #expect(try git(["add", "data.csv"], in: root + "/seed", env: env).status == 0)
        #expect(try git(["commit", "-qm", "seed"], in: root + "/seed", env: env).status == 0)
    }

    /// `wb git clone URL ROOT/copy`, then one more line in data.csv committed and `wb git push`ed, the network
    /// steps with `remoteEnv`; the server saw alice push.
    static func cloneCommitAndPush(_ url: String, root: String, env: [String: String], remoteEnv: [String: String], server: GitHTTPServer) throws {
        let clone = try WB.run(["git", "clone", url, root + "/copy", "--json"], environment: remoteEnv)
        #expect(clone.status == 0, "\(clone.stderr)")
        #expect(try FileIO.readText(root + "/copy/data.csv") == "rows\n")
        try AtomicFile.write("rows\nmore\n", to: root + "/copy/data.csv")
        #expect(try WB.run(["git", "commit", "-a", "-m", "more"], environment: env, cwd: root + "/copy").status == 0)
        let push = try WB.run(["git", "push"], environment: remoteEnv, cwd: root + "/copy")
        #expect(push.status == 0, "\(push.stderr)")
        #expect(server.requests.contains { $0.hasPrefix("POST /data.git/git-receive-pack 200 alice") })
    }
}

@Suite(.serialized, .timeLimit(.minutes(5)))
struct GitCLITests {
    @Test(arguments: [
        ["git", "--help"], ["git", "init", "--help"], ["git", "status", "--help"], ["git", "add", "--help"],
        ["git", "restore", "--help"], ["git", "commit", "--help"], ["git", "log", "--help"], ["git", "show", "--help"], ["git", "diff", "--help"],
        ["git", "branch", "--help"], ["git", "switch", "--help"], ["git", "stash", "--help"], ["git", "merge", "--help"],
        ["git", "resolve", "--help"], ["git", "remote", "--help"], ["git", "clone", "--help"], ["git", "fetch", "--help"],
        ["git", "pull", "--help"], ["git", "push", "--help"], ["git", "config", "--help"], ["nbdiff", "--help"],
    ])
    func everyGitCommandHasHelp(_ args: [String]) throws {
        let result = try WB.run(args)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE:"))
    }

    @Test func initStatusCommitLogDiffEndToEnd() throws {
        let (home, env) = GitCLI.sandbox()
        let dir = WB.scratch("git-cli") + "/project"
        #expect(try WB.run(["git", "init", dir], environment: env).status == 0)
        try GitCLI.notebook(["x = 1", "print(x)"], outputs: ["", "1\n"], path: dir + "/nb.ipynb")
        try AtomicFile.write("*.csv\n", to: dir + "/.gitignore")
        try AtomicFile.write("a,b\n", to: dir + "/data.csv")

        let status = try WB.run(["git", "status", "--json"], environment: env, cwd: dir)
        #expect(status.status == 0, "\(status.stderr)")
        let json = try JSON.parse(status.stdout)
        #expect(json["head"]?["unborn"] == true)
        let files = json["files"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
        #expect(files == [".gitignore", "nb.ipynb"])

        #expect(try WB.run(["git", "add", "."], environment: env, cwd: dir).status == 0)
        // No identity: refused with exit 34 and a message that says how to fix it.
        let refused = try WB.run(["git", "commit", "-m", "first"], environment: env, cwd: dir)
        #expect(refused.status == 34)
        #expect(refused.stderr.contains("user.name"))

        try GitCLI.identity(home)
        let commit = try WB.run(["git", "commit", "-m", "first", "--json"], environment: env, cwd: dir)
        #expect(commit.status == 0, "\(commit.stderr)")
        #expect(try JSON.parse(commit.stdout)["author"]?["name"] == "Grace Hopper")
        #expect(try WB.run(["git", "commit", "-m", "again"], environment: env, cwd: dir).status == 35)

        try GitCLI.notebook(["x = 2", "print(x)"], outputs: ["", "2\n"], path: dir + "/nb.ipynb")
        let diff = try WB.run(["git", "diff"], environment: env, cwd: dir)
        #expect(diff.status == 0)
        #expect(diff.stdout.contains("nbdiff a/nb.ipynb b/nb.ipynb"))
        #expect(diff.stdout.contains("## modified cell 1 (code, id cell0)\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"))
        #expect(diff.stdout.contains("outputs changed"))
        #expect(!diff.stdout.contains("\"cell_type\""), "a notebook diff is not a JSON diff")
        #expect(try WB.run(["git", "diff", "--exit-code"], environment: env, cwd: dir).status == 1)
        let quiet = try WB.run(["git", "diff", "--ignore-outputs", "--json"], environment: env, cwd: dir)
        let cells = try JSON.parse(quiet.stdout)["files"]?.arrayValue?.first?["notebook"]?["cells"]?.arrayValue ?? []
        #expect(cells.count == 1)
        #expect(try WB.run(["git", "diff", "--cached", "--exit-code"], environment: env, cwd: dir).status == 0)

        let log = try WB.run(["git", "log", "--json"], environment: env, cwd: dir)
        #expect(try JSON.parse(log.stdout)["commits"]?.arrayValue?.first?["summary"] == "first")
        // git itself agrees.
        let gitLog = try GitCLI.git(["log", "--format=%an %s"], in: dir, env: env)
        #expect(gitLog.stdout == "Grace Hopper first\n")
        #expect(try GitCLI.git(["fsck", "--strict"], in: dir, env: env).status == 0)
    }

    @Test func showACommitAndDiffUntrackedFiles() throws {
        let (home, env) = GitCLI.sandbox()
        try GitCLI.identity(home)
        let dir = WB.scratch("git-cli-show") + "/project"
        func wb(_ args: [String]) throws -> Command.Result { try WB.run(["git"] + args, environment: env, cwd: dir) }
        #expect(try WB.run(["git", "init", dir], environment: env).status == 0)
        try GitCLI.notebook(["x = 1"], path: dir + "/nb.ipynb")
        #expect(try wb(["add", "nb.ipynb"]).status == 0)
        #expect(try wb(["commit", "-m", "first"]).status == 0)
        // The first commit: everything it adds, against nothing.
        let root = try JSON.parse(try wb(["show", "--json"]).stdout)
        #expect(root["commit"]?["summary"] == "first")
        #expect(root["files"]?.arrayValue?.first?["change"] == "added")
        #expect(root["files"]?.arrayValue?.first?["notebook"]?["cells"]?.arrayValue?.first?["kind"] == "added")
        try GitCLI.notebook(["x = 2"], path: dir + "/nb.ipynb")
        #expect(try wb(["commit", "-a", "-m", "second"]).status == 0)
        let text = try wb(["show", "--color", "never"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("    second"))
        #expect(text.stdout.contains("## modified cell 1 (code, id cell0)"))
        #expect(text.stdout.contains("-x = 1\n+x = 2"))
        #expect(try wb(["show", "nope"]).status == 36)
        // Untracked files only with --untracked, whole, as added.
        try AtomicFile.write("a\nb\n", to: dir + "/notes.txt")
        #expect(try wb(["diff", "--json"]).stdout.contains("notes.txt") == false)
        let untracked = try JSON.parse(try wb(["diff", "--untracked", "--json"]).stdout)
        #expect(untracked["files"]?.arrayValue?.first?["path"] == "notes.txt")
        #expect(untracked["files"]?.arrayValue?.first?["change"] == "added")
        #expect(untracked["files"]?.arrayValue?.first?["patch"]?.stringValue?.contains("+a\n+b\n") == true)
    }

    @Test func nbdiffComparesTwoFiles() throws {
        let dir = WB.scratch("nbdiff")
        try GitCLI.notebook(["import pandas as pd", "df.head()"], path: dir + "/a.ipynb")
        try GitCLI.notebook(["import pandas as pd", "df.tail()"], path: dir + "/b.ipynb")
        let text = try WB.run(["nbdiff", dir + "/a.ipynb", dir + "/b.ipynb", "--color", "never"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("## modified cell 2 (code, id cell1)\n@@ -1 +1 @@\n-df.head()\n+df.tail()\n"))
        #expect(text.stdout.contains("1 cell(s) unchanged"))
        let colored = try WB.run(["nbdiff", dir + "/a.ipynb", dir + "/b.ipynb", "--color", "always"])
        #expect(colored.stdout.contains("\u{1B}[31m-df.head()"))
        let json = try WB.run(["nbdiff", dir + "/a.ipynb", dir + "/b.ipynb", "--json", "--exit-code"])
        #expect(json.status == 1)
        #expect(try JSON.parse(json.stdout)["cells"]?.arrayValue?.first?["id"] == "cell1")
        try AtomicFile.write("{not json", to: dir + "/bad.ipynb")
        let bad = try WB.run(["nbdiff", dir + "/a.ipynb", dir + "/bad.ipynb"])
        #expect(bad.status == 5)
        #expect(bad.stderr.contains("bad.ipynb"))
    }

    @Test func outsideARepositoryAndDamagedRepositoriesHaveTheirExitCodes() throws {
        let (_, env) = GitCLI.sandbox()
        let plain = WB.scratch("git-plain")
        let outside = try WB.run(["git", "status", "--json"], environment: env, cwd: plain)
        #expect(outside.status == 30)
        #expect(try JSON.parse(outside.stdout)["error"]?["code"] == "not_a_repository")
        #expect(try WB.run(["git", "init", plain], environment: env).status == 0)
        try AtomicFile.write("nonsense\n", to: plain + "/.git/HEAD")
        let damaged = try WB.run(["git", "status"], environment: env, cwd: plain)
        #expect(damaged.status == 31)
        #expect(damaged.stderr.contains("damaged"))
    }

    @Test func branchSwitchMergeConflictAndResolvePerCell() throws {
        let (home, env) = GitCLI.sandbox()
        try GitCLI.identity(home)
        let dir = WB.scratch("git-cli-merge") + "/project"
        func wb(_ args: [String]) throws -> Command.Result { try WB.run(["git"] + args, environment: env, cwd: dir) }
        #expect(try WB.run(["git", "init", dir], environment: env).status == 0)
        try GitCLI.notebook(["x = 1", "y = 1"], path: dir + "/nb.ipynb")
        #expect(try wb(["add", "nb.ipynb"]).status == 0)
        #expect(try wb(["commit", "-m", "base"]).status == 0)
        #expect(try wb(["switch", "-c", "feature"]).status == 0)
        try GitCLI.notebook(["x = 1", "y = 'theirs'"], path: dir + "/nb.ipynb")
        #expect(try wb(["commit", "-a", "-m", "theirs"]).status == 0)
        #expect(try wb(["switch", "main"]).status == 0)
        try GitCLI.notebook(["x = 1", "y = 'ours'"], path: dir + "/nb.ipynb")
        // Local changes that the switch would overwrite: refused with 33, file untouched.
        let blocked = try wb(["switch", "feature"])
        #expect(blocked.status == 33)
        #expect(blocked.stderr.contains("nb.ipynb"))
        #expect(try Notebook.read(path: dir + "/nb.ipynb").cells[1].source == "y = 'ours'")
        #expect(try wb(["commit", "-a", "-m", "ours"]).status == 0)

        let branches = try JSON.parse(try wb(["branch", "--json"]).stdout)
        #expect(branches["branches"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["feature", "main"])

        let merge = try wb(["merge", "feature", "--json"])
        #expect(merge.status == 32)
        let report = try JSON.parse(merge.stdout)
        #expect(report["result"] == "conflicts")
        let cell = report["notebooks"]?.arrayValue?.first?["cells"]?.arrayValue?.first
        #expect(cell?["cell"] == 2)
        #expect(cell?["theirs"]?["source"] == "y = 'theirs'")
        // Still a valid notebook; git sees the three stages.
        #expect(try Notebook.read(path: dir + "/nb.ipynb").cells[1].source == "y = 'ours'")
        let unmerged = try GitCLI.git(["ls-files", "-u"], in: dir, env: env).stdout.split(separator: "\n")
        #expect(unmerged.count == 3)
        #expect(try wb(["commit", "-m", "early"]).status == 32)

        let list = try wb(["resolve", "nb.ipynb", "--list"])
        #expect(list.stdout.contains("cell 2 (id cell1): both changed source"))
        let resolved = try wb(["resolve", "nb.ipynb", "--cell", "2", "--both"])
        #expect(resolved.status == 0, "\(resolved.stderr)")
        #expect(resolved.stdout.contains("resolved and staged"))
        #expect(try wb(["commit", "-m", "merged"]).status == 0)
        let final = try Notebook.read(path: dir + "/nb.ipynb")
        #expect(final.cells.map(\.source) == ["x = 1", "y = 'ours'", "y = 'theirs'"])
        #expect(try GitCLI.git(["fsck", "--strict"], in: dir, env: env).status == 0)
        #expect(try GitCLI.git(["status", "--porcelain"], in: dir, env: env).stdout == "")
    }

    @Test func cloneFetchPullPushOverFileURLs() throws {
        let (home, env) = GitCLI.sandbox()
        try GitCLI.identity(home)
        let root = WB.scratch("git-cli-remote")
        #expect(try WB.run(["git", "init", "--bare", root + "/server.git"], environment: env).status == 0)
        #expect(try WB.run(["git", "init", root + "/seed"], environment: env).status == 0)
        func wb(_ args: [String], in dir: String) throws -> Command.Result { try WB.run(["git"] + args, environment: env, cwd: dir) }
        try AtomicFile.write("hello\n", to: root + "/seed/a.txt")
        #expect(try wb(["add", "a.txt"], in: root + "/seed").status == 0)
        #expect(try wb(["commit", "-m", "seed"], in: root + "/seed").status == 0)
        #expect(try wb(["remote", "add", "origin", "file://" + root + "/server.git"], in: root + "/seed").status == 0)
        let remotes = try JSON.parse(try wb(["remote", "--json"], in: root + "/seed").stdout)
        #expect(remotes["remotes"]?.arrayValue?.first?["name"] == "origin")
        let pushed = try wb(["push"], in: root + "/seed")
        #expect(pushed.status == 0, "\(pushed.stderr)")

        let clone = try WB.run(["git", "clone", "file://" + root + "/server.git", root + "/copy", "--json"], environment: env)
        #expect(clone.status == 0, "\(clone.stderr)")
        #expect(try JSON.parse(clone.stdout)["head"]?["branch"] == "main")
        #expect(try FileIO.readText(root + "/copy/a.txt") == "hello\n")

        try AtomicFile.write("hello\nagain\n", to: root + "/seed/a.txt")
        #expect(try wb(["commit", "-a", "-m", "again"], in: root + "/seed").status == 0)
        #expect(try wb(["push"], in: root + "/seed").status == 0)
        let fetch = try JSON.parse(try wb(["fetch", "--json"], in: root + "/copy").stdout)
        #expect(fetch["updated"]?.arrayValue?.first?["ref"] == "origin/main")
        let pull = try JSON.parse(try wb(["pull", "--json"], in: root + "/copy").stdout)
        #expect(pull["result"] == "fast_forward")
        #expect(try FileIO.readText(root + "/copy/a.txt") == "hello\nagain\n")

        // The copy falls behind and diverges: its push is refused with 38.
        try AtomicFile.write("third\n", to: root + "/seed/b.txt")
        #expect(try wb(["add", "b.txt"], in: root + "/seed").status == 0)
        #expect(try wb(["commit", "-m", "third"], in: root + "/seed").status == 0)
        #expect(try wb(["push"], in: root + "/seed").status == 0)
        try AtomicFile.write("mine\n", to: root + "/copy/c.txt")
        #expect(try wb(["add", "c.txt"], in: root + "/copy").status == 0)
        #expect(try wb(["commit", "-m", "mine"], in: root + "/copy").status == 0)
        // Status tells how the branch stands against its upstream (what the TUI's git panel shows).
        let ahead = try JSON.parse(try wb(["status", "--json"], in: root + "/copy").stdout)
        #expect(ahead["upstream"] == ["name": "origin/main", "ahead": 1, "behind": 0])
        #expect(ahead["root"]?.stringValue?.hasSuffix("/copy/") == true)
        #expect(try wb(["fetch"], in: root + "/copy").status == 0)
        let diverged = try wb(["status"], in: root + "/copy")
        #expect(diverged.stdout.contains("Your branch and 'origin/main' have diverged: 1 commit here, 1 commit there."))
        let refused = try wb(["push"], in: root + "/copy")
        #expect(refused.status == 38)
        #expect(refused.stderr.contains("pull"))
        #expect(try wb(["pull"], in: root + "/copy").status == 0)
        #expect(try wb(["push"], in: root + "/copy").status == 0)
        #expect(try GitCLI.git(["fsck", "--strict"], in: root + "/server.git", env: env).status == 0)
        #expect(try GitCLI.git(["log", "--format=%s", "-1"], in: root + "/server.git", env: env).stdout.hasPrefix("Merge"))
        #expect(try wb(["fetch", "nowhere"], in: root + "/copy").status == 36)
        #expect(try WB.run(["git", "clone", root + "/missing.git", root + "/x"], environment: env).status == 37)
    }

    /// https-style credentials against a real smart-HTTP server on 127.0.0.1: from the environment,
    /// refused with exit 40 and a message naming their source, missing with exit 40 and what to set.
    @Test func httpRemoteWithCredentialsFromTheEnvironment() throws {
        let (home, env) = GitCLI.sandbox()
        try GitCLI.identity(home)
        let root = WB.scratch("git-cli-http")
        let server = try GitHTTPServer(root: root + "/served", username: "alice", password: "s3cret")
        defer { server.stop() }
        var gitEnv = ProcessInfo.processInfo.environment
        for (k, v) in env { gitEnv[k] = v }
        try server.createRepository("data", environment: gitEnv)
        let url = server.url + "/data.git"

        // Seed the server with the git command line (the test side only).
        try GitCLI.seedRepository(root, env: env)
        let authed = server.url.replacingOccurrences(of: "http://", with: "http://alice:s3cret@") + "/data.git"
        let seeded = try GitCLI.git(["push", "-q", authed, "main"], in: root + "/seed", env: env)
        #expect(seeded.status == 0, "\(seeded.stderr)")

        var withCredentials = env
        withCredentials["WB_GIT_USERNAME"] = "alice"
        withCredentials["WB_GIT_PASSWORD"] = "s3cret"
        try GitCLI.cloneCommitAndPush(url, root: root, env: env, remoteEnv: withCredentials, server: server)

        var wrong = withCredentials
        wrong["WB_GIT_PASSWORD"] = "not-it"
        let refused = try WB.run(["git", "fetch", "--json"], environment: wrong, cwd: root + "/copy")
        #expect(refused.status == 40, "\(refused.stderr)")
        #expect(refused.stderr.contains("refused the credentials from WB_GIT_USERNAME/WB_GIT_PASSWORD (user alice)"), "\(refused.stderr)")
        #expect(try JSON.parse(refused.stdout)["error"]?["code"] == "authentication")

        let missing = try WB.run(["git", "fetch"], environment: env, cwd: root + "/copy")
        #expect(missing.status == 40, "\(missing.stderr)")
        #expect(missing.stderr.contains("WB_GIT_USERNAME and WB_GIT_PASSWORD"))
    }
    /// The same over HTTPS, the test's CA trusted through GIT_SSL_CAINFO: clone, push, fetch and pull
    /// with credentials from the environment; a wrong password and an untrusted certificate each
    /// end with exit 40 and a message saying what to change.
    @Test func httpsRemoteWithCredentialsFromTheEnvironmentAndACustomCA() throws {
        let (home, env) = GitCLI.sandbox()
        try GitCLI.identity(home)
        let root = WB.scratch("git-cli-https")
        let ca = try TestCertificateAuthority()
        let server = try GitHTTPServer(root: root + "/served", username: "alice", password: "s3cret", tls: ca)
        defer { server.stop() }
        var gitEnv = ProcessInfo.processInfo.environment
        for (k, v) in env { gitEnv[k] = v }
        let bare = try server.createRepository("data", environment: gitEnv)
        let url = server.url + "/data.git"

        // Seed the served repository with the git command line, through the file system (test side only).
        try GitCLI.seedRepository(root, env: env)
        #expect(try GitCLI.git(["push", "-q", bare, "main"], in: root + "/seed", env: env).status == 0)

        var trusted = env
        trusted["GIT_SSL_CAINFO"] = ca.caCertificate
        trusted["WB_GIT_USERNAME"] = "alice"
        trusted["WB_GIT_PASSWORD"] = "s3cret"
        try GitCLI.cloneCommitAndPush(url, root: root, env: env, remoteEnv: trusted, server: server)
        #expect(try GitCLI.git(["log", "--format=%s", "-1", "main"], in: bare, env: env).stdout == "more\n")

        // Someone else pushes (the seed, through the file system); fetch and pull bring it over https.
        #expect(try GitCLI.git(["pull", "-q", bare, "main"], in: root + "/seed", env: env).status == 0)
        try AtomicFile.write("rows\nmore\nlast\n", to: root + "/seed/data.csv")
        #expect(try GitCLI.git(["commit", "-qam", "last"], in: root + "/seed", env: env).status == 0)
        #expect(try GitCLI.git(["push", "-q", bare, "main"], in: root + "/seed", env: env).status == 0)
        let fetched = try WB.run(["git", "fetch", "--json"], environment: trusted, cwd: root + "/copy")
        #expect(fetched.status == 0, "\(fetched.stderr)")
        #expect(try JSON.parse(fetched.stdout)["updated"]?.arrayValue?.first?["ref"] == "origin/main")
        let pulled = try WB.run(["git", "pull"], environment: trusted, cwd: root + "/copy")
        #expect(pulled.status == 0, "\(pulled.stderr)")
        #expect(try FileIO.readText(root + "/copy/data.csv") == "rows\nmore\nlast\n")

        var wrong = trusted
        wrong["WB_GIT_PASSWORD"] = "not-it"
        let refused = try WB.run(["git", "fetch", "--json"], environment: wrong, cwd: root + "/copy")
        #expect(refused.status == 40, "\(refused.stderr)")
        #expect(refused.stderr.contains("refused the credentials from WB_GIT_USERNAME/WB_GIT_PASSWORD (user alice)"), "\(refused.stderr)")
        #expect(try JSON.parse(refused.stdout)["error"]?["code"] == "authentication")

        // Without the CA: the certificate does not verify, and the message says how to trust it.
        var untrusted = trusted
        // Empty counts as unset (the machine running the tests may set it to the system bundle).
        untrusted["GIT_SSL_CAINFO"] = ""
        let rejected = try WB.run(["git", "fetch"], environment: untrusted, cwd: root + "/copy")
        #expect(rejected.status == 40, "\(rejected.stderr)")
        #expect(rejected.stderr.contains("does not verify against the system's CAs"), "\(rejected.stderr)")
        #expect(rejected.stderr.contains("http.sslCAInfo (or GIT_SSL_CAINFO)"), "\(rejected.stderr)")
    }
}
