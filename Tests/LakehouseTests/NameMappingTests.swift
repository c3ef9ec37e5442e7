import Catalog
import CoreSupport
import Lakehouse
import Storage
import TestSupport
import Testing

@Suite struct NameMappingTests {
    @Test func quotedNamesAndKeywordsWork() throws {
        let f = try Fixture()
        try f.run(#"CREATE TABLE "my db"."order" ("select" INTEGER, "we""ird" TEXT, [from] REAL)"#)
        try f.run(#"CREATE TABLE "group"."table" ("values" INTEGER)"#)
        try f.run(#"INSERT INTO "my db"."order" VALUES (1, 'a', 1.5); INSERT INTO "group"."table" ("values") VALUES (1)"#)
        #expect(try f.rows(#"SELECT "select", "we""ird", [from] FROM "my db"."order""#) == [[1, "a", 1.5]])
        #expect(try f.rows(#"SELECT o."select", g."values" FROM "my db"."order" o JOIN "group"."table" g ON g."values" = o."select""#) == [[1, 1]])
        #expect(try f.rows(#"SELECT `group`.`table`.`values` FROM `group`.`table`"#) == [[1]])
        let table = try f.lakehouse.table(TableName(parsing: #""my db"."order""#))
        #expect(table.columns.map(\.name) == ["select", "we\"ird", "from"])
        #expect(table.qualifiedName == #""my db"."order""#)
    }

    @Test func namesInStringsAndCommentsAreLeftAlone() throws {
        let f = try Fixture()
        try f.run("CREATE TABLE sales.orders (id INTEGER)")
        try f.run("INSERT INTO sales.orders VALUES (1)")
        #expect(try f.rows("SELECT 'sales.orders', id /* sales.orders */ FROM sales.orders -- sales.orders") == [["sales.orders", 1]])
        // Three-part column names, and the target of UPDATE qualified in its WHERE.
        #expect(try f.rows("SELECT sales.orders.id FROM sales.orders") == [[1]])
        try f.run("UPDATE sales.orders SET id = 2 WHERE sales.orders.id = 1")
        #expect(try f.rows("SELECT id FROM sales.orders") == [[2]])
        // A WITH clause of the user's own, combined with a time-travel CTE.
        let first = try f.lakehouse.snapshots(of: TableName("sales", "orders"))[1].id
        #expect(try f.rows("WITH x AS (SELECT id FROM sales.orders VERSION AS OF \(first)) SELECT x.id, o.id FROM x, sales.orders o") == [[1, 2]])
        // INSERT ... SELECT between lakehouse tables.
        try f.run("CREATE TABLE sales.copy (id INTEGER)")
        try f.run("INSERT INTO sales.copy SELECT id * 10 FROM sales.orders")
        #expect(try f.rows("SELECT id FROM sales.copy") == [[20]])
    }

    @Test func storageAndSystemTablesAreUnreachable() throws {
        let f = try Fixture()
        try f.run("CREATE TABLE sales.orders (id INTEGER)")
        for sql in [
            "SELECT * FROM _lh_t1", "SELECT * FROM main.\"_lh_h1\"", "SELECT * FROM tables", "SELECT * FROM commits",
            "SELECT * FROM sqlite_master", "PRAGMA table_info('x')", "ATTACH 'x.db' AS x", "INSERT INTO sales.orders (_lh_snap, id) VALUES (1, 1)",
            "DELETE FROM tables", "SELECT load_extension('x')", "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; END",
            "CREATE TABLE notqualified (a INTEGER)", "BEGIN",
        ] {
            let error = #expect(throws: LakehouseError.self, "\(sql)") { try f.rows(sql) }
            #expect(error?.code != .storage, "\(sql): \(error?.description ?? "")")
        }
    }

    @Test func errorsSayWhereInTheUsersText() throws {
        let f = try Fixture()
        try f.run("CREATE TABLE sales.orders (id INTEGER, amount REAL)")
        let noColumn = #expect(throws: LakehouseError.self) { try f.rows("SELECT id,\n  nope FROM sales.orders") }
        #expect(noColumn?.message == "no such column: nope")
        #expect(noColumn?.line == 2)
        #expect(noColumn?.column == 3)
        let syntax = #expect(throws: LakehouseError.self) { try f.rows("SELECT amount FROM sales.orders WHERE") }
        #expect(syntax?.code == .syntax)
        #expect(syntax?.message.contains("incomplete input") == true, "\(syntax?.description ?? "")")
        #expect(syntax?.column == 38)
        let missing = #expect(throws: LakehouseError.self) { try f.rows("SELECT * FROM sales.ordrs") }
        #expect(missing?.message.contains("sales.ordrs") == true)
        let unterminated = #expect(throws: LakehouseError.self) { try f.rows("SELECT 'abc FROM sales.orders") }
        #expect(unterminated?.message == "unterminated string")
        #expect(unterminated?.column == 8)
        // Messages name tables as the user wrote them, never their storage.
        let constraint = #expect(throws: LakehouseError.self) { try f.run("CREATE TABLE sales.nn (a INTEGER NOT NULL); INSERT INTO sales.nn VALUES (NULL)") }
        #expect(constraint?.code == .invalidInput)
        #expect(constraint?.message.contains("_lh_") == false, "\(constraint?.message ?? "")")
        // The failed script committed nothing.
        #expect(throws: LakehouseError.self) { try f.rows("SELECT * FROM sales.nn") }
    }
}
