import CoreSupport
import Foundation
import Kernels
import Notebook
import TestSupport
import Testing

@testable import TUI

/// The app against a real ipykernel: the runtime performs the app's commands and the session reports back.
@Suite("Notebook app with a kernel", .serialized, .timeLimit(.minutes(6)))
struct NotebookAppKernelTests {
    typealias App = NotebookApp

    /// A runtime on a fresh scratch folder with the pinned ipykernel starting in the background.
    static func runtime(_ sources: [String], kernel: String = "python3", file: String = "nb.ipynb") throws -> (App.Runtime, String) {
        let dir = try Scratch.directory("app-kernel")
        let path = FilePath.join(dir, file)
        let nb = NotebookAppTests.notebook(sources)
        try nb.write(path: path)
        let queue = EventQueue()
        let finder = KernelSpecFinder(pythonPrefix: Python.environmentOrIssue)
        let session = KernelSession(
            configuration: KernelSession.Configuration(
                kernelName: kernel, directory: dir, finder: finder, runtimeDirectory: FilePath.join(dir, "runtime"), startupTimeout: 90),
            queue: queue)
        let state = try App.open(path: path, size: Size(width: 80, height: 24), home: FilePath.join(dir, "home"))
        let runtime = App.Runtime(state: state, session: session, queue: queue, home: FilePath.join(dir, "home"))
        runtime.send(.tick(Clock.monotonic()))
        return (runtime, dir)
    }

