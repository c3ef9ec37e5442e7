import Catalog
import CoreSupport
import Foundation
import Governance
import Lakehouse
import Storage
import TestSupport
import Testing

/// The differential leak test on the real query path.
///
/// For random tables and policies (fixed seed), user `u` runs random queries — selects with
/// predicates, joins, subqueries, CTEs, aggregates, UNION, window functions, ORDER BY with
/// LIMIT — through the governed lakehouse. The policies name `u`, groups and roles `u` holds
/// (directly, through a group, or through an inherited role) and ones `u` does not, and grant
/// on the table by name or on its columns' tags (TBAC). The oracle works out from the policy's
/// lists who `u` is and which grants reach it, materializes what `u` may see, computed naively
/// from those grants (SecureViewTests' `Scenario.oracle`, which shares no code with the policy
/// engine or the compiler), into a plain table, and runs the same query on it ungoverned.
/// Every result must be the same. A deliberately broken compiler run through the same path is
/// caught by the same comparison.
@Suite(.serialized) struct GovernedDifferentialTests {
    static let tables = Int(ProcessInfo.processInfo.environment["WB_LEAK_TABLES"] ?? "") ?? 75

    /// What one run of the differential test saw.
    struct Tally {
        var queries = 0
        var withRows = 0
        /// Queries returning rows while a row filter or mask was active.
        var restrictedWithRows = 0
        /// Of those, the ones where a grant reached `u` only through a group or role.
        var indirectWithRows = 0
        /// Of those, the ones where a tag-based grant reached `u`.
        var taggedWithRows = 0
        var mismatches = 0
        /// The cases (tables) with at least one mismatch.
        var mismatchedCases: Set<Int> = []
    }

