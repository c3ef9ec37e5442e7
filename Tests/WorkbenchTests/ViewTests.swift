import CoreSupport
import Foundation
import Notebook
import TestSupport
import Testing

/// A tmux call that failed, with tmux's message.
struct TmuxFailure: Error, CustomStringConvertible {
    var description: String
}

/// A tmux server of its own (unique socket, no user config) to run `wb` in a real terminal.
struct Tmux {
    let socket = "wbtest-\(UUID().uuidString.prefix(12))"
    let executable: String

    init() throws {
        guard let path = ChildProcess.which("tmux", path: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") else {
            throw TmuxFailure(description: "tmux is not installed; scripts/test installs it (scripts/lib.sh)")
        }
        executable = path
    }

    /// Runs a tmux command on this server and returns what it printed; a failure is an error with tmux's message.
    ///
    /// Spawned with `ChildProcess` (reaped by pid), not `Process`: Foundation's `Process` waits for a
    /// descriptor that the daemonized tmux server inherits, so `new-session` would never return.
    @discardableResult
    func run(_ arguments: [String]) async throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["TMUX"] = nil
        environment["LANG"] = "C.UTF-8"
        let output = FilePath.join(try Scratch.directory("tmux-out"), "output")
        let child = try ChildProcess(
            argv: [executable, "-L", socket, "-f", "/dev/null"] + arguments, environment: environment, output: .file(output))
        guard let status = await child.wait(timeout: 30) else {
            child.signal(SIGKILL)
            throw TmuxFailure(description: "tmux \(arguments) did not finish")
        }
        let text = (try? FileIO.readText(output)) ?? ""
        guard status == .exited(0) else { throw TmuxFailure(description: "tmux \(arguments): \(status): \(text)") }
        return text
    }

    /// The visible lines of the pane, trailing spaces trimmed; with `escapes`, with their SGR sequences.
    func screen(escapes: Bool = false) async -> [String] {
        let text = (try? await run(["capture-pane", "-p", "-t", "wb"] + (escapes ? ["-e"] : []))) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var line = String(line)
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    /// A tmux format for the pane, such as `#{alternate_on}`.
    func query(_ format: String) async -> String {
        ((try? await run(["display-message", "-p", "-t", "wb", format])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func keys(_ keys: String...) async throws { try await run(["send-keys", "-t", "wb"] + keys) }

    /// Waits (generously, polling) until some line satisfies `match`; records the screen if none does.
    func waitFor(_ what: String, _ match: (String) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async -> Bool {
        let deadline = Clock.monotonic() + 20
        var screen: [String] = []
        while Clock.monotonic() < deadline {
            screen = await self.screen()
            if screen.contains(where: match) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no \(what) on screen:\n\(screen.joined(separator: "\n"))", sourceLocation: sourceLocation)
        return false
    }

    /// Stops the server and everything running in it; synchronous, so it can run in `defer`.
    ///
    /// Waits (up to 30 s) until the processes of its panes have exited too: a `wb` that gets the
    /// SIGHUP still saves its recovery files and stops its kernel, and the test's folder (or the
    /// suite's scratch folder) must not be removed while it writes there.
    func kill() {
        let sessions = sync(["list-panes", "-a", "-F", "#{pane_pid}"]).split(separator: "\n").compactMap { Int32($0) }
        _ = sync(["kill-server"])
        let deadline = Clock.monotonic() + 30
        while !sessions.isEmpty, Self.anyProcess(inSessions: Set(sessions)), Clock.monotonic() < deadline { usleep(20_000) }
    }

    /// Runs a tmux command and waits (up to 10 s) for it, without async; returns what it printed.
    private func sync(_ arguments: [String]) -> String {
        guard let output = try? FilePath.join(Scratch.directory("tmux-out"), "output"),
            let child = try? ChildProcess(
                argv: [executable, "-L", socket] + arguments, environment: ProcessInfo.processInfo.environment, output: .file(output))
        else { return "" }
        let deadline = Clock.monotonic() + 10
        while child.isRunning && Clock.monotonic() < deadline { usleep(10_000) }
        return (try? FileIO.readText(output)) ?? ""
    }

    /// Whether a live (not zombie) process belongs to one of these sessions (a pane's process is its session leader).
    static func anyProcess(inSessions sessions: Set<Int32>) -> Bool {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries where entry.first?.isNumber == true {
            guard let stat = try? FileIO.readText("/proc/\(entry)/stat"), let close = stat.lastIndex(of: ")") else { continue }
            // After the command name: state, ppid, pgrp, session.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 3, fields[0] != "Z", let session = Int32(fields[3]) else { continue }
            if sessions.contains(session) { return true }
        }
        return false
    }
}

/// Columns a captured line takes up to `prefix`'s end: CJK counted 2, as tmux draws it.
func columns(_ text: Substring) -> Int {
    text.unicodeScalars.reduce(0) { $0 + ((0x1100...0x115F).contains($1.value) || (0x2E80...0xA4CF).contains($1.value) || (0xAC00...0xD7A3).contains($1.value) || (0xFF00...0xFF60).contains($1.value) ? 2 : 1) }
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct ViewTests {
    /// A notebook with a CJK table output and enough cells to scroll.
    static func notebook(in dir: String) throws -> String {
        var nb = Notebook(metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
        var table = Cell(.code, source: "print(table)")
        table.executionCount = 1
        table.outputs = [.stream(name: "stdout", text: "name | n\n東京 | 42\nabcd | 7\n")]
        nb.cells.append(table)
        for i in 0..<30 { nb.cells.append(Cell(.code, source: "x\(i) = \(i)")) }
        let path = FilePath.join(dir, "demo.ipynb")
        try nb.write(path: path)
        return path
    }

    /// Starts `wb view` in a 100x30 tmux pane, under a shell that prints wb's exit status and stays open,
    /// so the terminal state after wb can still be read. Returns the tmux server and the file holding wb's pid.
    static func start(in dir: String, environment: [String] = []) async throws -> (Tmux, String) {
        let nb = try notebook(in: dir)
        let script = FilePath.join(dir, "run.sh")
        try AtomicFile.write(
            """
            sh -c 'echo $$ > "$0"; exec "$@"' "$1" "$2" view "$3"
            echo "wb-exit=$?"
            exec sleep 600

            """, to: script)
        let pidFile = FilePath.join(dir, "wb.pid")
        let tmux = try Tmux()
        let locale = environment.contains { $0.hasPrefix("LANG=") } ? [] : ["LANG=C.UTF-8"]
        let variables = (locale + environment).flatMap { ["-e", $0] }
        try await tmux.run(["new-session", "-d", "-s", "wb", "-x", "100", "-y", "30"] + variables + ["sh", script, pidFile, WB.binary, nb])
        return (tmux, pidFile)
    }

    @Test func viewShowsScrollsAndQuitsRestoringTheTerminal() async throws {
        let dir = WB.scratch("view-tmux")
        let (tmux, _) = try await Self.start(in: dir)
        defer { tmux.kill() }

        guard await tmux.waitFor("status line", { $0.contains("demo.ipynb  cell 1/31  read-only") }) else { return }
        #expect(await tmux.query("#{alternate_on} #{cursor_flag}") == "1 0")
        var screen = await tmux.screen()
        #expect(screen.first?.hasPrefix("── [1] code · cell 1 ──") == true)
        #expect(screen.first.map { columns($0[...]) } == 100)
        #expect(screen[1] == "│ print(table)")
        #expect(screen[2...4] == ["  name | n", "  東京 | 42", "  abcd | 7"])
        // The wide characters take two columns each, so the bar lines up under the one above.
        let bars = screen[2...4].map { line in columns(line[..<line.firstIndex(of: "|")!]) }
        #expect(bars == [7, 7, 7])
        #expect(screen.count >= 30 && screen[29].hasSuffix("j/k scroll  q quit") && columns(screen[29][...]) == 99)

        try await tmux.keys("j")
        guard await tmux.waitFor("one line scrolled", { $0 == "│ print(table)" }) else { return }
        screen = await tmux.screen()
        #expect(screen.first == "│ print(table)")

        try await tmux.keys("G")
        guard await tmux.waitFor("the last cell", { $0 == "│ x29 = 29" }) else { return }
        screen = await tmux.screen()
        #expect(screen[27] == "│ x29 = 29" && screen[28] == "")
        #expect(screen[29].contains("cell 31/31"))

        try await tmux.keys("q")
        guard await tmux.waitFor("wb's exit status", { $0.hasPrefix("wb-exit=") }) else { return }
        screen = await tmux.screen()
        #expect(screen.contains("wb-exit=0"))
        #expect(!screen.contains { $0.contains("read-only") || $0.contains("──") }, "the full-screen view was left behind")
        #expect(await tmux.query("#{alternate_on} #{cursor_flag}") == "0 1")
    }

    /// Also run without a locale: wb falls back to C.UTF-8, or ncurses would mangle the wide characters.
    @Test func resizingRedrawsForTheNewSize() async throws {
        let dir = WB.scratch("view-tmux-resize")
        let (tmux, _) = try await Self.start(in: dir, environment: ["LANG=", "LC_ALL=", "LC_CTYPE="])
        defer { tmux.kill() }
        guard await tmux.waitFor("status line", { $0.contains("read-only") }) else { return }
        #expect(await tmux.screen()[3] == "  東京 | 42")
        try await tmux.run(["resize-window", "-t", "wb", "-x", "60", "-y", "12"])
        guard await tmux.waitFor("a 60-column rule", { $0.hasPrefix("── [1] code") && columns($0[...]) == 60 }) else { return }
        let screen = await tmux.screen()
        #expect(screen.count >= 12 && screen[11].hasPrefix(" demo.ipynb  cell 1/31  read-only") && screen[11].hasSuffix("q quit"))
        try await tmux.keys("q")
        #expect(await tmux.waitFor("wb's exit status", { $0 == "wb-exit=0" }))
    }

    @Test(arguments: [false, true])
    func noColorKeepsAttributesAndDropsColours(_ noColor: Bool) async throws {
        let dir = WB.scratch("view-tmux-color")
        // Set either way: the test runner's own environment may carry NO_COLOR (empty means unset).
        let (tmux, _) = try await Self.start(in: dir, environment: [noColor ? "NO_COLOR=1" : "NO_COLOR="])
        defer { tmux.kill() }
        guard await tmux.waitFor("status line", { $0.contains("read-only") }) else { return }
        let screen = await tmux.screen(escapes: true).joined(separator: "\n")
        #expect(screen.contains("\u{1B}[1m") && screen.contains("\u{1B}[7m"), "bold headers and a reverse status line")
        #expect(screen.contains("\u{1B}[36m") == !noColor, "cyan rules only with colour")
        try await tmux.keys("q")
        #expect(await tmux.waitFor("wb's exit status", { $0 == "wb-exit=0" }))
    }

    /// SIGSEGV stands for a crash: the terminal is restored before Swift's backtracer (off here, so wb dies at once).
    @Test(arguments: [SIGTERM, SIGHUP, SIGSEGV])
    func fatalSignalRestoresTheTerminal(_ signal: Int32) async throws {
        let dir = WB.scratch("view-tmux-signal")
        let (tmux, pidFile) = try await Self.start(in: dir, environment: ["SWIFT_BACKTRACE=enable=no"])
        defer { tmux.kill() }
        guard await tmux.waitFor("status line", { $0.contains("read-only") }) else { return }
        let pid = try #require(Int32(try FileIO.readText(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, signal) == 0)
        guard await tmux.waitFor("wb's exit status", { $0.hasPrefix("wb-exit=") }) else { return }
        let screen = await tmux.screen()
        #expect(screen.contains("wb-exit=\(128 + signal)"), "wb should die of the signal it got")
        #expect(!screen.contains { $0.contains("read-only") })
        #expect(await tmux.query("#{alternate_on} #{cursor_flag}") == "0 1")
    }

    @Test func viewNeedsATerminalAndAReadableNotebook() throws {
        let dir = WB.scratch("view-cli")
        let nb = try Self.notebook(in: dir)
        let noTerminal = try WB.run(["view", nb])
        #expect(noTerminal.status == 64)
        #expect(noTerminal.stderr.contains("must be a terminal"))
        let missing = try WB.run(["view", FilePath.join(dir, "missing.ipynb")])
        #expect(missing.status == 5)
        #expect(missing.stderr.contains("wb view:"))
    }
}
