import CoreSupport
import Foundation
import Kernels
import Notebook
import Testing
import TestSupport

/// Against a real ipykernel from the pinned environment.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct KernelManagerTests {
    /// A cell that says when it has really started, then sleeps.
    static let sleeper = "import time\nprint('sleeping', flush=True)\ntime.sleep(60)"

    static func noteStart(_ message: KernelMessage, _ flag: LockedBox<Bool>) {
        if message.msgType == "stream", message.content["text"]?.stringValue?.contains("sleeping") == true {
            flag.mutate { $0 = true }
        }
    }

    @Test func executesAndReturnsTheResult() async throws {
        let kernel = try await TestEnvironment.startPython()
        defer { Task { await kernel.shutdown() } }
        let result = await kernel.execute("1+1")
        #expect(result.outcome == .ok)
        #expect(result.executionCount == 1)
        #expect(result.outputs.count == 1)
        #expect(result.outputs.first?.outputType == "execute_result")
        #expect(result.outputs.first?.data?["text/plain"]?.stringValue == "2")
        #expect(result.timing["iopub.status.idle"] != nil)
        #expect(result.timing["shell.execute_reply"] != nil)
        #expect(kernel.kernelInfo?["language_info"]?["name"]?.stringValue == "python")
        await kernel.shutdown()
        #expect(kernel.status == .shutDown)
        #expect(!kernel.isAlive)
    }

    @Test(arguments: ["tcp", "ipc"])
    func bothTransportsWork(_ transport: String) async throws {
        let spec = try TestEnvironment.finder.spec(named: "python3")
        let runtime = TestEnvironment.scratch("transport")
        let kernel = try KernelManager.start(
            spec: spec, pythonPrefix: TestEnvironment.pythonEnv, runtimeDirectory: runtime, transport: transport)
        try await kernel.waitForReady(timeout: 90)
        #expect(kernel.connection.transport == transport)
        let result = await kernel.execute("6*7")
        await kernel.shutdown()
        #expect(result.outputs.first?.data?["text/plain"]?.stringValue == "42")
        // Nothing is left behind in the runtime folder.
        #expect(FileIO.list(runtime).isEmpty)
    }

    @Test func streamsMergeAndKeepTheirNames() async throws {
        let kernel = try await TestEnvironment.startPython()
        let result = await kernel.execute("import sys\nfor i in range(3): print(i)\nprint('oops', file=sys.stderr)")
        await kernel.shutdown()
        #expect(result.outcome == .ok)
        let streams = result.outputs.filter { $0.outputType == "stream" }
        #expect(streams.first { $0.streamName == "stdout" }?.text == "0\n1\n2\n")
        #expect(streams.first { $0.streamName == "stderr" }?.text == "oops\n")
    }

    @Test func richOutputsKeepEveryMimeType() async throws {
        let kernel = try await TestEnvironment.startPython()
        let code = """
            import base64
            from IPython.display import display, HTML, Image
            png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==')
            display(HTML('<b>bold</b>'))
            display(Image(data=png))
            h = display('first', display_id=True)
            h.update('second')
            """
        let result = await kernel.execute(code)
        await kernel.shutdown()
        #expect(result.outcome == .ok)
        let displays = result.outputs.filter { $0.outputType == "display_data" }
        #expect(displays.count == 3)
        #expect(displays[0].data?["text/html"]?.stringValue == "<b>bold</b>")
        #expect(displays[1].data?["image/png"]?.stringValue?.hasPrefix("iVBORw0KGgo") == true)
        // update_display_data replaced the first value in place.
        #expect(displays[2].data?["text/plain"]?.stringValue == "'second'")
    }

    @Test func clearOutputWaitClearsAtTheNextOutput() async throws {
        let kernel = try await TestEnvironment.startPython()
        let result = await kernel.execute("from IPython.display import clear_output\nprint('a')\nclear_output(wait=True)\nprint('b')")
        await kernel.shutdown()
        #expect(result.outputs.count == 1)
        #expect(result.outputs.first?.text == "b\n")
    }

    @Test func errorsAreOutcomesWithTracebacks() async throws {
        let kernel = try await TestEnvironment.startPython()
        let result = await kernel.execute("1/0")
        let after = await kernel.execute("'still alive'")
        await kernel.shutdown()
        #expect(result.outcome == .error(name: "ZeroDivisionError", value: "division by zero"))
        let error = try #require(result.outputs.first { $0.outputType == "error" })
        #expect(error.errorName == "ZeroDivisionError")
        #expect(!error.traceback.isEmpty)
        #expect(after.outcome == .ok)
    }

    @Test func stdinPromptsAreAnswered() async throws {
        let kernel = try await TestEnvironment.startPython()
        let prompts = LockedBox<[String]>([])
        let result = await kernel.execute(
            "name = input('name? ')\nimport getpass\npw = getpass.getpass('pw? ')\nprint(name, len(pw))",
            options: ExecuteOptions(allowStdin: true),
            onInput: { prompt, password in
                prompts.mutate { $0.append("\(prompt)|\(password)") }
                return password ? "secret" : "Ada"
            })
        await kernel.shutdown()
        #expect(result.outcome == .ok)
        #expect(prompts.value == ["name? |false", "pw? |true"])
        #expect(result.outputs.first { $0.streamName == "stdout" }?.text?.contains("Ada 6") == true)
    }

    @Test func completeInspectIsCompleteAndHistory() async throws {
        let kernel = try await TestEnvironment.startPython()
        _ = await kernel.execute("import os\nalpha_value = 3")
        let completion = try await kernel.complete(code: "alpha_v", cursorPosition: 7)
        let inspection = try await kernel.inspect(code: "os.path.join", cursorPosition: 12)
        let incomplete = try await kernel.isComplete(code: "for i in range(3):")
        let complete = try await kernel.isComplete(code: "x = 1")
        let history = try await kernel.history(lastN: 5)
        await kernel.shutdown()
        #expect(completion["status"]?.stringValue == "ok")
        #expect(completion["matches"]?.arrayValue?.contains(.string("alpha_value")) == true)
        #expect(inspection["found"]?.boolValue == true)
        #expect(inspection["data"]?["text/plain"]?.stringValue?.contains("join") == true)
        #expect(incomplete["status"]?.stringValue == "incomplete")
        #expect(complete["status"]?.stringValue == "complete")
        let entries = history["history"]?.arrayValue ?? []
        #expect(entries.contains { $0.arrayValue?.last?.stringValue?.contains("alpha_value = 3") == true })
    }

    @Test func interruptStopsALongSleep() async throws {
        let kernel = try await TestEnvironment.startPython()
        let started = Clock.monotonic()
        let sleeping = LockedBox(false)
        async let result = kernel.execute(Self.sleeper, onMessage: { Self.noteStart($0, sleeping) })
        #expect(await waitUntil(30) { sleeping.value })
        // The default interrupt_mode is signal: SIGINT, no message.
        #expect(try await kernel.interrupt() == .signal)
        let outcome = await result
        #expect(Clock.monotonic() - started < 50)
        #expect(outcome.outcome == .error(name: "KeyboardInterrupt", value: ""))
        let after = await kernel.execute("2+2")
        await kernel.shutdown()
        #expect(after.outputs.first?.data?["text/plain"]?.stringValue == "4")
    }

    @Test func interruptByMessageWhenTheSpecAsks() async throws {
        var spec = try TestEnvironment.finder.spec(named: "python3")
        spec.interruptMode = "message"
        let kernel = try KernelManager.start(spec: spec, pythonPrefix: TestEnvironment.pythonEnv, runtimeDirectory: TestEnvironment.scratch())
        try await kernel.waitForReady(timeout: 90)
        let sleeping = LockedBox(false)
        async let result = kernel.execute(Self.sleeper, onMessage: { Self.noteStart($0, sleeping) })
        #expect(await waitUntil(30) { sleeping.value })
        // An interrupt_request went over the control channel: `.message` carries the interrupt_reply,
        // which `call` accepts only from the control socket, and only wb's request can have caused it.
        let how = try await kernel.interrupt()
        guard case .message(let reply) = how else {
            Issue.record("interrupt_mode message was interrupted by \(how), not by an interrupt_request")
            await kernel.shutdown()
            return
        }
        #expect(reply["status"]?.stringValue == "ok", "interrupt_reply: \(JSON.object(reply).serialized())")
        // And the kernel was interrupted: the 60 s sleep ends in KeyboardInterrupt, and the kernel works on.
        let outcome = await result
        #expect(outcome.outcome == .error(name: "KeyboardInterrupt", value: ""))
        let after = await kernel.execute("5*5")
        await kernel.shutdown()
        #expect(after.outputs.first?.data?["text/plain"]?.stringValue == "25")
    }

    @Test func cellTimeoutInterruptsAndReports() async throws {
        let kernel = try await TestEnvironment.startPython()
        let result = await kernel.execute("import time\ntime.sleep(60)", options: ExecuteOptions(timeout: 1))
        let after = await kernel.execute("3+3")
        await kernel.shutdown()
        #expect(result.outcome == .timedOut)
        #expect(after.outputs.first?.data?["text/plain"]?.stringValue == "6")
    }

    @Test func restartGivesAFreshNamespace() async throws {
        let kernel = try await TestEnvironment.startPython()
        _ = await kernel.execute("x = 41")
        let oldPID = kernel.pid
        try await kernel.restart(timeout: 90)
        #expect(kernel.pid != oldPID)
        let result = await kernel.execute("x")
        await kernel.shutdown()
        #expect(result.outcome == .error(name: "NameError", value: "name 'x' is not defined"))
    }

    @Test func setupSetsTheEnvironmentAndRunsStartUpCodeSilentlyInEveryProcess() async throws {
        let spec = try TestEnvironment.finder.spec(named: "python3")
        let setup = KernelSetup(
            environment: ["WB_SETUP_PROBE": "probe value"],
            startupCode: "import os\nstarted = globals().get('started', 0) + 1\nprobe = os.environ['WB_SETUP_PROBE']")
        let kernel = try KernelManager.start(
            spec: spec, pythonPrefix: TestEnvironment.pythonEnv, runtimeDirectory: TestEnvironment.scratch(), setup: setup)
        try await kernel.waitForReady(timeout: 90)
        let first = await kernel.execute("print(started, probe)")
        // Silent and outside the history: the user's first cell is still execution 1.
        #expect(first.executionCount == 1)
        #expect(first.outputs.first?.text == "1 probe value\n")
        #expect(kernel.startupProblem == nil)
        try await kernel.restart(timeout: 90)
        let again = await kernel.execute("print(started, probe)")
        #expect(again.outputs.first?.text == "1 probe value\n")

        // Start-up code that fails leaves a working kernel and says why.
        let broken = try KernelManager.start(
            spec: spec, pythonPrefix: TestEnvironment.pythonEnv, runtimeDirectory: TestEnvironment.scratch(),
            setup: KernelSetup(startupCode: "%load_ext no_such_extension_here"))
        try await broken.waitForReady(timeout: 90)
        let works = await broken.execute("print(6 * 7)")
        await broken.shutdown()
        await kernel.shutdown()
        #expect(works.outputs.first?.text == "42\n")
        #expect(broken.startupProblem?.contains("no_such_extension_here") == true)
    }

    @Test func killedKernelIsReportedNotAHang() async throws {
        let kernel = try await TestEnvironment.startPython()
        let sleeping = LockedBox(false)
        async let result = kernel.execute(Self.sleeper, onMessage: { Self.noteStart($0, sleeping) })
        #expect(await waitUntil(30) { sleeping.value })
        let started = Clock.monotonic()
        kill(kernel.pid, SIGKILL)
        let outcome = await result
        #expect(Clock.monotonic() - started < 10)
        guard case .kernelDied(let message) = outcome.outcome else {
            Issue.record("expected kernelDied, got \(outcome.outcome)")
            return
        }
        #expect(message.contains("SIGKILL"))
        if case .dead = kernel.status {} else { Issue.record("status is \(kernel.status)") }
        // Later requests fail at once too.
        let later = await kernel.execute("1")
        if case .kernelDied = later.outcome {} else { Issue.record("expected kernelDied, got \(later.outcome)") }
        await kernel.shutdown()
    }

    @Test func aSecondProcessJoinsAKernelThroughItsConnectionFile() async throws {
        let owner = try await TestEnvironment.startPython()
        defer { Task { await owner.shutdown() } }
        _ = await owner.execute("x = 41")
        let restarts = LockedBox(0)
        let joined = try KernelManager.connect(
            spec: owner.spec, connectionFile: owner.connectionFile, pid: owner.pid,
            respawn: { _ in
                // As a session host does: the owner starts the next process on the same connection.
                restarts.mutate { $0 += 1 }
                try await owner.restart(timeout: 90)
                return owner.pid
            })
        // Ready while a cell runs on the shell channel: readiness is asked on the control channel.
        let sleeping = LockedBox(false)
        async let slow = owner.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(3)", onMessage: { Self.noteStart($0, sleeping) })
        #expect(await waitUntil(30) { sleeping.value })
        try await joined.waitForReady(timeout: 30)
        #expect(joined.isAdopted && !owner.isAdopted)
        _ = await slow
        // The joined kernel has the owner's variables, and the owner sees the joiner's.
        let result = await joined.execute("y = x + 1; y")
        #expect(result.outputs.first?.data?["text/plain"]?.stringValue == "42")
        #expect((await owner.execute("y")).outputs.first?.data?["text/plain"]?.stringValue == "42")
        // Interrupting from the joiner signals the kernel's group.
        let interrupted = LockedBox(false)
        async let sleeper = joined.execute(Self.sleeper, onMessage: { Self.noteStart($0, interrupted) })
        #expect(await waitUntil(30) { interrupted.value })
        try await joined.interrupt()
        #expect((await sleeper).outcome == .error(name: "KeyboardInterrupt", value: ""))
        // A restart stops the process and asks the owner for the next one: a fresh namespace.
        let before = joined.pid
        try await joined.restart(timeout: 90)
        #expect(restarts.value == 1 && joined.pid != before && joined.pid == owner.pid)
        #expect((await joined.execute("x")).outcome == .error(name: "NameError", value: "name 'x' is not defined"))
        // Shutting down from the joiner ends the owner's process.
        await joined.shutdown()
        #expect(await waitUntil(30) { !owner.isAlive })
        #expect(!joined.isAlive)
        // The control: joining a pid that does not run fails at once.
        #expect(throws: KernelError.self) {
            try KernelManager.connect(spec: owner.spec, connectionFile: owner.connectionFile, pid: owner.pid, respawn: { $0 })
        }
    }

    @Test func connectionFileIsOwnerOnly() async throws {
        let kernel = try await TestEnvironment.startPython()
        var info = stat()
        #expect(stat(kernel.connectionFile, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        let read = try ConnectionInfo.read(path: kernel.connectionFile)
        #expect(read == kernel.connection)
        await kernel.shutdown()
        #expect(!FileIO.exists(kernel.connectionFile))
    }

    @Test func aClientWithTheWrongKeyIsIgnored() async throws {
        let kernel = try await TestEnvironment.startPython()
        var wrong = kernel.connection
        wrong.key = "not-the-key"
        let intruder = try KernelClient(connection: wrong)
        let request = intruder.send("execute_request", content: ["code": "open('/tmp/should-not-run', 'w')", "silent": false])
        // The kernel drops the badly signed request: no reply arrives.
        let answered = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await event in request.events {
                    if case .message(.shell, _) = event { return true }
                }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(3))
                intruder.finish(request.msgID)
                return false
            }
            let first = await group.next()!
            group.cancelAll()
            return first
        }
        intruder.close()
        // And the kernel's own signed broadcasts are refused by the intruder's client.
        let ok = await kernel.execute("1")
        await kernel.shutdown()
        #expect(!answered)
        #expect(ok.outcome == .ok)
    }
}


@Suite(.serialized, .timeLimit(.minutes(3)))
struct HeartbeatTests {
    @Test func aStoppedKernelIsDeclaredDeadByItsHeartbeat() async throws {
        let spec = try TestEnvironment.finder.spec(named: "python3")
        let kernel = try KernelManager.start(
            spec: spec, pythonPrefix: TestEnvironment.pythonEnv, runtimeDirectory: TestEnvironment.scratch(),
            heartbeatTimeout: 3)
        try await kernel.waitForReady(timeout: 90)
        let sleeping = LockedBox(false)
        async let result = kernel.execute(KernelManagerTests.sleeper, onMessage: { KernelManagerTests.noteStart($0, sleeping) })
        #expect(await waitUntil(30) { sleeping.value })
        kill(kernel.pid, SIGSTOP)
        let outcome = await result
        guard case .kernelDied(let message) = outcome.outcome else {
            Issue.record("expected kernelDied, got \(outcome.outcome)")
            await kernel.shutdown(timeout: 1)
            return
        }
        #expect(message.contains("heartbeat"))
        #expect(kernel.isAlive)  // stopped, not gone: shutdown must still end it
        await kernel.shutdown(timeout: 1)
        #expect(!kernel.isAlive)
    }
}
