import CSharedWord
import Synchronization

/// A change counter that the processes of a domain share without a system call: one 64-bit word in a
/// small file mapped `MAP_SHARED`, read and changed with C11 atomics (`CSharedWord`).
///
/// The word is `generation << 1 | inFlight`. A writer of the guarded state calls `beginChange()` while it
/// holds the state's write lock, before its commit (bit 0 set: a change is in flight), and `endChange()`
/// after the commit (the generation counts up by one and bit 0 clears, in one compare-and-swap). A reader
/// that read the word *before* loading the state may keep what it loaded while the word is still exactly
/// that value and even (`isUnchanged(since:)`); any other value means "check the exact way". Because the
/// word only ever grows, a reader can never see an old value again.
///
/// - A writer that dies between its commit and `endChange()` leaves bit 0 set: readers keep to their exact
///   path until a later writer's `endChange()` clears it. Nothing committed is missed.
/// - Two writers cannot interleave their marked spans, because each marks while holding the state's write
///   lock (for a SQLite store, inside its `BEGIN IMMEDIATE` transaction): a writer clearing bit 0 after its
///   own commit can only clear the mark of a writer that has committed before it.
/// - Where the file cannot be created or mapped (a read-only domain, a file system without shared
///   mappings, a platform whose 64-bit atomics are not lock-free and so not address-free), `open` returns
///   nil and callers keep to their exact path.
/// - Each `beginChange()` checks that the path still names the mapped file and maps the file the path names
///   when not (creating it when missing), marking and advancing both: a process that maps the file from now
///   on sees the change. A reader cannot check that without a system call, so a process that mapped a file
///   that was later deleted or replaced by hand keeps reading the old one: like the `-shm` file of a live
///   SQLite database, the file must not be deleted while processes use the domain (Docs/governance.md).
public final class ChangeSignal: Sendable {
    /// The signal file.
    public let path: String
    private let state: Mutex<Mappings>

    // `@unchecked`: the mapped pointers are only used inside `state`, and the word behind them only atomically.
    private struct Mappings: @unchecked Sendable {
        /// The file the path named when last checked.
        var current: wb_shared_word
        /// Files this process mapped before the path named another file (kept mapped: marked and advanced too).
        var retired: [wb_shared_word] = []
        /// Counts the files mapped so far, so a stamp taken from one file never matches a word of another.
        var serial = 0

        /// Maps the file the path names when it is not `current` (one `stat`); creating it when `create`.
        mutating func follow(_ path: String, create: Bool) {
            guard wb_shared_word_is_at(&current, path) == 0 else { return }
            var fresh = wb_shared_word()
            guard wb_shared_word_open(path, create ? 1 : 0, &fresh) == 0 else { return }
            retired.append(current)
            current = fresh
            serial += 1
        }
    }

    /// The word as a reader saw it, and which mapped file it came from.
    public struct Stamp: Sendable, Equatable {
        var serial: Int
        /// `generation << 1 | inFlight`.
        public var word: UInt64
    }

    private init(path: String, mapping: wb_shared_word) {
        self.path = path
        state = Mutex(Mappings(current: mapping))
    }

    deinit {
        state.withLock { mappings in
            wb_shared_word_close(&mappings.current)
            for index in mappings.retired.indices { wb_shared_word_close(&mappings.retired[index]) }
        }
    }

    /// Maps the signal file at `path`, creating it when missing; nil when that cannot be done (see the type).
    public static func open(path: String) -> ChangeSignal? {
        var mapping = wb_shared_word()
        guard wb_shared_word_open(path, 1, &mapping) == 0 else { return nil }
        return ChangeSignal(path: path, mapping: mapping)
    }

    /// The word now. No system call.
    public func load() -> Stamp {
        state.withLock { Stamp(serial: $0.serial, word: wb_shared_word_load(&$0.current, 0)) }
    }

    /// Whether nothing was changed, or is being changed, since `stamp` was loaded, with no change in flight then.
    public func isUnchanged(since stamp: Stamp) -> Bool {
        stamp.word & 1 == 0 && load() == stamp
    }

    /// Marks a change in flight; call it holding the guarded state's write lock, before the commit.
    ///
    /// When the path no longer names the mapped file, the file it names (created if missing) is mapped
    /// from now on, and both are marked.
    public func beginChange() {
        let path = path
        state.withLock { mappings in
            mappings.follow(path, create: true)
            for index in mappings.retired.indices { _ = wb_shared_word_set_low_bit(&mappings.retired[index], 0) }
            _ = wb_shared_word_set_low_bit(&mappings.current, 0)
        }
    }

    /// Ends a change (committed or not): the generation counts up and the in-flight mark clears.
    @discardableResult
    public func endChange() -> Stamp {
        state.withLock { mappings in
            for index in mappings.retired.indices { _ = wb_shared_word_advance(&mappings.retired[index], 0) }
            return Stamp(serial: mappings.serial, word: wb_shared_word_advance(&mappings.current, 0))
        }
    }

    /// Maps the file the path names now when it is not the mapped one (a reader's check on its exact path: one `stat`).
    public func follow() {
        let path = path
        state.withLock { $0.follow(path, create: false) }
    }

    /// A full memory fence (orders a `load()` before what follows it, such as a SQLite read).
    public static func fence() {
        wb_shared_word_fence()
    }
}
