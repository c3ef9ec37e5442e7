/// Makes untrusted program output (kernel streams, tracebacks) safe to show, as lines of styled spans.
///
/// Only colour and style pass: SGR sequences (16, 256 and 24-bit colours; bold, dim, italic,
/// underline, reverse) become span styles. OSC 8 hyperlinks keep their text, and their target
/// only when it is a plain `http`/`https` URL. Everything else that could act on the terminal is
/// dropped: other OSC strings (clipboard writes, titles, colours), cursor movement, scrolling
/// regions, DCS/APC/PM/SOS strings (images, terminal queries), other escape sequences and C0/C1
/// controls; 8-bit C1 introducers swallow their sequence as the 7-bit ones do.
/// Line editing stays inside the current line, as progress bars expect: `\r` returns to its
/// start and later text overwrites, `\b` steps back a column, `CSI K` erases within it, and `\t`
/// moves to the next multiple of 8. Widths follow `DisplayWidth`, so overwriting is column-exact.
/// A line wraps after 65,536 columns, which bounds the memory one unbroken line can take.
///
/// Output can be fed in chunks as it streams; a sequence cut between chunks is completed by the next.
public struct OutputSanitizer: Sendable {
    /// A cell of the line being written: a cluster (empty for the right part of a wide one) and its look.
    struct LineCell: Sendable {
        var grapheme: String
        var width: Int
        var style: Style
        var link: String?
    }

    private enum State: Sendable {
        case ground
        case escape
        case escapeIntermediate
        case csi
        case osc
        case ignoredString
    }

    /// Lines ended by a newline.
    public private(set) var finishedLines = ChunkedLines()
    /// The line being written while only appended to, and its width in columns.
    private var appended: [Span] = []
    private var lineWidth = 0
    /// Whether the line has been edited behind its end and lives in `cells` instead.
    private var editing = false
    private var cells: [LineCell] = []
    private var column = 0
    private var style = Style.plain
    private var link: String?

    private var state = State.ground
    private var stringEscape = false
    private var sequence: [UInt8] = []
    private var sequenceTooLong = false
    private var text = String.UnicodeScalarView()
    private var textIsASCII = true

    /// The longest CSI parameter list or OSC string kept; longer ones are ignored whole.
    static let maxSequence = 4096
    /// The longest hyperlink target kept.
    static let maxLink = 2048
    /// Columns after which a line wraps, so one huge unbroken line cannot exhaust memory.
    static let maxLineColumns = 1 << 16

    /// Creates a sanitizer with no output yet.
    public init() {}

    /// All lines so far: the finished ones and the line being written, if it has anything.
    public var lines: [[Span]] {
        (editing ? cells.isEmpty : appended.isEmpty) ? Array(finishedLines) : Array(finishedLines) + [currentLine]
    }

    /// The line being written (not yet ended by a newline).
    public var currentLine: [Span] { editing ? Self.spans(cells) : appended }

    /// Sanitizes a whole text at once.
    public static func sanitize(_ text: String) -> [[Span]] {
        var sanitizer = OutputSanitizer()
        sanitizer.feed(text)
        return sanitizer.lines
    }

    /// The visible text of `text` after sanitizing, lines joined by `\n`.
    public static func plainText(_ text: String) -> String {
        sanitize(text).map { $0.map(\.text).joined() }.joined(separator: "\n")
    }

    /// Adds the next chunk of output.
    public mutating func feed(_ chunk: String) {
        for scalar in chunk.unicodeScalars { consume(scalar) }
        flushText()
    }

    // MARK: Parsing

