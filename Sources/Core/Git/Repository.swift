import CGit2
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif

/// An object id (SHA-1), as lowercase hex.
public struct ObjectID: Sendable, Hashable, CustomStringConvertible {
    public let hex: String

    public init(hex: String) { self.hex = hex }

    init(_ oid: git_oid) {
        var copy = oid
        hex = String(cString: git_oid_tostr_s(&copy))
    }

    init?(_ pointer: UnsafePointer<git_oid>?) {
        guard let pointer else { return nil }
        self.init(pointer.pointee)
    }

    /// The first seven digits, as `git log --oneline` shows them.
    public var short: String { String(hex.prefix(7)) }
    public var description: String { hex }

    var isZero: Bool { hex.allSatisfy { $0 == "0" } }

    var oid: git_oid {
        var oid = git_oid()
        _ = git_oid_fromstr(&oid, hex)
        return oid
    }
}

/// Where HEAD points.
public enum Head: Sendable, Equatable {
    /// On a branch with commits.
    case branch(name: String, commit: ObjectID)
    /// On a branch that has no commit yet (a new repository).
    case unborn(branch: String)
    /// On a commit, not a branch.
    case detached(commit: ObjectID)

    public var branchName: String? {
        switch self {
        case .branch(let name, _), .unborn(let name): return name
        case .detached: return nil
        }
    }

    public var commit: ObjectID? {
        switch self {
        case .branch(_, let id), .detached(let id): return id
        case .unborn: return nil
        }
    }
}

/// An operation in progress (merge, rebase...), as `git status` names them.
public enum RepositoryState: String, Sendable {
    case none, merge, revert, cherryPick = "cherry-pick", bisect, rebase, applyMailbox = "am"
}

/// A git repository opened with libgit2.
///
/// Not thread-safe (libgit2 objects are not): use one from one thread at a
/// time. Every libgit2 object it hands out internally is freed before the call returns.
public final class Repository {
    let pointer: OpaquePointer
    /// The `.git` folder (or the bare repository), ending in `/`.
    public let gitDirectory: String
    /// The working tree, ending in `/`; nil for a bare repository.
    public let workingDirectory: String?

    init(pointer: OpaquePointer) {
        self.pointer = pointer
        gitDirectory = String(cString: git_repository_path(pointer))
        workingDirectory = git_repository_workdir(pointer).map { String(cString: $0) }
    }

    deinit { git_repository_free(pointer) }

    public var isBare: Bool { git_repository_is_bare(pointer) == 1 }

    /// Opens the repository containing `path`, looking upward as `git` does.
    public static func open(_ path: String = ".") throws(GitError) -> Repository {
        LibGit2.ensure()
        guard FileIO.exists(path) else {
            throw GitError(.notFound, "\(path) does not exist", path: path)
        }
        var raw: OpaquePointer?
        let rc = git_repository_open_ext(&raw, path, 0, nil)
        if rc == GIT_ENOTFOUND.rawValue {
            throw GitError(
                .notARepository, "not a git repository (or any parent up to /): \(Repository.normalize(FilePath.absolute(path))); `wb git init` makes one",
                path: path, libgit2Code: rc)
        }
        if rc < 0 {
            var error = lastError(rc, "cannot open the git repository at \(path)", path: path)
            if error.code == .failed || error.code == .notFound { error.code = .corrupt }
            if !error.message.contains("damaged") { error.message += " (the repository looks damaged)" }
            throw error
        }
        let repository = Repository(pointer: raw!)
        try repository.validate()
        return repository
    }

