import Testing

@testable import TUI

/// A rendered editor: its screen lines (trimmed), the buffer for style checks and the cursor.
struct EditorScreen {
    var buffer: ScreenBuffer
    var cursor: Position?
    var lines: [String] { buffer.lines(trimmed: true) }

    init(_ editor: TextEditor, width: Int, height: Int, rect: Rect? = nil, focused: Bool = true, scrollRow: Int = 0, theme: EditorTheme = .standard) {
        buffer = ScreenBuffer(width: width, height: height)
        cursor = editor.render(into: &buffer, rect: rect ?? buffer.area, focused: focused, scrollRow: scrollRow, theme: theme)
    }

    /// The style of the cell at `x`, `y`.
    func style(_ x: Int, _ y: Int) -> Style { buffer[x, y].style }
}

@Suite("Cell editor: rendering")
struct EditorRenderTests {
    let theme = EditorTheme.standard

    @Test func drawsLinesInsideItsRectangleAndReturnsTheCursor() {
        let editor = TextEditor(text: "print(1)\nx = 2").at(1, 3)
        var buffer = ScreenBuffer(width: 14, height: 4)
        buffer.write("##############", x: 0, y: 0)
        buffer.write("##############", x: 0, y: 3)
        let cursor = editor.render(into: &buffer, rect: Rect(x: 2, y: 1, width: 10, height: 2), focused: true)
        #expect(
            buffer.lines() == [
                "##############",
                "  print(1)    ",
                "  x = 2       ",
                "##############",
            ])
        #expect(cursor == Position(x: 5, y: 2))
        #expect(editor.render(into: &buffer, rect: Rect(x: 2, y: 1, width: 10, height: 2), focused: false) == nil)
    }

    @Test func softWrapsLongLinesAndCountsRows() {
        let editor = TextEditor(text: "abcdefghijkl\nxy\n12345678")
        #expect(editor.height(width: 5) == 3 + 1 + 2)
        #expect(editor.height(width: 8) == 2 + 1 + 2)  // a line exactly filling its row gets a row for the cursor
        #expect(editor.height(width: 20) == 3)
        let screen = EditorScreen(editor.at(0, 12), width: 5, height: 7)
        #expect(
            screen.lines == [
                "abcde",
                "fghij",
                "kl",
                "xy",
                "12345",
                "678",
                "",
            ])
        #expect(screen.cursor == Position(x: 2, y: 2))
        let full = EditorScreen(editor.moveEnd(), width: 8, height: 5)
        #expect(full.lines == ["abcdefgh", "ijkl", "xy", "12345678", ""])
        #expect(full.cursor == Position(x: 0, y: 4))
        #expect(editor.moveEnd().cursorRow(width: 8) == 4)
    }

    @Test func wrapsAtWordsWhenItCan() {
        let editor = TextEditor(text: "hello big world\n    aaaaaaaaaa\nab cdefghijkl")
        let screen = EditorScreen(editor.at(0, 6), width: 8, height: 8)
        #expect(screen.lines == ["hello", "big", "world", "    aaaa", "aaaaaa", "ab", "cdefghij", "kl"])
        #expect(screen.cursor == Position(x: 0, y: 1))  // before "big", which starts the second row
        #expect(editor.height(width: 8) == 8)
        var moving = editor.at(0, 2)
        moving.wrapWidth = 8
        moving.press(Keys.down)
        #expect(moving.cursor == pos(0, 8))
    }

    @Test func scrollsByRows() {
        let editor = TextEditor(text: "abcdefghij\nk\nl\nm").at(2, 1)
        let screen = EditorScreen(editor, width: 4, height: 3, scrollRow: 2)
        #expect(screen.lines == ["ij", "k", "l"])
        #expect(screen.cursor == Position(x: 1, y: 2))
        #expect(editor.cursorRow(width: 4) == 4)
        #expect(EditorScreen(editor, width: 4, height: 3, scrollRow: 5).cursor == nil)
    }

    @Test func wideCharactersAndEmojiAreNeverSplit() {
        let editor = TextEditor(text: "ab東京👨‍👩‍👧🇯🇵x")
        let screen = EditorScreen(editor.at(0, 5), width: 5, height: 3)
        // 東 does not fit after "ab" plus 京 in 5 columns: each row breaks before a cluster that would not fit.
        #expect(screen.lines == ["ab東", "京👨‍👩‍👧", "🇯🇵x"])
        #expect(screen.buffer[2, 0].grapheme == "東" && screen.buffer[3, 0].isContinuation)
        #expect(screen.buffer[4, 0] == Cell.blank)
        #expect(screen.cursor == Position(x: 0, y: 2))  // before the flag
        #expect(editor.height(width: 5) == 3)
        // One column is too narrow for a wide character: it shows as a space, never half.
        let narrow = EditorScreen(TextEditor(text: "東a"), width: 1, height: 3)
        #expect(narrow.lines == ["", "a", ""])
    }

    @Test func tabsShowAsSpacesToTheNextStop() {
        let editor = TextEditor(text: "a\tb\n\tc\nabcd\te")
        let screen = EditorScreen(editor.at(0, 2), width: 12, height: 3)
        #expect(screen.lines == ["a   b", "    c", "abcd    e"])
        #expect(screen.cursor == Position(x: 4, y: 0))
    }

    @Test func invisibleCharactersShowAsReplacementMarks() {
        let editor = TextEditor(text: "a\u{7}b\u{200B}c")
        let screen = EditorScreen(editor, width: 10, height: 1)
        #expect(screen.lines == ["a\u{FFFD}b\u{FFFD}c"])
        #expect(screen.style(1, 0) == theme.invisible)
    }

    @Test func selectionIsReversedIncludingSelectedLineBreaks() {
        var editor = TextEditor(text: "abc\ndef\nghi")
        editor.select(from: pos(0, 1), to: pos(2, 1))
        let screen = EditorScreen(editor, width: 6, height: 3)
        #expect(screen.lines == ["abc", "def", "ghi"])
        #expect(!screen.style(0, 0).attributes.contains(.reverse))
        #expect(screen.style(1, 0).attributes.contains(.reverse))
        #expect(screen.style(3, 0).attributes.contains(.reverse))  // the line break
        #expect(screen.style(3, 1).attributes.contains(.reverse))
        #expect(screen.style(0, 2).attributes.contains(.reverse))
        #expect(!screen.style(1, 2).attributes.contains(.reverse))
        #expect(!screen.style(3, 2).attributes.contains(.reverse))
        #expect(screen.cursor == Position(x: 1, y: 2))
        // An unfocused cell shows no selection.
        let unfocused = EditorScreen(editor, width: 6, height: 3, focused: false)
        #expect(unfocused.style(1, 0) == theme.text)
        #expect(unfocused.cursor == nil)
    }
}

extension TextEditor {
    /// A copy with the cursor at the end.
    func moveEnd() -> TextEditor {
        var copy = self
        copy.moveToEnd()
        return copy
    }
}
