import CoreSupport
import Foundation
import Git
import Notebook
import TestSupport
import Testing

/// A private HOME and git configuration for the whole test process, set before libgit2 starts,
/// so the user's own git configuration never leaks into the tests.
enum GitSandbox {
    static let home: String = {
        let home = try! Scratch.directory("git-home")
        // Deliberately no identity here: tests that commit set one in the repository's own config.
        try! AtomicFile.write("[init]\n\tdefaultBranch = main\n", to: home + "/.gitconfig")
        setenv("HOME", home, 1)
        setenv("XDG_CONFIG_HOME", home + "/.config", 1)
        setenv("GIT_CONFIG_GLOBAL", home + "/.gitconfig", 1)
        setenv("GIT_CONFIG_NOSYSTEM", "1", 1)
        for name in ["GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_DIR", "GIT_WORK_TREE"] {
            unsetenv(name)
        }
        return home
    }()

    /// The environment for the `git` command line in cross-checks.
    static var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["HOME"] = home
        env["XDG_CONFIG_HOME"] = home + "/.config"
        env["GIT_CONFIG_GLOBAL"] = home + "/.gitconfig"
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["GIT_AUTHOR_NAME"] = "Cross Check"
        env["GIT_AUTHOR_EMAIL"] = "cross@example.com"
        env["GIT_COMMITTER_NAME"] = "Cross Check"
        env["GIT_COMMITTER_EMAIL"] = "cross@example.com"
        return env
    }
}

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
