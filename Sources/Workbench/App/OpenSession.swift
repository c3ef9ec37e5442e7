import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Kernels
import Lifecycle
import Storage
import Synchronization
import TUI

/// `wb open`'s session in the registry: its kernel lives in a session host, the TUI is a client that can detach.
///
/// Opening a notebook joins the running session of that notebook if there is one (re-attach),
/// else starts one (lifecycle scripts, then `wb sessions host`). The TUI registers itself as the
/// session's client, reports user input as activity, and shows the culler's countdown, which it
/// learns by reading the session's `cull_warning_until` once a second. Quitting stops the kernel
/// and removes the session; detaching (Ctrl-D, or the terminal closing) leaves the kernel to its
/// host, after writing the unsaved edits to the recovery file and a marker to the outputs journal
/// naming the cells left running, so the next `wb open` shows what they printed meanwhile.
final class OpenSession: Sendable {
    let registry: SessionRegistry
    /// The notebook's absolute path.
    let notebook: String
    let kernelName: String
    /// The session this TUI is a client of, once known.
    private let current = Mutex<String?>(nil)
    /// The session host this TUI launched, if it did.
    private let launchedHost = Mutex<ChildProcess?>(nil)

    /// The session of `notebook` (absolute) in `registry`, to be found or started.
    init(registry: SessionRegistry, notebook: String, kernelName: String) {
        self.registry = registry
        self.notebook = notebook
        self.kernelName = kernelName
    }

    var id: String? { current.withLock { $0 } }
    var home: String { registry.domain.path }
    var journal: String { OutputsJournal.path(for: notebook, home: home) }

    /// A running session of this notebook (to re-attach to), or nil.
    func existing() throws(LifecycleError) -> SessionRecord? {
        try registry.session(notebook: notebook)
    }

    /// Becomes a client of `record` before its kernel is joined (so the cull warning and stop find this TUI early).
    func adopt(_ record: SessionRecord) {
        current.withLock { $0 = record.id }
        try? registry.attach(record.id)
        let event: JSON = ["at": .string(Clock.iso8601()), "session": .string(record.id), "event": "attached"]
        OutputsJournal.append(event.serialized(.compact) + "\n", to: journal)
    }

    /// Joins the session's kernel: the adopted session's, or a new session's (started here in the background).
    func connect() async throws -> KernelManager {
        let record: SessionRecord
        if let id, let found = try registry.session(id) {
            record = found
        } else {
            do {
                record = try await SessionLauncher.start(
                    registry: registry, notebook: notebook, kernelName: kernelName, timeout: 120, setUpWorkspace: false,
                    launched: { host in self.launchedHost.withLock { $0 = host } }
                ) { _ in }
            } catch {
                throw KernelError(.launchFailed, error.message)
            }
            adopt(record)
        }
        guard let connectionFile = record.connectionFile, let pid = record.kernel?.pid else {
            throw KernelError(.launchFailed, "session \(record.id.prefix(8)) has no running kernel")
        }
        let spec = try KernelSpecFinder().spec(named: record.kernelName)
        let registry = self.registry, id = record.id
        let kernel = try KernelManager.connect(
            spec: spec, connectionFile: connectionFile, pid: pid,
            willRestart: { _ = try? registry.requestRestart(id) },
            respawn: { previous in try await OpenSession.waitForRestart(registry: registry, id: id, previous: previous) })
        return kernel
    }

    /// Waits (up to 2 minutes) until the host has started the new kernel process; returns its pid.
    static func waitForRestart(registry: SessionRegistry, id: String, previous: Int32) async throws -> Int32 {
        let deadline = Clock.monotonic() + 120
        while Clock.monotonic() < deadline {
            guard let record = try registry.session(id) else {
                throw KernelError(.died, "the session ended during the restart (see \(FilePath.join(registry.domain.path, "logs", "session-\(id).log")))")
            }
            if record.state == .running, let kernel = record.kernel, kernel.pid != previous, kernel.isAlive { return kernel.pid }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw KernelError(.notReady, "the session host did not start a new kernel within 120 s")
    }

    /// The link the TUI reports through.
    func link() -> NotebookApp.SessionLink {
        let registry = self.registry
        return NotebookApp.SessionLink(
            userActivity: { [self] in
                if let id { try? registry.recordActivity(id) }
            },
            keepAlive: { [self] in
                guard let id else { return }
                try? registry.recordActivity(id)
                try? registry.clearCullWarning(id)
            })
    }

    /// Reads the session's cull warning once a second and tells the TUI when it changes, until cancelled.
    func watchWarnings(_ queue: EventQueue) -> Task<Void, Never> {
        Task { [self] in
            var shown: Double? = nil
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let id, let record = try? registry.session(id) else { continue }
                if record.cullWarningUntil != shown {
                    shown = record.cullWarningUntil
                    queue.post(.cullWarning(secondsLeft: shown.map { $0 - Clock.now() }))
                }
            }
        }
    }

