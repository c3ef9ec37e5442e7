public import CoreSupport

/// A failure of the bus itself: routing, registration, envelopes, denial, time-out.
///
/// Errors a handler throws pass through the bus unchanged in process; a
/// transport turns them into `handlerFailed` (see `Bus.respond(to:)`).
public struct BusError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable, Hashable {
        /// No plugin serves the action.
        case unknownAction
        /// A plugin registers the same action twice.
        case duplicateAction
        /// Another plugin already has the namespace.
        case duplicateNamespace
        /// A plugin registers an action outside its namespace.
        case actionOutsideNamespace
        /// A namespace, action or permission name is malformed.
        case invalidName
        /// A payload does not decode into its message type.
        case invalidPayload
        /// An envelope from a transport is not a well-formed request, response or event.
        case malformedEnvelope
        /// Middleware refused the request.
        case denied
        /// The request ran past its time-out and was cancelled.
        case timedOut
        /// The request was cancelled (transports only; in process it is `CancellationError`).
        case cancelled
        /// The handler threw a non-bus error (transports only; in process it passes unchanged).
        case handlerFailed
    }

    /// What went wrong.
    public var code: Code
    /// The action concerned, as `namespace.name`, when there is one.
    public var action: String?
    /// A sentence a user can act on.
    public var message: String

    /// Makes an error from its parts.
    public init(_ code: Code, action: String? = nil, _ message: String) {
        self.code = code
        self.action = action
        self.message = message
    }

    public var description: String { message }

    /// No plugin serves this action.
    public static func unknownAction(_ action: String, known: [Action] = []) -> BusError {
        let hint = known.isEmpty ? "" : " (its namespace serves \(known.map(\.description).sorted().joined(separator: ", ")))"
        return BusError(.unknownAction, action: action, "unknown action '\(action)': no plugin serves it\(hint)")
    }

    /// A payload did not decode into the message type.
    public static func invalidPayload(_ type: String, action: String? = nil, _ why: String) -> BusError {
        BusError(.invalidPayload, action: action, "invalid \(type): \(why)")
    }

    /// The error as JSON, for a response envelope.
    public var jsonValue: JSON {
        var object: JSONObject = ["code": .string(code.rawValue), "message": .string(message)]
        if let action { object["action"] = .string(action) }
        return .object(object)
    }

    /// Reads an error written by `jsonValue`; an unknown code becomes `handlerFailed`.
    public init(json: JSON) throws(BusError) {
        guard let message = json["message"]?.stringValue, let code = json["code"]?.stringValue else {
            throw BusError(.malformedEnvelope, "an error must have a code and a message")
        }
        self.init(Code(rawValue: code) ?? .handlerFailed, action: json["action"]?.stringValue, message)
    }
}
