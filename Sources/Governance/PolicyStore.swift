import CoreSupport
import Crypto
import Storage

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
        return migrator
    }

    /// Opens the policy store of `domain`.
    public init(domain: Domain) throws(GovernanceError) {
        do {
            pool = try domain.database(.governance, migrator: Self.migrator)
        } catch {
            throw GovernanceError(.store, error.description, at: .init(file: domain.path(of: .governance)))
        }
    }

    /// Runs `body` in one write transaction (or a read when `reading`), turning failures into store errors.
    func run<T>(_ what: String, reading: Bool = false, _ body: (Database) throws -> T) throws(GovernanceError) -> T {
        do {
            return reading ? try pool.read(body) : try pool.write(body)
        } catch let error as GovernanceError {
            throw error
        } catch {
            throw GovernanceError(.store, "cannot \(what): \(error)", at: .init(file: pool.path))
        }
    }

    /// The active policy (its column bindings laid on, see `Policy.binding`) and its version; nil before the first apply.
    public func active() throws(GovernanceError) -> (version: PolicyVersion, policy: Policy, source: String)? {
        let found = try run("read the active policy", reading: true) { db -> (Row, [ColumnBinding])? in
            guard
                let row = try db.fetchOne(
                    """
                    SELECT v.version, v.created_at, v.created_by, v.comment, v.sha256, v.source
                    FROM policy_active a JOIN policy_versions v ON v.version = a.version
                    """)
            else { return nil }
            return (row, try Self.bindings(db, version: row.value("version", as: Int.self) ?? 0))
        }
        guard let (row, bindings) = found else { return nil }
        let version = Self.version(row, active: true)
        let source = row.value("source", as: String.self) ?? ""
        do {
            return (version, try PolicyFile.parse(source, file: "policy version \(version.version)").binding(bindings), source)
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

    /// The number of the active version, or nil before the first apply (one indexed read: checked before every statement).
    public func activeVersion() throws(GovernanceError) -> Int? {
        try run("read the active policy version", reading: true) { db in
            try db.fetchValue("SELECT version FROM policy_active WHERE id = 1", as: Int.self)
        }
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

    /// Validates `source` and makes it the active policy as a new version, with its column bindings;
    /// an identical text with identical bindings changes nothing.
    ///
    /// - Returns: the active version, and whether this call created it.
    @discardableResult
    public func apply(_ source: String, file: String? = nil, by user: String, comment: String = "", bindings: [ColumnBinding] = [])
        throws(GovernanceError) -> (version: PolicyVersion, created: Bool)
    {
        _ = try PolicyFile.parse(source, file: file)
        let digest = SHA256.hash(data: Array(source.utf8)).map { String(format2: $0) }.joined()
        let bindings = bindings.sorted()
        return try run("apply the policy") { db in
            do {
                if let current = try db.fetchOne(
                    "SELECT v.* FROM policy_active a JOIN policy_versions v ON v.version = a.version"),
                    current.value("sha256", as: String.self) == digest,
                    try Self.bindings(db, version: current.value("version", as: Int.self) ?? 0) == bindings
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
                try db.execute("INSERT INTO policy_active (id, version) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET version = excluded.version", [next])
                return (
                    PolicyVersion(version: next, createdAt: now, createdBy: user, comment: comment, sha256: digest, isActive: true), true
                )
            }
        }
    }

    /// Makes an earlier version's text and column bindings active again, as a new version (history stays linear).
    @discardableResult
    public func rollback(to version: Int, by user: String) throws(GovernanceError) -> PolicyVersion {
        let text = try source(of: version)
        return try apply(
            text, file: "policy version \(version)", by: user, comment: "rollback to version \(version)", bindings: bindings(of: version)
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
