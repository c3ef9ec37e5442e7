import Testing

@testable import TUI

/// Keys for editing-sequence tests.
enum Keys {
    static func type(_ text: String) -> [KeyEvent] { text.map { $0 == "\n" ? KeyEvent(.enter) : KeyEvent(.character($0)) } }
    static func ctrl(_ c: Character) -> KeyEvent { KeyEvent(.character(c), .control) }
    static func alt(_ c: Character) -> KeyEvent { KeyEvent(.character(c), .alt) }
    static let left = KeyEvent(.left), right = KeyEvent(.right), up = KeyEvent(.up), down = KeyEvent(.down)
    static let home = KeyEvent(.home), end = KeyEvent(.end), enter = KeyEvent(.enter), tab = KeyEvent(.tab)
    static let backspace = KeyEvent(.backspace), delete = KeyEvent(.delete)
    static func shift(_ key: Key) -> KeyEvent { KeyEvent(key, .shift) }
    static func control(_ key: Key, shift: Bool = false) -> KeyEvent { KeyEvent(key, shift ? [.control, .shift] : .control) }
}

extension TextEditor {
    /// Applies `keys` in turn; returns the last result.
    @discardableResult
    mutating func press(_ keys: [KeyEvent]) -> EditorResult {
        var result = EditorResult.ignored
        for key in keys { result = handle(key) }
        return result
    }

    @discardableResult
    mutating func press(_ keys: KeyEvent...) -> EditorResult { press(keys) }

    /// The editor with the cursor moved to `line`, `column`.
    func at(_ line: Int, _ column: Int) -> TextEditor {
        var copy = self
        copy.moveCursor(to: TextPosition(line: line, column: column))
        return copy
    }
}

func pos(_ line: Int, _ column: Int) -> TextPosition { TextPosition(line: line, column: column) }

@Suite("Cell editor: editing")
struct EditorEditingTests {
    @Test func typingBuildsLinesAndMovesTheCursor() {
        var editor = TextEditor()
        #expect(editor.lines == [""])
        #expect(editor.press(Keys.type("ab\ncd")) == .handled(changed: true))
        #expect(editor.text == "ab\ncd")
        #expect(editor.lines == ["ab", "cd"])
        #expect(editor.cursor == pos(1, 2))
        editor.setText("x\r\ny\rz")
        #expect(editor.lines == ["x", "y", "z"])
        #expect(editor.cursor == pos(0, 0))
        #expect(!editor.canUndo)
    }

    @Test func keysThatAreNotTheEditorsAreIgnored() {
        var editor = TextEditor(text: "a\nb")
        let before = editor
        for key in [
            KeyEvent(.escape), KeyEvent(.enter, .shift), KeyEvent(.enter, .control), KeyEvent(.enter, .alt), Keys.ctrl("s"),
            Keys.ctrl("c"), Keys.ctrl("x"), Keys.ctrl("v"), KeyEvent(.function(5)), Keys.up, KeyEvent(.tab, .control),
        ] {
            #expect(editor.handle(key) == .ignored, "\(key)")
        }
        #expect(editor == before)
        editor.moveToEnd()
        #expect(editor.handle(Keys.down) == .ignored)
        #expect(editor.isAtLastLine && !editor.isAtFirstLine)
        #expect(editor.handle(Keys.up) == .handled(changed: false))
        #expect(editor.isAtFirstLine)
    }

    @Test func movesByCharacterAcrossLineEnds() {
        var editor = TextEditor(text: "ab\ncd")
        editor.press(Keys.right, Keys.right, Keys.right)
        #expect(editor.cursor == pos(1, 0))
        editor.press(Keys.left)
        #expect(editor.cursor == pos(0, 2))
        editor.press(Keys.left, Keys.left, Keys.left)
        #expect(editor.cursor == pos(0, 0))
        editor.moveToEnd()
        editor.press(Keys.right)
        #expect(editor.cursor == pos(1, 2))
    }

