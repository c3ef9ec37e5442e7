import CoreSupport
internal import CZMQ
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The kernel side of the Jupyter messaging protocol: binds the five channels of a
/// connection file and answers clients, leaving the language to a `KernelBackend`.
///
/// One I/O thread owns the sockets (ZeroMQ sockets are not thread-safe): it echoes the
/// heartbeat, verifies every message's signature (a bad one is counted and dropped, never
/// answered), answers the control channel itself (so `interrupt_request` and
/// `shutdown_request` get through while code runs) and queues shell requests for one
/// worker thread, which calls the backend and queues replies and IOPub messages back.
/// Every request is framed by `status: busy` and `status: idle` on IOPub.
public final class KernelServer: Sendable {
    public let connection: ConnectionInfo
    public let session: MessageSession
    private let backend: any KernelBackend
    private let sockets: ServerSockets
    private let shared = Mutex(Shared())
    private let work = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let topicPrefix: String

    private struct Shared {
        var outbox: [(ServerChannel, [[UInt8]])] = []
        var queue: [(sequence: Int, message: KernelMessage)] = []
        var received = 0
        /// Execute requests received up to this sequence number are aborted (after an error with `stop_on_error`).
        var abortThrough = 0
        var stopping = false
        var stopped = false
        var rejected = 0
        var shutdownRequested = false
        var executionCount = 0
        var history: [(line: Int, input: String, output: String?)] = []
    }

    enum ServerChannel { case shell, control, stdin, iopub }

