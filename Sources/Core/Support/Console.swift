#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// What every command-line front end (wb-app, wb-git) writes with: standard error, JSON for scripts,
// terminal checks and padded columns. No Foundation, so wb-git stays light.

/// Writes a line to standard error.
public func printError(_ text: String) {
    var stream = StandardError()
    print(text, to: &stream)
}

/// Standard error as a `TextOutputStream`, unbuffered: each write goes out whole (retried after short writes).
public struct StandardError: TextOutputStream {
    public init() {}

    public mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

/// Whether a file descriptor is a terminal.
public func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

/// Prints a JSON value for scripts (pretty, one value per call).
public func printJSON(_ value: JSON) {
    print(value.serialized(.pretty))
}

extension String {
    /// The string followed by spaces up to `width` characters (unchanged when it is as long already).
    public func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
