internal import CZMQ
#if canImport(Glibc)
import Glibc
#endif

/// A ZeroMQ call that failed.
public struct ZMQError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var code: Int32

    static func last(_ operation: String) -> ZMQError {
        ZMQError(operation: operation, code: zmq_errno())
    }

    public var description: String { "zmq \(operation): \(String(cString: zmq_strerror(code)))" }
}

/// The process-wide ZeroMQ context (thread-safe, as libzmq's contexts are).
final class ZMQContext: @unchecked Sendable {
    static let shared = ZMQContext()
    let handle: UnsafeMutableRawPointer

    private init() {
        handle = zmq_ctx_new()
        // Sockets are closed with linger 0; terminating the context is never needed.
    }
}

/// One ZeroMQ socket. Not thread-safe: use it from one thread at a time.
final class ZMQSocket {
    let handle: UnsafeMutableRawPointer
    private var closed = false

    enum Kind {
        case dealer, sub, req, router, pub, rep, xpub, pair

        var raw: Int32 {
            switch self {
            case .dealer: return ZMQ_DEALER
            case .sub: return ZMQ_SUB
            case .req: return ZMQ_REQ
            case .router: return ZMQ_ROUTER
            case .pub: return ZMQ_PUB
            case .rep: return ZMQ_REP
            case .xpub: return ZMQ_XPUB
            case .pair: return ZMQ_PAIR
            }
        }
    }

    init(_ kind: Kind) throws(ZMQError) {
        guard let handle = zmq_socket(ZMQContext.shared.handle, kind.raw) else {
            throw ZMQError.last("socket")
        }
        self.handle = handle
        var linger: Int32 = 0
        zmq_setsockopt(handle, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    func setOption(_ option: Int32, _ value: Int32) {
        var v = value
        zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size)
    }

    func setOption(_ option: Int32, bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            _ = zmq_setsockopt(handle, option, raw.baseAddress, raw.count)
        }
    }

    func subscribeAll() { setOption(ZMQ_SUBSCRIBE, bytes: []) }

    func setRoutingID(_ id: [UInt8]) { setOption(ZMQ_ROUTING_ID, bytes: id) }

    func connect(_ endpoint: String) throws(ZMQError) {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("connect \(endpoint)") }
    }

    /// Publishes this socket's connection events on an `inproc://` endpoint (read them with a PAIR socket).
    func monitor(_ endpoint: String, events: Int32) throws(ZMQError) {
        guard zmq_socket_monitor(handle, endpoint, events) == 0 else { throw ZMQError.last("monitor \(endpoint)") }
    }

    /// Stops `monitor`. Call it before closing the socket: its monitor would otherwise report the
    /// close to a PAIR socket that may be gone, and libzmq sends those events blocking, in its I/O
    /// thread, which would then never again serve any socket of the process.
    func stopMonitor() {
        zmq_socket_monitor(handle, nil, 0)
    }

    func bind(_ endpoint: String) throws(ZMQError) {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("bind \(endpoint)") }
    }

    /// The endpoint actually bound (useful after binding port `*`).
    var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Sends a multipart message; returns false when it would block.
    @discardableResult
    func send(_ frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) -> Bool {
        for (i, frame) in frames.enumerated() {
            var flags: Int32 = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            while true {
                let rc = frame.withUnsafeBytes { raw in zmq_send(handle, raw.baseAddress, raw.count, flags) }
                if rc >= 0 { break }
                let err = zmq_errno()
                if err == EINTR { continue }
                if err == EAGAIN && i == 0 { return false }
                throw ZMQError(operation: "send", code: err)
            }
        }
        return true
    }

    /// Receives one multipart message; `nil` when none is waiting (with `dontWait`).
    func receive(dontWait: Bool = true) throws(ZMQError) -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        var msg = zmq_msg_t()
        while true {
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            let rc = zmq_msg_recv(&msg, handle, frames.isEmpty && dontWait ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                let err = zmq_errno()
                if err == EINTR { continue }
                if err == EAGAIN && frames.isEmpty { return nil }
                throw ZMQError(operation: "receive", code: err)
            }
            let size = zmq_msg_size(&msg)
            if size == 0 {
                frames.append([])
            } else {
                let data = zmq_msg_data(&msg)!.assumingMemoryBound(to: UInt8.self)
                frames.append(Array(UnsafeBufferPointer(start: data, count: size)))
            }
            if zmq_msg_more(&msg) == 0 { return frames }
        }
    }
}

/// Waits on sockets and plain file descriptors at once.
struct ZMQPoller {
    var items: [zmq_pollitem_t] = []

    mutating func add(_ socket: ZMQSocket) -> Int {
        items.append(zmq_pollitem_t(socket: socket.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    mutating func add(fd: Int32) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fd, events: Int16(ZMQ_POLLIN), revents: 0))
        return items.count - 1
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever); returns how many items are ready.
    mutating func poll(timeoutMilliseconds: Int) -> Int {
        let n = items.withUnsafeMutableBufferPointer { buffer in
            zmq_poll(buffer.baseAddress, Int32(buffer.count), timeoutMilliseconds)
        }
        return Int(n)
    }

    func isReadable(_ index: Int) -> Bool { items[index].revents & Int16(ZMQ_POLLIN) != 0 }
}

/// The libzmq version this process runs with.
public enum ZMQLibrary {
    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}
