internal import Notebook

/// The find bar: a query (plain or a regular expression, with or without case), its matches across the
/// whole file (every cell of a notebook), the current one, and a replacement.
public struct FindBar: Sendable, Equatable {
    /// Which line of the bar takes typing.
    public enum Field: Sendable, Equatable {
        /// The text to find.
        case find
        /// The text to put in its place.
        case replace
    }

    /// The text (or pattern) to find.
    public var query = ""
    /// What replaces a match (`$1` … `$9` and `$0` name a regular expression's groups; `$$` is a dollar).
    public var replacement = ""
    /// The field typed into.
    public var field = Field.find
    /// Whether case must match.
    public var caseSensitive = false
    /// Whether the query is a regular expression.
    public var regex = false
    /// The matches in the active file, in file order.
    public private(set) var matches: [FindMatch] = []
    /// The current match's index in `matches`.
    public var current: Int?
    /// Why the query is not a valid regular expression.
    public private(set) var error: String?
    /// What the matches were found in: the tab id, the file's change count, and the query settings.
    var searched: Searched?

    struct Searched: Sendable, Equatable {
        var tab: Int
        var change: Int
        var query: String
        var caseSensitive: Bool
        var regex: Bool
    }

    /// An empty find bar.
    public init() {}

    /// The pattern for the query (escaped unless it is a regular expression), or nil with `error` set.
    func pattern() -> Regex<AnyRegexOutput>? {
        guard !query.isEmpty else { return nil }
        let source = regex ? query : Self.escape(query)
        do {
            var pattern = try Regex(source)
            if !caseSensitive { pattern = pattern.ignoresCase() }
            return pattern
        } catch {
            return nil
        }
    }

    /// `text` with every regular expression metacharacter escaped, so it matches itself.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for c in text {
            if "\\^$.|?*+()[]{}".contains(c) { escaped.append("\\") }
            escaped.append(c)
        }
        return escaped
    }

    /// The matches of the query in `lines` of cell `cell`, none empty.
    static func matches(of pattern: Regex<AnyRegexOutput>, in lines: [Substring], cell: Int) -> [FindMatch] {
        var found: [FindMatch] = []
        for (number, line) in lines.enumerated() {
            for match in line.matches(of: pattern) where !match.range.isEmpty {
                let lower = line.distance(from: line.startIndex, to: match.range.lowerBound)
                let upper = lower + line[match.range].count
                found.append(FindMatch(cell: cell, line: number, columns: lower..<upper))
            }
        }
        return found
    }

    /// Finds the matches again in `texts` (one per cell; a text file is one) if the file or the query changed.
    mutating func refresh(tab: Int, change: Int, texts: () -> [String]) {
        let key = Searched(tab: tab, change: change, query: query, caseSensitive: caseSensitive, regex: regex)
        guard key != searched else { return }
        let previous = current.flatMap { matches.indices.contains($0) ? matches[$0] : nil }
        searched = key
        error = nil
        matches = []
        if !query.isEmpty {
            if let pattern = pattern() {
                for (cell, text) in texts().enumerated() {
                    matches += Self.matches(of: pattern, in: text.split(separator: "\n", omittingEmptySubsequences: false), cell: cell)
                }
            } else {
                error = "not a valid regular expression"
            }
        }
        if matches.isEmpty {
            current = nil
        } else if let previous {
            current = matches.firstIndex { !($0 < previous) } ?? 0
        } else if current != nil {
            current = 0
        }
    }

    /// The text that replaces `match` in `line`: the replacement with `$n` filled from the match's groups.
    func replacementText(for match: FindMatch, in line: Substring) -> String {
        guard regex, let pattern = pattern() else { return replacement }
        let start = line.index(line.startIndex, offsetBy: match.columns.lowerBound)
        guard let found = try? pattern.prefixMatch(in: line[start...]) else { return replacement }
        var result = ""
        var characters = replacement.makeIterator()
        while let c = characters.next() {
            guard c == "$" else {
                result.append(c)
                continue
            }
            guard let next = characters.next() else {
                result.append("$")
                break
            }
            if next == "$" {
                result.append("$")
            } else if let digit = next.wholeNumberValue, digit < found.output.count {
                if let group = found.output[digit].substring { result += group }
            } else {
                result.append("$")
                result.append(next)
            }
        }
        return result
    }

    /// `text` (a cell or file) with `matches` (all in it, in order) replaced.
    func replacing(_ matches: [FindMatch], in text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for match in matches.reversed() where lines.indices.contains(match.line) {
            let line = Substring(lines[match.line])
            guard match.columns.upperBound <= line.count else { continue }
            let replacement = replacementText(for: match, in: line)
            let lower = line.index(line.startIndex, offsetBy: match.columns.lowerBound)
            let upper = line.index(line.startIndex, offsetBy: match.columns.upperBound)
            lines[match.line] = String(line[..<lower]) + replacement + String(line[upper...])
        }
        return lines.joined(separator: "\n")
    }
}

