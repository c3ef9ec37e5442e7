import CoreSupport
import Governance
import PluginBus
import Synchronization
import Testing

/// Collects values from concurrent code, for assertions.
final class Recorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
}

/// Answers with what the handler saw: principal, request id, action, permission, attributes.
struct WhoAmI: BusRequest {
    typealias Response = Seen
    static let action = Action("probe", "whoami")
    static let permission: Permission = "probe:read"
    init() {}
    init(json: JSON) {}
    var jsonValue: JSON { [:] }
}

struct Seen: BusMessage, Equatable {
    var principal: Principal
    var requestID: String
    var action: String
    var permission: String
    var attributes: JSON

    init(_ context: RequestContext) {
        principal = context.principal
        requestID = context.requestID
        action = context.action.description
        permission = context.permission.name
        attributes = .object(context.attributes)
    }
    init(json: JSON) throws {
        principal = try Principal(json: json.required("principal", { $0 }))
        requestID = try json.required("id", \.stringValue)
        action = try json.required("action", \.stringValue)
        permission = try json.required("permission", \.stringValue)
        attributes = json["attributes"] ?? [:]
    }
    var jsonValue: JSON {
        [
            "principal": principal.jsonValue, "id": .string(requestID), "action": .string(action),
            "permission": .string(permission), "attributes": attributes,
        ]
    }
}

/// Sleeps for the given milliseconds, honouring cancellation, and tells whether it was cancelled.
struct Sleep: BusRequest {
    typealias Response = NoContent
    static let action = Action("probe", "sleep")
    static let permission: Permission = "probe:read"
    var milliseconds: Int
    init(milliseconds: Int) { self.milliseconds = milliseconds }
    init(json: JSON) throws { milliseconds = try json.required("ms", \.intValue) }
    var jsonValue: JSON { ["ms": .int(milliseconds)] }
}

/// Always fails with a handler error.
struct Fail: BusRequest {
    typealias Response = NoContent
    static let action = Action("probe", "fail")
    static let permission: Permission = "probe:read"
    init() {}
    init(json: JSON) {}
    var jsonValue: JSON { [:] }
}

struct ProbeFailure: Error, CustomStringConvertible {
    var description: String { "probe failed on purpose" }
}

/// A plugin that reports what its handlers see, sleeps and fails on request.
final class ProbePlugin: Plugin {
    let namespace = "probe"
    let started = Recorder<String>()
    let cancelled = Recorder<String>()
    let inFlight = Mutex((now: 0, peak: 0))

    var actions: [ActionRegistration] {
        [
            .handle(WhoAmI.self) { _, context in
                self.started.append(context.requestID)
                return Seen(context)
            },
            .handle(Sleep.self) { request, context in
                self.started.append(context.requestID)
                self.inFlight.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
                defer { self.inFlight.withLock { $0.now -= 1 } }
                do {
                    try await Task.sleep(for: .milliseconds(request.milliseconds))
                } catch {
                    self.cancelled.append(context.requestID)
                    throw error
                }
                return NoContent()
            },
            .handle(Fail.self) { _, _ in throw ProbeFailure() },
        ]
    }
}

/// A plugin built from a namespace and registrations, for registration tests.
struct AdHocPlugin: Plugin {
    var namespace: String
    var actions: [ActionRegistration]
}

func registration(_ namespace: String, _ name: String, permission: Permission = "x:y") -> ActionRegistration {
    ActionRegistration(action: Action(namespace, name), permission: permission) { payload, _ in payload }
}

/// Waits (up to ten seconds, for a loaded machine) until `condition` holds.
func eventually(_ condition: () -> Bool) async throws {
    for _ in 0..<1000 where !condition() {
        try await Task.sleep(for: .milliseconds(10))
    }
}

let alice = Principal(.user, "alice")

@Suite("Plugin bus: routing and registration")
struct RoutingTests {
    @Test func routesTypedRequestsToTheirPlugin() async throws {
        let bus = Bus()
        try bus.register(NotesPlugin(events: bus.publisher))
        try bus.register(ProbePlugin())
        #expect(try await bus.send(AddNote(text: "first")) == NoteNumber(1))
        #expect(try await bus.send(AddNote(text: "second")) == NoteNumber(2))
        #expect(try await bus.send(CountNotes()) == NoteNumber(2))
        #expect(try await bus.send(WhoAmI(), as: alice).action == "probe.whoami")
        #expect(bus.registeredActions[AddNote.action] == "notes:write")
        #expect(bus.registeredActions.count == 5)
    }

