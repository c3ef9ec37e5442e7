import Catalog
import CoreSupport
import Governance
import Lakehouse
import Storage
import TestSupport
import Testing

/// Grants bind to the catalog's table ids when the policy is applied (as Lake Formation binds
/// permissions to catalog resources, not names): `ALTER TABLE ... RENAME TO` keeps a table's
/// grants, row filters, masks, column lists, denies and tags; a table dropped and created again
/// under the same name inherits none of them; a grant on a table that does not exist is refused.
@Suite struct TableBindingTests {
    static func policy(_ admin: String, extra: String = "") -> String {
        """
        version: 1
        tags: {level: [low, high]}
        grants:
          - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
          - id: eu-people
            to: group:eu
            permissions: [SELECT]
            on: {table: sales.people}
            columns: {exclude: [salary]}
            rows: "region = 'EU'"
            masks: {email: hash}
          - {id: all-open, to: role:reader, permissions: [SELECT], on: {table: sales.people}}
          - {id: no-salary, effect: deny, to: role:reader, permissions: [SELECT], on: {table: sales.people}, columns: [salary]}
          - {id: low-only, to: user:tina, permissions: [SELECT], on: {tags: {level: [low]}}}
        \(extra)
        groups: {eu: [erin]}
        roles: {reader: {members: [user:rita]}}

        """
    }

    func fixture(_ name: String) throws -> GovernedFixture {
        let f = try GovernedFixture(name) { admin in
            "version: 1\ngrants:\n  - {id: admin, to: \"user:\(admin)\", permissions: [ALL, \"*:*\"], on: {catalog: \"*\"}}\n"
        }
        // Tags live on the catalog's objects, by id: a column tagged low and one tagged high.
        try f.lakehouse.catalog.write { access in
            let table = try #require(try access.table(database: "sales", name: "people"))
            for column in table.columns where ["id", "region"].contains(column.name) {
                try access.setTag(.column, id: column.id, key: "level", value: "low")
            }
            for column in table.columns where column.name == "salary" { try access.setTag(.column, id: column.id, key: "level", value: "high") }
        }
        try f.governance.apply(Self.policy(f.admin), file: "policy.yaml", by: f.admin)
        return f
    }

    func columns(_ f: GovernedFixture, _ sql: String, as user: String) throws -> [String] {
        var names: [String] = []
        _ = try f.lakehouse.execute(
            sql, context: QueryContext(principal: Principal(.user, user)), sink: QuerySink(columns: { names = $0 }, row: { _ in true }))
        return names
    }

    /// What each grantee gets from the table now called `table`.
    func expectTheGrants(_ f: GovernedFixture, on table: String) throws {
        let eu = try f.rows("SELECT id, email FROM sales.\(table) ORDER BY id", as: "erin")
        #expect(eu.map { $0[0] } == [1, 3] && eu.allSatisfy { $0[1].string?.count == 64 }, "\(eu)")
        #expect(f.error("SELECT salary FROM sales.\(table)", as: "erin")?.message.contains("no such column") == true)
        #expect(try columns(f, "SELECT * FROM sales.\(table)", as: "rita") == ["id", "name", "email", "region", "born"])
        #expect(try f.rows("SELECT count(*) FROM sales.\(table)", as: "rita") == [[4]])
        #expect(try columns(f, "SELECT * FROM sales.\(table)", as: "tina") == ["id", "region"])
    }

