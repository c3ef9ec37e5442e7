import Catalog
public import CoreSupport

/// How `wb import` reads its file.
public struct ImportOptions: Sendable {
    /// The file's format; nil guesses it from the file name.
    public var format: ImportFormat?
    /// The table to read from an SQLite file (nil: its only table).
    public var sourceTable: String?
    /// How many bad rows may be reported and skipped; one more aborts the import.
    public var skipBadRows = 0
    /// Whether a CSV/TSV file has a header row; nil detects it.
    public var header: Bool?
    /// How many rows decide the column types (CSV, TSV, JSON Lines).
    public var sampleRows = ReaderOptions().sampleRows

    public init(format: ImportFormat? = nil, sourceTable: String? = nil, skipBadRows: Int = 0, header: Bool? = nil) {
        self.format = format
        self.sourceTable = sourceTable
        self.skipBadRows = skipBadRows
        self.header = header
    }
}

/// How far an import is, for a progress line.
public struct ImportProgress: Sendable {
    public var bytesRead: Int64
    public var totalBytes: Int64?
    public var rowsImported: Int
}

/// What an import did.
public struct ImportSummary: Sendable {
    public var path: String
    public var format: ImportFormat
    public var table: String
    /// Whether the import created the table.
    public var created: Bool
    public var columns: [ImportColumn]
    public var rowsImported: Int
    public var rowsSkipped: Int
    /// The skipped rows (the first 100), by line.
    public var skipped: [RejectedRow]
    /// Things worth knowing that did not stop the import (a column whose later values outgrew its type).
    public var warnings: [String]
    public var snapshot: CommittedSnapshot
    public var seconds: Double
    public var bytes: Int64?

    public var jsonValue: JSON {
        var object: JSONObject = [
            "path": .string(path), "format": .string(format.rawValue), "table": .string(table), "created": .bool(created),
            "columns": .array(columns.map { ["name": .string($0.name), "type": .string($0.type.rawValue)] }),
            "rows_imported": .int(rowsImported), "rows_skipped": .int(rowsSkipped),
            "skipped": .array(skipped.map { ["line": .int($0.line), "reason": .string($0.reason)] }),
            "warnings": .array(warnings.map { .string($0) }), "snapshot": snapshot.jsonValue, "seconds": .double(seconds),
        ]
        if let bytes { object["bytes"] = .int(Int(bytes)) }
        return .object(object)
    }
}

/// Why an import stopped: a bad row (with its line) or an unusable file. Nothing was imported.
public struct ImportFailure: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A row could not be imported (and no more may be skipped).
        case badRow
        /// The file cannot be read, is empty, or does not fit the table.
        case unusableInput
    }

    public var code: Code
    public var path: String
    public var line: Int?
    public var message: String
    /// Rows skipped before the one that stopped it (with `--skip-bad-rows`).
    public var skippedBefore: [RejectedRow] = []

    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}

