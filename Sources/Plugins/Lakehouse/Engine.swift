public import Catalog
public import CoreSupport
public import Governance
public import Storage

/// A table's name as users write it: `db.table`.
public struct TableName: Sendable, Hashable, CustomStringConvertible {
    public var database: String
    public var table: String

    public init(_ database: String, _ table: String) {
        self.database = database
        self.table = table
    }

    /// Parses `db.table`; either part may be quoted (`"my db"."order"`).
    public init(parsing text: String) throws(LakehouseError) {
        let tokens = try SQLTokenizer.tokenize(text).filter(\.isSignificant)
        guard tokens.count == 3, tokens[1].kind == .dot, let database = tokens[0].identifier, let table = tokens[2].identifier,
            tokens[0].kind == .word || tokens[0].kind == .quotedIdentifier, tokens[2].kind == .word || tokens[2].kind == .quotedIdentifier
        else {
            throw LakehouseError(.invalidInput, "'\(text)' is not a table name of the form db.table (quote parts with \"...\" if needed)")
        }
        self.init(database, table)
    }

    /// `db.table`, quoted where needed.
    public var description: String { SQLName.qualified(database, table) }
}

/// A column of a table to create: name, declared type, whether it may be NULL, comment.
public struct ColumnDefinition: Sendable, Equatable {
    public var name: String
    /// An SQL type: `INTEGER`, `REAL`, `TEXT`, `BLOB`, `BOOLEAN`, `DATE`, `TIMESTAMP`, `NUMERIC` (SQLite affinity rules apply).
    public var type: String
    public var nullable: Bool
    public var comment: String?

    public init(_ name: String, _ type: String, nullable: Bool = true, comment: String? = nil) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.comment = comment
    }
}

/// Rows for a bulk append, in the order of the append's columns.
public struct RowBatch: Sendable {
    /// One array of values per row, one value per column.
    public var rows: [[DatabaseValue]]
    /// The input line of each row (for error messages), when the rows came from a file.
    public var lineNumbers: [Int]?

    public init(rows: [[DatabaseValue]], lineNumbers: [Int]? = nil) {
        self.rows = rows
        self.lineNumbers = lineNumbers
    }
}

/// What a bulk append does to the table.
public enum AppendMode: Sendable, Equatable {
    /// Adds rows to an existing table.
    case append
    /// Replaces every row of an existing table (the old rows stay reachable by time travel).
    case overwrite
    /// Creates the table (and its database if missing) with these columns, then adds the rows; fails if it exists.
    case create([ColumnDefinition])
}

/// Who runs a statement and how.
public struct QueryContext: Sendable {
    /// The caller; recorded on every snapshot (Governance will scope what it sees).
    public var principal: Principal
    /// Read every table as of this point (reads only).
    public var asOf: AsOf?
    /// Seconds the whole call may take before it stops with `.timedOut`.
    public var timeout: Double?
    /// Stops this call (and no other) with `.cancelled` when cancelled.
    public var cancellation: QueryCancellation?

    public init(principal: Principal = .currentUser, asOf: AsOf? = nil, timeout: Double? = nil, cancellation: QueryCancellation? = nil) {
        self.principal = principal
        self.asOf = asOf
        self.timeout = timeout
        self.cancellation = cancellation
    }
}

/// Cancels one call of the lakehouse (a statement, an append, a maintenance job) and no other.
///
/// Give it in a `QueryContext`; `cancel()` from any thread stops the call's running statement
/// with a `.cancelled` error, or refuses the call if it has not started yet.
public final class QueryCancellation: Sendable {
    /// The store access it cancels (the SQLite engine runs the call's accesses under it).
    let token = AccessToken()

    public init() {}

    /// Stops the call now, or as soon as it starts.
    public func cancel() { token.cancel() }

    /// Whether `cancel()` was called.
    public var isCancelled: Bool { token.isCancelled }
}

/// Where a query's rows go, as they are read (nothing is buffered by the engine).
public struct QuerySink {
    /// Called once with the column names before the first row (also for queries that return no rows).
    public var columns: ([String]) throws -> Void
    /// Called per row; return false to stop reading (the rest is never computed).
    public var row: ([DatabaseValue]) throws -> Bool

    public init(columns: @escaping ([String]) throws -> Void = { _ in }, row: @escaping ([DatabaseValue]) throws -> Bool) {
        self.columns = columns
        self.row = row
    }

    /// Discards rows.
    public static var discard: QuerySink { QuerySink { _ in true } }
}

/// A snapshot a call committed.
public struct CommittedSnapshot: Sendable, Equatable {
    /// `db.table`.
    public var table: String
    public var snapshotID: Int64
    public var operation: String
    public var summary: JSON

    public var jsonValue: JSON {
        ["table": .string(table), "snapshot_id": .int(Int(snapshotID)), "operation": .string(operation), "summary": summary]
    }
}

