import CoreSupport
import Foundation
import Lakehouse
import Storage
import TestSupport
import Testing

/// Everything a reader produced, gathered for assertions.
struct ReadResult {
    var columns: [ImportColumn]
    var finalColumns: [ImportColumn]
    var rows: [[ImportValue]] = []
    var lines: [Int] = []
    var rejected: [RejectedRow] = []
    var batches = 0
    var names: [String] { columns.map(\.name) }
    var types: [ColumnType] { columns.map(\.type) }
    var finalTypes: [ColumnType] { finalColumns.map(\.type) }
}

func readAll(_ source: inout some RowSource) throws -> ReadResult {
    var result = ReadResult(columns: source.columns, finalColumns: [])
    try source.forEachBatch { batch in
        result.batches += 1
        for r in 0..<batch.rowCount { result.rows.append(batch.row(r)) }
        result.lines += batch.lines
        result.rejected += batch.rejected
    }
    result.finalColumns = source.finalColumns
    return result
}

func writeFile(_ bytes: [UInt8], name: String = "data.csv") throws -> String {
    let path = try Scratch.directory("import") + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

func readCSV(_ text: String, format: ImportFormat = .csv, options: ReaderOptions = ReaderOptions()) throws -> ReadResult {
    try readCSV(Array(text.utf8), format: format, options: options)
}

func readCSV(_ bytes: [UInt8], format: ImportFormat = .csv, options: ReaderOptions = ReaderOptions()) throws -> ReadResult {
    var reader = try DelimitedReader(path: try writeFile(bytes), format: format, options: options)
    return try readAll(&reader)
}

@Suite struct DelimitedReaderTests {
    @Test func headerTypesAndValues() throws {
        let r = try readCSV("id,name,price,day,at\n1,apple,1.5,2024-01-02,2024-01-02T10:20:30Z\n2,pear,2,2024-02-03,2024-02-03 08:00\n")
        #expect(r.names == ["id", "name", "price", "day", "at"])
        #expect(r.types == [.integer, .text, .real, .date, .timestamp])
        #expect(r.rows == [[1, "apple", 1.5, "2024-01-02", "2024-01-02T10:20:30Z"], [2, "pear", 2.0, "2024-02-03", "2024-02-03 08:00"]])
        #expect(r.lines == [2, 3])
        #expect(r.rejected.isEmpty)
    }

    @Test func quotedFieldsWithDelimitersQuotesAndNewlines() throws {
        let text = "a,b\r\n\"x, y\",\"she said \"\"hi\"\"\"\r\n\"line1\nline2\r\nline3\",plain\r\n4,\"\"\r\n"
        let r = try readCSV(text)
        #expect(r.names == ["a", "b"])
        #expect(r.rows == [["x, y", "she said \"hi\""], ["line1\nline2\r\nline3", "plain"], ["4", ""]])
        // The third record starts on line 3 and spans three lines, so the next one is on line 6.
        #expect(r.lines == [2, 3, 6])
    }

    @Test func emptyUnquotedIsNullAndQuotedEmptyIsEmptyText() throws {
        let r = try readCSV("n,s\n1,\"\"\n,x\n3,\n")
        #expect(r.types == [.integer, .text])
        #expect(r.rows == [[1, ""], [nil, "x"], [3, nil]])
    }

    @Test func headerDetection() throws {
        #expect(try readCSV("1,2\n3,4\n").names == ["column1", "column2"])
        #expect(try readCSV("1,2\n3,4\n").rows == [[1, 2], [3, 4]])
        #expect(try readCSV("x,y\n3,4\n").names == ["x", "y"])
        // A numeric-looking header of a text column, outvoted by typed columns.
        #expect(try readCSV("name,2023,total,n\nann,5,1.5,3\nbob,6,2.5,4\n").names == ["name", "2023", "total", "n"])
        // All text: taken as a header, unless told otherwise.
        #expect(try readCSV("a,b\nc,d\n").rows == [["c", "d"]])
        let forced = try readCSV("a,b\nc,d\n", options: ReaderOptions(header: false))
        #expect(forced.rows == [["a", "b"], ["c", "d"]])
        let header = try readCSV("1,2\n3,4\n", options: ReaderOptions(header: true))
        #expect(header.names == ["1", "2"])
        #expect(header.rows == [[3, 4]])
    }

    @Test func columnNamesAreTrimmedFilledAndMadeUnique() throws {
        let r = try readCSV(" id ,,ID,id\n1,2,3,4\n")
        #expect(r.names == ["id", "column2", "ID_2", "id_3"])
    }

    @Test func laterRowsThatDisagreeWidenTheType() throws {
        var options = ReaderOptions()
        options.sampleRows = 3
        let lines = ["n,d,z"] + (1...5).map { "\($0),2024-01-0\($0),\($0)" } + ["2.5,2024-01-06T10:00,abc", "7,not a date,8"]
        let r = try readCSV(lines.joined(separator: "\n") + "\n", options: options)
        #expect(r.types == [.integer, .date, .integer])
        #expect(r.finalTypes == [.real, .text, .text])
        #expect(r.rows[5] == [2.5, "2024-01-06T10:00", "abc"])
        #expect(r.rows[6] == [7.0, "not a date", "8"])
        #expect(r.rejected.isEmpty)
    }

    @Test func leadingZerosStayText() throws {
        let r = try readCSV("zip,n\n01234,0\n02139,10\n")
        #expect(r.types == [.text, .integer])
        #expect(r.rows == [["01234", 0], ["02139", 10]])
    }

    @Test func raggedRowsAreRejectedWithTheirLine() throws {
        let r = try readCSV("a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n")
        #expect(r.rows == [[1, 2, 3], [10, 11, 12]])
        #expect(r.rejected == [
            RejectedRow(line: 3, reason: "expected 3 fields, found 2"), RejectedRow(line: 4, reason: "expected 3 fields, found 4"),
        ])
    }

    @Test func emptyFileAndHeaderOnly() throws {
        let empty = try readCSV("")
        #expect(empty.columns.isEmpty && empty.rows.isEmpty)
        let blank = try readCSV("\n\n")
        #expect(blank.columns.isEmpty && blank.rows.isEmpty)
        let bom = try readCSV([0xEF, 0xBB, 0xBF])
        #expect(bom.columns.isEmpty)
        let headerOnly = try readCSV("a,b\n")
        #expect(headerOnly.names == ["a", "b"] && headerOnly.rows.isEmpty && headerOnly.types == [.text, .text])
    }

    @Test func byteOrderMarksAndBlankLines() throws {
        let r = try readCSV([0xEF, 0xBB, 0xBF] + Array("id,v\n\n1,x\n\n2,y".utf8))
        #expect(r.names == ["id", "v"])
        #expect(r.rows == [[1, "x"], [2, "y"]])
        #expect(r.lines == [3, 5])
        let error = #expect(throws: ImportError.self) { try readCSV([0xFF, 0xFE, 0x61, 0x00]) }
        #expect(error?.code == .malformed && error?.line == 1 && error?.message.contains("UTF-16") == true)
    }

    @Test func invalidUTF8IsRejectedWithLineAndField() throws {
        let bytes = Array("a,b\n1,ok\n2,".utf8) + [0x66, 0xFF, 0x67] + Array("\n3,\"x\ny\"\n4,".utf8) + [0xC0, 0xAF] + Array("\n".utf8)
        let r = try readCSV(bytes)
        #expect(r.rows == [[1, "ok"], [3, "x\ny"]])
        #expect(r.rejected.map(\.line) == [3, 6])
        #expect(r.rejected[0].reason == "invalid UTF-8 in field 2 (b): byte 0xFF at offset 1")
    }

    @Test func strayQuotesAndUnclosedQuotes() throws {
        let r = try readCSV("a,b\n\"x\"y,1\nq\"uote,2\n3,\"never closed\n4,5\n")
        #expect(r.rows == [["q\"uote", 2]])
        #expect(r.rejected.count == 2)
        #expect(r.rejected[0] == RejectedRow(line: 2, reason: "text after the closing quote of field 1"))
        #expect(r.rejected[1].line == 4)
        #expect(r.rejected[1].reason.contains("never closed"))
    }

    @Test func lineEndingsLFCRLFAndCR() throws {
        for ending in ["\n", "\r\n", "\r"] {
            let r = try readCSV(["h1,h2", "1,2", "3,4"].joined(separator: ending))
            #expect(r.rows == [[1, 2], [3, 4]], "ending \(ending.debugDescription)")
            #expect(r.lines == [2, 3])
        }
    }

    @Test func tsv() throws {
        let r = try readCSV("a\tb\n1\thello, world\n2\t\"quoted\ttab\"\n", format: .tsv)
        #expect(r.names == ["a", "b"])
        #expect(r.rows == [[1, "hello, world"], [2, "quoted\ttab"]])
    }

    @Test func numbers() throws {
        let r = try readCSV("i,r\n-9223372036854775808,1e3\n9223372036854775807,-0.25\n+5,.5\n")
        #expect(r.types == [.integer, .real])
        #expect(r.rows == [[.integer(Int64.min), 1000.0], [.integer(Int64.max), -0.25], [5, 0.5]])
        let big = try readCSV("i\n1\n9223372036854775808\n")
        #expect(big.types == [.real])
        #expect(big.rows[1] == [.real(9223372036854775808.0)])
        let precise = try readCSV("r\n0.1\n3.141592653589793\n123456789012345678.5\n")
        #expect(precise.rows == [[0.1], [3.141592653589793], [123456789012345678.5]])
    }

    @Test func batchesAreBounded() throws {
        var options = ReaderOptions()
        options.batchRows = 100
        let text = "n,s\n" + (1...1_050).map { "\($0),row \($0)" }.joined(separator: "\n")
        let r = try readCSV(text, options: options)
        #expect(r.rows.count == 1_050)
        #expect(r.batches == 11)
        #expect(r.rows.last == [1050, "row 1050"])
    }

    /// A generated file with every kind of field, read in small chunks so records cross
    /// chunk boundaries, must give exactly what Python's csv module reads.
    @Test func agreesWithPythonCSVAcrossChunkBoundaries() throws {
        var rng = SplitMix(seed: 42)
        var text = "id,label,note,amount\r\n"
        for i in 0..<3_000 {
            let label = ["plain", "with, comma", "with \"quote\"", "multi\nline", "", "ünïcødé ✓"][Int(rng.next() % 6)]
            let note = String(repeating: "x", count: Int(rng.next() % 40))
            let amount = Double(rng.next() % 100_000) / 100
            let quotedLabel = label.isEmpty || label.contains(",") || label.contains("\"") || label.contains("\n")
                ? "\"" + label.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : label
            text += "\(i),\(quotedLabel),\(note),\(amount)\r\n"
        }
        let path = try writeFile(Array(text.utf8))
        var options = ReaderOptions()
        options.readSize = 4096
        options.sampleRows = 50
        options.batchRows = 500
        var reader = try DelimitedReader(path: path, format: .csv, options: options)
        let r = try readAll(&reader)
        let expected = try Python.text(
            """
            import csv, json, sys
            with open(sys.argv[1], newline='', encoding='utf-8') as f:
                rows = list(csv.reader(f))
            print(json.dumps(rows[1:]))
            """, arguments: [path])
        let pythonRows = try JSON.parse(expected).arrayValue!.map { $0.arrayValue!.map { $0.stringValue! } }
        #expect(r.rows.count == pythonRows.count)
        for (mine, theirs) in zip(r.rows, pythonRows) {
            let asText = mine.enumerated().map { c, v -> String in
                if case .null = v { return "" }
                if c == 3, case .real(let d) = v { return String(d) }
                if c == 3, case .integer(let i) = v { return String(i) }
                return v.description
            }
            let theirsNormalized = theirs.enumerated().map { c, v in c == 3 ? String(Double(v)!) : v }
            let mineNormalized = asText.enumerated().map { c, v in c == 3 ? String(Double(v)!) : v }
            #expect(mineNormalized == theirsNormalized)
            if mineNormalized != theirsNormalized { break }
        }
        #expect(r.rejected.isEmpty)
    }

    @Test func aRecordLargerThanTheLimitIsAnError() throws {
        var options = ReaderOptions()
        options.readSize = 4096
        options.maximumRecordBytes = 8192
        let text = "a\n\"" + String(repeating: "y", count: 50_000) + "\"\n"
        #expect(throws: ImportError.self) { try readCSV(text, options: options) }
    }

    @Test func missingFileAndFolder() throws {
        #expect(throws: ImportError.self) { try DelimitedReader(path: "/nonexistent/x.csv") }
        #expect(throws: ImportError.self) { try DelimitedReader(path: try Scratch.directory("dir")) }
    }

    @Test func formatGuess() {
        #expect(ImportFormat.guess(path: "a/b.CSV") == .csv)
        #expect(ImportFormat.guess(path: "x.ndjson") == .jsonl)
        #expect(ImportFormat.guess(path: "x.sqlite3") == .sqlite)
        #expect(ImportFormat.guess(path: "x.tab") == .tsv)
        #expect(ImportFormat.guess(path: "dir.d/file") == nil)
    }
}

