import Catalog
import CoreSupport
import Governance
import Lakehouse
import Storage
import TestSupport
import Testing

/// Writes under a row filter, a column list and masks: the statement reaches only rows the caller
/// may write, cannot name hidden columns, never overwrites a masked value it did not change, and a
/// row it would leave (or create) outside its filter aborts the whole statement.
@Suite struct FilteredWriteTests {
    static func policy(_ admin: String) -> String {
        """
        version: 1
        grants:
          - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
          - id: eu-editor
            to: user:erin
            permissions: [SELECT, INSERT, UPDATE, DELETE]
            on: {table: sales.people}
            columns: {exclude: [salary]}
            rows: "region = 'EU'"
            masks: {email: hash}
          - {id: erin-scratch, to: "user:erin", permissions: [ALL], on: {database: scratch}}
        """
    }

    /// The whole table as the admin sees it, by id.
    func table(_ f: GovernedFixture) throws -> [Int64: [DatabaseValue]] {
        var out: [Int64: [DatabaseValue]] = [:]
        for row in try f.rows("SELECT id, name, email, salary, region FROM sales.people", as: f.admin) {
            if case .integer(let id) = row[0] { out[id] = Array(row.dropFirst()) }
        }
        return out
    }

    func changes(_ f: GovernedFixture, _ sql: String) throws -> Int {
        try f.lakehouse.execute(sql, context: QueryContext(principal: Principal(.user, "erin"))).changes
    }

    @Test func updatesAndDeletesReachOnlyAdmittedRows() throws {
        let f = try GovernedFixture("filtered-update", policy: Self.policy)
        let before = try table(f)
        // No WHERE: every row erin may write, and only those.
        #expect(try changes(f, "UPDATE sales.people SET name = upper(name)") == 2)
        var after = try table(f)
        #expect(after[1]?[0] == .text("ALICE"))
        #expect(after[3]?[0] == .text("CAROL"))
        #expect(after[2] == before[2])  // US rows untouched
        #expect(after[4] == before[4])
        // A hidden row matched by the WHERE is not reached (and says nothing about itself).
        #expect(try changes(f, "UPDATE sales.people SET name = 'x' WHERE id = 2") == 0)
        #expect(try changes(f, "DELETE FROM sales.people WHERE id = 2") == 0)
        #expect(try changes(f, "DELETE FROM sales.people WHERE name = 'ALICE'") == 1)
        after = try table(f)
        #expect(after[1] == nil)
        #expect(after[2] == before[2])
        #expect(Set(after.keys) == [2, 3, 4])
    }

    @Test func aRowLeftOrCreatedOutsideTheFilterAbortsTheStatement() throws {
        let f = try GovernedFixture("filtered-check", policy: Self.policy)
        let before = try table(f)
        let moved = f.error("UPDATE sales.people SET region = 'US' WHERE id = 1", as: "erin")
        #expect(moved?.code == .denied, "\(String(describing: moved))")
        #expect(moved?.message.contains("may UPDATE only rows of sales.people") == true, "\(String(describing: moved))")
        #expect(f.error("INSERT INTO sales.people (id, name, region) VALUES (7, 'eve', 'US')", as: "erin") != nil)
        // A multi-row statement with one bad row changes nothing.
        #expect(f.error("INSERT INTO sales.people (id, name, region) VALUES (8, 'ok', 'EU'), (9, 'bad', 'US')", as: "erin") != nil)
        #expect(try table(f) == before)
        // A row inside the filter goes in; the column erin cannot see is NULL in it.
        #expect(try changes(f, "INSERT INTO sales.people (id, name, email, region) VALUES (7, 'eve', 'eve@example.com', 'EU')") == 1)
        let eve = try table(f)[7]
        #expect(eve == [.text("eve"), .text("eve@example.com"), .null, .text("EU")])
        // Without a column list, the values fill the columns erin sees, in table order.
        #expect(try changes(f, "INSERT INTO sales.people VALUES (10, 'zed', NULL, 'EU', NULL)") == 1)
        #expect(try table(f)[10] == [.text("zed"), .null, .null, .text("EU")])
    }