/// Where a match is: the cell (0 in a text file), the line in it, and the Characters of that line.
public struct FindMatch: Sendable, Equatable, Comparable {
    /// The cell's index.
    public var cell: Int
    /// The line within the cell.
    public var line: Int
    /// The Characters of the line.
    public var columns: Range<Int>

    /// File order.
    public static func < (a: FindMatch, b: FindMatch) -> Bool {
        (a.cell, a.line, a.columns.lowerBound) < (b.cell, b.line, b.columns.lowerBound)
    }
}

// MARK: Update

extension Workspace.State {
    /// Opens the find bar (a notebook leaves edit mode, so every cell shows its text as matched).
    mutating func openFind() {
        if find == nil { find = FindBar() }
        find?.field = .find
        withNotebook(at: active) { if $0.mode == .edit { $0.leaveEdit() } }
        if case .text(let text) = document, let selected = text.editor.selectedText, !selected.contains("\n") {
            find?.query = selected
        }
        layout()
        refreshFind()
    }

    /// Finds again if the file or the query changed since the last search.
    mutating func refreshFind() {
        guard var bar = find, let document else { return }
        let id = tabs[active].id
        switch document {
        case .notebook(let notebook):
            bar.refresh(tab: id, change: notebook.change) { notebook.cells.map(\.source) }
        case .text(let text):
            bar.refresh(tab: id, change: text.editor.changeCount) { [text.editor.text] }
        }
        find = bar
    }

    /// Keys while the find bar is open.
    mutating func findKey(_ input: InputEvent) {
        guard var bar = find else { return }
        switch input {
        case .paste(let text):
            let line = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            if bar.field == .find { bar.query += line } else { bar.replacement += line }
            find = bar
        case .key(let key):
            switch (key.key, key.modifiers) {
            case (.escape, _):
                find = nil
                layout()
            case (.tab, _):
                bar.field = bar.field == .find ? .replace : .find
                find = bar
            case (.enter, []) where bar.field == .replace:
                replaceCurrent()
            case (.enter, []), (.down, []), (.function(3), []):
                step(by: 1)
            case (.up, []), (.enter, .shift), (.function(3), .shift):
                step(by: -1)
            case (.character("c"), .alt):
                bar.caseSensitive.toggle()
                find = bar
            case (.character("r"), .alt):
                bar.regex.toggle()
                find = bar
            case (.character("a"), .alt):
                replaceAll()
            case (.character("z"), .control):
                undoReplace()
            case (.backspace, _):
                if bar.field == .find {
                    if !bar.query.isEmpty { bar.query.removeLast() }
                } else if !bar.replacement.isEmpty {
                    bar.replacement.removeLast()
                }
                find = bar
            case (.character(let c), let modifiers) where modifiers.subtracting(.shift).isEmpty:
                if bar.field == .find { bar.query.append(c) } else { bar.replacement.append(c) }
                find = bar
            default:
                break
            }
        default:
            break
        }
        refreshFind()
        if case .key(let key) = input, case .character = key.key, key.modifiers.subtracting(.shift).isEmpty, find?.field == .find {
            // Typing in the find field jumps to the first match from the cursor on.
            find?.current = nil
            step(by: 1)
        }
    }

