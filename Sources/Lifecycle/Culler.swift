#if canImport(Glibc)
import Glibc
#endif
public import CoreSupport
import Storage

/// The culling rules, with Jupyter Server's knobs (`cull_idle_timeout`, `cull_interval`, `cull_busy`, `cull_connected`) plus a maximum age.
public struct CullPolicy: Sendable, Equatable {
    /// Seconds without activity after which a session is stopped; 0 turns idle culling off.
    public var idleTimeout: Double = 3600
    /// Seconds between checks of `wb lifecycle daemon`.
    public var interval: Double = 300
    /// Whether a busy kernel may be culled (default no: a silent long cell is not idle).
    public var cullBusy = false
    /// Whether a session with an attached client may be culled (default no).
    public var cullConnected = false
    /// Seconds after start when a session is stopped whatever it does; 0 means no limit.
    public var maxAge: Double = 0
    /// Seconds an attached TUI shows its countdown before an idle session is stopped (with `cullConnected`); 0 stops at once.
    public var warning: Double = 60

    public init(
        idleTimeout: Double = 3600, interval: Double = 300, cullBusy: Bool = false, cullConnected: Bool = false, maxAge: Double = 0,
        warning: Double = 60
    ) {
        self.idleTimeout = idleTimeout
        self.interval = interval
        self.cullBusy = cullBusy
        self.cullConnected = cullConnected
        self.maxAge = maxAge
        self.warning = warning
    }

    public var json: JSON {
        [
            "idle_timeout": .double(idleTimeout), "interval": .double(interval), "cull_busy": .bool(cullBusy),
            "cull_connected": .bool(cullConnected), "max_age": .double(maxAge), "warning": .double(warning),
        ]
    }
}

/// What the culler decided about one session, and why.
public struct CullDecision: Sendable, Equatable {
    public enum Action: String, Sendable {
        /// Left running.
        case keep
        /// Stopped (idle or too old).
        case cull
        /// Its kernel was dead: the entry (and connection file) was cleaned.
        case clean
        /// Left running, but its attached TUIs were told it will be stopped after a countdown unless the user is active.
        case warn
    }

    /// The rule that decided.
    public enum Rule: String, Sendable {
        case deadKernel = "dead-kernel"
        case idleTimeout = "idle-timeout"
        case maxAge = "max-age"
        case busy = "busy"
        case connected = "connected"
        case active = "active"
        case disabled = "disabled"
        case stopping = "stopping"
        case warned = "warned"
    }

    public var session: SessionRecord
    public var action: Action
    public var rule: Rule
    /// The reason in words, with the numbers that decided.
    public var reason: String
    /// When it was decided (Unix seconds).
    public var at: Double
    /// Whether the action was only reported (`--dry-run`).
    public var dryRun = false
    /// How the kernel ended, for a cull or clean that ran.
    public var outcome: String? = nil

    /// Whether the log keeps it: every cull and clean, and every keep that a rule protected past the timeout.
    public var isLogged: Bool { action != .keep || rule == .busy || rule == .connected || rule == .warned }

    public var json: JSON {
        [
            "at": .string(Clock.iso8601(at)), "session": .string(session.id), "notebook": .string(session.notebook),
            "kernel": .string(session.kernelName), "pid": session.kernel.map { .int(Int($0.pid)) } ?? .null,
            "action": .string(action.rawValue), "rule": .string(rule.rawValue), "reason": .string(reason),
            "idle_seconds": .double((session.idleSeconds(now: at) * 10).rounded() / 10),
            "execution_state": .string(session.executionState), "clients": .int(session.clients), "dry_run": .bool(dryRun),
            "outcome": outcome.map(JSON.string) ?? .null,
        ]
    }
}

/// Checks every session against a `CullPolicy`, stops the idle ones and cleans dead ones, logging each decision.
public struct Culler: Sendable {
    public var policy: CullPolicy
    public let registry: SessionRegistry
    /// The JSON-lines log of decisions (`$WB_HOME/logs/cull.log`).
    public let logFile: String
    /// Seconds each stop step waits (shutdown_request, SIGTERM).
    public var stopTimeout: Double = 5

    public init(policy: CullPolicy, registry: SessionRegistry, logFile: String? = nil) {
        self.policy = policy
        self.registry = registry
        self.logFile = logFile ?? Culler.defaultLogFile(home: registry.domain.path)
    }

