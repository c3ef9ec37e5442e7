import CoreSupport
import Foundation
@testable import Kernels
import Synchronization
import TestSupport
import Testing

/// A tiny language for exercising the server: `A+B` adds integers, `print TEXT` writes to
/// stdout, `fail` raises, `wait` blocks until interrupted; completion from a word list.
final class AdderBackend: KernelBackend {
    private let interrupted = Atomic<Bool>(false)
    let shutdowns = Atomic<Int>(0)

    var info: KernelInfo {
        KernelInfo(
            implementation: "adder", implementationVersion: "1.0",
            languageInfo: ["name": "adder", "version": "1.0", "mimetype": "text/x-adder", "file_extension": ".add"],
            banner: "Adder kernel", helpLinks: [(text: "Adder", url: "https://example.org/adder")])
    }

    func execute(_ request: ExecuteRequest, output: KernelOutput) -> ExecuteOutcome {
        interrupted.store(false, ordering: .relaxed)
        let code = request.code.trimmingCharacters(in: .whitespacesAndNewlines)
        if code.hasPrefix("print ") {
            output.stream("stdout", String(code.dropFirst(6)) + "\n")
            return .ok(nil)
        }
        if code == "fail" { return .error(name: "AdderError", value: "asked to fail", traceback: ["AdderError: asked to fail"]) }
        if code == "wait" {
            let deadline = Date().addingTimeInterval(60)
            while !interrupted.load(ordering: .relaxed) && Date() < deadline { usleep(2_000) }
            return .error(name: "KeyboardInterrupt", value: "interrupted", traceback: [])
        }
        let parts = code.split(separator: "+").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else {
            return .error(name: "SyntaxError", value: "cannot read \(code)", traceback: ["SyntaxError: cannot read \(code)"])
        }
        let sum = parts.reduce(0) { $0 + $1! }
        return .ok(["text/plain": .string(String(sum)), "text/html": .string("<b>\(sum)</b>")])
    }

    func complete(code: String, cursorPosition: Int) -> Completion {
        let prefix = String(code.unicodeScalars.prefix(cursorPosition))
        let word = prefix.split(separator: " ").last.map(String.init) ?? ""
        let matches = ["alpha", "alphabet", "beta"].filter { $0.hasPrefix(word) }
        return Completion(matches: matches, cursorStart: cursorPosition - word.unicodeScalars.count, cursorEnd: cursorPosition)
    }

    func inspect(code: String, cursorPosition: Int, detailLevel: Int) -> Inspection {
        code.contains("alpha") ? Inspection(data: ["text/plain": "alpha: the first letter"]) : .notFound
    }

    func isComplete(code: String) -> CodeCompleteness {
        code.trimmingCharacters(in: .whitespaces).hasSuffix("+") ? .incomplete(indent: "") : .complete
    }

    func interrupt() { interrupted.store(true, ordering: .relaxed) }

    func shutdown(restart: Bool) { shutdowns.add(1, ordering: .relaxed) }
}

@Suite(.serialized) struct KernelServerTests {
    /// Starts a server on fresh loopback ports with its connection file in a scratch folder.
    /// IPC by default: a TCP port picked in advance can be taken meanwhile by another process (the
    /// conversation test covers TCP too).
    func startServer(transport: String = "ipc") throws -> (KernelServer, AdderBackend, String) {
        let dir = try Scratch.directory("kernel-server")
        let connection = transport == "ipc"
            ? ConnectionInfo.allocateIPC(path: dir + "/k", kernelName: "adder") : try ConnectionInfo.allocate(kernelName: "adder")
        let file = dir + "/kernel-adder.json"
        try connection.write(path: file)
        let backend = AdderBackend()
        let server = try KernelServer(connectionFile: file, backend: backend)
        server.start()
        return (server, backend, file)
    }

