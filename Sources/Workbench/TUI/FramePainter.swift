internal import CoreSupport
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// Paints frames on a thread of its own, so the thread that renders them never waits on the terminal.
///
/// ncurses writes a frame with blocking `write`s (`doupdate`; with the descriptor made non-blocking
/// its flush spins on EAGAIN instead), and a terminal that reads slowly (tmux descheduled, a slow
/// ssh link) fills the pty's buffer, about 20 KB on Linux, so a write waits as long as the terminal
/// takes. `post` hands the newest frame over and returns at once; the painter thread diffs it
/// against the last frame it painted and paints the difference, so ncurses still only paints the
/// diff. Frames posted while a paint is under way replace each other in one slot: when the
/// terminal catches up, the newest state is painted at once (no timer or event needed), the frames
/// in between never are, and nothing queues up. The backend belongs to the painter thread from
/// `init` until `stop()` returns.
final class FramePainter<Output: Backend & SendableMetatype>: @unchecked Sendable {
    /// Counts, for tests and benchmarks.
    struct Statistics: Hashable, Sendable {
        /// Frames handed to `post`.
        var posted = 0
        /// Frames painted.
        var painted = 0
        /// Frames replaced by a newer one before they were painted.
        var replaced = 0
        /// Whether a paint is under way now.
        var painting = false
    }

    /// What the two threads share, under the lock.
    private struct Shared: Sendable {
        var frame: ScreenBuffer?
        /// When the oldest frame the slot stands for was posted, and how many it stands for.
        var postedAt = 0.0
        var frames = 0
        var stopping = false
        var statistics = Statistics()
    }

    private let shared = Mutex(Shared())
    /// Posted once per `post` and by `stop`; the painter thread sleeps on it.
    private let wakeup = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    /// The painter thread's; the posting thread touches it only when there is no painter thread.
    private var terminal: Terminal<Output>
    private let log: FrameLog?
    /// The posting thread's.
    private var thread: JoinableThread?

    /// Starts the painter thread for `backend`; `log` gets a `paint` line for each paint.
    init(backend: Output, log: FrameLog? = nil) {
        terminal = Terminal(backend: backend)
        self.log = log
        sem_init(wakeup, 0, 0)
        thread = JoinableThread { [self] in run() }
    }

    deinit {
        stop()
        sem_destroy(wakeup)
        wakeup.deallocate()
    }

    /// The backend as the painter left it; read it only once `stop()` has returned.
    var backend: Output { terminal.backend }

    /// The counts so far.
    var statistics: Statistics { shared.withLock { $0.statistics } }

    /// Hands `frame` to the painter thread and returns without waiting; it replaces a frame not yet painted.
    func post(_ frame: ScreenBuffer) {
        guard thread != nil else {
            // No thread (it could not be started, or was stopped): paint here, as a single-threaded loop would.
            paint(frame, postedAt: Clock.monotonic(), frames: 1)
            shared.withLock {
                $0.statistics.posted += 1
                $0.statistics.painted += 1
            }
            return
        }
        let now = Clock.monotonic()
        // The frame replaced (if any) is returned so that it is freed after the lock is let go.
        _ = shared.withLock { shared -> ScreenBuffer? in
            let replaced = shared.frame
            shared.frame = frame
            shared.statistics.posted += 1
            if replaced != nil {
                shared.statistics.replaced += 1
            } else {
                shared.postedAt = now
            }
            shared.frames += 1
            return replaced
        }
        sem_post(wakeup)
    }

    /// Stops the painter thread once its paint under way (if any) is done; a frame not yet painted is dropped.
    ///
    /// Afterwards the backend is the caller's again (for `restore()`).
    func stop() {
        guard let thread else { return }
        shared.withLock { $0.stopping = true }
        sem_post(wakeup)
        thread.join()
        self.thread = nil
    }

    private enum Job: Sendable {
        case paint(ScreenBuffer, postedAt: Double, frames: Int)
        case nothing
        case stop
    }

    /// The painter thread: waits for a frame, paints it, until `stop`.
    private func run() {
        while true {
            while sem_wait(wakeup) != 0 && errno == EINTR {}
            let job = shared.withLock { shared -> Job in
                if shared.stopping { return .stop }
                // A wake-up whose frame an earlier wake-up already took.
                guard let frame = shared.frame else { return .nothing }
                defer {
                    shared.frame = nil
                    shared.frames = 0
                    shared.statistics.painting = true
                }
                return .paint(frame, postedAt: shared.postedAt, frames: shared.frames)
            }
            switch job {
            case .stop: return
            case .nothing: continue
            case .paint(let frame, let postedAt, let frames):
                paint(frame, postedAt: postedAt, frames: frames)
                shared.withLock {
                    $0.statistics.painting = false
                    $0.statistics.painted += 1
                }
            }
        }
    }

    private func paint(_ frame: ScreenBuffer, postedAt: Double, frames: Int) {
        let start = Clock.monotonic()
        terminal.resizeScreen(to: frame.size)
        terminal.show(frame)
        log?.recordPaint(at: start, paint: Clock.monotonic() - start, waited: start - postedAt, frames: frames)
    }
}

/// A POSIX thread that is joined, not detached: for work that must be over before its owner goes on.
final class JoinableThread: Sendable {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    private let thread: pthread_t

    /// Starts `run` on a new thread; nil when the system cannot start one.
    init?(_ run: @escaping @Sendable () -> Void) {
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { raw in
                let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
                body.run()
                return nil
            }, body)
        guard created == 0 else {
            Unmanaged<Body>.fromOpaque(body).release()
            return nil
        }
        self.thread = thread
    }

    /// Waits for the thread to end.
    func join() { pthread_join(thread, nil) }

    /// Lets the thread end on its own, never joined (the object must not be joined afterwards).
    func detach() { pthread_detach(thread) }
}
