import CoreSupport
import Storage
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SHA-256 of a file by the system's `sha256sum`, as an independent check of the store's hashing.
func systemSHA256(_ path: String) async throws -> String {
    let out = path + ".sha256"
    defer { unlink(out) }
    let child = try ChildProcess(argv: ["sha256sum", path], environment: Environment.all(), output: .file(out))
    guard await child.wait(timeout: 120) == .exited(0) else { throw TimedOutWaiting() }
    return String(try FileIO.readText(out).prefix(64))
}

/// Sets a file's modification time `seconds` into the past.
func age(_ path: String, by seconds: Int) {
    let then = timespec(tv_sec: time(nil) - seconds, tv_nsec: 0)
    let times = [then, then]
    _ = utimensat(AT_FDCWD, path, times, 0)
}

@Suite("ObjectStore: content-addressed, read-only files")
struct ObjectStoreTests {
    let helloHex = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    let emptyHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    func store() throws -> ObjectStore {
        try ObjectStore(directory: FilePath.join(try Scratch.directory("objects"), "objects"))
    }

    func cleanUp(_ store: ObjectStore) {
        removeTree(FilePath.directory(of: store.directory))
    }

    @Test func bytesGoInAndComeBackUnderTheirSHA256() throws {
        let store = try store()
        defer { cleanUp(store) }
        let id = try store.put(Array("hello".utf8))
        #expect(id.hex == helloHex)
        #expect(id.prefixed == "sha256:" + helloHex)
        #expect("\(id)" == "sha256:" + helloHex)
        #expect(store.path(of: id) == store.directory + "/2c/" + String(helloHex.dropFirst(2)))
        #expect(permissions(store.path(of: id)) == 0o444)
        #expect(store.exists(id))
        #expect(try store.size(of: id) == 5)
        #expect(try store.get(id) == Array("hello".utf8))
        #expect(try store.verify(id))

        let empty = try store.put([])
        #expect(empty.hex == emptyHex)
        #expect(try store.get(empty) == [])
        #expect(try store.list() == [id, empty].sorted())
    }

    @Test func puttingTheSameContentTwiceStoresItOnce() throws {
        let store = try store()
        defer { cleanUp(store) }
        let first = try store.put(Array("same".utf8))
        let second = try store.put(Array("same".utf8))
        #expect(first == second)
        #expect(try store.get(first) == Array("same".utf8))
        #expect(permissions(store.path(of: first)) == 0o444)
        #expect(try store.list() == [first])
        #expect(FileIO.list(store.temporaryDirectory).isEmpty)
    }

    @Test func aLargeFileIsStreamedAndHashedLikeSha256sum() async throws {
        let store = try store()
        defer { cleanUp(store) }
        // 24 MiB plus a ragged tail: more than a few chunks, not a multiple of the chunk size.
        let source = FilePath.join(FilePath.directory(of: store.directory), "big.bin")
        let fd = open(source, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        var block = [UInt8](repeating: 0, count: 1 << 20)
        for i in 0..<24 {
            for j in stride(from: 0, to: block.count, by: 4096) { block[j] = UInt8(truncatingIfNeeded: i &* 31 &+ j >> 12) }
            #expect(block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == block.count)
        }
        #expect(write(fd, "tail", 4) == 4)
        close(fd)

        let id = try store.put(fileAt: source)
        #expect(id.hex == (try await systemSHA256(source)))
        #expect(try store.size(of: id) == 24 << 20 + 4)
        #expect(try store.verify(id))
        #expect(try store.put(fileAt: source) == id)

        // Read back in chunks, never whole.
        let reader = try store.open(id)
        #expect(reader.size == 24 << 20 + 4)
        var total = 0
        var last: [UInt8] = []
        while true {
            let chunk = try reader.read(upTo: 1_000_003)
            if chunk.isEmpty { break }
            total += chunk.count
            last = chunk
        }
        #expect(total == reader.size)
        #expect(Array(last.suffix(4)) == Array("tail".utf8))
    }

    /// The process's peak resident memory in bytes, from `/proc/self/status`.
    static func peakMemory() -> Int? {
        guard let status = try? FileIO.readText("/proc/self/status"),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return nil }
        return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
    }

