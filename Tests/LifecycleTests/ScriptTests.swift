import CoreSupport
import Foundation
import Lifecycle
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .timeLimit(.minutes(3)))
struct ScriptTests {
    func setUp(_ workspaceConfig: String?, global: String? = nil) throws -> (home: String, workspace: String) {
        let home = LC.scratch("home")
        let workspace = LC.scratch("ws")
        try FileIO.createDirectory(FilePath.join(workspace, ".wb"))
        if let workspaceConfig { try AtomicFile.write(workspaceConfig, to: Workspace.configFile(workspace)) }
        if let global { try AtomicFile.write(global, to: Workspace.globalConfigFile(home: home)) }
        return (home, workspace)
    }

    @Test func scriptsGetTheirEnvironmentAndOnCreateRunsOnce() async throws {
        let (home, workspace) = try setUp(
            """
            on_create: echo "created $WB_WORKSPACE" >> "$WB_WORKSPACE/events"
            on_start: echo "started $WB_SESSION_ID by $WB_USER" >> "$WB_WORKSPACE/events"
            """,
            global: "on_start: echo global-start >> \"$WB_WORKSPACE/events\"")
        let scripts = LifecycleScripts(home: home)
        let first = try await scripts.prepare(workspace: workspace, sessionID: "s1", notebook: "/nb")
        #expect(first.blockingFailure == nil)
        #expect(first.results.count == 3)
        let second = try await scripts.prepare(workspace: workspace, sessionID: "s2", notebook: "/nb")
        #expect(second.results.count == 2)
        let events = try FileIO.readText(FilePath.join(workspace, "events")).split(separator: "\n")
        #expect(events == [
            "created \(workspace)", "global-start", "started s1 by \(Environment.userName)", "global-start",
            "started s2 by \(Environment.userName)",
        ])
        #expect(try FileIO.readText(ScriptRunner.logFile(home: home)).contains("on-start script of"))
    }

    @Test func aFailingOnStartScriptBlocksTheSessionUnlessConfiguredToContinue() async throws {
        let (home, workspace) = try setUp("on_start: |\n  echo about to fail\n  exit 3\n")
        let failed = try await LifecycleScripts(home: home).prepare(workspace: workspace, sessionID: "s", notebook: "/nb")
        let failure = try #require(failed.blockingFailure)
        #expect(failure.status == .exited(3))
        #expect(failure.report.contains("exited with code 3"))
        #expect(failure.lastLines.contains("about to fail"))

        let (home2, workspace2) = try setUp("on_start: exit 3\ncontinue_on_failure: true\n")
        let tolerated = try await LifecycleScripts(home: home2).prepare(workspace: workspace2, sessionID: "s", notebook: "/nb")
        #expect(tolerated.blockingFailure == nil)
        #expect(tolerated.toleratedFailures.count == 1)
    }

    @Test func aTimedOutScriptHasItsGroupKilledAndIsReported() async throws {
        let (home, workspace) = try setUp("timeout: 1\non_start: |\n  echo waiting\n  sleep 60 &\n  echo $! > \"$WB_WORKSPACE/child\"\n  sleep 60\n")
        let started = Clock.monotonic()
        let result = try await LifecycleScripts(home: home).prepare(workspace: workspace, sessionID: "s", notebook: "/nb")
        let failure = try #require(result.blockingFailure)
        #expect(failure.timedOut)
        #expect(failure.report.contains("timed out"))
        #expect(Clock.monotonic() - started < 30)
        let child = try #require(Int32(try FileIO.readText(FilePath.join(workspace, "child")).trimmed()))
        #expect(await poll(30) { ProcessIdentity.of(child) == nil })
    }

    @Test func aBackgroundJobStartedByASucceedingScriptSurvivesIt() async throws {
        let (home, workspace) = try setUp(
            "on_start: |\n  nohup sleep 120 > /dev/null 2>&1 &\n  echo $! > \"$WB_WORKSPACE/job\"\n")
        let result = try await LifecycleScripts(home: home).prepare(workspace: workspace, sessionID: "s", notebook: "/nb")
        #expect(result.blockingFailure == nil)
        let pid = try #require(Int32(try FileIO.readText(FilePath.join(workspace, "job")).trimmed()))
        let job = try #require(ProcessIdentity.of(pid))
        #expect(job.isAlive)
        kill(pid, SIGKILL)
        #expect(await poll(30) { !job.isAlive })
    }

    /// Outside a workspace (`wb open`): no `.wb/`, no on-create, only the global on-start.
    @Test func withoutSetUpOnlyTheGlobalOnStartRunsAndNothingIsCreated() async throws {
        let home = LC.scratch("home")
        let folder = LC.scratch("plain")
        try AtomicFile.write(
            "on_create: echo global-create >> \"$WB_WORKSPACE/events\"\non_start: echo \"global-start $WB_SESSION_ID\" >> \"$WB_WORKSPACE/events\"\n",
            to: Workspace.globalConfigFile(home: home))
        let scripts = LifecycleScripts(home: home)
        let result = try await scripts.prepare(workspace: folder, sessionID: "s1", notebook: "/nb", setUp: false)
        #expect(result.blockingFailure == nil)
        #expect(result.results.map(\.name) == ["on-start script of \(Workspace.globalConfigFile(home: home))"])
        #expect(try FileIO.readText(FilePath.join(folder, "events")) == "global-start s1\n")
        #expect(!FileIO.exists(FilePath.join(folder, Workspace.folderName)))
        // A failing global on-start still blocks the session there.
        try AtomicFile.write("on_start: exit 4\n", to: Workspace.globalConfigFile(home: home))
        let failed = try await scripts.prepare(workspace: folder, sessionID: "s2", notebook: "/nb", setUp: false)
        #expect(failed.blockingFailure?.status == .exited(4))
        #expect(!FileIO.exists(FilePath.join(folder, Workspace.folderName)))
    }
}
