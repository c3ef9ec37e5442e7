public import CoreSupport
public import PluginBus

// `lakehouse.import` and `lakehouse.export`: files in and out of lakehouse tables, as bus requests,
// so the governance authorizer and audit see them like every other action.

/// Imports a file into a table: `lakehouse.import` (one transaction, one snapshot).
///
/// Progress is published as `ImportProgressed` events carrying this request's id.
public struct LakehouseImport: BusRequest {
    public typealias Response = LakehouseImportResult
    public static let action = LakehousePlugin.importData
    public static let permission: Permission = "lakehouse:import"

    /// The file to read (absolute: the plugin may run in another process).
    public var path: String
    /// `db.table`.
    public var table: String
    /// `csv`, `tsv`, `jsonl` or `sqlite`; nil guesses from the file name.
    public var format: String?
    /// The table to read from an SQLite file (nil: its only table).
    public var sourceTable: String?
    public var skipBadRows: Int
    /// Whether a CSV/TSV file has a header row; nil detects it.
    public var header: Bool?
    public var sampleRows: Int

    public init(
        path: String, table: String, format: String? = nil, sourceTable: String? = nil, skipBadRows: Int = 0, header: Bool? = nil,
        sampleRows: Int = ImportOptions().sampleRows
    ) {
        self.path = path
        self.table = table
        self.format = format
        self.sourceTable = sourceTable
        self.skipBadRows = skipBadRows
        self.header = header
        self.sampleRows = sampleRows
    }

    public init(json: JSON) throws {
        path = try json.required("path", \.stringValue)
        table = try json.required("table", \.stringValue)
        format = json["format"]?.stringValue
        sourceTable = json["source_table"]?.stringValue
        skipBadRows = json["skip_bad_rows"]?.intValue ?? 0
        header = json["header"]?.boolValue
        sampleRows = json["sample_rows"]?.intValue ?? ImportOptions().sampleRows
    }

    public var jsonValue: JSON {
        var object: JSONObject = [
            "path": .string(path), "table": .string(table), "skip_bad_rows": .int(skipBadRows), "sample_rows": .int(sampleRows),
        ]
        if let format { object["format"] = .string(format) }
        if let sourceTable { object["source_table"] = .string(sourceTable) }
        if let header { object["header"] = .bool(header) }
        return .object(object)
    }

    /// The options the importer runs with; throws `.invalidInput` for an unknown format.
    func options() throws(LakehouseError) -> ImportOptions {
        var format: ImportFormat?
        if let name = self.format {
            guard let known = ImportFormat(rawValue: name) else {
                throw LakehouseError(.invalidInput, "the import format must be csv, tsv, jsonl or sqlite, not '\(name)'")
            }
            format = known
        }
        guard skipBadRows >= 0, sampleRows >= 1 else {
            throw LakehouseError(.invalidInput, "skip_bad_rows cannot be negative and sample_rows must be at least 1")
        }
        var options = ImportOptions(format: format, sourceTable: sourceTable, skipBadRows: skipBadRows, header: header)
        options.sampleRows = sampleRows
        return options
    }
}

/// What `lakehouse.import` did: the import's summary.
public struct LakehouseImportResult: BusMessage, Equatable {
    public var path: String
    public var format: String
    public var table: String
    /// Whether the import created the table.
    public var created: Bool
    /// The file's columns and their types (`INTEGER`, `REAL`, `DATE`, `TIMESTAMP`, `TEXT`, ...).
    public var columns: [(name: String, type: String)]
    public var rowsImported: Int
    public var rowsSkipped: Int
    /// The skipped rows (the first 100), by line.
    public var skipped: [RejectedRow]
    public var warnings: [String]
    public var snapshot: CommittedSnapshot
    public var seconds: Double
    public var bytes: Int?

    public init(_ summary: ImportSummary) {
        path = summary.path
        format = summary.format.rawValue
        table = summary.table
        created = summary.created
        columns = summary.columns.map { ($0.name, $0.type.rawValue) }
        rowsImported = summary.rowsImported
        rowsSkipped = summary.rowsSkipped
        skipped = summary.skipped
        warnings = summary.warnings
        snapshot = summary.snapshot
        seconds = summary.seconds
        bytes = summary.bytes.map(Int.init)
    }

    public init(json: JSON) throws {
        path = try json.required("path", \.stringValue)
        format = json["format"]?.stringValue ?? ""
        table = try json.required("table", \.stringValue)
        created = json["created"]?.boolValue ?? false
        columns = (json["columns"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? "", $0["type"]?.stringValue ?? "") }
        rowsImported = json["rows_imported"]?.intValue ?? 0
        rowsSkipped = json["rows_skipped"]?.intValue ?? 0
        skipped = (json["skipped"]?.arrayValue ?? []).map { RejectedRow(line: $0["line"]?.intValue ?? 0, reason: $0["reason"]?.stringValue ?? "") }
        warnings = (json["warnings"]?.arrayValue ?? []).compactMap(\.stringValue)
        let snapshot = json["snapshot"] ?? [:]
        self.snapshot = CommittedSnapshot(
            table: snapshot["table"]?.stringValue ?? "", snapshotID: Int64(snapshot["snapshot_id"]?.intValue ?? 0),
            operation: snapshot["operation"]?.stringValue ?? "", summary: snapshot["summary"] ?? [:])
        seconds = json["seconds"]?.doubleValue ?? 0
        bytes = json["bytes"]?.intValue
    }

