import CoreSupport
import Foundation
import Git
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real OpenSSH server on 127.0.0.1 (Debian's `sshd`, our own config, host key and
/// authorized_keys) and a real `ssh-agent` holding a fresh key, for the ssh remote tests.
final class SSHServer {
    static let sshd = "/usr/sbin/sshd"
    let dir: String
    let port: Int
    let user: String
    let agentSocket: String
    let hostKey: String
    private let server: ChildProcess
    private let agent: ChildProcess

    /// Whether sshd can run here as the current user (installed, and its config test passes).
    static let usable: Bool = {
        let tools = [sshd, "/usr/bin/ssh-agent", "/usr/bin/ssh-add", "/usr/bin/ssh-keygen"]
        guard tools.allSatisfy({ FileManager.default.isExecutableFile(atPath: $0) }) else { return false }
        guard let dir = try? Scratch.directory("sshd-probe") else { return false }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard (try? keygen(dir + "/host")) != nil, (try? writeConfig(dir, port: 2222)) != nil else { return false }
        prepareRoot()
        return (try? Command.run([sshd, "-t", "-f", dir + "/sshd_config"]).status) == 0
    }()

    /// As root, sshd wants its privilege separation folder.
    static func prepareRoot() {
        if getuid() == 0, !FileManager.default.fileExists(atPath: "/run/sshd") {
            try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
    }

    static func keygen(_ path: String) throws {
        let result = try Command.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "wb-test", "-f", path])
        if result.status != 0 { throw GitCommandFailure(description: "ssh-keygen failed: \(result.stderr)") }
    }

    static func writeConfig(_ dir: String, port: Int) throws {
        try AtomicFile.write(
            """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(dir)/host
            PidFile \(dir)/sshd.pid
            AuthorizedKeysFile \(dir)/authorized_keys
            AuthenticationMethods publickey
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            StrictModes no
            UsePAM no
            LogLevel VERBOSE

            """, to: dir + "/sshd_config")
    }

    /// A port nobody listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw GitCommandFailure(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Runs a tool to completion (the project's own process runner, which reaps its child); its output.
    @discardableResult
    static func run(_ argv: [String], environment extra: [String: String] = [:], in dir: String) async throws -> String {
        let log = dir + "/tool-\(UUID().uuidString.prefix(8)).log"
        let process = try ChildProcess(
            argv: argv, environment: ProcessInfo.processInfo.environment.merging(extra) { _, new in new }, output: .file(log))
        let status = await process.wait(timeout: 60)
        let output = (try? FileIO.readText(log)) ?? ""
        guard status == .exited(0) else {
            throw GitCommandFailure(description: "\(argv.joined(separator: " ")) failed (\(status.map { "\($0)" } ?? "timed out")):\n\(output)")
        }
        return output
    }

    /// Starts sshd (on a free port) and an agent holding a fresh key that sshd accepts; waits until both are ready.
    init() async throws {
        dir = try Scratch.directory("sshd")
        user = String(cString: getpwuid(getuid())!.pointee.pw_name)
        try Self.keygen(dir + "/host")
        hostKey = dir + "/host.pub"
        try Self.keygen(dir + "/id")
        try FileManager.default.copyItem(atPath: dir + "/id.pub", toPath: dir + "/authorized_keys")
        port = try Self.freePort()
        try Self.writeConfig(dir, port: port)
        Self.prepareRoot()
        server = try ChildProcess(
            argv: [Self.sshd, "-D", "-e", "-f", dir + "/sshd_config"], environment: ProcessInfo.processInfo.environment,
            output: .file(dir + "/sshd.log"))
        agentSocket = dir + "/agent.sock"
        agent = try ChildProcess(
            argv: ["/usr/bin/ssh-agent", "-D", "-a", agentSocket], environment: ProcessInfo.processInfo.environment,
            output: .file(dir + "/agent.log"))
        let port = self.port, server = self.server, socketPath = agentSocket
        let ready = await poll(60) { !server.isRunning || Self.accepts(port: port) }
        guard ready, server.isRunning else {
            throw GitCommandFailure(description: "sshd did not start:\n\((try? FileIO.readText(dir + "/sshd.log")) ?? "")")
        }
        guard await poll(60, { FileManager.default.fileExists(atPath: socketPath) }) else {
            throw GitCommandFailure(description: "ssh-agent did not create its socket")
        }
        try await Self.run(["/usr/bin/ssh-add", dir + "/id"], environment: ["SSH_AUTH_SOCK": agentSocket], in: dir)
    }

    /// The server's log (sshd -e).
    var log: String { (try? FileIO.readText(dir + "/sshd.log")) ?? "" }

    /// `ssh-keygen -l` of a public key file: its SHA256 fingerprint.
    func fingerprint(_ publicKey: String) async throws -> String {
        let out = try await Self.run(["/usr/bin/ssh-keygen", "-l", "-E", "sha256", "-f", publicKey], in: dir)
        return String(out.split(separator: " ")[1])
    }

    /// A known_hosts line for this server's key (hashed, as `HashKnownHosts yes` writes it, when `hashed`).
    func knownHostsLine(hashed: Bool, key: String? = nil) async throws -> String {
        let parts = try FileIO.readText(key ?? hostKey).split(separator: " ")
        let line = "[127.0.0.1]:\(port) \(parts[0]) \(parts[1])\n"
        guard hashed else { return line }
        let file = dir + "/hash-me"
        try AtomicFile.write(line, to: file)
        try await Self.run(["/usr/bin/ssh-keygen", "-H", "-f", file], in: dir)
        return try FileIO.readText(file)
    }

    func stop() async {
        for process in [server, agent] where process.isRunning {
            process.signal(SIGTERM)
            if await process.wait(timeout: 30) == nil { process.signal(SIGKILL) }
        }
    }
}