    @Test func movesOverWholeGraphemeClusters() {
        let family = "👨‍👩‍👧"  // one Character: a ZWJ sequence
        let flag = "🇯🇵"
        var editor = TextEditor(text: "a\(family)e\u{301}\(flag)東")
        #expect(editor.lines[0].count == 5)
        editor.press(Keys.right, Keys.right)
        #expect(editor.cursor == pos(0, 2))
        #expect(editor.cursorCodePointOffset == 1 + 5)
        editor.press(Keys.right)
        #expect(editor.cursorCodePointOffset == 1 + 5 + 2)
        editor.press(Keys.backspace)
        #expect(editor.text == "a\(family)\(flag)東")
        editor.press(Keys.delete)
        #expect(editor.text == "a\(family)東")
        // A combining mark typed after a letter joins it; the cursor stays after the cluster.
        editor.setText("e")
        editor.moveToEnd()
        editor.insert("\u{301}")
        #expect(editor.text.unicodeScalars.elementsEqual("e\u{301}".unicodeScalars))
        #expect(editor.cursor == pos(0, 1))
    }

    @Test func movesByWord() {
        var editor = TextEditor(text: "foo.bar(baz)  qux\nnext")
        editor.press(Keys.control(.right))
        #expect(editor.cursor == pos(0, 3))
        editor.press(Keys.control(.right))
        #expect(editor.cursor == pos(0, 4))
        editor.press(Keys.control(.right), Keys.control(.right), Keys.control(.right), Keys.control(.right))
        #expect(editor.cursor == pos(0, 12))
        editor.press(Keys.control(.right))
        #expect(editor.cursor == pos(0, 17))
        editor.press(Keys.control(.right))
        #expect(editor.cursor == pos(1, 0))
        editor.press(KeyEvent(.left, .alt))
        #expect(editor.cursor == pos(0, 17))
        editor.press(Keys.alt("b"))
        #expect(editor.cursor == pos(0, 14))
        editor.press(Keys.alt("b"))
        #expect(editor.cursor == pos(0, 11))
        editor.press(Keys.alt("f"))
        #expect(editor.cursor == pos(0, 12))
    }

    @Test func smartHomeEndAndDocumentEnds() {
        var editor = TextEditor(text: "x\n    indented = 1\ny").at(1, 10)
        editor.press(Keys.home)
        #expect(editor.cursor == pos(1, 4))
        editor.press(Keys.home)
        #expect(editor.cursor == pos(1, 0))
        editor.press(Keys.home)
        #expect(editor.cursor == pos(1, 4))
        editor.press(Keys.end)
        #expect(editor.cursor == pos(1, 16))
        editor.press(Keys.control(.home))
        #expect(editor.cursor == pos(0, 0))
        editor.press(Keys.control(.end))
        #expect(editor.cursor == pos(2, 1))
    }

    @Test func upAndDownKeepTheColumnAcrossShortLines() {
        var editor = TextEditor(text: "abcdef\nab\nabcdef").at(0, 5)
        editor.press(Keys.down)
        #expect(editor.cursor == pos(1, 2))
        editor.press(Keys.down)
        #expect(editor.cursor == pos(2, 5))
        editor.press(Keys.up, Keys.up)
        #expect(editor.cursor == pos(0, 5))
    }

    @Test func upAndDownKeepTheDisplayColumnOverWideCharacters() {
        var editor = TextEditor(text: "東京abc\nabcdef").at(1, 4)
        editor.press(Keys.up)
        #expect(editor.cursor == pos(0, 2))  // column 4 on screen is after 東京
        editor.moveCursor(to: pos(1, 3))
        editor.press(Keys.up)
        #expect(editor.cursor == pos(0, 1))  // column 3 is inside 京: the cursor goes before it
    }

    @Test func upAndDownMoveByWrappedRowsWhenTheWidthIsKnown() {
        var editor = TextEditor(text: "0123456789abcdefghij\nxy")
        editor.wrapWidth = 8
        editor.moveCursor(to: pos(0, 3))
        #expect(editor.isAtFirstLine)
        editor.press(Keys.down)
        #expect(editor.cursor == pos(0, 11))
        #expect(!editor.isAtFirstLine)
        editor.press(Keys.down)
        #expect(editor.cursor == pos(0, 19))
        editor.press(Keys.down)
        #expect(editor.cursor == pos(1, 2))
        #expect(editor.isAtLastLine)
        editor.press(Keys.up)
        #expect(editor.cursor == pos(0, 19))
    }

