import CoreSupport
import Foundation
import Notebook
import Testing
import TestSupport

@Suite("Percent-format scripts")
struct PercentScriptTests {
    /// Whether the venv has jupytext (it does not by default), to compare against it.
    static let jupytextAvailable: Bool = {
        guard ProcessInfo.processInfo.environment["WB_PYTHON_ENV"] != nil else { return false }
        return (try? Python.text("import jupytext; print('yes')")) == "yes\n"
    }()

    /// The parts of a cell a percent script keeps: kind, source and simple metadata (tags included).
    struct Kept: Equatable, CustomStringConvertible {
        var kind: Cell.Kind?
        var source: [UInt32]
        var metadata: JSON

        init(_ cell: Cell) {
            kind = cell.kind
            source = cell.source.unicodeScalars.map(\.value)
            metadata = .object(cell.metadata)
        }

        var description: String {
            "\(kind.map(\.rawValue) ?? "?") \(String(String.UnicodeScalarView(source.compactMap(Unicode.Scalar.init))).debugDescription) \(metadata.serialized())"
        }
    }

    @Test(arguments: Fixtures.all)
    func ipynbToPyToIpynbKeepsKindsSourcesAndTags(_ name: String) throws {
        let notebook = try Fixtures.notebook(name)
        let script = PercentScript.render(notebook)
        let back = try PercentScript.parse(script)
        #expect(back.cells.count == notebook.cells.count, "\(name)\n\(script)")
        for (index, (before, after)) in zip(notebook.cells, back.cells).enumerated() {
            #expect(Kept(after) == Kept(before), "\(name) cell \(index)")
            #expect(after.tags == before.tags)
        }
        #expect(back.metadata["kernelspec"] == notebook.metadata["kernelspec"])
        // Rendering again gives the same script.
        #expect(PercentScript.render(back) == script)
    }

    @Test func theFileAPIPicksTheFormatByExtension() throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notebook = try Fixtures.notebook("markdown_raw_attachments.ipynb")
        try notebook.write(path: dir + "/nb.py")
        let text = try FileIO.readText(dir + "/nb.py")
        #expect(text.hasPrefix("# ---\n# jupyter:\n#   kernelspec: "))
        #expect(text.contains("# %% [markdown]\n"))
        #expect(text.contains("# %% [raw]"))
        #expect(text.contains(#"tags=["parameters"]"#))
        let back = try Notebook.read(path: dir + "/nb.py")
        #expect(back.cells.map(\.kind) == notebook.cells.map(\.kind))
        #expect(back.hasCellIDs)
        // And on to .ipynb: a valid notebook with the same cells.
        try back.write(path: dir + "/nb.ipynb")
        let reread = try Notebook.read(path: dir + "/nb.ipynb")
        #expect(reread.cells.map(\.source) == notebook.cells.map(\.source))
        #expect(reread.cells.map(\.tags) == notebook.cells.map(\.tags))
    }

    @Test func aHandWrittenScript() throws {
        let text = """
            # ---
            # jupyter:
            #   kernelspec:
            #     display_name: Python 3
            #     language: python
            #     name: python3
            # ---

            # %% [markdown]
            # # Title
            #
            # Some *text*.

            # %% tags=["parameters"]
            alpha = 0.1

            # %% A titled cell
            print(alpha)


            # %% [raw]
            # raw line

            """
        let notebook = try PercentScript.parse(text)
        #expect(notebook.cells.map(\.kind) == [.markdown, .code, .code, .raw])
        #expect(notebook.cells[0].source == "# Title\n\nSome *text*.")
        #expect(notebook.cells[1].source == "alpha = 0.1")
        #expect(notebook.cells[1].tags == ["parameters"])
        #expect(notebook.cells[2].metadata["title"] == "A titled cell")
        #expect(notebook.cells[2].source == "print(alpha)")
        #expect(notebook.cells[3].source == "raw line")
        #expect(notebook.kernelName == "python3")
    }

    @Test func windowsLineEndingsInsideMarkdownStayCommented() throws {
        var notebook = Notebook()
        notebook.cells = [Cell(.markdown, source: "first\r\nsecond\r\nthird"), Cell(.code, source: "x = 1\r\ny = 2")]
        let script = PercentScript.render(notebook)
        // Every physical line of a markdown cell is a comment.
        let markdown = script.components(separatedBy: "# %% [markdown]\n")[1].components(separatedBy: "\n\n# %%")[0]
        for line in markdown.unicodeScalars.split(separator: "\n") {
            #expect(String(String.UnicodeScalarView(line)).hasPrefix("#"), "\(script.debugDescription)")
        }
        let back = try PercentScript.parse(script)
        #expect(back.cells.map { Array($0.source.unicodeScalars) } == notebook.cells.map { Array($0.source.unicodeScalars) })
    }

    @Test func anUnclosedHeaderIsAnError() {
        #expect(throws: NotebookError.self) { try PercentScript.parse("# ---\n# jupyter:\nx = 1\n") }
    }

    @Test(.enabled(if: PercentScriptTests.jupytextAvailable, "jupytext is not in the venv"))
    func matchesJupytextOnASimpleNotebook() throws {
        var notebook = Notebook(metadata: ["kernelspec": ["display_name": "Python 3", "language": "python", "name": "python3"]])
        notebook.cells = [
            Cell(.markdown, source: "# Title\n\nSome text."),
            Cell(.code, source: "alpha = 0.1", metadata: ["tags": ["parameters"]]),
            Cell(.code, source: "print(alpha)"),
        ]
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try notebook.write(path: dir + "/nb.ipynb")
        let script = """
            import sys, jupytext
            nb = jupytext.read(sys.argv[1])
            sys.stdout.write(jupytext.writes(nb, fmt="py:percent"))
            """
        let theirs = try Python.text(script, arguments: [dir + "/nb.ipynb"])
        let ours = PercentScript.render(notebook)
        // jupytext's header also records its own version; compare the cells.
        func cells(_ s: String) -> String { s.components(separatedBy: "# ---\n\n").last ?? s }
        #expect(cells(ours) == cells(theirs))
        let parsed = try PercentScript.parse(theirs)
        #expect(parsed.cells.map(\.source) == notebook.cells.map(\.source))
        #expect(parsed.cells.map(\.tags) == notebook.cells.map(\.tags))
    }
}
