/// Markdown laid out for a terminal: parsed once into blocks, drawn as styled lines for a given width.
///
/// Covers CommonMark's everyday constructs and GFM's tables and strikethrough: ATX and setext
/// headings (the `#` marks kept, dimmed, so the level shows), paragraphs with soft and hard
/// breaks, `*emphasis*`, `**strong**`, `~~strike~~`, code spans, fenced and indented code
/// (highlighted by `SyntaxHighlighter` for the fence's language), nested bullet and numbered
/// lists, block quotes, links and images (text, then the URL in brackets — never a terminal
/// hyperlink), reference links, horizontal rules, pipe tables (laid out by `TextTable`) and HTML
/// blocks (their text, tags stripped). Text wraps at spaces, and between wide characters, which
/// count as two columns.
///
/// The source is untrusted: every line goes through `OutputSanitizer` before it is parsed, so no
/// escape sequence or control character reaches the screen.
struct MarkdownDocument: Hashable, Sendable {
    /// One block of the document.
    indirect enum Block: Hashable, Sendable {
        /// A heading, level 1-6.
        case heading(level: Int, [Span])
        /// A paragraph; a span `"\n"` is a hard break.
        case paragraph([Span])
        /// Code lines and the fence's language (empty for none).
        case code(language: String, lines: [String])
        /// A block quote.
        case quote([Block])
        /// A list: numbered from `start` when ordered; each item is blocks.
        case list(ordered: Bool, start: Int, items: [[Block]])
        /// A horizontal rule.
        case rule
        /// A pipe table.
        case table(TextTable)
    }

    /// The blocks, in order.
    let blocks: [Block]

    static let markerStyle = Style(foreground: .ansi(8))
    static let headingStyles: [Style] = [
        Style(foreground: .blue, attributes: [.bold, .underline]),
        Style(foreground: .blue, attributes: [.bold, .underline]),
        Style(foreground: .blue, attributes: .bold),
        Style(attributes: .bold),
        Style(attributes: .bold),
        Style(attributes: [.bold, .italic]),
    ]
    static let codeStyle = Style(foreground: .green)
    static let linkStyle = Style(foreground: .cyan, attributes: .underline)
    static let urlStyle = Style(foreground: .ansi(8))
    static let quoteStyle = Style(foreground: .ansi(8))
    static let ruleStyle = Style(foreground: .ansi(8))
    /// U+0336 COMBINING LONG STROKE OVERLAY: curses has no strikethrough attribute, so each struck character carries one.
    static let strikeMark: Character = "\u{0336}"

    /// Parses `source`.
    init(_ source: String) {
        let lines = NotebookView.sourceLines(source).map { OutputSanitizer.plainText($0) }
        var parser = MarkdownParser()
        parser.collectDefinitions(lines)
        blocks = parser.blocks(lines[...])
    }

