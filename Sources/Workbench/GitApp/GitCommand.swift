import ArgumentParser
import CoreSupport
import Git
import Notebook

/// `wb git ...`: git through libgit2, aware of notebooks. Wiring only; the work is in Core/Git.
struct GitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "git",
        abstract: "Version control built in (libgit2), with notebook-aware diffs and merges.",
        discussion: """
            Never runs the `git` program. Notebooks are diffed and merged per cell; a notebook merge conflict \
            leaves a valid notebook and is resolved per cell with `wb git resolve`.
            \(GitExit.help)
            """,
        subcommands: [
            GitInit.self, GitStatus.self, GitAdd.self, GitRestore.self, GitCommit.self, GitLog.self, GitShow.self, GitDiff.self,
            GitBranch.self, GitSwitch.self, GitStash.self, GitMerge.self, GitResolve.self, GitRemote.self, GitClone.self,
            GitFetch.self, GitPull.self, GitPush.self, GitConfigCommand.self,
        ])
}

/// Exit codes of `wb git` and `wb nbdiff`; the README's table lists them.
enum GitExit {
    static let differences = ExitCode(1)
    static let badNotebook = ExitCode(5)
    static let notARepository = ExitCode(30)
    static let corrupt = ExitCode(31)
    static let conflicts = ExitCode(32)
    static let localChanges = ExitCode(33)
    static let noIdentity = ExitCode(34)
    static let nothingToCommit = ExitCode(35)
    static let notFound = ExitCode(36)
    static let remoteFailed = ExitCode(37)
    static let rejected = ExitCode(38)
    static let failed = ExitCode(39)
    static let authentication = ExitCode(40)

    static let help = """
        Exit codes: 0 success; 1 differences found (diff with --exit-code); 5 a notebook cannot be read; \
        30 not a git repository (or a bare one where a working tree is needed); 31 the repository is damaged; \
        32 unresolved conflicts; 33 local changes would be overwritten; 34 no git identity configured; \
        35 nothing to commit; 36 no such revision, branch, remote or path; 37 the remote failed (unreachable, \
        protocol); 38 refused (not a fast-forward, already exists); 39 other git failure; 40 credentials missing \
        or refused; 64 bad usage.
        """

    static func code(for error: GitError) -> ExitCode {
        switch error.code {
        case .notARepository, .bareRepository: return notARepository
        case .corrupt: return corrupt
        case .unmerged: return conflicts
        case .localChanges: return localChanges
        case .noIdentity: return noIdentity
        case .nothingToCommit: return nothingToCommit
        case .notFound: return notFound
        case .network: return remoteFailed
        case .authentication: return authentication
        case .nonFastForward, .exists: return rejected
        case .invalid: return ExitCode.validationFailure
        case .locked, .failed: return failed
        }
    }
}

/// Options every `wb git` subcommand takes.
struct GitOptions: ParsableArguments {
    @Option(name: .customShort("C"), help: "Run as if started in this folder.")
    var directory: String = "."

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func open() throws(GitError) -> Repository { try Repository.open(directory) }

    /// Prints the error (as JSON too with --json) and returns the exit code to throw.
    func failure(_ error: any Error, _ command: String) -> ExitCode { Self.failure(error, command, json: json) }

    /// The same without parsed options.
    static func failure(_ error: any Error, _ command: String, json: Bool) -> ExitCode {
        guard let error = error as? GitError else {
            printError("wb git \(command): \(error)")
            return GitExit.failed
        }
        printError("wb git \(command): \(error.description)")
        if json { printJSON(["error": error.json]) }
        return GitExit.code(for: error)
    }

    /// A path given on the command line, relative to the repository's root.
    func repoPath(_ repo: Repository, _ path: String) throws(GitError) -> String {
        let base = directory.hasPrefix("/") ? directory : FilePath.join(FilePath.absolute("."), directory)
        return try repo.relativePath(path, from: base)
    }
}

struct GitInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a git repository (or reopen the one there).",
        discussion: GitExit.help)

    @Argument(help: "The folder (default: the current one).")
    var path: String = "."
    @Flag(help: "Create a bare repository (no working tree).")
    var bare = false
    @Option(name: [.short, .customLong("initial-branch")], help: "The first branch's name (default: init.defaultBranch, else master).")
    var branch: String?
    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() throws {
        do {
            let repo = try Repository.create(at: path, bare: bare, initialBranch: branch)
            if json {
                printJSON(["path": .string(repo.workingDirectory ?? repo.gitDirectory), "bare": .bool(repo.isBare)])
            } else {
                print("Initialized \(bare ? "bare " : "")git repository in \(repo.gitDirectory)")
            }
        } catch {
            printError("wb git init: \(error)")
            if json { printJSON(["error": error.json]) }
            throw GitExit.code(for: error)
        }
    }
}

