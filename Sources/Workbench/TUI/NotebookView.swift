public import Notebook
internal import CoreSupport

/// A read-only, scrollable, full-screen view of a notebook: each cell's header, source and outputs.
///
/// Pure: `update(state, event)` returns the next state and `render(state, into:)` draws it;
/// `FullScreen.run` puts it on the terminal.
public enum NotebookView {
    /// What the view shows: the cells, laid out as lines only when they come near the screen.
    ///
    /// The view's place is a cell and a line in it (`top`), so scrolling never needs the heights of
    /// the cells far above or below; a 5 MB notebook opens by laying out its first and last page.
    public struct State: Hashable, Sendable {
        /// The file name shown in the status line.
        public var fileName: String
        /// The notebook's cells, never changed by the view.
        let cells: Cells
        /// The lines of each cell laid out so far, by cell index, for `layoutWidth` columns.
        var laidOut: [Int: [Line]] = [:]
        /// The columns cells are laid out for: the screen's width.
        public private(set) var layoutWidth: Int
        /// The first line on screen.
        public var top = Position(cell: 0, line: 0)
        /// The last place `top` may take: the one that shows the last line at the bottom of the page.
        public private(set) var bottom = Position(cell: 0, line: 0)
        /// The screen size.
        public var size: Size
        /// Whether the user asked to quit.
        public var quit = false

        /// Nothing laid out yet: cells are laid out for `size`'s width less the two-column gutter.
        init(fileName: String, cells: Cells, size: Size) {
            self.fileName = fileName
            self.cells = cells
            self.size = size
            self.layoutWidth = max(1, size.width - 2)
        }

        /// The rows available for lines (the last row is the status line).
        public var pageHeight: Int { max(0, size.height - 1) }
        /// The number of cells.
        public var cellCount: Int { cells.list.count }
        /// The cell (zero-based) at the top of the screen; the last cell once scrolled to the end.
        public var currentCell: Int {
            if top >= bottom && bottom > Position(cell: 0, line: 0) { return max(0, cellCount - 1) }
            return top.cell
        }
        /// Whether `cell` is laid out (its lines kept for drawing).
        public func isLaidOut(_ cell: Int) -> Bool { laidOut[cell] != nil }

        /// The lines of `cell`, laid out and kept.
        mutating func lines(_ cell: Int) -> [Line] {
            if let lines = laidOut[cell] { return lines }
            let lines = NotebookView.lines(of: cells.list[cell], number: cell + 1, width: layoutWidth)
            laidOut[cell] = lines
            return lines
        }

        /// The lines of `cell` for drawing: the kept ones, else laid out for the call.
        func linesForDrawing(_ cell: Int) -> [Line] {
            laidOut[cell] ?? NotebookView.lines(of: cells.list[cell], number: cell + 1, width: layoutWidth)
        }

        /// `position` moved by `delta` lines (down when positive), stopping at the first line and at `bottom`.
        mutating func moved(_ position: Position, by delta: Int) -> Position {
            guard cellCount > 0 else { return position }
            var p = position
            var remaining = delta
            while remaining > 0 && p < bottom {
                let height = lines(p.cell).count
                if p.line + remaining < height {
                    p.line += remaining
                    remaining = 0
                } else if p.cell + 1 < cellCount {
                    remaining -= height - p.line
                    p = Position(cell: p.cell + 1, line: 0)
                } else {
                    p.line = height - 1
                    remaining = 0
                }
            }
            while remaining < 0 && p > Position(cell: 0, line: 0) {
                if p.line + remaining >= 0 {
                    p.line += remaining
                    remaining = 0
                } else if p.cell > 0 {
                    remaining += p.line + 1
                    p = Position(cell: p.cell - 1, line: lines(p.cell - 1).count - 1)
                } else {
                    p.line = 0
                    remaining = 0
                }
            }
            return min(p, bottom)
        }

