import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Governance
import Lakehouse
import Storage

extension Exit {
    static let badRows = ExitCode(1)

    static let importHelp = """
        Exit codes: 0 imported; 1 a bad row stopped the import (more than --skip-bad-rows), or the rows \
        do not fit the table; 9 another writer held the lakehouse too long; 23 the domain cannot be opened; \
        64 bad usage; 66 the file cannot be read, is empty or is not in the format; 130 interrupted. \
        Whenever it is not 0, nothing was imported: the table is exactly as before.
        """

    static let exportHelp = """
        Exit codes: 0 written; 1 the table cannot be read (unknown name, bad SQL); 7 the file cannot be written; \
        23 the domain cannot be opened; 64 bad usage; 130 interrupted. The file appears only when complete.
        """
}

/// Opens the domain's lakehouse, governed by the domain's access policy, or exits with `Exit.domainUnavailable`.
func openLakehouse(_ options: DomainOptions, command: String) throws -> Lakehouse {
    let domain = try options.open(command: command)
    do {
        return try Lakehouse(domain: domain, governance: try GovernanceService(domain: domain))
    } catch {
        printError("wb \(command): \(error)")
        throw Exit.domainUnavailable
    }
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
        let lakehouse = try openLakehouse(domain, command: "import")
        var options = ImportOptions(format: format.flatMap(ImportFormat.init(rawValue:)), sourceTable: table, skipBadRows: skipBadRows, header: header)
        options.sampleRows = sampleRows
        let progress = ProgressLine(enabled: isTerminal(2))
        let signals = SignalWatcher([SIGINT, SIGTERM]) { lakehouse.engine.interrupt() }
        defer { signals.stop() }
        let summary: ImportSummary
        do {
            summary = try Importer.run(path: file, into: name, options: options, lakehouse: lakehouse) { step in
                progress.show(step)
            }
            progress.clear()
        } catch let error as ImportFailure {
            progress.clear()
            for row in error.skippedBefore { printError("wb import: skipped \(error.path):\(row.line): \(row.reason)") }
            printError("wb import: \(error)")
            throw error.code == .badRow ? Exit.badRows : Exit.noInput
        } catch let error as ImportError {
            progress.clear()
            printError("wb import: \(error)")
            throw Exit.noInput
        } catch let error as LakehouseError {
            progress.clear()
            printError("wb import: \(error)")
            switch error.code {
            case .cancelled:
                printError("wb import: interrupted; nothing was imported")
                throw Exit.cancelled
            case .busy: throw Exit.busy
            case .storage: throw Exit.domainUnavailable
            default: throw Exit.badRows
            }
        }
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
        let types = summary.columns.map { "\($0.name) \($0.type.rawValue)" }.joined(separator: ", ")
        print("\(verb) \(summary.rowsImported) row\(summary.rowsImported == 1 ? "" : "s")\(summary.rowsSkipped > 0 ? " (\(summary.rowsSkipped) bad rows skipped)" : "") in \((summary.seconds * 100).rounded() / 100) s: snapshot \(summary.snapshot.snapshotID)")
        if summary.created { print("columns: \(types)") }
    }
}

/// A progress line on standard error, redrawn at most four times a second, only on a terminal.
final class ProgressLine: @unchecked Sendable {  // used from the importing thread only
    private let enabled: Bool
    private var last = 0.0
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ step: ImportProgress) {
        guard enabled else { return }
        let now = Clock.monotonic()
        guard now - last >= 0.25 else { return }
        last = now
        var text = "importing: \(step.rowsImported) rows, \(step.bytesRead >> 20) MiB"
        if let total = step.totalBytes, total > 0 {
            text += " of \(total >> 20) MiB (\(Int(Double(step.bytesRead) * 100 / Double(total)))%)"
        }
        var stream = StandardError()
        print("\r\u{1B}[K" + text, terminator: "", to: &stream)
        shown = true
    }

    func clear() {
        guard shown else { return }
        var stream = StandardError()
        print("\r\u{1B}[K", terminator: "", to: &stream)
        shown = false
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
        let format = self.format.flatMap(ExportFormat.init(rawValue:)) ?? ExportFormat.guess(path: to)!
        let lakehouse = try openLakehouse(domain, command: "export")
        let exporter: TableExporter
        do {
            exporter = try TableExporter(path: to, format: format)
        } catch {
            printError("wb export: \(error)")
            throw Exit.writeFailed
        }
        let signals = SignalWatcher([SIGINT, SIGTERM]) { lakehouse.engine.interrupt() }
        defer { signals.stop() }
        let started = Clock.monotonic()
        final class Failure: @unchecked Sendable { var error: SystemError? }
        let failure = Failure()
        do {
            _ = try lakehouse.execute(
                "SELECT * FROM \(name)",
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
        } catch let error as LakehouseError {
            exporter.abandon()
            if let written = failure.error {
                printError("wb export: \(written)")
                throw Exit.writeFailed
            }
            printError("wb export: \(error)")
            throw error.code == .cancelled ? Exit.cancelled : Exit.badRows
        } catch {
            exporter.abandon()
            printError("wb export: \(error)")
            throw Exit.writeFailed
        }
        if json {
            printJSON([
                "table": .string(name.description), "path": .string(exporter.path), "format": .string(format.rawValue),
                "rows": .int(exporter.rowCount), "bytes": .int(Int(exporter.bytesWritten)),
                "seconds": .double(Clock.monotonic() - started),
            ])
        } else {
            print("wrote \(exporter.rowCount) row\(exporter.rowCount == 1 ? "" : "s") of \(name) to \(to)")
        }
    }
}
