public import CoreSupport
public import Notebook

/// What to compare in a notebook diff.
public struct NotebookDiffOptions: Sendable, Equatable {
    /// Ignore outputs and execution counts.
    public var ignoreOutputs: Bool
    /// Ignore cell and notebook metadata.
    public var ignoreMetadata: Bool
    /// Lines of context around source changes.
    public var context: Int

    public init(ignoreOutputs: Bool = false, ignoreMetadata: Bool = false, context: Int = 3) {
        self.ignoreOutputs = ignoreOutputs
        self.ignoreMetadata = ignoreMetadata
        self.context = context
    }
}

/// One metadata key that differs.
public struct MetadataChange: Sendable, Equatable {
    public var key: String
    public var old: JSON?
    public var new: JSON?

    public init(key: String, old: JSON?, new: JSON?) {
        self.key = key
        self.old = old
        self.new = new
    }

    public var json: JSON {
        ["key": .string(key), "old": old ?? .null, "new": new ?? .null]
    }

    static func between(_ a: JSONObject, _ b: JSONObject) -> [MetadataChange] {
        var changes: [MetadataChange] = []
        for key in a.keys where a[key] != b[key] { changes.append(MetadataChange(key: key, old: a[key], new: b[key])) }
        for key in b.keys where a[key] == nil { changes.append(MetadataChange(key: key, old: nil, new: b[key])) }
        return changes
    }
}

/// How one cell changed between two notebooks.
public struct CellDiff: Sendable, Equatable {
    public enum Kind: String, Sendable { case added, deleted, modified }

    public var kind: Kind
    /// 0-based positions in the old and new notebooks.
    public var oldIndex: Int?
    public var newIndex: Int?
    public var id: String?
    public var cellType: String
    /// The old cell type, when it changed.
    public var oldCellType: String?
    /// Source changes as unified hunks (for added and deleted cells, the whole source).
    public var source: [LineDiff.Hunk]
    /// Whether outputs (or the execution count) differ; nil when outputs were ignored or the cell has none.
    public var outputsChanged: Bool?
    /// Text renderings of the outputs, diffed, when they changed.
    public var outputs: [LineDiff.Hunk]
    public var oldOutputCount: Int
    public var newOutputCount: Int
    public var metadata: [MetadataChange]

    public var json: JSON {
        var object: JSONObject = [
            "kind": .string(kind.rawValue),
            "old_index": oldIndex.map(JSON.int) ?? .null,
            "new_index": newIndex.map(JSON.int) ?? .null,
            "id": id.map(JSON.string) ?? .null,
            "cell_type": .string(cellType),
        ]
        if let oldCellType { object["old_cell_type"] = .string(oldCellType) }
        object["source"] = .array(source.map(\.json))
        object["source_changed"] = .bool(!source.isEmpty)
        object["outputs_changed"] = outputsChanged.map(JSON.bool) ?? .null
        object["outputs"] = .array(outputs.map(\.json))
        object["old_output_count"] = .int(oldOutputCount)
        object["new_output_count"] = .int(newOutputCount)
        object["metadata"] = .array(metadata.map(\.json))
        return .object(object)
    }
}

/// A notebook diff: per cell, source hunks, whether outputs changed, metadata changes.
public struct NotebookDiff: Sendable, Equatable {
    public var metadata: [MetadataChange]
    public var cells: [CellDiff]
    /// Cells present and equal on both sides (under the options).
    public var unchangedCells: Int
    /// How cells were paired: by their ids, or by aligning their contents.
    public var matchedByID: Bool

    public var isEmpty: Bool { metadata.isEmpty && cells.isEmpty }

    public var json: JSON {
        [
            "metadata": .array(metadata.map(\.json)), "cells": .array(cells.map(\.json)),
            "unchanged_cells": .int(unchangedCells), "matched_by": .string(matchedByID ? "id" : "content"),
        ]
    }
}