    /// Whether someone (`wb sessions stop`, the culler) claimed the session to stop it.
    var isBeingStopped: Bool {
        guard let id, let record = try? registry.session(id) else { return true }
        return record.state == .stopping
    }

    /// Leaves the session running: unsaved edits to the recovery file, a marker naming the unfinished cells to the journal.
    func detach(state: NotebookApp.State, unfinished: [Int: (request: String, lastSeen: String?)], home: String) {
        if state.isDirty { try? Recovery.write(state.notebookForSave, for: state.path, home: home) }
        guard let id else { return }
        var cells: [JSON] = []
        for (key, run) in unfinished.sorted(by: { $0.key < $1.key }) {
            guard let index = state.cells.firstIndex(where: { $0.key == key }) else { continue }
            cells.append(["index": .int(index), "request": .string(run.request), "last_seen": run.lastSeen.map(JSON.string) ?? .null])
        }
        let marker: JSON = ["at": .string(Clock.iso8601()), "session": .string(id), "event": "detached", "cells": .array(cells)]
        OutputsJournal.append(marker.serialized(.compact) + "\n", to: journal)
        try? registry.detach(id)
    }

    /// Ends the session after the TUI stopped its kernel: the entry and the journal go.
    ///
    /// A host this TUI launched is told to go too: after a quit while the kernel was still starting,
    /// nobody else would stop it (its kernel follows it, by ipykernel's parent poller).
    func ended() {
        if let host = launchedHost.withLock({ $0 }), host.isRunning, ProcessIdentity.of(host.pid) != nil {
            host.signal(SIGTERM, group: false)
        }
        guard let id else { return }
        try? registry.detach(id)
        _ = try? registry.remove(id)
        unlink(journal)
    }

    /// Lets go without stopping anything (the session is being stopped by someone else).
    func leave() {
        guard let id else { return }
        try? registry.detach(id)
    }

    // MARK: The journal

    /// The cells the last TUI of `session` left running when it detached, from its marker in the journal;
    /// nil when it did not detach (it crashed or was killed: then its recovery file is offered as after a crash).
    func detachedCells(session: String) -> [NotebookApp.DetachedCell]? {
        var last: JSON? = nil
        for line in journalLines() where line["session"]?.stringValue == session && line["event"] != nil { last = line }
        guard let last, last["event"]?.stringValue == "detached" else { return nil }
        return (last["cells"]?.arrayValue ?? []).compactMap { cell in
            guard let index = cell["index"]?.intValue, let request = cell["request"]?.stringValue else { return nil }
            return NotebookApp.DetachedCell(index: index, requestID: request, lastSeen: cell["last_seen"]?.stringValue)
        }
    }

    /// The journaled messages of `cells` that the detached TUI had not shown: those after each cell's last seen output.
    func unseenMessages(_ cells: [NotebookApp.DetachedCell]) -> [KernelMessage] {
        var waiting: [String: String] = [:]
        var wanted = Set<String>()
        for cell in cells {
            wanted.insert(cell.requestID)
            if let seen = cell.lastSeen { waiting[cell.requestID] = seen }
        }
        var messages: [KernelMessage] = []
        for line in journalLines() {
            guard let parent = line["parent"]?.stringValue, wanted.contains(parent), let msgID = line["msg_id"]?.stringValue,
                let type = line["msg_type"]?.stringValue
            else { continue }
            if let seen = waiting[parent] {
                if seen == msgID { waiting[parent] = nil }
                // Messages up to the last shown one: on screen already, except the start and end of the cell.
                if type != "status" && type != "execute_input" { continue }
            }
            messages.append(
                KernelMessage(
                    header: ["msg_id": .string(msgID), "msg_type": .string(type)],
                    parentHeader: ["msg_id": .string(parent), "msg_type": "execute_request"],
                    content: line["content"]?.objectValue ?? [:]))
        }
        return messages
    }

    private func journalLines() -> [JSON] {
        guard let text = try? FileIO.readText(journal) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSON.parse(String($0)) }
    }
}
