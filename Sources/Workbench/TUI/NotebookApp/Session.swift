internal import CoreSupport
public import Kernels

extension NotebookApp {
    /// How the app reaches its session in the registry; `wb open` wires it (this module does not import Lifecycle).
    public struct SessionLink: Sendable {
        /// Records user input as activity (called at most once per `activityInterval`).
        public var userActivity: @Sendable () -> Void
        /// The user answered a cull warning: record activity and withdraw the warning.
        public var keepAlive: @Sendable () -> Void

        /// A link from its two callbacks.
        public init(userActivity: @escaping @Sendable () -> Void, keepAlive: @escaping @Sendable () -> Void) {
            self.userActivity = userActivity
            self.keepAlive = keepAlive
        }
    }

    /// Seconds between activity reports of user input (a key press within this of the last one is not written again).
    public static let activityInterval = 1.0

    /// A cell left running when a TUI detached, as the detach marker records it.
    public struct DetachedCell: Sendable, Equatable {
        /// The cell's index in the notebook written to the recovery file.
        public var index: Int
        /// The `msg_id` of its `execute_request`.
        public var requestID: String
        /// The `msg_id` of the last output the TUI showed for it (later ones are caught up on re-attach).
        public var lastSeen: String?

        /// A detached cell.
        public init(index: Int, requestID: String, lastSeen: String?) {
            self.index = index
            self.requestID = requestID
            self.lastSeen = lastSeen
        }
    }

    /// A re-attach: the session's kernel is joined, and cells left running get their outputs from while the TUI was away.
    public struct Attachment: Sendable {
        /// Joins the kernel (starting its session host first when there is none).
        public var connect: @Sendable () async throws -> KernelManager
        /// The messages the session host journaled since the detach for the cells left running (outputs,
        /// `execute_input`, the final `status: idle`), oldest first; read once the kernel is joined.
        public var journal: @Sendable () -> [KernelMessage]

        /// An attachment from its two callbacks.
        public init(connect: @escaping @Sendable () async throws -> KernelManager, journal: @escaping @Sendable () -> [KernelMessage] = { [] }) {
            self.connect = connect
            self.journal = journal
        }
    }
}

extension NotebookApp.State {
    /// Takes up a detached session: its unsaved edits come back from the recovery file, and the cells
    /// left running are marked running again; returns their `execute_request` ids with their cell keys.
    public mutating func reattach(_ running: [NotebookApp.DetachedCell]) -> [String: Int] {
        if recovered != nil {
            overlay = nil
            restoreRecovered()
        }
        var keys: [String: Int] = [:]
        for cell in running where cells.indices.contains(cell.index) && cells[cell.index].isCode {
            cells[cell.index].run = .running(since: Clock.monotonic())
            cells[cell.index].collector = OutputCollector(outputs: cells[cell.index].outputs)
            keys[cell.requestID] = cells[cell.index].key
        }
        say("re-attached: the kernel kept running" + (keys.isEmpty ? "" : "; outputs from while away are shown"))
        return keys
    }

    /// Detaches: the app ends, leaving the kernel to its session host.
    mutating func requestDetach() {
        commitEditor()
        detach = true
        quit = true
    }

    /// The culler's warning changed: `secondsLeft` until the session is stopped, or nil when withdrawn.
    mutating func applyCullWarning(_ secondsLeft: Double?) {
        cullDeadline = secondsLeft.map { now + max(0, $0) }
    }

    /// The user answered the cull warning.
    mutating func keepAlive() {
        cullDeadline = nil
        commands.append(.keepAlive)
        say("kept the session running")
    }
}

extension NotebookApp {
    /// The culler's countdown on the row above the status bar: the session stops at 0 unless a key is pressed.
    static func drawCullWarning(_ state: State, into buffer: inout ScreenBuffer) {
        guard let deadline = state.cullDeadline, buffer.height > 1 else { return }
        let row = buffer.height - 2
        let left = Int(max(0, deadline - state.now).rounded(.up))
        let style = Style(foreground: .white, background: .red, attributes: .bold)
        buffer.fill(Rect(x: 0, y: row, width: buffer.width, height: 1), style: style)
        buffer.write(
            " Idle: this session stops in \(left) s (edits go to the recovery file). Press any key to keep it running.", x: 0,
            y: row, style: style)
    }
}