struct GitStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the branch, staged, changed, untracked and conflicted files, and submodules.",
        discussion: """
            Respects .gitignore (--ignored lists ignored files too). Submodules are listed, not managed. \
            With output stripping on, a notebook whose only changes are outputs is not shown as changed.
            \(GitExit.help)
            """)

    @OptionGroup var options: GitOptions
    @Flag(help: "Also list ignored files.")
    var ignored = false
    @Flag(name: .shortAndLong, help: "One line per file, as `git status --short`.")
    var short = false
    @Argument(help: "Limit to these paths.")
    var paths: [String] = []

    func run() throws {
        if !paths.isEmpty {
            do {
                let repo = try options.open()
                var specs: [String] = []
                for path in paths { specs.append(try options.repoPath(repo, path)) }
                let status = try repo.status(includeIgnored: ignored, paths: specs)
                try Self.show(status, of: repo, json: options.json, short: short)
            } catch {
                throw options.failure(error, "status")
            }
            return
        }
        try Self.wholeTree(options.directory, json: options.json, ignored: ignored, short: short)
    }

    /// The whole working tree's status: libgit2 starts while the working tree is scanned.
    static func wholeTree(_ directory: String, json: Bool, ignored: Bool, short: Bool) throws(ExitCode) {
        do {
            let (repo, status) = try Repository.openWithStatus(directory, includeIgnored: ignored)
            try show(status, of: repo, json: json, short: short)
        } catch {
            throw GitOptions.failure(error, "status", json: json)
        }
    }

    private static func show(_ status: Status, of repo: Repository, json: Bool, short: Bool) throws(GitError) {
        let upstream = try repo.upstreamStatus()
        if json {
            printJSON(status.json(root: repo.workingDirectory, upstream: upstream, stripOutputs: repo.stripsOutputs))
            return
        }
        print(
            GitText.status(status, upstream: upstream, short: short, color: isTerminal(1) && Environment.get("NO_COLOR") == nil),
            terminator: "")
    }

    /// `git status` followed only by `--short`/`-s`, `--json`, `--ignored` and `-C DIR` (each at most
    /// once, as separate words), run without ArgumentParser: its first parse looks up protocol
    /// conformances across the whole binary, about 2.5 ms before status can start (Docs/performance.md,
    /// figure (6)). The exit code, or nil for any other command line (which ArgumentParser then parses
    /// as usual, help and errors included).
    static func runUnparsed(_ arguments: [String]) -> Int32? {
        guard arguments.count >= 2, arguments[0] == "git", arguments[1] == "status" else { return nil }
        var short = false, json = false, ignored = false
        var directory: String?
        var rest = arguments.dropFirst(2)
        while let argument = rest.popFirst() {
            switch argument {
            case "--short", "-s": if short { return nil } else { short = true }
            case "--json": if json { return nil } else { json = true }
            case "--ignored": if ignored { return nil } else { ignored = true }
            case "-C":
                guard directory == nil, let value = rest.popFirst(), !value.hasPrefix("-") else { return nil }
                directory = value
            default: return nil
            }
        }
        do {
            try wholeTree(directory ?? ".", json: json, ignored: ignored, short: short)
            return 0
        } catch {
            return error.rawValue
        }
    }
}

struct GitAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Stage files for the next commit (new, changed and deleted).",
        discussion: "`.` stages everything. Ignored files are skipped. \(GitExit.help)")

    @OptionGroup var options: GitOptions
    @Argument(help: "Files or folders to stage.")
    var paths: [String]

    func run() throws {
        do {
            let repo = try options.open()
            var specs: [String] = []
            for path in paths { specs.append(path == "." ? "." : try options.repoPath(repo, path)) }
            try repo.add(specs)
            if options.json { printJSON(["staged": .array(specs.map(JSON.string))]) }
        } catch {
            throw options.failure(error, "add")
        }
    }
}

