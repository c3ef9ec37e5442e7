import CGit2
public import CoreSupport

/// A person and a time, as recorded in a commit.
public struct Signature: Sendable, Equatable {
    public var name: String
    public var email: String
    /// Seconds since 1970.
    public var time: Int64
    /// Minutes east of UTC.
    public var offsetMinutes: Int32

    init(_ signature: UnsafePointer<git_signature>) {
        name = String(cString: signature.pointee.name)
        email = String(cString: signature.pointee.email)
        time = signature.pointee.when.time
        offsetMinutes = signature.pointee.when.offset
    }

    public var json: JSON {
        ["name": .string(name), "email": .string(email), "time": .int(Int(time)), "offset_minutes": .int(Int(offsetMinutes))]
    }
}

/// A commit as `git log` shows it.
public struct CommitInfo: Sendable, Equatable {
    public var id: ObjectID
    public var parents: [ObjectID]
    public var author: Signature
    public var committer: Signature
    public var message: String

    /// The first line of the message.
    public var summary: String { String(message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") }

    init(_ commit: OpaquePointer?) {
        id = ObjectID(git_commit_id(commit))!
        parents = (0..<git_commit_parentcount(commit)).compactMap { ObjectID(git_commit_parent_id(commit, $0)) }
        author = Signature(git_commit_author(commit))
        committer = Signature(git_commit_committer(commit))
        message = git_commit_message(commit).map { String(cString: $0) } ?? ""
    }

    public var json: JSON {
        [
            "id": .string(id.hex), "parents": .array(parents.map { .string($0.hex) }), "author": author.json,
            "committer": committer.json, "summary": .string(summary), "message": .string(message),
        ]
    }
}

extension Repository {
    /// Stages paths as `git add` does: new and changed files are added, deleted ones removed,
    /// ignored files skipped (tracked ones still staged). An empty list or "." stages everything.
    /// With output stripping on, notebooks are staged without outputs.
    public func add(_ paths: [String]) throws(GitError) {
        let work = try requireWorkingDirectory("add")
        let specs = paths.filter { $0 != "." && !$0.isEmpty }
        for path in specs where !path.contains("*") {
            let full = FilePath.join(work, path)
            if !FileIO.exists(full), try !isTracked(path) {
                throw GitError(.notFound, "pathspec \(path) did not match any files", path: path)
            }
        }
        let index = try openIndex()
        defer { git_index_free(index) }
        try withStrarray(specs) { pathspec throws(GitError) in
            try check(
                git_index_add_all(index, &pathspec, GIT_INDEX_ADD_DEFAULT.rawValue, nil, nil), "cannot stage \(paths.joined(separator: " "))",
                path: work)
            try check(git_index_update_all(index, &pathspec, nil, nil), "cannot stage removals", path: work)
        }
        try stripOutputsInIndex(index)
        try check(git_index_write(index), "cannot write the index", path: gitDirectory)
    }

    /// Whether a path (or any path under a folder) is in the index.
    func isTracked(_ path: String) throws(GitError) -> Bool {
        let index = try openIndex()
        defer { git_index_free(index) }
        for i in 0..<git_index_entrycount(index) {
            guard let entry = git_index_get_byindex(index, i), let raw = entry.pointee.path else { continue }
            let entryPath = String(cString: raw)
            if entryPath == path || entryPath.hasPrefix(path + "/") { return true }
        }
        return false
    }

    /// Unstages paths (`git restore --staged`): the index takes HEAD's version back; the working tree is untouched.
    public func unstage(_ paths: [String]) throws(GitError) {
        let work = try requireWorkingDirectory("restore")
        let specs = paths.filter { $0 != "." && !$0.isEmpty }
        if case .unborn = try head() {
            let index = try openIndex()
            defer { git_index_free(index) }
            try withStrarray(specs) { pathspec throws(GitError) in
                try check(git_index_remove_all(index, &pathspec, nil, nil), "cannot unstage", path: work)
            }
            try check(git_index_write(index), "cannot write the index", path: gitDirectory)
            return
        }
        let commit = try lookupCommit("HEAD")
        defer { git_commit_free(commit) }
        try withStrarray(specs.isEmpty ? ["*"] : specs) { pathspec throws(GitError) in
            try check(git_reset_default(pointer, commit, &pathspec), "cannot unstage \(paths.joined(separator: " "))", path: work)
        }
    }

    /// Discards working-tree changes to paths (`git restore`): files take the index's version back.
    /// Untracked files are left alone.
    public func discard(_ paths: [String]) throws(GitError) {
        let work = try requireWorkingDirectory("restore")
        let specs = paths.filter { $0 != "." && !$0.isEmpty }
        var options = git_checkout_options()
        git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
        options.checkout_strategy = GIT_CHECKOUT_FORCE.rawValue | (specs.isEmpty ? 0 : GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH.rawValue)
        try withStrarray(specs) { pathspec throws(GitError) in
            options.paths = pathspec
            try check(git_checkout_index(pointer, nil, &options), "cannot restore \(paths.joined(separator: " "))", path: work)
        }
    }

    /// The identity commits are made with: `GIT_AUTHOR_*`/`GIT_COMMITTER_*` when set, else user.name and user.email.
    public func identity() throws(GitError) -> (name: String, email: String) {
        let name = try config("user.name")
        let email = try config("user.email")
        if let name, let email, !name.isEmpty, !email.isEmpty { return (name, email) }
        var missing: [String] = []
        if name?.isEmpty ?? true { missing.append("user.name") }
        if email?.isEmpty ?? true { missing.append("user.email") }
        throw GitError(
            .noIdentity,
            """
            no git identity: \(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") not set. \
            Tell git who you are in ~/.gitconfig (or this repository's .git/config):
              [user]
                name = Your Name
                email = you@example.com
            """, path: gitDirectory)
    }

    private func signature(role: String, fallback: (name: String, email: String)?) throws(GitError) -> OpaquePointer? {
        let name = Environment.nonEmpty("GIT_\(role)_NAME")
        let email = Environment.nonEmpty("GIT_\(role)_EMAIL")
        let resolvedName: String
        let resolvedEmail: String
        if let name, let email {
            resolvedName = name
            resolvedEmail = email
        } else {
            var id: (name: String, email: String)
            if let fallback { id = fallback } else { id = try identity() }
            resolvedName = name ?? id.name
            resolvedEmail = email ?? id.email
        }
        var signature: UnsafeMutablePointer<git_signature>?
        try check(git_signature_now(&signature, resolvedName, resolvedEmail), "invalid identity \(resolvedName) <\(resolvedEmail)>")
        return OpaquePointer(signature)
    }

    /// Commits the index with the user's identity; returns the new commit.
    ///
    /// Refuses with `.noIdentity` when no identity is configured, `.unmerged` while conflicts remain,
    /// `.nothingToCommit` when the index equals HEAD (unless `allowEmpty`). Concludes a merge in progress.
    @discardableResult
    public func commit(message: String, allowEmpty: Bool = false) throws(GitError) -> CommitInfo {
        _ = try requireWorkingDirectory("commit")
        let text = Repository.cleanMessage(message)
        guard !text.isEmpty else { throw GitError(.invalid, "the commit message is empty", path: gitDirectory) }
        let authorName = Environment.nonEmpty("GIT_AUTHOR_NAME"), authorEmail = Environment.nonEmpty("GIT_AUTHOR_EMAIL")
        var fallback: (name: String, email: String)?
        if authorName == nil || authorEmail == nil { fallback = try identity() }
        let author = try signature(role: "AUTHOR", fallback: fallback)
        defer { git_signature_free(UnsafeMutablePointer(author)) }
        let committer = try signature(role: "COMMITTER", fallback: fallback ?? (authorName!, authorEmail!))
        defer { git_signature_free(UnsafeMutablePointer(committer)) }

        let index = try openIndex()
        defer { git_index_free(index) }
        if git_index_has_conflicts(index) == 1 {
            let paths = try conflictedPaths()
            throw GitError(
                .unmerged,
                "cannot commit: unresolved conflicts in \(paths.joined(separator: ", ")); resolve them (`wb git resolve`), then `wb git add` them",
                path: gitDirectory)
        }
        try stripOutputsInIndex(index)
        try check(git_index_write(index), "cannot write the index", path: gitDirectory)
        var treeID = git_oid()
        try check(git_index_write_tree(&treeID, index), "cannot write the tree", path: gitDirectory)
        var tree: OpaquePointer?
        try check(git_tree_lookup(&tree, pointer, &treeID), "cannot read the new tree", path: gitDirectory)
        defer { git_tree_free(tree) }

        var parents: [OpaquePointer?] = []
        defer { parents.forEach { git_commit_free($0) } }
        if case .unborn = try head() {} else { parents.append(try lookupCommit("HEAD")) }
        let merging = state == .merge
        if merging {
            for id in try mergeHeads() {
                var oid = id.oid
                var commit: OpaquePointer?
                try check(git_commit_lookup(&commit, pointer, &oid), "cannot read MERGE_HEAD \(id.short)", path: gitDirectory)
                parents.append(commit)
            }
        }
        if !allowEmpty, !merging {
            let parentTree = parents.first.map { git_commit_tree_id($0) }
            let same = parentTree.map { ObjectID($0!.pointee) == ObjectID(treeID) } ?? (git_index_entrycount(index) == 0)
            if same {
                throw GitError(.nothingToCommit, "nothing to commit: stage changes with `wb git add` first", path: gitDirectory)
            }
        }
        var newID = git_oid()
        let rc = parents.withUnsafeMutableBufferPointer { buffer in
            buffer.withMemoryRebound(to: OpaquePointer?.self) { rebound in
                git_commit_create(
                    &newID, pointer, "HEAD", UnsafePointer(author), UnsafePointer(committer), nil, text, tree, rebound.count,
                    rebound.baseAddress)
            }
        }
        try check(rc, "cannot create the commit", path: gitDirectory)
        if merging { try check(git_repository_state_cleanup(pointer), "cannot finish the merge", path: gitDirectory) }
        var commit: OpaquePointer?
        try check(git_commit_lookup(&commit, pointer, &newID), "cannot read the new commit", path: gitDirectory)
        defer { git_commit_free(commit) }
        return CommitInfo(commit)
    }

    /// A message as git stores it: trailing spaces and blank lines trimmed, ending in one newline.
    static func cleanMessage(_ message: String) -> String {
        var lines = message.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            var line = line
            while let last = line.last, last == " " || last == "\t" || last == "\r" { line = line.dropLast() }
            return line
        }
        while let first = lines.first, first.isEmpty { lines.removeFirst() }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
    }

    /// The commits MERGE_HEAD names during a merge.
    func mergeHeads() throws(GitError) -> [ObjectID] {
        final class Box { var ids: [ObjectID] = [] }
        let box = Box()
        let rc = withExtendedLifetime(box) {
            git_repository_mergehead_foreach(pointer, { oid, payload in
                Unmanaged<Box>.fromOpaque(payload!).takeUnretainedValue().ids.append(ObjectID(oid!.pointee))
                return 0
            }, Unmanaged.passUnretained(box).toOpaque())
        }
        if rc == GIT_ENOTFOUND.rawValue { return [] }
        try check(rc, "cannot read MERGE_HEAD", path: gitDirectory)
        return box.ids
    }

    /// Paths with conflicts in the index.
    public func conflictedPaths() throws(GitError) -> [String] {
        let index = try openIndex()
        defer { git_index_free(index) }
        var paths: [String] = []
        for i in 0..<git_index_entrycount(index) {
            guard let entry = git_index_get_byindex(index, i), git_index_entry_is_conflict(entry) == 1,
                let raw = entry.pointee.path
            else { continue }
            let path = String(cString: raw)
            if paths.last != path { paths.append(path) }
        }
        return paths
    }

    /// History from a revision (default HEAD), newest first; with `path`, only commits that change it.
    public func log(from revision: String = "HEAD", limit: Int? = nil, path: String? = nil) throws(GitError) -> [CommitInfo] {
        if revision == "HEAD", case .unborn = try head() { return [] }
        let start = try resolveCommit(revision)
        var walk: OpaquePointer?
        try check(git_revwalk_new(&walk, pointer), "cannot walk the history", path: gitDirectory)
        defer { git_revwalk_free(walk) }
        git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_TIME.rawValue)
        var oid = start.oid
        try check(git_revwalk_push(walk, &oid), "cannot walk from \(revision)", path: gitDirectory)
        var result: [CommitInfo] = []
        var next = git_oid()
        while limit.map({ result.count < $0 }) ?? true {
            let rc = git_revwalk_next(&next, walk)
            if rc == GIT_ITEROVER.rawValue { break }
            try check(rc, "cannot walk the history", path: gitDirectory)
            var commit: OpaquePointer?
            try check(git_commit_lookup(&commit, pointer, &next), "cannot read commit \(ObjectID(next).short)", path: gitDirectory)
            defer { git_commit_free(commit) }
            if let path, try !commitTouches(commit, path: path) { continue }
            result.append(CommitInfo(commit))
        }
        return result
    }

    /// Whether a commit changes `path` (a file, or anything under a folder) relative to its first parent.
    private func commitTouches(_ commit: OpaquePointer?, path: String) throws(GitError) -> Bool {
        var tree: OpaquePointer?
        try check(git_commit_tree(&tree, commit), "cannot read a commit's tree", path: gitDirectory)
        defer { git_tree_free(tree) }
        var parentTree: OpaquePointer?
        if git_commit_parentcount(commit) > 0 {
            var parent: OpaquePointer?
            try check(git_commit_parent(&parent, commit, 0), "cannot read a parent commit", path: gitDirectory)
            defer { git_commit_free(parent) }
            try check(git_commit_tree(&parentTree, parent), "cannot read a commit's tree", path: gitDirectory)
        }
        defer { git_tree_free(parentTree) }
        var options = git_diff_options()
        git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
        return try withStrarray([path]) { spec throws(GitError) in
            options.pathspec = spec
            var diff: OpaquePointer?
            try check(git_diff_tree_to_tree(&diff, pointer, parentTree, tree, &options), "cannot compare trees", path: gitDirectory)
            defer { git_diff_free(diff) }
            return git_diff_num_deltas(diff) > 0
        }
    }
}