    /// The real jupyter_client drives the server through every request type.
    @Test(arguments: ["tcp", "ipc"]) func jupyterClientConversation(transport: String) throws {
        let (server, backend, file) = try startServer(transport: transport)
        defer { server.stop() }
        let output = try Python.text(
            """
            import json, sys
            from jupyter_client import BlockingKernelClient
            kc = BlockingKernelClient(connection_file=sys.argv[1])
            kc.load_connection_file()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            out = {}

            def run(code, **kw):
                msg_id = kc.execute(code, **kw)
                while True:
                    reply = kc.get_shell_msg(timeout=30)
                    if reply['parent_header'].get('msg_id') == msg_id:
                        break
                msgs = []
                while True:
                    m = kc.get_iopub_msg(timeout=30)
                    if m['parent_header'].get('msg_id') != msg_id:
                        continue
                    msgs.append([m['msg_type'], m['content']])
                    if m['msg_type'] == 'status' and m['content']['execution_state'] == 'idle':
                        break
                return {'reply': reply['content'], 'iopub': msgs, 'session': reply['header']['session']}

            out['info'] = kc.kernel_info(reply=True, timeout=30)['content']
            out['add'] = run('1+2')
            out['print'] = run('print hello')
            out['silent'] = run('40+2', silent=True)
            out['fail'] = run('fail')
            out['bad'] = run('1+x')
            out['complete'] = kc.complete('x alp', 5, reply=True, timeout=30)['content']
            out['inspect'] = kc.inspect('alpha', 2, reply=True, timeout=30)['content']
            out['inspect_none'] = kc.inspect('zeta', 2, reply=True, timeout=30)['content']
            def answer(msg_id):
                while True:
                    r = kc.get_shell_msg(timeout=30)
                    if r['parent_header'].get('msg_id') == msg_id:
                        return r['content']
            out['is_complete'] = answer(kc.is_complete('1+'))
            out['is_complete_done'] = answer(kc.is_complete('1+2'))
            out['tail'] = kc.history(hist_access_type='tail', n=2, reply=True, timeout=30)['content']
            out['range'] = kc.history(hist_access_type='range', session=1, start=1, stop=2, output=True, reply=True, timeout=30)['content']
            out['search'] = kc.history(hist_access_type='search', pattern='1+*', unique=True, reply=True, timeout=30)['content']
            out['comm_info'] = kc.comm_info(reply=True, timeout=30)['content']

            # Interrupt a running execution over the control channel.
            msg_id = kc.execute('wait')
            while True:
                m = kc.get_iopub_msg(timeout=30)
                if m['parent_header'].get('msg_id') == msg_id and m['msg_type'] == 'execute_input':
                    break
            kc.control_channel.send(kc.session.msg('interrupt_request', {}))
            out['interrupt_reply'] = kc.control_channel.get_msg(timeout=30)['content']
            while True:
                reply = kc.get_shell_msg(timeout=30)
                if reply['parent_header'].get('msg_id') == msg_id:
                    break
            out['interrupted'] = reply['content']

            kc.shutdown()
            out['shutdown'] = kc.control_channel.get_msg(timeout=30)['content']
            print(json.dumps(out))
            """, arguments: [file])
        let out = try JSON.parse(output)

        let info = out["info"]!
        #expect(info["protocol_version"] == "5.3")
        #expect(info["implementation"] == "adder")
        #expect(info["language_info"]?["name"] == "adder")
        #expect(info["help_links"]?.arrayValue?.first?["url"] == "https://example.org/adder")

        let add = out["add"]!
        #expect(add["reply"]?["status"] == "ok")
        #expect(add["reply"]?["execution_count"] == 1)
        let kinds = add["iopub"]!.arrayValue!.map { $0.arrayValue![0].stringValue! }
        #expect(kinds == ["status", "execute_input", "execute_result", "status"])
        let states = add["iopub"]!.arrayValue!.filter { $0.arrayValue![0] == "status" }.map { $0.arrayValue![1]["execution_state"]! }
        #expect(states == ["busy", "idle"])
        let result = add["iopub"]!.arrayValue![2].arrayValue![1]
        #expect(result["data"]?["text/plain"] == "3")
        #expect(result["execution_count"] == 1)
        #expect(add["iopub"]!.arrayValue![1].arrayValue![1]["code"] == "1+2")

        let printed = out["print"]!["iopub"]!.arrayValue!.first { $0.arrayValue![0] == "stream" }?.arrayValue?[1]
        #expect(printed?["name"] == "stdout" && printed?["text"] == "hello\n")

        // Silent: no execute_input, no result, no new execution count.
        let silentKinds = out["silent"]!["iopub"]!.arrayValue!.map { $0.arrayValue![0].stringValue! }
        #expect(silentKinds == ["status", "status"])
        #expect(out["silent"]!["reply"]?["execution_count"] == 2)

        let fail = out["fail"]!
        #expect(fail["reply"]?["status"] == "error")
        #expect(fail["reply"]?["ename"] == "AdderError")
        let error = fail["iopub"]!.arrayValue!.first { $0.arrayValue![0] == "error" }?.arrayValue?[1]
        #expect(error?["evalue"] == "asked to fail")
        #expect(out["bad"]!["reply"]?["ename"] == "SyntaxError")

        #expect(out["complete"]!["matches"] == ["alpha", "alphabet"])
        #expect(out["complete"]!["cursor_start"] == 2 && out["complete"]!["cursor_end"] == 5)
        #expect(out["inspect"]!["found"] == true)
        #expect(out["inspect"]!["data"]?["text/plain"] == "alpha: the first letter")
        #expect(out["inspect_none"]!["found"] == false)
        #expect(out["is_complete"]!["status"] == "incomplete")
        #expect(out["is_complete_done"]!["status"] == "complete")

        // History: 1+2 (1), print hello (2), fail (3), 1+x (4).
        #expect(out["tail"]!["history"] == [[1, 3, "fail"], [1, 4, "1+x"]])
        #expect(out["range"]!["history"] == [[1, 1, ["1+2", "3"]]])
        #expect(out["search"]!["history"] == [[1, 1, "1+2"], [1, 4, "1+x"]])
        #expect(out["comm_info"]!["comms"] == [:])

        #expect(out["interrupt_reply"]!["status"] == "ok")
        #expect(out["interrupted"]!["status"] == "error")
        #expect(out["interrupted"]!["ename"] == "KeyboardInterrupt")


        #expect(out["shutdown"]!["status"] == "ok")
        #expect(server.waitUntilStopped(timeout: 30))
        #expect(server.shutdownRequested)
        #expect(backend.shutdowns.load(ordering: .relaxed) == 1)
        #expect(server.rejectedMessages == 0)
    }

