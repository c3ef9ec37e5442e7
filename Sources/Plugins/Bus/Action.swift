public import Governance

/// A namespaced plugin action such as `lakehouse.query`.
///
/// Plugins register the actions they serve on the bus; the Storage and bus
/// issue builds the request/response types and middleware chain on this.
public struct Action: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(_ namespace: String, _ name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// Parses `namespace.name`; `nil` when either part is missing.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(String(parts[0]), String(parts[1]))
    }

    public var description: String { "\(namespace).\(name)" }
}

/// The caller and id every bus request carries.
public struct RequestContext: Sendable {
    public var principal: Principal
    public var requestID: String

    public init(principal: Principal, requestID: String) {
        self.principal = principal
        self.requestID = requestID
    }
}
