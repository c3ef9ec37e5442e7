import CGit2
public import CoreSupport
#if canImport(Glibc)
import Glibc
#endif

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
    public init(head: Head, state: RepositoryState, entries: [StatusEntry], submodules: [SubmoduleInfo] = []) {
        self.head = head
        self.state = state
        self.entries = entries
        self.submodules = submodules
    }

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

    /// The status as `wb git status --json` prints it (and the TUI's git panel reads it), with the
    /// working tree's root, the upstream and whether output stripping is on.
    public func json(root: String?, upstream: UpstreamStatus?, stripOutputs: Bool) -> JSON {
        [
            "root": root.map(JSON.string) ?? .null, "head": head.json, "upstream": upstream?.json ?? .null,
            "state": .string(state.rawValue), "strip_outputs": .bool(stripOutputs), "clean": .bool(isClean),
            "files": .array(entries.map(\.json)), "submodules": .array(submodules.map(\.json)),
        ]
    }
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
    ///
    /// Renames are found between HEAD and the index, as `git status` does; `workingTreeRenames` also
    /// pairs deleted and untracked working-tree files (slower: it reads both). On a large working
    /// tree a parallel pass (`WorkingTreeScan`, up to `threads` threads, default one per CPU) first
    /// finds the paths that may have changed, and libgit2 then looks only at those; the result is
    /// the same as one full libgit2 status. `scan` forces the pass on (true) or off (false); by default
    /// it runs when the index has at least `scanMinimumEntries` entries.
    public func status(
        includeIgnored: Bool = false, paths: [String] = [], workingTreeRenames: Bool = false, scan: Bool? = nil,
        threads: Int? = nil
    ) throws(GitError) -> Status {
        let work = try requireWorkingDirectory("status")
        var common = GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue | GIT_STATUS_OPT_SORT_CASE_SENSITIVELY.rawValue
        var untracked = GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
        if includeIgnored { untracked |= GIT_STATUS_OPT_INCLUDE_IGNORED.rawValue | GIT_STATUS_OPT_RECURSE_IGNORED_DIRS.rawValue }
        if workingTreeRenames { common |= GIT_STATUS_OPT_RENAMES_INDEX_TO_WORKDIR.rawValue }
        let renames = GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX.rawValue

        let raw: [RawStatus]
        var hasSubmodules = true
        if paths.isEmpty, !workingTreeRenames, scan != false, let index = try scannableIndex(force: scan == true) {
            defer { git_index_free(index) }
            let threadCount = threads ?? Repository.processors
            // HEAD to index in full (while the scan runs), the working tree only where the scan found something.
            let headToIndex = StatusJob(show: GIT_STATUS_SHOW_INDEX_ONLY, flags: common | renames, literalPaths: [])
            var staged: Result<[RawStatus], GitError> = .success([])
            let found = WorkingTreeScan.run(index: index, workingDirectory: work, threads: threadCount) { summary in
                // Nothing staged when the index's cache-tree is HEAD's tree: no need to compare entry by entry.
                if !summary.hasSpecialEntries, git_index_has_conflicts(index) == 0, let tree = headTreeID(),
                    let path = git_index_path(index), CacheTree.rootTree(indexPath: String(cString: path)) == tree
                {
                    return
                }
                staged = Result { () throws(GitError) in try Repository.collectStatus(pointer, headToIndex, where: work) }
            }
            hasSubmodules = found.index.hasSubmodules || FileIO.exists(work + ".gitmodules")
            var lists = [try staged.get()]
            if var paths = found.paths {
                let settled = settle(found.findings, includeIgnored: includeIgnored)
                lists.append(settled.entries)
                paths = RawStatus.mergedPaths(paths, settled.unsettled)
                if !paths.isEmpty {
                    let job = StatusJob(
                        show: GIT_STATUS_SHOW_WORKDIR_ONLY,
                        flags: common | untracked | GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH.rawValue, literalPaths: paths)
                    lists.append(try Repository.collectStatus(pointer, job, where: work))
                }
            } else {
                // The scan could not read the working tree: libgit2 looks at all of it (and says what is wrong).
                let job = StatusJob(show: GIT_STATUS_SHOW_WORKDIR_ONLY, flags: common | untracked, literalPaths: [])
                lists.append(try Repository.collectStatus(pointer, job, where: work))
            }
            raw = RawStatus.merged(lists)
        } else {
            raw = try Repository.collectStatus(
                pointer, StatusJob(show: GIT_STATUS_SHOW_INDEX_AND_WORKDIR, flags: common | untracked | renames, literalPaths: []),
                pathspec: paths, where: work)
        }
        return try finishStatus(raw, hasSubmodules: hasSubmodules)
    }

    /// The status from libgit2's (and the scan's) entries: output stripping applied, HEAD, state and submodules added.
    fileprivate func finishStatus(_ raw: [RawStatus], hasSubmodules: Bool) throws(GitError) -> Status {
        let entries = raw.map(\.entry)
        // With output stripping on, a notebook that differs from the index only by outputs is unchanged.
        // Only notebooks status already found modified (by the index's stat data, then contents) are read.
        let strip = stripsOutputs
        let shown: [StatusEntry] = entries.compactMap { entry in
            guard strip, entry.unstaged == .modified, differsOnlyByOutputs(entry.path) else { return entry }
            var kept = entry
            kept.unstaged = nil
            return kept.staged == nil ? nil : kept
        }
        return Status(head: try head(), state: state, entries: shown, submodules: hasSubmodules ? try submodules() : [])
    }

    /// Opens the repository containing `path` and reads its status, as `open(path).status(includeIgnored:)`
    /// gives it, sooner on a large working tree: this thread reads `.git/index` itself and scans the
    /// working tree (`WorkingTreeScan`) while another starts libgit2, opens the repository and compares
    /// HEAD with the index. Whatever is unusual — a `.git` file, a small or unreadable index, another
    /// working tree in the configuration, a case-insensitive repository, an index that changed meanwhile
    /// — takes the usual way, so the result is always the same. `scan` forces this way on (true, even for a
    /// small index) or off (false), as for `status`.
    public static func openWithStatus(
        _ path: String = ".", includeIgnored: Bool = false, scan: Bool? = nil, threads: Int? = nil
    ) throws(GitError) -> (Repository, Status) {
        guard scan != false, let early = EarlyIndex.find(from: path, minimumEntries: scan == true ? 0 : scanMinimumEntries) else {
            let repository = try open(path)
            return (repository, try repository.status(includeIgnored: includeIgnored, scan: scan, threads: threads))
        }
        final class Opening: @unchecked Sendable {
            var repository: Result<Repository, GitError> = .failure(GitError(.failed, "libgit2 did not start"))
            var staged: Result<[RawStatus], GitError> = .success([])
            var usable = false
        }
        let opening = Opening()
        let startLibgit2 = {
            LibGit2.ensure()
            opening.repository = Result { () throws(GitError) in try Repository.open(path) }
            guard case .success(let repository) = opening.repository, repository.workingDirectory == early.workingDirectory,
                repository.gitDirectory == early.gitDirectory, (try? repository.configBool("core.ignorecase")) != true,
                early.index.checksumMatches()
            else { return }
            // Nothing staged when the index's cache-tree is HEAD's tree: no need to compare entry by entry.
            if early.hasSpecialEntries || early.index.cacheTreeRoot == nil || early.index.cacheTreeRoot != repository.headTreeID() {
                let job = StatusJob(
                    show: GIT_STATUS_SHOW_INDEX_ONLY,
                    flags: GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue | GIT_STATUS_OPT_SORT_CASE_SENSITIVELY.rawValue
                        | GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX.rawValue, literalPaths: [])
                opening.staged = Result { () throws(GitError) in try Repository.collectStatus(repository.pointer, job, where: early.workingDirectory) }
                guard repository.indexChecksum() == early.index.checksum else { return }
            }
            opening.usable = true
        }
        let libgit2 = ParallelThreads.start(count: 1, startLibgit2)
        let found = WorkingTreeScan.run(
            entries: early.index.entries, indexTime: early.index.modificationTime, workingDirectory: early.workingDirectory,
            threads: threads ?? processors, whileScanning: { _ in })
        libgit2.join()
        // No thread could be started: this one does it.
        if libgit2.isEmpty { startLibgit2() }
        let repository = try opening.repository.get()
        guard opening.usable, let paths = found.paths else {
            return (repository, try repository.status(includeIgnored: includeIgnored, scan: scan, threads: threads))
        }
        let settled = repository.settle(found.findings, includeIgnored: includeIgnored)
        var lists = [try opening.staged.get(), settled.entries]
        let suspects = RawStatus.mergedPaths(paths, settled.unsettled)
        if !suspects.isEmpty {
            var flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue | GIT_STATUS_OPT_SORT_CASE_SENSITIVELY.rawValue
                | GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue
                | GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH.rawValue
            if includeIgnored { flags |= GIT_STATUS_OPT_INCLUDE_IGNORED.rawValue | GIT_STATUS_OPT_RECURSE_IGNORED_DIRS.rawValue }
            let job = StatusJob(show: GIT_STATUS_SHOW_WORKDIR_ONLY, flags: flags, literalPaths: suspects)
            lists.append(try collectStatus(repository.pointer, job, where: early.workingDirectory))
            // libgit2 read the index again: it must be the one scanned.
            guard repository.indexChecksum() == early.index.checksum else {
                return (repository, try repository.status(includeIgnored: includeIgnored, scan: scan, threads: threads))
            }
        }
        let hasSubmodules = found.index.hasSubmodules || FileIO.exists(early.workingDirectory + ".gitmodules")
        return (repository, try repository.finishStatus(RawStatus.merged(lists), hasSubmodules: hasSubmodules))
    }

    /// The checksum of the index libgit2 holds (lowercase hex), nil when it cannot be read.
    fileprivate func indexChecksum() -> String? {
        var index: OpaquePointer?
        guard git_repository_index(&index, pointer) == 0 else { return nil }
        defer { git_index_free(index) }
        return ObjectID(git_index_checksum(index))?.hex
    }

    /// Turns what the scan settled into status entries; unknown files go through the ignore rules
    /// (as libgit2's status applies them: the file's own rules first, then its folders'). What cannot be
    /// settled here is returned for libgit2's status to look at.
    func settle(_ findings: [WorkingTreeScan.Finding], includeIgnored: Bool) -> (entries: [RawStatus], unsettled: [String]) {
        var entries: [RawStatus] = []
        var unsettled: [String] = []
        entries.reserveCapacity(findings.count)
        for finding in findings {
            switch finding {
            case .modified(let path): entries.append(RawStatus(bits: GIT_STATUS_WT_MODIFIED.rawValue, workingTreePath: path))
            case .deleted(let path): entries.append(RawStatus(bits: GIT_STATUS_WT_DELETED.rawValue, workingTreePath: path))
            case .unknownFile(let path):
                var ignored: Int32 = 0
                guard git_ignore_path_is_ignored(&ignored, pointer, path) == 0 else {
                    unsettled.append(path)
                    continue
                }
                if ignored == 0 {
                    entries.append(RawStatus(bits: GIT_STATUS_WT_NEW.rawValue, workingTreePath: path))
                } else if includeIgnored {
                    entries.append(RawStatus(bits: GIT_STATUS_IGNORED.rawValue, workingTreePath: path))
                }
            }
        }
        return (entries, unsettled)
    }

    /// HEAD's tree id (hex), nil when HEAD is unborn or unreadable.
    fileprivate func headTreeID() -> String? {
        var oid = git_oid()
        guard git_reference_name_to_id(&oid, pointer, "HEAD") == 0 else { return nil }
        var commit: OpaquePointer?
        guard git_commit_lookup(&commit, pointer, &oid) == 0 else { return nil }
        defer { git_commit_free(commit) }
        return ObjectID(git_commit_tree_id(commit))?.hex
    }

    /// Index entries below which one libgit2 status is as fast as the scan.
    static let scanMinimumEntries = 2000

    /// The CPUs this process may use.
    static var processors: Int { max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 16)) }

    /// The index, when the working-tree scan applies (a large index, or `force`, on a case-sensitive
    /// file system); the caller frees it.
    private func scannableIndex(force: Bool) throws(GitError) -> OpaquePointer? {
        let index = try openIndex()
        let small = !force && git_index_entrycount(index) < Repository.scanMinimumEntries
        let ignoresCase = (git_index_caps(index) & Int32(GIT_INDEX_CAPABILITY_IGNORE_CASE.rawValue)) != 0
        if small || ignoresCase {
            git_index_free(index)
            return nil
        }
        return index
    }

    /// One `git_status_list_new` call: what to compare, with which flags, limited to which literal paths.
    struct StatusJob {
        var show: git_status_show_t
        var flags: UInt32
        var literalPaths: [String]
    }

    /// Runs one status job on a libgit2 repository handle and copies its entries out.
    static func collectStatus(
        _ repository: OpaquePointer, _ job: StatusJob, pathspec: [String] = [], where path: String
    ) throws(GitError) -> [RawStatus] {
        var options = git_status_options()
        git_status_options_init(&options, UInt32(GIT_STATUS_OPTIONS_VERSION))
        options.show = job.show
        options.flags = job.flags
        let specs = job.literalPaths.isEmpty ? pathspec : job.literalPaths
        return try withStrarray(specs) { array throws(GitError) in
            if !specs.isEmpty { options.pathspec = array }
            var list: OpaquePointer?
            try check(git_status_list_new(&list, repository, &options), "cannot read the status", path: path)
            defer { git_status_list_free(list) }
            var result: [RawStatus] = []
            let count = git_status_list_entrycount(list)
            result.reserveCapacity(count)
            for i in 0..<count {
                guard let entry = git_status_byindex(list, i)?.pointee else { continue }
                result.append(RawStatus(entry))
            }
            return result
        }
    }
}

