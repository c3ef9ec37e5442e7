import CoreSupport
import Crypto

/// OpenSSH's known_hosts files, read as `ssh` reads them, to decide whether to trust a server's host key.
///
/// Lines are `[@marker] PATTERNS KEYTYPE BASE64KEY [comment]`. Patterns are host names or
/// addresses, `[host]:port` for a port other than 22, `*`/`?` wildcards, `!negations`, or hashed
/// (`|1|salt|hmac`, as `HashKnownHosts yes` writes them). `@revoked` keys are refused;
/// `@cert-authority` lines are skipped (certificates are not supported).
public enum KnownHosts {
    /// What the files say about one host and key.
    public enum Verdict: Sendable, Equatable {
        /// The key is listed for the host.
        case known(file: String, line: Int)
        /// The host is not listed at all.
        case unknown
        /// The host is listed, with other keys: the key changed (or someone is in the middle).
        case changed(file: String, line: Int, knownType: String)
        /// The key is marked `@revoked`.
        case revoked(file: String, line: Int)
    }

    /// The files `ssh` reads by default: the user's, then the system's.
    public static func defaultFiles(home: String? = Environment.get("HOME")) -> [String] {
        var files: [String] = []
        if let home, !home.isEmpty { files += [home + "/.ssh/known_hosts", home + "/.ssh/known_hosts2"] }
        return files + ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"]
    }

    /// The name a host is listed under: `host`, or `[host]:port` for a port other than 22.
    public static func entryName(host: String, port: Int) -> String {
        port == 22 ? host : "[\(host)]:\(port)"
    }

    /// Checks `key` (the SSH wire-format public key blob) for `host` and `port` against `files`.
    public static func check(host: String, port: Int, key: [UInt8], files: [String] = defaultFiles()) -> Verdict {
        let name = entryName(host: host, port: port).lowercased()
        var changed: Verdict?
        for file in files {
            guard let text = try? FileIO.readText(file) else { continue }
            for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                var fields = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard let first = fields.first, !first.hasPrefix("#") else { continue }
                var marker: String?
                if first.hasPrefix("@") {
                    marker = first
                    fields.removeFirst()
                }
                guard fields.count >= 3, matches(patterns: fields[0], name: name) else { continue }
                guard let listed = base64Decode(fields[2]) else { continue }
                switch marker {
                case "@revoked": if listed == key { return .revoked(file: file, line: index + 1) }
                case nil:
                    if listed == key { return .known(file: file, line: index + 1) }
                    if changed == nil { changed = .changed(file: file, line: index + 1, knownType: fields[1]) }
                default: continue
                }
            }
        }
        return changed ?? .unknown
    }

    /// Whether a comma-separated pattern list matches `name` (lowercased): some pattern matches and no negated one does.
    static func matches(patterns: String, name: String) -> Bool {
        if patterns.hasPrefix("|1|") { return hashedMatches(patterns, name: name) }
        var matched = false
        for pattern in patterns.split(separator: ",") {
            if pattern.hasPrefix("!") {
                if glob(Array(pattern.dropFirst().lowercased().utf8), Array(name.utf8)) { return false }
            } else if glob(Array(pattern.lowercased().utf8), Array(name.utf8)) {
                matched = true
            }
        }
        return matched
    }

    /// `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
    static func hashedMatches(_ entry: String, name: String) -> Bool {
        let parts = entry.split(separator: "|")
        guard parts.count == 3, let salt = base64Decode(parts[1]), let hash = base64Decode(parts[2]) else {
            return false
        }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Array(name.utf8), using: SymmetricKey(data: salt))
        return Array(mac) == hash
    }

    /// OpenSSH's wildcard match: `*` any run, `?` any one character.
    static func glob(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        var p = 0, t = 0, star = -1, mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "?") || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                mark = t
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// The key's fingerprint as `ssh-keygen -l` prints it: `SHA256:` and unpadded base64.
    public static func fingerprint(_ key: [UInt8]) -> String {
        var encoded = base64Encode(Array(SHA256.hash(data: key)))
        while encoded.hasSuffix("=") { encoded.removeLast() }
        return "SHA256:" + encoded
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding, as known_hosts files and fingerprints use it.
    static func base64Encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let chunk = bytes[i..<min(i + 3, bytes.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * UInt32($1.offset)) }
            for k in 0..<4 {
                out.append(k <= chunk.count ? alphabet[Int(value >> (18 - 6 * UInt32(k)) & 0x3F)] : UInt8(ascii: "="))
            }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes padded standard base64 strictly (as `ssh` reads known_hosts); nil for anything else.
    static func base64Decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 4 * 3)
        var index = 0
        while index < chars.count {
            var value: UInt32 = 0
            var padding = 0
            for k in 0..<4 {
                let c = chars[index + k]
                let digit: UInt32
                switch c {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = UInt32(c - UInt8(ascii: "A"))
                case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = UInt32(c - UInt8(ascii: "a")) + 26
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0")) + 52
                case UInt8(ascii: "+"): digit = 62
                case UInt8(ascii: "/"): digit = 63
                case UInt8(ascii: "=") where index + 4 == chars.count && k >= 2:
                    digit = 0
                    padding += 1
                default: return nil
                }
                // Nothing but padding may follow padding.
                if padding > 0, c != UInt8(ascii: "=") { return nil }
                value = value << 6 | digit
            }
            out.append(UInt8(truncatingIfNeeded: value >> 16))
            if padding < 2 { out.append(UInt8(truncatingIfNeeded: value >> 8)) }
            if padding < 1 { out.append(UInt8(truncatingIfNeeded: value)) }
            index += 4
        }
        return out
    }

    /// The key type named at the start of a wire-format key blob (`ssh-ed25519`, `ssh-rsa`, ...).
    public static func keyType(_ key: [UInt8]) -> String {
        guard key.count >= 4 else { return "unknown" }
        let length = key[0..<4].reduce(0) { $0 << 8 | Int($1) }
        guard length > 0, 4 + length <= key.count else { return "unknown" }
        return String(decoding: key[4..<(4 + length)], as: UTF8.self)
    }

    /// The host and port of an ssh remote URL (`ssh://[user@]host[:port]/path` or scp-like `[user@]host:path`), or nil for other URLs.
    public static func sshEndpoint(_ url: String) -> (host: String, port: Int)? {
        if let range = url.firstRange(of: "://") {
            let scheme = url[..<range.lowerBound].lowercased()
            guard scheme == "ssh" || scheme == "ssh+git" || scheme == "git+ssh" else { return nil }
            var authority = url[range.upperBound...]
            if let slash = authority.firstIndex(of: "/") { authority = authority[..<slash] }
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
                let host = String(authority[authority.index(after: authority.startIndex)..<close])
                let rest = authority[authority.index(after: close)...]
                return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? 22 : 22)
            }
            if let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) {
                return (String(authority[..<colon]), port)
            }
            return (String(authority), 22)
        }
        // scp-like: a colon before any slash, and not a local path.
        guard let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/"), !url.hasPrefix("/") else { return nil }
        var host = url[..<colon]
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        return host.isEmpty ? nil : (String(host), 22)
    }
}
