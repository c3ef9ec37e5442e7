import CoreSupport

/// Reads JSON Lines (one JSON object per line) as typed row batches, streaming, in bounded memory.
///
/// Columns are the objects' keys in order of first appearance; a key first seen after
/// the sample adds a column (the batch before it ends early, so every batch is rectangular).
/// Numbers are INTEGER or REAL, booleans INTEGER 0/1, strings TEXT (DATE or TIMESTAMP when
/// every one looks like it), nested arrays and objects their JSON text, `null` and missing
/// keys NULL. A line that is not a JSON object is rejected with its line number.
public struct JSONLinesReader: RowSource {
    public let path: String
    public private(set) var columns: [ImportColumn] = []
    public private(set) var finalColumns: [ImportColumn] = []
    public var totalBytes: Int64? { input.size }

    private let input: FileInput
    private let options: ReaderOptions
    private var line = 1
    private var sample: [(line: Int, value: ParsedLine)] = []
    private var index: [String: Int] = [:]
    private var lowercasedNames = Set<String>()

    /// Opens `path` and reads the sample that decides the columns and their types.
    public init(path: String, options: ReaderOptions = ReaderOptions()) throws(ImportError) {
        self.path = path
        self.options = options
        input = try FileInput(path: path, readSize: options.readSize, maximumBytes: options.maximumRecordBytes)
        while input.available.count < 3, try input.refill(line: 1) {}
        let head = input.available
        if head.count >= 3, head[0] == 0xEF, head[1] == 0xBB, head[2] == 0xBF { input.start += 3 }
        var sampleBytes = 0
        var types: [ColumnType?] = []
        while sample.count < options.sampleRows && sampleBytes < options.sampleBytes {
            guard let (lineNumber, parsed, size) = try nextObject() else { break }
            sampleBytes += size
            sample.append((lineNumber, parsed))
            guard case .object(let object) = parsed else { continue }
            for (key, value) in object {
                let c = column(for: key, type: .text)
                if c == types.count { types.append(nil) }
                if let t = JSONLinesReader.type(of: value) { types[c] = types[c].map { $0.widened(with: t) } ?? t }
            }
        }
        for (c, t) in types.enumerated() { columns[c].type = t ?? .text }
        finalColumns = columns
    }

    /// The index of the column for `key`, adding one (with a unique name) when it is new.
    private mutating func column(for key: String, type: ColumnType) -> Int {
        if let c = index[key] { return c }
        let name = ColumnNames.unique(columns.map(\.name) + [key]).last!
        index[key] = columns.count
        columns.append(ImportColumn(name: name, type: type))
        lowercasedNames.insert(name.lowercased())
        return columns.count - 1
    }

    /// The next non-blank line parsed: its line number, the object or why not, and its size.
    private mutating func nextObject() throws(ImportError) -> (Int, ParsedLine, Int)? {
        while true {
            let available = input.available
            guard let newline = available.firstIndex(of: 10) else {
                if try input.refill(line: line) { continue }
                if input.available.isEmpty { return nil }
                return parseLine(input.available, consumed: input.available.count)
            }
            return parseLine(UnsafeRawBufferPointer(rebasing: available[0..<newline]), consumed: newline + 1)
        }
    }

    private mutating func parseLine(_ bytes: UnsafeRawBufferPointer, consumed: Int) -> (Int, ParsedLine, Int)? {
        let lineNumber = line
        line += 1
        input.start += consumed
        let blank = bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        if blank { return (lineNumber, .blank, 0) }
        if let bad = FieldParsing.firstInvalidUTF8(bytes) {
            return (lineNumber, .rejected("invalid UTF-8 at byte \(bad + 1)"), bytes.count)
        }
        do {
            let value = try JSON.parse(bytes.assumingMemoryBound(to: UInt8.self))
            guard case .object(let object) = value else {
                return (lineNumber, .rejected("expected a JSON object, found \(["array", "object", "integer"].contains(value.typeName) ? "an" : "a") \(value.typeName)"), bytes.count)
            }
            return (lineNumber, .object(object), bytes.count)
        } catch {
            return (lineNumber, .rejected("not valid JSON: column \(error.column): \(error.message)"), bytes.count)
        }
    }

    /// One line: an object, a blank line, or why it is not an object.
    enum ParsedLine {
        case object(JSONObject)
        case blank
        case rejected(String)
    }

    /// The type a JSON value asks for; nil for null.
    static func type(of value: JSON) -> ColumnType? {
        switch value {
        case .null: return nil
        case .bool, .int: return .integer
        case .double: return .real
        case .bigInt, .array, .object: return .text
        case .string(var s):
            return s.withUTF8 { utf8 in
                let raw = UnsafeRawBufferPointer(utf8)
                if FieldParsing.isDate(raw) { return .date }
                if FieldParsing.isTimestamp(raw) { return .timestamp }
                return .text
            }
        }
    }

    public mutating func forEachBatch(_ body: (ImportBatch) throws -> Void) throws {
        var batch = ImportBatch(columnCount: columns.count)
        var types = columns.map(\.type)
        var slots: [JSON?] = []
        let sample = self.sample
        self.sample = []
        func flush(_ force: Bool) throws {
            guard force || batch.rowCount >= options.batchRows || batch.arena.count >= options.batchBytes else { return }
            guard !batch.isEmpty else { return }
            batch.bytesRead = input.position
            try body(batch)
            batch.reset(columnCount: columns.count)
        }
        func add(_ lineNumber: Int, _ parsed: ParsedLine) throws {
            switch parsed {
            case .blank:
                break
            case .rejected(let reason):
                batch.reject(line: lineNumber, reason)
            case .object(let object):
                slots = [JSON?](repeating: nil, count: columns.count)
                for (key, value) in object {
                    var c = index[key]
                    if c == nil {
                        // A new column: the rows so far go out first, so each batch keeps one width.
                        try flush(true)
                        c = column(for: key, type: JSONLinesReader.type(of: value) ?? .text)
                        types.append(columns[c!].type)
                        finalColumns.append(columns[c!])
                        batch.reset(columnCount: columns.count)
                        slots.append(nil)
                    }
                    slots[c!] = value
                }
                for c in 0..<columns.count {
                    guard let value = slots[c], value != .null else {
                        batch.appendNull()
                        continue
                    }
                    if let t = JSONLinesReader.type(of: value) { types[c] = types[c].widened(with: t) }
                    append(value, as: types[c], to: &batch)
                }
                batch.endRow(line: lineNumber)
            }
            try flush(false)
        }
        for (lineNumber, parsed) in sample { try add(lineNumber, parsed) }
        while let (lineNumber, parsed, _) = try nextObject() { try add(lineNumber, parsed) }
        try flush(true)
        for (c, t) in types.enumerated() { finalColumns[c].type = t }
    }

    private func append(_ value: JSON, as type: ColumnType, to batch: inout ImportBatch) {
        switch value {
        case .null: batch.appendNull()
        case .bool(let b): batch.appendInteger(b ? 1 : 0)
        case .int(let i): type == .real ? batch.appendReal(Double(i)) : batch.appendInteger(Int64(i))
        case .double(let d): batch.appendReal(d)
        case .bigInt(let digits): batch.appendText(digits)
        case .string(let s): batch.appendText(s)
        case .array, .object: batch.appendText(value.serialized())
        }
    }
}
