import CGit2
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The paths of a working tree that may differ from the index, found by a quick parallel pass.
///
/// It compares each index entry's recorded stat data with the file's (`fstatat` relative to its
/// folder, as git does, on several threads) and lists each tracked folder for names the index does
/// not know. It only narrows the search and decides nothing: every path it reports, and only those,
/// is then given to libgit2's status, which hashes contents and applies `.gitignore` as usual. Any
/// doubt (racy timestamps, flags, conflicts, a folder that cannot be opened) makes a path a suspect.
struct WorkingTreeScan {
    /// Index paths (or tracked folders) whose files may have changed, and names the index does not know,
    /// that libgit2 must look at; nil when the working tree could not be opened (look at everything).
    var paths: [String]?
    /// Paths the scan could classify from what it saw, with no need for libgit2 to look again.
    var findings: [Finding] = []
    /// What the index holds besides plain entries.
    var index: IndexSummary

    /// A path whose state the scan settles by itself, as libgit2 would: a regular file whose size
    /// differs from the index's (modified without hashing, as git and libgit2 decide), a tracked file
    /// that is gone, or a regular file the index does not know (untracked or ignored, which the caller
    /// asks libgit2's ignore rules about).
    enum Finding {
        case modified(String)
        case deleted(String)
        case unknownFile(String)
    }

    /// What one look at a path found.
    fileprivate enum Found {
        case suspect(String)
        case finding(Finding)
    }

    /// Index facts status needs besides the scan.
    struct IndexSummary {
        /// Conflicted, intent-to-add, skip-worktree or assume-unchanged entries.
        var hasSpecialEntries = false
        /// Submodules (gitlinks) or a `.gitmodules` file.
        var hasSubmodules = false
    }

    /// One index entry, as the scan needs it: its stat data and where its path is in the path buffer.
    private struct Tracked {
        var pathOffset: Int
        var nameOffset: Int
        var entry: git_index_entry
    }

    /// A folder with tracked content: its files to compare (indices into the entries), its tracked
    /// subfolders, and the other names the index knows there (submodules, entries left to libgit2).
    private struct Folder {
        var path: String
        var files: [Int] = []
        /// Whether `files` are in strictly increasing byte order of name (as a well-formed index has
        /// them), so readdir's names are looked up by binary search rather than hashed.
        var sorted = true
        var subfolders: [String] = []
        var otherNames: [String] = []
    }

    /// Scans the working tree against `index` on up to `threads` threads; `whileScanning` runs on this
    /// thread meanwhile, told what the index holds. The scan works on its own copy of the index's paths
    /// and stat data, so `whileScanning` may use the repository (and its index) as usual.
    static func run(
        index: OpaquePointer, workingDirectory: String, threads: Int, whileScanning: (IndexSummary) -> Void
    ) -> WorkingTreeScan {
        let count = git_index_entrycount(index)
        var entries: [git_index_entry] = []
        entries.reserveCapacity(count)
        for i in 0..<count {
            if let pointer = git_index_get_byindex(index, i) { entries.append(pointer.pointee) }
        }
        // Entries written in the same second as the index may have changed unseen (racy git): suspects.
        var indexStat = stat()
        let indexTime = git_index_path(index).map { stat($0, &indexStat) == 0 } == true ? Int(indexStat.st_mtim.tv_sec) : Int.max
        return run(entries: entries, indexTime: indexTime, workingDirectory: workingDirectory, threads: threads, whileScanning: whileScanning)
    }

