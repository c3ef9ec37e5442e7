import Catalog
import CoreSupport
import Lakehouse
import Storage
import TestSupport
import Testing

@Suite struct ManagedTableTests {
    @Test func createInsertAndQueryThroughDbTableNames() throws {
        let f = try Fixture()
        let created = try f.run("CREATE TABLE sales.orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount REAL)")
        #expect(created.snapshots.map(\.operation) == ["create"])
        try f.run("INSERT INTO sales.orders VALUES (1, 'ann', 10.5), (2, 'bob', 20)")
        #expect(try f.rows("SELECT id, customer, amount FROM sales.orders ORDER BY id") == [[1, "ann", 10.5], [2, "bob", 20.0]])
        // SELECT * shows the user's columns only.
        var columns: [String] = []
        _ = try f.lakehouse.execute("SELECT * FROM sales.orders", sink: QuerySink(columns: { columns = $0 }, row: { _ in true }))
        #expect(columns == ["id", "customer", "amount"])
        let table = try f.lakehouse.table(TableName("sales", "orders"))
        #expect(table.rowCount == 2)
        #expect(table.columns.map(\.name) == ["id", "customer", "amount"])
        #expect(table.columns.map(\.type) == ["INTEGER", "TEXT", "REAL"])
        #expect(table.columns.map(\.nullable) == [true, false, true])
    }

    @Test func everyCommitIsOneSnapshotAndTimeTravelSeesEachState() throws {
        let f = try Fixture()
        let s1 = try f.run("CREATE TABLE s.t (k INTEGER PRIMARY KEY, v TEXT)").snapshots[0].snapshotID
        let s2 = try f.run("INSERT INTO s.t VALUES (1, 'a'), (2, 'b'), (3, 'c')").snapshots[0].snapshotID
        let s3 = try f.run("UPDATE s.t SET v = 'B' WHERE k = 2").snapshots[0].snapshotID
        let s4 = try f.run("DELETE FROM s.t WHERE k = 1").snapshots[0].snapshotID
        // Two statements, one transaction: one snapshot, the row inserted and updated within it is not history.
        let both = try f.run("INSERT INTO s.t VALUES (4, 'd'); UPDATE s.t SET v = 'D' WHERE k = 4")
        #expect(both.snapshots.count == 1)
        let s5 = both.snapshots[0].snapshotID
        #expect([s1, s2, s3, s4, s5] == [s1, s1 + 1, s1 + 2, s1 + 3, s1 + 4])

        let query = "SELECT k, v FROM s.t ORDER BY k"
        #expect(try f.rows(query, asOf: .snapshot(s1)) == [])
        #expect(try f.rows(query, asOf: .snapshot(s2)) == [[1, "a"], [2, "b"], [3, "c"]])
        #expect(try f.rows(query, asOf: .snapshot(s3)) == [[1, "a"], [2, "B"], [3, "c"]])
        #expect(try f.rows(query, asOf: .snapshot(s4)) == [[2, "B"], [3, "c"]])
        #expect(try f.rows(query, asOf: .snapshot(s5)) == [[2, "B"], [3, "c"], [4, "D"]])
        #expect(try f.rows(query) == [[2, "B"], [3, "c"], [4, "D"]])
        // The SQL-level forms, per table.
        #expect(try f.rows("SELECT count(*) FROM s.t VERSION AS OF \(s2)") == [[3]])
        #expect(try f.rows("SELECT v FROM s.t FOR SYSTEM_TIME AS OF \(s3) WHERE k = 2") == [["B"]])
        #expect(try f.rows("SELECT a.v, b.v FROM s.t VERSION AS OF \(s2) a JOIN s.t b ON a.k = b.k ORDER BY a.k") == [["b", "B"], ["c", "c"]])
        // Snapshot summaries.
        let log = try f.lakehouse.snapshots(of: TableName("s", "t"))
        #expect(log.map(\.operation) == ["create", "append", "update", "delete", "overwrite"])
        #expect(log.map { $0.summary["total-rows"]?.intValue } == [0, 3, 3, 2, 3])
    }

    @Test func timeTravelByTime() throws {
        let f = try Fixture()
        try f.run("CREATE TABLE s.t (v INTEGER)")
        try f.run("INSERT INTO s.t VALUES (1)")
        let log = try f.lakehouse.snapshots(of: TableName("s", "t"))
        let between = log[1].committedAt
        try f.run("INSERT INTO s.t VALUES (2)")
        #expect(try f.value("SELECT sum(v) FROM s.t", asOf: .time(between)) == 1)
        #expect(try f.value("SELECT sum(v) FROM s.t TIMESTAMP AS OF '\(Clock.iso8601(between))'") == 1)
        #expect(try f.value("SELECT sum(v) FROM s.t") == 3)
        #expect(throws: LakehouseError.self) { try f.rows("SELECT * FROM s.t", asOf: .time(log[0].committedAt - 3600)) }
        #expect(throws: LakehouseError.self) { try f.rows("SELECT * FROM s.t", asOf: .snapshot(999)) }
    }

