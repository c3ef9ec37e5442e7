import Catalog
import CoreSupport
public import Governance
public import Kernels
import Dispatch
public import PluginBus
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
    private let bus: Bus
    private let lakehouse: Lakehouse
    private let principal: Principal
    /// The most rows a cell shows.
    public let displayLimit: Int
    /// The task of the cell running now, so an interrupt cancels exactly that statement.
    private let running = Mutex<Task<LakehouseQueryResult, any Error>?>(nil)

    /// A backend whose cells go through `bus` as `lakehouse.query` requests of `principal` (authorized and
    /// audited like `wb sql`), and whose completion and inspection show only what `principal` may see of
    /// `lakehouse`'s catalog. `bus` must serve `LakehousePlugin` over the same lakehouse.
    public init(bus: Bus, lakehouse: Lakehouse, principal: Principal = .currentUser, displayLimit: Int = 1_000) {
        self.bus = bus
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

    public func execute(_ request: ExecuteRequest, output: KernelOutput) -> ExecuteOutcome {
        let code = request.code
        if SQLText.isBlank(code) { return .ok(nil) }
        let result: LakehouseQueryResult
        do {
            result = try send(LakehouseQuery(sql: code, limit: displayLimit))
        } catch {
            return SQLKernelBackend.failure(error)
        }
        if !result.columns.isEmpty {
            return .ok(ResultRendering(columns: result.columns, rows: result.rows, truncated: result.truncated).mimeBundle)
        }
        var lines = result.messages
        if result.changes > 0 { lines.append("\(result.changes) row\(result.changes == 1 ? "" : "s") changed") }
        for snapshot in result.snapshots {
            lines.append("snapshot \(snapshot.snapshotID) of \(snapshot.table) (\(snapshot.operation))")
        }
        return lines.isEmpty ? .ok(nil) : .ok(["text/plain": .string(lines.joined(separator: "\n"))])
    }

    /// Sends one cell's query through the bus and waits for it (the kernel's shell thread is not on Swift's pool).
    ///
    /// The audit records of the cell are flushed before it returns, so the log shows every cell that ran.
    private func send(_ query: LakehouseQuery) throws -> LakehouseQueryResult {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<LakehouseQueryResult, any Error>?>(nil)
        let task = Task { [bus, principal] in try await bus.send(query, as: principal) }
        running.withLock { $0 = task }
        Task {
            let result = await task.result
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        running.withLock { $0 = nil }
        try? lakehouse.governance?.audit.flush()
        return try box.withLock { $0! }.get()
    }

    /// A lakehouse error as a Jupyter error.
    static func failure(_ error: any Error) -> ExecuteOutcome {
        if error is CancellationError || (error as? BusError)?.code == .cancelled {
            return .error(name: "KeyboardInterrupt", value: "the statement was interrupted", traceback: ["KeyboardInterrupt: the statement was interrupted"])
        }
        if let error = error as? BusError {
            let name = error.code == .denied ? "DeniedError" : "Error"
            return .error(name: name, value: error.message, traceback: ["\(name): \(error.message)"])
        }
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

    /// Cancels the running cell's request, which stops its statement (and only it).
    public func interrupt() { running.withLock { $0 }?.cancel() }

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

    /// The catalog's tables as the principal may see them: hidden tables left out, hidden columns removed.
    ///
    /// The same rule as `wb catalog` (`CatalogVisibility`), so completion and inspection disclose
    /// no name, comment or row count the catalog commands would not.
    private func catalogTables() -> [TableInfo] {
        let visibility = CatalogVisibility(lakehouse.governance, principal: principal)
        return (try? lakehouse.catalog.read { access in
            let tables = try access.allTables()
            guard let visibility else { return tables }
            return try tables.compactMap { table in
                guard let columns = try visibility.visibleColumns(table, access) else { return nil }
                var copy = table
                copy.columns = table.columns.filter { columns.contains($0.id) }
                return copy
            }
        }) ?? []
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
        let tables = catalogTables()
        for table in tables where "\(table.databaseName).\(table.name)".lowercased() == word {
            var lines = ["\(table.qualifiedName): \(table.rowCount.map { "\($0) rows" } ?? "external table")"]
            if let comment = table.comment { lines.append(comment) }
            for column in table.columns {
                lines.append("  \(column.name) \(column.type)\(column.nullable ? "" : " NOT NULL")\(column.comment.map { " -- \($0)" } ?? "")")
            }
            return Inspection(data: ["text/plain": .string(lines.joined(separator: "\n"))])
        }
        for table in tables {
            if let column = table.columns.first(where: { $0.name.lowercased() == word }) {
                return Inspection(data: ["text/plain": .string("\(column.name) \(column.type): a column of \(table.qualifiedName)")])
            }
        }
        return .notFound
    }
}
