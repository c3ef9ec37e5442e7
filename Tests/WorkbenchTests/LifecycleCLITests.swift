import CoreSupport
import Foundation
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

        let listed = try WB.run(["sessions", "list", "--json", "--home", home])
        #expect(listed.status == 0)
        let sessions = try #require(try JSON.parse(Array(listed.stdout.utf8))["sessions"]?.arrayValue)
        #expect(sessions.count == 1)
        #expect(sessions.first?["notebook"]?.stringValue == FilePath.absolute(nb))
        #expect(sessions.first?["state"]?.stringValue == "running")
        #expect(sessions.first?["clients"]?.intValue == 0)
        let table = try WB.run(["sessions", "list", "--home", home])
        #expect(table.stdout.contains("IDLE FOR"))
        #expect(table.stdout.contains(String(id.prefix(8))))

        let missing = try WB.run(["sessions", "stop", "nosuchid", "--home", home])
        #expect(missing.status == 40)
        #expect(missing.stderr.contains("no session nosuchid"))

        let stopped = try WB.run(["sessions", "stop", String(id.prefix(8)), "--json", "--home", home])
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
}
