public import CoreSupport
public import Governance

/// A namespaced plugin action such as `lakehouse.query`.
///
/// The namespace is the plugin's; the name may itself contain dots
/// (`lakehouse.tables.list`).
public struct Action: Sendable, Hashable, CustomStringConvertible {
    /// The plugin namespace, e.g. `lakehouse`.
    public var namespace: String
    /// The action within the namespace, e.g. `query`.
    public var name: String

    /// Makes an action from its two parts, unchecked (the bus checks when a plugin registers it).
    public init(_ namespace: String, _ name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// Parses `namespace.name`; `nil` when either part is missing.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(String(parts[0]), String(parts[1]))
    }

    public var description: String { "\(namespace).\(name)" }

    /// Why this action is not well formed, or `nil` when it is.
    public var problem: String? {
        if let problem = Action.namespaceProblem(namespace) { return problem }
        guard !name.isEmpty else { return "the action name is empty" }
        guard name.unicodeScalars.allSatisfy(Action.isNameScalar), name.first != ".", name.last != "." else {
            return "the action name '\(name)' may hold only letters, digits, '_', '-' and inner dots"
        }
        return nil
    }

    /// Why `namespace` is not a valid plugin namespace, or `nil` when it is.
    public static func namespaceProblem(_ namespace: String) -> String? {
        guard !namespace.isEmpty else { return "the namespace is empty" }
        guard namespace.unicodeScalars.allSatisfy({ isNameScalar($0) && $0 != "." }) else {
            return "the namespace '\(namespace)' may hold only letters, digits, '_' and '-'"
        }
        return nil
    }

    static func isNameScalar(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-", ".": true
        default: false
        }
    }
}

/// The name of a permission an action needs, such as `lakehouse:import`.
///
/// The bus only carries the name; what it grants is the Governance issue's to decide.
public struct Permission: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The permission's full name, `namespace:verb`.
    public var name: String

    /// Makes a permission from its full name.
    public init(_ name: String) { self.name = name }

    /// Makes a permission from a string literal such as `"lakehouse:import"`.
    public init(stringLiteral value: String) { self.name = value }

    public var description: String { name }

    /// Why this name is not of the form `namespace:verb`, or `nil` when it is.
    public var problem: String? {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            name.unicodeScalars.allSatisfy({ Action.isNameScalar($0) || $0 == ":" })
        else { return "the permission '\(name)' is not of the form namespace:verb" }
        return nil
    }
}

/// Who asks, under which request id, for which action: what middleware and handlers see.
///
/// Middleware may enrich the context (`attributes`) before passing it on.
public struct RequestContext: Sendable {
    /// The calling principal (the OS user in embedded mode).
    public var principal: Principal
    /// The request's id, unique per request, for logs, audit and responses.
    public var requestID: String
    /// The action being served.
    public var action: Action
    /// The permission the serving plugin registered for the action.
    public var permission: Permission
    /// When the request times out, if it has a time-out.
    public var deadline: ContinuousClock.Instant?
    /// Values added by middleware on the way in (for example an audit record id).
    public var attributes: JSONObject

    /// Makes a context; the bus makes one per request.
    public init(
        principal: Principal, requestID: String, action: Action, permission: Permission,
        deadline: ContinuousClock.Instant? = nil, attributes: JSONObject = [:]
    ) {
        self.principal = principal
        self.requestID = requestID
        self.action = action
        self.permission = permission
        self.deadline = deadline
        self.attributes = attributes
    }
}