/// One status entry as libgit2 reported it, copied out of the list.
struct RawStatus {
    var bits: UInt32
    /// HEAD to index: (old path, new path).
    var headToIndex: (old: String, new: String)?
    /// Index to working tree: (old path, new path).
    var indexToWork: (old: String, new: String)?

    init(_ entry: git_status_entry) {
        bits = entry.status.rawValue
        func paths(_ delta: UnsafeMutablePointer<git_diff_delta>?) -> (old: String, new: String)? {
            guard let delta = delta?.pointee else { return nil }
            let new = delta.new_file.path.map { String(cString: $0) }
            let old = delta.old_file.path.map { String(cString: $0) }
            guard let any = new ?? old else { return nil }
            return (old ?? any, new ?? any)
        }
        headToIndex = paths(entry.head_to_index)
        indexToWork = paths(entry.index_to_workdir)
    }

    /// The index path this entry is about: where HEAD-to-index and index-to-working-tree entries meet.
    var indexPath: String { headToIndex?.new ?? indexToWork?.old ?? "" }

    /// An index-to-working-tree entry the scan settled (the path on both sides, as libgit2 reports it).
    init(bits: UInt32, workingTreePath path: String) {
        self.bits = bits
        headToIndex = nil
        indexToWork = (path, path)
    }

