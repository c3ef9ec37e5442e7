import CoreSupport
import Foundation
import Kernels
import Notebook
import TestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(5)))
struct NotebookRunnerTests {
    func notebook(_ sources: [String], tags: [Int: [String]] = [:]) -> Notebook {
        var nb = Notebook(metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
        for (i, source) in sources.enumerated() {
            var cell = Cell(.code, source: source)
            if let t = tags[i] { cell.metadata = ["tags": .array(t.map(JSON.string))] }
            nb.cells.append(cell)
        }
        return nb
    }

    func runner(output: String?, _ configure: (inout NotebookRunner.Options) -> Void = { _ in }) -> NotebookRunner {
        var options = NotebookRunner.Options()
        options.outputPath = output
        configure(&options)
        return NotebookRunner(options: options)
    }

    @Test func runsEveryCodeCellAndWritesTheOutput() async throws {
        let dir = TestEnvironment.scratch("run")
        let input = FilePath.join(dir, "in.ipynb")
        var nb = notebook(["x = 20", "x + 1", "print('hi')"])
        nb.cells.insert(Cell(.markdown, source: "# title"), at: 0)
        try nb.write(path: input)
        let before = try FileIO.read(input)
        let output = FilePath.join(dir, "out.ipynb")
        let report = try await runner(output: output).run(nb, inputPath: input, finder: TestEnvironment.finder)
        #expect(report.status == .ok)
        #expect(report.executed == 3)
        #expect(try FileIO.read(input) == before)
        let written = try Notebook.read(path: output)
        #expect(written.cells.count == 4)
        // The result, wherever it sits (a loaded machine can make the kernel warn on stderr first).
        #expect(
            written.cells[2].outputs.first { $0.outputType == "execute_result" }?.data?["text/plain"]?.stringValue == "21",
            "outputs: \(written.cells[2].outputs.map { JSON.object($0.json).serialized() })")
        #expect(written.cells[2].executionCount == 2)
        #expect(written.cells[3].outputs.first?.text == "hi\n")
        #expect(written.cells[1].metadata["execution"]?["iopub.status.idle"] != nil)
        #expect(written.metadata["language_info"]?["name"]?.stringValue == "python")
        // The kernel ran in the notebook's folder.
        let cwd = try await runner(output: nil).run(notebook(["import os; os.getcwd()"]), inputPath: input, finder: TestEnvironment.finder)
        #expect(cwd.notebook.cells[0].outputs.first?.data?["text/plain"]?.stringValue == "'\(dir)'")
    }

    @Test func injectsParametersAfterTheParametersCell() async throws {
        let dir = TestEnvironment.scratch("params")
        let input = FilePath.join(dir, "in.ipynb")
        let nb = notebook(["a = 1\nb = 'x'", "print(a, b, c)"], tags: [0: ["parameters"]])
        let report = try await runner(output: nil) {
            $0.parameters = [("a", .int(5)), ("b", .string("say \"hi\"")), ("c", .array([.bool(true), .null, .double(0.5)]))]
        }.run(nb, inputPath: input, finder: TestEnvironment.finder)
        #expect(report.status == .ok)
        let cells = report.notebook.cells
        #expect(cells.count == 3)
        #expect(cells[1].tags == ["injected-parameters"])
        #expect(cells[1].source == "# Parameters\na = 5\nb = \"say \\\"hi\\\"\"\nc = [True, None, 0.5]\n")
        #expect(cells[2].outputs.first?.text == "5 say \"hi\" [True, None, 0.5]\n")
    }

    @Test func aFailingCellStopsTheRunAndIsMarked() async throws {
        let dir = TestEnvironment.scratch("fail")
        let input = FilePath.join(dir, "in.ipynb")
        let output = FilePath.join(dir, "out.ipynb")
        let nb = notebook(["x = 1", "raise ValueError('bad value')", "print('never')"])
        let report = try await runner(output: output).run(nb, inputPath: input, finder: TestEnvironment.finder)
        #expect(report.status == .cellError)
        #expect(report.failedCell == 1)
        #expect(report.message?.contains("ValueError: bad value") == true)
        let written = try Notebook.read(path: output)
        #expect(written.cells.count == 4)
        #expect(written.cells[1].tags == ["wb-error"])
        #expect(written.cells[1].source.contains("ValueError"))
        #expect(written.cells[2].metadata["wb"]?["status"]?.stringValue == "failed")
        #expect(written.cells[2].outputs.first?.errorName == "ValueError")
        #expect(written.cells[3].outputs.isEmpty)
    }

    @Test func raisesExceptionTagLetsTheRunGoOn() async throws {
        let nb = notebook(["1/0", "print('went on')"], tags: [0: ["raises-exception"]])
        let report = try await runner(output: nil).run(nb, inputPath: TestEnvironment.scratch() + "/x.ipynb", finder: TestEnvironment.finder)
        #expect(report.status == .ok)
        #expect(report.notebook.cells[1].outputs.first?.text == "went on\n")
    }

    @Test func cellTimeoutIsItsOwnOutcome() async throws {
        let nb = notebook(["import time\ntime.sleep(60)", "print('never')"])
        let report = try await runner(output: nil) { $0.cellTimeout = 1 }.run(
            nb, inputPath: TestEnvironment.scratch() + "/x.ipynb", finder: TestEnvironment.finder)
        #expect(report.status == .cellTimeout)
        #expect(report.failedCell == 0)
    }

