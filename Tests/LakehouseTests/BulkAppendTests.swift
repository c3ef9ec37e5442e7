import CoreSupport
import Lakehouse
import Storage
import TestSupport
import Testing

/// Imports write many rows per INSERT with the commit id bound: every row, in order, in its
/// snapshot, and a constraint violation still names its own line.
@Suite struct BulkAppendTests {
    /// A CSV of `rows` rows `id,name,amount`, ids from 1, with `extra` lines appended.
    static func csv(rows: Int, extra: String = "") throws -> String {
        var text = "id,name,amount\n"
        for i in 1...rows { text += "\(i),name \(i),\(Double(i) / 2)\n" }
        let path = try Scratch.directory("bulk") + "/rows.csv"
        try AtomicFile.write(text + extra, to: path)
        return path
    }

    @Test func everyRowLandsInOrderInItsSnapshot() throws {
        let f = try Fixture("bulk-order")
        // 1000 rows: whole chunks and a remainder written one by one.
        let first = try Importer.run(path: try BulkAppendTests.csv(rows: 1000), into: TableName("sales", "t"), lakehouse: f.lakehouse)
        #expect(first.rowsImported == 1000)
        #expect(try f.rows("SELECT count(*), sum(id), sum(amount), min(name), max(id) FROM sales.t")
            == [[.integer(1000), .integer(500_500), .real(250_250), .text("name 1"), .integer(1000)]])
        #expect(try f.rows("SELECT id FROM sales.t ORDER BY rowid LIMIT 3") == [[.integer(1)], [.integer(2)], [.integer(3)]])
        let second = try Importer.run(path: try BulkAppendTests.csv(rows: 130), into: TableName("sales", "t"), lakehouse: f.lakehouse)
        #expect(second.snapshot.snapshotID > first.snapshot.snapshotID)
        #expect(try f.value("SELECT count(*) FROM sales.t") == .integer(1130))
        // Each row belongs to the snapshot that wrote it: time travel sees exactly the first import.
        #expect(try f.value("SELECT count(*) FROM sales.t", asOf: .snapshot(first.snapshot.snapshotID)) == .integer(1000))
    }

    @Test func skippedRowsAcrossChunksAreLeftOut() throws {
        let f = try Fixture("bulk-skip")
        try f.run("CREATE TABLE sales.t (id INTEGER, name TEXT, amount REAL)")
        var text = "id,name,amount\n"
        for i in 1...300 { text += i % 50 == 0 ? "\(i),bad,not a number\n" : "\(i),n,1\n" }
        let path = try Scratch.directory("bulk-skip") + "/rows.csv"
        try AtomicFile.write(text, to: path)
        var options = ImportOptions()
        options.skipBadRows = 10
        let summary = try Importer.run(path: path, into: TableName("sales", "t"), options: options, lakehouse: f.lakehouse)
        #expect(summary.rowsImported == 294 && summary.rowsSkipped == 6)
        #expect(try f.value("SELECT count(*) FROM sales.t WHERE id % 50 = 0") == .integer(0))
        #expect(try f.value("SELECT count(*) FROM sales.t") == .integer(294))
    }

    @Test func aConstraintViolationInsideAChunkNamesItsLineAndWritesNothing() throws {
        let f = try Fixture("bulk-constraint")
        try f.run("CREATE TABLE sales.keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount REAL)")
        // Line 202 repeats id 5; it sits in the middle of a multi-row chunk.
        var text = "id,name,amount\n"
        for i in 1...300 { text += i == 201 ? "5,dup,1\n" : "\(i),n,1\n" }
        let path = try Scratch.directory("bulk-constraint") + "/rows.csv"
        try AtomicFile.write(text, to: path)
        let error = try #require(throws: LakehouseError.self) {
            try Importer.run(path: path, into: TableName("sales", "keys"), lakehouse: f.lakehouse)
        }
        #expect(error.message.contains("line 202") && error.message.contains("UNIQUE"), "\(error)")
        #expect(try f.value("SELECT count(*) FROM sales.keys") == .integer(0))
        #expect(try f.lakehouse.snapshots(of: TableName("sales", "keys")).count == 1)
    }
}
