public import CoreSupport
internal import CZMQ
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Something a client receives for one request.
public enum KernelEvent: Sendable {
    /// A message whose parent is the request (a reply, an IOPub output, an input request).
    case message(Channel, KernelMessage)
    /// The kernel is gone; no more messages will come for this request.
    case kernelDied(String)
    /// The caller's deadline for this request passed.
    case deadline
    /// Time passed with nothing to report (lets a waiting caller check its clock).
    case tick
}

/// A connection to a running kernel's five channels.
///
/// One background thread owns the ZeroMQ sockets: it sends what callers queue,
/// receives and verifies every message, routes it by its parent's `msg_id` to
/// the request that caused it, and pings the heartbeat. Nothing here blocks a
/// caller's thread; a dead kernel ends every open request with `.kernelDied`.
public final class KernelClient: Sendable {
    public let connection: ConnectionInfo
    public let session: MessageSession
    private let io: ChannelIO

    /// Messages no open request is waiting for (status broadcasts, other clients' traffic).
    public let unsolicited: AsyncStream<KernelEvent>

    public init(connection: ConnectionInfo, heartbeatTimeout: Double = 10) throws(KernelError) {
        self.connection = connection
        self.session = MessageSession(key: connection.key)
        let (stream, continuation) = AsyncStream.makeStream(of: KernelEvent.self, bufferingPolicy: .bufferingNewest(1000))
        unsolicited = stream
        do {
            io = try ChannelIO(
                connection: connection, session: session, unsolicited: continuation, heartbeatTimeout: heartbeatTimeout)
        } catch {
            throw KernelError(.protocolError, "cannot connect to the kernel: \(error)")
        }
    }

    deinit { io.stop() }

    /// A request in flight: its id and the stream of everything answering it.
    public struct Request: Sendable {
        public let msgID: String
        public let header: JSONObject
        public let events: AsyncStream<KernelEvent>
    }

    /// Sends a request and returns the stream of messages whose parent it is.
    ///
    /// Call `finish(_:)` when done with it, so the route is dropped.
    public func send(
        _ msgType: String, content: JSONObject = [:], channel: Channel = .shell, metadata: JSONObject = [:]
    ) -> Request {
        let message = session.message(msgType, content: content, metadata: metadata)
        let (stream, continuation) = AsyncStream.makeStream(of: KernelEvent.self)
        io.register(message.msgID, .stream(continuation))
        io.enqueue(channel, session.serialize(message))
        return Request(msgID: message.msgID, header: message.header, events: stream)
    }

    /// Sends a request whose answers are handed to `handler` on the I/O thread itself.
    ///
    /// For the hot path (executing cells): no task is woken per message. `handler`
    /// must be quick and must not block; call `finish(_:)` when the request is done.
    /// Returns the request's header.
    @discardableResult
    public func send(
        _ msgType: String, content: JSONObject = [:], channel: Channel = .shell, metadata: JSONObject = [:],
        handler: @escaping @Sendable (KernelEvent) -> Void
    ) -> JSONObject {
        let message = session.message(msgType, content: content, metadata: metadata)
        io.register(message.msgID, .handler(handler))
        io.enqueue(channel, session.serialize(message))
        return message.header
    }

    /// Sends a message that expects no answer (such as `input_reply`).
    public func post(_ msgType: String, content: JSONObject, parent: JSONObject, channel: Channel) {
        let message = session.message(msgType, content: content, parent: parent)
        io.enqueue(channel, session.serialize(message))
    }

    /// Stops routing messages for a request and ends its stream.
    public func finish(_ msgID: String) { io.unregister(msgID) }

    /// Delivers an event to one open request (deadlines and ticks).
    public func inject(_ msgID: String, _ event: KernelEvent) { io.inject(msgID, event) }

    func tick(_ msgID: String) { io.inject(msgID, .tick) }

    /// Ends every open request with `.kernelDied(reason)`.
    public func failAll(_ reason: String) { io.failAll(reason) }

    /// Seconds since the heartbeat last answered, or `nil` if it never has.
    public var secondsSinceHeartbeat: Double? { io.secondsSinceHeartbeat }

    /// Seconds the heartbeat has been silent (since its last answer, or since `resetHeartbeat()`).
    public var secondsWithoutHeartbeat: Double { io.secondsWithoutHeartbeat }

    /// Starts the silence count afresh (after a restart).
    public func resetHeartbeat() { io.resetHeartbeat() }

    /// Messages refused for a bad signature or shape since the client started.
    public var rejectedMessages: Int { io.rejectedMessages }

