import CoreSupport
import Foundation
import Git
import TestSupport
import Testing

/// Clone, fetch, pull and push over HTTPS against a real server on 127.0.0.1 (`git http-backend`
/// behind Basic auth, TLS with a certificate from a CA made for the test), trusting that CA through
/// `http.sslCAInfo`, with credentials from a configured `git-credential-*` helper.
///
/// Serialized: libgit2 holds one set of trusted CAs per process, and these tests change it.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct HTTPSRemoteTests {
    @Test func cloneFetchPullPushOverHTTPSWithACredentialHelper() throws {
        _ = GitSandbox.home
        let ca = try TestCertificateAuthority()
        let served = try Scratch.directory("served-tls")
        let server = try GitHTTPServer(root: served, username: "alice", password: "s3cret", tls: ca)
        defer { server.stop() }
        let bare = try server.createRepository("project", environment: GitSandbox.environment)
        let url = server.url + "/project.git"
        #expect(url.hasPrefix("https://127.0.0.1:"))
        let helper = try HTTPRemoteTests.Helper()

        // Push a first commit, trusting the test's CA and asking the helper for credentials.
        let (first, firstDir) = try makeRepository("first-tls")
        try first.setConfig("credential.helper", helper.path)
        try first.setConfig("http.sslCAInfo", ca.caCertificate)
        try write("hello\n", "README.md", in: firstDir)
        try first.add(["README.md"])
        let base = try first.commit(message: "base")
        try first.addRemote("origin", url: url)
        try first.push("origin", branch: "main")
        #expect(server.requests.contains { $0.hasPrefix("POST /project.git/git-receive-pack 200 alice") })
        let host = "127.0.0.1:\(server.port)"
        #expect(helper.calls.map(\.action) == ["get", "store"])
        #expect(helper.calls.first?.fields == ["protocol=https", "host=\(host)"])
        #expect(helper.calls.last?.fields == ["protocol=https", "host=\(host)", "username=alice", "password=s3cret"])
        _ = try git(["fsck", "--strict"], in: bare)
        #expect(try git(["rev-parse", "main"], in: bare).trimmingCharacters(in: .whitespacesAndNewlines) == base.id.hex)

        // Clone with the CA and the helper given at clone time (`git clone -c KEY=VALUE`).
        let cloneDir = try Scratch.directory("clone-tls") + "/project"
        let clone = try Repository.clone(
            url, to: cloneDir, config: [(key: "credential.helper", value: helper.path), (key: "http.sslCAInfo", value: ca.caCertificate)])
        #expect(try FileIO.readText(cloneDir + "/README.md") == "hello\n")
        #expect(try clone.config("http.sslCAInfo") == ca.caCertificate)
        #expect(try clone.head() == .branch(name: "main", commit: base.id))

        // The clone pushes a change; the first repository fetches and pulls it.
        try pushFromCloneAndPull(clone: clone, at: cloneDir, into: first, at: firstDir, bare: bare)

        // A wrong password: a clear authentication error, and the helper is told to forget it.
        try helper.setPassword("wrong")
        let refused = #expect(throws: GitError.self) { try first.fetch("origin") }
        #expect(refused?.code == .authentication)
        #expect(refused?.message.contains("\(host) refused the password that credential helper \(helper.path) gave for alice") == true, "\(refused?.message ?? "")")
        #expect(helper.calls.last?.action == "erase")
        #expect(server.requests.last?.hasSuffix(" 401 -") == true)
    }

    @Test func aServerCertificateFromAnUntrustedCAIsRefusedClearly() throws {
        _ = GitSandbox.home
        let ca = try TestCertificateAuthority()
        let served = try Scratch.directory("served-untrusted")
        let server = try GitHTTPServer(root: served, username: "alice", password: "s3cret", tls: ca)
        defer { server.stop() }
        try server.createRepository("project", environment: GitSandbox.environment)
        let url = server.url + "/project.git"

        // The system's CAs do not include the test's: refused before any credentials are sent.
        let target = try Scratch.directory("clone-untrusted") + "/project"
        let error = #expect(throws: GitError.self) { try Repository.clone(url, to: target) }
        #expect(error?.code == .authentication)
        #expect(error?.message.contains("the TLS certificate of 127.0.0.1 does not verify against the system's CAs") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("http.sslCAInfo (or GIT_SSL_CAINFO)") == true)
        #expect(!server.requests.contains { $0.contains("project.git") })
        #expect(!FileIO.exists(target + "/.git"))

        // Another CA's certificate is no better; the message names the file that was trusted.
        let other = try TestCertificateAuthority()
        let (repo, _) = try makeRepository("other-ca")
        try repo.setConfig("http.sslCAInfo", other.caCertificate)
        try repo.addRemote("origin", url: url)
        let wrongCA = #expect(throws: GitError.self) { try repo.fetch("origin") }
        #expect(wrongCA?.code == .authentication)
        #expect(wrongCA?.message.contains("does not verify against the CAs in \(other.caCertificate) (http.sslCAInfo)") == true, "\(wrongCA?.message ?? "")")

        // A CA file that does not exist is named as such.
        try repo.setConfig("http.sslCAInfo", other.folder + "/missing.pem")
        let missing = #expect(throws: GitError.self) { try repo.fetch("origin") }
        #expect(missing?.code == .invalid)
        #expect(missing?.message.contains("the CA certificate file \(other.folder)/missing.pem (http.sslCAInfo) does not exist") == true, "\(missing?.message ?? "")")

        // A URL-scoped setting for this server beats the general one; the right CA then works.
        try repo.setConfig("http.\(server.url).sslCAInfo", ca.caCertificate)
        let unauthenticated = #expect(throws: GitError.self) { try repo.fetch("origin") }
        // The TLS handshake passed: the server itself asked for credentials.
        #expect(unauthenticated?.message.contains("no credentials for") == true, "\(unauthenticated?.message ?? "")")
        #expect(server.requests.last?.hasSuffix(" 401 -") == true)

        // http.sslVerify false accepts the certificate unchecked, as git does.
        let (loose, _) = try makeRepository("no-verify")
        try loose.setConfig("http.sslVerify", "false")
        try loose.addRemote("origin", url: url)
        let noCredentials = #expect(throws: GitError.self) { try loose.fetch("origin") }
        #expect(noCredentials?.message.contains("no credentials for") == true, "\(noCredentials?.message ?? "")")
    }
}