    /// Moves to the next (1) or previous (-1) match, from the current one or else from the cursor, and shows it.
    mutating func step(by direction: Int) {
        refreshFind()
        guard var bar = find, !bar.matches.isEmpty else {
            if let bar = find, !bar.query.isEmpty { say(bar.error ?? "no match for \(bar.query)", error: bar.error != nil) }
            return
        }
        let count = bar.matches.count
        if let current = bar.current {
            bar.current = (current + direction + count) % count
        } else {
            let here = cursorMatchPosition
            if direction > 0 {
                bar.current = bar.matches.firstIndex { !($0 < here) } ?? 0
            } else {
                bar.current = bar.matches.lastIndex { $0 < here } ?? count - 1
            }
        }
        find = bar
        reveal(bar.matches[bar.current!])
    }

    /// Where the cursor is, as a match position: the selected cell's start, or the text cursor.
    var cursorMatchPosition: FindMatch {
        switch document {
        case .notebook(let notebook): FindMatch(cell: notebook.selected, line: 0, columns: 0..<0)
        case .text(let text):
            FindMatch(cell: 0, line: text.editor.cursor.line, columns: text.editor.cursor.column..<text.editor.cursor.column)
        case nil: FindMatch(cell: 0, line: 0, columns: 0..<0)
        }
    }

    /// Scrolls `match` into view: a notebook selects its cell, a text file selects the match.
    mutating func reveal(_ match: FindMatch) {
        switch document {
        case .notebook:
            withNotebook(at: active) { notebook in
                if notebook.mode == .edit { notebook.leaveEdit() }
                guard notebook.cells.indices.contains(match.cell) else { return }
                notebook.select(match.cell)
                notebook.keepSelectionVisible()
                let row = notebook.cellTops().tops[match.cell] + 1 + match.line
                let page = notebook.pageHeight
                if row < notebook.scrollTop || row >= notebook.scrollTop + page {
                    notebook.scrollTop = max(0, row - page / 2)
                    notebook.follow = false
                    notebook.keepSelectionVisible()
                }
            }
        case .text(var text):
            text.editor.select(
                from: TextPosition(line: match.line, column: match.columns.lowerBound),
                to: TextPosition(line: match.line, column: match.columns.upperBound))
            text.keepCursorVisible()
            tabs[active].document = .text(text)
        case nil:
            break
        }
    }

    /// Replaces the current match (or moves to the first one) and goes on to the next.
    mutating func replaceCurrent() {
        refreshFind()
        guard let bar = find, let current = bar.current, bar.matches.indices.contains(current) else {
            step(by: 1)
            return
        }
        let match = bar.matches[current]
        switch document {
        case .notebook(let notebook):
            guard notebook.cells.indices.contains(match.cell) else { return }
            let before = notebook.cells[match.cell].source
            let after = bar.replacing([match], in: before)
            replaceInNotebook([(match.cell, after)])
            say("replaced 1 match")
        case .text(var text):
            let line = Substring(text.editor.lines[match.line])
            let replacement = bar.replacementText(for: match, in: line)
            text.editor.replace(
                TextPosition(line: match.line, column: match.columns.lowerBound)..<TextPosition(line: match.line, column: match.columns.upperBound),
                with: replacement)
            tabs[active].document = .text(text)
        case nil:
            return
        }
        // The next match is the first after the replaced text.
        let replacedEnd = FindMatch(cell: match.cell, line: match.line, columns: match.columns.lowerBound..<match.columns.lowerBound)
        find?.current = nil
        refreshFind()
        guard var next = find, !next.matches.isEmpty else { return }
        next.current = next.matches.firstIndex { $0 > replacedEnd } ?? 0
        find = next
        reveal(next.matches[next.current!])
    }

