import ArgumentParser
import CoreSupport
import Governance
import Lakehouse

/// `wb bench query`: in-process timings of lakehouse queries through the bus, for Benchmarks/lakehouse.
///
/// Each request is authorized and audited as `wb sql`'s is; the audit records are written in the
/// background as always, and flushed once at the end (its time reported as `audit_final_flush_ms`)
/// instead of after every request as a one-shot command does.
struct BenchQueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Time SQL through the lakehouse gate: one warm-up run, then the median of --repeat runs.")

    @Option(name: .customLong("repeat"), help: "Timed runs of each query.") var repeats = 3
    @Option(name: .customLong("cache-mib"), help: "SQLite page cache per connection (MiB).") var cacheMiB = SQLiteEngine.Tuning.standard.cacheMiB
    @Option(name: .customLong("mmap-mib"), help: "SQLite memory map size (MiB).") var mmapMiB = SQLiteEngine.Tuning.standard.mmapMiB
    @Option(name: .customLong("threads"), help: "Helper threads for SQLite's sorter (PRAGMA threads).") var threads = SQLiteEngine.Tuning.standard.sorterThreads
    @Option(name: .customLong("temp-store"), help: "Where SQLite keeps temporary b-trees: memory or file (PRAGMA temp_store).")
    var tempStore = SQLiteEngine.Tuning.standard.tempStoreInMemory ? "memory" : "file"
    @Argument(help: "Queries to time, one argument each.") var queries: [String]

    func validate() throws {
        guard ["memory", "file"].contains(tempStore) else { throw ValidationError("--temp-store takes memory or file, not '\(tempStore)'") }
    }
    @OptionGroup var domain: DomainOptions

    func run() async throws {
        let tuning = SQLiteEngine.Tuning(cacheMiB: cacheMiB, mmapMiB: mmapMiB, sorterThreads: threads, tempStoreInMemory: tempStore == "memory")
        let client = try LakehouseClient.open(domain, command: "bench query", tuning: tuning)
        var results: [JSON] = []
        for sql in queries {
            var samples: [Double] = [], cpu: [Double] = []
            var rows = 0
            for run in 0...max(1, repeats) {
                let start = Clock.monotonic(), cpuStart = Clock.processCPU()
                let result = try await client.send(LakehouseQuery(sql: sql), flushAudit: false)
                let elapsed = (Clock.monotonic() - start) * 1000
                rows = result.rows.count
                if run > 0 {
                    samples.append(elapsed)
                    cpu.append((Clock.processCPU() - cpuStart) * 1000)
                }
            }
            samples.sort()
            cpu.sort()
            // CPU time of the whole process (every thread, the background audit writer included) while the
            // request ran: on a shared machine it moves less than wall time with other processes' load.
            results.append([
                "sql": .string(sql), "median_ms": .double(percentile(samples, 0.5)), "min_ms": .double(samples[0]),
                "median_cpu_ms": .double(percentile(cpu, 0.5)), "rows": .int(rows),
            ])
        }
        // Auditing is off the query path (written in the background in batches); its cost is reported apart.
        let flushStart = Clock.monotonic()
        try client.governance.audit.flush()
        let flushMs = (Clock.monotonic() - flushStart) * 1000
        printJSON([
            "cache_mib": .int(cacheMiB), "mmap_mib": .int(mmapMiB), "temp_store": .string(tempStore), "queries": .array(results), "audit_final_flush_ms": .double(flushMs),
        ])
    }
}
