import CoreSupport
import Foundation
import Kernels
import Notebook
import TestSupport
import Testing

@testable import TUI

/// The workspace's runtime on real files and real kernels: opening by type, the file browser on a real folder,
/// atomic text saves, the installed kernelspecs, and one kernel per notebook.
@Suite("Workspace runtime", .serialized, .timeLimit(.minutes(6)))
struct WorkspaceRuntimeTests {
    static let noKernel: Workspace.Runtime.StartKernel = { _, _, _ in Workspace.NotebookKernel(session: nil) }

    /// Drains reports until `condition` holds (generous deadline, bounded); records the screen if it never does.
    @discardableResult
    static func pump(
        _ runtime: Workspace.Runtime, _ what: String, seconds: Double = 120, sourceLocation: SourceLocation = #_sourceLocation,
        until condition: (Workspace.State) -> Bool
    ) async -> Bool {
        let deadline = Clock.monotonic() + seconds
        while Clock.monotonic() < deadline {
            runtime.drain()
            runtime.send(.tick(Clock.monotonic()))
            if condition(runtime.state) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("never got \(what); screen:\n\(WorkspaceTests.screen(runtime.state).joined(separator: "\n"))", sourceLocation: sourceLocation)
        return false
    }

    static func press(_ runtime: Workspace.Runtime, _ keys: InputEvent...) {
        for key in keys { runtime.send(.input(key)) }
    }

    static func type(_ runtime: Workspace.Runtime, _ text: String) {
        for c in text { runtime.send(.input(.char(c))) }
    }

    @Test func filesOpenAsNotebooksOrTextByTheirKindAndBadOnesSayWhy() throws {
        let dir = try Scratch.directory("ws-read")
        try WorkspaceTests.notebook(["1"]).notebook!.notebookForSave.write(path: FilePath.join(dir, "a.ipynb"))
        try AtomicFile.write("import os\nprint(os.sep)\n", to: FilePath.join(dir, "plain.py"))
        try AtomicFile.write("# %%\nx = 1\n\n# %%\nx + 1\n", to: FilePath.join(dir, "cells.py"))
        try AtomicFile.write("SELECT 1;\n", to: FilePath.join(dir, "q.sql"))
        try AtomicFile.write("# Title\n", to: FilePath.join(dir, "notes.md"))
        try AtomicFile.write([0x89, 0x50, 0x4E, 0x47, 0, 1], to: FilePath.join(dir, "image.png"))
        try AtomicFile.write([0x66, 0xFF, 0x66], to: FilePath.join(dir, "latin1.txt"))
        let home = FilePath.join(dir, "home")
        func read(_ name: String) throws -> Workspace.Document { try Workspace.read(path: FilePath.join(dir, name), home: home) }
        #expect(try read("a.ipynb").notebook?.cells.count == 1)
        #expect(try read("cells.py").notebook?.cells.map(\.source) == ["x = 1", "x + 1"], "a percent-format script is a notebook")
        #expect(try read("plain.py").text?.editor.text == "import os\nprint(os.sep)\n", "a plain script is text")
        #expect(try read("plain.py").text?.editor.language == .python)
        #expect(try read("q.sql").text?.editor.language == .sql)
        #expect(try read("notes.md").text?.editor.language == .markdown)
        #expect(try read("new.yaml").text?.isNew == true, "a file that does not exist yet opens empty")
        #expect(try read("new.ipynb").notebook != nil)
        #expect(throws: NotebookError.self) { try read("image.png") }
        do {
            _ = try read("latin1.txt")
            Issue.record("non-UTF-8 text opened")
        } catch {
            #expect("\(error)".contains("latin1.txt") && "\(error)".contains("not UTF-8"))
        }
        do {
            _ = try Workspace.read(path: dir, home: home)
            Issue.record("a folder opened")
        } catch {
            #expect("\(error)".contains("folder"))
        }
        #expect(throws: NotebookError.self) { try read("missing/x.sql") }
    }

    @Test func theFileBrowserOpensARealFileAndCtrlSWritesItAtomically() async throws {
        let dir = try Scratch.directory("ws-browse")
        let home = FilePath.join(dir, "home")
        let notebookPath = FilePath.join(dir, "a.ipynb")
        try WorkspaceTests.notebook(["x = 1"]).notebook!.notebookForSave.write(path: notebookPath)
        try AtomicFile.write("SELECT 1;\n", to: FilePath.join(dir, "q.sql"))
        try FileIO.createDirectory(FilePath.join(dir, "sub"))
        try FileIO.createDirectory(FilePath.join(dir, ".hidden"))
        try AtomicFile.write("", to: FilePath.join(dir, "blob.bin"))
        let state = Workspace.State(documents: [try Workspace.read(path: notebookPath, home: home)], size: Size(width: 80, height: 24))
        let runtime = Workspace.Runtime(state: state, home: home, startKernel: Self.noKernel)
        Self.press(runtime, .char("o", .control))
        guard case .files(let browser) = runtime.state.panel else {
            Issue.record("no file browser")
            return
        }
        #expect(browser.rows.map(\.name) == ["..", "sub", "a.ipynb", "q.sql"], "no hidden folder, no file wb cannot edit")
        Self.press(runtime, .key(.end), .key(.enter))
        #expect(runtime.state.tabs.count == 2 && runtime.state.document?.text?.fileName == "q.sql")
        Self.press(runtime, .key(.end, .control))
        Self.type(runtime, "-- checked\n")
        Self.press(runtime, .char("s", .control))
        guard await Self.pump(runtime, "the save", until: { $0.document?.isDirty == false }) else { return }
        #expect(try FileIO.readText(FilePath.join(dir, "q.sql")) == "SELECT 1;\n-- checked\n")
        #expect(FileIO.list(dir).allSatisfy { !$0.contains(".tmp") }, "no temporary file left behind")
        // A save that cannot happen (the folder is gone) says so and keeps the edits.
        Self.type(runtime, "SELECT 2;")
        try FileManager.default.removeItem(atPath: dir)
        Self.press(runtime, .char("s", .control))
        guard await Self.pump(runtime, "the failed save", until: { $0.document?.text?.message?.isError == true }) else { return }
        #expect(runtime.state.document?.isDirty == true)
        #expect(runtime.state.document?.text?.message?.text.hasPrefix("not saved:") == true)
    }

    @Test func theKernelPickerListsTheInstalledKernelspecs() async throws {
        let dir = try Scratch.directory("ws-kernels")
        let home = FilePath.join(dir, "home")
        let state = Workspace.State(documents: [try Workspace.read(path: FilePath.join(dir, "a.ipynb"), home: home)])
        let finder = KernelSpecFinder(pythonPrefix: Python.environmentOrIssue)
        let runtime = Workspace.Runtime(state: state, home: home, finder: finder, startKernel: Self.noKernel)
        Self.press(runtime, .char("k", .control))
        guard case .kernels(let picker) = runtime.state.panel, let choices = picker.choices else {
            Issue.record("no kernel list")
            return
        }
        let expected = finder.allSpecs().specs.map(\.name).sorted()
        #expect(choices.map(\.name) == expected)
        #expect(choices.contains { $0.name == "python3" && $0.language == "python" })
        #expect(WorkspaceTests.screen(runtime.state).contains { $0.contains("▸* Python 3 (ipykernel)") })
    }

    @Test func eachNotebookRunsInItsOwnKernel() async throws {
        let dir = try Scratch.directory("ws-two-kernels")
        let home = FilePath.join(dir, "home")
        var documents: [Workspace.Document] = []
        for (name, source) in [("one.ipynb", "secret = 41"), ("two.ipynb", "print('secret' in globals())")] {
            let path = FilePath.join(dir, name)
            try WorkspaceTests.notebook([source]).notebook!.notebookForSave.write(path: path)
            documents.append(try Workspace.read(path: path, home: home))
        }
        let finder = KernelSpecFinder(pythonPrefix: Python.environmentOrIssue)
        let runtime = Workspace.Runtime(state: Workspace.State(documents: documents, size: Size(width: 80, height: 24)), home: home) { _, name, queue in
            Workspace.NotebookKernel(
                session: KernelSession(
                    configuration: KernelSession.Configuration(
                        kernelName: name, directory: dir, finder: finder, runtimeDirectory: FilePath.join(dir, "runtime"), startupTimeout: 180),
                    queue: queue))
        }
        let sessions = [runtime.session(tab: 0), runtime.session(tab: 1)]
        #expect(sessions[0] != nil && sessions[1] != nil && sessions[0] !== sessions[1])
        defer { Task { for session in sessions { await session?.shutdown() } } }
        runtime.send(.tick(Clock.monotonic()))
        Self.press(runtime, .key(.function(5)))  // run `secret = 41` in one.ipynb
        Self.press(runtime, .char("2", .alt), .key(.function(5)))  // and the check in two.ipynb, while the first is still starting
        func output(_ tab: Int) -> (Workspace.State) -> Bool {
            { state in
                guard let cell = state.tabs[tab].document.notebook?.cells.first else { return false }
                return cell.run == .idle && cell.executionCount != nil
            }
        }
        // Two kernels start at once on a loaded machine: a generous deadline.
        // A cell is done on its execute_reply; the kernel's `idle` status comes on IOPub, possibly a moment later.
        func idle(_ tab: Int) -> (Workspace.State) -> Bool { { $0.tabs[tab].document.notebook?.kernel == .idle } }
        guard await Self.pump(runtime, "both cells run", seconds: 240, until: { output(0)($0) && output(1)($0) && idle(0)($0) && idle(1)($0) })
        else { return }
        #expect(runtime.state.tabs[1].document.notebook?.cells.first?.outputs.first?.text == "False\n", "two.ipynb's kernel never saw one.ipynb's variable")
        #expect(runtime.state.tabs[0].document.notebook?.kernel == .idle && runtime.state.tabs[1].document.notebook?.kernel == .idle)
        // Closing a tab shuts its kernel down; the other keeps running.
        Self.press(runtime, .char("w", .alt))
        #expect(runtime.state.panel == .confirmClose(tab: 1), "running a cell is a change: closing asks")
        Self.press(runtime, .char("n"))
        #expect(runtime.state.tabs.count == 1 && runtime.session(tab: 1) == nil)
        guard let retired = runtime.retired.first else {
            Issue.record("the closed tab's kernel was not shut down")
            return
        }
        await retired.value
        #expect(sessions[1]?.manager.map { $0.isAlive } != true, "two.ipynb's kernel is gone")
        #expect(sessions[0]?.manager.map { $0.isAlive } == true, "one.ipynb's kernel still runs")
        await runtime.shutdown()
    }
}
