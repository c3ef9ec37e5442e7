#if canImport(Glibc)
import Glibc
#endif
public import CoreSupport
public import Storage

/// One session as the registry records it: a notebook and its running kernel.
public struct SessionRecord: Sendable, Equatable {
    /// Where a session is in its life.
    public enum State: String, Sendable {
        /// The kernel is being started (on-start scripts have run).
        case starting
        /// The kernel runs and a host (or a TUI) watches it.
        case running
        /// Someone claimed the session to stop it.
        case stopping
        /// An attached TUI asked for a new kernel process; the host starts it on the same connection.
        case restarting
    }

    public var id: String
    /// The workspace folder (the one holding `.wb/`).
    public var workspace: String
    /// The notebook's absolute path.
    public var notebook: String
    public var kernelName: String
    /// The kernel process, when started.
    public var kernel: ProcessIdentity?
    /// The kernel's connection file, when started.
    public var connectionFile: String?
    /// The process that owns the kernel connection (a session host or `wb open`).
    public var host: ProcessIdentity?
    public var state: State
    /// Unix seconds.
    public var startedAt: Double
    /// Unix seconds of the last activity that counts (Jupyter's `last_activity`).
    public var lastActivity: Double
    /// The kernel's `execution_state` as its IOPub status messages said: starting, idle or busy.
    public var executionState: String
    /// Live clients attached (TUIs), filled in by `list`.
    public var clients: Int = 0
    /// The live clients themselves, filled in by `list` (signalled by `SessionStopper` to save their edits).
    public var clientProcesses: [ProcessIdentity] = []
    /// When the culler will stop the session unless there is activity first (Unix seconds), once it warned attached clients.
    public var cullWarningUntil: Double? = nil

    public init(
        id: String = Identifier.uuid(), workspace: String, notebook: String, kernelName: String, kernel: ProcessIdentity? = nil,
        connectionFile: String? = nil, host: ProcessIdentity? = nil, state: State = .starting, startedAt: Double = Clock.now(),
        lastActivity: Double? = nil, executionState: String = "starting"
    ) {
        self.id = id
        self.workspace = workspace
        self.notebook = notebook
        self.kernelName = kernelName
        self.kernel = kernel
        self.connectionFile = connectionFile
        self.host = host
        self.state = state
        self.startedAt = startedAt
        self.lastActivity = lastActivity ?? startedAt
        self.executionState = executionState
    }

    /// Seconds since the last activity at `now`.
    public func idleSeconds(now: Double) -> Double { max(0, now - lastActivity) }

    /// The record as `wb sessions list --json` prints it.
    public func json(now: Double) -> JSON {
        [
            "id": .string(id), "workspace": .string(workspace), "notebook": .string(notebook), "kernel": .string(kernelName),
            "pid": kernel.map { .int(Int($0.pid)) } ?? .null, "host_pid": host.map { .int(Int($0.pid)) } ?? .null,
            "connection_file": connectionFile.map(JSON.string) ?? .null, "state": .string(state.rawValue),
            "execution_state": .string(executionState), "started": .string(Clock.iso8601(startedAt)),
            "last_activity": .string(Clock.iso8601(lastActivity)), "clients": .int(clients),
            "idle_seconds": .double((idleSeconds(now: now) * 10).rounded() / 10),
            "cull_warning_until": cullWarningUntil.map { .string(Clock.iso8601($0)) } ?? .null,
        ]
    }
}

