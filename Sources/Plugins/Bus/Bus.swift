public import CoreSupport
public import Governance
internal import Synchronization

/// The in-process plugin bus: routes typed requests through middleware to plugins, and fans out events.
///
/// Middleware is fixed at creation, outermost first. Requests run in the
/// caller's task, so cancelling the caller cancels the handler; a time-out
/// cancels the handler too and throws `BusError` `.timedOut`.
public final class Bus: Sendable {
    private struct Route: Sendable {
        var permission: Permission
        var handler: BusHandler
    }

    private struct Subscriber: Sendable {
        var namespaces: Set<String>?
        var continuation: AsyncStream<EventEnvelope>.Continuation
    }

    private struct State: Sendable {
        var routes: [Action: Route] = [:]
        var namespaces: Set<String> = []
        var subscribers: [Int: Subscriber] = [:]
        var nextSubscriber = 0
        var sequence = 0
    }

    private let middleware: [any BusMiddleware]
    private let state = Mutex(State())

    /// The default number of events a subscriber may fall behind by before the oldest are dropped.
    public static let defaultEventBuffer = 1024

    /// Makes a bus whose requests pass through `middleware`, first element outermost.
    public init(middleware: [any BusMiddleware] = []) {
        self.middleware = middleware
    }

    deinit {
        let continuations = state.withLock { $0.subscribers.values.map(\.continuation) }
        for continuation in continuations { continuation.finish() }
    }

    // MARK: Registration

    /// Registers every action of `plugin`, or none of them if one is invalid or already taken.
    public func register(_ plugin: some Plugin) throws(BusError) {
        let namespace = plugin.namespace
        if let problem = Action.namespaceProblem(namespace) { throw BusError(.invalidName, "cannot register plugin: \(problem)") }
        var routes: [Action: Route] = [:]
        for registration in plugin.actions {
            let action = registration.action
            if let problem = action.problem {
                throw BusError(.invalidName, action: action.description, "cannot register '\(action)': \(problem)")
            }
            guard action.namespace == namespace else {
                throw BusError(
                    .actionOutsideNamespace, action: action.description,
                    "plugin '\(namespace)' cannot register '\(action)': its actions must be named '\(namespace).*'")
            }
            if let problem = registration.permission.problem {
                throw BusError(.invalidName, action: action.description, "cannot register '\(action)': \(problem)")
            }
            guard routes[action] == nil else {
                throw BusError(.duplicateAction, action: action.description, "plugin '\(namespace)' registers '\(action)' twice")
            }
            routes[action] = Route(permission: registration.permission, handler: registration.handler)
        }
        try state.withLock { (state) throws(BusError) in
            guard !state.namespaces.contains(namespace) else {
                throw BusError(.duplicateNamespace, "a plugin with namespace '\(namespace)' is already registered")
            }
            state.namespaces.insert(namespace)
            state.routes.merge(routes) { old, _ in old }
        }
    }

    /// Every registered action with the permission it needs.
    public var registeredActions: [Action: Permission] {
        state.withLock { $0.routes.mapValues(\.permission) }
    }

    // MARK: Requests

    /// Sends a typed request as `principal` and returns its typed response.
    public func send<R: BusRequest>(
        _ request: R, as principal: Principal = .currentUser, requestID: String = Identifier.requestID(),
        timeout: Duration? = nil
    ) async throws -> R.Response {
        let envelope = RequestEnvelope(request, principal: principal, requestID: requestID, timeout: timeout)
        return try await dispatch(envelope).decode(R.Response.self, action: R.action)
    }