    @Test func hiddenColumnsCannotBeNamedAndMaskedValuesAreNotOverwritten() throws {
        let f = try GovernedFixture("filtered-columns", policy: Self.policy)
        let before = try table(f)
        // salary is hidden: writing it, reading it into a visible column, or filtering on it is an unknown column.
        for sql in [
            "UPDATE sales.people SET salary = 1", "UPDATE sales.people SET name = salary",
            "DELETE FROM sales.people WHERE salary > 100000", "INSERT INTO sales.people (id, salary, region) VALUES (11, 5, 'EU')",
        ] {
            let error = f.error(sql, as: "erin")
            #expect(error?.message.contains("salary") == true, "\(sql): \(String(describing: error))")
        }
        #expect(try table(f) == before)
        // Changing another column leaves the masked email as it was stored (not its hash).
        _ = try changes(f, "UPDATE sales.people SET name = 'alicia' WHERE id = 1")
        #expect(try table(f)[1]?[1] == .text("alice@example.com"))
        // Predicates on the masked column see the masked value, as reads do.
        #expect(try changes(f, "UPDATE sales.people SET name = 'n' WHERE email = 'alice@example.com'") == 0)
        // Setting it writes the new value.
        #expect(try changes(f, "UPDATE sales.people SET email = 'new@example.com' WHERE id = 1") == 1)
        #expect(try table(f)[1]?[1] == .text("new@example.com"))
        let read = try f.rows("SELECT email FROM sales.people WHERE id = 1", as: "erin")
        #expect(read.first?.first != .text("new@example.com"))  // erin still reads it masked
    }

    @Test func replaceAndUpsertAreRefusedAndCopiesHoldOnlyWhatIsVisible() throws {
        let f = try GovernedFixture("filtered-replace", policy: Self.policy)
        let before = try table(f)
        for sql in [
            "REPLACE INTO sales.people (id, name, region) VALUES (2, 'x', 'EU')",
            "INSERT OR REPLACE INTO sales.people (id, name, region) VALUES (2, 'x', 'EU')",
            "INSERT INTO sales.people (id, name, region) VALUES (2, 'x', 'EU') ON CONFLICT (id) DO UPDATE SET name = 'x'",
        ] {
            #expect(f.error(sql, as: "erin")?.code == .denied, "\(sql)")
        }
        #expect(try table(f) == before)
        // INSERT ... SELECT into the filtered table from erin's own table, and back out of it.
        _ = try f.rows("CREATE TABLE scratch.staging (id INTEGER, name TEXT, region TEXT)", as: "erin")
        _ = try f.rows("INSERT INTO scratch.staging VALUES (20, 'u', 'EU'), (21, 'v', 'EU')", as: "erin")
        #expect(try changes(f, "INSERT INTO sales.people (id, name, region) SELECT id, name, region FROM scratch.staging") == 2)
        #expect(try table(f)[21] == [.text("v"), .null, .null, .text("EU")])
        _ = try f.rows("INSERT INTO scratch.staging SELECT id, name, region FROM sales.people", as: "erin")
        let copied = try f.rows("SELECT count(*) FROM scratch.staging WHERE region = 'US'", as: "erin")
        #expect(copied.first?.first == .integer(0))
        // Snapshots record the filtered write like any other.
        let history = try f.rows("SELECT count(*) FROM sales.people", as: f.admin)
        #expect(history.first?.first == .integer(6))
    }
}

extension FilteredWriteTests {
    /// RETURNING shows the row as the caller sees it: masked values stay masked.
    @Test func returningShowsTheWrittenRowAsTheCallerSeesIt() throws {
        let f = try GovernedFixture("filtered-returning", policy: Self.policy)
        let rows = try f.rows("UPDATE sales.people SET name = 'q' WHERE id = 1 RETURNING name, email", as: "erin")
        #expect(rows.count == 1)
        #expect(rows.first?.first == .text("q"))
        #expect(rows.first?.last != .text("alice@example.com"))
        #expect(try table(f)[1]?[1] == .text("alice@example.com"))
    }
}
