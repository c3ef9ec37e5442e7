import ArgumentParser
import CoreSupport
import Governance

/// `wb bench policy`: decision latency on a large generated policy (Benchmarks/run, Docs/performance.md).
struct BenchPolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Time authorization decisions and access plans on a generated policy of many grants and principals.")

    @Option(help: "Grants in the generated policy.") var grants = 10_000
    @Option(help: "Users in the generated policy (groups and roles scale with it).") var principals = 1_000
    @Option(help: "Tables in the generated catalog.") var tables = 200
    @Option(help: "Timed decisions of each kind.") var decisions = 100_000
    @Option(help: "Seed of the generator.") var seed: UInt64 = 42
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        var random = SeededRandom(seed: seed)
        let generated = GeneratedPolicy(grants: grants, users: principals, tables: tables, random: &random)
        let buildStart = Clock.monotonic()
        let policy: Policy
        do {
            policy = try PolicyFile.parse(generated.yaml, file: "generated")
        } catch {
            printError("wb bench policy: the generated policy is invalid: \(error)")
            throw ExitCode.failure
        }
        let parseSeconds = Clock.monotonic() - buildStart
        let engine = PolicyEngine(policy: policy)
        var actionSamples: [Double] = []
        var planSamples: [Double] = []
        actionSamples.reserveCapacity(decisions)
        planSamples.reserveCapacity(decisions)
        var allowed = 0
        for i in 0..<(decisions + 1000) {
            let user = "u\(random.next(principals))"
            let action = generated.actions[random.next(generated.actions.count)]
            let table = generated.tables[random.next(generated.tables.count)]
            var t0 = Clock.monotonic()
            let decision = engine.decide(user: user, action: action)
            let t1 = Clock.monotonic()
            let plan = engine.accessPlan(user: user, table: table)
            let t2 = Clock.monotonic()
            if decision.allowed { allowed += 1 }
            if plan.decision.allowed { allowed += 1 }
            guard i >= 1000 else { continue }  // warm-up
            actionSamples.append((t1 - t0) * 1e6)
            planSamples.append((t2 - t1) * 1e6)
            t0 = 0
        }
        actionSamples.sort()
        planSamples.sort()
        let report: JSON = [
            "grants": .int(policy.grants.count), "users": .int(principals), "groups": .int(policy.groups.count),
            "roles": .int(policy.roles.count), "tables": .int(tables), "decisions": .int(decisions),
            "parse_ms": .double((parseSeconds * 1000).rounded()),
            "action_p50_us": .double(percentile(actionSamples, 0.5)), "action_p99_us": .double(percentile(actionSamples, 0.99)),
            "plan_p50_us": .double(percentile(planSamples, 0.5)), "plan_p99_us": .double(percentile(planSamples, 0.99)),
            "allowed_fraction": .double(Double(allowed) / Double(2 * (decisions + 1000))),
            "rss_kb": .int(ProcessMemory.peakKB),
        ]
        if json { print(report.serialized(.init(sortKeys: true))) } else { print(report.serialized(.pretty)) }
    }
}

/// The benchmarks' deterministic generator, so every run measures the same data.
typealias SeededRandom = SplitMix64

extension SplitMix64 {
    /// A number in 0..<bound.
    mutating func next(_ bound: Int) -> Int { next(below: bound) }
}

/// A policy shaped like a large organisation's: users in groups, groups holding roles, and
/// grants of every kind (tables, databases, tags, filters, masks, denies, plugin actions).
struct GeneratedPolicy {
    var yaml: String
    var tables: [TableDescriptor]
    var actions: [String]

    init(grants: Int, users: Int, tables tableCount: Int, random: inout SeededRandom) {
        let groups = max(1, users / 10)
        let roles = max(1, users / 20)
        let databases = max(1, tableCount / 20)
        let classifications = ["public", "internal", "confidential", "pii"]
        let domains = ["sales", "hr", "finance", "ops"]
        actions = ["lakehouse:query", "lakehouse:import", "lakehouse:export", "experiments:write", "experiments:delete", "autopilot:create-job"]
        var lines = ["version: 1", "groups:"]
        var members: [[String]] = Array(repeating: [], count: groups)
        for u in 0..<users {
            for _ in 0..<(1 + random.next(3)) { members[random.next(groups)].append("u\(u)") }
        }
        for g in 0..<groups { lines.append("  g\(g): [\(members[g].joined(separator: ", "))]") }
        lines.append("roles:")
        for r in 0..<roles {
            let inherits = r > 0 && random.next(3) == 0 ? ", inherits: [r\(random.next(r))]" : ""
            lines.append("  r\(r): {members: [\"group:g\(random.next(groups))\", \"group:g\(random.next(groups))\"]\(inherits)}")
        }
        lines.append("tags:")
        lines.append("  classification: [\(classifications.joined(separator: ", "))]")
        lines.append("  domain: [\(domains.joined(separator: ", "))]")
        lines.append("grants:")
        let columns = (0..<10).map { "c\($0)" }
        func who(_ random: inout SeededRandom) -> String {
            switch random.next(3) {
            case 0: "user:u\(random.next(users))"
            case 1: "group:g\(random.next(groups))"
            default: "role:r\(random.next(roles))"
            }
        }
        for i in 0..<grants {
            let to = who(&random)
            let db = "d\(random.next(databases))"
            let table = "t\(random.next(tableCount))"
            switch random.next(10) {
            case 0...3:
                let column = columns[random.next(columns.count)]
                lines.append(
                    "  - {id: g\(i), to: \"\(to)\", permissions: [SELECT], on: {table: \"\(db).\(table)\"}, rows: \"c0 < \(random.next(1000)) OR c1 IN ('a', 'b')\", masks: {\(column): hash}}")
            case 4:
                lines.append("  - {id: g\(i), to: \"\(to)\", permissions: [SELECT, INSERT], on: {database: \(db)}}")
            case 5:
                let c = classifications[random.next(classifications.count)]
                let d = domains[random.next(domains.count)]
                lines.append("  - {id: g\(i), to: \"\(to)\", permissions: [SELECT], on: {tags: {classification: [\(c)], domain: [\(d)]}}}")
            case 6:
                lines.append("  - {id: g\(i), effect: deny, to: \"\(to)\", permissions: [SELECT], on: {table: \"\(db).\(table)\"}, columns: [c8]}")
            default:
                lines.append("  - {id: g\(i), to: \"\(to)\", permissions: [\"\(actions[random.next(actions.count)])\"]}")
            }
        }
        yaml = lines.joined(separator: "\n") + "\n"
        var descriptors: [TableDescriptor] = []
        for t in 0..<tableCount {
            let database = DatabaseDescriptor(
                catalog: "main", name: "d\(t % databases)", tags: ["domain": domains[t % domains.count], "classification": "internal"])
            let cols = columns.enumerated().map { index, name in
                ColumnDescriptor(id: "t\(t).\(name)", name: name, tags: index == 9 ? ["classification": "pii"] : [:])
            }
            descriptors.append(TableDescriptor(id: "t\(t)", database: database, name: "t\(t)", columns: cols))
        }
        tables = descriptors
    }
}
