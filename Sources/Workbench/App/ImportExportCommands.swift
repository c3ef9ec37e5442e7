import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Lakehouse
import PluginBus
import Storage
import Synchronization

extension Exit {
    static let badRows = ExitCode(1)

    static let importHelp = """
        Exit codes: 0 imported; 1 a bad row stopped the import (more than --skip-bad-rows), or the rows \
        do not fit the table; 9 another writer held the lakehouse too long; 21 the access policy does not allow \
        it (lakehouse:import, or INSERT/CREATE_TABLE on the target); 23 the domain cannot be opened; 64 bad usage; \
        66 the file cannot be read, is empty or is not in the format; 130 interrupted. \
        Whenever it is not 0, nothing was imported: the table is exactly as before.
        """

    static let exportHelp = """
        Exit codes: 0 written; 1 the table cannot be read (unknown name, bad SQL); 7 the file cannot be written; \
        21 the access policy does not allow it (lakehouse:export, or reading the table); 23 the domain cannot be opened; \
        64 bad usage; 130 interrupted. The file appears only when complete.
        """
}

/// A `db.table` argument, or a usage error.
func parseTableName(_ text: String, command: String) throws -> TableName {
    do {
        return try TableName(parsing: text)
    } catch {
        throw ValidationError("\(error.message)")
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a CSV, TSV, JSON Lines file or an SQLite table into a lakehouse table.",
        discussion: """
            One transaction, one snapshot: the table gets every row or none. A missing table is created \
            from the file's columns (types inferred from the first --sample-rows rows: INTEGER, REAL, DATE, \
            TIMESTAMP or TEXT); an existing one gets the rows appended, matched by column name, and a value \
            that does not fit a typed column is a bad row. A bad row (wrong number of fields, invalid UTF-8, \
            an unclosed quote) stops the import with its line number, unless --skip-bad-rows N lets up to N \
            be reported and skipped. Progress shows on a terminal; --json prints a summary.

            \(Exit.importHelp)
            """)

    @Argument(help: "The file to import.")
    var file: String

    @Option(name: .customLong("into"), help: ArgumentHelp("The table to fill, as db.table.", valueName: "db.table"))
    var into: String

    @Option(help: "csv, tsv, jsonl or sqlite (default: from the file name).")
    var format: String?

    @Option(help: "The table to read from an SQLite file (default: its only table).")
    var table: String?

    @Option(help: "Skip up to N bad rows (reported); one more aborts the import.")
    var skipBadRows = 0

    @Option(help: "Rows that decide the column types of a new table.")
    var sampleRows = 1_000

    @Flag(inversion: .prefixedNo, help: "Whether the CSV/TSV file has a header row (default: detected).")
    var header: Bool?

    @Flag(help: "Print a JSON summary.")
    var json = false

    @OptionGroup var domain: DomainOptions

    func validate() throws {
        if let format, ImportFormat(rawValue: format) == nil {
            throw ValidationError("--format must be csv, tsv, jsonl or sqlite, not '\(format)'")
        }
        if skipBadRows < 0 { throw ValidationError("--skip-bad-rows cannot be negative") }
        if sampleRows < 1 { throw ValidationError("--sample-rows must be at least 1") }
    }

    func run() async throws {
        let name = try parseTableName(into, command: "import")
        // SQLite's small default cache and no memory map: an import's memory stays bounded by its batches.
        let client = try LakehouseClient.open(domain, command: "import", tuning: .sqliteDefaults)
        let request = LakehouseImport(
            path: FilePath.absolute(file), table: name.description, format: format, sourceTable: table, skipBadRows: skipBadRows,
            header: header, sampleRows: sampleRows)
        // Progress comes back as bus events tagged with this request's id.
        let requestID = Identifier.uuid()
        let progress = ProgressLine(enabled: isTerminal(2))
        let events = client.bus.events(in: [LakehousePlugin.namespace])
        let watcher = Task {
            for await event in events where event.topic == ImportProgressed.topic {
                guard let step = try? event.decode(ImportProgressed.self), step.requestID == requestID else { continue }
                progress.show(step)
            }
        }
        defer { watcher.cancel() }
        let summary = try await client.send(request, requestID: requestID, beforeError: { progress.clear() })
        progress.clear()
        if json {
            printJSON(summary.jsonValue)
            return
        }
        for row in summary.skipped { printError("wb import: skipped \(summary.path):\(row.line): \(row.reason)") }
        if summary.rowsSkipped > summary.skipped.count {
            printError("wb import: ... and \(summary.rowsSkipped - summary.skipped.count) more skipped rows")
        }
        for warning in summary.warnings { printError("wb import: note: \(warning)") }
        let verb = summary.created ? "created \(summary.table) with" : "appended to \(summary.table)"
        let types = summary.columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
        print("\(verb) \(summary.rowsImported) row\(summary.rowsImported == 1 ? "" : "s")\(summary.rowsSkipped > 0 ? " (\(summary.rowsSkipped) bad rows skipped)" : "") in \((summary.seconds * 100).rounded() / 100) s: snapshot \(summary.snapshot.snapshotID)")
        if summary.created { print("columns: \(types)") }
    }
}

