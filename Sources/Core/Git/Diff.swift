import CGit2
public import CoreSupport
public import Notebook

/// One side of a comparison.
public enum DiffSide: Sendable, Equatable {
    case workingTree
    case index
    case revision(String)
    /// No files at all: the side before a root commit.
    case empty
}

/// How one file changed, with a unified diff or, for notebooks, a per-cell diff.
public struct FileDiff: Sendable, Equatable {
    public enum Change: String, Sendable { case added, deleted, modified, renamed, copied, typeChanged = "type_changed" }

    public var path: String
    public var oldPath: String?
    public var change: Change
    public var isBinary: Bool
    /// A unified diff for plain files (and for notebooks that cannot be parsed).
    public var patch: String?
    /// The per-cell diff of a notebook.
    public var notebook: NotebookDiff?
    /// Why a notebook could not be diffed cell by cell (it then gets a plain patch).
    public var notebookProblem: String?

    public init(
        path: String, oldPath: String? = nil, change: Change, isBinary: Bool = false, patch: String? = nil, notebook: NotebookDiff? = nil,
        notebookProblem: String? = nil
    ) {
        self.path = path
        self.oldPath = oldPath
        self.change = change
        self.isBinary = isBinary
        self.patch = patch
        self.notebook = notebook
        self.notebookProblem = notebookProblem
    }

    public var isNotebook: Bool { path.hasSuffix(".ipynb") }

    public var json: JSON {
        var object: JSONObject = ["path": .string(path), "change": .string(change.rawValue), "binary": .bool(isBinary)]
        if let oldPath { object["old_path"] = .string(oldPath) }
        if let notebook { object["notebook"] = notebook.json }
        if let patch { object["patch"] = .string(patch) }
        if let notebookProblem { object["notebook_problem"] = .string(notebookProblem) }
        return .object(object)
    }
}

extension Repository {
    /// Compares two sides, as `git diff` does: index→working tree by default, HEAD→index with
    /// `from: .revision("HEAD"), to: .index`, a revision→working tree, or two revisions.
    /// Notebooks get a per-cell diff; other files a unified diff. With `includeUntracked` (to the
    /// working tree only), untracked files show as added, their whole content as the change.
    public func diff(
        from: DiffSide = .index, to: DiffSide = .workingTree, paths: [String] = [], includeUntracked: Bool = false,
        options notebookOptions: NotebookDiffOptions = NotebookDiffOptions()
    ) throws(GitError) -> [FileDiff] {
        if to == .workingTree || from == .workingTree || to == .index || from == .index { _ = try requireWorkingDirectory("diff") }
        var options = git_diff_options()
        git_diff_options_init(&options, UInt32(GIT_DIFF_OPTIONS_VERSION))
        options.context_lines = UInt32(max(0, notebookOptions.context))
        if includeUntracked, to == .workingTree {
            options.flags |= GIT_DIFF_INCLUDE_UNTRACKED.rawValue | GIT_DIFF_RECURSE_UNTRACKED_DIRS.rawValue
                | GIT_DIFF_SHOW_UNTRACKED_CONTENT.rawValue
        }
        return try withStrarray(paths.filter { $0 != "." && !$0.isEmpty }) { pathspec throws(GitError) in
            if pathspec.count > 0 { options.pathspec = pathspec }
            var diff: OpaquePointer?
            try makeDiff(&diff, from: from, to: to, options: &options)
            defer { git_diff_free(diff) }
            var find = git_diff_find_options()
            git_diff_find_options_init(&find, UInt32(GIT_DIFF_FIND_OPTIONS_VERSION))
            find.flags = GIT_DIFF_FIND_RENAMES.rawValue
            try check(git_diff_find_similar(diff, &find), "cannot detect renames", path: gitDirectory)
            var result: [FileDiff] = []
            let strip = to == .workingTree && stripsOutputs
            for i in 0..<git_diff_num_deltas(diff) {
                guard let delta = git_diff_get_delta(diff, i)?.pointee else { continue }
                let file = try fileDiff(
                    diff, index: i, delta: delta, newIsWorkingTree: to == .workingTree, stripNew: strip, options: notebookOptions)
                // With output stripping on, outputs in the working tree are not changes.
                if strip, file.change == .modified, file.notebook?.isEmpty == true { continue }
                result.append(file)
            }
            return result
        }
    }

