import Catalog
import CoreSupport
import Governance
import Lakehouse
import PluginBus
import Storage
import TestSupport
import Testing

/// A governed lakehouse: the domain's creator loads data, then other users query it under a policy.
struct GovernedFixture {
    let domain: Domain
    let governance: GovernanceService
    let lakehouse: Lakehouse
    let admin: String

    init(_ name: String, policy: (String) -> String) throws {
        domain = try Domain.open(at: try Scratch.directory(name))
        governance = try GovernanceService(domain: domain)
        lakehouse = try Lakehouse(domain: domain, governance: governance)
        admin = domain.info.createdBy
        _ = try lakehouse.execute(
            """
            CREATE DATABASE sales;
            CREATE DATABASE scratch;
            CREATE TABLE sales.people (id INTEGER PRIMARY KEY, name TEXT, email TEXT, salary INTEGER, region TEXT, born TEXT);
            INSERT INTO sales.people VALUES
              (1, 'alice', 'alice@example.com', 90000, 'EU', '1990-04-01'),
              (2, 'bob', 'bob@example.com', 150000, 'US', '1985-12-24'),
              (3, 'carol', 'carol@example.com', 120000, 'EU', '1979-07-30'),
              (4, 'dave', NULL, -9223372036854775808, 'US', NULL);
            CREATE TABLE sales.open (k INTEGER, v TEXT);
            INSERT INTO sales.open VALUES (1, 'x'), (2, 'y');
            """, context: QueryContext(principal: Principal(.user, admin)))
        try governance.apply(policy(admin), file: "policy.yaml", by: admin)
    }

    private init(domain: Domain, governance: GovernanceService, lakehouse: Lakehouse, admin: String) {
        self.domain = domain
        self.governance = governance
        self.lakehouse = lakehouse
        self.admin = admin
    }

    /// A second engine and governance on the fixture's domain, with connections of its own, as another process has.
    static func attach(to other: GovernedFixture) throws -> GovernedFixture {
        let domain = try Domain.open(at: other.domain.path)
        let governance = try GovernanceService(domain: domain)
        return GovernedFixture(domain: domain, governance: governance, lakehouse: try Lakehouse(domain: domain, governance: governance), admin: other.admin)
    }

    func rows(_ sql: String, as user: String) throws -> [[DatabaseValue]] {
        var rows: [[DatabaseValue]] = []
        _ = try lakehouse.execute(sql, context: QueryContext(principal: Principal(.user, user)), sink: QuerySink { rows.append($0); return true })
        return rows
    }

    func error(_ sql: String, as user: String) -> LakehouseError? {
        do {
            _ = try rows(sql, as: user)
            return nil
        } catch let error as LakehouseError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }
}

/// erin: EU rows of sales.people without salary, e-mails hashed, birth dates to the year; sales.open
/// to read and append; the scratch database for her own tables. The admin's ordinary grant.
func erinPolicy(_ admin: String) -> String {
    """
    version: 1
    grants:
      - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
      - id: eu-people
        to: user:erin
        permissions: [SELECT]
        on: {table: sales.people}
        columns: {exclude: [salary]}
        rows: "region = 'EU'"
        masks: {email: hash, born: date_to_year}
      - {id: erin-open, to: "user:erin", permissions: [SELECT, INSERT], on: {table: sales.open}}
      - {id: erin-scratch, to: "user:erin", permissions: [ALL], on: {database: scratch}}

    """
}

/// `erinPolicy`, plus sam: id and salary of the people earning under 130,000.
private func standardPolicy(_ admin: String) -> String {
    erinPolicy(admin) + """
      - id: salary-band
        to: user:sam
        permissions: [SELECT]
        on: {table: sales.people}
        columns: [id, salary]
        rows: "salary < 130000"
    """
}

