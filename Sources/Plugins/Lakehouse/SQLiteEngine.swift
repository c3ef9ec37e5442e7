public import Catalog
import CoreSupport
public import Governance
public import Storage
import Synchronization

/// The embedded engine: managed tables in the catalog's SQLite file, federated SQLite files attached read-only.
///
/// Storage of managed table `id` (names the user never writes; the name mapper rejects them):
/// - `_lh_t<id>`: the current rows, the user's columns plus `_lh_snap` (the commit that wrote the row);
/// - `_lh_h<id>`: older row versions with `_lh_added` / `_lh_removed` commit ids, filled by triggers
///   `_lh_u<id>` (update) and `_lh_d<id>` (delete) only when a version from an earlier commit changes;
/// - `_lh_v<id>`: a view of the current rows without `_lh_snap` (what `db.table` reads; SQLite flattens it).
/// `lh_snapshot()` returns the commit being written; it exists only inside the engine's write transactions,
/// so a connection outside the gate cannot write these tables.
public final class SQLiteEngine: LakehouseEngine {
    public let name = "sqlite"
    /// The catalog whose store holds the tables.
    public let catalog: Catalog
    var store: DatabasePool { catalog.store }
    /// Per connection, the authorizer installed once and the rules it applies while a user statement is prepared.
    private let authorizers = Mutex<[ObjectIdentifier: AuthorizerSlot]>([:])

    /// The domain's access policy; nil runs every statement ungoverned (tests of the engine itself, maintenance).
    public let governance: GovernanceService?

    /// How access plans become the secure SELECTs statements read through (`SecureView.Compiler.standard`).
    public let compiler: SecureView.Compiler

    /// An engine over `catalog`; `compiler` is the standard one except in the differential test's negative control.
    public init(catalog: Catalog, governance: GovernanceService? = nil, compiler: SecureView.Compiler = .standard) {
        self.catalog = catalog
        self.governance = governance
        self.compiler = compiler
    }

    /// Page cache and memory map sizes for the store's connections (see Docs/performance.md for how they were chosen).
    public struct Tuning: Sendable, Equatable {
        /// SQLite's page cache per connection, in MiB (SQLite's default is 2).
        public var cacheMiB: Int
        /// How much of the file SQLite reads through `mmap`, in MiB (0: plain reads, SQLite's default).
        public var mmapMiB: Int
        /// Helper threads SQLite's sorter may use (`PRAGMA threads`; 0, SQLite's default, sorts on the caller's thread only).
        public var sorterThreads: Int

        /// Keeps SQLite's temporary b-trees in memory (`PRAGMA temp_store = MEMORY`) instead of temporary files.
        ///
        /// Off in `standard`. It makes `count(DISTINCT x)` over many distinct values faster (SQLite gives a
        /// temporary b-tree a fixed 2 MiB page cache whatever `cache_size` says, so a bigger one is read
        /// back from its temporary file page by page), but SQLite's sorter then sorts everything in one
        /// in-memory list on the caller's thread only: no helper threads, no bound on its memory, and
        /// GROUP BYs measured 3-6x slower (Docs/performance.md, figure (4)).
        public var tempStoreInMemory: Bool

        public init(cacheMiB: Int, mmapMiB: Int, sorterThreads: Int = 0, tempStoreInMemory: Bool = false) {
            self.cacheMiB = cacheMiB
            self.mmapMiB = mmapMiB
            self.sorterThreads = sorterThreads
            self.tempStoreInMemory = tempStoreInMemory
        }

        /// What the lakehouse uses unless told otherwise: SQLite's default page cache, a 1 GiB memory
        /// map and two sorter threads. A larger page cache made sorting GROUP BYs up to 1.8x slower
        /// (the sorter sizes its in-memory runs from `cache_size`), while the memory map alone already
        /// keeps `count(*)`'s index walk out of `read()` (Docs/performance.md, figure (4)).
        public static let standard = Tuning(cacheMiB: 2, mmapMiB: 1024, sorterThreads: 2)
        /// SQLite's own defaults (for comparison).
        public static let sqliteDefaults = Tuning(cacheMiB: 2, mmapMiB: 0, sorterThreads: 0)
    }

    /// A store configuration with `tuning` applied to every connection (its PRAGMAs); open the domain with it.
    public static func configuration(_ tuning: Tuning = .standard, base: Configuration = Configuration()) -> Configuration {
        var configuration = base
        let previous = base.prepareDatabase
        configuration.prepareDatabase = { db in
            try previous?(db)
            try db.execute("PRAGMA cache_size = -\(tuning.cacheMiB * 1024)")
            try db.execute("PRAGMA mmap_size = \(tuning.mmapMiB * 1024 * 1024)")
            try db.execute("PRAGMA threads = \(tuning.sorterThreads)")
            if tuning.tempStoreInMemory { try db.execute("PRAGMA temp_store = MEMORY") }
        }
        return configuration
    }

