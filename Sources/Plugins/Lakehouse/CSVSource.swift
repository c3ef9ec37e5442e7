import Catalog
import CoreSupport
import Storage
#if canImport(Glibc)
import Glibc
#endif

/// A directory of CSV and TSV files as a federated, read-only source: one table per file, read in place.
///
/// Registering reads each file's sample (header and column types, as `wb import` infers them) into
/// the catalog; nothing is copied. A query that names the source gets, on its connection, an in-memory
/// schema `_lh_src_<catalog id>` holding one virtual table per file (`wb_csv`), which streams the file
/// through `DelimitedReader` in bounded memory each time SQLite scans it. A row the reader cannot use
/// (wrong number of fields, invalid UTF-8, an unclosed quote) fails the query with `file:line: reason`.
enum CSVSource {
    /// The virtual table module's name.
    static let module = "wb_csv"

    /// One file of a source and what its sample says.
    struct FileTable {
        var table: String
        var file: String
        var columns: [ImportColumn]
    }

    /// The format a file name makes a table of: `.csv` or `.tsv`/`.tab`; nil for other files.
    static func format(of file: String) -> ImportFormat? {
        switch ImportFormat.guess(path: file) {
        case .csv: .csv
        case .tsv: .tsv
        default: nil
        }
    }

    /// Reads the header and column types of every CSV/TSV file in `directory` (not its subfolders, not hidden files).
    ///
    /// Throws `.invalidInput` naming the file (and line) when one cannot be a table: unreadable,
    /// empty, UTF-16, a first row that cannot be read, a column name that cannot be used, or two
    /// files that would make tables of the same name.
    static func scan(_ directory: String) throws(LakehouseError) -> [FileTable] {
        // Hidden files (editor and OS droppings such as `.~lock.orders.csv#`) are not tables.
        let files = FileIO.list(directory).filter {
            !$0.hasPrefix(".") && format(of: $0) != nil && !FileIO.isDirectory(FilePath.join(directory, $0))
        }
        guard !files.isEmpty else {
            throw LakehouseError(.invalidInput, "\(directory) holds no .csv or .tsv files to register")
        }
        var tables: [FileTable] = []
        var seen: [String: String] = [:]
        for file in files {
            let path = FilePath.join(directory, file)
            let reader: DelimitedReader
            do {
                reader = try DelimitedReader(path: path, format: format(of: file)!)
            } catch {
                throw LakehouseError(.invalidInput, "\(error)")
            }
            guard !reader.columns.isEmpty else {
                throw LakehouseError(.invalidInput, "\(path): the file is empty: it has no columns to make a table of")
            }
            let dot = file.lastIndex(of: ".")!
            let table = String(file[..<dot])
            if let problem = SQLName.problem(table, what: "table") {
                throw LakehouseError(.invalidInput, "\(path): \(problem); rename the file")
            }
            if let other = seen[table.lowercased()] {
                throw LakehouseError(.invalidInput, "\(path) and \(other) would both be table \(SQLName.quoted(table)); rename one")
            }
            seen[table.lowercased()] = file
            for (i, column) in reader.columns.enumerated() {
                if let problem = SQLName.problem(column.name, what: "column") {
                    throw LakehouseError(.invalidInput, "\(path):1: column \(i + 1): \(problem)")
                }
            }
            tables.append(FileTable(table: table, file: file, columns: reader.columns))
        }
        return tables
    }

    /// The module argument that makes the virtual table of `table`, a file in `directory`.
    static func argument(directory: String, table: TableInfo) -> String {
        let json: JSON = [
            "path": .string(FilePath.join(directory, table.storageName)),
            "columns": .array(table.columns.map { ["name": .string($0.name), "type": .string($0.type)] }),
        ]
        return VirtualTableArguments.quoted(json.serialized())
    }