    private func makeDiff(_ diff: inout OpaquePointer?, from: DiffSide, to: DiffSide, options: inout git_diff_options) throws(GitError) {
        func tree(_ revision: String) throws(GitError) -> OpaquePointer? {
            if revision == "HEAD", case .unborn = try head() { return nil }
            return try lookupTree(revision)
        }
        let what = "cannot compare \(from) with \(to)"
        switch (from, to) {
        case (.index, .workingTree):
            try check(git_diff_index_to_workdir(&diff, pointer, nil, &options), what, path: gitDirectory)
        case (.revision(let rev), .index):
            let t = try tree(rev)
            defer { git_tree_free(t) }
            try check(git_diff_tree_to_index(&diff, pointer, t, nil, &options), what, path: gitDirectory)
        case (.revision(let rev), .workingTree):
            let t = try tree(rev)
            defer { git_tree_free(t) }
            try check(git_diff_tree_to_workdir_with_index(&diff, pointer, t, &options), what, path: gitDirectory)
        case (.revision(let a), .revision(let b)):
            let ta = try tree(a)
            defer { git_tree_free(ta) }
            let tb = try tree(b)
            defer { git_tree_free(tb) }
            try check(git_diff_tree_to_tree(&diff, pointer, ta, tb, &options), what, path: gitDirectory)
        case (.empty, .revision(let b)):
            let tb = try tree(b)
            defer { git_tree_free(tb) }
            try check(git_diff_tree_to_tree(&diff, pointer, nil, tb, &options), what, path: gitDirectory)
        default:
            throw GitError(.invalid, "cannot compare \(from) with \(to): choose index→working tree, a revision→index, a revision→working tree or two revisions")
        }
    }

    private func fileDiff(
        _ diff: OpaquePointer?, index: Int, delta: git_diff_delta, newIsWorkingTree: Bool, stripNew: Bool,
        options: NotebookDiffOptions
    ) throws(GitError) -> FileDiff {
        let newPath = delta.new_file.path.map { String(cString: $0) } ?? ""
        let oldPath = delta.old_file.path.map { String(cString: $0) } ?? newPath
        let change: FileDiff.Change
        switch delta.status {
        case GIT_DELTA_ADDED, GIT_DELTA_UNTRACKED: change = .added
        case GIT_DELTA_DELETED: change = .deleted
        case GIT_DELTA_RENAMED: change = .renamed
        case GIT_DELTA_COPIED: change = .copied
        case GIT_DELTA_TYPECHANGE: change = .typeChanged
        default: change = .modified
        }
        let path = change == .deleted ? oldPath : newPath
        var result = FileDiff(
            path: path, oldPath: oldPath != newPath ? oldPath : nil, change: change,
            isBinary: delta.flags & GIT_DIFF_FLAG_BINARY.rawValue != 0, patch: nil, notebook: nil, notebookProblem: nil)
        if newPath.hasSuffix(".ipynb") || oldPath.hasSuffix(".ipynb") {
            let old = change == .added ? nil : try side(delta.old_file, path: oldPath, fromWorkingTree: false)
            let new = change == .deleted ? nil : try side(delta.new_file, path: newPath, fromWorkingTree: newIsWorkingTree)
            do {
                let a = try old.map { bytes throws(NotebookError) in try Notebook(ipynb: bytes) } ?? Notebook()
                var b = try new.map { bytes throws(NotebookError) in try Notebook(ipynb: bytes) } ?? Notebook()
                if stripNew { OutputStripper.strip(&b) }
                var nb = NotebookDiffer.diff(a, b, options: options)
                if change == .added || change == .deleted { nb.metadata = [] }
                result.notebook = nb
                result.isBinary = false
                return result
            } catch {
                result.notebookProblem = "not a readable notebook (\(error.message)); showing the plain diff"
            }
        }
        var patch: OpaquePointer?
        try check(git_patch_from_diff(&patch, diff, index), "cannot diff \(path)", path: path)
        defer { git_patch_free(patch) }
        var buffer = git_buf()
        defer { git_buf_dispose(&buffer) }
        if patch != nil {
            try check(git_patch_to_buf(&buffer, patch), "cannot diff \(path)", path: path)
            result.patch = buffer.ptr.map { String(cString: $0) } ?? ""
        }
        return result
    }

    /// The bytes of one side of a delta: the working-tree file, or the blob.
    private func side(_ file: git_diff_file, path: String, fromWorkingTree: Bool) throws(GitError) -> [UInt8] {
        let id = ObjectID(file.id)
        if fromWorkingTree || id.isZero, let work = workingDirectory {
            do {
                return try FileIO.read(FilePath.join(work, path))
            } catch {
                if id.isZero { throw GitError(.notFound, "cannot read \(path): \(error)", path: path) }
            }
        }
        return try blobBytes(id)
    }
}

extension Repository {
    /// A commit and what it changed: the diff from its first parent (from nothing for a root commit), as `git show` shows it.
    public func show(
        _ revision: String = "HEAD", paths: [String] = [], options: NotebookDiffOptions = NotebookDiffOptions()
    ) throws(GitError) -> (commit: CommitInfo, files: [FileDiff]) {
        guard let commit = try log(from: revision, limit: 1).first else {
            throw GitError(.notFound, "unknown revision \(revision)", path: gitDirectory)
        }
        let parent: DiffSide = commit.parents.first.map { .revision($0.hex) } ?? .empty
        return (commit, try diff(from: parent, to: .revision(commit.id.hex), paths: paths, options: options))
    }
}

/// Diffs two notebook files outside any repository (`wb nbdiff`).
public enum NotebookFiles {
    public static func diff(_ a: String, _ b: String, options: NotebookDiffOptions = NotebookDiffOptions()) throws(NotebookError) -> NotebookDiff {
        NotebookDiffer.diff(try Notebook.read(path: a), try Notebook.read(path: b), options: options)
    }
}
