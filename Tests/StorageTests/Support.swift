import CoreSupport
import Storage
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Temporary folders for real database files: under `$WB_TEST_SCRATCH` when set, else /tmp.
enum Scratch {
    static func directory(_ label: String = "storage") throws -> String {
        let base = Environment.nonEmpty("WB_TEST_SCRATCH") ?? "/tmp"
        try FileIO.createDirectory(base)
        var template = Array("\(base)/wb-\(label)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw SystemError.errno("create a scratch directory in", path: base) }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// A path for a new database file in a fresh scratch directory.
    static func databasePath(_ name: String = "store.db") throws -> String {
        FilePath.join(try directory(), name)
    }

    /// Removes a scratch directory and its files (best effort).
    static func remove(_ directory: String) {
        for name in FileIO.list(directory) { unlink(FilePath.join(directory, name)) }
        rmdir(directory)
    }
}

/// A flag another thread can raise (a custom SQL function raises it when a long query has started).
final class Flag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .sequentiallyConsistent) }
    var isRaised: Bool { raised.load(ordering: .sequentiallyConsistent) }
}

/// Waits (polling, not a fixed sleep) until `condition` holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 60, _ condition: () -> Bool) async -> Bool {
    let deadline = Clock.monotonic() + seconds
    while Clock.monotonic() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return condition()
}

/// A query that counts to a billion: minutes of work, so only an interruption or a deadline ends it early.
/// `started()` (registered by `withStartSignal`) raises a flag as soon as the query runs.
let countToABillion = """
    WITH RECURSIVE c(x) AS (SELECT started() UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)
    SELECT count(*) FROM c
    """

/// A configuration whose connections have a `started()` SQL function raising `flag` (it returns 1).
func withStartSignal(_ flag: Flag, _ configuration: Configuration = Configuration()) -> Configuration {
    var configuration = configuration
    configuration.prepareDatabase = { db in
        try db.addFunction("started", argumentCount: 0, options: []) { _ in
            flag.raise()
            return .integer(1)
        }
    }
    return configuration
}

/// The permission bits of a file.
func permissions(_ path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o777
}

extension Flag {
    /// Blocks the calling thread (a database closure) until the flag is raised; false after `seconds`.
    func wait(_ seconds: Double = 60) -> Bool {
        let deadline = Clock.monotonic() + seconds
        while !isRaised {
            if Clock.monotonic() > deadline { return false }
            usleep(500)
        }
        return true
    }
}

struct TimedOutWaiting: Error {}

/// Runs blocking work on a thread of its own, never on Swift's small cooperative pool (two threads on a
/// two-core machine: a test blocking them would stall every other test), as a task to await.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Task<T, any Error> {
    Task {
        try await withCheckedThrowingContinuation { continuation in
            CoreSupport.Thread.start(name: "storage-test") { continuation.resume(with: Result { try body() }) }
        }
    }
}
