import CoreSupport
import Foundation
import Notebook
import Testing
import TestSupport

/// Round trips of real notebooks, checked against the pinned nbformat.
@Suite("Notebook fixtures")
struct NotebookFixtureTests {
    @Test func theFixtureListIsComplete() {
        let onDisk = FileIO.list(Fixtures.directory).filter { $0.hasSuffix(".ipynb") }
        #expect(onDisk == Fixtures.all.sorted())
        for name in Fixtures.all {
            var info = stat()
            #expect(stat(Fixtures.path(name), &info) == 0 && info.st_size < 50_000, "\(name) is under 50 KB")
        }
    }

    @Test(arguments: Fixtures.all)
    func writesExactlyWhatNbformatWrites(_ name: String) async throws {
        let check = try await NbformatChecks.shared.check(name)
        let identical = check.written == check.expected
        #expect(identical, "\(name): \(firstDifference(check.written, check.expected))")
        #expect(check.written.last == 0x0A)
    }

    @Test(arguments: Fixtures.all)
    func writtenNotebookValidates(_ name: String) async throws {
        let check = try await NbformatChecks.shared.check(name)
        #expect(check.validationError == nil, "\(name): \(check.validationError ?? "")")
    }

    @Test(arguments: Fixtures.all)
    func writtenNotebookReadsBackEqual(_ name: String) async throws {
        let check = try await NbformatChecks.shared.check(name)
        #expect(check.difference == nil, "\(name): \(check.difference ?? "")")
    }

    @Test(arguments: Fixtures.all)
    func idsAreKeptWherePresentAndMadeWhereMissing(_ name: String) async throws {
        let raw = try Fixtures.raw(name)
        let rawCells = try #require(raw["cells"]?.arrayValue)
        let notebook = try Fixtures.notebook(name)
        #expect(notebook.cells.count == rawCells.count)
        guard notebook.hasCellIDs else {
            // nbformat 4.4 and older have no ids, and get none.
            #expect(notebook.cells.allSatisfy { $0.json["id"] == nil })
            let written = try #require(try JSON.parse(notebook.ipynbBytes())["cells"]?.arrayValue)
            #expect(written.allSatisfy { $0["id"] == nil })
            return
        }
        var seen = Set<String>()
        var made: [Int] = []
        for (index, (cell, rawCell)) in zip(notebook.cells, rawCells).enumerated() {
            let id = try #require(cell.id, "cell \(index) has an id")
            if let rawID = rawCell["id"]?.stringValue, !rawID.isEmpty, !seen.contains(rawID) {
                #expect(id == rawID, "cell \(index) keeps its id")
            } else {
                made.append(index)
                #expect(id.count == 8 && id.allSatisfy(\.isHexDigit), "cell \(index) gets an id like nbformat's: \(id)")
            }
            #expect(!seen.contains(id), "cell \(index)'s id \(id) is unique")
            seen.insert(id)
        }
        // wb makes ids for exactly the cells nbformat makes them for.
        let check = try await NbformatChecks.shared.check(name)
        #expect(made == check.madeUpIDs)
        // Reading is stable: ids made once are written, so a second read keeps them.
        let again = try Notebook(ipynb: notebook.ipynbBytes())
        #expect(again.cells.map(\.id) == notebook.cells.map(\.id))
    }

    @Test(arguments: Fixtures.canonical)
    func savingAnUnchangedCanonicalNotebookChangesNoByte(_ name: String) throws {
        let original = try Fixtures.bytes(name)
        let written = try Fixtures.notebook(name).ipynbBytes()
        let identical = written == original
        #expect(identical, "\(name): \(firstDifference(written, original))")
    }

    @Test(arguments: Fixtures.all)
    func writingIsAFixedPoint(_ name: String) throws {
        let once = try Fixtures.notebook(name).ipynbBytes()
        let twice = try Notebook(ipynb: once).ipynbBytes()
        let identical = once == twice
        #expect(identical, "\(name): \(firstDifference(twice, once))")
    }