    @Test func pageUpAndDownMoveByPageRows() {
        var editor = TextEditor(text: (0..<50).map { "line \($0)" }.joined(separator: "\n")).at(0, 3)
        editor.pageRows = 20
        editor.press(KeyEvent(.pageDown))
        #expect(editor.cursor == pos(20, 3))
        editor.press(KeyEvent(.pageDown), KeyEvent(.pageDown))
        #expect(editor.cursor == pos(49, 7))
        editor.press(KeyEvent(.pageUp))
        #expect(editor.cursor == pos(29, 7))
        editor.press(KeyEvent(.pageUp, .shift), KeyEvent(.pageUp, .shift))
        #expect(editor.cursor == pos(0, 0))
        #expect(editor.selection == pos(0, 0)..<pos(29, 7))
    }

    @Test func shiftMovementSelectsAndPlainMovementCollapses() {
        var editor = TextEditor(text: "hello world\nsecond").at(0, 6)
        editor.press(Keys.shift(.right), Keys.shift(.right))
        #expect(editor.selection == pos(0, 6)..<pos(0, 8))
        #expect(editor.selectedText == "wo")
        editor.press(KeyEvent(.left, [.shift, .control]), KeyEvent(.left, [.shift, .control]))
        #expect(editor.selection == pos(0, 0)..<pos(0, 6))
        #expect(editor.cursor == pos(0, 0))
        editor.press(Keys.right)
        #expect(editor.selection == nil)
        #expect(editor.cursor == pos(0, 6))
        editor.press(Keys.shift(.down), Keys.shift(.end))
        #expect(editor.selectedText == "world\nsecond")
        editor.press(Keys.left)
        #expect(editor.cursor == pos(0, 6) && editor.selection == nil)
        editor.press(Keys.ctrl("a"))
        #expect(editor.selectedText == "hello world\nsecond")
        #expect(editor.cursor == pos(1, 6))
        editor.press(Keys.type("X"))
        #expect(editor.text == "X")
    }

    @Test func shiftUpOnTheFirstRowSelectsToTheStart() {
        var editor = TextEditor(text: "abc\ndef").at(0, 2)
        #expect(editor.press(Keys.shift(.up)) == .handled(changed: false))
        #expect(editor.selection == pos(0, 0)..<pos(0, 2))
        editor.moveCursor(to: pos(1, 1))
        editor.press(Keys.shift(.down))
        #expect(editor.selection == pos(1, 1)..<pos(1, 3))
    }

    @Test func backspaceAndDeleteByCharacterJoinLines() {
        var editor = TextEditor(text: "ab\ncd").at(1, 0)
        editor.press(Keys.backspace)
        #expect(editor.text == "abcd")
        #expect(editor.cursor == pos(0, 2))
        editor.press(Keys.delete)
        #expect(editor.text == "abd")
        editor.press(Keys.control(.home))
        #expect(editor.press(Keys.backspace) == .handled(changed: false))
        editor.press(Keys.control(.end))
        #expect(editor.press(Keys.delete) == .handled(changed: false))
        // Inside leading spaces Backspace goes back to the previous 4-column stop.
        editor.setText("      x")
        editor.moveCursor(to: pos(0, 6))
        editor.press(Keys.backspace)
        #expect(editor.text == "    x")
        editor.press(Keys.backspace)
        #expect(editor.text == "x")
    }

    @Test func deletesByWord() {
        var editor = TextEditor(text: "print(value_1, other)").at(0, 13)
        editor.press(Keys.ctrl("w"))
        #expect(editor.text == "print(, other)")
        editor.press(Keys.control(.delete))
        #expect(editor.text == "print( other)")
        editor.press(KeyEvent(.backspace, .alt))
        #expect(editor.text == "print other)")
        editor.press(Keys.alt("d"))
        #expect(editor.text == "print)")
        editor.press(KeyEvent(.backspace, .control))  // Ctrl-Backspace arrives as ^H
        #expect(editor.text == ")")
        editor.setText("a\nb")
        editor.moveCursor(to: pos(1, 0))
        editor.press(Keys.ctrl("w"))
        #expect(editor.text == "ab")
    }