    /// About how many lines `source` takes drawn for `width` columns, without parsing it: its lines,
    /// each wrapped by its length, plus the blank line a heading gets before the text under it.
    static func estimatedLines(_ source: String, width: Int) -> Int {
        guard !source.isEmpty else { return 0 }
        let width = max(1, width)
        var count = 0
        var afterHeading = false
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let length = line.utf8.count
            if afterHeading && length > 0 { count += 1 }
            count += max(1, (length + width - 1) / width)
            afterHeading = line.first == "#"
        }
        if source.last == "\n" { count -= 1 }
        return max(1, count)
    }

    /// The document drawn for `width` columns.
    func lines(width: Int) -> [[Span]] {
        Self.layout(blocks, width: max(1, width), tight: false)
    }

    /// Blocks as lines, a blank line between them unless `tight` (as inside a tight list item).
    static func layout(_ blocks: [Block], width: Int, tight: Bool) -> [[Span]] {
        var lines: [[Span]] = []
        for (index, block) in blocks.enumerated() {
            if index > 0 && !tight { lines.append([]) }
            lines += layout(block, width: width)
        }
        return lines
    }

    static func layout(_ block: Block, width: Int) -> [[Span]] {
        switch block {
        case .heading(let level, let spans):
            let marks = String(repeating: "#", count: level) + " "
            let styled = spans.map { span -> Span in
                var span = span
                span.style.attributes.formUnion(headingStyles[level - 1].attributes)
                if span.style.foreground == .default { span.style.foreground = headingStyles[level - 1].foreground }
                return span
            }
            let markWidth = marks.count
            let body = wrap(styled, width: max(1, width - markWidth))
            return body.enumerated().map { i, line in
                [Span(i == 0 ? marks : String(repeating: " ", count: markWidth), style: markerStyle)] + line
            }
        case .paragraph(let spans):
            return wrap(spans, width: width)
        case .code(let language, let lines):
            let highlighted = SyntaxHighlighter.spans(for: lines.joined(separator: "\n"), language: Self.language(language))
            var result: [[Span]] = []
            let bar = Span("▏", style: markerStyle)
            for line in highlighted {
                for piece in cut(line, width: max(1, width - 1)) { result.append([bar] + piece) }
            }
            return result
        case .quote(let blocks):
            let bar = Span("▎ ", style: quoteStyle)
            return layout(blocks, width: max(1, width - 2), tight: false).map { line in
                [bar] + line.map { span in
                    var span = span
                    if span.style.foreground == .default { span.style.foreground = quoteStyle.foreground }
                    span.style.attributes.insert(.italic)
                    return span
                }
            }
        case .list(let ordered, let start, let items):
            var result: [[Span]] = []
            let lastNumber = start + items.count - 1
            let markerWidth = ordered ? "\(lastNumber).".count + 1 : 2
            for (i, item) in items.enumerated() {
                let marker: String
                if ordered {
                    let number = "\(start + i)."
                    marker = String(repeating: " ", count: markerWidth - 1 - number.count) + number + " "
                } else {
                    marker = "• "
                }
                let body = layout(item, width: max(1, width - markerWidth), tight: true)
                let indent = String(repeating: " ", count: markerWidth)
                if body.isEmpty { result.append([Span(marker, style: Style(foreground: .yellow, attributes: .bold))]) }
                for (row, line) in body.enumerated() {
                    let prefix = row == 0 ? Span(marker, style: Style(foreground: .yellow, attributes: .bold)) : Span(indent)
                    result.append([prefix] + line)
                }
            }
            return result
        case .rule:
            return [[Span(String(repeating: "─", count: width), style: ruleStyle)]]
        case .table(let table):
            return (0..<table.lineCount).map { table.line($0, width: width) }
        }
    }

    /// The highlighter's language for a fence's info string.
    static func language(_ info: String) -> SyntaxLanguage {
        let name = info.lowercased()
        let byName = SyntaxLanguage(languageName: name)
        return byName != .plain ? byName : SyntaxLanguage(fileExtension: name)
    }

    // MARK: Wrapping

    /// One piece of a line for wrapping: a word (kept whole when it fits), a single wide character, a space, or a hard break.
    private struct Piece {
        var text: String
        var style: Style
        var width: Int
        var isSpace: Bool
        var isBreak: Bool
    }

    /// `spans` broken into lines of at most `width` columns, at spaces and around wide characters; a span `"\n"` breaks the line.
    static func wrap(_ spans: [Span], width: Int) -> [[Span]] {
        var pieces: [Piece] = []
        for span in spans {
            if span.text == "\n" {
                pieces.append(Piece(text: "", style: span.style, width: 0, isSpace: false, isBreak: true))
                continue
            }
            var word = ""
            var wordWidth = 0
            func flushWord() {
                if !word.isEmpty { pieces.append(Piece(text: word, style: span.style, width: wordWidth, isSpace: false, isBreak: false)) }
                word = ""
                wordWidth = 0
            }
            for character in span.text {
                let w = DisplayWidth.of(character) ?? 0
                if character == " " {
                    flushWord()
                    pieces.append(Piece(text: " ", style: span.style, width: 1, isSpace: true, isBreak: false))
                } else if w == 2 {
                    flushWord()
                    pieces.append(Piece(text: String(character), style: span.style, width: 2, isSpace: false, isBreak: false))
                } else {
                    word.append(character)
                    wordWidth += w
                }
            }
            flushWord()
        }
        // Words that run on across spans (`**bold**ness`) stay together: a non-space piece glues to the one before.
        var lines: [[Span]] = []
        var line: [Span] = []
        var used = 0
        var pendingSpaces: [Piece] = []
        func append(_ text: String, _ style: Style) {
            if let last = line.last, last.style == style, last.link == nil {
                line[line.count - 1].text += text
            } else {
                line.append(Span(text, style: style))
            }
        }
        func endLine() {
            lines.append(line)
            line = []
            used = 0
            pendingSpaces = []
        }
        var i = 0
        while i < pieces.count {
            let piece = pieces[i]
            if piece.isBreak {
                endLine()
                i += 1
                continue
            }
            if piece.isSpace {
                if used > 0 { pendingSpaces.append(piece) }
                i += 1
                continue
            }
            // A word is this piece and the narrow non-space pieces glued to it.
            var group = [piece]
            var groupWidth = piece.width
            var j = i + 1
            if piece.width != 2 || piece.text.count > 1 {
                while j < pieces.count, !pieces[j].isSpace, !pieces[j].isBreak, pieces[j].width != 2 || pieces[j].text.count > 1 {
                    group.append(pieces[j])
                    groupWidth += pieces[j].width
                    j += 1
                }
            }
            let spaces = pendingSpaces.count
            if used > 0 && used + spaces + groupWidth > width { endLine() }
            for space in pendingSpaces { append(space.text, space.style) }
            used += pendingSpaces.count
            pendingSpaces = []
            for part in group {
                if used + part.width <= width {
                    append(part.text, part.style)
                    used += part.width
                    continue
                }
                // Longer than a line: cut between characters.
                for character in part.text {
                    let w = DisplayWidth.of(character) ?? 0
                    if used + w > width && used > 0 { endLine() }
                    append(String(character), part.style)
                    used += w
                }
            }
            i = j
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }

    /// A line of spans cut into rows of at most `width` columns (for code, which keeps its spaces).
    static func cut(_ spans: [Span], width: Int) -> [[Span]] {
        var rows: [[Span]] = [[]]
        var used = 0
        for span in spans {
            var text = ""
            for character in span.text {
                let w = DisplayWidth.of(character) ?? 0
                if used + w > width && used > 0 {
                    if !text.isEmpty { rows[rows.count - 1].append(Span(text, style: span.style)) }
                    rows.append([])
                    text = ""
                    used = 0
                }
                text.append(character)
                used += w
            }
            if !text.isEmpty { rows[rows.count - 1].append(Span(text, style: span.style)) }
        }
        return rows
    }
}

