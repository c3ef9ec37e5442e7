import CGit2
public import CoreSupport

/// A branch, local or remote-tracking.
public struct BranchInfo: Sendable, Equatable {
    public var name: String
    public var isRemote: Bool
    public var commit: ObjectID?
    /// Whether HEAD is on it.
    public var isHead: Bool
    /// The remote-tracking branch it follows (`origin/main`).
    public var upstream: String?

    public var json: JSON {
        [
            "name": .string(name), "remote": .bool(isRemote), "commit": commit.map { .string($0.hex) } ?? .null,
            "head": .bool(isHead), "upstream": upstream.map(JSON.string) ?? .null,
        ]
    }
}

/// One stash entry.
public struct StashEntry: Sendable, Equatable {
    public var index: Int
    public var message: String
    public var commit: ObjectID

    public var json: JSON { ["index": .int(index), "message": .string(message), "commit": .string(commit.hex)] }
}

/// Collects the paths checkout refuses to overwrite.
final class CheckoutConflicts {
    var paths: [String] = []

    /// Fills the notify fields of checkout options; keep `self` alive while they are used.
    func install(_ options: inout git_checkout_options) {
        options.notify_flags = GIT_CHECKOUT_NOTIFY_CONFLICT.rawValue
        options.notify_payload = Unmanaged.passUnretained(self).toOpaque()
        options.notify_cb = { _, path, _, _, _, payload in
            if let path, let payload {
                Unmanaged<CheckoutConflicts>.fromOpaque(payload).takeUnretainedValue().paths.append(String(cString: path))
            }
            return 0
        }
    }

    func error(_ what: String, path: String) -> GitError {
        let list = paths.sorted().joined(separator: ", ")
        return GitError(
            .localChanges,
            "\(what): your local changes to \(list.isEmpty ? "some files" : list) would be overwritten. Commit them, stash them (`wb git stash`) or discard them (`wb git restore`) first; nothing was changed",
            path: path, libgit2Code: GIT_ECONFLICT.rawValue)
    }
}

extension Repository {
    /// Local branches (and remote-tracking ones with `remote`), sorted by name.
    public func branches(includeRemote: Bool = false) throws(GitError) -> [BranchInfo] {
        var iterator: OpaquePointer?
        try check(
            git_branch_iterator_new(&iterator, pointer, includeRemote ? GIT_BRANCH_ALL : GIT_BRANCH_LOCAL), "cannot list branches",
            path: gitDirectory)
        defer { git_branch_iterator_free(iterator) }
        var result: [BranchInfo] = []
        while true {
            var ref: OpaquePointer?
            var type = GIT_BRANCH_LOCAL
            let rc = git_branch_next(&ref, &type, iterator)
            if rc == GIT_ITEROVER.rawValue { break }
            try check(rc, "cannot list branches", path: gitDirectory)
            defer { git_reference_free(ref) }
            var name: UnsafePointer<CChar>?
            git_branch_name(&name, ref)
            var info = BranchInfo(
                name: name.map { String(cString: $0) } ?? "", isRemote: type == GIT_BRANCH_REMOTE,
                commit: ObjectID(git_reference_target(ref)), isHead: git_branch_is_head(ref) == 1, upstream: nil)
            if type == GIT_BRANCH_LOCAL {
                var upstream: OpaquePointer?
                if git_branch_upstream(&upstream, ref) == 0 {
                    var upstreamName: UnsafePointer<CChar>?
                    git_branch_name(&upstreamName, upstream)
                    info.upstream = upstreamName.map { String(cString: $0) }
                    git_reference_free(upstream)
                }
            }
            result.append(info)
        }
        return result.sorted { ($0.isRemote ? 1 : 0, $0.name) < ($1.isRemote ? 1 : 0, $1.name) }
    }

    /// Creates a branch at a revision (default HEAD) without switching to it.
    @discardableResult
    public func createBranch(_ name: String, at revision: String = "HEAD", force: Bool = false) throws(GitError) -> BranchInfo {
        var valid: Int32 = 0
        git_branch_name_is_valid(&valid, name)
        guard valid == 1 else { throw GitError(.invalid, "\(name) is not a valid branch name", path: gitDirectory) }
        if revision == "HEAD", case .unborn = try head() {
            throw GitError(.notFound, "cannot create \(name): there is no commit yet; commit first", path: gitDirectory)
        }
        let commit = try lookupCommit(revision)
        defer { git_commit_free(commit) }
        var ref: OpaquePointer?
        let rc = git_branch_create(&ref, pointer, name, commit, force ? 1 : 0)
        if rc == GIT_EEXISTS.rawValue {
            throw GitError(.exists, "a branch named \(name) already exists", path: gitDirectory, libgit2Code: rc)
        }
        try check(rc, "cannot create branch \(name)", path: gitDirectory)
        git_reference_free(ref)
        return BranchInfo(name: name, isRemote: false, commit: ObjectID(git_commit_id(commit)), isHead: false, upstream: nil)
    }

