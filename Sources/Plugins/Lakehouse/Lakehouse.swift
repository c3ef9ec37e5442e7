public import Catalog
public import Governance
import CoreSupport
public import Storage
import Dispatch

/// The lakehouse: the catalog and the one gate every read and write of its tables goes through.
///
/// Everything reaches the engine through these methods (SQL, bulk appends, maintenance), so the
/// Governance issue has one place to scope them to the caller. The CLI and TUI reach it through the
/// bus (`LakehousePlugin`), and so does the SQL kernel (its cells are `lakehouse.query` requests); code
/// inside this plugin that already went through the bus (imports, exports) calls it directly.
public final class Lakehouse: Sendable {
    /// The catalog (hierarchy, ids, tags, snapshot log).
    public let catalog: Catalog
    /// The engine that runs the SQL.
    public let engine: any LakehouseEngine

    /// Makes the engine of a lakehouse from its catalog and (when governed) the domain's access policy.
    public typealias EngineFactory = @Sendable (Catalog, GovernanceService?) -> any LakehouseEngine

    /// A lakehouse over `catalog` whose SQL runs on `engine`.
    ///
    /// The engine must serve the same catalog and, when `governance` is given, enforce the same policy
    /// (every statement, append and maintenance step as its context's principal, Docs/governance.md).
    public init(catalog: Catalog, engine: any LakehouseEngine, governance: GovernanceService? = nil) {
        self.catalog = catalog
        self.engine = engine
        self.governance = governance
    }

    /// Opens the lakehouse of a domain with the engine `makeEngine` makes (the embedded SQLite engine unless told otherwise).
    ///
    /// With `governance`, every statement, append and maintenance step runs as its context's principal
    /// under the domain's access policy (Docs/governance.md); without it, nothing is checked (the
    /// engine's own tests, and code that already decided). Engine settings that apply to the domain's
    /// store (the SQLite engine's page cache and memory map, `SQLiteEngine.configuration`) are given
    /// when the domain is opened.
    public convenience init(
        domain: Domain, governance: GovernanceService? = nil,
        engine makeEngine: EngineFactory = { SQLiteEngine(catalog: $0, governance: $1) }
    ) throws(LakehouseError) {
        let catalog: Catalog
        do {
            catalog = try Catalog(domain: domain)
        } catch {
            throw LakehouseError(.storage, error.message)
        }
        self.init(catalog: catalog, engine: makeEngine(catalog, governance), governance: governance)
    }

    /// The domain's access policy, when this lakehouse is governed.
    public let governance: GovernanceService?

    /// Runs SQL, streaming the rows of the last statement to `sink` (synchronous; the caller's thread blocks).
    public func execute(_ sql: String, context: QueryContext = QueryContext(), sink: QuerySink = .discard) throws(LakehouseError)
        -> QueryOutcome
    {
        do {
            return try engine.execute(sql, context: context, sink: sink)
        } catch {
            throw LakehouseError.wrap(error, sql: sql)
        }
    }

    /// Runs SQL and keeps up to `limit` rows of the last statement (nil: all); reading stops after them.
    ///
    /// Runs off the cooperative pool; cancelling the task stops this statement (and no other).
    public func query(_ sql: String, context: QueryContext = QueryContext(), limit: Int? = nil) async throws -> QueryResult {
        var context = context
        let cancellation = context.cancellation ?? QueryCancellation()
        context.cancellation = cancellation
        return try await offThread(interrupt: { cancellation.cancel() }) { [self, context] in
            var rows: [[DatabaseValue]] = []
            var truncated = false
            let outcome = try execute(sql, context: context, sink: QuerySink { values in
                if let limit, rows.count >= limit {
                    truncated = true
                    return false
                }
                rows.append(values)
                return true
            })
            var result = QueryResult(outcome: outcome, rows: rows)
            result.truncated = truncated
            if truncated { result.outcome.rowCount = rows.count }
            return result
        }
    }

    /// Appends batches of rows to a table (or overwrites it, or creates it) in one transaction.
    ///
    /// `body` writes the batches; if it throws, or a row does not fit, nothing is committed and the
    /// table stays at its previous snapshot. `columns` names the columns each row gives, in order
    /// (nil: all columns of the table, in order). Synchronous: the caller's thread blocks.
    /// Errors `body` throws come back unchanged; the lakehouse's own are `LakehouseError`s.
    public func append(
        into table: TableName, mode: AppendMode = .append, columns: [String]? = nil, context: QueryContext = QueryContext(),
        _ body: (any RowBatchWriter) throws -> Void
    ) throws -> AppendOutcome {
        try engine.append(into: table, mode: mode, columns: columns, context: context, body)
    }