    /// The governance of one statement run by `principal`, or nil when the lakehouse is not governed.
    func governance(for principal: Principal, sql: String) throws -> StatementGovernance? {
        guard let governance else { return nil }
        return try StatementGovernance(service: governance, principal: principal, sql: sql, compiler: compiler)
    }

    /// The authorizer slot of a connection, installing the one authorizer on first use.
    ///
    /// One authorizer stays on each connection and applies a statement's rules only while that
    /// statement is prepared and stepped, so changing rules does not expire the connection's cached
    /// statements (`setAuthorizer` would). This is the seam the Governance issue's per-principal rules plug into.
    func authorizerSlot(_ db: Database) -> AuthorizerSlot {
        let (slot, fresh) = authorizers.withLock { slots -> (AuthorizerSlot, Bool) in
            if let slot = slots[ObjectIdentifier(db)] { return (slot, false) }
            let slot = AuthorizerSlot()
            slots[ObjectIdentifier(db)] = slot
            return (slot, true)
        }
        if fresh { db.setAuthorizer { action in slot.rules?(action) ?? .allow } }
        return slot
    }

    /// Prepares a user statement under `rules` (SQLite consults an authorizer only while preparing).
    func prepareUserStatement(
        _ sql: String, db: Database, rules: @escaping (AuthorizerAction) -> AuthorizerDecision
    ) throws(DatabaseError) -> Statement {
        let slot = authorizerSlot(db)
        slot.rules = rules
        defer { slot.rules = nil }
        return try db.makeStatement(sql)
    }

    public func interrupt() {
        store.interrupt()
    }

    // MARK: The gate

    /// What the tokenizer and classifier make of one SQL text (a function of the text alone).
    struct ParsedSQL: Sendable {
        var statements: [[SQLToken]]
        var kinds: [StatementKind]
        var writes: Bool
        /// Every word and quoted name, lowercased (to spot federated sources).
        var names: Set<String>
    }

    /// Parsed SQL texts, so a statement run again is not tokenized again.
    private let parsedTexts = BoundedCache<String, ParsedSQL>(capacity: 512)

    func parse(_ sql: String) throws -> ParsedSQL {
        if let parsed = parsedTexts[sql] { return parsed }
        let tokens = try SQLTokenizer.tokenize(sql)
        let statements = SQLTokenizer.statements(tokens)
        guard !statements.isEmpty else { throw LakehouseError(.syntax, "there is no SQL statement to run", sql: sql) }
        let kinds = try statements.map { try StatementKind.classify($0, sql: sql) }
        let names = Set(tokens.filter { $0.kind == .word || $0.kind == .quotedIdentifier }.compactMap { $0.identifier?.lowercased() })
        let parsed = ParsedSQL(statements: statements, kinds: kinds, writes: kinds.contains { $0 != .read }, names: names)
        parsedTexts[sql] = parsed
        return parsed
    }

    public func execute(_ sql: String, context: QueryContext, sink: QuerySink) throws -> QueryOutcome {
        let parsed = try parse(sql)
        let (statements, kinds, writes, names) = (parsed.statements, parsed.kinds, parsed.writes, parsed.names)
        if writes, context.asOf != nil {
            throw LakehouseError(.readOnly, "--as-of reads the past; it cannot be used with statements that write", sql: sql)
        }
        // Most statements name no federated source: find out inside the transaction, and only when one is
        // named start again on a connection with the sources attached (ATTACH cannot run in a transaction).
        var sources: [CatalogInfo] = []
        while true {
            do {
                return try run(statements, kinds: kinds, sql: sql, writes: writes, sources: sources, names: names, context: context, sink: sink)
            } catch let needed as SourcesNeeded where sources.isEmpty {
                sources = needed.sources
            } catch {
                throw LakehouseError.wrap(error, sql: sql)
            }
        }
    }

    /// Signals that the statement names federated sources the connection does not have attached.
    private struct SourcesNeeded: Error {
        var sources: [CatalogInfo]
    }