    /// Binds the channels of `connection` (TCP or IPC) for `backend`; call `run()` or `start()` to serve.
    public init(connection: ConnectionInfo, backend: any KernelBackend) throws(KernelError) {
        self.connection = connection
        self.backend = backend
        session = MessageSession(key: connection.key, username: "kernel")
        topicPrefix = "kernel.\(session.sessionID)."
        do {
            sockets = try ServerSockets(connection: connection)
        } catch {
            throw KernelError(.launchFailed, "cannot bind the kernel's channels: \(error)")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw KernelError(.launchFailed, "cannot create a pipe") }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    /// Reads a connection file and binds its channels.
    public convenience init(connectionFile: String, backend: any KernelBackend) throws(KernelError) {
        try self.init(connection: try ConnectionInfo.read(path: connectionFile), backend: backend)
    }

    /// Serves on the calling thread until a `shutdown_request` or `stop()`.
    public func run() {
        Thread.start(name: "wb-kernel-work") { [self] in workLoop() }
        ioLoop()
        finished.signal()
    }

    /// Serves on background threads; returns at once.
    public func start() {
        Thread.start(name: "wb-kernel-serve") { [self] in run() }
    }

    /// Stops serving: queued replies are sent, then the sockets close.
    public func stop() {
        shared.withLock { $0.stopping = true }
        work.signal()
        wake()
    }

    /// Waits until the server has stopped (after `start()`); false if `timeout` seconds passed first.
    public func waitUntilStopped(timeout: Double) -> Bool {
        if shared.withLock({ $0.stopped }) { return true }
        guard finished.wait(timeout: .now() + timeout) == .success else { return false }
        finished.signal()
        return true
    }

    /// Whether a client asked the kernel to shut down.
    public var shutdownRequested: Bool { shared.withLock { $0.shutdownRequested } }

    /// Messages refused (bad signature or shape) since the server started.
    public var rejectedMessages: Int { shared.withLock { $0.rejected } }

    /// Shell requests received since the server started (for tests that must know a request is queued).
    var receivedRequests: Int { shared.withLock { $0.received } }

    /// Interrupts the running execution (as `interrupt_request` does); for SIGINT handlers' threads.
    public func interrupt() { backend.interrupt() }

    // MARK: Sending

    private func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    private func enqueue(_ channel: ServerChannel, _ message: KernelMessage) {
        let frames = session.serialize(message)
        shared.withLock { $0.outbox.append((channel, frames)) }
        wake()
    }

    private func reply(to request: KernelMessage, _ msgType: String, _ content: JSONObject, on channel: ServerChannel) {
        var message = session.message(msgType, content: content, parent: request.header)
        message.identities = request.identities
        enqueue(channel, message)
    }

    private func publish(_ msgType: String, _ content: JSONObject, parent: JSONObject) {
        var message = session.message(msgType, content: content, parent: parent)
        message.identities = [Array((topicPrefix + msgType).utf8)]
        enqueue(.iopub, message)
    }

    private func status(_ state: String, parent: JSONObject) {
        publish("status", ["execution_state": .string(state)], parent: parent)
    }

    // MARK: The I/O thread

    private func ioLoop() {
        status("starting", parent: [:])
        var drainBuffer = [UInt8](repeating: 0, count: 256)
        while true {
            var poller = ZMQPoller()
            let iShell = poller.add(sockets.shell)
            let iControl = poller.add(sockets.control)
            let iStdin = poller.add(sockets.stdin)
            let iHeartbeat = poller.add(sockets.heartbeat)
            let iWake = poller.add(fd: wakeRead)
            _ = poller.poll(timeoutMilliseconds: 1000)
            if poller.isReadable(iWake) {
                while Glibc.read(wakeRead, &drainBuffer, drainBuffer.count) > 0 {}
            }
            if poller.isReadable(iHeartbeat) {
                while let frames = try? sockets.heartbeat.receive() { _ = try? sockets.heartbeat.send(frames) }
            }
            if poller.isReadable(iControl) {
                while let message = receive(sockets.control) { handleControl(message) }
            }
            if poller.isReadable(iShell) {
                while let message = receive(sockets.shell) {
                    shared.withLock { s in
                        s.received += 1
                        s.queue.append((s.received, message))
                    }
                    work.signal()
                }
            }
            if poller.isReadable(iStdin) {
                while receive(sockets.stdin) != nil {}  // no backend asks for input yet
            }
            sendQueued()
            if shared.withLock({ $0.stopping }) { break }
        }
        sendQueued()
        sockets.close(lingerMilliseconds: 1000)
        shared.withLock { $0.stopped = true }
        work.signal()
        close(wakeRead)
        close(wakeWrite)
    }

    /// The next verified message on a socket, skipping (and counting) refused ones; nil when none is waiting.
    private func receive(_ socket: ZMQSocket) -> KernelMessage? {
        while let frames = try? socket.receive() {
            do {
                return try session.deserialize(frames)
            } catch {
                shared.withLock { $0.rejected += 1 }
            }
        }
        return nil
    }

    private func sendQueued() {
        let queued = shared.withLock { s in
            defer { s.outbox.removeAll(keepingCapacity: true) }
            return s.outbox
        }
        for (channel, frames) in queued {
            let socket: ZMQSocket
            switch channel {
            case .shell: socket = sockets.shell
            case .control: socket = sockets.control
            case .stdin: socket = sockets.stdin
            case .iopub: socket = sockets.iopub
            }
            _ = try? socket.send(frames)
        }
    }

    private func handleControl(_ request: KernelMessage) {
        status("busy", parent: request.header)
        switch request.msgType {
        case "kernel_info_request":
            reply(to: request, "kernel_info_reply", kernelInfoContent, on: .control)
        case "interrupt_request":
            backend.interrupt()
            reply(to: request, "interrupt_reply", ["status": "ok"], on: .control)
        case "shutdown_request":
            let restart = request.content["restart"]?.boolValue ?? false
            backend.interrupt()
            backend.shutdown(restart: restart)
            reply(to: request, "shutdown_reply", ["status": "ok", "restart": .bool(restart)], on: .control)
            shared.withLock {
                $0.shutdownRequested = true
                $0.stopping = true
            }
        default:
            break
        }
        status("idle", parent: request.header)
    }

    private var kernelInfoContent: JSONObject {
        let info = backend.info
        return [
            "status": "ok", "protocol_version": .string(MessageSession.protocolVersion),
            "implementation": .string(info.implementation), "implementation_version": .string(info.implementationVersion),
            "language_info": .object(info.languageInfo), "banner": .string(info.banner),
            "help_links": .array(info.helpLinks.map { ["text": .string($0.text), "url": .string($0.url)] }),
            "debugger": false,
        ]
    }

    // MARK: The worker thread

    private func workLoop() {
        while true {
            work.wait()
            let next = shared.withLock { s -> (Int, KernelMessage)? in
                guard !s.stopping, !s.queue.isEmpty else { return nil }
                let item = s.queue.removeFirst()
                return (item.sequence, item.message)
            }
            if let (sequence, message) = next {
                handleShell(message, sequence: sequence)
                continue
            }
            if shared.withLock({ $0.stopping }) { return }
        }
    }

    private func handleShell(_ request: KernelMessage, sequence: Int) {
        status("busy", parent: request.header)
        defer { status("idle", parent: request.header) }
        let content = request.content
        switch request.msgType {
        case "kernel_info_request":
            reply(to: request, "kernel_info_reply", kernelInfoContent, on: .shell)
        case "execute_request":
            execute(request, sequence: sequence)
        case "complete_request":
            let code = content["code"]?.stringValue ?? ""
            let cursor = content["cursor_pos"]?.intValue ?? code.unicodeScalars.count
            let completion = backend.complete(code: code, cursorPosition: cursor)
            reply(
                to: request, "complete_reply",
                [
                    "status": "ok", "matches": .array(completion.matches.map { .string($0) }),
                    "cursor_start": .int(completion.cursorStart), "cursor_end": .int(completion.cursorEnd),
                    "metadata": .object(completion.metadata),
                ], on: .shell)
        case "inspect_request":
            let code = content["code"]?.stringValue ?? ""
            let inspection = backend.inspect(
                code: code, cursorPosition: content["cursor_pos"]?.intValue ?? code.unicodeScalars.count,
                detailLevel: content["detail_level"]?.intValue ?? 0)
            reply(
                to: request, "inspect_reply",
                [
                    "status": "ok", "found": .bool(inspection.data != nil), "data": .object(inspection.data ?? [:]),
                    "metadata": .object(inspection.metadata),
                ], on: .shell)
        case "is_complete_request":
            let answer: JSONObject
            switch backend.isComplete(code: content["code"]?.stringValue ?? "") {
            case .complete: answer = ["status": "complete"]
            case .incomplete(let indent): answer = ["status": "incomplete", "indent": .string(indent)]
            case .invalid: answer = ["status": "invalid"]
            case .unknown: answer = ["status": "unknown"]
            }
            reply(to: request, "is_complete_reply", answer, on: .shell)
        case "history_request":
            reply(to: request, "history_reply", ["status": "ok", "history": .array(history(content))], on: .shell)
        case "comm_info_request":
            reply(to: request, "comm_info_reply", ["status": "ok", "comms": [:]], on: .shell)
        case "shutdown_request":
            let restart = content["restart"]?.boolValue ?? false
            backend.shutdown(restart: restart)
            reply(to: request, "shutdown_reply", ["status": "ok", "restart": .bool(restart)], on: .shell)
            shared.withLock {
                $0.shutdownRequested = true
                $0.stopping = true
            }
            wake()
        default:
            break  // comm messages and other requests this kernel does not serve
        }
    }

    private func execute(_ request: KernelMessage, sequence: Int) {
        let content = request.content
        let code = content["code"]?.stringValue ?? ""
        let silent = content["silent"]?.boolValue ?? false
        let storeHistory = silent ? false : (content["store_history"]?.boolValue ?? true)
        let stopOnError = content["stop_on_error"]?.boolValue ?? true
        let (aborted, count) = shared.withLock { s -> (Bool, Int) in
            if sequence <= s.abortThrough { return (true, s.executionCount) }
            if storeHistory { s.executionCount += 1 }
            return (false, s.executionCount)
        }
        if aborted {
            reply(to: request, "execute_reply", ["status": "aborted", "execution_count": .int(count)], on: .shell)
            return
        }
        if !silent { publish("execute_input", ["code": .string(code), "execution_count": .int(count)], parent: request.header) }
        let parent = request.header
        let output = KernelOutput { [self] msgType, content in publish(msgType, content, parent: parent) }
        let outcome = backend.execute(
            ExecuteRequest(
                code: code, silent: silent, storeHistory: storeHistory, allowStdin: content["allow_stdin"]?.boolValue ?? false,
                stopOnError: stopOnError, executionCount: count),
            output: output)
        switch outcome {
        case .ok(let result, let metadata):
            if let result, !silent {
                publish(
                    "execute_result",
                    ["execution_count": .int(count), "data": .object(result), "metadata": .object(metadata)], parent: parent)
            }
            if storeHistory {
                let text = result?["text/plain"]?.stringValue
                shared.withLock { $0.history.append((count, code, text)) }
            }
            reply(
                to: request, "execute_reply",
                ["status": "ok", "execution_count": .int(count), "user_expressions": [:], "payload": []], on: .shell)
        case .error(let name, let value, let traceback):
            let error: JSONObject = [
                "ename": .string(name), "evalue": .string(value), "traceback": .array(traceback.map { .string($0) }),
            ]
            if !silent { publish("error", error, parent: parent) }
            if storeHistory { shared.withLock { $0.history.append((count, code, nil)) } }
            if stopOnError {
                // Requests already sent behind this one were written expecting it to succeed.
                shared.withLock { $0.abortThrough = $0.received }
            }
            var replyContent = error
            replyContent["status"] = "error"
            replyContent["execution_count"] = .int(count)
            reply(to: request, "execute_reply", replyContent, on: .shell)
        }
    }

    /// The `history` list of a `history_request`: `tail`, `range` or `search` over this session's inputs.
    private func history(_ content: JSONObject) -> [JSON] {
        let entries = shared.withLock { $0.history }
        let withOutput = content["output"]?.boolValue ?? false
        var chosen: [(line: Int, input: String, output: String?)]
        switch content["hist_access_type"]?.stringValue ?? "range" {
        case "tail":
            let n = max(0, content["n"]?.intValue ?? 10)
            chosen = Array(entries.suffix(n))
        case "search":
            let pattern = content["pattern"]?.stringValue ?? "*"
            chosen = entries.filter { Glob.matches(pattern, $0.input) }
            if content["unique"]?.boolValue ?? false {
                var seen = Set<String>()
                chosen = chosen.reversed().filter { seen.insert($0.input).inserted }.reversed()
            }
            if let n = content["n"]?.intValue, n > 0 { chosen = Array(chosen.suffix(n)) }
        default:
            // Session 0 (or this session's number, 1) is the current one; earlier sessions are not kept.
            let sessionNumber = content["session"]?.intValue ?? 0
            guard sessionNumber == 0 || sessionNumber == 1 else { return [] }
            let start = content["start"]?.intValue ?? 1
            let stop = content["stop"]?.intValue
            chosen = entries.filter { $0.line >= start && (stop == nil || $0.line < stop!) }
        }
        return chosen.map { entry in
            let input: JSON = withOutput ? [.string(entry.input), entry.output.map { .string($0) } ?? .null] : .string(entry.input)
            return [1, .int(entry.line), input]
        }
    }
}

/// The five bound sockets of a kernel.
final class ServerSockets: @unchecked Sendable {
    // Used only by the server's I/O thread after init.
    let shell: ZMQSocket
    let control: ZMQSocket
    let stdin: ZMQSocket
    let iopub: ZMQSocket
    let heartbeat: ZMQSocket

    init(connection: ConnectionInfo) throws(ZMQError) {
        shell = try ZMQSocket(.router)
        control = try ZMQSocket(.router)
        stdin = try ZMQSocket(.router)
        iopub = try ZMQSocket(.pub)
        heartbeat = try ZMQSocket(.rep)
        iopub.setOption(ZMQ_SNDHWM, 0)
        try shell.bind(connection.endpoint(for: .shell))
        try control.bind(connection.endpoint(for: .control))
        try stdin.bind(connection.endpoint(for: .stdin))
        try iopub.bind(connection.endpoint(for: .iopub))
        try heartbeat.bind(connection.endpoint(for: .heartbeat))
    }

    /// Closes every socket, giving queued messages up to `lingerMilliseconds` to leave.
    func close(lingerMilliseconds: Int32) {
        for socket in [shell, control, stdin, iopub, heartbeat] {
            socket.setOption(ZMQ_LINGER, lingerMilliseconds)
            socket.close()
        }
    }
}

/// Shell-style glob matching (`*` and `?`), as IPython's history search uses.
enum Glob {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
        var pi = 0, ti = 0
        var star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1
                ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
