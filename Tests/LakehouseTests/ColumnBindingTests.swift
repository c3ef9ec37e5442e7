import Catalog
import CoreSupport
import Governance
import Lakehouse
import Storage
import TestSupport
import Testing

/// Grants bind to the catalog's column ids when the policy is applied: a rename through the
/// lakehouse (ALTER TABLE ... RENAME COLUMN, a snapshot in the log) keeps every grant on its
/// column, and a column dropped since makes its part of a grant inert.
@Suite struct ColumnBindingTests {
    static let admin = "  - {id: admin, to: \"user:ADMIN\", permissions: [ALL, \"*:*\"], on: {catalog: \"*\"}}"

    /// The same five grants on each table: a row filter, a mask, an include list, an exclude list and a column deny.
    static func policy(_ admin: String, tables: [String] = ["bound", "late"]) -> String {
        var grants = [Self.admin.replacingAll("ADMIN", with: admin)]
        for table in tables {
            grants += [
                "  - {id: filter-\(table), to: user:fil, permissions: [SELECT], on: {table: sales.\(table)}, rows: \"region = 'EU'\"}",
                "  - {id: mask-\(table), to: user:msk, permissions: [SELECT], on: {table: sales.\(table)}, masks: {email: hash}}",
                "  - {id: include-\(table), to: user:inc, permissions: [SELECT], on: {table: sales.\(table)}, columns: [id, email]}",
                "  - {id: exclude-\(table), to: user:exc, permissions: [SELECT], on: {table: sales.\(table)}, columns: {exclude: [salary]}}",
                "  - {id: all-\(table), to: user:den, permissions: [SELECT], on: {table: sales.\(table)}}",
                "  - {id: deny-\(table), effect: deny, to: user:den, permissions: [SELECT], on: {table: sales.\(table)}, columns: [salary]}",
            ]
        }
        return "version: 1\ngrants:\n" + grants.joined(separator: "\n") + "\n"
    }

    /// A governed domain whose policy is only the admin's, with no tables of its own yet.
    func fixture(_ name: String) throws -> GovernedFixture {
        try GovernedFixture(name) { admin in "version: 1\ngrants:\n" + Self.admin.replacingAll("ADMIN", with: admin) + "\n" }
    }

    func create(_ f: GovernedFixture, _ table: String) throws {
        _ = try f.rows(
            """
            CREATE TABLE sales.\(table) (id INTEGER PRIMARY KEY, name TEXT, email TEXT, salary INTEGER, region TEXT);
            INSERT INTO sales.\(table) VALUES (1, 'alice', 'alice@example.com', 90000, 'EU'), (2, 'bob', 'bob@example.com', 150000, 'US'),
              (3, 'carol', 'carol@example.com', 120000, 'EU');
            """, as: f.admin)
    }

    func columns(_ f: GovernedFixture, _ sql: String, as user: String) throws -> [String] {
        var names: [String] = []
        _ = try f.lakehouse.execute(
            sql, context: QueryContext(principal: Principal(.user, user)), sink: QuerySink(columns: { names = $0 }, row: { _ in true }))
        return names
    }

    func rename(_ f: GovernedFixture, _ table: String) throws {
        _ = try f.rows(
            """
            ALTER TABLE sales.\(table) RENAME COLUMN region TO area;
            ALTER TABLE sales.\(table) RENAME COLUMN email TO mail;
            ALTER TABLE sales.\(table) RENAME COLUMN salary TO pay;
            """, as: f.admin)
    }

    /// Every grant of the five works on `table` before a rename.
    func expectEveryGrantWorks(_ f: GovernedFixture, _ table: String) throws {
        #expect(try f.rows("SELECT id FROM sales.\(table) ORDER BY id", as: "fil") == [[1], [3]])
        let masked = try f.rows("SELECT email FROM sales.\(table)", as: "msk")
        #expect(masked.count == 3 && masked.allSatisfy { $0[0].string?.count == 64 })
        #expect(try columns(f, "SELECT * FROM sales.\(table)", as: "inc") == ["id", "email"])
        #expect(try columns(f, "SELECT * FROM sales.\(table)", as: "exc") == ["id", "name", "email", "region"])
        #expect(try columns(f, "SELECT * FROM sales.\(table)", as: "den") == ["id", "name", "email", "region"])
    }

