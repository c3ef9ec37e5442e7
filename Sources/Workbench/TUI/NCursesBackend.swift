@preconcurrency internal import CNCursesW
internal import CoreSupport
#if canImport(Glibc)
internal import Glibc
#endif

/// Why the terminal could not be taken over.
public struct TerminalError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Something that happened while the screen was waiting: input, a new size, or a request to stop.
public enum TerminalWake: Hashable, Sendable {
    /// Keys, mouse, paste or focus events, decoded from the bytes the terminal sent.
    case input(InputEvent)
    /// The window changed size.
    case resized(Size)
    /// A fatal signal (SIGTERM, SIGINT, SIGHUP) arrived: restore the terminal and stop.
    case signal(Int32)
    /// Standard input reached its end: the terminal is gone.
    case closed
    /// The extra descriptor given to `wait(also:timeout:)` became readable.
    case woken
    /// The time-out given to `wait(also:timeout:)` passed with nothing else happening.
    case timedOut
}

/// Paints frames on the real terminal through ncursesw; input is read raw from stdin and decoded by `InputDecoder`.
///
/// Only one may exist at a time (ncurses has one screen). While it is open nothing may write to
/// stdout or stderr; `restore()` (also run by `deinit`) gives the terminal back as it was.
///
/// Its two halves may run on two threads: the input half (`wait`, `windowSize`) on the UI thread and
/// the painting half (the `Backend` methods, `resizeScreen`) on a `FramePainter`'s thread, since
/// input never goes through ncurses and the two halves share no state.
public final class NCursesBackend: Backend {
    /// How many colours are shown (after `NO_COLOR` and what the terminal reports).
    public let colorDepth: ColorDepth
    /// Whether the terminal has only the 8 basic colours, so bright ones become bold.
    private let eightColors: Bool
    private let defaultColors: Bool
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private let maxPairs: Int32
    private var screen: OpaquePointer?
    private var decoder = InputDecoder()
    private var restored = false
    /// The terminal's descriptors (0 and 1 unless a test hands in a pty).
    private let inputFD: Int32
    private let outputFD: Int32
    /// The stdio streams handed to `newterm` when the descriptors are not 0 and 1 (closed by `restore`).
    private var ownFiles: [UnsafeMutablePointer<FILE>] = []
    /// The window's size as the kernel last reported it (the input half's; ncurses learns it from `resizeScreen`).
    public private(set) var windowSize: Size

    private struct PairKey: Hashable {
        var foreground: Int32
        var background: Int32
    }

    /// Whether mouse reports and bracketed paste were switched on (and must be switched off).
    private let reportModes: Bool

    /// How this terminal shows images (from `WB_GRAPHICS`, `TERM` and friends, and the cell size it reports).
    public let imageLayout: ImageLayout
    /// Image bytes to write after the next refresh, in order.
    private var pendingGraphics: [UInt8] = []
    /// Kitty image ids the terminal holds (sent once, then placed by id).
    private var transmitted: Set<UInt32> = []
    /// Pictures decoded and fitted for sixel, by image id and size in cells (nil: libpng could not read it).
    private var sixelPixels: [SixelKey: RGBAImage?] = [:]

    private struct SixelKey: Hashable {
        var id: UInt32
        var columns: Int
        var rows: Int
    }

