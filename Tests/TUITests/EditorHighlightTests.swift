import Testing

@testable import TUI

/// The highlighted pieces of `text` as (text, kind) pairs, line by line in one list.
func highlighted(_ text: String, _ language: SyntaxLanguage) -> [(String, SyntaxKind)] {
    var state = LexState.normal
    var pieces: [(String, SyntaxKind)] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let characters = Array(line)
        let (tokens, end) = SyntaxHighlighter.tokenize(characters, language: language, state: state)
        state = end
        pieces += tokens.map { (String(characters[$0.range]), $0.kind) }
    }
    return pieces
}

/// Compares token lists (tuples are not Equatable).
func same(_ a: [(String, SyntaxKind)], _ b: [(String, SyntaxKind)]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
}

@Suite("Cell editor: syntax highlighting")
struct EditorHighlightTests {
    @Test func languagesFromFileExtensionsAndKernelNames() {
        #expect(SyntaxLanguage(fileExtension: "py") == .python)
        #expect(SyntaxLanguage(fileExtension: ".PY") == .python)
        #expect(SyntaxLanguage(fileExtension: "sql") == .sql)
        #expect(SyntaxLanguage(fileExtension: "md") == .markdown)
        #expect(SyntaxLanguage(fileExtension: "yaml") == .yaml)
        #expect(SyntaxLanguage(fileExtension: "") == .plain)
        #expect(SyntaxLanguage(languageName: "python") == .python)
        #expect(SyntaxLanguage(languageName: "SQL") == .sql)
        #expect(SyntaxLanguage(languageName: "R") == .plain)
    }

    @Test func python() {
        let source = """
            @app.route("/x")
            def f(a=0x1F, b=1.5e-3):  # hi
                return print(a, 'it''s', rb"\\"q")
            class C(Exception): pass
            """
        #expect(
            same(
                highlighted(source, .python),
                [
                    ("@app.route", .decorator), ("\"/x\"", .string),
                    ("def", .keyword), ("f", .definition), ("0x1F", .number), ("1.5e-3", .number), ("# hi", .comment),
                    ("return", .keyword), ("print", .builtin), ("'it'", .string), ("'s'", .string), ("rb\"\\\"q\"", .string),
                    ("class", .keyword), ("C", .definition), ("Exception", .builtin), ("pass", .keyword),
                ]))
        // A method named like a builtin is not a builtin; match and case are keywords only as statements.
        #expect(same(highlighted("df.sum()", .python), []))
        #expect(same(highlighted("match = re.match(p, s)\ncase(1)", .python), [("1", .number)]))
        #expect(same(highlighted("match (x):\n    case _: pass", .python), [("match", .keyword), ("case", .keyword), ("pass", .keyword)]))
    }

    @Test func pythonTripleQuotedStringsSpanLines() {
        let source = "x = '''one\ntwo # not a comment\nthree''' + 1\ns = 'a\\\nb'"
        #expect(
            same(
                highlighted(source, .python),
                [
                    ("'''one", .string), ("two # not a comment", .string), ("three'''", .string), ("1", .number),
                    ("'a\\", .string), ("b'", .string),
                ]))
    }

    @Test func sql() {
        let source = "select Count(*), 'it''s' -- c\nFROM t /* multi\nline */ WHERE x = 1.5 AND \"select\" = :p"
        #expect(
            same(
                highlighted(source, .sql),
                [
                    ("select", .keyword), ("Count", .builtin), ("'it''s'", .string), ("-- c", .comment),
                    ("FROM", .keyword), ("/* multi", .comment), ("line */", .comment), ("WHERE", .keyword), ("1.5", .number),
                    ("AND", .keyword),
                ]))
    }

    @Test func sqlNamesAfterAQualifierAndUncalledFunctionsArePlain() {
        #expect(same(highlighted("SELECT t.select, total, date(d) FROM t", .sql), [("SELECT", .keyword), ("date", .builtin), ("FROM", .keyword)]))
        #expect(same(highlighted("CREATE TABLE t (id INTEGER, v varchar(3))", .sql), [("CREATE", .keyword), ("TABLE", .keyword), ("INTEGER", .builtin), ("varchar", .builtin), ("3", .number)]))
    }

    @Test func markdown() {
        let source = """
            # Title
            Some *em*, **strong**, `code`, [link](http://x) and <https://y>.
            - item
            12. item
            > quote
            ---
            ```python
            # not a heading
            ```
            snake_case_word
            """
        #expect(
            same(
                highlighted(source, .markdown),
                [
                    ("# Title", .heading),
                    ("*em*", .emphasis), ("**strong**", .strong), ("`code`", .code), ("[link]", .link), ("(http://x)", .url),
                    ("<https://y>", .url),
                    ("-", .listMarker), ("12.", .listMarker), (">", .quote), ("---", .rule),
                    ("```python", .fence), ("# not a heading", .code), ("```", .fence),
                ]))
    }

    @Test func editsReTokenizeOnlyUntilTheStatesAgree() {
        var editor = TextEditor(text: (0..<200).map { "x\($0) = 'v'" }.joined(separator: "\n"), language: .python)
        #expect(editor.lexStates.allSatisfy { $0 == .normal })
        // Opening a triple quote turns every later line into string...
        editor.moveCursor(to: pos(10, 0))
        editor.insert("\"\"\"")
        #expect(editor.lexStates[11] == .string(delimiter: "\"\"\""))
        #expect(editor.lexStates[200] == .string(delimiter: "\"\"\""))
        // ...and closing it turns them back.
        editor.moveCursor(to: pos(12, 0))
        editor.insert("\"\"\"")
        #expect(editor.lexStates[12] == .string(delimiter: "\"\"\""))
        #expect(editor.lexStates[13] == .normal)
        #expect(editor.lexStates[200] == .normal)
        #expect(editor.lexStates.count == editor.lines.count + 1)
        // Undo restores the earlier states; whole-text checks agree with the incremental ones.
        editor.undo()
        var fresh = TextEditor(text: editor.text, language: .python)
        #expect(editor.lexStates == fresh.lexStates)
        editor.press(Keys.ctrl("a"), Keys.backspace)
        fresh.setText("")
        #expect(editor.lexStates == fresh.lexStates)
        #expect(editor.lexStates == [.normal, .normal])
    }

    @Test func renderedColoursComeFromTheTheme() {
        let editor = TextEditor(text: "def f():\n    return 'x'  # c", language: .python)
        let screen = EditorScreen(editor, width: 30, height: 2, focused: false)
        let theme = EditorTheme.standard
        #expect(screen.style(0, 0) == theme.style(for: .keyword))
        #expect(screen.style(4, 0) == theme.style(for: .definition))
        #expect(screen.style(5, 0) == theme.text)
        #expect(screen.style(11, 1) == theme.style(for: .string))
        #expect(screen.style(16, 1) == theme.style(for: .comment))
        // Changing the language re-highlights.
        var plain = editor
        plain.language = .plain
        #expect(EditorScreen(plain, width: 30, height: 2).style(0, 0) == theme.text)
    }

    @Test func selectionAndBracketsStayVisibleWithoutColour() {
        var editor = TextEditor(text: "f(x)  # note", language: .python)
        editor.select(from: pos(0, 0), to: pos(0, 1))
        let screen = EditorScreen(editor, width: 14, height: 1)
        for depth in [ColorDepth.none, .ansi16, .palette256, .trueColor] {
            #expect(screen.style(0, 0).reduced(to: depth).attributes.contains(.reverse), "\(depth)")
            #expect(screen.style(1, 0).reduced(to: depth).attributes.isSuperset(of: [.bold, .underline]), "\(depth)")
            #expect(screen.style(6, 0).reduced(to: depth).attributes.contains(.italic), "\(depth)")
        }
        #expect(screen.style(6, 0).reduced(to: .none).foreground == .default)
        #expect(screen.style(6, 0).reduced(to: .ansi16).foreground == .ansi(8))
    }

    @Test func spansForReadOnlyViews() {
        let theme = EditorTheme.standard
        let spans = SyntaxHighlighter.spans(for: "SELECT 1", language: .sql)
        #expect(spans == [[Span("SELECT", style: theme.style(for: .keyword)), Span(" "), Span("1", style: theme.style(for: .number))]])
        // Only the visible lines, in the state the lines above leave.
        let lines = ["x = '''", "a \"\"\" b", "'''", "y = 1"]
        let all = SyntaxHighlighter.spans(for: lines.joined(separator: "\n"), language: .python)
        #expect(SyntaxHighlighter.spans(forLines: lines, visible: 1..<3, language: .python) == Array(all[1..<3]))
        #expect(SyntaxHighlighter.spans(forLines: lines, visible: 3..<9, language: .python) == [[Span("y = "), Span("1", style: theme.style(for: .number))]])
        #expect(all[1] == [Span("a \"\"\" b", style: theme.style(for: .string))])
    }
}