    @Test func bulkAppendIsOneSnapshotAndAFailedAppendLeavesThePreviousOne() throws {
        let f = try Fixture()
        let name = TableName("imports", "people")
        let outcome = try f.lakehouse.append(
            into: name, mode: .create([ColumnDefinition("id", "INTEGER", nullable: false), ColumnDefinition("name", "TEXT")])
        ) { writer in
            for start in stride(from: 0, to: 1000, by: 100) {
                try writer.write(RowBatch(rows: (start..<(start + 100)).map { [.integer(Int64($0)), .text("p\($0)")] }))
            }
        }
        #expect(outcome.rowsAppended == 1000)
        #expect(outcome.snapshot.operation == "create")
        #expect(try f.value("SELECT count(*) FROM imports.people") == 1000)

        // A row that violates NOT NULL aborts the whole append, naming its line.
        let error = #expect(throws: LakehouseError.self) {
            try f.lakehouse.append(into: name) { writer in
                try writer.write(RowBatch(rows: [[1000, "ok"], [.null, "bad"]], lineNumbers: [2, 3]))
            }
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("line 3") == true)
        // A body that throws aborts too.
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try f.lakehouse.append(into: name) { writer in
                try writer.write(RowBatch(rows: [[2000, "x"]]))
                throw Stop()
            }
        }
        #expect(try f.value("SELECT count(*) FROM imports.people") == 1000)
        #expect(try f.lakehouse.snapshots(of: name).count == 1)

        let overwrite = try f.lakehouse.append(into: name, mode: .overwrite, columns: ["name", "id"]) { writer in
            try writer.write(RowBatch(rows: [["only", 7]]))
        }
        #expect(overwrite.snapshot.operation == "overwrite")
        #expect(try f.rows("SELECT id, name FROM imports.people") == [[7, "only"]])
        #expect(try f.value("SELECT count(*) FROM imports.people", asOf: .snapshot(outcome.snapshot.snapshotID)) == 1000)
    }

    /// The snapshot column is stored after the user's columns (a scan then never decodes it) and before
    /// table constraints, which keep working: composite keys, UNIQUE, CHECK, named constraints.
    @Test func snapshotColumnFollowsTheUsersColumnsAndConstraintsStillHold() throws {
        let f = try Fixture()
        try f.run(
            """
            CREATE TABLE s.t (a INTEGER NOT NULL, b TEXT CHECK (length(b) < 10), c REAL DEFAULT (1.5),
                PRIMARY KEY (a, b), CONSTRAINT positive CHECK (a > 0), UNIQUE (c))
            """)
        try f.run("CREATE TABLE s.plain (x INTEGER PRIMARY KEY, y TEXT)")
        let t = try f.lakehouse.table(TableName("s", "t")), plain = try f.lakehouse.table(TableName("s", "plain"))
        let stored = try DatabaseQueue(path: f.domain.path(of: .catalog)).read { db in
            try [t, plain].map { table in
                try db.fetchAll("SELECT name FROM pragma_table_info(?) ORDER BY cid", [table.storageName]).compactMap { $0.value(0, as: String.self) }
            }
        }
        #expect(stored == [["a", "b", "c", "_lh_snap"], ["x", "y", "_lh_snap"]])

        let s1 = try f.run("INSERT INTO s.t (a, b, c) VALUES (1, 'x', 2.0), (2, 'y', 3.0)").snapshots[0].snapshotID
        #expect(throws: LakehouseError.self) { try f.run("INSERT INTO s.t (a, b, c) VALUES (1, 'x', 9.0)") }  // primary key
        #expect(throws: LakehouseError.self) { try f.run("INSERT INTO s.t (a, b, c) VALUES (3, 'z', 2.0)") }  // UNIQUE (c)
        #expect(throws: LakehouseError.self) { try f.run("INSERT INTO s.t (a, b, c) VALUES (-1, 'z', 8.0)") }  // positive
        #expect(throws: LakehouseError.self) { try f.run("INSERT INTO s.t (a, b, c) VALUES (4, 'far too long', 7.0)") }
        try f.run("UPDATE s.t SET b = 'w' WHERE a = 2")
        try f.run("ALTER TABLE s.t ADD COLUMN d TEXT")
        try f.run("UPDATE s.t SET d = 'new' WHERE a = 1")
        #expect(try f.rows("SELECT a, b, c, d FROM s.t ORDER BY a") == [[1, "x", 2.0, "new"], [2, "w", 3.0, .null]])
        #expect(try f.rows("SELECT a, b, c FROM s.t ORDER BY a", asOf: .snapshot(s1)) == [[1, "x", 2.0], [2, "y", 3.0]])
        #expect(try f.rows("SELECT x, y FROM s.plain") == [])

        for sql in ["CREATE TABLE s.empty (PRIMARY KEY (a))", "CREATE TABLE s.empty ()"] {
            let error = try #require(throws: LakehouseError.self) { try f.run(sql) }
            #expect(error.message == "a table needs at least one column", "\(sql)")
        }
    }
}
