import CoreSupport
import Foundation
import Notebook
import Testing
import TestSupport

struct JupytextFailed: Error, CustomStringConvertible {
    var status: Int32
    var stderr: String
    var description: String { "jupytext exited with \(status):\n\(stderr)" }
}

@Suite("Percent-format scripts")
struct PercentScriptTests {
    /// The parts of a cell a percent script keeps: kind, source and metadata (tags included).
    struct Kept: Equatable, CustomStringConvertible {
        var kind: Cell.Kind?
        var source: [UInt32]
        var metadata: JSON

        init(_ cell: Cell) {
            kind = cell.kind
            source = cell.source.unicodeScalars.map(\.value)
            // Less the UI and execution state that jupytext (and so wb) leaves out of text notebooks.
            var kept = cell.metadata
            for key in ["collapsed", "scrolled", "autoscroll", "trusted", "execution", "ExecuteTime"] { kept[key] = nil }
            metadata = .object(kept)
        }

        var description: String {
            "\(kind.map(\.rawValue) ?? "?") \(String(String.UnicodeScalarView(source.compactMap(Unicode.Scalar.init))).debugDescription) \(metadata.serialized())"
        }
    }

    @Test func theFileAPIPicksTheFormatByExtension() throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notebook = try Fixtures.notebook("jupytext_features.ipynb")
        // .py is the percent format, exactly what the renderer gives, and reads back to the same cells.
        try notebook.write(path: dir + "/nb.py")
        let text = try FileIO.readText(dir + "/nb.py")
        #expect(text == PercentScript.render(notebook))
        #expect(text.hasPrefix("# ---\n# jupyter:\n#   jupytext:\n#     formats: ipynb,py:percent\n#     text_representation:\n#       extension: .py\n"))
        #expect(text.contains("\n# %% tags=[\"parameters\"]\n# Parameters\nrows = 5\n"))
        #expect(text.contains("\n# %% tags=[\"query\"] language=\"sql\"\n# SELECT name, COUNT(*) AS n\n"))
        #expect(text.contains("\n# %%\n# %matplotlib inline\nimport sqlite3\n"))
        let back = try Notebook.read(path: dir + "/nb.py")
        #expect(back.hasCellIDs)
        #expect(back.cells.map(\.kind) == notebook.cells.map(\.kind))
        // As in jupytext, a source's final newline does not survive the text (the last cell has one).
        var expected = notebook.cells.map(\.source)
        #expect(expected.last == "print(\"last cell\")\n")
        expected[expected.count - 1] = "print(\"last cell\")"
        #expect(back.cells.map(\.source) == expected)
        #expect(back.cells.map(\.tags) == notebook.cells.map(\.tags))
        #expect(back.metadata["kernelspec"] == notebook.metadata["kernelspec"])
        #expect(back.metadata["jupytext"]?["formats"] == "ipynb,py:percent")
        // On to .ipynb: a notebook nbformat reads, with the same cells.
        try back.write(path: dir + "/nb.ipynb")
        #expect(try FileIO.read(dir + "/nb.ipynb") == back.ipynbBytes())
        let reread = try Notebook.read(path: dir + "/nb.ipynb")
        #expect(reread.cells.map(\.source) == expected)
        #expect(reread.cells.map(\.kind) == notebook.cells.map(\.kind))
        // .md picks the Markdown format, which reads back the same way.
        try notebook.write(path: dir + "/nb.md")
        let markdown = try FileIO.readText(dir + "/nb.md")
        #expect(markdown == MarkdownNotebook.render(notebook))
        #expect(markdown.hasPrefix("---\njupyter:\n  jupytext:\n"))
        #expect(markdown.contains("\n```sql tags=[\"query\"]\nSELECT name, COUNT(*) AS n\n"))
        #expect(markdown.contains("\n<!-- #raw raw_mimetype=\"text/latex\" -->\n"))
        let fromMarkdown = try Notebook.read(path: dir + "/nb.md")
        #expect(fromMarkdown.cells.map(\.kind) == notebook.cells.map(\.kind))
        // In Markdown an empty markdown cell reads back as one blank line, as in jupytext; the last
        // cell keeps its final newline there.
        var expectedMarkdown = notebook.cells.map(\.source)
        let empty = try #require(notebook.cells.firstIndex { $0.kind == .markdown && $0.source.isEmpty })
        expectedMarkdown[empty] = "\n"
        #expect(fromMarkdown.cells.map(\.source) == expectedMarkdown)
        #expect(fromMarkdown.cells.map(\.tags) == notebook.cells.map(\.tags))
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