// MARK: - Block parsing

/// Turns sanitized lines into blocks; reference definitions are collected first so links anywhere can use them.
struct MarkdownParser {
    /// Link reference definitions, by lowercased label.
    var definitions: [String: String] = [:]

    /// The most nesting honoured (quotes and lists); deeper text shows as plain paragraphs.
    static let maxDepth = 32
    var depth = 0

    /// A line's indentation in columns and the rest of it.
    static func indentation(_ line: String) -> (Int, Substring) {
        let rest = line.drop { $0 == " " }
        return (line.count - rest.count, rest)
    }

    static func isBlank(_ line: String) -> Bool { line.allSatisfy { $0 == " " } }

    /// A reference definition `[label]: url "title"`, as (label, url).
    static func definition(_ line: String) -> (String, String)? {
        let (indent, rest) = indentation(line)
        guard indent <= 3, rest.first == "[", let close = rest.firstIndex(of: "]") else { return nil }
        let label = rest[rest.index(after: rest.startIndex)..<close]
        let after = rest[rest.index(after: close)...]
        guard !label.isEmpty, after.first == ":" else { return nil }
        let target = after.dropFirst().drop { $0 == " " }
        var url = target.prefix { $0 != " " }
        guard !url.isEmpty else { return nil }
        if url.first == "<" && url.last == ">" { url = url.dropFirst().dropLast() }
        return (label.lowercased(), String(url))
    }

    mutating func collectDefinitions(_ lines: [String]) {
        for line in lines {
            if let (label, url) = Self.definition(line), definitions[label] == nil { definitions[label] = url }
        }
    }

    /// An opening code fence: its character, length, indentation and info string.
    static func fence(_ line: String) -> (marker: Character, length: Int, indent: Int, info: String)? {
        let (indent, rest) = indentation(line)
        guard indent <= 3, let marker = rest.first, marker == "`" || marker == "~" else { return nil }
        let run = rest.prefix { $0 == marker }
        guard run.count >= 3 else { return nil }
        let info = rest.dropFirst(run.count)
        if marker == "`" && info.contains("`") { return nil }
        let language = info.drop { $0 == " " }.prefix { $0 != " " && $0 != "{" }
        return (marker, run.count, indent, String(language))
    }

    static func heading(_ line: String) -> (Int, String)? {
        let (indent, rest) = indentation(line)
        guard indent <= 3, rest.first == "#" else { return nil }
        let marks = rest.prefix { $0 == "#" }
        guard marks.count <= 6 else { return nil }
        var text = rest.dropFirst(marks.count)
        guard text.isEmpty || text.first == " " else { return nil }
        text = text.drop { $0 == " " }
        // A closing sequence of #s (after a space) is not part of the text.
        var trimmed = Substring(text)
        while trimmed.last == " " { trimmed = trimmed.dropLast() }
        let closing = trimmed.reversed().prefix { $0 == "#" }.count
        if closing > 0 {
            let before = trimmed.dropLast(closing)
            if before.isEmpty || before.last == " " { trimmed = before }
        }
        while trimmed.last == " " { trimmed = trimmed.dropLast() }
        return (marks.count, String(trimmed))
    }

    static func isRule(_ line: String) -> Bool {
        let (indent, rest) = indentation(line)
        guard indent <= 3, let first = rest.first, first == "-" || first == "*" || first == "_" else { return false }
        var count = 0
        for character in rest {
            if character == first {
                count += 1
            } else if character != " " {
                return false
            }
        }
        return count >= 3
    }