    /// Runs `cases` random cases through a governed lakehouse whose engine compiles access plans with `compiler`.
    ///
    /// - Parameter record: record each mismatch as a test issue (the real compiler), or only count them (a broken one).
    static func differential(_ name: String, seed: UInt64, cases: Int, compiler: SecureView.Compiler, record: Bool) throws -> Tally {
        let domain = try Domain.open(at: try Scratch.directory(name))
        let governance = try GovernanceService(domain: domain)
        let lakehouse = try Lakehouse(domain: domain, governance: governance) { catalog, governance in
            SQLiteEngine(catalog: catalog, governance: governance, compiler: compiler)
        }
        let admin = QueryContext(principal: Principal(.user, domain.info.createdBy))
        let user = QueryContext(principal: Principal(.user, "u"))
        _ = try lakehouse.execute("CREATE DATABASE d", context: admin)
        var random = Random(seed: seed)
        var tally = Tally()

        func run(_ sql: String, _ context: QueryContext) -> Result<[[String]], LakehouseError> {
            var rows: [[String]] = []
            do {
                _ = try lakehouse.execute(sql, context: context, sink: QuerySink { values in
                    rows.append(values.map { "\($0)" })
                    return true
                })
                return .success(rows.sorted { $0.joined(separator: "\u{1}") < $1.joined(separator: "\u{1}") })
            } catch {
                return .failure(error)
            }
        }
        func mismatch(_ index: Int, _ text: @autoclosure () -> String) {
            tally.mismatches += 1
            tally.mismatchedCases.insert(index)
            if record { Issue.record(Comment(rawValue: text())) }
        }

        for index in 0..<cases {
            var scenario = Scenario.generate(&random, rich: true)
            let table = "t\(index)", oracleTable = "o\(index)"
            for i in scenario.grants.indices where !scenario.grants[i].resource.isTagExpression {
                scenario.grants[i].resource = .table(catalog: nil, database: "d", name: table)
            }
            scenario.table.name = table
            let columnList = scenario.columns.map { "\($0.name) \($0.kind == .int ? "INTEGER" : "TEXT")" }.joined(separator: ", ")
            _ = try lakehouse.execute("CREATE TABLE d.\(table) (\(columnList))", context: admin)
            _ = try lakehouse.append(into: TableName("d", table), mode: .append, columns: nil, context: admin) { writer in
                try writer.write(RowBatch(rows: scenario.rows.map { $0.map(\.database) }))
            }
            // The table's and columns' tags, in the catalog (as `wb tag` sets them).
            try lakehouse.catalog.write { access in
                guard let info = try access.table(database: "d", name: table) else { return }
                for (key, value) in scenario.tableTags { try access.setTag(.table, id: info.id, key: key, value: value) }
                for (position, column) in scenario.columns.enumerated() {
                    guard let id = info.columns.first(where: { $0.name == column.name })?.id else { continue }
                    for (key, value) in scenario.columnTags[position] { try access.setTag(.column, id: id, key: key, value: value) }
                }
            }
            var policy = scenario.policy
            policy.grants.insert(
                Grant(id: "admin", principals: [admin.principal], permissions: DataPermission.allCases.map(GrantedPermission.data) + [.action("*:*")], resource: .catalog("*")),
                at: 0)
            try governance.apply(PolicyFile.render(policy), file: "case \(index)", by: admin.principal.name)

            let expected = scenario.oracle()
            guard let expected else {
                // Nothing visible: every query on the table is refused.
                if case .success(let rows) = run("SELECT * FROM d.\(table)", user) {
                    mismatch(index, "case \(index): the oracle sees nothing, the engine returned \(rows)\n\(scenario.describe())")
                }
                continue
            }
            // The oracle's table, in a plain in-memory SQLite database (no lakehouse, no governance): it has no
            // declared types, so its values compare as they are, like the secure view's expressions.
            let oracleDB = try DatabaseQueue.inMemory()
            try oracleDB.write { db in
                try db.execute("CREATE TABLE \(oracleTable) (\(expected.columns.joined(separator: ", ")))")
                let insert = try db.makeStatement(
                    "INSERT INTO \(oracleTable) VALUES (\(expected.columns.map { _ in "?" }.joined(separator: ", ")))")
                for row in expected.rows { try insert.execute(StatementArguments(row.map(\.database))) }
            }
            func runOracle(_ sql: String) -> Result<[[String]], any Error> {
                do {
                    let rows = try oracleDB.read { db in try db.makeStatement(sql).fetchAll().map { $0.values.map { "\($0)" } } }
                    return .success(rows.sorted { $0.joined(separator: "\u{1}") < $1.joined(separator: "\u{1}") })
                } catch {
                    return .failure(error)
                }
            }
            let visible = scenario.columns.filter { expected.columns.contains($0.name) }
            // Coverage only (which grants were in play): the plan is not part of the comparison.
            let (plan, _) = scenario.plan()
            let direct = Principal(.user, "u")
            let indirect = plan.branches.contains { branch in
                scenario.grants.first { $0.id == branch.grantID }.map { !$0.principals.contains(direct) } ?? false
            }
            let tagged = plan.branches.contains { $0.grantID == "by-tags" }
            // Three rounds of queries per table (other columns, other predicates): setting a table up costs more than a query.
            for template in QueryTemplate.make(visible, &random) + QueryTemplate.make(visible, &random) + QueryTemplate.make(visible, &random) {
                tally.queries += 1
                let governed = run(template.replacingAll("{T}", with: "d.\(table)"), user)
                let oracle = runOracle(template.replacingAll("{T}", with: oracleTable))
                switch (governed, oracle) {
                case (.success(let a), .success(let b)):
                    if a != b {
                        mismatch(index, "case \(index): \(template)\ngoverned: \(a)\noracle:   \(b)\n\(scenario.describe())")
                    } else if !a.isEmpty {
                        tally.withRows += 1
                        if !plan.isUnrestricted {
                            tally.restrictedWithRows += 1
                            if indirect { tally.indirectWithRows += 1 }
                            if tagged { tally.taggedWithRows += 1 }
                        }
                    }
                case (.failure(let error), .success(let rows)):
                    mismatch(index, "case \(index): \(template)\ngoverned failed: \(error)\noracle: \(rows)\n\(scenario.describe())")
                case (.success(let rows), .failure(let error)):
                    mismatch(index, "case \(index): \(template)\ngoverned: \(rows)\noracle failed: \(error)")
                case (.failure, .failure):
                    break
                }
                if tally.mismatchedCases.count > 3 { return tally }
            }
        }
        return tally
    }

