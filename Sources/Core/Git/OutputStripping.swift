import CGit2
import CoreSupport
import Notebook
#if canImport(Glibc)
import Glibc
#endif

extension Repository {
    /// Whether notebooks are committed without outputs (`workbench.stripOutputs` in the git configuration).
    public var stripsOutputs: Bool {
        (try? configBool("workbench.stripOutputs")) ?? false
    }

    /// Turns output stripping on or off for this repository (its own `.git/config`).
    public func setStripsOutputs(_ on: Bool) throws(GitError) {
        try setConfig("workbench.stripOutputs", on ? "true" : "false")
    }

    /// With stripping on, replaces each staged notebook's blob by the same notebook without outputs.
    func stripOutputsInIndex(_ index: OpaquePointer?) throws(GitError) {
        guard stripsOutputs else { return }
        var updates: [(git_index_entry, ObjectID, String)] = []
        for i in 0..<git_index_entrycount(index) {
            guard let entry = git_index_get_byindex(index, i), git_index_entry_stage(entry) == 0, let raw = entry.pointee.path
            else { continue }
            let path = String(cString: raw)
            guard path.hasSuffix(".ipynb") else { continue }
            let id = ObjectID(entry.pointee.id)
            let bytes = try blobBytes(id)
            guard let stripped = OutputStripper.strip(bytes), stripped != bytes else { continue }
            updates.append((entry.pointee, try writeBlob(stripped), path))
        }
        for (entry, id, path) in updates {
            var copy = entry
            copy.id = id.oid
            let cPath = strdup(path)
            defer { free(cPath) }
            copy.path = UnsafePointer(cPath)
            try check(git_index_add(index, &copy), "cannot stage the stripped \(path)", path: path)
        }
    }

    /// With stripping on, whether a notebook in the working tree differs from the index only by outputs.
    func differsOnlyByOutputs(_ path: String) -> Bool {
        guard stripsOutputs, path.hasSuffix(".ipynb"), let work = workingDirectory,
            let index = try? openIndex()
        else { return false }
        defer { git_index_free(index) }
        guard let entry = git_index_get_bypath(index, path, 0),
            let staged = try? blobBytes(ObjectID(entry.pointee.id)),
            let current = try? FileIO.read(FilePath.join(work, path)),
            let stripped = OutputStripper.strip(current)
        else { return false }
        return stripped == staged
    }
}

/// Removes outputs and execution counts from notebooks, keeping everything else byte-exact.
public enum OutputStripper {
    /// The notebook without outputs, or nil when the bytes are not a notebook.
    public static func strip(_ bytes: [UInt8]) -> [UInt8]? {
        guard var notebook = try? Notebook(ipynb: bytes) else { return nil }
        strip(&notebook)
        return notebook.ipynbBytes()
    }

    /// Clears outputs and execution counts of every code cell.
    public static func strip(_ notebook: inout Notebook) {
        for i in notebook.cells.indices where notebook.cells[i].kind == .code {
            notebook.cells[i].outputs = []
            notebook.cells[i].executionCount = nil
        }
    }
}
