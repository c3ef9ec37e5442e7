import CoreSupport

/// Renders diffs as text for terminals and pipes, optionally with ANSI colours.
public struct DiffText: Sendable {
    public var color: Bool

    public init(color: Bool) { self.color = color }

    private func paint(_ code: String, _ text: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    private func header(_ text: String) -> String { paint("1", text) }

    /// A list of file diffs, as `git diff` prints them, with notebooks shown per cell.
    public func render(_ files: [FileDiff]) -> String {
        var out = ""
        for file in files {
            if let notebook = file.notebook {
                let old = file.change == .added ? "/dev/null" : "a/" + (file.oldPath ?? file.path)
                let new = file.change == .deleted ? "/dev/null" : "b/" + file.path
                out += header("nbdiff \(old) \(new)") + "\n"
                out += render(notebook, headerLines: false)
            } else if let patch = file.patch {
                if let problem = file.notebookProblem { out += paint("33", "# \(file.path): \(problem)") + "\n" }
                out += renderPatch(patch)
            }
        }
        return out
    }

    /// Colours a unified patch from libgit2 line by line.
    public func renderPatch(_ patch: String) -> String {
        guard color else { return patch }
        var out = ""
        for line in patch.split(separator: "\n", omittingEmptySubsequences: false).dropLast(patch.hasSuffix("\n") ? 1 : 0) {
            if line.hasPrefix("diff --git") || line.hasPrefix("index ") || line.hasPrefix("--- ") || line.hasPrefix("+++ ") {
                out += header(String(line))
            } else if line.hasPrefix("@@") {
                out += paint("36", String(line))
            } else if line.hasPrefix("+") {
                out += paint("32", String(line))
            } else if line.hasPrefix("-") {
                out += paint("31", String(line))
            } else {
                out += line
            }
            out += "\n"
        }
        return out
    }

    /// A notebook diff: one section per changed cell.
    public func render(_ diff: NotebookDiff, oldName: String = "a", newName: String = "b", headerLines: Bool = true) -> String {
        var out = ""
        if headerLines { out += header("--- \(oldName)\n+++ \(newName)") + "\n" }
        if diff.isEmpty {
            out += "  (no changes)\n"
            return out
        }
        if !diff.metadata.isEmpty {
            out += paint("35", "## notebook metadata changed") + "\n"
            for change in diff.metadata { out += metadataLine(change) }
        }
        for cell in diff.cells {
            out += paint("35", "## " + title(cell)) + "\n"
            for hunk in cell.source { out += renderHunk(hunk) }
            if cell.outputsChanged == true {
                out += paint("33", "  outputs changed (\(cell.oldOutputCount) → \(cell.newOutputCount))") + "\n"
                for hunk in cell.outputs { out += renderHunk(hunk, indent: "  ") }
            } else if cell.kind == .added || cell.kind == .deleted, cell.oldOutputCount + cell.newOutputCount > 0 {
                out += "  \(max(cell.oldOutputCount, cell.newOutputCount)) output(s)\n"
            }
            if !cell.metadata.isEmpty {
                out += paint("33", "  metadata changed") + "\n"
                for change in cell.metadata { out += metadataLine(change) }
            }
        }
        if diff.unchangedCells > 0 { out += paint("2", "  \(diff.unchangedCells) cell(s) unchanged") + "\n" }
        return out
    }

    func title(_ cell: CellDiff) -> String {
        let id = cell.id.map { ", id \($0)" } ?? ""
        switch cell.kind {
        case .added: return "added cell \(cell.newIndex! + 1) (\(cell.cellType)\(id))"
        case .deleted: return "deleted cell \(cell.oldIndex! + 1) (\(cell.cellType)\(id))"
        case .modified:
            let position = cell.oldIndex == cell.newIndex ? "\(cell.newIndex! + 1)" : "\(cell.oldIndex! + 1) → \(cell.newIndex! + 1)"
            let type = cell.oldCellType.map { "\($0) → \(cell.cellType)" } ?? cell.cellType
            return "modified cell \(position) (\(type)\(id))"
        }
    }

    func metadataLine(_ change: MetadataChange) -> String {
        let old = change.old.map { $0.serialized() }
        let new = change.new.map { $0.serialized() }
        switch (old, new) {
        case (nil, let new?): return paint("32", "  + \(change.key): \(new)") + "\n"
        case (let old?, nil): return paint("31", "  - \(change.key): \(old)") + "\n"
        default:
            return paint("31", "  - \(change.key): \(old ?? "")") + "\n" + paint("32", "  + \(change.key): \(new ?? "")") + "\n"
        }
    }

    func renderHunk(_ hunk: LineDiff.Hunk, indent: String = "") -> String {
        var out = indent + paint("36", hunk.header) + "\n"
        for line in hunk.lines {
            let text = indent + line.kind.rawValue + line.text
            switch line.kind {
            case .added: out += paint("32", text)
            case .removed: out += paint("31", text)
            case .context: out += text
            }
            out += "\n"
        }
        return out
    }
}
