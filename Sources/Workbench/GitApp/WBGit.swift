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

/// Writes to standard error.
func printError(_ text: String) {
    var stream = StandardError()
    print(text, to: &stream)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        let bytes = Array(string.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
            }
            if n <= 0 { return }
            offset += n
        }
    }
}

/// Whether a file descriptor is a terminal.
func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

/// Prints a JSON value for scripts.
func printJSON(_ value: JSON) {
    print(value.serialized(.pretty))
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