    /// A list item's start: ordered or not, its number, its marker character, and the column its content starts at.
    static func listItem(_ line: String) -> (ordered: Bool, number: Int, marker: Character, contentIndent: Int)? {
        let (indent, rest) = indentation(line)
        guard indent <= 3, let first = rest.first else { return nil }
        var markerLength: Int
        var ordered = false
        var number = 0
        var marker = first
        if first == "-" || first == "*" || first == "+" {
            markerLength = 1
        } else {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard (1...9).contains(digits.count) else { return nil }
            let after = rest.dropFirst(digits.count).first
            guard let after, after == "." || after == ")" else { return nil }
            ordered = true
            number = Int(digits) ?? 1
            marker = after
            markerLength = digits.count + 1
        }
        let afterMarker = rest.dropFirst(markerLength)
        if afterMarker.isEmpty { return (ordered, number, marker, indent + markerLength + 1) }
        guard afterMarker.first == " " else { return nil }
        let spaces = afterMarker.prefix { $0 == " " }.count
        let gap = spaces > 4 || spaces == afterMarker.count ? 1 : spaces
        return (ordered, number, marker, indent + markerLength + gap)
    }

    static func quoteContent(_ line: String) -> String? {
        let (indent, rest) = indentation(line)
        guard indent <= 3, rest.first == ">" else { return nil }
        var content = rest.dropFirst()
        if content.first == " " { content = content.dropFirst() }
        return String(content)
    }

    static func isHTMLStart(_ line: String) -> Bool {
        let (indent, rest) = indentation(line)
        guard indent <= 3, rest.first == "<" else { return false }
        let next = rest.dropFirst().first
        return next.map { $0.isLetter || $0 == "/" || $0 == "!" } ?? false
    }

