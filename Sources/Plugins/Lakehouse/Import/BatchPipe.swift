import CoreSupport
import Dispatch
import Synchronization

/// Hands batches from a reading thread to the writing one, at most `capacity` in flight,
/// so parsing the file and inserting rows run side by side in bounded memory.
final class BatchPipe: Sendable {
    private struct State {
        var queue: [ImportBatch] = []
        var finished = false
        var error: (any Error)? = nil
        var cancelled = false
    }

    private let state = Mutex(State())
    private let items = DispatchSemaphore(value: 0)
    private let slots: DispatchSemaphore
    private let done = DispatchSemaphore(value: 0)

    /// Thrown inside the reader when the writer stopped taking batches.
    struct Cancelled: Error {}

    init(capacity: Int) {
        slots = DispatchSemaphore(value: capacity)
    }

    /// Runs `read` on its own thread, feeding the pipe; `take()` receives what it produces.
    func startReading(_ read: @escaping @Sendable (_ put: (ImportBatch) throws -> Void) throws -> Void) {
        Thread.start(name: "wb-import-read") { [self] in
            do {
                try read { batch in
                    slots.wait()
                    let cancelled = state.withLock { s in
                        if !s.cancelled { s.queue.append(batch) }
                        return s.cancelled
                    }
                    if cancelled { throw Cancelled() }
                    items.signal()
                }
                state.withLock { $0.finished = true }
            } catch {
                state.withLock { s in
                    s.finished = true
                    if !(error is Cancelled) { s.error = error }
                }
            }
            items.signal()
            done.signal()
        }
    }

    /// The next batch, nil when the reader is done; rethrows the reader's error.
    func take() throws -> ImportBatch? {
        while true {
            items.wait()
            let (batch, finished, error) = state.withLock { s -> (ImportBatch?, Bool, (any Error)?) in
                if !s.queue.isEmpty { return (s.queue.removeFirst(), false, nil) }
                return (nil, s.finished, s.error)
            }
            if let batch {
                slots.signal()
                return batch
            }
            if let error { throw error }
            if finished { return nil }
        }
    }

    /// Stops the reader (it ends at its next batch) and waits until it has.
    func cancelAndWait() {
        state.withLock { s in
            s.cancelled = true
            s.queue.removeAll()
        }
        slots.signal()
        done.wait()
        done.signal()
    }
}