        /// Finds `bottom`: the place a page above the end (laying out the cells of the last page).
        mutating func findBottom() {
            var rows = pageHeight
            var cell = cellCount - 1
            bottom = Position(cell: 0, line: 0)
            while cell >= 0 {
                let height = lines(cell).count
                if height >= rows {
                    bottom = Position(cell: cell, line: height - rows)
                    return
                }
                rows -= height
                cell -= 1
            }
        }

        /// Lays out the cells from `top` down to the end of the page, so drawing them costs nothing more.
        mutating func layOutPage() {
            guard cellCount > 0 else { return }
            var rows = pageHeight + top.line
            var cell = top.cell
            while rows > 0 && cell < cellCount {
                rows -= lines(cell).count
                cell += 1
            }
        }

        /// Lays the cells out anew for `width` columns, keeping the view on the same cell.
        mutating func setWidth(_ width: Int) {
            let width = max(1, width)
            guard width != layoutWidth else { return }
            layoutWidth = width
            laidOut = [:]
            if cellCount > 0 { top.line = min(top.line, lines(top.cell).count - 1) }
        }
    }

    /// A place in the notebook: a cell and a line of its laid-out lines.
    public struct Position: Hashable, Sendable, Comparable {
        public var cell: Int
        public var line: Int

        public init(cell: Int, line: Int) {
            self.cell = cell
            self.line = line
        }

        public static func < (a: Position, b: Position) -> Bool { (a.cell, a.line) < (b.cell, b.line) }
    }

    /// The notebook's cells, shared by every state of one view and compared by identity (the view never changes them).
    final class Cells: Hashable, Sendable {
        let list: [NotebookCell]

        init(_ list: [NotebookCell]) { self.list = list }

        static func == (a: Cells, b: Cells) -> Bool { a === b }
        func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
    }

    /// One laid-out line.
    public enum Line: Hashable, Sendable {
        /// A cell's header: a rule with its number, kind and execution count.
        case header(String)
        /// A line of source.
        case source(String)
        /// A line of output, already sanitized.
        case output([Span])
        /// A gap after a cell.
        case blank
    }

    static let ruleStyle = Style(foreground: .cyan)
    static let gutterStyle = Style(foreground: .ansi(8))
    static let placeholderStyle = Style(foreground: .magenta, attributes: .italic)
    static let errorStyle = Style(foreground: .red, attributes: .bold)
    static let statusStyle = Style(attributes: .reverse)

    /// The state for `notebook` shown as `fileName` on a screen of `size`: only its first and last page are laid out.
    public static func state(for notebook: Notebook, fileName: String, size: Size = Size(width: 80, height: 24)) -> State {
        var state = State(fileName: fileName, cells: Cells(notebook.cells), size: size)
        state.findBottom()
        state.layOutPage()
        return state
    }

    /// One cell as lines for `width` columns: its header, its source (Markdown rendered), its outputs and a gap.
    static func lines(of cell: NotebookCell, number: Int, width: Int) -> [Line] {
        var lines: [Line] = [.header(header(kind: cell.cellType, executionCount: cell.executionCount, number: number))]
        let source = cell.source
        if cell.cellType == "markdown" && !source.isEmpty {
            lines += MarkdownDocument(source).lines(width: max(1, width)).map(Line.output)
        } else {
            for line in sourceLines(source) { lines.append(.source(line)) }
        }
        for output in cell.outputs { lines += outputLines(output, width: max(1, width)) }
        lines.append(.blank)
        return lines
    }

    /// A cell's title; the notebook module's `Cell` is not named here, as TUI has a `Cell` of its own.
    static func header(kind: String, executionCount: Int?, number: Int) -> String {
        switch kind {
        case "code": return "[\(executionCount.map(String.init) ?? " ")] code · cell \(number)"
        case "": return "unknown · cell \(number)"
        default: return "\(OutputSanitizer.plainText(kind)) · cell \(number)"
        }
    }

