import CGit2
public import CoreSupport
import Notebook
#if canImport(Glibc)
import Glibc
#endif

/// The conflicts left in one notebook by a merge.
public struct NotebookConflictReport: Sendable, Equatable {
    public var path: String
    public var cells: [CellConflict]
    /// Notebook metadata keys changed differently on both sides (ours was kept).
    public var metadataConflicts: [String]

    public var json: JSON {
        [
            "path": .string(path), "cells": .array(cells.map(\.json)),
            "metadata_conflicts": .array(metadataConflicts.map(JSON.string)),
        ]
    }
}

/// What a merge did.
public enum MergeOutcome: Sendable, Equatable {
    case upToDate
    case fastForward(to: ObjectID)
    case merged(CommitInfo)
    /// The merge stopped: these files have conflicts (notebooks reported per cell).
    case conflicts(files: [String], notebooks: [NotebookConflictReport])

    public var json: JSON {
        switch self {
        case .upToDate: return ["result": "up_to_date"]
        case .fastForward(let id): return ["result": "fast_forward", "commit": .string(id.hex)]
        case .merged(let commit): return ["result": "merged", "commit": commit.json]
        case .conflicts(let files, let notebooks):
            return [
                "result": "conflicts", "files": .array(files.map(JSON.string)), "notebooks": .array(notebooks.map(\.json)),
            ]
        }
    }
}