    /// The cells of a table row, outer pipes dropped; `\|` stays a pipe inside a cell.
    static func tableCells(_ line: String) -> [String] {
        var text = Substring(line.trimmingSpaces)
        if text.first == "|" { text = text.dropFirst() }
        if text.last == "|" && !text.hasSuffix("\\|") { text = text.dropLast() }
        var cells: [String] = []
        var cell = ""
        var escaped = false
        var inCode = false
        for character in text {
            if escaped {
                if character != "|" { cell.append("\\") }
                cell.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "`" {
                inCode.toggle()
                cell.append(character)
            } else if character == "|" && !inCode {
                cells.append(String(cell.trimmingSpaces))
                cell = ""
            } else {
                cell.append(character)
            }
        }
        if escaped { cell.append("\\") }
        cells.append(String(cell.trimmingSpaces))
        return cells
    }

    /// Whether `line` is a table's delimiter row (`| --- | :-: |`) for `columns` header cells.
    static func isTableDelimiter(_ line: String, columns: Int) -> Bool {
        guard line.contains("-") else { return false }
        let cells = tableCells(line)
        guard cells.count == columns else { return false }
        return cells.allSatisfy { cell in
            var c = Substring(cell)
            if c.first == ":" { c = c.dropFirst() }
            if c.last == ":" { c = c.dropLast() }
            return !c.isEmpty && c.allSatisfy { $0 == "-" }
        }
    }

    /// Whether `line` starts a block that ends a paragraph.
    func interruptsParagraph(_ line: String) -> Bool {
        if Self.heading(line) != nil || Self.fence(line) != nil || Self.isRule(line) || Self.quoteContent(line) != nil { return true }
        if Self.isHTMLStart(line) { return true }
        if let item = Self.listItem(line) {
            // As in CommonMark: an empty item, or a numbered one not starting at 1, does not interrupt.
            let (_, rest) = Self.indentation(line)
            let empty = rest.dropFirst(item.ordered ? "\(item.number)".count + 1 : 1).allSatisfy { $0 == " " }
            return !empty && (!item.ordered || item.number == 1)
        }
        return false
    }

    /// The blocks of `lines`.
    mutating func blocks(_ lines: ArraySlice<String>) -> [MarkdownDocument.Block] {
        depth += 1
        defer { depth -= 1 }
        var result: [MarkdownDocument.Block] = []
        var i = lines.startIndex
        var paragraph: [String] = []
        let definitions = definitions
        func flushParagraph() {
            guard !paragraph.isEmpty else { return }
            result.append(.paragraph(MarkdownParser(definitions: definitions).inlines(MarkdownParser.paragraphText(paragraph))))
            paragraph = []
        }
        while i < lines.endIndex {
            let line = lines[i]
            if Self.isBlank(line) {
                flushParagraph()
                i += 1
                continue
            }
            let (indent, rest) = Self.indentation(line)
            // Setext heading underline.
            if !paragraph.isEmpty && indent <= 3, let first = rest.first, first == "=" || first == "-" {
                let trimmed = String(rest).trimmingSpaces
                if trimmed.allSatisfy({ $0 == first }) && (first == "=" || trimmed.count >= 1) && !(first == "-" && paragraph.isEmpty) {
                    let text = Self.paragraphText(paragraph)
                    paragraph = []
                    result.append(.heading(level: first == "=" ? 1 : 2, inlines(text)))
                    i += 1
                    continue
                }
            }
            if !paragraph.isEmpty && !interruptsParagraph(line) {
                // A table may start under a paragraph's last line only when that line is its header; keep it simple: continue.
                paragraph.append(line)
                i += 1
                continue
            }
            if indent >= 4 && paragraph.isEmpty {
                var code: [String] = []
                var j = i
                while j < lines.endIndex && (Self.isBlank(lines[j]) || Self.indentation(lines[j]).0 >= 4) {
                    code.append(String(lines[j].dropFirst(min(4, lines[j].count))))
                    j += 1
                }
                while code.last?.allSatisfy({ $0 == " " }) == true { code.removeLast() }
                result.append(.code(language: "", lines: code))
                i = j
                continue
            }
            flushParagraph()
            if let fence = Self.fence(line) {
                var code: [String] = []
                var j = i + 1
                while j < lines.endIndex {
                    let (closeIndent, closeRest) = Self.indentation(lines[j])
                    let run = closeRest.prefix { $0 == fence.marker }
                    if closeIndent <= 3 && run.count >= fence.length && closeRest.dropFirst(run.count).allSatisfy({ $0 == " " }) { break }
                    var content = Substring(lines[j])
                    var strip = fence.indent
                    while strip > 0 && content.first == " " {
                        content = content.dropFirst()
                        strip -= 1
                    }
                    code.append(String(content))
                    j += 1
                }
                result.append(.code(language: fence.info, lines: code))
                i = min(j + 1, lines.endIndex)
                continue
            }
            if let (level, text) = Self.heading(line) {
                result.append(.heading(level: level, inlines(text)))
                i += 1
                continue
            }
            if Self.isRule(line) {
                result.append(.rule)
                i += 1
                continue
            }
            if Self.definition(line) != nil {
                i += 1
                continue
            }
            if Self.quoteContent(line) != nil {
                var inner: [String] = []
                var j = i
                while j < lines.endIndex {
                    if let content = Self.quoteContent(lines[j]) {
                        inner.append(content)
                    } else if !Self.isBlank(lines[j]) && !(inner.last.map(Self.isBlank) ?? true) && !interruptsParagraph(lines[j]) {
                        inner.append(lines[j])  // a lazy continuation line
                    } else {
                        break
                    }
                    j += 1
                }
                result.append(depth < Self.maxDepth ? .quote(blocks(inner[...])) : .paragraph(inlines(inner.joined(separator: " "))))
                i = j
                continue
            }
            if let first = Self.listItem(line) {
                var items: [[MarkdownDocument.Block]] = []
                var j = i
                var loose = false
                while j < lines.endIndex, let item = Self.listItem(lines[j]), item.ordered == first.ordered, item.marker == first.marker {
                    var content: [String] = [String(lines[j].dropFirst(min(item.contentIndent, lines[j].count)))]
                    var k = j + 1
                    while k < lines.endIndex {
                        let next = lines[k]
                        if Self.isBlank(next) {
                            content.append("")
                        } else if Self.indentation(next).0 >= item.contentIndent {
                            content.append(String(next.dropFirst(item.contentIndent)))
                        } else if !(content.last.map(Self.isBlank) ?? true) && Self.listItem(next) == nil && !interruptsParagraph(next) {
                            content.append(next.trimmingSpaces.description)  // lazy continuation
                        } else {
                            break
                        }
                        k += 1
                    }
                    // Trailing blank lines belong between items, not to this one.
                    var trailing = 0
                    while content.count > 1, content.last == "" {
                        content.removeLast()
                        trailing += 1
                    }
                    if trailing > 0 && k < lines.endIndex && Self.listItem(lines[k]) != nil { loose = true }
                    items.append(depth < Self.maxDepth ? blocks(content[...]) : [.paragraph(inlines(content.joined(separator: " ")))])
                    j = k
                    if trailing > 0 && (k >= lines.endIndex || Self.listItem(lines[k]) == nil) { break }
                }
                _ = loose  // items are drawn tight; a loose list reads the same in a terminal
                result.append(.list(ordered: first.ordered, start: first.number, items: items))
                i = j
                continue
            }
            if Self.isHTMLStart(line) {
                var html: [String] = []
                var j = i
                while j < lines.endIndex && !Self.isBlank(lines[j]) {
                    html.append(lines[j])
                    j += 1
                }
                let joined = html.joined(separator: "\n")
                if let table = HTMLTable.parse(joined) {
                    result.append(.table(TextTable(table)))
                } else {
                    for text in HTML.text(joined) where !text.isEmpty {
                        result.append(.paragraph([Span(OutputSanitizer.plainText(text))]))
                    }
                }
                i = j
                continue
            }
            // A pipe table: a header row, a delimiter row, then rows until a blank line or another block.
            if line.contains("|"), i + 1 < lines.endIndex {
                let header = Self.tableCells(line)
                if Self.isTableDelimiter(lines[i + 1], columns: header.count) {
                    var body: [[String]] = []
                    var j = i + 2
                    while j < lines.endIndex && !Self.isBlank(lines[j]) && !interruptsParagraph(lines[j]) {
                        var cells = Self.tableCells(lines[j])
                        if cells.count > header.count { cells.removeLast(cells.count - header.count) }
                        while cells.count < header.count { cells.append("") }
                        body.append(cells)
                        j += 1
                    }
                    func row(_ cells: [String], header: Bool) -> [HTMLTable.Cell] {
                        cells.map { HTMLTable.Cell(text: plain(inlines($0)), isHeader: header) }
                    }
                    var table = HTMLTable()
                    table.headerRows = [row(header, header: true)]
                    table.bodyRows = body.map { row($0, header: false) }
                    result.append(.table(TextTable(table)))
                    i = j
                    continue
                }
            }
            paragraph.append(line)
            i += 1
        }
        flushParagraph()
        return result
    }

    /// A paragraph's lines joined: a line ending in two spaces or a backslash ends in a hard break (`\n`).
    static func paragraphText(_ lines: [String]) -> String {
        var text = ""
        for (index, line) in lines.enumerated() {
            let last = index == lines.count - 1
            var trimmed = Substring(line.drop { $0 == " " })
            let hard = !last && (trimmed.hasSuffix("  ") || (trimmed.hasSuffix("\\") && !trimmed.hasSuffix("\\\\")))
            if trimmed.hasSuffix("\\") && hard { trimmed = trimmed.dropLast() }
            while trimmed.last == " " { trimmed = trimmed.dropLast() }
            text += trimmed
            if !last { text += hard ? "\n" : " " }
        }
        return text
    }

    /// The visible text of inline spans, for table cells.
    func plain(_ spans: [Span]) -> String {
        spans.map { $0.text == "\n" ? " " : $0.text }.joined()
    }

    // MARK: Inlines

    /// An inline node before emphasis is resolved.
    enum Node {
        case text(String)
        case code(String)
        case hardBreak
        case link([Node], url: String)
        case image(alt: String, url: String)
        /// A run of `*`, `_` or `~` that may open or close emphasis.
        case delimiter(character: Character, count: Int, canOpen: Bool, canClose: Bool)
        case styled(Attributes, strike: Bool, [Node])
    }

    /// Inline markup of `text` as styled spans; a hard break is a span `"\n"`.
    func inlines(_ text: String) -> [Span] {
        var spans: [Span] = []
        Self.emit(resolve(parseInline(Array(text), depth: 0)), style: .plain, strike: false, into: &spans)
        return spans
    }

    static func isPunctuation(_ c: Character) -> Bool { c.isPunctuation || c.isSymbol }

    /// The nodes of `chars`: code spans, escapes, links, autolinks, delimiter runs and text.
    func parseInline(_ chars: [Character], depth: Int) -> [Node] {
        var nodes: [Node] = []
        var text = ""
        func flush() {
            if !text.isEmpty { nodes.append(.text(text)) }
            text = ""
        }
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count, chars[i + 1].isASCII, Self.isPunctuation(chars[i + 1]) {
                text.append(chars[i + 1])
                i += 2
                continue
            }
            if c == "\n" {
                flush()
                nodes.append(.hardBreak)
                i += 1
                continue
            }
            if c == "`" {
                let (ticks, run, close) = CodeSpan.match(chars, at: i)
                if let close {
                    flush()
                    var code = String(chars[run..<close])
                    if code.count >= 2, code.first == " ", code.last == " ", !code.allSatisfy({ $0 == " " }) { code = String(code.dropFirst().dropLast()) }
                    nodes.append(.code(code))
                    i = close + ticks
                } else {
                    text += String(chars[i..<run])
                    i = run
                }
                continue
            }
            if c == "<", let end = chars[(i + 1)...].firstIndex(of: ">") {
                let inner = String(chars[(i + 1)..<end])
                if !inner.contains(" ") && (inner.contains("://") || inner.hasPrefix("mailto:") || (inner.contains("@") && inner.contains("."))) {
                    flush()
                    nodes.append(.link([.text(inner)], url: inner))
                    i = end + 1
                    continue
                }
                // Inline HTML tags are dropped, their text kept.
                if let first = inner.first, first.isLetter || first == "/" || first == "!" {
                    let name = inner.prefix { $0.isLetter || $0.isNumber || $0 == "/" || $0 == "!" || $0 == "-" }
                    if name.lowercased() == "br" || name.lowercased() == "br/" {
                        flush()
                        nodes.append(.hardBreak)
                    }
                    i = end + 1
                    continue
                }
            }
            if c == "[" || (c == "!" && i + 1 < chars.count && chars[i + 1] == "[") {
                let open = c == "!" ? i + 1 : i
                if depth < 8, let link = parseLink(chars, open: open) {
                    flush()
                    if c == "!" {
                        nodes.append(.image(alt: String(chars[(open + 1)..<link.textEnd]), url: link.url))
                    } else {
                        nodes.append(.link(parseInline(Array(chars[(open + 1)..<link.textEnd]), depth: depth + 1), url: link.url))
                    }
                    i = link.end
                    continue
                }
            }
            if c == "*" || c == "_" || c == "~" {
                var run = i
                while run < chars.count && chars[run] == c { run += 1 }
                let count = run - i
                let before: Character = i > 0 ? chars[i - 1] : " "
                let after: Character = run < chars.count ? chars[run] : " "
                let beforeSpace = before.isWhitespace
                let afterSpace = after.isWhitespace
                let leftFlanking = !afterSpace && (!Self.isPunctuation(after) || beforeSpace || Self.isPunctuation(before))
                let rightFlanking = !beforeSpace && (!Self.isPunctuation(before) || afterSpace || Self.isPunctuation(after))
                var canOpen = leftFlanking
                var canClose = rightFlanking
                if c == "_" {
                    canOpen = leftFlanking && (!rightFlanking || Self.isPunctuation(before))
                    canClose = rightFlanking && (!leftFlanking || Self.isPunctuation(after))
                }
                if c == "~" && count > 2 {
                    text += String(chars[i..<run])
                    i = run
                    continue
                }
                flush()
                nodes.append(.delimiter(character: c, count: count, canOpen: canOpen, canClose: canClose))
                i = run
                continue
            }
            // A bare URL (GFM's autolink extension).
            if (c == "h" || c == "w") && (i == 0 || !chars[i - 1].isLetter) {
                let rest = chars[i...]
                if rest.starts(with: "https://") || rest.starts(with: "http://") || rest.starts(with: "www.") {
                    var end = i
                    while end < chars.count && !chars[end].isWhitespace && chars[end] != "<" { end += 1 }
                    while end > i, let last = Optional(chars[end - 1]), ".,:;!?\"')*_~".contains(last) { end -= 1 }
                    let url = String(chars[i..<end])
                    if url.count > 8 {
                        flush()
                        nodes.append(.link([.text(url)], url: url))
                        i = end
                        continue
                    }
                }
            }
            text.append(c)
            i += 1
        }
        flush()
        return nodes
    }

