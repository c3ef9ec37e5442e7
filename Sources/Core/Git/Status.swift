import CGit2
public import CoreSupport

/// One changed path, as `git status` reports it.
public struct StatusEntry: Sendable, Equatable {
    /// What happened to a path on one side (staged: HEAD to index; unstaged: index to working tree).
    public enum Change: String, Sendable, Equatable {
        case added, modified, deleted, renamed, typeChanged = "type_changed", untracked, ignored, conflicted, unreadable
    }

    public var path: String
    /// The path before a rename.
    public var oldPath: String?
    /// The change between HEAD and the index (what the next commit records).
    public var staged: Change?
    /// The change between the index and the working tree.
    public var unstaged: Change?

    public init(path: String, oldPath: String? = nil, staged: Change? = nil, unstaged: Change? = nil) {
        self.path = path
        self.oldPath = oldPath
        self.staged = staged
        self.unstaged = unstaged
    }

    public var isNotebook: Bool { path.hasSuffix(".ipynb") }

    /// The two-letter code of `git status --short` (`M `, ` M`, `??`, `!!`, `UU`, `R `...).
    public var shortCode: String {
        if unstaged == .conflicted { return "UU" }
        if unstaged == .untracked { return "??" }
        if unstaged == .ignored { return "!!" }
        return String(StatusEntry.letter(staged)) + String(StatusEntry.letter(unstaged))
    }

    static func letter(_ change: Change?) -> Character {
        switch change {
        case nil: return " "
        case .added?: return "A"
        case .modified?: return "M"
        case .deleted?: return "D"
        case .renamed?: return "R"
        case .typeChanged?: return "T"
        case .untracked?: return "?"
        case .ignored?: return "!"
        case .conflicted?: return "U"
        case .unreadable?: return "X"
        }
    }

    public var json: JSON {
        var object: JSONObject = ["path": .string(path), "code": .string(shortCode)]
        if let oldPath { object["old_path"] = .string(oldPath) }
        object["staged"] = staged.map { .string($0.rawValue) } ?? .null
        object["unstaged"] = unstaged.map { .string($0.rawValue) } ?? .null
        object["notebook"] = .bool(isNotebook)
        return .object(object)
    }
}

/// A submodule: listed so users see it, never updated or managed by Workbench.
public struct SubmoduleInfo: Sendable, Equatable {
    public var name: String
    public var path: String
    public var url: String?
    /// The commit the superproject records for it.
    public var recordedCommit: ObjectID?
    /// The commit checked out in its folder; nil when it is not checked out.
    public var checkedOutCommit: ObjectID?

    public var json: JSON {
        [
            "name": .string(name), "path": .string(path), "url": url.map(JSON.string) ?? .null,
            "recorded_commit": recordedCommit.map { .string($0.hex) } ?? .null,
            "checked_out_commit": checkedOutCommit.map { .string($0.hex) } ?? .null,
        ]
    }
}

/// The state of a working tree: HEAD, the operation in progress, changed paths and submodules.
public struct Status: Sendable {
    public var head: Head
    public var state: RepositoryState
    public var entries: [StatusEntry]
    public var submodules: [SubmoduleInfo]

    public var staged: [StatusEntry] { entries.filter { $0.staged != nil && $0.unstaged != .conflicted } }
    public var unstaged: [StatusEntry] {
        entries.filter { $0.unstaged != nil && $0.unstaged != .untracked && $0.unstaged != .ignored && $0.unstaged != .conflicted }
    }
    public var untracked: [StatusEntry] { entries.filter { $0.unstaged == .untracked } }
    public var ignored: [StatusEntry] { entries.filter { $0.unstaged == .ignored } }
    public var conflicted: [StatusEntry] { entries.filter { $0.unstaged == .conflicted } }

    /// Whether nothing is staged, changed or conflicted (untracked and ignored files do not count).
    public var isClean: Bool { staged.isEmpty && unstaged.isEmpty && conflicted.isEmpty }
}

extension Head {
    public var json: JSON {
        switch self {
        case .branch(let name, let commit):
            return ["branch": .string(name), "commit": .string(commit.hex), "detached": false, "unborn": false]
        case .unborn(let branch):
            return ["branch": .string(branch), "commit": .null, "detached": false, "unborn": true]
        case .detached(let commit):
            return ["branch": .null, "commit": .string(commit.hex), "detached": true, "unborn": false]
        }
    }
}

