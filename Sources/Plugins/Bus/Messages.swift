public import CoreSupport
public import Governance

/// A value the bus can carry: it converts to and from CoreSupport's `JSON`.
///
/// In process the value itself travels; the JSON form is what a server
/// transport sends, so every message must round-trip through it.
public protocol BusMessage: Sendable {
    /// Reads the message from its JSON form.
    init(json: JSON) throws
    /// The message's JSON form.
    var jsonValue: JSON { get }
}

/// A typed request: its action, its response type and the permission it needs.
public protocol BusRequest: BusMessage {
    /// What the request answers with.
    associatedtype Response: BusMessage
    /// The action this request asks for, e.g. `lakehouse.query`.
    static var action: Action { get }
    /// The permission a caller needs, e.g. `lakehouse:query`.
    static var permission: Permission { get }
}

/// A typed event: something that happened, published to subscribers of its namespace.
public protocol BusEvent: BusMessage {
    /// The event's namespaced topic, e.g. `lakehouse.snapshotCommitted`.
    static var topic: Action { get }
}

/// A response with nothing in it.
public struct NoContent: BusMessage, Hashable {
    /// The empty response.
    public init() {}
    /// Accepts any JSON (conventionally `{}`).
    public init(json: JSON) {}
    public var jsonValue: JSON { .object([:]) }
}

/// A message payload: a typed value in process, JSON off the wire.
public struct Payload: Sendable {
    private enum Storage: Sendable {
        case message(any BusMessage)
        case json(JSON)
    }

    private let storage: Storage

    /// Wraps a typed message (no encoding happens in process).
    public init(_ message: some BusMessage) { storage = .message(message) }

    /// Wraps JSON received from a transport.
    public init(json: JSON) { storage = .json(json) }

    /// The payload as JSON (encodes a typed value on demand).
    public var json: JSON {
        switch storage {
        case .message(let message): message.jsonValue
        case .json(let json): json
        }
    }

    /// The payload as `type`: the value itself when it is one, otherwise decoded from JSON.
    public func decode<M: BusMessage>(_ type: M.Type, action: Action? = nil) throws(BusError) -> M {
        if case .message(let message) = storage, let typed = message as? M { return typed }
        do {
            return try M(json: json)
        } catch let error as BusError where error.code == .invalidPayload && error.action == nil {
            throw BusError.invalidPayload(String(describing: M.self), action: action?.description, error.message)
        } catch let error as BusError {
            throw error
        } catch {
            throw BusError.invalidPayload(String(describing: M.self), action: action?.description, "\(error)")
        }
    }
}

extension JSON {
    /// The field `key` read with `get` (e.g. `\.stringValue`); throws `invalidPayload` naming the field.
    public func required<T>(_ key: String, _ get: (JSON) -> T?) throws(BusError) -> T {
        guard let field = self[key] else { throw BusError(.invalidPayload, "the field '\(key)' is missing") }
        guard let value = get(field) else {
            throw BusError(.invalidPayload, "the field '\(key)' has the wrong type (\(field.typeName))")
        }
        return value
    }
}

extension Principal {
    /// The principal as JSON: `{"kind": "user", "name": "alice"}`.
    public var jsonValue: JSON { ["kind": .string(kind.rawValue), "name": .string(name)] }

    /// Reads a principal written by `jsonValue`.
    public init(json: JSON) throws(BusError) {
        guard let kind = json["kind"]?.stringValue.flatMap(Kind.init(rawValue:)), let name = json["name"]?.stringValue else {
            throw BusError(.malformedEnvelope, "a principal needs a kind (user, group, role) and a name")
        }
        self.init(kind, name)
    }
}

/// A request as it travels: action, id, caller, payload and optional time-out.
///
/// A server transport must replace `principal` with the one it authenticated;
/// the bus trusts whatever principal the envelope carries.
public struct RequestEnvelope: Sendable {
    /// The action asked for.
    public var action: Action
    /// The request's id.
    public var requestID: String
    /// The caller.
    public var principal: Principal
    /// The request itself.
    public var payload: Payload
    /// How long the request may take, or `nil` for no limit.
    public var timeout: Duration?

    /// Makes an envelope from its parts.
    public init(action: Action, requestID: String, principal: Principal, payload: Payload, timeout: Duration? = nil) {
        self.action = action
        self.requestID = requestID
        self.principal = principal
        self.payload = payload
        self.timeout = timeout
    }

    /// Wraps a typed request; a new request id is made when none is given.
    public init<R: BusRequest>(
        _ request: R, principal: Principal, requestID: String = Identifier.requestID(), timeout: Duration? = nil
    ) {
        self.init(action: R.action, requestID: requestID, principal: principal, payload: Payload(request), timeout: timeout)
    }

