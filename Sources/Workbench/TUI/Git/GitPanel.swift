internal import CoreSupport

/// The git panel of `wb open` (Ctrl-G): changed files, staging, commit, branches, history, diffs and
/// notebook conflicts, for the repository the active file is in.
///
/// Like the rest of the workspace it is a value: `handle(_:)` and `apply(_:)` change it and
/// `render` draws it. It never touches git itself: every operation is a `GitRequest` the workspace
/// hands to its runtime, which runs the `wb-git` executable (with `--json`, or `--color always` for
/// diffs, whose text is `DiffText`'s notebook-aware rendering) one request at a time in the
/// background and reports a `GitResult`. So `wb` never links libgit2, and no keystroke waits on git.
public struct GitPanel: Sendable, Equatable {
    /// What the panel shows.
    public enum Screen: Sendable, Equatable {
        /// Branch, upstream and changed files.
        case status
        /// Local branches; Enter switches, n makes one.
        case branches
        /// Stashed changes; Enter brings the chosen one back (pop).
        case stashes
        /// The history, with the selected commit's diff below it.
        case history
        /// One file's diff.
        case diff
        /// A conflicted file's conflicts; a notebook's per cell.
        case conflicts
    }

    /// Where a changed file is listed.
    public enum Group: String, Sendable, Equatable, CaseIterable {
        case conflicted, staged, unstaged, untracked

        /// The section's title.
        var title: String {
            switch self {
            case .conflicted: "Conflicted (Enter resolves)"
            case .staged: "Staged (will be committed)"
            case .unstaged: "Changed, not staged"
            case .untracked: "Untracked"
            }
        }
    }

    /// One changed file in one group (a file staged and changed again shows in both).
    public struct Entry: Sendable, Equatable {
        public var group: Group
        /// The path, relative to the repository's root.
        public var path: String
        /// The path before a rename.
        public var oldPath: String?
        /// `modified`, `added`, `deleted`, `renamed`, `type_changed`, `untracked`, `conflicted`.
        public var change: String

        public init(group: Group, path: String, oldPath: String? = nil, change: String) {
            self.group = group
            self.path = path
            self.oldPath = oldPath
            self.change = change
        }

        /// Whether the file is a notebook.
        public var isNotebook: Bool { path.hasSuffix(".ipynb") }
    }

    /// The current branch's upstream and the commits between them.
    public struct Upstream: Sendable, Equatable {
        public var name: String
        public var ahead: Int
        public var behind: Int
    }

    /// The repository as the last status saw it.
    public struct Summary: Sendable, Equatable {
        /// The working tree's root (absolute, ending in `/`).
        public var root: String
        /// The branch HEAD is on (nil when detached).
        public var branch: String?
        /// HEAD's commit (nil before the first commit).
        public var commit: String?
        /// Whether HEAD is detached.
        public var detached: Bool
        /// Whether the branch has no commit yet.
        public var unborn: Bool
        public var upstream: Upstream?
        /// The operation in progress (`merge` ...), or `none`.
        public var state: String
        /// Whether notebooks are committed without outputs.
        public var stripOutputs: Bool
    }

    /// A commit as the history lists it.
    public struct Commit: Sendable, Equatable {
        public var id: String
        public var summary: String
        public var author: String
        /// Seconds since 1970.
        public var time: Int
        public var parents: Int
    }

    /// A stash entry as `wb git stash list --json` gives it.
    public struct Stash: Sendable, Equatable {
        /// Its place in the list (0 is the newest, `stash@{0}`).
        public var index: Int
        public var message: String
        public var commit: String
    }

    /// A branch as the branch list shows it.
    public struct Branch: Sendable, Equatable {
        public var name: String
        public var isHead: Bool
        public var commit: String?
        public var upstream: String?
    }

    /// One side of a conflicting cell.
    public struct CellSide: Sendable, Equatable {
        public var cellType: String
        public var source: String
    }

    /// A notebook cell both sides changed differently, as `wb git resolve --list` reports it.
    public struct Conflict: Sendable, Equatable {
        /// The cell's number (1-based), as `wb git resolve --cell` takes it.
        public var cell: Int
        public var id: String?
        /// `source`, `outputs`, `metadata` ..., or `deleted`.
        public var fields: [String]
        public var ours: CellSide?
        public var theirs: CellSide?

        /// What happened, in words.
        public var what: String {
            if fields.contains("deleted") { return ours == nil ? "deleted by us, changed by them" : "changed by us, deleted by them" }
            return "both changed " + fields.joined(separator: ", ")
        }
    }