    @Test func typingReplacesTheSelectionAndBackspaceDeletesIt() {
        var editor = TextEditor(text: "one two three")
        editor.select(from: pos(0, 4), to: pos(0, 7))
        editor.press(Keys.backspace)
        #expect(editor.text == "one  three")
        editor.select(from: pos(0, 0), to: pos(0, 3))
        editor.press(Keys.type("1"))
        #expect(editor.text == "1  three")
    }
}

@Suite("Cell editor: undo and indentation")
struct EditorUndoIndentTests {
    @Test func typedRunsUndoWordByWord() {
        var editor = TextEditor()
        editor.press(Keys.type("hello world"))
        editor.press(Keys.ctrl("z"))
        #expect(editor.text == "hello ")
        editor.press(Keys.ctrl("z"))
        #expect(editor.text == "")
        #expect(!editor.canUndo)
        editor.press(Keys.ctrl("y"))
        #expect(editor.text == "hello ")
        #expect(editor.cursor == pos(0, 6))
        editor.press(KeyEvent(.character("Z"), .control))  // Ctrl-Shift-Z as the kitty protocol sends it
        #expect(editor.text == "hello world")
        editor.press(Keys.ctrl("z"))
        editor.press(KeyEvent(.character("z"), [.control, .shift]))  // and as xterm's modifyOtherKeys may
        #expect(editor.text == "hello world")
        #expect(!editor.canRedo)
    }

    @Test func cursorMovementAndNewlinesEndARun() {
        var editor = TextEditor()
        editor.press(Keys.type("ab"))
        editor.press(Keys.left)
        editor.press(Keys.type("c"))
        #expect(editor.text == "acb")
        editor.press(Keys.ctrl("z"))
        #expect(editor.text == "ab")
        #expect(editor.cursor == pos(0, 1))
        editor.press(Keys.control(.end), Keys.enter)
        editor.press(Keys.type("d"))
        editor.press(Keys.ctrl("z"))
        #expect(editor.text == "ab\n")
        editor.press(Keys.ctrl("z"))
        #expect(editor.text == "ab")
    }

    @Test func aRunOfBackspacesIsOneStep() {
        var editor = TextEditor(text: "abcdef")
        editor.moveToEnd()
        editor.press(Keys.backspace, Keys.backspace, Keys.backspace)
        #expect(editor.text == "abc")
        editor.press(Keys.ctrl("z"))
        #expect(editor.text == "abcdef")
        #expect(editor.cursor == pos(0, 6))
    }

    @Test func aPasteIsOneStepAndKeepsItsIndentation() {
        var editor = TextEditor(language: .python)
        editor.press(Keys.type("if x:"))
        editor.insert("\n")
        #expect(editor.text == "if x:\n    ")
        editor.insert("for a in b:\n    pass\nz = 1")
        #expect(editor.text == "if x:\n    for a in b:\n    pass\nz = 1")
        #expect(editor.cursor == pos(3, 5))
        editor.undo()
        #expect(editor.text == "if x:\n    ")
        #expect(editor.cursor == pos(1, 4))
        editor.redo()
        #expect(editor.cursor == pos(3, 5))
    }

    @Test func bracketedPasteEventsGoInVerbatimAsOneStep() {
        var editor = TextEditor(text: "if x:", language: .python)
        editor.moveToEnd()
        #expect(editor.handle(InputEvent.paste("\r\n  a\r\n")) == .handled(changed: true))
        #expect(editor.lines == ["if x:", "  a", ""])
        #expect(editor.handle(InputEvent.paste("")) == .handled(changed: false))
        #expect(editor.handle(InputEvent.focusLost) == .ignored)
        #expect(editor.handle(InputEvent.mouse(MouseEvent(.scrollUp, x: 0, y: 0))) == .ignored)
        #expect(editor.handle(InputEvent.char("z", .control)) == .handled(changed: true))
        #expect(editor.text == "if x:")
    }

    @Test func undoRestoresTheSelection() {
        var editor = TextEditor(text: "abc def")
        editor.select(from: pos(0, 4), to: pos(0, 7))
        editor.press(Keys.type("x"))
        editor.undo()
        #expect(editor.text == "abc def")
        #expect(editor.selection == pos(0, 4)..<pos(0, 7))
    }

    @Test func undoHistoryIsCapped() {
        var editor = TextEditor()
        editor.undoLimit = 5
        for _ in 0..<10 { editor.insert("ab") }
        var steps = 0
        while editor.canUndo {
            editor.undo()
            steps += 1
        }
        #expect(steps == 5)
        #expect(editor.text == String(repeating: "ab", count: 5))
    }