    @Test func aDeadKernelIsReportedAndWorkIsKept() async throws {
        let dir = TestEnvironment.scratch("dead")
        let output = FilePath.join(dir, "out.ipynb")
        let nb = notebook(["print('kept')", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "print('never')"])
        let report = try await runner(output: output).run(nb, inputPath: FilePath.join(dir, "in.ipynb"), finder: TestEnvironment.finder)
        #expect(report.status == .kernelDied)
        #expect(report.message?.contains("SIGKILL") == true)
        let written = try Notebook.read(path: output)
        #expect(written.cells[0].outputs.first?.text == "kept\n")
    }

    /// `wb run`'s ending: the run returns once the kernel has acknowledged its shutdown, and the
    /// kernel finishes exiting on its own, leaving no connection file behind.
    @Test func notAwaitingTheKernelsExitStillEndsIt() async throws {
        let dir = TestEnvironment.scratch("detach")
        let nb = notebook(["import os; os.getpid()", "from ipykernel.connect import get_connection_file; get_connection_file()"])
        let report = try await runner(output: nil) { $0.awaitKernelExit = false }
            .run(nb, inputPath: FilePath.join(dir, "in.ipynb"), finder: TestEnvironment.finder)
        #expect(report.status == .ok)
        let pid = try #require(report.notebook.cells[0].outputs.first?.data?["text/plain"]?.stringValue.flatMap { Int32($0) })
        let connectionFile = try #require(report.notebook.cells[1].outputs.first?.data?["text/plain"]?.stringValue).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        #expect(!FileIO.exists(connectionFile), "the connection file \(connectionFile) is removed")
        #expect(await poll(30) { ChildProcess.members(ofGroup: pid).isEmpty }, "the kernel \(pid) exits by itself")
    }

    /// A process a cell started in the kernel's group must not outlive the run, awaited or not.
    @Test func notAwaitingTheKernelsExitStillEndsItsChildren() async throws {
        let dir = TestEnvironment.scratch("detach-child")
        let nb = notebook(["import os, subprocess; child = subprocess.Popen(['sleep', '600']); (os.getpid(), child.pid)"])
        let report = try await runner(output: nil) { $0.awaitKernelExit = false }
            .run(nb, inputPath: FilePath.join(dir, "in.ipynb"), finder: TestEnvironment.finder)
        #expect(report.status == .ok)
        let pair = try #require(report.notebook.cells[0].outputs.first?.data?["text/plain"]?.stringValue)
        let pids = pair.trimmingCharacters(in: CharacterSet(charactersIn: "()")).split(separator: ",").compactMap {
            Int32($0.trimmingCharacters(in: .whitespaces))
        }
        try #require(pids.count == 2, "kernel and child pids in \(pair)")
        // The kernel had company in its group, so the run waited for its exit and ended the group
        // (left alone, the `sleep` would live ten minutes).
        #expect(await poll(30) { ChildProcess.members(ofGroup: pids[0]).isEmpty }, "nothing is left of the kernel's group")
    }

    @Test func savesFinishedCellsWhileRunning() async throws {
        let dir = TestEnvironment.scratch("save")
        let output = FilePath.join(dir, "out.ipynb")
        let nb = notebook(["print(1)", "import time; time.sleep(1.2)", "print(3)", "import time; time.sleep(1.2)", "print(5)"])
        let saves = LockedBox<Int>(0)
        let report = try await runner(output: output).run(
            nb, inputPath: FilePath.join(dir, "in.ipynb"), finder: TestEnvironment.finder,
            progress: { event in
                if case .saved = event { saves.mutate { $0 += 1 } }
            })
        #expect(report.status == .ok)
        // The initial save, at least one while running (after each 1.2 s cell), and the final one.
        #expect(saves.value >= 3)
        #expect(saves.value <= 6)
    }

    @Test func cancellationInterruptsAndKeepsTheFinishedCells() async throws {
        let dir = TestEnvironment.scratch("cancel")
        let output = FilePath.join(dir, "out.ipynb")
        let nb = notebook(["print('done')", "import time\nprint('sleeping', flush=True)\ntime.sleep(60)", "print('never')"])
        let cancellation = NotebookRunner.Cancellation()
        let report = try await runner(output: output).run(
            nb, inputPath: FilePath.join(dir, "in.ipynb"), finder: TestEnvironment.finder, cancellation: cancellation,
            progress: { event in
                if case .output(_, let m) = event, m.content["text"]?.stringValue == "sleeping\n" { cancellation.cancel() }
            })
        #expect(report.status == .cancelled)
        let written = try Notebook.read(path: output)
        #expect(written.cells[0].outputs.first?.text == "done\n")
    }

    @Test func unknownKernelIsAClearError() async throws {
        await #expect(throws: KernelError.self) {
            _ = try await runner(output: nil) { $0.kernelName = "no-such-kernel" }.run(
                notebook(["1"]), inputPath: "/tmp/x.ipynb", finder: TestEnvironment.finder)
        }
    }
}
