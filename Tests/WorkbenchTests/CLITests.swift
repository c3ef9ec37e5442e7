import CoreSupport
import Foundation
import Notebook
import TestSupport
import Testing

/// The `wb` executable, run as a user or a script would.
enum WB {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = FilePath.directory(of: path) }
        return path
    }()

    /// The `wb` built with these tests (next to the test bundle, whatever the scratch path), else one in `.build`.
    static var binary: String {
        var candidates: [String] = []
        if let bundle = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(FilePath.join(FilePath.directory(of: bundle), "wb"))
        }
        for config in ["debug", "release"] { candidates.append(FilePath.join(root, ".build", config, "wb")) }
        if let found = candidates.first(where: FileIO.exists) { return found }
        Issue.record("the wb binary is not built; run ./scripts/test")
        return "/nonexistent/wb"
    }

    static var pythonEnv: String { Python.environmentOrIssue }

    static func scratch(_ name: String) -> String {
        try! Scratch.directory(name)
    }

    static func run(_ arguments: [String], environment extra: [String: String] = [:], cwd: String? = nil) throws -> Command.Result {
        var env = ProcessInfo.processInfo.environment
        env["WB_PYTHON_ENV"] = pythonEnv
        for (k, v) in extra { env[k] = v }
        return try Command.run([binary] + arguments, environment: env, cwd: cwd)
    }

    static func notebook(_ sources: [String], in dir: String, name: String = "nb.ipynb", tags: [Int: [String]] = [:]) throws -> String {
        var nb = Notebook(metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
        for (i, s) in sources.enumerated() {
            var cell = Cell(.code, source: s)
            if let t = tags[i] { cell.metadata = ["tags": .array(t.map(JSON.string))] }
            nb.cells.append(cell)
        }
        let path = FilePath.join(dir, name)
        try nb.write(path: path)
        return path
    }
}

@Suite(.serialized, .timeLimit(.minutes(5)))
struct CLITests {
    @Test(arguments: [["--help"], ["run", "--help"], ["open", "--help"], ["view", "--help"], ["kernels", "list", "--help"], ["convert", "--help"], ["doctor", "--help"]])
    func everyCommandHasHelp(_ args: [String]) throws {
        let result = try WB.run(args)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE:"))
    }

