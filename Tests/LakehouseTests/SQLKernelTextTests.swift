import CoreSupport
import Foundation
@testable import Lakehouse
import Storage
import TestSupport
import Testing

@Suite struct SQLTextTests {
    @Test func completeness() {
        #expect(SQLText.completeness("SELECT 1;") == .complete)
        #expect(SQLText.completeness("SELECT 1") == .complete)
        #expect(SQLText.completeness("SELECT * FROM") == .incomplete)
        #expect(SQLText.completeness("SELECT * FROM sales.orders WHERE") == .incomplete)
        #expect(SQLText.completeness("SELECT 'abc") == .incomplete)
        #expect(SQLText.completeness("SELECT 1; SELECT * FROM") == .incomplete)
        #expect(SQLText.completeness("SELECT * FROM; SELECT 1") == .invalid)
        #expect(SQLText.completeness("SELEKT 1") == .invalid)
        #expect(SQLText.completeness("SELECT * FROM sales.orders;") == .complete)
        #expect(SQLText.completeness("-- just a comment") == .complete)
        #expect(SQLText.completeness("SELECT ';' AS semi;") == .complete)
    }

    @Test func statementsSplitOutsideStringsAndComments() {
        let pieces = SQLText.statements("SELECT ';'; -- a; comment\nSELECT \"a;b\" /* ; */ ; SELECT 3")
        #expect(pieces.map(\.terminated) == [true, true, false])
        #expect(pieces[0].text == "SELECT ';'")
        #expect(pieces[2].text == " SELECT 3")
    }

    @Test func wordAtCursor() {
        #expect(SQLText.word(endingAt: 11, in: "SELECT amou FROM t") == ("amou", 7))
        #expect(SQLText.word(endingAt: 17, in: "SELECT * FROM sal") == ("sal", 14))
        #expect(SQLText.word(endingAt: 20, in: "SELECT * FROM sales.or") == ("sales.", 14))
        #expect(SQLText.word(endingAt: 22, in: "SELECT * FROM sales.or") == ("sales.or", 14))
        #expect(SQLText.word(endingAt: 8, in: "SELECT é") == ("é", 7))
    }
}

@Suite struct ResultRenderingTests {
    let result = ResultRendering(
        columns: ["id", "name", "price"], rows: [[1, "apple & <pear>", 1.5], [22, nil, .integer(3)]], truncated: false)

    @Test func plainTextTable() {
        #expect(
            result.plainText == """
                 id | name           | price
                ----+----------------+-------
                  1 | apple & <pear> |   1.5
                 22 | NULL           |     3
                (2 rows)
                """)
    }

    @Test func htmlIsEscaped() {
        #expect(result.html.contains("<th>id</th><th>name</th><th>price</th>"))
        #expect(result.html.contains("<td>apple &amp; &lt;pear&gt;</td>"))
        #expect(result.html.contains("<td><i>NULL</i></td>"))
    }

    @Test func dataResource() {
        let resource = result.dataResource
        #expect(resource["schema"]?["fields"] == [["name": "id", "type": "integer"], ["name": "name", "type": "string"], ["name": "price", "type": "number"]])
        #expect(resource["data"]?.arrayValue?.first == ["id": 1, "name": "apple & <pear>", "price": 1.5])
        #expect(resource["data"]?.arrayValue?.last?["name"] == .null)
    }

    @Test func truncatedFooter() {
        let r = ResultRendering(columns: ["x"], rows: [[1]], truncated: true)
        #expect(r.plainText.hasSuffix("(first 1 rows shown)"))
    }
}

@Suite struct TableExporterTests {
    @Test func csvRoundTripsThroughTheReader() throws {
        let path = try Scratch.directory("export") + "/out.csv"
        let exporter = try TableExporter(path: path, format: .csv)
        try exporter.begin(columns: ["id", "text", "score", "note"])
        try exporter.write([1, "plain", 1.5, nil])
        try exporter.write([2, "with, comma and \"quotes\"\nand a newline", 0.1, ""])
        #expect(!FileManager.default.fileExists(atPath: path))
        try exporter.commit()
        var reader = try DelimitedReader(path: path)
        let back = try readAll(&reader)
        #expect(back.names == ["id", "text", "score", "note"])
        #expect(back.rows == [[1, "plain", 1.5, nil], [2, "with, comma and \"quotes\"\nand a newline", 0.1, ""]])
    }

    @Test func jsonLines() throws {
        let path = try Scratch.directory("export") + "/out.jsonl"
        let exporter = try TableExporter(path: path, format: .jsonl)
        try exporter.begin(columns: ["id", "name", "blob"])
        try exporter.write([1, "é", .blob([0xAB, 0x01])])
        try exporter.write([2, nil, nil])
        try exporter.commit()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "{\"id\":1,\"name\":\"é\",\"blob\":\"ab01\"}\n{\"id\":2,\"name\":null,\"blob\":null}\n")
    }

    @Test func abandonedExportLeavesTheOldFile() throws {
        let path = try Scratch.directory("export") + "/keep.csv"
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        do {
            let exporter = try TableExporter(path: path, format: .csv)
            try exporter.begin(columns: ["a"])
            try exporter.write([1])
            exporter.abandon()
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old\n")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        #expect(leftovers == ["keep.csv"])
    }
}
