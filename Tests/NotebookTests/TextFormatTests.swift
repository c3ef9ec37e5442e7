import CoreSupport
import Notebook
import Testing

@Suite("Text notebook formats")
struct TextFormatTests {
    @Test func percentScriptsWithWindowsLineEndingsParse() throws {
        let text = "# %% [markdown]\r\n# # Title\r\n# text\r\n\r\n# %% tags=[\"parameters\"]\r\nx = 1\r\nprint(x)\r\n"
        let nb = try PercentScript.parse(text)
        #expect(nb.cells.count == 2)
        #expect(nb.cells[0].kind == .markdown)
        #expect(nb.cells[0].source == "# Title\ntext")
        #expect(nb.cells[1].source == "x = 1\nprint(x)")
        #expect(nb.cells[1].tags == ["parameters"])
    }

    @Test func markdownRoundTripKeepsKindsAndSources() throws {
        var nb = Notebook(metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
        nb.cells = [
            Cell(.markdown, source: "# Title\n\nSome *text*."),
            Cell(.markdown, source: "A second markdown cell"),
            Cell(.code, source: "x = 1\nprint(x)"),
            Cell(.code, source: "s = '''```nested fence```'''"),
            Cell(.raw, source: "raw text"),
        ]
        let text = MarkdownNotebook.render(nb)
        #expect(text.hasPrefix("---\njupyter:\n  jupytext:\n    text_representation:\n      extension: .md\n"))
        #expect(text.contains("\n  kernelspec:\n    display_name: Python 3\n    language: python\n    name: python3\n---\n"))
        #expect(text.contains("```python\nx = 1\nprint(x)\n```"))
        let back = try MarkdownNotebook.parse(text)
        #expect(back.cells.map(\.kind) == nb.cells.map(\.kind))
        #expect(back.cells.map(\.source) == nb.cells.map(\.source))
        #expect(back.kernelName == "python3")
        // Windows line endings read the same.
        let crlf = try MarkdownNotebook.parse(text.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n"))
        #expect(crlf.cells.map(\.source) == nb.cells.map(\.source))
    }

    @Test func unclosedBlocksAreErrorsWithALine() {
        #expect(throws: NotebookError.self) { try MarkdownNotebook.parse("text\n\n```python\nx = 1\n") }
        #expect(throws: NotebookError.self) { try PercentScript.parse("# ---\n# jupyter:\n") }
    }
}
