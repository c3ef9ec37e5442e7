import CoreSupport
import Foundation
import Notebook
import Testing

@testable import TUI

/// Markdown rendered for the terminal: outputs and Markdown cells, at 80 and 40 columns, wide characters included.
@Suite("Markdown rendering")
struct MarkdownTests {
    /// A document with every construct the renderer knows, and some Japanese and emoji.
    static let sample = """
        # Quarterly report 📈
        Revenue grew *fast* and **steadily**; the ~~old~~ forecast was `too low`. \
        See [the dashboard](https://example.com/q3) or <https://example.com/raw>.

        ## 東京の売上
        東京の売上は前年比で大きく伸びました。新しい店舗が三つ開店し、週末の客数は二倍になりました。

        Setext heading
        --------------

        - first item with a long line that has to wrap somewhere near the edge of the screen
        - second item
          - nested *item*
            1. deep one
            2. deep two
        - third item

        3. three
        4. four

        > A quote that says something
        > over two lines, with **bold**.

        ```python
        def total(xs):
            return sum(x * 2 for x in xs)  # doubled
        ```

        | city | sales | 備考 |
        |:-----|------:|------|
        | 東京 | 1200 | 好調 |
        | Paris | 950 | `ok` |

        ***

        Line one\\
        line two, [a reference][docs] and ![a chart](chart.png).

        [docs]: https://example.com/docs
        """

    static func lines(_ markdown: String, width: Int) -> [String] {
        MarkdownDocument(markdown).lines(width: width).map { line in
            var text = line.map(\.text).joined()
            while text.last == " " { text.removeLast() }
            return text
        }
    }

    static func spans(_ markdown: String, width: Int = 80) -> [[Span]] { MarkdownDocument(markdown).lines(width: width) }

    @Test(arguments: [80, 40])
    func everyConstructRendersAndFitsTheWidth(width: Int) throws {
        let lines = Self.lines(Self.sample, width: width)
        try OutputSnapshotTests.check(lines, "markdown-\(width)")
        #expect(lines.allSatisfy { DisplayWidth.of($0) <= width }, "no line is wider than \(width) columns, wide characters counted as two")
        #expect(!lines.joined().contains("**") && !lines.joined().contains("```"), "markup is rendered, not shown")
    }

    @Test func stylesReachTheSpans() throws {
        let lines = Self.spans("# Title\n\nplain *it* **bold** `code` ~~gone~~ [link](https://x.org)")
        let heading = try #require(lines.first)
        #expect(heading.first?.text == "# ", "the level shows as its marks")
        #expect(heading.last?.style.attributes.contains([.bold, .underline]) == true)
        let body = lines[2]
        func span(_ text: String) -> Span? { body.first { $0.text.contains(text) } }
        #expect(span("it")?.style.attributes.contains(.italic) == true)
        #expect(span("bold")?.style.attributes.contains(.bold) == true)
        #expect(span("code")?.style.foreground == MarkdownDocument.codeStyle.foreground)
        let stroke: Unicode.Scalar = "\u{0336}"
        let struck = try #require(body.first { $0.text.unicodeScalars.contains(stroke) })
        #expect(String(String.UnicodeScalarView(struck.text.unicodeScalars.filter { $0 != stroke })) == "gone", "each struck character carries a stroke")
        #expect(struck.style.attributes.contains(.dim))
        #expect(span("link")?.style.attributes.contains(.underline) == true)
        #expect(span("(https://x.org)") != nil, "the URL follows the link text")
        #expect(body.allSatisfy { $0.link == nil }, "links are text, never terminal hyperlinks")
    }

    @Test func nestedEmphasisAndIntrawordUnderscores() {
        // As in CommonMark: `*` between digits emphasises, `_` inside a word does not.
        #expect(Self.lines("***both*** snake_case_name 2*3*4", width: 80) == ["both snake_case_name 234"])
        let both = Self.spans("***both***")[0]
        #expect(both.count == 1 && both[0].style.attributes.contains([.bold, .italic]))
        #expect(Self.lines("snake_case_name and \\*not emphasis\\*", width: 80) == ["snake_case_name and *not emphasis*"])
        #expect(Self.lines("a `**not bold**` b", width: 80) == ["a **not bold** b"])
    }

    @Test func fencedCodeIsHighlightedForItsLanguage() throws {
        let lines = Self.spans("```python\ndef f():\n    return 'x'\n```\n\n```sql\nSELECT 1\n```")
        let def = try #require(lines.first { $0.contains { $0.text == "def" } })
        #expect(def.first { $0.text == "def" }?.style == EditorTheme.standard.style(for: .keyword))
        let select = try #require(lines.first { $0.contains { $0.text == "SELECT" } })
        #expect(select.first { $0.text == "SELECT" }?.style == EditorTheme.standard.style(for: .keyword))
    }

