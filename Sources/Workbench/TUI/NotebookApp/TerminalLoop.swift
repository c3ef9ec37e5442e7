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
    /// (The terminal loop itself is `Workspace.runInTerminal`, which runs one notebook or several.)
    static let tickInterval = 0.25

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
    static func start(_ run: @escaping @Sendable () -> Void) {
        if let thread = JoinableThread(run) { thread.detach() } else { run() }
    }
}
