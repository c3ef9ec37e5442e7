import Catalog
import CoreSupport
import Lakehouse
import Storage
import TestSupport
import Testing

/// The PRAGMAs `SQLiteEngine.Tuning` sets on the store's connections, and what they leave unchanged.
@Suite struct EngineTuningTests {
    /// A lakehouse whose store is opened with `tuning`, holding `s.t(v)` with `rows` distinct values.
    func lakehouse(_ name: String, tuning: SQLiteEngine.Tuning, rows: Int) throws -> (Domain, Lakehouse) {
        let domain = try Domain.open(at: try Scratch.directory(name), configuration: SQLiteEngine.configuration(tuning))
        let lakehouse = try Lakehouse(domain: domain)
        _ = try lakehouse.append(into: TableName("s", "t"), mode: .create([ColumnDefinition("v", "INTEGER"), ColumnDefinition("w", "TEXT")])) {
            writer in
            for start in stride(from: 0, to: rows, by: 10_000) {
                // 7 and `rows` share no factor: every value appears once, in scattered order.
                try writer.write(RowBatch(rows: (start..<min(rows, start + 10_000)).map { i in
                    [.integer(Int64(i * 7 % rows)), .text("row \(i % 1000)")]
                }))
            }
        }
        return (domain, lakehouse)
    }

    func value(_ lakehouse: Lakehouse, _ sql: String) throws -> DatabaseValue? {
        var rows: [[DatabaseValue]] = []
        _ = try lakehouse.execute(sql, sink: QuerySink { rows.append($0); return true })
        return rows.first?.first
    }

    /// `count(DISTINCT ...)`, `IN (SELECT ...)` and UNION build temporary b-trees; 200,000 distinct
    /// integers make one of several MB, past the fixed 2 MiB cache SQLite gives such b-trees, so with
    /// the standard tuning it spills to a temporary file and with `tempStoreInMemory` it stays in memory.
    /// All give the same answers, GROUP BY (the sorter) included.
    @Test func temporaryBTreesInMemoryOrInFilesGiveTheSameResults() throws {
        let rows = 200_000
        var inMemory = SQLiteEngine.Tuning.standard
        inMemory.tempStoreInMemory = true
        let (tuned, tunedLakehouse) = try lakehouse("tuning-standard", tuning: .standard, rows: rows)
        let (memory, memoryLakehouse) = try lakehouse("tuning-memory", tuning: inMemory, rows: rows)
        #expect(try tuned.catalog().read { try $0.fetchValue("PRAGMA temp_store", as: Int.self) } == 0)
        #expect(try memory.catalog().read { try $0.fetchValue("PRAGMA temp_store", as: Int.self) } == 2)
        #expect(try tuned.catalog().read { try $0.fetchValue("PRAGMA threads", as: Int.self) } == 2)
        #expect(try tuned.catalog().read { try $0.fetchValue("PRAGMA mmap_size", as: Int.self) } == 1024 * 1024 * 1024)
        let queries: [(String, DatabaseValue)] = [
            ("SELECT count(DISTINCT v) FROM s.t", .integer(Int64(rows))),
            ("SELECT count(DISTINCT w) FROM s.t", 1000),
            ("SELECT count(*) FROM s.t WHERE v IN (SELECT v + 1 FROM s.t)", .integer(Int64(rows - 1))),
            ("SELECT count(*) FROM (SELECT v FROM s.t UNION SELECT v + \(rows / 2) FROM s.t)", .integer(Int64(rows + rows / 2))),
            ("SELECT count(*) FROM (SELECT w, count(*) AS n FROM s.t GROUP BY w) WHERE n = \(rows / 1000)", 1000),
        ]
        for (sql, expected) in queries {
            #expect(try value(tunedLakehouse, sql) == expected, "\(sql)")
            #expect(try value(memoryLakehouse, sql) == expected, "\(sql)")
        }
    }
}
