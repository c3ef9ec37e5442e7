import CGit2
import Crypto
#if canImport(Glibc)
import Glibc
#endif

/// `.git/index` read straight from the file, for the status fast path: its entries (as libgit2's
/// `git_index_entry`, paths pointing into the file's bytes) and its cache-tree root.
///
/// It lets status scan the working tree while libgit2 starts on another thread (libgit2 1.5
/// parses the system's CA bundle when it starts, and loading a 10,000-entry index costs as
/// much again). It reads versions 2 and 3 only, and gives up (nil) on anything it does not
/// understand — version 4, a split index, a truncated or malformed file — so that status then
/// goes the usual way through libgit2, which reports what is wrong. The trailing SHA-1 is
/// checked by `checksumMatches()`, which status runs off the main thread.
final class IndexFile {
    /// The file's bytes; entry paths point into them.
    private let bytes: UnsafeMutableRawBufferPointer
    /// The entries in file order, with `path` set.
    let entries: [git_index_entry]
    /// The valid cache-tree root (lowercase hex), nil when absent or invalidated.
    let cacheTreeRoot: String?
    /// The file's modification time (seconds), for racy-git checks.
    let modificationTime: Int
    let path: String

    private init(bytes: UnsafeMutableRawBufferPointer, entries: [git_index_entry], cacheTreeRoot: String?, modificationTime: Int, path: String) {
        self.bytes = bytes
        self.entries = entries
        self.cacheTreeRoot = cacheTreeRoot
        self.modificationTime = modificationTime
        self.path = path
    }

    deinit { bytes.deallocate() }

    /// The trailing checksum, as libgit2's `git_index_checksum` gives it (lowercase hex).
    var checksum: String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        for byte in bytes[(bytes.count - 20)...] {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// Whether the trailing SHA-1 is the hash of everything before it (as git and libgit2 check).
    func checksumMatches() -> Bool {
        let body = UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - 20)])
        let digest = Insecure.SHA1.hash(data: body)
        return digest.elementsEqual(bytes[(bytes.count - 20)...])
    }

    /// Reads the index at `path`; nil when it is missing, not a version this reader handles, or malformed.
    static func read(_ path: String) -> IndexFile? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size >= 12 + 20, info.st_size < 1 << 31 else { return nil }
        let size = Int(info.st_size)
        // One NUL past the end, so that a path running into the checksum still ends somewhere.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size + 1, alignment: 8)
        buffer[size] = 0
        var done = 0
        while done < size {
            let n = Glibc.read(fd, buffer.baseAddress! + done, size - done)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                buffer.deallocate()
                return nil
            }
            done += n
        }
        let view = UnsafeMutableRawBufferPointer(rebasing: buffer[..<size])
        guard let (entries, root) = parse(view) else {
            buffer.deallocate()
            return nil
        }
        return IndexFile(bytes: view, entries: entries, cacheTreeRoot: root, modificationTime: Int(info.st_mtim.tv_sec), path: path)
    }

    private static func parse(_ bytes: UnsafeMutableRawBufferPointer) -> ([git_index_entry], String?)? {
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        func u32(_ at: Int) -> UInt32 {
            UInt32(base[at]) << 24 | UInt32(base[at + 1]) << 16 | UInt32(base[at + 2]) << 8 | UInt32(base[at + 3])
        }
        func u16(_ at: Int) -> UInt16 { UInt16(base[at]) << 8 | UInt16(base[at + 1]) }
        let end = bytes.count - 20
        guard base[0] == 0x44, base[1] == 0x49, base[2] == 0x52, base[3] == 0x43 else { return nil }  // "DIRC"
        let version = u32(4)
        guard version == 2 || version == 3 else { return nil }
        let count = Int(u32(8))
        guard count <= (end - 12) / 62 else { return nil }
        var entries: [git_index_entry] = []
        entries.reserveCapacity(count)
        var offset = 12
        for _ in 0..<count {
            guard offset + 62 <= end else { return nil }
            var entry = git_index_entry()
            entry.ctime = git_index_time(seconds: Int32(bitPattern: u32(offset)), nanoseconds: u32(offset + 4))
            entry.mtime = git_index_time(seconds: Int32(bitPattern: u32(offset + 8)), nanoseconds: u32(offset + 12))
            entry.dev = u32(offset + 16)
            entry.ino = u32(offset + 20)
            entry.mode = u32(offset + 24)
            entry.uid = u32(offset + 28)
            entry.gid = u32(offset + 32)
            entry.file_size = u32(offset + 36)
            withUnsafeMutableBytes(of: &entry.id) { id in
                id.copyMemory(from: UnsafeRawBufferPointer(start: base + offset + 40, count: 20))
            }
            entry.flags = u16(offset + 60)
            var pathStart = offset + 62
            if entry.flags & 0x4000 != 0 {
                guard version == 3, pathStart + 2 <= end else { return nil }
                entry.flags_extended = u16(pathStart)
                pathStart += 2
            }
            var nul = pathStart
            while nul < end, base[nul] != 0 { nul += 1 }
            guard nul < end, nul > pathStart else { return nil }
            entry.path = UnsafeRawPointer(base + pathStart).assumingMemoryBound(to: CChar.self)
            entries.append(entry)
            // Each entry is padded with 1 to 8 NULs to a multiple of 8 bytes.
            offset += (nul - offset + 8) & ~7
        }
        guard offset <= end else { return nil }
        var root: String?
        while offset + 8 <= end {
            let size = Int(u32(offset + 4))
            let data = offset + 8
            guard data + size <= end else { return nil }
            let signature = (base[offset], base[offset + 1], base[offset + 2], base[offset + 3])
            // A split index ("link") keeps entries in another file: not for this reader.
            if signature == (0x6C, 0x69, 0x6E, 0x6B) { return nil }
            // A sparse index ("sdir") has folder entries: not for this reader either.
            if signature == (0x73, 0x64, 0x69, 0x72) { return nil }
            if signature == (0x54, 0x52, 0x45, 0x45) {  // "TREE"
                root = CacheTree.root(Array(UnsafeRawBufferPointer(start: base + data, count: size))[...])
            }
            offset = data + size
        }
        return (entries, root)
    }
}
