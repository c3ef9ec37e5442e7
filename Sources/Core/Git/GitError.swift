import CGit2
import CGitTLS
public import CoreSupport

/// Why a git operation failed: a kind, a message that says what and where, and libgit2's own code.
public struct GitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kinds of failure callers tell apart.
    public enum Code: String, Sendable, Equatable {
        /// No repository at or above the path.
        case notARepository = "not_a_repository"
        /// The repository's files are damaged (HEAD, refs, objects, index).
        case corrupt
        /// The operation needs a working tree and the repository is bare.
        case bareRepository = "bare_repository"
        /// A revision, branch, remote, path or object that does not exist.
        case notFound = "not_found"
        /// Something of that name already exists.
        case exists
        /// Local changes would be overwritten, or uncommitted changes are in the way.
        case localChanges = "local_changes"
        /// The index has unresolved conflicts.
        case unmerged
        /// No user.name / user.email in the git configuration.
        case noIdentity = "no_identity"
        /// Nothing to commit, nothing staged.
        case nothingToCommit = "nothing_to_commit"
        /// The remote refused a non-fast-forward update.
        case nonFastForward = "non_fast_forward"
        /// Credentials missing or refused.
        case authentication
        /// The network or the remote side failed.
        case network
        /// A bad name, spec or argument.
        case invalid
        /// A lock file is held by another process.
        case locked
        /// Any other libgit2 failure.
        case failed
    }

    public var code: Code
    public var message: String
    /// The repository or file concerned, when there is one.
    public var path: String?
    /// libgit2's return code (`GIT_E*`), 0 when the error is ours.
    public var libgit2Code: Int32
    /// libgit2's error class (`GIT_ERROR_*`), 0 when the error is ours.
    public var libgit2Class: Int32

    public init(_ code: Code, _ message: String, path: String? = nil, libgit2Code: Int32 = 0, libgit2Class: Int32 = 0) {
        self.code = code
        self.message = message
        self.path = path
        self.libgit2Code = libgit2Code
        self.libgit2Class = libgit2Class
    }

    public var description: String {
        if let path, !path.isEmpty, !message.contains(path) { return "\(path): \(message)" }
        return message
    }

    /// The error as JSON, for `--json` output.
    public var json: JSON {
        var object: JSONObject = ["code": .string(code.rawValue), "message": .string(message)]
        if let path { object["path"] = .string(path) }
        if libgit2Code != 0 { object["libgit2_code"] = .int(Int(libgit2Code)) }
        return .object(object)
    }
}

/// libgit2 initialised once per process, before the first call.
enum LibGit2 {
    /// Initialises libgit2; the library stays up for the life of the process
    /// (shutting it down while another thread uses it would be unsafe).
    static let ready: Bool = {
        // The system CA bundle is loaded when an https remote first needs it (`Certificates`), not here.
        wb_tls_set_deferring(1)
        git_libgit2_init()
        wb_tls_set_deferring(0)
        // Owner checks (safe.directory) stay on, as in git; nothing else to configure.
        return true
    }()

    static func ensure() { _ = ready }
}

/// Turns a libgit2 return code into a `GitError`, with `git_error_last()`'s message.
///
/// Every libgit2 call that can fail goes through here.
@discardableResult
func check(_ rc: Int32, _ what: @autoclosure () -> String, path: String? = nil) throws(GitError) -> Int32 {
    guard rc < 0 else { return rc }
    throw lastError(rc, what(), path: path)
}

/// Builds the `GitError` for a failed call from its return code and libgit2's last error.
func lastError(_ rc: Int32, _ what: String, path: String? = nil) -> GitError {
    var detail = ""
    var klass: Int32 = 0
    if let last = git_error_last() {
        klass = last.pointee.klass
        if let message = last.pointee.message { detail = String(cString: message) }
    }
    let code = classify(rc, klass: klass, detail: detail)
    var message = what
    if !detail.isEmpty { message += ": " + detail }
    if code == .corrupt, !message.contains("damaged") { message += " (the repository looks damaged; try `git fsck`)" }
    return GitError(code, message, path: path, libgit2Code: rc, libgit2Class: klass)
}

private func classify(_ rc: Int32, klass: Int32, detail: String) -> GitError.Code {
    switch rc {
    case GIT_ENOTFOUND.rawValue: return .notFound
    case GIT_EEXISTS.rawValue: return .exists
    case GIT_EBAREREPO.rawValue: return .bareRepository
    case GIT_EUNMERGED.rawValue, GIT_EMERGECONFLICT.rawValue: return .unmerged
    case GIT_ENONFASTFORWARD.rawValue: return .nonFastForward
    case GIT_EINVALIDSPEC.rawValue: return .invalid
    case GIT_ECONFLICT.rawValue, GIT_EUNCOMMITTED.rawValue, GIT_EINDEXDIRTY.rawValue: return .localChanges
    case GIT_ELOCKED.rawValue: return .locked
    case GIT_EAUTH.rawValue, GIT_ECERTIFICATE.rawValue: return .authentication
    case GIT_EMISMATCH.rawValue: return .corrupt
    default: break
    }
    switch klass {
    case Int32(GIT_ERROR_ZLIB.rawValue), Int32(GIT_ERROR_ODB.rawValue), Int32(GIT_ERROR_OBJECT.rawValue):
        return .corrupt
    case Int32(GIT_ERROR_NET.rawValue), Int32(GIT_ERROR_SSH.rawValue), Int32(GIT_ERROR_HTTP.rawValue),
        Int32(GIT_ERROR_SSL.rawValue):
        return .network
    case Int32(GIT_ERROR_REPOSITORY.rawValue), Int32(GIT_ERROR_INDEX.rawValue), Int32(GIT_ERROR_REFERENCE.rawValue):
        let lower = detail.lowercased()
        if lower.contains("corrupt") || lower.contains("invalid") || lower.contains("malformed")
            || lower.contains("unknown") || lower.contains("failed to parse") || lower.contains("bad ")
            || lower.contains("failed to read index") || lower.contains("signature")
        {
            return .corrupt
        }
        return .failed
    default:
        return .failed
    }
}