    /// A request sent and not answered yet.
    public struct Job: Sendable, Equatable {
        public var id: Int
        public var request: GitRequest
        /// When it was sent (monotonic seconds).
        public var started: Double
    }

    /// A line under the panel, or a box for what git refused.
    public struct Notice: Sendable, Equatable {
        public var text: String
        public var isError: Bool
        /// Shown in a box (wrapped, whole) until a key is pressed: `wb-git`'s refusals and errors.
        public var isBox = false

        public init(text: String, isError: Bool, isBox: Bool = false) {
            self.text = text
            self.isError = isError
            self.isBox = isBox
        }
    }

    /// The folder the panel was opened from (the active file's).
    public var directory: String
    /// The repository, once the first status came.
    public var summary: Summary?
    /// The changed files, grouped in display order.
    public var entries: [Entry] = []
    public var screen = Screen.status
    /// The chosen file among `entries`.
    public var selected = 0
    public var branches: [Branch] = []
    public var branchSelected = 0
    /// The name of the branch being made, while the box asking for it is open.
    public var newBranch: String?
    public var stashes: [Stash] = []
    public var stashSelected = 0
    public var commits: [Commit] = []
    public var commitSelected = 0
    /// The commit whose diff `diffLines` shows on the history screen.
    public var shownCommit: String?
    /// What the diff screen (or the history's lower part) shows.
    public var diffTitle = ""
    public var diffLines: [[Span]] = []
    public var diffScroll = 0
    /// Where Esc goes from the diff screen.
    public var diffReturn = Screen.status
    /// The conflicted file on the conflicts screen, and its cells.
    public var conflictPath: String?
    public var conflicts: [Conflict] = []
    public var conflictSelected = 0
    /// Whether the conflicts came (a notebook's list), so an empty list means none are left.
    public var conflictsLoaded = false
    /// The commit message being written, while the box is open.
    public var message: TextEditor?
    /// Paths waiting for a yes to have their changes discarded.
    public var confirmDiscard: [String]?
    /// A message; errors with several lines show in a box until a key is pressed.
    public var notice: Notice?
    /// Requests sent and not answered, oldest first.
    public var pending: [Job] = []
    /// Requests for the runtime, taken away after each update.
    public var requests: [Job] = []
    /// The latest time seen (monotonic seconds).
    public var now = 0.0
    /// Whether the panel asked to close.
    public var closeRequested = false
    var nextID = 1

    /// A panel for the repository around `directory`; it asks for the status at once.
    public init(directory: String, now: Double = 0, firstID: Int = 1) {
        self.directory = directory
        self.now = now
        self.nextID = firstID
        send(.status)
    }

    /// The folder requests run in: the repository's root once known.
    public var workingFolder: String { summary?.root ?? directory }

    /// Whether the first status has come.
    public var isLoaded: Bool { summary != nil }

    /// The chosen file, if any.
    public var selectedEntry: Entry? { entries.indices.contains(selected) ? entries[selected] : nil }

    /// Queues a request for the runtime.
    mutating func send(_ request: GitRequest) {
        let job = Job(id: nextID, request: request, started: now)
        nextID += 1
        requests.append(job)
        pending.append(job)
    }

    /// Asks for the status again (and the screen's own list).
    mutating func refresh() {
        send(.status)
        switch screen {
        case .branches: send(.branches)
        case .stashes: send(.stashes)
        case .history: send(.log)
        default: break
        }
    }

    /// Says something under the panel (in a box with `box`).
    mutating func say(_ text: String, error: Bool = false, box: Bool = false) {
        notice = Notice(text: text, isError: error, isBox: box)
    }
}

/// One thing the git panel asks `wb-git` to do.
public enum GitRequest: Sendable, Equatable {
    case status
    case stage([String])
    case unstage([String])
    case discard([String])
    case commit(message: String)
    case branches
    case switchBranch(String)
    /// Make a branch at HEAD (without switching to it).
    case createBranch(String)
    /// Put the local changes (staged and not) aside.
    case stash
    case stashes
    /// Bring a stash entry back and drop it.
    case stashPop(Int)
    /// Download origin's commits (its remote-tracking branches move; nothing else changes).
    case fetch
    /// Fetch and merge the upstream (notebooks per cell).
    case pull
    /// Send the current branch to origin (it then tracks it).
    case push
    case log
    /// A changed file's diff: staged (index against HEAD), unstaged (working tree against the index) or untracked (whole file).
    case diff(path: String, group: GitPanel.Group)
    /// A commit's diff against its first parent.
    case show(commit: String)
    /// A conflicted notebook's cells.
    case conflicts(path: String)
    /// Settle a conflict: one cell (1-based) or the whole file, by `ours`, `theirs` or `both`.
    case resolve(path: String, cell: Int?, choice: String)