    @Test func runWritesTheOutputAndAJSONReport() throws {
        let dir = WB.scratch("cli-run")
        let input = try WB.notebook(["# parameters\nn = 1", "print(n * 2)"], in: dir, tags: [0: ["parameters"]])
        let before = try FileIO.read(input)
        let output = FilePath.join(dir, "out.ipynb")
        let result = try WB.run(["run", input, "-o", output, "-p", "n", "21", "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let report = try JSON.parse(result.stdout)
        #expect(report["status"] == "ok")
        #expect(report["executed"] == 3)
        #expect(try FileIO.read(input) == before)
        let nb = try Notebook.read(path: output)
        #expect(nb.cells[2].outputs.first?.text == "42\n")
    }

    @Test func parametersFileIsYAML() throws {
        let dir = WB.scratch("cli-yaml")
        let input = try WB.notebook(["print(rate, names)"], in: dir)
        let params = FilePath.join(dir, "p.yaml")
        try AtomicFile.write("rate: 0.25\nnames: [a, b]\n", to: params)
        let output = FilePath.join(dir, "out.ipynb")
        let result = try WB.run(["run", input, "-o", output, "-f", params])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(try Notebook.read(path: output).cells[1].outputs.first?.text == "0.25 ['a', 'b']\n")
    }

    @Test func exitCodesSayWhatHappened() throws {
        let dir = WB.scratch("cli-exit")
        let failing = try WB.notebook(["1/0"], in: dir, name: "fail.ipynb")
        let failed = try WB.run(["run", failing, "-o", FilePath.join(dir, "fail.out.ipynb")])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("cell 1 raised ZeroDivisionError"))
        #expect(FileIO.exists(FilePath.join(dir, "fail.out.ipynb")))

        let slow = try WB.notebook(["import time; time.sleep(60)"], in: dir, name: "slow.ipynb")
        let timedOut = try WB.run(["run", slow, "--cell-timeout", "1"])
        #expect(timedOut.status == 4)

        let dying = try WB.notebook(["import os; os._exit(3)"], in: dir, name: "die.ipynb")
        let died = try WB.run(["run", dying])
        #expect(died.status == 3)
        #expect(died.stderr.contains("exited with code 3"))

        let malformed = FilePath.join(dir, "bad.ipynb")
        try AtomicFile.write("{\"cells\": [}", to: malformed)
        let bad = try WB.run(["run", malformed])
        #expect(bad.status == 5)
        #expect(bad.stderr.contains("bad.ipynb"))
        #expect(bad.stderr.contains("line 1, column 12"))

        let unknown = try WB.run(["run", failing, "--kernel", "no-such-kernel"])
        #expect(unknown.status == 6)
        #expect(unknown.stderr.contains("no kernel named no-such-kernel"))

        let usage = try WB.run(["run", failing, "-o", failing])
        #expect(usage.status == 64)

        let missingDir = try WB.run(["run", failing, "-o", FilePath.join(dir, "nope/out.ipynb")])
        #expect(missingDir.status == 7)
    }

    @Test func killingWbTakesItsKernelDownAndKeepsTheFinishedCells() async throws {
        let dir = WB.scratch("cli-kill")
        let home = FilePath.join(dir, "home")
        let input = try WB.notebook(["print('finished')", "import time\nprint('sleeping', flush=True)\ntime.sleep(120)"], in: dir)
        let output = FilePath.join(dir, "out.ipynb")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: WB.binary)
        process.arguments = ["run", input, "-o", output, "--log-output", "--no-progress"]
        var env = ProcessInfo.processInfo.environment
        env["WB_PYTHON_ENV"] = WB.pythonEnv
        env["WB_HOME"] = home
        process.environment = env
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait until the second cell is running (its output shows up in the log).
        let seen = LockedBox("")
        // A thread of its own: a blocking read inside a Task would hold one of the cooperative pool's threads.
        Thread.detachNewThread {
            let handle = err.fileHandleForReading
            while true {
                let data = handle.availableData
                if data.isEmpty { return }
                seen.mutate { $0 += String(decoding: data, as: UTF8.self) }
            }
        }
        #expect(await poll(60) { seen.value.contains("sleeping") })
        let kernels = kernelPIDs(runtime: FilePath.join(home, "runtime"))
        #expect(kernels.count == 1)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // ipykernel watches its parent (JPY_PARENT_PID) and leaves when wb is gone.
        #expect(await poll(60) { kernels.allSatisfy(isGone) })
        // The first cell's output was saved before wb died (at most a second after it finished).
        let saved = try Notebook.read(path: output)
        #expect(saved.cells.count == 2)
    }

    @Test func kernelsListJSONMatchesJupyter() throws {
        let result = try WB.run(["kernels", "list", "--json"])
        #expect(result.status == 0)
        let jupyter = try Command.run([FilePath.join(WB.pythonEnv, "bin", "jupyter"), "kernelspec", "list", "--json"])
        #expect(try JSON.parse(result.stdout) == JSON.parse(jupyter.stdout))
    }

    @Test func convertRoundTripsThroughPercentFormat() throws {
        let dir = WB.scratch("cli-convert")
        let input = try WB.notebook(["x = 1\nprint(x)"], in: dir)
        let py = FilePath.join(dir, "nb.py")
        #expect(try WB.run(["convert", input, "--to", "py"]).status == 0)
        let text = try FileIO.readText(py)
        #expect(text.contains("# %%\nx = 1\nprint(x)\n"))
        let back = FilePath.join(dir, "back.ipynb")
        #expect(try WB.run(["convert", py, "--to", "ipynb", "-o", back]).status == 0)
        #expect(try Notebook.read(path: back).cells.map(\.source) == ["x = 1\nprint(x)"])
        #expect(try WB.run(["convert", FilePath.join(dir, "missing.ipynb"), "--to", "py"]).status == 5)
    }

