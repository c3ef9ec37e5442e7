import Catalog
import CoreSupport
import Governance
import Lakehouse
import Storage
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A directory of CSV/TSV files registered as a federated catalog: read in place, read-only,
/// typed like an import, governed like any table, and bad files reported with file and line.
@Suite struct FederatedCSVTests {
    static let orders = "order_id,customer,amount,ordered_at\n1,ann,12.5,2024-01-02\n2,bob,7.25,2024-01-03\n3,\"Smith, Jo\",100,2024-02-10\n"
    static let people = "id\tname\tregion\n1\talice\tEU\n2\tbob\tUS\n3\tcarol\tEU\n"

    /// A directory with orders.csv, people.tsv and a file that is not a table.
    static func directory(_ name: String) throws -> String {
        let dir = try Scratch.directory(name)
        try AtomicFile.write(orders, to: FilePath.join(dir, "orders.csv"))
        try AtomicFile.write(people, to: FilePath.join(dir, "people.tsv"))
        try AtomicFile.write("not a table\n", to: FilePath.join(dir, "README.txt"))
        try AtomicFile.write("a,b\n1,2\n", to: FilePath.join(dir, ".hidden.csv"))
        return dir
    }

    @Test func filesBecomeTypedTablesInTheCatalog() throws {
        let f = try Fixture("csv-catalog")
        let dir = try FederatedCSVTests.directory("csv-catalog-files")
        let database = try f.lakehouse.registerCSVSource(name: "ext", directory: dir)
        #expect(database.catalogKind == .csv)
        let tables = try f.lakehouse.catalog.read { try $0.tables(inDatabase: database.id) }
        #expect(tables.map(\.name) == ["orders", "people"])
        #expect(tables.allSatisfy { $0.kind == .external && $0.id > 0 })
        let orders = try f.lakehouse.table(TableName("ext", "orders"))
        #expect(orders.columns.map(\.name) == ["order_id", "customer", "amount", "ordered_at"])
        #expect(orders.columns.map(\.type) == ["INTEGER", "TEXT", "REAL", "DATE"])
        let catalog = try #require(try f.lakehouse.catalog.read { try $0.catalog(named: "ext") })
        #expect(catalog.kind == .csv && catalog.location == dir)
        // Tags and comments work as on any table, and search finds them.
        try f.lakehouse.catalog.write { access in
            try access.setTag(.table, id: orders.id, key: "domain", value: "sales")
            try access.setTag(.column, id: orders.columns[1].id, key: "classification", value: "pii")
        }
        let hits = try f.lakehouse.catalog.read { try $0.search("domain=sales") }
        #expect(hits.map(\.path) == ["ext.orders"])
    }

