import CoreSupport
import Foundation
import Lifecycle
import TestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(3)))
struct ConfigTests {
    @Test func parsesEveryKey() throws {
        let config = try LifecycleConfig.parse(
            """
            on_create: |
              echo created
            on_start: echo started
            timeout: 12
            continue_on_failure: true
            culling:
              idle_timeout: 60
              interval: 5
              cull_busy: true
              cull_connected: yes
              max_age: 7200
            """)
        #expect(config.onCreate == "echo created\n")
        #expect(config.onStart == "echo started")
        #expect(config.timeout == 12)
        #expect(config.continueOnFailure)
        #expect(config.culling == CullPolicy(idleTimeout: 60, interval: 5, cullBusy: true, cullConnected: true, maxAge: 7200))
        #expect(try LifecycleConfig.parse("").onStart == nil)
        #expect(try LifecycleConfig.parse("on_start: x").timeout == 300)
    }

    @Test(arguments: [
        ("on_strat: echo", "1", "unknown key on_strat"),
        ("timeout: soon", "1", "timeout must be a number"),
        ("timeout: 0", "1", "more than 0"),
        ("continue_on_failure: maybe", "1", "true or false"),
        ("culling:\n  idle_timeout: -1", "2", "idle_timeout must be a number"),
        ("culling:\n  cull_idle: 3", "2", "unknown key culling.cull_idle"),
        ("on_start: [a, b]", "1", "must be a shell script"),
        ("- a\n- b", "1", "must be a mapping"),
    ])
    func badConfigsSayWhatAndWhere(_ text: String, _ place: String, _ message: String) {
        do {
            _ = try LifecycleConfig.parse(text, file: "/w/.wb/lifecycle.yaml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.code == .invalidConfig)
            #expect(error.message.contains("/w/.wb/lifecycle.yaml:\(place):"), "\(error.message)")
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func invalidYAMLIsReported() {
        #expect(throws: LifecycleError.self) { try LifecycleConfig.parse("on_start: [unclosed", file: "f.yaml") }
    }

    @Test func workspaceIsTheNearestFolderWithDotWB() throws {
        let root = LC.scratch("ws")
        try FileIO.createDirectory(FilePath.join(root, ".wb"))
        try FileIO.createDirectory(FilePath.join(root, "a/b"))
        #expect(Workspace.find(from: FilePath.join(root, "a/b")) == root)
        #expect(Workspace.find(from: "/") == nil || Workspace.find(from: "/") == "/")
    }
}