    /// The last `execution_state` the kernel broadcast (`starting`, `busy`, `idle`).
    public var executionState: String? { io.executionState }

    /// Whether the stdin channel has a live connection to the kernel.
    ///
    /// The kernel's stdin socket is a ROUTER: an `input_request` sent before this
    /// client's stdin socket has finished connecting is silently dropped, and the
    /// kernel then waits for an answer forever. `KernelManager.waitForReady` waits for this.
    public var stdinConnected: Bool { io.stdinConnected }

    /// Forgets the stdin connection (before a restart, whose new process must be connected to afresh).
    public func resetStdinConnection() { io.resetStdinConnection() }

    /// Closes the sockets and ends every stream.
    public func close() { io.stop() }
}

/// Where a request's answers go: an async stream, or a handler called on the I/O thread.
enum Route: Sendable {
    case stream(AsyncStream<KernelEvent>.Continuation)
    case handler(@Sendable (KernelEvent) -> Void)

    func deliver(_ event: KernelEvent) {
        switch self {
        case .stream(let continuation): continuation.yield(event)
        case .handler(let handler): handler(event)
        }
    }

    func end() {
        if case .stream(let continuation) = self { continuation.finish() }
    }
}

/// The thread that owns the sockets. State shared with callers sits behind a mutex.
final class ChannelIO: @unchecked Sendable {
    // Touched only on the I/O thread (after init).
    private var shell: ZMQSocket
    private var control: ZMQSocket
    private var stdin: ZMQSocket
    private var iopub: ZMQSocket
    private var heartbeat: ZMQSocket
    /// Receives the stdin socket's connection events (ZeroMQ socket monitor).
    private let stdinMonitor: ZMQSocket
    private let connection: ConnectionInfo
    private let session: MessageSession
    private let heartbeatTimeout: Double
    private let wakeRead: Int32
    private let wakeWrite: Int32

    private struct Shared {
        var outbox: [(Channel, [[UInt8]])] = []
        var routes: [String: Route] = [:]
        var stopped = false
        var lastPong: Double? = nil
        var heartbeatBaseline = Clock.monotonic()
        var rejected = 0
        var executionState: String? = nil
        var stdinConnected = false
    }

    private let shared = Mutex(Shared())
    private let unsolicited: AsyncStream<KernelEvent>.Continuation
    /// A line per message sent and received, when `$WB_KERNEL_TRACE` names a directory (as Jupyter's `--debug` logs).
    private let trace: WireTrace?

