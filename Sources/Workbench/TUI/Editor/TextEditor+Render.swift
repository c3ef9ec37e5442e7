/// How one line lays out in soft-wrapped rows of a given width.
struct LineLayout: Hashable, Sendable {
    /// The line's Characters.
    var characters: [Character]
    /// The index of the first Character of each row. Only the last row can be empty: the row that
    /// holds the cursor at the end of a line whose last row is exactly full.
    var rowStarts: [Int]
    /// The column, within its row, of each Character and of the end of the line (`count + 1` entries).
    var xs: [Int]
    /// The columns each Character takes (a tab its expansion; a Character that shows nothing 1, for `�`).
    var widths: [Int]

    /// The rows the line takes.
    var rowCount: Int { rowStarts.count }

    /// The row the position before Character `column` is shown on.
    func row(ofColumn column: Int) -> Int {
        var low = 0, high = rowStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if rowStarts[mid] <= column { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// The positions (Character indices) the cursor can take on `row`: a row's last one is its
    /// last Character's start, except on the last row, which also has the line's end.
    func positions(ofRow row: Int) -> ClosedRange<Int> {
        let start = rowStarts[row]
        if row + 1 < rowStarts.count { return start...max(start, rowStarts[row + 1] - 1) }
        return start...characters.count
    }
}

extension TextEditor {
    /// A width for "no wrapping": every line one row.
    static let unlimitedWidth = Int.max / 8

    /// The columns a Character takes in the editor; one for a Character that shows nothing (drawn as `�`).
    static func cellWidth(_ character: Character) -> Int {
        guard let width = DisplayWidth.of(character), width > 0 else { return 1 }
        return width
    }

    /// The columns `text` takes, tabs expanded to 4-column stops.
    static func displayWidth(of text: some StringProtocol) -> Int {
        var x = 0
        for c in text { x += c == "\t" ? 4 - x % 4 : cellWidth(c) }
        return x
    }

    /// `line` laid out in rows `width` columns wide: a row breaks after the last blank before a word
    /// that would not fit (or, with no such blank, before the cluster that would not fit).
    static func layout(_ line: String, width: Int) -> LineLayout {
        let characters = Array(line)
        let width = max(1, width)
        var rowStarts = [0]
        var xs: [Int] = []
        var widths: [Int] = []
        xs.reserveCapacity(characters.count + 1)
        widths.reserveCapacity(characters.count)
        var x = 0
        var rowStart = 0
        var seenText = false
        var lastBreak: Int?  // the Character after the last blank that follows text on this row
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let isTab = character == "\t"
            let isBlank = isTab || character == " "
            var w = isTab ? 4 - x % 4 : cellWidth(character)
            if x + w > width && x > 0 {
                if !isBlank, let start = lastBreak, start > rowStart {
                    // Word wrap: the word so far moves to the next row and is laid out again.
                    xs.removeLast(index - start)
                    widths.removeLast(index - start)
                    rowStarts.append(start)
                    rowStart = start
                    x = 0
                    seenText = false
                    lastBreak = nil
                    index = start
                    continue
                }
                rowStarts.append(index)
                rowStart = index
                x = 0
                seenText = false
                lastBreak = nil
                if isTab { w = 4 }
            }
            if isTab { w = max(1, min(w, width - x)) }
            xs.append(x)
            widths.append(w)
            x += w
            if isBlank {
                if seenText { lastBreak = index + 1 }
            } else {
                seenText = true
            }
            index += 1
        }
        if x >= width && !characters.isEmpty {
            rowStarts.append(characters.count)
            xs.append(0)
        } else {
            xs.append(x)
        }
        return LineLayout(characters: characters, rowStarts: rowStarts, xs: xs, widths: widths)
    }

    /// A width at which `line` surely fits one row: one more than its UTF-8 bytes, as a Character
    /// never takes more columns than it has bytes (tabs aside: a line with a tab gets `Int.max`).
    static func singleRowWidth(_ line: String) -> Int {
        let utf8 = line.utf8
        return utf8.contains(9) ? Int.max : utf8.count + 1
    }

    /// The rows line `index` takes at `width`; a short line is counted without laying it out.
    func rowCount(ofLine index: Int, width: Int) -> Int {
        if singleRowWidths[index] <= width { return 1 }
        return Self.layout(lines[index], width: width).rowCount
    }

    /// The width Up and Down work with.
    var effectiveWrapWidth: Int { wrapWidth > 0 ? wrapWidth : Self.unlimitedWidth }

    /// The row within its line and the column of `position`, at `wrapWidth`.
    func visualRow(of position: TextPosition) -> (row: Int, x: Int) {
        let layout = Self.layout(lines[position.line], width: effectiveWrapWidth)
        let column = min(position.column, layout.characters.count)
        return (layout.row(ofColumn: column), layout.xs[column])
    }

    /// The rows needed to show every line in `width` columns, long lines soft-wrapped.
    public func height(width: Int) -> Int {
        guard width > 0 else { return lines.count }
        var rows = 0
        for index in lines.indices { rows += rowCount(ofLine: index, width: width) }
        return rows
    }

    /// The row (counted from the editor's first row) the cursor is on at `width`: scroll so it is visible.
    public func cursorRow(width: Int) -> Int {
        guard width > 0 else { return cursor.line }
        var rows = 0
        for index in 0..<cursor.line { rows += rowCount(ofLine: index, width: width) }
        return rows + Self.layout(lines[cursor.line], width: width).row(ofColumn: cursor.column)
    }

    /// The position shown at `row` (counted from the editor's first row) and column `x` when
    /// rendered `width` columns wide: where a mouse click puts the cursor.
    public func position(atRow row: Int, x: Int, width: Int) -> TextPosition {
        guard row >= 0 else { return .zero }
        var remaining = row
        for (index, line) in lines.enumerated() {
            let rows = width > 0 ? rowCount(ofLine: index, width: width) : 1
            if remaining < rows {
                let layout = Self.layout(line, width: width > 0 ? width : Self.unlimitedWidth)
                var column = layout.rowStarts[remaining]
                for candidate in layout.positions(ofRow: remaining) where layout.xs[candidate] <= x { column = candidate }
                return TextPosition(line: index, column: column)
            }
            remaining -= rows
        }
        return endPosition
    }

    // MARK: Vertical movement

    /// Moves the cursor `delta` wrapped rows (lines when `wrapWidth` is 0) keeping its column; stops at the text's start or end.
    mutating func moveVertically(by delta: Int, selecting: Bool) {
        let width = effectiveWrapWidth
        var line = cursor.line
        var layout = Self.layout(lines[line], width: width)
        var row = layout.row(ofColumn: cursor.column)
        let goal = goalX ?? layout.xs[cursor.column]
        var remaining = delta
        while remaining < 0 {
            if row > 0 {
                row -= 1
            } else if line > 0 {
                line -= 1
                layout = Self.layout(lines[line], width: width)
                row = layout.rowCount - 1
            } else {
                move(to: .zero, selecting: selecting)
                return
            }
            remaining += 1
        }
        while remaining > 0 {
            if row < layout.rowCount - 1 {
                row += 1
            } else if line < lines.count - 1 {
                line += 1
                layout = Self.layout(lines[line], width: width)
                row = 0
            } else {
                move(to: endPosition, selecting: selecting)
                return
            }
            remaining -= 1
        }
        var column = layout.rowStarts[row]
        for candidate in layout.positions(ofRow: row) where layout.xs[candidate] <= goal { column = candidate }
        move(to: TextPosition(line: line, column: column), selecting: selecting, keepGoal: true)
        goalX = goal
    }

    // MARK: Bracket matching

    static let bracketPairs: [Character: (partner: Character, forward: Bool)] = [
        "(": (")", true), "[": ("]", true), "{": ("}", true),
        ")": ("(", false), "]": ("[", false), "}": ("{", false),
    ]

    /// The longest distance, in lines, a bracket's partner is looked for.
    static let bracketSearchLines = 2000

    /// The bracket next to the cursor (before it first, then after it) and its partner; nil when
    /// there is none, or it is in a string or comment, or its partner is not found.
    public var matchingBracket: (bracket: TextPosition, partner: TextPosition)? {
        let characters = Array(lines[cursor.line])
        let skipped = skippedColumns(ofLine: cursor.line, count: characters.count)
        for column in [cursor.column - 1, cursor.column] where column >= 0 && column < characters.count {
            guard let pair = Self.bracketPairs[characters[column]], !skipped[column] else { continue }
            let start = TextPosition(line: cursor.line, column: column)
            if let partner = findPartner(of: characters[column], pair.partner, forward: pair.forward, from: start) {
                return (start, partner)
            }
        }
        return nil
    }

    /// For each Character of line `index`, whether it is inside a string, comment or code token (brackets there do not count).
    func skippedColumns(ofLine index: Int, count: Int) -> [Bool] {
        var skipped = [Bool](repeating: false, count: count)
        for token in tokens(ofLine: index) where token.kind == .string || token.kind == .comment || token.kind == .code {
            for i in token.range where i < count { skipped[i] = true }
        }
        return skipped
    }

    func findPartner(of bracket: Character, _ partner: Character, forward: Bool, from start: TextPosition) -> TextPosition? {
        var depth = 0
        var line = start.line
        var scanned = 0
        let bytes = (bracket.asciiValue, partner.asciiValue)
        while line >= 0 && line < lines.count && scanned <= Self.bracketSearchLines {
            defer {
                line += forward ? 1 : -1
                scanned += 1
            }
            // Most lines hold neither bracket: skip them without tokenizing.
            if line != start.line, let open = bytes.0, let close = bytes.1,
                !lines[line].utf8.contains(where: { $0 == open || $0 == close })
            {
                continue
            }
            let characters = Array(lines[line])
            let skipped = skippedColumns(ofLine: line, count: characters.count)
            let columns: [Int]
            if line == start.line {
                columns = forward ? Array(start.column..<characters.count) : Array((0...start.column).reversed())
            } else {
                columns = forward ? Array(0..<characters.count) : Array((0..<characters.count).reversed())
            }
            for column in columns where !skipped[column] {
                if characters[column] == bracket {
                    depth += 1
                } else if characters[column] == partner {
                    depth -= 1
                    if depth == 0 { return TextPosition(line: line, column: column) }
                }
            }
        }
        return nil
    }

    // MARK: Rendering

    /// Draws the rows from `scrollRow` on into `rect` (only those rows are laid out and highlighted);
    /// returns the cursor's screen position when `focused` and the cursor is inside `rect`.
    ///
    /// When focused, selected text gets the theme's selection attributes (a selected line break
    /// shows as one selected cell after its line) and the bracket at the cursor and its partner are marked.
    public func render(into screen: inout ScreenBuffer, rect: Rect, focused: Bool, scrollRow: Int = 0, theme: EditorTheme = .standard) -> Position? {
        screen.fill(rect, style: theme.text)
        guard rect.width > 0 && rect.height > 0 else { return nil }
        let width = rect.width
        let top = max(0, scrollRow)
        var line = 0
        var rowsBefore = 0
        while line < lines.count {
            let rows = rowCount(ofLine: line, width: width)
            if rowsBefore + rows > top { break }
            rowsBefore += rows
            line += 1
        }
        let selection = focused ? self.selection : nil
        var marked: Set<TextPosition> = []
        if focused, let match = matchingBracket {
            marked = [match.bracket, match.partner]
        }
        var cursorPosition: Position?
        var y = 0
        var skip = top - rowsBefore
        while y < rect.height && line < lines.count {
            let layout = Self.layout(lines[line], width: width)
            let styles = self.styles(ofLine: line, layout: layout, selection: selection, marked: marked, theme: theme)
            let cursorRow = focused && line == cursor.line ? layout.row(ofColumn: min(cursor.column, layout.characters.count)) : -1
            for row in skip..<layout.rowCount where y < rect.height {
                let start = layout.rowStarts[row]
                let end = row + 1 < layout.rowCount ? layout.rowStarts[row + 1] : layout.characters.count
                for i in start..<end {
                    draw(layout.characters[i], width: layout.widths[i], style: styles[i], x: rect.x + layout.xs[i], y: rect.y + y, clip: rect, theme: theme, into: &screen)
                }
                if row == layout.rowCount - 1, let selection, line < lines.count - 1,
                    selection.lowerBound <= TextPosition(line: line, column: layout.characters.count),
                    TextPosition(line: line + 1, column: 0) <= selection.upperBound
                {
                    var style = theme.text
                    style.attributes.formUnion(theme.selection)
                    let x = layout.xs[layout.characters.count]
                    if x < width { screen.write(" ", x: rect.x + x, y: rect.y + y, style: style, clip: rect) }
                }
                if row == cursorRow {
                    cursorPosition = Position(x: rect.x + min(layout.xs[min(cursor.column, layout.characters.count)], width - 1), y: rect.y + y)
                }
                y += 1
            }
            skip = 0
            line += 1
        }
        return cursorPosition
    }

    /// The style of each Character of line `index`: syntax, then selection, then bracket marks.
    func styles(ofLine index: Int, layout: LineLayout, selection: Range<TextPosition>?, marked: Set<TextPosition>, theme: EditorTheme) -> [Style] {
        var styles = [Style](repeating: theme.text, count: layout.characters.count)
        for token in tokens(ofLine: index) {
            let style = theme.style(for: token.kind)
            for i in token.range where i < styles.count { styles[i] = style }
        }
        if let selection, selection.lowerBound.line <= index, selection.upperBound.line >= index {
            let from = selection.lowerBound.line == index ? selection.lowerBound.column : 0
            let to = selection.upperBound.line == index ? selection.upperBound.column : styles.count
            if from < to {
                for i in from..<min(to, styles.count) { styles[i].attributes.formUnion(theme.selection) }
            }
        }
        for position in marked where position.line == index && position.column < styles.count {
            let mark = theme.bracketMatch
            if mark.foreground != .default { styles[position.column].foreground = mark.foreground }
            if mark.background != .default { styles[position.column].background = mark.background }
            styles[position.column].attributes.formUnion(mark.attributes)
        }
        return styles
    }

    /// Draws one Character: a tab as spaces, one that shows nothing as `�` in the invisible style.
    func draw(_ character: Character, width: Int, style: Style, x: Int, y: Int, clip: Rect, theme: EditorTheme, into screen: inout ScreenBuffer) {
        if character == "\t" {
            screen.write(String(repeating: " ", count: width), x: x, y: y, style: style, clip: clip)
            return
        }
        guard let shown = DisplayWidth.of(character), shown > 0 else {
            var invisible = theme.invisible
            invisible.attributes.formUnion(style.attributes.intersection(theme.selection))
            screen.write("\u{FFFD}", x: x, y: y, style: invisible, clip: clip)
            return
        }
        screen.write(String(character), x: x, y: y, style: style, clip: clip)
    }
}
