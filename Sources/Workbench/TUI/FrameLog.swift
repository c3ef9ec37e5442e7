internal import CoreSupport
#if canImport(Glibc)
internal import Glibc
#endif

/// Per-frame timings for benchmarks, written to the file named by `WB_FRAME_LOG` (unset: nothing is measured or written).
///
/// One line a frame of the UI thread: `time render_ms paint_ms update_ms`: the monotonic time the
/// frame started, the time to render the state into a `ScreenBuffer`, the time to hand it to the
/// painter (`FramePainter.post`; where a loop paints itself, to diff it and paint the changes,
/// ncurses' `doupdate` included), and the time spent since the previous frame applying input and
/// kernel events to the state. And one line a paint of the painter thread: `paint time paint_ms
/// waited_ms frames`: when the paint started, how long diffing and writing it to the terminal
/// took, how long its frame had waited in the painter's slot, and how many posted frames it
/// stands for (more than one: the newer replaced the older while the terminal was busy). The file
/// is appended to with one `write` a line, so a killed process loses nothing already drawn, and
/// the two threads' lines never interleave within a line.
final class FrameLog: Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// The log named by `WB_FRAME_LOG`, or nil when it is unset or cannot be opened.
    static func fromEnvironment() -> FrameLog? {
        guard let path = Environment.get("WB_FRAME_LOG"), !path.isEmpty else { return nil }
        return open(path: path)
    }

    /// A log appending to `path`, or nil when it cannot be opened.
    static func open(path: String) -> FrameLog? {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        return fd >= 0 ? FrameLog(fd: fd) : nil
    }

    /// Records one frame (times in seconds).
    func record(at time: Double, render: Double, paint: Double, update: Double) {
        write("\(Self.ms(time)) \(Self.ms(render)) \(Self.ms(paint)) \(Self.ms(update))\n")
    }

    /// Records one paint of the painter thread (times in seconds).
    func recordPaint(at time: Double, paint: Double, waited: Double, frames: Int) {
        write("paint \(Self.ms(time)) \(Self.ms(paint)) \(Self.ms(waited)) \(frames)\n")
    }

    private func write(_ line: String) {
        _ = line.utf8CString.withUnsafeBufferPointer { buffer in Glibc.write(fd, buffer.baseAddress, buffer.count - 1) }
    }

    private static func ms(_ seconds: Double) -> String {
        let micros = Int((seconds * 1_000_000).rounded())
        let fraction = micros % 1000
        return "\(micros / 1000).\(fraction < 10 ? "00" : fraction < 100 ? "0" : "")\(fraction)"
    }
}
