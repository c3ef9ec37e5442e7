import CGit2
import CGitTLS
import CoreSupport
import Synchronization

/// How https connections check servers, as git reads it for one URL.
///
/// `http.sslCAInfo` (a PEM file of CA certificates) and `http.sslCAPath` (a folder of them) replace
/// the system's CAs, as they do for git; `GIT_SSL_CAINFO` and `GIT_SSL_CAPATH` override them.
/// `http.sslVerify false` (or `GIT_SSL_NO_VERIFY` set) accepts a certificate that does not verify.
/// `http.<url>.KEY` applies to URLs under `<url>` and beats `http.KEY`; the longest match wins.
struct TLSSettings: Equatable {
    var caFile: String?
    var caPath: String?
    var verify = true

    /// The settings for `url` from a configuration (all levels) and the environment; `overrides`
    /// (`git clone -c KEY=VALUE`) beat the configuration, the environment beats both.
    static func read(_ config: OpaquePointer?, url: String, overrides: [(key: String, value: String)] = []) -> TLSSettings {
        // Per key: the value and how specific its URL pattern was (0 for plain `http.KEY`); among
        // equals, the last one read wins, as in git.
        var found: [String: (value: String, rank: Int)] = [:]
        func consider(_ name: String, _ value: String) {
            guard name.lowercased().hasPrefix("http.") else { return }
            let body = name.dropFirst("http.".count)
            let key: String, rank: Int
            if let dot = body.lastIndex(of: ".") {
                let pattern = String(body[..<dot])
                guard CredentialHelper.urlMatches(pattern, url) else { return }
                key = body[body.index(after: dot)...].lowercased()
                rank = 1 + CredentialHelper.path(pattern).split(separator: "/").joined(separator: "/").count
                    + (CredentialHelper.user(pattern) == nil ? 0 : 1 << 20)
            } else {
                key = body.lowercased()
                rank = 0
            }
            guard ["sslcainfo", "sslcapath", "sslverify"].contains(key) else { return }
            if let existing = found[key], existing.rank > rank { return }
            found[key] = (value, rank)
        }
        var iterator: OpaquePointer?
        if git_config_iterator_glob_new(&iterator, config, "^http\\..*") == 0 {
            var entry: UnsafeMutablePointer<git_config_entry>?
            while git_config_next(&entry, iterator) == 0 {
                guard let name = entry?.pointee.name, let value = entry?.pointee.value else { continue }
                consider(String(cString: name), String(cString: value))
            }
            git_config_iterator_free(iterator)
        }
        for (key, value) in overrides { consider(key, value) }

        var settings = TLSSettings()
        settings.caFile = Environment.nonEmpty("GIT_SSL_CAINFO") ?? found["sslcainfo"].map { expandHome($0.value) }
        settings.caPath = Environment.nonEmpty("GIT_SSL_CAPATH") ?? found["sslcapath"].map { expandHome($0.value) }
        if Environment.get("GIT_SSL_NO_VERIFY") != nil {
            settings.verify = false
        } else if let value = found["sslverify"]?.value.lowercased() {
            settings.verify = !["false", "no", "off", "0"].contains(value)
        }
        return settings
    }

    /// The CAs trusted, for messages: the configured ones, else the system's.
    var trustDescription: String {
        let cainfo = Environment.nonEmpty("GIT_SSL_CAINFO") != nil ? "GIT_SSL_CAINFO" : "http.sslCAInfo"
        let capath = Environment.nonEmpty("GIT_SSL_CAPATH") != nil ? "GIT_SSL_CAPATH" : "http.sslCAPath"
        switch (caFile, caPath) {
        case (let file?, let path?): return "the CAs in \(file) (\(cainfo)) and \(path) (\(capath))"
        case (let file?, nil): return "the CAs in \(file) (\(cainfo))"
        case (nil, let path?): return "the CAs in \(path) (\(capath))"
        case (nil, nil):
            let system = Certificates.system.flatMap { $0.file ?? $0.path }
            return "the system's CAs" + (system.map { " (\($0))" } ?? "")
        }
    }

    /// `~/...` as git expands pathname settings.
    static func expandHome(_ path: String) -> String {
        guard path.hasPrefix("~/"), let home = Environment.nonEmpty("HOME") else { return path }
        return FilePath.join(home, String(path.dropFirst(2)))
    }
}

/// The CA certificates libgit2 trusts, loaded when a connection first needs them.
///
/// libgit2's own start-up would parse the system CA bundle in every process (4-8 ms of CPU), which
/// only https uses: `LibGit2.ready` defers it (`CGitTLS`), and `prepare` loads what the remote's
/// settings name before an http(s) operation. libgit2 keeps one set per process.
enum Certificates {
    /// What libgit2 holds: nil while nothing was loaded since start-up (the system CAs when the
    /// deferral did not take effect, else none).
    private static let loaded = Mutex<Locations?>(nil)

    struct Locations: Equatable, Sendable {
        var file: String?
        var path: String?
    }

    /// The system's CAs, as libgit2 would have loaded them at start-up; nil if it loaded them itself.
    static var system: Locations? {
        let file = wb_tls_deferred_file().map { String(cString: $0) }
        let path = wb_tls_deferred_path().map { String(cString: $0) }
        return file == nil && path == nil ? nil : Locations(file: file, path: path)
    }

    /// Makes libgit2 trust the CAs `settings` name (else the system's) before connecting to `url`.
    /// Only http(s) URLs need it; a plain http URL loads the system's once (for a redirect to https).
    static func prepare(_ settings: TLSSettings, url: String) throws(GitError) {
        let scheme = CredentialHelper.scheme(url).lowercased()
        guard url.contains("://"), scheme == "https" || scheme == "http" else { return }
        let custom = settings.caFile != nil || settings.caPath != nil
        let wanted = custom ? Locations(file: settings.caFile, path: settings.caPath) : system
        try loaded.withLock { (current: inout Locations?) throws(GitError) in
            guard let wanted, wanted != current else { return }
            // Plain http needs certificates only after a redirect to https: the first ones loaded do.
            if scheme == "http", current != nil { return }
            for file in [wanted.file].compactMap({ $0 }) where !FileIO.exists(file) {
                throw GitError(
                    .invalid, "the CA certificate file \(file) (\(source(settings, file: true))) does not exist", path: file)
            }
            for folder in [wanted.path].compactMap({ $0 }) where !FileIO.isDirectory(folder) {
                throw GitError(
                    .invalid, "the CA certificate folder \(folder) (\(source(settings, file: false))) does not exist", path: folder)
            }
            let rc = wb_git_set_ssl_cert_locations(wanted.file, wanted.path)
            if rc < 0 {
                let what = custom ? " (\(source(settings, file: wanted.file != nil)))" : ""
                var error = lastError(rc, "cannot load the CA certificates from \(wanted.file ?? wanted.path ?? "?")\(what)", path: url)
                error.code = .invalid
                throw error
            }
            current = wanted
        }
    }

    /// Where a CA setting came from, for messages.
    private static func source(_ settings: TLSSettings, file: Bool) -> String {
        if file { return Environment.nonEmpty("GIT_SSL_CAINFO") != nil ? "GIT_SSL_CAINFO" : "http.sslCAInfo" }
        return Environment.nonEmpty("GIT_SSL_CAPATH") != nil ? "GIT_SSL_CAPATH" : "http.sslCAPath"
    }
}
