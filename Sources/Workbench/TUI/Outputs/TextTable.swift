/// An HTML table laid out as aligned text: header rows, a rule, body rows, and the notes around it.
///
/// Columns are measured once (in display columns, so wide characters line up); a line is drawn
/// for a given width on demand. Numbers are right-aligned, text left-aligned, index columns
/// (pandas' `<th>` row labels) bold. When the columns do not fit, the ones on the right are
/// left out and a `…` column says so, so a narrow terminal shows whole columns, never wrapped rows.
struct TextTable: Hashable, Sendable {
    /// One slot of the grid.
    struct Slot: Hashable, Sendable {
        /// The text (empty where a row span continues, as pandas' text output leaves repeated labels blank).
        var text: String
        /// Whether it came from a `<th>`.
        var isHeader: Bool
        /// Columns the text spans from here; 0 for a column covered by a span to its left.
        var span: Int
    }

    /// Header rows, each `columns` slots.
    private(set) var header: [[Slot]] = []
    /// Body rows, each `columns` slots.
    private(set) var body: [[Slot]] = []
    /// The number of columns.
    private(set) var columns = 0
    /// Leading columns holding row labels.
    private(set) var indexColumns = 0
    /// Each column's width.
    private(set) var widths: [Int] = []
    /// Whether each column holds numbers (right-aligned).
    private(set) var numeric: [Bool] = []
    /// Lines before and after the table.
    private(set) var before: [String] = []
    private(set) var after: [String] = []

    /// Spaces between columns.
    static let gap = 2
    /// The widest a column gets; longer texts end in `…`.
    static let maxColumnWidth = 40
    /// The most rows or columns laid out; a bigger table is cut with a note (pandas never sends one this big).
    static let maxRows = 5000
    static let maxColumns = 500

    static let headerStyle = Style(attributes: .bold)
    static let ruleStyle = Style(foreground: .ansi(8))
    static let noteStyle = Style(foreground: .ansi(8), attributes: .italic)
    static let ellipsisStyle = Style(foreground: .ansi(8))

    /// The table laid out from `table`.
    init(_ table: HTMLTable) {
        before = table.before
        after = table.after
        var columnCount = 0
        header = Self.grid(table.headerRows, columns: &columnCount)
        var bodyRows = table.bodyRows
        if bodyRows.count > Self.maxRows {
            after.insert("(\(bodyRows.count - Self.maxRows) more rows not shown)", at: 0)
            bodyRows.removeLast(bodyRows.count - Self.maxRows)
        }
        body = Self.grid(bodyRows, columns: &columnCount)
        columns = min(columnCount, Self.maxColumns)
        func pad(_ rows: inout [[Slot]]) {
            for i in rows.indices {
                if rows[i].count > columns { rows[i].removeLast(rows[i].count - columns) }
                while rows[i].count < columns { rows[i].append(Slot(text: "", isHeader: false, span: 1)) }
                // A span running past the last column ends there.
                for c in rows[i].indices where rows[i][c].span > columns - c { rows[i][c].span = columns - c }
            }
        }
        pad(&header)
        pad(&body)
        // Index columns: leading columns whose body cells are all header cells.
        if !body.isEmpty {
            while indexColumns < columns && body.allSatisfy({ $0[indexColumns].isHeader }) { indexColumns += 1 }
        }
        numeric = (0..<columns).map { c in
            guard c >= indexColumns else { return false }
            var sawNumber = false
            for row in body {
                let text = row[c].text
                if text.isEmpty || text == "..." || text == "…" || Self.isMissing(text) { continue }
                guard Self.isNumber(text) else { return false }
                sawNumber = true
            }
            return sawNumber
        }
        widths = Array(repeating: 0, count: columns)
        for row in header + body {
            for (c, slot) in row.enumerated() where slot.span == 1 {
                widths[c] = max(widths[c], min(Self.maxColumnWidth, DisplayWidth.of(slot.text)))
            }
        }
        // A spanning cell wider than the columns under it widens the last of them.
        for row in header + body {
            for (c, slot) in row.enumerated() where slot.span > 1 {
                let need = min(Self.maxColumnWidth, DisplayWidth.of(slot.text))
                let have = widths[c..<(c + slot.span)].reduce(0, +) + Self.gap * (slot.span - 1)
                if need > have { widths[c + slot.span - 1] += need - have }
            }
        }
    }