    @Test func renamingATableKeepsItsGrantsFiltersMasksDeniesAndTags() throws {
        let f = try fixture("table-rename")
        let active = try #require(try f.governance.store.active())
        let bound = try f.governance.store.tableBindings(of: active.version.version)
        #expect(bound.map(\.grantID) == ["all-open", "eu-people", "no-salary"])
        try expectTheGrants(f, on: "people")

        _ = try f.rows("ALTER TABLE sales.people RENAME TO staff", as: f.admin)
        try expectTheGrants(f, on: "staff")
        // A new table under the old name is another table: no grant reaches it (tina's tag grant: its columns have no tags).
        _ = try f.rows("CREATE TABLE sales.people (id INTEGER, salary INTEGER); INSERT INTO sales.people VALUES (9, 1)", as: f.admin)
        for user in ["erin", "rita", "tina"] {
            #expect(f.error("SELECT * FROM sales.people", as: user)?.code == .denied, "\(user)")
        }

        // The policy shows the current name; applying the same file again keeps the grants on the renamed table.
        let shown = PolicyFile.render(try f.governance.withCurrentNames(try #require(try f.governance.store.active()).policy))
        #expect(shown.contains("on: {table: \"sales.staff\"}") || shown.contains("on: {table: sales.staff}"), "\(shown)")
        #expect(!shown.contains("sales.people"), "\(shown)")
        let again = try f.governance.apply(Self.policy(f.admin) + "# again\n", file: "again.yaml", by: f.admin)
        #expect(again.warnings.contains("grant 'eu-people': table lakehouse.sales.people is now named lakehouse.sales.staff; the grant follows it"), "\(again.warnings)")
        try expectTheGrants(f, on: "staff")
        #expect(f.error("SELECT * FROM sales.people", as: "rita")?.code == .denied)
        // The text written with the current name binds to the same table.
        let current = try f.governance.apply(Self.policy(f.admin).replacingAll("sales.people", with: "sales.staff"), file: "current.yaml", by: f.admin)
        #expect(current.warnings.isEmpty, "\(current.warnings)")
        try expectTheGrants(f, on: "staff")
    }

    @Test func aTableDroppedAndCreatedAgainInheritsNothing() throws {
        let f = try fixture("table-drop")
        let applied = try #require(try f.governance.store.activeVersion())
        try expectTheGrants(f, on: "people")
        _ = try f.rows(
            """
            DROP TABLE sales.people;
            CREATE TABLE sales.people (id INTEGER PRIMARY KEY, name TEXT, email TEXT, salary INTEGER, region TEXT, born TEXT);
            INSERT INTO sales.people VALUES (1, 'zoe', 'z@example.com', 1, 'EU', NULL);
            """, as: f.admin)
        for user in ["erin", "rita"] {
            let error = f.error("SELECT * FROM sales.people", as: user)
            #expect(error?.code == .denied && error?.message.contains("default deny") == true, "\(user): \(String(describing: error))")
        }
        // Applying the same file again (or rolling back) does not pass the old grants on: they stay on the dropped table.
        let again = try f.governance.apply(Self.policy(f.admin) + "# again\n", file: "again.yaml", by: f.admin)
        #expect(again.warnings.contains { $0.hasPrefix("grant 'eu-people': table lakehouse.sales.people (id ") && $0.contains("was dropped; the grant is inert") }, "\(again.warnings)")
        #expect(f.error("SELECT * FROM sales.people", as: "rita")?.code == .denied)
        try f.governance.rollback(to: applied, by: f.admin)
        #expect(f.error("SELECT * FROM sales.people", as: "rita")?.code == .denied)
        // Granting on the new table is a grant of its own.
        try f.governance.grant(
            Grant(id: "rita-new", principals: [Principal(.role, "reader")], permissions: [.data(.select)],
                  resource: .table(catalog: nil, database: "sales", name: "people")), by: f.admin)
        #expect(try f.rows("SELECT name FROM sales.people", as: "rita") == [["zoe"]])
    }

    @Test func aGrantOnATableThatDoesNotExistIsRefused() throws {
        let f = try fixture("table-missing")
        let before = try f.governance.store.versions().count
        let extra = "  - {id: typo, to: user:x, permissions: [SELECT], on: {table: sales.peeple}}"
        #expect {
            try f.governance.apply(Self.policy(f.admin, extra: extra), file: "typo.yaml", by: f.admin)
        } throws: { error in
            let error = error as? GovernanceError
            return error?.code == .unknownReference
                && error?.message == "grant 'typo' is on table lakehouse.sales.peeple, which does not exist (create the table first; grants bind to the table itself, not to its name)"
                && error?.location?.file == "typo.yaml" && error?.location?.line == 15
        }
        #expect(throws: GovernanceError.self) {
            try f.governance.grant(
                Grant(id: "x", principals: [Principal(.user, "x")], permissions: [.data(.select)],
                      resource: .table(catalog: nil, database: "sales", name: "peeple")), by: f.admin)
        }
        #expect(try f.governance.store.versions().count == before)
        // A database or `db.*` names no one table: granted before its tables exist, it covers those created later.
        try f.governance.apply(
            Self.policy(f.admin, extra: "  - {id: later, to: user:lena, permissions: [SELECT], on: {table: \"scratch.*\"}}"), file: "later.yaml", by: f.admin)
        _ = try f.rows("CREATE TABLE scratch.n (a INTEGER); INSERT INTO scratch.n VALUES (5)", as: f.admin)
        #expect(try f.rows("SELECT a FROM scratch.n", as: "lena") == [[5]])
    }