    /// The policy is first refused while `sales.late` does not exist (grants bind to tables, which must
    /// exist, as in Lake Formation); applied to `sales.bound` alone, every grant follows its columns
    /// through renames. The control is the same grants written against the new names before binding
    /// had anything to follow: a policy engine given the unbound text (names matched at decision time)
    /// fails closed on the renamed table, which shows the grants survive because of the binding.
    @Test func renamingAColumnKeepsItsGrants() throws {
        let f = try fixture("binding-rename")
        try create(f, "bound")
        #expect {
            try f.governance.apply(Self.policy(f.admin), file: "policy.yaml", by: f.admin, comment: "bind")
        } throws: { error in
            let error = error as? GovernanceError
            return error?.code == .unknownReference
                && error?.message.contains("grant 'filter-late' is on table lakehouse.sales.late, which does not exist") == true
        }
        let applied = try f.governance.apply(Self.policy(f.admin, tables: ["bound"]), file: "policy.yaml", by: f.admin, comment: "bind")
        let bindings = try f.governance.store.bindings(of: applied.version.version)
        #expect(Set(bindings.map(\.grantID)) == ["filter-bound", "mask-bound", "include-bound", "exclude-bound", "deny-bound"])
        let tables = try f.governance.store.tableBindings(of: applied.version.version)
        #expect(Set(tables.map(\.grantID)) == ["filter-bound", "mask-bound", "include-bound", "exclude-bound", "all-bound", "deny-bound"])
        try expectEveryGrantWorks(f, "bound")

        try rename(f, "bound")
        // Bound to ids: every grant keeps its column.
        #expect(try f.rows("SELECT id, area FROM sales.bound ORDER BY id", as: "fil") == [[1, "EU"], [3, "EU"]])
        let masked = try f.rows("SELECT mail FROM sales.bound ORDER BY id", as: "msk")
        #expect(masked.count == 3 && masked.allSatisfy { $0[0].string?.count == 64 })
        #expect(try columns(f, "SELECT * FROM sales.bound", as: "inc") == ["id", "mail"])
        #expect(try columns(f, "SELECT * FROM sales.bound", as: "exc") == ["id", "name", "mail", "area"])
        #expect(try columns(f, "SELECT * FROM sales.bound", as: "den") == ["id", "name", "mail", "area"])
        #expect(f.error("SELECT pay FROM sales.bound", as: "den")?.message.contains("no such column") == true)
        // Control, matched by name: the same text unbound names columns that are gone, and each grant fails closed.
        let unbound = PolicyEngine(policy: try PolicyFile.parse(Self.policy(f.admin, tables: ["bound"])))
        let info = try #require(try f.lakehouse.catalog.read { try $0.table(database: "sales", name: "bound") })
        let database = try #require(try f.lakehouse.catalog.read { try $0.database(named: "sales") })
        let descriptor = StatementGovernance.descriptor(info, database: database)
        for user in ["fil", "msk", "inc", "exc", "den"] {
            #expect(!unbound.accessPlan(user: user, table: descriptor).decision.allowed, "\(user)")
        }

        // Applying the same file again keeps the bound grants on their columns (and says they were renamed).
        let again = try f.governance.apply(Self.policy(f.admin, tables: ["bound"]), file: "again", by: f.admin)
        #expect(again.warnings.contains("grant 'mask-bound': column 'email' of lakehouse.sales.bound is now named 'mail'; the grant follows it"), "\(again.warnings)")
        #expect(try columns(f, "SELECT * FROM sales.bound", as: "den") == ["id", "name", "mail", "area"])
        // The policy shows the current names.
        let shown = try f.governance.withCurrentNames(try #require(try f.governance.store.active()).policy)
        let text = PolicyFile.render(shown)
        #expect(text.contains("rows: \"area = 'EU'\"") && text.contains("mail: hash") && text.contains("include: [id, mail]"), "\(text)")
        #expect(text.contains("exclude: [pay]") && text.contains("include: [pay]"))
    }