    public static func defaultLogFile(home: String) -> String { FilePath.join(home, "logs", "cull.log") }

    /// Decides about one session at `now` (pure: no process is signalled, nothing written).
    public func decide(_ session: SessionRecord, now: Double, kernelDead: Bool) -> CullDecision {
        func make(_ action: CullDecision.Action, _ rule: CullDecision.Rule, _ reason: String) -> CullDecision {
            CullDecision(session: session, action: action, rule: rule, reason: reason, at: now)
        }
        let idle = session.idleSeconds(now: now)
        let age = max(0, now - session.startedAt)
        if kernelDead || session.executionState == "dead" {
            let pid = session.kernel.map { "kernel pid \($0.pid)" } ?? "no kernel"
            return make(.clean, .deadKernel, session.executionState == "dead" ? "the kernel stopped answering (\(pid))" : "\(pid) is gone")
        }
        if session.state == .stopping { return make(.keep, .stopping, "another process is stopping it") }
        // Its host gives up (and removes the entry) if the kernel is not ready in time; culling it now would orphan the kernel.
        if session.state == .starting { return make(.keep, .active, "its kernel is still starting") }
        if session.state == .restarting { return make(.keep, .active, "its kernel is restarting") }
        if policy.maxAge > 0, age > policy.maxAge {
            return make(.cull, .maxAge, "running for \(seconds(age)), longer than max_age \(seconds(policy.maxAge))")
        }
        guard policy.idleTimeout > 0 else { return make(.keep, .disabled, "idle culling is off (idle_timeout 0)") }
        guard idle > policy.idleTimeout else {
            return make(.keep, .active, "idle for \(seconds(idle)), within idle_timeout \(seconds(policy.idleTimeout))")
        }
        // A host no longer watching means the recorded state is stale: then busy protects nothing.
        let watched = session.host?.isAlive ?? false
        if !policy.cullBusy, session.executionState == "busy", watched {
            return make(.keep, .busy, "busy (a cell is running) for \(seconds(idle)) without output; cull_busy is off")
        }
        if !policy.cullConnected, session.clients > 0 {
            return make(.keep, .connected, "\(session.clients) client(s) attached; cull_connected is off")
        }
        let over = "idle for \(seconds(idle)), longer than idle_timeout \(seconds(policy.idleTimeout))"
        // An attached TUI gets a countdown first: the session is stopped when it ends without activity.
        if session.clients > 0, policy.warning > 0 {
            guard let until = session.cullWarningUntil else {
                return make(.warn, .warned, "\(over); \(session.clients) client(s) attached: warned, stopping in \(seconds(policy.warning))")
            }
            if now < until { return make(.keep, .warned, "\(over); warned, stopping in \(seconds(until - now)) unless kept alive") }
            return make(.cull, .idleTimeout, "\(over); the warning's countdown ended without activity")
        }
        return make(.cull, .idleTimeout, over)
    }

    /// Checks every session once at `now`: decides, then (unless `dryRun`) stops or cleans, and logs.
    ///
    /// A session is acted on only by the process that claims it in the registry, so cullers that
    /// run at the same time never stop a kernel twice.
    public func check(now: Double = Clock.now(), dryRun: Bool = false) async throws(LifecycleError) -> [CullDecision] {
        var decisions: [CullDecision] = []
        for session in try registry.list() {
            var decision = decide(session, now: now, kernelDead: SessionRegistry.isDead(session))
            decision.dryRun = dryRun
            if !dryRun, decision.action == .warn {
                try registry.warnCull(session.id, until: now + policy.warning)
            } else if !dryRun, decision.action == .keep, decision.rule != .warned, session.cullWarningUntil != nil {
                try registry.clearCullWarning(session.id)
            } else if !dryRun, decision.action != .keep {
                guard try registry.claim(session.id) else { continue }
                decision.outcome = await SessionStopper.stop(session, registry: registry, timeout: stopTimeout).rawValue
            }
            decisions.append(decision)
            if decision.isLogged { log(decision) }
        }
        return decisions
    }

    private func log(_ decision: CullDecision) {
        OutputsJournal.append(decision.json.serialized(.compact) + "\n", to: logFile)
    }

    private func seconds(_ value: Double) -> String {
        value < 10 ? "\((value * 10).rounded() / 10) s" : "\(Int(value.rounded())) s"
    }
}
