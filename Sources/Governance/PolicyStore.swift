import CoreSupport
import Crypto
import Storage
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One applied version of the policy.
public struct PolicyVersion: Sendable, Equatable {
    public var version: Int
    public var createdAt: String
    public var createdBy: String
    /// Why it was applied (`rollback to 3`, or the admin's comment).
    public var comment: String
    /// SHA-256 of the policy text, hex.
    public var sha256: String
    public var isActive: Bool
}

/// The domain's policies: every applied version kept, one active (`wb policy apply|rollback|versions`).
///
/// Versions live in the domain's governance store, so applying is one SQLite
/// transaction: a file that does not validate is refused before anything is
/// written, and the active policy stays as it was.
public final class PolicyStore: Sendable {
    let pool: DatabasePool
    /// The domain's policy change signal (`governance.signal`), nil where it cannot be mapped: see `activeVersion()`.
    let signal: ChangeSignal?

    /// The file of the policy change signal, in the domain folder next to `governance.db`.
    public static let signalFileName = "governance.signal"

    /// The migrations of the governance store.
    static var migrator: Migrator {
        var migrator = Domain.Store.governance.migrator
        migrator.register("policy-versions") { db in
            try db.execute(
                """
                CREATE TABLE policy_versions (
                    version INTEGER PRIMARY KEY,
                    created_at TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    comment TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    source TEXT NOT NULL
                );
                CREATE TABLE policy_active (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    version INTEGER NOT NULL REFERENCES policy_versions(version)
                );
                """)
        }
        migrator.register("audit-log") { db in
            try db.execute(
                """
                CREATE TABLE audit_log (
                    seq INTEGER PRIMARY KEY,
                    time TEXT NOT NULL,
                    principal TEXT NOT NULL,
                    action TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    decision TEXT NOT NULL,
                    grants TEXT NOT NULL,
                    policy_version INTEGER NOT NULL,
                    query_sha256 TEXT,
                    detail TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                CREATE INDEX audit_log_principal ON audit_log(principal, time);
                CREATE INDEX audit_log_time ON audit_log(time);
                """)
        }
        migrator.register("policy-bindings") { db in
            // Each version's column bindings: a grant's column name (as written) → the catalog's column id.
            try db.execute(
                """
                CREATE TABLE policy_bindings (
                    version INTEGER NOT NULL REFERENCES policy_versions(version),
                    grant_id TEXT NOT NULL,
                    table_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    column_id TEXT NOT NULL,
                    PRIMARY KEY (version, grant_id, name)) WITHOUT ROWID;
                """)
        }
        migrator.register("policy-table-bindings") { db in
            // Each version's table bindings: a grant on one table → the catalog's table id, so a renamed table keeps
            // its grants and a table created again under a dropped one's name does not inherit them.
            try db.execute(
                """
                CREATE TABLE policy_table_bindings (
                    version INTEGER NOT NULL REFERENCES policy_versions(version),
                    grant_id TEXT NOT NULL,
                    table_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    PRIMARY KEY (version, grant_id)) WITHOUT ROWID;
                CREATE TABLE policy_store_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                """)
            try Self.bindTablesOfEarlierVersions(db)
        }
        return migrator
    }

    /// The upgrade from a store whose grants named tables: each grant whose column names were bound
    /// gets its table binding from them; when some grant on one table of the active version stays
    /// unbound, `GovernanceService` binds it to the table of that name when it opens the store
    /// (`pendingTableBinding`), as a new version.
    static func bindTablesOfEarlierVersions(_ db: Database) throws {
        let active = try db.fetchValue("SELECT version FROM policy_active WHERE id = 1", as: Int.self)
        var pending = false
        for row in try db.fetchAll("SELECT version, source FROM policy_versions ORDER BY version") {
            guard let version = row.value("version", as: Int.self), let source = row.value("source", as: String.self),
                let policy = try? PolicyFile.parse(source, file: "policy version \(version)")
            else { continue }
            for grant in policy.grants {
                guard case .table(let catalog, let database, let table) = grant.resource, table != "*" else { continue }
                let bound = try db.fetchValue(
                    "SELECT table_id FROM policy_bindings WHERE version = ? AND grant_id = ? LIMIT 1", [version, grant.id], as: String.self)
                if let bound {
                    try db.execute(
                        "INSERT INTO policy_table_bindings (version, grant_id, table_id, name) VALUES (?, ?, ?, ?)",
                        [version, grant.id, bound, TableBinding.written(catalog: catalog, database: database, table: table)])
                } else if version == active {
                    pending = true
                }
            }
        }
        if pending {
            try db.execute("INSERT INTO policy_store_state (key, value) VALUES ('bind-tables', 'pending')")
        }
    }