    /// Feeds session events to the runtime until `condition` holds (generous deadline); records the screen if it never does.
    @discardableResult
    static func pump(
        _ runtime: App.Runtime, _ what: String, seconds: Double = 120, sourceLocation: SourceLocation = #_sourceLocation,
        until condition: (App.State) -> Bool
    ) async -> Bool {
        let deadline = Clock.monotonic() + seconds
        while Clock.monotonic() < deadline {
            runtime.drain()
            runtime.send(.tick(Clock.monotonic()))
            if condition(runtime.state) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        runtime.drain()
        if condition(runtime.state) { return true }
        Issue.record("never got \(what) (kernel \(runtime.state.kernel), message \(runtime.state.message?.text ?? "none")); screen:\n\(screen(runtime).joined(separator: "\n"))", sourceLocation: sourceLocation)
        return false
    }

    static func screen(_ runtime: App.Runtime) -> [String] { NotebookAppTests.screen(runtime.state) }

    static func press(_ runtime: App.Runtime, _ keys: InputEvent...) {
        for key in keys { runtime.send(.input(key)) }
    }

    static func finished(_ index: Int) -> (App.State) -> Bool {
        { state in state.cells.count > index && state.cells[index].run == .idle && state.cells[index].executionCount != nil }
    }

    @Test func markdownFromIPythonDisplayRenders() async throws {
        let (runtime, _) = try Self.runtime([
            "from IPython.display import Markdown, display\ndisplay(Markdown('# Résumé 東京\\n\\n- **bold** item\\n- see [docs](https://example.com)\\n\\n| a | b |\\n|---|--:|\\n| x | 10 |'))"
        ])
        let session = runtime.session
        defer { Task { await session?.shutdown() } }
        Self.press(runtime, .key(.function(6)))
        guard await Self.pump(runtime, "the Markdown output", until: Self.finished(0)) else { return }
        let output = try #require(runtime.state.cells[0].outputs.first)
        #expect(output.outputType == "display_data")
        #expect(output.data?["text/markdown"] != nil, "the kernel sent Markdown")
        let screen = Self.screen(runtime)
        for line in ["  # Résumé 東京", "  • bold item", "  • see docs (https://example.com)", "  a   b", "  x  10"] {
            #expect(screen.contains { $0.hasSuffix(line) }, "\(line) on screen:\n\(screen.joined(separator: "\n"))")
        }
        #expect(!screen.contains { $0.hasSuffix("  - **bold** item") || $0.contains("<IPython.core.display.Markdown") })
    }

    @Test func theFirstScreenComesBeforeTheKernelAndCellsRunOnceItIsUp() async throws {
        let (runtime, _) = try Self.runtime(["print('hello from the kernel')", "21 * 2", "import sys; print('oops', file=sys.stderr)"])
        let session = runtime.session
        defer { Task { await session?.shutdown() } }
        #expect(runtime.state.kernel == .starting)
        #expect(Self.screen(runtime).last?.contains("python3: starting") == true)
        // Run all before the kernel is ready: the cells wait for it, in order.
        Self.press(runtime, .key(.function(6)))
        guard await Self.pump(runtime, "all three cells run", until: Self.finished(2)) else { return }
        let state = runtime.state
        #expect(state.cells.map(\.executionCount) == [1, 2, 3])
        #expect(state.cells[0].outputs.first?.text == "hello from the kernel\n")
        #expect(state.cells[1].outputs.first?.data?["text/plain"] == "42")
        #expect(state.cells[2].outputs.first?.streamName == "stderr")
        let screen = Self.screen(runtime)
        for line in ["  hello from the kernel", "  42", "  oops"] {
            #expect(screen.contains { $0.hasSuffix(line) }, "\(line) on screen")
        }
        await Self.pump(runtime, "the kernel's name") { $0.kernelName == "Python 3 (ipykernel)" && $0.kernel == .idle }
        #expect(Self.screen(runtime).last?.contains("Python 3 (ipykernel): idle  [3]") == true)
    }

    @Test func inputIsAnsweredInlineAndASleepIsInterrupted() async throws {
        let (runtime, _) = try Self.runtime(["name = input('name? ')\nprint('hi', name)", "import time\ntime.sleep(60)"])
        let session = runtime.session
        defer { Task { await session?.shutdown() } }
        Self.press(runtime, .key(.function(5)))
        guard await Self.pump(runtime, "the input prompt", until: { $0.inputPrompt != nil }) else { return }
        #expect(Self.screen(runtime).contains("▌  name?"))
        for c in "Ada" { Self.press(runtime, .char(c)) }
        Self.press(runtime, .key(.enter))
        guard await Self.pump(runtime, "the greeting", until: Self.finished(0)) else { return }
        #expect(runtime.state.cells[0].outputs.first?.text == "hi Ada\n")

        Self.press(runtime, .char("j"), .key(.function(5)))
        guard await Self.pump(runtime, "the sleep running", until: { if case .running = $0.cells[1].run { true } else { false } }) else { return }
        #expect(Self.screen(runtime).contains { $0.contains("[*] code · cell 2 · running") })
        Self.press(runtime, .char("i"), .char("i"))
        guard await Self.pump(runtime, "the interrupted cell", seconds: 30, until: Self.finished(1)) else { return }
        #expect(runtime.state.cells[1].failed)
        #expect(runtime.state.cells[1].outputs.last?.errorName == "KeyboardInterrupt")
        #expect((runtime.state.cells[1].lastDuration ?? 60) < 50, "interrupted, not slept out")
    }

    @Test func aDeadKernelIsShownAndRestartsWithTheEditsKept() async throws {
        let (runtime, _) = try Self.runtime(["import os; os._exit(7)", "print('back')"])
        let session = runtime.session
        defer { Task { await session?.shutdown() } }
        Self.press(runtime, .key(.function(5)))
        guard await Self.pump(runtime, "a dead kernel", until: { if case .dead = $0.kernel { true } else { false } }) else { return }
        #expect(Self.screen(runtime).last?.contains("dead (0,0 restarts)") == true)
        await Self.pump(runtime, "the cell no longer running") { $0.cells[0].run == .idle }
        #expect(runtime.state.cells.map(\.source) == ["import os; os._exit(7)", "print('back')"])
        Self.press(runtime, .char("0"), .char("0"))
        guard await Self.pump(runtime, "the restarted kernel", seconds: 150, until: { $0.kernel == .idle }) else { return }
        Self.press(runtime, .char("j"), .key(.function(5)))
        guard await Self.pump(runtime, "output after the restart", until: Self.finished(1)) else { return }
        #expect(runtime.state.cells[1].outputs.first?.text == "back\n")
        #expect(runtime.state.cells[1].executionCount == 1, "a fresh kernel counts from 1")
    }

    @Test func aHundredThousandLinesArriveInFewBatches() async throws {
        let (runtime, _) = try Self.runtime(["for i in range(100_000):\n    print(i)"])
        let session = runtime.session
        defer { Task { await session?.shutdown() } }
        Self.press(runtime, .key(.function(5)))
        var drains = 0
        let deadline = Clock.monotonic() + 120
        while Clock.monotonic() < deadline && !Self.finished(0)(runtime.state) {
            if runtime.drain() { drains += 1 }
            // Keys are handled between batches while the output streams.
            runtime.send(.input(.char("o")))
            try? await Task.sleep(for: .milliseconds(16))
        }
        let cell = runtime.state.cells[0]
        #expect(Self.finished(0)(runtime.state))
        #expect(cell.area.lineCount == 100_000)
        #expect(cell.outputs.count == 1 && cell.outputs[0].text?.hasSuffix("99998\n99999\n") == true)
        #expect(drains < 2_000, "stream chunks are joined in the queue: \(drains) batches")
    }

    @Test func anUnknownKernelIsReportedDead() async throws {
        let (runtime, _) = try Self.runtime(["1"], kernel: "no-such-kernel")
        let session = runtime.session
        defer { Task { await session?.shutdown() } }
        guard await Self.pump(runtime, "the dead kernel", until: { if case .dead = $0.kernel { true } else { false } }) else { return }
        #expect(runtime.state.message?.text.contains("no-such-kernel") == true)
        Self.press(runtime, .key(.function(5)))
        #expect(runtime.state.cells[0].run == .idle)
    }
}

/// Saving, autosave and recovery through the runtime and real files (no kernel).
@Suite("Notebook app files")
struct NotebookAppFileTests {
    typealias App = NotebookApp

