import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Kernels
import Lifecycle
import TUI

/// Attaches each notebook tab of `wb open` to its own session (`OpenSession`): re-attached if one is running, else started.
enum NotebookHosting {
    /// Another wb process already showing `path`'s session, and that session's id.
    static func otherClient(of path: String, registry: SessionRegistry) -> (pid: Int32, session: String)? {
        guard let record = try? OpenSession(registry: registry, notebook: FilePath.absolute(path), kernelName: "").existing(),
            let other = record.clientProcesses.first(where: { $0.pid != getpid() })
        else { return nil }
        return (other.pid, record.id)
    }

    /// The kernel for `notebook`'s tab: its session's kernel when the registry is open (re-attaching takes up the
    /// cells left running and the session's kernel), else a kernel of this process's own.
    static func attach(
        _ notebook: inout NotebookApp.State, kernelName: String, queue: EventQueue, registry: SessionRegistry?, home: String
    ) -> TUI.Workspace.NotebookKernel {
        let path = FilePath.absolute(notebook.path)
        var kernelName = kernelName
        let openSession = registry.map { OpenSession(registry: $0, notebook: path, kernelName: kernelName) }
        var adopted: [String: Int] = [:]
        var journal: @Sendable () -> [KernelMessage] = { [] }
        if let link = openSession, let record = try? link.existing() {
            if let other = record.clientProcesses.first(where: { $0.pid != getpid() }) {
                notebook.say(
                    "\(notebook.fileName) is open in another wb (pid \(other.pid)): no kernel here; detach there with Ctrl-D", error: true)
                notebook.kernel = .dead("open in another wb")
                return TUI.Workspace.NotebookKernel(session: nil)
            }
            kernelName = record.kernelName
            notebook.kernelName = record.kernelName
            if let cells = link.detachedCells(session: record.id) {
                adopted = notebook.reattach(cells)
                journal = { link.unseenMessages(cells) }
            }
            link.adopt(record)
        }
        var configuration = KernelSession.Configuration(
            kernelName: kernelName, directory: FilePath.directory(of: path), kernelSetup: { SQLMagic.kernelSetup(for: $0, home: home) })
        if let link = openSession {
            configuration.attachment = NotebookApp.Attachment(connect: { try await link.connect() }, journal: journal)
            configuration.adoptedCells = adopted
        }
        let session = KernelSession(configuration: configuration, queue: queue)
        let warnings = openSession?.watchWarnings(queue)
        let hosted = openSession
        return TUI.Workspace.NotebookKernel(session: session, link: hosted?.link()) { state, how in
            warnings?.cancel()
            switch how {
            case .detach, .hungUp:
                guard let link = hosted else { fallthrough }
                // The host keeps the kernel; the edits and a marker of the cells left running are written.
                let unfinished = await session.detach()
                // What the kernel posted after the loop's last drain is in the marker's "last shown": apply it too.
                var final = state
                for event in queue.drain() { final = NotebookApp.update(final, .session(event)) }
                link.detach(state: final, unfinished: unfinished, home: home)
                if how == .detach, let id = link.id {
                    print(
                        "Detached from \(state.path): its kernel keeps running (session \(id.prefix(8))).\n"
                            + "wb open \(state.path) re-attaches; wb sessions stop \(id.prefix(8)) stops it.")
                }
            case .stopped where hosted?.isBeingStopped == true:
                // `wb sessions stop` or the culler asked (SIGTERM): the edits are in the recovery file; the kernel is theirs to stop.
                await session.release()
                hosted?.leave()
            default:
                await session.shutdown()
                hosted?.ended()
            }
        }
    }
}