    @Test func untrustedTextStaysSanitized() {
        let hostile = "# Title\u{1B}]0;pwned\u{07}\n\n[click](file:///etc/passwd) \u{1B}]8;;file:///etc/passwd\u{1B}\\x\u{1B}]8;;\u{1B}\\ \u{1B}[2J\u{1B}]52;c;ZXZpbA==\u{07}done"
        let lines = Self.spans(hostile)
        for span in lines.joined() {
            #expect(!span.text.unicodeScalars.contains { DisplayWidth.isControl($0) }, "no control character in \(span.text.debugDescription)")
            #expect(span.link == nil)
        }
        let text = Self.lines(hostile, width: 80)
        #expect(text == ["# Title", "", "click (file:///etc/passwd) x done"])
    }

    @Test func wideCharactersWrapBetweenCharacters() {
        let lines = Self.lines("東京の売上は前年比で大きく伸びました。", width: 10)
        #expect(lines == ["東京の売上", "は前年比で", "大きく伸び", "ました。"])
        #expect(lines.allSatisfy { DisplayWidth.of($0) <= 10 })
    }

    @Test func tablesAreAlignedTextTables() {
        let lines = Self.lines("| a | number |\n|---|---:|\n| x | 1 |\n| longer | 22.5 |", width: 80)
        #expect(lines == ["a       number", "──────────────", "x            1", "longer    22.5"])
    }

    // MARK: In the notebook app

    static func app(_ cells: [NotebookCell], width: Int, height: Int) -> NotebookApp.State {
        var state = NotebookApp.State(
            notebook: Notebook(cells: cells, metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]]),
            path: "/tmp/md.ipynb", size: Size(width: width, height: height))
        state = NotebookApp.update(state, .tick(100))
        return NotebookApp.update(state, .session(.kernelStatus(.idle)))
    }

    static func screen(_ state: NotebookApp.State) -> [String] {
        var buffer = ScreenBuffer(size: state.size)
        NotebookApp.render(state, into: &buffer)
        return buffer.lines()
    }

    @Test(arguments: [80, 40])
    func markdownCellsAndOutputsRenderInCommandMode(width: Int) throws {
        var code = NotebookCell(.code, source: "display(Markdown('## 結果\\n- **42** rows'))", id: nil)
        code.executionCount = 1
        code.outputs = [
            Output(json: [
                "output_type": "display_data", "metadata": [:],
                "data": ["text/markdown": "## 結果\n- **42** rows, see [docs](https://example.com)", "text/plain": "<IPython.core.display.Markdown object>"],
            ])
        ]
        let state = Self.app(
            [NotebookCell(.markdown, source: "# Analysis 分析\nThe *numbers* below come from `sales.csv`; 東京 leads by a wide margin this quarter.", id: nil), code],
            width: width, height: 16)
        let screen = Self.screen(state)
        try OutputSnapshotTests.check(screen, "markdown-cells-\(width)x16")
        #expect(screen.allSatisfy { DisplayWidth.of($0) == width })
        #expect(screen.contains { $0.contains("# Analysis 分析") })
        #expect(!screen.joined().contains("*numbers*") && !screen.joined().contains("- **42** rows, see"))
    }

    @Test func enterEditsTheSourceAndEscapeRendersItAgain() {
        var state = Self.app([NotebookCell(.markdown, source: "**bold** text", id: nil)], width: 40, height: 8)
        #expect(Self.screen(state)[1].contains("bold text"))
        state = NotebookApp.update(state, .input(.key(.enter)))
        #expect(state.mode == .edit)
        #expect(Self.screen(state)[1].contains("**bold** text"), "the editor shows the source")
        state = NotebookApp.update(state, .input(.char("!")))
        state = NotebookApp.update(state, .input(.key(.escape)))
        #expect(Self.screen(state)[1].contains("bold text!"))
        #expect(state.cells[0].source == "**bold** text!")
    }

    @Test func aResizeWrapsRenderedMarkdownAgain() {
        let text = "word " + String(repeating: "lorem ipsum ", count: 8)
        var state = Self.app([NotebookCell(.markdown, source: text, id: nil)], width: 80, height: 12)
        let wide = state.sourceRows(0)
        state = NotebookApp.update(state, .resize(Size(width: 30, height: 12)))
        #expect(state.sourceRows(0) > wide)
        #expect(Self.screen(state).allSatisfy { DisplayWidth.of($0) == 30 })
    }
}
