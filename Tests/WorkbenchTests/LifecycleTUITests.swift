import CoreSupport
import Foundation
import Lifecycle
import TestSupport
import Testing

/// `wb open` as a session: registered with its TUI as client, stopped without losing edits, detached and
/// re-attached, warned before an idle cull. Real terminals (tmux), real kernels, short timeouts.
@Suite(.serialized, .timeLimit(.minutes(6)))
struct LifecycleTUITests {
    /// The sessions `wb sessions list --json` reports.
    static func sessions(_ home: String) throws -> [JSON] {
        let listed = try WB.run(["sessions", "list", "--json", "--home", home])
        return try JSON.parse(Array(listed.stdout.utf8))["sessions"]?.arrayValue ?? []
    }

    /// The session of `notebook`, if one is listed.
    static func session(of notebook: String, _ home: String) throws -> JSON? {
        try sessions(home).first { $0["notebook"]?.stringValue == FilePath.absolute(notebook) }
    }

    /// One `wb lifecycle cull --json` with `arguments`: the decision about `notebook`'s session.
    static func cull(_ notebook: String, _ home: String, _ arguments: [String]) throws -> JSON? {
        let result = try WB.run(["lifecycle", "cull", "--json", "--home", home] + arguments)
        let decisions = try JSON.parse(Array(result.stdout.utf8))["decisions"]?.arrayValue ?? []
        return decisions.first { $0["notebook"]?.stringValue == FilePath.absolute(notebook) }
    }

    /// Runs `wb lifecycle cull` every half second (up to 90 s) until the decision about `notebook` has `action`.
    static func cullUntil(_ action: String, _ notebook: String, _ home: String, _ arguments: [String]) async throws -> JSON? {
        var last: JSON?
        let deadline = Clock.monotonic() + 90
        while Clock.monotonic() < deadline {
            last = try cull(notebook, home, arguments)
            if last?["action"]?.stringValue == action { return last }
            try await Task.sleep(for: .milliseconds(500))
        }
        Issue.record("no \(action) decision within 90 s; the last: \(last.map { $0.serialized() } ?? "none")")
        return nil
    }

    static func recoveryText(_ home: String) -> String {
        let folder = FilePath.join(home, "recovery")
        return FileIO.list(folder).filter { !$0.hasPrefix(".") && $0.hasSuffix(".json") }
            .compactMap { try? FileIO.readText(FilePath.join(folder, $0)) }.joined(separator: "\n")
    }

