#if canImport(Glibc)
import Glibc
#endif

/// A file read in large chunks into one reusable buffer: the readers' bounded window on their input.
///
/// `bytes[start..<end]` holds what is read and not yet consumed. `refill` keeps the
/// unconsumed tail, moving it to the front, and reads more after it; the buffer grows
/// only when one record is larger than it, up to `maximumBytes`.
final class FileInput {
    let path: String
    private let fd: Int32
    private(set) var buffer: UnsafeMutableRawBufferPointer
    /// The first unconsumed byte.
    var start = 0
    /// The end of the bytes read.
    private(set) var end = 0
    /// Whether the end of the file has been read.
    private(set) var atEOF = false
    /// The file offset of `buffer[0]`.
    private(set) var offsetOfBuffer: Int64 = 0
    /// The file's size, when it is a regular file.
    let size: Int64?
    private let readSize: Int
    private let maximumBytes: Int

    init(path: String, readSize: Int, maximumBytes: Int) throws(ImportError) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImportError(.io, path: path, "cannot open: \(String(cString: strerror(errno)))") }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
            size = Int64(info.st_size)
        } else if (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw ImportError(.io, path: path, "is a folder, not a file")
        } else {
            size = nil
        }
        self.readSize = max(readSize, 4096)
        self.maximumBytes = max(maximumBytes, self.readSize)
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: self.readSize * 2, alignment: 16)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
    }

    deinit {
        buffer.deallocate()
        close(fd)
    }

    /// The bytes read and not consumed.
    var available: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[start..<end]) }

    /// The file offset of the first unconsumed byte.
    var position: Int64 { offsetOfBuffer + Int64(start) }

    /// Reads more after the unconsumed bytes; returns false at the end of the file (nothing new).
    ///
    /// Pointers into the buffer are invalid afterwards (it may move). Throws `.tooLarge` when
    /// the unconsumed bytes already fill `maximumBytes` (one record that big), with `line`.
    func refill(line: Int) throws(ImportError) -> Bool {
        guard !atEOF else { return false }
        let pending = end - start
        if start > 0 {
            if pending > 0 { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: pending) }
            offsetOfBuffer += Int64(start)
            start = 0
            end = pending
        }
        if buffer.count - end < readSize {
            guard buffer.count < maximumBytes else {
                throw ImportError(
                    .tooLarge, path: path, line: line,
                    "a record starting here is larger than \(maximumBytes >> 20) MiB (an unclosed quote, or not this format?)")
            }
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: min(buffer.count * 2, maximumBytes + readSize), alignment: 16)
            if end > 0 { grown.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end) }
            buffer.deallocate()
            buffer = grown
        }
        while true {
            let n = read(fd, buffer.baseAddress! + end, min(readSize, buffer.count - end))
            if n < 0 {
                if errno == EINTR { continue }
                throw ImportError(.io, path: path, line: line, "cannot read: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                atEOF = true
                return false
            }
            end += n
            return true
        }
    }
}