    /// Rows expanded to a grid: spans make covered slots, row spans leave blank slots below.
    static func grid(_ rows: [[HTMLTable.Cell]], columns: inout Int) -> [[Slot]] {
        var grid: [[Slot]] = []
        var pending: [Int: (rows: Int, isHeader: Bool)] = [:]
        for row in rows {
            var slots: [Slot] = []
            func fillPending() {
                while let carried = pending[slots.count] {
                    slots.append(Slot(text: "", isHeader: carried.isHeader, span: 1))
                    pending[slots.count - 1] = carried.rows > 1 ? (carried.rows - 1, carried.isHeader) : nil
                }
            }
            for cell in row {
                fillPending()
                guard slots.count < maxColumns else { break }
                let start = slots.count
                let span = min(cell.columnSpan, maxColumns - start)
                slots.append(Slot(text: cell.text, isHeader: cell.isHeader, span: span))
                for _ in 1..<max(1, span) { slots.append(Slot(text: "", isHeader: cell.isHeader, span: 0)) }
                if cell.rowSpan > 1 {
                    for c in start..<(start + span) { pending[c] = (cell.rowSpan - 1, cell.isHeader) }
                }
            }
            fillPending()
            // Row spans from earlier rows that reach past this row's last cell.
            if let last = pending.keys.max(), last >= slots.count {
                for c in slots.count...last {
                    if let carried = pending[c] {
                        slots.append(Slot(text: "", isHeader: carried.isHeader, span: 1))
                        pending[c] = carried.rows > 1 ? (carried.rows - 1, carried.isHeader) : nil
                    } else {
                        slots.append(Slot(text: "", isHeader: false, span: 1))
                    }
                }
            }
            columns = max(columns, slots.count)
            grid.append(slots)
        }
        return grid
    }

    /// Whether `text` reads as a number: `-3.5`, `1,234`, `1e-05`, `12%`, `0x1F`, `(3+4j)` is not.
    static func isNumber(_ text: String) -> Bool {
        var scalars = Substring(text.trimmingSpaces)
        if scalars.hasSuffix("%") { scalars = scalars.dropLast() }
        if scalars.first == "-" || scalars.first == "+" || scalars.first == "−" { scalars = scalars.dropFirst() }
        if scalars.lowercased() == "inf" { return true }
        if scalars.hasPrefix("0x") || scalars.hasPrefix("0X") {
            return scalars.count > 2 && scalars.dropFirst(2).allSatisfy(\.isHexDigit)
        }
        var digits = 0
        var dot = false
        var exponent = false
        var previous: Character = " "
        for character in scalars {
            switch character {
            case "0"..."9": digits += 1
            case ",", "_": if digits == 0 || dot || exponent { return false }
            case ".": if dot || exponent { return false } else { dot = true }
            case "e", "E": if exponent || digits == 0 { return false } else { exponent = true }
            case "-", "+": if previous != "e" && previous != "E" { return false }
            default: return false
            }
            previous = character
        }
        return digits > 0 && !["e", "E", ",", "_"].contains(previous)
    }

    /// Whether `text` is how pandas and numpy show a missing value.
    static func isMissing(_ text: String) -> Bool {
        ["NaN", "nan", "<NA>", "NaT", "None", "null", "-", ""].contains(text)
    }

    /// How many lines the table takes (independent of the width).
    var lineCount: Int { before.count + header.count + (header.isEmpty ? 0 : 1) + body.count + after.count }