    /// A link or image starting at the `[` at `open`: where its text ends, its URL, and where it ends.
    func parseLink(_ chars: [Character], open: Int) -> (textEnd: Int, url: String, end: Int)? {
        var level = 0
        var j = open
        var close: Int?
        while j < chars.count {
            let c = chars[j]
            if c == "\\" {
                j += 2
                continue
            }
            if c == "`" {
                // Brackets inside a code span do not count.
                var run = j
                while run < chars.count && chars[run] == "`" { run += 1 }
                if let end = chars[run...].firstIndex(of: "`") { j = end + (run - j) } else { j = run }
                continue
            }
            if c == "[" { level += 1 }
            if c == "]" {
                level -= 1
                if level == 0 {
                    close = j
                    break
                }
            }
            j += 1
        }
        guard let close else { return nil }
        let label = String(chars[(open + 1)..<close])
        if close + 1 < chars.count && chars[close + 1] == "(" {
            var k = close + 2
            while k < chars.count && chars[k] == " " { k += 1 }
            var url = ""
            if k < chars.count && chars[k] == "<" {
                guard let end = chars[k...].firstIndex(of: ">") else { return nil }
                url = String(chars[(k + 1)..<end])
                k = end + 1
            } else {
                var parens = 0
                while k < chars.count && !chars[k].isWhitespace {
                    if chars[k] == "(" { parens += 1 }
                    if chars[k] == ")" {
                        if parens == 0 { break }
                        parens -= 1
                    }
                    if chars[k] == "\\" && k + 1 < chars.count { k += 1 }
                    url.append(chars[k])
                    k += 1
                }
            }
            while k < chars.count && chars[k] == " " { k += 1 }
            // An optional title in quotes or parentheses, not shown.
            let titleClosers: [Character: Character] = ["\"": "\"", "'": "'", "(": ")"]
            if k < chars.count, let quote = titleClosers[chars[k]] {
                guard let end = chars[(k + 1)...].firstIndex(of: quote) else { return nil }
                k = end + 1
                while k < chars.count && chars[k] == " " { k += 1 }
            }
            guard k < chars.count && chars[k] == ")" else { return nil }
            return (close, url, k + 1)
        }
        // Reference links: [text][label], [label][] and [label].
        if close + 1 < chars.count && chars[close + 1] == "[", let end = chars[(close + 2)...].firstIndex(of: "]") {
            let reference = end == close + 2 ? label : String(chars[(close + 2)..<end])
            if let url = definitions[reference.lowercased()] { return (close, url, end + 1) }
            return nil
        }
        if let url = definitions[label.lowercased()] { return (close, url, close + 1) }
        return nil
    }

