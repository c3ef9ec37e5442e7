internal import CoreSupport

extension Workspace {
    /// Runs the workspace on the terminal until it quits, on a thread of its own (the loop blocks in `poll`).
    public static func runInTerminal(_ runtime: Runtime) async throws(TerminalError) -> NotebookApp.Ending {
        let box = RuntimeBox(runtime)
        let result: Result<NotebookApp.Ending, TerminalError> = await withCheckedContinuation { continuation in
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

    /// The loop: input is handled as it comes; kernel reports are drained and drawn at most 60 times a second.
    ///
    /// Frames are rendered here and painted by a `FramePainter` on a thread of its own, so a terminal
    /// slow to read its output never holds up input, kernel output or the next frame.
    static func loop(_ runtime: Runtime) throws(TerminalError) -> NotebookApp.Ending {
        let backend = try NCursesBackend(mouse: true, bracketedPaste: true)
        runtime.setImageLayout(backend.imageLayout)
        // WB_FRAME_LOG: per-frame render, hand-over and update times, and the painter's paints, for Benchmarks/tui.
        let frameLog = FrameLog.fromEnvironment()
        let painter = FramePainter(backend: backend, log: frameLog)
        runtime.send(.resize(backend.windowSize))
        runtime.send(.tick(Clock.monotonic()))
        let frame = 1 / NotebookApp.maxFramesPerSecond
        var lastDraw = -1.0
        var lastTick = Clock.monotonic()
        var needsDraw = true
        var fatal: Int32?
        var updateTime = 0.0
        loop: while !runtime.state.quit {
            var now = Clock.monotonic()
            if needsDraw && now - lastDraw >= frame {
                var buffer = ScreenBuffer(size: backend.windowSize)
                Workspace.render(runtime.state, into: &buffer)
                let rendered = Clock.monotonic()
                painter.post(buffer)
                if let frameLog {
                    frameLog.record(at: now, render: rendered - now, paint: Clock.monotonic() - rendered, update: updateTime)
                    updateTime = 0
                }
                lastDraw = now
                needsDraw = false
            }
            // While a frame is pending, leave the queues alone until it is due so output gathers into one batch.
            let frameDue = needsDraw ? max(0, lastDraw + frame - now) : Double.infinity
            let tickDue = max(0, lastTick + NotebookApp.tickInterval - now)
            let wakes = backend.wait(also: needsDraw ? nil : runtime.readFD, timeout: min(frameDue, tickDue))
            now = Clock.monotonic()
            let updateStart = now
            if now - lastTick >= NotebookApp.tickInterval {
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
            if frameLog != nil { updateTime += Clock.monotonic() - updateStart }
        }
        if fatal != nil || !runtime.state.quit { runtime.writeRecoveryNow() }
        painter.stop()
        backend.restore()
        return NotebookApp.Ending(writes: runtime.writes, signal: fatal, unsaved: runtime.state.isDirty, detached: runtime.state.detach)
    }
}