    init(
        connection: ConnectionInfo, session: MessageSession, unsolicited: AsyncStream<KernelEvent>.Continuation,
        heartbeatTimeout: Double
    ) throws(ZMQError) {
        self.connection = connection
        self.session = session
        self.unsolicited = unsolicited
        self.heartbeatTimeout = heartbeatTimeout
        trace = WireTrace(sessionID: session.sessionID)
        let identity = Array(session.sessionID.utf8)
        shell = try ZMQSocket(.dealer)
        shell.setRoutingID(identity)
        control = try ZMQSocket(.dealer)
        stdin = try ZMQSocket(.dealer)
        stdin.setRoutingID(identity)  // the kernel sends input requests to the shell's identity
        iopub = try ZMQSocket(.sub)
        iopub.subscribeAll()
        iopub.setOption(ZMQ_RCVHWM, 0)
        heartbeat = try ZMQSocket(.req)
        // Sockets to a kernel that has not bound yet retry every 100 ms by default; starting at
        // 20 ms makes a new kernel usable sooner.
        for socket in [shell, control, stdin, iopub, heartbeat] {
            socket.setOption(ZMQ_RECONNECT_IVL, 20)
            socket.setOption(ZMQ_RECONNECT_IVL_MAX, 500)  // doubling up to 0.5 s while the kernel is not up
        }
        let monitorEndpoint = "inproc://wb-stdin-monitor-\(session.sessionID)"
        try stdin.monitor(monitorEndpoint, events: ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED)
        stdinMonitor = try ZMQSocket(.pair)
        try stdinMonitor.connect(monitorEndpoint)
        try shell.connect(connection.endpoint(for: .shell))
        try control.connect(connection.endpoint(for: .control))
        try stdin.connect(connection.endpoint(for: .stdin))
        try iopub.connect(connection.endpoint(for: .iopub))
        try heartbeat.connect(connection.endpoint(for: .heartbeat))
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ZMQError(operation: "pipe", code: errno) }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        Thread.start(name: "wb-kernel-io") { [self] in run() }
    }

    func register(_ msgID: String, _ route: Route) {
        let stopped = shared.withLock { s in
            if !s.stopped { s.routes[msgID] = route }
            return s.stopped
        }
        if stopped {
            route.deliver(.kernelDied("the connection to the kernel is closed"))
            route.end()
        }
    }

    func unregister(_ msgID: String) {
        let route = shared.withLock { $0.routes.removeValue(forKey: msgID) }
        route?.end()
    }

    func inject(_ msgID: String, _ event: KernelEvent) {
        let route = shared.withLock { $0.routes[msgID] }
        route?.deliver(event)
    }

    func failAll(_ reason: String) {
        let routes = shared.withLock { s in
            defer { s.routes = [:] }
            return s.routes
        }
        trace?.note("failAll(\(reason)) ending \(routes.count) open requests")
        for (_, route) in routes {
            route.deliver(.kernelDied(reason))
            route.end()
        }
    }

    func enqueue(_ channel: Channel, _ frames: [[UInt8]]) {
        shared.withLock { $0.outbox.append((channel, frames)) }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    func stop() {
        let wasStopped = shared.withLock { s in
            defer { s.stopped = true }
            return s.stopped
        }
        guard !wasStopped else { return }
        failAll("the connection to the kernel was closed")
        wake()
    }

    var secondsSinceHeartbeat: Double? {
        shared.withLock { $0.lastPong }.map { Clock.monotonic() - $0 }
    }

    /// Seconds since the heartbeat last answered, counting from `resetHeartbeat()` if it has not since.
    var secondsWithoutHeartbeat: Double {
        let (pong, base) = shared.withLock { ($0.lastPong, $0.heartbeatBaseline) }
        return Clock.monotonic() - max(pong ?? base, base)
    }

    func resetHeartbeat() {
        let now = Clock.monotonic()
        shared.withLock { $0.heartbeatBaseline = now }
    }

    var stdinConnected: Bool { shared.withLock { $0.stdinConnected } }
    func resetStdinConnection() { shared.withLock { $0.stdinConnected = false } }

    var rejectedMessages: Int { shared.withLock { $0.rejected } }
    var executionState: String? { shared.withLock { $0.executionState } }

    // MARK: - The I/O thread

    private func run() {
        var heartbeatSentAt: Double? = nil
        var nextPing = Clock.monotonic()
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            if shared.withLock({ $0.stopped }) { break }
            var poller = ZMQPoller()
            let iShell = poller.add(shell)
            let iControl = poller.add(control)
            let iStdin = poller.add(stdin)
            let iIopub = poller.add(iopub)
            let iHeartbeat = poller.add(heartbeat)
            let iWake = poller.add(fd: wakeRead)
            let iMonitor = poller.add(stdinMonitor)
            // Sleep until the next ping is due, or, while a ping is unanswered, until it times out
            // (not until the next ping, which is then overdue: that would wake every millisecond
            // for as long as a starting or stopped kernel does not answer).
            let wakeAt = heartbeatSentAt.map { $0 + heartbeatTimeout } ?? nextPing
            let timeout = max(0, Int((wakeAt - Clock.monotonic()) * 1000) + 1)
            _ = poller.poll(timeoutMilliseconds: min(timeout, 1000))
            if poller.isReadable(iWake) {
                while Glibc.read(wakeRead, &buffer, buffer.count) > 0 {}
            }
            sendQueued()
            if poller.isReadable(iMonitor) { readStdinEvents() }
            if poller.isReadable(iIopub) { drain(iopub, .iopub) }
            if poller.isReadable(iShell) { drain(shell, .shell) }
            if poller.isReadable(iStdin) { drain(stdin, .stdin) }
            if poller.isReadable(iControl) { drain(control, .control) }
            if poller.isReadable(iHeartbeat) {
                while let _ = try? heartbeat.receive() {
                    heartbeatSentAt = nil
                    let t = Clock.monotonic()
                    shared.withLock { $0.lastPong = t }
                }
            }
            let t = Clock.monotonic()
            if let sent = heartbeatSentAt, t - sent > heartbeatTimeout {
                // A REQ socket stuck waiting for a reply must be replaced.
                heartbeat.close()
                if let fresh = try? ZMQSocket(.req) {
                    heartbeat = fresh
                    try? heartbeat.connect(connection.endpoint(for: .heartbeat))
                }
                heartbeatSentAt = nil
            }
            if heartbeatSentAt == nil, t >= nextPing {
                if (try? heartbeat.send([Array("ping".utf8)], dontWait: true)) == true { heartbeatSentAt = t }
                nextPing = t + 1
            }
        }
        // The monitor first (see ZMQSocket.stopMonitor), then the socket it watched, then its reader.
        stdin.stopMonitor()
        shell.close()
        control.close()
        stdin.close()
        iopub.close()
        heartbeat.close()
        stdinMonitor.close()
        close(wakeRead)
        close(wakeWrite)
        unsolicited.finish()
        trace?.note("closed")
    }

    private func sendQueued() {
        let queued = shared.withLock { s in
            defer { s.outbox.removeAll(keepingCapacity: true) }
            return s.outbox
        }
        for (channel, frames) in queued {
            let socket: ZMQSocket
            switch channel {
            case .shell: socket = shell
            case .control: socket = control
            case .stdin: socket = stdin
            case .iopub, .heartbeat: continue
            }
            let sent = (try? socket.send(frames)) ?? false
            trace?.sent(channel, frames, ok: sent)
        }
    }

    /// Applies the stdin socket's monitor events: a finished handshake connects it, a disconnect ends that.
    private func readStdinEvents() {
        // Each event is two frames: 2 bytes of event number and 4 of value (little-endian), then the endpoint.
        while let frames = try? stdinMonitor.receive(), let first = frames.first, first.count >= 2 {
            let event = Int32(first[0]) | Int32(first[1]) << 8
            let connected = event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED
            shared.withLock { $0.stdinConnected = connected }
            trace?.note("stdin \(connected ? "connected" : "disconnected")")
        }
    }

    private func drain(_ socket: ZMQSocket, _ channel: Channel) {
        while let frames = try? socket.receive() {
            let message: KernelMessage
            do {
                message = try session.deserialize(frames)
            } catch {
                shared.withLock { $0.rejected += 1 }
                trace?.note("\(channel) rejected: \(error)")
                continue
            }
            route(message, channel)
        }
    }

    private func route(_ message: KernelMessage, _ channel: Channel) {
        let isStatus = channel == .iopub && message.msgType == "status"
        let state = isStatus ? message.content["execution_state"]?.stringValue : nil
        let target = shared.withLock { s -> Route? in
            if let state { s.executionState = state }
            guard let parent = message.parentMsgID else { return nil }
            return s.routes[parent]
        }
        trace?.received(channel, message, routed: target != nil)
        if let target {
            target.deliver(.message(channel, message))
        } else {
            unsolicited.yield(.message(channel, message))
        }
    }
}

