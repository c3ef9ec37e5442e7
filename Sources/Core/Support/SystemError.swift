#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: what was being done, to which path, and the errno.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var code: Int32

    public init(operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// Captures the current `errno`.
    public static func errno(_ operation: String, path: String) -> SystemError {
        SystemError(operation: operation, path: path, code: Glibc.errno)
    }

    public var reason: String { String(cString: strerror(code)) }

    public var description: String {
        path.isEmpty ? "cannot \(operation): \(reason)" : "cannot \(operation) \(path): \(reason)"
    }
}