    @Test func anUnclosedHeaderIsAnErrorNamingItsLine() {
        #expect(throws: NotebookError(.notANotebook, "line 1: the header opened with `# ---` is never closed (no closing `---` before line 3)")) {
            try PercentScript.parse("# ---\n# jupyter:\nx = 1\n")
        }
        #expect(throws: NotebookError(.notANotebook, "line 2: the header opened with `# ---` is never closed (no closing `---` before the end of the file)")) {
            try PercentScript.parse("#!/usr/bin/env python\n# ---\n# jupyter:\n")
        }
        #expect(throws: NotebookError(.notANotebook, "line 1: the header opened with `---` is never closed (no closing `---` before the end of the file)")) {
            try MarkdownNotebook.parse("---\njupyter:\n")
        }
    }

    @Test func malformedHeaderYAMLIsAnErrorNamingItsLine() throws {
        let text = "# ---\n# jupyter:\n#   kernelspec:\n#     name: [python3\n#     language: python\n# ---\n\n# %%\nx = 1\n"
        do {
            _ = try PercentScript.parse(text)
            Issue.record("a malformed header parsed")
        } catch {
            #expect(error.message.hasPrefix("line 5: the YAML header is not valid: "), "\(error.message)")
        }
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFile.write(text, to: dir + "/bad.py")
        do {
            _ = try Notebook.read(path: dir + "/bad.py")
            Issue.record("a malformed header parsed")
        } catch {
            #expect(error.description.hasPrefix(dir + "/bad.py: line 5: the YAML header is not valid"), "\(error)")
        }
        do {
            _ = try MarkdownNotebook.parse("---\njupyter:\n  kernelspec: [\n---\n\ntext\n")
            Issue.record("a malformed Markdown header parsed")
        } catch {
            #expect(error.message.hasPrefix("line 3: the YAML header is not valid: "), "\(error.message)")
        }
    }

    /// The notebooks compared with jupytext: every fixture, and the sample notebook.
    static let corpus = Fixtures.all + ["sample.ipynb"]

    static func corpusPath(_ name: String) -> String {
        name == "sample.ipynb" ? Fixtures.directory + "/../../../Examples/sample.ipynb" : Fixtures.path(name)
    }

    /// What `jupytext --to FORMAT nb.ipynb` writes, run as a user runs it: on a copy of the
    /// notebook, writing beside it (so a paired `formats` entry stays, as jupytext keeps it then).
    static func jupytextCLI(_ path: String, _ format: String) throws -> String {
        let dir = try Scratch.directory("jupytext")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: path, toPath: dir + "/nb.ipynb")
        let result = try Command.run([try Python.environment() + "/bin/jupytext", "--to", format, "nb.ipynb"], cwd: dir)
        guard result.status == 0 else { throw JupytextFailed(status: result.status, stderr: result.stderr) }
        return try FileIO.readText(dir + (format == "md" ? "/nb.md" : "/nb.py"))
    }

    /// The notebook with each line break that Python's `str.splitlines` knows but `\n` is not
    /// (`\r\n`, `\r`, `\v`, `\f`, `\x1c`-`\x1e`, `\x85`, `\u2028`, `\u2029`) made a `\n`: what
    /// jupytext writes, since it splits sources with `splitlines()`. wb splits at `\n` only, so
    /// those characters survive (Docs/user-guide.md).
    static func pythonLineBreaks(_ notebook: Notebook) -> Notebook {
        var copy = notebook
        for index in copy.cells.indices {
            var out = String.UnicodeScalarView()
            var previousCR = false
            for scalar in copy.cells[index].source.unicodeScalars {
                defer { previousCR = scalar == "\r" }
                if scalar == "\n", previousCR { continue }
                switch scalar.value {
                case 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: out.append("\n")
                default: out.append(scalar)
                }
            }
            copy.cells[index].source = String(out)
        }
        return copy
    }

    static func render(_ notebook: Notebook, _ format: String) -> String {
        format == "md" ? MarkdownNotebook.render(notebook) : PercentScript.render(notebook)
    }

    static func parse(_ text: String, _ format: String) throws -> Notebook {
        format == "md" ? try MarkdownNotebook.parse(text) : try PercentScript.parse(text)
    }

    /// `wb convert X.ipynb --to py|md` writes byte for byte what `jupytext --to py:percent|md` writes.
    @Test(arguments: corpus, ["py:percent", "md"])
    func writesWhatJupytextWrites(_ name: String, _ format: String) throws {
        let notebook = try Notebook.read(path: Self.corpusPath(name))
        let theirs = try Self.jupytextCLI(Self.corpusPath(name), format)
        let ours = Self.render(notebook, format)
        if ours != theirs {
            // The one difference wb chooses: it keeps line breaks other than \n where jupytext splits at them.
            let normalized = Self.render(Self.pythonLineBreaks(notebook), format)
            #expect(normalized == theirs, "\(name) \(format), first difference: \(firstDifference(Array(normalized.utf8), Array(theirs.utf8)))")
            #expect(zip(notebook.cells, Self.pythonLineBreaks(notebook).cells).contains { $0.source != $1.source })
        }
    }

    /// Reading jupytext's text gives the cells, metadata and settings jupytext itself reads from it.
    @Test(arguments: corpus, ["py:percent", "md"])
    func readsWhatJupytextReads(_ name: String, _ format: String) throws {
        let text = try Self.jupytextCLI(Self.corpusPath(name), format)
        let theirs = try Self.jupytextReads(text, format)
        let ours = try Self.parse(text, format)
        Self.expectSame(ours, theirs, "\(name) \(format)")
    }

    /// What wb writes reads back as jupytext reads it back: every cell that jupytext keeps whole
    /// (all but a final newline and an empty Markdown cell), wb keeps whole; and rendering what
    /// was read gives the same text again.
    @Test(arguments: corpus, ["py:percent", "md"])
    func roundTripsThroughText(_ name: String, _ format: String) throws {
        let notebook = try Notebook.read(path: Self.corpusPath(name))
        let text = Self.render(notebook, format)
        let back = try Self.parse(text, format)
        #expect(Self.render(back, format) == text, "\(name) \(format): rendering what was read gives the same text")
        #expect(back.metadata["kernelspec"] == notebook.metadata["kernelspec"])
        #expect(back.cells.count == notebook.cells.count, "\(name) \(format)")
        let exact = zip(notebook.cells, Self.pythonLineBreaks(notebook).cells).allSatisfy { $0.source == $1.source }
        if !exact {
            // Sources with line breaks other than \n: jupytext cannot read them back; wb keeps them whole.
            for (index, (before, after)) in zip(notebook.cells, back.cells).enumerated() {
                #expect(Array(after.source.unicodeScalars) == Array(before.source.unicodeScalars), "\(name) \(format) cell \(index)")
                #expect(after.tags == before.tags)
            }
            return
        }
        let theirs = try Self.jupytextReads(text, format)
        Self.expectSame(back, theirs, "\(name) \(format) read by jupytext")
        let theirCells = theirs["cells"]?.arrayValue ?? []
        for (index, (before, after)) in zip(notebook.cells, back.cells).enumerated() where index < theirCells.count {
            let theirSource = theirCells[index]["source"]?.stringValue ?? theirCells[index]["source"]?.arrayValue?.compactMap(\.stringValue).joined()
            guard theirSource == before.source else { continue }
            var kept = Kept(before)
            // Blank lines other than jupytext's default spacing are recorded, as jupytext does.
            if case .object(var object) = kept.metadata, let lines = after.metadata["lines_to_next_cell"] {
                object["lines_to_next_cell"] = lines
                kept.metadata = .object(object)
            }
            #expect(Kept(after) == kept, "\(name) \(format) cell \(index)")
        }
    }

    /// Cells and metadata of `ours` against jupytext's notebook JSON: types, sources, metadata, and
    /// the notebook metadata (metadata filters compared as sets; jupytext's own
    /// `text_representation` of the file, which wb does not keep, left out).
    static func expectSame(_ ours: Notebook, _ theirs: JSON, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let cells = theirs["cells"]?.arrayValue ?? []
        #expect(ours.cells.count == cells.count, "\(what): cell count", sourceLocation: sourceLocation)
        for (index, (cell, mine)) in zip(cells, ours.cells).enumerated() {
            #expect(cell["cell_type"]?.stringValue == mine.cellType, "\(what) cell \(index)", sourceLocation: sourceLocation)
            let source = cell["source"]?.stringValue ?? cell["source"]?.arrayValue?.compactMap(\.stringValue).joined()
            #expect(source.map { Array($0.unicodeScalars) } == Array(mine.source.unicodeScalars), "\(what) cell \(index)", sourceLocation: sourceLocation)
            #expect(cell["metadata"]?.objectValue == mine.metadata, "\(what) cell \(index)", sourceLocation: sourceLocation)
        }
        func normalized(_ metadata: JSONObject) -> JSONObject {
            var metadata = metadata
            if var jupytext = metadata["jupytext"]?.objectValue {
                jupytext["text_representation"] = nil
                for key in ["cell_metadata_filter", "notebook_metadata_filter"] {
                    if let filter = jupytext[key]?.stringValue {
                        jupytext[key] = .array(Set(filter.split(separator: ",").map(String.init)).sorted().map(JSON.string))
                    }
                }
                metadata["jupytext"] = jupytext.isEmpty ? nil : .object(jupytext)
            }
            return metadata
        }
        #expect(normalized(ours.metadata) == normalized(theirs["metadata"]?.objectValue ?? [:]), "\(what): notebook metadata", sourceLocation: sourceLocation)
    }

    /// What jupytext reads from `text` in `format`: the notebook as nbformat JSON.
    static func jupytextReads(_ text: String, _ format: String) throws -> JSON {
        let script = """
            import sys, warnings, jupytext, nbformat
            warnings.simplefilter("ignore")
            nb = jupytext.reads(sys.stdin.read(), fmt=sys.argv[1])
            sys.stdout.write(nbformat.writes(nb))
            """
        return try JSON.parse(try Python.run(script, arguments: [format], input: Array(text.utf8)))
    }

    /// A notebook with what jupytext cannot say in `key=value` text: a key with a space (jupytext
    /// drops it with a warning), a null value (jupytext writes a bare key, which a percent marker
    /// reads back as a title), and values of every JSON type; also notebook metadata with
    /// `notebook_metadata_filter: -all`, which leaves the file without a header.
    static func metadataRich() -> Notebook {
        var notebook = Notebook(metadata: [
            "kernelspec": ["display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"],
            "jupytext": ["formats": "ipynb,py:percent,md", "notebook_metadata_filter": "-all"],
            "language_info": ["name": "python", "version": "3.11.2"], "tocdepth": 2,
        ])
        notebook.cells = [
            Cell(.markdown, source: "# Title\n\nSome *text*, café.", metadata: ["slideshow": ["slide_type": "slide"]]),
            Cell(.code, source: "alpha = 0.1", metadata: ["tags": ["parameters", "naïve"], "collapsed": false, "ExecuteTime": ["end_time": "x"]]),
            Cell(.code, source: "print(alpha)", metadata: ["title": "Printing", "a.b@c/d-e": 3, "ratio": 0.5, "flag": true]),
            Cell(.code, source: "x = 1", metadata: ["some key": ["nested": [1, 2]], "tags": ["odd"]]),
            Cell(.code, source: "y = None", metadata: ["nothing": .null]),
            Cell(.raw, source: "\\begin{equation}x\\end{equation}", metadata: ["format": "text/latex", "tags": ["latex"]]),
            Cell(.markdown, source: "Closing words.", metadata: ["tags": ["footer"]]),
        ]
        return notebook
    }

    /// Where wb keeps what jupytext would lose, it writes the cell's metadata as one JSON object,
    /// which jupytext reads back to the very metadata; every other line is jupytext's.
    @Test(arguments: ["py:percent", "md"])
    func metadataJupytextCannotWriteIsKeptAsJSON(_ format: String) throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.metadataRich().write(path: dir + "/nb.ipynb")
        let notebook = try Notebook.read(path: dir + "/nb.ipynb")
        let theirs = try Self.jupytextCLI(dir + "/nb.ipynb", format)
        let ours = Self.render(notebook, format)
        let ourLines = ours.split(separator: "\n", omittingEmptySubsequences: false)
        let theirLines = theirs.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(ourLines.count == theirLines.count, "ours:\n\(ours)\ntheirs:\n\(theirs)")
        let differing = zip(ourLines, theirLines).filter { $0 != $1 }.map { String($0.0) }
        let expected = format == "md"
            ? [#"```python {"some key": {"nested": [1, 2]}, "tags": ["odd"]}"#]
            : [#"# %% {"some key": {"nested": [1, 2]}, "tags": ["odd"]}"#, #"# %% {"nothing": null}"#]
        #expect(differing == expected, "ours:\n\(ours)\ntheirs:\n\(theirs)")
        // jupytext reads wb's text to the metadata wb wrote (less the UI state both leave out).
        let read = try Self.jupytextReads(ours, format)
        let cells = try #require(read["cells"]?.arrayValue)
        #expect(cells.count == notebook.cells.count)
        for (cell, original) in zip(cells, notebook.cells) {
            var expected = original.metadata
            for key in ["collapsed", "ExecuteTime"] { expected[key] = nil }
            #expect(cell["metadata"]?.objectValue == expected, "\(original.source)")
        }
        let back = try Self.parse(ours, format)
        #expect(back.cells.map { Kept($0) } == notebook.cells.map { Kept($0) })
    }
}
