import ArgumentParser
import CoreSupport
import Lakehouse
import Storage
import TUI
#if canImport(Glibc)
import Glibc
#endif

struct SQLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run SQL on the lakehouse: queries, and writes that commit snapshots.",
        discussion: """
            Tables are always named db.table (quote either part with "..." when needed). Several statements \
            separated by ';' run in one transaction: one commit, one snapshot per table changed, and only the \
            last statement's rows are shown. Time travel: --as-of SNAPSHOT|TIME for every table of a query, or \
            per table in SQL: db.t VERSION AS OF 42, db.t TIMESTAMP AS OF '2026-11-25T07:00:00Z'.

            Examples:
              wb sql "CREATE TABLE sales.orders (id INTEGER PRIMARY KEY, customer TEXT, amount REAL)"
              wb sql "INSERT INTO sales.orders VALUES (1, 'ann', 9.5)"
              wb sql "SELECT customer, sum(amount) FROM sales.orders GROUP BY 1" --format csv
              wb sql "SELECT * FROM sales.orders" --as-of 2026-11-25T07:00:00Z

            \(Exit.lakehouseHelp)
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @Argument(help: "The SQL to run; '-' or nothing reads it from standard input.")
    var sql: String?

    @Option(name: [.short, .customLong("file")], help: "Read the SQL from a file.")
    var file: String?

    @Option(help: "How to print rows: table, csv or json.")
    var format: Format = .table

    @Flag(help: "Same as --format json.")
    var json = false

    @Option(name: .customLong("as-of"), help: ArgumentHelp("Read every table as of a snapshot id or an ISO 8601 UTC time.", valueName: "snapshot|time"))
    var asOf: String?

    @Option(help: "Show at most N rows and stop reading there (default 1000 for tables, all for csv/json; 0: all).")
    var limit: Int?

    @Option(help: "Stop the statement after this many seconds.")
    var timeout: Double?

    @Option(
        name: .customLong("as"),
        help: ArgumentHelp("Run as this user, to see exactly what the policy gives them (needs governance:impersonate; audited).", valueName: "user"))
    var user: String?

    @OptionGroup var domain: DomainOptions

    func validate() throws {
        if sql != nil && sql != "-" && file != nil { throw ValidationError("give the SQL as an argument or with --file, not both") }
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 (no limit) or more") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
        if let asOf, AsOf(parsing: asOf) == nil {
            throw ValidationError("--as-of takes a snapshot id or an ISO 8601 time such as 2026-11-25T07:00:00Z, not '\(asOf)'")
        }
    }

    func run() async throws {
        let text = try readSQL()
        let format = json ? .json : format
        let limit = self.limit ?? (format == .table ? 1000 : 0)
        let client = try LakehouseClient.open(domain, command: "sql")
        let principal = try client.principal(impersonating: user)
        let result = try await client.send(
            LakehouseQuery(sql: text, asOf: asOf, limit: limit == 0 ? nil : limit, timeoutSeconds: timeout), as: principal)
        switch format {
        case .json: printJSON(result.jsonValue)
        case .csv: printCSV(result)
        case .table: printTable(result, limit: limit)
        }
    }

    private func readSQL() throws -> String {
        if let file {
            do { return try FileIO.readText(file) } catch {
                printError("wb sql: cannot read \(file): \(error)")
                throw Exit.noInput
            }
        }
        if let sql, sql != "-" { return sql }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(0, &buffer, buffer.count)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func printCSV(_ result: LakehouseQueryResult) {
        guard !result.columns.isEmpty else {
            printSummary(result, to: false)
            return
        }
        var out = result.columns.map(csvField).joined(separator: ",") + "\r\n"
        for row in result.rows {
            out += row.map { value in
                switch value {
                case .null: ""
                case .blob(let bytes): Identifier.hexString(bytes)
                default: csvField(value.description)
                }
            }.joined(separator: ",") + "\r\n"
        }
        print(out, terminator: "")
        if result.truncated { printError("wb sql: stopped after \(result.rows.count) rows (--limit)") }
    }

    private func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    private func printTable(_ result: LakehouseQueryResult, limit: Int) {
        printSummary(result, to: false)
        guard !result.columns.isEmpty else { return }
        let cells = result.rows.map { $0.map(display) }
        var widths = result.columns.map { DisplayWidth.of($0) }
        for row in cells {
            for (i, cell) in row.enumerated() { widths[i] = min(60, max(widths[i], DisplayWidth.of(cell))) }
        }
        let numeric = result.columns.indices.map { i in
            !result.rows.isEmpty && result.rows.allSatisfy { row in
                switch row[i] {
                case .integer, .real, .null: true
                default: false
                }
            }
        }
        func line(_ values: [String]) -> String {
            values.enumerated().map { i, value in
                let text = fit(value, widths[i])
                let pad = String(repeating: " ", count: max(0, widths[i] - DisplayWidth.of(text)))
                return numeric[i] ? pad + text : text + pad
            }.joined(separator: " | ")
        }
        var out = line(result.columns) + "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-") + "\n"
        for row in cells { out += line(row) + "\n" }
        print(out, terminator: "")
        let count = result.rows.count
        if result.truncated {
            print("(first \(count) rows; --limit 0 shows all)")
        } else {
            print("(\(count) row\(count == 1 ? "" : "s"))")
        }
    }

    private func printSummary(_ result: LakehouseQueryResult, to stdout: Bool) {
        for message in result.messages { print(message) }
        for snapshot in result.snapshots {
            print("snapshot \(snapshot.snapshotID) of \(snapshot.table): \(snapshot.operation)"
                + (snapshot.summary["total-rows"]?.intValue.map { ", \($0) rows" } ?? ""))
        }
        if result.columns.isEmpty && result.messages.isEmpty && result.snapshots.isEmpty {
            print("\(result.changes) row\(result.changes == 1 ? "" : "s") changed")
        }
    }

    private func display(_ value: DatabaseValue) -> String {
        switch value {
        case .null: return "NULL"
        case .text(let text):
            var out = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default: out.unicodeScalars.append(DisplayWidth.isControl(scalar) ? "?" : scalar)
                }
            }
            return out
        default: return value.description
        }
    }

    private func fit(_ text: String, _ width: Int) -> String {
        guard DisplayWidth.of(text) > width else { return text }
        var out = ""
        var used = 0
        for character in text {
            let w = DisplayWidth.of(String(character))
            if used + w > width - 1 { break }
            out.append(character)
            used += w
        }
        return out + "…"
    }
}