    /// Takes over the terminal on stdin/stdout: alternate screen, raw input, no echo, cursor hidden.
    ///
    /// With `mouse`, the terminal reports clicks and the wheel (SGR encoding); with
    /// `bracketedPaste`, a paste arrives as one `.paste` event. Both are switched off again by
    /// `restore()`, and by the crash and signal handlers. `input`, `output`, `terminalType` and
    /// `imageLayout` are for tests, which drive a pty of their own (nil: `TERM`, and the layout
    /// detected from the environment).
    public init(
        mouse: Bool = false, bracketedPaste: Bool = false, input: Int32 = 0, output: Int32 = 1, terminalType: String? = nil,
        imageLayout layout: ImageLayout? = nil
    ) throws(TerminalError) {
        guard isatty(input) == 1 && isatty(output) == 1 else { throw TerminalError("standard input and output must be a terminal") }
        guard !SignalPipe.isOpen else { throw TerminalError("the terminal is already in use") }
        inputFD = input
        outputFD = output
        setlocale(LC_ALL, "")
        if String(cString: nl_langinfo(nl_item(CODESET))) != "UTF-8" { setlocale(LC_CTYPE, "C.UTF-8") }
        SignalPipe.inputFD = input
        SignalPipe.outputFD = output
        tcgetattr(input, &SignalPipe.savedTermios)
        SignalPipe.saveActions()  // before newterm, which installs handlers of its own
        var outputFile = stdout, inputFile = stdin
        if input != 0 || output != 1 {
            guard let o = fdopen(dup(output), "w"), let i = fdopen(dup(input), "r") else { throw TerminalError("cannot open the terminal's descriptors") }
            outputFile = o
            inputFile = i
            ownFiles = [o, i]
        }
        guard let screen = newterm(terminalType, outputFile, inputFile) else {
            for file in ownFiles { fclose(file) }
            throw TerminalError("ncurses cannot drive this terminal (TERM=\(terminalType ?? Environment.get("TERM") ?? "unset"))")
        }
        self.screen = screen
        set_term(screen)
        raw()
        noecho()
        nonl()
        keypad(stdscr, false)
        intrflush(stdscr, false)
        leaveok(stdscr, false)
        curs_set(0)

        var depth = ColorDepth.none
        var defaults = false
        if Environment.nonEmpty("NO_COLOR") == nil && has_colors() && start_color() == OK {
            defaults = use_default_colors() == OK
            let count = Int(COLORS)
            depth = count >= 0x100_0000 && tigetflag("RGB") > 0 ? .trueColor : count >= 256 ? .palette256 : count >= 8 ? .ansi16 : .none
            eightColors = count < 16
        } else {
            eightColors = false
        }
        colorDepth = depth
        defaultColors = defaults
        maxPairs = depth == .none ? 0 : Int32(COLOR_PAIRS)
        var on = "", off = ""
        if mouse {
            on += "\u{1B}[?1000h\u{1B}[?1002h\u{1B}[?1006h"
            off += "\u{1B}[?1006l\u{1B}[?1002l\u{1B}[?1000l"
        }
        if bracketedPaste {
            on += "\u{1B}[?2004h"
            off += "\u{1B}[?2004l"
        }
        reportModes = !on.isEmpty
        imageLayout = layout ?? ImageLayout.detect(environment: Environment.all(), cellPixels: Self.cellPixels(output))
        windowSize = Size(width: Int(getmaxx(stdscr)), height: Int(getmaxy(stdscr)))
        SignalPipe.open(extraReset: Array(off.utf8))
        wclear(stdscr)
        wrefresh(stdscr)
        if reportModes {
            fflush(stdout)
            Self.writeAll(Array(on.utf8), to: output)
        }
    }

    /// Writes bytes to the terminal directly (mode switches ncurses does not know about).
    private static func writeAll(_ bytes: [UInt8], to fd: Int32) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    deinit { restore() }

    /// Gives the terminal back: ends ncurses (leaving the alternate screen, showing the cursor) and drops the signal handlers.
    public func restore() {
        guard !restored else { return }
        restored = true
        if imageLayout.graphics == .kitty && !transmitted.isEmpty {
            fflush(stdout)
            Self.writeAll(GraphicsEncoder.kittyDeleteAll(freeData: true), to: outputFD)
        }
        if reportModes {
            fflush(stdout)
            Self.writeAll(SignalPipe.extraResetBytes, to: outputFD)
        }
        curs_set(1)
        endwin()
        if let screen { delscreen(screen) }
        screen = nil
        for file in ownFiles { fclose(file) }
        ownFiles = []
        SignalPipe.close()
    }

    // MARK: Backend

    /// The screen size in cells, as ncurses knows it (the painting half's; the input half reads `windowSize`).
    public var size: Size { Size(width: Int(getmaxx(stdscr)), height: Int(getmaxy(stdscr))) }

    /// Tells ncurses the window's size (from `windowSize`, after a `.resized` wake), before a frame of that size is painted.
    public func resizeScreen(to size: Size) {
        guard size != self.size, size.width > 0, size.height > 0 else { return }
        resizeterm(Int32(size.height), Int32(size.width))
    }