/// A problem with the session registry, with what and where.
public struct LifecycleError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The registry (the domain's sessions store) cannot be opened, read or written.
        case registry
        /// No session has this id.
        case noSuchSession
        /// A lifecycle config file is invalid.
        case invalidConfig
        /// A lifecycle script failed or timed out.
        case scriptFailed
        /// A kernel could not be started or stopped.
        case kernel
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The sessions of a domain, in its `sessions.db` store; safe for many `wb` processes at once.
///
/// Every change is one SQLite transaction (writes take the lock at once, `BEGIN IMMEDIATE`), so
/// two processes never interleave half-changes; claiming a session to stop or clean it is a
/// conditional update, so when two cullers race exactly one of them acts.
public final class SessionRegistry: Sendable {
    /// The domain whose registry this is.
    public let domain: Domain
    let pool: DatabasePool

    /// Opens the registry of `domain`, creating its tables on first use.
    public init(domain: Domain) throws(LifecycleError) {
        self.domain = domain
        do {
            pool = try domain.database(.sessions, migrator: SessionRegistry.migrator)
        } catch {
            throw LifecycleError(.registry, "cannot open the session registry: \(error)")
        }
    }

    /// The sessions store's migrations: the domain's base ones, then the registry's tables.
    public static var migrator: Migrator {
        var migrator = Domain.Store.sessions.migrator
        migrator.register("lifecycle-sessions") { db in
            try db.execute(
                """
                CREATE TABLE sessions (
                    id TEXT PRIMARY KEY NOT NULL,
                    workspace TEXT NOT NULL,
                    notebook TEXT NOT NULL,
                    kernel_name TEXT NOT NULL,
                    kernel_pid INTEGER, kernel_start INTEGER,
                    connection_file TEXT,
                    host_pid INTEGER, host_start INTEGER,
                    state TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    last_activity REAL NOT NULL,
                    execution_state TEXT NOT NULL
                )
                """)
            try db.execute(
                """
                CREATE TABLE session_clients (
                    session_id TEXT NOT NULL,
                    pid INTEGER NOT NULL, start_time INTEGER NOT NULL,
                    attached_at REAL NOT NULL,
                    PRIMARY KEY (session_id, pid)
                )
                """)
        }
        // Set when the culler warned attached TUIs that it will stop the session; cleared by activity.
        migrator.register("lifecycle-cull-warning") { db in
            try db.execute("ALTER TABLE sessions ADD COLUMN cull_warning_until REAL")
        }
        return migrator
    }

    private func failure(_ action: String, _ error: any Error) -> LifecycleError {
        LifecycleError(.registry, "cannot \(action) in the session registry \(pool.path): \(error)")
    }

    /// Whether the registry's file still exists (a session host whose domain was deleted stops its kernel and ends).
    public var exists: Bool { FileIO.exists(pool.path) }

    /// Adds a session.
    public func register(_ record: SessionRecord) throws(LifecycleError) {
        do {
            try pool.write { db in
                try db.execute(
                    """
                    INSERT INTO sessions (id, workspace, notebook, kernel_name, kernel_pid, kernel_start, connection_file,
                        host_pid, host_start, state, started_at, last_activity, execution_state)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        record.id, record.workspace, record.notebook, record.kernelName, record.kernel.map { Int64($0.pid) },
                        record.kernel?.startTime, record.connectionFile, record.host.map { Int64($0.pid) }, record.host?.startTime,
                        record.state.rawValue, record.startedAt, record.lastActivity, record.executionState,
                    ])
            }
        } catch {
            throw failure("register session \(record.id)", error)
        }
    }

    /// Records the kernel a starting session got, and marks it running.
    public func markRunning(_ id: String, kernel: ProcessIdentity, connectionFile: String, host: ProcessIdentity, at now: Double = Clock.now())
        throws(LifecycleError)
    {
        do {
            try pool.write { db in
                try db.execute(
                    """
                    UPDATE sessions SET kernel_pid = ?, kernel_start = ?, connection_file = ?, host_pid = ?, host_start = ?,
                        state = 'running', last_activity = ?, execution_state = 'idle' WHERE id = ?
                    """,
                    [Int64(kernel.pid), kernel.startTime, connectionFile, Int64(host.pid), host.startTime, now, id])
            }
        } catch {
            throw failure("mark session \(id) running", error)
        }
    }

    /// Records activity: the time it happened and, when known, the kernel's execution state.
    public func recordActivity(_ id: String, at time: Double = Clock.now(), executionState: String? = nil) throws(LifecycleError) {
        do {
            try pool.write { db in
                // Activity newer than any before answers a cull warning.
                try db.execute(
                    "UPDATE sessions SET cull_warning_until = NULL WHERE id = ? AND cull_warning_until IS NOT NULL AND last_activity < ?",
                    [id, time])
                if let executionState {
                    try db.execute(
                        "UPDATE sessions SET last_activity = max(last_activity, ?), execution_state = ? WHERE id = ?",
                        [time, executionState, id])
                } else {
                    try db.execute("UPDATE sessions SET last_activity = max(last_activity, ?) WHERE id = ?", [time, id])
                }
            }
        } catch {
            throw failure("record activity of session \(id)", error)
        }
    }

    /// Attaches a client (a TUI showing the session); a cull-connected-off culler keeps the session while it lives.
    public func attach(_ id: String, client: ProcessIdentity = .current, at now: Double = Clock.now()) throws(LifecycleError) {
        do {
            try pool.write { db in
                try db.execute(
                    "INSERT OR REPLACE INTO session_clients (session_id, pid, start_time, attached_at) VALUES (?, ?, ?, ?)",
                    [id, Int64(client.pid), client.startTime, now])
                try db.execute("UPDATE sessions SET last_activity = max(last_activity, ?) WHERE id = ?", [now, id])
            }
        } catch {
            throw failure("attach a client to session \(id)", error)
        }
    }

    /// Records the culler's warning: the session will be stopped at `until` (Unix seconds) unless there is activity first.
    public func warnCull(_ id: String, until: Double) throws(LifecycleError) {
        do {
            try pool.write { db in
                try db.execute("UPDATE sessions SET cull_warning_until = ? WHERE id = ? AND cull_warning_until IS NULL", [until, id])
            }
        } catch {
            throw failure("record a cull warning for session \(id)", error)
        }
    }

    /// Withdraws a cull warning (the session was active again).
    public func clearCullWarning(_ id: String) throws(LifecycleError) {
        do {
            try pool.write { db in try db.execute("UPDATE sessions SET cull_warning_until = NULL WHERE id = ?", [id]) }
        } catch {
            throw failure("clear the cull warning of session \(id)", error)
        }
    }

    /// Marks a running session as restarting (its host starts a new kernel process when the old one exits); false if it was not running.
    public func requestRestart(_ id: String) throws(LifecycleError) -> Bool {
        do {
            return try pool.write { db in
                try db.execute("UPDATE sessions SET state = 'restarting' WHERE id = ? AND state = 'running'", [id])
                return db.changesCount == 1
            }
        } catch {
            throw failure("mark session \(id) restarting", error)
        }
    }

    /// The live session of the notebook at `notebookPath` (absolute), if one runs and is not being stopped.
    public func session(notebook notebookPath: String) throws(LifecycleError) -> SessionRecord? {
        try list().last { $0.notebook == notebookPath && $0.state != .stopping && !SessionRegistry.isDead($0) }
    }

    /// Detaches a client.
    public func detach(_ id: String, client: ProcessIdentity = .current) throws(LifecycleError) {
        do {
            try pool.write { db in
                try db.execute("DELETE FROM session_clients WHERE session_id = ? AND pid = ?", [id, Int64(client.pid)])
            }
        } catch {
            throw failure("detach a client from session \(id)", error)
        }
    }

    /// Every session, oldest first, with its count of live clients (dead clients are dropped on the way).
    public func list() throws(LifecycleError) -> [SessionRecord] {
        let (rows, clientRows): ([Row], [Row])
        do {
            (rows, clientRows) = try pool.read { db in
                (try db.fetchAll("SELECT * FROM sessions ORDER BY started_at, id"),
                 try db.fetchAll("SELECT session_id, pid, start_time FROM session_clients"))
            }
        } catch {
            throw failure("list sessions", error)
        }
        var live: [String: [ProcessIdentity]] = [:]
        var gone: [(String, Int64)] = []
        for row in clientRows {
            let id = row.value("session_id", as: String.self) ?? ""
            let pid = row.value("pid", as: Int64.self) ?? 0
            let client = ProcessIdentity(pid: Int32(truncatingIfNeeded: pid), startTime: row.value("start_time", as: Int64.self) ?? 0)
            if client.isAlive {
                live[id, default: []].append(client)
            } else {
                gone.append((id, pid))
            }
        }
        if !gone.isEmpty {
            do {
                try pool.write { db in
                    for (id, pid) in gone { try db.execute("DELETE FROM session_clients WHERE session_id = ? AND pid = ?", [id, pid]) }
                }
            } catch {
                throw failure("drop dead clients", error)
            }
        }
        return rows.map { row in
            var record = SessionRegistry.record(row)
            record.clientProcesses = live[record.id] ?? []
            record.clients = record.clientProcesses.count
            return record
        }
    }

    /// The session `id`, or nil.
    public func session(_ id: String) throws(LifecycleError) -> SessionRecord? {
        try list().first { $0.id == id }
    }

    /// Claims a session for stopping: true for exactly one caller, however many race (it must not be stopping already).
    public func claim(_ id: String) throws(LifecycleError) -> Bool {
        do {
            return try pool.write { db in
                try db.execute("UPDATE sessions SET state = 'stopping' WHERE id = ? AND state != 'stopping'", [id])
                return db.changesCount == 1
            }
        } catch {
            throw failure("claim session \(id)", error)
        }
    }

    /// Removes a session and its clients; true when this call removed it (false when someone else did first).
    @discardableResult
    public func remove(_ id: String) throws(LifecycleError) -> Bool {
        do {
            return try pool.write { db in
                try db.execute("DELETE FROM sessions WHERE id = ?", [id])
                let removed = db.changesCount == 1
                try db.execute("DELETE FROM session_clients WHERE session_id = ?", [id])
                return removed
            }
        } catch {
            throw failure("remove session \(id)", error)
        }
    }

    /// Whether a record's kernel is gone: its process died (or its pid now belongs to another process).
    ///
    /// A session still starting counts as live while its host runs, so a kernel that is slow to start is not cleaned.
    public static func isDead(_ record: SessionRecord) -> Bool {
        if let kernel = record.kernel { return !kernel.isAlive }
        if let host = record.host { return !host.isAlive }
        return true
    }

    static func record(_ row: Row) -> SessionRecord {
        func identity(_ pid: String, _ start: String) -> ProcessIdentity? {
            guard let p = row.value(pid, as: Int64.self) else { return nil }
            return ProcessIdentity(pid: Int32(truncatingIfNeeded: p), startTime: row.value(start, as: Int64.self) ?? 0)
        }
        var record = SessionRecord(
            id: row.value("id") ?? "", workspace: row.value("workspace") ?? "", notebook: row.value("notebook") ?? "",
            kernelName: row.value("kernel_name") ?? "", kernel: identity("kernel_pid", "kernel_start"),
            connectionFile: row.value("connection_file"), host: identity("host_pid", "host_start"),
            state: SessionRecord.State(rawValue: row.value("state") ?? "") ?? .running, startedAt: row.value("started_at") ?? 0,
            lastActivity: row.value("last_activity") ?? 0, executionState: row.value("execution_state") ?? "unknown")
        record.cullWarningUntil = row.value("cull_warning_until", as: Double.self)
        return record
    }
}