/// A small deterministic generator (SplitMix64) for test data.
typealias SplitMix = SplitMix64

@Suite struct JSONLinesReaderTests {
    func read(_ text: String, options: ReaderOptions = ReaderOptions()) throws -> ReadResult {
        var reader = try JSONLinesReader(path: try writeFile(Array(text.utf8), name: "data.jsonl"), options: options)
        return try readAll(&reader)
    }

    @Test func typesAndMissingKeys() throws {
        let r = try read(
            """
            {"id": 1, "name": "a", "score": 1.5, "ok": true, "day": "2024-01-02", "tags": ["x", 1]}
            {"id": 2, "score": 2, "ok": false, "day": "2024-01-03", "tags": {"k": null}}

            {"id": 3, "name": null}
            """)
        #expect(r.names == ["id", "name", "score", "ok", "day", "tags"])
        #expect(r.types == [.integer, .text, .real, .integer, .date, .text])
        #expect(r.rows == [
            [1, "a", 1.5, 1, "2024-01-02", "[\"x\",1]"],
            [2, nil, 2.0, 0, "2024-01-03", "{\"k\":null}"],
            [3, nil, nil, nil, nil, nil],
        ])
        #expect(r.lines == [1, 2, 4])
    }

    @Test func badLinesAreRejectedWithTheirLine() throws {
        let r = try read("{\"a\": 1}\n[1, 2]\n{\"a\": \n{\"a\": 2}\n\"text\"\n")
        #expect(r.rows == [[1], [2]])
        #expect(r.rejected.map(\.line) == [2, 3, 5])
        #expect(r.rejected[0].reason == "expected a JSON object, found an array")
        #expect(r.rejected[1].reason.hasPrefix("not valid JSON"))
    }

    @Test func aKeyFirstSeenAfterTheSampleAddsAColumn() throws {
        var options = ReaderOptions()
        options.sampleRows = 2
        let r = try read("{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}\n{\"a\": 4, \"b\": \"new\"}\n{\"a\": \"five\"}\n", options: options)
        #expect(r.names == ["a"])
        #expect(r.finalColumns == [ImportColumn(name: "a", type: .text), ImportColumn(name: "b", type: .text)])
        #expect(r.rows == [[1], [2], [3], [4, "new"], ["five", nil]])
    }

    @Test func invalidUTF8() throws {
        let path = try writeFile(Array("{\"a\": \"x\"}\n{\"a\": \"".utf8) + [0xFF] + Array("\"}\n".utf8), name: "bad.jsonl")
        var reader = try JSONLinesReader(path: path)
        let r = try readAll(&reader)
        #expect(r.rows == [["x"]])
        #expect(r.rejected == [RejectedRow(line: 2, reason: "invalid UTF-8 at byte 8")])
    }
}