    /// Paints the runs cell by cell at their exact columns, so a wide cluster takes its two cells.
    public func draw(_ runs: [ScreenBuffer.Run]) {
        for run in runs {
            var x = run.x
            for cell in run.cells {
                defer { x += 1 }
                if cell.isContinuation { continue }
                paint(cell, x: x, y: run.y)
            }
        }
    }

    /// Moves and shows the cursor, or hides it.
    public func setCursor(_ position: Position?) {
        if let position {
            wmove(stdscr, Int32(position.y), Int32(position.x))
            curs_set(1)
        } else {
            curs_set(0)
        }
    }

    /// Blanks the screen (and makes the next refresh repaint it whole), images included.
    public func clear() {
        wclear(stdscr)
        if imageLayout.graphics == .kitty { pendingGraphics += GraphicsEncoder.kittyDeleteAll(freeData: false) }
    }

    /// Takes pictures off: kitty deletes the placements; a sixel's pixels are painted over by redrawing its rows.
    public func removeGraphics(_ placements: [GraphicPlacement]) {
        for placement in placements {
            switch imageLayout.graphics {
            case .kitty: pendingGraphics += GraphicsEncoder.kittyDelete(placement)
            case .sixel: wredrawln(stdscr, Int32(placement.rect.y), Int32(placement.rect.height))
            case nil: break
            }
        }
    }

    /// Queues the pictures, written just after the next refresh has painted the text.
    public func drawGraphics(_ placements: [GraphicPlacement]) {
        for placement in placements {
            switch imageLayout.graphics {
            case .kitty:
                pendingGraphics += GraphicsEncoder.kitty(placement, transmit: !transmitted.contains(placement.image.id))
                transmitted.insert(placement.image.id)
            case .sixel:
                // Decoded and fitted once per size; scrolling only cuts another band out of the pixels.
                let key = SixelKey(id: placement.image.id, columns: placement.rect.width, rows: placement.pictureRows)
                if sixelPixels[key] == nil {
                    if sixelPixels.count >= 16 { sixelPixels.removeAll() }
                    // A PNG libpng cannot read is remembered as nil: its label stays on screen.
                    sixelPixels[key] = .some(
                        try? GraphicsEncoder.fitted(
                            placement.image, columns: key.columns, rows: key.rows, cellWidth: imageLayout.cellWidth,
                            cellHeight: imageLayout.cellHeight))
                }
                if let found = sixelPixels[key], let pixels = found {
                    let band = GraphicsEncoder.band(of: pixels, placement, cellHeight: imageLayout.cellHeight)
                    if band.height > 0 { pendingGraphics += GraphicsEncoder.sixel(band, at: placement) }
                }
            case nil: break
            }
        }
    }

    /// Sends what was drawn to the terminal, then the pictures over it.
    public func flush() {
        wrefresh(stdscr)
        guard !pendingGraphics.isEmpty else { return }
        fflush(stdout)
        Self.writeAll(pendingGraphics, to: outputFD)
        pendingGraphics.removeAll(keepingCapacity: true)
    }

    /// A cell's size in pixels as the terminal reports it, or nil when it does not.
    private static func cellPixels(_ fd: Int32) -> Size? {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0, size.ws_xpixel > 0, size.ws_ypixel > 0 else {
            return nil
        }
        return Size(width: Int(size.ws_xpixel) / Int(size.ws_col), height: Int(size.ws_ypixel) / Int(size.ws_row))
    }

    // MARK: Input

    /// Waits for input, a resize or a signal, and returns what happened (never empty).
    public func wait() -> [TerminalWake] { wait(also: nil, timeout: nil) }