/// A progress line on standard error, redrawn at most four times a second, only on a terminal.
final class ProgressLine: Sendable {
    private struct State {
        var last = 0.0
        var shown = false
        var finished = false
    }

    private let enabled: Bool
    private let state = Mutex(State())

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ step: ImportProgressed) {
        guard enabled else { return }
        state.withLock { state in
            let now = Clock.monotonic()
            guard !state.finished, now - state.last >= 0.25 else { return }
            state.last = now
            var text = "importing: \(step.rowsImported) rows, \(step.bytesRead >> 20) MiB"
            if let total = step.totalBytes, total > 0 {
                text += " of \(total >> 20) MiB (\(Int(Double(step.bytesRead) * 100 / Double(total)))%)"
            }
            var stream = StandardError()
            print("\r\u{1B}[K" + text, terminator: "", to: &stream)
            state.shown = true
        }
    }

    /// Erases the line; later progress is not shown.
    func clear() {
        state.withLock { state in
            state.finished = true
            guard state.shown else { return }
            var stream = StandardError()
            print("\r\u{1B}[K", terminator: "", to: &stream)
            state.shown = false
        }
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a lakehouse table to a CSV or JSON Lines file.",
        discussion: """
            The file is written beside its target and put in place only when complete, so a failed or \
            interrupted export leaves any earlier file untouched. CSV gets a header row; NULL is an empty \
            field and the empty string "" (so `wb import` reads back what was written).

            \(Exit.exportHelp)
            """)

    @Argument(help: ArgumentHelp("The table to export, as db.table.", valueName: "db.table"))
    var table: String

    @Option(name: .customLong("to"), help: "The file to write.")
    var to: String

    @Option(help: "csv or jsonl (default: from the file name).")
    var format: String?

    @Flag(help: "Print a JSON summary.")
    var json = false

    @OptionGroup var domain: DomainOptions

    func validate() throws {
        if let format, ExportFormat(rawValue: format) == nil {
            throw ValidationError("--format must be csv or jsonl, not '\(format)'")
        }
        if format == nil && ExportFormat.guess(path: to) == nil {
            throw ValidationError("cannot tell the format from '\(to)'; name it .csv or .jsonl, or use --format")
        }
    }

    func run() async throws {
        let name = try parseTableName(table, command: "export")
        let client = try LakehouseClient.open(domain, command: "export")
        let result = try await client.send(LakehouseExport(table: name.description, path: FilePath.absolute(to), format: format))
        if json {
            printJSON(result.jsonValue)
        } else {
            print("wrote \(result.rows) row\(result.rows == 1 ? "" : "s") of \(name) to \(to)")
        }
    }
}