    @Test func streamingAFileKeepsMemoryFlat() throws {
        // Reset the peak to the current use (Linux), so the put's own peak is what is measured.
        let clear = open("/proc/self/clear_refs", O_WRONLY)
        guard clear >= 0 else { return }
        let reset = write(clear, "5", 1) == 1
        close(clear)
        guard reset, let before = ObjectStoreTests.peakMemory() else { return }
        let store = try store()
        defer { cleanUp(store) }
        // A sparse 256 MiB file: no disk to read, but every byte goes through the hash and the copy.
        let source = FilePath.join(FilePath.directory(of: store.directory), "sparse.bin")
        let fd = open(source, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0 && ftruncate(fd, 256 << 20) == 0)
        close(fd)
        let id = try store.put(fileAt: source)
        #expect(try store.size(of: id) == 256 << 20)
        let grown = (ObjectStoreTests.peakMemory() ?? 0) - before
        // Other tests run alongside, so the bound is loose; loading the file would add 256 MiB.
        #expect(grown < 96 << 20, "peak memory grew by \(grown >> 20) MiB")
    }

    @Test func aReaderReadsInChunksAndFailsOnceClosed() throws {
        let store = try store()
        defer { cleanUp(store) }
        let id = try store.put(Array("abcdefgh".utf8))
        let reader = try store.open(id)
        #expect(try reader.read(upTo: 3) == Array("abc".utf8))
        #expect(try reader.read(upTo: 3) == Array("def".utf8))
        #expect(try reader.read(upTo: 3) == Array("gh".utf8))
        #expect(try reader.read(upTo: 3) == [])
        reader.close()
        #expect(throws: DomainError.self) { try reader.read() }
    }

    @Test func verifyNoticesContentThatNoLongerMatchesItsID() throws {
        let store = try store()
        defer { cleanUp(store) }
        let id = try store.put(Array("precious".utf8))
        let file = store.path(of: id)
        chmod(file, 0o644)
        try AtomicFile.write("tampered", to: file)
        #expect(try store.verify(id) == false)
        // Putting the original again repairs it: the new copy replaces the damaged one.
        #expect(try store.put(Array("precious".utf8)) == id)
        #expect(try store.verify(id))
    }

