public import CoreSupport
public import Notebook

/// A cell both sides changed differently, kept for the user to resolve.
public struct CellConflict: Sendable, Equatable {
    /// 0-based position in the merged notebook.
    public var index: Int
    public var id: String?
    /// The fields that differ (`source`, `outputs`, `metadata`...), or `deleted` when one side removed the cell.
    public var fields: [String]
    public var base: Cell?
    public var ours: Cell?
    public var theirs: Cell?

    public var json: JSON {
        [
            "cell": .int(index + 1), "id": id.map(JSON.string) ?? .null, "fields": .array(fields.map(JSON.string)),
            "base": base.map { .object($0.json) } ?? .null, "ours": ours.map { .object($0.json) } ?? .null,
            "theirs": theirs.map { .object($0.json) } ?? .null,
        ]
    }
}

/// The result of merging notebooks: a valid notebook, and the cells still in conflict.
public struct NotebookMergeResult: Sendable {
    public var notebook: Notebook
    public var conflicts: [CellConflict]
    /// Notebook metadata keys both sides changed differently (ours kept).
    public var metadataConflicts: [String]
}

/// Three-way merges notebooks cell by cell, never writing conflict markers.
///
/// Cells are matched by id when all three notebooks have unique ids, else by aligning each side
/// with the base as the diff does. Each field of a cell merges on its own (one side changed the
/// source, the other the outputs: both kept); a field changed differently on both sides, or a cell
/// deleted on one side and changed on the other, is a conflict: the merged notebook keeps ours
/// (theirs when ours deleted it) and records base, ours and theirs in the cell's metadata under
/// `wb_merge_conflict`, so the file stays a valid notebook.
public enum NotebookMerger {
    /// The cell metadata key that carries a conflict.
    public static let conflictKey = "wb_merge_conflict"

    public static func merge(base: Notebook?, ours: Notebook, theirs: Notebook) -> NotebookMergeResult {
        let base = base ?? Notebook(cells: [], metadata: [:])
        let byID = [base, ours, theirs].allSatisfy { NotebookDiffer.uniqueIDs($0.cells.map(\.id)) }
        func keys(_ side: Notebook, _ tag: String) -> [String] {
            if byID { return side.cells.map { $0.id! } }
            var keys = side.cells.indices.map { "\(tag)\($0)" }
            for (b, s) in NotebookDiffer.alignment(base, side, byID: false) {
                if let b, let s { keys[s] = "b\(b)" }
            }
            return keys
        }
        let baseKeys = byID ? base.cells.map { $0.id! } : base.cells.indices.map { "b\($0)" }
        let ourKeys = keys(ours, "o"), theirKeys = keys(theirs, "t")
        var baseCells: [String: Cell] = [:], ourCells: [String: Cell] = [:], theirCells: [String: Cell] = [:]
        for (k, c) in zip(baseKeys, base.cells) { baseCells[k] = c }
        for (k, c) in zip(ourKeys, ours.cells) { ourCells[k] = c }
        for (k, c) in zip(theirKeys, theirs.cells) { theirCells[k] = c }

        // Order: ours, with theirs' new cells inserted after their nearest preceding cell.
        var order = ourKeys
        for (i, key) in theirKeys.enumerated() where ourCells[key] == nil && baseCells[key] == nil {
            var position = 0
            for previous in theirKeys[..<i].reversed() {
                if let at = order.firstIndex(of: previous) {
                    position = at + 1
                    break
                }
            }
            order.insert(key, at: position)
        }
        // Cells ours deleted but theirs changed come back (as conflicts), near where theirs has them.
        for (i, key) in theirKeys.enumerated() where ourCells[key] == nil && baseCells[key] != nil && baseCells[key] != theirCells[key] {
            var position = 0
            for previous in theirKeys[..<i].reversed() {
                if let at = order.firstIndex(of: previous) {
                    position = at + 1
                    break
                }
            }
            order.insert(key, at: position)
        }

        var cells: [Cell] = []
        var conflicts: [CellConflict] = []
        for key in order {
            let b = baseCells[key], o = ourCells[key], t = theirCells[key]
            switch (o, t) {
            case (let o?, let t?):
                let (cell, fields) = mergeCell(base: b, ours: o, theirs: t)
                if fields.isEmpty {
                    cells.append(cell)
                } else {
                    conflicts.append(CellConflict(index: cells.count, id: o.id, fields: fields, base: b, ours: o, theirs: t))
                    cells.append(marked(o, base: b, ours: o, theirs: t, fields: fields))
                }
            case (let o?, nil):
                if b == nil || b == o {
                    // Added by ours, or deleted by theirs and untouched by ours.
                    if b == nil { cells.append(o) }
                } else {
                    conflicts.append(CellConflict(index: cells.count, id: o.id, fields: ["deleted"], base: b, ours: o, theirs: nil))
                    cells.append(marked(o, base: b, ours: o, theirs: nil, fields: ["deleted"]))
                }
            case (nil, let t?):
                if b == nil {
                    cells.append(t)
                } else if b != t {
                    conflicts.append(CellConflict(index: cells.count, id: t.id, fields: ["deleted"], base: b, ours: nil, theirs: t))
                    cells.append(marked(t, base: b, ours: nil, theirs: t, fields: ["deleted"]))
                }
            case (nil, nil):
                break
            }
        }

        var json = ours.json
        var metadataConflicts: [String] = []
        let (metadata, conflicted) = mergeObjects(base: base.metadata, ours: ours.metadata, theirs: theirs.metadata)
        json["metadata"] = .object(metadata)
        metadataConflicts = conflicted
        var notebook = Notebook(json: json, cells: cells)
        if notebook.hasCellIDs { notebook.ensureCellIDs() }
        // Ids may have been renewed: refresh the conflicts' ids.
        for i in conflicts.indices { conflicts[i].id = notebook.cells[conflicts[i].index].id }
        return NotebookMergeResult(notebook: notebook, conflicts: conflicts, metadataConflicts: metadataConflicts)
    }

