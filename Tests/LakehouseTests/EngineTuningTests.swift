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
    /// SQLite's defaults it spills to a temporary file and with the standard tuning it stays in memory.
    /// Both give the same answers.
    @Test func standardTuningKeepsTemporaryBTreesInMemoryWithTheSameResults() throws {
        let rows = 200_000
        let (tuned, tunedLakehouse) = try lakehouse("tuning-standard", tuning: .standard, rows: rows)
        let (plain, plainLakehouse) = try lakehouse("tuning-defaults", tuning: .sqliteDefaults, rows: rows)
        #expect(try tuned.catalog().read { try $0.fetchValue("PRAGMA temp_store", as: Int.self) } == 2)
        #expect(try plain.catalog().read { try $0.fetchValue("PRAGMA temp_store", as: Int.self) } == 0)
        #expect(try tuned.catalog().read { try $0.fetchValue("PRAGMA threads", as: Int.self) } == 2)
        let queries: [(String, DatabaseValue)] = [
            ("SELECT count(DISTINCT v) FROM s.t", .integer(Int64(rows))),
            ("SELECT count(DISTINCT w) FROM s.t", 1000),
            ("SELECT count(*) FROM s.t WHERE v IN (SELECT v + 1 FROM s.t)", .integer(Int64(rows - 1))),
            ("SELECT count(*) FROM (SELECT v FROM s.t UNION SELECT v + \(rows / 2) FROM s.t)", .integer(Int64(rows + rows / 2))),
        ]
        for (sql, expected) in queries {
            #expect(try value(tunedLakehouse, sql) == expected, "\(sql)")
            #expect(try value(plainLakehouse, sql) == expected, "\(sql)")
        }
    }
}
