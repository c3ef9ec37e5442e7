import Testing

@testable import TUI

/// Long random editing sessions (seeded, so repeatable): the incremental state must always equal
/// the state computed from scratch, and undoing everything must give back the original text.
@Suite("Cell editor: invariants under random editing")
struct EditorInvariantTests {
    /// A small deterministic generator (64-bit LCG).
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    static let pieces = ["\"\"\"", "'''", "#", "(", ")", "x", " ", ":", "東", "👨‍👩‍👧", "\t", "/*", "*/", "'", "```", "e\u{301}", "--"]

    static func check(_ editor: TextEditor, _ step: Int, _ seed: UInt64) {
        // The byte-scan shortcut for end states agrees with the full tokenizer on every line and state.
        let states: [LexState] = [
            .normal, .string(delimiter: "\"\"\""), .string(delimiter: "'''"), .string(delimiter: "'"), .blockComment,
            .fence(marker: "`", length: 3),
        ]
        for line in editor.lines {
            for state in states {
                #expect(
                    SyntaxHighlighter.endState(of: line, language: editor.language, state: state)
                        == SyntaxHighlighter.tokenize(Array(line), language: editor.language, state: state).end,
                    "seed \(seed) step \(step): \(line) from \(state)")
            }
        }
        let fresh = TextEditor(text: editor.text, language: editor.language)
        #expect(editor.lexStates == fresh.lexStates, "seed \(seed) step \(step)")
        #expect(editor.singleRowWidths == fresh.singleRowWidths, "seed \(seed) step \(step)")
        #expect(editor.lines == fresh.lines, "seed \(seed) step \(step)")
        #expect(editor.cursor.line < editor.lines.count && editor.cursor.column <= editor.lines[editor.cursor.line].count)
    }

    @Test(arguments: [(SyntaxLanguage.python, UInt64(1)), (.sql, 2), (.markdown, 3), (.python, 4)])
    func randomEditsKeepIncrementalStateExact(language: SyntaxLanguage, seed: UInt64) {
        let original = "def f(x):\n    '''doc\n    more'''\n    return (x + 1)  # c\n\nSELECT 1 /* a */\n```\ncode\n```"
        var editor = TextEditor(text: original, language: language)
        editor.wrapWidth = 12
        var random = Generator(state: seed)
        let keys: [KeyEvent] = [
            KeyEvent(.enter), KeyEvent(.backspace), KeyEvent(.delete), KeyEvent(.left), KeyEvent(.right), KeyEvent(.up),
            KeyEvent(.down), KeyEvent(.home), KeyEvent(.end), KeyEvent(.left, .shift), KeyEvent(.down, .shift),
            KeyEvent(.tab), KeyEvent(.tab, .shift), KeyEvent(.character("w"), .control), KeyEvent(.delete, .control),
            KeyEvent(.character("/"), .control), KeyEvent(.pageDown), KeyEvent(.right, .control),
        ]
        for step in 0..<400 {
            switch random.next(10) {
            case 0...3: editor.insert(Self.pieces[random.next(Self.pieces.count)])
            case 4...6: _ = editor.handle(keys[random.next(keys.count)])
            case 7: editor.insert(Self.pieces[random.next(Self.pieces.count)] + "\n" + Self.pieces[random.next(Self.pieces.count)])
            case 8: editor.undo()
            default: editor.redo()
            }
            Self.check(editor, step, seed)
            var screen = ScreenBuffer(width: 12, height: 6)
            _ = editor.render(into: &screen, rect: screen.area, focused: true, scrollRow: editor.cursorRow(width: 12))
        }
        var undos = 0
        while editor.canUndo && undos < 1000 {
            editor.undo()
            undos += 1
        }
        #expect(editor.text == original, "seed \(seed)")
        Self.check(editor, -1, seed)
    }
}