    /// A governance store of the previous version (grants named tables; only grants with column names were
    /// bound, to column ids) is migrated when opened: table bindings are derived from the column bindings,
    /// the active version's other grants on tables are bound to the tables they name today as a new,
    /// audited version, and from then on a rename keeps them and a table created again inherits nothing.
    @Test func aStoreOfThePreviousVersionIsMigrated() throws {
        let domain = try Domain.open(at: try Scratch.directory("table-migrate"))
        let admin = domain.info.createdBy
        let plain = try Lakehouse(domain: domain)
        _ = try plain.execute(
            """
            CREATE DATABASE sales;
            CREATE TABLE sales.people (id INTEGER, email TEXT, region TEXT);
            INSERT INTO sales.people VALUES (1, 'a@x', 'EU'), (2, 'b@x', 'US');
            CREATE TABLE sales.open (k INTEGER);
            INSERT INTO sales.open VALUES (1), (2);
            """, context: QueryContext(principal: Principal(.user, admin)))
        let people = try #require(try plain.catalog.read { try $0.table(database: "sales", name: "people") })
        let email = try #require(people.columns.first { $0.name == "email" })
        let region = try #require(people.columns.first { $0.name == "region" })
        let text = """
            version: 1
            grants:
              - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              - {id: eu, to: user:erin, permissions: [SELECT], on: {table: sales.people}, rows: "region = 'EU'", masks: {email: hash}}
              - {id: open, to: user:erin, permissions: [SELECT], on: {table: sales.open}}
              - {id: gone, to: user:erin, permissions: [SELECT], on: {table: sales.gone}}

            """
        // The store as the previous version wrote it: its three migrations, one version, its column bindings.
        var previous = Domain.Store.governance.migrator
        previous.register("policy-versions") { db in
            try db.execute(
                """
                CREATE TABLE policy_versions (version INTEGER PRIMARY KEY, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
                    comment TEXT NOT NULL, sha256 TEXT NOT NULL, source TEXT NOT NULL);
                CREATE TABLE policy_active (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL REFERENCES policy_versions(version));
                """)
        }
        previous.register("audit-log") { db in
            try db.execute(
                """
                CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, time TEXT NOT NULL, principal TEXT NOT NULL, action TEXT NOT NULL,
                    resource TEXT NOT NULL, decision TEXT NOT NULL, grants TEXT NOT NULL, policy_version INTEGER NOT NULL,
                    query_sha256 TEXT, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
                CREATE INDEX audit_log_principal ON audit_log(principal, time);
                CREATE INDEX audit_log_time ON audit_log(time);
                """)
        }
        previous.register("policy-bindings") { db in
            try db.execute(
                """
                CREATE TABLE policy_bindings (version INTEGER NOT NULL REFERENCES policy_versions(version), grant_id TEXT NOT NULL,
                    table_id TEXT NOT NULL, name TEXT NOT NULL, column_id TEXT NOT NULL, PRIMARY KEY (version, grant_id, name)) WITHOUT ROWID;
                """)
        }
        let old = try domain.database(.governance, migrator: previous)
        try old.write { db in
            try db.execute(
                "INSERT INTO policy_versions VALUES (1, '2026-01-01T00:00:00Z', ?, 'before the upgrade', 'x', ?)", [admin, text])
            try db.execute("INSERT INTO policy_active VALUES (1, 1)")
            for (name, column) in [("email", email), ("region", region)] {
                try db.execute("INSERT INTO policy_bindings VALUES (1, 'eu', ?, ?, ?)", [String(people.id), name, String(column.id)])
            }
        }

        let governance = try GovernanceService(domain: domain)
        let active = try #require(try governance.store.active())
        #expect(active.version.version == 2 && active.version.comment == "upgrade: grants on tables bound to the tables' ids")
        #expect(try governance.store.tableBindings(of: 1).map(\.grantID) == ["eu"])  // derived from its column bindings
        let open = try #require(try plain.catalog.read { try $0.table(database: "sales", name: "open") })
        #expect(try governance.store.tableBindings(of: 2) == [
            TableBinding(grantID: "eu", tableID: String(people.id), name: "sales.people"),
            TableBinding(grantID: "open", tableID: String(open.id), name: "sales.open"),
        ])
        #expect(try governance.store.pendingTableBinding() == false)
        try governance.audit.flush()
        #expect(try governance.audit.search(action: "policy:upgrade").count == 1)
        // Opening again changes nothing.
        _ = try GovernanceService(domain: domain)
        #expect(try governance.store.versions().count == 2)

        let lakehouse = try Lakehouse(domain: domain, governance: governance)
        func rows(_ sql: String, as user: String) throws -> [[DatabaseValue]] {
            var rows: [[DatabaseValue]] = []
            _ = try lakehouse.execute(sql, context: QueryContext(principal: Principal(.user, user)), sink: QuerySink { rows.append($0); return true })
            return rows
        }
        _ = try rows("ALTER TABLE sales.people RENAME TO staff; ALTER TABLE sales.open RENAME TO wide", as: admin)
        let eu = try rows("SELECT id, email FROM sales.staff", as: "erin")
        #expect(eu.count == 1 && eu[0][0] == 1 && eu[0][1].string?.count == 64, "\(eu)")
        #expect(try rows("SELECT count(*) FROM sales.wide", as: "erin") == [[2]])
        _ = try rows("CREATE TABLE sales.open (k INTEGER); CREATE TABLE sales.gone (k INTEGER)", as: admin)
        #expect(throws: LakehouseError.self) { try rows("SELECT * FROM sales.open", as: "erin") }
        // The grant on a table missing at the upgrade stays matched by name until the policy is applied again, which refuses it while the table is missing.
        #expect(try rows("SELECT count(*) FROM sales.gone", as: "erin") == [[0]])
    }

    /// A deny on tags removes the tagged columns on the query path (the gate reads the catalog's tags for governed statements).
    @Test func aDenyOnTagsHidesTaggedColumnsOnTheQueryPath() throws {
        let f = try GovernedFixture("tag-deny") { admin in
            """
            version: 1
            tags: {classification: [pii]}
            grants:
              - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              - {id: erin-people, to: user:erin, permissions: [SELECT], on: {table: sales.people}}
              - {id: no-pii, effect: deny, to: user:erin, permissions: [SELECT], on: {tags: {classification: [pii]}}}
            """
        }
        #expect(try columns(f, "SELECT * FROM sales.people", as: "erin") == ["id", "name", "email", "salary", "region", "born"])
        try f.lakehouse.catalog.write { access in
            let table = try #require(try access.table(database: "sales", name: "people"))
            for column in table.columns where ["email", "salary"].contains(column.name) {
                try access.setTag(.column, id: column.id, key: "classification", value: "pii")
            }
        }
        #expect(try columns(f, "SELECT * FROM sales.people", as: "erin") == ["id", "name", "region", "born"])
        #expect(f.error("SELECT salary FROM sales.people", as: "erin")?.message.contains("no such column") == true)
        #expect(try f.rows("SELECT count(*) FROM sales.people", as: "erin") == [[4]])
    }
}