    @Test func newlineKeepsIndentationAndIndentsAfterAColonInPython() {
        var editor = TextEditor(language: .python)
        editor.press(Keys.type("def f(x):  # note\nif x:\nreturn 1\n"))
        #expect(editor.lines == ["def f(x):  # note", "    if x:", "        return 1", "    "])
        editor.press(Keys.type("y = [\n1,\n"))
        #expect(editor.lines.suffix(3) == ["    y = [", "        1,", "        "])
        // A plain-text editor only keeps the indentation.
        var plain = TextEditor()
        plain.press(Keys.type("  a:\nb"))
        #expect(plain.text == "  a:\n  b")
    }

    @Test func aColonInsideADocstringOpensNoBlock() {
        var editor = TextEditor(text: "def f():\n    \"\"\"Sum.\n\n    Args:", language: .python)
        editor.moveToEnd()
        editor.press(Keys.enter)
        #expect(editor.lines.last == "    ")
        editor.setText("s = 'a:'")
        editor.moveToEnd()
        editor.press(Keys.enter)
        #expect(editor.lines.last == "")
    }

    @Test func enterOnABlankLineLeavesNoTrailingSpaces() {
        var editor = TextEditor(language: .python)
        editor.press(Keys.type("if x:\n\n"))
        #expect(editor.lines == ["if x:", "", "    "])
    }

    @Test func tabInsertsSpacesToTheNextStopAndIndentsSelections() {
        var editor = TextEditor(text: "ab")
        editor.moveToEnd()
        editor.press(Keys.tab)
        #expect(editor.text == "ab  ")
        editor.setText("a\n\nb\nc")
        editor.select(from: pos(0, 0), to: pos(2, 1))
        editor.press(Keys.tab)
        #expect(editor.lines == ["    a", "", "    b", "c"])
        #expect(editor.selection == pos(0, 0)..<pos(2, 5))
        editor.press(KeyEvent(.tab, .shift))
        #expect(editor.lines == ["a", "", "b", "c"])
        editor.undo()
        #expect(editor.lines == ["    a", "", "    b", "c"])
        // Shift-Tab without a selection dedents the cursor's line.
        editor.moveCursor(to: pos(2, 6))
        editor.press(KeyEvent(.tab, .shift))
        #expect(editor.lines[2] == "b")
        #expect(editor.cursor == pos(2, 1))
    }

    @Test func wantsCompletionAfterAnIdentifier() {
        var editor = TextEditor(text: "df.he   x")
        #expect(!editor.wantsCompletion)
        editor.moveCursor(to: pos(0, 5))
        #expect(editor.wantsCompletion)
        editor.moveCursor(to: pos(0, 7))
        #expect(!editor.wantsCompletion)
    }

    @Test func completionReplacesACodePointRangeAsOneStep() {
        var editor = TextEditor(text: "x = 'é'\ndf.he", language: .python)
        editor.moveToEnd()
        #expect(editor.cursorCodePointOffset == 7 + 1 + 5)
        editor.replace(codePointRange: 11..<13, with: "head()")
        #expect(editor.text == "x = 'é'\ndf.head()")
        #expect(editor.cursor == pos(1, 9))
        editor.undo()
        #expect(editor.text == "x = 'é'\ndf.he")
        // A decomposed é is one Character but two code points.
        editor.setText("e\u{301}x")
        #expect(editor.position(codePointOffset: 1) == pos(0, 0))
        #expect(editor.position(codePointOffset: 1, roundingUp: true) == pos(0, 1))
        #expect(editor.position(codePointOffset: 2) == pos(0, 1))
        #expect(editor.position(codePointOffset: 99) == pos(0, 2))
    }