    /// Expires snapshots `policy` does not keep, and the history rows only they needed.
    public func expireSnapshots(of table: TableName, policy: RetentionPolicy, context: QueryContext = QueryContext()) throws(LakehouseError)
        -> MaintenanceOutcome
    {
        do { return try engine.expireSnapshots(of: table, policy: policy, context: context) } catch { throw LakehouseError.wrap(error) }
    }

    /// Rewrites a table compactly (same rows at every kept snapshot), as a `replace` snapshot.
    public func compact(_ table: TableName, context: QueryContext = QueryContext()) throws(LakehouseError) -> MaintenanceOutcome {
        do { return try engine.compact(table, context: context) } catch { throw LakehouseError.wrap(error) }
    }

    /// Registers an external SQLite file as a read-only catalog and database named `name`.
    public func registerSQLiteSource(name: String, path: String, context: QueryContext = QueryContext()) throws(LakehouseError) -> DatabaseInfo {
        do { return try engine.registerSQLiteSource(name: name, path: path, context: context) } catch { throw LakehouseError.wrap(error) }
    }

    /// Registers a directory of CSV/TSV files as a read-only catalog and database named `name`: one table per file.
    public func registerCSVSource(name: String, directory: String, context: QueryContext = QueryContext()) throws(LakehouseError) -> DatabaseInfo {
        do { return try engine.registerCSVSource(name: name, directory: directory, context: context) } catch { throw LakehouseError.wrap(error) }
    }

    /// A table's catalog entry, or a `.notFound` error.
    public func table(_ name: TableName) throws(LakehouseError) -> TableInfo {
        do {
            guard let table = try catalog.read({ try $0.table(database: name.database, name: name.table) }) else {
                throw LakehouseError(.notFound, "there is no table \(name)")
            }
            return table
        } catch {
            throw LakehouseError.wrap(error)
        }
    }

    /// A table's snapshots, oldest first (expired ones too when asked).
    public func snapshots(of name: TableName, includingExpired: Bool = false) throws(LakehouseError) -> [SnapshotInfo] {
        let table = try table(name)
        do { return try catalog.read { try $0.snapshots(ofTable: table.id, includingExpired: includingExpired) } } catch {
            throw LakehouseError.wrap(error)
        }
    }
}

/// Rows of a query, as kept by `Lakehouse.query`.
public struct QueryResult: Sendable, Equatable {
    public var outcome: QueryOutcome
    public var rows: [[DatabaseValue]]
    /// Whether more rows were there than the limit kept.
    public var truncated = false

    public var columns: [String] { outcome.columns }

    public init(outcome: QueryOutcome, rows: [[DatabaseValue]], truncated: Bool = false) {
        self.outcome = outcome
        self.rows = rows
        self.truncated = truncated
    }
}

/// Runs blocking work on `BlockingExecutor.shared`, calling `interrupt` when the task is cancelled.
///
/// A task already running there (`Task(executorPreference: BlockingExecutor.shared)`) runs the work where it is,
/// with no hop to another thread and back.
func offThread<T: Sendable>(interrupt: @escaping @Sendable () -> Void, _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withTaskCancellationHandler {
        try await withTaskExecutorPreference(BlockingExecutor.shared) { try work() }
    } onCancel: {
        interrupt()
    }
}

/// Threads outside Swift's cooperative pool for lakehouse work that blocks (SQLite calls), as a task executor.
///
/// The cooperative pool has one thread per core; a statement that runs for seconds must not hold one. Work
/// runs on Dispatch's global queue. A request task started with this executor as its preference (as `wb`'s
/// commands start theirs) runs its authorization, audit and statement on one thread: a point lookup then
/// pays no thread hops beyond starting the task and resuming its caller.
public final class BlockingExecutor: TaskExecutor {
    /// The one executor of the process.
    public static let shared = BlockingExecutor()

    private init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        DispatchQueue.global().async { job.runSynchronously(on: executor) }
    }
}