    @Test func unknownActionNamesTheActionAndItsSiblings() async throws {
        struct RemoveNote: BusRequest {
            typealias Response = NoContent
            static let action = Action("notes", "remove")
            static let permission: Permission = "notes:write"
            init() {}
            init(json: JSON) {}
            var jsonValue: JSON { [:] }
        }
        let bus = Bus()
        try bus.register(NotesPlugin(events: bus.publisher))
        let error = await #expect(throws: BusError.self) { try await bus.send(RemoveNote()) }
        #expect(error?.code == .unknownAction)
        #expect(error?.action == "notes.remove")
        #expect(error?.message == "unknown action 'notes.remove': no plugin serves it (its namespace serves notes.add, notes.count)")

        let other = await #expect(throws: BusError.self) {
            try await bus.dispatch(RequestEnvelope(action: Action("nowhere", "thing"), requestID: "r", principal: alice, payload: Payload(NoContent())))
        }
        #expect(other?.message == "unknown action 'nowhere.thing': no plugin serves it")
    }

    @Test func aNamespaceBelongsToOnePlugin() throws {
        let bus = Bus()
        try bus.register(NotesPlugin(events: bus.publisher))
        let error = #expect(throws: BusError.self) { try bus.register(NotesPlugin(events: bus.publisher)) }
        #expect(error?.code == .duplicateNamespace)
        #expect(error?.message == "a plugin with namespace 'notes' is already registered")
    }

    @Test func anActionRegisteredTwiceIsRejectedAndNothingIsRegistered() throws {
        let bus = Bus()
        let plugin = AdHocPlugin(namespace: "dup", actions: [registration("dup", "a"), registration("dup", "b"), registration("dup", "a")])
        let error = #expect(throws: BusError.self) { try bus.register(plugin) }
        #expect(error?.code == .duplicateAction)
        #expect(error?.message == "plugin 'dup' registers 'dup.a' twice")
        #expect(bus.registeredActions.isEmpty)
        // The failed registration did not claim the namespace either.
        try bus.register(AdHocPlugin(namespace: "dup", actions: [registration("dup", "a")]))
    }

    @Test func actionsOutsideThePluginsNamespaceAreRejected() {
        let bus = Bus()
        let plugin = AdHocPlugin(namespace: "experiments", actions: [registration("lakehouse", "query")])
        let error = #expect(throws: BusError.self) { try bus.register(plugin) }
        #expect(error?.code == .actionOutsideNamespace)
        #expect(error?.message == "plugin 'experiments' cannot register 'lakehouse.query': its actions must be named 'experiments.*'")
        #expect(bus.registeredActions.isEmpty)
    }

    @Test(arguments: [
        AdHocPlugin(namespace: "", actions: []),
        AdHocPlugin(namespace: "a.b", actions: []),
        AdHocPlugin(namespace: "ok", actions: [registration("ok", "")]),
        AdHocPlugin(namespace: "ok", actions: [registration("ok", "has space")]),
        AdHocPlugin(namespace: "ok", actions: [registration("ok", "run", permission: "nocolon")]),
        AdHocPlugin(namespace: "ok", actions: [registration("ok", "run", permission: "ok:")]),
    ])
    func malformedNamesAreRejected(plugin: AdHocPlugin) {
        let error = #expect(throws: BusError.self) { try Bus().register(plugin) }
        #expect(error?.code == .invalidName)
    }
}

@Suite("Plugin bus: context, middleware and authorization seam")
struct MiddlewareTests {
    @Test func principalRequestIDAndPermissionReachTheHandler() async throws {
        let bus = Bus()
        try bus.register(ProbePlugin())
        let seen = try await bus.send(WhoAmI(), as: alice, requestID: "req-42")
        #expect(seen.principal == alice)
        #expect(seen.requestID == "req-42")
        #expect(seen.permission == "probe:read")

        // Embedded mode: the OS user, and a fresh id per request.
        let first = try await bus.send(WhoAmI())
        let second = try await bus.send(WhoAmI())
        #expect(first.principal == Principal.currentUser)
        #expect(first.requestID != second.requestID)
        #expect(first.requestID.count == 36)
    }

