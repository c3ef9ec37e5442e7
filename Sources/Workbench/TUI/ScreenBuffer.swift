/// A cell position: column `x` and row `y`, from the top left, zero-based.
public struct Position: Hashable, Sendable {
    /// The column.
    public var x: Int
    /// The row.
    public var y: Int

    /// Creates a position.
    public init(x: Int, y: Int) {
        self.x = x
        self.y = y
    }
}

/// A screen or region size in columns and rows.
public struct Size: Hashable, Sendable {
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int

    /// Creates a size; negative values count as zero.
    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
    }
}

/// A rectangle of cells.
public struct Rect: Hashable, Sendable {
    /// The leftmost column.
    public var x: Int
    /// The top row.
    public var y: Int
    /// Columns.
    public var width: Int
    /// Rows.
    public var height: Int

    /// Creates a rectangle; negative sizes count as zero.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    /// The column just right of the rectangle.
    public var maxX: Int { x + width }
    /// The row just below the rectangle.
    public var maxY: Int { y + height }
    /// Whether the rectangle holds no cells.
    public var isEmpty: Bool { width == 0 || height == 0 }

    /// Whether the cell at `x`, `y` lies inside.
    public func contains(x: Int, y: Int) -> Bool { x >= self.x && x < maxX && y >= self.y && y < maxY }

    /// The cells both rectangles share (empty if none).
    public func intersection(_ other: Rect) -> Rect {
        let left = max(x, other.x), top = max(y, other.y)
        let right = min(maxX, other.maxX), bottom = min(maxY, other.maxY)
        return Rect(x: left, y: top, width: right - left, height: bottom - top)
    }
}

/// One cell of the screen: a grapheme cluster and its style, or the continuation of a wide cluster to its left.
public struct Cell: Hashable, Sendable {
    /// The grapheme cluster shown; empty for a continuation cell.
    public private(set) var grapheme: String
    /// How the cell looks.
    public var style: Style
    /// The columns the cluster takes (1 or more); 0 for a continuation cell.
    public private(set) var width: Int

    /// A cell holding `character`, or nil when it has no width (controls, lone combining marks, format characters).
    public init?(_ character: Character, style: Style = .plain) {
        guard let width = DisplayWidth.of(character), width > 0 else { return nil }
        self.grapheme = String(character)
        self.style = style
        self.width = width
    }

    init(grapheme: String, style: Style, width: Int) {
        self.grapheme = grapheme
        self.style = style
        self.width = width
    }

    /// A space in the default style.
    public static let blank = Cell(grapheme: " ", style: .plain, width: 1)

    /// A space in `style`.
    public static func blank(_ style: Style) -> Cell { Cell(grapheme: " ", style: style, width: 1) }

    /// The right part of a wide cluster.
    static func continuation(_ style: Style) -> Cell { Cell(grapheme: "", style: style, width: 0) }

    /// Whether this cell is the right part of a wide cluster.
    public var isContinuation: Bool { width == 0 }
}

