import CoreSupport
import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

@Suite("AtomicFile and FileIO")
struct AtomicFileTests {
    func mode(_ path: String) -> mode_t {
        var info = stat()
        guard stat(path, &info) == 0 else { return 0 }
        return info.st_mode & 0o7777
    }

    func contents(_ path: String) -> String? {
        (try? FileIO.read(path)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Names in `dir` that look like AtomicFile's temporary files.
    func leftovers(_ dir: String) -> [String] {
        FileIO.list(dir).filter { $0.contains(".wb-tmp-") }
    }

    @Test func writesANewFileWithTheGivenMode() throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/new.ipynb"
        try AtomicFile.write("hello\n", to: path)
        #expect(contents(path) == "hello\n")
        #expect(mode(path) == 0o644)
        let secret = dir + "/secret.json"
        try AtomicFile.write(Array("{}".utf8), to: secret, mode: 0o600)
        #expect(mode(secret) == 0o600)
        #expect(leftovers(dir).isEmpty)
    }

    @Test(arguments: [0o600, 0o640, 0o755, 0o444] as [mode_t])
    func replacingAFileKeepsItsPermissions(_ original: mode_t) throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/nb.ipynb"
        try AtomicFile.write("old", to: path, mode: original)
        #expect(mode(path) == original)
        try AtomicFile.write("new content", to: path)
        #expect(contents(path) == "new content")
        #expect(mode(path) == original)
        #expect(leftovers(dir).isEmpty)
    }

    @Test func aFailedReplaceLeavesTheTargetAndNoTemporaryFile() throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // rename() cannot put a file over a directory: the write fails after the temporary file exists.
        let target = dir + "/occupied"
        try FileIO.createDirectory(target)
        try AtomicFile.write("inside", to: target + "/keep.txt")
        #expect(throws: SystemError.self) { try AtomicFile.write("new", to: target) }
        #expect(FileIO.isDirectory(target))
        #expect(contents(target + "/keep.txt") == "inside")
        #expect(leftovers(dir).isEmpty)
    }

    @Test func whenNoTemporaryFileCanBeMadeTheOldContentSurvives() throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A name that fits NAME_MAX while the temporary name beside it does not: mkstemp fails even for root.
        let path = dir + "/" + String(repeating: "n", count: 245)
        try Data("old content".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o640)
        do {
            try AtomicFile.write("new", to: path)
            Issue.record("the write succeeded")
        } catch {
            #expect(error.path == path)
            #expect(error.description.contains(path))
        }
        #expect(contents(path) == "old content")
        #expect(mode(path) == 0o640)
        #expect(leftovers(dir).isEmpty)
    }

    @Test(.enabled(if: geteuid() != 0, "root writes into read-only directories"))
    func aDirectoryThatIsNotWritableKeepsTheOldFile() throws {
        let dir = try Scratch.directory()
        defer {
            chmod(dir, 0o755)
            try? FileManager.default.removeItem(atPath: dir)
        }
        let path = dir + "/nb.ipynb"
        try AtomicFile.write("old", to: path)
        chmod(dir, 0o555)
        #expect(throws: SystemError.self) { try AtomicFile.write("new", to: path) }
        chmod(dir, 0o755)
        #expect(contents(path) == "old")
        #expect(leftovers(dir).isEmpty)
    }

    @Test func aMissingDirectoryIsAnErrorNamingThePath() {
        let path = "/nonexistent-wb-dir-\(UUID().uuidString)/x.ipynb"
        do {
            try AtomicFile.write("x", to: path)
            Issue.record("the write succeeded")
        } catch {
            #expect(error.code == ENOENT)
            #expect(error.description.contains(path))
        }
    }

    @Test func writingThroughASymlinkReplacesTheTargetAndKeepsTheLink() throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileIO.createDirectory(dir + "/real")
        let target = dir + "/real/nb.ipynb"
        try AtomicFile.write("old", to: target, mode: 0o600)
        let link = dir + "/link.ipynb"
        #expect(symlink("real/nb.ipynb", link) == 0)
        try AtomicFile.write("new", to: link)
        var info = stat()
        #expect(lstat(link, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK)
        #expect(contents(target) == "new")
        #expect(mode(target) == 0o600)
        #expect(leftovers(dir).isEmpty && leftovers(dir + "/real").isEmpty)
    }

    @Test func largeWritesArriveWhole() throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/big.bin"
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try AtomicFile.write(bytes, to: path)
        let identical = try FileIO.read(path) == bytes
        #expect(identical)
    }

    @Test func fileIOErrorsAndHelpers() throws {
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            _ = try FileIO.read(dir + "/missing")
            Issue.record("read a missing file")
        } catch {
            #expect(error.code == ENOENT)
            #expect(error.description == "cannot open \(dir)/missing: No such file or directory")
        }
        try AtomicFile.write([0x61, 0xFF], to: dir + "/bad.txt")
        #expect(throws: SystemError.self) { try FileIO.readText(dir + "/bad.txt") }
        try FileIO.createDirectory(dir + "/a/b/c")
        #expect(FileIO.isDirectory(dir + "/a/b/c"))
        try FileIO.createDirectory(dir + "/a/b/c")
        #expect(FileIO.list(dir + "/a") == ["b"])
        #expect(FileIO.list(dir) == ["a", "bad.txt"])
        #expect(FileIO.exists(dir + "/bad.txt"))
        #expect(!FileIO.exists(dir + "/nope"))
        #expect(FilePath.directory(of: "/x") == "/")
        #expect(FilePath.directory(of: "x") == ".")
        #expect(FilePath.directory(of: "a/b/c.ipynb") == "a/b")
        #expect(FilePath.lastComponent(of: "a/b/c.ipynb") == "c.ipynb")
        #expect(FilePath.pathExtension("a/b/C.IPYNB") == "ipynb")
        #expect(FilePath.pathExtension("a.d/.hidden") == "")
        #expect(FilePath.join("a", "/b", "c") == "/b/c")
        #expect(FilePath.join("a/", "b") == "a/b")
    }
}