    private func run(
        _ statements: [[SQLToken]], kinds: [StatementKind], sql: String, writes: Bool, sources: [CatalogInfo], names: Set<String>,
        context: QueryContext, sink: QuerySink
    ) throws -> QueryOutcome {
        do {
            return try withConnection(write: writes, sources: sources, context: context) { db in
                let catalogVersion = try CatalogAccess(db).version()
                if sources.isEmpty {
                    let named = try federatedCatalogs(db, version: catalogVersion).filter { names.contains($0.name.lowercased()) }
                    if !named.isEmpty { throw SourcesNeeded(sources: named) }
                }
                var outcome = QueryOutcome()
                let commit = writes ? try Commit(db: db, principal: context.principal) : nil
                // A lone read of current data names no source and writes nothing: its mapping can be kept.
                let reusable = statements.count == 1 && !writes && sources.isEmpty && context.asOf == nil
                for (index, statement) in statements.enumerated() {
                    try db.checkCancellation()
                    let isLast = index == statements.count - 1
                    try run(statement, kind: kinds[index], sql: sql, db: db, context: context, commit: commit,
                        sink: isLast ? sink : .discard, catalogVersion: reusable ? catalogVersion : nil, outcome: &outcome)
                }
                if let commit { outcome.snapshots = try commit.finish() }
                return outcome
            }
        }
    }

    /// Runs `body` on the writer (in an immediate transaction) or a reader, with federated sources attached when needed.
    ///
    /// The context's time-out limits it, and its cancellation stops it (and nothing else running).
    private func withConnection<T>(
        write: Bool, sources: [CatalogInfo], context: QueryContext, _ body: (Database) throws -> T
    ) throws -> T {
        let timeout = context.timeout
        func limited(_ db: Database) throws -> T {
            guard let timeout else { return try body(db) }
            return try db.withTimeout(timeout) { try body(db) }
        }
        let token = context.cancellation?.token ?? AccessToken()
        if sources.isEmpty {
            return write ? try store.write(token, limited) : try store.read(token, limited)
        }
        // ATTACH cannot run inside a transaction: use the writer connection outside one.
        return try store.writeWithoutTransaction(token) { db in
            var attached: [String] = []
            defer { for schema in attached { try? db.execute("DETACH DATABASE \(SQLName.alwaysQuoted(schema))") } }
            for source in sources {
                let schema = SQLiteEngine.sourceSchema(source.id)
                switch source.kind {
                case .csv:
                    // An in-memory schema of one virtual table per file, gone with the DETACH.
                    try registerCSVModule(db)
                    try db.execute("ATTACH DATABASE ':memory:' AS \(SQLName.alwaysQuoted(schema))")
                    attached.append(schema)
                    let access = CatalogAccess(db)
                    for database in try access.databases(inCatalog: source.id) {
                        for table in try access.tables(inDatabase: database.id) {
                            try db.execute(
                                "CREATE VIRTUAL TABLE \(SQLName.alwaysQuoted(schema)).\(SQLName.alwaysQuoted(table.storageName)) USING \(CSVSource.module)(\(CSVSource.argument(directory: source.location ?? "", table: table)))")
                        }
                    }
                default:
                    try db.execute("ATTACH DATABASE ? AS \(SQLName.alwaysQuoted(schema))", [SQLiteEngine.readOnlyURI(source.location ?? "")])
                    attached.append(schema)
                }
            }
            return try db.inTransaction(write ? .immediate : .deferred) { try limited(db) }
        }
    }

    static func sourceSchema(_ catalogID: Int64) -> String { "_lh_src_\(catalogID)" }

    /// The federated catalogs (not the managed one), kept while the catalog's version stays.
    private let federated = Mutex<(version: Int64, catalogs: [CatalogInfo])?>(nil)

    private func federatedCatalogs(_ db: Database, version: Int64) throws -> [CatalogInfo] {
        if let kept = federated.withLock({ $0 }), kept.version == version { return kept.catalogs }
        let catalogs = try CatalogAccess(db).catalogs().filter { $0.kind != .managed }
        federated.withLock { $0 = (version, catalogs) }
        return catalogs
    }

    /// Connections that have the CSV module registered.
    private let csvModules = Mutex<Set<ObjectIdentifier>>([])

    private func registerCSVModule(_ db: Database) throws {
        let fresh = csvModules.withLock { $0.insert(ObjectIdentifier(db)).inserted }
        if fresh { try db.registerVirtualTableModule(CSVSource.module, CSVSource.makeTable) }
    }

