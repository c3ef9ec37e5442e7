public import CoreSupport

/// A Jupyter notebook (nbformat 4), kept losslessly.
///
/// Every key of the file is kept, known or not. Multi-line strings are held
/// joined in memory (as `nbformat.read` does) and split into lines on write
/// (as `nbformat.write` does), so a file written here is byte-identical to the
/// one `nbformat.write` writes for the same notebook.
public struct Notebook: Sendable, Equatable {
    /// Top-level keys other than `cells`.
    public var json: JSONObject
    public var cells: [Cell]

    /// The newest format this model writes for new notebooks.
    public static let currentMinor = 5

    /// An empty nbformat 4.5 notebook.
    public init(cells: [Cell] = [], metadata: JSONObject = [:]) {
        self.json = ["metadata": .object(metadata), "nbformat": 4, "nbformat_minor": .int(Notebook.currentMinor)]
        self.cells = cells
    }

    public init(json: JSONObject, cells: [Cell]) {
        self.json = json
        self.cells = cells
    }

    public var nbformat: Int { json["nbformat"]?.intValue ?? 4 }

    public var nbformatMinor: Int {
        get { json["nbformat_minor"]?.intValue ?? 0 }
        set { json["nbformat_minor"] = .int(newValue) }
    }

    public var metadata: JSONObject {
        get { json["metadata"]?.objectValue ?? [:] }
        set { json["metadata"] = .object(newValue) }
    }

    /// Whether this notebook's format has cell ids (4.5 and later).
    public var hasCellIDs: Bool { nbformat > 4 || (nbformat == 4 && nbformatMinor >= 5) }

    /// The kernelspec named in the metadata, if any.
    public var kernelName: String? { metadata["kernelspec"]?["name"]?.stringValue }

    /// The language named in the metadata (`language_info.name`, else the kernelspec's).
    public var language: String? {
        metadata["language_info"]?["name"]?.stringValue ?? metadata["kernelspec"]?["language"]?.stringValue
    }

    /// Index of the first cell with this tag.
    public func firstCell(taggedWith tag: String) -> Int? {
        cells.firstIndex { $0.tags.contains(tag) }
    }

    /// Moves the notebook to nbformat 4.5: sets the minor version and gives every cell an id.
    public mutating func upgradeToCurrentMinor() {
        guard nbformat == 4, nbformatMinor < Notebook.currentMinor else { return }
        nbformatMinor = Notebook.currentMinor
        ensureCellIDs()
    }

    /// Gives a fresh id to each cell that has none or shares one with an earlier cell.
    public mutating func ensureCellIDs() {
        var seen = Set<String>()
        for i in cells.indices {
            if let id = cells[i].id, !id.isEmpty, !seen.contains(id) {
                seen.insert(id)
                continue
            }
            var id = Cell.randomID()
            while seen.contains(id) { id = Cell.randomID() }
            cells[i].id = id
            seen.insert(id)
        }
    }
}

/// `Cell` under a name that does not clash with modules that have a cell of their own (the TUI's screen cell).
public typealias NotebookCell = Cell

/// One cell of a notebook, kept as its JSON object with typed accessors.
public struct Cell: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case code, markdown, raw
    }

    public var json: JSONObject

    public init(json: JSONObject) {
        self.json = json
    }

    /// A new cell of the given kind, shaped as `nbformat.v4.new_*_cell` makes it.
    public init(_ kind: Kind, source: String = "", id: String? = Cell.randomID(), metadata: JSONObject = [:]) {
        var json: JSONObject = ["cell_type": .string(kind.rawValue), "metadata": .object(metadata), "source": .string(source)]
        if let id { json["id"] = .string(id) }
        if kind == .code {
            json["execution_count"] = .null
            json["outputs"] = .array([])
        }
        self.json = json
    }

    /// An id as nbformat makes them: eight hex digits.
    public static func randomID() -> String { Identifier.randomHex(bytes: 4) }

    public var cellType: String { json["cell_type"]?.stringValue ?? "" }
    public var kind: Kind? { Kind(rawValue: cellType) }

    public var id: String? {
        get { json["id"]?.stringValue }
        set { json["id"] = newValue.map(JSON.string) }
    }

    public var source: String {
        get { json["source"].map(Cell.joinLines) ?? "" }
        set { json["source"] = .string(newValue) }
    }

    public var metadata: JSONObject {
        get { json["metadata"]?.objectValue ?? [:] }
        set { json["metadata"] = .object(newValue) }
    }

    public var tags: [String] {
        metadata["tags"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    public var outputs: [Output] {
        get { json["outputs"]?.arrayValue?.compactMap { $0.objectValue.map(Output.init(json:)) } ?? [] }
        set { json["outputs"] = .array(newValue.map { .object($0.json) }) }
    }

    public var executionCount: Int? {
        get { json["execution_count"]?.intValue }
        set { json["execution_count"] = newValue.map(JSON.int) ?? .null }
    }

    /// Joins a list-of-lines value (as files store multi-line text) into one string; strings pass through.
    public static func joinLines(_ value: JSON) -> String {
        switch value {
        case .string(let s): return s
        case .array(let items):
            // Sized first and appended in place: a 500-line log is one allocation, not a list and a join.
            var count = 0
            for case .string(let line) in items { count += line.utf8.count }
            var joined = ""
            joined.reserveCapacity(count)
            for case .string(let line) in items { joined += line }
            return joined
        default: return ""
        }
    }
}

/// One output of a code cell, kept as its JSON object.
public struct Output: Sendable, Equatable {
    public var json: JSONObject

    public init(json: JSONObject) {
        self.json = json
    }

    public var outputType: String { json["output_type"]?.stringValue ?? "" }

    /// `stream` outputs: the stream name (`stdout` or `stderr`).
    public var streamName: String? { json["name"]?.stringValue }

    /// `stream` outputs: the text.
    public var text: String? {
        get { json["text"].map(Cell.joinLines) }
        set { json["text"] = newValue.map(JSON.string) }
    }

    /// `execute_result` and `display_data`: the MIME bundle.
    public var data: JSONObject? { json["data"]?.objectValue }

    /// `error` outputs.
    public var errorName: String? { json["ename"]?.stringValue }
    public var errorValue: String? { json["evalue"]?.stringValue }
    public var traceback: [String] { json["traceback"]?.arrayValue?.compactMap(\.stringValue) ?? [] }

    public static func stream(name: String, text: String) -> Output {
        Output(json: ["name": .string(name), "output_type": "stream", "text": .string(text)])
    }

    public static func error(name: String, value: String, traceback: [String]) -> Output {
        Output(json: [
            "ename": .string(name), "evalue": .string(value), "output_type": "error",
            "traceback": .array(traceback.map(JSON.string)),
        ])
    }
}
