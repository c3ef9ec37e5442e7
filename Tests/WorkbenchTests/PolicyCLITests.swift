import CoreSupport
import Foundation
import TestSupport
import Testing

/// `wb policy` and `wb audit` end to end, on a domain of the test's own.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct PolicyCLITests {
    let home = WB.scratch("policy-cli")
    var me: String { Environment.userName }

    func wb(_ args: [String]) throws -> Command.Result {
        try WB.run(args + ["--home", home])
    }

    @Test(arguments: [
        ["policy", "--help"], ["policy", "validate", "--help"], ["policy", "plan", "--help"], ["policy", "apply", "--help"],
        ["policy", "rollback", "--help"], ["policy", "versions", "--help"], ["policy", "export", "--help"], ["policy", "check", "--help"], ["policy", "explain", "--help"], ["grant", "--help"], ["revoke", "--help"], ["role", "--help"], ["filter", "--help"], ["mask", "--help"], ["tag", "--help"], ["tag", "define", "--help"], ["tag", "list", "--help"], ["tag", "remove", "--help"],
        ["audit", "search", "--help"], ["audit", "verify", "--help"],
    ])
    func everyCommandHasHelp(_ args: [String]) throws {
        let result = try WB.run(args)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE:"))
    }

    @Test func theShippedExampleValidates() throws {
        // Without a domain (a fresh --home) the file alone is checked: its tables are not this machine's.
        let nowhere = FilePath.join(home, "no-domain")
        let result = try WB.run(["policy", "validate", FilePath.join(WB.root, "Docs/examples/policies.yaml"), "--json", "--home", nowhere])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"valid\": true"))
    }

    @Test func anInvalidFileSaysWhereAndChangesNothing() throws {
        let bad = FilePath.join(home, "bad.yaml")
        try AtomicFile.write("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: [SELECT]\n    on: {table: s.t}\n    rows: \"x = \"\n", to: bad)
        let validate = try WB.run(["policy", "validate", bad])
        #expect(validate.status == 20)
        #expect(validate.stderr.contains("\(bad):7:16: grant 'a': row filter: expected a column or a value"), "\(validate.stderr)")
        let apply = try wb(["policy", "apply", bad])
        #expect(apply.status == 20)
        let versions = try wb(["policy", "versions", "--json"])
        #expect(versions.status == 0)
        let list = try JSON.parse(versions.stdout)
        guard case .array(let items) = list else { Issue.record("not a list: \(versions.stdout)"); return }
        #expect(items.count == 1)  // only the initial policy
        let missing = try WB.run(["policy", "validate", FilePath.join(home, "nope.yaml")])
        #expect(missing.status == 66)
    }

    @Test func planApplyCheckRollbackAndAudit() throws {
        let file = FilePath.join(home, "p.yaml")
        try AtomicFile.write(
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(me)", permissions: ["governance:*"]}
              - {id: importers, to: "user:ivan", permissions: ["lakehouse:import"]}
            """, to: file)
        let plan = try wb(["policy", "plan", file])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("+ grant admin") && plan.stdout.contains("+ grant importers") && plan.stdout.contains("- grant domain-admin"))

        let apply = try wb(["policy", "apply", file, "--comment", "first real policy"])
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stdout.contains("policy version 2"))
        #expect(try wb(["policy", "apply", file]).stdout.contains("Unchanged"))

        let allowed = try wb(["policy", "check", "--as", "ivan", "lakehouse:import", "--json"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("\"importers\""))
        let denied = try wb(["policy", "check", "--as", "ivan", "lakehouse:export"])
        #expect(denied.status == 21)
        #expect(denied.stdout.contains("DENY"))

        let exported = try wb(["policy", "export", "--version", "2"])
        #expect(exported.stdout.contains("id: importers"))

        let rollback = try wb(["policy", "rollback", "1"])
        #expect(rollback.status == 0, "\(rollback.stderr)")
        #expect(try wb(["policy", "export"]).stdout.contains("id: domain-admin"))

        let search = try wb(["audit", "search", "--principal", "user:ivan", "--json"])
        let lines = search.stdout.split(separator: "\n")
        #expect(lines.count == 2, "\(search.stdout)")
        #expect(lines.last?.contains("\"decision\":\"deny\"") == true)
        let verify = try wb(["audit", "verify"])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stdout.contains("intact"))
    }

    @Test func aNonAdminCannotApplyAndABrokenChainIsReported() throws {
        let file = FilePath.join(home, "lockout.yaml")
        // An admin gives governance away: afterwards the current user may no longer change the policy.
        try AtomicFile.write(
            """
            version: 1
            grants:
              - {id: someone-else, to: "user:not-\(me)", permissions: ["governance:admin"]}
            """, to: file)
        #expect(try wb(["policy", "apply", file]).status == 0)
        let again = try wb(["policy", "rollback", "1"])
        #expect(again.status == 21)
        #expect(again.stderr.contains("may not change the policy"))

        // Cut the head file's record count: verify sees the chain and the head disagree.
        let head = FilePath.join(home, "audit.head")
        try AtomicFile.write("{\"seq\": 999, \"hash\": \"00\"}\n", to: head)
        let verify = try wb(["audit", "verify", "--json"])
        #expect(verify.status == 22)
        #expect(verify.stdout.contains("\"intact\": false"))
    }

    @Test func explainAndSqlAsShowWhatAnotherUserGets() throws {
        let setup = try wb([
            "sql",
            "CREATE DATABASE sales; CREATE TABLE sales.people (id INTEGER, name TEXT, email TEXT, salary INTEGER, region TEXT); "
                + "INSERT INTO sales.people VALUES (1, 'alice', 'a@x.com', 90000, 'EU'), (2, 'bob', 'b@x.com', 150000, 'US')",
        ])
        #expect(setup.status == 0, "\(setup.stderr)")
        let file = FilePath.join(home, "people.yaml")
        try AtomicFile.write(
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(me)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              - id: eu-people
                to: user:erin
                permissions: [SELECT]
                on: {table: sales.people}
                columns: {exclude: [salary]}
                rows: "region = 'EU'"
                masks: {email: hash}
              - {id: erin-query, to: "user:erin", permissions: ["lakehouse:query"]}
            """, to: file)
        #expect(try wb(["policy", "apply", file]).status == 0)

        let explain = try wb(["policy", "explain", "--as", "erin", "sales.people", "--json", "--sql"])
        #expect(explain.status == 0, "\(explain.stderr)")
        let plan = try JSON.parse(explain.stdout)
        #expect(plan["allowed"] == .bool(true) && plan["restricted"] == .bool(true))
        #expect(plan["hidden_columns"] == .array([.string("salary")]))
        #expect(plan["sql"]?.stringValue?.contains("wb_mask_hash(\"email\")") == true)
        let denied = try wb(["policy", "explain", "--as", "mallory", "sales.people"])
        #expect(denied.status == 21)
        #expect(denied.stdout.contains("DENY"))

        // A whole statement: each table it names, with the permission it needs there.
        #expect(try wb(["sql", "CREATE DATABASE scratch; CREATE TABLE scratch.ids (id INTEGER)"]).status == 0)
        let query = try wb([
            "policy", "explain", "--as", "erin", "--json",
            "INSERT INTO scratch.ids SELECT p.id FROM sales.people AS p JOIN sales.people q ON p.id = q.id WHERE p.region = 'EU'",
        ])
        #expect(query.status == 21, "\(query.stderr)")  // erin may read sales.people but not write scratch.ids
        let report = try JSON.parse(query.stdout)
        let tables = report["tables"]?.arrayValue ?? []
        #expect(tables.map { $0["table"]?.stringValue ?? "" } == ["lakehouse.scratch.ids", "lakehouse.sales.people"], "\(query.stdout)")
        #expect(tables.map { $0["permission"]?.stringValue ?? "" } == ["INSERT", "SELECT"])
        #expect(tables.map { $0["allowed"] } == [.bool(false), .bool(true)])
        #expect(tables.last?["hidden_columns"] == .array([.string("salary")]))
        let read = try wb(["policy", "explain", "--as", "erin", "SELECT name FROM sales.people WHERE id = 1"])
        #expect(read.status == 0, "\(read.stderr)")
        #expect(read.stdout.contains("SELECT on lakehouse.sales.people: ALLOW, filtered"), "\(read.stdout)")
        #expect(try wb(["policy", "explain", "SELECT 1"]).status == 1)

        let rows = try wb(["sql", "--as", "erin", "SELECT id, email FROM sales.people", "--json"])
        #expect(rows.status == 0, "\(rows.stderr)")
        #expect(rows.stdout.contains("\"alice\"") == false && rows.stdout.contains("a@x.com") == false)
        let hidden = try wb(["sql", "--as", "erin", "SELECT salary FROM sales.people"])
        #expect(hidden.status == 1)
        #expect(hidden.stderr.contains("no such column: salary"))
        let refused = try wb(["sql", "--as", "mallory", "SELECT 1"])
        #expect(refused.status == 21)

        // Only holders of governance:impersonate may run as someone else; erin may not run as the admin.
        try AtomicFile.write(
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(me)", permissions: [ALL, "lakehouse:*", "governance:admin"], on: {catalog: "*"}}
            """, to: file)
        #expect(try wb(["policy", "apply", file]).status == 0)
        let impersonate = try wb(["sql", "--as", "erin", "SELECT 1"])
        #expect(impersonate.status == 21)
        #expect(impersonate.stderr.contains("may not run as erin"))
        let search = try wb(["audit", "search", "--action", "governance:impersonate", "--decision", "deny", "--json"])
        #expect(search.stdout.split(separator: "\n").count == 1)
    }

    /// Grants follow column ids: after a rename, export, plan and explain show the current name;
    /// after a drop, validate and plan name the grant and the column.
    @Test func renamedAndDroppedColumnsShowUnderTheirCurrentNames() throws {
        #expect(try wb(["sql", "CREATE DATABASE r; CREATE TABLE r.t (id INTEGER, region TEXT, email TEXT); INSERT INTO r.t VALUES (1, 'EU', 'a@x'), (2, 'US', 'b@x')"]).status == 0)
        let file = FilePath.join(home, "rename.yaml")
        try AtomicFile.write(
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(me)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              # EU staff see EU rows, e-mails hashed.
              - {id: eu, to: user:erin, permissions: [SELECT], on: {table: r.t}, rows: "region = 'EU'", masks: {email: hash}}
            """, to: file)
        #expect(try wb(["policy", "apply", file]).status == 0)
        #expect(try wb(["policy", "export"]).stdout.contains("# EU staff"))  // no rename yet: the text as applied
        #expect(try wb(["sql", "ALTER TABLE r.t RENAME COLUMN region TO area"]).status == 0)

        let export = try wb(["policy", "export"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.contains("rows: \"area = 'EU'\""), "\(export.stdout)")
        #expect(export.stderr.contains("current names"))
        let plan = try wb(["policy", "plan", file])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("No changes"), "\(plan.stdout)")
        #expect(plan.stdout.contains("grant 'eu': column 'region' of lakehouse.r.t is now named 'area'; the grant follows it"), "\(plan.stdout)")
        let explain = try wb(["policy", "explain", "--as", "erin", "r.t", "--json"])
        #expect(explain.status == 0, "\(explain.stderr)")
        let report = try JSON.parse(explain.stdout)
        #expect(report["branches"]?.arrayValue?.first?["rows"] == .string("area = 'EU'"), "\(explain.stdout)")
        #expect(try wb(["sql", "--as", "erin", "SELECT id FROM r.t", "--format", "csv"]).status == 21)  // erin has no lakehouse:query

        #expect(try wb(["sql", "ALTER TABLE r.t DROP COLUMN email"]).status == 0)
        let validate = try wb(["policy", "validate", file, "--json"])
        #expect(validate.status == 0, "\(validate.stderr)")
        let checked = try JSON.parse(validate.stdout)
        #expect(checked["warnings"]?.arrayValue?.contains(.string("grant 'eu': column 'email' of lakehouse.r.t was dropped; what the grant says about it is inert")) == true, "\(validate.stdout)")
        #expect(try wb(["policy", "plan", file]).stdout.contains("! grant 'eu': column 'email' of lakehouse.r.t was dropped"))
        // A column the table never had is refused, with file and line.
        try AtomicFile.write(try FileIO.readText(file).replacingOccurrences(of: "masks: {email: hash}", with: "masks: {emial: hash}"), to: file)
        let typo = try wb(["policy", "validate", file])
        #expect(typo.status == 20)
        #expect(typo.stderr.contains("\(file):5:5: grant 'eu' names column 'emial', which lakehouse.r.t does not have"), "\(typo.stderr)")
    }

    /// Without governance:admin, `wb grant` passes on only what the user holds with grant option, and
    /// `wb revoke` takes back only what they granted; a refusal exits 21 with the reason.
    @Test func aHolderOfTheGrantOptionGrantsAndRevokes() throws {
        #expect(try wb(["sql", "CREATE DATABASE s; CREATE TABLE s.t (id INTEGER)"]).status == 0)
        let file = FilePath.join(home, "delegate.yaml")
        try AtomicFile.write(
            """
            version: 1
            grants:
              - {id: mine, to: "user:\(me)", permissions: [SELECT], on: {database: s}, grant_option: true}
              - {id: reader, to: "user:\(me)", permissions: [INSERT], on: {database: s}}
            """, to: file)
        #expect(try wb(["policy", "apply", file]).status == 0)  // from now on, this user is no admin
        let passed = try wb(["grant", "SELECT", "--to", "user:bob", "--on", "table:s.t", "--id", "bob-t", "--grant-option", "--json"])
        #expect(passed.status == 0, "\(passed.stderr)")
        #expect(try JSON.parse(passed.stdout)["created"] == .bool(true))
        #expect(try wb(["policy", "export"]).stdout.contains("granted_by: \"user:\(me)\""))
        let noOption = try wb(["grant", "INSERT", "--to", "user:bob", "--on", "table:s.t", "--id", "bob-insert"])
        #expect(noOption.status == 21)
        #expect(noOption.stderr.contains("may not grant 'bob-insert': \(me) holds INSERT on table s.t without grant option (grants: reader)"), "\(noOption.stderr)")
        let wider = try wb(["grant", "SELECT", "--to", "user:bob", "--on", "catalog:lakehouse", "--id", "bob-all"])
        #expect(wider.status == 21)
        #expect(wider.stderr.contains("does not hold SELECT on catalog lakehouse"), "\(wider.stderr)")
        let notMine = try wb(["revoke", "reader"])
        #expect(notMine.status == 21)
        #expect(notMine.stderr.contains("may revoke only grants they made"))
        #expect(try wb(["revoke", "bob-t"]).status == 0)
        #expect(try wb(["role", "create", "x"]).status == 21)  // everything else still needs governance:admin
        let versions = try JSON.parse(try wb(["policy", "versions", "--json"]).stdout)
        #expect(versions.arrayValue?.count == 4)  // initial, the file, grant, revoke
        let audit = try wb(["audit", "search", "--action", "policy:grant", "--json"])
        let decisions = audit.stdout.split(separator: "\n").compactMap { try? JSON.parse(String($0))["decision"]?.stringValue }
        #expect(decisions == ["allow", "deny", "deny"], "\(audit.stdout)")
    }

    /// `wb tag` keeps the policy's tag ontology; `wb catalog tag` assigns only its values, and assigning is a permission.
    @Test func tagKeepsTheOntologyAndAssigningNeedsItsPermission() throws {
        #expect(try wb(["sql", "CREATE DATABASE t; CREATE TABLE t.x (id INTEGER, email TEXT); CREATE DATABASE u; CREATE TABLE u.y (id INTEGER)"]).status == 0)
        #expect(try wb(["tag", "list"]).stdout.contains("defines no tags"))
        #expect(try wb(["tag", "define", "classification", "public", "pii"]).status == 0)
        #expect(try wb(["tag", "define", "classification", "internal", "public"]).status == 0)  // adds internal only
        #expect(try wb(["tag", "define", "bad key", "x"]).status == 64)
        #expect(try wb(["grant", "SELECT", "--deny", "--to", "user:erin", "--on", "tags:classification=pii", "--id", "no-pii"]).status == 0)
        let inUse = try wb(["tag", "remove", "classification", "pii"])
        #expect(inUse.status == 20)
        #expect(inUse.stderr.contains("tag classification=pii is used by grant no-pii"), "\(inUse.stderr)")
        #expect(try wb(["tag", "remove", "classification", "internal"]).status == 0)
        #expect(try wb(["tag", "remove", "nope"]).status == 20)
        let list = try JSON.parse(try wb(["tag", "list", "--json"]).stdout)
        let tag = list["tags"]?.arrayValue?.first
        #expect(tag?["key"] == .string("classification") && tag?["values"] == .array([.string("public"), .string("pii")]))
        #expect(tag?["grants"] == .array([.string("no-pii")]))
        #expect(try wb(["tag", "list"]).stdout.contains("classification: public, pii  (grants: no-pii)"))

        // Assignment uses the ontology's values for its keys; other keys are free.
        let wrong = try wb(["catalog", "tag", "t.x.email", "classification=PII"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("'PII' is not a value of tag 'classification' (the policy allows: public, pii"), "\(wrong.stderr)")
        #expect(try wb(["catalog", "tag", "t.x.email", "classification=pii", "owner=sales"]).status == 0)
        #expect(try wb(["catalog", "describe", "t.x.email", "--json"]).stdout.contains("\"pii\""))

        // Assigning tags is itself a permission (ASSIGN_TAG on the object), and the ontology is the admin's.
        let file = FilePath.join(home, "tags.yaml")
        try AtomicFile.write(
            """
            version: 1
            tags: {classification: [public, pii]}
            grants:
              - {id: read, to: "user:\(me)", permissions: [SELECT, "lakehouse:*"], on: {catalog: "*"}}
              - {id: tag-u, to: "user:\(me)", permissions: [ASSIGN_TAG], on: {database: u}}
            """, to: file)
        #expect(try wb(["policy", "apply", file]).status == 0)
        #expect(try wb(["catalog", "tag", "u.y", "classification=public"]).status == 0)
        let refused = try wb(["catalog", "tag", "t.x", "classification=public"])
        #expect(refused.status == 21)
        #expect(refused.stderr.contains("ASSIGN_TAG"), "\(refused.stderr)")
        #expect(try wb(["tag", "define", "domain", "sales"]).status == 21)
    }

    /// `wb policy check --as P ACTION RESOURCE` decides on a table, database or catalog: a data permission, or
    /// a lakehouse action together with what that action needs there.
    @Test func checkDecidesOnAResource() throws {
        #expect(try wb(["sql", "CREATE DATABASE c; CREATE TABLE c.t (id INTEGER, region TEXT); INSERT INTO c.t VALUES (1, 'EU'), (2, 'US')"]).status == 0)
        let file = FilePath.join(home, "check.yaml")
        try AtomicFile.write(
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(me)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              - {id: ivan-import, to: user:ivan, permissions: ["lakehouse:import"]}
              - {id: ivan-insert, to: user:ivan, permissions: [INSERT], on: {table: c.t}}
              - {id: carol-import, to: user:carol, permissions: ["lakehouse:import"]}
              - {id: carol-create, to: user:carol, permissions: [CREATE_TABLE], on: {database: c}}
              - {id: erin-export, to: user:erin, permissions: ["lakehouse:export", "lakehouse:catalog-read"]}
              - {id: erin-eu, to: user:erin, permissions: [SELECT], on: {table: c.t}, rows: "region = 'EU'"}
            """, to: file)
        #expect(try wb(["policy", "apply", file]).status == 0)

        let ivan = try wb(["policy", "check", "--as", "ivan", "lakehouse:import", "c.t", "--json"])
        #expect(ivan.status == 0, "\(ivan.stderr)")
        let decided = try JSON.parse(ivan.stdout)
        #expect(decided["allowed"] == .bool(true) && decided["grants"] == .array([.string("ivan-import"), .string("ivan-insert")]))
        #expect(decided["decisions"]?.arrayValue?.map { $0["permission"] } == [.string("lakehouse:import"), .string("INSERT")])
        #expect(try wb(["policy", "check", "--as", "ivan", "lakehouse:import", "c.new"]).status == 21)  // creating needs CREATE_TABLE
        #expect(try wb(["policy", "check", "--as", "carol", "lakehouse:import", "c.new"]).status == 0)
        let carol = try wb(["policy", "check", "--as", "carol", "lakehouse:import", "table:c.t"])
        #expect(carol.status == 21)
        #expect(carol.stdout.contains("ALLOW: carol is granted lakehouse:import") && carol.stdout.contains("DENY: no grant gives carol INSERT on lakehouse.c.t"), "\(carol.stdout)")

        let select = try JSON.parse(try wb(["policy", "check", "--as", "erin", "SELECT", "lakehouse.c.t", "--json"]).stdout)
        #expect(select["allowed"] == .bool(true) && select["decisions"]?.arrayValue?.first?["filtered"] == .bool(true), "\(select)")
        #expect(try wb(["policy", "check", "--as", "erin", "lakehouse:export", "c.t"]).stdout.contains("ALLOW, filtered"))
        #expect(try wb(["policy", "check", "--as", "erin", "DELETE", "c.t"]).status == 21)
        #expect(try wb(["policy", "check", "--as", "erin", "CREATE_TABLE", "database:c"]).status == 21)
        #expect(try wb(["policy", "check", "--as", "erin", "lakehouse:catalog-read", "c"]).status == 0)  // sees a table of c
        #expect(try wb(["policy", "check", "--as", "ivan", "lakehouse:catalog-read", "c"]).status == 21)  // no catalog-read
        #expect(try wb(["policy", "check", "CREATE_DATABASE", "catalog:lakehouse"]).status == 0)
        #expect(try wb(["policy", "check", "--as", "ivan", "lakehouse:import"]).status == 0)

        #expect(try wb(["policy", "check", "--as", "erin", "SELECT"]).status == 64)  // a data permission needs a resource
        #expect(try wb(["policy", "check", "--as", "erin", "experiments:write", "c.t"]).status == 64)
        #expect(try wb(["policy", "check", "--as", "erin", "SELECT", "c.nope"]).status == 1)
        #expect(try wb(["policy", "check", "--as", "erin", "SELECT", "nodb.t"]).status == 1)
        let audit = try wb(["audit", "search", "--principal", "user:carol", "--action", "INSERT", "--json"])
        #expect(audit.stdout.contains("\"deny\""), "\(audit.stdout)")
    }

    @Test func imperativeCommandsMakeNewVersions() throws {
        #expect(try wb(["sql", "CREATE DATABASE s; CREATE TABLE s.t (id INTEGER, region TEXT, email TEXT); INSERT INTO s.t VALUES (1, 'EU', 'a@x'), (2, 'US', 'b@x')"]).status == 0)
        let grant = try wb(["grant", "SELECT", "--to", "user:erin", "--on", "table:s.t", "--rows", "region = 'EU'", "--mask", "email=hash", "--id", "eu"])
        #expect(grant.status == 0, "\(grant.stderr)")
        #expect(try wb(["grant", "lakehouse:query", "--to", "user:erin", "--id", "q"]).status == 0)
        #expect(try wb(["sql", "--as", "erin", "SELECT id FROM s.t"]).stdout.contains("1 row"))
        #expect(try wb(["filter", "eu", "region = 'US'"]).status == 0)
        #expect(try wb(["mask", "eu", "email", "--clear"]).status == 0)
        let rows = try wb(["sql", "--as", "erin", "SELECT id, email FROM s.t", "--format", "csv"])
        #expect(rows.stdout.replacingOccurrences(of: "\r\n", with: "\n") == "id,email\n2,b@x\n", "\(rows.stdout) \(rows.stderr)")
        #expect(try wb(["role", "create", "analyst"]).status == 0)
        #expect(try wb(["role", "add", "analyst", "group:nobody"]).status == 20)  // unknown group: refused, nothing applied
        #expect(try wb(["grant", "SELECT", "--to", "user:erin", "--on", "table:s.t", "--id", "eu"]).status == 20)  // duplicate id
        #expect(try wb(["filter", "eu", "region = "]).status == 64)
        #expect(try wb(["revoke", "q"]).status == 0)
        #expect(try wb(["sql", "--as", "erin", "SELECT 1"]).status == 21)
        #expect(try wb(["revoke", "no-such-grant"]).status == 20)
        let versions = try JSON.parse(try wb(["policy", "versions", "--json"]).stdout)
        guard case .array(let all) = versions else { Issue.record("versions: \(versions)"); return }
        #expect(all.count == 7)  // initial, eu, q, filter, mask, role, revoke
    }

    /// `wb revoke` refuses (exit 21) to leave a grant passed on with the grant option it takes away, naming it;
    /// `--cascade` revokes it too; `--grant-option` takes away only the option.
    @Test func revokeRestrictsOrCascades() throws {
        #expect(try wb(["sql", "CREATE DATABASE s; CREATE TABLE s.t (id INTEGER)"]).status == 0)
        let file = FilePath.join(home, "cascade.yaml")
        try AtomicFile.write(
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(me)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              - {id: alice-t, to: user:alice, permissions: [SELECT], on: {table: s.t}, grant_option: true}
              - {id: bob-t, to: user:bob, permissions: [SELECT], on: {table: s.t}, granted_by: "user:alice"}
              - {id: carl-t, to: user:carl, permissions: [SELECT], on: {table: s.t}, grant_option: true}
            """, to: file)
        #expect(try wb(["policy", "apply", file]).status == 0)
        let restricted = try wb(["revoke", "alice-t"])
        #expect(restricted.status == 21)
        #expect(restricted.stderr.contains("depend on it: 'bob-t' (granted by user:alice)") && restricted.stderr.contains("--cascade"), "\(restricted.stderr)")
        #expect(try wb(["revoke", "alice-t", "--grant-option"]).status == 21)
        #expect(try wb(["revoke", "carl-t", "--grant-option"]).status == 0)  // nothing depends on carl's option
        let cascaded = try wb(["revoke", "alice-t", "--cascade", "--json"])
        #expect(cascaded.status == 0, "\(cascaded.stderr)")
        #expect(try JSON.parse(cascaded.stdout)["comment"] == .string("revoke alice-t, cascading to bob-t"), "\(cascaded.stdout)")
        // The policy without its header comment (which names what was revoked).
        let export = try wb(["policy", "export"]).stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        #expect(!export.contains("alice-t") && !export.contains("bob-t") && export.contains("carl-t"), "\(export)")
    }

    /// `wb role remove` (and `wb filter`, `wb mask`, a deny by `wb grant`) that takes away a grant option a
    /// passed-on grant stands on is refused (exit 21) naming it, as `wb revoke` is; `--cascade` revokes it too.
    @Test func roleChangesRestrictOrCascade() throws {
        #expect(try wb(["sql", "CREATE DATABASE s; CREATE TABLE s.t (id INTEGER, region TEXT)"]).status == 0)
        let file = FilePath.join(home, "role-cascade.yaml")
        try AtomicFile.write(
            """
            version: 1
            roles:
              owners: {members: ["user:alice"]}
            grants:
              - {id: admin, to: "user:\(me)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              - {id: owners-t, to: role:owners, permissions: [SELECT], on: {table: s.t}, grant_option: true}
              - {id: bob-t, to: user:bob, permissions: [SELECT], on: {table: s.t}, granted_by: "user:alice"}
            """, to: file)
        #expect(try wb(["policy", "apply", file]).status == 0)
        let versions = try wb(["policy", "versions", "--json"]).stdout
        let removed = try wb(["role", "remove", "owners", "user:alice"])
        #expect(removed.status == 21, "\(removed.stdout)\(removed.stderr)")
        #expect(removed.stderr.contains("depend on it: 'bob-t' (granted by user:alice)") && removed.stderr.contains("--cascade"), "\(removed.stderr)")
        let filtered = try wb(["filter", "owners-t", "region = 'EU'"])
        #expect(filtered.status == 21 && filtered.stderr.contains("'bob-t'"), "\(filtered.stderr)")
        let denied = try wb(["grant", "SELECT", "--deny", "--to", "user:alice", "--on", "table:s.t"])
        #expect(denied.status == 21 && denied.stderr.contains("'bob-t'"), "\(denied.stderr)")
        #expect(try wb(["policy", "versions", "--json"]).stdout == versions)
        let cascaded = try wb(["role", "remove", "owners", "user:alice", "--cascade", "--json"])
        #expect(cascaded.status == 0, "\(cascaded.stderr)")
        #expect(try JSON.parse(cascaded.stdout)["comment"] == .string("role remove owners, cascading to bob-t"), "\(cascaded.stdout)")
        let export = try wb(["policy", "export"]).stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        #expect(!export.contains("bob-t") && export.contains("owners-t"), "\(export)")
    }
}