struct GitRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Unstage files (--staged) or discard their working-tree changes.",
        discussion: """
            Without --staged, the files take the staged version back and local changes are lost; untracked \
            files are never touched. \(GitExit.help)
            """)

    @OptionGroup var options: GitOptions
    @Flag(name: [.customShort("S"), .long], help: "Unstage: the index takes HEAD's version; the files are left as they are.")
    var staged = false
    @Argument(help: "Files or folders.")
    var paths: [String]

    func run() throws {
        do {
            let repo = try options.open()
            var specs: [String] = []
            for path in paths { specs.append(path == "." ? "." : try options.repoPath(repo, path)) }
            if staged { try repo.unstage(specs) } else { try repo.discard(specs) }
            if options.json { printJSON([(staged ? "unstaged" : "restored"): .array(specs.map(JSON.string))]) }
        } catch {
            throw options.failure(error, "restore")
        }
    }
}

struct GitCommit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commit", abstract: "Record the staged changes with your git identity.",
        discussion: """
            The identity is user.name and user.email from your git configuration (GIT_AUTHOR_* and \
            GIT_COMMITTER_* override it); with none, the commit is refused (exit 34). With output stripping on \
            (`wb git config strip-outputs on`), notebooks are committed without outputs while your files keep them. \
            Finishes a merge once its conflicts are resolved. \(GitExit.help)
            """)

    @OptionGroup var options: GitOptions
    @Option(name: .shortAndLong, help: "The commit message.")
    var message: String
    @Flag(name: .shortAndLong, help: "Stage every tracked file's changes first (like `git commit -a`).")
    var all = false
    @Flag(help: "Commit even when nothing changed.")
    var allowEmpty = false

    func run() throws {
        do {
            let repo = try options.open()
            if all {
                let tracked = try repo.status().entries.filter { $0.unstaged != nil && $0.unstaged != .untracked && $0.unstaged != .ignored }
                if !tracked.isEmpty { try repo.add(tracked.map(\.path)) }
            }
            let commit = try repo.commit(message: message, allowEmpty: allowEmpty)
            if options.json {
                printJSON(commit.json)
            } else {
                let branch = (try? repo.head().branchName) ?? nil
                print("[\(branch ?? "detached HEAD") \(commit.id.short)] \(commit.summary)")
            }
        } catch {
            throw options.failure(error, "commit")
        }
    }
}

struct GitLog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Show the history, newest first.", discussion: GitExit.help)

    @OptionGroup var options: GitOptions
    @Option(name: [.customShort("n"), .customLong("max-count")], help: "Show at most this many commits.")
    var limit: Int?
    @Flag(help: "One line per commit.")
    var oneline = false
    @Argument(help: "Start from this revision (default HEAD).")
    var revision: String = "HEAD"
    @Option(help: "Only commits that change this path.")
    var path: String?

    func run() throws {
        do {
            let repo = try options.open()
            let spec = try path.map { p throws(GitError) in try options.repoPath(repo, p) }
            let commits = try repo.log(from: revision, limit: limit, path: spec)
            if options.json {
                printJSON(["commits": .array(commits.map(\.json))])
                return
            }
            print(GitText.log(commits, oneline: oneline, color: isTerminal(1) && Environment.get("NO_COLOR") == nil), terminator: "")
        } catch {
            throw options.failure(error, "log")
        }
    }
}

struct GitShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a commit and what it changed (notebooks per cell).",
        discussion: "The diff is against the commit's first parent (against nothing for the first commit). \(GitExit.help)")

    @OptionGroup var options: GitOptions
    @OptionGroup var flags: NotebookDiffFlags
    @Argument(help: "The commit (default HEAD).")
    var revision: String = "HEAD"
    @Argument(help: "Limit the diff to these paths.")
    var paths: [String] = []

    func run() throws {
        do {
            let repo = try options.open()
            var specs: [String] = []
            for path in paths { specs.append(try options.repoPath(repo, path)) }
            let (commit, files) = try repo.show(revision, paths: specs, options: flags.notebookOptions)
            if options.json {
                printJSON(["commit": commit.json, "files": .array(files.map(\.json))])
            } else {
                print(GitText.log([commit], oneline: false, color: flags.useColor), terminator: "")
                print(DiffText(color: flags.useColor).render(files), terminator: "")
            }
        } catch {
            throw options.failure(error, "show")
        }
    }
}

/// Options for notebook diffs, shared by `wb git diff` and `wb nbdiff`.
struct NotebookDiffFlags: ParsableArguments {
    @Flag(name: .customLong("ignore-outputs"), help: "Ignore outputs and execution counts.")
    var ignoreOutputs = false
    @Flag(name: .customLong("ignore-metadata"), help: "Ignore notebook and cell metadata.")
    var ignoreMetadata = false
    @Option(name: [.customShort("U"), .customLong("unified")], help: "Lines of context around changes.")
    var context = 3
    @Option(help: "Colour: auto (on terminals), always or never.")
    var color: ColorChoice = .auto
    @Flag(name: .customLong("exit-code"), help: "Exit 1 when there are differences.")
    var exitCode = false