    @Test func togglesLineComments() {
        var editor = TextEditor(text: "def f():\n    x = 1\n\n    # y = 2\n    return x", language: .python)
        editor.select(from: pos(1, 2), to: pos(4, 0))
        editor.press(Keys.ctrl("/"))
        #expect(editor.lines == ["def f():", "    # x = 1", "", "    # # y = 2", "    return x"])
        #expect(editor.selection == pos(1, 2)..<pos(4, 0))
        editor.press(Keys.ctrl("_"))  // Ctrl-/ as most terminals send it
        #expect(editor.lines == ["def f():", "    x = 1", "", "    # y = 2", "    return x"])
        editor.moveCursor(to: pos(3, 9))
        editor.press(Keys.ctrl("/"))
        #expect(editor.lines[3] == "    y = 2")
        #expect(editor.cursor == pos(3, 7))
        editor.undo()
        #expect(editor.lines[3] == "    # y = 2")
        var sql = TextEditor(text: "SELECT 1", language: .sql)
        sql.press(Keys.ctrl("/"))
        #expect(sql.text == "-- SELECT 1")
        #expect(sql.cursor == pos(0, 3))
        var markdown = TextEditor(text: "# Title", language: .markdown)
        #expect(markdown.press(Keys.ctrl("/")) == .handled(changed: false))
    }

    @Test func mouseRowsAndColumnsMapToPositions() {
        let editor = TextEditor(text: "abcdefgh\n東京x\n")
        #expect(editor.position(atRow: 0, x: 2, width: 5) == pos(0, 2))
        #expect(editor.position(atRow: 1, x: 9, width: 5) == pos(0, 8))  // right of a line end: the end
        #expect(editor.position(atRow: 0, x: 9, width: 5) == pos(0, 4))  // right of a wrapped row: its last character
        #expect(editor.position(atRow: 2, x: 3, width: 5) == pos(1, 1))  // inside 京: before it
        #expect(editor.position(atRow: 3, x: 3, width: 5) == pos(1, 3))  // the row for the cursor after a full row
        #expect(editor.position(atRow: 4, x: 3, width: 5) == pos(2, 0))
        #expect(editor.position(atRow: 99, x: 0, width: 5) == pos(2, 0))
        #expect(editor.position(atRow: -1, x: 4, width: 5) == pos(0, 0))
    }

    @Test func aClosingBracketAloneOnALineLinesUpWithItsOpener() {
        var editor = TextEditor(language: .python)
        editor.press(Keys.type("x = foo(\n1,\n)"))
        #expect(editor.lines == ["x = foo(", "    1,", ")"])
        #expect(editor.cursor == pos(2, 1))
        editor.undo()
        #expect(editor.lines == ["x = foo(", "    1,", "    "])
        var sql = TextEditor(text: "SELECT (\n", language: .sql)
        sql.moveToEnd()
        sql.press(Keys.type("    1\n)"))
        #expect(sql.lines == ["SELECT (", "    1", ")"])
    }

    @Test func pythonClauseKeywordsDedentToTheirBlock() {
        var editor = TextEditor(language: .python)
        editor.press(Keys.type("if x:\ny = 1\nelse:\nz = 2"))
        #expect(editor.lines == ["if x:", "    y = 1", "else:", "    z = 2"])
        editor.setText("")
        editor.press(Keys.type("try:\na()\nexcept ValueError:\nb()\nfinally:\nc()"))
        #expect(editor.lines == ["try:", "    a()", "except ValueError:", "    b()", "finally:", "    c()"])
        editor.setText("")
        editor.press(Keys.type("def f():\nif a:\nb\nelif c:\nd"))
        #expect(editor.lines == ["def f():", "    if a:", "        b", "    elif c:", "        d"])
        // Typed where it already belongs, a clause stays put.
        editor.setText("if a:\n    b\n")
        editor.moveToEnd()
        editor.press(Keys.type("else:"))
        #expect(editor.lines.last == "else:")
    }

    @Test func markdownListsContinueOnEnter() {
        var editor = TextEditor(language: .markdown)
        editor.press(Keys.type("- one\ntwo\n\nafter"))
        #expect(editor.lines == ["- one", "- two", "after"])
        editor.setText("")
        editor.press(Keys.type("9. a\nb\n\n  * c\nd\n\n- [x] done\nnext"))
        #expect(editor.lines == ["9. a", "10. b", "  * c", "  * d", "- [x] done", "- [ ] next"])
        // Enter inside the marker splits the line as usual.
        editor.setText("- item")
        editor.moveCursor(to: pos(0, 1))
        editor.press(Keys.enter)
        #expect(editor.lines == ["-", " item"])
    }
}