    @Test func stoppingASessionSavesTheTUIsUnsavedEditsThenStopsItsKernel() async throws {
        let dir = WB.scratch("lt-stop")
        let home = FilePath.join(dir, "home")
        let path = try WB.notebook(["a = 1"], in: dir)
        let before = try FileIO.read(path)
        // The control: a detached session of another notebook, which stopping this one must leave alone.
        let other = try WB.notebook(["b = 2"], in: dir, name: "other.ipynb")
        let started = try WB.run(["sessions", "start", other, "--json", "--home", home])
        #expect(started.status == 0, "\(started.stderr)")
        let otherPid = try #require(try JSON.parse(Array(started.stdout.utf8))["pid"]?.intValue)

        let (tmux, _) = try await OpenTests.start(path, in: dir, home: home)
        defer { OpenTests.cleanUp(tmux, home: home) }
        guard await OpenTests.wait(tmux, "the kernel ready", { $0.contains("nb.ipynb  COMMAND") && $0.contains("idle") }) else { return }
        let session = try #require(try Self.session(of: path, home))
        #expect(session["clients"]?.intValue == 1, "the TUI is the session's client")
        let id = try #require(session["id"]?.stringValue)
        let kernel = try #require(session["pid"]?.intValue)

        try await tmux.keys("b", "Enter")
        guard await OpenTests.wait(tmux, "edit mode", { $0.contains("EDIT") }) else { return }
        try await OpenTests.type(tmux, "c = 'unsaved at the stop'")
        guard await OpenTests.wait(tmux, "the typed text", { $0.hasSuffix("c = 'unsaved at the stop'") }) else { return }

        // A generous polite step (the product default is 5 s): on a loaded 2-core machine ipykernel can
        // take longer than that to answer shutdown_request and exit, and the test is about the order.
        let stopped = try WB.run(["sessions", "stop", String(id.prefix(8)), "--timeout", "30", "--json", "--home", home])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stdout.contains("\"stopped_by\": \"shutdown_request\""), "\(stopped.stdout)")
        #expect(await OpenTests.wait(tmux, "the TUI ending on SIGTERM", { $0 == "wb-exit=143" }))
        #expect(Self.recoveryText(home).contains("unsaved at the stop"), "the edit is in the recovery file")
        #expect(try FileIO.read(path) == before, "the notebook file itself is not written")
        #expect(ProcessIdentity.of(Int32(kernel)) == nil, "the kernel is gone")
        // The control still runs, and is the only session left.
        #expect(ProcessIdentity.of(Int32(otherPid)) != nil)
        #expect(try Self.sessions(home).map { $0["notebook"]?.stringValue } == [FilePath.absolute(other)])
    }

    @Test func detachingKeepsTheKernelAndReattachingShowsWhatItPrintedMeanwhile() async throws {
        let dir = WB.scratch("lt-detach")
        let home = FilePath.join(dir, "home")
        let path = try WB.notebook(
            ["x = 41", "import time\nfor i in range(12):\n    print('tick', i, flush=True)\n    time.sleep(0.4)\nprint('all', 'done', flush=True)"],
            in: dir)
        // Two `wb open` in a row; the second starts when the test creates the go file.
        let go = FilePath.join(dir, "go")
        let script = FilePath.join(dir, "twice.sh")
        try AtomicFile.write(
            """
            cd "$(dirname "$3")"
            "$2" open "$3"
            echo "wb-exit=$?"
            i=0; while [ ! -f "$1" ] && [ $i -lt 1800 ]; do sleep 0.1; i=$((i+1)); done
            "$2" open "$3"
            echo "wb-exit2=$?"
            exec sleep 600

            """, to: script)
        let tmux = try Tmux()
        defer { OpenTests.cleanUp(tmux, home: home) }
        let variables = ["LANG=C.UTF-8", "NO_COLOR=", "WB_PYTHON_ENV=\(WB.pythonEnv)", "WB_HOME=\(home)"].flatMap { ["-e", $0] }
        try await tmux.run(["new-session", "-d", "-s", "wb", "-x", "100", "-y", "30"] + variables + ["sh", script, go, WB.binary, path])

        guard await OpenTests.wait(tmux, "the kernel ready", { $0.contains("nb.ipynb  COMMAND") && $0.contains("idle") }) else { return }
        let kernel = try #require(try Self.session(of: path, home)?["pid"]?.intValue)
        try await tmux.keys("F6")
        guard await OpenTests.wait(tmux, "the loop printing", { $0.hasSuffix("tick 1") }) else { return }
        try await tmux.keys("C-d")
        guard await OpenTests.wait(tmux, "the detach", { $0.hasPrefix("Detached from ") }) else { return }
        #expect(await tmux.screen().contains("wb-exit=0"))

        // Detached: the same kernel runs, no client, and the host journals what the loop prints.
        let detached = try #require(try Self.session(of: path, home))
        #expect(detached["pid"]?.intValue == kernel)
        #expect(detached["clients"]?.intValue == 0)
        let journal = OutputsJournal.path(for: path, home: home)
        #expect(await poll(90) { ((try? FileIO.readText(journal)) ?? "").contains("all done") }, "the end of the loop is journaled")
        // The control: the notebook file never saw those outputs; they can only come from the journal.
        let saved = try FileIO.readText(path)
        #expect(!saved.contains("tick 0") && !saved.contains("all done"))
        #expect(!Self.recoveryText(home).contains("all done"))

        try AtomicFile.write("go", to: go)
        guard await OpenTests.wait(tmux, "the outputs printed while detached", { $0.hasSuffix("all done") }) else { return }
        let screen = await tmux.screen()
        #expect(screen.contains { $0.hasSuffix("tick 11") }, "\(screen.joined(separator: "\n"))")
        for i in 0..<12 {
            #expect(screen.filter { $0.hasSuffix("tick \(i)") }.count == 1, "tick \(i) shown once, neither lost nor twice")
        }
        // The same kernel, with its variables.
        try await tmux.keys("End", "b", "Enter")
        guard await OpenTests.wait(tmux, "edit mode", { $0.contains("EDIT") }) else { return }
        try await OpenTests.type(tmux, "print(x + 1)")
        try await tmux.keys("C-r")
        #expect(await OpenTests.wait(tmux, "x from before the detach", { $0 == "▌  42" || $0 == "   42" }))
        let attached = try #require(try Self.session(of: path, home))
        #expect(attached["pid"]?.intValue == kernel)
        #expect(attached["clients"]?.intValue == 1)

        // Quitting, unlike detaching, stops the kernel and ends the session.
        try await tmux.keys("Escape")
        guard await OpenTests.wait(tmux, "command mode", { $0.contains("COMMAND") }) else { return }
        try await tmux.keys("C-q")
        guard await OpenTests.wait(tmux, "the question", { $0.contains("has changes that are not saved") }) else { return }
        try await tmux.keys("n")
        guard await OpenTests.wait(tmux, "the second exit", { $0.hasPrefix("wb-exit2=") }) else { return }
        #expect(await tmux.screen().contains("wb-exit2=0"))
        #expect(await poll(30) { ProcessIdentity.of(Int32(kernel)) == nil }, "the kernel stops on quit")
        #expect(try Self.sessions(home).isEmpty)
    }

    @Test func closingTheTerminalDetachesAndTheNextOpenReattaches() async throws {
        let dir = WB.scratch("lt-hangup")
        let home = FilePath.join(dir, "home")
        let path = try WB.notebook(["y = 7"], in: dir)
        var (tmux, _) = try await OpenTests.start(path, in: dir, home: home)
        defer { OpenTests.cleanUp(tmux, home: home) }
        guard await OpenTests.wait(tmux, "the kernel ready", { $0.contains("nb.ipynb  COMMAND") && $0.contains("idle") }) else { return }
        try await tmux.keys("C-r")
        guard await OpenTests.wait(tmux, "the cell run", { $0.hasPrefix(" ─ [1] code · cell 1") }) else { return }
        let kernel = try #require(try Self.session(of: path, home)?["pid"]?.intValue)

        // Hang up the terminal: the session stays, with no client, and the same kernel.
        tmux.kill()
        #expect(await poll(60) { (try? Self.session(of: path, home))?["clients"]?.intValue == 0 }, "the TUI let go")
        #expect(try Self.session(of: path, home)?["pid"]?.intValue == kernel)
        #expect(ProcessIdentity.of(Int32(kernel)) != nil)

        // The next wb open joins it: y is still there.
        (tmux, _) = try await OpenTests.start(path, in: dir, home: home)
        guard await OpenTests.wait(tmux, "the re-attached notebook", { $0.contains("COMMAND") && $0.contains("idle") }) else { return }
        try await tmux.keys("b", "Enter")
        guard await OpenTests.wait(tmux, "edit mode", { $0.contains("EDIT") }) else { return }
        try await OpenTests.type(tmux, "print(y * 6)")
        try await tmux.keys("C-r")
        #expect(await OpenTests.wait(tmux, "y from before the hang-up", { $0 == "▌  42" || $0 == "   42" }))
        #expect(try Self.session(of: path, home)?["pid"]?.intValue == kernel)
    }

    @Test func anIdleCullWarnsTheTUIWithACountdownAndAKeyKeepsTheSession() async throws {
        let dir = WB.scratch("lt-warn")
        let home = FilePath.join(dir, "home")
        let path = try WB.notebook(["a = 1"], in: dir)
        let (tmux, _) = try await OpenTests.start(path, in: dir, home: home)
        defer { OpenTests.cleanUp(tmux, home: home) }
        guard await OpenTests.wait(tmux, "the kernel ready", { $0.contains("nb.ipynb  COMMAND") && $0.contains("idle") }) else { return }
        let kernel = try #require(try Self.session(of: path, home)?["pid"]?.intValue)
        #expect(!FileIO.exists(FilePath.join(dir, ".wb")), "wb open outside a workspace does not make one")
        let rules = ["--idle-timeout", "3", "--cull-connected"]

        // Idle past the timeout with a TUI attached: a warning, not a cull.
        let warned = try await Self.cullUntil("warn", path, home, rules + ["--warning", "60"])
        #expect(warned?["rule"]?.stringValue == "warned")
        guard await OpenTests.wait(tmux, "the countdown", { $0.contains("this session stops in") }) else { return }
        let during = try #require(try Self.cull(path, home, rules + ["--warning", "60"]))
        #expect(during["action"]?.stringValue == "keep" && during["rule"]?.stringValue == "warned", "\(during.serialized())")
        // A key keeps it: the warning is withdrawn and the next check finds it active.
        try await tmux.keys("j")
        guard await OpenTests.wait(tmux, "the keep-alive", { $0.contains("kept the session running") }) else { return }
        #expect(!(await tmux.screen()).contains { $0.contains("this session stops in") })
        #expect(try Self.session(of: path, home)?["cull_warning_until"] == .null)
        let kept = try #require(try Self.cull(path, home, rules + ["--warning", "60"]))
        #expect(kept["action"]?.stringValue == "keep" && kept["rule"]?.stringValue == "active", "\(kept.serialized())")
        #expect(ProcessIdentity.of(Int32(kernel)) != nil)

        // The control: warned again, no key, and the check after the countdown stops it (the TUI saves and exits).
        _ = try await Self.cullUntil("warn", path, home, rules + ["--warning", "2"])
        guard await OpenTests.wait(tmux, "the second countdown", { $0.contains("this session stops in") }) else { return }
        let culled = try await Self.cullUntil("cull", path, home, rules + ["--warning", "2"])
        #expect(culled?["rule"]?.stringValue == "idle-timeout")
        #expect(await OpenTests.wait(tmux, "the TUI ending", { $0 == "wb-exit=143" }))
        #expect(ProcessIdentity.of(Int32(kernel)) == nil)
        #expect(try Self.sessions(home).isEmpty)
    }

    @Test func aConnectedSessionIsKeptWhenCullConnectedIsOff() async throws {
        let dir = WB.scratch("lt-connected")
        let home = FilePath.join(dir, "home")
        let path = try WB.notebook(["a = 1"], in: dir)
        let (tmux, _) = try await OpenTests.start(path, in: dir, home: home)
        defer { OpenTests.cleanUp(tmux, home: home) }
        guard await OpenTests.wait(tmux, "the kernel ready", { $0.contains("nb.ipynb  COMMAND") && $0.contains("idle") }) else { return }
        let kernel = try #require(try Self.session(of: path, home)?["pid"]?.intValue)
        // The control: a session nobody is attached to, idle as long, which the same check culls.
        let other = try WB.notebook(["b = 2"], in: dir, name: "other.ipynb")
        let started = try WB.run(["sessions", "start", other, "--json", "--home", home])
        #expect(started.status == 0, "\(started.stderr)")
        let otherPid = try #require(try JSON.parse(Array(started.stdout.utf8))["pid"]?.intValue)

        let culled = try await Self.cullUntil("cull", other, home, ["--idle-timeout", "2"])
        #expect(culled?["rule"]?.stringValue == "idle-timeout")
        #expect(ProcessIdentity.of(Int32(otherPid)) == nil)
        let kept = try #require(try Self.cull(path, home, ["--idle-timeout", "2"]))
        #expect(kept["action"]?.stringValue == "keep" && kept["rule"]?.stringValue == "connected", "\(kept.serialized())")
        #expect(ProcessIdentity.of(Int32(kernel)) != nil)
        #expect(await tmux.screen().contains { $0.contains("nb.ipynb  COMMAND") }, "the TUI is still up")
    }

    /// `wb open` of a notebook outside any workspace runs the global on-start script (not on-create) in the
    /// notebook's folder, and creates no `.wb/` there.
    @Test func openOutsideAWorkspaceRunsTheGlobalOnStartOnly() async throws {
        let dir = WB.scratch("lt-global")
        let home = FilePath.join(dir, "home")
        let folder = FilePath.join(dir, "notebooks")
        try FileIO.createDirectory(folder)
        let path = try WB.notebook(["1"], in: folder)
        let events = FilePath.join(dir, "events")
        try FileIO.createDirectory(home)
        try AtomicFile.write(
            """
            on_create: echo "created $WB_WORKSPACE" >> "\(events)"
            on_start: echo "$WB_LIFECYCLE_EVENT $WB_SESSION_ID $WB_WORKSPACE $WB_NOTEBOOK $(pwd)" >> "\(events)"

            """, to: FilePath.join(home, "lifecycle.yaml"))
        let (tmux, _) = try await OpenTests.start(path, in: dir, home: home)
        defer { OpenTests.cleanUp(tmux, home: home) }
        guard await OpenTests.wait(tmux, "the kernel ready", { $0.contains("nb.ipynb  COMMAND") && $0.contains("idle") }) else { return }
        let id = try #require(try Self.session(of: path, home)?["id"]?.stringValue)
        let lines = try FileIO.readText(events).split(separator: "\n").map(String.init)
        let absolute = FilePath.absolute(folder)
        #expect(lines == ["on-start \(id) \(absolute) \(FilePath.absolute(path)) \(absolute)"])
        #expect(!FileIO.exists(FilePath.join(folder, ".wb")), "no workspace was created")
        // The control: `wb sessions start` of a notebook in the same kind of folder sets a workspace up (on-create too).
        let other = FilePath.join(dir, "other")
        try FileIO.createDirectory(other)
        let started = try WB.run(["sessions", "start", try WB.notebook(["1"], in: other), "--home", home])
        #expect(started.status == 0, "\(started.stderr)")
        #expect(FileIO.isDirectory(FilePath.join(other, ".wb")))
        #expect(try FileIO.readText(events).contains("created \(FilePath.absolute(other))"))
    }
}
