#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CoreSupport
import Crypto

/// The id of a stored object: the SHA-256 of its content, as 64 lowercase hex digits.
public struct ObjectID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The digest in lowercase hex, as used in paths.
    public let hex: String

    /// The prefix of the display form, `sha256:`.
    public static let prefix = "sha256:"

    /// Parses `sha256:<hex>` or bare hex (64 digits, either case); `nil` for anything else.
    public init?(_ text: String) {
        var body = Substring(text)
        if body.hasPrefix(ObjectID.prefix) { body = body.dropFirst(ObjectID.prefix.count) }
        guard body.utf8.count == 64, body.utf8.allSatisfy(ObjectID.isHexDigit) else { return nil }
        hex = body.lowercased()
    }

    /// Parses like `init?(_:)`, with an error naming the text.
    public init(parsing text: String) throws(DomainError) {
        guard let id = ObjectID(text) else {
            throw DomainError(
                .invalidID, path: "", message: "\"\(text)\" is not an object id (expected sha256: and 64 hex digits)")
        }
        self = id
    }

    init(digest: SHA256.Digest) {
        hex = Identifier.hexString(digest)
    }

    /// `sha256:<hex>`, the form shown to users.
    public var prefixed: String { ObjectID.prefix + hex }

    public var description: String { prefixed }

    public static func < (lhs: ObjectID, rhs: ObjectID) -> Bool { lhs.hex < rhs.hex }

    static func isHexDigit(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
    }
}

/// A content-addressed file store: each object lives read-only at `<directory>/ab/cdef...`, named by its SHA-256.
///
/// Writes go to a locked temporary file in `<directory>/tmp`, hashed while copied, fsynced and renamed
/// into place, so an object is either complete or absent. Putting the same content twice stores it once
/// (the new copy replaces the old, which repairs an object damaged on disk).
/// Temporary files left by a crashed writer (unlocked, older than a minute) are removed on open.
public struct ObjectStore: Sendable {
    /// The store's folder.
    public let directory: String

    /// How many bytes are read and written at a time when streaming.
    static let chunkSize = 1 << 20
    /// How old an unlocked temporary file must be before it counts as abandoned, in seconds.
    public static let abandonedAfter: Double = 60

    /// Opens the store in `directory`, creating it (0700) if missing, and removes abandoned temporary files.
    public init(directory: String) throws(DomainError) {
        self.directory = directory
        _ = try ObjectStore.makeDirectory(directory)
        _ = try ObjectStore.makeDirectory(temporaryDirectory)
        removeAbandonedTemporaryFiles()
    }

    /// Where writes in progress live.
    public var temporaryDirectory: String { directory + "/tmp" }

    /// The file holding object `id` (whether or not it exists).
    public func path(of id: ObjectID) -> String {
        let hex = id.hex
        let split = hex.index(hex.startIndex, offsetBy: 2)
        return "\(directory)/\(hex[..<split])/\(hex[split...])"
    }

    // MARK: Writing

    /// Stores `bytes` and returns their id; storing existing content again changes nothing.
    @discardableResult
    public func put(_ bytes: [UInt8]) throws(DomainError) -> ObjectID {
        try store { fd, tempPath, hasher throws(DomainError) in
            let written = bytes.withUnsafeBytes { raw in
                hasher.update(bufferPointer: raw)
                return Result { () throws(DomainError) in try ObjectStore.writeAll(fd, raw, path: tempPath) }
            }
            try written.get()
        }
    }