    /// How many commits the history lists.
    public static let historyLimit = 200

    /// The arguments after `wb-git git`, run with `-C` the repository's root.
    public var arguments: [String] {
        switch self {
        case .status: ["status", "--json"]
        case .stage(let paths): ["add", "--json", "--"] + paths
        case .unstage(let paths): ["restore", "--staged", "--json", "--"] + paths
        case .discard(let paths): ["restore", "--json", "--"] + paths
        case .commit(let message): ["commit", "--json", "-m", message]
        case .branches: ["branch", "--json"]
        case .switchBranch(let name): ["switch", "--json", "--", name]
        case .createBranch(let name): ["branch", "--json", "--", name]
        case .stash: ["stash", "push", "--json"]
        case .stashes: ["stash", "list", "--json"]
        case .stashPop(let index): ["stash", "pop", "--json", String(index)]
        case .fetch: ["fetch", "--json"]
        case .pull: ["pull", "--json"]
        case .push: ["push", "--json"]
        case .log: ["log", "--json", "-n", String(Self.historyLimit)]
        case .diff(let path, let group):
            ["diff", "--color", "always"] + (group == .staged ? ["--cached"] : group == .untracked ? ["--untracked"] : []) + ["--", path]
        case .show(let commit): ["show", "--color", "always", commit]
        case .conflicts(let path): ["resolve", "--list", "--json", "--", path]
        case .resolve(let path, let cell, let choice):
            ["resolve", "--json", "--\(choice)"] + (cell.map { ["--cell", String($0)] } ?? []) + ["--", path]
        }
    }

    /// What the progress line says while it runs.
    public var title: String {
        switch self {
        case .status: "reading the status"
        case .stage(let paths): "staging " + Self.names(paths)
        case .unstage(let paths): "unstaging " + Self.names(paths)
        case .discard(let paths): "discarding changes to " + Self.names(paths)
        case .commit: "committing"
        case .branches: "listing branches"
        case .switchBranch(let name): "switching to \(name)"
        case .createBranch(let name): "creating branch \(name)"
        case .stash: "stashing the local changes"
        case .stashes: "listing the stashes"
        case .stashPop(let index): "bringing back stash@{\(index)}"
        case .fetch: "fetching"
        case .pull: "pulling"
        case .push: "pushing"
        case .log: "reading the history"
        case .diff(let path, _): "diffing \(path)"
        case .show(let commit): "reading commit \(commit.prefix(7))"
        case .conflicts(let path): "reading the conflicts in \(path)"
        case .resolve(let path, let cell, let choice): "keeping \(choice) in \(cell.map { "cell \($0) of " } ?? "")\(path)"
        }
    }

    static func names(_ paths: [String]) -> String {
        paths == ["."] ? "everything" : paths.count == 1 ? paths[0] : "\(paths.count) files"
    }

    /// Whether it may rewrite files in the working tree (open files are then read again).
    public var changesFiles: Bool {
        switch self {
        case .discard, .switchBranch, .resolve, .stash, .stashPop, .pull: true
        default: false
        }
    }
}

/// What running a `GitRequest` gave: the exit status and the output of `wb-git`.
public struct GitResult: Sendable, Equatable {
    public var id: Int
    public var request: GitRequest
    /// The exit code (a signal's number + 128 when it was killed; -1 when it could not start).
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(id: Int, request: GitRequest, status: Int32, stdout: String, stderr: String) {
        self.id = id
        self.request = request
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    /// `wb-git`'s exit code for a folder outside any work tree (or a bare repository).
    public static let notARepository: Int32 = 30
    /// `wb-git`'s exit code for a merge (or pull) that stopped with conflicts.
    public static let conflicts: Int32 = 32

    /// What went wrong, in `wb-git`'s words: the JSON error's message, else standard error.
    public var errorMessage: String {
        if let message = (try? JSON.parse(stdout))?["error"]?["message"]?.stringValue { return message }
        var text = stderr.trimmed(" \n")
        if text.hasPrefix("wb git ") || text.hasPrefix("wb: "), let colon = text.firstRange(of: ": ") {
            text = String(text[colon.upperBound...])
        }
        return text.isEmpty ? "wb-git failed (exit \(status))" : text
    }
}

extension String {
    /// The string without leading and trailing characters from `set`.
    func trimmed(_ set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
