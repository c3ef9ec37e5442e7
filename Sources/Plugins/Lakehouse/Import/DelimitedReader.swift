import CoreSupport

/// Reads CSV (RFC 4180) and TSV files as typed row batches, streaming, in bounded memory.
///
/// Quoted fields may hold delimiters, doubled quotes and line breaks; lines end in LF,
/// CRLF or CR. A UTF-8 byte-order mark is skipped; UTF-16 is refused. The first
/// `sampleRows` rows decide the header (unless given) and each column's type; a later
/// value that does not fit widens the column's final type (INTEGER to REAL to TEXT,
/// DATE to TIMESTAMP to TEXT) and is kept as it is. Rows with the wrong number of
/// fields, invalid UTF-8 or stray text after a closing quote are rejected with their
/// line number. Empty unquoted fields are NULL; `""` is the empty string in a text column.
public struct DelimitedReader: RowSource {
    public let path: String
    public let delimiter: UInt8
    public private(set) var columns: [ImportColumn] = []
    public private(set) var finalColumns: [ImportColumn] = []
    /// Whether the first row was taken as the header.
    public private(set) var hasHeader = false
    public var totalBytes: Int64? { input.size }

    private let input: FileInput
    private let options: ReaderOptions
    /// The line the next record starts on.
    private var line = 1
    private var sample = RecordStore()
    private var fields: [FieldRef] = []
    /// Set by `readAs`: values that do not fit stay as they are, without widening the column.
    private var typesFixed = false

    /// Opens `path` and reads the sample (header and types); `delimiter` is `,` for CSV and a tab for TSV.
    public init(path: String, delimiter: UInt8 = UInt8(ascii: ","), options: ReaderOptions = ReaderOptions()) throws(ImportError) {
        self.path = path
        self.delimiter = delimiter
        self.options = options
        input = try FileInput(path: path, readSize: options.readSize, maximumBytes: options.maximumRecordBytes)
        try skipByteOrderMark()
        try readSample()
    }

    /// A reader for a format: `.csv` or `.tsv`.
    public init(path: String, format: ImportFormat, options: ReaderOptions = ReaderOptions()) throws(ImportError) {
        try self.init(path: path, delimiter: format == .tsv ? 9 : UInt8(ascii: ","), options: options)
    }

    // MARK: Records

    /// One field of a record: a byte range relative to the record's start.
    struct FieldRef {
        var start: Int32
        var end: Int32
        var quoted: Bool
        /// Holds doubled quotes to undo.
        var escaped: Bool
    }

    /// What scanning one record found.
    enum Scan {
        /// A whole record: the byte after it, the line breaks in it, a field with text after its closing quote.
        case record(next: Int, newlines: Int, badQuoteField: Int?)
        /// The record runs past the bytes read: read more and scan again.
        case needMore
        /// A quoted field is still open at the end of the file.
        case unterminated(newlines: Int)
    }

    /// Scans one record of `bytes` from `from`, filling `fields` (offsets relative to `from`).
    static func scanRecord(
        _ bytes: UnsafeRawBufferPointer, from: Int, atEOF: Bool, delimiter: UInt8, fields: inout [FieldRef]
    ) -> Scan {
        fields.removeAll(keepingCapacity: true)
        let n = bytes.count
        let quote = UInt8(ascii: "\"")
        var p = from
        var newlines = 0
        var badQuoteField: Int? = nil
        func ref(_ s: Int, _ e: Int, quoted: Bool, escaped: Bool) -> FieldRef {
            FieldRef(start: Int32(s - from), end: Int32(e - from), quoted: quoted, escaped: escaped)
        }
        while true {
            if p == n {
                guard atEOF else { return .needMore }
                fields.append(ref(p, p, quoted: false, escaped: false))
                return .record(next: p, newlines: newlines, badQuoteField: badQuoteField)
            }
            var fieldEnd: Int
            if bytes[p] == quote {
                let contentStart = p + 1
                var q = contentStart
                var escaped = false
                while true {
                    while q < n && bytes[q] != quote {
                        if bytes[q] == 10 {
                            newlines += 1
                        } else if bytes[q] == 13 && (q + 1 >= n || bytes[q + 1] != 10) {
                            newlines += 1
                        }
                        q += 1
                    }
                    if q == n { return atEOF ? .unterminated(newlines: newlines) : .needMore }
                    if q + 1 < n && bytes[q + 1] == quote {
                        escaped = true
                        q += 2
                        continue
                    }
                    if q + 1 == n && !atEOF { return .needMore }
                    break
                }
                fields.append(ref(contentStart, q, quoted: true, escaped: escaped))
                p = q + 1
                if p < n && bytes[p] != delimiter && bytes[p] != 10 && bytes[p] != 13 {
                    // Text after the closing quote: keep scanning to the field's end, and reject the row later.
                    if badQuoteField == nil { badQuoteField = fields.count }
                    while p < n && bytes[p] != delimiter && bytes[p] != 10 && bytes[p] != 13 { p += 1 }
                    if p == n && !atEOF { return .needMore }
                }
                fieldEnd = p
            } else {
                let s = p
                while p < n {
                    let b = bytes[p]
                    if b == delimiter || b == 10 || b == 13 { break }
                    p += 1
                }
                if p == n && !atEOF { return .needMore }
                fields.append(ref(s, p, quoted: false, escaped: false))
                fieldEnd = p
            }
            if fieldEnd == n { return .record(next: n, newlines: newlines, badQuoteField: badQuoteField) }
            let b = bytes[fieldEnd]
            if b == delimiter {
                p = fieldEnd + 1
                continue
            }
            if b == 10 { return .record(next: fieldEnd + 1, newlines: newlines + 1, badQuoteField: badQuoteField) }
            // CR: CRLF or a lone CR.
            if fieldEnd + 1 < n {
                let next = bytes[fieldEnd + 1] == 10 ? fieldEnd + 2 : fieldEnd + 1
                return .record(next: next, newlines: newlines + 1, badQuoteField: badQuoteField)
            }
            guard atEOF else { return .needMore }
            return .record(next: n, newlines: newlines + 1, badQuoteField: badQuoteField)
        }
    }

