import ArgumentParser
import CoreSupport
import Storage

/// `--home`: which domain folder a command works on.
struct DomainOptions: ParsableArguments {
    @Option(
        name: .long, help: ArgumentHelp("The domain folder (default: $WB_HOME, else $XDG_DATA_HOME/wb).", valueName: "path"))
    var home: String?

    /// Opens (creating if needed) the domain; a failure is printed and exits with `Exit.domainUnavailable`.
    func open(command: String) throws -> Domain {
        do {
            return try Domain.open(at: home)
        } catch {
            printError("wb \(command): \(error)")
            throw Exit.domainUnavailable
        }
    }
}