/// Clone, fetch and push over ssh:// through ssh-agent against a real sshd on 127.0.0.1, with
/// known_hosts checking; and the refusals of an unknown and of a changed host key.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct SSHRemoteTests {
    static var knownHosts: String { GitSandbox.home + "/.ssh/known_hosts" }

    static func setKnownHosts(_ text: String) throws {
        try FileIO.createDirectory(GitSandbox.home + "/.ssh")
        try AtomicFile.write(text, to: knownHosts, mode: 0o600)
    }

    @Test(.enabled(if: SSHServer.usable, "sshd cannot run as this user"))
    func cloneFetchAndPushThroughTheAgent() async throws {
        _ = GitSandbox.home
        let server = try await SSHServer()
        setenv("SSH_AUTH_SOCK", server.agentSocket, 1)
        defer { unsetenv("SSH_AUTH_SOCK") }
        // A bare repository with one commit, made with the git command line.
        let bare = server.dir + "/project.git"
        let seed = try Scratch.directory("seed")
        try git(["init", "-q", "--bare", "-b", "main", bare], in: server.dir)
        try git(["init", "-q", "-b", "main", seed], in: seed)
        try write("over ssh\n", "README.md", in: seed)
        try git(["add", "README.md"], in: seed)
        try git(["commit", "-q", "-m", "seed"], in: seed)
        try git(["push", "-q", bare, "main"], in: seed)
        let url = "ssh://\(server.user)@127.0.0.1:\(server.port)\(bare)"
        // A hashed entry (Debian's ssh writes them so) for the server's key.
        try Self.setKnownHosts(try await server.knownHostsLine(hashed: true))
        #expect(try FileIO.readText(Self.knownHosts).hasPrefix("|1|"))

        let cloneDir = try Scratch.directory("ssh-clone") + "/project"
        let clone = try Repository.clone(url, to: cloneDir)
        #expect(try FileIO.readText(cloneDir + "/README.md") == "over ssh\n")
        // sshd accepted the agent's key (its fingerprint), not anything else.
        let keyFingerprint = try await server.fingerprint(server.dir + "/id.pub")
        #expect(server.log.contains("Accepted publickey for \(server.user)"), "\(server.log)")
        #expect(server.log.contains(keyFingerprint), "\(server.log)")

        try clone.setConfig("user.name", "Ada Lovelace")
        try clone.setConfig("user.email", "ada@example.com")
        try write("pushed over ssh\n", "README.md", in: cloneDir)
        try clone.add(["README.md"])
        let pushed = try clone.commit(message: "over ssh")
        try clone.push()
        #expect(try git(["rev-parse", "main"], in: bare).trimmingCharacters(in: .whitespacesAndNewlines) == pushed.id.hex)
        _ = try git(["fsck", "--strict"], in: bare)

        // Another commit on the server side, fetched and pulled over ssh.
        try git(["-C", seed, "pull", "-q", bare, "main"], in: seed)
        try write("from the server side\n", "NEWS", in: seed)
        try git(["add", "NEWS"], in: seed)
        try git(["commit", "-q", "-m", "news"], in: seed)
        try git(["push", "-q", bare, "main"], in: seed)
        let fetched = try clone.fetch()
        #expect(fetched.updated.map(\.ref) == ["origin/main"])
        _ = try clone.pull()
        #expect(try FileIO.readText(cloneDir + "/NEWS") == "from the server side\n")
        await server.stop()
    }

    @Test(.enabled(if: SSHServer.usable, "sshd cannot run as this user"))
    func unknownAndChangedHostKeysAreRefusedWithTheFingerprint() async throws {
        _ = GitSandbox.home
        let server = try await SSHServer()
        setenv("SSH_AUTH_SOCK", server.agentSocket, 1)
        defer { unsetenv("SSH_AUTH_SOCK") }
        let bare = server.dir + "/project.git"
        try git(["init", "-q", "--bare", "-b", "main", bare], in: server.dir)
        let url = "ssh://\(server.user)@127.0.0.1:\(server.port)\(bare)"
        let fingerprint = try await server.fingerprint(server.hostKey)

        // Unknown: nothing listed for the host. Refused, never accepted silently, and nothing written.
        try Self.setKnownHosts("# nothing for this host\n")
        let target = try Scratch.directory("refused") + "/project"
        let unknown = #expect(throws: GitError.self) { _ = try Repository.clone(url, to: target) }
        #expect(unknown?.code == .authentication)
        #expect(unknown?.message.contains("[127.0.0.1]:\(server.port) is not in your known_hosts") == true, "\(unknown?.message ?? "")")
        #expect(unknown?.message.contains("ssh-ed25519 key \(fingerprint)") == true, "\(unknown?.message ?? "")")
        #expect(unknown?.message.contains("ssh-keyscan -p \(server.port) 127.0.0.1") == true)
        #expect(try FileIO.readText(Self.knownHosts) == "# nothing for this host\n")
        #expect(!server.log.contains("Accepted publickey"), "no login happened")

        // Changed: the host is listed with another key.
        try await SSHServer.run(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", server.dir + "/other"], in: server.dir)
        try Self.setKnownHosts(try await server.knownHostsLine(hashed: false, key: server.dir + "/other.pub"))
        let changed = #expect(throws: GitError.self) { _ = try Repository.clone(url, to: target) }
        #expect(changed?.code == .authentication)
        #expect(changed?.message.contains("the host key of [127.0.0.1]:\(server.port) has CHANGED") == true, "\(changed?.message ?? "")")
        #expect(changed?.message.contains(fingerprint) == true)
        #expect(changed?.message.contains("\(Self.knownHosts):1") == true)

        // The control: with the right key listed, the same clone works.
        try Self.setKnownHosts(try await server.knownHostsLine(hashed: false))
        let empty = try Repository.clone(url, to: try Scratch.directory("accepted") + "/project")
        #expect(!empty.isBare)
        #expect(server.log.contains("Accepted publickey for \(server.user)"))
        await server.stop()
    }
}