    /// Makes the table an argument written by `argument` describes.
    static func makeTable(_ arguments: [String]) throws -> any VirtualTable {
        guard arguments.count == 1, let json = try? JSON.parse(VirtualTableArguments.unquoted(arguments[0])),
            let path = json["path"]?.stringValue, let columns = json["columns"]?.arrayValue
        else { throw LakehouseError(.invalidInput, "\(module) takes one argument: the file and its columns as JSON") }
        return CSVTable(
            path: path,
            columns: columns.map { ($0["name"]?.stringValue ?? "", ColumnType(rawValue: $0["type"]?.stringValue ?? "") ?? .text) })
    }
}

/// One CSV or TSV file as SQLite sees it.
final class CSVTable: VirtualTable {
    let path: String
    let format: ImportFormat
    let columns: [(name: String, type: ColumnType)]

    init(path: String, columns: [(name: String, type: ColumnType)]) {
        self.path = path
        self.format = CSVSource.format(of: path) ?? .csv
        self.columns = columns
    }

    var declaration: String {
        "CREATE TABLE x(" + columns.map { "\(SQLName.alwaysQuoted($0.name)) \($0.type.rawValue)" }.joined(separator: ", ") + ")"
    }

    var estimatedRows: Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { return 1_000 }
        return max(1, Int64(info.st_size) / 64)
    }

    func makeCursor() throws -> any VirtualTableCursor { CSVCursor(self) }
}

/// A scan of one file: the reader runs on its own thread, two batches ahead at most.
final class CSVCursor: VirtualTableCursor {
    private let table: CSVTable
    private var pipe: BatchPipe?
    private var batch: ImportBatch?
    private var row = 0
    private var scanned = 0
    private(set) var atEnd = true

    init(_ table: CSVTable) { self.table = table }

    deinit { stop() }

    private func stop() {
        pipe?.cancelAndWait()
        pipe = nil
        batch = nil
    }

    func start() throws {
        stop()
        var reader = try DelimitedReader(path: table.path, format: table.format)
        let names = reader.columns.map(\.name)
        let registered = table.columns.map(\.name)
        let sameNames = names.map({ $0.lowercased() }) == registered.map({ $0.lowercased() })
        guard names.count == registered.count, !reader.hasHeader || sameNames else {
            throw LakehouseError(
                .invalidInput,
                "\(table.path): the file's columns changed since it was registered (now \(names.joined(separator: ", ")); "
                    + "registered \(registered.joined(separator: ", "))); register the source again")
        }
        reader.readAs(table.columns.map(\.type))
        final class ReaderBox: @unchecked Sendable {  // handed to the reading thread, which alone uses it
            var reader: DelimitedReader
            init(_ reader: DelimitedReader) { self.reader = reader }
        }
        let box = ReaderBox(reader)
        let pipe = BatchPipe(capacity: 2)
        pipe.startReading { put in try box.reader.forEachBatch { try put($0) } }
        self.pipe = pipe
        scanned = 0
        atEnd = false
        try takeBatch()
    }

    /// Moves to the first row of the next batch that has one, or to the end.
    private func takeBatch() throws {
        while let pipe {
            guard let next = try pipe.take() else {
                stop()
                atEnd = true
                return
            }
            if let bad = next.rejected.min(by: { $0.line < $1.line }) {
                stop()
                throw ImportError(.malformed, path: table.path, line: bad.line, bad.reason)
            }
            if next.rowCount > 0 {
                batch = next
                row = 0
                return
            }
        }
        atEnd = true
    }

    func next() throws {
        guard let batch else {
            atEnd = true
            return
        }
        scanned += 1
        row += 1
        if row >= batch.rowCount { try takeBatch() }
    }

    var rowID: Int64 { Int64(scanned + 1) }

    func column(_ index: Int, _ result: VirtualTableResult) {
        guard let batch, index < batch.columnCount else { return result.setNull() }
        switch batch.kind(row: row, column: index) {
        case .null: result.setNull()
        case .integer: result.set(batch.integer(row: row, column: index))
        case .real: result.set(batch.real(row: row, column: index))
        case .text: batch.withBytes(row: row, column: index) { result.setText($0) }
        case .blob: batch.withBytes(row: row, column: index) { result.setBlob($0) }
        }
    }
}