    @Test func aDroppedColumnMakesItsGrantsInertAndSaysSo() throws {
        let f = try fixture("binding-drop")
        try create(f, "bound")
        try f.governance.apply(Self.policy(f.admin, tables: ["bound"]), file: "policy.yaml", by: f.admin)
        let beforeDrop = try #require(try f.lakehouse.table(TableName("sales", "bound")).currentSnapshot)
        _ = try f.rows("ALTER TABLE sales.bound DROP COLUMN email", as: f.admin)
        // The include list keeps what is left, the mask has nothing to mask; the filter is unaffected.
        #expect(try columns(f, "SELECT * FROM sales.bound", as: "inc") == ["id"])
        #expect(try f.rows("SELECT count(*) FROM sales.bound", as: "msk") == [[3]])
        #expect(try f.rows("SELECT id FROM sales.bound ORDER BY id", as: "fil") == [[1], [3]])
        // Time travel to before the drop reads the old column under the grants, which still know its id.
        var rows: [[DatabaseValue]] = []
        _ = try f.lakehouse.execute(
            "SELECT email FROM sales.bound", context: QueryContext(principal: Principal(.user, "msk"), asOf: .snapshot(beforeDrop)),
            sink: QuerySink { rows.append($0); return true })
        #expect(rows.count == 3 && rows.allSatisfy { $0[0].string?.count == 64 }, "\(rows)")
        // A filter on a dropped column: the grant grants nothing (fail closed).
        _ = try f.rows("ALTER TABLE sales.bound DROP COLUMN region", as: f.admin)
        #expect(f.error("SELECT id FROM sales.bound", as: "fil")?.code == .denied)
        // Validate and plan (a preview) name the grant and the column.
        let preview = try f.governance.preview(Self.policy(f.admin, tables: ["bound"]), file: "policy.yaml")
        let warnings = preview.binding.warnings
        #expect(warnings.contains("grant 'mask-bound': column 'email' of lakehouse.sales.bound was dropped; what the grant says about it is inert"), "\(warnings)")
        #expect(warnings.contains("grant 'filter-bound': column 'region' of lakehouse.sales.bound was dropped; its row filter reads it, so the grant now grants nothing"))
        // A new column under the dropped one's name is another column: the old grant does not reach it, even re-applied.
        _ = try f.rows("ALTER TABLE sales.bound ADD COLUMN email TEXT; UPDATE sales.bound SET email = 'new@example.com'", as: f.admin)
        #expect(try columns(f, "SELECT * FROM sales.bound", as: "inc") == ["id"])
        try f.governance.apply(Self.policy(f.admin, tables: ["bound"]) + "# again\n", file: "again", by: f.admin)
        #expect(try columns(f, "SELECT * FROM sales.bound", as: "inc") == ["id"])
    }

    @Test func aColumnTheTableDoesNotHaveIsRefused() throws {
        let f = try fixture("binding-unknown")
        try create(f, "bound")
        let policy = Self.policy(f.admin, tables: ["bound"]) + "  - {id: typo, to: user:x, permissions: [SELECT], on: {table: sales.bound}, columns: [emial]}\n"
        #expect {
            try f.governance.apply(policy, file: "typo.yaml", by: f.admin)
        } throws: { error in
            let error = error as? GovernanceError
            return error?.code == .unknownReference && error?.message.contains("names column 'emial'") == true
                && error?.location?.file == "typo.yaml" && error?.location?.line == 10
        }
        #expect(try f.governance.store.versions().count == 2)  // nothing applied
    }
}
