import CoreSupport
import Foundation
import Git
import TestSupport
import Testing

/// Clone, fetch, pull and push over smart HTTP against a real server on 127.0.0.1 (`git http-backend`
/// behind Basic auth), with credentials from a `git-credential-*` helper configured in the repository.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct HTTPRemoteTests {
    /// A credential helper script that answers `get` with alice and the password in its `password` file,
    /// and logs every call (action and request) to its `calls` file.
    struct Helper {
        let path: String
        let folder: String

        init() throws {
            folder = try Scratch.directory("credential-helper")
            path = folder + "/git-credential-test"
            try AtomicFile.write(
                """
                #!/bin/sh
                dir=$(dirname "$0")
                { echo "action=$1"; cat; } >> "$dir/calls"
                if [ "$1" = get ]; then
                    echo username=alice
                    echo "password=$(cat "$dir/password")"
                fi
                """, to: path, mode: 0o755)
            try setPassword("s3cret")
        }

        func setPassword(_ password: String) throws { try AtomicFile.write(password + "\n", to: folder + "/password") }

        /// The calls so far: each an action and its request lines.
        var calls: [(action: String, fields: [String])] {
            let text = (try? FileIO.readText(folder + "/calls")) ?? ""
            var result: [(String, [String])] = []
            for line in text.split(separator: "\n").map(String.init) {
                if line.hasPrefix("action=") { result.append((String(line.dropFirst(7)), [])) } else if !result.isEmpty {
                    result[result.count - 1].1.append(line)
                }
            }
            return result
        }
    }

    @Test func cloneFetchPullPushWithACredentialHelper() throws {
        _ = GitSandbox.home
        let served = try Scratch.directory("served")
        let server = try GitHTTPServer(root: served, username: "alice", password: "s3cret")
        defer { server.stop() }
        let bare = try server.createRepository("project", environment: GitSandbox.environment)
        let url = server.url + "/project.git"
        let helper = try Helper()

        // Push a first commit into the empty server repository, the helper configured in the repository.
        let (first, firstDir) = try makeRepository("first")
        try first.setConfig("credential.helper", helper.path)
        try write("hello\n", "README.md", in: firstDir)
        try first.add(["README.md"])
        let base = try first.commit(message: "base")
        try first.addRemote("origin", url: url)
        try first.push("origin", branch: "main")
        #expect(server.requests.contains { $0.hasPrefix("POST /project.git/git-receive-pack 200 alice") })
        // Asked as git asks (no path for http unless credential.useHttpPath), then told the credentials worked.
        #expect(helper.calls.map(\.action) == ["get", "store"])
        let host = "127.0.0.1:\(server.port)"
        #expect(helper.calls.first?.fields == ["protocol=http", "host=\(host)"])
        #expect(helper.calls.last?.fields == ["protocol=http", "host=\(host)", "username=alice", "password=s3cret"])
        // What Workbench pushed is a sound repository for git itself.
        _ = try git(["fsck", "--strict"], in: bare)
        #expect(try git(["rev-parse", "main"], in: bare).trimmingCharacters(in: .whitespacesAndNewlines) == base.id.hex)

        // Clone with the helper given at clone time (`git clone -c credential.helper=...`).
        let cloneDir = try Scratch.directory("clone") + "/project"
        let clone = try Repository.clone(url, to: cloneDir, config: [(key: "credential.helper", value: helper.path)])
        #expect(try FileIO.readText(cloneDir + "/README.md") == "hello\n")
        #expect(try clone.config("credential.helper") == helper.path)
        #expect(try clone.head() == .branch(name: "main", commit: base.id))

        // The clone pushes a change; the first repository fetches and pulls it.
        try pushFromCloneAndPull(clone: clone, at: cloneDir, into: first, at: firstDir, bare: bare)

        // A wrong password: a clear authentication error, and the helper is told to forget it.
        try helper.setPassword("wrong")
        let refused = #expect(throws: GitError.self) { try first.fetch("origin") }
        #expect(refused?.code == .authentication)
        #expect(refused?.message.contains("refused") == true, "\(refused?.message ?? "")")
        #expect(refused?.message.contains("credential helper \(helper.path)") == true, "\(refused?.message ?? "")")
        #expect(helper.calls.last?.action == "erase")
        #expect(helper.calls.last?.fields.contains("password=wrong") == true)
        // The request was refused by the server, never served.
        #expect(server.requests.last?.hasSuffix(" 401 -") == true)
    }

    @Test func noCredentialsAtAllSaysWhereTheyComeFrom() throws {
        _ = GitSandbox.home
        let served = try Scratch.directory("served")
        let server = try GitHTTPServer(root: served, username: "alice", password: "s3cret")
        defer { server.stop() }
        try server.createRepository("private", environment: GitSandbox.environment)
        let target = try Scratch.directory("clone") + "/private"
        let error = #expect(throws: GitError.self) { try Repository.clone(server.url + "/private.git", to: target) }
        #expect(error?.code == .authentication)
        #expect(error?.message.contains("no credentials for") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("credential.helper") == true)
        // Nothing is left behind by the failed clone.
        #expect(!FileIO.exists(target + "/.git"))
    }

    @Test func urlScopedHelpersAndUseHttpPathAreRespected() throws {
        _ = GitSandbox.home
        let served = try Scratch.directory("served")
        let server = try GitHTTPServer(root: served, username: "alice", password: "s3cret")
        defer { server.stop() }
        try server.createRepository("team/scoped", environment: GitSandbox.environment)
        let helper = try Helper()
        let (repo, dir) = try makeRepository("scoped")
        // A helper for another host is not asked; the one scoped to this server (and path prefix) is.
        try repo.setConfig("credential.https://elsewhere.example.helper", "/nonexistent/helper")
        try repo.setConfig("credential.\(server.url)/team.helper", helper.path)
        try repo.setConfig("credential.useHttpPath", "true")
        try write("x\n", "x.txt", in: dir)
        try repo.add(["x.txt"])
        try repo.commit(message: "x")
        try repo.addRemote("origin", url: server.url + "/team/scoped.git")
        try repo.push()
        #expect(helper.calls.map(\.action) == ["get", "store"])
        #expect(helper.calls.first?.fields == ["protocol=http", "host=127.0.0.1:\(server.port)", "path=team/scoped.git"])
    }
}
