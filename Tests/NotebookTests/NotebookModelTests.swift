import CoreSupport
import Foundation
import Notebook
import Testing
import TestSupport

@Suite("Notebook model and reading errors")
struct NotebookModelTests {
    func notebookError(_ text: String) -> NotebookError? {
        do {
            _ = try Notebook(ipynb: Array(text.utf8))
            return nil
        } catch {
            return error
        }
    }

    // MARK: Malformed input

    @Test func truncatedJSONIsNotJSONWithLineAndColumn() throws {
        let original = try Fixtures.bytes("rich_outputs.ipynb")
        // Cut just after a line break inside the cells: the reader expects more and names where.
        let text = String(decoding: original, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let kept = lines.prefix(40).joined(separator: "\n") + "\n"
        let error = try #require(notebookError(kept))
        #expect(error.code == .notJSON)
        #expect(error.message.contains("line 41, column 1"), "\(error.message)")

        let short = try #require(notebookError("{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"source\": [\"x"))
        #expect(short.code == .notJSON)
        #expect(short.message.contains("line 5, column 15"), "\(short.message)")
        #expect(short.message.contains("unterminated string"))
    }

    @Test func badJSONInsideNamesThePosition() throws {
        let error = try #require(notebookError("{\n \"cells\": [],\n \"metadata\": {,\n \"nbformat\": 4\n}"))
        #expect(error.code == .notJSON)
        #expect(error.message.contains("line 3, column 15"), "\(error.message)")
    }

    @Test(arguments: [
        ("[1, 2]", "array"), ("\"notebook\"", "string"), ("42", "integer"), ("null", "null"),
    ])
    func aTopLevelThatIsNotAnObjectIsNotANotebook(_ text: String, _ type: String) throws {
        let error = try #require(notebookError(text))
        #expect(error.code == .notANotebook)
        #expect(error.message.contains(type), "\(error.message)")
    }

    @Test func nbformat3IsUnsupported() throws {
        let v3 = #"{"metadata": {"name": ""}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": []}]}"#
        let error = try #require(notebookError(v3))
        #expect(error.code == .unsupportedVersion)
        #expect(error.message.contains("nbformat 3"), "\(error.message)")
        let v5 = try #require(notebookError(#"{"cells": [], "metadata": {}, "nbformat": 5, "nbformat_minor": 0}"#))
        #expect(v5.code == .unsupportedVersion)
    }

    @Test(arguments: [
        #"{"cells": {}, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
        #"{"cells": "none", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
        #"{"metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
        #"{"cells": [1], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
        #"{"cells": [{"source": ""}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#,
        #"{"cells": [], "metadata": {}, "nbformat_minor": 5}"#,
        #"{"cells": [], "metadata": {}, "nbformat": "4", "nbformat_minor": 5}"#,
        #"{"cells": [], "metadata": {}, "nbformat": 4}"#,
    ])
    func structuralProblemsAreNotANotebook(_ text: String) throws {
        let error = try #require(notebookError(text))
        #expect(error.code == .notANotebook, "\(error)")
        #expect(!error.message.isEmpty)
    }

    @Test func cellsNotAListSaysSo() throws {
        let error = try #require(notebookError(#"{"cells": {}, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#))
        #expect(error.message.contains("cells"))
        let cell = try #require(notebookError(#"{"cells": [{}, 3], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#))
        #expect(cell.message.contains("cell 1"), "\(cell.message)")
    }

    @Test func invalidUTF8AndByteOrderMarkAreNotJSON() throws {
        let bad = try #require(notebookErrorBytes([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]))
        #expect(bad.code == .notJSON)
        let bom = try #require(notebookErrorBytes([0xEF, 0xBB, 0xBF] + Array("{}".utf8)))
        #expect(bom.code == .notJSON)
        #expect(bom.message.contains("line 1, column 1"))
    }

    func notebookErrorBytes(_ bytes: [UInt8]) -> NotebookError? {
        do {
            _ = try Notebook(ipynb: bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func readingAFileNamesItInErrors() throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/broken.ipynb"
        try AtomicFile.write("{\"cells\": [", to: path)
        do {
            _ = try Notebook.read(path: path)
            Issue.record("read a broken notebook")
        } catch {
            #expect(error.code == .notJSON)
            #expect(error.path == path)
            #expect(error.description.hasPrefix(path + ": "))
            #expect(error.description.contains("line 1, column 12"), "\(error.description)")
        }
        do {
            _ = try Notebook.read(path: dir + "/missing.ipynb")
            Issue.record("read a missing notebook")
        } catch {
            #expect(error.code == .io)
            #expect(error.description.contains("missing.ipynb"))
        }
    }

    // MARK: Model

    @Test func newNotebooksAreShapedLikeNbformatsAndValidate() throws {
        var notebook = Notebook(metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
        notebook.cells = [
            Cell(.markdown, source: "# Title\n\ntext"),
            Cell(.code, source: "x = 1\nx", metadata: ["tags": ["parameters"]]),
            Cell(.raw, source: ""),
        ]
        notebook.cells[1].outputs = [
            .stream(name: "stdout", text: "a\nb\n"),
            Output(json: ["output_type": "execute_result", "execution_count": 1, "metadata": [:], "data": ["text/plain": "1"]]),
            .error(name: "ValueError", value: "bad", traceback: ["line 1", "line 2"]),
        ]
        notebook.cells[1].executionCount = 1
        #expect(notebook.hasCellIDs)
        #expect(notebook.firstCell(taggedWith: "parameters") == 1)
        #expect(notebook.kernelName == "python3")
        #expect(notebook.language == "python")
        let bytes = notebook.ipynbBytes()
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try notebook.write(path: dir + "/new.ipynb")
        // nbformat.validate accepts it, and nbformat.write gives the same bytes.
        let script = """
            import sys, warnings, nbformat
            warnings.simplefilter("error")
            nb = nbformat.read(sys.argv[1], as_version=nbformat.NO_CONVERT)
            nbformat.validate(nb)
            sys.stdout.write(nbformat.writes(nb) + "\\n")
            """
        let output = try Python.run(script, arguments: [dir + "/new.ipynb"])
        let identical = output == bytes
        #expect(identical, "\(firstDifference(bytes, output))")
    }

    @Test func upgradingA44NotebookAddsIDs() throws {
        var notebook = try Fixtures.notebook("v44_no_ids.ipynb")
        #expect(!notebook.hasCellIDs)
        notebook.upgradeToCurrentMinor()
        #expect(notebook.nbformatMinor == 5)
        #expect(notebook.cells.allSatisfy { $0.id?.count == 8 })
        #expect(Set(notebook.cells.compactMap(\.id)).count == notebook.cells.count)
        // The result validates as 4.5.
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try notebook.write(path: dir + "/up.ipynb")
        let script = """
            import json, sys, warnings, nbformat
            warnings.simplefilter("error")
            with open(sys.argv[1], encoding="utf-8") as f:
                nbformat.validate(nbformat.from_dict(json.load(f)))
            print("valid")
            """
        #expect(try Python.text(script, arguments: [dir + "/up.ipynb"]) == "valid\n")
    }

    @Test func duplicateAndEmptyIDsAreReplaced() throws {
        let text = """
            {"cells": [
              {"cell_type": "code", "id": "same", "metadata": {}, "source": "a", "outputs": [], "execution_count": null},
              {"cell_type": "code", "id": "same", "metadata": {}, "source": "b", "outputs": [], "execution_count": null},
              {"cell_type": "markdown", "id": "", "metadata": {}, "source": "c"},
              {"cell_type": "markdown", "metadata": {}, "source": "d"}
            ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            """
        let notebook = try Notebook(ipynb: Array(text.utf8))
        let ids = notebook.cells.compactMap(\.id)
        #expect(ids.count == 4)
        #expect(ids[0] == "same")
        #expect(Set(ids).count == 4)
    }

    @Test func splitLinesMatchesPythonSplitlines() throws {
        let samples = [
            "", "a", "a\n", "a\nb", "a\r\nb\r\n", "a\rb\r", "\r\n\r\n", "\n\n", "a\u{2028}b\u{2029}c", "x\u{0B}y\u{0C}z",
            "1\u{1C}2\u{1D}3\u{1E}4\u{85}5", "\r\r\n\n", "tail\r", "日本\n語😀\r\n", "e\u{301}\ne\u{301}",
            "\u{1F}\u{7F}no break",
        ]
        // Through the writer: a markdown source is written as str.splitlines(keepends=True).
        let script = """
            import json, sys, nbformat
            from nbformat.v4 import new_markdown_cell, new_notebook
            texts = json.loads(sys.stdin.read())
            nb = new_notebook(cells=[new_markdown_cell(t, id=f"c{i}") for i, t in enumerate(texts)])
            sys.stdout.write(nbformat.writes(nb) + "\\n")
            """
        var notebook = Notebook()
        notebook.cells = samples.enumerated().map { Cell(.markdown, source: $1, id: "c\($0)") }
        let input = JSON.array(samples.map(JSON.string)).serializedBytes(.init(ensureASCII: true))
        let expected = try Python.run(script, input: input)
        let written = notebook.ipynbBytes()
        let identical = written == expected
        #expect(identical, "\(firstDifference(written, expected))")
    }
}
