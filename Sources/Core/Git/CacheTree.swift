#if canImport(Glibc)
import Glibc
#endif

/// The root of the index's cache-tree (the `TREE` extension of `.git/index`), read straight from the file.
///
/// git (and libgit2) keep the id of the tree the index would write, invalidating it on every change
/// to the index; when it is valid and equals HEAD's tree, nothing is staged, and status need not
/// compare HEAD with the index entry by entry (git's own status skips unchanged folders the same way).
enum CacheTree {
    /// The valid root tree id recorded in the index file (lowercase hex), or nil: no extension, an
    /// invalidated root, an index version this reader does not walk, or a file it cannot make sense of.
    static func rootTree(indexPath: String) -> String? {
        let fd = open(indexPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 12 + 20, info.st_size < 1 << 31 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return rootTree(in: bytes)
    }

    /// The same, from the index file's bytes.
    static func rootTree(in bytes: [UInt8]) -> String? {
        func u32(_ at: Int) -> Int {
            Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
        }
        let end = bytes.count - 20  // the trailing checksum
        guard end >= 12, bytes[0] == 0x44, bytes[1] == 0x49, bytes[2] == 0x52, bytes[3] == 0x43 else { return nil }  // "DIRC"
        let version = u32(4)
        guard version == 2 || version == 3 else { return nil }
        var offset = 12
        for _ in 0..<u32(8) {
            // ctime, mtime, dev, ino, mode, uid, gid, size (40 bytes), id (20), flags (2).
            guard offset + 62 <= end else { return nil }
            let flags = Int(bytes[offset + 60]) << 8 | Int(bytes[offset + 61])
            var pathStart = offset + 62
            if flags & 0x4000 != 0 {
                guard version == 3 else { return nil }
                pathStart += 2
            }
            var nul = pathStart
            while nul < end, bytes[nul] != 0 { nul += 1 }
            guard nul < end else { return nil }
            // Each entry is padded with 1 to 8 NULs to a multiple of 8 bytes.
            offset += (nul - offset + 8) & ~7
        }
        while offset + 8 <= end {
            let size = u32(offset + 4)
            let isTree = bytes[offset] == 0x54 && bytes[offset + 1] == 0x52 && bytes[offset + 2] == 0x45 && bytes[offset + 3] == 0x45
            let data = offset + 8
            guard data + size <= end else { return nil }
            if isTree { return root(bytes[data..<(data + size)]) }
            offset = data + size
        }
        return nil
    }

    /// The root entry of a `TREE` extension: `"" NUL count SP subtrees LF id` (no id when count is -1).
    static func root(_ data: ArraySlice<UInt8>) -> String? {
        var i = data.startIndex
        guard i < data.endIndex, data[i] == 0 else { return nil }  // the root's path is empty
        i += 1
        var count = 0
        var negative = false
        if i < data.endIndex, data[i] == 0x2D {
            negative = true
            i += 1
        }
        while i < data.endIndex, data[i] >= 0x30, data[i] <= 0x39 {
            count = count * 10 + Int(data[i] - 0x30)
            i += 1
        }
        guard !negative, count >= 0 else { return nil }
        while i < data.endIndex, data[i] != 0x0A { i += 1 }
        i += 1
        guard i + 20 <= data.endIndex else { return nil }
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(40)
        for byte in data[i..<(i + 20)] {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
