import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif

@main
struct WB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wb",
        abstract: "Workbench: a terminal data-science studio.",
        discussion: """
            Notebooks run in out-of-process Jupyter kernels. `wb` alone (or `wb open FILE`) opens the \
            full-screen notebook; `wb run` executes one headless, `wb kernels list` shows the installed kernels, \
            `wb doctor` checks the set-up.
            """,
        version: WorkbenchVersion.string,
        subcommands: [
            OpenCommand.self, ViewCommand.self, RunCommand.self, KernelsCommand.self, ConvertCommand.self, DoctorCommand.self,
            SQLCommand.self, CatalogCommand.self, PolicyCommand.self, AuditCommand.self, GrantCommand.self, RevokeCommand.self, RoleCommand.self, TagCommand.self,
            FilterCommand.self, MaskCommand.self, BenchCommand.self, GitCommand.self,
            NbdiffCommand.self,
            ImportCommand.self, ExportCommand.self, KernelCommand.self, SessionsCommand.self, LifecycleCommand.self,
        ],
        defaultSubcommand: OpenCommand.self
    )

    /// Accepts `--home PATH` before the command too (`wb --home /data/wb sql ...`).
    static func main() async {
        let arguments = GlobalOptions.extractHome(CommandLine.arguments)
        // `wb git ...` and `wb nbdiff ...` exec wb-git at once, before any command parsing (status is timed).
        if let first = arguments.first, first == "git" || first == "nbdiff" {
            do { try GitTool.exec(arguments) } catch { Glibc.exit(39) }
        }
        await main(arguments)
    }
}

enum WorkbenchVersion {
    static let string = "0.1.0"
}

/// Exit codes shared by the commands; documented in each command's help.
enum Exit {
    static let cellError = ExitCode(1)
    static let kernelDied = ExitCode(3)
    static let cellTimeout = ExitCode(4)
    static let badNotebook = ExitCode(5)
    static let kernelUnavailable = ExitCode(6)
    static let writeFailed = ExitCode(7)
    static let problemsFound = ExitCode(8)
    static let cancelled = ExitCode(130)
    static let noInput = ExitCode(66)
    static let invalidPolicy = ExitCode(20)
    static let denied = ExitCode(21)
    static let auditBroken = ExitCode(22)
    static let domainUnavailable = ExitCode(23)

    static let governanceHelp = """
        Exit codes: 0 success (allowed); 20 the policy file is invalid; 21 not permitted (denied); 22 the audit log is broken; 23 the domain cannot be opened; 64 bad usage; 66 a file cannot be read.
        """

    static let help = """
        Exit codes: 0 success; 1 a cell raised an error; 3 the kernel died; 4 a cell timed out; \
        5 the input notebook cannot be read; 6 the kernel cannot be found or started; \
        7 the output cannot be written; 64 bad usage; 130 interrupted.
        """
}


/// The width of the terminal on a file descriptor, or nil when it is not a terminal.
func terminalColumns(_ fd: Int32) -> Int? {
    var size = winsize()
    guard isatty(fd) == 1, ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
    return Int(size.ws_col)
}