    /// Merges one cell field by field; returns the merged cell and the fields in conflict.
    static func mergeCell(base: Cell?, ours: Cell, theirs: Cell) -> (Cell, [String]) {
        if ours == theirs { return (ours, []) }
        guard let base else {
            return (ours, fieldsDiffering(ours.json, theirs.json))
        }
        if ours == base { return (theirs, []) }
        if theirs == base { return (ours, []) }
        var merged = ours.json
        var conflicts: [String] = []
        var keys = ours.json.keys
        for key in theirs.json.keys where ours.json[key] == nil { keys.append(key) }
        for key in keys {
            let b = base.json[key], o = ours.json[key], t = theirs.json[key]
            if o == t { continue }
            if o == b {
                if let t { merged[key] = t } else { _ = merged.removeValue(forKey: key) }
                continue
            }
            if t == b { continue }
            if key == "metadata", let oo = o?.objectValue, let to = t?.objectValue {
                let (m, c) = mergeObjects(base: b?.objectValue ?? [:], ours: oo, theirs: to)
                merged[key] = .object(m)
                if !c.isEmpty { conflicts.append("metadata") }
                continue
            }
            conflicts.append(key == "execution_count" ? "outputs" : key)
        }
        var unique: [String] = []
        for field in conflicts where !unique.contains(field) { unique.append(field) }
        return (Cell(json: merged), unique)
    }

    static func fieldsDiffering(_ a: JSONObject, _ b: JSONObject) -> [String] {
        var fields: [String] = []
        for key in a.keys where a[key] != b[key] { fields.append(key == "execution_count" ? "outputs" : key) }
        for key in b.keys where a[key] == nil { fields.append(key) }
        var unique: [String] = []
        for field in fields where !unique.contains(field) { unique.append(field) }
        return unique
    }

    /// Three-way merges JSON objects key by key; ours wins where both changed a key differently.
    static func mergeObjects(base: JSONObject, ours: JSONObject, theirs: JSONObject) -> (JSONObject, [String]) {
        var merged = ours
        var conflicts: [String] = []
        for key in theirs.keys {
            let b = base[key], o = ours[key], t = theirs[key]
            if o == t || t == b { continue }
            if o == b { merged[key] = t } else { conflicts.append(key) }
        }
        for key in base.keys where theirs[key] == nil && ours[key] != nil {
            if ours[key] == base[key] { _ = merged.removeValue(forKey: key) } else { conflicts.append(key) }
        }
        return (merged, conflicts)
    }

    /// A cell carrying its conflict in its metadata.
    static func marked(_ cell: Cell, base: Cell?, ours: Cell?, theirs: Cell?, fields: [String]) -> Cell {
        var cell = cell
        var metadata = cell.metadata
        metadata[conflictKey] = [
            "fields": .array(fields.map(JSON.string)),
            "base": base.map { .object($0.json) } ?? .null,
            "ours": ours.map { .object($0.json) } ?? .null,
            "theirs": theirs.map { .object($0.json) } ?? .null,
        ]
        cell.metadata = metadata
        return cell
    }

    /// The conflicts recorded in a notebook's cells (after a merge stopped).
    public static func conflicts(in notebook: Notebook) -> [CellConflict] {
        notebook.cells.enumerated().compactMap { index, cell in
            guard let record = cell.metadata[conflictKey]?.objectValue else { return nil }
            func side(_ name: String) -> Cell? { record[name]?.objectValue.map(Cell.init(json:)) }
            return CellConflict(
                index: index, id: cell.id, fields: record["fields"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                base: side("base"), ours: side("ours"), theirs: side("theirs"))
        }
    }

    /// How to settle a cell conflict.
    public enum Choice: String, Sendable, CaseIterable { case ours, theirs, both }

    /// Settles the conflict of the cell at `index` (0-based): keeps ours, theirs, or both (ours first).
    /// Throws when that cell has no conflict.
    public static func resolve(_ notebook: inout Notebook, cell index: Int, choice: Choice) throws(GitError) {
        guard notebook.cells.indices.contains(index) else {
            throw GitError(.notFound, "there is no cell \(index + 1) (the notebook has \(notebook.cells.count))")
        }
        guard let conflict = conflicts(in: notebook).first(where: { $0.index == index }) else {
            let remaining = conflicts(in: notebook).map { String($0.index + 1) }
            throw GitError(
                .notFound,
                "cell \(index + 1) has no merge conflict" + (remaining.isEmpty ? "" : "; conflicts are in cell(s) \(remaining.joined(separator: ", "))"))
        }
        var replacement: [Cell] = []
        switch choice {
        case .ours: replacement = conflict.ours.map { [$0] } ?? []
        case .theirs: replacement = conflict.theirs.map { [$0] } ?? []
        case .both: replacement = [conflict.ours, conflict.theirs].compactMap { $0 }
        }
        notebook.cells.replaceSubrange(index...index, with: replacement)
        if notebook.hasCellIDs { notebook.ensureCellIDs() }
    }
}