    /// `wb convert --to py|md` writes byte for byte what `jupytext --to py:percent|md` writes, run
    /// the same way on a copy of a notebook with magics, `%%sql` cells, parameters and paired formats.
    @Test(arguments: [("py", "py:percent"), ("md", "md")])
    func convertWritesWhatJupytextWrites(_ ours: String, _ theirs: String) throws {
        let dir = WB.scratch("cli-convert-jupytext")
        let fixture = FilePath.join(WB.root, "Tests", "NotebookTests", "Fixtures", "jupytext_features.ipynb")
        let input = FilePath.join(dir, "nb.ipynb")
        try AtomicFile.write(try FileIO.read(fixture), to: input)
        let wb = try WB.run(["convert", input, "--to", ours, "-o", FilePath.join(dir, "wb." + ours)])
        #expect(wb.status == 0, "\(wb.stderr)")
        let jupytext = try Command.run([FilePath.join(WB.pythonEnv, "bin", "jupytext"), "--to", theirs, "nb.ipynb"], cwd: dir)
        #expect(jupytext.status == 0, "\(jupytext.stderr)")
        let expected = try FileIO.read(FilePath.join(dir, "nb." + ours))
        #expect(try FileIO.read(FilePath.join(dir, "wb." + ours)) == expected)
        #expect(expected.count > 1000)
    }

    @Test func openRunsTheSampleHeadless() throws {
        let sample = FilePath.join(WB.root, "Examples", "sample.ipynb")
        let before = try FileIO.read(sample)
        let result = try WB.run(["open", sample])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("data: ["))
        #expect(try FileIO.read(sample) == before)
    }

    @Test func transcriptsNeverPassTerminalControlsThrough() throws {
        let dir = WB.scratch("cli-hostile")
        let input = try WB.notebook(["print('\\x1b]52;c;ZXZpbA==\\x07\\x1b]0;pwned\\x07\\x1b[2Jsafe text')"], in: dir)
        let result = try WB.run(["open", input])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("safe text"))
        #expect(!result.stderr.contains("\u{1B}]"))
        #expect(!result.stderr.contains("\u{1B}[2J"))
        let logged = try WB.run(["run", input, "--log-output", "--no-progress"])
        #expect(logged.stderr.contains("safe text"))
        #expect(!logged.stderr.contains("\u{1B}]"))
    }

    @Test func doctorChecksEverything() throws {
        let home = WB.scratch("doctor")
        let result = try WB.run(["doctor", "--json"], environment: ["WB_HOME": home])
        #expect(result.status == 0, "stdout: \(result.stdout)")
        let report = try JSON.parse(result.stdout)
        #expect(report["ok"] == true)
        let names = report["checks"]?.arrayValue?.compactMap { $0["check"]?.stringValue } ?? []
        #expect(names.contains("system libraries"))
        #expect(names.contains("kernel python3"))
        let broken = try WB.run(["doctor", "--no-kernel-start"], environment: ["WB_PYTHON_ENV": "/nonexistent/env", "WB_HOME": home])
        #expect(broken.status == 8)
        #expect(broken.stdout.contains("fix:"))
    }
}

/// Process ids whose command line mentions the runtime folder (the kernels wb started there).
func kernelPIDs(runtime: String) -> [Int32] {
    FileIO.list("/proc").compactMap { entry -> Int32? in
        guard let pid = Int32(entry), let raw = try? FileIO.read("/proc/\(entry)/cmdline") else { return nil }
        let cmdline = String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        return cmdline.contains(runtime) && cmdline.contains("ipykernel") ? pid : nil
    }
}

/// Whether a process has exited (gone, or a zombie nobody has reaped yet).
func isGone(_ pid: Int32) -> Bool {
    guard let stat = try? FileIO.readText("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(close, offsetBy: 2)...].first == "Z"
}
