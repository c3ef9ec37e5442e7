import CoreSupport
import Foundation
import Git
import TestSupport
import Testing

@Suite struct RepositoryTests {
    @Test func initThenOpenFromASubfolderFindsTheRepository() throws {
        let (_, dir) = try makeRepository()
        try FileIO.createDirectory(dir + "/a/b")
        let repo = try Repository.open(dir + "/a/b")
        #expect(FilePath.absolute(repo.workingDirectory!).hasSuffix(FilePath.lastComponent(of: dir) + "/"))
        #expect(repo.isBare == false)
        #expect(try repo.head() == .unborn(branch: "main"))
        // The git command line sees a valid repository.
        #expect(try git(["rev-parse", "--is-inside-work-tree"], in: dir + "/a") == "true\n")
    }

    @Test func aFolderOutsideAnyRepositoryIsAClearError() throws {
        _ = GitSandbox.home
        let dir = try Scratch.directory("plain")
        let error = #expect(throws: GitError.self) { try Repository.open(dir) }
        #expect(error?.code == .notARepository)
        #expect(error?.message.contains("not a git repository") == true)
        #expect(error?.message.contains("wb git init") == true)
    }

    @Test func bareRepositoriesOpenButRefuseWorkingTreeOperations() throws {
        let (_, dir) = try makeRepository("bare", bare: true)
        let repo = try Repository.open(dir)
        #expect(repo.isBare)
        #expect(repo.workingDirectory == nil)
        let error = #expect(throws: GitError.self) { try repo.status() }
        #expect(error?.code == .bareRepository)
        #expect(error?.message.contains("bare repository") == true)
    }

    @Test func detachedHeadIsReported() throws {
        let (repo, dir) = try makeRepository()
        try write("one\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        let first = try repo.commit(message: "one")
        try write("two\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        try repo.commit(message: "two")
        try git(["checkout", "-q", "--detach", first.id.hex], in: dir)
        let reopened = try Repository.open(dir)
        #expect(try reopened.head() == .detached(commit: first.id))
        #expect(try reopened.status().head.branchName == nil)
    }

    @Test func aDamagedHeadGivesAClearError() throws {
        let (repo, dir) = try makeRepository()
        try write("x\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        try repo.commit(message: "x")
        try AtomicFile.write("this is not a ref\n", to: dir + "/.git/HEAD")
        let error = #expect(throws: GitError.self) { try Repository.open(dir) }
        #expect(error?.code == .corrupt || error?.code == .notARepository)
        #expect(error.map { $0.description.contains(dir) || $0.description.contains("damaged") } == true)
    }

    @Test func aMissingCommitObjectGivesAClearCorruptionError() throws {
        let (repo, dir) = try makeRepository()
        try write("x\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        let commit = try repo.commit(message: "x")
        // Remove the loose object of the commit HEAD points to.
        let object = dir + "/.git/objects/" + commit.id.hex.prefix(2) + "/" + commit.id.hex.dropFirst(2)
        try FileManager.default.removeItem(atPath: String(object))
        let error = #expect(throws: GitError.self) { try Repository.open(dir) }
        #expect(error?.code == .corrupt)
        #expect(error?.message.contains("damaged") == true)
        #expect(error?.path?.contains(".git") == true)
    }

    @Test func aGarbledObjectGivesAClearCorruptionError() throws {
        let (repo, dir) = try makeRepository()
        try write("x\n", "a.txt", in: dir)
        try repo.add(["a.txt"])
        let commit = try repo.commit(message: "x")
        let object = dir + "/.git/objects/" + commit.id.hex.prefix(2) + "/" + commit.id.hex.dropFirst(2)
        chmod(String(object), 0o644)
        try AtomicFile.write("garbage, not zlib", to: String(object))
        let error = #expect(throws: GitError.self) { try Repository.open(dir) }
        #expect(error?.code == .corrupt)
    }
}
