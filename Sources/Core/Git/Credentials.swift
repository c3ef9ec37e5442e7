import CGit2
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif

/// Progress of a transfer (objects received and indexed), for progress lines on long fetches.
public struct TransferProgress: Sendable, Equatable {
    public var receivedObjects: Int
    public var indexedObjects: Int
    public var totalObjects: Int
    public var receivedBytes: Int
}

/// Shared state of libgit2's remote callbacks: credentials, progress, push rejections.
///
/// Lives for one remote operation; libgit2 calls back on the calling thread.
final class RemoteSession {
    let helpers: [String]
    let progress: ((TransferProgress) -> Void)?
    var attempts = 0
    var triedAgent = false
    var triedEnvironment = false
    var triedHelper = false
    /// Refs the remote refused, with its reason.
    var rejected: [(ref: String, reason: String)] = []

    init(helpers: [String], progress: ((TransferProgress) -> Void)?) {
        self.helpers = helpers
        self.progress = progress
    }

    var payload: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    static func from(_ payload: UnsafeMutableRawPointer?) -> RemoteSession {
        Unmanaged<RemoteSession>.fromOpaque(payload!).takeUnretainedValue()
    }

    /// Installs the callbacks; keep `self` alive while they can run.
    func install(_ callbacks: inout git_remote_callbacks) {
        callbacks.payload = payload
        callbacks.credentials = { out, url, usernameFromURL, allowed, payload in
            RemoteSession.from(payload).credential(
                out, url: url.map { String(cString: $0) } ?? "", username: usernameFromURL.map { String(cString: $0) },
                allowed: allowed)
        }
        callbacks.transfer_progress = { stats, payload in
            let session = RemoteSession.from(payload)
            if let stats, let progress = session.progress {
                progress(
                    TransferProgress(
                        receivedObjects: Int(stats.pointee.received_objects), indexedObjects: Int(stats.pointee.indexed_objects),
                        totalObjects: Int(stats.pointee.total_objects), receivedBytes: stats.pointee.received_bytes))
            }
            return 0
        }
        callbacks.push_update_reference = { ref, status, payload in
            if let status, let ref {
                RemoteSession.from(payload).rejected.append((String(cString: ref), String(cString: status)))
            }
            return 0
        }
    }

    /// Answers libgit2's request for credentials: ssh-agent for ssh; for https, `WB_GIT_USERNAME` /
    /// `WB_GIT_PASSWORD` (or `WB_GIT_TOKEN`) from the environment, then the user's credential helpers.
    /// Each source is tried once, so bad credentials end with an authentication error, not a loop.
    func credential(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>?, url: String, username: String?, allowed: UInt32) -> Int32 {
        attempts += 1
        if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0, !triedAgent {
            triedAgent = true
            return git_credential_ssh_key_from_agent(out, username ?? "git")
        }
        if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0 {
            if !triedEnvironment {
                triedEnvironment = true
                let user = Environment.nonEmpty("WB_GIT_USERNAME") ?? username
                if let secret = Environment.nonEmpty("WB_GIT_PASSWORD") ?? Environment.nonEmpty("WB_GIT_TOKEN") {
                    return git_credential_userpass_plaintext_new(out, user ?? "x-access-token", secret)
                }
            }
            if !triedHelper {
                triedHelper = true
                if let found = CredentialHelper.fill(helpers: helpers, url: url, username: username) {
                    return git_credential_userpass_plaintext_new(out, found.username, found.password)
                }
            }
        }
        if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0, attempts == 1 {
            return git_credential_username_new(out, username ?? "git")
        }
        git_error_set_str(
            Int32(GIT_ERROR_NET.rawValue),
            "no credentials accepted for \(url): set WB_GIT_USERNAME and WB_GIT_PASSWORD (or WB_GIT_TOKEN), configure a credential helper, or load your ssh key into ssh-agent")
        return GIT_EAUTH.rawValue
    }
}

/// Runs the user's `git-credential-*` helpers (`credential.helper`) as git does, without running git.
public enum CredentialHelper {
    /// Asks each helper in turn (`get`); returns the first username and password one gives.
    public static func fill(helpers: [String], url: String, username: String?) -> (username: String, password: String)? {
        var request = "protocol=\(scheme(url))\nhost=\(host(url))\n"
        let path = self.path(url)
        if !path.isEmpty { request += "path=\(path)\n" }
        if let username { request += "username=\(username)\n" }
        request += "\n"
        for helper in helpers {
            guard let argv = command(helper), let output = run(argv + ["get"], input: request) else { continue }
            var fields: [String: String] = [:]
            for line in output.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            if let password = fields["password"] {
                return (fields["username"] ?? username ?? "", password)
            }
        }
        return nil
    }

    /// The argv for a `credential.helper` value: `NAME ARGS` runs `git-credential-NAME ARGS`,
    /// an absolute path runs that program. Shell snippets (`!...`) are not run.
    public static func command(_ helper: String) -> [String]? {
        let words = helper.split(separator: " ").map(String.init)
        guard let first = words.first, !first.hasPrefix("!") else { return nil }
        let program = first.hasPrefix("/") ? first : "git-credential-" + first
        return [program] + words.dropFirst()
    }

    static func scheme(_ url: String) -> String {
        url.firstRange(of: "://").map { String(url[..<$0.lowerBound]) } ?? "https"
    }

    static func host(_ url: String) -> String {
        var rest = url.firstRange(of: "://").map { String(url[$0.upperBound...]) } ?? url
        if let slash = rest.firstIndex(of: "/") { rest = String(rest[..<slash]) }
        if let at = rest.lastIndex(of: "@") { rest = String(rest[rest.index(after: at)...]) }
        return rest
    }

    static func path(_ url: String) -> String {
        guard let scheme = url.firstRange(of: "://") else { return "" }
        let rest = url[scheme.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return "" }
        return String(rest[rest.index(after: slash)...])
    }

    /// Runs a helper with `input` on its standard input; its standard output, or nil if it failed.
    static func run(_ argv: [String], input: String) -> String? {
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0 else { return nil }
        guard pipe(&fromChild) == 0 else {
            close(toChild[0])
            close(toChild[1])
            return nil
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        for fd in [toChild[0], toChild[1], fromChild[0], fromChild[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        let program = argv[0].contains("/") ? argv[0] : ChildProcess.which(argv[0], path: Environment.get("PATH") ?? "/usr/bin:/bin")
        guard let program else {
            [toChild[0], toChild[1], fromChild[0], fromChild[1]].forEach { close($0) }
            return nil
        }
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, nil, cArgs, environ)
        close(toChild[0])
        close(fromChild[1])
        guard rc == 0 else {
            close(toChild[1])
            close(fromChild[0])
            return nil
        }
        // SIGPIPE blocked on this thread while writing: a helper that exits without reading must not kill us.
        var pipeSignal = sigset_t(), previous = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
        let bytes = Array(input.utf8)
        var written = 0
        var broken = false
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(toChild[1], $0.baseAddress! + written, $0.count - written) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 {
                broken = errno == EPIPE
                break
            }
            written += n
        }
        close(toChild[1])
        if broken {
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&pipeSignal, nil, &zero)
        }
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fromChild[0], &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            output += buffer[..<n]
        }
        close(fromChild[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        guard (status & 0x7f) == 0, (status >> 8) & 0xff == 0 else { return nil }
        return String(decoding: output, as: UTF8.self)
    }
}