    /// Waits for input, a resize, a signal, `extra` becoming readable (`.woken`; the caller empties it)
    /// or `timeout` seconds passing (`.timedOut`); returns what happened (never empty).
    public func wait(also extra: Int32?, timeout: Double?) -> [TerminalWake] {
        let deadline = timeout.map { Clock.monotonic() + max(0, $0) }
        while true {
            var fds = [pollfd(fd: inputFD, events: Int16(POLLIN), revents: 0), pollfd(fd: SignalPipe.readFD, events: Int16(POLLIN), revents: 0)]
            if let extra { fds.append(pollfd(fd: extra, events: Int16(POLLIN), revents: 0)) }
            // A lone ESC may start a sequence: wait briefly for the rest, then take it as the Escape key.
            let escapeWait: Int32 = decoder.hasPendingInput && !decoder.isReceivingPaste ? 30 : -1
            var wait = escapeWait
            if let deadline {
                let left = Int32(min(60_000, max(0, ((deadline - Clock.monotonic()) * 1000).rounded(.up))))
                wait = escapeWait < 0 ? left : min(left, escapeWait)
            }
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 {
                if errno == EINTR { continue }
                return [.closed]
            }
            if ready == 0 {
                if decoder.hasPendingInput && !decoder.isReceivingPaste {
                    let events = decoder.flush()
                    if !events.isEmpty { return events.map(TerminalWake.input) }
                }
                if let deadline, Clock.monotonic() >= deadline { return [.timedOut] }
                continue
            }
            var wakes: [TerminalWake] = []
            if fds.count > 2 && fds[2].revents != 0 { wakes.append(.woken) }
            if fds[1].revents & Int16(POLLIN) != 0 {
                for signal in SignalPipe.drain() {
                    if signal == SIGWINCH {
                        if let size = resize(), !wakes.contains(.resized(size)) { wakes.append(.resized(size)) }
                    } else {
                        wakes.append(.signal(signal))
                    }
                }
            }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                var bytes = [UInt8](repeating: 0, count: 4096)
                let n = bytes.withUnsafeMutableBytes { read(inputFD, $0.baseAddress, $0.count) }
                if n > 0 {
                    wakes += decoder.feed(bytes[..<n]).map(TerminalWake.input)
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    wakes.append(.closed)
                }
            }
            if !wakes.isEmpty { return wakes }
        }
    }

    /// Takes the window's new size from the kernel into `windowSize`; nil when it cannot be read.
    ///
    /// ncurses is told by `resizeScreen`, on the painting side, so that this half never calls ncurses.
    private func resize() -> Size? {
        var size = winsize()
        guard ioctl(outputFD, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 else { return nil }
        windowSize = Size(width: Int(size.ws_col), height: Int(size.ws_row))
        return windowSize
    }

    // MARK: Painting

    private func paint(_ cell: Cell, x: Int, y: Int) {
        var characters: [wchar_t] = cell.grapheme.unicodeScalars.prefix(Int(CCHARW_MAX)).map { wchar_t(bitPattern: $0.value) }
        characters.append(0)
        var (attributes, pair) = look(cell.style)
        var character = cchar_t()
        if setcchar(&character, characters, attr_t(attributes), 0, &pair) != OK {
            characters = [wchar_t(UInt8(ascii: " ")), 0]
            setcchar(&character, characters, attr_t(attributes), 0, &pair)
        }
        mvwadd_wch(stdscr, Int32(y), Int32(x), &character)
    }

    /// The attribute bits and colour pair of a style on this terminal.
    private func look(_ style: Style) -> (UInt32, Int32) {
        let look = TerminalLook(style, depth: colorDepth, eightColors: eightColors, defaultColors: defaultColors)
        return (look.attributes, pair(for: PairKey(foreground: look.foreground, background: look.background)))
    }

    /// The colour pair for `key`, allocated the first time it is asked for; pair 0 when none are left.
    private func pair(for key: PairKey) -> Int32 {
        if key.foreground == -1 && key.background == -1 { return 0 }
        if let pair = pairs[key] { return pair }
        guard nextPair < maxPairs, init_extended_pair(nextPair, key.foreground, key.background) == OK else { return 0 }
        pairs[key] = nextPair
        nextPair += 1
        return nextPair - 1
    }
}

/// How a style shows on a terminal of given capabilities: ncurses attribute bits and colour numbers.
struct TerminalLook: Hashable {
    /// A_BOLD and friends (macros Swift cannot import), as curses.h defines them.
    var attributes: UInt32
    /// The foreground colour number; -1 is the terminal's default.
    var foreground: Int32
    /// The background colour number; -1 is the terminal's default.
    var background: Int32