    /// Creates a repository (`git init`), or opens the one already there.
    public static func create(at path: String, bare: Bool = false, initialBranch: String? = nil) throws(GitError) -> Repository {
        LibGit2.ensure()
        var options = git_repository_init_options()
        git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION))
        options.flags = GIT_REPOSITORY_INIT_MKPATH.rawValue | (bare ? GIT_REPOSITORY_INIT_BARE.rawValue : 0)
        var raw: OpaquePointer?
        let rc: Int32
        if let initialBranch {
            rc = initialBranch.withCString { name in
                options.initial_head = name
                return git_repository_init_ext(&raw, path, &options)
            }
        } else {
            rc = git_repository_init_ext(&raw, path, &options)
        }
        try check(rc, "cannot create a git repository at \(path)", path: path)
        return Repository(pointer: raw!)
    }

    /// Reads HEAD once, so a damaged repository fails at open with a clear message rather than later.
    private func validate() throws(GitError) {
        let path = gitDirectory
        let unborn = git_repository_head_unborn(pointer)
        if unborn < 0 {
            var error = lastError(unborn, "cannot read HEAD", path: path)
            error.code = .corrupt
            if !error.message.contains("damaged") { error.message += " (the repository looks damaged)" }
            throw error
        }
        if unborn == 0 {
            var head: OpaquePointer?
            let rc = git_repository_head(&head, pointer)
            defer { git_reference_free(head) }
            if rc < 0 {
                var error = lastError(rc, "cannot read HEAD", path: path)
                error.code = .corrupt
                if !error.message.contains("damaged") { error.message += " (the repository looks damaged)" }
                throw error
            }
            // The commit HEAD names must be readable.
            var commit: OpaquePointer?
            let crc = git_commit_lookup(&commit, pointer, git_reference_target(head))
            defer { git_commit_free(commit) }
            if crc < 0 {
                var error = lastError(crc, "cannot read the commit HEAD points to", path: path)
                error.code = .corrupt
                if !error.message.contains("damaged") { error.message += " (the repository looks damaged)" }
                throw error
            }
        }
    }

    /// The working tree, or a clear error for a bare repository.
    public func requireWorkingDirectory(_ operation: String) throws(GitError) -> String {
        guard let workingDirectory else {
            throw GitError(
                .bareRepository, "\(operation) needs a working tree, and \(gitDirectory) is a bare repository",
                path: gitDirectory)
        }
        return workingDirectory
    }

    /// Where HEAD points.
    public func head() throws(GitError) -> Head {
        if git_repository_head_unborn(pointer) == 1 {
            var ref: OpaquePointer?
            try check(git_reference_lookup(&ref, pointer, "HEAD"), "cannot read HEAD", path: gitDirectory)
            defer { git_reference_free(ref) }
            let target = git_reference_symbolic_target(ref).map { String(cString: $0) } ?? "refs/heads/master"
            return .unborn(branch: Repository.shortBranch(target))
        }
        var ref: OpaquePointer?
        try check(git_repository_head(&ref, pointer), "cannot read HEAD", path: gitDirectory)
        defer { git_reference_free(ref) }
        guard let id = ObjectID(git_reference_target(ref)) else {
            throw GitError(.corrupt, "HEAD does not point to a commit", path: gitDirectory)
        }
        if git_repository_head_detached(pointer) == 1 { return .detached(commit: id) }
        return .branch(name: String(cString: git_reference_shorthand(ref)), commit: id)
    }

    /// The operation in progress, if any.
    public var state: RepositoryState {
        switch git_repository_state(pointer) {
        case Int32(GIT_REPOSITORY_STATE_MERGE.rawValue): return .merge
        case Int32(GIT_REPOSITORY_STATE_REVERT.rawValue), Int32(GIT_REPOSITORY_STATE_REVERT_SEQUENCE.rawValue): return .revert
        case Int32(GIT_REPOSITORY_STATE_CHERRYPICK.rawValue), Int32(GIT_REPOSITORY_STATE_CHERRYPICK_SEQUENCE.rawValue):
            return .cherryPick
        case Int32(GIT_REPOSITORY_STATE_BISECT.rawValue): return .bisect
        case Int32(GIT_REPOSITORY_STATE_REBASE.rawValue), Int32(GIT_REPOSITORY_STATE_REBASE_INTERACTIVE.rawValue),
            Int32(GIT_REPOSITORY_STATE_REBASE_MERGE.rawValue):
            return .rebase
        case Int32(GIT_REPOSITORY_STATE_APPLY_MAILBOX.rawValue), Int32(GIT_REPOSITORY_STATE_APPLY_MAILBOX_OR_REBASE.rawValue):
            return .applyMailbox
        default: return .none
        }
    }

    static func shortBranch(_ ref: String) -> String {
        ref.hasPrefix("refs/heads/") ? String(ref.dropFirst("refs/heads/".count)) : ref
    }

    // MARK: - Configuration

    /// A configuration value as git resolves it (repository, then global, then system).
    public func config(_ key: String) throws(GitError) -> String? {
        try withConfigSnapshot { config throws(GitError) in
            var buffer = git_buf()
            defer { git_buf_dispose(&buffer) }
            let rc = git_config_get_string_buf(&buffer, config, key)
            if rc == GIT_ENOTFOUND.rawValue { return nil }
            try check(rc, "cannot read \(key) from the git configuration", path: gitDirectory)
            return String(cString: buffer.ptr)
        }
    }

    /// A boolean configuration value (`true`/`yes`/`on`/`1`...), nil when unset.
    public func configBool(_ key: String) throws(GitError) -> Bool? {
        try withConfigSnapshot { config throws(GitError) in
            var value: Int32 = 0
            let rc = git_config_get_bool(&value, config, key)
            if rc == GIT_ENOTFOUND.rawValue { return nil }
            try check(rc, "\(key) in the git configuration is not a boolean", path: gitDirectory)
            return value != 0
        }
    }

    /// Sets a value in this repository's own configuration (`.git/config`).
    public func setConfig(_ key: String, _ value: String) throws(GitError) {
        var config: OpaquePointer?
        try check(git_repository_config(&config, pointer), "cannot open the repository configuration", path: gitDirectory)
        defer { git_config_free(config) }
        var local: OpaquePointer?
        try check(
            git_config_open_level(&local, config, GIT_CONFIG_LEVEL_LOCAL), "cannot open the repository configuration",
            path: gitDirectory)
        defer { git_config_free(local) }
        try check(git_config_set_string(local, key, value), "cannot set \(key)", path: gitDirectory)
    }

    func withConfigSnapshot<T>(_ body: (OpaquePointer?) throws(GitError) -> T) throws(GitError) -> T {
        var config: OpaquePointer?
        try check(git_repository_config_snapshot(&config, pointer), "cannot read the git configuration", path: gitDirectory)
        defer { git_config_free(config) }
        return try body(config)
    }

    // MARK: - Objects

    /// Resolves a revision (`HEAD`, `main`, `HEAD~2`, an id...) to a commit id.
    public func resolveCommit(_ revision: String) throws(GitError) -> ObjectID {
        let commit = try lookupCommit(revision)
        defer { git_commit_free(commit) }
        return ObjectID(git_commit_id(commit))!
    }

    /// Looks up a revision's commit; the caller frees it.
    func lookupCommit(_ revision: String) throws(GitError) -> OpaquePointer {
        var object: OpaquePointer?
        let rc = git_revparse_single(&object, pointer, revision)
        if rc == GIT_ENOTFOUND.rawValue || rc == GIT_EINVALIDSPEC.rawValue || rc == GIT_EAMBIGUOUS.rawValue {
            throw GitError(.notFound, "unknown revision \(revision)", path: gitDirectory, libgit2Code: rc)
        }
        try check(rc, "cannot resolve \(revision)", path: gitDirectory)
        defer { git_object_free(object) }
        var commit: OpaquePointer?
        let prc = git_object_peel(&commit, object, GIT_OBJECT_COMMIT)
        if prc < 0 { throw GitError(.invalid, "\(revision) is not a commit", path: gitDirectory, libgit2Code: prc) }
        return commit!
    }

    /// A commit's tree; the caller frees it.
    func lookupTree(_ revision: String) throws(GitError) -> OpaquePointer {
        let commit = try lookupCommit(revision)
        defer { git_commit_free(commit) }
        var tree: OpaquePointer?
        try check(git_commit_tree(&tree, commit), "cannot read the tree of \(revision)", path: gitDirectory)
        return tree!
    }

    /// The bytes of a blob.
    func blobBytes(_ id: ObjectID) throws(GitError) -> [UInt8] {
        var oid = id.oid
        var blob: OpaquePointer?
        try check(git_blob_lookup(&blob, pointer, &oid), "cannot read object \(id.short)", path: gitDirectory)
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let raw = git_blob_rawcontent(blob) else { return [] }
        return Array(UnsafeRawBufferPointer(start: raw, count: size))
    }

    /// Writes bytes as a blob and returns its id.
    func writeBlob(_ bytes: [UInt8]) throws(GitError) -> ObjectID {
        var oid = git_oid()
        let rc = bytes.withUnsafeBytes { raw in git_blob_create_from_buffer(&oid, pointer, raw.baseAddress, raw.count) }
        try check(rc, "cannot write an object", path: gitDirectory)
        return ObjectID(oid)
    }

    /// The repository's index, re-read if another process changed it since; the caller frees it.
    func openIndex() throws(GitError) -> OpaquePointer {
        var index: OpaquePointer?
        try check(git_repository_index(&index, pointer), "cannot read the index", path: gitDirectory)
        // libgit2 keeps the index it loaded first; without this, a change written meanwhile (by git, or
        // another wb) would be overwritten by the next write of this stale copy.
        let rc = git_index_read(index, 0)
        if rc < 0 {
            git_index_free(index)
            try check(rc, "cannot read the index", path: gitDirectory)
        }
        return index!
    }

    /// An absolute path in the working tree for a repository-relative path.
    func workingPath(_ relative: String) throws(GitError) -> String {
        FilePath.join(try requireWorkingDirectory("this"), relative)
    }

    /// A path given on the command line (relative to `cwd`) as a repository-relative path.
    public func relativePath(_ path: String, from cwd: String? = nil) throws(GitError) -> String {
        let work = try requireWorkingDirectory("a path")
        let base = cwd ?? FilePath.absolute(".")
        var absolute = path.hasPrefix("/") ? path : FilePath.join(base, path)
        absolute = Repository.normalize(absolute)
        let root = Repository.normalize(work)
        if absolute == root { return "" }
        guard absolute.hasPrefix(root + "/") else {
            throw GitError(.invalid, "\(path) is outside the repository at \(work)", path: path)
        }
        return String(absolute.dropFirst(root.count + 1))
    }

    /// Removes `.`, `..` and doubled slashes from an absolute path.
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." || part.isEmpty { continue }
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }
}

/// Calls `body` with a `git_strarray` of the strings (valid only inside the call).
@discardableResult
func withStrarray<T>(_ strings: [String], _ body: (inout git_strarray) throws(GitError) -> T) throws(GitError) -> T {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    return try pointers.withUnsafeMutableBufferPointer { buffer throws(GitError) in
        var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
        return try body(&array)
    }
}

/// The strings of a `git_strarray`.
func strings(of array: git_strarray) -> [String] {
    (0..<array.count).compactMap { array.strings[$0].map { String(cString: $0) } }
}

func strdupCString(_ string: String) -> UnsafeMutablePointer<CChar> { strdup(string)! }
func freeCString(_ pointer: UnsafeMutablePointer<CChar>) { free(pointer) }
