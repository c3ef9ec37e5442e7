import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif

/// `wb-git`: the git commands of `wb`, in their own executable.
///
/// `wb git ...` and `wb nbdiff ...` exec this program (it sits next to `wb`), so only those
/// commands load libgit2 and the ~15 libraries it needs; every other `wb` start stays small.
@main
struct WBGit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wb",
        abstract: "Workbench's git commands (run as `wb git ...` and `wb nbdiff ...`).",
        version: "0.1.0",
        subcommands: [GitCommand.self, NbdiffCommand.self])

    static func main() {
        // The most frequent command (and the TUI panel's) starts at once; everything else is parsed.
        if let code = GitStatus.runUnparsed(Array(CommandLine.arguments.dropFirst())) { Glibc.exit(code) }
        main(nil)
    }
}

