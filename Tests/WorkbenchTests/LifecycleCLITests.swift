import CoreSupport
import Foundation
import Kernels
import Lifecycle
import Storage
import TestSupport
import Testing

/// `wb sessions` and `wb lifecycle` end to end: real processes, a real kernel, a real domain.
@Suite(.serialized, .timeLimit(.minutes(6)))
struct LifecycleCLITests {
    @Test(arguments: [
        ["sessions", "--help"], ["sessions", "list", "--help"], ["sessions", "start", "--help"], ["sessions", "stop", "--help"],
        ["lifecycle", "--help"], ["lifecycle", "cull", "--help"], ["lifecycle", "daemon", "--help"], ["lifecycle", "logs", "--help"],
    ])
    func everyCommandHasHelp(_ args: [String]) throws {
        let result = try WB.run(args)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE:"))
    }

    @Test func startListAndStopARealSession() throws {
        let home = FilePath.join(WB.scratch("home"), "wb")
        let dir = WB.scratch("ws")
        let nb = try WB.notebook(["1 + 1"], in: dir)
        let started = try WB.run(["sessions", "start", nb, "--json", "--home", home])
        #expect(started.status == 0, "\(started.stderr)")
        let record = try #require(try JSON.parse(Array(started.stdout.utf8)).objectValue)
        let id = try #require(record["id"]?.stringValue)
        let pid = try #require(record["pid"]?.intValue)
        #expect(ProcessIdentity.of(Int32(pid)) != nil)

        let before = Clock.now()
        let listed = try WB.run(["sessions", "list", "--json", "--home", home])
        #expect(listed.status == 0)
        let sessions = try #require(try JSON.parse(Array(listed.stdout.utf8))["sessions"]?.arrayValue)
        #expect(sessions.count == 1)
        // Every field the issue names, on the real session.
        let listedSession = try #require(sessions.first)
        #expect(listedSession["id"]?.stringValue == id)
        #expect(listedSession["notebook"]?.stringValue == FilePath.absolute(nb))
        #expect(listedSession["kernel"]?.stringValue == "python3")
        #expect(listedSession["pid"]?.intValue == pid)
        #expect(listedSession["state"]?.stringValue == "running")
        #expect(listedSession["clients"]?.intValue == 0)
        let startedAt = try #require(listedSession["started"]?.stringValue.flatMap(Clock.parseISO8601))
        let lastActivity = try #require(listedSession["last_activity"]?.stringValue.flatMap(Clock.parseISO8601))
        #expect(startedAt <= lastActivity + 1 && lastActivity <= Clock.now() + 1)
        #expect(startedAt >= before - 600, "started during this test")
        let idleSeconds = try #require(listedSession["idle_seconds"]?.doubleValue)
        #expect(idleSeconds >= 0 && abs(idleSeconds - (before - lastActivity)) < 60)
        let table = try WB.run(["sessions", "list", "--home", home])
        #expect(table.stdout.contains("IDLE FOR"))
        #expect(table.stdout.contains(String(id.prefix(8))))

        let missing = try WB.run(["sessions", "stop", "nosuchid", "--home", home])
        #expect(missing.status == 40)
        #expect(missing.stderr.contains("no session nosuchid"))

        // A generous polite step (default 5 s), so a loaded machine does not turn it into SIGTERM.
        let stopped = try WB.run(["sessions", "stop", String(id.prefix(8)), "--timeout", "30", "--json", "--home", home])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stdout.contains("\"stopped_by\": \"shutdown_request\""))
        #expect(ProcessIdentity.of(Int32(pid)) == nil)
        let after = try WB.run(["sessions", "list", "--json", "--home", home])
        #expect(try JSON.parse(Array(after.stdout.utf8))["sessions"]?.arrayValue?.count == 0)
    }

    @Test func aFailingOrTimedOutOnStartScriptStopsTheSessionFromStarting() throws {
        let home = FilePath.join(WB.scratch("home"), "wb")
        let dir = WB.scratch("ws")
        try FileIO.createDirectory(FilePath.join(dir, ".wb"))
        let nb = try WB.notebook(["1 + 1"], in: dir)
        try AtomicFile.write("on_start: |\n  echo cannot mount the data\n  exit 3\n", to: FilePath.join(dir, ".wb/lifecycle.yaml"))
        let failed = try WB.run(["sessions", "start", nb, "--home", home])
        #expect(failed.status == 41)
        #expect(failed.stderr.contains("exited with code 3"))
        #expect(failed.stderr.contains("cannot mount the data"))

        try AtomicFile.write("timeout: 1\non_start: sleep 60\n", to: FilePath.join(dir, ".wb/lifecycle.yaml"))
        let timedOut = try WB.run(["sessions", "start", nb, "--home", home])
        #expect(timedOut.status == 41)
        #expect(timedOut.stderr.contains("timed out after"))

        try AtomicFile.write("on_strat: echo\n", to: FilePath.join(dir, ".wb/lifecycle.yaml"))
        let invalid = try WB.run(["sessions", "start", nb, "--home", home])
        #expect(invalid.status == 42)
        #expect(invalid.stderr.contains("lifecycle.yaml:1:"))

        let listed = try WB.run(["sessions", "list", "--json", "--home", home])
        #expect(try JSON.parse(Array(listed.stdout.utf8))["sessions"]?.arrayValue?.count == 0)
        let logs = try WB.run(["lifecycle", "logs", "--home", home])
        #expect(logs.stdout.contains("cannot mount the data"))
        #expect(logs.stdout.contains("timed out after"))
    }

    /// Two `wb lifecycle cull` processes race to clean the same stale entries: each is cleaned exactly once.
    @Test func twoProcessesRacingOnTheRegistry() async throws {
        let home = FilePath.join(WB.scratch("home"), "wb")
        let registry = try SessionRegistry(domain: Domain.open(at: home))
        let gone = ProcessIdentity(pid: ProcessIdentity.current.pid, startTime: ProcessIdentity.current.startTime + 1)
        var ids: Set<String> = []
        for i in 0..<30 {
            let record = SessionRecord(workspace: "/w", notebook: "/w/\(i).ipynb", kernelName: "python3", kernel: gone, host: gone, state: .running)
            try registry.register(record)
            ids.insert(record.id)
        }
        let live = SessionRecord(workspace: "/w", notebook: "/w/live.ipynb", kernelName: "python3", kernel: .current, host: .current, state: .running)
        try registry.register(live)
        let args = ["lifecycle", "cull", "--json", "--idle-timeout", "0", "--home", home]
        async let first = Task.detached { try WB.run(args) }.value
        async let second = Task.detached { try WB.run(args) }.value
        let results = try await [first, second]
        var cleaned: [String] = []
        for result in results {
            #expect(result.status == 0, "\(result.stderr)")
            let decisions = try #require(try JSON.parse(Array(result.stdout.utf8))["decisions"]?.arrayValue)
            cleaned += decisions.filter { $0["action"]?.stringValue == "clean" }.compactMap { $0["session"]?.stringValue }
        }
        #expect(cleaned.count == ids.count)
        #expect(Set(cleaned) == ids)
        #expect(try registry.list().map(\.id) == [live.id])
        let log = try FileIO.readText(FilePath.join(home, "logs", "cull.log"))
        #expect(log.split(separator: "\n").count == ids.count)
    }

    @Test func cullDryRunReportsWithoutActing() throws {
        let home = FilePath.join(WB.scratch("home"), "wb")
        let registry = try SessionRegistry(domain: Domain.open(at: home))
        let idle = SessionRecord(
            workspace: "/w", notebook: "/w/a.ipynb", kernelName: "python3", kernel: .current, host: .current, state: .running,
            startedAt: Clock.now() - 500, lastActivity: Clock.now() - 400, executionState: "idle")
        try registry.register(idle)
        let result = try WB.run(["lifecycle", "cull", "--dry-run", "--idle-timeout", "60", "--home", home])
        #expect(result.status == 0)
        #expect(result.stdout.contains("would stop  [idle-timeout] idle for"))
        #expect(try registry.session(idle.id) != nil)
        let daemon = try WB.run(["lifecycle", "daemon", "--interval", "0.1", "--checks", "2", "--idle-timeout", "0", "--home", home])
        #expect(daemon.status == 0, "\(daemon.stderr)")
        #expect(daemon.stderr.contains("checking every 0.1 s"))
    }

    /// A session started by `wb sessions start`: its id and kernel pid.
    static func start(_ notebook: String, home: String, _ extra: [String] = [], environment: [String: String] = [:]) throws
        -> (id: String, pid: Int32)
    {
        let started = try WB.run(["sessions", "start", notebook, "--json", "--home", home] + extra, environment: environment)
        #expect(started.status == 0, "\(started.stderr)")
        let record = try JSON.parse(Array(started.stdout.utf8))
        return (try #require(record["id"]?.stringValue), Int32(try #require(record["pid"]?.intValue)))
    }

    static func listed(_ home: String) throws -> [JSON] {
        let listed = try WB.run(["sessions", "list", "--json", "--home", home])
        return try JSON.parse(Array(listed.stdout.utf8))["sessions"]?.arrayValue ?? []
    }

    /// `--force` skips the polite request; `--all` stops every session, escalating to SIGKILL for a kernel
    /// that ignores both shutdown_request and SIGTERM, and leaves no process behind.
    @Test func stopForceAndStopAllWithAKernelThatIgnoresSIGTERM() throws {
        let home = FilePath.join(WB.scratch("home"), "wb")
        let dir = WB.scratch("ws")
        let jupyterPath = WB.scratch("jp")
        try StubbornKernel.install(name: "stubborn", ignoreSIGTERM: true, jupyterPath: jupyterPath)
        let env = ["JUPYTER_PATH": jupyterPath]
        let forced = try Self.start(try WB.notebook(["1"], in: dir, name: "forced.ipynb"), home: home, environment: env)
        let polite = try Self.start(try WB.notebook(["1"], in: dir, name: "polite.ipynb"), home: home, environment: env)
        let stubborn = try Self.start(
            try WB.notebook(["1"], in: dir, name: "stubborn.ipynb"), home: home, ["--kernel", "stubborn"], environment: env)
        #expect(try Self.listed(home).count == 3)

        let force = try WB.run(["sessions", "stop", forced.id, "--force", "--json", "--home", home])
        #expect(force.status == 0, "\(force.stderr)")
        let forceResult = try #require(try JSON.parse(Array(force.stdout.utf8))["stopped"]?.arrayValue?.first)
        #expect(forceResult["stopped_by"]?.stringValue == "SIGTERM", "--force sends no shutdown_request")
        #expect(forceResult["stopped"]?.boolValue == true)
        #expect(ProcessIdentity.of(forced.pid) == nil)
        #expect(try Self.listed(home).count == 2)

        // 10 s a step: enough for the polite kernel to exit on a loaded machine, and the stubborn one
        // still reaches SIGKILL after 20 s.
        let all = try WB.run(["sessions", "stop", "--all", "--timeout", "10", "--home", home])
        #expect(all.status == 0, "\(all.stderr)")
        let lines = all.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix(polite.id.prefix(8)) && $0.hasSuffix("stopped (shutdown_request)") }, "\(all.stdout)")
        #expect(lines.contains { $0.hasPrefix(stubborn.id.prefix(8)) && $0.hasSuffix("stopped (SIGKILL)") }, "\(all.stdout)")
        #expect(ProcessIdentity.of(polite.pid) == nil)
        #expect(ProcessIdentity.of(stubborn.pid) == nil)
        #expect(StubbornKernel.processes(inGroup: stubborn.pid).isEmpty, "nothing left of the stubborn kernel's group")
        #expect(try Self.listed(home).isEmpty)
    }

    /// `wb lifecycle daemon` with its knobs from `culling:` in $WB_HOME/lifecycle.yaml culls a real idle
    /// session and keeps a busy one (the control), logging both decisions with their reasons.
    @Test func theDaemonCullsAnIdleSessionAndKeepsABusyOne() async throws {
        let home = FilePath.join(WB.scratch("home"), "wb")
        let dir = WB.scratch("ws")
        let idle = try Self.start(try WB.notebook(["1"], in: dir, name: "idle.ipynb"), home: home)
        let busy = try Self.start(try WB.notebook(["1"], in: dir, name: "busy.ipynb"), home: home)
        let busyRecord = try #require(try Self.listed(home).first { $0["id"]?.stringValue == busy.id })
        let client = try KernelClient(connection: ConnectionInfo.read(path: try #require(busyRecord["connection_file"]?.stringValue)))
        defer { client.close() }
        _ = client.send(
            "execute_request",
            content: ["code": "while True: pass", "silent": false, "store_history": true, "user_expressions": .object([:]), "allow_stdin": false])
        let isBusy = await poll(60) {
            ((try? Self.listed(home)) ?? []).first { $0["id"]?.stringValue == busy.id }?["execution_state"]?.stringValue == "busy"
        }
        #expect(isBusy, "the control session's kernel runs its loop")

        try AtomicFile.write(
            "culling:\n  idle_timeout: 3\n  interval: 0.5\n  cull_busy: false\n  cull_connected: false\n  max_age: 0\n  warning: 0\n",
            to: FilePath.join(home, "lifecycle.yaml"))
        let logs = WB.scratch("daemon")
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: WB.binary)
        daemon.arguments = ["lifecycle", "daemon", "--home", home]
        var env = ProcessInfo.processInfo.environment
        env["WB_PYTHON_ENV"] = WB.pythonEnv
        daemon.environment = env
        let stderrPath = FilePath.join(logs, "stderr")
        #expect(FileManager.default.createFile(atPath: stderrPath, contents: nil))
        daemon.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        daemon.standardOutput = FileHandle.nullDevice
        try daemon.run()
        defer {
            if daemon.isRunning { daemon.terminate() }
            daemon.waitUntilExit()
            _ = try? WB.run(["sessions", "stop", "--all", "--force", "--home", home])
        }
        let culled = await poll(90) { !((try? Self.listed(home)) ?? []).contains { $0["id"]?.stringValue == idle.id } }
        #expect(culled, "the daemon culled the idle session")
        #expect(await poll(30) { ProcessIdentity.of(idle.pid) == nil })
        #expect(daemon.isRunning, "the daemon keeps checking")
        #expect(try Self.listed(home).contains { $0["id"]?.stringValue == busy.id }, "the busy control is kept")
        #expect(ProcessIdentity.of(busy.pid) != nil)

        let stderr = try FileIO.readText(stderrPath)
        #expect(stderr.contains("checking every 0.5 s (idle_timeout 3.0 s)"), "the knobs came from lifecycle.yaml: \(stderr)")
        #expect(stderr.contains("cull \(idle.id) [idle-timeout] idle for"), "\(stderr)")
        let logFile = FilePath.join(home, "logs", "cull.log")
        func decisions() -> [JSON] {
            ((try? FileIO.readText(logFile)) ?? "").split(separator: "\n").compactMap { try? JSON.parse(Array($0.utf8)) }
        }
        // The busy control went busy after the idle session's last activity: its keep is logged once it,
        // too, is past the timeout.
        #expect(await poll(60) { decisions().contains { $0["session"]?.stringValue == busy.id } })
        #expect(try Self.listed(home).contains { $0["id"]?.stringValue == busy.id }, "the busy control is still kept")
        let decisions = decisions()
        let cull = try #require(decisions.first { $0["session"]?.stringValue == idle.id && $0["action"]?.stringValue == "cull" })
        #expect(cull["rule"]?.stringValue == "idle-timeout")
        #expect(cull["reason"]?.stringValue?.contains("longer than idle_timeout 3.0 s") == true)
        #expect(cull["outcome"]?.stringValue == "shutdown_request")
        #expect(cull["dry_run"]?.boolValue == false)
        let kept = try #require(decisions.first { $0["session"]?.stringValue == busy.id })
        #expect(kept["action"]?.stringValue == "keep" && kept["rule"]?.stringValue == "busy")
        #expect(kept["reason"]?.stringValue?.contains("cull_busy is off") == true)
    }

    /// Every `culling:` knob of the global file reaches the check; a flag given on the command line wins.
    @Test func cullingKnobsFromTheGlobalFileApply() throws {
        let home = FilePath.join(WB.scratch("home"), "wb")
        let registry = try SessionRegistry(domain: Domain.open(at: home))
        let busy = SessionRecord(
            workspace: "/w", notebook: "/w/busy.ipynb", kernelName: "python3", kernel: .current, host: .current, state: .running,
            startedAt: Clock.now() - 500, lastActivity: Clock.now() - 400, executionState: "busy")
        let attached = SessionRecord(
            workspace: "/w", notebook: "/w/attached.ipynb", kernelName: "python3", kernel: .current, host: .current, state: .running,
            startedAt: Clock.now() - 100, lastActivity: Clock.now() - 90, executionState: "idle")
        try registry.register(busy)
        try registry.register(attached)
        try registry.attach(attached.id, at: Clock.now() - 90)
        try AtomicFile.write(
            "culling:\n  idle_timeout: 60\n  interval: 7\n  cull_busy: true\n  cull_connected: true\n  max_age: 450\n  warning: 12\n",
            to: FilePath.join(home, "lifecycle.yaml"))
        let result = try WB.run(["lifecycle", "cull", "--dry-run", "--json", "--home", home])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSON.parse(Array(result.stdout.utf8))
        #expect(report["policy"] == [
            "idle_timeout": .double(60), "interval": .double(7), "cull_busy": true, "cull_connected": true, "max_age": .double(450),
            "warning": .double(12),
        ])
        let decisions = try #require(report["decisions"]?.arrayValue)
        let byNotebook = Dictionary(uniqueKeysWithValues: decisions.map { ($0["notebook"]?.stringValue ?? "", $0) })
        // max_age 450 < 500 s running: stopped though busy.
        #expect(byNotebook["/w/busy.ipynb"]?["rule"]?.stringValue == "max-age")
        // idle 90 s > 60 with a client and cull_connected: warned first, for `warning` seconds.
        #expect(byNotebook["/w/attached.ipynb"]?["action"]?.stringValue == "warn")
        #expect(byNotebook["/w/attached.ipynb"]?["reason"]?.stringValue?.contains("stopping in 12 s") == true)
        // The command line wins over the file.
        let overridden = try WB.run(["lifecycle", "cull", "--dry-run", "--json", "--max-age", "0", "--no-cull-connected", "--home", home])
        let again = try JSON.parse(Array(overridden.stdout.utf8))
        #expect(again["policy"]?["max_age"]?.doubleValue == 0)
        let rules = Dictionary(
            uniqueKeysWithValues: (again["decisions"]?.arrayValue ?? []).map { ($0["notebook"]?.stringValue ?? "", $0["rule"]?.stringValue ?? "") })
        #expect(rules == ["/w/busy.ipynb": "idle-timeout", "/w/attached.ipynb": "connected"])
    }

    @Test func aTimedOutOnStartScriptWithContinueOnFailureStartsTheSession() throws {
        let home = FilePath.join(WB.scratch("home"), "wb")
        let dir = WB.scratch("ws")
        try FileIO.createDirectory(FilePath.join(dir, ".wb"))
        let nb = try WB.notebook(["1 + 1"], in: dir)
        try AtomicFile.write(
            "timeout: 1\ncontinue_on_failure: true\non_start: |\n  echo syncing the data\n  sleep 60\n",
            to: FilePath.join(dir, ".wb/lifecycle.yaml"))
        let started = try WB.run(["sessions", "start", nb, "--json", "--home", home])
        defer { _ = try? WB.run(["sessions", "stop", "--all", "--home", home]) }
        #expect(started.status == 0, "\(started.stderr)")
        #expect(started.stderr.contains("warning: on-start script of \(FilePath.join(dir, ".wb/lifecycle.yaml")) timed out after"))
        #expect(started.stderr.contains("syncing the data"))
        #expect(started.stderr.contains("(continuing: continue_on_failure is true)"))
        let pid = try #require(try JSON.parse(Array(started.stdout.utf8))["pid"]?.intValue)
        #expect(ProcessIdentity.of(Int32(pid)) != nil, "the kernel runs")
        #expect(try Self.listed(home).first?["state"]?.stringValue == "running")
        #expect(try WB.run(["lifecycle", "logs", "--home", home]).stdout.contains("timed out after"))
    }
}