    /// Routes an envelope through the middleware to its plugin; throws `unknownAction` when no plugin serves it.
    public func dispatch(_ request: RequestEnvelope) async throws -> Payload {
        let route = try state.withLock { (state) throws(BusError) -> Route in
            guard let route = state.routes[request.action] else {
                let siblings = state.routes.keys.filter { $0.namespace == request.action.namespace }
                throw BusError.unknownAction(request.action.description, known: siblings)
            }
            return route
        }
        var context = RequestContext(
            principal: request.principal, requestID: request.requestID, action: request.action, permission: route.permission)
        guard let timeout = request.timeout else {
            return try await run(0, request, context, route)
        }
        context.deadline = ContinuousClock.now.advanced(by: timeout)
        let started = context
        return try await withThrowingTaskGroup(of: Payload?.self) { group in
            group.addTask { try await self.run(0, request, started, route) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let payload = first else {
                throw BusError(.timedOut, action: request.action.description, "\(request.action) timed out after \(timeout)")
            }
            return payload
        }
    }

    /// Answers an envelope with a response envelope, never throwing: the entry point for transports.
    public func respond(to request: RequestEnvelope) async -> ResponseEnvelope {
        do {
            return ResponseEnvelope(requestID: request.requestID, result: .success(try await dispatch(request)))
        } catch let error as BusError {
            return ResponseEnvelope(requestID: request.requestID, result: .failure(error))
        } catch is CancellationError {
            return ResponseEnvelope(
                requestID: request.requestID,
                result: .failure(BusError(.cancelled, action: request.action.description, "\(request.action) was cancelled")))
        } catch {
            return ResponseEnvelope(
                requestID: request.requestID,
                result: .failure(BusError(.handlerFailed, action: request.action.description, "\(request.action) failed: \(error)")))
        }
    }

    private func run(_ index: Int, _ request: RequestEnvelope, _ context: RequestContext, _ route: Route) async throws -> Payload {
        try Task.checkCancellation()
        guard index < middleware.count else { return try await route.handler(request.payload, context) }
        return try await middleware[index].handle(request, context: context) { request, context in
            try await self.run(index + 1, request, context, route)
        }
    }

    // MARK: Events

    /// Publishes a typed event to every subscriber of its namespace; never waits for them.
    public func publish<E: BusEvent>(_ event: E, by principal: Principal? = nil) {
        publish(topic: E.topic, principal: principal, payload: Payload(event))
    }

    /// Publishes an untyped event; returns its sequence number.
    @discardableResult
    public func publish(topic: Action, principal: Principal?, payload: Payload) -> Int {
        state.withLock { state in
            state.sequence += 1
            let envelope = EventEnvelope(topic: topic, sequence: state.sequence, principal: principal, payload: payload)
            for subscriber in state.subscribers.values where subscriber.namespaces?.contains(topic.namespace) ?? true {
                subscriber.continuation.yield(envelope)
            }
            return state.sequence
        }
    }

    /// A stream of the events in `namespaces` (all when `nil`), published from now on.
    ///
    /// Each subscriber has its own buffer of `buffer` events; when it falls
    /// further behind, its oldest events are dropped (sequence numbers show the gap).
    /// Ending the iteration unsubscribes.
    public func events(in namespaces: Set<String>? = nil, buffer: Int = Bus.defaultEventBuffer) -> AsyncStream<EventEnvelope> {
        let (stream, continuation) = AsyncStream.makeStream(of: EventEnvelope.self, bufferingPolicy: .bufferingNewest(max(1, buffer)))
        let id = state.withLock { state in
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = Subscriber(namespaces: namespaces, continuation: continuation)
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// A handle plugins keep to publish events; it does not keep the bus alive.
    public var publisher: EventPublisher { EventPublisher(bus: self) }

    /// How many event subscribers are attached.
    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }
}

/// Publishes events on a bus without owning it, so a plugin can hold one without a reference cycle.
public struct EventPublisher: Sendable {
    private weak let bus: Bus?

    init(bus: Bus) { self.bus = bus }

    /// Publishes a typed event; does nothing once the bus is gone.
    public func publish<E: BusEvent>(_ event: E, by principal: Principal? = nil) {
        bus?.publish(event, by: principal)
    }
}