    /// Deletes a local branch; refuses the current branch, and one not merged into HEAD unless `force`.
    public func deleteBranch(_ name: String, force: Bool = false) throws(GitError) {
        var ref: OpaquePointer?
        let rc = git_branch_lookup(&ref, pointer, name, GIT_BRANCH_LOCAL)
        if rc == GIT_ENOTFOUND.rawValue { throw GitError(.notFound, "no branch named \(name)", path: gitDirectory, libgit2Code: rc) }
        try check(rc, "cannot find branch \(name)", path: gitDirectory)
        defer { git_reference_free(ref) }
        if git_branch_is_head(ref) == 1 {
            throw GitError(.invalid, "cannot delete \(name): it is the current branch; switch to another first", path: gitDirectory)
        }
        if !force, let target = git_reference_target(ref), let headID = try head().commit {
            var headOID = headID.oid
            let merged = git_oid_equal(target, &headOID) == 1 || git_graph_descendant_of(pointer, &headOID, target) == 1
            if !merged {
                throw GitError(
                    .exists, "\(name) has commits that are not in HEAD; deleting it would lose them (use --force to delete anyway)",
                    path: gitDirectory)
            }
        }
        try check(git_branch_delete(ref), "cannot delete branch \(name)", path: gitDirectory)
    }

    /// Switches the working tree to a branch (or, with `detach`, to any revision), as `git switch` does.
    ///
    /// Refuses with `.localChanges` (touching nothing) when local changes would be overwritten;
    /// changes to files the switch does not touch are carried along.
    public func switchTo(_ target: String, create: Bool = false, detach: Bool = false) throws(GitError) {
        let work = try requireWorkingDirectory("switch")
        if create {
            if case .unborn = try head() {
                // No commit yet: only HEAD moves.
                try check(git_repository_set_head(pointer, "refs/heads/" + target), "cannot switch to \(target)", path: work)
                return
            }
            try createBranch(target)
        }
        let branchRef = "refs/heads/" + target
        var isBranch = false
        if !detach {
            var ref: OpaquePointer?
            let rc = git_reference_lookup(&ref, pointer, branchRef)
            git_reference_free(ref)
            if rc == 0 { isBranch = true } else if rc != GIT_ENOTFOUND.rawValue {
                try check(rc, "cannot read branch \(target)", path: work)
            } else {
                throw GitError(
                    .notFound, "no branch named \(target) (use -c to create it, or --detach to look at a revision)", path: work,
                    libgit2Code: rc)
            }
        }
        let commit = try lookupCommit(isBranch ? branchRef : target)
        defer { git_commit_free(commit) }
        try checkoutSafely(commit, what: "cannot switch to \(target)")
        if isBranch {
            try check(git_repository_set_head(pointer, branchRef), "cannot switch to \(target)", path: work)
        } else {
            try check(git_repository_set_head_detached(pointer, git_commit_id(commit)), "cannot detach HEAD at \(target)", path: work)
        }
    }

    /// Checks out a commit's tree without overwriting local changes (`.localChanges` names the files).
    func checkoutSafely(_ commit: OpaquePointer?, what: String) throws(GitError) {
        var tree: OpaquePointer?
        try check(git_commit_tree(&tree, commit), what, path: gitDirectory)
        defer { git_tree_free(tree) }
        var options = git_checkout_options()
        git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
        options.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue
        let conflicts = CheckoutConflicts()
        conflicts.install(&options)
        let rc = withExtendedLifetime(conflicts) { git_checkout_tree(pointer, tree, &options) }
        if rc == GIT_ECONFLICT.rawValue || !conflicts.paths.isEmpty && rc < 0 {
            throw conflicts.error(what, path: workingDirectory ?? gitDirectory)
        }
        try check(rc, what, path: gitDirectory)
    }

    // MARK: - Stash

