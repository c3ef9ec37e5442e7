import ArgumentParser
import CoreSupport
import Governance
import Lakehouse
import PluginBus
import Storage
import Synchronization

/// The lakehouse as the CLI reaches it: through the bus, never by calling the plugin.
struct LakehouseClient {
    let bus: Bus
    let command: String
    /// Flushed before the command ends, so every decision is on disk.
    let governance: GovernanceService

    /// Opens the domain, registers the Lakehouse plugin on a bus; failures exit with `Exit.domainUnavailable`.
    static func open(_ options: DomainOptions, command: String, tuning: SQLiteEngine.Tuning = .standard) throws -> LakehouseClient {
        let parts = try openParts(options, command: command, tuning: tuning)
        return LakehouseClient(bus: parts.bus, command: command, governance: parts.governance)
    }

    /// The governed lakehouse and a bus serving it, with authorization and audit in front of every request.
    ///
    /// For code inside the plugin that also needs the lakehouse itself (the SQL kernel's completion);
    /// commands use `open`. Failures exit with `Exit.domainUnavailable`.
    static func openParts(_ options: DomainOptions, command: String, tuning: SQLiteEngine.Tuning = .standard) throws
        -> (bus: Bus, lakehouse: Lakehouse, governance: GovernanceService)
    {
        let lakehouse: Lakehouse
        let governance: GovernanceService
        do {
            let domain = try Domain.open(at: options.home, configuration: SQLiteEngine.configuration(tuning))
            governance = try GovernanceService(domain: domain)
            lakehouse = try Lakehouse(domain: domain, governance: governance)
        } catch {
            printError("wb \(command): \(error)")
            throw Exit.domainUnavailable
        }
        // Every request is authorized and audited before the plugin sees it; the lakehouse then scopes the data.
        let bus = Bus(middleware: [RequireRegisteredPermission(GovernanceAuthorizer(governance))])
        try bus.register(LakehousePlugin(lakehouse, events: bus.publisher))
        return (bus, lakehouse, governance)
    }

    /// Sends a request; SIGINT/SIGTERM cancel it; a failure is printed and becomes the documented exit code.
    ///
    /// `beforeError` runs before a failure is printed (to clear a progress line). The audit records of
    /// the request are on disk when it returns, unless `flushAudit` is false (a benchmark sending many
    /// requests flushes once at the end; the log writes them in the background meanwhile).
    func send<R: BusRequest>(
        _ request: R, as principal: Principal = .currentUser, requestID: String = Identifier.requestID(), flushAudit: Bool = true,
        beforeError: () -> Void = {}
    ) async throws -> R.Response {
        // Started on the lakehouse's blocking executor, the request's authorization, audit and statement run on
        // one thread: no hop off Swift's pool to a Dispatch thread and back (`BlockingExecutor`).
        let task = Task(executorPreference: BlockingExecutor.shared) { try await bus.send(request, as: principal, requestID: requestID) }
        let signals = RequestSignals.shared.register { task.cancel() }
        defer { RequestSignals.shared.unregister(signals) }
        defer { if flushAudit { try? governance.audit.flush() } }
        do {
            return try await task.value
        } catch {
            beforeError()
            throw report(error)
        }
    }