/// known_hosts matching as OpenSSH does it, and ssh URLs.
struct KnownHostsTests {
    let key: [UInt8] = [0, 0, 0, 11] + Array("ssh-ed25519".utf8) + [0, 0, 0, 4, 1, 2, 3, 4]

    func file(_ text: String) throws -> String {
        let path = try Scratch.directory("kh") + "/known_hosts"
        try AtomicFile.write(text, to: path)
        return path
    }

    @Test func patternsPortsWildcardsNegationsAndRevocation() throws {
        let encoded = Data(key).base64EncodedString()
        let other = Data([0, 0, 0, 7] + Array("ssh-rsa".utf8) + [9]).base64EncodedString()
        let path = try file(
            """
            # comment
            github.com,140.82.121.4 ssh-ed25519 \(encoded)
            [git.example.com]:2222 ssh-ed25519 \(encoded)
            *.corp.example,!bad.corp.example ssh-ed25519 \(encoded)
            moved.example ssh-rsa \(other)
            @revoked stolen.example ssh-ed25519 \(encoded)
            @cert-authority *.example ssh-ed25519 \(encoded)

            """)
        #expect(KnownHosts.check(host: "github.com", port: 22, key: key, files: [path]) == .known(file: path, line: 2))
        #expect(KnownHosts.check(host: "GitHub.com", port: 22, key: key, files: [path]) == .known(file: path, line: 2))
        #expect(KnownHosts.check(host: "github.com", port: 2222, key: key, files: [path]) == .unknown)
        #expect(KnownHosts.check(host: "git.example.com", port: 2222, key: key, files: [path]) == .known(file: path, line: 3))
        #expect(KnownHosts.check(host: "git.example.com", port: 22, key: key, files: [path]) == .unknown)
        #expect(KnownHosts.check(host: "a.corp.example", port: 22, key: key, files: [path]) == .known(file: path, line: 4))
        #expect(KnownHosts.check(host: "bad.corp.example", port: 22, key: key, files: [path]) == .unknown)
        #expect(KnownHosts.check(host: "moved.example", port: 22, key: key, files: [path]) == .changed(file: path, line: 5, knownType: "ssh-rsa"))
        #expect(KnownHosts.check(host: "stolen.example", port: 22, key: key, files: [path]) == .revoked(file: path, line: 6))
        #expect(KnownHosts.check(host: "x.example", port: 22, key: key, files: [path]) == .unknown)
        #expect(KnownHosts.check(host: "github.com", port: 22, key: key, files: ["/nonexistent/known_hosts", path]) == .known(file: path, line: 2))
        #expect(KnownHostsTests.fingerprintFormat(KnownHosts.fingerprint(key)))
        #expect(KnownHosts.keyType(key) == "ssh-ed25519")
    }

