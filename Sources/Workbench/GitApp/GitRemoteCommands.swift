import ArgumentParser
import CoreSupport
import Git

/// Prints transfer progress on standard error when it is a terminal (never in --json runs).
func transferProgress(_ json: Bool) -> ((TransferProgress) -> Void)? {
    guard !json, isTerminal(2) else { return nil }
    var last = -1
    return { p in
        let percent = p.totalObjects > 0 ? p.receivedObjects * 100 / p.totalObjects : 0
        guard percent != last else { return }
        last = percent
        var stream = StandardError()
        print("\rReceiving objects: \(percent)% (\(p.receivedObjects)/\(p.totalObjects)), \(p.receivedBytes / 1024) KiB", terminator: percent == 100 ? "\n" : "", to: &stream)
    }
}

let credentialHelp = """
    Credentials for http(s) come from WB_GIT_USERNAME and WB_GIT_PASSWORD (or WB_GIT_TOKEN), else from your \
    credential helpers (credential.helper and credential.<url>.helper: a git-credential-* program, an absolute \
    path or a !shell snippet; told `store` when they worked and `erase` when refused, as git does); ssh uses your \
    ssh-agent. Refused or missing credentials exit with 40. https servers must have a certificate from one of \
    the system's CAs, or from those in http.sslCAInfo (a PEM file) or http.sslCAPath (a folder), which \
    GIT_SSL_CAINFO and GIT_SSL_CAPATH override; http.sslVerify false (or GIT_SSL_NO_VERIFY) skips the check. \
    A certificate that does not verify exits with 40.
    """

struct GitRemote: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remote", abstract: "List, add, remove remotes or change their URL.",
        discussion: """
            wb git remote                      list remotes with their URLs
            wb git remote add NAME URL         add one
            wb git remote remove NAME          remove one and its remote-tracking branches
            wb git remote set-url NAME URL     change its URL
            \(GitExit.help)
            """)

    enum Action: String, ExpressibleByArgument, CaseIterable {
        case list, add, remove, rm, setURL = "set-url"
    }

    @OptionGroup var options: GitOptions
    @Argument(help: "list (default), add, remove or set-url.")
    var action: Action = .list
    @Argument(help: "The remote's name.")
    var name: String?
    @Argument(help: "The remote's URL (a path, file://, https:// or ssh).")
    var url: String?

    func run() throws {
        do {
            let repo = try options.open()
            switch action {
            case .list:
                let remotes = try repo.remotes()
                if options.json { printJSON(["remotes": .array(remotes.map(\.json))]) } else {
                    for r in remotes { print("\(r.name)\t\(r.url)") }
                }
                return
            case .add, .setURL:
                guard let name, let url else { throw ValidationError("\(action.rawValue) needs NAME and URL") }
                if action == .add { try repo.addRemote(name, url: url) } else { try repo.setRemoteURL(name, url: url) }
            case .remove, .rm:
                guard let name else { throw ValidationError("remove needs NAME") }
                try repo.removeRemote(name)
            }
            if options.json { printJSON(["remotes": .array(try repo.remotes().map(\.json))]) }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw options.failure(error, "remote")
        }
    }
}

struct GitClone: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clone", abstract: "Copy a repository (path, file://, https:// or ssh) into a new folder.",
        discussion: "\(credentialHelp) \(GitExit.help)")

    @Argument(help: "Where to clone from.")
    var url: String
    @Argument(help: "The new folder (default: the last part of the URL, without .git).")
    var path: String?
    @Option(name: .shortAndLong, help: "Check out this branch instead of the remote's HEAD.")
    var branch: String?
    @Flag(help: "Make a bare clone (no working tree).")
    var bare = false
    @Option(
        name: [.customShort("c"), .long],
        help: "KEY=VALUE written to the new repository's configuration before fetching (repeatable), e.g. credential.helper.")
    var config: [String] = []
    @Flag(help: "Print JSON for scripts.")
    var json = false

    func validate() throws {
        for entry in config where !entry.contains("=") || entry.hasPrefix("=") {
            throw ValidationError("--config \(entry): expected KEY=VALUE")
        }
    }

    func run() throws {
        let settings = config.map { entry in
            let eq = entry.firstIndex(of: "=")!
            return (key: String(entry[..<eq]), value: String(entry[entry.index(after: eq)...]))
        }
        var name = FilePath.lastComponent(of: url.hasSuffix("/") ? String(url.dropLast()) : url)
        if name.hasSuffix(".git"), !bare { name = String(name.dropLast(4)) }
        let target = path ?? name
        do {
            let repo = try Repository.clone(url, to: target, branch: branch, bare: bare, config: settings, progress: transferProgress(json))
            if json {
                printJSON(["path": .string(repo.workingDirectory ?? repo.gitDirectory), "head": try repo.head().json])
            } else {
                print("Cloned \(url) into \(target).")
            }
        } catch {
            printError("wb git clone: \(error)")
            if json { printJSON(["error": error.json]) }
            throw GitExit.code(for: error)
        }
    }
}

