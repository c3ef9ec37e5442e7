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
    /// Where the credential helpers come from, asked once, when a server first wants credentials.
    private let helperSource: (String) -> CredentialConfig
    private var config: CredentialConfig?
    let progress: ((TransferProgress) -> Void)?
    var attempts = 0
    var triedAgent = false
    var triedEnvironment = false
    var triedHelper = false
    /// Credentials a helper gave for the current request: told `store` after success, `erase` when refused.
    private var fromHelper: CredentialHelper.Answer?
    /// Which offer the server refused, for the error message.
    private var refused: String?
    /// Refs the remote refused, with its reason.
    var rejected: [(ref: String, reason: String)] = []

    /// The remote's URL (for an ssh host key check, its port).
    let url: String
    /// How https certificates are checked (`http.sslCAInfo`, `http.sslVerify`...).
    let tls: TLSSettings

    init(
        url: String, helpers: @escaping (String) -> CredentialConfig, tls: TLSSettings = TLSSettings(),
        progress: ((TransferProgress) -> Void)?
    ) {
        self.url = url
        helperSource = helpers
        self.tls = tls
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
        callbacks.certificate_check = { cert, valid, host, payload in
            RemoteSession.from(payload).checkCertificate(cert, valid: valid != 0, host: host.map { String(cString: $0) } ?? "")
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

    /// Checks an ssh server's host key against the known_hosts files, as `ssh` does with
    /// `StrictHostKeyChecking yes`: a listed key passes; an unknown host, a changed key or a revoked
    /// one is refused with the key's fingerprint and what to do. Never accepted silently. TLS
    /// certificates are left to libgit2 (`GIT_PASSTHROUGH`), which checks them against the CAs
    /// `Certificates` loaded, unless `http.sslVerify` is off.
    func checkCertificate(_ cert: UnsafeMutablePointer<git_cert>?, valid: Bool, host: String) -> Int32 {
        guard let cert, cert.pointee.cert_type == GIT_CERT_HOSTKEY_LIBSSH2 else {
            if valid { return GIT_PASSTHROUGH.rawValue }
            if !tls.verify { return 0 }
            // libgit2 would say only "user rejected certificate": say why and what to do.
            git_error_set_str(
                Int32(GIT_ERROR_SSL.rawValue),
                """
                the TLS certificate of \(host) does not verify against \(tls.trustDescription) (not signed by one of \
                them, expired, or not for that host name). If the server uses a private CA, point http.sslCAInfo \
                (or GIT_SSL_CAINFO) at that CA's certificate
                """)
            return GIT_ECERTIFICATE.rawValue
        }
        let hostkey = UnsafeMutableRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee
        guard hostkey.type.rawValue & GIT_CERT_SSH_RAW.rawValue != 0, let raw = hostkey.hostkey, hostkey.hostkey_len > 0 else {
            git_error_set_str(Int32(GIT_ERROR_SSH.rawValue), "ssh: \(host) sent no host key to check; refusing to connect")
            return GIT_ECERTIFICATE.rawValue
        }
        let key = Array(UnsafeRawBufferPointer(start: raw, count: hostkey.hostkey_len))
        let port = KnownHosts.sshEndpoint(url)?.port ?? 22
        let name = KnownHosts.entryName(host: host, port: port)
        let files = KnownHosts.defaultFiles()
        let offered = "\(KnownHosts.keyType(key)) key \(KnownHosts.fingerprint(key))"
        let message: String
        switch KnownHosts.check(host: host, port: port, key: key, files: files) {
        case .known: return 0
        case .unknown:
            let scan = port == 22 ? "ssh-keyscan \(host)" : "ssh-keyscan -p \(port) \(host)"
            message = """
                host key verification failed: \(name) is not in your known_hosts (\(files[0])); it offered the \
                \(offered). If that is the server's key (ask its admin), add it with `\(scan) >> ~/.ssh/known_hosts` \
                (or connect once with ssh), then try again
                """
        case .changed(let file, let line, let knownType):
            message = """
                host key verification failed: the host key of \(name) has CHANGED. It offered the \(offered), but \
                \(file):\(line) lists another (\(knownType)) key for it. Someone may be intercepting the connection, or \
                the key was replaced; if you know it was replaced, remove the old entry (`ssh-keygen -R '\(name)'`) and add the new one
                """
        case .revoked(let file, let line):
            message = "host key verification failed: \(name) offered the \(offered), which \(file):\(line) marks @revoked"
        }
        git_error_set_str(Int32(GIT_ERROR_SSH.rawValue), message)
        return GIT_ECERTIFICATE.rawValue
    }

    /// The operation succeeded: credentials a helper gave are confirmed to it (`store`), as git does.
    func approve() {
        guard let answer = fromHelper, let config else { return }
        CredentialHelper.approve(helpers: config.helpers, answer)
        fromHelper = nil
    }

    /// Answers libgit2's request for credentials: ssh-agent for ssh; for http(s), `WB_GIT_USERNAME` /
    /// `WB_GIT_PASSWORD` (or `WB_GIT_TOKEN`) from the environment, then the user's credential helpers.
    /// Each source is tried once, so bad credentials end with an authentication error, not a loop; a
    /// helper's refused credentials are erased from it (`erase`), as git does.
    func credential(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>?, url: String, username: String?, allowed: UInt32) -> Int32 {
        attempts += 1
        let host = CredentialHelper.host(url)
        // Asked again: the server refused what we offered last.
        if let answer = fromHelper {
            refused = "\(host) refused the password that credential helper \(answer.helper) gave for \(answer.username)"
            CredentialHelper.reject(helpers: config?.helpers ?? [], answer)
            fromHelper = nil
        }
        if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0, !triedAgent {
            triedAgent = true
            guard Environment.nonEmpty("SSH_AUTH_SOCK") != nil else {
                git_error_set_str(
                    Int32(GIT_ERROR_SSH.rawValue),
                    "\(host) wants an ssh key and no ssh-agent is running (SSH_AUTH_SOCK is not set): start one and `ssh-add` your key")
                return GIT_EAUTH.rawValue
            }
            refused = "\(host) refused the keys in ssh-agent for user \(username ?? "git") (see `ssh-add -l`)"
            return git_credential_ssh_key_from_agent(out, username ?? "git")
        }
        if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0 {
            let config = self.config ?? helperSource(url)
            self.config = config
            let user = username ?? config.username
            if !triedEnvironment {
                triedEnvironment = true
                if let secret = Environment.nonEmpty("WB_GIT_PASSWORD") ?? Environment.nonEmpty("WB_GIT_TOKEN") {
                    let name = Environment.nonEmpty("WB_GIT_USERNAME") ?? user ?? "x-access-token"
                    refused = "\(host) refused the credentials from WB_GIT_USERNAME/WB_GIT_PASSWORD (user \(name))"
                    return git_credential_userpass_plaintext_new(out, name, secret)
                }
            }
            if !triedHelper {
                triedHelper = true
                let request = CredentialHelper.Request(url: url, username: user, useHTTPPath: config.useHTTPPath)
                if let answer = CredentialHelper.fill(helpers: config.helpers, request) {
                    fromHelper = answer
                    return git_credential_userpass_plaintext_new(out, answer.username, answer.password)
                }
            }
        }
        if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0, attempts == 1 {
            return git_credential_username_new(out, username ?? "git")
        }
        let message: String
        if let refused {
            message = refused + "; check the user name and password (or token)"
        } else {
            message = "no credentials for \(url): set WB_GIT_USERNAME and WB_GIT_PASSWORD (or WB_GIT_TOKEN), configure a credential helper (credential.helper), or load your ssh key into ssh-agent"
        }
        git_error_set_str(Int32(GIT_ERROR_NET.rawValue), message)
        return GIT_EAUTH.rawValue
    }
}

/// What the git configuration says about credentials for one URL.
struct CredentialConfig {
    /// `credential.helper` and `credential.<url>.helper` values that apply, in order (an empty value resets).
    var helpers: [String] = []
    /// `credential.username` (or the URL-scoped one): the user name when the URL has none.
    var username: String?
    /// `credential.useHttpPath`: whether helpers are told the path of http(s) URLs.
    var useHTTPPath = false

    /// Reads it from a configuration (all levels), for `url`.
    static func read(_ config: OpaquePointer?, url: String) -> CredentialConfig {
        var result = CredentialConfig()
        var iterator: OpaquePointer?
        guard git_config_iterator_glob_new(&iterator, config, "^credential\\..*") == 0 else { return result }
        defer { git_config_iterator_free(iterator) }
        var entry: UnsafeMutablePointer<git_config_entry>?
        while git_config_next(&entry, iterator) == 0 {
            guard let raw = entry?.pointee.name, let rawValue = entry?.pointee.value else { continue }
            let name = String(cString: raw), value = String(cString: rawValue)
            // credential.KEY or credential.<url>.KEY; the URL part must match this URL.
            let body = name.dropFirst("credential.".count)
            let key: String
            if let dot = body.lastIndex(of: ".") {
                guard CredentialHelper.urlMatches(String(body[..<dot]), url) else { continue }
                key = String(body[body.index(after: dot)...]).lowercased()
            } else {
                key = String(body).lowercased()
            }
            switch key {
            case "helper":
                if value.isEmpty { result.helpers.removeAll() } else { result.helpers.append(value) }
            case "username": result.username = value
            case "usehttppath": result.useHTTPPath = ["true", "yes", "on", "1"].contains(value.lowercased())
            default: break
            }
        }
        return result
    }
}

/// Runs the user's `git-credential-*` helpers (`credential.helper`) as git does, without running git.
public enum CredentialHelper {
    /// What is asked of a helper: the fields of git's credential protocol.
    public struct Request: Sendable, Equatable {
        public var scheme: String
        public var host: String
        /// Sent only for non-http URLs, or with `credential.useHttpPath` (as git does).
        public var path: String?
        public var username: String?

        public init(url: String, username: String? = nil, useHTTPPath: Bool = false) {
            scheme = CredentialHelper.scheme(url)
            host = CredentialHelper.host(url)
            let path = CredentialHelper.path(url)
            let http = scheme == "http" || scheme == "https"
            self.path = path.isEmpty || (http && !useHTTPPath) ? nil : path
            self.username = username
        }

        /// The request in the helper protocol's `key=value` lines, ending with a blank line.
        func text(password: String? = nil, username overriding: String? = nil) -> String {
            var text = "protocol=\(scheme)\nhost=\(host)\n"
            if let path { text += "path=\(path)\n" }
            if let user = overriding ?? username { text += "username=\(user)\n" }
            if let password { text += "password=\(password)\n" }
            return text + "\n"
        }
    }

    /// Credentials one helper gave for a request.
    public struct Answer: Sendable, Equatable {
        public var helper: String
        public var request: Request
        public var username: String
        public var password: String
    }

    /// Asks each helper in turn (`get`); the first username and password one gives.
    public static func fill(helpers: [String], _ request: Request) -> Answer? {
        for helper in helpers {
            guard let argv = command(helper, action: "get"), let output = run(argv, input: request.text()) else { continue }
            var fields: [String: String] = [:]
            for line in output.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            if fields["quit"].map({ ["1", "true"].contains($0) }) == true { return nil }
            if let password = fields["password"] {
                return Answer(helper: helper, request: request, username: fields["username"] ?? request.username ?? "", password: password)
            }
        }
        return nil
    }

    /// Asks each helper in turn (`get`), for a URL; the first username and password one gives.
    public static func fill(helpers: [String], url: String, username: String?, useHTTPPath: Bool = false) -> (username: String, password: String)? {
        fill(helpers: helpers, Request(url: url, username: username, useHTTPPath: useHTTPPath)).map { ($0.username, $0.password) }
    }

    /// Tells every helper that these credentials worked (`store`).
    public static func approve(helpers: [String], _ answer: Answer) {
        tell(helpers, "store", answer)
    }

    /// Tells every helper that these credentials were refused (`erase`).
    public static func reject(helpers: [String], _ answer: Answer) {
        tell(helpers, "erase", answer)
    }

    private static func tell(_ helpers: [String], _ action: String, _ answer: Answer) {
        let text = answer.request.text(password: answer.password, username: answer.username)
        for helper in helpers {
            if let argv = command(helper, action: action) { _ = run(argv, input: text) }
        }
    }

    /// The argv for a `credential.helper` value and an action (`get`, `store`, `erase`), as git builds it:
    /// `NAME ARGS` runs `git-credential-NAME ARGS ACTION`, an absolute path runs that program, and
    /// `!SNIPPET` runs `SNIPPET ACTION` with /bin/sh.
    public static func command(_ helper: String, action: String) -> [String]? {
        let trimmed = helper.trimmingPrefix(while: { $0 == " " })
        if trimmed.hasPrefix("!") {
            let snippet = String(trimmed.dropFirst())
            guard !snippet.isEmpty else { return nil }
            return ["/bin/sh", "-c", snippet + " \"$@\"", "credential-helper", action]
        }
        let words = trimmed.split(separator: " ").map(String.init)
        guard let first = words.first else { return nil }
        let program = first.hasPrefix("/") ? first : "git-credential-" + first
        return [program] + words.dropFirst() + [action]
    }

    /// Whether a `credential.<url>.*` pattern applies to a URL: same scheme, host (and user, if given), and a path prefix.
    static func urlMatches(_ pattern: String, _ url: String) -> Bool {
        guard pattern.contains("://") else { return false }
        guard scheme(pattern).lowercased() == scheme(url).lowercased(), host(pattern).lowercased() == host(url).lowercased() else {
            return false
        }
        if let user = self.user(pattern), user != self.user(url) { return false }
        let wanted = path(pattern).split(separator: "/")
        let have = path(url).split(separator: "/")
        return wanted.count <= have.count && zip(wanted, have).allSatisfy { $0 == $1 }
    }

    static func user(_ url: String) -> String? {
        guard let start = url.firstRange(of: "://") else { return nil }
        var rest = url[start.upperBound...]
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard let at = rest.lastIndex(of: "@") else { return nil }
        let credentials = rest[..<at]
        return String(credentials.split(separator: ":", maxSplits: 1).first ?? credentials)
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
