/// A tolerant reader for the HTML that notebook outputs carry: tables (pandas DataFrames) and plain markup.
///
/// Not a browser: it tokenizes tags, attributes, text and character references, skips comments,
/// `<style>` and `<script>`, and never fails. Unclosed or stray tags are taken as they come.
enum HTML {
    /// One piece of markup.
    enum Token: Hashable, Sendable {
        /// An opening tag: its lower-case name, attributes (lower-case names, decoded values), and whether it ends in `/>`.
        case open(String, [String: String], selfClosing: Bool)
        /// A closing tag's lower-case name.
        case close(String)
        /// Text with character references decoded (whitespace as written).
        case text(String)
    }

    /// Elements whose content is raw text that is never shown.
    static let hiddenElements: Set<String> = ["style", "script", "template", "head", "title"]
    /// Elements that start a new line in the stripped rendering.
    static let blockElements: Set<String> = [
        "address", "article", "aside", "blockquote", "caption", "dd", "details", "div", "dl", "dt", "fieldset", "figcaption",
        "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
        "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
    ]

    /// The tokens of `html`.
    static func tokens(_ html: String) -> [Token] {
        let bytes = Array(html.utf8)
        var tokens: [Token] = []
        var text: [UInt8] = []
        var i = 0
        func flushText() {
            guard !text.isEmpty else { return }
            tokens.append(.text(decodeReferences(String(decoding: text, as: UTF8.self))))
            text.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "<"), i + 1 < bytes.count else {
                text.append(byte)
                i += 1
                continue
            }
            let next = bytes[i + 1]
            if next == UInt8(ascii: "!") || next == UInt8(ascii: "?") {
                // Comment, doctype or processing instruction: skipped.
                flushText()
                if bytes[(i + 1)...].starts(with: Array("!--".utf8)) {
                    i = find(Array("-->".utf8), in: bytes, from: i + 4).map { $0 + 3 } ?? bytes.count
                } else {
                    i = (bytes[i...].firstIndex(of: UInt8(ascii: ">")) ?? bytes.count - 1) + 1
                }
                continue
            }
            let closing = next == UInt8(ascii: "/")
            let nameStart = closing ? i + 2 : i + 1
            guard nameStart < bytes.count, isLetter(bytes[nameStart]) else {
                text.append(byte)
                i += 1
                continue
            }
            flushText()
            var j = nameStart
            while j < bytes.count, !isSpace(bytes[j]), bytes[j] != UInt8(ascii: ">"), bytes[j] != UInt8(ascii: "/") { j += 1 }
            let name = String(decoding: bytes[nameStart..<j], as: UTF8.self).lowercased()
            var attributes: [String: String] = [:]
            var selfClosing = false
            // Attributes up to the closing `>`, quotes respected.
            while j < bytes.count, bytes[j] != UInt8(ascii: ">") {
                if isSpace(bytes[j]) {
                    j += 1
                    continue
                }
                if bytes[j] == UInt8(ascii: "/") {
                    selfClosing = true
                    j += 1
                    continue
                }
                selfClosing = false
                let start = j
                while j < bytes.count, !isSpace(bytes[j]), bytes[j] != UInt8(ascii: "="), bytes[j] != UInt8(ascii: ">") { j += 1 }
                let key = String(decoding: bytes[start..<j], as: UTF8.self).lowercased()
                var value = ""
                while j < bytes.count, isSpace(bytes[j]) { j += 1 }
                if j < bytes.count, bytes[j] == UInt8(ascii: "=") {
                    j += 1
                    while j < bytes.count, isSpace(bytes[j]) { j += 1 }
                    if j < bytes.count, bytes[j] == UInt8(ascii: "\"") || bytes[j] == UInt8(ascii: "'") {
                        let quote = bytes[j]
                        let valueStart = j + 1
                        j = bytes[valueStart...].firstIndex(of: quote) ?? bytes.count
                        value = String(decoding: bytes[valueStart..<j], as: UTF8.self)
                        if j < bytes.count { j += 1 }
                    } else {
                        let valueStart = j
                        while j < bytes.count, !isSpace(bytes[j]), bytes[j] != UInt8(ascii: ">") { j += 1 }
                        value = String(decoding: bytes[valueStart..<j], as: UTF8.self)
                    }
                }
                if !key.isEmpty { attributes[key] = decodeReferences(value) }
            }
            i = j + 1
            if closing {
                tokens.append(.close(name))
                continue
            }
            tokens.append(.open(name, attributes, selfClosing: selfClosing))
            if hiddenElements.contains(name) && !selfClosing {
                // Raw text up to the matching end tag, dropped.
                let end = Array("</\(name)".utf8)
                guard let at = find(end, in: bytes, from: i, caseInsensitive: true) else {
                    i = bytes.count
                    break
                }
                i = (bytes[at...].firstIndex(of: UInt8(ascii: ">")) ?? bytes.count - 1) + 1
                tokens.append(.close(name))
            }
        }
        flushText()
        return tokens
    }

    /// The text of `html` with tags stripped: blocks and `<br>` start new lines, whitespace collapses outside `<pre>`.
    static func text(_ html: String) -> [String] {
        var lines: [String] = []
        var line = ""
        var pendingSpace = false
        var preDepth = 0
        var hidden = 0
        func endLine(force: Bool = false) {
            if !line.isEmpty || force { lines.append(line) }
            line = ""
            pendingSpace = false
        }
        for token in tokens(html) {
            switch token {
            case .open(let name, _, let selfClosing):
                if hiddenElements.contains(name) && !selfClosing { hidden += 1 }
                if name == "br" {
                    endLine(force: true)
                } else if name == "td" || name == "th" {
                    if !line.isEmpty { pendingSpace = true }
                } else if blockElements.contains(name) {
                    endLine()
                }
                if name == "pre" && !selfClosing { preDepth += 1 }
                if name == "li" { line = "• " }
            case .close(let name):
                if hiddenElements.contains(name) { hidden = max(0, hidden - 1) }
                if name == "pre" { preDepth = max(0, preDepth - 1) }
                if blockElements.contains(name) { endLine() }
            case .text(let value):
                guard hidden == 0 else { continue }
                if preDepth > 0 {
                    let parts = value.split(separator: "\n", omittingEmptySubsequences: false)
                    for (k, part) in parts.enumerated() {
                        if k > 0 { endLine(force: true) }
                        line += part
                    }
                    continue
                }
                for character in value {
                    if character.isWhitespace {
                        if !line.isEmpty { pendingSpace = true }
                    } else {
                        if pendingSpace {
                            line.append(" ")
                            pendingSpace = false
                        }
                        line.append(character)
                    }
                }
            }
        }
        endLine()
        return lines
    }

    /// Whitespace runs collapsed to one space, ends trimmed (how a browser shows a table cell).
    static func collapsed(_ text: String) -> String {
        var result = ""
        var space = false
        for character in text {
            if character.isWhitespace {
                space = !result.isEmpty
            } else {
                if space { result.append(" ") }
                space = false
                result.append(character)
            }
        }
        return result
    }

    /// `text` with `&amp;`, `&#39;`, `&#x27;` and the other common references decoded; unknown ones kept as written.
    static func decodeReferences(_ text: String) -> String {
        guard text.contains("&") else { return text }
        var result = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            result += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            guard let semicolon = after.prefix(12).firstIndex(of: ";") else {
                result.append("&")
                rest = after
                continue
            }
            let name = after[..<semicolon]
            if let decoded = reference(String(name)) {
                result.unicodeScalars.append(decoded)
                rest = after[after.index(after: semicolon)...]
            } else {
                result.append("&")
                rest = after
            }
        }
        return result + rest
    }

    static func reference(_ name: String) -> Unicode.Scalar? {
        if name.hasPrefix("#") {
            let digits = name.dropFirst()
            let value = digits.first == "x" || digits.first == "X" ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
            // Controls are not decoded into the text: they would reach the terminal.
            guard let value, let scalar = Unicode.Scalar(value), !DisplayWidth.isControl(scalar) else { return nil }
            return scalar
        }
        switch name {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        case "nbsp": return " "
        case "times": return "×"
        case "hellip": return "…"
        case "mdash": return "—"
        case "ndash": return "–"
        case "middot": return "·"
        case "copy": return "©"
        case "deg": return "°"
        case "plusmn": return "±"
        default: return nil
        }
    }

    static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C
    }

    /// The index where `needle` next occurs in `bytes` at or after `start`.
    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int, caseInsensitive: Bool = false) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
        var i = max(0, start)
        while i + needle.count <= bytes.count {
            var k = 0
            while k < needle.count {
                let a = bytes[i + k], b = needle[k]
                if a != b && !(caseInsensitive && isLetter(a) && (a | 0x20) == (b | 0x20)) { break }
                k += 1
            }
            if k == needle.count { return i }
            i += 1
        }
        return nil
    }
}