    /// Records kept from the sample, replayed into the first batches.
    struct RecordStore {
        var bytes: [UInt8] = []
        var fields: [FieldRef] = []
        var records: [(bytesStart: Int, fieldsStart: Int, fieldCount: Int, line: Int, problem: String?)] = []
    }

    private mutating func skipByteOrderMark() throws(ImportError) {
        while input.available.count < 3, try input.refill(line: 1) {}
        let head = input.available
        if head.count >= 3, head[0] == 0xEF, head[1] == 0xBB, head[2] == 0xBF {
            input.start += 3
        } else if head.count >= 2, (head[0] == 0xFF && head[1] == 0xFE) || (head[0] == 0xFE && head[1] == 0xFF) {
            throw ImportError(.malformed, path: path, line: 1, "the file is UTF-16 (it starts with a UTF-16 byte-order mark); convert it to UTF-8")
        }
    }

    /// Calls `body` for the next record with its bytes and fields, or returns false at the end of the file.
    /// Blank lines are skipped.
    private mutating func nextRecord(
        _ body: (UnsafeRawBufferPointer, [FieldRef], Int, String?) throws -> Void
    ) throws -> Bool {
        while true {
            let scan = DelimitedReader.scanRecord(
                input.available, from: 0, atEOF: input.atEOF, delimiter: delimiter, fields: &fields)
            switch scan {
            case .needMore:
                if try !input.refill(line: line) && input.available.isEmpty { return false }
                continue
            case .unterminated(let newlines):
                let recordLine = line
                line += newlines
                let record = input.available
                input.start += record.count
                fields.removeAll()
                try body(
                    record, fields, recordLine,
                    "a quoted field opened on this line is never closed (it runs to the end of the file, line \(line))")
                return true
            case .record(let next, let newlines, let badQuoteField):
                let available = input.available
                if next == 0 && input.atEOF { return false }
                let recordLine = line
                line += newlines
                input.start += next
                if fields.count == 1 && !fields[0].quoted && fields[0].start == fields[0].end {
                    continue  // a blank line
                }
                let problem = badQuoteField.map { "text after the closing quote of field \($0)" }
                try body(UnsafeRawBufferPointer(rebasing: available[0..<next]), fields, recordLine, problem)
                return true
            }
        }
    }

    // MARK: The sample: header and types