    @Test(arguments: Fixtures.all)
    func savingThroughTheFileAPIWritesTheSameBytes(_ name: String) throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let notebook = try Fixtures.notebook(name)
        try notebook.write(path: dir + "/out.ipynb")
        let identical = try FileIO.read(dir + "/out.ipynb") == notebook.ipynbBytes()
        #expect(identical)
        #expect(try Notebook.read(path: dir + "/out.ipynb") == notebook)
    }

    // MARK: One edited cell, one changed region

    /// Line ranges of each cell in a file written in nbformat's layout (cells are the `  {` ... `  }` blocks).
    static func cellSpans(_ bytes: [UInt8]) -> [Range<Int>] {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        var spans: [Range<Int>] = []
        var start: Int? = nil
        var inCells = false
        for (n, line) in lines.enumerated() {
            if line == " \"cells\": [" {
                inCells = true
            } else if inCells, line == "  {" {
                start = n
            } else if inCells, line == "  }" || line == "  },", let s = start {
                spans.append(s..<(n + 1))
                start = nil
            } else if inCells, line == " ]" || line == " ],", start == nil {
                inCells = false
            }
        }
        return spans
    }

    /// The lines that differ between two texts: the range left after dropping the common prefix and suffix.
    static func changedLines(_ a: [UInt8], _ b: [UInt8]) -> (Range<Int>, Range<Int>) {
        let left = String(decoding: a, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let right = String(decoding: b, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func same(_ x: String, _ y: String) -> Bool { x.utf8.elementsEqual(y.utf8) }
        var prefix = 0
        while prefix < min(left.count, right.count), same(left[prefix], right[prefix]) { prefix += 1 }
        var suffix = 0
        while suffix < min(left.count, right.count) - prefix,
            same(left[left.count - 1 - suffix], right[right.count - 1 - suffix])
        {
            suffix += 1
        }
        return (prefix..<(left.count - suffix), prefix..<(right.count - suffix))
    }

    enum Edit: String, CaseIterable {
        case source, tags, outputs
    }

    @Test(arguments: Fixtures.all, Edit.allCases)
    func editingOneCellChangesOnlyThatCellsLines(_ name: String, _ edit: Edit) throws {
        let notebook = try Fixtures.notebook(name)
        let before = notebook.ipynbBytes()
        let spansBefore = NotebookFixtureTests.cellSpans(before)
        try #require(spansBefore.count == notebook.cells.count, "\(name): found \(spansBefore.count) cell blocks")
        for index in notebook.cells.indices {
            var edited = notebook
            switch edit {
            case .source:
                edited.cells[index].source += "\n# edited ✓"
            case .tags:
                var metadata = edited.cells[index].metadata
                metadata["tags"] = .array(edited.cells[index].tags.map(JSON.string) + ["edited"])
                edited.cells[index].metadata = metadata
            case .outputs:
                guard edited.cells[index].kind == .code else { continue }
                edited.cells[index].outputs = [.stream(name: "stdout", text: "fresh\noutput\n")]
                edited.cells[index].executionCount = 99
            }
            let after = edited.ipynbBytes()
            #expect(after != before)
            let spansAfter = NotebookFixtureTests.cellSpans(after)
            try #require(spansAfter.count == notebook.cells.count)
            let (changedBefore, changedAfter) = NotebookFixtureTests.changedLines(before, after)
            #expect(
                changedBefore.clamped(to: spansBefore[index]) == changedBefore
                    && changedAfter.clamped(to: spansAfter[index]) == changedAfter,
                "\(name), cell \(index), \(edit): lines \(changedBefore) changed, cell is \(spansBefore[index])")
            // Everything else, cells before and after included, is byte-identical.
            let samePrefix = before.prefix(upTo: lineOffset(before, spansBefore[index].lowerBound))
                == after.prefix(upTo: lineOffset(after, spansAfter[index].lowerBound))
            let sameSuffix = before.suffix(from: lineOffset(before, spansBefore[index].upperBound))
                == after.suffix(from: lineOffset(after, spansAfter[index].upperBound))
            #expect(samePrefix && sameSuffix, "\(name), cell \(index), \(edit): other cells changed")
        }
    }

    /// The byte offset where line `line` (0-based) starts.
    func lineOffset(_ bytes: [UInt8], _ line: Int) -> Int {
        var seen = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            seen += 1
            if seen == line { return i + 1 }
        }
        return line == 0 ? 0 : bytes.count
    }

    // MARK: What must survive a round trip

    @Test func widgetStateAndViewsSurvive() throws {
        let notebook = try Fixtures.notebook("widgets.ipynb")
        let state = notebook.metadata["widgets"]?["application/vnd.jupyter.widget-state+json"]
        #expect(state?["version_major"] == 2)
        #expect(state?["version_minor"] == 0)
        #expect(state?["state"]?.objectValue?.count == 6)
        let slider = state?["state"]?["3b5c2ad1a1e24c27a4b8e6a1f0c3d9e2"]
        #expect(slider?["model_name"] == "IntSliderModel")
        #expect(slider?["state"]?["value"] == 5)
        #expect(slider?["state"]?["tabbable"] == .null)
        let views = notebook.cells.flatMap(\.outputs).compactMap { $0.data?["application/vnd.jupyter.widget-view+json"] }
        #expect(views.count == 2)
        #expect(views.first?["model_id"] == "3b5c2ad1a1e24c27a4b8e6a1f0c3d9e2")
        let written = try JSON.parse(notebook.ipynbBytes())
        #expect(written["metadata"]?["widgets"] == notebook.metadata["widgets"])
    }

    @Test func unknownMimeTypesAndOutputMetadataSurvive() throws {
        let notebook = try Fixtures.notebook("rich_outputs.ipynb")
        let outputs = notebook.cells.flatMap(\.outputs)
        #expect(Set(outputs.map(\.outputType)) == ["stream", "execute_result", "display_data", "error"])
        let custom = try #require(outputs.first { $0.data?["application/x-wb-unknown"] != nil })
        #expect(custom.data?["application/x-wb-unknown"] == "opaque\npayload")
        // JSON MIME types hold JSON, never rejoined: the list stays a list.
        #expect(custom.data?["application/vnd.wb.custom+json"]?["lines"] == ["a\n", "b"])
        #expect(custom.json["metadata"]?["application/vnd.wb.custom+json"]?["expanded"] == true)
        let pngs = outputs.compactMap { $0.data?["image/png"]?.stringValue }
        let png = try #require(pngs.first)
        #expect(png.hasPrefix("iVBORw0KGgo"))
        let sized = outputs.first { $0.outputType == "display_data" && $0.data?["image/png"] != nil }
        #expect(sized?.json["metadata"]?["image/png"]?["width"] == 64)
        let error = try #require(outputs.first { $0.outputType == "error" })
        #expect(error.errorName == "ZeroDivisionError")
        #expect(error.traceback.contains { $0.contains("\u{1B}[") })
        // The never-run cell.
        #expect(notebook.cells.last?.executionCount == nil)
        #expect(notebook.cells.last?.json["execution_count"] == .null)
    }

    @Test func numbersAndTextSurviveExactly() throws {
        let notebook = try Fixtures.notebook("text_edge_cases.ipynb")
        let numbers = notebook.metadata["wb_numbers"]
        let floats = try #require(numbers?["floats"]?.arrayValue)
        #expect(floats.first == .double(1e-05))
        #expect(floats.contains(.double(1e16)))
        #expect(floats.contains(.double(100.0)))
        #expect(!floats.contains(.int(100)))
        let ints = try #require(numbers?["ints"]?.arrayValue)
        #expect(ints.contains(.bigInt("123456789012345678901234567890")))
        #expect(ints.contains(.int(Int.min)))
        let text = try #require(notebook.metadata["wb_text"]?.objectValue)
        // "é" and "e" + U+0301 are two keys, as in Python.
        #expect(text.keys.filter { $0 == "\u{E9}" }.count == 2)
        #expect(text.keys.contains { $0.unicodeScalars.elementsEqual("e\u{301}".unicodeScalars) })
        #expect(text.keys.contains { $0.unicodeScalars.elementsEqual("\u{E9}".unicodeScalars) })
        let source = notebook.cells[0].source
        #expect(source.unicodeScalars.contains("\u{2028}"))
        #expect(source.utf8.contains(0x0D))
        let stream = try #require(notebook.cells[1].outputs.first?.text)
        #expect(stream.hasSuffix("no trailing newline"))
        #expect(stream.unicodeScalars.contains("\u{0}"))
    }

    @Test func multilineStringsAreReadInEitherForm() throws {
        // Stored as one string...
        let single = try Fixtures.notebook("single_string_sources.ipynb")
        let singleRaw = try Fixtures.raw("single_string_sources.ipynb")
        #expect(singleRaw["cells"]?.arrayValue?[1]["source"]?.stringValue != nil)
        #expect(single.cells[1].source == "for i in range(3):\n    print(f\"line {i}\")")
        #expect(single.cells[1].outputs.first?.text == "line 0\nline 1\nline 2\n")
        // ...or as lines, the model holds the joined text; nbformat's writer splits it again.
        let lines = try Fixtures.notebook("rich_outputs.ipynb")
        #expect(lines.cells[1].source.hasPrefix("import sys\nprint(\"hello from stdout\")\n"))
        #expect(lines.cells[1].outputs.first?.text == "hello from stdout\nsecond stdout line\n")
        let written = try JSON.parse(single.ipynbBytes())
        #expect(written["cells"]?.arrayValue?[1]["source"] == ["for i in range(3):\n", "    print(f\"line {i}\")"])
        // Lists under non-JSON MIME types are joined, as nbformat.read joins them (base64 split in lines too).
        let old = try Fixtures.notebook("old_style_lists.ipynb")
        let data = try #require(old.cells[0].outputs.first?.data)
        #expect(data["image/png"]?.stringValue?.contains("\n") == true)
        #expect(data["application/x-wb-lines"] == "x\ny")
    }

    @Test func transientKeysAreDroppedAsNbformatDoes() throws {
        var notebook = try Fixtures.notebook("v44_no_ids.ipynb")
        var metadata = notebook.metadata
        metadata["signature"] = "sha256:abc"
        metadata["orig_nbformat"] = 3
        notebook.metadata = metadata
        var cellMetadata = notebook.cells[1].metadata
        cellMetadata["trusted"] = true
        notebook.cells[1].metadata = cellMetadata
        let written = notebook.ipynbBytes()
        let original = try Fixtures.bytes("v44_no_ids.ipynb")
        let identical = written == original
        #expect(identical, "\(firstDifference(written, original))")
        let reread = try Notebook(ipynb: written)
        #expect(reread.metadata["signature"] == nil)
        #expect(reread.cells[1].metadata["trusted"] == nil)
    }
}
