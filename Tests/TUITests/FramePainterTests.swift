import CoreSupport
import Foundation
import TestSupport
import Testing

@testable import TUI

/// A pseudo-terminal pair: the test reads what the program writes from `master`, as tmux would.
final class PseudoTerminal {
    let master: Int32
    let slave: Int32
    let slavePath: String

    init(width: Int, height: Int) throws {
        // posix_openpt and friends are not visible from Swift here; on Linux they are these calls.
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var number: UInt32 = 0
        var unlock: Int32 = 0
        let getNumber: UInt = 0x8004_5430  // TIOCGPTN
        let setLock: UInt = 0x4004_5431  // TIOCSPTLCK
        guard master >= 0, ioctl(master, setLock, &unlock) == 0, ioctl(master, getNumber, &number) == 0 else {
            throw TerminalError("no pseudo-terminal")
        }
        slavePath = "/dev/pts/\(number)"
        slave = open(slavePath, O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw TerminalError("cannot open \(slavePath)") }
        var size = winsize(ws_row: UInt16(height), ws_col: UInt16(width), ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(slave, UInt(TIOCSWINSZ), &size)
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(slave)
        close(master)
    }

    /// Reads what the terminal has been sent so far, without waiting.
    func readAvailable() -> [UInt8] {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            guard n > 0 else { return all }
            all += chunk[..<n]
        }
    }

    /// Fills the pty's output queue (a terminal that stopped reading) through a descriptor of its own;
    /// returns that descriptor, which still gets EAGAIN while the queue is full.
    func fill() -> (fd: Int32, bytes: Int) {
        let fd = open(slavePath, O_WRONLY | O_NOCTTY | O_NONBLOCK)
        var total = 0
        let junk = [UInt8](repeating: UInt8(ascii: "."), count: 512)
        while true {
            let n = junk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            total += n
        }
        return (fd, total)
    }
}

/// `FramePainter`: frames are painted on a thread of their own, so a full terminal never holds up the poster.
@Suite("Frame painter", .serialized, .timeLimit(.minutes(2)))
struct FramePainterTests {
    /// Frame `i` fills its top row with a letter no escape sequence contains (Cyrillic, two UTF-8 bytes).
    static func letter(_ i: Int) -> Character { Character(Unicode.Scalar(0x0410 + UInt32(i))!) }

    static func frame(_ i: Int, width: Int = 40, height: Int = 6) -> ScreenBuffer {
        var frame = ScreenBuffer(width: width, height: height)
        frame.fill(Rect(x: 0, y: 0, width: width, height: 1), with: letter(i))
        frame.write("frame \(i)", x: 0, y: 2)
        return frame
    }

    @Test func postingNeverWaitsOnAFullTerminalAndTheNewestFrameIsPaintedOnceItDrains() async throws {
        let pty = try PseudoTerminal(width: 40, height: 6)
        let backend = try NCursesBackend(input: pty.slave, output: pty.slave, terminalType: "xterm-256color")
        let painter = FramePainter(backend: backend)
        var output = pty.readAvailable()  // ncurses' start-up
        let (filler, filled) = pty.fill()
        defer { close(filler) }
        #expect(filled > 0)

        // Forty frames while nothing is read: each post returns although the painter's write cannot.
        for i in 1...40 { painter.post(Self.frame(i)) }
        let posted = painter.statistics
        #expect(posted.posted == 40)
        #expect(posted.painted == 0)
        #expect(posted.replaced >= 38)  // at most one taken by the painter (blocked), one waiting
        // The queue is still full: nothing was drained while posting, so no post waited for it.
        var probe: UInt8 = 0
        let wrote = write(filler, &probe, 1)
        let error = errno
        #expect(wrote == -1 && error == EAGAIN)

        // The terminal reads again: with nothing more posted, the newest frame reaches it.
        let arrived = await poll(60) {
            output += pty.readAvailable()
            return String(decoding: output, as: UTF8.self).contains(Self.letter(40))
                && painter.statistics.painting == false && painter.statistics.painted + painter.statistics.replaced == 40
        }
        #expect(arrived)
        painter.stop()
        output += pty.readAvailable()
        backend.restore()

        let text = String(decoding: output, as: UTF8.self)
        let shown = (1...40).filter { text.contains(Self.letter($0)) }
        // The frame the painter had taken when the queue filled (if any), then the newest; none between.
        #expect(shown.last == 40)
        #expect(shown.count <= 2)
        #expect(painter.statistics.painted == shown.count)
    }

    @Test func picturesAreWrittenAfterTheTextTheyCoverAndTakenOffWhenTheyGo() async throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/small.png")
        let image = try #require(TerminalImage(png: Array(try Data(contentsOf: url))))
        let pty = try PseudoTerminal(width: 40, height: 6)
        let backend = try NCursesBackend(
            input: pty.slave, output: pty.slave, terminalType: "xterm-256color", imageLayout: ImageLayout(graphics: .kitty))
        let painter = FramePainter(backend: backend)
        var output = pty.readAvailable()
        let at = Rect(x: 2, y: 1, width: 3, height: 2)
        var withPicture = ScreenBuffer(width: 40, height: 6)
        withPicture.write("[image/png]", x: 2, y: 1)
        let fits = withPicture.place(image, in: at)
        #expect(fits)
        painter.post(withPicture)
        let placed = GraphicsEncoder.kitty(GraphicPlacement(image: image, rect: at), transmit: true)
        let shown = await poll(30) {
            output += pty.readAvailable()
            return output.firstRange(of: placed) != nil
        }
        #expect(shown)
        // The picture's bytes come after the text under it (ncurses' refresh), so the text cannot paint over it.
        let text = try #require(output.firstRange(of: Array("image/png".utf8)))
        #expect(try #require(output.firstRange(of: placed)).lowerBound > text.upperBound)

        // A frame without it: the placement is deleted.
        let mark = output.count
        painter.post(ScreenBuffer(width: 40, height: 6))
        let deleted = GraphicsEncoder.kittyDelete(GraphicPlacement(image: image, rect: at))
        let gone = await poll(30) {
            output += pty.readAvailable()
            return output[mark...].firstRange(of: deleted) != nil
        }
        #expect(gone)
        painter.stop()
        _ = pty.readAvailable()
        backend.restore()
    }

    @Test func theScreenEndsAsTheNewestFrameAtItsSizeAfterAResize() async throws {
        let painter = FramePainter(backend: InMemoryBackend(width: 40, height: 6))
        for i in 1...5 { painter.post(Self.frame(i)) }
        for i in 6...9 { painter.post(Self.frame(i, width: 30, height: 4)) }
        let settled = await poll(30) {
            let s = painter.statistics
            return !s.painting && s.painted + s.replaced == 9
        }
        #expect(settled)
        painter.stop()
        let screen = painter.backend
        #expect(screen.size == Size(width: 30, height: 4))
        #expect(screen.lines(trimmed: true) == Self.frame(9, width: 30, height: 4).lines(trimmed: true))
    }

    @Test func withoutAThreadFramesArePaintedWhereTheyArePosted() {
        let painter = FramePainter(backend: InMemoryBackend(width: 40, height: 6))
        painter.stop()
        painter.post(Self.frame(3))
        #expect(painter.statistics == .init(posted: 1, painted: 1, replaced: 0, painting: false))
        #expect(painter.backend.lines(trimmed: true) == Self.frame(3).lines(trimmed: true))
    }
}