    /// Emphasis resolved: delimiter runs paired into styled nodes (CommonMark's delimiter algorithm, simplified), the rest text.
    func resolve(_ input: [Node]) -> [Node] {
        var nodes = input
        var closer = 0
        while closer < nodes.count {
            guard case .delimiter(let c, let closeCount, let closerOpens, true) = nodes[closer] else {
                closer += 1
                continue
            }
            var opener: Int?
            var k = closer - 1
            while k >= 0 {
                if case .delimiter(let oc, let openCount, true, let openerCloses) = nodes[k], oc == c {
                    // The rule of three: a run that both opens and closes pairs only when the sum is not a multiple of 3.
                    let ruleOfThree = (openerCloses || closerOpens) && (openCount + closeCount) % 3 == 0 && !(openCount % 3 == 0 && closeCount % 3 == 0)
                    let strikeOK = c != "~" || openCount == closeCount
                    if !ruleOfThree && strikeOK {
                        opener = k
                        break
                    }
                }
                k -= 1
            }
            guard let opener, case .delimiter(_, let openCount, let openerOpens, let openerCloses) = nodes[opener],
                case .delimiter(_, _, let closerOpens, let closerCloses) = nodes[closer]
            else {
                closer += 1
                continue
            }
            let used = c == "~" ? openCount : (openCount >= 2 && closeCount >= 2 ? 2 : 1)
            let inner = Array(nodes[(opener + 1)..<closer])
            let styled: Node = c == "~" ? .styled([], strike: true, inner) : .styled(used == 2 ? .bold : .italic, strike: false, inner)
            var replacement: [Node] = []
            if openCount > used { replacement.append(.delimiter(character: c, count: openCount - used, canOpen: openerOpens, canClose: openerCloses)) }
            replacement.append(styled)
            let closerRemains = closeCount > used
            if closerRemains { replacement.append(.delimiter(character: c, count: closeCount - used, canOpen: closerOpens, canClose: closerCloses)) }
            nodes.replaceSubrange(opener...closer, with: replacement)
            closer = opener + replacement.count - (closerRemains ? 1 : 0)
        }
        return nodes
    }