    static func fingerprintFormat(_ text: String) -> Bool { text.hasPrefix("SHA256:") && !text.hasSuffix("=") && text.count == 7 + 43 }

    @Test func hashedEntriesMatchWhatSshKeygenHashes() throws {
        let encoded = Data(key).base64EncodedString()
        let path = try file("[127.0.0.1]:2200 ssh-ed25519 \(encoded)\nexample.org ssh-ed25519 \(encoded)\n")
        let hashed = try Command.run(["/usr/bin/ssh-keygen", "-H", "-f", path])
        try #require(hashed.status == 0, "\(hashed.stderr)")
        #expect(try FileIO.readText(path).split(separator: "\n").allSatisfy { $0.hasPrefix("|1|") })
        #expect(KnownHosts.check(host: "127.0.0.1", port: 2200, key: key, files: [path]) == .known(file: path, line: 1))
        #expect(KnownHosts.check(host: "example.org", port: 22, key: key, files: [path]) == .known(file: path, line: 2))
        #expect(KnownHosts.check(host: "127.0.0.1", port: 22, key: key, files: [path]) == .unknown)
    }

    @Test func sshURLs() {
        #expect(KnownHosts.sshEndpoint("ssh://git@example.com:2222/team/repo.git")! == ("example.com", 2222))
        #expect(KnownHosts.sshEndpoint("ssh://example.com/repo.git")! == ("example.com", 22))
        #expect(KnownHosts.sshEndpoint("ssh://git@[::1]:2200/repo.git")! == ("::1", 2200))
        #expect(KnownHosts.sshEndpoint("git@github.com:team/repo.git")! == ("github.com", 22))
        #expect(KnownHosts.sshEndpoint("github.com:repo.git")! == ("github.com", 22))
        #expect(KnownHosts.sshEndpoint("https://example.com/repo.git") == nil)
        #expect(KnownHosts.sshEndpoint("/srv/repo.git") == nil)
        #expect(KnownHosts.sshEndpoint("./a:b/repo.git") == nil)
    }
}
