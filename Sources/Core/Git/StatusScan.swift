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
    /// Index paths (or tracked folders) whose files may have changed, and names the index does not know;
    /// nil when the working tree could not be opened (look at everything).
    var paths: [String]?
    /// What the index holds besides plain entries.
    var index: IndexSummary

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
        var subfolders: [String] = []
        var otherNames: [String] = []
    }

    /// Scans the working tree against `index` on up to `threads` threads; `whileScanning` runs on this
    /// thread meanwhile, told what the index holds. The scan works on its own copy of the index's paths
    /// and stat data, so `whileScanning` may use the repository (and its index) as usual.
    static func run(
        index: OpaquePointer, workingDirectory: String, threads: Int, whileScanning: (IndexSummary) -> Void
    ) -> WorkingTreeScan {
        var summary = IndexSummary()
        let count = git_index_entrycount(index)
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
            guard let pointer = git_index_get_byindex(index, i), let path = pointer.pointee.path else { continue }
            let entry = pointer.pointee
            let length = strlen(path)
            var slash = -1
            for j in stride(from: length - 1, through: 0, by: -1) where path[j] == 0x2F {
                slash = j
                break
            }
            let folderBytes = slash < 0 ? [] : UnsafeRawBufferPointer(start: path, count: slash).map { $0 }
            let folder: Int
            if folderBytes == previousFolder.bytes {
                folder = previousFolder.id
            } else {
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
            folders[folder].files.append(entries.count)
            var copied = entry
            copied.path = nil
            entries.append(Tracked(pathOffset: names.count, nameOffset: names.count + slash + 1, entry: copied))
            names.append(contentsOf: UnsafeBufferPointer(start: path, count: length + 1))
        }

        // Entries written in the same second as the index may have changed unseen (racy git): suspects.
        var indexStat = stat()
        let indexTime = git_index_path(index).map { stat($0, &indexStat) == 0 } == true ? Int(indexStat.st_mtim.tv_sec) : Int.max

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
        paths.formUnion(shared.found.withLock { $0 })
        return WorkingTreeScan(paths: paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }, index: summary)
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
        let found = Mutex<[String]>([])

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
            var local: [String] = []
            while true {
                let taken = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard taken < order.count else { break }
                scan(folders[order[taken]], into: &local)
            }
            if !local.isEmpty { found.withLock { $0 += local } }
        }

        private func scan(_ folder: Folder, into found: inout [String]) {
            let fd = folder.path.isEmpty ? dup(root) : openat(root, folder.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                // Gone, or no longer a folder: libgit2 looks at all of it.
                found.append(folder.path)
                return
            }
            var known = Set<String>(folder.otherNames)
            known.reserveCapacity(folder.files.count + folder.otherNames.count + folder.subfolders.count)
            let subfolders = Set(folder.subfolders)
            var info = stat()
            names.withUnsafeBufferPointer { buffer in
                let base = buffer.baseAddress!
                for i in folder.files {
                    let tracked = entries[i]
                    let name = base + tracked.nameOffset
                    known.insert(String(cString: name))
                    if fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) != 0 || !Self.matches(tracked.entry, info, indexTime: indexTime) {
                        found.append(String(cString: base + tracked.pathOffset))
                    }
                }
            }
            guard let dir = fdopendir(fd) else {
                close(fd)
                found.append(folder.path)
                return
            }
            defer { closedir(dir) }
            let prefix = folder.path.isEmpty ? "" : folder.path + "/"
            while let item = readdir(dir) {
                let name = withUnsafePointer(to: item.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                if name == "." || name == ".." || (folder.path.isEmpty && name == ".git") || known.contains(name) { continue }
                // A tracked folder must still be a folder (its files were reached through it): a symlink
                // or a file in its place goes to libgit2.
                if subfolders.contains(name), item.pointee.d_type == UInt8(DT_DIR) || item.pointee.d_type == UInt8(DT_UNKNOWN) {
                    continue
                }
                found.append(prefix + name)
            }
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

    /// Waits for every thread to finish.
    func join() {
        for thread in threads { pthread_join(thread, nil) }
    }
}
