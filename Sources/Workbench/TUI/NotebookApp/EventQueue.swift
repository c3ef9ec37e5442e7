internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// Reports from other threads (the kernel's I/O thread, file writers) waiting for the UI loop.
///
/// Posting never blocks: the event joins a list under a lock, and the first event of a batch
/// writes one byte to a pipe the loop polls next to stdin. Consecutive stream chunks for the
/// same cell and stream are joined as they are posted, so a cell printing 100,000 lines
/// leaves one event per frame, not one per message.
public final class EventQueue: Sendable {
    private let events = Mutex<[NotebookApp.SessionEvent]>([])
    /// The end of the wake pipe the loop polls.
    public let readFD: Int32
    private let writeFD: Int32
    /// The queue whose pipe this one shares (kept alive while this one is); nil when the pipe is its own.
    private let pipeOwner: EventQueue?

    /// A queue with its wake pipe (non-blocking, closed on exec).
    public init() {
        pipeOwner = nil
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    /// A queue that wakes the loop through `owner`'s pipe, so one loop polls one descriptor for several
    /// queues (one per open notebook); the loop must then drain all of them whenever it wakes.
    public init(sharingPipeOf owner: EventQueue) {
        pipeOwner = owner
        readFD = owner.readFD
        writeFD = owner.writeFD
    }

    deinit {
        guard pipeOwner == nil else { return }
        if readFD >= 0 { close(readFD) }
        if writeFD >= 0 { close(writeFD) }
    }

    /// Wakes the loop without an event (for reports that travel another way).
    public func wake() {
        guard writeFD >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Adds an event (joining it to a stream chunk just before it) and wakes the loop if it was idle.
    public func post(_ event: NotebookApp.SessionEvent) {
        let wake = events.withLock { list -> Bool in
            let wasEmpty = list.isEmpty
            if case .stream(let key, let name, let text) = event, case .stream(key, name, _)? = list.last,
                case .stream(_, _, var joined) = list.removeLast()
            {
                joined += text
                list.append(.stream(cell: key, name: name, text: joined))
            } else {
                list.append(event)
            }
            return wasEmpty
        }
        if wake && writeFD >= 0 {
            var byte: UInt8 = 1
            _ = write(writeFD, &byte, 1)
        }
    }

    /// Takes every event posted so far, oldest first.
    public func drain() -> [NotebookApp.SessionEvent] {
        // Empty the pipe first: an event posted after this finds the list empty and writes again.
        var bytes = [UInt8](repeating: 0, count: 256)
        while readFD >= 0 {
            let n = bytes.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n <= 0 { break }
        }
        return events.withLock { list in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
    }

    /// Whether events are waiting.
    public var isEmpty: Bool { events.withLock { $0.isEmpty } }
}
