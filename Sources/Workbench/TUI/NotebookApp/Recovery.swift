public import CoreSupport
public import Notebook
#if canImport(Glibc)
internal import Glibc
#endif

/// The recovery file: unsaved edits written every few seconds, so a crash or a kill loses at most those seconds.
///
/// It lives in `$WB_HOME/recovery/`, not next to the notebook: the notebook's folder may be
/// read-only or a git work tree (where a stray file would show in `git status`), and one place
/// is easy to find and clean. The name is the notebook's name plus a hash of its absolute path,
/// so two `analysis.ipynb` in different folders do not collide. The file is JSON:
/// `{"format": "wb-recovery", "version": 1, "path": ..., "saved_at": ..., "notebook": {...}}`,
/// the notebook in `.ipynb` form whatever the original's format, written atomically and 0600.
/// It is removed when the notebook is saved or the edits are thrown away on purpose.
public enum Recovery {
    /// A recovered notebook and when it was written (ISO 8601).
    public struct Found: Sendable {
        /// The notebook with the unsaved edits.
        public var notebook: Notebook
        /// When it was written.
        public var savedAt: String
    }

    /// The recovery folder under `home`.
    public static func directory(home: String = Environment.workbenchHome) -> String {
        FilePath.join(home, "recovery")
    }

    /// The recovery file for the notebook at `path`.
    public static func path(for notebookPath: String, home: String = Environment.workbenchHome) -> String {
        let absolute = FilePath.absolute(notebookPath)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in absolute.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        let name = FilePath.lastComponent(of: absolute)
        return FilePath.join(directory(home: home), "\(name)-\(String(repeating: "0", count: 16 - hex.count) + hex).json")
    }

    /// Writes `notebook` as the recovery file for `notebookPath`.
    public static func write(_ notebook: Notebook, for notebookPath: String, home: String = Environment.workbenchHome) throws(SystemError) {
        try FileIO.createDirectory(directory(home: home), mode: 0o700)
        let file: JSON = [
            "format": "wb-recovery", "version": 1, "path": .string(FilePath.absolute(notebookPath)),
            "saved_at": .string(Clock.iso8601()), "notebook": notebook.fileJSON(),
        ]
        try AtomicFile.write(file.serializedBytes(.compact), to: path(for: notebookPath, home: home), mode: 0o600)
    }

    /// The recovered notebook for `notebookPath`, if a recovery file for it exists and can be read.
    ///
    /// A file for another path (a hash collision) or one that cannot be parsed is ignored, and left alone.
    public static func read(for notebookPath: String, home: String = Environment.workbenchHome) -> Found? {
        guard let bytes = try? FileIO.read(path(for: notebookPath, home: home)), let file = try? JSON.parse(bytes),
            file["format"]?.stringValue == "wb-recovery", file["path"]?.stringValue == FilePath.absolute(notebookPath),
            let body = file["notebook"], let notebook = try? Notebook(ipynb: body.serializedBytes(.compact))
        else { return nil }
        return Found(notebook: notebook, savedAt: file["saved_at"]?.stringValue ?? "earlier")
    }

    /// Removes the recovery file for `notebookPath` (nothing happens if there is none).
    public static func discard(for notebookPath: String, home: String = Environment.workbenchHome) {
        _ = path(for: notebookPath, home: home).withCString { unlink($0) }
    }
}