    static let attributeShift: UInt32 = 8
    static let underline: UInt32 = 1 << (9 + attributeShift)
    static let reverse: UInt32 = 1 << (10 + attributeShift)
    static let dim: UInt32 = 1 << (12 + attributeShift)
    static let bold: UInt32 = 1 << (13 + attributeShift)
    static let italic: UInt32 = 1 << (23 + attributeShift)

    /// `style` reduced to `depth`; on 8-colour terminals bright colours become bold, and without
    /// default-colour support the default is white on black. RGB is packed as direct-colour terminfo expects.
    init(_ style: Style, depth: ColorDepth, eightColors: Bool, defaultColors: Bool) {
        var attributes: UInt32 = 0
        var foreground = style.foreground.reduced(to: depth)
        if eightColors, case .ansi(let n) = foreground, n >= 8 {
            foreground = .ansi(n - 8)
            attributes |= Self.bold
        }
        let a = style.attributes
        if a.contains(.bold) { attributes |= Self.bold }
        if a.contains(.dim) { attributes |= Self.dim }
        if a.contains(.italic) { attributes |= Self.italic }
        if a.contains(.underline) { attributes |= Self.underline }
        if a.contains(.reverse) { attributes |= Self.reverse }
        func number(_ color: Color, default fallback: Int32) -> Int32 {
            switch color {
            case .default: return defaultColors ? -1 : fallback
            case .ansi(let n): return Int32(eightColors ? n & 7 : n)
            case .indexed(let n): return Int32(n)
            case .rgb(let r, let g, let b): return Int32(r) << 16 | Int32(g) << 8 | Int32(b)
            }
        }
        self.attributes = attributes
        self.foreground = number(foreground, default: 7)
        self.background = number(style.background.reduced(to: depth), default: 0)
    }

    init(attributes: UInt32, foreground: Int32, background: Int32) {
        self.attributes = attributes
        self.foreground = foreground
        self.background = background
    }
}

/// The self-pipe that signal handlers write to, so the event loop hears of resizes and kill requests.
///
/// Handlers only `write` one byte (async-signal-safe); the loop restores the terminal with
/// `endwin`. A second fatal signal before the loop has reacted, or a crash (SIGSEGV, a Swift
/// trap, abort), restores the terminal the signal-safe way: the saved termios with `tcsetattr`
/// and terminfo's sgr0, cnorm and rmcup strings, prepared beforehand, written out with `write`.
/// The handlers that were installed before are put back by `close()`.
enum SignalPipe {
    nonisolated(unsafe) static var readFD: Int32 = -1
    nonisolated(unsafe) static var writeFD: Int32 = -1
    nonisolated(unsafe) static var fatalCount: Int32 = 0
    nonisolated(unsafe) static var savedTermios = termios()
    /// The terminal's descriptors, for `emergencyRestore`.
    nonisolated(unsafe) static var inputFD: Int32 = 0
    nonisolated(unsafe) static var outputFD: Int32 = 1
    /// The bytes that undo the screen modes (attributes, hidden cursor, alternate screen).
    nonisolated(unsafe) static var resetBytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    nonisolated(unsafe) static var resetCount = 0
    /// The actions installed before `open()`, by signal number.
    nonisolated(unsafe) static var savedActions = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)

    static let fatalSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]
    static let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP]

    static var isOpen: Bool { writeFD >= 0 }

    /// Mode switches to undo besides terminfo's (mouse reports, bracketed paste).
    nonisolated(unsafe) static var extraResetBytes: [UInt8] = []

    /// Opens the pipe and installs the handlers; call once ncurses has the terminal (terminfo is read).
    static func open(extraReset: [UInt8] = []) {
        extraResetBytes = extraReset
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
        fatalCount = 0
        prepareReset()
        for signalNumber in [SIGWINCH] + fatalSignals { signal(signalNumber, onSignal) }
        for signalNumber in crashSignals { signal(signalNumber, onCrash) }
    }

    /// Every signal whose action is saved and put back: ours, and SIGTSTP, which ncurses handles while it runs.
    static var touchedSignals: [Int32] { [SIGWINCH, SIGTSTP] + fatalSignals + crashSignals }

    /// Remembers the actions installed now, for `close()` to put back.
    static func saveActions() {
        for signalNumber in touchedSignals { sigaction(signalNumber, nil, savedActions + Int(signalNumber)) }
    }

    /// Puts the actions from `saveActions()` back and closes the pipe.
    static func close() {
        guard isOpen else { return }
        for signalNumber in touchedSignals { sigaction(signalNumber, savedActions + Int(signalNumber), nil) }
        _ = Glibc.close(readFD)
        _ = Glibc.close(writeFD)
        readFD = -1
        writeFD = -1
    }

    /// Collects sgr0, cnorm and rmcup from terminfo, without `$<..>` padding, for `emergencyRestore`.
    static func prepareReset() {
        var bytes: [UInt8] = extraResetBytes
        for capability in ["sgr0", "cnorm", "rmcup"] {
            guard let value = tigetstr(capability), Int(bitPattern: value) != -1 else { continue }
            var text = Array(String(cString: value).utf8)[...]
            while let start = text.firstIndex(of: UInt8(ascii: "$")), text.index(after: start) < text.endIndex,
                text[text.index(after: start)] == UInt8(ascii: "<"), let end = text[start...].firstIndex(of: UInt8(ascii: ">"))
            {
                text.removeSubrange(start...end)
            }
            bytes += text
        }
        resetCount = min(bytes.count, 256)
        resetBytes.update(from: bytes, count: resetCount)
    }

    /// Gives the terminal back using only async-signal-safe calls.
    static func emergencyRestore() {
        tcsetattr(inputFD, TCSANOW, &savedTermios)
        _ = write(outputFD, resetBytes, resetCount)
    }

    /// The signals written since the last call, in order.
    static func drain() -> [Int32] {
        var signals: [Int32] = []
        var bytes = [UInt8](repeating: 0, count: 64)
        while true {
            let n = bytes.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            signals += bytes[..<n].map(Int32.init)
        }
        return signals
    }
}