@Suite struct GovernedQueryTests {
    @Test func aFilteredReadSeesOnlyItsRowsColumnsAndMasks() throws {
        let f = try GovernedFixture("governed-read", policy: standardPolicy)
        let rows = try f.rows("SELECT * FROM sales.people ORDER BY id", as: "erin")
        #expect(rows.count == 2)
        #expect(rows.map { $0[0] } == [.integer(1), .integer(3)])
        #expect(rows[0].count == 5)  // id, name, email, region, born: no salary
        #expect(rows[0][2] != .text("alice@example.com"))
        #expect(rows[0][2].string?.count == 64)
        #expect(rows[0][4] == .text("1990"))
        // The admin, with an ordinary grant, reads everything.
        #expect(try f.rows("SELECT count(*) FROM sales.people", as: f.admin) == [[.integer(4)]])
    }

    @Test func aHiddenColumnIsAbsentAndAnUngrantedTableIsRefused() throws {
        let f = try GovernedFixture("governed-absent", policy: standardPolicy)
        let hidden = try #require(f.error("SELECT salary FROM sales.people", as: "erin"))
        let missing = try #require(f.error("SELECT no_such_column FROM sales.people", as: "erin"))
        #expect(hidden.code == missing.code)
        #expect(hidden.message.contains("salary"))
        let refused = try #require(f.error("SELECT * FROM sales.people", as: "mallory"))
        #expect(refused.code == .denied)
        #expect(refused.message.contains("default deny"))
    }

    @Test func writesAndDDLNeedTheirOwnPermissions() throws {
        let f = try GovernedFixture("governed-writes", policy: standardPolicy)
        _ = try f.rows("INSERT INTO sales.open VALUES (3, 'z')", as: "erin")
        #expect(try f.rows("SELECT count(*) FROM sales.open", as: "erin") == [[.integer(3)]])
        #expect(f.error("DELETE FROM sales.open", as: "erin")?.code == .denied)
        #expect(f.error("UPDATE sales.people SET name = 'x'", as: "erin")?.code == .denied)
        #expect(f.error("DROP TABLE sales.open", as: "erin")?.code == .denied)
        #expect(f.error("ALTER TABLE sales.open ADD COLUMN w TEXT", as: "erin")?.code == .denied)
        #expect(f.error("CREATE TABLE sales.mine (a INTEGER)", as: "erin")?.code == .denied)
        #expect(f.error("CREATE DATABASE mine", as: "erin")?.code == .denied)
        _ = try f.rows("CREATE TABLE scratch.mine (a INTEGER)", as: "erin")
        _ = try f.rows("DROP TABLE scratch.mine", as: "erin")
    }