    @Test func queriesReadTheFilesInPlaceAndJoinManagedTables() throws {
        let f = try Fixture("csv-query")
        let dir = try FederatedCSVTests.directory("csv-query-files")
        _ = try f.lakehouse.registerCSVSource(name: "ext", directory: dir)
        #expect(try f.rows("SELECT count(*), sum(amount), max(ordered_at) FROM ext.orders")
            == [[.integer(3), .real(119.75), .text("2024-02-10")]])
        #expect(try f.value("SELECT customer FROM ext.orders WHERE order_id = 3") == .text("Smith, Jo"))
        #expect(try f.value("SELECT typeof(order_id) || typeof(amount) FROM ext.orders LIMIT 1") == .text("integerreal"))
        try f.run("CREATE TABLE sales.notes (customer TEXT, note TEXT); INSERT INTO sales.notes VALUES ('bob', 'vip')")
        #expect(try f.rows("SELECT o.order_id, n.note FROM ext.orders o JOIN sales.notes n ON n.customer = o.customer")
            == [[.integer(2), .text("vip")]])
        // Two files of the source in one statement, the TSV one included.
        #expect(try f.value("SELECT count(*) FROM ext.orders o, ext.people p WHERE p.name = o.customer") == .integer(1))
        // Nothing was copied: a row appended to the file is there at the next query.
        let path = FilePath.join(dir, "orders.csv")
        try AtomicFile.write(FederatedCSVTests.orders + "4,dee,1,2024-03-01\n", to: path)
        #expect(try f.value("SELECT count(*) FROM ext.orders") == .integer(4))
        // Copying out is an ordinary managed write.
        try f.run("CREATE TABLE sales.orders AS SELECT * FROM ext.orders WHERE amount > 10")
        #expect(try f.value("SELECT count(*) FROM sales.orders") == .integer(2))
    }

    @Test func theSourceIsReadOnlyAndHasNoSnapshots() throws {
        let f = try Fixture("csv-readonly")
        let dir = try FederatedCSVTests.directory("csv-readonly-files")
        _ = try f.lakehouse.registerCSVSource(name: "ext", directory: dir)
        let before = try FileIO.read(FilePath.join(dir, "orders.csv"))
        for sql in ["DELETE FROM ext.orders", "INSERT INTO ext.orders VALUES (9, 'x', 1, '2024-01-01')", "UPDATE ext.orders SET amount = 0"] {
            #expect(throws: LakehouseError.self) { try f.run(sql) }
        }
        #expect((try? f.run("CREATE TABLE ext.more (a INTEGER)")) == nil)
        #expect((try? f.rows("SELECT * FROM ext.orders VERSION AS OF 1")) == nil)
        // The module is not reachable from SQL: no table-valued function, no CREATE VIRTUAL TABLE.
        #expect((try? f.rows("SELECT * FROM wb_csv('\(dir)/orders.csv')")) == nil)
        #expect((try? f.run("CREATE VIRTUAL TABLE sales.x USING wb_csv('{}')")) == nil)
        #expect(try FileIO.read(FilePath.join(dir, "orders.csv")) == before)
        // Unregistering leaves the files.
        try f.run("DROP DATABASE ext")
        #expect(try FileIO.read(FilePath.join(dir, "orders.csv")) == before)
        #expect((try? f.rows("SELECT * FROM ext.orders")) == nil)
    }

    @Test func aBadRowFailsTheQueryWithItsFileAndLine() throws {
        let f = try Fixture("csv-bad-row")
        let dir = try FederatedCSVTests.directory("csv-bad-row-files")
        _ = try f.lakehouse.registerCSVSource(name: "ext", directory: dir)
        let path = FilePath.join(dir, "orders.csv")
        try AtomicFile.write(FederatedCSVTests.orders + "4,dee\n5,eve,1,2024-03-01\n", to: path)
        let error = try #require(throws: LakehouseError.self) { try f.rows("SELECT count(*) FROM ext.orders") }
        #expect(error.message.contains("\(path):5: expected 4 fields, found 2"), "\(error)")
        // A file whose columns changed says so, and how to fix it.
        try AtomicFile.write("a,b\n1,2\n", to: path)
        let changed = try #require(throws: LakehouseError.self) { try f.rows("SELECT * FROM ext.orders") }
        #expect(changed.message.contains("columns changed since it was registered"), "\(changed)")
        // The other file of the source still reads.
        #expect(try f.value("SELECT count(*) FROM ext.people") == .integer(3))
    }

    @Test func registrationRefusesWhatCannotBeATableAndNamesIt() throws {
        let f = try Fixture("csv-register-errors")
        let empty = try Scratch.directory("csv-none")
        #expect(throws: LakehouseError.self) { try f.lakehouse.registerCSVSource(name: "none", directory: empty) }
        let missing = try #require(throws: LakehouseError.self) {
            try f.lakehouse.registerCSVSource(name: "gone", directory: FilePath.join(empty, "nope"))
        }
        #expect(missing.code == .notFound)

        let dir = try FederatedCSVTests.directory("csv-utf16")
        let utf16 = FilePath.join(dir, "wide.csv")
        try AtomicFile.write([0xFF, 0xFE, 0x61, 0x00, 0x0A, 0x00], to: utf16)
        let wide = try #require(throws: LakehouseError.self) { try f.lakehouse.registerCSVSource(name: "w", directory: dir) }
        #expect(wide.message.contains("\(utf16):1:") && wide.message.contains("UTF-16"), "\(wide)")
        unlink(utf16)
        let blank = FilePath.join(dir, "blank.csv")
        try AtomicFile.write("", to: blank)
        let emptyFile = try #require(throws: LakehouseError.self) { try f.lakehouse.registerCSVSource(name: "w", directory: dir) }
        #expect(emptyFile.message.contains("\(blank): the file is empty"), "\(emptyFile)")
        unlink(blank)
        try AtomicFile.write("x\n1\n", to: FilePath.join(dir, "orders.tsv"))
        let twice = try #require(throws: LakehouseError.self) { try f.lakehouse.registerCSVSource(name: "w", directory: dir) }
        #expect(twice.message.contains("would both be table orders"), "\(twice)")
        // Nothing was registered by the failed attempts.
        #expect(try f.lakehouse.catalog.read { try $0.catalog(named: "w") } == nil)
    }
}

/// Governance applies to CSV sources as to managed tables: grants, row filters, column lists, audit.
@Suite struct GovernedCSVSourceTests {
    @Test func aFilteredReadOfACSVFileSeesOnlyItsRows() throws {
        let policy = { (admin: String) in
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              - id: eu-people
                to: user:erin
                permissions: [SELECT]
                on: {table: ext.ext.people}
                columns: [id, region]
                rows: "region = 'EU'"
            """
        }
        let f = try GovernedFixture("governed-csv") { admin in
            "version: 1\ngrants:\n  - {id: admin, to: \"user:\(admin)\", permissions: [ALL, \"*:*\"], on: {catalog: \"*\"}}\n"
        }
        let dir = try FederatedCSVTests.directory("governed-csv-files")
        _ = try f.lakehouse.registerCSVSource(name: "ext", directory: dir, context: QueryContext(principal: Principal(.user, f.admin)))
        // Grants bind to tables, which must exist: the source's tables are there once it is registered.
        try f.governance.apply(policy(f.admin), file: "policy.yaml", by: f.admin)
        #expect(try f.rows("SELECT count(*) FROM ext.people", as: f.admin) == [[.integer(3)]])
        #expect(try f.rows("SELECT * FROM ext.people ORDER BY id", as: "erin") == [[.integer(1), .text("EU")], [.integer(3), .text("EU")]])
        #expect(f.error("SELECT name FROM ext.people", as: "erin") != nil)
        #expect(f.error("SELECT * FROM ext.orders", as: "erin")?.code == .denied)
        #expect(f.error("SELECT * FROM ext.people", as: "mallory")?.code == .denied)
        // Registering a source is creating a catalog: erin may not.
        let refused = try #require(throws: LakehouseError.self) {
            try f.lakehouse.registerCSVSource(name: "mine", directory: dir, context: QueryContext(principal: Principal(.user, "erin")))
        }
        #expect(refused.code == .denied)
        try f.governance.audit.flush()
        let records = try f.governance.audit.search(principal: "user:erin")
        #expect(records.contains { $0.record.resource.contains("people") && $0.record.allowed })
        #expect(records.contains { $0.record.resource.contains("orders") && !$0.record.allowed })
    }
}
