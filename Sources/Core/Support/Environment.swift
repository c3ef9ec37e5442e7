#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The process environment and the well-known directories derived from it.
public enum Environment {
    public static func get(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// A variable that is set and not empty.
    public static func nonEmpty(_ name: String) -> String? {
        guard let value = get(name), !value.isEmpty else { return nil }
        return value
    }

    /// All variables, as `NAME=value` pairs split apart.
    public static func all() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }

    public static var home: String {
        if let home = nonEmpty("HOME") { return home }
        if let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir { return String(cString: dir) }
        return "/"
    }

    /// The name of the process's user: its passwd entry's, else `$USER`.
    ///
    /// Looked up once per user id and process: every bus request asks (`Principal.currentUser`), and
    /// `getpwuid` opens and reads `/etc/passwd` each time.
    public static var userName: String {
        let uid = getuid()
        if let kept = userNames.withLock({ $0 }), kept.uid == uid { return kept.name }
        var name = nonEmpty("USER") ?? "user"
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if getpwuid_r(uid, &entry, &buffer, buffer.count, &found) == 0, found != nil, let pwName = entry.pw_name {
            name = String(cString: pwName)
        }
        userNames.withLock { $0 = (uid, name) }
        return name
    }

    private static let userNames = Mutex<(uid: uid_t, name: String)?>(nil)

    /// `$XDG_DATA_HOME`, default `~/.local/share`.
    public static var dataHome: String { nonEmpty("XDG_DATA_HOME") ?? FilePath.join(home, ".local/share") }
    /// `$XDG_CACHE_HOME`, default `~/.cache`.
    public static var cacheHome: String { nonEmpty("XDG_CACHE_HOME") ?? FilePath.join(home, ".cache") }
    /// `$XDG_CONFIG_HOME`, default `~/.config`.
    public static var configHome: String { nonEmpty("XDG_CONFIG_HOME") ?? FilePath.join(home, ".config") }
    /// `$XDG_RUNTIME_DIR` when usable, else a private directory under the data home.
    public static var runtimeDirectory: String {
        if let dir = nonEmpty("XDG_RUNTIME_DIR"), FileIO.isDirectory(dir) { return dir }
        return FilePath.join(dataHome, "wb", "runtime")
    }

    /// Workbench's domain directory: `$WB_HOME`, default `$XDG_DATA_HOME/wb`.
    public static var workbenchHome: String { nonEmpty("WB_HOME") ?? FilePath.join(dataHome, "wb") }
}

/// Wall-clock time helpers that need no Foundation.
public enum Clock {
    /// Seconds since the epoch, with sub-microsecond resolution.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Monotonic seconds, for measuring durations.
    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// CPU seconds this process has used so far, all threads together (for benchmarks on a shared machine,
    /// where wall time also counts other processes' work).
    public static func processCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// ISO 8601 in UTC with microseconds, as Jupyter writes dates: `2024-01-02T03:04:05.678901Z`.
    public static func iso8601(_ seconds: Double = now()) -> String {
        var whole = time_t(seconds.rounded(.down))
        var micros = Int(((seconds - Double(whole)) * 1_000_000).rounded())
        if micros >= 1_000_000 {
            whole += 1
            micros -= 1_000_000
        }
        var parts = tm()
        gmtime_r(&whole, &parts)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(micros, 6))Z"
    }
}

/// Random identifiers.
public enum Identifier {
    /// A random (version 4) UUID in lowercase hex with dashes.
    ///
    /// Every bus request gets one: two draws from the system generator and one string, not a draw per byte.
    public static func uuid() -> String {
        var rng = SystemRandomNumberGenerator()
        return uuid(rng.next(), rng.next())
    }

    /// Two 64-bit words as a version 4 UUID.
    private static func uuid(_ a: UInt64, _ b: UInt64) -> String {
        var words = (a, b)
        return withUnsafeMutableBytes(of: &words) { bytes in
            bytes[6] = (bytes[6] & 0x0F) | 0x40
            bytes[8] = (bytes[8] & 0x3F) | 0x80
            let digits: StaticString = "0123456789abcdef"
            return String(unsafeUninitializedCapacity: 36) { out in
                digits.withUTF8Buffer { digits in
                    var o = 0
                    for (i, byte) in bytes.enumerated() {
                        if i == 4 || i == 6 || i == 8 || i == 10 {
                            out[o] = UInt8(ascii: "-")
                            o += 1
                        }
                        out[o] = digits[Int(byte >> 4)]
                        out[o + 1] = digits[Int(byte & 0xF)]
                        o += 2
                    }
                }
                return 36
            }
        }
    }

    /// A unique id for a bus request, formatted as a version 4 UUID.
    ///
    /// Request ids must be unique, not secret: they come from a generator seeded once per process from
    /// the system's (two `getrandom` calls per request were a measurable part of a point lookup). Use
    /// `uuid()` for anything that must not be guessed.
    public static func requestID() -> String {
        let (a, b) = requestIDs.withLock { generator in (generator.next(), generator.next()) }
        return uuid(a, b)
    }

    private static let requestIDs: Mutex<SplitMix64> = {
        var system = SystemRandomNumberGenerator()
        return Mutex(SplitMix64(seed: system.next()))
    }()

    /// A random hex string of `count` bytes.
    public static func randomHex(bytes count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return hexString((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }

    public static func hexString(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    public func trimmed() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return String(s)
    }
}

extension Clock {
    /// Parses the ISO 8601 UTC dates Jupyter writes (`2024-01-02T03:04:05.678901Z` or `+00:00`) into epoch seconds.
    public static func parseISO8601(_ text: String) -> Double? {
        let chars = Array(text.utf8)
        guard chars.count >= 19 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for i in from..<(from + count) {
                guard i < chars.count, chars[i] >= 48, chars[i] <= 57 else { return nil }
                value = value * 10 + Int(chars[i] - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var fraction = 0.0
        var i = 19
        if i < chars.count, chars[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < chars.count, chars[i] >= 48, chars[i] <= 57 {
                fraction += Double(chars[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        var seconds = Double(timegm(&parts)) + fraction
        // A numeric offset (+HH:MM or -HH:MM) moves the time to UTC.
        if i < chars.count, chars[i] == UInt8(ascii: "+") || chars[i] == UInt8(ascii: "-"),
            let oh = number(i + 1, 2), let om = number(i + 4, 2)
        {
            let offset = Double(oh * 3600 + om * 60)
            seconds += chars[i] == UInt8(ascii: "+") ? -offset : offset
        }
        return seconds
    }
}
