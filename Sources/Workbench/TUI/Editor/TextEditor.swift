/// A place in the editor's text: a line and a column, both zero-based; the column counts Characters (grapheme clusters).
public struct TextPosition: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The line.
    public var line: Int
    /// The Characters before the position on its line.
    public var column: Int

    /// Creates a position.
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// The start of the text.
    public static let zero = TextPosition(line: 0, column: 0)

    /// Orders positions by line, then column.
    public static func < (a: TextPosition, b: TextPosition) -> Bool {
        a.line != b.line ? a.line < b.line : a.column < b.column
    }

    /// "line:column", zero-based.
    public var description: String { "\(line):\(column)" }
}

/// What the editor did with a key.
public enum EditorResult: Sendable, Equatable {
    /// The editor used the key; `changed` says whether the text changed.
    case handled(changed: Bool)
    /// The key is not the editor's (Escape, Shift-Enter, Ctrl-S, Up on the first row...): the app decides.
    case ignored
}

/// A multi-line text editor for one notebook cell or file: a pure value that handles keys and renders into a `ScreenBuffer`.
///
/// - Text is a list of lines; `text` joins them with `\n` (line ends are normalised on the way in:
///   CR LF and CR become LF). Columns count Characters, so the cursor always sits on a grapheme
///   boundary and a CJK character, an emoji ZWJ sequence or a flag is never split.
/// - Long lines soft-wrap at the render width: `height(width:)` counts wrapped rows. A row
///   breaks after the last blank before a word that would not fit, or, in a word longer than
///   the row, before the cluster that would not fit (a wide character never straddles two rows);
///   a line whose last row is exactly full gets one more empty row, for the cursor at its end.
///   Tabs show as spaces up to the next multiple of 4 columns of their row.
/// - Up and Down move by wrapped rows when `wrapWidth` is set (the app sets it to the width it
///   renders at), by lines otherwise. On the first row Up, and on the last row Down, are
///   `.ignored` (without Shift), so the app can move to the neighbouring cell: `isAtFirstLine`
///   and `isAtLastLine` say the same in advance.
/// - The selection is a half-open `Range` from its start to its end (whichever way it was made);
///   it is nil when nothing is selected. The cursor is at one of its ends.
/// - Undo groups: a run of typed characters on one line is one step, split at the start of each
///   new word; a run of Backspaces (or of Deletes) is one step; every other edit (a newline, a
///   paste, a completion, an indent, a word delete) is a step of its own. Any cursor movement ends
///   a run. At most `undoLimit` steps are kept.
/// - Highlighting state is kept per line and re-computed from the changed line on until it agrees
///   with the old state again, so a keystroke in a 5,000-line cell costs one line; rendering
///   tokenizes only the rows it draws.
public struct TextEditor: Sendable, Equatable {
    /// The lines of text, without line ends; never empty.
    public private(set) var lines: [String]
    /// Where the cursor is.
    public private(set) var cursor: TextPosition
    /// The other end of the selection, when there is one.
    var anchor: TextPosition?
    /// The display column Up and Down aim for, kept across short lines.
    var goalX: Int?
    /// The language highlighted; changing it re-highlights everything.
    public var language: SyntaxLanguage {
        didSet { if language != oldValue { recomputeAllStates() } }
    }
    /// The width the app renders at; Up, Down, PageUp and PageDown then move by wrapped rows (0: by lines).
    public var wrapWidth: Int = 0
    /// The rows PageUp and PageDown move.
    public var pageRows: Int = 20
    /// How many undo steps are kept.
    public var undoLimit: Int = 1000
    /// Goes up by one with every change of the text (edits, undo, redo, `setText`).
    public private(set) var changeCount = 0

    /// The state each line starts in, plus the state after the last line (`lines.count + 1` entries).
    var lexStates: [LexState]
    /// For each line, a width at which it surely fits one row (see `singleRowWidth`), so counting
    /// rows only lays out the few long lines.
    var singleRowWidths: [Int]
    var undoStack: [UndoStep] = []
    var redoStack: [UndoStep] = []
    /// Whether the next edit may join the last undo step (false after any cursor movement).
    var canCoalesce = false