    /// Whether the active version still has grants on tables that an upgrade left for `GovernanceService` to bind.
    public func pendingTableBinding() throws(GovernanceError) -> Bool {
        try run("read the store's state", reading: true) { db in
            try db.fetchValue("SELECT value FROM policy_store_state WHERE key = 'bind-tables'", as: String.self) == "pending"
        }
    }

    /// Records that the upgrade's table binding is done.
    func finishTableBinding() throws(GovernanceError) {
        try run("update the store's state") { db in try db.execute("DELETE FROM policy_store_state WHERE key = 'bind-tables'") }
    }

    /// Opens the policy store of `domain`.
    public init(domain: Domain) throws(GovernanceError) {
        do {
            pool = try domain.database(.governance, migrator: Self.migrator)
        } catch {
            throw GovernanceError(.store, error.description, at: .init(file: domain.path(of: .governance)))
        }
        signal = ChangeSignal.open(path: FilePath.join(domain.path, Self.signalFileName))
    }

    /// Runs `body` in one write transaction (or a read when `reading`), turning failures into store errors.
    ///
    /// A write is a policy change unless `changesPolicy` is false (the audit log's appends): it is marked in
    /// flight on the change signal once the transaction holds the store's write lock, and the signal's
    /// generation advances after the commit (or the rollback), so every process's next statement reads the
    /// active version again (`activeVersion()`).
    func run<T>(_ what: String, reading: Bool = false, changesPolicy: Bool = true, _ body: (Database) throws -> T) throws(GovernanceError)
        -> T
    {
        do {
            if reading { return try pool.read(body) }
            guard changesPolicy, let signal else { return try pool.write(body) }
            defer { signal.endChange() }
            return try pool.write { db in
                signal.beginChange()
                let result = try body(db)
                if Self.dieAfterCommit { try db.execute("COMMIT"); Self.exitNow() }
                return result
            }
        } catch let error as GovernanceError {
            throw error
        } catch {
            throw GovernanceError(.store, "cannot \(what): \(error)", at: .init(file: pool.path))
        }
    }

    /// The active policy (its table and column bindings laid on, see `Policy.binding`) and its version; nil before the first apply.
    public func active() throws(GovernanceError) -> (version: PolicyVersion, policy: Policy, source: String)? {
        let found = try run("read the active policy", reading: true) { db -> (Row, [ColumnBinding], [TableBinding])? in
            guard
                let row = try db.fetchOne(
                    """
                    SELECT v.version, v.created_at, v.created_by, v.comment, v.sha256, v.source
                    FROM policy_active a JOIN policy_versions v ON v.version = a.version
                    """)
            else { return nil }
            let version = row.value("version", as: Int.self) ?? 0
            return (row, try Self.bindings(db, version: version), try Self.tableBindings(db, version: version))
        }
        guard let (row, bindings, tables) = found else { return nil }
        let version = Self.version(row, active: true)
        let source = row.value("source", as: String.self) ?? ""
        do {
            return (version, try PolicyFile.parse(source, file: "policy version \(version.version)").binding(bindings, tables: tables), source)
        } catch {
            throw GovernanceError(.store, "the active policy (version \(version.version)) no longer parses: \(error)")
        }
    }

