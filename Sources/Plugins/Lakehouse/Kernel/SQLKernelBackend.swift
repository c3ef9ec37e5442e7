import Catalog
import CoreSupport
public import Governance
public import Kernels
import Storage
import Synchronization

/// The lakehouse's SQL as a Jupyter kernel language: `wb kernel sql` serves it through `KernelServer`.
///
/// Each cell runs through the lakehouse gate (one transaction per cell, so a cell that
/// writes makes one snapshot per table). Rows come back as a text table, an HTML table and
/// a data resource, at most `displayLimit` of them (reading stops there). Errors are Jupyter
/// errors named after the lakehouse's error code (`SyntaxError`, `NotFoundError`, ...; an
/// interrupted cell is a `KeyboardInterrupt`). Completion offers database, `db.table` and
/// column names from the catalog, and SQL keywords.
public final class SQLKernelBackend: KernelBackend {
    private let lakehouse: Lakehouse
    private let principal: Principal
    /// The most rows a cell shows.
    public let displayLimit: Int

    public init(lakehouse: Lakehouse, principal: Principal = .currentUser, displayLimit: Int = 1_000) {
        self.lakehouse = lakehouse
        self.principal = principal
        self.displayLimit = displayLimit
    }

    public var info: KernelInfo {
        KernelInfo(
            implementation: "wb-sql", implementationVersion: "0.1.0",
            languageInfo: [
                "name": "sql", "version": .string(SQLKernelBackend.sqliteVersion), "mimetype": "application/sql",
                "file_extension": ".sql", "codemirror_mode": "sql", "pygments_lexer": "sql",
            ],
            banner: "Workbench SQL: the lakehouse's tables as db.table (SQLite \(SQLKernelBackend.sqliteVersion) engine)",
            helpLinks: [(text: "SQLite SQL", url: "https://sqlite.org/lang.html")])
    }

    static let sqliteVersion: String = {
        (try? DatabaseQueue.inMemory().read { try $0.fetchValue("SELECT sqlite_version()", as: String.self) }) ?? "3"
    }()

    /// Rows of one cell, filled by the query sink on the executing thread.
    private final class Collected {
        var columns: [String] = []
        var rows: [[DatabaseValue]] = []
        var truncated = false
    }

    public func execute(_ request: ExecuteRequest, output: KernelOutput) -> ExecuteOutcome {
        let code = request.code
        if SQLText.isBlank(code) { return .ok(nil) }
        let collected = Collected()
        let limit = displayLimit
        let outcome: QueryOutcome
        do {
            outcome = try lakehouse.execute(
                code, context: QueryContext(principal: principal),
                sink: QuerySink(
                    columns: { collected.columns = $0 },
                    row: { values in
                        guard collected.rows.count < limit else {
                            collected.truncated = true
                            return false
                        }
                        collected.rows.append(values)
                        return true
                    }))
        } catch {
            return SQLKernelBackend.failure(error)
        }
        if !outcome.columns.isEmpty {
            let columns = collected.columns.isEmpty ? outcome.columns : collected.columns
            return .ok(ResultRendering(columns: columns, rows: collected.rows, truncated: collected.truncated).mimeBundle)
        }
        var lines = outcome.messages
        if outcome.changes > 0 { lines.append("\(outcome.changes) row\(outcome.changes == 1 ? "" : "s") changed") }
        for snapshot in outcome.snapshots {
            lines.append("snapshot \(snapshot.snapshotID) of \(snapshot.table) (\(snapshot.operation))")
        }
        return lines.isEmpty ? .ok(nil) : .ok(["text/plain": .string(lines.joined(separator: "\n"))])
    }