    /// A `file:` URI opening `path` read-only.
    static func readOnlyURI(_ path: String) -> String {
        var encoded = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "%"), UInt8(ascii: "?"), UInt8(ascii: "#"), 0..<0x20:
                encoded += "%" + Identifier.hexString([byte])
            default:
                encoded += String(decoding: [byte], as: UTF8.self)
            }
        }
        return "file:\(encoded)?mode=ro"
    }

    // MARK: Statements

    private func run(
        _ tokens: [SQLToken], kind: StatementKind, sql: String, db: Database, context: QueryContext, commit: Commit?,
        sink: QuerySink, catalogVersion: Int64?, outcome: inout QueryOutcome
    ) throws {
        let access = CatalogAccess(db)
        switch kind {
        case .read, .dml:
            try runMapped(
                tokens, kind: kind, sql: sql, db: db, access: access, context: context, commit: commit, sink: sink,
                catalogVersion: catalogVersion, outcome: &outcome)
        case .createDatabase:
            try Statements(engine: self, db: db, access: access, commit: commit!, sql: sql, tokens: tokens).createDatabase(&outcome)
        case .dropDatabase:
            try Statements(engine: self, db: db, access: access, commit: commit!, sql: sql, tokens: tokens).dropDatabase(&outcome)
        case .createTable:
            try Statements(engine: self, db: db, access: access, commit: commit!, sql: sql, tokens: tokens).createTable(&outcome)
        case .dropTable:
            try Statements(engine: self, db: db, access: access, commit: commit!, sql: sql, tokens: tokens).dropTable(&outcome)
        case .alterTable:
            try Statements(engine: self, db: db, access: access, commit: commit!, sql: sql, tokens: tokens).alterTable(&outcome)
        case .createIndex:
            try Statements(engine: self, db: db, access: access, commit: commit!, sql: sql, tokens: tokens).createIndex(&outcome)
        case .dropIndex:
            try Statements(engine: self, db: db, access: access, commit: commit!, sql: sql, tokens: tokens).dropIndex(&outcome)
        }
    }

    /// What mapping a lone read gave, kept per (SQL text, user, catalog version, policy version).
    struct MappedRead: Sendable {
        var mapped: MappedStatement
        /// Whether some table is read through a filter or mask (the authorizer then narrows functions).
        var restricted: Bool
        /// The decisions the mapping made, audited again each time the read runs.
        var decisions: [StatementGovernance.Decided]
    }

    struct MappedReadKey: Hashable, Sendable {
        var sql: String
        var user: String?
        var catalogVersion: Int64
        var policyVersion: Int
    }

    /// Mapped reads: a catalog change (names, columns, tags) or a new policy version makes a new key.
    private let mappedReads = BoundedCache<MappedReadKey, MappedRead>(capacity: 1024)

    /// Maps names, then runs a query or an INSERT/UPDATE/DELETE under the authorizer.
    ///
    /// With `catalogVersion` (a lone read of current data), the mapping is taken from, or kept in,
    /// `mappedReads`, and the prepared statement from the connection's cache: what the statement
    /// means and may touch depends only on the text, the catalog, the user and the policy, which
    /// the key holds. The decisions are audited on every run all the same.
    private func runMapped(
        _ tokens: [SQLToken], kind: StatementKind, sql: String, db: Database, access: CatalogAccess, context: QueryContext,
        commit: Commit?, sink: QuerySink, catalogVersion: Int64?, outcome: inout QueryOutcome
    ) throws {
        let governance = try governance(for: context.principal, sql: sql)
        let key = catalogVersion.map {
            MappedReadKey(sql: sql, user: governance?.user, catalogVersion: $0, policyVersion: governance?.policyVersion ?? 0)
        }
        let mapped: MappedStatement
        let rules: (AuthorizerAction) -> AuthorizerDecision
        var target: TableInfo?
        var filteredWrite: FilteredWrite?
        var restricted = false
        if let key, let kept = mappedReads[key] {
            governance?.audit(again: kept.decisions)
            mapped = kept.mapped
            restricted = kept.restricted
            if restricted { try registerSecureFunctions(db) }
            rules = Binder.rules(target: nil, restricted: restricted, writeView: nil)
        } else {
            let binder = Binder(engine: self, access: access, asOf: context.asOf, sql: sql)
            binder.setVerb(kind == .dml ? StatementKind.dmlVerb(tokens) : nil)
            binder.governance = governance
            binder.tokens = tokens
            mapped = try NameMapper.map(tokens, sql: sql, isDatabase: binder.isDatabase, bind: { try binder.bind($0) })
            filteredWrite = binder.filteredWrite
            if let governance, governance.isRestricted || filteredWrite != nil {
                try governance.checkRestrictedStatement(tokens)
                try registerSecureFunctions(db)
            }
            restricted = (governance?.isRestricted ?? false) || filteredWrite != nil
            if kind == .dml {
                target = binder.target
                guard let target else {
                    throw LakehouseError(.syntax, "INSERT, UPDATE and DELETE write lakehouse tables named db.table", sql: sql)
                }
                try commit!.willChange(target, db: db)
            }
            rules = binder.authorizer(writing: target)
            if let key, kind == .read, filteredWrite == nil, mapped.references.allSatisfy({ $0.asOf == nil }) {
                mappedReads[key] = MappedRead(mapped: mapped, restricted: restricted, decisions: governance?.decided ?? [])
            }
        }
        defer { if let write = filteredWrite { try? FilteredWrite.remove(tableID: write.tableID, db: db) } }
        // The rules stay in force while the statement runs (SQLite re-prepares a statement whose schema
        // changed, and the re-prepare must be authorized as the first prepare was), and only then: what
        // the gate runs itself afterwards (error messages, the commit's bookkeeping) is not the user's.
        let slot = authorizerSlot(db)
        do {
            slot.rules = rules
            defer { slot.rules = nil }
            let statement = try slot.statement(mapped.sql, db: db, reusable: key != nil && kind == .read, restricted: restricted)
            let columns = statement.columnNames
            if !columns.isEmpty || kind == .read {
                outcome.columns = columns
                try sink.columns(columns)
            }
            while try statement.step() {
                guard !columns.isEmpty else { continue }
                var values: [DatabaseValue] = []
                values.reserveCapacity(columns.count)
                for i in 0..<columns.count { values.append(statement.value(at: i)) }
                outcome.rowCount += 1
                if try !sink.row(values) {
                    outcome.stoppedEarly = true
                    statement.reset()
                    break
                }
            }
        } catch let error as DatabaseError {
            var result = positioned(error, mapped: mapped, sql: sql, access: access)
            if filteredWrite != nil, result.message.contains(FilteredWrite.violation) { result.code = .denied }
            throw result
        }
        if let target, let commit {
            // SQLite counts no changes made through a view's triggers: a filtered write counts its own.
            let changes = filteredWrite?.changes ?? db.changesCount
            outcome.changes += changes
            try commit.didChange(target, statementKind: StatementKind.dmlVerb(tokens), changes: changes, tokens: tokens, db: db)
        }
    }

    /// Registers the secure views' functions (hash, show-last) once per connection: registering a
    /// function again would expire every statement the connection has prepared.
    private func registerSecureFunctions(_ db: Database) throws {
        let slot = authorizerSlot(db)
        guard !slot.secureFunctions else { return }
        try SecureView.registerFunctions(db)
        slot.secureFunctions = true
    }

    /// A database error with its place mapped back to the user's text.
    func positioned(_ error: DatabaseError, mapped: MappedStatement, sql: String, access: CatalogAccess) -> LakehouseError {
        var result = LakehouseError.from(error, sql: sql)
        // SQLite names storage in some messages; say what the user wrote instead.
        result.message = unmapNames(result.message, access: access)
        if let offset = error.offset {
            let (line, column) = LakehouseError.position(of: mapped.originalOffset(offset), in: sql)
            result.line = line
            result.column = column
        } else if error.message == "incomplete input" {
            // SQLite gives no place: the statement ended where more was expected.
            result.message = "incomplete input: the statement ends where more was expected"
            let (line, column) = LakehouseError.position(of: mapped.originalEnd, in: sql)
            result.line = line
            result.column = column
        }
        return result
    }

    /// Replaces storage names (`main._lh_v3`, `_lh_asof_3_7`) in an SQLite message by `db.table`.
    func unmapNames(_ message: String, access: CatalogAccess) -> String {
        guard message.contains("_lh_") else { return message }
        guard let tables = try? access.allTables() else { return message }
        var text = message
        for table in tables.sorted(by: { $0.id > $1.id }) {
            let id = String(table.id)
            for prefix in ["main._lh_v", "main._lh_t", "_lh_v", "_lh_t", "_lh_h", "_lh_asof_"] {
                text = text.replacingAll(prefix + id, with: table.qualifiedName)
            }
        }
        return text
    }

    // MARK: Bulk append

    public func append(
        into name: TableName, mode: AppendMode, columns: [String]?, context: QueryContext,
        _ body: (any RowBatchWriter) throws -> Void
    ) throws -> AppendOutcome {
        do {
            return try withConnection(write: true, sources: [], context: context) { db in
                let access = CatalogAccess(db)
                let commit = try Commit(db: db, principal: context.principal)
                let governance = try governance(for: context.principal, sql: "append into \(name)")
                var table: TableInfo
                switch mode {
                case .create(let definitions):
                    if let governance {
                        if let database = try access.database(named: name.database) {
                            try governance.database(database, permission: .createTable)
                        } else {
                            try governance.catalog(try access.managedCatalog(owner: context.principal.description).name, permission: .createDatabase)
                        }
                    }
                    table = try TableStorage(db: db, access: access).createManagedTable(name, columns: definitions, commit: commit, principal: context.principal)
                case .append, .overwrite:
                    guard let found = try access.table(database: name.database, name: name.table) else {
                        throw LakehouseError(.notFound, "there is no table \(name)")
                    }
                    guard found.kind == .managed else { throw LakehouseError(.readOnly, "\(name) is a federated, read-only table") }
                    table = found
                    if let governance, let database = try access.database(named: found.databaseName) {
                        let descriptor = StatementGovernance.descriptor(found, database: database)
                        // A bulk load writes storage directly: it needs the whole table (INSERT ... SELECT
                        // runs under a filter, through the filtered-write view).
                        var filtered = try governance.write(descriptor, permission: .insert, offset: nil) != nil
                        if mode == .overwrite { filtered = try governance.write(descriptor, permission: .delete, offset: nil) != nil || filtered }
                        if filtered {
                            throw LakehouseError(
                                .denied,
                                "\(governance.user) may write \(name) only under a row filter, column list or mask; bulk loads "
                                    + "need the whole table, so load into a table of your own and INSERT ... SELECT from it")
                        }
                    }
                    try commit.willChange(table, db: db)
                    if mode == .overwrite {
                        try db.execute("DELETE FROM main.\(SQLName.alwaysQuoted(table.storageName))")
                        commit.record(table.id, deleted: db.changesCount, operation: "overwrite")
                    }
                }
                let targetColumns: [ColumnInfo]
                if let columns {
                    targetColumns = try columns.map { column in
                        guard let found = table.columns.first(where: { $0.name.lowercased() == column.lowercased() }) else {
                            throw LakehouseError(.notFound, "\(name) has no column \(SQLName.quoted(column)) (it has \(table.columns.map(\.name).joined(separator: ", ")))")
                        }
                        return found
                    }
                } else {
                    targetColumns = table.columns
                }
                let writer = try BatchWriter(
                    db: db, table: table, columns: targetColumns, name: name, snapshot: commit.id)
                try body(writer)
                commit.record(table.id, added: writer.rowsWritten, operation: mode == .overwrite ? "overwrite" : (table.rowCount == 0 && commit.created(table.id) ? "create" : "append"))
                let snapshots = try commit.finish()
                table = try access.table(id: table.id) ?? table
                let snapshot = snapshots.first { $0.table == table.qualifiedName } ?? CommittedSnapshot(table: table.qualifiedName, snapshotID: commit.id, operation: "append", summary: [:])
                return AppendOutcome(table: table, snapshot: snapshot, rowsAppended: writer.rowsWritten)
            }
        } catch let error as LakehouseError {
            throw error
        } catch let error as DatabaseError {
            throw LakehouseError.wrap(error)
        } catch let error as CatalogError {
            throw LakehouseError.wrap(error)
        }
    }

    // MARK: Federated sources

    public func registerSQLiteSource(name: String, path: String, context: QueryContext) throws -> DatabaseInfo {
        let absolute = FilePath.absolute(path)
        // A federated source is a new catalog: it needs CREATE_DATABASE on catalogs when the lakehouse is governed.
        try governance(for: context.principal, sql: "register \(name)")?.catalog(name, permission: .createDatabase)
        guard FileIO.exists(absolute) else { throw LakehouseError(.notFound, "there is no file \(absolute)") }
        // Read the file's tables through its own read-only connection: a file that is not SQLite fails here.
        var configuration = Configuration()
        configuration.readOnly = true
        let tables: [(String, [(String, String, Bool)])]
        do {
            let source = try DatabaseQueue(path: absolute, configuration: configuration)
            tables = try source.read { db in
                try db.fetchAll("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name")
                    .compactMap { $0.value(0, as: String.self) }
                    .map { table in
                        let columns = try db.fetchAll("SELECT name, type, \"notnull\" FROM pragma_table_info(?)", [table]).map {
                            ($0.value(0, as: String.self) ?? "", $0.value(1, as: String.self) ?? "", ($0.value(2, as: Int.self) ?? 0) == 0)
                        }
                        return (table, columns)
                    }
            }
        } catch let error as DatabaseError {
            throw LakehouseError(.invalidInput, "\(absolute) cannot be read as an SQLite database: \(error.message)")
        }
        do {
            return try catalog.write { access in
                let owner = context.principal.description
                let info = try access.createCatalog(name, kind: .sqlite, location: absolute, comment: "SQLite file \(absolute) (read-only)", owner: owner)
                let database = try access.createDatabase(name, inCatalog: info.id, comment: "tables of \(absolute)", owner: owner)
                for (table, columns) in tables {
                    guard SQLName.problem(table, what: "table") == nil else { continue }
                    let entry = try access.createTable(table, inDatabase: database.id, kind: .external, storageName: table, owner: owner)
                    for (column, type, nullable) in columns where SQLName.problem(column, what: "column") == nil {
                        try access.addColumn(toTable: entry.id, name: column, type: type, nullable: nullable)
                    }
                }
                return try access.database(id: database.id)!
            }
        } catch {
            throw LakehouseError.wrap(error)
        }
    }
}

