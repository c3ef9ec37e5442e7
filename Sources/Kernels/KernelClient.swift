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
    }

    private let shared = Mutex(Shared())
    private let unsolicited: AsyncStream<KernelEvent>.Continuation

    init(
        connection: ConnectionInfo, session: MessageSession, unsolicited: AsyncStream<KernelEvent>.Continuation,
        heartbeatTimeout: Double
    ) throws(ZMQError) {
        self.connection = connection
        self.session = session
        self.unsolicited = unsolicited
        self.heartbeatTimeout = heartbeatTimeout
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
            let now = Clock.monotonic()
            let timeout = max(0, Int((nextPing - now) * 1000) + 1)
            _ = poller.poll(timeoutMilliseconds: min(timeout, 1000))
            if poller.isReadable(iWake) {
                while Glibc.read(wakeRead, &buffer, buffer.count) > 0 {}
            }
            sendQueued()
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
        shell.close()
        control.close()
        stdin.close()
        iopub.close()
        heartbeat.close()
        close(wakeRead)
        close(wakeWrite)
        unsolicited.finish()
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
            _ = try? socket.send(frames)
        }
    }

    private func drain(_ socket: ZMQSocket, _ channel: Channel) {
        while let frames = try? socket.receive() {
            let message: KernelMessage
            do {
                message = try session.deserialize(frames)
            } catch {
                shared.withLock { $0.rejected += 1 }
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
        if let target {
            target.deliver(.message(channel, message))
        } else {
            unsolicited.yield(.message(channel, message))
        }
    }
}