struct GitFetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch", abstract: "Download a remote's commits and update its remote-tracking branches.",
        discussion: "\(credentialHelp) \(GitExit.help)")

    @OptionGroup var options: GitOptions
    @Argument(help: "The remote (default origin).")
    var remote: String = "origin"

    func run() throws {
        do {
            let repo = try options.open()
            let result = try repo.fetch(remote, progress: transferProgress(options.json))
            if options.json { printJSON(result.json) } else {
                if result.updated.isEmpty { print("Already up to date with \(remote).") }
                for u in result.updated { print("  \(u.old?.short ?? "(new)")..\(u.new?.short ?? "(gone)")  \(u.ref)") }
            }
        } catch {
            throw options.failure(error, "fetch")
        }
    }
}

struct GitPull: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull", abstract: "Fetch, then merge the current branch's upstream.",
        discussion: """
            Merges as `wb git merge` does: notebooks cell by cell, conflicts leave valid notebooks (exit 32). \
            \(credentialHelp) \(GitExit.help)
            """)

    @OptionGroup var options: GitOptions
    @Argument(help: "The remote (default: the upstream's, else origin).")
    var remote: String?
    @Argument(help: "The remote branch (default: the upstream, else the current branch's name).")
    var branch: String?

    func run() throws {
        do {
            let repo = try options.open()
            let outcome = try repo.pull(remote, branch: branch, progress: transferProgress(options.json))
            try GitText.report(outcome, json: options.json)
        } catch let code as ExitCode {
            throw code
        } catch {
            throw options.failure(error, "pull")
        }
    }
}

struct GitPush: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Send a branch (default the current one) to a remote.",
        discussion: """
            Refused (exit 38) when the remote has commits you do not have: pull first. The branch then tracks \
            the remote one. \(credentialHelp) \(GitExit.help)
            """)

    @OptionGroup var options: GitOptions
    @Argument(help: "The remote (default origin).")
    var remote: String = "origin"
    @Argument(help: "The branch (default the current one).")
    var branch: String?
    @Flag(help: "Overwrite the remote branch even if that loses its commits.")
    var force = false

    func run() throws {
        do {
            let repo = try options.open()
            try repo.push(remote, branch: branch, force: force, progress: transferProgress(options.json))
            let name = try branch ?? repo.head().branchName ?? "HEAD"
            if options.json { printJSON(["pushed": .string(name), "remote": .string(remote)]) } else { print("Pushed \(name) to \(remote).") }
        } catch {
            throw options.failure(error, "push")
        }
    }
}

struct GitConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Workbench's per-repository git settings.",
        discussion: """
            wb git config strip-outputs on|off   commit notebooks without outputs (your files keep them)
            wb git config strip-outputs          show the setting
            Stored as workbench.stripOutputs in the repository's .git/config. \(GitExit.help)
            """)

    enum Setting: String, ExpressibleByArgument, CaseIterable { case stripOutputs = "strip-outputs" }
    enum Value: String, ExpressibleByArgument, CaseIterable { case on, off }

    @OptionGroup var options: GitOptions
    @Argument(help: "The setting.")
    var setting: Setting
    @Argument(help: "on or off (omit to show).")
    var value: Value?

    func run() throws {
        do {
            let repo = try options.open()
            if let value { try repo.setStripsOutputs(value == .on) }
            let on = repo.stripsOutputs
            if options.json { printJSON(["strip_outputs": .bool(on)]) } else { print("strip-outputs: \(on ? "on" : "off")") }
        } catch {
            throw options.failure(error, "config")
        }
    }
}