    /// Saves local changes to the stash and cleans the working tree; returns the stash commit.
    @discardableResult
    public func stash(message: String? = nil, includeUntracked: Bool = false) throws(GitError) -> ObjectID {
        _ = try requireWorkingDirectory("stash")
        let id = try identity()
        var signature: UnsafeMutablePointer<git_signature>?
        try check(git_signature_now(&signature, id.name, id.email), "invalid identity")
        defer { git_signature_free(signature) }
        var oid = git_oid()
        let flags = includeUntracked ? GIT_STASH_INCLUDE_UNTRACKED.rawValue : GIT_STASH_DEFAULT.rawValue
        let rc = git_stash_save(&oid, pointer, signature, message, flags)
        if rc == GIT_ENOTFOUND.rawValue {
            throw GitError(.nothingToCommit, "no local changes to stash", path: workingDirectory, libgit2Code: rc)
        }
        try check(rc, "cannot stash", path: workingDirectory)
        return ObjectID(oid)
    }

    /// The stash, newest first.
    public func stashes() throws(GitError) -> [StashEntry] {
        final class Box { var entries: [StashEntry] = [] }
        let box = Box()
        let rc = withExtendedLifetime(box) {
            git_stash_foreach(pointer, { index, message, oid, payload in
                Unmanaged<Box>.fromOpaque(payload!).takeUnretainedValue().entries.append(
                    StashEntry(index: index, message: message.map { String(cString: $0) } ?? "", commit: ObjectID(oid!.pointee)))
                return 0
            }, Unmanaged.passUnretained(box).toOpaque())
        }
        if rc == GIT_ENOTFOUND.rawValue { return [] }
        try check(rc, "cannot read the stash", path: gitDirectory)
        return box.entries
    }

    /// Applies a stash entry (default the newest) and, with `drop`, removes it (`git stash pop`).
    public func applyStash(index: Int = 0, drop: Bool = true) throws(GitError) {
        let work = try requireWorkingDirectory("stash")
        var options = git_stash_apply_options()
        git_stash_apply_options_init(&options, UInt32(GIT_STASH_APPLY_OPTIONS_VERSION))
        options.checkout_options.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue
        let conflicts = CheckoutConflicts()
        conflicts.install(&options.checkout_options)
        let rc = withExtendedLifetime(conflicts) {
            drop ? git_stash_pop(pointer, index, &options) : git_stash_apply(pointer, index, &options)
        }
        if rc == GIT_ENOTFOUND.rawValue { throw GitError(.notFound, "no stash entry \(index)", path: work, libgit2Code: rc) }
        if rc == GIT_ECONFLICT.rawValue || rc == GIT_EMERGECONFLICT.rawValue {
            throw conflicts.error("cannot apply stash@{\(index)}", path: work)
        }
        try check(rc, "cannot apply stash@{\(index)}", path: work)
    }

    /// Removes a stash entry without applying it.
    public func dropStash(index: Int = 0) throws(GitError) {
        let rc = git_stash_drop(pointer, index)
        if rc == GIT_ENOTFOUND.rawValue { throw GitError(.notFound, "no stash entry \(index)", path: gitDirectory, libgit2Code: rc) }
        try check(rc, "cannot drop stash@{\(index)}", path: gitDirectory)
    }
}

/// How the current branch stands against the branch it follows.
public struct UpstreamStatus: Sendable, Equatable {
    /// The remote-tracking branch (`origin/main`).
    public var name: String
    /// Commits on the branch that the upstream lacks.
    public var ahead: Int
    /// Commits on the upstream that the branch lacks.
    public var behind: Int

    public init(name: String, ahead: Int, behind: Int) {
        self.name = name
        self.ahead = ahead
        self.behind = behind
    }

    public var json: JSON { ["name": .string(name), "ahead": .int(ahead), "behind": .int(behind)] }
}

extension Repository {
    /// The current branch's upstream and how far apart they are; nil on a detached or unborn HEAD,
    /// or when the branch follows nothing (or its upstream is not fetched).
    public func upstreamStatus() throws(GitError) -> UpstreamStatus? {
        guard case .branch(let name, let commit) = try head() else { return nil }
        var ref: OpaquePointer?
        guard git_branch_lookup(&ref, pointer, name, GIT_BRANCH_LOCAL) == 0 else { return nil }
        defer { git_reference_free(ref) }
        var upstream: OpaquePointer?
        guard git_branch_upstream(&upstream, ref) == 0 else { return nil }
        defer { git_reference_free(upstream) }
        var upstreamName: UnsafePointer<CChar>?
        git_branch_name(&upstreamName, upstream)
        guard let target = git_reference_target(upstream) else { return nil }
        var local = commit.oid
        var ahead = 0, behind = 0
        try check(git_graph_ahead_behind(&ahead, &behind, pointer, &local, target), "cannot compare \(name) with its upstream", path: gitDirectory)
        return UpstreamStatus(name: upstreamName.map { String(cString: $0) } ?? "", ahead: ahead, behind: behind)
    }
}
