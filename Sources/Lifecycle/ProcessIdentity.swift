#if canImport(Glibc)
import Glibc
#endif
import CoreSupport

/// A process told apart from a later one that reuses its pid: the pid plus its start time.
///
/// The start time is field 22 of `/proc/PID/stat` (clock ticks since boot). A pid whose
/// process exited and was reused by another has a different start time, so a stale registry
/// entry is never mistaken for a live one; a zombie (exited, not yet reaped) counts as gone.
public struct ProcessIdentity: Sendable, Equatable, CustomStringConvertible {
    /// The process id.
    public var pid: Int32
    /// The start time in clock ticks since boot, as `/proc/PID/stat` gives it.
    public var startTime: Int64

    /// Makes an identity from its parts.
    public init(pid: Int32, startTime: Int64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The identity of the running process `pid`, or nil when there is none (or only a zombie).
    public static func of(_ pid: Int32) -> ProcessIdentity? {
        guard pid > 0, let stat = procStat(pid), stat.state != "Z", stat.state != "X" else { return nil }
        return ProcessIdentity(pid: pid, startTime: stat.startTime)
    }

    /// This process.
    public static var current: ProcessIdentity { of(getpid()) ?? ProcessIdentity(pid: getpid(), startTime: 0) }

    /// Whether this very process still runs: the pid exists (`kill(pid, 0)`), is no zombie, and started when recorded.
    public var isAlive: Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0, errno != EPERM { return false }
        guard let now = ProcessIdentity.of(pid) else { return false }
        return startTime == 0 || now.startTime == startTime
    }

    public var description: String { "pid \(pid)" }

    /// The state letter and start time of `/proc/PID/stat` (the command name may hold spaces and parentheses).
    static func procStat(_ pid: Int32) -> (state: Character, startTime: Int64)? {
        guard let text = try? FileIO.readText("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the name: field 3 (state) is fields[0], field 22 (starttime) is fields[19].
        guard fields.count > 19, let state = fields[0].first, let start = Int64(fields[19]) else { return nil }
        return (state, start)
    }
}