/// The first `<table>` of an HTML output as a grid of cells, with the text around it.
struct HTMLTable: Hashable, Sendable {
    /// One cell as written: its text, whether it is a `<th>`, and its spans.
    struct Cell: Hashable, Sendable {
        /// The text, whitespace collapsed.
        var text: String
        /// Whether the cell is a header cell (`<th>`).
        var isHeader: Bool
        /// Columns the cell spans (`colspan`), at least 1.
        var columnSpan = 1
        /// Rows the cell spans (`rowspan`), at least 1.
        var rowSpan = 1
    }

    /// Rows of the header (`<thead>`, or leading rows of only `<th>` cells).
    var headerRows: [[Cell]] = []
    /// The other rows.
    var bodyRows: [[Cell]] = []
    /// Lines of text before the table (its caption among them).
    var before: [String] = []
    /// Lines of text after the table (pandas' "20 rows × 10 columns").
    var after: [String] = []

    /// The largest span honoured, so a hostile `colspan="99999999"` cannot blow up the grid.
    static let maxSpan = 1000

    /// The first table in `html`, or nil when there is none with at least one cell.
    static func parse(_ html: String) -> HTMLTable? {
        let tokens = HTML.tokens(html)
        guard let start = tokens.firstIndex(where: { if case .open("table", _, false) = $0 { true } else { false } }) else {
            return nil
        }
        var table = HTMLTable()
        var depth = 0
        var end = tokens.count
        var section = ""
        var row: [Cell]?
        var rowInHead = false
        var cell: Cell?
        var cellText = ""

        func finishCell() {
            guard var done = cell else { return }
            done.text = OutputSanitizer.plainText(HTML.collapsed(cellText))
            if row == nil {
                row = []
                rowInHead = section == "thead"
            }
            row!.append(done)
            cell = nil
            cellText = ""
        }
        func finishRow() {
            finishCell()
            guard let done = row else { return }
            if rowInHead { table.headerRows.append(done) } else { table.bodyRows.append(done) }
            row = nil
        }

        var k = start
        while k < tokens.count {
            let token = tokens[k]
            k += 1
            switch token {
            case .open(let name, let attributes, let selfClosing):
                if name == "table" {
                    depth += 1
                    if depth > 1 { cellText += " " }  // a nested table reads as text of its cell
                    continue
                }
                guard depth == 1 else {
                    if name == "br" || name == "tr" || name == "td" || name == "th" { cellText += " " }
                    continue
                }
                switch name {
                case "thead", "tbody", "tfoot":
                    finishRow()
                    section = name
                case "tr":
                    finishRow()
                    row = []
                    rowInHead = section == "thead"
                case "td", "th":
                    finishCell()
                    cellText = ""
                    guard !selfClosing else {
                        cell = Cell(text: "", isHeader: name == "th")
                        finishCell()
                        continue
                    }
                    let span = { (key: String) in min(maxSpan, max(1, Int(attributes[key] ?? "") ?? 1)) }
                    cell = Cell(text: "", isHeader: name == "th", columnSpan: span("colspan"), rowSpan: span("rowspan"))
                case "br":
                    cellText += " "
                case "caption":
                    finishRow()
                    cellText = ""
                default:
                    break
                }
            case .close(let name):
                if name == "table" {
                    depth -= 1
                    if depth == 0 {
                        end = k
                        k = tokens.count
                    }
                    continue
                }
                guard depth == 1 else { continue }
                switch name {
                case "td", "th": finishCell()
                case "tr", "thead", "tbody", "tfoot": finishRow()
                case "caption":
                    let caption = OutputSanitizer.plainText(HTML.collapsed(cellText))
                    if !caption.isEmpty { table.before.append(caption) }
                    cellText = ""
                default: break
                }
            case .text(let text):
                if cell != nil || depth > 1 { cellText += text } else if section.isEmpty && row == nil { cellText += text }
            }
        }
        finishRow()
        // Without a <thead>, leading rows of header cells only are the header.
        if table.headerRows.isEmpty {
            while let first = table.bodyRows.first, first.allSatisfy(\.isHeader), table.bodyRows.count > 1 {
                table.headerRows.append(table.bodyRows.removeFirst())
            }
        }
        guard table.headerRows.contains(where: { !$0.isEmpty }) || table.bodyRows.contains(where: { !$0.isEmpty }) else { return nil }
        table.before = rebuildText(tokens[..<start]) + table.before
        table.after = rebuildText(tokens[min(end, tokens.count)...])
        return table
    }

    /// The stripped text of a run of tokens, as lines.
    static func rebuildText(_ tokens: ArraySlice<HTML.Token>) -> [String] {
        // Re-serialize only what the stripped renderer needs: text and block boundaries.
        var html = ""
        for token in tokens {
            switch token {
            case .open(let name, _, _): html += "<\(name)>"
            case .close(let name): html += "</\(name)>"
            case .text(let text):
                html += text.replacingAll("&", with: "&amp;").replacingAll("<", with: "&lt;")
            }
        }
        return HTML.text(html).map { OutputSanitizer.plainText($0) }
    }
}

extension String {
    /// Every occurrence of `target` replaced by `replacement` (no Foundation in this module).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        guard contains(target) else { return self }
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
