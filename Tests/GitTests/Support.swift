import CoreSupport
import Foundation
import Git
import Notebook
import TestSupport
import Testing

/// Runs the `git` command line (only to set up and cross-check; the product never does).
@discardableResult
func git(_ arguments: [String], in directory: String, allowFailure: Bool = false) throws -> String {
    let result = try Command.run(["/usr/bin/git"] + arguments, environment: GitSandbox.environment, cwd: directory)
    if result.status != 0, !allowFailure {
        throw GitCommandFailure(description: "git \(arguments.joined(separator: " ")) failed (\(result.status)):\n\(result.stderr)")
    }
    return result.stdout
}

/// A fresh repository in a scratch folder, with an identity in its own configuration.
func makeRepository(_ name: String = "repo", identity: Bool = true, bare: Bool = false) throws -> (Repository, String) {
    _ = GitSandbox.home
    let dir = try Scratch.directory(name)
    let repo = try Repository.create(at: dir, bare: bare)
    if identity {
        try repo.setConfig("user.name", "Ada Lovelace")
        try repo.setConfig("user.email", "ada@example.com")
    }
    return (repo, dir)
}

func write(_ text: String, _ path: String, in dir: String) throws {
    let full = FilePath.join(dir, path)
    try FileIO.createDirectory(FilePath.directory(of: full))
    try AtomicFile.write(text, to: full)
}

/// A remote round trip: `clone` commits a change to README.md as another author and pushes it; `first`
/// (which has README.md "hello\n" at the remote's `main`) fetches and fast-forwards to it; git checks the bare remote.
func pushFromCloneAndPull(clone: Repository, at cloneDir: String, into first: Repository, at firstDir: String, bare: String) throws {
    try clone.setConfig("user.name", "Grace Hopper")
    try clone.setConfig("user.email", "grace@example.com")
    try write("hello again\n", "README.md", in: cloneDir)
    try clone.add(["README.md"])
    let second = try clone.commit(message: "second")
    try clone.push()
    let fetched = try first.fetch("origin")
    #expect(fetched.updated.map(\.ref) == ["origin/main"])
    #expect(try first.pull() == .fastForward(to: second.id))
    #expect(try FileIO.readText(firstDir + "/README.md") == "hello again\n")
    _ = try git(["fsck", "--strict"], in: bare)
}

/// A notebook with code cells of the given sources (ids c0, c1, ...), outputs as given.
func notebook(_ sources: [String], outputs: [Int: String] = [:], ids: Bool = true) -> Notebook {
    var nb = Notebook(metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
    for (i, source) in sources.enumerated() {
        var cell = Cell(.code, source: source, id: ids ? "c\(i)" : nil)
        if let text = outputs[i] {
            cell.outputs = [Output.stream(name: "stdout", text: text)]
            cell.executionCount = i + 1
        }
        nb.cells.append(cell)
    }
    if !ids { nb.nbformatMinor = 4 }
    return nb
}

struct GitCommandFailure: Error, CustomStringConvertible {
    var description: String
}