    /// Creates an editor holding `text`, cursor at the start.
    public init(text: String = "", language: SyntaxLanguage = .plain) {
        self.lines = Self.splitLines(text)
        self.cursor = .zero
        self.language = language
        self.lexStates = []
        self.singleRowWidths = lines.map(Self.singleRowWidth)
        recomputeAllStates()
    }

    // MARK: Reading

    /// The text, lines joined by `\n` (builds a new string: avoid calling it every frame).
    public var text: String { lines.joined(separator: "\n") }

    /// The selected range, start to end, or nil when nothing is selected.
    public var selection: Range<TextPosition>? {
        guard let anchor, anchor != cursor else { return nil }
        return min(anchor, cursor)..<max(anchor, cursor)
    }

    /// The selected text, or nil when nothing is selected.
    public var selectedText: String? {
        selection.map { text(in: $0) }
    }

    /// The text between two positions, lines joined by `\n`.
    public func text(in range: Range<TextPosition>) -> String {
        let lower = clamped(range.lowerBound), upper = clamped(range.upperBound)
        if lower.line == upper.line {
            return String(Array(lines[lower.line])[lower.column..<upper.column])
        }
        var parts = [String(lines[lower.line].dropFirst(lower.column))]
        if upper.line - lower.line > 1 { parts += lines[(lower.line + 1)..<upper.line] }
        parts.append(String(lines[upper.line].prefix(upper.column)))
        return parts.joined(separator: "\n")
    }

    /// The cursor as an offset in Unicode code points from the start of the text (Jupyter's `cursor_pos`).
    public var cursorCodePointOffset: Int { codePointOffset(of: cursor) }

    /// The offset in Unicode code points of `position` from the start of the text.
    public func codePointOffset(of position: TextPosition) -> Int {
        let position = clamped(position)
        var offset = 0
        for line in lines[0..<position.line] { offset += line.unicodeScalars.count + 1 }
        for character in lines[position.line].prefix(position.column) { offset += character.unicodeScalars.count }
        return offset
    }

    /// The position at code point `offset` (clamped to the text); an offset inside a grapheme
    /// cluster moves to the cluster's start, or to its end when `roundingUp`.
    public func position(codePointOffset offset: Int, roundingUp: Bool = false) -> TextPosition {
        var remaining = max(0, offset)
        for (index, line) in lines.enumerated() {
            let count = line.unicodeScalars.count
            if remaining <= count {
                var column = 0
                for character in line {
                    let size = character.unicodeScalars.count
                    if remaining == 0 { break }
                    if remaining < size {
                        if roundingUp { column += 1 }
                        break
                    }
                    remaining -= size
                    column += 1
                }
                return TextPosition(line: index, column: column)
            }
            remaining -= count + 1
        }
        return endPosition
    }

    /// The end of the text.
    public var endPosition: TextPosition { TextPosition(line: lines.count - 1, column: lines[lines.count - 1].count) }

    /// Whether the cursor is on the first (wrapped) row: Up there is left to the app.
    public var isAtFirstLine: Bool {
        cursor.line == 0 && visualRow(of: cursor).row == 0
    }

    /// Whether the cursor is on the last (wrapped) row: Down there is left to the app.
    public var isAtLastLine: Bool {
        cursor.line == lines.count - 1 && visualRow(of: cursor).row == visualRow(of: endPosition).row
    }

    /// Whether the cursor follows a non-space character with nothing selected: Tab would complete rather than indent.
    public var wantsCompletion: Bool {
        guard selection == nil, cursor.column > 0 else { return false }
        let before = Array(lines[cursor.line])[cursor.column - 1]
        return !before.isWhitespace
    }

    /// Whether there is a step to undo.
    public var canUndo: Bool { !undoStack.isEmpty }
    /// Whether there is a step to redo.
    public var canRedo: Bool { !redoStack.isEmpty }

    /// `position` moved inside the text.
    func clamped(_ position: TextPosition) -> TextPosition {
        let line = min(max(0, position.line), lines.count - 1)
        return TextPosition(line: line, column: min(max(0, position.column), lines[line].count))
    }

    // MARK: Replacing everything

    /// Replaces all text; the cursor goes to the start and the undo history is cleared.
    public mutating func setText(_ text: String) {
        lines = Self.splitLines(text)
        cursor = .zero
        anchor = nil
        goalX = nil
        undoStack = []
        redoStack = []
        canCoalesce = false
        changeCount += 1
        singleRowWidths = lines.map(Self.singleRowWidth)
        recomputeAllStates()
    }

