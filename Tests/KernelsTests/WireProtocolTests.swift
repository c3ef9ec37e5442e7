import CoreSupport
import TestSupport
import Testing

@testable import Kernels

/// A scripted peer on the kernel side of the wire, for what a real kernel never sends.
final class ScriptedKernel {
    let connection: ConnectionInfo
    let session: MessageSession
    let shell: ZMQSocket
    let iopub: ZMQSocket
    let others: [ZMQSocket]

    init() throws {
        let runtime = TestEnvironment.scratch("peer")
        connection = ConnectionInfo.allocateIPC(path: FilePath.join(runtime, "k"))
        session = MessageSession(key: connection.key)
        shell = try ZMQSocket(.router)
        try shell.bind(connection.endpoint(for: .shell))
        iopub = try ZMQSocket(.pub)
        try iopub.bind(connection.endpoint(for: .iopub))
        var rest: [ZMQSocket] = []
        for channel in [Channel.stdin, .control] {
            let socket = try ZMQSocket(.router)
            try socket.bind(connection.endpoint(for: channel))
            rest.append(socket)
        }
        let hb = try ZMQSocket(.rep)
        try hb.bind(connection.endpoint(for: .heartbeat))
        rest.append(hb)
        others = rest
    }

    /// Waits (bounded) for the next request on the shell channel.
    func receiveRequest(timeout: Double = 20) throws -> KernelMessage? {
        let deadline = Clock.monotonic() + timeout
        while Clock.monotonic() < deadline {
            var poller = ZMQPoller()
            _ = poller.add(shell)
            _ = poller.poll(timeoutMilliseconds: 100)
            if let frames = try shell.receive() { return try session.deserialize(frames) }
        }
        return nil
    }

    func reply(to request: KernelMessage, _ msgType: String, content: JSONObject, signWith other: MessageSession? = nil) throws {
        var message = (other ?? session).message(msgType, content: content, parent: request.header)
        message.identities = request.identities
        try shell.send((other ?? session).serialize(message))
    }

    func sendRawOnShell(to request: KernelMessage, _ frames: [[UInt8]]) throws {
        try shell.send(request.identities + frames)
    }
}

@Suite(.serialized, .timeLimit(.minutes(2)))
struct WireProtocolTests {
    @Test func signaturesRoundTripAndTamperingIsRefused() throws {
        let session = MessageSession(key: "secret")
        let message = session.message("execute_request", content: ["code": "1+1"])
        var frames = session.serialize(message)
        #expect(try session.deserialize(frames).content == message.content)
        frames[frames.count - 1] = Array(#"{"code":"2+2"}"#.utf8)
        #expect(throws: MessageError.badSignature) { try session.deserialize(frames) }
        #expect(throws: MessageError.badSignature) { try MessageSession(key: "other").deserialize(session.serialize(message)) }
        #expect(throws: MessageError.noDelimiter) { try session.deserialize([[1, 2, 3]]) }
        #expect(throws: MessageError.tooFewFrames(2)) { try session.deserialize([Array("<IDS|MSG>".utf8), [], []]) }
    }

    @Test func theClientDropsBadlySignedAndMalformedReplies() async throws {
        let peer = try ScriptedKernel()
        let client = try KernelClient(connection: peer.connection)
        defer { client.close() }
        let received = LockedBox<[String]>([])
        let request = client.send("kernel_info_request")
        let collector = Task {
            let timer = Task {
                try? await Task.sleep(for: .seconds(60))
                if !Task.isCancelled { client.finish(request.msgID) }
            }
            defer { timer.cancel() }
            for await event in request.events {
                if case .message(.shell, let m) = event {
                    received.mutate { $0.append(m.content["note"]?.stringValue ?? "?") }
                    if m.content["note"]?.stringValue == "genuine" { return }
                }
            }
        }
        let incoming = try #require(try peer.receiveRequest())
        #expect(incoming.msgType == "kernel_info_request")
        // A reply signed with another key, a reply with no delimiter, one with broken JSON, then the real one.
        try peer.reply(to: incoming, "kernel_info_reply", content: ["note": "forged"], signWith: MessageSession(key: "wrong"))
        try peer.sendRawOnShell(to: incoming, [Array("garbage".utf8)])
        let badJSON: [[UInt8]] = [Array("<IDS|MSG>".utf8), Array("x".utf8), Array("{".utf8), [], [], []]
        try peer.sendRawOnShell(to: incoming, badJSON)
        try peer.reply(to: incoming, "kernel_info_reply", content: ["note": "genuine"])
        _ = await collector.value
        #expect(received.value == ["genuine"])
        #expect(await waitUntil(10) { client.rejectedMessages == 3 })
    }

    @Test func repliesAreRoutedByParentEvenWhenInterleaved() async throws {
        let peer = try ScriptedKernel()
        let client = try KernelClient(connection: peer.connection)
        defer { client.close() }
        let first = client.send("complete_request", content: ["code": "a", "cursor_pos": 1])
        let second = client.send("inspect_request", content: ["code": "b", "cursor_pos": 1])
        let r1 = try #require(try peer.receiveRequest())
        let r2 = try #require(try peer.receiveRequest())
        // Answer in the opposite order.
        try peer.reply(to: r2, "inspect_reply", content: ["for": .string(r2.msgID)])
        try peer.reply(to: r1, "complete_reply", content: ["for": .string(r1.msgID)])
        func firstReply(_ request: KernelClient.Request) async -> KernelMessage? {
            await firstShellReply(client, request)
        }
        let a = await firstReply(first)
        let b = await firstReply(second)
        #expect(a?.msgType == "complete_reply")
        #expect(a?.content["for"]?.stringValue == first.msgID)
        #expect(b?.msgType == "inspect_reply")
        #expect(b?.content["for"]?.stringValue == second.msgID)
    }
}