/// A grid of cells that widgets render into; backends paint it, tests read it back as lines.
///
/// A cluster `w` columns wide takes its cell plus `w - 1` continuation cells. Writing over part of
/// a wide cluster turns the rest of it into spaces, so the grid never holds half a character.
public struct ScreenBuffer: Hashable, Sendable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// The cells, row by row.
    public private(set) var cells: [Cell]
    /// Where the terminal's cursor should show, or nil to hide it.
    public var cursor: Position?
    /// Images shown over cells, in the order they were placed; writing into a cell an image covers cuts the image back.
    public private(set) var graphics: [GraphicPlacement] = []

    /// A buffer of `width` by `height` spaces in `style`.
    public init(width: Int, height: Int, style: Style = .plain) {
        self.width = max(0, width)
        self.height = max(0, height)
        self.cells = Array(repeating: .blank(style), count: self.width * self.height)
        self.cursor = nil
    }

    /// A buffer of `size` spaces in `style`.
    public init(size: Size, style: Style = .plain) {
        self.init(width: size.width, height: size.height, style: style)
    }

    /// The buffer's size.
    public var size: Size { Size(width: width, height: height) }

    /// The whole buffer as a rectangle.
    public var area: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    /// The cell at column `x`, row `y` (which must be inside the buffer).
    public subscript(x: Int, y: Int) -> Cell {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "cell \(x),\(y) outside \(width)x\(height)")
        return cells[y * width + x]
    }

    // MARK: Writing

    /// Writes one line of `text` from column `x` on row `y`, cut to `clip` (default: the whole buffer).
    ///
    /// Control characters (newlines and tabs too) are skipped, as are clusters without width.
    /// A wide cluster cut by the clip's edge leaves spaces in the columns that are visible.
    /// Returns the column after the last cluster written; at or past the clip's right edge when
    /// the text was cut there.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil) -> Int {
        let bounds = (clip ?? area).intersection(area)
        guard y >= bounds.y && y < bounds.maxY, !bounds.isEmpty else { return x + DisplayWidth.of(text) }
        var column = x
        for character in text {
            if column >= bounds.maxX { return column }
            guard let cell = Cell(character, style: style) else { continue }
            let end = column + cell.width
            if end <= bounds.x {
                // Left of the clip (scrolled out of view).
            } else if column >= bounds.x && end <= bounds.maxX {
                place(cell, x: column, y: y)
            } else {
                // Partly visible wide cluster: spaces where it shows.
                for blankColumn in max(column, bounds.x)..<min(end, bounds.maxX) {
                    place(.blank(style), x: blankColumn, y: y)
                }
            }
            column = end
        }
        return column
    }

    /// Writes styled spans one after another on row `y` from column `x`; returns the column after them.
    @discardableResult
    public mutating func write(_ spans: [Span], x: Int, y: Int, clip: Rect? = nil) -> Int {
        var column = x
        for span in spans {
            column = write(span.text, x: column, y: y, style: span.style, clip: clip)
        }
        return column
    }

    /// Puts `character` at column `x`, row `y` if it fits in the buffer; returns whether it was stored.
    @discardableResult
    public mutating func set(_ character: Character, x: Int, y: Int, style: Style = .plain) -> Bool {
        guard let cell = Cell(character, style: style), x >= 0, y >= 0, y < height, x + cell.width <= width else {
            return false
        }
        place(cell, x: x, y: y)
        return true
    }

    /// Fills `rect` (cut to the buffer) with `character` in `style`; a wide character fills pairs of columns.
    public mutating func fill(_ rect: Rect, with character: Character = " ", style: Style = .plain) {
        let target = rect.intersection(area)
        guard !target.isEmpty, let cell = Cell(character, style: style) else { return }
        for y in target.y..<target.maxY {
            var x = target.x
            while x < target.maxX {
                if x + cell.width <= target.maxX {
                    place(cell, x: x, y: y)
                } else {
                    place(.blank(style), x: x, y: y)
                }
                x += min(cell.width, target.maxX - x)
            }
        }
    }

    /// Changes the style of every cell in `rect` (cut to the buffer), keeping the text.
    public mutating func restyle(_ rect: Rect, _ change: (inout Style) -> Void) {
        let target = rect.intersection(area)
        guard !target.isEmpty else { return }
        for y in target.y..<target.maxY {
            for x in target.x..<target.maxX {
                change(&cells[y * width + x].style)
            }
        }
    }

    /// Resets every cell to a space in `style`, hides the cursor and drops the images.
    public mutating func clear(style: Style = .plain) {
        for i in cells.indices { cells[i] = .blank(style) }
        cursor = nil
        graphics.removeAll()
    }

    /// Shows `image` over `rect` (the cells keep what was written there, for backends without graphics);
    /// returns false, placing nothing, when `rect` is empty or not wholly inside the buffer.
    ///
    /// With `pictureRows`, `rect` shows the band of a picture that tall starting at its row `firstRow`
    /// (the rest is scrolled out of view).
    @discardableResult
    public mutating func place(_ image: TerminalImage, in rect: Rect, pictureRows: Int? = nil, firstRow: Int = 0) -> Bool {
        guard !rect.isEmpty, rect.intersection(area) == rect else { return false }
        graphics.removeAll { !$0.rect.intersection(rect).isEmpty }
        graphics.append(GraphicPlacement(image: image, rect: rect, pictureRows: pictureRows, firstRow: firstRow))
        return true
    }

    /// Stores `cell` at `x`, `y`, which must fit; clusters it cuts through become spaces.
    mutating func place(_ cell: Cell, x: Int, y: Int) {
        if !graphics.isEmpty { uncover(Rect(x: x, y: y, width: max(1, cell.width), height: 1)) }
        let row = y * width
        let end = x + cell.width
        if cells[row + x].isContinuation { blankCluster(row: row, covering: x) }
        if end < width && cells[row + end].isContinuation { blankCluster(row: row, covering: end) }
        cells[row + x] = cell
        var column = x + 1
        while column < end {
            cells[row + column] = .continuation(cell.style)
            column += 1
        }
    }

    /// Cuts pictures back from a row written over: each keeps the larger band of its rows above or
    /// below it, or goes when none is left, so text drawn later (a popup, a message) is never hidden.
    private mutating func uncover(_ written: Rect) {
        var i = 0
        while i < graphics.count {
            let placement = graphics[i]
            guard !placement.rect.intersection(written).isEmpty else {
                i += 1
                continue
            }
            let rect = placement.rect
            let above = written.y - rect.y
            let below = rect.maxY - written.y - 1
            if above <= 0 && below <= 0 {
                graphics.remove(at: i)
                continue
            }
            if above >= below {
                graphics[i].rect.height = above
            } else {
                graphics[i].rect = Rect(x: rect.x, y: written.y + 1, width: rect.width, height: below)
                graphics[i].firstRow += written.y + 1 - rect.y
            }
            i += 1
        }
    }

    /// Turns the whole cluster that covers `column` into spaces of its style.
    private mutating func blankCluster(row: Int, covering column: Int) {
        var lead = column
        while lead > 0 && cells[row + lead].isContinuation { lead -= 1 }
        let style = cells[row + lead].style
        cells[row + lead] = .blank(style)
        var next = lead + 1
        while next < width && cells[row + next].isContinuation {
            cells[row + next] = .blank(style)
            next += 1
        }
    }

    // MARK: Reading

    /// A changed stretch of one row: cells to paint from column `x`, always starting at a whole cluster.
    public struct Run: Hashable, Sendable {
        /// The first column.
        public var x: Int
        /// The row.
        public var y: Int
        /// The cells from `x` on, continuation cells included.
        public var cells: [Cell]

        /// Creates a run.
        public init(x: Int, y: Int, cells: [Cell]) {
            self.x = x
            self.y = y
            self.cells = cells
        }
    }

    /// The runs that turn `previous` into this buffer; every row when the sizes differ.
    public func diff(from previous: ScreenBuffer) -> [Run] {
        guard previous.width == width && previous.height == height else {
            return (0..<height).map { y in Run(x: 0, y: y, cells: Array(cells[(y * width)..<((y + 1) * width)])) }
        }
        var runs: [Run] = []
        for y in 0..<height {
            let row = y * width
            var x = 0
            while x < width {
                if cells[row + x] == previous.cells[row + x] {
                    x += 1
                    continue
                }
                var start = x
                while start > 0 && cells[row + start].isContinuation { start -= 1 }
                var end = x + 1
                while end < width && (cells[row + end] != previous.cells[row + end] || cells[row + end].isContinuation) {
                    end += 1
                }
                if let last = runs.last, last.y == y, last.x + last.cells.count == start {
                    runs[runs.count - 1].cells.append(contentsOf: cells[(row + start)..<(row + end)])
                } else {
                    runs.append(Run(x: start, y: y, cells: Array(cells[(row + start)..<(row + end)])))
                }
                x = end
            }
        }
        return runs
    }

    /// The text of each row, for snapshot tests; trailing spaces kept unless `trimmed`.
    public func lines(trimmed: Bool = false) -> [String] {
        (0..<height).map { y in
            var line = ""
            for cell in cells[(y * width)..<((y + 1) * width)] { line += cell.grapheme }
            if trimmed {
                while line.last == " " { line.removeLast() }
            }
            return line
        }
    }
}