    /// Two sorted, duplicate-free path lists as one.
    static func mergedPaths(_ a: [String], _ b: [String]) -> [String] {
        guard !b.isEmpty else { return a }
        return Set(a).union(b).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Joins HEAD-to-index and working-tree entries of the same index path, as one status list pairs them, sorted by path.
    static func merged(_ lists: [[RawStatus]]) -> [RawStatus] {
        var byPath: [String: RawStatus] = [:]
        for list in lists {
            for entry in list {
                let key = entry.indexPath
                if var existing = byPath[key] {
                    existing.bits |= entry.bits
                    existing.headToIndex = existing.headToIndex ?? entry.headToIndex
                    existing.indexToWork = existing.indexToWork ?? entry.indexToWork
                    byPath[key] = existing
                } else {
                    byPath[key] = entry
                }
            }
        }
        return byPath.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { byPath[$0]! }
    }

    /// The entry in Workbench's terms.
    var entry: StatusEntry {
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
        // The newest name of the path, and where a rename came from.
        result.path = indexToWork?.new ?? headToIndex?.new ?? ""
        if result.staged == .renamed, let old = headToIndex?.old {
            result.oldPath = old
        } else if result.unstaged == .renamed, let old = indexToWork?.old {
            result.oldPath = old
        }
        return result
    }
}

extension Repository {
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

/// A working tree found without libgit2, and its index read by `IndexFile`, for `Repository.openWithStatus`.
struct EarlyIndex {
    /// The working tree and the `.git` folder, ending in `/` as libgit2 gives them.
    var workingDirectory: String
    var gitDirectory: String
    var index: IndexFile
    /// Conflicted, intent-to-add, skip-worktree or assume-unchanged entries.
    var hasSpecialEntries: Bool