@Suite struct SQLiteTableReaderTests {
    func makeDatabase() throws -> String {
        let path = try Scratch.directory("sqlite") + "/source.db"
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(20), height DOUBLE, born DATE, photo BLOB, misc)")
            try db.execute("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)", [1, "ann", 1.7, "1990-01-02", [UInt8]([0, 1, 2]), nil])
            try db.execute("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)", [2, "bob", nil, nil, nil, "x"])
            try db.execute("CREATE TABLE other (x)")
        }
        return path
    }

    @Test func readsATableWithItsTypes() throws {
        var reader = try SQLiteTableReader(path: try makeDatabase(), table: "people")
        let r = try readAll(&reader)
        #expect(r.names == ["id", "name", "height", "born", "photo", "misc"])
        #expect(r.types == [.integer, .text, .real, .date, .blob, .blob])
        #expect(r.rows == [[1, "ann", 1.7, "1990-01-02", .blob([0, 1, 2]), nil], [2, "bob", nil, nil, nil, "x"]])
    }

    @Test func tableMustBeNamedWhenThereAreSeveralAndMustExist() throws {
        let path = try makeDatabase()
        #expect(throws: ImportError.self) { try SQLiteTableReader(path: path) }
        let error = #expect(throws: ImportError.self) { try SQLiteTableReader(path: path, table: "nope") }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("other, people") == true)
        let notADatabase = try writeFile(Array("hello".utf8), name: "x.db")
        #expect(throws: ImportError.self) { try SQLiteTableReader(path: notADatabase) }
    }
}
