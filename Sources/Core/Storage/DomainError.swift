#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CoreSupport

/// A failure of the domain directory or its object store: what went wrong, and the file or folder concerned.
public struct DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is, for callers that react differently to each.
    public enum Code: Sendable, Equatable {
        /// `domain.json` was written by a newer Workbench; nothing was changed.
        case newerFormat
        /// `domain.json` cannot be understood, or an object's content does not match its id.
        case corrupt
        /// The folder or file cannot be written (permissions, read-only file system).
        case notWritable
        /// The domain path exists and is not a folder.
        case notADirectory
        /// No object has this id.
        case notFound
        /// The text is not an object id.
        case invalidID
        /// Another system call failed (`systemCode` says why; `ENOSPC` is a full disk).
        case io
        /// One of the SQLite stores failed to open or migrate (`database` says why).
        case database
    }

    /// What kind of failure this is.
    public var code: Code
    /// The file or folder concerned.
    public var path: String
    /// A sentence for the user, naming the path.
    public var message: String
    /// The `errno` of the failed system call, if one failed.
    public var systemCode: Int32?
    /// The store's error, for `.database`.
    public var database: DatabaseError?

    /// Makes an error; `message` should name `path`.
    public init(_ code: Code, path: String, message: String, systemCode: Int32? = nil, database: DatabaseError? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.systemCode = systemCode
        self.database = database
    }

    /// Whether the failure is a full disk or an exhausted quota.
    public var isDiskFull: Bool { systemCode == ENOSPC || systemCode == EDQUOT }

    public var description: String { message }

    /// A failed system call: permission and read-only failures become `.notWritable`, others `.io`.
    static func system(_ error: SystemError) -> DomainError {
        let code: Code
        switch error.code {
        case EACCES, EPERM, EROFS: code = .notWritable
        case ENOENT: code = .notFound
        default: code = .io
        }
        var message = error.description
        if error.code == ENOSPC || error.code == EDQUOT { message += " (the disk is full)" }
        return DomainError(code, path: error.path, message: message, systemCode: error.code)
    }

    /// The current `errno` as a failure to do `operation` on `path`.
    static func errno(_ operation: String, path: String) -> DomainError {
        system(SystemError.errno(operation, path: path))
    }
}