    private mutating func consume(_ scalar: Unicode.Scalar) {
        let value = scalar.value
        switch state {
        case .ground:
            if value >= 0x20 && value != 0x7F && !(0x80..<0xA0).contains(value) {
                text.append(scalar)
                if value > 0x7F { textIsASCII = false }
            } else {
                flushText()
                control(value)
            }
        case .escape:
            switch value {
            case 0x5B: begin(.csi)  // [
            case 0x5D: begin(.osc)  // ]
            case 0x50, 0x58, 0x5E, 0x5F: begin(.ignoredString)  // P X ^ _
            case 0x20...0x2F: state = .escapeIntermediate
            case 0x30...0x7E: state = .ground  // ESC 7, ESC c, ESC M ...: dropped
            case 0x1B: break
            default:
                state = .ground
                consume(scalar)
            }
        case .escapeIntermediate:
            switch value {
            case 0x20...0x2F: break
            case 0x30...0x7E: state = .ground  // charset designations and the like: dropped
            default:
                state = .ground
                consume(scalar)
            }
        case .csi:
            switch value {
            case 0x20...0x3F: record(value)
            case 0x40...0x7E:
                state = .ground
                if !sequenceTooLong { dispatchCSI(final: UInt8(value)) }
            case 0x18, 0x1A: state = .ground
            case 0x1B: state = .escape
            case 0x00..<0x20: control(value)  // executed inside a sequence, as terminals do
            default:
                state = .ground
                consume(scalar)
            }
        case .osc, .ignoredString:
            if stringEscape {
                stringEscape = false
                if value == 0x5C {  // ESC \ = ST
                    endString()
                    return
                }
                endString(dispatch: false)
                state = .escape
                consume(scalar)
                return
            }
            switch value {
            case 0x07 where state == .osc: endString()
            case 0x9C: endString()
            case 0x1B: stringEscape = true
            case 0x18, 0x1A: endString(dispatch: false)
            default:
                // Non-ASCII is recorded as 0xFF, which no acceptable link contains.
                if state == .osc && value >= 0x20 { record(value > 0x7E ? 0xFF : value) }
            }
        }
    }

    private mutating func begin(_ next: State) {
        state = next
        sequence.removeAll(keepingCapacity: true)
        sequenceTooLong = false
        stringEscape = false
    }

    private mutating func record(_ value: UInt32) {
        if sequence.count >= Self.maxSequence {
            sequenceTooLong = true
        } else {
            sequence.append(UInt8(truncatingIfNeeded: value))
        }
    }

    private mutating func endString(dispatch: Bool = true) {
        if dispatch && state == .osc && !sequenceTooLong { dispatchOSC() }
        state = .ground
        stringEscape = false
    }

    /// A C0 or C1 control character met outside a string.
    private mutating func control(_ value: UInt32) {
        switch value {
        case 0x0A: endLine()
        case 0x0D: column = 0
        case 0x08: column = max(0, column - 1)
        case 0x09: column = (column / 8 + 1) * 8
        case 0x1B: state = .escape
        case 0x9B: begin(.csi)
        case 0x9D: begin(.osc)
        case 0x90, 0x98, 0x9E, 0x9F: begin(.ignoredString)
        default: break  // BEL, NUL, VT, FF, SO/SI, DEL, other C1: dropped
        }
    }

    // MARK: Sequences

    private mutating func dispatchCSI(final: UInt8) {
        if let first = sequence.first, (0x3C...0x3F).contains(first) { return }  // private: modes, queries
        if sequence.contains(where: { (0x20...0x2F).contains($0) }) { return }  // intermediates
        let values = InputDecoder.fields(sequence[...])
        switch final {
        case UInt8(ascii: "m"): applySGR(values)
        case UInt8(ascii: "K"): eraseInLine(values[0].first.flatMap { $0 } ?? 0)
        default: break
        }
    }

    private mutating func eraseInLine(_ mode: Int) {
        if mode == 0 && !editing && column >= lineWidth { return }
        beginEditing()
        switch mode {
        case 0:
            if column < cells.count {
                breakCluster(at: column)
                cells.removeSubrange(column...)
            }
        case 1:
            let end = min(column + 1, cells.count)
            if end < cells.count { breakCluster(at: end) }
            for i in 0..<end { cells[i] = LineCell(grapheme: " ", width: 1, style: .plain, link: nil) }
        case 2:
            cells.removeAll()
        default:
            break
        }
    }