    /// The nearest `.git` folder at or above `path` and its index, when the scan is worth it (a large
    /// index, version 2 or 3); nil otherwise, or when `.git` is a file (a linked working tree, a
    /// submodule), which libgit2 resolves.
    static func find(from path: String, minimumEntries: Int) -> EarlyIndex? {
        guard FileIO.exists(path) else { return nil }
        // libgit2 resolves symlinks in the path it is given; so does this.
        guard let resolved = realpath(path, nil) else { return nil }
        var folder = String(cString: resolved)
        free(resolved)
        while true {
            let dotGit = (folder == "/" ? "" : folder) + "/.git"
            var info = stat()
            if lstat(dotGit, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR, let index = IndexFile.read(dotGit + "/index"),
                    index.entries.count >= minimumEntries
                else { return nil }
                let special = index.entries.contains { entry in
                    entry.flags & 0xB000 != 0 || entry.flags_extended & UInt16(GIT_INDEX_ENTRY_EXTENDED_FLAGS.rawValue) != 0
                }
                return EarlyIndex(
                    workingDirectory: (folder == "/" ? "" : folder) + "/", gitDirectory: dotGit + "/", index: index,
                    hasSpecialEntries: special)
            }
            if folder == "/" { return nil }
            folder = FilePath.directory(of: folder)
            if folder.isEmpty { folder = "/" }
        }
    }
}
