import Catalog
import CoreSupport
import Lakehouse
import Storage
import TestSupport
import Testing

@Suite struct MaintenanceTests {
    /// A table with ten commits: each updates every row, so each snapshot has different contents.
    func tableWithHistory(_ f: Fixture) throws -> [Int64] {
        try f.run("CREATE TABLE m.t (k INTEGER PRIMARY KEY, v INTEGER)")
        try f.run("INSERT INTO m.t VALUES (1, 0), (2, 0), (3, 0)")
        for i in 1...8 { try f.run("UPDATE m.t SET v = \(i)" + (i % 3 == 0 ? "; DELETE FROM m.t WHERE k = 3; INSERT INTO m.t VALUES (3, \(i))" : "")) }
        return try f.lakehouse.snapshots(of: TableName("m", "t")).map(\.id)
    }

    func contents(_ f: Fixture, at id: Int64) throws -> [[DatabaseValue]] {
        try f.rows("SELECT k, v FROM m.t ORDER BY k", asOf: .snapshot(id))
    }

    @Test func keepLastKeepsExactlyThoseSnapshotsAndTheirRows() throws {
        let f = try Fixture()
        let ids = try tableWithHistory(f)
        #expect(ids.count == 10)
        let before = try ids.map { try contents(f, at: $0) }
        let outcome = try f.lakehouse.expireSnapshots(of: TableName("m", "t"), policy: RetentionPolicy(keepLast: 3))
        #expect(outcome.snapshotsExpired == 7)
        #expect(outcome.snapshotsKept == 3)
        #expect(outcome.historyRowsRemoved > 0)
        #expect(try f.lakehouse.snapshots(of: TableName("m", "t")).map(\.id) == Array(ids.suffix(3)))
        for (id, expected) in zip(ids, before).suffix(3) { #expect(try contents(f, at: id) == expected) }
        for id in ids.prefix(7) {
            let error = #expect(throws: LakehouseError.self) { try contents(f, at: id) }
            #expect(error?.code == .expired)
        }
        // What is left in history is exactly what the kept snapshots need: at most one old version per row and kept snapshot.
        let history = try f.domain.catalog().read { db in try db.fetchValue("SELECT count(*) FROM _lh_h\(try f.lakehouse.table(TableName("m", "t")).id)", as: Int.self) }
        #expect(history == 2 * 3)
        // Expiring again changes nothing.
        #expect(try f.lakehouse.expireSnapshots(of: TableName("m", "t"), policy: RetentionPolicy(keepLast: 3)).snapshotsExpired == 0)
    }

    @Test func olderThanKeepsRecentSnapshotsAndAlwaysTheCurrentOne() throws {
        let f = try Fixture()
        let ids = try tableWithHistory(f)
        let current = try contents(f, at: ids.last!)
        let none = try f.lakehouse.expireSnapshots(of: TableName("m", "t"), policy: RetentionPolicy(olderThan: 3600))
        #expect(none.snapshotsExpired == 0)
        let all = try f.lakehouse.expireSnapshots(of: TableName("m", "t"), policy: RetentionPolicy(olderThan: 0))
        #expect(all.snapshotsExpired == 9)
        #expect(try contents(f, at: ids.last!) == current)
        #expect(try f.rows("SELECT k, v FROM m.t ORDER BY k") == current)
        #expect(throws: LakehouseError.self) { try f.lakehouse.expireSnapshots(of: TableName("m", "t"), policy: RetentionPolicy()) }
    }

    @Test func compactionKeepsEveryKeptSnapshotAndPurgesUnneededColumns() throws {
        let f = try Fixture()
        let ids = try tableWithHistory(f)
        try f.run("CREATE INDEX by_v ON m.t (v)")
        try f.run("ALTER TABLE m.t ADD COLUMN note TEXT DEFAULT 'x'")
        try f.run("ALTER TABLE m.t DROP COLUMN note")
        let all = try f.lakehouse.snapshots(of: TableName("m", "t")).map(\.id)
        let before = try all.map { try contents(f, at: $0) }
        let outcome = try f.lakehouse.compact(TableName("m", "t"))
        #expect(outcome.snapshot?.operation == "replace")
        #expect(outcome.rowsRewritten == 3)
        #expect(outcome.columnsPurged == 0)  // snapshots before the drop still read it
        for (id, expected) in zip(all, before) { #expect(try contents(f, at: id) == expected) }
        #expect(try f.rows("SELECT note FROM m.t VERSION AS OF \(all[all.count - 2])") == [["x"], ["x"], ["x"]])
        // After retention no kept snapshot has the column: compaction removes it from storage.
        _ = try f.lakehouse.expireSnapshots(of: TableName("m", "t"), policy: RetentionPolicy(keepLast: 1))
        let second = try f.lakehouse.compact(TableName("m", "t"))
        #expect(second.columnsPurged == 1)
        #expect(try f.rows("SELECT k, v FROM m.t ORDER BY k") == before.last!)
        // The index survived both rewrites and writes still keep history.
        let id = try f.lakehouse.table(TableName("m", "t")).id
        #expect(try f.domain.catalog().read { db in try db.fetchValue("SELECT count(*) FROM sqlite_master WHERE name = '_lh_i\(id)_by_v'", as: Int.self) } == 1)
        let last = try f.lakehouse.table(TableName("m", "t")).currentSnapshot!
        try f.run("UPDATE m.t SET v = 100")
        #expect(try contents(f, at: last) == before.last!)
        #expect(ids.count == 10)
    }
}