extension SQLiteEngine {
    /// Registers a directory of CSV/TSV files as a read-only catalog and database named `name`, one table per file.
    public func registerCSVSource(name: String, directory: String, context: QueryContext) throws -> DatabaseInfo {
        let absolute = FilePath.absolute(directory)
        try governance(for: context.principal, sql: "register \(name)")?.catalog(name, permission: .createDatabase)
        guard FileIO.isDirectory(absolute) else {
            throw LakehouseError(.notFound, FileIO.exists(absolute) ? "\(absolute) is not a directory" : "there is no directory \(absolute)")
        }
        let tables = try CSVSource.scan(absolute)
        do {
            return try catalog.write { access in
                let owner = context.principal.description
                let info = try access.createCatalog(name, kind: .csv, location: absolute, comment: "CSV files in \(absolute) (read-only)", owner: owner)
                let database = try access.createDatabase(name, inCatalog: info.id, comment: "CSV files of \(absolute)", owner: owner)
                for file in tables {
                    let entry = try access.createTable(
                        file.table, inDatabase: database.id, kind: .external, storageName: file.file, comment: "CSV file \(file.file)", owner: owner)
                    for column in file.columns {
                        _ = try access.addColumn(toTable: entry.id, name: column.name, type: column.type.rawValue, nullable: true)
                    }
                }
                return try access.database(id: database.id)!
            }
        } catch {
            throw LakehouseError.wrap(error)
        }
    }
}