    @Test func governedQueriesMatchTheOracle() throws {
        let tally = try Self.differential("differential", seed: 2026, cases: Self.tables, compiler: .standard, record: true)
        #expect(tally.mismatches == 0)
        #expect(tally.queries >= 1000, "\(tally.queries) queries")
        #expect(
            tally.restrictedWithRows * 2 >= tally.queries,
            "\(tally.restrictedWithRows) of \(tally.queries) queries returned rows under an active filter or mask (\(tally.withRows) with rows)")
        // Groups, roles and tags are exercised, not just present.
        #expect(tally.indirectWithRows * 4 >= tally.restrictedWithRows, "\(tally.indirectWithRows) of \(tally.restrictedWithRows) through a group or role")
        #expect(tally.taggedWithRows * 8 >= tally.restrictedWithRows, "\(tally.taggedWithRows) of \(tally.restrictedWithRows) through a tag grant")
    }

    @Test func aCompilerThatDropsOneFilterIsCaughtOnTheQueryPath() throws {
        // The same cases (same seed) through the same lakehouse path, with an engine whose compiler drops the
        // first row filter of every plan that has one: the comparison with the oracle must catch it.
        let broken = SecureView.Compiler.altering { plan in
            var plan = plan
            if let index = plan.branches.firstIndex(where: { $0.rows != nil }) { plan.branches[index].rows = nil }
            return plan
        }
        let cases = min(Self.tables, 30)
        let tally = try Self.differential("differential-broken", seed: 2026, cases: cases, compiler: broken, record: false)
        // It stops at the fourth case it catches.
        #expect(tally.mismatchedCases.count == 4, "the broken compiler was caught in \(tally.mismatchedCases.count) of the first \(cases) cases")
    }
}

extension ResourcePattern {
    var isTagExpression: Bool { if case .tags = self { true } else { false } }
}

/// Random queries over a table `{T}` with the given visible columns, using only what governed
/// statements may use (no ESCAPE, only functions that cannot raise).
enum QueryTemplate {
    static func make(_ columns: [(name: String, kind: Scenario.Kind)], _ random: inout Random) -> [String] {
        let all = columns.map(\.name).joined(separator: ", ")
        let a = random.pick(columns), b = random.pick(columns)
        func predicate(_ random: inout Random) -> String {
            var text = Scenario.predicate(columns, &random).description
            // The filter grammar's LIKE ... ESCAPE is refused in governed statements: use a pattern without one.
            if text.contains("ESCAPE") { text = "\(a.name) IS NOT NULL" }
            return text
        }
        return [
            "SELECT * FROM {T}",
            "SELECT \(all) FROM {T} WHERE \(predicate(&random))",
            "SELECT \(a.name), count(*), min(\(b.name)), max(\(b.name)) FROM {T} GROUP BY \(a.name)",
            "SELECT count(*), count(\(a.name)), count(DISTINCT \(b.name)) FROM {T}",
            "SELECT x.\(a.name), y.\(b.name) FROM {T} x JOIN {T} y ON x.\(a.name) = y.\(a.name) WHERE \(predicate(&random).replacingAll(a.name, with: "x.\(a.name)"))",
            "SELECT \(a.name) FROM {T} WHERE \(a.name) IN (SELECT \(a.name) FROM {T} WHERE \(predicate(&random)))",
            "WITH w AS (SELECT * FROM {T} WHERE \(predicate(&random))) SELECT count(*), max(\(b.name)) FROM w",
            "SELECT \(a.name) FROM {T} UNION SELECT \(b.name) FROM {T}",
            "SELECT \(a.name), rank() OVER (ORDER BY \(all)) FROM {T}",
            "SELECT \(all) FROM {T} ORDER BY \(all) LIMIT 3",
            "SELECT \(b.name), count(*) FROM {T} WHERE \(a.name) LIKE '\(random.pick(["a%", "%A%", "_eta", "20%", "%"]))' GROUP BY \(b.name)",
            "SELECT coalesce(\(a.name), 'none'), length(\(b.name)), upper(\(b.name)) FROM {T}",
        ]
    }
}