/// Compares notebooks cell by cell, as nbdime does, without leaving Swift.
public enum NotebookDiffer {
    /// Diffs two notebooks. Cells are paired by id when both notebooks give every cell a unique id,
    /// else by aligning their sources; unpaired neighbours of the same type are taken as modified.
    public static func diff(_ old: Notebook, _ new: Notebook, options: NotebookDiffOptions = NotebookDiffOptions()) -> NotebookDiff {
        let oldIDs = old.cells.map(\.id), newIDs = new.cells.map(\.id)
        let byID = uniqueIDs(oldIDs) && uniqueIDs(newIDs) && !old.cells.isEmpty && !new.cells.isEmpty
        var pairs: [(Int?, Int?)] = []
        if byID {
            let ops = LineDiff.operations(oldIDs.map { $0! }, newIDs.map { $0! })
            pairs = pairUp(ops, old: old, new: new, byContent: false)
        } else {
            let ops = LineDiff.operations(old.cells.map(contentKey), new.cells.map(contentKey))
            pairs = pairUp(ops, old: old, new: new, byContent: true)
        }
        var result = NotebookDiff(metadata: [], cells: [], unchangedCells: 0, matchedByID: byID)
        if !options.ignoreMetadata { result.metadata = MetadataChange.between(old.metadata, new.metadata) }
        for (o, n) in pairs {
            switch (o, n) {
            case (let o?, let n?):
                if let change = compare(old.cells[o], new.cells[n], oldIndex: o, newIndex: n, options: options) {
                    result.cells.append(change)
                } else {
                    result.unchangedCells += 1
                }
            case (let o?, nil):
                result.cells.append(whole(old.cells[o], kind: .deleted, index: o, options: options))
            case (nil, let n?):
                result.cells.append(whole(new.cells[n], kind: .added, index: n, options: options))
            default: break
            }
        }
        return result
    }

    /// Pairs the cells of two notebooks as the diff does: (old index, new index), either side nil when unpaired.
    public static func alignment(_ old: Notebook, _ new: Notebook, byID: Bool) -> [(Int?, Int?)] {
        if byID { return pairUp(LineDiff.operations(old.cells.map { $0.id ?? "" }, new.cells.map { $0.id ?? "" }), old: old, new: new, byContent: false) }
        return pairUp(LineDiff.operations(old.cells.map(contentKey), new.cells.map(contentKey)), old: old, new: new, byContent: true)
    }

    static func uniqueIDs(_ ids: [String?]) -> Bool {
        var seen = Set<String>()
        for id in ids {
            guard let id, !id.isEmpty, seen.insert(id).inserted else { return false }
        }
        return true
    }

    static func contentKey(_ cell: Cell) -> String { cell.cellType + "\u{0}" + cell.source }

    /// Turns an alignment into pairs; runs of deletions and insertions between two matches are
    /// paired position by position when the cells look alike (content alignment only).
    static func pairUp(_ ops: [LineDiff.Operation], old: Notebook, new: Notebook, byContent: Bool) -> [(Int?, Int?)] {
        var pairs: [(Int?, Int?)] = []
        var deleted: [Int] = [], inserted: [Int] = []
        func flush() {
            // Each deleted cell takes the first look-alike among the inserted ones still free;
            // inserted cells skipped over are additions.
            var next = 0
            for o in deleted {
                if let j = inserted[next...].firstIndex(where: { !byContent || similar(old.cells[o], new.cells[$0]) }) {
                    pairs += inserted[next..<j].map { (nil, $0) }
                    pairs.append((o, inserted[j]))
                    next = j + 1
                } else {
                    pairs.append((o, nil))
                }
            }
            pairs += inserted[next...].map { (nil, $0) }
            deleted = []
            inserted = []
        }
        for op in ops {
            switch op {
            case .equal(let o, let n):
                flush()
                pairs.append((o, n))
            case .delete(let o): deleted.append(o)
            case .insert(let n): inserted.append(n)
            }
        }
        flush()
        if !byContent {
            // With ids, a deleted id and an inserted id are different cells: keep them apart.
            return pairs.flatMap { pair -> [(Int?, Int?)] in
                if let o = pair.0, let n = pair.1, old.cells[o].id != new.cells[n].id { return [(o, nil), (nil, n)] }
                return [pair]
            }
        }
        return pairs
    }

