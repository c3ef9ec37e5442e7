extension TextEditor {
    /// Applies a key: typing, movement, selection, deletion, indentation, undo and redo.
    ///
    /// Keys that are not the editor's are `.ignored` and change nothing: Escape, Enter with any
    /// modifier, Ctrl-S, Ctrl-C/X/V (the app owns the clipboard: see `selectedText` and
    /// `deleteSelection`), function keys, and Up on the first row or Down on the last row
    /// without Shift. The app decides about Tab first when it wants completion (`wantsCompletion`).
    /// The keys are listed in Docs/user-guide.md, "Cell editor keys".
    public mutating func handle(_ event: KeyEvent) -> EditorResult {
        let modifiers = event.modifiers
        let shift = modifiers.contains(.shift)
        let motion = modifiers.subtracting(.shift)
        let before = changeCount
        func done() -> EditorResult { .handled(changed: changeCount != before) }

        switch event.key {
        case .character(let c):
            if modifiers.isEmpty || modifiers == .shift {
                type(c)
                return done()
            }
            if motion == .control {
                switch c {
                case "z" where shift, "Z": redo()
                case "z": undo()
                case "y": redo()
                case "a": selectAll()
                case "w": deleteWordBackward()
                case "/", "_": toggleComment()  // terminals send Ctrl-/ as Ctrl-_ (0x1F)
                default: return .ignored
                }
                return done()
            }
            if motion == .alt {
                switch c {
                case "b": move(to: wordLeft(of: cursor), selecting: shift)
                case "f": move(to: wordRight(of: cursor), selecting: shift)
                case "B": move(to: wordLeft(of: cursor), selecting: true)
                case "F": move(to: wordRight(of: cursor), selecting: true)
                case "d": deleteWordForward()
                default: return .ignored
                }
                return done()
            }
            return .ignored
        case .enter:
            guard modifiers.isEmpty else { return .ignored }
            insertNewline()
        case .tab:
            switch modifiers {
            case []: indent()
            case .shift: dedent()
            default: return .ignored
            }
        case .backspace:
            switch modifiers {
            case [], .shift: deleteBackward()
            case .alt, .control: deleteWordBackward()
            default: return .ignored
            }
        case .delete:
            switch modifiers {
            case [], .shift: deleteForward()
            case .alt, .control: deleteWordForward()
            default: return .ignored
            }
        case .left, .right:
            let forward = event.key == .right
            switch motion {
            case []:
                if !shift, let selection {
                    move(to: forward ? selection.upperBound : selection.lowerBound, selecting: false)
                } else {
                    move(to: forward ? characterRight(of: cursor) : characterLeft(of: cursor), selecting: shift)
                }
            case .control, .alt:
                move(to: forward ? wordRight(of: cursor) : wordLeft(of: cursor), selecting: shift)
            default:
                return .ignored
            }
        case .up, .down:
            guard motion.isEmpty else { return .ignored }
            let up = event.key == .up
            if !shift && (up ? isAtFirstLine : isAtLastLine) { return .ignored }
            moveVertically(by: up ? -1 : 1, selecting: shift)
        case .pageUp, .pageDown:
            guard motion.isEmpty else { return .ignored }
            let rows = max(1, pageRows)
            moveVertically(by: event.key == .pageUp ? -rows : rows, selecting: shift)
        case .home:
            switch motion {
            case []:
                let first = firstNonBlank(ofLine: cursor.line)
                move(to: TextPosition(line: cursor.line, column: cursor.column == first ? 0 : first), selecting: shift)
            case .control: move(to: .zero, selecting: shift)
            default: return .ignored
            }
        case .end:
            switch motion {
            case []: move(to: TextPosition(line: cursor.line, column: lines[cursor.line].count), selecting: shift)
            case .control: move(to: endPosition, selecting: shift)
            default: return .ignored
            }
        default:
            return .ignored
        }
        return done()
    }

    /// Applies a key, or a bracketed paste (inserted as it is, one undo step); other input is `.ignored`.
    public mutating func handle(_ event: InputEvent) -> EditorResult {
        switch event {
        case .key(let key):
            return handle(key)
        case .paste(let text):
            let before = changeCount
            paste(text)
            return .handled(changed: changeCount != before)
        default:
            return .ignored
        }
    }

    /// The position one Character left, the end of the previous line at a line start.
    func characterLeft(of position: TextPosition) -> TextPosition {
        if position.column > 0 { return TextPosition(line: position.line, column: position.column - 1) }
        guard position.line > 0 else { return position }
        return TextPosition(line: position.line - 1, column: lines[position.line - 1].count)
    }

    /// The position one Character right, the start of the next line at a line end.
    func characterRight(of position: TextPosition) -> TextPosition {
        if position.column < lines[position.line].count { return TextPosition(line: position.line, column: position.column + 1) }
        guard position.line < lines.count - 1 else { return position }
        return TextPosition(line: position.line + 1, column: 0)
    }
}