    private mutating func applySGR(_ values: [[Int?]]) {
        var k = 0
        while k < values.count {
            let group = values[k]
            let code = group.first.flatMap { $0 } ?? 0
            switch code {
            case 0: style = .plain
            case 1: style.attributes.insert(.bold)
            case 2: style.attributes.insert(.dim)
            case 3: style.attributes.insert(.italic)
            case 4:
                if group.count > 1 && group[1] == 0 {
                    style.attributes.remove(.underline)
                } else {
                    style.attributes.insert(.underline)
                }
            case 7: style.attributes.insert(.reverse)
            case 21: style.attributes.insert(.underline)
            case 22: style.attributes.remove([.bold, .dim])
            case 23: style.attributes.remove(.italic)
            case 24: style.attributes.remove(.underline)
            case 27: style.attributes.remove(.reverse)
            case 30...37: style.foreground = .ansi(UInt8(code - 30))
            case 39: style.foreground = .default
            case 40...47: style.background = .ansi(UInt8(code - 40))
            case 49: style.background = .default
            case 90...97: style.foreground = .ansi(UInt8(code - 90 + 8))
            case 100...107: style.background = .ansi(UInt8(code - 100 + 8))
            case 38, 48, 58:
                let color: Color?
                if group.count > 1 {
                    color = Self.extendedColor(Array(group.dropFirst()))
                } else {
                    // Semicolon form: the colour's parameters follow as groups of their own.
                    let mode = k + 1 < values.count ? values[k + 1].first.flatMap { $0 } : nil
                    let count = mode == 5 ? 2 : mode == 2 ? 4 : 1
                    let parts = values[(k + 1)..<min(values.count, k + 1 + count)].map { $0.first.flatMap { $0 } }
                    color = Self.extendedColor(parts)
                    k += min(count, values.count - k - 1)
                }
                if let color {
                    if code == 38 { style.foreground = color }
                    if code == 48 { style.background = color }
                }
            default:
                break  // blink, conceal, strike-through, fonts, overline...: not shown
            }
            k += 1
        }
    }

    /// A colour from `5;n` or `2;r;g;b` (or `2;colorspace;r;g;b` in the colon form).
    static func extendedColor(_ parts: [Int?]) -> Color? {
        func byte(_ value: Int?) -> UInt8? {
            guard let value, (0...255).contains(value) else { return nil }
            return UInt8(value)
        }
        guard let mode = parts.first.flatMap({ $0 }) else { return nil }
        if mode == 5, parts.count >= 2, let n = byte(parts[1]) { return .indexed(n) }
        if mode == 2 {
            let rgb = parts.count >= 5 ? Array(parts[2...4]) : parts.count == 4 ? Array(parts[1...3]) : []
            if rgb.count == 3, let r = byte(rgb[0]), let g = byte(rgb[1]), let b = byte(rgb[2]) { return .rgb(r, g, b) }
        }
        return nil
    }

    private mutating func dispatchOSC() {
        // OSC 8 ; params ; URI — the only OSC that passes, and only its http(s) target.
        guard sequence.count >= 2, sequence[0] == UInt8(ascii: "8"), sequence[1] == UInt8(ascii: ";") else { return }
        guard let separator = sequence[2...].firstIndex(of: UInt8(ascii: ";")) else { return }
        let target = sequence[(separator + 1)...]
        link = Self.safeLink(target)
    }

    /// `target` if it is an `http` or `https` URL of printable ASCII of reasonable length.
    static func safeLink(_ target: ArraySlice<UInt8>) -> String? {
        guard !target.isEmpty, target.count <= maxLink, target.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        let url = String(decoding: target, as: UTF8.self)
        let lower = url.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else { return nil }
        return url
    }

    // MARK: The current line
    //
    // While text is only appended (most lines), the line is kept as spans: appending a run of
    // text is one string append. The first edit behind the end (`\r`, `\b`, erase) turns it into
    // cells, one per column, which overwriting needs.

    private mutating func flushText() {
        guard !text.isEmpty else { return }
        defer {
            text.removeAll(keepingCapacity: true)
            textIsASCII = true
        }
        if textIsASCII && !editing && column == lineWidth && column + text.count <= Self.maxLineColumns {
            // Printable ASCII at the end of the line: one column per scalar, appended whole.
            append(String(text), width: text.count)
            return
        }
        for character in String(text) {
            guard let width = DisplayWidth.of(character) else { continue }
            if width == 0 {
                attachToPrevious(character)
            } else {
                put(String(character), width: width)
            }
        }
    }

    /// Appends `text` of `width` columns at the end of a line in span form.
    private mutating func append(_ text: String, width: Int) {
        if let last = appended.last, last.style == style, last.link == link {
            appended[appended.count - 1].text += text
        } else {
            appended.append(Span(text, style: style, link: link))
        }
        lineWidth += width
        column = lineWidth
    }

