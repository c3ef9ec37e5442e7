public import Governance

/// A step in front of every plugin: `handle(request, context, next)`, as in Hummingbird.
///
/// Call `next` to go on (with a changed request or an enriched context if you
/// like), return or throw without calling it to short-circuit, or observe what
/// `next` returns or throws.
public protocol BusMiddleware: Sendable {
    /// Handles one request, usually by calling `next`.
    func handle(
        _ request: RequestEnvelope, context: RequestContext,
        next: (RequestEnvelope, RequestContext) async throws -> Payload
    ) async throws -> Payload
}

/// A middleware made from a closure, for small steps and tests.
public struct ClosureMiddleware: BusMiddleware {
    private let body:
        @Sendable (RequestEnvelope, RequestContext, (RequestEnvelope, RequestContext) async throws -> Payload) async throws -> Payload

    /// Wraps `body`, which gets the request, the context and `next`.
    public init(
        _ body: @escaping @Sendable (
            RequestEnvelope, RequestContext, (RequestEnvelope, RequestContext) async throws -> Payload
        ) async throws -> Payload
    ) {
        self.body = body
    }

    public func handle(
        _ request: RequestEnvelope, context: RequestContext,
        next: (RequestEnvelope, RequestContext) async throws -> Payload
    ) async throws -> Payload {
        try await body(request, context, next)
    }
}

// MARK: - Logging and timing

/// Logs every request once it ends: action, id, principal, outcome and duration.
///
/// Libraries take a sink rather than bootstrap a logger; the app decides where lines go.
public struct RequestLogMiddleware: BusMiddleware {
    /// How a request ended.
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// The handler answered.
        case succeeded
        /// The request was cancelled or timed out.
        case cancelled
        /// The request failed with this error.
        case failed(String)

        public var description: String {
            switch self {
            case .succeeded: "ok"
            case .cancelled: "cancelled"
            case .failed(let why): "failed: \(why)"
            }
        }
    }

    /// One logged request.
    public struct Record: Sendable, Equatable, CustomStringConvertible {
        /// The action served.
        public var action: Action
        /// The request's id.
        public var requestID: String
        /// The caller.
        public var principal: Principal
        /// How it ended.
        public var outcome: Outcome
        /// How long the rest of the chain and the handler took.
        public var duration: Duration

        /// Makes a record from its parts.
        public init(action: Action, requestID: String, principal: Principal, outcome: Outcome, duration: Duration) {
            self.action = action
            self.requestID = requestID
            self.principal = principal
            self.outcome = outcome
            self.duration = duration
        }

        /// The duration in milliseconds.
        public var milliseconds: Double { Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15 }

        /// One log line: `lakehouse.query id=... principal=user:alice ok 1.2 ms`.
        public var description: String {
            let tenths = (milliseconds * 10).rounded()
            let ms = "\(Int(tenths) / 10).\(Int(tenths) % 10)"
            return "\(action) id=\(requestID) principal=\(principal) \(outcome) \(ms) ms"
        }
    }

    private let sink: @Sendable (Record) -> Void

    /// Logs to `sink`, called once per request after it ends.
    public init(sink: @escaping @Sendable (Record) -> Void) {
        self.sink = sink
    }

    public func handle(
        _ request: RequestEnvelope, context: RequestContext,
        next: (RequestEnvelope, RequestContext) async throws -> Payload
    ) async throws -> Payload {
        let clock = ContinuousClock()
        let start = clock.now
        func log(_ outcome: Outcome) {
            sink(Record(action: context.action, requestID: context.requestID, principal: context.principal, outcome: outcome, duration: start.duration(to: clock.now)))
        }
        do {
            let response = try await next(request, context)
            log(.succeeded)
            return response
        } catch is CancellationError {
            log(.cancelled)
            throw CancellationError()
        } catch let error as BusError where error.code == .cancelled {
            log(.cancelled)
            throw error
        } catch {
            log(.failed(String(describing: error)))
            throw error
        }
    }
}

// MARK: - The authorization seam

/// An authorizer's verdict on one request.
public enum AuthorizationDecision: Sendable, Equatable {
    /// The request may go on.
    case allow
    /// The request is refused, for this reason.
    case deny(reason: String)
}

/// Decides whether a principal may use a registered permission; the Governance issue implements it.
public protocol PermissionAuthorizer: Sendable {
    /// Decides for the request in `context` (principal, action, registered permission).
    func authorize(_ context: RequestContext) async throws -> AuthorizationDecision
}

/// Asks an authorizer about the permission the serving plugin registered, and stops denied requests.
///
/// This is the seam only: the policy is the authorizer's. A denial throws
/// `BusError` with code `.denied`; the plugin's handler never runs.
public struct RequireRegisteredPermission: BusMiddleware {
    private let authorizer: any PermissionAuthorizer

    /// Guards every request with `authorizer`.
    public init(_ authorizer: any PermissionAuthorizer) {
        self.authorizer = authorizer
    }

    public func handle(
        _ request: RequestEnvelope, context: RequestContext,
        next: (RequestEnvelope, RequestContext) async throws -> Payload
    ) async throws -> Payload {
        switch try await authorizer.authorize(context) {
        case .allow:
            return try await next(request, context)
        case .deny(let reason):
            throw BusError(
                .denied, action: context.action.description,
                "\(context.principal) may not use \(context.action) (needs \(context.permission)): \(reason)")
        }
    }
}
