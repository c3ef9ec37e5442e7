import ArgumentParser
import CoreSupport
import Lifecycle
import Storage

struct LifecycleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lifecycle",
        abstract: "Idle culling and lifecycle scripts: cull once, run the culling daemon, read the logs.",
        discussion: Exit.sessionsHelp,
        subcommands: [Cull.self, Daemon.self, Logs.self])

    /// The culling knobs; unset ones come from `culling:` in $WB_HOME/lifecycle.yaml, else the defaults.
    struct PolicyOptions: ParsableArguments {
        @Option(help: "Seconds without activity before a session is stopped; 0 turns idle culling off (default 3600).")
        var idleTimeout: Double?
        @Flag(inversion: .prefixedNo, help: "Cull busy kernels too (default no: a silent running cell is not idle).")
        var cullBusy: Bool?
        @Flag(inversion: .prefixedNo, help: "Cull sessions with an attached client too (default no).")
        var cullConnected: Bool?
        @Option(help: "Seconds after start when a session is stopped whatever it does; 0 means no limit (default 0).")
        var maxAge: Double?
        @Option(help: "Seconds an attached TUI counts down (with a key to keep the session) before an idle session is stopped; 0 stops at once (default 60).")
        var warning: Double?

        func policy(home: String, interval: Double? = nil) throws -> CullPolicy {
            var policy = CullPolicy()
            do {
                if let global = try LifecycleConfig.load(Workspace.globalConfigFile(home: home)), let culling = global.culling {
                    policy = culling
                }
            } catch {
                printError("wb lifecycle: \(error)")
                throw Exit.lifecycle(error)
            }
            if let idleTimeout { policy.idleTimeout = idleTimeout }
            if let cullBusy { policy.cullBusy = cullBusy }
            if let cullConnected { policy.cullConnected = cullConnected }
            if let maxAge { policy.maxAge = maxAge }
            if let warning { policy.warning = warning }
            if let interval { policy.interval = interval }
            guard policy.idleTimeout >= 0, policy.maxAge >= 0, policy.warning >= 0, policy.interval > 0 else {
                throw ValidationError("timeouts must be 0 or more seconds and the interval more than 0")
            }
            return policy
        }
    }

    struct Cull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every session once: stop idle ones, clean dead ones, log each decision.",
            discussion: """
                A session is idle when no activity (IOPub traffic of user requests, TUI input) came for \
                --idle-timeout seconds, and its kernel is not busy (unless --cull-busy) and no client is \
                attached (unless --cull-connected; then an attached TUI first shows a --warning countdown with a \
                key to keep the session, and the session is stopped at the next check after it ends). Sessions older than --max-age are stopped whatever they do. \
                Sessions whose kernel died are always cleaned. Decisions go to $WB_HOME/logs/cull.log.
                """ + "\n" + Exit.sessionsHelp)

        @OptionGroup var domain: DomainOptions
        @OptionGroup var options: PolicyOptions
        @Flag(help: "Only report what would be done.") var dryRun = false
        @Flag(help: "Print every decision as JSON.") var json = false

        func run() async throws {
            let registry = try openRegistry(domain, command: "lifecycle cull")
            let policy = try options.policy(home: registry.domain.path)
            let decisions: [CullDecision]
            do {
                decisions = try await Culler(policy: policy, registry: registry).check(dryRun: dryRun)
            } catch {
                printError("wb lifecycle cull: \(error)")
                throw Exit.lifecycle(error)
            }
            if json {
                printJSON(["policy": policy.json, "dry_run": .bool(dryRun), "decisions": .array(decisions.map(\.json))])
                return
            }
            if decisions.isEmpty { print("No sessions.") }
            for d in decisions {
                let verb: String
                switch d.action {
                case .keep: verb = "keep"
                case .cull: verb = dryRun ? "would stop" : "stopped"
                case .clean: verb = dryRun ? "would clean" : "cleaned"
                case .warn: verb = dryRun ? "would warn" : "warned"
                }
                print("\(d.session.id.prefix(8))  \(verb)  [\(d.rule.rawValue)] \(d.reason)  \(d.session.notebook)")
            }
        }
    }

    struct Daemon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the culling check every interval until stopped (SIGTERM or Ctrl-C).",
            discussion: "Between checks it sleeps; a check reads the registry and /proc, so an idle machine costs next to nothing.\n"
                + Exit.sessionsHelp)

        @OptionGroup var domain: DomainOptions
        @OptionGroup var options: PolicyOptions
        @Option(help: "Seconds between checks (default: culling.interval, else 300).") var interval: Double?
        @Option(help: "Stop after this many checks (for tests and benchmarks; default: run until stopped).") var checks: Int?

        func run() async throws {
            let registry = try openRegistry(domain, command: "lifecycle daemon")
            let policy = try options.policy(home: registry.domain.path, interval: interval)
            let culler = Culler(policy: policy, registry: registry)
            printError("wb lifecycle daemon: checking every \(policy.interval) s (idle_timeout \(policy.idleTimeout) s); log: \(culler.logFile)")
            var done = 0
            while checks.map({ done < $0 }) ?? true {
                do {
                    for d in try await culler.check() where d.action != .keep {
                        printError("\(Clock.iso8601()) \(d.action.rawValue) \(d.session.id) [\(d.rule.rawValue)] \(d.reason)")
                    }
                } catch {
                    printError("wb lifecycle daemon: \(error)")
                }
                done += 1
                if checks.map({ done >= $0 }) ?? false { break }
                try? await Task.sleep(for: .seconds(policy.interval))
            }
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the lifecycle scripts' log (or, with --cull, the cull decisions).",
            discussion: Exit.sessionsHelp)

        @OptionGroup var domain: DomainOptions
        @Option(help: "How many of the last lines to show.") var lines: Int = 100
        @Flag(help: "Show the cull log instead.") var cull = false

        func run() async throws {
            let home = try domain.open(command: "lifecycle logs").path
            let file = cull ? Culler.defaultLogFile(home: home) : ScriptRunner.logFile(home: home)
            guard FileIO.exists(file) else {
                print("No log yet (\(file)).")
                return
            }
            let text: String
            do {
                text = try FileIO.readText(file)
            } catch {
                printError("wb lifecycle logs: \(error)")
                throw Exit.noInput
            }
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0).suffix(max(0, lines)) {
                print(line)
            }
        }
    }
}
