import Catalog
import CoreSupport
import Lakehouse
import Storage
import TestSupport
import Testing

@Suite struct SchemaEvolutionTests {
    @Test func addRenameAndDropColumnsAreSnapshotsAndTimeTravelSeesTheOldSchema() throws {
        let f = try Fixture()
        let name = TableName("s", "people")
        try f.run("CREATE TABLE s.people (id INTEGER PRIMARY KEY, name TEXT)")
        try f.run("INSERT INTO s.people VALUES (1, 'ann')")
        let before = try f.lakehouse.table(name).currentSnapshot!
        let added = try f.run("ALTER TABLE s.people ADD COLUMN age INTEGER DEFAULT 30")
        #expect(added.snapshots.map(\.operation) == ["schema"])
        try f.run("INSERT INTO s.people VALUES (2, 'bob', 41)")
        #expect(try f.rows("SELECT id, name, age FROM s.people ORDER BY id") == [[1, "ann", 30], [2, "bob", 41]])
        let afterAdd = try f.lakehouse.table(name).currentSnapshot!

        try f.run("ALTER TABLE s.people RENAME COLUMN name TO full_name")
        let afterRename = try f.lakehouse.table(name).currentSnapshot!
        try f.run("ALTER TABLE s.people DROP COLUMN age")
        try f.run("UPDATE s.people SET full_name = 'Ann' WHERE id = 1")

        var columns: [String] = []
        _ = try f.lakehouse.execute("SELECT * FROM s.people", sink: QuerySink(columns: { columns = $0 }, row: { _ in true }))
        #expect(columns == ["id", "full_name"])
        #expect(try f.rows("SELECT * FROM s.people ORDER BY id") == [[1, "Ann"], [2, "bob"]])
        // Older snapshots read with the columns and names they had.
        #expect(try f.rows("SELECT * FROM s.people ORDER BY id", asOf: .snapshot(before)) == [[1, "ann"]])
        #expect(try f.rows("SELECT id, name, age FROM s.people ORDER BY id", asOf: .snapshot(afterAdd)) == [[1, "ann", 30], [2, "bob", 41]])
        #expect(try f.rows("SELECT full_name, age FROM s.people ORDER BY id", asOf: .snapshot(afterRename)) == [["ann", 30], ["bob", 41]])
        // A new column may reuse a dropped one's name.
        try f.run("ALTER TABLE s.people ADD COLUMN age TEXT")
        #expect(try f.rows("SELECT age FROM s.people ORDER BY id") == [[.null], [.null]])
        // The snapshot log records each change.
        let log = try f.lakehouse.snapshots(of: name)
        let changes = log.compactMap { $0.summary["schema-changes"]?.arrayValue?.first?.stringValue }
        #expect(changes == ["add column age INTEGER", "rename column name to full_name", "drop column age", "add column age TEXT"])
        // Renaming the table keeps its id, data and history.
        let id = try f.lakehouse.table(name).id
        try f.run("ALTER TABLE s.people RENAME TO persons")
        #expect(try f.lakehouse.table(TableName("s", "persons")).id == id)
        #expect(try f.rows("SELECT count(*) FROM s.persons VERSION AS OF \(before)") == [[1]])
    }

    @Test func createTableAsSelectAndIndexes() throws {
        let f = try Fixture()
        try f.run("CREATE TABLE s.t (k INTEGER, v TEXT)")
        try f.run("INSERT INTO s.t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        let ctas = try f.run("CREATE TABLE s.big AS SELECT k, upper(v) AS u FROM s.t WHERE k > 1")
        #expect(ctas.snapshots.map(\.operation) == ["create"])
        #expect(ctas.snapshots.first?.summary["total-rows"] == 2)
        #expect(try f.rows("SELECT k, u FROM s.big ORDER BY k") == [[2, "B"], [3, "C"]])
        #expect(try f.lakehouse.table(TableName("s", "big")).columns.map(\.type) == ["INTEGER", ""])
        try f.run("CREATE INDEX by_v ON s.t (v)")
        #expect(try f.rows("SELECT k FROM s.t WHERE v = 'b'") == [[2]])
        try f.run("DROP INDEX s.by_v")
        try f.run("DROP TABLE s.big")
        #expect(throws: LakehouseError.self) { try f.rows("SELECT * FROM s.big") }
    }
}