    /// The column bindings of one version (empty for a version that bound none).
    public func bindings(of version: Int) throws(GovernanceError) -> [ColumnBinding] {
        try run("read the column bindings of policy version \(version)", reading: true) { db in try Self.bindings(db, version: version) }
    }

    static func bindings(_ db: Database, version: Int) throws -> [ColumnBinding] {
        try db.fetchAll(
            "SELECT grant_id, table_id, name, column_id FROM policy_bindings WHERE version = ? ORDER BY grant_id, name", [version]
        ).map { row in
            ColumnBinding(
                grantID: row.value("grant_id", as: String.self) ?? "", tableID: row.value("table_id", as: String.self) ?? "",
                name: row.value("name", as: String.self) ?? "", columnID: row.value("column_id", as: String.self) ?? "")
        }
    }

    /// The table bindings of one version (empty for a version that bound none).
    public func tableBindings(of version: Int) throws(GovernanceError) -> [TableBinding] {
        try run("read the table bindings of policy version \(version)", reading: true) { db in try Self.tableBindings(db, version: version) }
    }

    static func tableBindings(_ db: Database, version: Int) throws -> [TableBinding] {
        try db.fetchAll("SELECT grant_id, table_id, name FROM policy_table_bindings WHERE version = ? ORDER BY grant_id", [version]).map { row in
            TableBinding(
                grantID: row.value("grant_id", as: String.self) ?? "", tableID: row.value("table_id", as: String.self) ?? "",
                name: row.value("name", as: String.self) ?? "")
        }
    }

    /// The number of the active version, or nil before the first apply: checked before every statement.
    ///
    /// Two ways, both exact across processes (Docs/governance.md, "Policy changes and the next statement"):
    /// - Fast, no system call: the change signal's word still equals the one read before the kept answer was
    ///   loaded, with no change in flight then. Every policy write marks the word before its commit and
    ///   advances it after (`run`), so an equal word means nothing was committed since.
    /// - Otherwise (a change since, one in flight, a writer that died between its commit and its advance, no
    ///   signal file): when nothing was committed to the store since the last read, by this process or another
    ///   (`DatabasePool.dataVersion`), the last answer stands; else the version is read again.
    public func activeVersion() throws(GovernanceError) -> Int? {
        let seen = watched.withLock { $0 }
        if let seen, let signal, let word = seen.word, signal.isUnchanged(since: word) { return seen.version }
        // Both stamps are taken before the read, so a kept answer is never older than they are.
        signal?.follow()
        let word = signal?.load()
        ChangeSignal.fence()
        let stamp: Int64
        do {
            stamp = try pool.dataVersion()
        } catch {
            throw GovernanceError(.store, "cannot read the active policy version: \(error)", at: .init(file: pool.path))
        }
        let current = word.flatMap { $0.word & 1 == 0 ? $0 : nil }
        if let seen, seen.stamp == stamp {
            watched.withLock { $0 = (stamp, current, seen.version) }
            return seen.version
        }
        let version = try run("read the active policy version", reading: true) { db in
            try db.fetchValue("SELECT version FROM policy_active WHERE id = 1", as: Int.self)
        }
        watched.withLock { $0 = (stamp, current, version) }
        return version
    }

    /// The last active version read, the store's data version just before it was read, and the change
    /// signal's word just before that (nil when a change was in flight).
    private let watched = Mutex<(stamp: Int64, word: ChangeSignal.Stamp?, version: Int?)?>(nil)

    /// Test hook (`WB_TEST_POLICY_WRITER_DIES=after-commit`): a policy write commits, then the process exits
    /// at once, before the change signal advances, as a writer killed there would.
    static let dieAfterCommit = Environment.get("WB_TEST_POLICY_WRITER_DIES") == "after-commit"

    private static func exitNow() -> Never {
        _exit(75)
    }