/// The resize and stop handler: one byte down the pipe; a second stop signal restores the terminal and exits.
private func onSignal(_ signalNumber: Int32) {
    let saved = errno
    if signalNumber != SIGWINCH {
        SignalPipe.fatalCount += 1
        if SignalPipe.fatalCount > 1 {
            SignalPipe.emergencyRestore()
            _exit(128 + signalNumber)
        }
    }
    var byte = UInt8(truncatingIfNeeded: signalNumber)
    _ = write(SignalPipe.writeFD, &byte, 1)
    errno = saved
}

/// The crash handler: restores the terminal, then hands the signal to the handler from before (Swift's backtracer, or death).
private func onCrash(_ signalNumber: Int32) {
    SignalPipe.emergencyRestore()
    sigaction(signalNumber, SignalPipe.savedActions + Int(signalNumber), nil)
    raise(signalNumber)
}

/// Runs a full-screen program: draws `state`, feeds it events, until `isDone` or a fatal signal.
public enum FullScreen {
    /// What a full-screen program's `update` receives.
    public enum Event: Hashable, Sendable {
        /// Input from the user.
        case input(InputEvent)
        /// The screen's size, first at start and then after each resize.
        case resize(Size)
    }

    /// Runs until `isDone(state)`; returns the last state. A fatal signal restores the terminal and then kills the process with it.
    public static func run<State>(
        _ initial: State,
        update: (State, Event) -> State,
        render: (State, inout ScreenBuffer) -> Void,
        isDone: (State) -> Bool
    ) throws(TerminalError) -> State {
        let backend = try NCursesBackend()
        var terminal = Terminal(backend: backend)
        var state = update(initial, .resize(backend.size))
        var fatal: Int32?
        loop: while !isDone(state) {
            terminal.draw { render(state, &$0) }
            for wake in backend.wait() {
                switch wake {
                case .input(let event): state = update(state, .input(event))
                case .resized(let size):
                    backend.resizeScreen(to: size)
                    state = update(state, .resize(size))
                case .signal(let signalNumber):
                    fatal = signalNumber
                    break loop
                case .closed: break loop
                case .woken, .timedOut: break
                }
                if isDone(state) { break loop }
            }
        }
        backend.restore()
        if let fatal {
            // Die of the signal, as a shell expects; this may be a pool thread that blocks it, so unblock it first.
            signal(fatal, SIG_DFL)
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, fatal)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            raise(fatal)
        }
        return state
    }
}