extension Repository {
    /// The working tree's status, as `git status` sees it (renames found, `.gitignore` respected).
    public func status(includeIgnored: Bool = false, paths: [String] = []) throws(GitError) -> Status {
        _ = try requireWorkingDirectory("status")
        var options = git_status_options()
        git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
        options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR
        var flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
            | GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX.rawValue | GIT_STATUS_OPT_RENAMES_INDEX_TO_WORKDIR.rawValue
            | GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue | GIT_STATUS_OPT_SORT_CASE_SENSITIVELY.rawValue
        if includeIgnored { flags |= GIT_STATUS_OPT_INCLUDE_IGNORED.rawValue | GIT_STATUS_OPT_RECURSE_IGNORED_DIRS.rawValue }
        options.flags = flags
        let entries: [StatusEntry] = try withStrarray(paths) { pathspec throws(GitError) in
            if !paths.isEmpty { options.pathspec = pathspec }
            var list: OpaquePointer?
            try check(git_status_list_new(&list, pointer, &options), "cannot read the status", path: workingDirectory)
            defer { git_status_list_free(list) }
            var result: [StatusEntry] = []
            for i in 0..<git_status_list_entrycount(list) {
                guard let entry = git_status_byindex(list, i)?.pointee else { continue }
                result.append(Repository.statusEntry(entry))
            }
            return result
        }
        // With output stripping on, a notebook that differs from the index only by outputs is unchanged.
        let strip = stripsOutputs
        let shown: [StatusEntry] = entries.compactMap { entry in
            guard strip, entry.unstaged == .modified, differsOnlyByOutputs(entry.path) else { return entry }
            var kept = entry
            kept.unstaged = nil
            return kept.staged == nil ? nil : kept
        }
        return Status(head: try head(), state: state, entries: shown, submodules: try submodules())
    }

    static func statusEntry(_ entry: git_status_entry) -> StatusEntry {
        let bits = entry.status.rawValue
        func has(_ flag: git_status_t) -> Bool { bits & flag.rawValue != 0 }
        var result = StatusEntry(path: "")
        if has(GIT_STATUS_INDEX_NEW) { result.staged = .added }
        if has(GIT_STATUS_INDEX_MODIFIED) { result.staged = .modified }
        if has(GIT_STATUS_INDEX_DELETED) { result.staged = .deleted }
        if has(GIT_STATUS_INDEX_RENAMED) { result.staged = .renamed }
        if has(GIT_STATUS_INDEX_TYPECHANGE) { result.staged = .typeChanged }
        if has(GIT_STATUS_WT_NEW) { result.unstaged = .untracked }
        if has(GIT_STATUS_WT_MODIFIED) { result.unstaged = .modified }
        if has(GIT_STATUS_WT_DELETED) { result.unstaged = .deleted }
        if has(GIT_STATUS_WT_RENAMED) { result.unstaged = .renamed }
        if has(GIT_STATUS_WT_TYPECHANGE) { result.unstaged = .typeChanged }
        if has(GIT_STATUS_WT_UNREADABLE) { result.unstaged = .unreadable }
        if has(GIT_STATUS_IGNORED) { result.unstaged = .ignored }
        if has(GIT_STATUS_CONFLICTED) {
            result.staged = nil
            result.unstaged = .conflicted
        }
        let headToIndex = entry.head_to_index?.pointee
        let indexToWork = entry.index_to_workdir?.pointee
        // The newest name of the path, and where a rename came from.
        let newest = indexToWork?.new_file.path ?? headToIndex?.new_file.path
        result.path = newest.map { String(cString: $0) } ?? ""
        if result.staged == .renamed, let old = headToIndex?.old_file.path {
            result.oldPath = String(cString: old)
        } else if result.unstaged == .renamed, let old = indexToWork?.old_file.path {
            result.oldPath = String(cString: old)
        }
        return result
    }

    /// The submodules the repository declares (listed only; Workbench never updates them).
    public func submodules() throws(GitError) -> [SubmoduleInfo] {
        final class Collector {
            var names: [String] = []
        }
        let collector = Collector()
        let rc = withExtendedLifetime(collector) {
            git_submodule_foreach(pointer, { _, name, payload in
                guard let name, let payload else { return 0 }
                Unmanaged<Collector>.fromOpaque(payload).takeUnretainedValue().names.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(collector).toOpaque())
        }
        if rc == GIT_ENOTFOUND.rawValue { return [] }
        try check(rc, "cannot list the submodules", path: workingDirectory)
        var result: [SubmoduleInfo] = []
        for name in collector.names {
            var submodule: OpaquePointer?
            guard git_submodule_lookup(&submodule, pointer, name) == 0 else { continue }
            defer { git_submodule_free(submodule) }
            result.append(
                SubmoduleInfo(
                    name: name, path: String(cString: git_submodule_path(submodule)),
                    url: git_submodule_url(submodule).map { String(cString: $0) },
                    recordedCommit: ObjectID(git_submodule_head_id(submodule)) ?? ObjectID(git_submodule_index_id(submodule)),
                    checkedOutCommit: ObjectID(git_submodule_wd_id(submodule))))
        }
        return result.sorted { $0.path < $1.path }
    }
}
