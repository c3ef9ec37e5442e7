public import CoreSupport
import Crypto

/// The five channels of the Jupyter messaging protocol.
public enum Channel: String, Sendable, CaseIterable {
    case shell, iopub, stdin, control, heartbeat = "hb"
}

/// One Jupyter protocol message.
public struct KernelMessage: Sendable, Equatable {
    public var header: JSONObject
    public var parentHeader: JSONObject
    public var metadata: JSONObject
    public var content: JSONObject
    public var buffers: [[UInt8]]
    /// ZeroMQ routing identities before the delimiter (kernel side).
    public var identities: [[UInt8]]

    public init(
        header: JSONObject, parentHeader: JSONObject = [:], metadata: JSONObject = [:], content: JSONObject = [:],
        buffers: [[UInt8]] = [], identities: [[UInt8]] = []
    ) {
        self.header = header
        self.parentHeader = parentHeader
        self.metadata = metadata
        self.content = content
        self.buffers = buffers
        self.identities = identities
    }

    public var msgID: String { header["msg_id"]?.stringValue ?? "" }
    public var msgType: String { header["msg_type"]?.stringValue ?? "" }
    public var parentMsgID: String? { parentHeader["msg_id"]?.stringValue }
}

/// Why a received message was refused.
public enum MessageError: Error, Sendable, Equatable, CustomStringConvertible {
    case noDelimiter
    case tooFewFrames(Int)
    case badSignature
    case badJSON(frame: String, detail: String)

    public var description: String {
        switch self {
        case .noDelimiter: return "message has no <IDS|MSG> delimiter"
        case .tooFewFrames(let n): return "message has \(n) frames after the delimiter, expected at least 5"
        case .badSignature: return "message signature does not match (wrong key, or tampered message)"
        case .badJSON(let frame, let detail): return "message \(frame) is not valid JSON: \(detail)"
        }
    }
}

/// Signs, serializes and verifies messages for one client or kernel session.
public struct MessageSession: Sendable {
    public static let protocolVersion = "5.3"
    static let delimiter = Array("<IDS|MSG>".utf8)

    public let sessionID: String
    public let username: String
    let key: [UInt8]?

    /// A session signing with `key` (HMAC-SHA256); an empty key disables signing, as in Jupyter.
    public init(key: String, sessionID: String = Identifier.uuid(), username: String = Environment.userName) {
        self.key = key.isEmpty ? nil : Array(key.utf8)
        self.sessionID = sessionID
        self.username = username
    }

    /// A fresh header for a message of this type.
    public func header(msgType: String, msgID: String = Identifier.uuid()) -> JSONObject {
        [
            "msg_id": .string(msgID), "msg_type": .string(msgType), "username": .string(username),
            "session": .string(sessionID), "date": .string(Clock.iso8601()),
            "version": .string(MessageSession.protocolVersion),
        ]
    }

    /// A new message with a fresh header.
    public func message(
        _ msgType: String, content: JSONObject = [:], parent: JSONObject = [:], metadata: JSONObject = [:]
    ) -> KernelMessage {
        KernelMessage(header: header(msgType: msgType), parentHeader: parent, metadata: metadata, content: content)
    }

    func signature(_ parts: [[UInt8]]) -> [UInt8] {
        guard let key else { return [] }
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key))
        for part in parts { hmac.update(data: part) }
        return Array(Identifier.hexString(hmac.finalize()).utf8)
    }

    /// The wire frames of a message: identities, delimiter, signature, four JSON parts, buffers.
    public func serialize(_ message: KernelMessage) -> [[UInt8]] {
        let parts = [
            JSON.object(message.header).serializedBytes(), JSON.object(message.parentHeader).serializedBytes(),
            JSON.object(message.metadata).serializedBytes(), JSON.object(message.content).serializedBytes(),
        ]
        return message.identities + [MessageSession.delimiter, signature(parts)] + parts + message.buffers
    }

    /// Parses wire frames, refusing a message whose signature does not match.
    public func deserialize(_ frames: [[UInt8]]) throws(MessageError) -> KernelMessage {
        guard let split = frames.firstIndex(of: MessageSession.delimiter) else { throw .noDelimiter }
        let rest = frames[(split + 1)...]
        guard rest.count >= 5 else { throw .tooFewFrames(rest.count) }
        let sig = rest[rest.startIndex]
        let parts = Array(rest[(rest.startIndex + 1)..<(rest.startIndex + 5)])
        if key != nil {
            let expected = signature(parts)
            guard constantTimeEqual(expected, sig) else { throw .badSignature }
        }
        func object(_ bytes: [UInt8], _ name: String) throws(MessageError) -> JSONObject {
            let value: JSON
            do {
                value = try JSON.parse(bytes)
            } catch {
                throw .badJSON(frame: name, detail: error.description)
            }
            guard case .object(let o) = value else { throw .badJSON(frame: name, detail: "not an object") }
            return o
        }
        return KernelMessage(
            header: try object(parts[0], "header"), parentHeader: try object(parts[1], "parent_header"),
            metadata: try object(parts[2], "metadata"), content: try object(parts[3], "content"),
            buffers: Array(rest.dropFirst(5)), identities: Array(frames[..<split]))
    }

    private func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