    /// Turns a line in span form into cells, for editing.
    private mutating func beginEditing() {
        guard !editing else { return }
        editing = true
        cells.removeAll(keepingCapacity: true)
        for span in appended {
            for character in span.text {
                let width = DisplayWidth.of(character) ?? 0
                if width == 0 {
                    if let lead = cells.lastIndex(where: { $0.width > 0 }) { cells[lead].grapheme.append(character) }
                    continue
                }
                cells.append(LineCell(grapheme: String(character), width: width, style: span.style, link: span.link))
                for _ in 1..<max(1, width) {
                    cells.append(LineCell(grapheme: "", width: 0, style: span.style, link: span.link))
                }
            }
        }
        appended.removeAll(keepingCapacity: true)
        lineWidth = 0
    }

    /// A zero-width cluster (a combining mark cut off from its base by a chunk boundary) joins the cell before.
    private mutating func attachToPrevious(_ character: Character) {
        guard column > 0, character.unicodeScalars.first?.properties.generalCategory != .format else { return }
        if !editing && column == lineWidth {
            appended[appended.count - 1].text.append(character)
            return
        }
        beginEditing()
        guard column <= cells.count else { return }
        var lead = column - 1
        while lead > 0 && cells[lead].width == 0 { lead -= 1 }
        cells[lead].grapheme.append(character)
    }

    /// Writes a cluster at the column, padding with spaces up to it, overwriting what is there.
    private mutating func put(_ grapheme: String, width: Int) {
        if column + width > Self.maxLineColumns { endLine() }
        if !editing && column >= lineWidth {
            if column > lineWidth {
                let pad = column - lineWidth
                let current = (style, link)
                (style, link) = (.plain, nil)
                append(String(repeating: " ", count: pad), width: pad)
                (style, link) = current
            }
            append(grapheme, width: width)
            return
        }
        beginEditing()
        while cells.count < column { cells.append(LineCell(grapheme: " ", width: 1, style: .plain, link: nil)) }
        let end = column + width
        breakCluster(at: column)
        breakCluster(at: end)
        for i in column..<end {
            let value =
                i == column
                ? LineCell(grapheme: grapheme, width: width, style: style, link: link)
                : LineCell(grapheme: "", width: 0, style: style, link: link)
            if i < cells.count { cells[i] = value } else { cells.append(value) }
        }
        column = end
    }

    /// If `index` is inside a wide cluster, turns that whole cluster into spaces.
    private mutating func breakCluster(at index: Int) {
        guard index < cells.count, cells[index].width == 0 else { return }
        var lead = index
        while lead > 0 && cells[lead].width == 0 { lead -= 1 }
        let blank = LineCell(grapheme: " ", width: 1, style: cells[lead].style, link: cells[lead].link)
        cells[lead] = blank
        var next = lead + 1
        while next < cells.count && cells[next].width == 0 {
            cells[next] = blank
            next += 1
        }
    }

    private mutating func endLine() {
        finishedLines.append(currentLine)
        cells.removeAll(keepingCapacity: true)
        appended.removeAll(keepingCapacity: true)
        editing = false
        lineWidth = 0
        column = 0
    }

    /// Cells merged into spans of equal style and link.
    static func spans(_ cells: [LineCell]) -> [Span] {
        var spans: [Span] = []
        for cell in cells where cell.width > 0 {
            if let last = spans.last, last.style == cell.style, last.link == cell.link {
                spans[spans.count - 1].text += cell.grapheme
            } else {
                spans.append(Span(cell.grapheme, style: cell.style, link: cell.link))
            }
        }
        return spans
    }
}

/// Lines kept in chunks of 1,024, so a copy of a long stream's lines is cheap.
///
/// A notebook's state is a value that `update` copies; a stream output of 100,000 lines held in
/// one array made every change to it (each arriving chunk of output) copy all 100,000 line
/// references first. Chunks share storage: appending copies at most the last chunk and the
/// small array of chunks.
public struct ChunkedLines: RandomAccessCollection, Sendable {
    static let chunkSize = 1024
    private var chunks: [[[Span]]] = []
    /// The number of lines.
    public private(set) var count = 0

    /// No lines.
    public init() {}

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    /// Line `index`.
    public subscript(index: Int) -> [Span] {
        chunks[index / Self.chunkSize][index % Self.chunkSize]
    }

    /// Adds a line at the end.
    public mutating func append(_ line: [Span]) {
        if count % Self.chunkSize == 0 {
            var chunk: [[Span]] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(line)
        count += 1
    }

}
