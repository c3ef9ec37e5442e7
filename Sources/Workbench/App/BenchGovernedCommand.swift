import ArgumentParser
import Catalog
import CoreSupport
import Governance
import Lakehouse
import Storage

/// `wb bench governed`: governed query time against the same queries ungoverned (Benchmarks/governance, Docs/performance.md).
struct BenchGovernedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "governed",
        abstract: "Time lakehouse queries ungoverned, governed in full, and through a row filter, on a generated table.")

    @Option(help: "Rows in the generated orders table.") var rows = 1_000_000
    @Option(name: .customLong("repeat"), help: "Timed runs of each query (the median is reported).") var runs = 5
    @Option(help: "Runs of a query under a millisecond timed together as one sample (their mean), for lookups of a few microseconds.")
    var batch = 1
    @Flag(help: "Write each sample's audit records before the next sample (untimed), as for statements run far apart.")
    var sparse = false
    @Option(help: "The domain folder to create (must not exist).") var home: String
    @Flag(help: "Print JSON.") var json = false

    static let queries: [(name: String, sql: String)] = [
        ("count", "SELECT count(*) FROM bench.orders"),
        ("group_by", "SELECT region, sum(amount), count(*) FROM bench.orders GROUP BY region"),
        ("filtered_top", "SELECT customer, sum(amount) AS s FROM bench.orders WHERE amount > 50 GROUP BY customer ORDER BY s DESC LIMIT 10"),
        ("point", "SELECT * FROM bench.orders WHERE id = 123457"),
        ("like_scan", "SELECT count(*) FROM bench.orders WHERE day LIKE '2024-03%'"),
    ]

    func run() async throws {
        guard !FileIO.exists(home) else { throw ValidationError("--home \(home) exists; give a new folder") }
        guard batch >= 1, runs >= 1 else { throw ValidationError("--batch and --repeat must be at least 1") }
        let domain = try Domain.open(at: home)
        let governance = try GovernanceService(domain: domain)
        let admin = domain.info.createdBy
        let governed = try Lakehouse(domain: domain, governance: governance)
        let plain = try Lakehouse(domain: domain)
        let adminContext = QueryContext(principal: Principal(.user, admin))
        _ = try governed.execute(
            "CREATE DATABASE bench; CREATE TABLE bench.orders (id INTEGER PRIMARY KEY, customer INTEGER, region TEXT, amount REAL, email TEXT, day TEXT)",
            context: adminContext)
        var random = SeededRandom(seed: 1)
        let regions = ["EU", "US", "APAC", "LATAM"]
        let loadStart = Clock.monotonic()
        _ = try governed.append(into: TableName("bench", "orders"), mode: .append, columns: nil, context: adminContext) { writer in
            var batch: [[DatabaseValue]] = []
            batch.reserveCapacity(10_000)
            for id in 1...rows {
                let customer = random.next(100_000)
                let month = 1 + random.next(12)
                let day = "2024-" + (month < 10 ? "0" : "") + String(month) + "-" + String(10 + random.next(18))
                let row: [DatabaseValue] = [
                    .integer(Int64(id)), .integer(Int64(customer)), .text(regions[random.next(regions.count)]),
                    .real(Double(random.next(10_000)) / 100), .text("c\(customer)@example.com"), .text(day),
                ]
                batch.append(row)
                if batch.count == 10_000 {
                    try writer.write(RowBatch(rows: batch))
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { try writer.write(RowBatch(rows: batch)) }
        }
        let loadSeconds = Clock.monotonic() - loadStart
        try governance.apply(
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(admin)", permissions: [ALL, "*:*"], on: {catalog: "*"}}
              - id: analysts
                to: user:analyst
                permissions: [SELECT]
                on: {table: bench.orders}
                rows: "region IN ('EU', 'US')"
                masks: {email: hash}
            """, file: "bench policy", by: admin)
        let analyst = QueryContext(principal: Principal(.user, "analyst"))

        func median(_ sql: String, _ lakehouse: Lakehouse, _ context: QueryContext) throws -> Double {
            var samples: [Double] = []
            for run in 0..<(runs + 1) {
                // The warm-up run decides: a query under a millisecond is timed `batch` runs at a time.
                let n = run > 0 && samples[0] < 0.001 ? batch : 1
                let t0 = Clock.monotonic()
                for _ in 0..<n { _ = try lakehouse.execute(sql, context: context, sink: QuerySink { _ in true }) }
                samples.append((Clock.monotonic() - t0) / Double(n))
                // With --sparse, the sample's audit records are written now, untimed, so each sample starts with an
                // empty audit queue, as a statement run long after the last one does (its record schedules the writer).
                if sparse { try governance.audit.flush() }
            }
            samples.removeFirst()  // warm-up (page cache)
            samples.sort()
            return samples[samples.count / 2] * 1000
        }

        var results: [JSON] = []
        for (name, sql) in Self.queries {
            // The analyst's filter written by hand, for the ungoverned peer of the filtered query.
            let handFiltered = sql.contains("WHERE")
                ? sql.replacingAll("WHERE ", with: "WHERE region IN ('EU', 'US') AND ")
                : sql.replacingAll("FROM bench.orders", with: "FROM bench.orders WHERE region IN ('EU', 'US')")
            let ungoverned = try median(sql, plain, adminContext)
            let governedFull = try median(sql, governed, adminContext)
            let byHand = try median(handFiltered, plain, adminContext)
            let filtered = try median(sql, governed, analyst)
            results.append([
                "query": .string(name), "ungoverned_ms": .double(ungoverned.rounded5), "governed_full_ms": .double(governedFull.rounded5),
                "full_ratio": .double((governedFull / ungoverned).rounded3), "hand_filtered_ms": .double(byHand.rounded5),
                "governed_filtered_ms": .double(filtered.rounded5), "filtered_ratio": .double((filtered / byHand).rounded3),
            ])
        }
        // What every governed statement pays before it runs, reported apart: the active policy version, checked
        // across processes (`GovernanceService.engine()`: a `PRAGMA data_version` on governance.db when nothing changed).
        var checks: [Double] = []
        for _ in 0..<2000 {
            let t0 = Clock.monotonic()
            _ = try governance.engine()
            checks.append((Clock.monotonic() - t0) * 1e6)
        }
        checks.sort()
        let flushStart = Clock.monotonic()
        try governance.audit.flush()
        let flushMs = (Clock.monotonic() - flushStart) * 1000
        let audited = try governance.audit.search(limit: Int.max).count
        // The audit writer's own cost, apart from the queries: 20,000 records like a point lookup's, queued and
        // then written (time text, query hash, chain hash, insert, the head file), per record.
        let sample = AuditRecord(
            principal: "user:\(admin)", action: "SELECT", resource: "main.bench.orders", allowed: true, grants: ["admin"],
            policyVersion: 2, query: Self.queries[3].sql, detail: "")
        for _ in 0..<20_000 { governance.audit.append(sample.madeAgain()) }
        let writeStart = Clock.monotonic()
        try governance.audit.flush()
        let writeUs = (Clock.monotonic() - writeStart) * 1e6 / 20_000
        let report: JSON = [
            "rows": .int(rows), "load_seconds": .double(loadSeconds.rounded3), "queries": .array(results),
            "audit_records": .int(audited), "audit_final_flush_ms": .double(flushMs.rounded3),
            "policy_check_us": .double(checks[checks.count / 2].rounded3), "audit_write_us_per_record": .double(writeUs.rounded3),
            "batch": .int(batch), "sparse": .bool(sparse),
        ]
        if json { print(report.serialized(.init(sortKeys: true))) } else { print(report.serialized(.pretty)) }
    }
}

extension Double {
    var rounded3: Double { (self * 1000).rounded() / 1000 }
    var rounded5: Double { (self * 100_000).rounded() / 100_000 }
}
