/// The formats `wb import` reads.
public enum ImportFormat: String, Sendable, CaseIterable {
    case csv, tsv, jsonl, sqlite

    /// The format a file name suggests (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`, `.db`/`.sqlite`/`.sqlite3`), or nil.
    public static func guess(path: String) -> ImportFormat? {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "csv": return .csv
        case "tsv", "tab": return .tsv
        case "jsonl", "ndjson": return .jsonl
        case "db", "sqlite", "sqlite3": return .sqlite
        default: return nil
        }
    }
}

/// The type an imported column gets.
///
/// Dates and timestamps are stored as ISO 8601 text (what SQLite's date functions read);
/// the type records that every value looked like one.
public enum ColumnType: String, Sendable, Equatable, CaseIterable {
    case integer = "INTEGER"
    case real = "REAL"
    case text = "TEXT"
    case date = "DATE"
    case timestamp = "TIMESTAMP"
    case blob = "BLOB"

    /// The narrowest type holding values of both types (INTEGER < REAL, DATE < TIMESTAMP, anything else TEXT).
    public func widened(with other: ColumnType) -> ColumnType {
        if self == other { return self }
        switch (self, other) {
        case (.integer, .real), (.real, .integer): return .real
        case (.date, .timestamp), (.timestamp, .date): return .timestamp
        case (.blob, _), (_, .blob): return .blob
        default: return .text
        }
    }
}

/// One column of an import: its name and type.
public struct ImportColumn: Sendable, Equatable {
    public var name: String
    public var type: ColumnType

    public init(name: String, type: ColumnType) {
        self.name = name
        self.type = type
    }
}

/// A row the reader could not use, and why.
public struct RejectedRow: Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line where the row starts (for a SQLite table, the row's position).
    public var line: Int
    public var reason: String

    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "line \(line): \(reason)" }
}

/// Why an import could not be read at all.
public struct ImportError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// The file cannot be opened or read.
        case io
        /// The file is not in the expected format or encoding (a UTF-16 byte-order mark, an unterminated quote).
        case malformed
        /// A single record is larger than the reader's limit.
        case tooLarge
        /// The named table or column does not exist in the source.
        case notFound
    }

    public var code: Code
    public var path: String
    /// The 1-based line the problem is on, when there is one.
    public var line: Int?
    public var message: String

    public init(_ code: Code, path: String, line: Int? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}

/// How the readers read: header detection, sample size, batch size.
public struct ReaderOptions: Sendable {
    /// Whether the first row is a header; nil detects it.
    public var header: Bool?
    /// How many rows the type inference looks at before the first batch goes out.
    public var sampleRows = 1_000
    /// The most bytes the sample may hold (the inference stops early past it).
    public var sampleBytes = 8 << 20
    /// The most rows in one batch.
    public var batchRows = 4_096
    /// The most text bytes in one batch (a batch ends early past it).
    public var batchBytes = 4 << 20
    /// The largest single record (a row of a CSV, a line of JSON Lines) the reader accepts.
    public var maximumRecordBytes = 64 << 20
    /// The size of each read() from the file.
    public var readSize = 1 << 20

    public init(header: Bool? = nil) {
        self.header = header
    }
}

/// Something `wb import` reads: a schema first, then batches of typed rows in bounded memory.
public protocol RowSource {
    /// The columns, as inferred or declared (a reader may widen a type or add a column later; see `finalColumns`).
    var columns: [ImportColumn] { get }
    /// The columns after every row was read: types widened where later rows disagreed with the sample,
    /// columns that first appeared after the sample added at the end.
    var finalColumns: [ImportColumn] { get }
    /// The size of the input in bytes, when known (for progress).
    var totalBytes: Int64? { get }
    /// Reads every row, handing `body` one batch at a time; a batch is valid only during the call.
    /// An error thrown by `body` stops the reading and is rethrown.
    mutating func forEachBatch(_ body: (ImportBatch) throws -> Void) throws
    /// Reads text as these types instead of the inferred ones (nil keeps one): for appending to a
    /// table whose columns are typed already. Sources whose values carry their own types ignore it.
    mutating func readAs(_ types: [ColumnType?])
}

extension RowSource {
    public mutating func readAs(_ types: [ColumnType?]) {}
}