    /// The same over index entries read some other way (their paths valid for the call), `indexTime`
    /// being the index file's modification time in seconds.
    static func run(
        entries indexEntries: [git_index_entry], indexTime: Int, workingDirectory: String, threads: Int,
        whileScanning: (IndexSummary) -> Void
    ) -> WorkingTreeScan {
        var summary = IndexSummary()
        let count = indexEntries.count
        var entries: [Tracked] = []
        entries.reserveCapacity(count)
        // Every scanned path, NUL-terminated, one after another.
        var names: [CChar] = []
        names.reserveCapacity(count * 32)
        var folders: [Folder] = [Folder(path: "")]
        var folderIDs: [String: Int] = ["": 0]
        var suspects: [String] = []
        var previousFolder: (bytes: [UInt8], id: Int) = ([], 0)

        /// The folder's id, registering it (and its parents, as subfolders) the first time.
        func folderID(_ bytes: [UInt8]) -> Int {
            let path = String(decoding: bytes, as: UTF8.self)
            if let id = folderIDs[path] { return id }
            let id = folders.count
            folders.append(Folder(path: path))
            folderIDs[path] = id
            let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
            let parent = folderID(slash.map { Array(bytes[..<$0]) } ?? [])
            folders[parent].subfolders.append(String(decoding: bytes[(slash.map { $0 + 1 } ?? 0)...], as: UTF8.self))
            return id
        }

        for i in 0..<count {
            let entry = indexEntries[i]
            guard let path = entry.path else { continue }
            let length = strlen(path)
            var slash = -1
            for j in stride(from: length - 1, through: 0, by: -1) where path[j] == 0x2F {
                slash = j
                break
            }
            // Most entries share the previous entry's folder: compare bytes before copying any.
            let folderLength = max(slash, 0)
            let sameFolder = folderLength == previousFolder.bytes.count
                && (folderLength == 0 || previousFolder.bytes.withUnsafeBytes { memcmp($0.baseAddress!, path, folderLength) == 0 })
            let folder: Int
            if sameFolder {
                folder = previousFolder.id
            } else {
                let folderBytes = UnsafeRawBufferPointer(start: path, count: folderLength).map { $0 }
                folder = folderID(folderBytes)
                previousFolder = (folderBytes, folder)
            }
            let stage = (Int32(entry.flags) & 0x3000) >> 12
            let special = stage != 0 || entry.flags_extended & UInt16(GIT_INDEX_ENTRY_EXTENDED_FLAGS.rawValue) != 0
                || entry.flags & UInt16(GIT_INDEX_ENTRY_VALID.rawValue) != 0
            if special {
                suspects.append(String(cString: path))
                summary.hasSpecialEntries = true
            }
            if entry.mode == 0o160000 || (slash < 0 && strcmp(path, ".gitmodules") == 0) { summary.hasSubmodules = true }
            // Submodules are not scanned (status excludes them), but their names are known.
            if entry.mode == 0o160000 || special {
                folders[folder].otherNames.append(String(cString: path + slash + 1))
                continue
            }
            if let last = folders[folder].files.last, folders[folder].sorted {
                let previous = entries[last].nameOffset
                folders[folder].sorted = names.withUnsafeBufferPointer { strcmp($0.baseAddress! + previous, path + slash + 1) < 0 }
            }
            folders[folder].files.append(entries.count)
            var copied = entry
            copied.path = nil
            entries.append(Tracked(pathOffset: names.count, nameOffset: names.count + slash + 1, entry: copied))
            names.append(contentsOf: UnsafeBufferPointer(start: path, count: length + 1))
        }

        let root = open(workingDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        let order = folders.indices.sorted { folders[$0].files.count > folders[$1].files.count }
        let shared = Shared(entries: entries, names: names, folders: folders, order: order, root: root, indexTime: indexTime)
        let helpers = root < 0 ? ParallelThreads() : ParallelThreads.start(count: max(0, threads - 1)) { shared.work() }
        whileScanning(summary)
        if root >= 0 { shared.work() }
        helpers.join()
        if root >= 0 { close(root) }
        // A working tree that cannot be opened: libgit2 looks at everything.
        guard root >= 0 else { return WorkingTreeScan(paths: nil, index: summary) }
        var paths = Set(suspects)
        var findings: [Finding] = []
        for found in shared.found.withLock({ $0 }) {
            switch found {
            case .suspect(let path): paths.insert(path)
            case .finding(let finding): findings.append(finding)
            }
        }
        return WorkingTreeScan(paths: paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, findings: findings, index: summary)
    }

    /// What the scanning threads share: read-only inputs, a folder counter and the paths found.
    private final class Shared: @unchecked Sendable {
        let entries: [Tracked]
        let names: [CChar]
        let folders: [Folder]
        let order: [Int]
        let root: Int32
        let indexTime: Int
        let next = Atomic<Int>(0)
        let found = Mutex<[Found]>([])

        init(entries: [Tracked], names: [CChar], folders: [Folder], order: [Int], root: Int32, indexTime: Int) {
            self.entries = entries
            self.names = names
            self.folders = folders
            self.order = order
            self.root = root
            self.indexTime = indexTime
        }

        /// Takes folders until none is left.
        func work() {
            var local: [Found] = []
            while true {
                let taken = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard taken < order.count else { break }
                scan(folders[order[taken]], into: &local)
            }
            if !local.isEmpty { found.withLock { $0 += local } }
        }

        private func scan(_ folder: Folder, into found: inout [Found]) {
            let fd = folder.path.isEmpty ? dup(root) : openat(root, folder.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                // Gone, or no longer a folder: libgit2 looks at all of it.
                found.append(.suspect(folder.path))
                return
            }
            var known = Set<String>(folder.otherNames)
            if !folder.sorted { known.reserveCapacity(folder.files.count + folder.otherNames.count) }
            let subfolders = Set(folder.subfolders)
            var info = stat()
            names.withUnsafeBufferPointer { buffer in
                let base = buffer.baseAddress!
                for i in folder.files {
                    let tracked = entries[i]
                    let name = base + tracked.nameOffset
                    if !folder.sorted { known.insert(String(cString: name)) }
                    if fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) != 0 {
                        let gone = errno == ENOENT
                        let path = String(cString: base + tracked.pathOffset)
                        found.append(gone ? .finding(.deleted(path)) : .suspect(path))
                    } else if !Self.matches(tracked.entry, info, indexTime: indexTime) {
                        let path = String(cString: base + tracked.pathOffset)
                        found.append(Self.sizeChanged(tracked.entry, info) ? .finding(.modified(path)) : .suspect(path))
                    }
                }
            }
            guard let dir = fdopendir(fd) else {
                close(fd)
                found.append(.suspect(folder.path))
                return
            }
            defer { closedir(dir) }
            let prefix = folder.path.isEmpty ? "" : folder.path + "/"
            while let item = readdir(dir) {
                // Tracked files (most names) are found without making a String.
                let trackedFile = withUnsafePointer(to: item.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { name in
                        folder.sorted && isTrackedFile(name, of: folder)
                    }
                }
                if trackedFile { continue }
                let name = withUnsafePointer(to: item.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name == "." || name == ".." || (folder.path.isEmpty && name == ".git") || known.contains(name) { continue }
                // A tracked folder must still be a folder (its files were reached through it): a symlink
                // or a file in its place goes to libgit2.
                if subfolders.contains(name), item.pointee.d_type == UInt8(DT_DIR) || item.pointee.d_type == UInt8(DT_UNKNOWN) {
                    continue
                }
                // A regular file the index does not know: untracked or ignored, which the caller settles.
                // Anything else (folders, symlinks, `.git`) goes to libgit2.
                if item.pointee.d_type == UInt8(DT_REG), name != ".git" {
                    found.append(.finding(.unknownFile(prefix + name)))
                } else {
                    found.append(.suspect(prefix + name))
                }
            }
        }

        /// Whether `name` is one of the folder's files (sorted by name), by binary search.
        private func isTrackedFile(_ name: UnsafePointer<CChar>, of folder: Folder) -> Bool {
            names.withUnsafeBufferPointer { buffer in
                let base = buffer.baseAddress!
                var low = 0
                var high = folder.files.count
                while low < high {
                    let middle = (low + high) / 2
                    let order = strcmp(base + entries[folder.files[middle]].nameOffset, name)
                    if order == 0 { return true }
                    if order < 0 { low = middle + 1 } else { high = middle }
                }
                return false
            }
        }

        /// Whether a tracked regular file is still a regular file of another size: modified, as git and
        /// libgit2 decide without reading it (not when the index recorded size 0, which may be a
        /// racily-clean entry git smudged).
        static func sizeChanged(_ entry: git_index_entry, _ info: stat) -> Bool {
            (entry.mode == 0o100644 || entry.mode == 0o100755) && info.st_mode & S_IFMT == S_IFREG
                && entry.file_size != 0 && entry.file_size != UInt32(truncatingIfNeeded: info.st_size)
        }

        /// Whether a file's stat data is what the index recorded (stricter than git, never looser).
        static func matches(_ entry: git_index_entry, _ info: stat, indexTime: Int) -> Bool {
            let mode: UInt32
            switch info.st_mode & S_IFMT {
            case S_IFREG: mode = info.st_mode & 0o100 != 0 ? 0o100755 : 0o100644
            case S_IFLNK: mode = 0o120000
            default: return false
            }
            return entry.mode == mode
                && entry.file_size == UInt32(truncatingIfNeeded: info.st_size)
                && entry.mtime.seconds == Int32(truncatingIfNeeded: info.st_mtim.tv_sec)
                && entry.mtime.nanoseconds == UInt32(truncatingIfNeeded: info.st_mtim.tv_nsec)
                && entry.ctime.seconds == Int32(truncatingIfNeeded: info.st_ctim.tv_sec)
                && entry.ctime.nanoseconds == UInt32(truncatingIfNeeded: info.st_ctim.tv_nsec)
                && entry.ino == UInt32(truncatingIfNeeded: info.st_ino)
                && entry.uid == info.st_uid && entry.gid == info.st_gid
                && Int(entry.mtime.seconds) < indexTime
        }
    }
}

/// Threads started together and joined together.
struct ParallelThreads {
    private var threads: [pthread_t] = []

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `count` threads running `body`; the caller must `join` them. A thread that cannot be
    /// started is skipped: the caller's own thread does the work instead.
    static func start(count: Int, _ body: @escaping () -> Void) -> ParallelThreads {
        var started = ParallelThreads()
        for _ in 0..<count {
            let box = Unmanaged.passRetained(Box(body)).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, box)
            if rc == 0 {
                started.threads.append(thread)
            } else {
                Unmanaged<Box>.fromOpaque(box).release()
            }
        }
        return started
    }

    /// Whether no thread was started.
    var isEmpty: Bool { threads.isEmpty }

    /// Waits for every thread to finish.
    func join() {
        for thread in threads { pthread_join(thread, nil) }
    }
}
