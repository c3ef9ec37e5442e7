import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif

/// `wb git ...`: hands over to `wb-git`, the executable next to `wb` that links libgit2,
/// so that no other command pays for loading it.
struct GitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "git",
        abstract: "Version control built in (libgit2), with notebook-aware diffs and merges.",
        discussion: "Runs wb-git, installed next to wb; `wb git --help` lists the subcommands.")

    @Argument(parsing: .captureForPassthrough, help: "A git subcommand and its arguments.")
    var arguments: [String] = []

    func run() throws { try GitTool.exec(["git"] + arguments) }
}

/// `wb nbdiff A B`: compare two notebooks cell by cell (in `wb-git`).
struct NbdiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nbdiff",
        abstract: "Compare two notebooks cell by cell (source, outputs, metadata).",
        discussion: "Runs wb-git, installed next to wb; `wb nbdiff --help` shows the options.")

    @Argument(parsing: .captureForPassthrough, help: "OLD NEW and options.")
    var arguments: [String] = []

    func run() throws { try GitTool.exec(["nbdiff"] + arguments) }
}

enum GitTool {
    /// `wb-git`, next to this executable.
    static var path: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let own = n > 0 ? String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        return FilePath.join(FilePath.directory(of: own), "wb-git")
    }

    /// Replaces this process by `wb-git` with the given arguments.
    static func exec(_ arguments: [String]) throws {
        let tool = path
        let argv = [tool] + arguments
        let cArgs = argv.map { strdup($0) } + [nil]
        execv(tool, cArgs)
        let reason = String(cString: strerror(errno))
        cArgs.forEach { free($0) }
        printError("wb: cannot run \(tool) (\(reason)); build it with `swift build --product wb-git` (scripts/open and scripts/test do)")
        throw ExitCode(39)
    }
}