    public var jsonValue: JSON {
        var object: JSONObject = [
            "path": .string(path), "format": .string(format), "table": .string(table), "created": .bool(created),
            "columns": .array(columns.map { ["name": .string($0.name), "type": .string($0.type)] }),
            "rows_imported": .int(rowsImported), "rows_skipped": .int(rowsSkipped),
            "skipped": .array(skipped.map { ["line": .int($0.line), "reason": .string($0.reason)] }),
            "warnings": .array(warnings.map { .string($0) }), "snapshot": snapshot.jsonValue, "seconds": .double(seconds),
        ]
        if let bytes { object["bytes"] = .int(bytes) }
        return .object(object)
    }

    public static func == (a: LakehouseImportResult, b: LakehouseImportResult) -> Bool {
        a.jsonValue == b.jsonValue
    }
}

/// How far an import is: `lakehouse.import.progress`, published at most a few times a second.
public struct ImportProgressed: BusEvent, Equatable {
    public static let topic = Action(LakehousePlugin.namespace, "import.progress")

    /// The id of the `lakehouse.import` request this is about.
    public var requestID: String
    public var bytesRead: Int
    /// The file's size, when known.
    public var totalBytes: Int?
    public var rowsImported: Int

    public init(requestID: String, bytesRead: Int, totalBytes: Int?, rowsImported: Int) {
        self.requestID = requestID
        self.bytesRead = bytesRead
        self.totalBytes = totalBytes
        self.rowsImported = rowsImported
    }

    public init(json: JSON) throws {
        requestID = try json.required("request_id", \.stringValue)
        bytesRead = json["bytes_read"]?.intValue ?? 0
        totalBytes = json["total_bytes"]?.intValue
        rowsImported = json["rows_imported"]?.intValue ?? 0
    }

    public var jsonValue: JSON {
        var object: JSONObject = ["request_id": .string(requestID), "bytes_read": .int(bytesRead), "rows_imported": .int(rowsImported)]
        if let totalBytes { object["total_bytes"] = .int(totalBytes) }
        return .object(object)
    }
}

/// Exports a table to a CSV or JSON Lines file: `lakehouse.export`.
///
/// The rows are read through the gate as the caller, so a governed caller exports only what they may read.
public struct LakehouseExport: BusRequest {
    public typealias Response = LakehouseExportResult
    public static let action = Action(LakehousePlugin.namespace, "export")
    public static let permission: Permission = "lakehouse:export"

    /// `db.table`.
    public var table: String
    /// The file to write (absolute: the plugin may run in another process).
    public var path: String
    /// `csv` or `jsonl`; nil guesses from the file name.
    public var format: String?

    public init(table: String, path: String, format: String? = nil) {
        self.table = table
        self.path = path
        self.format = format
    }

    public init(json: JSON) throws {
        table = try json.required("table", \.stringValue)
        path = try json.required("path", \.stringValue)
        format = json["format"]?.stringValue
    }

    public var jsonValue: JSON {
        var object: JSONObject = ["table": .string(table), "path": .string(path)]
        if let format { object["format"] = .string(format) }
        return .object(object)
    }
}

/// What `lakehouse.export` wrote.
public struct LakehouseExportResult: BusMessage, Equatable {
    /// `db.table`.
    public var table: String
    public var path: String
    public var format: String
    public var rows: Int
    public var bytes: Int
    public var seconds: Double

    public init(table: String, path: String, format: String, rows: Int, bytes: Int, seconds: Double) {
        self.table = table
        self.path = path
        self.format = format
        self.rows = rows
        self.bytes = bytes
        self.seconds = seconds
    }

    public init(json: JSON) throws {
        table = try json.required("table", \.stringValue)
        path = try json.required("path", \.stringValue)
        format = json["format"]?.stringValue ?? ""
        rows = json["rows"]?.intValue ?? 0
        bytes = json["bytes"]?.intValue ?? 0
        seconds = json["seconds"]?.doubleValue ?? 0
    }

    public var jsonValue: JSON {
        [
            "table": .string(table), "path": .string(path), "format": .string(format), "rows": .int(rows), "bytes": .int(bytes),
            "seconds": .double(seconds),
        ]
    }
}

extension TableExporter {
    /// Writes every row of `table` the caller may read to `path`; the file appears only when complete.
    ///
    /// Errors: `LakehouseError` (the table cannot be read), `SystemError` (the file cannot be written).
    static func export(
        _ table: TableName, to path: String, format: ExportFormat, lakehouse: Lakehouse, context: QueryContext
    ) throws -> LakehouseExportResult {
        let started = Clock.monotonic()
        let exporter = try TableExporter(path: path, format: format)
        final class Failure: @unchecked Sendable { var error: SystemError? }  // set and read on this thread
        let failure = Failure()
        do {
            _ = try lakehouse.execute(
                "SELECT * FROM \(table)", context: context,
                sink: QuerySink(
                    columns: { columns in try exporter.begin(columns: columns) },
                    row: { values in
                        do {
                            try exporter.write(values)
                        } catch {
                            failure.error = error as? SystemError
                            throw error
                        }
                        return true
                    }))
            try exporter.commit()
        } catch {
            exporter.abandon()
            // A write failure inside the sink comes back wrapped as a lakehouse error: say what failed.
            if let written = failure.error { throw written }
            throw error
        }
        return LakehouseExportResult(
            table: table.description, path: exporter.path, format: format.rawValue, rows: exporter.rowCount,
            bytes: Int(exporter.bytesWritten), seconds: Clock.monotonic() - started)
    }
}