/// An append-only log of one client's traffic, for diagnosing a kernel that stops answering.
///
/// Enabled by `WB_KERNEL_TRACE=DIR`: each client writes `DIR/SESSION.log` with one line per
/// message (time, direction, channel, type, id, parent id, execution state). Written on the I/O
/// thread only; the file is opened in append mode so a crash keeps what was written.
final class WireTrace: @unchecked Sendable {
    private let file: UnsafeMutablePointer<FILE>
    private let start = Clock.monotonic()

    init?(sessionID: String) {
        guard let dir = Environment.nonEmpty("WB_KERNEL_TRACE") else { return nil }
        mkdir(dir, 0o700)
        guard let file = fopen(FilePath.join(dir, "\(sessionID).log"), "a") else { return nil }
        self.file = file
    }

    deinit { fclose(file) }

    func note(_ text: String) {
        let millis = Int((Clock.monotonic() - start) * 1000)
        fputs("\(millis / 1000).\(String(1000 + millis % 1000).dropFirst()) \(text)\n", file)
        fflush(file)
    }

    func sent(_ channel: Channel, _ frames: [[UInt8]], ok: Bool) {
        // Frames: <IDS|MSG>, signature, header, parent, metadata, content.
        let header = frames.count > 2 ? (try? JSON.parse(frames[2]))?.objectValue ?? [:] : [:]
        let type = header["msg_type"]?.stringValue ?? "?"
        let id = header["msg_id"]?.stringValue ?? "?"
        note("send \(channel) \(type) \(id)\(ok ? "" : " NOT SENT")")
    }

    func received(_ channel: Channel, _ message: KernelMessage, routed: Bool) {
        let state = message.msgType == "status" ? " " + (message.content["execution_state"]?.stringValue ?? "") : ""
        note("recv \(channel) \(message.msgType)\(state) \(message.msgID) parent=\(message.parentMsgID ?? "-")\(routed ? "" : " (unsolicited)")")
    }
}