    /// The leading columns that fit in `width`, and whether the `…` marker follows them
    /// (not when even one column and the marker do not fit: then the first column is cut to the width).
    func visibleColumns(width: Int) -> (count: Int, cut: Bool) {
        let total = widths.reduce(0, +) + Self.gap * max(0, columns - 1)
        if total <= width { return (columns, false) }
        if width < Self.gap + 2 { return (min(1, columns), false) }
        var used = 0
        var count = 0
        for c in 0..<columns {
            let add = (count == 0 ? 0 : Self.gap) + widths[c]
            // Room for this column and for the `…` that says more follow.
            if count > 0 && used + add + Self.gap + 1 > width { break }
            used += add
            count += 1
        }
        return (count, count < columns)
    }

    /// Line `index` drawn for `width` columns.
    func line(_ index: Int, width: Int) -> [Span] {
        var i = index
        if i < before.count { return [Span(before[i], style: Self.noteStyle)] }
        i -= before.count
        if i < header.count { return row(header[i], isHeader: true, width: width) }
        i -= header.count
        if !header.isEmpty {
            if i == 0 { return rule(width: width) }
            i -= 1
        }
        if i < body.count { return row(body[i], isHeader: false, width: width) }
        i -= body.count
        if i < after.count { return [Span(after[i], style: Self.noteStyle)] }
        return []
    }

    /// The rule under the header.
    func rule(width: Int) -> [Span] {
        let (count, cut) = visibleColumns(width: width)
        var length = widths[0..<count].reduce(0, +) + Self.gap * max(0, count - 1)
        if cut { length = min(length, width - Self.gap - 1) + Self.gap + 1 }
        return [Span(String(repeating: "─", count: max(0, min(length, width))), style: Self.ruleStyle)]
    }

    /// One row of slots as spans, padded and aligned, cut to the columns that fit.
    func row(_ slots: [Slot], isHeader: Bool, width: Int) -> [Span] {
        let (count, cut) = visibleColumns(width: width)
        var spans: [Span] = []
        var pendingSpaces = 0
        func add(_ text: String, _ style: Style) {
            if text.isEmpty { return }
            if pendingSpaces > 0 {
                spans.append(Span(String(repeating: " ", count: pendingSpaces)))
                pendingSpaces = 0
            }
            if let last = spans.last, last.style == style {
                spans[spans.count - 1].text += text
            } else {
                spans.append(Span(text, style: style))
            }
        }
        var c = 0
        while c < count {
            let slot = slots[c]
            if c > 0 { pendingSpaces += Self.gap }
            let span = max(1, min(slot.span, count - c))
            var cellWidth = widths[c..<(c + span)].reduce(0, +) + Self.gap * (span - 1)
            // A first column wider than the screen is cut to leave room for the marker.
            if c == 0 { cellWidth = min(cellWidth, max(1, cut ? width - Self.gap - 1 : width)) }
            let text = Self.fit(slot.text, width: cellWidth)
            let padding = cellWidth - DisplayWidth.of(text)
            let right = slot.span == 1 && numeric[c] && !(isHeader && c < indexColumns)
            let style: Style
            if text == "..." || text == "…" {
                style = Self.ellipsisStyle
            } else if isHeader || c < indexColumns {
                style = Self.headerStyle
            } else {
                style = .plain
            }
            if right {
                pendingSpaces += padding
                add(text, style)
            } else {
                add(text, style)
                pendingSpaces += padding
            }
            c += span
        }
        if cut {
            pendingSpaces += Self.gap
            add("…", Self.ellipsisStyle)
        }
        return spans
    }

    /// `text` cut to `width` columns, ending in `…` when cut.
    static func fit(_ text: String, width: Int) -> String {
        guard DisplayWidth.of(text) > width else { return text }
        guard width > 0 else { return "" }
        var result = ""
        var used = 0
        for character in text {
            let w = DisplayWidth.of(character) ?? 0
            if used + w > width - 1 { break }
            result.append(character)
            used += w
        }
        return result + "…"
    }
}

extension String {
    /// The string without leading and trailing spaces.
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