    private mutating func readSample() throws(ImportError) {
        var store = RecordStore()
        do {
            while store.records.count < options.sampleRows + 1 && store.bytes.count < options.sampleBytes {
                let more = try nextRecord { bytes, fields, line, problem in
                    store.records.append((store.bytes.count, store.fields.count, fields.count, line, problem))
                    store.bytes.append(contentsOf: bytes)
                    store.fields.append(contentsOf: fields)
                }
                if !more { break }
            }
        } catch let error as ImportError {
            throw error
        } catch {
            throw ImportError(.io, path: path, "\(error)")
        }
        guard !store.records.isEmpty else { return }  // an empty file: no columns, no rows
        sample = store
        let first = store.records[0]
        if let problem = first.problem {
            throw ImportError(.malformed, path: path, line: first.line, "the first row cannot be read: \(problem)")
        }
        let firstValues = (0..<first.fieldCount).map { sampleField(0, $0) }
        // Types of the rows after the first, per column of the first row.
        var types = [ColumnType?](repeating: nil, count: first.fieldCount)
        for r in 1..<store.records.count where store.records[r].fieldCount == first.fieldCount && store.records[r].problem == nil {
            for c in 0..<first.fieldCount {
                let (bytes, quoted) = sampleField(r, c)
                guard let t = DelimitedReader.valueType(bytes, quoted: quoted) else { continue }
                types[c] = types[c].map { $0.widened(with: t) } ?? t
            }
        }
        hasHeader = options.header ?? DelimitedReader.looksLikeHeader(firstValues.map(\.0), types: types)
        var names: [String] = []
        if hasHeader {
            for (i, (bytes, _)) in firstValues.enumerated() {
                guard bytes.withUnsafeBytes({ FieldParsing.firstInvalidUTF8($0) }) == nil else {
                    throw ImportError(.malformed, path: path, line: first.line, "the header's field \(i + 1) is not valid UTF-8")
                }
                names.append(String(decoding: bytes, as: UTF8.self).trimmed())
            }
        } else {
            names = (0..<first.fieldCount).map { "column\($0 + 1)" }
            for c in 0..<first.fieldCount {
                let (bytes, quoted) = firstValues[c]
                if let t = DelimitedReader.valueType(bytes, quoted: quoted) { types[c] = types[c].map { $0.widened(with: t) } ?? t }
            }
        }
        columns = zip(ColumnNames.unique(names), types).map { ImportColumn(name: $0, type: $1 ?? .text) }
        finalColumns = columns
    }

    private func sampleField(_ record: Int, _ field: Int) -> ([UInt8], Bool) {
        let r = sample.records[record]
        let f = sample.fields[r.fieldsStart + field]
        var bytes = Array(sample.bytes[(r.bytesStart + Int(f.start))..<(r.bytesStart + Int(f.end))])
        if f.escaped { bytes = DelimitedReader.unescape(bytes[...]) }
        return (bytes, f.quoted)
    }

    static func unescape(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var skip = false
        for b in bytes {
            if skip {
                skip = false
                continue
            }
            out.append(b)
            if b == UInt8(ascii: "\"") { skip = true }
        }
        return out
    }

    /// The type of one value, or nil for NULL (an empty unquoted field; an empty quoted one is text).
    static func valueType(_ bytes: [UInt8], quoted: Bool) -> ColumnType? {
        if bytes.isEmpty { return quoted ? .text : nil }
        return bytes.withUnsafeBytes { FieldParsing.classify($0) }
    }

    /// Whether a first row is a header: the columns whose later values are typed vote, a name
    /// that is not of its column's type for it, a value that is for against; with no vote, a
    /// row of text (no numbers or dates) is a header.
    static func looksLikeHeader(_ first: [[UInt8]], types: [ColumnType?]) -> Bool {
        var votes = 0
        var allText = true
        for (c, bytes) in first.enumerated() {
            let t = bytes.isEmpty ? nil : bytes.withUnsafeBytes { FieldParsing.classify($0) }
            if let t, t != .text { allText = false }
            guard let columnType = types[c], columnType != .text else { continue }
            guard let t else { continue }
            votes += (t.widened(with: columnType) == columnType) ? -1 : 1
        }
        return votes > 0 || (votes == 0 && allText)
    }

    public mutating func readAs(_ types: [ColumnType?]) {
        for (i, type) in types.enumerated() where i < columns.count {
            if let type { columns[i].type = type }
        }
        finalColumns = columns
        typesFixed = true
    }

    // MARK: Rows

    public mutating func forEachBatch(_ body: (ImportBatch) throws -> Void) throws {
        guard !columns.isEmpty else { return }
        var batch = ImportBatch(columnCount: columns.count)
        var converter = Converter(columns: columns, fixed: typesFixed)
        let sample = self.sample
        self.sample = RecordStore()
        func flush(_ force: Bool) throws {
            guard force || batch.rowCount >= options.batchRows || batch.arena.count >= options.batchBytes else { return }
            guard !batch.isEmpty else { return }
            batch.bytesRead = input.position
            try body(batch)
            batch.reset(columnCount: columns.count)
        }
        try sample.bytes.withUnsafeBytes { raw in
            for (r, record) in sample.records.enumerated() where !(r == 0 && hasHeader) {
                let fields = sample.fields[record.fieldsStart..<(record.fieldsStart + record.fieldCount)]
                let bytes = UnsafeRawBufferPointer(rebasing: raw[record.bytesStart...])
                converter.append(bytes, fields, line: record.line, problem: record.problem, to: &batch)
                try flush(false)
            }
        }
        while try nextRecord({ bytes, fields, line, problem in
            converter.append(bytes, fields[...], line: line, problem: problem, to: &batch)
        }) {
            try flush(false)
        }
        try flush(true)
        for (i, type) in converter.types.enumerated() { finalColumns[i].type = type }
    }