    /// Prints a failure the way every lakehouse command does, and returns its exit code.
    private func report(_ error: any Error) -> any Error {
        switch error {
        case let error as BusError where error.code == .denied:
            printError("wb \(command): \(error.message)")
            return Exit.denied
        case let error as LakehouseError:
            printError("wb \(command): \(error)")
            if let pointer = error.pointer { printError(pointer.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")) }
            if error.code == .cancelled, command == "import" { printError("wb import: interrupted; nothing was imported") }
            if error.code == .cancelled, command == "sql" {
                printError("wb sql: interrupted; the statement was stopped and nothing it changed was committed")
            }
            return Exit.lakehouse(error.code)
        case let error as ImportFailure:
            for row in error.skippedBefore { printError("wb \(command): skipped \(error.path):\(row.line): \(row.reason)") }
            printError("wb \(command): \(error)")
            return error.code == .badRow ? Exit.badRows : Exit.noInput
        case let error as ImportError:
            printError("wb \(command): \(error)")
            return Exit.noInput
        case let error as SystemError:
            printError("wb \(command): \(error)")
            return Exit.writeFailed
        case is CancellationError:
            printError("wb \(command): interrupted")
            return Exit.cancelled
        default:
            printError("wb \(command): \(error)")
            return ExitCode.failure
        }
    }
}

extension Exit {
    static let statementFailed = ExitCode(1)
    static let busy = ExitCode(9)

    /// The exit code for a lakehouse failure.
    static func lakehouse(_ code: LakehouseError.Code) -> ExitCode {
        switch code {
        case .timedOut: cellTimeout
        case .cancelled: cancelled
        case .busy: busy
        case .storage: domainUnavailable
        case .denied: denied
        default: statementFailed
        }
    }

    static let lakehouseHelp = """
        Exit codes: 0 success; 1 the statement failed (bad SQL, unknown name, constraint, read-only, expired snapshot); \
        4 it timed out; 9 another writer held the lakehouse too long; 21 the access policy does not allow it; \
        23 the domain cannot be opened or read; \
        64 bad usage; 130 interrupted.
        """
}

/// Turns `wb --home PATH <command> ...` into `WB_HOME=PATH wb <command> ...`, so --home works before any command.
enum GlobalOptions {
    static func extractHome(_ arguments: [String]) -> [String] {
        var rest = Array(arguments.dropFirst())
        var index = 0
        while index < rest.count, rest[index].hasPrefix("-") {
            if rest[index] == "--home", index + 1 < rest.count {
                setenv("WB_HOME", rest[index + 1], 1)
                rest.removeSubrange(index...(index + 1))
                continue
            }
            if rest[index].hasPrefix("--home=") {
                setenv("WB_HOME", String(rest[index].dropFirst("--home=".count)), 1)
                rest.remove(at: index)
                continue
            }
            index += 1
        }
        return rest
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension LakehouseClient {
    /// The principal to run as: the current user, or `user` when the current user holds
    /// `governance:impersonate` for them (checked and audited; refused with exit 21).
    func principal(impersonating user: String?) throws -> Principal {
        let me = Environment.userName
        guard let user, user != me else { return .currentUser }
        do {
            let decision = try governance.authorize(
                user: me, action: "governance:impersonate", resource: "user:\(user)", detail: "wb \(command) --as \(user)")
            try governance.audit.flush()
            guard decision.allowed else {
                printError("wb \(command): \(me) may not run as \(user): \(decision.reason)")
                throw Exit.denied
            }
        } catch let error as GovernanceError {
            printError("wb \(command): \(error)")
            throw Exit.domainUnavailable
        }
        return Principal(.user, user)
    }
}

/// SIGINT and SIGTERM for the lakehouse requests of this process: watched once, each running request
/// registering what cancels it (a benchmark sends thousands; two signal sources made and cancelled per
/// request were a measurable part of a point lookup). As before, a signal while no request runs is ignored.
final class RequestSignals: Sendable {
    static let shared = RequestSignals()

    private let running = Mutex<(next: Int, handlers: [Int: @Sendable () -> Void])>((0, [:]))
    private let watcher = Mutex<SignalWatcher?>(nil)

    /// Calls `cancel` when SIGINT or SIGTERM arrives, until `unregister` is called with the returned id.
    func register(_ cancel: @escaping @Sendable () -> Void) -> Int {
        watcher.withLock { watcher in
            if watcher == nil {
                watcher = SignalWatcher([SIGINT, SIGTERM]) { [weak self] in self?.cancelAll() }
            }
        }
        return running.withLock { state in
            defer { state.next += 1 }
            state.handlers[state.next] = cancel
            return state.next
        }
    }

    func unregister(_ id: Int) {
        _ = running.withLock { $0.handlers.removeValue(forKey: id) }
    }

    private func cancelAll() {
        for cancel in running.withLock({ Array($0.handlers.values) }) { cancel() }
    }
}
