internal import CoreSupport
#if canImport(Glibc)
internal import Glibc
#endif

/// Runs the git panel's requests with the `wb-git` executable, off the UI thread.
///
/// `wb` does not link libgit2 (its start-up time and resident size stay small; Docs/performance.md):
/// the panel's work is done by the same `wb-git` program that `wb git` execs, with `--json` (or
/// coloured diff text), so the panel and the command line share one implementation.
enum GitRunner {
    /// Runs one request in `directory` and returns what `wb-git` answered; waits without blocking a thread.
    static func run(_ job: GitPanel.Job, tool: String?, directory: String) async -> GitResult {
        func failure(_ text: String) -> GitResult {
            GitResult(id: job.id, request: job.request, status: -1, stdout: "", stderr: text)
        }
        guard let tool else { return failure("git is not available: wb-git was not found next to wb") }
        let arguments = job.request.arguments
        let argv = [tool, "git", arguments[0], "-C", directory] + arguments.dropFirst()
        let base = FilePath.join(Environment.nonEmpty("TMPDIR") ?? "/tmp", "wb-git-\(getpid())-\(Identifier.randomHex(bytes: 8))")
        let out = base + ".out", err = base + ".err"
        defer {
            unlink(out)
            unlink(err)
        }
        var environment = Environment.all()
        // Colour only where asked for (`--color always` on diffs); the JSON never has any.
        environment["NO_COLOR"] = "1"
        let child: ChildProcess
        do {
            child = try ChildProcess(argv: argv, environment: environment, output: .files(stdout: out, stderr: err))
        } catch {
            return failure("cannot run \(tool): \(error)")
        }
        let status: Int32
        switch await child.wait() {
        case .exited(let code): status = code
        case .signaled(let signal): status = 128 + signal
        }
        let stdout = (try? FileIO.readText(out)) ?? ""
        let stderr = (try? FileIO.readText(err)) ?? ""
        return GitResult(id: job.id, request: job.request, status: status, stdout: stdout, stderr: stderr)
    }
}