    /// A list-of-lines value (as notebook files store text) joined into one string.
    static func joinLines(_ value: JSON) -> String { NotebookCell.joinLines(value) }

    /// Source lines with tabs expanded to 4 columns and other controls left for the buffer to drop.
    static func sourceLines(_ source: String) -> [String] {
        guard !source.isEmpty else { return [] }
        var lines = source.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var text = ""
            var column = 0
            for character in line where character != "\r" {
                if character == "\t" {
                    let spaces = 4 - column % 4
                    text += String(repeating: " ", count: spaces)
                    column += spaces
                } else {
                    text.append(character)
                    column += DisplayWidth.of(character) ?? 0
                }
            }
            return text
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// An output as lines: text sanitized, Markdown rendered and HTML tables laid out for `width` columns, other HTML
    /// as `text/plain` or else with its tags stripped, images as labelled placeholders.
    static func outputLines(_ output: Output, width: Int = 78) -> [Line] {
        func text(_ value: String) -> [Line] {
            var lines = OutputSanitizer.sanitize(value)
            if lines.last == [] { lines.removeLast() }
            return lines.map(Line.output)
        }
        switch output.outputType {
        case "stream":
            return text(output.text ?? "")
        case "error":
            let heading = Line.output([Span("\(output.errorName ?? "Error"): \(OutputSanitizer.plainText(output.errorValue ?? ""))", style: errorStyle)])
            // Jupyter joins the frames with newlines; an empty frame is a blank line, as in JupyterLab.
            let traceback = output.traceback.isEmpty ? [] : text(output.traceback.joined(separator: "\n"))
            return traceback.isEmpty ? [heading] : traceback
        case "execute_result", "display_data":
            let data = output.data ?? [:]
            var lines: [Line] = []
            for (mime, value) in data where mime.hasPrefix("image/") {
                lines.append(placeholder(mime, detail: mime == "image/png" ? pngSize(joinLines(value)) : nil))
            }
            if !lines.isEmpty { return lines }
            if let rich = RichOutput.lines(data, width: width) { return rich.map(Line.output) }
            let html = data["text/html"].map(joinLines)
            if let plain = data["text/plain"] { return text(joinLines(plain)) }
            if let html {
                let stripped = HTML.text(html).map { Line.output([Span(OutputSanitizer.plainText($0))]) }
                return stripped.isEmpty ? [placeholder("text/html", detail: nil)] : stripped
            }
            if let first = data.makeIterator().next() { return [placeholder(first.key, detail: nil)] }
            return []
        default:
            return [placeholder(output.outputType.isEmpty ? "output" : output.outputType, detail: nil)]
        }
    }

    static func placeholder(_ mime: String, detail: String?) -> Line {
        .output([Span("[\(OutputSanitizer.plainText(mime))\(detail.map { " " + $0 } ?? "")]", style: placeholderStyle)])
    }

    /// "WxH" from a base64 PNG's header, or nil when it is not a PNG.
    static func pngSize(_ base64: String) -> String? {
        let bytes = Base64.decodePrefix(base64, count: 24)
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 24, Array(bytes[0..<8]) == signature, Array(bytes[12..<16]) == Array("IHDR".utf8) else { return nil }
        func int(_ at: Int) -> UInt32 { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
        return "\(int(16))x\(int(20))"
    }

    // MARK: Update

    /// The state after `event`: scrolling keys move the view, q (or Ctrl-C) quits; the cells that come on screen are laid out.
    public static func update(_ state: State, _ event: FullScreen.Event) -> State {
        var next = state
        switch event {
        case .resize(let size):
            next.size = size
            next.setWidth(size.width - 2)
            next.findBottom()
        case .input(.key(let key)):
            let page = max(1, state.pageHeight - 1)
            switch (key.key, key.modifiers) {
            case (.character("q"), []), (.character("c"), .control): next.quit = true
            case (.character("j"), []), (.down, []), (.enter, []): next.top = next.moved(next.top, by: 1)
            case (.character("k"), []), (.up, []): next.top = next.moved(next.top, by: -1)
            case (.pageDown, []), (.character(" "), []), (.character("f"), .control): next.top = next.moved(next.top, by: page)
            case (.pageUp, []), (.character("b"), .control): next.top = next.moved(next.top, by: -page)
            case (.character("g"), []), (.home, []): next.top = Position(cell: 0, line: 0)
            case (.character("G"), []), (.end, []): next.top = state.bottom
            case (.character("n"), []), (.character("]"), []):
                next.top = state.top.cell + 1 < state.cellCount ? Position(cell: state.top.cell + 1, line: 0) : state.bottom
            case (.character("p"), []), (.character("["), []):
                next.top = Position(cell: state.top.line > 0 ? state.top.cell : max(0, state.top.cell - 1), line: 0)
            default: break
            }
        case .input(.mouse(let mouse)):
            if mouse.kind == .scrollDown { next.top = next.moved(next.top, by: 3) }
            if mouse.kind == .scrollUp { next.top = next.moved(next.top, by: -3) }
        case .input: break
        }
        next.top = min(max(Position(cell: 0, line: 0), next.top), next.bottom)
        next.layOutPage()
        return next
    }

    // MARK: Render

    /// Draws the visible lines and the status line into `buffer`.
    public static func render(_ state: State, into buffer: inout ScreenBuffer) {
        let width = buffer.width
        let page = max(0, buffer.height - 1)
        var row = 0
        if state.cellCount == 0 && page > 0 {
            buffer.write([Span("(no cells)", style: gutterStyle)], x: 2, y: 0)
        }
        var cell = state.top.cell
        var first = state.top.line
        while row < page && cell < state.cellCount {
            let lines = state.linesForDrawing(cell)
            for line in lines.dropFirst(first) {
                guard row < page else { break }
                draw(line, row: row, width: width, into: &buffer)
                row += 1
            }
            cell += 1
            first = 0
        }
        guard buffer.height > 0 else { return }
        let statusRow = buffer.height - 1
        buffer.fill(Rect(x: 0, y: statusRow, width: width, height: 1), style: statusStyle)
        let cells = state.cellCount == 0 ? "no cells" : "cell \(state.currentCell + 1)/\(state.cellCount)"
        let left = " \(state.fileName)  \(cells)  read-only"
        let right = "j/k scroll  q quit "
        buffer.write(left, x: 0, y: statusRow, style: statusStyle)
        let rightX = width - DisplayWidth.of(right)
        if rightX > DisplayWidth.of(left) + 1 { buffer.write(right, x: rightX, y: statusRow, style: statusStyle) }
    }

    /// Draws one laid-out line on `row`.
    static func draw(_ line: Line, row: Int, width: Int, into buffer: inout ScreenBuffer) {
        switch line {
        case .header(let title):
            var x = buffer.write("── ", x: 0, y: row, style: ruleStyle)
            x = buffer.write(title, x: x, y: row, style: Style(foreground: .cyan, attributes: .bold))
            x = buffer.write(" ", x: x, y: row, style: ruleStyle)
            if x < width { buffer.fill(Rect(x: x, y: row, width: width - x, height: 1), with: "─", style: ruleStyle) }
        case .source(let text):
            buffer.write("│ ", x: 0, y: row, style: gutterStyle)
            buffer.write(text, x: 2, y: row)
        case .output(let spans):
            buffer.write(spans, x: 2, y: row)
        case .blank:
            break
        }
    }
}

/// Just enough base64 to read an image's header.
enum Base64 {
    /// The first `count` bytes (or fewer) that `text` encodes; whitespace skipped, stops at anything else.
    static func decodePrefix(_ text: String, count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): continue
            default: return bytes
            }
            buffer = buffer << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
                if bytes.count >= count { return bytes }
            }
        }
        return bytes
    }
}
