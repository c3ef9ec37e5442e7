#if canImport(Glibc)
import Glibc
#endif
import CoreSupport
import Kernels

/// Stops a session's kernel from any process: `shutdown_request` over its connection file, then SIGTERM, then SIGKILL.
public enum SessionStopper {
    /// How a kernel ended.
    public enum Outcome: String, Sendable {
        /// It answered the `shutdown_request` and exited.
        case shutdownRequest = "shutdown_request"
        /// It exited on SIGTERM.
        case terminated = "SIGTERM"
        /// It had to be killed.
        case killed = "SIGKILL"
        /// It was already gone.
        case alreadyGone = "already gone"
    }

    /// Stops `record`'s kernel and removes the session (and its connection file).
    ///
    /// Attached TUIs go first: each gets SIGTERM, on which it writes the notebook's unsaved edits
    /// to its recovery file and exits, leaving the kernel to the caller (who claimed the session);
    /// they get twice `timeout` to do it. A detached session's edits were written when it detached.
    /// Then the kernel: `force` skips the polite request; each step waits up to `timeout` seconds.
    public static func stop(_ record: SessionRecord, registry: SessionRegistry, force: Bool = false, timeout: Double = 5) async
        -> Outcome
    {
        let clients = record.clientProcesses.filter { $0.isAlive && $0.pid != getpid() }
        for client in clients { kill(client.pid, SIGTERM) }
        for client in clients { _ = await waitGone(client, timeout: 2 * timeout) }
        var outcome = Outcome.alreadyGone
        if let kernel = record.kernel, kernel.isAlive {
            outcome = await stopProcess(kernel, connectionFile: force ? nil : record.connectionFile, timeout: timeout)
        }
        removeConnectionFile(record.connectionFile)
        _ = try? registry.remove(record.id)
        return outcome
    }

    static func stopProcess(_ kernel: ProcessIdentity, connectionFile: String?, timeout: Double) async -> Outcome {
        if let connectionFile, let info = try? ConnectionInfo.read(path: connectionFile), let client = try? KernelClient(connection: info) {
            // A request sent before the new control socket has connected can be lost, which left a
            // kernel running until SIGTERM: ask again each second until it goes or the step times out
            // (ipykernel takes a repeated shutdown_request as the same request).
            var requests = [client.send("shutdown_request", content: ["restart": false], channel: .control).msgID]
            let deadline = Clock.monotonic() + timeout
            var gone = false
            while !gone {
                let left = deadline - Clock.monotonic()
                gone = await waitGone(kernel, timeout: max(0, min(1, left)))
                if gone || left <= 1 { break }
                requests.append(client.send("shutdown_request", content: ["restart": false], channel: .control).msgID)
            }
            for id in requests { client.finish(id) }
            client.close()
            if gone {
                killGroup(kernel)
                return .shutdownRequest
            }
        }
        guard kernel.isAlive else { return .shutdownRequest }
        // The kernel leads its own process group (it was started in a new session): signal the group.
        if killpg(kernel.pid, SIGTERM) != 0 { kill(kernel.pid, SIGTERM) }
        if await waitGone(kernel, timeout: timeout) {
            killGroup(kernel)
            return .terminated
        }
        if kernel.isAlive {
            if killpg(kernel.pid, SIGKILL) != 0 { kill(kernel.pid, SIGKILL) }
        }
        _ = await waitGone(kernel, timeout: max(timeout, 10))
        return .killed
    }

    /// Kills what the kernel left in its process group (subprocesses of a cell), as KernelManager does.
    private static func killGroup(_ kernel: ProcessIdentity) {
        if !kernel.isAlive { killpg(kernel.pid, SIGKILL) }
    }

    static func waitGone(_ process: ProcessIdentity, timeout: Double) async -> Bool {
        let deadline = Clock.monotonic() + timeout
        while Clock.monotonic() < deadline {
            if !process.isAlive { return true }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return !process.isAlive
    }

    /// Removes a connection file and, for the `ipc` transport, its sockets (a killed kernel cannot).
    static func removeConnectionFile(_ file: String?) {
        guard let file, FileIO.exists(file) else { return }
        if let info = try? ConnectionInfo.read(path: file), info.transport == "ipc" {
            for channel in Channel.allCases { unlink(String(info.endpoint(for: channel).dropFirst("ipc://".count))) }
        }
        unlink(file)
    }
}
