import CoreSupport
public import Kernels

/// Which kernel messages count as activity, the way Jupyter Server's `MappingKernelManager` decides.
///
/// IOPub traffic caused by a user's request (running a cell, completion, inspection, comms)
/// counts and moves `last_activity`; traffic of status polling and housekeeping
/// (`kernel_info`, `comm_info`, shutdown, interrupt, debugger) does not, whether the message
/// itself or its parent request is of such a type. A `status` message whose parent is a tracked
/// request sets the execution state (busy/idle), so a cell that runs for an hour without printing
/// keeps its kernel busy the whole time, and its final `idle` status is fresh activity.
public enum Activity {
    /// Message types that never count as activity (Jupyter Server's `untracked_message_types`, less outputs).
    public static let untrackedMessageTypes: Set<String> = [
        "comm_info_request", "comm_info_reply", "kernel_info_request", "kernel_info_reply", "shutdown_request",
        "shutdown_reply", "interrupt_request", "interrupt_reply", "debug_request", "debug_reply", "debug_event",
    ]

    /// What one IOPub message means for the session.
    public struct Observation: Sendable, Equatable {
        /// Whether it moves `last_activity`.
        public var counts: Bool
        /// The execution state it reports (`busy`, `idle`, `starting`), if it is a tracked status message.
        public var executionState: String?
    }

    /// Classifies one IOPub message.
    public static func classify(_ message: KernelMessage) -> Observation {
        let type = message.msgType
        let parentType = message.parentHeader["msg_type"]?.stringValue
        if untrackedMessageTypes.contains(type) || parentType.map(untrackedMessageTypes.contains) == true {
            return Observation(counts: false, executionState: nil)
        }
        if type == "status" {
            // The `starting` broadcast answers no request: activity, but not the state of a request.
            let state = parentType == nil ? nil : message.content["execution_state"]?.stringValue
            return Observation(counts: true, executionState: state)
        }
        return Observation(counts: true, executionState: nil)
    }

    /// Whether an IOPub message is a cell output worth keeping while no TUI is attached.
    public static func isOutput(_ message: KernelMessage) -> Bool {
        ["stream", "display_data", "execute_result", "error", "update_display_data"].contains(message.msgType)
    }

    /// Whether a session host appends it to the outputs journal: outputs, plus the start (`execute_input`)
    /// and end (`status: idle`) of each executed cell, so a re-attaching TUI can finish the cells it left running.
    public static func isJournaled(_ message: KernelMessage) -> Bool {
        if isOutput(message) || message.msgType == "execute_input" || message.msgType == "clear_output" { return true }
        return message.msgType == "status" && message.content["execution_state"]?.stringValue == "idle"
            && message.parentHeader["msg_type"]?.stringValue == "execute_request"
    }
}
