import CoreSupport
import Storage

/// Reads one table of an existing SQLite database file as typed row batches.
///
/// The file is opened read-only and read in one transaction (a consistent snapshot even
/// while another process writes). Column types follow SQLite's affinity rules on the
/// declared types (a declared DATE, DATETIME or TIMESTAMP keeps that name); values keep
/// their storage class, blobs included.
public struct SQLiteTableReader: RowSource {
    public let path: String
    public let table: String
    public let columns: [ImportColumn]
    public var finalColumns: [ImportColumn] { columns }
    public var totalBytes: Int64? { nil }
    private let database: DatabaseQueue
    private let options: ReaderOptions

    /// Opens the database at `path`; `table` may be omitted when the database has exactly one table.
    public init(path: String, table: String? = nil, options: ReaderOptions = ReaderOptions()) throws(ImportError) {
        self.path = path
        self.options = options
        guard FileIO.exists(path) else { throw ImportError(.io, path: path, "no such file") }
        var configuration = Configuration()
        configuration.readOnly = true
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            let tables = try database.read { db in
                try db.fetchAll(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
                ).compactMap { $0.value(0, as: String.self) }
            }
            let chosen: String
            if let table {
                guard let match = tables.first(where: { $0 == table }) ?? tables.first(where: { $0.lowercased() == table.lowercased() }) else {
                    throw ImportError(
                        .notFound, path: path,
                        "has no table \(table) (its tables: \(tables.isEmpty ? "none" : tables.joined(separator: ", ")))")
                }
                chosen = match
            } else {
                guard tables.count == 1 else {
                    throw ImportError(
                        .notFound, path: path,
                        tables.isEmpty
                            ? "has no tables" : "has \(tables.count) tables (\(tables.joined(separator: ", "))); name one with --table")
                }
                chosen = tables[0]
            }
            self.table = chosen
            columns = try database.read { db in
                try db.fetchAll("SELECT name, type FROM pragma_table_info(?) ORDER BY cid", [chosen]).map { row in
                    ImportColumn(
                        name: row.value(0, as: String.self) ?? "",
                        type: SQLiteTableReader.type(declared: row.value(1, as: String.self) ?? ""))
                }
            }
        } catch let error as ImportError {
            throw error
        } catch let error as DatabaseError {
            throw ImportError(.malformed, path: path, "cannot read as an SQLite database: \(error.message)")
        } catch {
            throw ImportError(.io, path: path, "\(error)")
        }
    }

    /// The import type for a declared column type, by SQLite's affinity rules (section 3.1 of its datatype page).
    static func type(declared: String) -> ColumnType {
        let t = declared.uppercased()
        if t.contains("INT") { return .integer }
        if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") { return .text }
        if t.isEmpty || t.contains("BLOB") { return .blob }
        if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") { return .real }
        if t.contains("TIMESTAMP") || t.contains("DATETIME") { return .timestamp }
        if t.contains("DATE") { return .date }
        return .real
    }

    /// The table's name quoted as an SQL identifier.
    static func quoted(_ name: String) -> String {
        var out = "\""
        for ch in name {
            if ch == "\"" { out += "\"" }
            out.append(ch)
        }
        return out + "\""
    }

    public mutating func forEachBatch(_ body: (ImportBatch) throws -> Void) throws {
        let columnCount = columns.count
        let options = self.options
        let sql = "SELECT * FROM \(SQLiteTableReader.quoted(table))"
        try database.read { db in
            var batch = ImportBatch(columnCount: columnCount)
            var number = 0
            let statement = try db.makeStatement(sql)
            try statement.bind([])
            while try statement.step() {
                number += 1
                for c in 0..<columnCount {
                    switch statement.value(at: c) {
                    case .null: batch.appendNull()
                    case .integer(let v): batch.appendInteger(v)
                    case .real(let d): batch.appendReal(d)
                    case .text(let s): batch.appendText(s)
                    case .blob(let b): b.withUnsafeBytes { batch.appendBlob($0) }
                    }
                }
                batch.endRow(line: number)
                if batch.rowCount >= options.batchRows || batch.arena.count >= options.batchBytes {
                    try body(batch)
                    batch.reset(columnCount: columnCount)
                }
            }
            if !batch.isEmpty { try body(batch) }
        }
    }
}