    enum ColorChoice: String, ExpressibleByArgument, CaseIterable { case auto, always, never }

    var notebookOptions: NotebookDiffOptions {
        NotebookDiffOptions(ignoreOutputs: ignoreOutputs, ignoreMetadata: ignoreMetadata, context: context)
    }

    var useColor: Bool {
        switch color {
        case .always: return true
        case .never: return false
        case .auto: return isTerminal(1) && Environment.get("NO_COLOR") == nil
        }
    }
}

struct GitDiff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Show changes; notebooks per cell (source, outputs, metadata).",
        discussion: """
            wb git diff                  working tree against the index (unstaged changes)
            wb git diff --cached [REV]   the index against REV (default HEAD): what the next commit records
            wb git diff REV              the working tree against REV
            wb git diff REV1 REV2        two revisions
            Arguments that name existing files or folders are paths and limit the diff to them; up to two \
            others that name commits are revisions, the rest are paths. Notebook cells are matched by id, else by content. \(GitExit.help)
            """)

    @OptionGroup var options: GitOptions
    @OptionGroup var flags: NotebookDiffFlags
    @Flag(name: [.customLong("cached"), .customLong("staged")], help: "Compare the index with HEAD (or REV).")
    var cached = false
    @Flag(help: "Show untracked files too, as added (when comparing with the working tree).")
    var untracked = false
    @Argument(help: "[REV [REV]] [PATH...]")
    var arguments: [String] = []

    func run() throws {
        do {
            let repo = try options.open()
            var revisions: [String] = [], paths: [String] = []
            let base = options.directory.hasPrefix("/") ? options.directory : FilePath.join(FilePath.absolute("."), options.directory)
            for arg in arguments {
                if FileIO.exists(arg.hasPrefix("/") ? arg : FilePath.join(base, arg)) || !paths.isEmpty {
                    paths.append(try options.repoPath(repo, arg))
                } else if revisions.count < 2, (try? repo.resolveCommit(arg)) != nil {
                    revisions.append(arg)
                } else {
                    // A path that no longer exists (a deleted file) is still a pathspec.
                    paths.append(try options.repoPath(repo, arg))
                }
            }
            let from: DiffSide, to: DiffSide
            switch (cached, revisions.count) {
            case (true, 0): (from, to) = (.revision("HEAD"), .index)
            case (true, 1): (from, to) = (.revision(revisions[0]), .index)
            case (false, 0): (from, to) = (.index, .workingTree)
            case (false, 1): (from, to) = (.revision(revisions[0]), .workingTree)
            case (false, 2): (from, to) = (.revision(revisions[0]), .revision(revisions[1]))
            default: throw ValidationError("--cached takes at most one revision")
            }
            let files = try repo.diff(from: from, to: to, paths: paths, includeUntracked: untracked, options: flags.notebookOptions)
            if options.json {
                printJSON(["files": .array(files.map(\.json))])
            } else {
                print(DiffText(color: flags.useColor).render(files), terminator: "")
            }
            if flags.exitCode, !files.isEmpty { throw GitExit.differences }
        } catch let code as ExitCode {
            throw code
        } catch let error as ValidationError {
            throw error
        } catch {
            throw options.failure(error, "diff")
        }
    }
}

/// `wb nbdiff A B`: two notebook files, per cell, no repository needed.
struct NbdiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nbdiff", abstract: "Compare two notebooks cell by cell (source, outputs, metadata).",
        discussion: """
            Cells are matched by id when both notebooks have them, else by content. Reads .ipynb, percent-format \
            .py and Jupytext .md. Exit codes: 0 done (1 with --exit-code when they differ); 5 a notebook cannot \
            be read; 64 bad usage.
            """)

    @Argument(help: "The old notebook.")
    var old: String
    @Argument(help: "The new notebook.")
    var new: String
    @OptionGroup var flags: NotebookDiffFlags
    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() throws {
        let diff: NotebookDiff
        do {
            diff = try NotebookFiles.diff(old, new, options: flags.notebookOptions)
        } catch {
            printError("wb nbdiff: \(error)")
            throw GitExit.badNotebook
        }
        if json {
            printJSON(diff.json)
        } else {
            print(DiffText(color: flags.useColor).render(diff, oldName: old, newName: new), terminator: "")
        }
        if flags.exitCode, !diff.isEmpty { throw GitExit.differences }
    }
}