/// What running SQL did.
public struct QueryOutcome: Sendable, Equatable {
    /// The columns of the last statement that returns rows (empty when none does).
    public var columns: [String] = []
    /// Rows handed to the sink.
    public var rowCount = 0
    /// Whether the sink stopped the reading early.
    public var stoppedEarly = false
    /// Rows changed by INSERT, UPDATE and DELETE statements.
    public var changes = 0
    /// Snapshots committed (empty for reads).
    public var snapshots: [CommittedSnapshot] = []
    /// What DDL did, in words (`created table sales.orders`).
    public var messages: [String] = []

    public init() {}
}

/// What a bulk append did.
public struct AppendOutcome: Sendable, Equatable {
    public var table: TableInfo
    public var snapshot: CommittedSnapshot
    public var rowsAppended: Int
}

/// Which snapshots a table keeps: the current one always, plus those newer than `olderThan` seconds or among the last `keepLast`.
public struct RetentionPolicy: Sendable, Equatable {
    /// Expire snapshots committed more than this many seconds ago (nil: age alone expires nothing).
    public var olderThan: Double?
    /// Keep at least this many most recent snapshots (nil: no count limit).
    public var keepLast: Int?

    public init(olderThan: Double? = nil, keepLast: Int? = nil) {
        self.olderThan = olderThan
        self.keepLast = keepLast
    }
}

/// What a maintenance job (retention, compaction) did.
public struct MaintenanceOutcome: Sendable, Equatable {
    public var table: String
    public var snapshotsExpired = 0
    public var snapshotsKept = 0
    public var historyRowsRemoved = 0
    public var rowsRewritten = 0
    public var columnsPurged = 0
    /// The compaction's `replace` snapshot.
    public var snapshot: CommittedSnapshot?

    public var jsonValue: JSON {
        var object: JSONObject = [
            "table": .string(table), "snapshots_expired": .int(snapshotsExpired), "snapshots_kept": .int(snapshotsKept),
            "history_rows_removed": .int(historyRowsRemoved), "rows_rewritten": .int(rowsRewritten),
            "columns_purged": .int(columnsPurged),
        ]
        if let snapshot { object["snapshot"] = snapshot.jsonValue }
        return .object(object)
    }
}

/// Writes batches of rows into a table inside a bulk append's transaction.
public protocol RowBatchWriter {
    /// The columns each row gives values for, in order.
    var columns: [String] { get }
    /// Rows written so far.
    var rowsWritten: Int { get }
    /// Writes a batch; a row that does not fit fails the whole append (nothing is committed).
    func write(_ batch: RowBatch) throws
    /// Writes the rows of an import batch not marked skipped, straight from its arena (the bulk-import path).
    func write(_ batch: ImportBatch) throws
}

extension RowBatchWriter {
    /// Converts to `RowBatch`, for engines without a direct path.
    public func write(_ batch: ImportBatch) throws {
        var rows: [[DatabaseValue]] = []
        var lines: [Int] = []
        for r in 0..<batch.rowCount where !batch.isSkipped(r) {
            rows.append(batch.row(r).map(\.databaseValue))
            lines.append(batch.lines[r])
        }
        try write(RowBatch(rows: rows, lineNumbers: lines))
    }
}

/// A query engine behind the lakehouse's one gate: SQLite now, a columnar or distributed engine later.
///
/// Every read and write of lakehouse data goes through these calls; engine specifics (SQLite's
/// authorizer, views, ATTACH, PRAGMAs) stay inside the engine type.
public protocol LakehouseEngine: Sendable {
    /// The engine's name (`sqlite`).
    var name: String { get }

    /// Runs SQL (one statement or a script, all in one transaction), streaming the last result's rows to `sink`.
    func execute(_ sql: String, context: QueryContext, sink: QuerySink) throws -> QueryOutcome

    /// Appends (or overwrites, or creates and fills) a table in one transaction from the batches `body` writes.
    func append(
        into table: TableName, mode: AppendMode, columns: [String]?, context: QueryContext,
        _ body: (any RowBatchWriter) throws -> Void
    ) throws -> AppendOutcome

    /// Expires snapshots a table no longer keeps, and the history rows only they needed.
    func expireSnapshots(of table: TableName, policy: RetentionPolicy, context: QueryContext) throws -> MaintenanceOutcome

    /// Rewrites a table's current and history rows compactly, dropping storage no kept snapshot needs.
    func compact(_ table: TableName, context: QueryContext) throws -> MaintenanceOutcome

    /// Registers an external SQLite file as a read-only catalog (one database of the same name), without copying it.
    func registerSQLiteSource(name: String, path: String, context: QueryContext) throws -> DatabaseInfo

    /// Registers a directory of CSV/TSV files as a read-only catalog (one table per file), without copying them.
    func registerCSVSource(name: String, directory: String, context: QueryContext) throws -> DatabaseInfo

    /// Stops the work in progress: every statement running in this process's engine (to stop one
    /// call, give it a `QueryCancellation` in its context and cancel that).
    func interrupt()
}