    /// Turns records into typed values, widening the column types as values require.
    struct Converter {
        var types: [ColumnType]
        let names: [String]
        /// Keep the types as given: a value that does not fit stays as it is (for a typed table to judge).
        let fixed: Bool

        init(columns: [ImportColumn], fixed: Bool) {
            types = columns.map(\.type)
            names = columns.map(\.name)
            self.fixed = fixed
        }

        mutating func append(
            _ record: UnsafeRawBufferPointer, _ fields: ArraySlice<FieldRef>, line: Int, problem: String?, to batch: inout ImportBatch
        ) {
            if let problem {
                batch.reject(line: line, problem)
                return
            }
            guard fields.count == types.count else {
                batch.reject(line: line, "expected \(types.count) field\(types.count == 1 ? "" : "s"), found \(fields.count)")
                return
            }
            var c = 0
            for f in fields {
                let bytes = UnsafeRawBufferPointer(rebasing: record[Int(f.start)..<Int(f.end)])
                let ok: Bool
                if f.escaped {
                    let unescaped = DelimitedReader.unescape(ArraySlice(bytes))
                    ok = unescaped.withUnsafeBytes { appendValue($0, quoted: true, column: c, line: line, to: &batch) }
                } else {
                    ok = appendValue(bytes, quoted: f.quoted, column: c, line: line, to: &batch)
                }
                guard ok else {
                    batch.dropPartialRow()
                    return
                }
                c += 1
            }
            batch.endRow(line: line)
        }

        @inline(__always)
        mutating func appendValue(
            _ bytes: UnsafeRawBufferPointer, quoted: Bool, column c: Int, line: Int, to batch: inout ImportBatch
        ) -> Bool {
            let type = types[c]
            if bytes.isEmpty {
                if quoted && (type == .text) {
                    batch.appendText(bytes)
                } else {
                    batch.appendNull()
                }
                return true
            }
            switch type {
            case .integer:
                if let v = FieldParsing.integer(bytes) {
                    batch.appendInteger(v)
                    return true
                }
            case .real:
                if let v = FieldParsing.real(bytes) {
                    batch.appendReal(v)
                    return true
                }
            case .date:
                if FieldParsing.isDate(bytes) { return appendText(bytes, column: c, line: line, to: &batch) }
            case .timestamp:
                if FieldParsing.isTimestamp(bytes) || FieldParsing.isDate(bytes) {
                    return appendText(bytes, column: c, line: line, to: &batch)
                }
            case .text, .blob:
                return appendText(bytes, column: c, line: line, to: &batch)
            }
            // The value does not fit the sampled type: widen, and keep the value as it is.
            let actual = FieldParsing.classify(bytes)
            if !fixed { types[c] = type.widened(with: actual) }
            switch actual {
            case .integer where types[c] == .real:
                batch.appendReal(Double(FieldParsing.integer(bytes)!))
                return true
            case .integer:
                batch.appendInteger(FieldParsing.integer(bytes)!)
                return true
            case .real:
                batch.appendReal(FieldParsing.real(bytes)!)
                return true
            default:
                return appendText(bytes, column: c, line: line, to: &batch)
            }
        }

        private func appendText(_ bytes: UnsafeRawBufferPointer, column c: Int, line: Int, to batch: inout ImportBatch) -> Bool {
            if let bad = FieldParsing.firstInvalidUTF8(bytes) {
                batch.dropPartialRow()
                batch.reject(
                    line: line,
                    "invalid UTF-8 in field \(c + 1) (\(names[c])): byte 0x\(String(bytes[bad], radix: 16, uppercase: true)) at offset \(bad)")
                return false
            }
            batch.appendText(bytes)
            return true
        }
    }
}

/// Column names made usable: trimmed, empty ones named `columnN`, repeats (ignoring case, as SQLite does) numbered.
enum ColumnNames {
    static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for (i, raw) in names.enumerated() {
            var name = raw.isEmpty ? "column\(i + 1)" : raw
            if seen.contains(name.lowercased()) {
                var k = 2
                while seen.contains("\(name)_\(k)".lowercased()) { k += 1 }
                name = "\(name)_\(k)"
            }
            seen.insert(name.lowercased())
            out.append(name)
        }
        return out
    }
}
