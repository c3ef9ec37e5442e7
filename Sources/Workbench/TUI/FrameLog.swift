internal import CoreSupport
#if canImport(Glibc)
internal import Glibc
#endif

/// Per-frame timings for benchmarks, written to the file named by `WB_FRAME_LOG` (unset: nothing is measured or written).
///
/// One line a frame: `time render_ms paint_ms update_ms`: the monotonic time the frame started,
/// the time to render the state into a `ScreenBuffer`, the time to diff it and paint the changes
/// (ncurses' `doupdate` included), and the time spent since the previous frame applying input
/// and kernel events to the state. The file is appended to with one `write` a line, so a killed
/// process loses nothing already drawn.
final class FrameLog {
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
        func ms(_ seconds: Double) -> String {
            let micros = Int((seconds * 1_000_000).rounded())
            let fraction = micros % 1000
            return "\(micros / 1000).\(fraction < 10 ? "00" : fraction < 100 ? "0" : "")\(fraction)"
        }
        let line = "\(ms(time)) \(ms(render)) \(ms(paint)) \(ms(update))\n"
        _ = line.utf8CString.withUnsafeBufferPointer { buffer in write(fd, buffer.baseAddress, buffer.count - 1) }
    }
}