    /// Records its name on the way in and out.
    static func tracing(_ name: String, into trace: Recorder<String>) -> ClosureMiddleware {
        ClosureMiddleware { request, context, next in
            trace.append("\(name)>")
            defer { trace.append("<\(name)") }
            return try await next(request, context)
        }
    }

    @Test func middlewareRunsInDeclaredOrderAroundTheHandler() async throws {
        let trace = Recorder<String>()
        let handler = ClosureMiddleware { request, context, next in
            trace.append("handler")
            return try await next(request, context)
        }
        let bus = Bus(middleware: [Self.tracing("a", into: trace), Self.tracing("b", into: trace), Self.tracing("c", into: trace), handler])
        try bus.register(ProbePlugin())
        _ = try await bus.send(WhoAmI())
        #expect(trace.all == ["a>", "b>", "c>", "handler", "<c", "<b", "<a"])
    }

    @Test func middlewareCanEnrichTheContext() async throws {
        let enrich = ClosureMiddleware { request, context, next in
            var context = context
            context.attributes["audit.id"] = "A-1"
            return try await next(request, context)
        }
        let bus = Bus(middleware: [enrich])
        try bus.register(ProbePlugin())
        #expect(try await bus.send(WhoAmI()).attributes == ["audit.id": "A-1"])
    }

    /// Denies everyone except `allowed`, and records what it was asked.
    struct TestAuthorizer: PermissionAuthorizer {
        var allowed: Principal
        let asked = Recorder<String>()
        func authorize(_ context: RequestContext) async throws -> AuthorizationDecision {
            asked.append("\(context.principal) \(context.action) \(context.permission)")
            return context.principal == allowed ? .allow : .deny(reason: "test policy")
        }
    }

    @Test func aDenyingAuthorizerShortCircuitsTheChain() async throws {
        let trace = Recorder<String>()
        let authorizer = TestAuthorizer(allowed: alice)
        let probe = ProbePlugin()
        let bus = Bus(middleware: [Self.tracing("audit", into: trace), RequireRegisteredPermission(authorizer), Self.tracing("inner", into: trace)])
        try bus.register(probe)

        let bob = Principal(.user, "bob")
        let error = await #expect(throws: BusError.self) { try await bus.send(WhoAmI(), as: bob, requestID: "r1") }
        #expect(error?.code == .denied)
        #expect(error?.message == "user:bob may not use probe.whoami (needs probe:read): test policy")
        #expect(trace.all == ["audit>", "<audit"])  // observed by the outer step, never reached the inner one
        #expect(probe.started.all.isEmpty)

        _ = try await bus.send(WhoAmI(), as: alice, requestID: "r2")
        #expect(probe.started.all == ["r2"])
        #expect(authorizer.asked.all == ["user:bob probe.whoami probe:read", "user:alice probe.whoami probe:read"])
    }

    @Test func theLogMiddlewareRecordsOutcomeAndDuration() async throws {
        let records = Recorder<RequestLogMiddleware.Record>()
        let bus = Bus(middleware: [RequestLogMiddleware { records.append($0) }])
        try bus.register(ProbePlugin())

        _ = try await bus.send(Sleep(milliseconds: 30), as: alice, requestID: "slow")
        await #expect(throws: ProbeFailure.self) { try await bus.send(Fail(), as: alice, requestID: "bad") }
        await #expect(throws: BusError.self) { try await bus.send(Sleep(milliseconds: 10_000), as: alice, requestID: "late", timeout: .milliseconds(20)) }

        let all = records.all
        #expect(all.map(\.requestID) == ["slow", "bad", "late"])
        #expect(all.map(\.outcome) == [.succeeded, .failed("probe failed on purpose"), .cancelled])
        // No upper bound: on a loaded machine a 30 ms sleep may take seconds; timing is the benchmarks' job.
        #expect(all[0].duration >= .milliseconds(30))
        #expect(all[0].description.hasPrefix("probe.sleep id=slow principal=user:alice ok "))
        #expect(all[0].description.hasSuffix(" ms"))
        #expect(all[1].description.contains(" failed: probe failed on purpose "))
    }
}

