#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams a file into place atomically: written to a temporary file beside it, which
/// replaces the target only on `commit()` (fsync, rename, fsync of the folder).
///
/// Until then the old file (if any) is untouched; an abandoned or failed writer removes
/// its temporary file. Writes are buffered (1 MiB), so callers may write small pieces.
public final class AtomicFileWriter {
    public let path: String
    private let tempPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private let bufferSize = 1 << 20
    private var done = false
    /// Bytes written so far.
    public private(set) var bytesWritten: Int64 = 0

    /// Starts writing `path` (a new file gets `mode`, an existing one keeps its permission bits).
    public init(path: String, mode: mode_t = 0o644) throws(SystemError) {
        let target = AtomicFile.resolvingLink(path)
        self.path = target
        let directory = FilePath.directory(of: target)
        var template = Array("\(directory)/.\(FilePath.lastComponent(of: target)).wb-tmp-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SystemError.errno("create a temporary file beside", path: target) }
        tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var existing = stat()
        let finalMode = stat(target, &existing) == 0 ? existing.st_mode & 0o7777 : mode
        guard fchmod(fd, finalMode) == 0 else {
            let error = SystemError.errno("set permissions on", path: tempPath)
            abandon()
            throw error
        }
        buffer.reserveCapacity(bufferSize)
    }

    deinit { abandon() }

    /// Appends bytes.
    public func write(_ bytes: some Collection<UInt8>) throws(SystemError) {
        buffer.append(contentsOf: bytes)
        bytesWritten += Int64(bytes.count)
        if buffer.count >= bufferSize { try flush() }
    }

    /// Appends text as UTF-8.
    public func write(_ text: String) throws(SystemError) {
        try write(text.utf8)
    }

    private func flush() throws(SystemError) {
        guard !buffer.isEmpty else { return }
        try AtomicFile.writeAll(fd, buffer, path: tempPath)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Puts the file in place: everything written becomes the file's content at once.
    public func commit() throws(SystemError) {
        guard !done else { return }
        do throws(SystemError) {
            try flush()
            guard fsync(fd) == 0 else { throw SystemError.errno("flush", path: tempPath) }
        } catch {
            abandon()
            throw error
        }
        close(fd)
        done = true
        guard rename(tempPath, path) == 0 else {
            let error = SystemError.errno("replace", path: path)
            unlink(tempPath)
            throw error
        }
        let dirFD = open(FilePath.directory(of: path), O_RDONLY | O_DIRECTORY)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    /// Gives up: the temporary file is removed and the target left as it was.
    public func abandon() {
        guard !done else { return }
        done = true
        close(fd)
        unlink(tempPath)
    }
}