    @Test func bulkAppendsAreGovernedLikeInserts() throws {
        let f = try GovernedFixture("governed-append", policy: standardPolicy)
        let erin = QueryContext(principal: Principal(.user, "erin"))
        let done = try f.lakehouse.append(into: TableName("sales", "open"), mode: .append, columns: nil, context: erin) { writer in
            try writer.write(RowBatch(rows: [[.integer(9), .text("n")]], lineNumbers: [1]))
        }
        #expect(done.rowsAppended == 1)
        #expect(throws: LakehouseError.self) {
            try f.lakehouse.append(into: TableName("sales", "people"), mode: .append, columns: nil, context: erin) { _ in }
        }
        #expect(throws: LakehouseError.self) {
            try f.lakehouse.append(into: TableName("sales", "new"), mode: .create([ColumnDefinition("a", "INTEGER")]), columns: nil, context: erin) { _ in }
        }
        // Overwriting also deletes: erin holds INSERT but not DELETE on sales.open.
        #expect(throws: LakehouseError.self) {
            try f.lakehouse.append(into: TableName("sales", "open"), mode: .overwrite, columns: nil, context: erin) { _ in }
        }
        #expect(try f.rows("SELECT count(*) FROM sales.open", as: f.admin) == [[.integer(3)]])
    }

    @Test func copiesHoldOnlyWhatTheCallerSees() throws {
        let f = try GovernedFixture("governed-ctas", policy: standardPolicy)
        _ = try f.rows("CREATE TABLE scratch.copy AS SELECT * FROM sales.people", as: "erin")
        let copied = try f.rows("SELECT id, email FROM scratch.copy ORDER BY id", as: f.admin)
        #expect(copied.map { $0[0] } == [.integer(1), .integer(3)])
        #expect(copied.allSatisfy { $0[1].string?.count == 64 })
        _ = try f.rows("CREATE TABLE scratch.ids (id INTEGER)", as: "erin")
        _ = try f.rows("INSERT INTO scratch.ids SELECT id FROM sales.people", as: "erin")
        #expect(try f.rows("SELECT count(*) FROM scratch.ids", as: f.admin) == [[.integer(2)]])
    }

    @Test func aPolicyChangeTakesEffectOnTheNextStatement() throws {
        let f = try GovernedFixture("governed-change", policy: standardPolicy)
        #expect(try f.rows("SELECT count(*) FROM sales.people", as: "erin") == [[.integer(2)]])
        try f.governance.apply(
            standardPolicy(f.admin).replacingAll("rows: \"region = 'EU'\"", with: "rows: \"region = 'US'\""), file: "v3", by: f.admin)
        #expect(try f.rows("SELECT id FROM sales.people ORDER BY id", as: "erin") == [[.integer(2)], [.integer(4)]])
        try f.governance.rollback(to: 2, by: f.admin)
        #expect(try f.rows("SELECT id FROM sales.people ORDER BY id", as: "erin") == [[.integer(1)], [.integer(3)]])
    }

    @Test func theCatalogShowsOnlyWhatTheUserMaySee() async throws {
        let f = try GovernedFixture("governed-catalog", policy: standardPolicy)
        let bus = Bus()
        try bus.register(LakehousePlugin(f.lakehouse, events: bus.publisher))
        let erin = Principal(.user, "erin"), mallory = Principal(.user, "mallory")
        let listing = try await bus.send(LakehouseCatalogList(database: "sales"), as: erin).json
        let names = listing["tables"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(Set(names) == ["sales.people", "sales.open"])
        let none = try await bus.send(LakehouseCatalogList(), as: mallory).json
        #expect(none["databases"]?.arrayValue?.isEmpty == true)
        let described = try await bus.send(LakehouseDescribe(name: "sales.people"), as: erin).json
        let columns = described["columns"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(columns == ["id", "name", "email", "region", "born"])  // no salary
        await #expect(throws: LakehouseError.self) { try await bus.send(LakehouseDescribe(name: "sales.people"), as: mallory) }
        let hits = try await bus.send(LakehouseSearch(text: "salary"), as: erin).json
        #expect(hits["hits"]?.arrayValue?.isEmpty == true)
        let adminHits = try await bus.send(LakehouseSearch(text: "salary"), as: Principal(.user, f.admin)).json
        #expect(adminHits["hits"]?.arrayValue?.isEmpty == false)
        // Tagging needs ASSIGN_TAG; maintenance needs ALTER.
        let tag = LakehouseAnnotate(name: "sales.people", setTags: ["classification": "pii"])
        await #expect(throws: LakehouseError.self) { try await bus.send(tag, as: erin) }
        _ = try await bus.send(tag, as: Principal(.user, f.admin))
        #expect(throws: LakehouseError.self) {
            try f.lakehouse.compact(TableName("sales", "open"), context: QueryContext(principal: erin))
        }
    }

    @Test func everyDecisionIsAudited() throws {
        let f = try GovernedFixture("governed-audit", policy: standardPolicy)
        _ = try f.rows("SELECT * FROM sales.people", as: "erin")
        _ = f.error("SELECT * FROM sales.people", as: "mallory")
        try f.governance.audit.flush()
        let records = try f.governance.audit.search(action: "SELECT", resource: "lakehouse.sales.people")
        let erin = try #require(records.first { $0.record.principal == "user:erin" })
        #expect(erin.record.allowed && erin.record.grants == ["eu-people"] && erin.record.querySHA256?.count == 64)
        #expect(records.contains { $0.record.principal == "user:mallory" && !$0.record.allowed })
        #expect(try f.governance.audit.verify().isIntact)
    }
}