    /// `text` with CR LF and lone CR turned into LF, split into lines.
    static func splitLines(_ text: String) -> [String] {
        normalizeLineEnds(text).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// `text` with CR LF and lone CR turned into LF.
    static func normalizeLineEnds(_ text: String) -> String {
        guard text.utf8.contains(13) else { return text }
        var scalars = String.UnicodeScalarView()
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" && previousCR {
                previousCR = false
                continue
            }
            previousCR = scalar == "\r"
            scalars.append(previousCR ? "\n" : scalar)
        }
        return String(scalars)
    }

    // MARK: Cursor and selection

    /// Moves the cursor to `position` (clamped to the text) and clears the selection.
    public mutating func moveCursor(to position: TextPosition) {
        move(to: position, selecting: false)
    }

    /// Moves the cursor to the end of the text and clears the selection.
    public mutating func moveToEnd() {
        move(to: endPosition, selecting: false)
    }

    /// Selects from `anchor` to `cursor` (both clamped); the cursor ends at `cursor`.
    public mutating func select(from anchor: TextPosition, to cursor: TextPosition) {
        self.anchor = clamped(anchor)
        self.cursor = clamped(cursor)
        goalX = nil
        canCoalesce = false
    }

    /// Selects all text, the cursor at its end.
    public mutating func selectAll() {
        select(from: .zero, to: endPosition)
    }

    /// Moves the cursor; with `selecting`, the selection grows from where it was (or from the old cursor).
    mutating func move(to position: TextPosition, selecting: Bool, keepGoal: Bool = false) {
        if selecting {
            if anchor == nil { anchor = cursor }
        } else {
            anchor = nil
        }
        cursor = clamped(position)
        if !keepGoal { goalX = nil }
        canCoalesce = false
    }

    // MARK: Editing

    /// Inserts `text` at the cursor, replacing the selection.
    ///
    /// One Character extends the current typing run (one undo step per word); a lone `"\n"` is a
    /// newline with auto-indent; anything else is a paste: inserted as it is, as one undo step.
    public mutating func insert(_ text: String) {
        let text = Self.normalizeLineEnds(text)
        if text == "\n" {
            insertNewline()
        } else if text.count == 1, let character = text.first {
            type(character)
        } else if !text.isEmpty || selection != nil {
            replaceSelectionOrInsert(text, kind: .other)
        }
    }

    /// Inserts pasted `text` as it is (no auto-indent), replacing the selection, as one undo step of its own.
    public mutating func paste(_ text: String) {
        let text = Self.normalizeLineEnds(text)
        guard !text.isEmpty || selection != nil else { return }
        replace(selection ?? cursor..<cursor, with: text, kind: .other, newStep: true)
    }

    /// Replaces the text between two code point offsets (Jupyter's `cursor_start`, `cursor_end`) with `text`, as one undo step; the cursor ends after it.
    public mutating func replace(codePointRange: Range<Int>, with text: String) {
        let lower = position(codePointOffset: codePointRange.lowerBound)
        let upper = position(codePointOffset: codePointRange.upperBound, roundingUp: true)
        replace(lower..<max(lower, upper), with: Self.normalizeLineEnds(text), kind: .other)
    }

    /// Replaces the text in `range` (positions) with `text`, as one undo step; the cursor ends after it.
    public mutating func replace(_ range: Range<TextPosition>, with text: String) {
        replace(range, with: Self.normalizeLineEnds(text), kind: .other)
    }

    /// Deletes the selection, if any; returns whether something was deleted.
    @discardableResult
    public mutating func deleteSelection() -> Bool {
        guard let selection else { return false }
        replace(selection, with: "", kind: .other)
        return true
    }

    /// Types one Character, replacing the selection.
    mutating func type(_ character: Character) {
        if character == "\n" || character == "\r\n" || character == "\r" {
            insertNewline()
            return
        }
        if let selection {
            replace(selection, with: String(character), kind: .other)
            return
        }
        // A new word starts a new undo step.
        let before: Character? = cursor.column > 0 ? Array(lines[cursor.line])[cursor.column - 1] : nil
        let startsWord = !character.isWhitespace && (before?.isWhitespace ?? true)
        replace(cursor..<cursor, with: String(character), kind: .typing, newStep: startsWord)
        reindentAfterTyping(character)
    }

    /// After a closing bracket typed alone on a line, lines it up with the line of its opening
    /// bracket; in Python, after `else:`, `elif `, `except`, `finally:` typed at the body's
    /// indentation, dedents one level. Part of the same undo step as the typed character.
    mutating func reindentAfterTyping(_ character: Character) {
        let index = cursor.line
        let line = lines[index]
        guard cursor.column == line.count else { return }
        let indent = line.prefix { $0 == " " }.count
        let body = line.dropFirst(indent)
        var target: Int?
        if let pair = Self.bracketPairs[character], !pair.forward, body == String(character), language != .markdown {
            let at = TextPosition(line: index, column: cursor.column - 1)
            if let partner = findPartner(of: character, pair.partner, forward: false, from: at) {
                target = lines[partner.line].prefix { $0 == " " }.count
            }
        } else if language == .python && indent >= 4 && (character == ":" || character == " ") {
            let word = body.prefix { SyntaxHighlighter.isIdentifierPart($0) }
            let opensClause =
                (character == ":" && body.hasSuffix(":") && ["else", "finally", "except", "elif"].contains(String(word)))
                || (character == " " && (body == "elif " || body == "except "))
            if opensClause {
                var previous = index - 1
                while previous >= 0 && index - previous < 1000 && lines[previous].allSatisfy({ $0 == " " || $0 == "\t" }) { previous -= 1 }
                let previousIndent = previous >= 0 ? lines[previous].prefix { $0 == " " }.count : 0
                if indent >= previousIndent { target = indent - 4 }
            }
        }
        guard let target, target != indent else { return }
        let newLine = String(repeating: " ", count: target) + body
        amendLastStep(line: index, with: newLine, cursor: TextPosition(line: index, column: newLine.count))
    }

    /// Replaces line `index` as part of the last undo step (an automatic follow-up to an edit).
    mutating func amendLastStep(line index: Int, with newLine: String, cursor newCursor: TextPosition) {
        let edit = LineEdit(first: index, old: [lines[index]], new: [newLine])
        replaceLines(first: index, count: 1, with: [newLine])
        cursor = newCursor
        if !undoStack.isEmpty {
            undoStack[undoStack.count - 1].edits.append(edit)
            undoStack[undoStack.count - 1].cursorAfter = newCursor
        }
        canCoalesce = false
    }

    /// Inserts a line break with the current line's indentation, one level more after a Python
    /// line ending in `:` (or an open bracket), one less after `return`, `pass`, `raise`, `break`, `continue`.
    mutating func insertNewline() {
        let range = selection ?? cursor..<cursor
        let line = lines[range.lowerBound.line]
        let before = String(line.prefix(range.lowerBound.column))
        var indent = String(before.prefix { $0 == " " || $0 == "\t" })
        if language == .python, let code = Self.pythonCode(before, state: lexStates[range.lowerBound.line]) {
            let trimmed = code.trimmingTrailingWhitespace
            let firstWord = trimmed.drop { $0 == " " || $0 == "\t" }.prefix { SyntaxHighlighter.isIdentifierPart($0) }
            if trimmed.hasSuffix(":") || trimmed.hasSuffix("(") || trimmed.hasSuffix("[") || trimmed.hasSuffix("{") {
                indent += "    "
            } else if ["return", "pass", "raise", "break", "continue"].contains(String(firstWord)) {
                indent = String(indent.dropLast(min(4, indent.count)))
            }
        }
        if language == .markdown && selection == nil, let item = Self.markdownListItem(line) {
            if line.count == item.contentStart && cursor.column == line.count {
                // Enter on an empty item ends the list.
                replace(TextPosition(line: cursor.line, column: 0)..<cursor, with: "", kind: .other)
                return
            }
            if cursor.column >= item.contentStart { indent = item.continuation }
        }
        // A line holding only indentation is left empty, not with trailing spaces.
        var editRange = range
        if range.lowerBound.column > 0 && before.allSatisfy({ $0 == " " || $0 == "\t" }) && selection == nil {
            editRange = TextPosition(line: range.lowerBound.line, column: 0)..<range.upperBound
            indent = before
        }
        replace(editRange, with: "\n" + indent, kind: .other)
    }

    /// A Markdown list item's shape: where its text starts and what the next item starts with
    /// (same indentation and bullet, the next number, an unchecked box after a task box).
    static func markdownListItem(_ line: String) -> (contentStart: Int, continuation: String)? {
        let characters = Array(line)
        var i = 0
        while i < characters.count && characters[i] == " " { i += 1 }
        let leading = String(repeating: " ", count: i)
        guard i < characters.count else { return nil }
        var marker: String
        if "-*+".contains(characters[i]) {
            marker = String(characters[i])
            i += 1
        } else {
            var end = i
            while end < characters.count && end - i < 9 && SyntaxHighlighter.isDigit(characters[end]) { end += 1 }
            guard end > i, end < characters.count, characters[end] == "." || characters[end] == ")", let number = Int(String(characters[i..<end])) else {
                return nil
            }
            marker = "\(number + 1)\(characters[end])"
            i = end + 1
        }
        guard i < characters.count, characters[i] == " " else { return nil }
        while i < characters.count && characters[i] == " " { i += 1 }
        if i + 3 <= characters.count && characters[i] == "[" && characters[i + 2] == "]" && " xX".contains(characters[i + 1]) {
            marker += " [ ]"
            i += 3
            while i < characters.count && characters[i] == " " { i += 1 }
        }
        return (i, leading + marker + " ")
    }

    /// The code part of a Python line that starts in `state`: the text before a `#` comment; nil
    /// when the line ends inside a string (a docstring's `Args:` opens no block).
    static func pythonCode(_ line: String, state: LexState) -> String? {
        let characters = Array(line)
        let (tokens, end) = SyntaxHighlighter.tokenize(characters, language: .python, state: state)
        guard end == .normal else { return nil }
        if let comment = tokens.last, comment.kind == .comment { return String(characters[..<comment.range.lowerBound]) }
        return line
    }

    /// Replaces the selection with `text`, or inserts it at the cursor.
    mutating func replaceSelectionOrInsert(_ text: String, kind: UndoStep.Kind) {
        replace(selection ?? cursor..<cursor, with: text, kind: kind)
    }

    /// Deletes the selection, or the Character before the cursor (back to the previous indent stop
    /// inside leading spaces; joining lines at a line start). Returns whether the text changed.
    @discardableResult
    public mutating func deleteBackward() -> Bool {
        if deleteSelection() { return true }
        if cursor.column == 0 {
            guard cursor.line > 0 else { return false }
            let previous = TextPosition(line: cursor.line - 1, column: lines[cursor.line - 1].count)
            replace(previous..<cursor, with: "", kind: .deletingBackward)
            return true
        }
        let before = lines[cursor.line].prefix(cursor.column)
        var count = 1
        if before.allSatisfy({ $0 == " " }) { count = (cursor.column - 1) % 4 + 1 }
        replace(TextPosition(line: cursor.line, column: cursor.column - count)..<cursor, with: "", kind: .deletingBackward)
        return true
    }

    /// Deletes the selection, or the Character after the cursor (joining lines at a line end). Returns whether the text changed.
    @discardableResult
    public mutating func deleteForward() -> Bool {
        if deleteSelection() { return true }
        if cursor.column == lines[cursor.line].count {
            guard cursor.line < lines.count - 1 else { return false }
            replace(cursor..<TextPosition(line: cursor.line + 1, column: 0), with: "", kind: .deletingForward)
            return true
        }
        replace(cursor..<TextPosition(line: cursor.line, column: cursor.column + 1), with: "", kind: .deletingForward)
        return true
    }

    /// Deletes the selection, or back to the start of the word before the cursor. Returns whether the text changed.
    @discardableResult
    public mutating func deleteWordBackward() -> Bool {
        if deleteSelection() { return true }
        let start = wordLeft(of: cursor)
        guard start < cursor else { return false }
        replace(start..<cursor, with: "", kind: .other)
        return true
    }

    /// Deletes the selection, or up to the end of the word after the cursor. Returns whether the text changed.
    @discardableResult
    public mutating func deleteWordForward() -> Bool {
        if deleteSelection() { return true }
        let end = wordRight(of: cursor)
        guard cursor < end else { return false }
        replace(cursor..<end, with: "", kind: .other)
        return true
    }

    /// Indents: with a selection, every line it touches by 4 spaces (empty lines stay empty); else inserts spaces up to the next 4-column stop.
    public mutating func indent() {
        if selection != nil {
            shiftSelectedLines(by: 1)
            return
        }
        let column = Self.displayWidth(of: lines[cursor.line].prefix(cursor.column))
        replace(cursor..<cursor, with: String(repeating: " ", count: 4 - column % 4), kind: .other)
    }

    /// Removes up to 4 spaces (or one tab) of indentation from the current line or every selected line.
    public mutating func dedent() {
        shiftSelectedLines(by: -1)
    }

    /// Indents (`direction` 1) or dedents (-1) the lines of the selection, or the cursor's line; one undo step.
    mutating func shiftSelectedLines(by direction: Int) {
        let range = selection ?? cursor..<cursor
        let first = range.lowerBound.line
        var last = range.upperBound.line
        if last > first && range.upperBound.column == 0 { last -= 1 }  // a selection ending at a line start leaves that line alone
        var newLines: [String] = []
        var shifts: [Int] = []
        for index in first...last {
            let line = lines[index]
            if direction > 0 {
                let shift = line.isEmpty ? 0 : 4
                newLines.append(String(repeating: " ", count: shift) + line)
                shifts.append(shift)
            } else {
                var drop = 0
                if line.first == "\t" {
                    drop = 1
                } else {
                    while drop < 4 && drop < line.count && line[line.index(line.startIndex, offsetBy: drop)] == " " { drop += 1 }
                }
                newLines.append(String(line.dropFirst(drop)))
                shifts.append(-drop)
            }
        }
        guard newLines != Array(lines[first...last]) else { return }
        func shifted(_ p: TextPosition) -> TextPosition {
            guard p.line >= first && p.line <= last else { return p }
            let shift = shifts[p.line - first]
            if p.column == 0 && shift > 0 && selection != nil { return p }
            return TextPosition(line: p.line, column: max(0, p.column + shift))
        }
        let newCursor = shifted(cursor)
        let newAnchor = anchor.map(shifted)
        apply(first: first, count: last - first + 1, with: newLines, cursor: newCursor, anchor: newAnchor, kind: .other, newStep: true)
    }

    /// The line comment marker of the language: `#` for Python and YAML, `--` for SQL, nil for others.
    var lineCommentMarker: String? {
        switch language {
        case .python, .yaml: return "#"
        case .sql: return "--"
        case .markdown, .plain: return nil
        }
    }

    /// Comments out the current line or the selected lines, or uncomments them when every non-blank
    /// one is a comment already (Python `# `, SQL `-- `); one undo step. Returns whether the text changed.
    @discardableResult
    public mutating func toggleComment() -> Bool {
        guard let marker = lineCommentMarker else { return false }
        let range = selection ?? cursor..<cursor
        let first = range.lowerBound.line
        var last = range.upperBound.line
        if last > first && range.upperBound.column == 0 { last -= 1 }
        let old = Array(lines[first...last])
        let indents = old.map { line in line.prefix { $0 == " " || $0 == "\t" }.count }
        let blank = old.map { line in line.allSatisfy { $0 == " " || $0 == "\t" } }
        guard blank.contains(false) else { return false }
        let commented = zip(old, indents).enumerated().allSatisfy { index, pair in
            blank[index] || pair.0.dropFirst(pair.1).hasPrefix(marker)
        }
        let column = zip(indents, blank).filter { !$0.1 }.map(\.0).min() ?? 0
        var newLines: [String] = []
        var edits: [(column: Int, delta: Int)] = []  // per line: where the change is and its size
        for (index, line) in old.enumerated() {
            if blank[index] {
                newLines.append(line)
                edits.append((0, 0))
            } else if commented {
                let body = line.dropFirst(indents[index] + marker.count)
                let removed = marker.count + (body.first == " " ? 1 : 0)
                newLines.append(String(line.prefix(indents[index])) + String(body.dropFirst(removed - marker.count)))
                edits.append((indents[index], -removed))
            } else {
                newLines.append(String(line.prefix(column)) + marker + " " + String(line.dropFirst(column)))
                edits.append((column, marker.count + 1))
            }
        }
        func moved(_ p: TextPosition) -> TextPosition {
            guard p.line >= first && p.line <= last else { return p }
            let edit = edits[p.line - first]
            guard p.column >= edit.column else { return p }
            return TextPosition(line: p.line, column: max(edit.column, p.column + edit.delta))
        }
        apply(first: first, count: last - first + 1, with: newLines, cursor: moved(cursor), anchor: anchor.map(moved), kind: .other, newStep: true)
        return true
    }

    /// Replaces `range` with `text` (line ends already normalised), putting the cursor after it.
    mutating func replace(_ range: Range<TextPosition>, with text: String, kind: UndoStep.Kind, newStep: Bool = false) {
        let lower = clamped(range.lowerBound), upper = clamped(range.upperBound)
        let prefix = lines[lower.line].prefix(lower.column)
        let suffix = lines[upper.line].dropFirst(upper.column)
        var newLines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        newLines[0] = prefix + newLines[0]
        let last = newLines.count - 1
        let column = newLines[last].count
        newLines[last] += suffix
        let newCursor = TextPosition(line: lower.line + last, column: min(column, newLines[last].count))
        apply(first: lower.line, count: upper.line - lower.line + 1, with: newLines, cursor: newCursor, anchor: nil, kind: kind, newStep: newStep)
    }

    /// Replaces `count` lines from `first` with `newLines`, moves the cursor, and records the undo step.
    mutating func apply(first: Int, count: Int, with newLines: [String], cursor newCursor: TextPosition, anchor newAnchor: TextPosition?, kind: UndoStep.Kind, newStep: Bool) {
        let old = Array(lines[first..<(first + count)])
        let edit = LineEdit(first: first, old: old, new: newLines)
        let joins =
            !newStep && canCoalesce && kind != .other
            && undoStack.last.map { step in
                step.kind == kind && step.cursorAfter == cursor && step.edits.count == 1 && step.edits[0].first == first
                    && step.edits[0].new.count == 1 && count == 1 && newLines.count == 1
            } == true
        if joins {
            undoStack[undoStack.count - 1].edits[0].new = newLines
            undoStack[undoStack.count - 1].cursorAfter = newCursor
        } else {
            undoStack.append(UndoStep(kind: kind, edits: [edit], cursorBefore: cursor, anchorBefore: anchor, cursorAfter: newCursor, anchorAfter: newAnchor))
            if undoStack.count > undoLimit { undoStack.removeFirst(undoStack.count - undoLimit) }
        }
        redoStack = []
        replaceLines(first: first, count: count, with: newLines)
        cursor = newCursor
        anchor = newAnchor
        goalX = nil
        canCoalesce = kind != .other
    }

    /// Swaps lines without touching undo, and brings the highlighting states up to date from `first` on.
    mutating func replaceLines(first: Int, count: Int, with newLines: [String]) {
        lines.replaceSubrange(first..<(first + count), with: newLines)
        singleRowWidths.replaceSubrange(first..<(first + count), with: newLines.map(Self.singleRowWidth))
        if lines.isEmpty {
            lines = [""]
            singleRowWidths = [1]
        }
        changeCount += 1
        updateStates(first: first, oldCount: count, newCount: newLines.count)
    }

    // MARK: Undo

    /// Undoes the last step; the cursor and selection go back to where they were before it.
    public mutating func undo() {
        guard let step = undoStack.popLast() else { return }
        for edit in step.edits.reversed() {
            replaceLines(first: edit.first, count: edit.new.count, with: edit.old)
        }
        cursor = clamped(step.cursorBefore)
        anchor = step.anchorBefore.map(clamped)
        goalX = nil
        canCoalesce = false
        redoStack.append(step)
    }

    /// Redoes the last undone step.
    public mutating func redo() {
        guard let step = redoStack.popLast() else { return }
        for edit in step.edits {
            replaceLines(first: edit.first, count: edit.old.count, with: edit.new)
        }
        cursor = clamped(step.cursorAfter)
        anchor = step.anchorAfter.map(clamped)
        goalX = nil
        canCoalesce = false
        undoStack.append(step)
    }

    // MARK: Highlighting state

    /// Re-tokenizes every line (after `setText` or a language change).
    mutating func recomputeAllStates() {
        lexStates = [LexState](repeating: .normal, count: lines.count + 1)
        guard language != .plain else { return }
        var state = LexState.normal
        for (index, line) in lines.enumerated() {
            state = SyntaxHighlighter.endState(of: line, language: language, state: state)
            lexStates[index + 1] = state
        }
    }

    /// Brings the states up to date after `oldCount` lines at `first` became `newCount` lines:
    /// re-tokenizes from `first` until a line ends in the state it ended in before.
    mutating func updateStates(first: Int, oldCount: Int, newCount: Int) {
        let placeholder = LexState.normal
        lexStates.replaceSubrange((first + 1)..<(first + 1 + oldCount), with: repeatElement(placeholder, count: newCount))
        if lines.count + 1 != lexStates.count {
            // Removing every line leaves one empty line.
            recomputeAllStates()
            return
        }
        guard language != .plain else { return }
        var state = lexStates[first]
        var index = first
        while index < lines.count {
            state = SyntaxHighlighter.endState(of: lines[index], language: language, state: state)
            // Past the new lines, an unchanged end state means every later state is unchanged too.
            if index >= first + newCount && lexStates[index + 1] == state { break }
            lexStates[index + 1] = state
            index += 1
        }
    }

    /// The tokens of line `index`, from its stored start state.
    func tokens(ofLine index: Int) -> [SyntaxToken] {
        guard language != .plain else { return [] }
        return SyntaxHighlighter.tokenize(Array(lines[index]), language: language, state: lexStates[index]).tokens
    }

    // MARK: Words

    enum CharacterClass { case space, word, punctuation }

    static func characterClass(_ c: Character) -> CharacterClass {
        if c.isWhitespace { return .space }
        if SyntaxHighlighter.isIdentifierPart(c) { return .word }
        return .punctuation
    }

    /// The start of the word before `position` (spaces skipped first); the end of the previous line at a line start.
    func wordLeft(of position: TextPosition) -> TextPosition {
        if position.column == 0 {
            guard position.line > 0 else { return position }
            return TextPosition(line: position.line - 1, column: lines[position.line - 1].count)
        }
        let characters = Array(lines[position.line])
        var i = position.column
        while i > 0 && Self.characterClass(characters[i - 1]) == .space { i -= 1 }
        if i > 0 {
            let kind = Self.characterClass(characters[i - 1])
            while i > 0 && Self.characterClass(characters[i - 1]) == kind { i -= 1 }
        }
        return TextPosition(line: position.line, column: i)
    }

    /// The end of the word after `position` (spaces skipped first); the start of the next line at a line end.
    func wordRight(of position: TextPosition) -> TextPosition {
        let characters = Array(lines[position.line])
        if position.column >= characters.count {
            guard position.line < lines.count - 1 else { return position }
            return TextPosition(line: position.line + 1, column: 0)
        }
        var i = position.column
        while i < characters.count && Self.characterClass(characters[i]) == .space { i += 1 }
        if i < characters.count {
            let kind = Self.characterClass(characters[i])
            while i < characters.count && Self.characterClass(characters[i]) == kind { i += 1 }
        }
        return TextPosition(line: position.line, column: i)
    }

    /// The column of the first non-blank Character of `line` (its length when all blank).
    func firstNonBlank(ofLine line: Int) -> Int {
        var column = 0
        for c in lines[line] {
            if c != " " && c != "\t" { break }
            column += 1
        }
        return column
    }
}

/// One replacement of whole lines, as undo records it.
struct LineEdit: Hashable, Sendable {
    /// The first line replaced.
    var first: Int
    /// The lines before.
    var old: [String]
    /// The lines after.
    var new: [String]
}

/// One undo step: line edits plus where the cursor and selection were before and after.
struct UndoStep: Hashable, Sendable {
    /// What made the step, which decides what may join it.
    enum Kind: Hashable, Sendable {
        case typing, deletingBackward, deletingForward, other
    }

    var kind: Kind
    var edits: [LineEdit]
    var cursorBefore: TextPosition
    var anchorBefore: TextPosition?
    var cursorAfter: TextPosition
    var anchorAfter: TextPosition?
}

extension String {
    /// The text without trailing spaces and tabs.
    fileprivate var trimmingTrailingWhitespace: Substring {
        var end = endIndex
        while end > startIndex {
            let before = index(before: end)
            guard self[before] == " " || self[before] == "\t" else { break }
            end = before
        }
        return self[startIndex..<end]
    }
}