@Suite("Cell editor: bracket matching")
struct EditorBracketTests {
    @Test func findsThePartnerOfTheBracketAtTheCursor() {
        var editor = TextEditor(text: "f(a[1], {b: (2)})\nx", language: .python)
        editor.moveCursor(to: pos(0, 1))  // after "f", before "("
        #expect(editor.matchingBracket?.partner == pos(0, 16))
        editor.moveCursor(to: pos(0, 17))  // after the last ")"
        #expect(editor.matchingBracket?.bracket == pos(0, 16))
        #expect(editor.matchingBracket?.partner == pos(0, 1))
        editor.moveCursor(to: pos(0, 4))  // after "["
        #expect(editor.matchingBracket?.partner == pos(0, 5))
        editor.moveCursor(to: pos(1, 1))
        #expect(editor.matchingBracket == nil)
    }

    @Test func skipsBracketsInStringsAndCommentsAndSpansLines() {
        var editor = TextEditor(text: "x = (\n  ')',  # )\n  1)", language: .python)
        editor.moveCursor(to: pos(0, 4))
        #expect(editor.matchingBracket?.partner == pos(2, 3))
        editor.moveCursor(to: pos(1, 4))  // next to the ")" inside the string
        #expect(editor.matchingBracket == nil)
        editor.setText("(]")
        #expect(editor.matchingBracket == nil)
    }

    @Test func marksBothBracketsWhenFocused() {
        let editor = TextEditor(text: "(ab)", language: .python).at(0, 0)
        let theme = EditorTheme.standard
        let screen = EditorScreen(editor, width: 6, height: 1)
        #expect(screen.style(0, 0).attributes.isSuperset(of: theme.bracketMatch.attributes))
        #expect(screen.style(3, 0).background == theme.bracketMatch.background)
        #expect(screen.style(1, 0) == theme.text)
        let unfocused = EditorScreen(editor, width: 6, height: 1, focused: false)
        #expect(unfocused.style(0, 0) == theme.text)
    }
}