/// Each probe leaks on the unprotected path (shown first, as a positive control: the admin's
/// unrestricted read, where SQLite is free to evaluate the probe on every row), then is refused or
/// returns only visible data on the governed path.
@Suite struct BypassTests {
    /// Predicates that raise an error exactly when they meet bob's row, which erin may not see.
    static let errorProbes = [
        "SELECT id FROM sales.people WHERE CASE WHEN name = 'bob' THEN abs(-9223372036854775807 - 1) ELSE 0 END = 0",
        "SELECT id FROM sales.people WHERE CASE WHEN name = 'bob' THEN json('x') ELSE 1 END",
        "SELECT id FROM sales.people WHERE name LIKE 'b%' ESCAPE CASE WHEN name = 'bob' THEN 'xy' ELSE 'x' END",
        "SELECT id FROM sales.people WHERE like('b%', name, CASE WHEN name = 'bob' THEN 'xy' ELSE 'x' END)",
        "SELECT id FROM sales.people WHERE length(CASE WHEN name = 'bob' THEN zeroblob(1000000000000) ELSE '' END) >= 0",
    ]

    @Test(arguments: errorProbes)
    func errorSideChannelsAreRefused(_ probe: String) throws {
        let f = try GovernedFixture("bypass-error", policy: standardPolicy)
        // Control: unprotected, the probe raises because of a row erin may not see (bob, US, salary 150000).
        #expect(f.error(probe, as: f.admin) != nil, "the probe should raise on the unprotected table")
        // Governed: refused before it runs, whatever the data.
        let error = try #require(f.error(probe, as: "erin"))
        #expect(error.code == .denied || error.message.contains("not authorized"), "\(error)")
    }

    @Test func likeBisectionOnAMaskedColumnSeesTheMask() throws {
        let f = try GovernedFixture("bypass-like", policy: standardPolicy)
        let probe = "SELECT count(*) FROM sales.people WHERE email LIKE 'alice%'"
        #expect(try f.rows(probe, as: f.admin) == [[.integer(1)]])  // control: the raw value answers
        #expect(try f.rows(probe, as: "erin") == [[.integer(0)]])  // governed: only the hash is there
    }

    @Test func aggregatesAndGroupingSeeOnlyVisibleRows() throws {
        let f = try GovernedFixture("bypass-aggregate", policy: standardPolicy)
        #expect(try f.rows("SELECT max(salary) FROM sales.people", as: f.admin) == [[.integer(150000)]])
        #expect(try f.rows("SELECT max(salary), count(*) FROM sales.people", as: "sam") == [[.integer(120000), .integer(3)]])
        #expect(try f.rows("SELECT region, count(*) FROM sales.people GROUP BY region ORDER BY region", as: "erin")
            == [[.text("EU"), .integer(2)]])
        // Recursive CTEs and window functions run over the visible rows only.
        #expect(try f.rows("WITH RECURSIVE r(n) AS (SELECT min(id) FROM sales.people UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT count(*) FROM r", as: "erin") == [[.integer(3)]])
        #expect(try f.rows("SELECT id, row_number() OVER (ORDER BY id) FROM sales.people", as: "erin").count == 2)
    }

    @Test func timeTravelReadsOldDataUnderTheCurrentPolicy() throws {
        let f = try GovernedFixture("bypass-asof", policy: standardPolicy)
        let before = try f.rows("SELECT count(*) FROM sales.people", as: f.admin)
        _ = try f.rows("DELETE FROM sales.people WHERE id = 3", as: f.admin)
        let snapshots = try f.lakehouse.snapshots(of: TableName("sales", "people"))
        let old = try #require(snapshots.map(\.id).sorted().dropLast().last)
        #expect(before == [[.integer(4)]])
        var rows: [[DatabaseValue]] = []
        _ = try f.lakehouse.execute(
            "SELECT id, email FROM sales.people ORDER BY id", context: QueryContext(principal: Principal(.user, "erin"), asOf: .snapshot(old)),
            sink: QuerySink { rows.append($0); return true })
        #expect(rows.map { $0[0] } == [.integer(1), .integer(3)])
        #expect(rows.allSatisfy { $0[1].string?.count == 64 })
    }
}