/// Plain-text views of statuses and logs.
enum GitText {
    static func paint(_ on: Bool, _ code: String, _ text: String) -> String { on ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    static func status(_ status: Status, upstream: UpstreamStatus? = nil, short: Bool, color: Bool) -> String {
        var out = ""
        if short {
            // In git's porcelain order: tracked changes, then untracked, then ignored files.
            let rank: (StatusEntry) -> Int = { $0.unstaged == .untracked ? 1 : $0.unstaged == .ignored ? 2 : 0 }
            for entry in status.entries.enumerated().sorted(by: { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }).map(\.element) {
                let name = entry.oldPath.map { "\($0) -> \(entry.path)" } ?? entry.path
                out += "\(entry.shortCode) \(name)\n"
            }
            return out
        }
        switch status.head {
        case .branch(let name, _): out += "On branch \(name)\n"
        case .unborn(let name): out += "On branch \(name) (no commits yet)\n"
        case .detached(let id): out += "HEAD detached at \(id.short) (not on a branch: new commits belong to no branch; `wb git switch -c NAME` keeps them)\n"
        }
        if let upstream { out += upstreamLine(upstream) + "\n" }
        if status.state != .none { out += "A \(status.state.rawValue) is in progress.\n" }
        func section(_ title: String, _ entries: [StatusEntry], _ code: String, _ describe: (StatusEntry) -> String) {
            guard !entries.isEmpty else { return }
            out += "\n\(title):\n"
            for entry in entries { out += paint(color, code, "  " + describe(entry)) + "\n" }
        }
        func label(_ change: StatusEntry.Change?, _ entry: StatusEntry) -> String {
            let name = entry.oldPath.map { "\($0) -> \(entry.path)" } ?? entry.path
            let kind = (change?.rawValue ?? "").replacingUnderscores
            return "\(kind.padded(to: 12))\(name)"
        }
        section("Unresolved conflicts (resolve, then `wb git add`)", status.conflicted, "31") { "both changed: " + $0.path }
        section("Staged (will be committed)", status.staged, "32") { label($0.staged, $0) }
        section("Changed, not staged", status.unstaged, "31") { label($0.unstaged, $0) }
        section("Untracked", status.untracked, "31") { $0.path }
        section("Ignored", status.ignored, "2") { $0.path }
        if !status.submodules.isEmpty {
            out += "\nSubmodules (listed, not managed by Workbench):\n"
            for sub in status.submodules {
                let state = sub.checkedOutCommit == nil ? "not checked out" : (sub.checkedOutCommit == sub.recordedCommit ? "at " + (sub.recordedCommit?.short ?? "?") : "moved to \(sub.checkedOutCommit!.short), recorded \(sub.recordedCommit?.short ?? "?")")
                out += "  \(sub.path) (\(state))\n"
            }
        }
        if status.entries.isEmpty { out += "\nNothing to commit, working tree clean.\n" }
        return out
    }

    /// "Your branch is ahead of 'origin/main' by 2 commits", as git says it.
    static func upstreamLine(_ upstream: UpstreamStatus) -> String {
        func commits(_ n: Int) -> String { n == 1 ? "1 commit" : "\(n) commits" }
        switch (upstream.ahead, upstream.behind) {
        case (0, 0): return "Your branch is up to date with '\(upstream.name)'."
        case (let a, 0): return "Your branch is ahead of '\(upstream.name)' by \(commits(a))."
        case (0, let b): return "Your branch is behind '\(upstream.name)' by \(commits(b))."
        case (let a, let b): return "Your branch and '\(upstream.name)' have diverged: \(commits(a)) here, \(commits(b)) there."
        }
    }

    static func log(_ commits: [CommitInfo], oneline: Bool, color: Bool) -> String {
        var out = ""
        for commit in commits {
            if oneline {
                out += paint(color, "33", commit.id.short) + " " + commit.summary + "\n"
                continue
            }
            out += paint(color, "33", "commit \(commit.id.hex)") + "\n"
            if commit.parents.count > 1 { out += "Merge: \(commit.parents.map(\.short).joined(separator: " "))\n" }
            out += "Author: \(commit.author.name) <\(commit.author.email)>\n"
            out += "Date:   \(Clock.iso8601(Double(commit.author.time)))\n\n"
            for line in LineDiff.lines(commit.message) { out += "    \(line)\n" }
            out += "\n"
        }
        return out
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
