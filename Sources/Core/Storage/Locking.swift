#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CSQLite3
import Synchronization

/// A pthread mutex that may be held for a long time (a whole database access) and notices re-entry.
///
/// `Synchronization.Mutex` only offers `withLock` with `sending` results, which a generic
/// non-Sendable result of a database closure cannot satisfy; this lock has plain `lock`/`unlock`.
final class ConnectionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// The thread holding the lock (0 when free), to turn a re-entrant call into a clear failure, not a deadlock.
    private let owner = Atomic<UInt>(0)

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` holding the lock; re-entry from the same thread is a programming error.
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        let me = ConnectionLock.currentThread()
        precondition(
            owner.load(ordering: .relaxed) != me,
            "a database read or write was started from inside another one on the same connection; use the `db` you already have")
        pthread_mutex_lock(mutex)
        owner.store(me, ordering: .relaxed)
        defer {
            owner.store(0, ordering: .relaxed)
            pthread_mutex_unlock(mutex)
        }
        return try body()
    }

    static func currentThread() -> UInt {
        #if canImport(Darwin)
        return UInt(bitPattern: pthread_self())
        #else
        return UInt(pthread_self())
        #endif
    }
}

/// An `sqlite3 *` that can travel to the thread calling `interrupt()`.
struct ConnectionHandle: @unchecked Sendable {
    let raw: OpaquePointer
}

/// One access (a `read` or `write` closure) that can be cancelled from another thread or task.
///
/// Cancelling stops the statement of this access only (other accesses on other connections
/// run on), now if it is running, or as soon as the access starts; a later access given the
/// same token is refused. Pass one to `DatabasePool.read(_:_:)` / `write(_:_:)`.
public final class AccessToken: Sendable {
    private struct State {
        var cancelled = false
        var control: ConnectionControl?
    }
    private let state = Mutex(State())

    public init() {}

    /// Whether `cancel()` was called.
    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Cancels the access: now if it is running, else as soon as it starts.
    public func cancel() {
        let control = state.withLock { state -> ConnectionControl? in
            state.cancelled = true
            return state.control
        }
        control?.interrupt(ifRunning: self)
    }

    /// Records the connection running this access; returns whether it was cancelled already.
    func attach(_ control: ConnectionControl?) -> Bool {
        state.withLock { state in
            state.control = control
            return state.cancelled
        }
    }
}

/// The part of a connection other threads may touch: interruption, and the flag its progress handler reads.
final class ConnectionControl: Sendable {
    private struct State {
        var handle: ConnectionHandle?
        var current: AccessToken?
    }
    private let state = Mutex(State())
    /// Set while the running access is cancelled; read by the progress handler and before each step.
    let cancelled = Atomic<Bool>(false)

    init() {}

    func setHandle(_ handle: OpaquePointer?) {
        state.withLock { $0.handle = handle.map(ConnectionHandle.init(raw:)) }
    }

    /// Marks `token` as the running access; false when it was cancelled before it started.
    func begin(_ token: AccessToken) -> Bool {
        state.withLock { $0.current = token }
        if token.attach(self) {
            cancelled.store(true, ordering: .sequentiallyConsistent)
            return false
        }
        return true
    }

    /// Ends the running access and clears its cancellation.
    func end(_ token: AccessToken) {
        _ = token.attach(nil)
        state.withLock { $0.current = nil }
        cancelled.store(false, ordering: .sequentiallyConsistent)
    }

    /// Cancels whatever access is running (nothing when idle).
    func interruptCurrent() {
        state.withLock { state in
            guard state.current != nil else { return }
            cancelled.store(true, ordering: .sequentiallyConsistent)
            if let handle = state.handle { sqlite3_interrupt(handle.raw) }
        }
    }

    /// Cancels `token`'s access if it is the one running.
    func interrupt(ifRunning token: AccessToken) {
        state.withLock { state in
            guard state.current === token else { return }
            cancelled.store(true, ordering: .sequentiallyConsistent)
            if let handle = state.handle { sqlite3_interrupt(handle.raw) }
        }
    }
}
