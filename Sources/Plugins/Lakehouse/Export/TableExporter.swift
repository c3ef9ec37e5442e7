public import CoreSupport
public import Storage

/// The formats `wb export` writes.
public enum ExportFormat: String, Sendable, CaseIterable {
    case csv, jsonl

    /// The format a file name suggests (`.csv`, `.jsonl`/`.ndjson`), or nil.
    public static func guess(path: String) -> ExportFormat? {
        switch ImportFormat.guess(path: path) {
        case .csv: return .csv
        case .jsonl: return .jsonl
        default: return nil
        }
    }
}

/// Writes query rows to a CSV or JSON Lines file that appears only when complete.
///
/// CSV follows RFC 4180 with a header row: fields holding a comma, quote, CR or LF are
/// quoted, NULL is an empty field and the empty string `""`, so `wb import` reads back
/// what was written. JSON Lines writes one object per row (NULL as `null`). Blobs are
/// written as lowercase hex text in both.
public final class TableExporter {
    public let format: ExportFormat
    private let file: AtomicFileWriter
    private var columns: [String] = []
    private var line: [UInt8] = []
    /// Rows written so far.
    public private(set) var rowCount = 0

    /// Starts writing `path`; nothing is visible there until `commit()`.
    public init(path: String, format: ExportFormat) throws(SystemError) {
        self.format = format
        file = try AtomicFileWriter(path: path)
    }

    /// The file's target path.
    public var path: String { file.path }

    /// Bytes written so far.
    public var bytesWritten: Int64 { file.bytesWritten }

    /// Sets the columns (and, for CSV, writes the header).
    public func begin(columns: [String]) throws(SystemError) {
        self.columns = columns
        guard format == .csv else { return }
        line.removeAll(keepingCapacity: true)
        for (i, name) in columns.enumerated() {
            if i > 0 { line.append(UInt8(ascii: ",")) }
            appendCSVText(name, forceQuotes: false)
        }
        line.append(10)
        try file.write(line)
    }

    /// Writes one row (values in column order).
    public func write(_ row: [DatabaseValue]) throws(SystemError) {
        line.removeAll(keepingCapacity: true)
        switch format {
        case .csv:
            for (i, value) in row.enumerated() {
                if i > 0 { line.append(UInt8(ascii: ",")) }
                switch value {
                case .null: break
                case .integer(let v): line.append(contentsOf: String(v).utf8)
                case .real(let d): line.append(contentsOf: JSON.double(d).serializedBytes())
                case .text(let s): appendCSVText(s, forceQuotes: s.isEmpty)
                case .blob(let b): line.append(contentsOf: Identifier.hexString(b).utf8)
                }
            }
        case .jsonl:
            var object = JSONObject()
            for (name, value) in zip(columns, row) {
                switch value {
                case .null: object[name] = .null
                case .integer(let v): object[name] = .int(Int(v))
                case .real(let d): object[name] = .double(d)
                case .text(let s): object[name] = .string(s)
                case .blob(let b): object[name] = .string(Identifier.hexString(b))
                }
            }
            line.append(contentsOf: JSON.object(object).serializedBytes())
        }
        line.append(10)
        try file.write(line)
        rowCount += 1
    }

    /// Puts the file in place.
    public func commit() throws(SystemError) { try file.commit() }

    /// Gives up; the target is left as it was.
    public func abandon() { file.abandon() }

    private func appendCSVText(_ text: String, forceQuotes: Bool) {
        let needsQuotes = forceQuotes || text.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }
        guard needsQuotes else {
            line.append(contentsOf: text.utf8)
            return
        }
        line.append(UInt8(ascii: "\""))
        for b in text.utf8 {
            if b == UInt8(ascii: "\"") { line.append(b) }
            line.append(b)
        }
        line.append(UInt8(ascii: "\""))
    }
}
