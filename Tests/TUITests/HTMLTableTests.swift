import CoreSupport
import Notebook
import TestSupport
import Testing

@testable import TUI

/// HTML outputs: tables extracted from real pandas HTML and laid out as aligned text; other HTML stripped.
@Suite("Outputs: HTML tables", .serialized)
struct HTMLTableTests {
    /// The `_repr_html_` of DataFrames built by `code` (a Python expression list), from the venv's real pandas.
    static func pandasHTML(_ frames: String, options: String = "") throws -> [String] {
        let script = """
            import json, sys
            import numpy as np
            import pandas as pd
            \(options)
            frames = [\(frames)]
            sys.stdout.write(json.dumps([f._repr_html_() for f in frames]))
            """
        let json = try JSON.parse(try Python.run(script))
        return json.arrayValue?.compactMap(\.stringValue) ?? []
    }

    static func text(_ table: TextTable, width: Int) -> [String] {
        (0..<table.lineCount).map { i in
            var line = table.line(i, width: width).map(\.text).joined()
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    @Test func aPlainDataFrameLinesUpWithNumbersOnTheRight() throws {
        let html = try Self.pandasHTML(#"pd.DataFrame({"city": ["東京", "Paris", "NYC"], "n": [42, 7, -3.5], "ok": [True, False, None]})"#)
        let parsed = try #require(HTMLTable.parse(html[0]))
        #expect(parsed.headerRows.count == 1 && parsed.bodyRows.count == 3)
        #expect(parsed.before.isEmpty && parsed.after.isEmpty, "pandas' <style> block is not text")
        let table = TextTable(parsed)
        #expect(table.indexColumns == 1)
        #expect(table.numeric == [false, false, true, false])
        #expect(
            Self.text(table, width: 80) == [
                "   city      n  ok",
                "─────────────────────",
                "0  東京   42.0  True",
                "1  Paris   7.0  False",
                "2  NYC    -3.5  None",
            ], "numbers right, text (the bool column too) left")
        // Header and row labels are bold, the rule grey.
        let header = table.line(0, width: 80)
        #expect(header.contains { $0.text.contains("city") && $0.style.attributes.contains(.bold) })
        #expect(table.line(2, width: 80).first?.style.attributes.contains(.bold) == true)
        #expect(table.line(1, width: 80).first?.style == TextTable.ruleStyle)
    }

    @Test func multiIndexHeadersAndRowLabelsKeepTheirShape() throws {
        let html = try Self.pandasHTML(
            """
            pd.DataFrame(np.arange(9).reshape(3, 3),
                index=pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["k", "i"]),
                columns=pd.MultiIndex.from_tuples([("x", "p"), ("x", "q"), ("y", "p")]))
            """)
        let table = TextTable(try #require(HTMLTable.parse(html[0])))
        #expect(table.indexColumns == 2)
        #expect(
            Self.text(table, width: 80) == [
                "      x     y",
                "      p  q  p",
                "k  i",
                "─────────────",
                "a  1  0  1  2",
                "   2  3  4  5",
                "b  1  6  7  8",
            ], "the spanning x sits over p and q; the row span of a leaves its second row blank, as pandas prints it")
    }

    @Test func aTruncatedFrameKeepsItsEllipsesAndFooter() throws {
        let html = try Self.pandasHTML(
            "pd.DataFrame(np.arange(200).reshape(20, 10))", options: "pd.set_option('display.max_rows', 6); pd.set_option('display.max_columns', 6)")
        let parsed = try #require(HTMLTable.parse(html[0]))
        #expect(parsed.after == ["20 rows × 10 columns"])
        let table = TextTable(parsed)
        #expect(
            Self.text(table, width: 80) == [
                "       0    1    2  ...    7    8    9",
                "──────────────────────────────────────",
                "0      0    1    2  ...    7    8    9",
                "1     10   11   12  ...   17   18   19",
                "2     20   21   22  ...   27   28   29",
                "...  ...  ...  ...  ...  ...  ...  ...",
                "17   170  171  172  ...  177  178  179",
                "18   180  181  182  ...  187  188  189",
                "19   190  191  192  ...  197  198  199",
                "20 rows × 10 columns",
            ])
        #expect(table.line(9, width: 80).first?.style == TextTable.noteStyle)
        #expect(table.line(7, width: 80).contains { $0.text == "..." && $0.style == TextTable.ellipsisStyle })
    }

    @Test func aNarrowWidthDropsColumnsBehindAMarkerInsteadOfWrapping() throws {
        let html = try Self.pandasHTML(
            #"pd.DataFrame({"name": ["東京タワー", "Eiffel"], "height_m": [333, 330], "opened": [1958, 1889], "visitors": [2.1e6, 6.1e6]})"#)
        let table = TextTable(try #require(HTMLTable.parse(html[0])))
        let wide = Self.text(table, width: 80)
        #expect(wide[0] == "   name        height_m  opened   visitors")
        #expect(wide[2] == "0  東京タワー       333    1958  2100000.0")
        let narrow = Self.text(table, width: 28)
        #expect(
            narrow == [
                "   name        height_m  …",
                "──────────────────────────",
                "0  東京タワー       333  …",
                "1  Eiffel           330  …",
            ])
        for width in [1, 5, 12, 20, 28, 35, 44] {
            for line in Self.text(table, width: width) {
                #expect(DisplayWidth.of(line) <= max(width, 1), "every line fits in \(width) columns: \(line)")
            }
        }
    }

    @Test func aNamedIndexAndACaptionedTableWithoutTheadParse() throws {
        let html = try Self.pandasHTML(#"pd.DataFrame({"v": [1.5, None]}, index=pd.Index(["r1", "r2"], name="id"))"#)
        let named = TextTable(try #require(HTMLTable.parse(html[0])))
        #expect(Self.text(named, width: 40) == ["      v", "id", "───────", "r1  1.5", "r2  NaN"])
        // As pandas' Styler writes it (the venv has no jinja2 to run it): a caption, classes, no <tbody> tags.
        let styled = try #require(
            HTMLTable.parse(
                """
                <style type="text/css"></style>
                <table id="T_1"><caption>Totals</caption>
                <tr><th class="blank level0" >&nbsp;</th><th id="T_1_level0_col0" class="col_heading level0 col0" >v</th></tr>
                <tr><th id="T_1_level0_row0" class="row_heading level0 row0" >0</th><td class="data row0 col0" >1</td></tr>
                <tr><th class="row_heading level0 row1" >1</th><td class="data row1 col0" >2</td></tr>
                </table>
                """))
        #expect(styled.before == ["Totals"])
        #expect(Self.text(TextTable(styled), width: 40) == ["Totals", "   v", "────", "0  1", "1  2"])
    }

    @Test func hostileAndBrokenMarkupIsSafe() {
        // Unclosed cells and rows, references, a control-sequence payload, absurd spans, a nested table.
        let html = """
            <table><tr><th>a &amp; b<th>c</tr>
            <tr><td>x\u{1B}]52;c;aGk=\u{07}y<td colspan="99999999">&#27;[2J&lt;z&gt;
            <tr><td><table><tr><td>inner</td></tr></table></td><td>&#x41;&nbsp;B</td>
            """
        let parsed = HTMLTable.parse(html)
        let table = TextTable(parsed!)
        let lines = Self.text(table, width: 60)
        #expect(lines.allSatisfy { line in !line.unicodeScalars.contains { DisplayWidth.isControl($0) } })
        #expect(lines[0].hasPrefix("a & b") && lines[0].contains("c"))
        #expect(lines[2].hasPrefix("xy"), "the OSC 52 clipboard write is gone")
        #expect(lines[2].contains("&#27;[2J<z>"), "a numeric reference to ESC stays text")
        #expect(lines[3].contains("inner") && lines[3].contains("A B"))
        #expect(table.columns <= TextTable.maxColumns)
        #expect(HTMLTable.parse("<p>no table here</p>") == nil)
        #expect(HTMLTable.parse("<table></table>") == nil)
        #expect(HTMLTable.parse("<table") == nil)
    }

    @Test func otherHTMLFallsBackToPlainTextOrStrippedTags() {
        #expect(HTML.text("<div><h1>Title</h1><p>Some <b>bold</b>\n  text</p><ul><li>one</li><li>two</li></ul>a<br>b</div>") == [
            "Title", "Some bold text", "• one", "• two", "a", "b",
        ])
        #expect(HTML.text("<style>p { x: 1 }</style><script>alert(1)</script><!-- hidden -->shown") == ["shown"])
        #expect(HTML.text("<pre>a  b\n  c</pre>") == ["a  b", "  c"])

        func output(_ data: JSONObject) -> Output {
            Output(json: ["output_type": "display_data", "metadata": [:], "data": .object(data)])
        }
        let plain = OutputArea.block(output(["text/html": "<b>fancy</b>", "text/plain": "plain repr"]))
        #expect(plain.line(0, width: 40).map(\.text).joined() == "plain repr", "no table: text/plain wins over stripped HTML")
        let stripped = OutputArea.block(output(["text/html": "<b>only</b> <i>html</i>"]))
        #expect(stripped.line(0, width: 40).map(\.text).joined() == "only html")
        let table = OutputArea.block(output(["text/html": "<table><tr><th>k</th></tr><tr><td>1</td></tr></table>", "text/plain": "repr"]))
        #expect(table.table != nil && table.count == 3, "a table beats text/plain")
    }

    @Test func numbersAreRecognised() {
        for yes in ["0", "-3.5", "+2", "1,234,567", "1e-05", "2.5E+10", "12%", "inf", "-inf", "0x1F", "1_000", "−4"] {
            #expect(TextTable.isNumber(yes), "\(yes)")
        }
        for no in ["", "-", "e5", "1e", "1.2.3", "abc", "12 cm", "(3+4j)", "2024-01-05", "0x", "1,", ",1"] {
            #expect(!TextTable.isNumber(no), "\(no)")
        }
    }
}