    /// Stores a copy of the file at `path`, streaming it (memory use does not grow with its size).
    @discardableResult
    public func put(fileAt path: String) throws(DomainError) -> ObjectID {
        let source = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw DomainError.errno("open", path: path) }
        defer { close(source) }
        return try put(readingFrom: source, path: path)
    }

    /// Stores everything read from `descriptor` until its end (a file, a pipe); `path` names it in errors.
    @discardableResult
    public func put(readingFrom descriptor: Int32, path: String = "the input") throws(DomainError) -> ObjectID {
        try store { fd, tempPath, hasher throws(DomainError) in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ObjectStore.chunkSize, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let n = read(descriptor, buffer.baseAddress, buffer.count)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw DomainError.errno("read", path: path)
                }
                if n == 0 { return }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                hasher.update(bufferPointer: chunk)
                try ObjectStore.writeAll(fd, chunk, path: tempPath)
            }
        }
    }

    /// Writes a new object through a locked temporary file: `fill` writes the content and hashes it.
    private func store(
        _ fill: (_ fd: Int32, _ tempPath: String, _ hasher: inout SHA256) throws(DomainError) -> Void
    ) throws(DomainError) -> ObjectID {
        var template = Array("\(temporaryDirectory)/put-XXXXXX".utf8CString)
        var fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0, errno == ENOENT {
            // Someone removed the temporary folder: make it again, once.
            _ = try ObjectStore.makeDirectory(temporaryDirectory)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        }
        guard fd >= 0 else { throw DomainError.errno("create a temporary file in", path: temporaryDirectory) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let tempPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var named = true
        defer {
            // Unlink before closing: the lock is held as long as the name exists.
            if named { unlink(tempPath) }
            close(fd)
        }
        // Held until the rename, so a concurrent open never mistakes this write for a crashed one.
        _ = flock(fd, LOCK_EX | LOCK_NB)
        var hasher = SHA256()
        try fill(fd, tempPath, &hasher)
        guard fsync(fd) == 0 else { throw DomainError.errno("flush object data to", path: tempPath) }
        guard fchmod(fd, 0o444) == 0 else { throw DomainError.errno("make read-only", path: tempPath) }
        let id = ObjectID(digest: hasher.finalize())
        let target = path(of: id)
        let shard = FilePath.directory(of: target)
        let newShard = try ObjectStore.makeDirectory(shard)
        // An existing copy is replaced (same content, so readers see no change): a damaged one is thereby repaired.
        guard rename(tempPath, target) == 0 else { throw DomainError.errno("move the new object to", path: target) }
        named = false
        ObjectStore.syncDirectory(shard)
        if newShard { ObjectStore.syncDirectory(directory) }
        return id
    }

    // MARK: Reading

    /// Whether object `id` is stored.
    public func exists(_ id: ObjectID) -> Bool {
        var info = stat()
        return stat(path(of: id), &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// The size of object `id` in bytes.
    public func size(of id: ObjectID) throws(DomainError) -> Int {
        var info = stat()
        guard stat(path(of: id), &info) == 0 else { throw missingOr(DomainError.errno("read the size of", path: path(of: id)), id) }
        return Int(info.st_size)
    }

    /// The whole content of object `id` (use `open` for large objects).
    public func get(_ id: ObjectID) throws(DomainError) -> [UInt8] {
        do {
            return try FileIO.read(path(of: id))
        } catch {
            throw missingOr(DomainError.system(error), id)
        }
    }

    /// Opens object `id` for reading in chunks.
    public func open(_ id: ObjectID) throws(DomainError) -> ObjectReader {
        let file = path(of: id)
        let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw missingOr(DomainError.errno("open", path: file), id) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = DomainError.errno("read the size of", path: file)
            close(fd)
            throw error
        }
        return ObjectReader(id: id, path: file, size: Int(info.st_size), fd: fd)
    }

    /// Rehashes object `id`: true when its content still matches its id.
    public func verify(_ id: ObjectID) throws(DomainError) -> Bool {
        let reader = try open(id)
        var hasher = SHA256()
        while true {
            let chunk = try reader.read(upTo: ObjectStore.chunkSize)
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        return ObjectID(digest: hasher.finalize()) == id
    }

    /// Every stored object, in id order.
    public func list() throws(DomainError) -> [ObjectID] {
        guard FileIO.isDirectory(directory) else {
            throw DomainError(.notFound, path: directory, message: "the object store \(directory) is missing")
        }
        var ids: [ObjectID] = []
        for shard in FileIO.list(directory) where shard.utf8.count == 2 && shard.utf8.allSatisfy(ObjectID.isHexDigit) {
            for name in FileIO.list(directory + "/" + shard) {
                if let id = ObjectID(shard + name), id.hex == shard + name { ids.append(id) }
            }
        }
        return ids.sorted()
    }

    // MARK: Removing

    /// Removes object `id`; returns whether it was there.
    @discardableResult
    public func delete(_ id: ObjectID) throws(DomainError) -> Bool {
        let file = path(of: id)
        if unlink(file) == 0 { return true }
        if errno == ENOENT { return false }
        throw DomainError.errno("delete", path: file)
    }

    /// Removes temporary files left by writers that crashed (unlocked and older than `age` seconds); returns how many.
    @discardableResult
    public func removeAbandonedTemporaryFiles(olderThan age: Double = ObjectStore.abandonedAfter) -> Int {
        var removed = 0
        let cutoff = Clock.now() - age
        for name in FileIO.list(temporaryDirectory) {
            let file = temporaryDirectory + "/" + name
            let fd = Glibc.open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
                Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9 <= cutoff,
                flock(fd, LOCK_EX | LOCK_NB) == 0
            else { continue }
            // Still the same file under that name (not renamed away and replaced meanwhile)?
            var current = stat()
            guard lstat(file, &current) == 0, current.st_ino == info.st_ino, current.st_dev == info.st_dev else { continue }
            if unlink(file) == 0 { removed += 1 }
        }
        return removed
    }

    // MARK: Helpers

    /// `.notFound` naming the object when `error` is a missing file; `error` otherwise.
    private func missingOr(_ error: DomainError, _ id: ObjectID) -> DomainError {
        guard error.systemCode == ENOENT else { return error }
        return DomainError(
            .notFound, path: path(of: id), message: "no object \(id) in \(directory)", systemCode: ENOENT)
    }

    /// Creates a folder (0700); returns whether it was created, and fails if the path is something else.
    static func makeDirectory(_ path: String) throws(DomainError) -> Bool {
        if mkdir(path, 0o700) == 0 { return true }
        let code = errno
        guard code == EEXIST else {
            throw DomainError.system(SystemError(operation: "create the folder", path: path, code: code))
        }
        guard FileIO.isDirectory(path) else {
            throw DomainError(.notADirectory, path: path, message: "\(path) exists and is not a folder", systemCode: ENOTDIR)
        }
        return false
    }

    /// Writes every byte, retrying on EINTR and short writes.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(DomainError) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw DomainError.errno("write object data to", path: path)
            }
            offset += n
        }
    }

    /// Flushes a folder's entries (a rename into it) to disk; best effort.
    static func syncDirectory(_ path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}

/// A stored object open for reading, front to back; the file is closed on `close()` or when released.
public final class ObjectReader {
    /// The object's id.
    public let id: ObjectID
    /// The object's file.
    public let path: String
    /// The object's size in bytes.
    public let size: Int
    private var fd: Int32

    init(id: ObjectID, path: String, size: Int, fd: Int32) {
        self.id = id
        self.path = path
        self.size = size
        self.fd = fd
    }

    deinit { close() }

    /// The next bytes, at most `count`; empty at the end.
    public func read(upTo count: Int = 1 << 16) throws(DomainError) -> [UInt8] {
        guard fd >= 0 else { throw DomainError(.io, path: path, message: "cannot read \(path): it was closed", systemCode: EBADF) }
        var buffer = [UInt8](repeating: 0, count: max(1, count))
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DomainError.errno("read", path: path)
            }
            buffer.removeLast(buffer.count - n)
            return buffer
        }
    }

    /// Closes the file; later reads fail.
    public func close() {
        if fd >= 0 {
            Glibc.close(fd)
            fd = -1
        }
    }
}
