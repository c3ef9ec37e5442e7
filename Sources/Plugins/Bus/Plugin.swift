/// A plugin: a namespace and the actions it serves there.
///
/// Registering a plugin is one line in the wiring: `try bus.register(LakehousePlugin(...))`.
public protocol Plugin: Sendable {
    /// The namespace every action of this plugin lives in, e.g. `lakehouse`.
    var namespace: String { get }
    /// The actions this plugin serves, each with its permission and handler.
    var actions: [ActionRegistration] { get }
}

/// The untyped handler a registration runs: payload in, payload out.
public typealias BusHandler = @Sendable (Payload, RequestContext) async throws -> Payload

/// One action a plugin serves: the action, the permission it needs, the handler.
public struct ActionRegistration: Sendable {
    /// The action served.
    public var action: Action
    /// The permission a caller needs for it, e.g. `lakehouse:import`.
    public var permission: Permission
    /// Runs the action.
    public var handler: BusHandler

    /// Registers an untyped handler (JSON-level plugins, adapters).
    public init(action: Action, permission: Permission, handler: @escaping BusHandler) {
        self.action = action
        self.permission = permission
        self.handler = handler
    }

    /// Registers a typed handler for `R`, under `R.action` and `R.permission`.
    public static func handle<R: BusRequest>(
        _ type: R.Type, _ body: @escaping @Sendable (R, RequestContext) async throws -> R.Response
    ) -> ActionRegistration {
        ActionRegistration(action: R.action, permission: R.permission) { payload, context in
            Payload(try await body(try payload.decode(R.self, action: R.action), context))
        }
    }
}