    /// Replaces every match in the file, as one undo step (Ctrl-Z in the find bar).
    mutating func replaceAll() {
        refreshFind()
        guard let bar = find, !bar.matches.isEmpty else {
            say(find?.error ?? "nothing to replace", error: find?.error != nil)
            return
        }
        let count = bar.matches.count
        switch document {
        case .notebook(let notebook):
            var changes: [(Int, String)] = []
            for cell in notebook.cells.indices {
                let inCell = bar.matches.filter { $0.cell == cell }
                guard !inCell.isEmpty else { continue }
                changes.append((cell, bar.replacing(inCell, in: notebook.cells[cell].source)))
            }
            replaceInNotebook(changes)
            say("replaced \(count) match\(count == 1 ? "" : "es") in \(changes.count) cell\(changes.count == 1 ? "" : "s") — Ctrl-Z undoes")
        case .text(var text):
            let replaced = bar.replacing(bar.matches, in: text.editor.text)
            let cursor = text.editor.cursor
            text.editor.replace(.zero..<text.editor.endPosition, with: replaced)
            text.editor.moveCursor(to: cursor)
            text.keepCursorVisible()
            tabs[active].document = .text(text)
            say("replaced \(count) match\(count == 1 ? "" : "es") — Ctrl-Z undoes")
        case nil:
            return
        }
        find?.current = nil
        refreshFind()
    }

    /// Sets the sources of notebook cells (index, new text) as one change, remembered for `undoReplace`.
    mutating func replaceInNotebook(_ changes: [(cell: Int, text: String)]) {
        let id = tabs[active].id
        var step = Workspace.Replacement(tab: id, cells: [])
        withNotebook(at: active) { notebook in
            if notebook.mode == .edit { notebook.leaveEdit() }
            for (cell, text) in changes where notebook.cells.indices.contains(cell) {
                let before = notebook.cells[cell].source
                guard before != text else { continue }
                step.cells.append(.init(key: notebook.cells[cell].key, before: before, after: text))
                notebook.cells[cell].setSource(text)
            }
            if !step.cells.isEmpty { notebook.touch() }
        }
        if !step.cells.isEmpty {
            replacements.append(step)
            if replacements.count > 100 { replacements.removeFirst() }
        }
    }

    /// Undoes the last replace in this file: a notebook's cells get their text back (all in one step); a text file's editor undoes.
    mutating func undoReplace() {
        switch document {
        case .notebook:
            let id = tabs[active].id
            guard let last = replacements.lastIndex(where: { $0.tab == id }) else {
                say("no replace to undo")
                return
            }
            let step = replacements.remove(at: last)
            var restored = 0
            var skipped = 0
            withNotebook(at: active) { notebook in
                if notebook.mode == .edit { notebook.leaveEdit() }
                for change in step.cells {
                    guard let i = notebook.index(of: change.key), notebook.cells[i].source == change.after else {
                        skipped += 1
                        continue
                    }
                    notebook.cells[i].setSource(change.before)
                    restored += 1
                }
                if restored > 0 { notebook.touch() }
            }
            say("undid the replace in \(restored) cell\(restored == 1 ? "" : "s")" + (skipped > 0 ? " (\(skipped) edited since, left as they are)" : ""))
        case .text(var text):
            guard text.editor.canUndo else {
                say("nothing to undo")
                return
            }
            text.editor.undo()
            text.keepCursorVisible()
            tabs[active].document = .text(text)
        case nil:
            break
        }
        find?.current = nil
        refreshFind()
    }
}

// MARK: Render

extension Workspace {
    /// A match: black on yellow, underlined (so it shows without colour too).
    static func matchStyle(_ style: inout Style) {
        style.foreground = .black
        style.background = .yellow
        style.attributes.insert(.underline)
    }

    /// The current match: black on cyan, bold and reversed.
    static func currentMatchStyle(_ style: inout Style) {
        style.foreground = .black
        style.background = .cyan
        style.attributes.formUnion([.bold, .reverse])
    }

