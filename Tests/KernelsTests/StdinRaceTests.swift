import CoreSupport
import Foundation
import Kernels
import Notebook
import TestSupport
import Testing

/// A kernel's stdin socket is a ROUTER, which silently drops an `input_request` addressed to a
/// client whose stdin socket has not finished connecting; the kernel then waits for an answer
/// forever. This suite drives a scripted kernel (pyzmq and jupyter_client's Session from the
/// pinned venv) that binds stdin late and asks for input the moment a cell starts, with
/// ROUTER_MANDATORY so a dropped request is reported instead of hanging.
@Suite(.serialized) struct StdinRaceTests {
    static let script = #"""
import json, sys, time, zmq
from jupyter_client.session import Session

info = json.load(open(sys.argv[1]))
delay = float(sys.argv[2])
ctx = zmq.Context()
def url(port): return f"ipc://{info['ip']}-{port}" if info["transport"] == "ipc" else f"tcp://{info['ip']}:{port}"
session = Session(key=info["key"].encode(), signature_scheme="hmac-sha256")
shell = ctx.socket(zmq.ROUTER); shell.bind(url(info["shell_port"]))
control = ctx.socket(zmq.ROUTER); control.bind(url(info["control_port"]))
iopub = ctx.socket(zmq.PUB); iopub.bind(url(info["iopub_port"]))
hb = ctx.socket(zmq.REP); hb.bind(url(info["hb_port"]))
time.sleep(delay)  # a slow kernel: stdin is bound last, well after shell and IOPub answer
stdin = ctx.socket(zmq.ROUTER); stdin.setsockopt(zmq.ROUTER_MANDATORY, 1); stdin.bind(url(info["stdin_port"]))
poller = zmq.Poller()
for s in (shell, control, hb, stdin): poller.register(s, zmq.POLLIN)
def status(state, parent): session.send(iopub, "status", {"execution_state": state}, parent=parent)
while True:
    for sock, _ in poller.poll(100):
        if sock is hb:
            hb.send(hb.recv()); continue
        idents, msg = session.feed_identities(sock.recv_multipart())
        msg = session.deserialize(msg)
        kind = msg["header"]["msg_type"]
        if sock is stdin: continue
        status("busy", msg["header"])
        if kind == "kernel_info_request":
            session.send(sock, "kernel_info_reply", {"status": "ok", "protocol_version": "5.3", "implementation": "late-stdin",
                "language_info": {"name": "python"}}, parent=msg["header"], ident=idents)
        elif kind == "execute_request":
            try:
                session.send(stdin, "input_request", {"prompt": "name? ", "password": False}, parent=msg["header"], ident=idents)
            except zmq.ZMQError as e:  # EHOSTUNREACH: the client's stdin is not connected; a real kernel would hang here
                session.send(sock, "execute_reply", {"status": "error", "ename": "Dropped", "evalue": str(e), "traceback": []},
                    parent=msg["header"], ident=idents)
            else:
                while True:
                    reply = session.deserialize(session.feed_identities(stdin.recv_multipart())[1])
                    if reply["header"]["msg_type"] == "input_reply": break
                session.send(iopub, "stream", {"name": "stdout", "text": "hello " + reply["content"]["value"]}, parent=msg["header"])
                session.send(sock, "execute_reply", {"status": "ok", "execution_count": 1}, parent=msg["header"], ident=idents)
        elif kind == "shutdown_request":
            session.send(sock, "shutdown_reply", {"status": "ok", "restart": False}, parent=msg["header"], ident=idents)
            status("idle", msg["header"]); sys.exit(0)
        status("idle", msg["header"])
"""#

    @Test(arguments: ["ipc", "tcp"]) func inputRequestsAreNotLostWhenStdinConnectsLast(transport: String) async throws {
        let dir = TestEnvironment.scratch("stdin-race")
        let scriptPath = FilePath.join(dir, "late_stdin_kernel.py")
        try AtomicFile.write(Array(Self.script.utf8), to: scriptPath)
        let python = FilePath.join(TestEnvironment.pythonEnv, "bin", "python")
        let spec = KernelSpec(
            name: "late-stdin", resourceDirectory: dir, argv: [python, scriptPath, "{connection_file}", "1.5"],
            displayName: "Late stdin", language: "python")
        let kernel = try KernelManager.start(
            spec: spec, pythonPrefix: TestEnvironment.pythonEnv, runtimeDirectory: TestEnvironment.scratch("runtime"),
            transport: transport)
        try await kernel.waitForReady(timeout: 90)
        let result = await kernel.execute(
            "name = input('name? ')", options: ExecuteOptions(allowStdin: true, timeout: 60), onInput: { _, _ in "Ada" })
        await kernel.shutdown()
        #expect(result.outcome == .ok, "\(result.outcome) \(result.reply ?? [:])")
        #expect(result.outputs.first?.text == "hello Ada")
    }
}