/// The rules an authorizer applies on one connection, and the user statements it prepared;
/// touched only by the thread that holds the connection.
final class AuthorizerSlot: @unchecked Sendable {
    var rules: ((AuthorizerAction) -> AuthorizerDecision)?
    /// Whether the secure views' functions are registered on the connection.
    var secureFunctions = false
    /// Prepared reads by (restricted, mapped SQL): the authorizer's answers for a read depend on nothing else.
    private var statements: [String: Statement] = [:]

    /// A prepared statement for `sql` under the rules in force: a kept one when `reusable` (and idle), else a new one.
    func statement(_ sql: String, db: Database, reusable: Bool, restricted: Bool) throws(DatabaseError) -> Statement {
        guard reusable else { return try db.makeStatement(sql) }
        let key = (restricted ? "r:" : "u:") + sql
        if let kept = statements[key], !kept.isBusy { return kept }
        let statement = try db.makeStatement(sql)
        if statements.count >= 256 { statements.removeAll() }
        statements[key] = statement
        return statement
    }
}

/// A small map shared by threads, emptied when it reaches its capacity (the entries are cheap to remake).
final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let entries = Mutex<[Key: Value]>([:])
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    subscript(key: Key) -> Value? {
        get { entries.withLock { $0[key] } }
        set {
            entries.withLock { entries in
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
                entries[key] = newValue
            }
        }
    }
}

