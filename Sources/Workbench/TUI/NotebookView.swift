public import Notebook
internal import CoreSupport

/// A read-only, scrollable, full-screen view of a notebook: each cell's header, source and outputs.
///
/// Pure: `update(state, event)` returns the next state and `render(state, into:)` draws it;
/// `FullScreen.run` puts it on the terminal.
public enum NotebookView {
    /// Everything the view shows, laid out once as lines; scrolling only moves `top`.
    public struct State: Hashable, Sendable {
        /// The file name shown in the status line.
        public var fileName: String
        /// The laid-out lines of all cells.
        public var lines: [Line]
        /// The first line of each cell.
        public var cellStarts: [Int]
        /// The first line on screen.
        public var top: Int = 0
        /// The screen size.
        public var size: Size
        /// Whether the user asked to quit.
        public var quit = false

        /// The rows available for lines (the last row is the status line).
        public var pageHeight: Int { max(0, size.height - 1) }
        /// The largest `top` that still fills the page.
        public var maxTop: Int { max(0, lines.count - pageHeight) }
        /// The cell (zero-based) whose line is at the top of the screen; the last cell once scrolled to the end.
        public var currentCell: Int {
            if top >= maxTop && maxTop > 0 { return max(0, cellStarts.count - 1) }
            var cell = 0
            for (i, start) in cellStarts.enumerated() where start <= top { cell = i }
            return cell
        }
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

    /// The state for `notebook` shown as `fileName` on a screen of `size`.
    public static func state(for notebook: Notebook, fileName: String, size: Size = Size(width: 80, height: 24)) -> State {
        var lines: [Line] = []
        var starts: [Int] = []
        for (index, cell) in notebook.cells.enumerated() {
            starts.append(lines.count)
            lines.append(.header(header(kind: cell.cellType, executionCount: cell.executionCount, number: index + 1)))
            if cell.cellType == "markdown" && !cell.source.isEmpty {
                lines += MarkdownDocument(cell.source).lines(width: max(1, size.width - 2)).map(Line.output)
            } else {
                for line in sourceLines(cell.source) { lines.append(.source(line)) }
            }
            for output in cell.outputs { lines += outputLines(output, width: max(1, size.width - 2)) }
            lines.append(.blank)
        }
        if lines.isEmpty { lines = [.output([Span("(no cells)", style: gutterStyle)])] }
        return State(fileName: fileName, lines: lines, cellStarts: starts, size: size)
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
    static func joinLines(_ value: JSON) -> String {
        switch value {
        case .string(let s): return s
        case .array(let items): return items.compactMap(\.stringValue).joined()
        default: return ""
        }
    }

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

    /// The state after `event`: scrolling keys move the view, q (or Ctrl-C) quits.
    public static func update(_ state: State, _ event: FullScreen.Event) -> State {
        var next = state
        switch event {
        case .resize(let size):
            next.size = size
        case .input(.key(let key)):
            let page = max(1, state.pageHeight - 1)
            switch (key.key, key.modifiers) {
            case (.character("q"), []), (.character("c"), .control): next.quit = true
            case (.character("j"), []), (.down, []), (.enter, []): next.top += 1
            case (.character("k"), []), (.up, []): next.top -= 1
            case (.pageDown, []), (.character(" "), []), (.character("f"), .control): next.top += page
            case (.pageUp, []), (.character("b"), .control): next.top -= page
            case (.character("g"), []), (.home, []): next.top = 0
            case (.character("G"), []), (.end, []): next.top = state.maxTop
            case (.character("n"), []), (.character("]"), []):
                next.top = state.cellStarts.first { $0 > state.top } ?? state.maxTop
            case (.character("p"), []), (.character("["), []):
                next.top = state.cellStarts.last { $0 < state.top } ?? 0
            default: break
            }
        case .input(.mouse(let mouse)):
            if mouse.kind == .scrollDown { next.top += 3 }
            if mouse.kind == .scrollUp { next.top -= 3 }
        case .input: break
        }
        next.top = min(max(0, next.top), next.maxTop)
        return next
    }

    // MARK: Render

    /// Draws the visible lines and the status line into `buffer`.
    public static func render(_ state: State, into buffer: inout ScreenBuffer) {
        let width = buffer.width
        let page = max(0, buffer.height - 1)
        for row in 0..<page {
            let index = state.top + row
            guard index < state.lines.count else { break }
            switch state.lines[index] {
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
        guard buffer.height > 0 else { return }
        let statusRow = buffer.height - 1
        buffer.fill(Rect(x: 0, y: statusRow, width: width, height: 1), style: statusStyle)
        let cells = state.cellStarts.isEmpty ? "no cells" : "cell \(state.currentCell + 1)/\(state.cellStarts.count)"
        let left = " \(state.fileName)  \(cells)  read-only"
        let right = "j/k scroll  q quit "
        buffer.write(left, x: 0, y: statusRow, style: statusStyle)
        let rightX = width - DisplayWidth.of(right)
        if rightX > DisplayWidth.of(left) + 1 { buffer.write(right, x: rightX, y: statusRow, style: statusStyle) }
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