    /// The envelope as JSON: `{"type": "request", "id", "action", "principal", "payload", "timeout_ms"?}`.
    public var jsonValue: JSON {
        var object: JSONObject = [
            "type": "request", "id": .string(requestID), "action": .string(action.description),
            "principal": principal.jsonValue, "payload": payload.json,
        ]
        if let timeout { object["timeout_ms"] = .int(Int(timeout / .milliseconds(1))) }
        return .object(object)
    }

    /// Reads an envelope written by `jsonValue`.
    public init(json: JSON) throws(BusError) {
        guard json["type"]?.stringValue == "request", let id = json["id"]?.stringValue,
            let actionText = json["action"]?.stringValue, let principal = json["principal"]
        else { throw BusError(.malformedEnvelope, "a request needs type 'request', an id, an action and a principal") }
        guard let action = Action(actionText) else {
            throw BusError(.malformedEnvelope, action: actionText, "'\(actionText)' is not an action of the form namespace.name")
        }
        var timeout: Duration?
        if let ms = json["timeout_ms"] {
            guard let value = ms.intValue, value > 0 else { throw BusError(.malformedEnvelope, "timeout_ms must be a positive integer") }
            timeout = .milliseconds(value)
        }
        self.init(
            action: action, requestID: id, principal: try Principal(json: principal),
            payload: Payload(json: json["payload"] ?? .object([:])), timeout: timeout)
    }
}

/// A response as it travels: the request id and either a payload or an error.
public struct ResponseEnvelope: Sendable {
    /// The id of the request answered.
    public var requestID: String
    /// The response, or the bus error it failed with.
    public var result: Result<Payload, BusError>

    /// Makes an envelope from its parts.
    public init(requestID: String, result: Result<Payload, BusError>) {
        self.requestID = requestID
        self.result = result
    }

    /// The envelope as JSON: `{"type": "response", "id", "ok", "payload" | "error"}`.
    public var jsonValue: JSON {
        switch result {
        case .success(let payload):
            ["type": "response", "id": .string(requestID), "ok": true, "payload": payload.json]
        case .failure(let error):
            ["type": "response", "id": .string(requestID), "ok": false, "error": error.jsonValue]
        }
    }

    /// Reads an envelope written by `jsonValue`.
    public init(json: JSON) throws(BusError) {
        guard json["type"]?.stringValue == "response", let id = json["id"]?.stringValue, let ok = json["ok"]?.boolValue else {
            throw BusError(.malformedEnvelope, "a response needs type 'response', an id and ok")
        }
        if ok {
            self.init(requestID: id, result: .success(Payload(json: json["payload"] ?? .null)))
        } else {
            self.init(requestID: id, result: .failure(try BusError(json: json["error"] ?? .null)))
        }
    }
}

/// An event as it travels: topic, sequence number, publisher and payload.
public struct EventEnvelope: Sendable {
    /// The event's topic; subscribers filter on its namespace.
    public var topic: Action
    /// The bus-wide publication number (1, 2, ...); a gap means this subscriber dropped events.
    public var sequence: Int
    /// Who caused the event, when known.
    public var principal: Principal?
    /// The event itself.
    public var payload: Payload

    /// Makes an envelope from its parts.
    public init(topic: Action, sequence: Int, principal: Principal?, payload: Payload) {
        self.topic = topic
        self.sequence = sequence
        self.principal = principal
        self.payload = payload
    }

    /// The event as `type`; throws when the topic or payload does not match.
    public func decode<E: BusEvent>(_ type: E.Type) throws(BusError) -> E {
        guard topic == E.topic else {
            throw BusError.invalidPayload(String(describing: E.self), action: topic.description, "the event's topic is \(topic), not \(E.topic)")
        }
        return try payload.decode(E.self, action: topic)
    }

    /// The envelope as JSON: `{"type": "event", "topic", "sequence", "principal"?, "payload"}`.
    public var jsonValue: JSON {
        var object: JSONObject = [
            "type": "event", "topic": .string(topic.description), "sequence": .int(sequence), "payload": payload.json,
        ]
        if let principal { object["principal"] = principal.jsonValue }
        return .object(object)
    }

    /// Reads an envelope written by `jsonValue`.
    public init(json: JSON) throws(BusError) {
        guard json["type"]?.stringValue == "event", let text = json["topic"]?.stringValue, let topic = Action(text),
            let sequence = json["sequence"]?.intValue
        else { throw BusError(.malformedEnvelope, "an event needs type 'event', a namespaced topic and a sequence") }
        self.init(
            topic: topic, sequence: sequence, principal: try json["principal"].map { j throws(BusError) in try Principal(json: j) },
            payload: Payload(json: json["payload"] ?? .null))
    }
}