/// Writes rows with prepared INSERTs inside the append's transaction.
///
/// The commit id is bound as `_lh_snap` (parameter 1, once) rather than left to the column's
/// `lh_snapshot()` default, which would be a function call per row. Import batches go in
/// `chunkRows` rows per multi-row INSERT: one statement run opens the table's B-tree once for
/// all of them, where one INSERT per row opens and seeks it per row.
final class BatchWriter: RowBatchWriter {
    let db: Database
    let columns: [String]
    let table: TableName
    let snapshot: Int64
    /// One row: `(?1, ?2, ..., ?n+1)`.
    let single: Statement
    /// `chunkRows` rows: `(?1, ?2, ...), (?1, ?n+2, ...), ...`.
    let chunk: Statement
    let chunkRows: Int
    private(set) var rowsWritten = 0

    init(db: Database, table info: TableInfo, columns targets: [ColumnInfo], name: TableName, snapshot: Int64) throws(DatabaseError) {
        self.db = db
        self.columns = targets.map(\.name)
        self.table = name
        self.snapshot = snapshot
        let n = targets.count
        // SQLite allows 32766 parameters per statement; 64 rows is past the point of diminishing returns.
        chunkRows = max(1, min(64, 32_000 / max(1, n)))
        let list = ([TableStorage.snapshotColumn] + targets.map(\.storageName)).map(SQLName.alwaysQuoted).joined(separator: ", ")
        func tuple(_ row: Int) -> String {
            "(?1, " + (0..<n).map { "?\(2 + row * n + $0)" }.joined(separator: ", ") + ")"
        }
        let insert = "INSERT INTO main.\(SQLName.alwaysQuoted(info.storageName)) (\(list)) VALUES "
        single = try db.makeStatement(insert + tuple(0))
        chunk = try db.makeStatement(insert + (0..<chunkRows).map(tuple).joined(separator: ", "))
        try chunk.bind(snapshot, at: 1)
    }