    /// The find bar's two rows at `y`: the query with the match count and toggles, then the replacement with its keys.
    static func drawFindBar(_ bar: FindBar, y: Int, into buffer: inout ScreenBuffer) {
        guard y + 1 < buffer.height else { return }
        let width = buffer.width
        let label = Style(foreground: .cyan, attributes: .bold)
        let field = Style(attributes: .underline)
        buffer.fill(Rect(x: 0, y: y, width: width, height: 2))
        var x = buffer.write(bar.field == .find ? "▸ Find:    " : "  Find:    ", x: 0, y: y, style: label)
        x = buffer.write(bar.query, x: x, y: y, style: field)
        if bar.field == .find { buffer.cursor = Position(x: min(x, width - 1), y: y) }
        var status: String
        if let error = bar.error {
            status = error
        } else if bar.query.isEmpty {
            status = "type to find"
        } else if bar.matches.isEmpty {
            status = "no matches"
        } else {
            status = "\(bar.current.map { String($0 + 1) } ?? "-")/\(bar.matches.count)"
        }
        x = buffer.write("  " + status, x: x, y: y, style: bar.error != nil ? NotebookApp.errorStyle : Style(attributes: .bold))
        let toggles = "  [\(bar.caseSensitive ? "x" : " ")] Aa case Alt-C  [\(bar.regex ? "x" : " ")] .* regex Alt-R"
        buffer.write(toggles, x: x, y: y, style: NotebookApp.noteStyle)
        x = buffer.write(bar.field == .replace ? "▸ Replace: " : "  Replace: ", x: 0, y: y + 1, style: label)
        x = buffer.write(bar.replacement, x: x, y: y + 1, style: field)
        if bar.field == .replace { buffer.cursor = Position(x: min(x, width - 1), y: y + 1) }
        buffer.write("  Enter replace · Alt-A all · Ctrl-Z undo · Esc", x: x, y: y + 1, style: NotebookApp.noteStyle)
    }

    /// Marks the visible matches in a notebook drawn into `buffer` (cells not being edited).
    static func highlight(_ bar: FindBar, in notebook: NotebookApp.State, into buffer: inout ScreenBuffer) {
        guard !bar.matches.isEmpty else { return }
        let page = max(0, buffer.height - 1)
        let tops = notebook.cellTops().tops
        for (index, match) in bar.matches.enumerated() {
            guard notebook.cells.indices.contains(match.cell), !(notebook.mode == .edit && match.cell == notebook.selected) else { continue }
            let y = tops[match.cell] - notebook.scrollTop + 1 + match.line
            guard y >= 0, y < page, match.line < notebook.cells[match.cell].sourceLines.count else { continue }
            let raw = notebook.cells[match.cell].source.split(separator: "\n", omittingEmptySubsequences: false)
            guard raw.indices.contains(match.line) else { continue }
            let line = raw[match.line]
            let x0 = NotebookApp.textX + displayWidth(of: line.prefix(match.columns.lowerBound))
            let x1 = NotebookApp.textX + displayWidth(of: line.prefix(match.columns.upperBound))
            buffer.restyle(Rect(x: x0, y: y, width: max(1, x1 - x0), height: 1), index == bar.current ? currentMatchStyle : matchStyle)
        }
    }

    /// The columns `text` takes as a cell shows it (tabs expanded).
    static func displayWidth(of text: Substring) -> Int {
        DisplayWidth.of(NotebookView.sourceLines(String(text)).first ?? "")
    }

    /// Marks the visible matches in a text file drawn into `buffer`.
    static func highlight(_ bar: FindBar, in text: TextDocument, into buffer: inout ScreenBuffer) {
        guard !bar.matches.isEmpty else { return }
        let page = max(0, buffer.height - 1)
        let width = max(1, text.size.width)
        var editor = text.editor
        editor.wrapWidth = width
        // The first visual row of each line, as far as the screen goes.
        var lineTops: [Int] = []
        var row = 0
        for line in editor.lines.indices {
            lineTops.append(row)
            row += editor.rowCount(ofLine: line, width: width)
            if row > text.scrollRow + page { break }
        }
        for (index, match) in bar.matches.enumerated() where match.line < lineTops.count {
            let start = editor.visualRow(of: TextPosition(line: match.line, column: match.columns.lowerBound))
            let end = editor.visualRow(of: TextPosition(line: match.line, column: match.columns.upperBound))
            let style = index == bar.current ? currentMatchStyle : matchStyle
            for visual in start.row...max(start.row, end.row) {
                let y = lineTops[match.line] + visual - text.scrollRow
                guard y >= 0, y < page else { continue }
                let x0 = visual == start.row ? start.x : 0
                let x1 = visual == end.row ? end.x : width
                buffer.restyle(Rect(x: x0, y: y, width: max(1, x1 - x0), height: 1), style)
            }
        }
    }
}