    /// A lakehouse error as a Jupyter error.
    static func failure(_ error: any Error) -> ExecuteOutcome {
        guard let error = error as? LakehouseError else {
            return .error(name: "Error", value: "\(error)", traceback: ["\(error)"])
        }
        let name: String
        switch error.code {
        case .cancelled: name = "KeyboardInterrupt"
        case .syntax: name = "SyntaxError"
        default:
            let code = error.code.rawValue
            name = code.prefix(1).uppercased() + code.dropFirst() + "Error"
        }
        var traceback = ["\(name): \(error.description)"]
        if let pointer = error.pointer { traceback += pointer.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        return .error(name: name, value: error.description, traceback: traceback)
    }

    public func interrupt() { lakehouse.engine.interrupt() }

    public func isComplete(code: String) -> CodeCompleteness {
        switch SQLText.completeness(code) {
        case .complete: return .complete
        case .incomplete: return .incomplete(indent: "")
        case .invalid: return .invalid
        case .unknown: return .unknown
        }
    }

    // MARK: Completion and inspection

    static let keywords = [
        "SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "HAVING", "LIMIT", "OFFSET", "JOIN", "LEFT", "INNER", "OUTER",
        "ON", "AS", "AND", "OR", "NOT", "NULL", "IS", "IN", "LIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END",
        "DISTINCT", "COUNT", "SUM", "AVG", "MIN", "MAX", "INSERT", "INTO", "VALUES", "UPDATE", "SET", "DELETE", "CREATE",
        "TABLE", "DATABASE", "DROP", "ALTER", "ADD", "COLUMN", "RENAME", "TO", "WITH", "UNION", "ALL", "EXPLAIN",
        "VERSION", "TIMESTAMP", "OF", "ASC", "DESC",
    ]

    private func catalogTables() -> [TableInfo] {
        (try? lakehouse.catalog.read { try $0.allTables() }) ?? []
    }

    public func complete(code: String, cursorPosition: Int) -> Completion {
        let (word, start) = SQLText.word(endingAt: cursorPosition, in: code)
        let end = start + word.unicodeScalars.count
        let tables = catalogTables()
        var matches: [String] = []
        func offer(_ candidate: String, _ prefix: String) {
            if candidate.lowercased().hasPrefix(prefix.lowercased()) && !matches.contains(candidate) { matches.append(candidate) }
        }
        if let dot = word.lastIndex(of: ".") {
            let qualifier = String(word[..<dot]).lowercased()
            for table in tables where table.databaseName.lowercased() == qualifier {
                offer(SQLName.qualified(table.databaseName, table.name), word)
            }
            for table in tables
            where "\(table.databaseName).\(table.name)".lowercased() == qualifier || table.name.lowercased() == qualifier {
                for column in table.columns { offer(String(word[...dot]) + SQLName.quoted(column.name), word) }
            }
            return Completion(matches: matches, cursorStart: start, cursorEnd: end)
        }
        // Columns of the tables the cell names first (all tables' when it names none), then names, then keywords.
        let lowered = code.lowercased()
        let mentioned = tables.filter { lowered.contains("\($0.databaseName).\($0.name)".lowercased()) }
        for table in mentioned.isEmpty ? tables : mentioned {
            for column in table.columns { offer(SQLName.quoted(column.name), word) }
        }
        for table in tables {
            offer(SQLName.quoted(table.databaseName), word)
            offer(SQLName.qualified(table.databaseName, table.name), word)
        }
        if !word.isEmpty {
            let upper = word.first.map { $0.isUppercase } ?? true
            for keyword in SQLKernelBackend.keywords { offer(upper ? keyword : keyword.lowercased(), word) }
        }
        return Completion(matches: matches, cursorStart: start, cursorEnd: end)
    }

    public func inspect(code: String, cursorPosition: Int, detailLevel: Int) -> Inspection {
        let scalars = Array(code.unicodeScalars)
        var end = min(max(cursorPosition, 0), scalars.count)
        while end < scalars.count, scalars[end].properties.isAlphabetic || scalars[end].properties.numericType != nil || scalars[end] == "_" || scalars[end] == "." {
            end += 1
        }
        let word = SQLText.word(endingAt: end, in: code).word.lowercased()
        guard !word.isEmpty else { return .notFound }
        for table in catalogTables() where "\(table.databaseName).\(table.name)".lowercased() == word {
            var lines = ["\(table.qualifiedName): \(table.rowCount.map { "\($0) rows" } ?? "external table")"]
            if let comment = table.comment { lines.append(comment) }
            for column in table.columns {
                lines.append("  \(column.name) \(column.type)\(column.nullable ? "" : " NOT NULL")\(column.comment.map { " -- \($0)" } ?? "")")
            }
            return Inspection(data: ["text/plain": .string(lines.joined(separator: "\n"))])
        }
        for table in catalogTables() {
            if let column = table.columns.first(where: { $0.name.lowercased() == word }) {
                return Inspection(data: ["text/plain": .string("\(column.name) \(column.type): a column of \(table.qualifiedName)")])
            }
        }
        return .notFound
    }
}