    func write(_ batch: RowBatch) throws {
        try db.checkCancellation()
        for (index, row) in batch.rows.enumerated() {
            let place: String = {
                if let lines = batch.lineNumbers, index < lines.count { return "line \(lines[index])" }
                return "row \(rowsWritten + 1)"
            }()
            guard row.count == columns.count else {
                throw LakehouseError(.invalidInput, "\(place): \(row.count) values for \(columns.count) columns of \(table); nothing was written")
            }
            do {
                try single.execute(StatementArguments([.integer(snapshot)] + row))
            } catch {
                if error.kind != .sqlite { throw error }
                throw LakehouseError(.invalidInput, "\(place): \(error.message) in \(table); nothing was written")
            }
            rowsWritten += 1
        }
    }

    func write(_ batch: ImportBatch) throws {
        try db.checkCancellation()
        guard batch.columnCount == columns.count else {
            throw LakehouseError(
                .invalidInput,
                "line \(batch.lines.first ?? 0): \(batch.columnCount) values for \(columns.count) columns of \(table); nothing was written")
        }
        let n = batch.columnCount
        let rows = (0..<batch.rowCount).filter { !batch.isSkipped($0) }
        try single.bind(snapshot, at: 1)
        try batch.arena.withUnsafeBytes { arena in
            /// Binds row `r` of the batch as the `slot`-th row of `statement`.
            func bind(_ r: Int, slot: Int, _ statement: Statement) throws(DatabaseError) {
                for c in 0..<n {
                    let i = r * n + c
                    let parameter = Int32(2 + slot * n + c)
                    switch batch.kinds[i] {
                    case .null: try statement.bindNull(at: parameter)
                    case .integer: try statement.bind(batch.payloads[i], at: parameter)
                    case .real: try statement.bind(Double(bitPattern: UInt64(bitPattern: batch.payloads[i])), at: parameter)
                    case .text, .blob:
                        let start = Int(batch.payloads[i])
                        let bytes = UnsafeRawBufferPointer(rebasing: arena[start..<(start + Int(batch.lengths[i]))])
                        // The arena outlives the run of the statement (and every row slot is bound afresh each run).
                        if batch.kinds[i] == .text {
                            try statement.bindTextNoCopy(bytes, at: parameter)
                        } else {
                            try statement.bindBlobNoCopy(bytes, at: parameter)
                        }
                    }
                }
            }
            /// Inserts rows one by one; a failure names the row's line.
            func insertSingly(_ rows: ArraySlice<Int>) throws {
                for r in rows {
                    do throws(DatabaseError) {
                        try bind(r, slot: 0, single)
                        try single.executeBound()
                    } catch {
                        if error.kind != .sqlite { throw error }
                        throw LakehouseError(.invalidInput, "line \(batch.lines[r]): \(error.message) in \(table); nothing was written")
                    }
                }
            }
            var start = 0
            while rows.count - start >= chunkRows {
                let part = rows[start..<(start + chunkRows)]
                do throws(DatabaseError) {
                    for (slot, r) in part.enumerated() { try bind(r, slot: slot, chunk) }
                    try chunk.executeBound()
                } catch {
                    if error.kind != .sqlite { throw error }
                    // The failed statement changed nothing: find the row, and its line, one at a time.
                    try insertSingly(part)
                }
                start += chunkRows
            }
            try insertSingly(rows[start...])
        }
        rowsWritten += rows.count
    }
}