    /// A client with the wrong key is ignored: its requests are counted as refused and never answered.
    @Test func wrongKeyIsRefused() async throws {
        let (server, _, file) = try startServer()
        defer { server.stop() }
        var wrong = try ConnectionInfo.read(path: file)
        wrong.key = "not-the-key"
        let intruder = try KernelClient(connection: wrong)
        defer { intruder.close() }
        let refused = intruder.send("kernel_info_request")
        #expect(await poll(30) { server.rejectedMessages >= 1 })

        // The right key still works, and by the time it is answered the refused request would have been too.
        let client = try KernelClient(connection: try ConnectionInfo.read(path: file))
        defer { client.close() }
        let request = client.send("kernel_info_request")
        let reply = await firstShellReply(client, request)
        client.finish(request.msgID)
        #expect(reply?.msgType == "kernel_info_reply")
        #expect(reply?.content["implementation"] == "adder")
        intruder.finish(refused.msgID)
        var answered = false
        for await event in refused.events {
            if case .message = event { answered = true }
        }
        #expect(!answered)
    }

    /// A correctly signed message whose content was changed in transit is refused.
    @Test func tamperedMessageIsRefused() async throws {
        let (server, _, file) = try startServer()
        defer { server.stop() }
        let connection = try ConnectionInfo.read(path: file)
        let session = MessageSession(key: connection.key)
        let dealer = try ZMQSocket(.dealer)
        defer { dealer.close() }
        dealer.setRoutingID(Array("tamperer".utf8))
        try dealer.connect(connection.endpoint(for: .shell))
        var frames = session.serialize(session.message("execute_request", content: ["code": "1+1", "silent": false]))
        frames[frames.count - 1] = Array(#"{"code":"2+2","silent":false}"#.utf8)
        try dealer.send(frames)
        #expect(await poll(30) { server.rejectedMessages == 1 })

        // The same socket with an honest message gets its reply.
        let honest = session.message("kernel_info_request")
        try dealer.send(session.serialize(honest))
        var reply: KernelMessage? = nil
        _ = await poll(30) {
            if let frames = try? dealer.receive(), let message = try? session.deserialize(frames) { reply = message }
            return reply != nil
        }
        #expect(reply?.parentMsgID == honest.msgID)
        #expect(reply?.msgType == "kernel_info_reply")
    }

    /// An error with `stop_on_error` aborts the execute requests already queued behind it, and only those.
    @Test func stopOnErrorAbortsQueuedRequests() async throws {
        let (server, _, file) = try startServer()
        defer { server.stop() }
        let client = try KernelClient(connection: try ConnectionInfo.read(path: file))
        defer { client.close() }
        // Hold the worker with `wait` (which does not stop on its own interruption), queue two more behind it.
        let wait = client.send("execute_request", content: ["code": "wait", "stop_on_error": false])
        let fail = client.send("execute_request", content: ["code": "fail"])
        let queued = client.send("execute_request", content: ["code": "5+5"])
        #expect(await poll(30) { server.receivedRequests == 3 })
        client.post("interrupt_request", content: [:], parent: [:], channel: .control)
        func reply(_ request: KernelClient.Request) async -> JSONObject? {
            await firstShellReply(client, request, type: "execute_reply")?.content
        }
        #expect(await reply(wait)?["ename"] == "KeyboardInterrupt")
        #expect(await reply(fail)?["status"] == "error")
        #expect(await reply(queued)?["status"] == "aborted")
        // A request sent after the error is served again.
        let later = client.send("execute_request", content: ["code": "6+6"])
        #expect(await reply(later)?["status"] == "ok")
        for request in [wait, fail, queued, later] { client.finish(request.msgID) }
    }

    /// The heartbeat echoes whatever it is sent.
    @Test func heartbeatEchoes() async throws {
        let (server, _, file) = try startServer()
        defer { server.stop() }
        let client = try KernelClient(connection: try ConnectionInfo.read(path: file))
        defer { client.close() }
        #expect(await poll(30) { client.secondsSinceHeartbeat != nil })
    }

    @Test func globMatching() {
        #expect(Glob.matches("1+*", "1+2"))
        #expect(Glob.matches("*SELECT*", "x SELECT y"))
        #expect(Glob.matches("a?c", "abc"))
        #expect(!Glob.matches("a?c", "ac"))
        #expect(!Glob.matches("1+*", "print 1+2"))
    }
}
