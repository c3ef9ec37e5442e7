internal import CoreSupport
#if canImport(Glibc)
internal import Glibc
#endif

extension NotebookApp {
    /// How a terminal session of the app ended.
    public struct Ending: Sendable {
        /// The file writes still in flight (await them before exiting).
        public var writes: Task<Void, Never>?
        /// A fatal signal (SIGTERM, SIGHUP, SIGINT) that ended it; the caller should die of it once the kernel is down.
        public var signal: Int32?
        /// Whether the notebook had unsaved changes at the end.
        public var unsaved: Bool
        /// Whether the user detached (Ctrl-D): the kernel is to keep running.
        public var detached = false
    }

    /// Frames per second at most: output arriving faster is gathered and drawn together.
    public static let maxFramesPerSecond = 60.0
    /// Seconds between ticks when nothing happens (running timers, autosave).
    static let tickInterval = 0.25

    /// Runs the app on the terminal until it quits, on a thread of its own (the loop blocks in `poll`).
    public static func runInTerminal(_ runtime: Runtime) async throws(TerminalError) -> Ending {
        let box = RuntimeBox(runtime)
        let result: Result<Ending, TerminalError> = await withCheckedContinuation { continuation in
            OwnThread.start {
                do throws(TerminalError) {
                    continuation.resume(returning: .success(try loop(box.runtime)))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Carries the runtime to the loop's thread, which is then its only user.
    private final class RuntimeBox: @unchecked Sendable {
        let runtime: Runtime
        init(_ runtime: Runtime) { self.runtime = runtime }
    }

    /// The loop: input is handled as it comes; session events are drained and drawn at most 60 times a second.
    static func loop(_ runtime: Runtime) throws(TerminalError) -> Ending {
        let backend = try NCursesBackend(mouse: true, bracketedPaste: true)
        runtime.setImageLayout(backend.imageLayout)
        var terminal = Terminal(backend: backend)
        runtime.send(.resize(backend.size))
        runtime.send(.tick(Clock.monotonic()))
        let frame = 1 / maxFramesPerSecond
        var lastDraw = -1.0
        var lastTick = Clock.monotonic()
        var needsDraw = true
        var fatal: Int32?
        loop: while !runtime.state.quit {
            var now = Clock.monotonic()
            if needsDraw && now - lastDraw >= frame {
                terminal.draw { NotebookApp.render(runtime.state, into: &$0) }
                lastDraw = now
                needsDraw = false
            }
            // While a frame is pending, leave the queue alone until it is due so output gathers into one batch.
            let frameDue = needsDraw ? max(0, lastDraw + frame - now) : Double.infinity
            let tickDue = max(0, lastTick + tickInterval - now)
            let watchQueue = !needsDraw
            let wakes = backend.wait(also: watchQueue ? runtime.queue.readFD : nil, timeout: min(frameDue, tickDue))
            now = Clock.monotonic()
            if now - lastTick >= tickInterval {
                runtime.send(.tick(now))
                lastTick = now
                needsDraw = true
            }
            for wake in wakes {
                switch wake {
                case .input(let event):
                    runtime.send(.tick(now))
                    runtime.send(.input(event))
                    needsDraw = true
                case .resized(let size):
                    runtime.send(.resize(size))
                    needsDraw = true
                case .signal(let number):
                    fatal = number
                    break loop
                case .closed:
                    break loop
                case .woken, .timedOut:
                    break
                }
                if runtime.state.quit { break loop }
            }
            if !needsDraw || now - lastDraw >= frame {
                if runtime.drain() { needsDraw = true }
            }
        }
        if fatal != nil || !runtime.state.quit { runtime.writeRecoveryNow() }
        backend.restore()
        return Ending(writes: runtime.writes, signal: fatal, unsaved: runtime.state.isDirty, detached: runtime.state.detach)
    }

    /// Dies of `signal` as a shell expects (after the terminal is restored and the kernel is down).
    public static func die(of signal: Int32) -> Never {
        Glibc.signal(signal, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(signal)
        _exit(128 + signal)
    }
}

/// Starts a detached POSIX thread for work that blocks (the terminal loop), off Swift's small cooperative pool.
enum OwnThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    static func start(_ run: @escaping @Sendable () -> Void) {
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { raw in
                let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
                body.run()
                return nil
            }, body)
        if created == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<Body>.fromOpaque(body).takeRetainedValue().run()
        }
    }
}