    static func runtime(path: String, home: String) throws -> App.Runtime {
        let state = try App.open(path: path, size: Size(width: 60, height: 20), home: home)
        let runtime = App.Runtime(state: state, session: nil, queue: EventQueue(), home: home)
        runtime.send(.tick(1000))
        return runtime
    }

    static func settle(_ runtime: App.Runtime) async {
        await runtime.writes?.value
        runtime.drain(now: runtime.state.now)
    }

    @Test(arguments: ["nb.ipynb", "script.py"])
    func ctrlSSavesAtomicallyAndEndsTheRecoveryFile(_ name: String) async throws {
        let dir = try Scratch.directory("app-save")
        let home = FilePath.join(dir, "home")
        let path = FilePath.join(dir, name)
        try NotebookAppTests.notebook(["x = 1", "print(x)"]).write(path: path)
        let runtime = try Self.runtime(path: path, home: home)
        runtime.send(.input(.char("b")))
        runtime.send(.input(.char("m")))
        runtime.send(.tick(1001))
        await Self.settle(runtime)
        #expect(FileIO.exists(Recovery.path(for: path, home: home)), "the change was autosaved")
        #expect(runtime.state.isDirty)
        runtime.send(.input(.char("s", .control)))
        await Self.settle(runtime)
        #expect(!runtime.state.isDirty && runtime.state.message?.text == "saved \(name)")
        await Self.settle(runtime)
        #expect(!FileIO.exists(Recovery.path(for: path, home: home)), "saving ends the recovery file")
        let saved = try Notebook.read(path: path)
        #expect(saved.cells.map(\.source) == ["x = 1", "", "print(x)"])
        #expect(saved.cells.map(\.cellType) == ["code", "markdown", "code"])
        if name.hasSuffix(".ipynb") {
            #expect(try FileIO.read(path) == runtime.state.notebookForSave.ipynbBytes(), "written exactly as nbformat writes it")
        }
    }

    @Test func reopeningAfterACrashOffersTheRecoveredEdits() async throws {
        let dir = try Scratch.directory("app-recover")
        let home = FilePath.join(dir, "home")
        let path = FilePath.join(dir, "nb.ipynb")
        try NotebookAppTests.notebook(["x = 1"]).write(path: path)
        let before = try FileIO.read(path)
        do {
            let runtime = try Self.runtime(path: path, home: home)
            runtime.send(.input(.char("b")))
            runtime.send(.input(.char("y")))
            runtime.send(.tick(1001))
            await Self.settle(runtime)
            // The process dies here: no save, no quit.
        }
        #expect(try FileIO.read(path) == before, "the notebook itself is untouched")
        let recovery = Recovery.path(for: path, home: home)
        #expect(FileIO.exists(recovery))
        #expect(try FileIO.readText(recovery).contains("\"format\":\"wb-recovery\""))

        var reopened = try Self.runtime(path: path, home: home)
        guard case .recovery = reopened.state.overlay else {
            Issue.record("the recovered edits are offered")
            return
        }
        #expect(NotebookAppTests.screen(reopened.state).joined(separator: "\n").contains("has edits that were never saved"))
        reopened.send(.input(.char("r")))
        #expect(reopened.state.cells.count == 2 && reopened.state.isDirty)
        reopened.send(.input(.char("s", .control)))
        await Self.settle(reopened)
        await Self.settle(reopened)
        #expect(try Notebook.read(path: path).cells.count == 2)
        #expect(!FileIO.exists(recovery))

        // Discarding: d removes the file and keeps the notebook as saved.
        let runtime = try Self.runtime(path: path, home: home)
        runtime.send(.input(.char("d")))
        runtime.send(.input(.char("d")))
        runtime.send(.tick(1001))
        await Self.settle(runtime)
        reopened = try Self.runtime(path: path, home: home)
        reopened.send(.input(.char("d")))
        await Self.settle(reopened)
        #expect(!FileIO.exists(recovery) && reopened.state.cells.count == 2 && reopened.state.overlay == nil)
    }

    @Test func aMissingFileIsANewNotebookCreatedOnSave() async throws {
        let dir = try Scratch.directory("app-new")
        let home = FilePath.join(dir, "home")
        let path = FilePath.join(dir, "fresh.ipynb")
        let runtime = try Self.runtime(path: path, home: home)
        #expect(runtime.state.cells.count == 1 && !FileIO.exists(path))
        #expect(runtime.state.message?.text == "new notebook: Ctrl-S creates fresh.ipynb")
        runtime.send(.input(.char("s", .control)))
        await Self.settle(runtime)
        let saved = try Notebook.read(path: path)
        #expect(saved.cells.count == 1 && saved.kernelName == "python3" && saved.nbformatMinor == 5)
        #expect(throws: NotebookError.self) { try App.open(path: FilePath.join(dir, "no/such/folder.ipynb"), home: home) }
        try AtomicFile.write("{\"cells\": [}", to: FilePath.join(dir, "bad.ipynb"))
        #expect(throws: NotebookError.self) { try App.open(path: FilePath.join(dir, "bad.ipynb"), home: home) }
    }
}