    /// Every version, oldest first.
    public func versions() throws(GovernanceError) -> [PolicyVersion] {
        try run("list policy versions", reading: true) { db in
            let active = try db.fetchValue("SELECT version FROM policy_active", as: Int.self)
            return try db.fetchAll("SELECT version, created_at, created_by, comment, sha256 FROM policy_versions ORDER BY version")
                .map { Self.version($0, active: $0.value("version", as: Int.self) == active) }
        }
    }

    /// The text of one version.
    public func source(of version: Int) throws(GovernanceError) -> String {
        let source = try run("read policy version \(version)", reading: true) { db in
            try db.fetchValue("SELECT source FROM policy_versions WHERE version = ?", [version], as: String.self)
        }
        guard let source else { throw GovernanceError(.unknownReference, "there is no policy version \(version)") }
        return source
    }

    /// Validates `source` and makes it the active policy as a new version, with its table and column
    /// bindings; an identical text with identical bindings changes nothing.
    ///
    /// - Returns: the active version, and whether this call created it.
    @discardableResult
    public func apply(
        _ source: String, file: String? = nil, by user: String, comment: String = "", bindings: [ColumnBinding] = [],
        tables: [TableBinding] = []
    ) throws(GovernanceError) -> (version: PolicyVersion, created: Bool) {
        _ = try PolicyFile.parse(source, file: file)
        let digest = SHA256.hash(data: Array(source.utf8)).map { String(format2: $0) }.joined()
        let bindings = bindings.sorted()
        let tables = tables.sorted()
        return try run("apply the policy") { db in
            do {
                if let current = try db.fetchOne(
                    "SELECT v.* FROM policy_active a JOIN policy_versions v ON v.version = a.version"),
                    current.value("sha256", as: String.self) == digest,
                    try Self.bindings(db, version: current.value("version", as: Int.self) ?? 0) == bindings,
                    try Self.tableBindings(db, version: current.value("version", as: Int.self) ?? 0) == tables
                {
                    return (Self.version(current, active: true), false)
                }
                let next = (try db.fetchValue("SELECT max(version) FROM policy_versions", as: Int.self) ?? 0) + 1
                let now = Clock.iso8601()
                try db.execute(
                    "INSERT INTO policy_versions (version, created_at, created_by, comment, sha256, source) VALUES (?, ?, ?, ?, ?, ?)",
                    [next, now, user, comment, digest, source])
                for binding in bindings {
                    try db.execute(
                        "INSERT INTO policy_bindings (version, grant_id, table_id, name, column_id) VALUES (?, ?, ?, ?, ?)",
                        [next, binding.grantID, binding.tableID, binding.name, binding.columnID])
                }
                for binding in tables {
                    try db.execute(
                        "INSERT INTO policy_table_bindings (version, grant_id, table_id, name) VALUES (?, ?, ?, ?)",
                        [next, binding.grantID, binding.tableID, binding.name])
                }
                try db.execute("INSERT INTO policy_active (id, version) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version", [next])
                return (
                    PolicyVersion(version: next, createdAt: now, createdBy: user, comment: comment, sha256: digest, isActive: true), true
                )
            }
        }
    }

    /// Makes an earlier version's text and table and column bindings active again, as a new version (history stays linear).
    @discardableResult
    public func rollback(to version: Int, by user: String) throws(GovernanceError) -> PolicyVersion {
        let text = try source(of: version)
        return try apply(
            text, file: "policy version \(version)", by: user, comment: "rollback to version \(version)", bindings: bindings(of: version),
            tables: tableBindings(of: version)
        ).version
    }

    static func version(_ row: Row, active: Bool) -> PolicyVersion {
        PolicyVersion(
            version: row.value("version", as: Int.self) ?? 0,
            createdAt: row.value("created_at", as: String.self) ?? "",
            createdBy: row.value("created_by", as: String.self) ?? "",
            comment: row.value("comment", as: String.self) ?? "",
            sha256: row.value("sha256", as: String.self) ?? "",
            isActive: active)
    }
}

extension String {
    /// Two lower-case hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self.init([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