extension Repository {
    /// Merges a revision into HEAD, as `git merge` does: fast-forwards when it can, else merges and
    /// commits with the user's identity. Notebooks in conflict are merged cell by cell: a cell both
    /// sides changed differently is kept as ours with base/ours/theirs in its metadata, the file stays
    /// a valid notebook (never conflict markers) and the index keeps the three stages.
    public func merge(_ revision: String, message: String? = nil) throws(GitError) -> MergeOutcome {
        let work = try requireWorkingDirectory("merge")
        guard state == .none else {
            throw GitError(
                .unmerged, "a \(state.rawValue) is already in progress: resolve and commit it, or `wb git merge --abort`", path: work)
        }
        guard try conflictedPaths().isEmpty else {
            throw GitError(.unmerged, "the index has unresolved conflicts; resolve them first", path: work)
        }
        var annotated: OpaquePointer?
        let rc = git_annotated_commit_from_revspec(&annotated, pointer, revision)
        if rc == GIT_ENOTFOUND.rawValue || rc == GIT_EINVALIDSPEC.rawValue {
            throw GitError(.notFound, "unknown revision \(revision)", path: work, libgit2Code: rc)
        }
        try check(rc, "cannot resolve \(revision)", path: work)
        defer { git_annotated_commit_free(annotated) }
        let theirID = ObjectID(git_annotated_commit_id(annotated))!

        var analysis = GIT_MERGE_ANALYSIS_NONE
        var preference = GIT_MERGE_PREFERENCE_NONE
        var heads: [OpaquePointer?] = [annotated]
        let arc = heads.withUnsafeMutableBufferPointer { buffer in
            git_merge_analysis(&analysis, &preference, pointer, buffer.baseAddress, 1)
        }
        try check(arc, "cannot analyse the merge", path: work)
        let bits = analysis.rawValue
        if bits & GIT_MERGE_ANALYSIS_UP_TO_DATE.rawValue != 0 { return .upToDate }
        if bits & (GIT_MERGE_ANALYSIS_FASTFORWARD.rawValue | GIT_MERGE_ANALYSIS_UNBORN.rawValue) != 0 {
            try fastForward(to: theirID, message: "merge \(revision): Fast-forward")
            return .fastForward(to: theirID)
        }

        // A real merge makes a commit: make sure we can before touching anything.
        _ = try identity()
        var mergeOptions = git_merge_options()
        git_merge_options_init(&mergeOptions, UInt32(GIT_MERGE_OPTIONS_VERSION))
        var checkoutOptions = git_checkout_options()
        git_checkout_options_init(&checkoutOptions, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
        checkoutOptions.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue | GIT_CHECKOUT_ALLOW_CONFLICTS.rawValue
        let blocked = CheckoutConflicts()
        blocked.install(&checkoutOptions)
        let mrc = withExtendedLifetime(blocked) {
            heads.withUnsafeMutableBufferPointer { buffer in
                git_merge(pointer, buffer.baseAddress, 1, &mergeOptions, &checkoutOptions)
            }
        }
        if mrc == GIT_ECONFLICT.rawValue { throw blocked.error("cannot merge \(revision)", path: work) }
        try check(mrc, "cannot merge \(revision)", path: work)

        let notebooks = try mergeConflictedNotebooks()
        let remaining = try conflictedPaths()
        if !remaining.isEmpty {
            return .conflicts(files: remaining, notebooks: notebooks.filter { !$0.cells.isEmpty })
        }
        let text = message ?? "Merge \(revision.hasPrefix("refs/") ? revision : "'\(revision)'")"
        return .merged(try commit(message: text, allowEmpty: true))
    }

    /// Moves HEAD's branch (or HEAD itself) to a commit after checking its tree out safely.
    func fastForward(to id: ObjectID, message: String) throws(GitError) {
        var oid = id.oid
        var commit: OpaquePointer?
        try check(git_commit_lookup(&commit, pointer, &oid), "cannot read \(id.short)", path: gitDirectory)
        defer { git_commit_free(commit) }
        let current = try head()
        if case .unborn(let branch) = current {
            // Nothing checked out yet: take the tree as it is.
            var options = git_checkout_options()
            git_checkout_options_init(&options, UInt32(GIT_CHECKOUT_OPTIONS_VERSION))
            options.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue
            var tree: OpaquePointer?
            try check(git_commit_tree(&tree, commit), "cannot read \(id.short)", path: gitDirectory)
            defer { git_tree_free(tree) }
            let blocked = CheckoutConflicts()
            blocked.install(&options)
            let rc = withExtendedLifetime(blocked) { git_checkout_tree(pointer, tree, &options) }
            if rc == GIT_ECONFLICT.rawValue { throw blocked.error("cannot check out \(id.short)", path: gitDirectory) }
            try check(rc, "cannot check out \(id.short)", path: gitDirectory)
            var ref: OpaquePointer?
            try check(
                git_reference_create(&ref, pointer, "refs/heads/" + branch, &oid, 0, message), "cannot create branch \(branch)",
                path: gitDirectory)
            git_reference_free(ref)
            return
        }
        try checkoutSafely(commit, what: "cannot fast-forward to \(id.short)")
        if case .detached = current {
            try check(git_repository_set_head_detached(pointer, &oid), "cannot move HEAD", path: gitDirectory)
            return
        }
        var headRef: OpaquePointer?
        try check(git_repository_head(&headRef, pointer), "cannot read HEAD", path: gitDirectory)
        defer { git_reference_free(headRef) }
        var moved: OpaquePointer?
        try check(git_reference_set_target(&moved, headRef, &oid, message), "cannot move the branch", path: gitDirectory)
        git_reference_free(moved)
    }

    /// Merges each conflicted notebook cell by cell and writes a valid notebook in its place;
    /// a notebook with no cell conflicts left is staged (its conflict is resolved).
    func mergeConflictedNotebooks() throws(GitError) -> [NotebookConflictReport] {
        let work = try requireWorkingDirectory("merge")
        let index = try openIndex()
        defer { git_index_free(index) }
        var reports: [NotebookConflictReport] = []
        for path in try conflictedPaths() where path.hasSuffix(".ipynb") {
            let (base, ours, theirs) = try conflictStages(index, path)
            func parse(_ bytes: [UInt8]?) -> Notebook? { bytes.flatMap { try? Notebook(ipynb: $0) } }
            let file = FilePath.join(work, path)
            guard let ourNotebook = parse(ours), let theirNotebook = parse(theirs) else {
                // Not notebooks we can read: put ours back rather than leave conflict markers in the file.
                if let ours { try writeFile(ours, to: file) }
                reports.append(NotebookConflictReport(path: path, cells: [], metadataConflicts: []))
                continue
            }
            let result = NotebookMerger.merge(base: parse(base), ours: ourNotebook, theirs: theirNotebook)
            try writeFile(result.notebook.ipynbBytes(), to: file)
            if result.conflicts.isEmpty {
                try check(git_index_add_bypath(index, path), "cannot stage the merged \(path)", path: path)
            }
            reports.append(NotebookConflictReport(path: path, cells: result.conflicts, metadataConflicts: result.metadataConflicts))
        }
        try check(git_index_write(index), "cannot write the index", path: gitDirectory)
        return reports
    }

    /// The base, ours and theirs bytes of a conflicted path (nil where a stage is absent).
    func conflictStages(_ index: OpaquePointer?, _ path: String) throws(GitError) -> ([UInt8]?, [UInt8]?, [UInt8]?) {
        var ancestor: UnsafePointer<git_index_entry>?, ours: UnsafePointer<git_index_entry>?, theirs: UnsafePointer<git_index_entry>?
        try check(git_index_conflict_get(&ancestor, &ours, &theirs, index, path), "cannot read the conflict in \(path)", path: path)
        func bytes(_ entry: UnsafePointer<git_index_entry>?) throws(GitError) -> [UInt8]? {
            guard let entry else { return nil }
            return try blobBytes(ObjectID(entry.pointee.id))
        }
        return (try bytes(ancestor), try bytes(ours), try bytes(theirs))
    }

    func writeFile(_ bytes: [UInt8], to path: String) throws(GitError) {
        do {
            try FileIO.createDirectory(FilePath.directory(of: path))
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw GitError(.failed, "cannot write \(path): \(error)", path: path)
        }
    }

    /// Abandons a merge in progress: the index and working tree go back to HEAD.
    public func abortMerge() throws(GitError) {
        let work = try requireWorkingDirectory("merge --abort")
        guard state == .merge else { throw GitError(.invalid, "no merge is in progress", path: work) }
        let commit = try lookupCommit("HEAD")
        defer { git_commit_free(commit) }
        try check(git_reset(pointer, commit, GIT_RESET_HARD, nil), "cannot abort the merge", path: work)
        try check(git_repository_state_cleanup(pointer), "cannot abort the merge", path: work)
    }

    /// The cell conflicts recorded in a notebook of the working tree.
    public func notebookConflicts(_ path: String) throws(GitError) -> [CellConflict] {
        let file = try workingPath(path)
        do {
            return NotebookMerger.conflicts(in: try Notebook.read(path: file))
        } catch {
            throw GitError(.invalid, "cannot read \(path): \(error.message)", path: path)
        }
    }

    /// Resolves a conflict: for a notebook, one cell (1-based `cell`) or every conflicting cell;
    /// for other files, the whole file (`ours` or `theirs`). When nothing is left in conflict the
    /// file is staged. Returns the cell conflicts that remain.
    @discardableResult
    public func resolve(_ path: String, cell: Int? = nil, choice: NotebookMerger.Choice) throws(GitError) -> [CellConflict] {
        let file = try workingPath(path)
        let index = try openIndex()
        defer { git_index_free(index) }
        let inConflict = try conflictedPaths().contains(path)
        if path.hasSuffix(".ipynb"), FileIO.exists(file) {
            var notebook: Notebook
            do { notebook = try Notebook.read(path: file) } catch {
                throw GitError(.invalid, "cannot read \(path): \(error.message)", path: path)
            }
            let conflicts = NotebookMerger.conflicts(in: notebook)
            if conflicts.isEmpty, !inConflict {
                throw GitError(.notFound, "\(path) has no merge conflict", path: path)
            }
            if let cell {
                try NotebookMerger.resolve(&notebook, cell: cell - 1, choice: choice)
            } else {
                for conflict in conflicts.reversed() {
                    try NotebookMerger.resolve(&notebook, cell: conflict.index, choice: choice)
                }
            }
            try writeFile(notebook.ipynbBytes(), to: file)
            let remaining = NotebookMerger.conflicts(in: notebook)
            if remaining.isEmpty {
                try check(git_index_add_bypath(index, path), "cannot stage \(path)", path: path)
                try check(git_index_write(index), "cannot write the index", path: gitDirectory)
            }
            return remaining
        }
        guard inConflict else { throw GitError(.notFound, "\(path) has no merge conflict", path: path) }
        guard cell == nil else { throw GitError(.invalid, "--cell is for notebooks; \(path) is not one", path: path) }
        let (_, ours, theirs) = try conflictStages(index, path)
        switch choice {
        case .ours, .theirs:
            if let bytes = choice == .ours ? ours : theirs {
                try writeFile(bytes, to: file)
                try check(git_index_add_bypath(index, path), "cannot stage \(path)", path: path)
            } else {
                // That side deleted the file.
                if FileIO.exists(file) { unlink(file) }
                try check(git_index_remove_bypath(index, path), "cannot stage the removal of \(path)", path: path)
            }
        case .both:
            throw GitError(.invalid, "--both is for notebook cells; edit \(path) by hand, then `wb git add` it", path: path)
        }
        try check(git_index_write(index), "cannot write the index", path: gitDirectory)
        return []
    }
}