@Suite("Plugin bus: cancellation, time-outs and concurrency")
struct CancellationTests {
    @Test func cancellingTheCallerCancelsTheHandler() async throws {
        let bus = Bus()
        let probe = ProbePlugin()
        try bus.register(probe)
        let task = Task { try await bus.send(Sleep(milliseconds: 30_000), requestID: "c1") }
        try await eventually { !probe.started.all.isEmpty }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // The handler saw the cancellation (a handler left to finish would have slept its 30 s out uncancelled).
        #expect(probe.cancelled.all == ["c1"])
    }

    @Test func aTimeOutCancelsTheHandlerAndNamesTheAction() async throws {
        let bus = Bus()
        let probe = ProbePlugin()
        try bus.register(probe)
        let error = await #expect(throws: BusError.self) {
            // Long enough for the handler to start on a loaded machine, far short of its 30 s.
            try await bus.send(Sleep(milliseconds: 30_000), requestID: "t1", timeout: .milliseconds(500))
        }
        #expect(error?.code == .timedOut)
        #expect(error?.action == "probe.sleep")
        try await eventually { !probe.cancelled.all.isEmpty }
        #expect(probe.cancelled.all == ["t1"])
        // A request that finishes in time is answered normally.
        _ = try await bus.send(Sleep(milliseconds: 1), timeout: .seconds(10))
    }

    @Test func manyConcurrentRequestsAreAllAnsweredInParallel() async throws {
        let bus = Bus(middleware: [RequestLogMiddleware { _ in }])
        let probe = ProbePlugin()
        try bus.register(probe)
        try bus.register(NotesPlugin(events: bus.publisher))
        let count = 200
        let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<count {
                group.addTask {
                    _ = try await bus.send(Sleep(milliseconds: 20), requestID: "s\(i)")
                    return try await bus.send(AddNote(text: "n\(i)")).number
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(Set(numbers) == Set(1...count))
        #expect(try await bus.send(CountNotes()) == NoteNumber(count))
        #expect(Set(probe.started.all).count == count)
        #expect(probe.inFlight.withLock(\.peak) > 1)
        #expect(probe.inFlight.withLock(\.now) == 0)
    }
}

@Suite("Plugin bus: events")
struct EventTests {
    @Test func eventsFanOutToSubscribersOfTheirNamespace() async throws {
        struct Other: BusEvent {
            static let topic = Action("other", "happened")
            init() {}
            init(json: JSON) {}
            var jsonValue: JSON { [:] }
        }
        let bus = Bus()
        try bus.register(NotesPlugin(events: bus.publisher))
        let notesA = bus.events(in: ["notes"])
        let notesB = bus.events(in: ["notes", "other"])
        let otherOnly = bus.events(in: ["other"])
        let everything = bus.events()
        #expect(bus.subscriberCount == 4)

        _ = try await bus.send(AddNote(text: "hello"), as: alice)
        bus.publish(Other())

        var a = notesA.makeAsyncIterator()
        let first = try #require(await a.next())
        #expect(try first.decode(NoteWasAdded.self) == NoteWasAdded(number: 1, text: "hello"))
        #expect(first.principal == alice)
        #expect(first.sequence == 1)

        var b = notesB.makeAsyncIterator()
        #expect(await b.next()?.topic == NoteWasAdded.topic)
        #expect(await b.next()?.topic == Other.topic)

        var o = otherOnly.makeAsyncIterator()
        let other = try #require(await o.next())
        #expect(other.topic == Other.topic)
        #expect(other.sequence == 2)

        var e = everything.makeAsyncIterator()
        #expect(await e.next()?.sequence == 1)
        #expect(await e.next()?.sequence == 2)

        #expect(throws: BusError.self) { try other.decode(NoteWasAdded.self) }
    }

    @Test func aSlowSubscriberKeepsOnlyItsNewestEvents() async throws {
        let bus = Bus()
        let slow = bus.events(in: ["notes"], buffer: 2)
        for n in 1...5 { bus.publish(NoteWasAdded(number: n, text: "n\(n)")) }
        var iterator = slow.makeAsyncIterator()
        let kept = [await iterator.next()?.sequence, await iterator.next()?.sequence]
        #expect(kept == [4, 5])
    }

    @Test func endingTheIterationUnsubscribes() async throws {
        let bus = Bus()
        let received = Recorder<Int>()
        let stream = bus.events(in: ["notes"])
        let consumer = Task {
            for await event in stream { received.append(event.sequence) }
        }
        bus.publish(NoteWasAdded(number: 1, text: "x"))
        try await eventually { received.all == [1] }
        #expect(received.all == [1])
        consumer.cancel()
        try await eventually { bus.subscriberCount == 0 }
        #expect(bus.subscriberCount == 0)
    }
}

@Suite("Plugin bus: envelopes for transports")
struct EnvelopeTests {
    @Test func aRequestTravelsAsJSONAndIsAnsweredAsJSON() async throws {
        let bus = Bus()
        try bus.register(NotesPlugin(events: bus.publisher))
        let sent = RequestEnvelope(AddNote(text: "über"), principal: alice, requestID: "w1", timeout: .seconds(3))
        let wire = sent.jsonValue.serialized()
        #expect(wire == #"{"type":"request","id":"w1","action":"notes.add","principal":{"kind":"user","name":"alice"},"payload":{"text":"über"},"timeout_ms":3000}"#)

        let received = try RequestEnvelope(json: try JSON.parse(wire))
        #expect(received.principal == alice)
        #expect(received.timeout == .seconds(3))
        let response = await bus.respond(to: received)
        let back = try ResponseEnvelope(json: try JSON.parse(response.jsonValue.serialized()))
        #expect(back.requestID == "w1")
        #expect(try back.result.get().decode(NoteNumber.self) == NoteNumber(1))
    }

    @Test func failuresTravelAsErrorEnvelopes() async throws {
        let bus = Bus()
        try bus.register(ProbePlugin())
        let unknown = await bus.respond(to: RequestEnvelope(action: Action("probe", "nope"), requestID: "u", principal: alice, payload: Payload(json: [:])))
        #expect(unknown.jsonValue["error"]?["code"] == "unknownAction")
        let failed = await bus.respond(to: RequestEnvelope(Fail(), principal: alice, requestID: "f"))
        let error = try ResponseEnvelope(json: failed.jsonValue).result.get
        #expect(throws: BusError(.handlerFailed, action: "probe.fail", "probe.fail failed: probe failed on purpose")) { try error() }
        let badPayload = await bus.respond(to: RequestEnvelope(action: Sleep.action, requestID: "p", principal: alice, payload: Payload(json: ["ms": "soon"])))
        #expect(badPayload.jsonValue["error"]?["message"] == "invalid Sleep: the field 'ms' has the wrong type (string)")
        #expect(badPayload.jsonValue["error"]?["action"] == "probe.sleep")
    }

    @Test(arguments: [
        #"{"type": "request", "id": "x", "action": "nodot", "principal": {"kind": "user", "name": "a"}}"#,
        #"{"type": "request", "id": "x", "action": "a.b", "principal": {"kind": "robot", "name": "a"}}"#,
        #"{"type": "request", "action": "a.b", "principal": {"kind": "user", "name": "a"}}"#,
        #"{"type": "request", "id": "x", "action": "a.b", "principal": {"kind": "user", "name": "a"}, "timeout_ms": -1}"#,
        #"{"type": "event", "id": "x"}"#,
    ])
    func malformedEnvelopesAreRefused(text: String) throws {
        let error = #expect(throws: BusError.self) { try RequestEnvelope(json: try JSON.parse(text)) }
        #expect(error?.code == .malformedEnvelope)
    }

    @Test func eventsRoundTripThroughJSON() throws {
        let event = EventEnvelope(topic: NoteWasAdded.topic, sequence: 7, principal: alice, payload: Payload(NoteWasAdded(number: 3, text: "t")))
        let back = try EventEnvelope(json: try JSON.parse(event.jsonValue.serialized()))
        #expect(back.sequence == 7)
        #expect(back.principal == alice)
        #expect(try back.decode(NoteWasAdded.self) == NoteWasAdded(number: 3, text: "t"))
    }
}
