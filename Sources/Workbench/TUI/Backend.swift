/// Where frames end up: the real terminal (through ncurses) or memory (in tests).
///
/// A backend only paints what it is given; deciding what changed is `Terminal`'s job.
public protocol Backend {
    /// The screen size in cells.
    var size: Size { get }
    /// Paints runs of cells; a run starts at a whole cluster and includes continuation cells to skip.
    mutating func draw(_ runs: [ScreenBuffer.Run])
    /// Shows the cursor at `position`, or hides it when nil.
    mutating func setCursor(_ position: Position?)
    /// Blanks the whole screen, images included.
    mutating func clear()
    /// Takes images off the screen (they scrolled, moved, or something was drawn over them); called before `draw`.
    mutating func removeGraphics(_ placements: [GraphicPlacement])
    /// Shows images over their cells; called after the frame's `draw`, and shown by `flush` after the text.
    mutating func drawGraphics(_ placements: [GraphicPlacement])
    /// Makes everything drawn so far visible.
    mutating func flush()
    /// Makes the screen `size` (the window was resized) before a frame of that size is drawn; nothing when it already is.
    mutating func resizeScreen(to size: Size)
}

/// A backend that paints into a `ScreenBuffer` and logs every call, for tests.
public struct InMemoryBackend: Backend, Sendable {
    /// One call made on the backend.
    public enum Operation: Hashable, Sendable {
        /// `draw` with these runs.
        case draw([ScreenBuffer.Run])
        /// `setCursor` with this position.
        case setCursor(Position?)
        /// `clear`.
        case clear
        /// `removeGraphics` with these placements.
        case removeGraphics([GraphicPlacement])
        /// `drawGraphics` with these placements.
        case drawGraphics([GraphicPlacement])
        /// `flush`.
        case flush
    }

    /// What the screen shows now.
    public private(set) var screen: ScreenBuffer
    /// Where the cursor shows, or nil when hidden.
    public private(set) var cursor: Position?
    /// The images on screen now.
    public private(set) var graphics: [GraphicPlacement] = []
    /// Every call so far, oldest first.
    public private(set) var operations: [Operation] = []

    /// A blank screen of `width` by `height`.
    public init(width: Int, height: Int) {
        screen = ScreenBuffer(width: width, height: height)
    }

    /// The screen size in cells.
    public var size: Size { screen.size }

    /// Simulates the terminal window changing size: the screen comes back blank.
    public mutating func resize(width: Int, height: Int) {
        screen = ScreenBuffer(width: width, height: height)
        graphics = []
    }

    /// The screen's text, row by row.
    public func lines(trimmed: Bool = false) -> [String] { screen.lines(trimmed: trimmed) }

    /// The number of cells painted by all `draw` calls so far (continuation cells not counted).
    public var paintedCells: Int {
        operations.reduce(0) { total, operation in
            guard case .draw(let runs) = operation else { return total }
            return total + runs.reduce(0) { $0 + $1.cells.count(where: { !$0.isContinuation }) }
        }
    }

    /// Simulates a resize when `size` differs from the screen's (for painters that follow the frames' size).
    public mutating func resizeScreen(to size: Size) {
        if size != screen.size { resize(width: size.width, height: size.height) }
    }

    /// Forgets the logged calls, keeping the screen.
    public mutating func clearLog() { operations.removeAll() }

    /// Paints the runs as a terminal would, cluster by cluster.
    public mutating func draw(_ runs: [ScreenBuffer.Run]) {
        operations.append(.draw(runs))
        for run in runs where run.y >= 0 && run.y < screen.height {
            var x = run.x
            for cell in run.cells {
                if !cell.isContinuation && x >= 0 && x + cell.width <= screen.width {
                    screen.place(cell, x: x, y: run.y)
                }
                x += 1
            }
        }
    }

    /// Moves or hides the cursor.
    public mutating func setCursor(_ position: Position?) {
        operations.append(.setCursor(position))
        cursor = position
    }

    /// Blanks the screen.
    public mutating func clear() {
        operations.append(.clear)
        screen.clear()
        graphics = []
    }

    /// Takes the images off the screen.
    public mutating func removeGraphics(_ placements: [GraphicPlacement]) {
        operations.append(.removeGraphics(placements))
        graphics.removeAll { placements.contains($0) }
    }

    /// Puts the images on the screen.
    public mutating func drawGraphics(_ placements: [GraphicPlacement]) {
        operations.append(.drawGraphics(placements))
        graphics += placements
    }

    /// Logs the flush.
    public mutating func flush() {
        operations.append(.flush)
    }
}

/// Draws frames on a backend, painting only the cells that changed since the last frame.
///
/// Each frame starts blank: `draw` hands the render closure a fresh buffer of the backend's size,
/// so the screen is a pure function of what the closure draws.
public struct Terminal<Output: Backend> {
    /// The backend frames are painted on.
    public private(set) var backend: Output
    private var previous: ScreenBuffer?
    /// The images on screen after the last frame.
    private var shownGraphics: [GraphicPlacement] = []
    /// The cursor as last sent to the backend; unknown (nil) after a clear.
    private var sentCursor: Position?? = nil

    /// A terminal painting on `backend`; the first frame repaints everything.
    public init(backend: Output) {
        self.backend = backend
    }

    /// Renders one frame with `render` and paints what differs from the last one; returns the frame.
    @discardableResult
    public mutating func draw(_ render: (inout ScreenBuffer) -> Void) -> ScreenBuffer {
        var frame = ScreenBuffer(size: backend.size)
        render(&frame)
        show(frame)
        return frame
    }

    /// Paints what differs between `frame` (rendered for the backend's size) and the last frame shown.
    public mutating func show(_ frame: ScreenBuffer) {
        let size = frame.size
        if previous?.size != size {
            backend.clear()
            previous = ScreenBuffer(size: size)
            sentCursor = nil
            shownGraphics = []
        }
        // Images that moved or went are taken off before the text under them is painted; new ones go on after it.
        let removed = shownGraphics.filter { !frame.graphics.contains($0) }
        let added = frame.graphics.filter { !shownGraphics.contains($0) }
        if !removed.isEmpty { backend.removeGraphics(removed) }
        let runs = frame.diff(from: previous ?? ScreenBuffer(size: size))
        if !runs.isEmpty { backend.draw(runs) }
        if sentCursor != .some(frame.cursor) {
            backend.setCursor(frame.cursor)
            sentCursor = .some(frame.cursor)
        }
        if !added.isEmpty { backend.drawGraphics(added) }
        shownGraphics = frame.graphics
        backend.flush()
        previous = frame
    }

    /// Makes the backend's screen `size`, before a frame of that size is shown.
    public mutating func resizeScreen(to size: Size) { backend.resizeScreen(to: size) }

    /// Forgets what is on screen, so the next frame clears and repaints everything.
    public mutating func invalidate() {
        previous = nil
        sentCursor = nil
        shownGraphics = []
    }
}

extension Terminal: Sendable where Output: Sendable {}