    @Test func deletingAndMissingObjects() throws {
        let store = try store()
        defer { cleanUp(store) }
        let id = try store.put(Array("gone soon".utf8))
        #expect(try store.delete(id))
        #expect(try store.delete(id) == false)
        #expect(!store.exists(id))
        func expectMissing(_ error: DomainError) {
            #expect(error.code == .notFound)
            #expect(error.message == "no object \(id) in \(store.directory)")
        }
        expectMissing(try #require(throws: DomainError.self) { try store.get(id) })
        expectMissing(try #require(throws: DomainError.self) { try store.size(of: id) })
        expectMissing(try #require(throws: DomainError.self) { try store.open(id) })
        expectMissing(try #require(throws: DomainError.self) { try store.verify(id) })
        let missing = FilePath.join(store.directory, "no-such-file")
        let error = try #require(throws: DomainError.self) { try store.put(fileAt: missing) }
        #expect(error.code == .notFound)
        #expect(error.message.contains(missing))
    }

    @Test func listingIgnoresWhatIsNotAnObject() throws {
        let store = try store()
        defer { cleanUp(store) }
        let ids = [try store.put(Array("a".utf8)), try store.put(Array("b".utf8)), try store.put(Array("c".utf8))]
        try AtomicFile.write("notes", to: FilePath.join(store.directory, "README"))
        try FileIO.createDirectory(FilePath.join(store.directory, "zz"))
        try AtomicFile.write("x", to: FilePath.join(store.directory, "zz", String(repeating: "0", count: 62)))
        try AtomicFile.write("x", to: FilePath.join(store.directory, String(ids[0].hex.prefix(2)), "short"))
        #expect(try store.list() == ids.sorted())
    }

    @Test func idsParseWithOrWithoutThePrefix() throws {
        #expect(ObjectID(helloHex)?.hex == helloHex)
        #expect(ObjectID("sha256:" + helloHex)?.hex == helloHex)
        #expect(ObjectID("sha256:" + helloHex.uppercased())?.hex == helloHex)
        #expect(ObjectID("sha256:" + helloHex.dropLast()) == nil)
        #expect(ObjectID("md5:" + helloHex) == nil)
        #expect(ObjectID(String(helloHex.dropLast()) + "g") == nil)
        let error = try #require(throws: DomainError.self) { try ObjectID(parsing: "nope") }
        #expect(error.code == .invalidID)
        #expect(error.message.contains("\"nope\""))
    }

    @Test func temporaryFilesOfCrashedWritersAreCleanedOnOpen() throws {
        let store = try store()
        defer { cleanUp(store) }
        let crashed = FilePath.join(store.temporaryDirectory, "put-crashd")
        let fresh = FilePath.join(store.temporaryDirectory, "put-fresh1")
        let live = FilePath.join(store.temporaryDirectory, "put-live01")
        for file in [crashed, fresh, live] { try AtomicFile.write("partial", to: file) }
        age(crashed, by: 3600)
        age(live, by: 3600)
        // A writer still running holds its temporary file locked, however old it is.
        let writer = open(live, O_RDONLY)
        defer { close(writer) }
        #expect(flock(writer, LOCK_EX) == 0)

        _ = try ObjectStore(directory: store.directory)
        #expect(!FileIO.exists(crashed))
        #expect(FileIO.exists(fresh))  // Too young to judge: its writer may not have locked it yet.
        #expect(FileIO.exists(live))
        #expect(store.removeAbandonedTemporaryFiles(olderThan: 0) == 1)
        #expect(FileIO.list(store.temporaryDirectory) == ["put-live01"])
    }

    @Test func threadsPuttingTheSameContentAgree() async throws {
        let store = try store()
        defer { cleanUp(store) }
        let content = [UInt8](repeating: 7, count: 3 << 20)
        let ids = try await race(8) { _ in try store.put(content) }
        #expect(Set(ids).count == 1)
        #expect(try store.list() == [ids[0]])
        #expect(try store.verify(ids[0]))
        #expect(FileIO.list(store.temporaryDirectory).isEmpty)
    }

    @Test(.enabled(if: TinyDisk.available)) func aFullDiskSaysWhatAndWhereAndLeavesNothingBehind() throws {
        guard let disk = try TinyDisk.mount(size: "256k") else { return }
        defer { disk.remove() }
        let store = try ObjectStore(directory: FilePath.join(disk.path, "objects"))

        let error = try #require(throws: DomainError.self) { try store.put([UInt8](repeating: 1, count: 1 << 20)) }
        #expect(error.code == .io)
        #expect(error.isDiskFull)
        #expect(error.message.contains("write object data to \(store.temporaryDirectory)/put-"))
        #expect(error.message.contains("No space left on device"))
        #expect(FileIO.list(store.temporaryDirectory).isEmpty)

        // Streaming from a file fails the same way.
        let source = FilePath.join(try Scratch.directory("objects-source"), "big.bin")
        defer { removeTree(FilePath.directory(of: source)) }
        try AtomicFile.write([UInt8](repeating: 2, count: 1 << 20), to: source)
        let streamed = try #require(throws: DomainError.self) { try store.put(fileAt: source) }
        #expect(streamed.isDiskFull)
        #expect(FileIO.list(store.temporaryDirectory).isEmpty)

        // The store still works for what fits.
        let small = try store.put(Array("fits".utf8))
        #expect(try store.get(small) == Array("fits".utf8))
    }
}
