import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Kernels

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measurements used by Benchmarks/run and Benchmarks/editor (kernel round trips, start-up time, memory, editor).",
        shouldDisplay: false,
        subcommands: [RoundTrip.self, Startup.self, BenchPolicyCommand.self, BenchGovernedCommand.self, Editor.self, Screen.self, BenchQueryCommand.self])

    struct KernelOptions: ParsableArguments {
        @Option(help: "The kernel to measure.")
        var kernel = "python3"

        @Option(help: "tcp or ipc (default: ipc for ipykernel, tcp otherwise).")
        var transport: String?

        @Flag(help: "Print JSON.")
        var json = false
    }

    struct RoundTrip: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "roundtrip", abstract: "Time `execute_request` of `1+1` to reply and idle, many times.")

        @OptionGroup var common: KernelOptions
        @Option(help: "Timed executions.") var count = 1000
        @Option(help: "Untimed executions first.") var warmup = 50

        func run() async throws {
            let kernel = try await startKernel(common.kernel, transport: common.transport)
            for _ in 0..<warmup { _ = await kernel.execute("1+1") }
            var samples: [Double] = []
            var kernelBusy: [Double] = []
            samples.reserveCapacity(count)
            for _ in 0..<count {
                let t0 = Clock.monotonic()
                let result = await kernel.execute("1+1")
                samples.append((Clock.monotonic() - t0) * 1000)
                // The kernel's own time: from its busy to its idle broadcast, by its clock.
                if let busy = result.timing["iopub.status.busy"]?.stringValue.flatMap(Clock.parseISO8601),
                    let idle = result.timing["iopub.status.idle"]?.stringValue.flatMap(Clock.parseISO8601)
                {
                    kernelBusy.append((idle - busy) * 1000)
                }
                if result.outcome != .ok {
                    printError("wb bench: execution failed: \(result.outcome)")
                    throw ExitCode.failure
                }
            }
            await kernel.shutdown()
            samples.sort()
            kernelBusy.sort()
            let report: JSON = [
                "count": .int(count), "median_ms": .double(percentile(samples, 0.5)), "p99_ms": .double(percentile(samples, 0.99)),
                "min_ms": .double(percentile(samples, 0)), "kernel_busy_median_ms": .double(percentile(kernelBusy, 0.5)),
                "transport": .string(kernel.connection.transport), "rss_kb": .int(ProcessMemory.peakKB),
            ]
            if common.json { print(report.serialized(.init(sortKeys: true))) } else { print(report.serialized(.pretty)) }
        }
    }

    struct Startup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "startup", abstract: "Time from start to a kernel ready for its first cell, and resident memory.")

        @OptionGroup var common: KernelOptions

        func run() async throws {
            let t0 = ProcessMemory.secondsSinceProcessStart
            let start = Clock.monotonic()
            let kernel = try await startKernel(common.kernel, transport: common.transport)
            let ready = Clock.monotonic() - start + t0
            let rssReady = ProcessMemory.currentKB
            let anonReady = ProcessMemory.statusField("RssAnon"), fileReady = ProcessMemory.statusField("RssFile")
            let result = await kernel.execute("1+1")
            await kernel.shutdown()
            let report: JSON = [
                "ready_ms": .double((ready * 1000).rounded()), "rss_kb": .int(rssReady), "peak_rss_kb": .int(ProcessMemory.peakKB),
                "rss_anon_kb": .int(anonReady), "rss_file_kb": .int(fileReady),
                "first_cell_ok": .bool(result.outcome == .ok),
            ]
            if common.json { print(report.serialized(.init(sortKeys: true))) } else { print(report.serialized(.pretty)) }
        }
    }
}

func startKernel(_ name: String, transport: String? = nil) async throws -> KernelManager {
    let finder = KernelSpecFinder()
    do {
        let spec = try finder.spec(named: name)
        let kernel = try KernelManager.start(spec: spec, pythonPrefix: finder.pythonPrefix, transport: transport)
        try await kernel.waitForReady()
        return kernel
    } catch {
        printError("wb: \(error.message)")
        throw Exit.kernelUnavailable
    }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = p * Double(sorted.count - 1)
    let low = Int(rank.rounded(.down))
    let high = min(low + 1, sorted.count - 1)
    let value = sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
    return (value * 1000).rounded() / 1000
}

/// This process's memory, from /proc.
enum ProcessMemory {
    static func statusField(_ name: String) -> Int {
        guard let text = try? FileIO.readText("/proc/self/status") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    static var currentKB: Int { statusField("VmRSS") }
    static var peakKB: Int { statusField("VmHWM") }

    /// Seconds since this process was started by the kernel (from /proc/self/stat).
    static var secondsSinceProcessStart: Double {
        guard let stat = try? FileIO.readText("/proc/self/stat"), let uptime = try? FileIO.readText("/proc/uptime"),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Field 22 (starttime) is the 20th after the command name.
        guard fields.count > 19, let ticks = Double(fields[19]), let up = Double(uptime.split(separator: " ").first ?? "") else { return 0 }
        let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
        return max(0, up - ticks / hz)
    }
}