    /// Nodes as spans in `style`: code green, links underlined with their URL after them.
    static func emit(_ nodes: [Node], style: Style, strike: Bool, into spans: inout [Span]) {
        func add(_ text: String, _ style: Style) {
            var text = text
            if strike { text = String(text.flatMap { $0 == " " ? [$0] : [$0, MarkdownDocument.strikeMark] }) }
            if let last = spans.last, last.style == style, last.text != "\n" {
                spans[spans.count - 1].text += text
            } else {
                spans.append(Span(text, style: style))
            }
        }
        for node in nodes {
            switch node {
            case .text(let text): add(text, style)
            case .code(let code):
                var codeStyle = style
                codeStyle.foreground = MarkdownDocument.codeStyle.foreground
                add(code, codeStyle)
            case .hardBreak: spans.append(Span("\n", style: style))
            case .delimiter(let c, let count, _, _): add(String(repeating: c, count: count), style)
            case .styled(let attributes, let struck, let inner):
                var innerStyle = style
                innerStyle.attributes.formUnion(attributes)
                if struck { innerStyle.attributes.insert(.dim) }
                emit(inner, style: innerStyle, strike: strike || struck, into: &spans)
            case .link(let inner, let url):
                var linkStyle = style
                linkStyle.foreground = MarkdownDocument.linkStyle.foreground
                linkStyle.attributes.insert(.underline)
                let before = spans.count
                emit(inner, style: linkStyle, strike: strike, into: &spans)
                let text = spans[before...].map(\.text).joined()
                if !url.isEmpty && text != url && "mailto:" + text != url {
                    add(" (\(url))", MarkdownDocument.urlStyle)
                }
            case .image(let alt, let url):
                add("[image: \(alt.isEmpty ? "untitled" : alt)]", NotebookView.placeholderStyle)
                if !url.isEmpty { add(" (\(url))", MarkdownDocument.urlStyle) }
            }
        }
    }
}
