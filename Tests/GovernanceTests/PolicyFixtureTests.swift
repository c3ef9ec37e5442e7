import Foundation
import Governance
import Testing
import CoreSupport
import YAML

/// Fixture-driven decision tests in the style of Ranger's policy-engine tests:
/// each file under Fixtures/ gives a policy, some tables, and requests with the
/// expected decision, the deciding grant ids, and for reads the visible columns,
/// row filters and masks.
@Suite struct PolicyFixtureTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static var fixtureNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") && !$0.hasPrefix("invalid-") }.sorted()
    }

    @Test func thereAreFixtures() {
        #expect(Self.fixtureNames.count >= 3)
    }

    @Test(arguments: fixtureNames)
    func fixture(_ name: String) throws {
        let text = try String(contentsOf: Self.directory.appendingPathComponent(name), encoding: .utf8)
        let root = try #require(try YAML.load(text).map(Self.plain) as? [String: Any], "\(name) is not a mapping")
        let policyText = try #require(root["policy"] as? String, "\(name) has no policy")
        let policy = try PolicyFile.parse(policyText, file: name)
        // The fixtures name their default catalog `main`.
        let engine = PolicyEngine(policy: policy, defaultCatalog: "main")
        let tables = try Self.tables(root["tables"] as? [String: Any] ?? [:])
        let cases = try #require(root["cases"] as? [[String: Any]], "\(name) has no cases")
        #expect(!cases.isEmpty)
        for (index, spec) in cases.enumerated() {
            let label = "\(name) case \(index + 1) (\(spec["name"] as? String ?? ""))"
            let user = try #require(spec["user"] as? String, "\(label): no user")
            let permission = DataPermission(rawValue: (spec["permission"] as? String) ?? "SELECT")
            let decision: Decision
            if let action = spec["action"] as? String {
                decision = engine.decide(user: user, action: action)
            } else if let databaseName = spec["database"] as? String {
                let parts = databaseName.split(separator: ".").map(String.init)
                let tags = (root["database_tags"] as? [String: [String: String]])?[databaseName] ?? [:]
                let database = DatabaseDescriptor(catalog: parts[0], name: parts[1], tags: tags)
                decision = engine.decide(user: user, permission: try #require(permission), database: database)
            } else {
                let tableName = try #require(spec["table"] as? String, "\(label): no table, database or action")
                let table = try #require(tables[tableName], "\(label): unknown table \(tableName)")
                if spec["describe"] as? Bool == true {
                    decision = engine.canDescribe(user: user, table: table)
                } else {
                    let plan = engine.accessPlan(user: user, table: table, permission: try #require(permission, "\(label)"))
                    decision = plan.decision
                    try Self.check(plan, against: spec, label: label)
                }
            }
            let allowed = try #require(spec["allowed"] as? Bool, "\(label): no 'allowed'")
            #expect(decision.allowed == allowed, "\(label): \(decision)")
            if let deciding = spec["deciding"] as? [String] {
                #expect(decision.decidingGrants == deciding, "\(label): \(decision)")
            }
        }
    }

    /// One engine keeps what each tag expression covers per table: a table whose tags change (same id, new
    /// descriptor) is judged by its new tags, in both directions, and the first answer comes back unchanged.
    @Test func aRetaggedTableIsJudgedByItsNewTags() throws {
        let policy = try PolicyFile.parse(
            """
            version: 1
            tags:
              classification: [public, pii]
            grants:
              - {id: open, to: "user:ana", permissions: [SELECT], on: {tags: {classification: [public]}}}
              - {id: no-pii, effect: deny, to: "user:ana", permissions: [SELECT], on: {tags: {classification: [pii]}}}
            """, file: "retag")
        let engine = PolicyEngine(policy: policy, defaultCatalog: "main")
        func table(_ emailTag: String) -> TableDescriptor {
            TableDescriptor(
                id: "7", database: DatabaseDescriptor(catalog: "main", name: "sales", tags: ["classification": "public"]), name: "orders",
                columns: [ColumnDescriptor(id: "1", name: "id"), ColumnDescriptor(id: "2", name: "email", tags: ["classification": emailTag])])
        }
        let before = engine.accessPlan(user: "ana", table: table("public"))
        #expect(before.visibleColumns.map(\.name) == ["id", "email"])
        let retagged = engine.accessPlan(user: "ana", table: table("pii"))
        #expect(retagged.visibleColumns.map(\.name) == ["id"])
        #expect(retagged.decision.decidingGrants == ["open", "no-pii"])
        #expect(engine.accessPlan(user: "ana", table: table("public")) == before)
        #expect(engine.accessPlan(user: "ana", table: table("pii")) == retagged)
    }

    /// The fixture as plain Swift values, for `as?` casts.
    static func plain(_ value: JSON) -> Any {
        switch value {
        case .null: return Optional<Any>.none as Any
        case .bool(let b): return b
        case .int(let i): return i
        case .bigInt(let s): return s
        case .double(let d): return d
        case .string(let s): return s
        case .array(let items): return items.map(plain)
        case .object(let object): return Dictionary(object.map { ($0.0, plain($0.1)) }, uniquingKeysWith: { _, last in last })
        }
    }

    static func check(_ plan: AccessPlan, against spec: [String: Any], label: String) throws {
        if let columns = spec["columns"] as? [String] {
            #expect(plan.visibleColumns.map(\.name) == columns, "\(label)")
        }
        if let problems = spec["problems"] as? Int {
            #expect(plan.problems.count == problems, "\(label): \(plan.problems)")
        }
        if let deniedRows = spec["denied_rows"] as? [String] {
            #expect(plan.deniedRows.map(\.rows.description) == deniedRows, "\(label)")
        }
        guard let branches = spec["branches"] as? [String: Any] else { return }
        #expect(Set(plan.branches.map(\.grantID)) == Set(branches.keys), "\(label): \(plan.branches.map(\.grantID))")
        for branch in plan.branches {
            guard let expected = branches[branch.grantID] as? [String: Any] else { continue }
            let rows = expected["rows"] as? String
            #expect(branch.rows?.description == rows, "\(label): rows of \(branch.grantID)")
            let masks = expected["masks"] as? [String: String] ?? [:]
            var actual: [String: String] = [:]
            for column in plan.table.columns {
                if case .some(.some(let mask)) = branch.columns[column.id] { actual[column.name] = mask.description }
            }
            #expect(actual == masks, "\(label): masks of \(branch.grantID)")
            if let columns = expected["columns"] as? [String] {
                let names = plan.table.columns.filter { branch.columns[$0.id] != nil }.map(\.name)
                #expect(names == columns, "\(label): columns of \(branch.grantID)")
            }
        }
    }

    /// `catalog.db.table: {database_tags, tags, columns: {name: {tags}}}` → descriptors; column ids are `table#name`.
    static func tables(_ specs: [String: Any]) throws -> [String: TableDescriptor] {
        var result: [String: TableDescriptor] = [:]
        for (name, value) in specs {
            let spec = value as? [String: Any] ?? [:]
            let parts = name.split(separator: ".").map(String.init)
            try #require(parts.count == 3, "table names in fixtures are catalog.db.table: \(name)")
            var columns: [ColumnDescriptor] = []
            // Columns keep file order: the fixture is read into unordered dictionaries, so columns are a list.
            for entry in spec["columns"] as? [Any] ?? [] {
                if let column = entry as? String {
                    columns.append(ColumnDescriptor(id: "\(name)#\(column)", name: column))
                } else if let mapping = entry as? [String: Any], let (column, tags) = mapping.first {
                    columns.append(ColumnDescriptor(id: "\(name)#\(column)", name: column, tags: tags as? [String: String] ?? [:]))
                }
            }
            let database = DatabaseDescriptor(
                catalog: parts[0], name: parts[1], tags: spec["database_tags"] as? [String: String] ?? [:])
            result[name] = TableDescriptor(
                id: name, database: database, name: parts[2], tags: spec["tags"] as? [String: String] ?? [:], columns: columns)
        }
        return result
    }
}
