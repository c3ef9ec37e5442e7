import Testing

@testable import TUI

/// Screen snapshots of highlighted cells: each screen row, then a row with one letter per column for its syntax kind.
@Suite("Cell editor: snapshots")
struct EditorSnapshotTests {
    /// The kinds a language produces, with their letters; `.` marks plain text, a space a plain blank.
    static func letters(_ language: SyntaxLanguage) -> [(SyntaxKind, Character)] {
        switch language {
        case .python: [(.keyword, "k"), (.builtin, "b"), (.string, "s"), (.comment, "c"), (.number, "n"), (.decorator, "d"), (.definition, "f")]
        case .sql: [(.keyword, "k"), (.builtin, "b"), (.string, "s"), (.comment, "c"), (.number, "n")]
        case .markdown:
            [
                (.heading, "h"), (.emphasis, "e"), (.strong, "S"), (.code, "C"), (.link, "l"), (.url, "u"), (.listMarker, "m"),
                (.quote, "q"), (.fence, "F"), (.rule, "r"),
            ]
        case .yaml: [(.definition, "f"), (.keyword, "k"), (.string, "s"), (.comment, "c"), (.number, "n"), (.decorator, "d"), (.listMarker, "m"), (.rule, "r")]
        case .plain: []
        }
    }

    static func snapshot(_ editor: TextEditor, width: Int, height: Int, focused: Bool = false) -> [String] {
        let screen = EditorScreen(editor, width: width, height: height, focused: focused)
        let theme = EditorTheme.standard
        let kinds = letters(editor.language)
        var rows: [String] = []
        for (y, line) in screen.lines.enumerated() {
            rows.append(line)
            var marks = ""
            for x in 0..<width {
                let cell = screen.buffer[x, y]
                if cell.isContinuation {
                    marks.append(marks.last ?? " ")
                    continue
                }
                let kind = kinds.first { theme.style(for: $0.0) == cell.style }?.1
                marks.append(kind ?? (cell.grapheme == " " && cell.style == theme.text ? " " : "."))
            }
            while marks.last == " " { marks.removeLast() }
            rows.append(marks)
        }
        while rows.last == "" { rows.removeLast() }  // the empty rows below the text
        return rows
    }

    static func snapshot(_ text: String, _ language: SyntaxLanguage, width: Int, height: Int) -> [String] {
        snapshot(TextEditor(text: text, language: language), width: width, height: height)
    }

    @Test func pythonCell() {
        let source = """
            @dataclass
            class Point(Base):
                \"\"\"A point; "quotes" and # inside.
                Second line of the docstring.\"\"\"
                def norm(self, p=2) -> float:  # Lp
                    return sum(abs(v) ** p for v in (self.x, self.y)) ** (1 / p)
            match cmd:
                case ["go", 東京]: print(f"{cmd!r}", 0xFF, 1_000.5j)
            """
        #expect(
            Self.snapshot(source, .python, width: 40, height: 12).joined(separator: "\n") == #"""
            @dataclass
            dddddddddd
            class Point(Base):
            kkkkk fffff.......
                """A point; "quotes" and # inside.
                ssssssssssssssssssssssssssssssssss
                Second line of the docstring."""
            ssssssssssssssssssssssssssssssssssss
                def norm(self, p=2) -> float:  # Lp
                kkk ffff.bbbb. ..n. .. bbbbb.  cccc
                    return sum(abs(v) ** p for v in
                    kkkkkk bbb.bbb... .. . kkk . kk
            (self.x, self.y)) ** (1 / p)
            .bbbb... bbbb.... .. .n . ..
            match cmd:
            kkkkk ....
                case ["go", 東京]: print(f"{cmd!r}",
                kkkk .ssss. ...... bbbbb.ssssssssss.
             0xFF, 1_000.5j)
             nnnn. nnnnnnnn.
            """#)
    }

    @Test func sqlCell() {
        let source = """
            -- top customers
            SELECT c.name, Count(*) AS n, SUM(o.total) total
            FROM customers c JOIN orders o ON o.cid = c.id
            WHERE o.note <> 'it''s /* not */ a comment'
              AND o.day >= '2024-01-01' /* one
            two */ GROUP BY 1 ORDER BY n DESC LIMIT 10;
            """
        #expect(
            Self.snapshot(source, .sql, width: 50, height: 8).joined(separator: "\n") == #"""
            -- top customers
            cccccccccccccccc
            SELECT c.name, Count(*) AS n, SUM(o.total) total
            kkkkkk ....... bbbbb... kk .. bbb......... .....
            FROM customers c JOIN orders o ON o.cid = c.id
            kkkk ......... . kkkk ...... . kk ..... . ....
            WHERE o.note <> 'it''s /* not */ a comment'
            kkkkk ...... .. sssssssssssssssssssssssssss
              AND o.day >= '2024-01-01' /* one
              kkk ..... .. ssssssssssss cccccc
            two */ GROUP BY 1 ORDER BY n DESC LIMIT 10;
            cccccc kkkkk kk n kkkkk kk . kkkk kkkkk nn.
            """#)
    }

    @Test func markdownCell() {
        let source = """
            ## Results *so far*
            > Note: **bold** and `x = 1`
            1. see [the docs](https://x.org)
            - 漢字 _em_ snake_case
            ---
            ~~~sql
            SELECT 1
            ~~~
            """
        #expect(
            Self.snapshot(source, .markdown, width: 40, height: 8).joined(separator: "\n") == #"""
            ## Results *so far*
            hhhhhhhhhhhhhhhhhhh
            > Note: **bold** and `x = 1`
            q ..... SSSSSSSS ... CCCCCCC
            1. see [the docs](https://x.org)
            mm ... lllllllllluuuuuuuuuuuuuuu
            - 漢字 _em_ snake_case
            m .... eeee ..........
            ---
            rrr
            ~~~sql
            FFFFFF
            SELECT 1
            CCCCCCCC
            ~~~
            FFF
            """#)
    }
}