    /// Whether two cells are probably one cell edited: same type and at least half their lines shared.
    static func similar(_ a: Cell, _ b: Cell) -> Bool {
        guard a.cellType == b.cellType else { return false }
        let x = LineDiff.lines(a.source), y = LineDiff.lines(b.source)
        if x.isEmpty || y.isEmpty { return x.isEmpty && y.isEmpty }
        let common = LineDiff.operations(x, y).filter { if case .equal = $0 { return true } else { return false } }.count
        return 2 * common >= min(x.count, y.count)
    }

    static func compare(_ a: Cell, _ b: Cell, oldIndex: Int, newIndex: Int, options: NotebookDiffOptions) -> CellDiff? {
        let source = a.source == b.source ? [] : LineDiff.hunks(old: a.source, new: b.source, context: options.context)
        var outputsChanged: Bool?
        var outputHunks: [LineDiff.Hunk] = []
        let hasOutputs = a.kind == .code || b.kind == .code
        if !options.ignoreOutputs, hasOutputs {
            let changed = a.json["outputs"] != b.json["outputs"] || a.json["execution_count"] != b.json["execution_count"]
            outputsChanged = changed
            if changed {
                outputHunks = LineDiff.hunks(old: outputText(a), new: outputText(b), context: options.context)
            }
        }
        let metadata = options.ignoreMetadata ? [] : MetadataChange.between(a.metadata, b.metadata)
        let typeChanged = a.cellType != b.cellType
        if source.isEmpty, outputsChanged != true, metadata.isEmpty, !typeChanged { return nil }
        return CellDiff(
            kind: .modified, oldIndex: oldIndex, newIndex: newIndex, id: b.id ?? a.id, cellType: b.cellType,
            oldCellType: typeChanged ? a.cellType : nil, source: source, outputsChanged: outputsChanged, outputs: outputHunks,
            oldOutputCount: a.outputs.count, newOutputCount: b.outputs.count, metadata: metadata)
    }

    static func whole(_ cell: Cell, kind: CellDiff.Kind, index: Int, options: NotebookDiffOptions) -> CellDiff {
        let lines = LineDiff.lines(cell.source)
        let added = kind == .added
        let hunk = LineDiff.Hunk(
            oldStart: added ? 0 : 1, oldCount: added ? 0 : lines.count, newStart: added ? 1 : 0, newCount: added ? lines.count : 0,
            lines: lines.map { LineDiff.Line(kind: added ? .added : .removed, text: $0) })
        let outputs = options.ignoreOutputs ? [] : cell.outputs
        return CellDiff(
            kind: kind, oldIndex: added ? nil : index, newIndex: added ? index : nil, id: cell.id, cellType: cell.cellType,
            oldCellType: nil, source: lines.isEmpty ? [] : [hunk], outputsChanged: nil, outputs: [],
            oldOutputCount: added ? 0 : outputs.count, newOutputCount: added ? outputs.count : 0,
            metadata: [])
    }

    /// A plain-text rendering of a cell's outputs, for showing what changed.
    public static func outputText(_ cell: Cell) -> String {
        var out = ""
        if let count = cell.executionCount { out += "[execution_count \(count)]\n" }
        for output in cell.outputs {
            switch output.outputType {
            case "stream":
                out += "[\(output.streamName ?? "stream")]\n" + terminated(output.text ?? "")
            case "error":
                out += "[error] \(output.errorName ?? ""): \(output.errorValue ?? "")\n"
            case "execute_result", "display_data":
                let data = output.data ?? [:]
                for key in data.keys {
                    if key == "text/plain", let value = data[key] {
                        out += "[\(output.outputType) text/plain]\n" + terminated(Cell.joinLines(value))
                    } else {
                        let size = data[key].map { Cell.joinLines($0).utf8.count } ?? 0
                        out += "[\(output.outputType) \(key), \(size) bytes, \(digest(data[key] ?? .null))]\n"
                    }
                }
            default:
                out += "[\(output.outputType)]\n"
            }
        }
        return out
    }

    static func terminated(_ text: String) -> String { text.isEmpty || text.hasSuffix("\n") ? text : text + "\n" }

    /// A short stable fingerprint of a value (FNV-1a over its JSON), so changed images show as changed lines.
    static func digest(_ value: JSON) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in value.serializedBytes() {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