/// Reads a file into a lakehouse table: one transaction, one snapshot, nothing half-written.
public enum Importer {
    /// Imports `path` into `table`, creating it from the file's columns when it does not exist.
    ///
    /// Bad rows (wrong number of fields, invalid UTF-8, values that do not fit an existing
    /// column's type) abort the import with their line, unless `skipBadRows` allows skipping
    /// that many. Errors: `ImportFailure`, `ImportError` (the file), `LakehouseError` (the table).
    public static func run(
        path: String, into table: TableName, options: ImportOptions = ImportOptions(), lakehouse: Lakehouse,
        context: QueryContext = QueryContext(), progress: ((ImportProgress) -> Void)? = nil
    ) throws -> ImportSummary {
        let started = Clock.monotonic()
        guard let format = options.format ?? ImportFormat.guess(path: path) else {
            throw ImportFailure(
                code: .unusableInput, path: path, line: nil,
                message: "cannot tell the format from the file name; use --format csv, tsv, jsonl or sqlite")
        }
        var readerOptions = ReaderOptions(header: options.header)
        readerOptions.sampleRows = max(1, options.sampleRows)
        var source: any RowSource
        switch format {
        case .csv, .tsv: source = try DelimitedReader(path: path, format: format, options: readerOptions)
        case .jsonl: source = try JSONLinesReader(path: path, options: readerOptions)
        case .sqlite: source = try SQLiteTableReader(path: path, table: options.sourceTable, options: readerOptions)
        }
        let columns = source.columns
        let totalBytes = source.totalBytes
        guard !columns.isEmpty else {
            throw ImportFailure(code: .unusableInput, path: path, line: nil, message: "the file is empty: there is nothing to import")
        }
        var existing: TableInfo? = nil
        do {
            existing = try lakehouse.table(table)
        } catch {
            if error.code != .notFound { throw error }
        }
        var expected: [ColumnType?] = Array(repeating: nil, count: columns.count)
        var targetTypes: [ColumnType?] = Array(repeating: nil, count: columns.count)
        if let existing {
            for (i, column) in columns.enumerated() {
                guard let target = existing.columns.first(where: { $0.name.lowercased() == column.name.lowercased() }) else {
                    throw ImportFailure(
                        code: .unusableInput, path: path, line: nil,
                        message: "the file has a column \(column.name) that \(table) does not have (it has \(existing.columns.map(\.name).joined(separator: ", ")))")
                }
                let type = SQLiteTableReader.type(declared: target.type)
                targetTypes[i] = type
                expected[i] = (type == .text || type == .blob) ? nil : type
            }
            source.readAs(targetTypes)
        }
        let mode: AppendMode = existing == nil
            ? .create(columns.map { ColumnDefinition($0.name, $0.type.rawValue) }) : .append
        var skipped: [RejectedRow] = []
        var skippedCount = 0
        var rowsImported = 0
        // The file is parsed on its own thread while this one inserts: two batches in flight at most.
        let pipe = BatchPipe(capacity: 2)
        final class SourceBox: @unchecked Sendable {  // handed to the reading thread, then only read here after it ends
            var source: any RowSource
            init(_ source: any RowSource) { self.source = source }
        }
        let box = SourceBox(source)
        pipe.startReading { put in try box.source.forEachBatch { try put($0) } }
        defer { pipe.cancelAndWait() }
        let names = columns.map(\.name)
        let checking = expected.contains { $0 != nil }
        let outcome = try lakehouse.append(into: table, mode: mode, columns: names, context: context) { writer in
            while var batch = try pipe.take() {
                if checking { checkTypes(&batch, expected: expected, names: names) }
                guard batch.columnCount == columns.count else {
                    let line = batch.lines.first ?? 0
                    throw ImportFailure(
                        code: .unusableInput, path: path, line: line,
                        message: "a key first appears here, after the \(readerOptions.sampleRows) rows that decide the columns; raise --sample-rows so they include it")
                }
                for rejected in batch.rejected.sorted(by: { $0.line < $1.line }) {
                    skippedCount += 1
                    guard skippedCount <= options.skipBadRows else {
                        throw ImportFailure(
                            code: .badRow, path: path, line: rejected.line,
                            message: rejected.reason
                                + (options.skipBadRows == 0
                                    ? "; nothing was imported (--skip-bad-rows N skips up to N bad rows)"
                                    : "; more than \(options.skipBadRows) bad rows, nothing was imported"),
                            skippedBefore: skipped)
                    }
                    if skipped.count < 100 { skipped.append(rejected) }
                }
                try writer.write(batch)
                rowsImported = writer.rowsWritten
                progress?(ImportProgress(bytesRead: batch.bytesRead, totalBytes: totalBytes, rowsImported: rowsImported))
            }
        }
        pipe.cancelAndWait()
        source = box.source
        var warnings: [String] = []
        if existing == nil {
            for (before, after) in zip(columns, source.finalColumns) where before.type != after.type {
                warnings.append(
                    "column \(before.name) was created \(before.type.rawValue) from the first \(readerOptions.sampleRows) rows; later rows hold \(after.type.rawValue) values, kept as they are (raise --sample-rows to type it from more rows)")
            }
        }
        return ImportSummary(
            path: path, format: format, table: outcome.table.qualifiedName, created: existing == nil, columns: columns,
            rowsImported: outcome.rowsAppended, rowsSkipped: skippedCount, skipped: skipped, warnings: warnings,
            snapshot: outcome.snapshot, seconds: Clock.monotonic() - started, bytes: totalBytes)
    }

    /// Marks rows whose values do not fit an existing column's type (nil: any value fits).
    static func checkTypes(_ batch: inout ImportBatch, expected: [ColumnType?], names: [String]) {
        for r in 0..<batch.rowCount {
            for (c, type) in expected.enumerated() {
                guard let type else { continue }
                let kind = batch.kind(row: r, column: c)
                let fits: Bool
                switch (type, kind) {
                case (_, .null): fits = true
                case (.integer, .integer), (.real, .integer), (.real, .real): fits = true
                case (.integer, .real):
                    let d = batch.real(row: r, column: c)
                    fits = d.rounded() == d && abs(d) < 9.2e18
                case (.date, .text): fits = batch.withBytes(row: r, column: c) { FieldParsing.isDate($0) }
                case (.timestamp, .text):
                    fits = batch.withBytes(row: r, column: c) { FieldParsing.isTimestamp($0) || FieldParsing.isDate($0) }
                default: fits = false
                }
                if !fits {
                    let shown = String(batch.value(row: r, column: c).description.prefix(40))
                    batch.skip(row: r, "column \(names[c]) is \(type.rawValue) but the value is '\(shown)'")
                    break
                }
            }
        }
    }
}
