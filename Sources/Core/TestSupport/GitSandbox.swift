import Foundation

/// A private HOME and git configuration for the whole test process, set before libgit2 starts,
/// so the user's own git configuration never leaks into the tests.
///
/// libgit2 reads HOME once, when it is initialised, to find the global configuration; after that a
/// new HOME changes nothing. All test targets run in one process, so every test that calls libgit2
/// in-process (the Git module) touches `GitSandbox.home` first, whichever target it is in: the one
/// shared static sets the environment once, before the first `git_libgit2_init`.
public enum GitSandbox {
    /// The sandbox's HOME: a `.gitconfig` with `init.defaultBranch = main` and deliberately no
    /// identity (tests that commit set one in the repository's own config).
    public static let home: String = {
        let home = try! Scratch.directory("git-home")
        try! Data("[init]\n\tdefaultBranch = main\n".utf8).write(to: URL(fileURLWithPath: home + "/.gitconfig"), options: .atomic)
        setenv("HOME", home, 1)
        setenv("XDG_CONFIG_HOME", home + "/.config", 1)
        setenv("GIT_CONFIG_GLOBAL", home + "/.gitconfig", 1)
        setenv("GIT_CONFIG_NOSYSTEM", "1", 1)
        // The machine's https settings too (GIT_SSL_CAINFO is often set to the system bundle): the
        // https tests choose what to trust.
        for name in [
            "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_DIR", "GIT_WORK_TREE",
            "GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_SSL_NO_VERIFY",
        ] {
            unsetenv(name)
        }
        return home
    }()

    /// The environment for the `git` command line in cross-checks.
    public static var environment: [String: String] {
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
