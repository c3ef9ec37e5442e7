import CoreSupport
import Crypto
import Dispatch
import Storage
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One audited decision.
///
/// The two costly fields are made when they are first read, which is in the audit log's background
/// writer for the records a query queues: the time's ISO 8601 text (taken from the clock at once) and
/// the SHA-256 of the query text. A query's critical path pays neither.
public struct AuditRecord: Sendable, Equatable {
    /// When the decision was made, as ISO 8601 UTC text.
    public var time: String {
        get {
            switch moment {
            case .text(let text): text
            case .seconds(let seconds): Clock.iso8601(seconds)
            }
        }
        set { moment = .text(newValue) }
    }
    /// `user:alice`.
    public var principal: String
    /// `SELECT`, `lakehouse:import`, `policy:apply`, ...
    public var action: String
    /// `main.sales.orders`, a plugin action, or `policy`.
    public var resource: String
    public var allowed: Bool
    /// The deciding grant ids.
    public var grants: [String]
    public var policyVersion: Int
    /// SHA-256 of the query text, for queries (the text itself is not kept in the log).
    public var querySHA256: String? {
        get {
            switch query {
            case .none: nil
            case .text(let text): AuditLog.hex(SHA256.hash(data: Array(text.utf8)))
            case .digest(let digest): digest
            }
        }
        set { query = newValue.map(QueryText.digest) ?? .none }
    }
    /// A short free-form note (the decision's reason).
    public var detail: String

    private enum Moment: Sendable {
        case seconds(Double)
        case text(String)
    }

    private enum QueryText: Sendable {
        case none
        /// Hashed when first read.
        case text(String)
        case digest(String)
    }

    private var moment: Moment
    private var query: QueryText

    /// A record of a decision made now (or at `time`, ISO 8601), with the query it was made for, if any.
    public init(
        time: String? = nil, principal: String, action: String, resource: String, allowed: Bool, grants: [String],
        policyVersion: Int, query: String? = nil, detail: String = ""
    ) {
        self.moment = time.map(Moment.text) ?? .seconds(Clock.now())
        self.principal = principal
        self.action = action
        self.resource = resource
        self.allowed = allowed
        self.grants = grants
        self.policyVersion = policyVersion
        self.query = query.map(QueryText.text) ?? .none
        self.detail = detail
    }

    /// The same decision made again now: this record with the current time.
    public func madeAgain() -> AuditRecord {
        var record = self
        record.moment = .seconds(Clock.now())
        return record
    }

    /// The record with its time text and query hash made (the writer calls it before hashing the record into the chain).
    func settled() -> AuditRecord {
        var record = self
        if case .seconds = moment { record.moment = .text(time) }
        if case .text = query { record.query = querySHA256.map(QueryText.digest) ?? .none }
        return record
    }

    public static func == (a: AuditRecord, b: AuditRecord) -> Bool {
        a.time == b.time && a.principal == b.principal && a.action == b.action && a.resource == b.resource && a.allowed == b.allowed
            && a.grants == b.grants && a.policyVersion == b.policyVersion && a.querySHA256 == b.querySHA256 && a.detail == b.detail
    }

    /// `chainText`'s bytes: the same text as `json.serialized()`, written straight into bytes (no JSON value, no
    /// dictionary), as the background writer hashes every record. `grantsText` is the `grants` array alone
    /// (the column `audit_log.grants` holds it).
    func chainJSON() -> (text: [UInt8], grantsText: [UInt8]) {
        var grantsText: [UInt8] = []
        grantsText.reserveCapacity(2 + grants.count * 16)
        grantsText.append(UInt8(ascii: "["))
        for (n, grant) in grants.enumerated() {
            if n > 0 { grantsText.append(UInt8(ascii: ",")) }
            JSON.appendQuoted(grant, to: &grantsText)
        }
        grantsText.append(UInt8(ascii: "]"))
        var out: [UInt8] = []
        out.reserveCapacity(192 + grantsText.count + detail.utf8.count + resource.utf8.count)
        func key(_ name: StaticString) {
            name.withUTF8Buffer { out.append(contentsOf: $0) }
        }
        key("{\"time\":")
        JSON.appendQuoted(time, to: &out)
        key(",\"principal\":")
        JSON.appendQuoted(principal, to: &out)
        key(",\"action\":")
        JSON.appendQuoted(action, to: &out)
        key(",\"resource\":")
        JSON.appendQuoted(resource, to: &out)
        key(allowed ? ",\"decision\":\"allow\"" : ",\"decision\":\"deny\"")
        key(",\"grants\":")
        out.append(contentsOf: grantsText)
        key(",\"policy_version\":")
        out.append(contentsOf: String(policyVersion).utf8)
        key(",\"query_sha256\":")
        if let digest = querySHA256 { JSON.appendQuoted(digest, to: &out) } else { key("null") }
        key(",\"detail\":")
        JSON.appendQuoted(detail, to: &out)
        out.append(UInt8(ascii: "}"))
        return (out, grantsText)
    }

    /// The record as the JSON object that is hashed into the chain and printed by `wb audit search --json`.
    public var json: JSON {
        .object([
            "time": .string(time), "principal": .string(principal), "action": .string(action), "resource": .string(resource),
            "decision": .string(allowed ? "allow" : "deny"), "grants": .array(grants.map(JSON.string)),
            "policy_version": .int(policyVersion), "query_sha256": querySHA256.map(JSON.string) ?? .null, "detail": .string(detail),
        ])
    }
}

/// A stored audit record with its place in the chain.
public struct StoredAuditRecord: Sendable, Equatable {
    public var sequence: Int
    public var record: AuditRecord
    public var hash: String
}

/// The result of `wb audit verify`.
public struct AuditVerification: Sendable, Equatable {
    public var records: Int
    /// Nil when the chain and its head are intact; else what is wrong and where.
    public var problem: String?
    public var isIntact: Bool { problem == nil }

    public init(records: Int, problem: String?) {
        self.records = records
        self.problem = problem
    }
}

/// The append-only, hash-chained audit log.
///
/// Each record's hash covers the previous record's hash and its own fields, so
/// changing, removing or reordering a record breaks the chain. The chain head
/// (last sequence number and hash) is also written to a file outside the
/// database, so a cut-off tail, or a recomputed chain, no longer matches it.
/// Records are buffered and written in batches on a background queue, off the
/// caller's critical path; `flush()` waits for them.
public final class AuditLog: Sendable {
    /// The hash before the first record.
    public static let genesis = String(repeating: "0", count: 64)

    private let store: PolicyStore
    /// Where the chain head is kept, outside the database.
    public let headPath: String
    private let buffer = Mutex<(records: [AuditRecord], scheduled: Bool, error: GovernanceError?)>(([], false, nil))
    private let queue = DispatchQueue(label: "wb.governance.audit")
    private let batchSize: Int

    /// Opens the audit log of the domain behind `store`, with its chain head in `headPath`.
    ///
    /// Whatever is still queued when the process exits normally is written by an exit handler,
    /// so a command that returns right after a decision loses no record.
    public init(store: PolicyStore, headPath: String, batchSize: Int = 256) {
        self.store = store
        self.headPath = headPath
        self.batchSize = batchSize
        AuditLog.registerForExit(self)
    }

    private final class WeakLog: Sendable {
        weak let log: AuditLog?
        init(_ log: AuditLog) { self.log = log }
    }

    private static let openLogs = Mutex<(logs: [WeakLog], installed: Bool)>(([], false))

    private static func registerForExit(_ log: AuditLog) {
        let install = openLogs.withLock { state -> Bool in
            state.logs.removeAll { $0.log == nil }
            state.logs.append(WeakLog(log))
            defer { state.installed = true }
            return !state.installed
        }
        if install {
            atexit {
                for entry in AuditLog.openLogs.withLock({ $0.logs }) { try? entry.log?.flush() }
            }
        }
    }

    /// Queues a record; it is written within a few milliseconds, or at the next `flush()`.
    public func append(_ record: AuditRecord) {
        let schedule: Bool = buffer.withLock { state in
            state.records.append(record)
            if state.scheduled { return false }
            state.scheduled = true
            return true
        }
        if schedule {
            queue.asyncAfter(deadline: .now() + .milliseconds(20)) { [self] in
                buffer.withLock { $0.scheduled = false }
                writePending()
            }
        }
    }

    /// Writes every queued record; throws the first error a background write met.
    public func flush() throws(GovernanceError) {
        queue.sync { writePending() }
        if let error = buffer.withLock({ state -> GovernanceError? in
            defer { state.error = nil }
            return state.error
        }) {
            throw error
        }
    }

    /// Writes what is queued, in batches (on `queue` only).
    ///
    /// The queue is taken whole, so the lock a query's `append` takes is never held while records are
    /// copied (a backlog of thousands of records used to be shifted down after every batch under it).
    private func writePending() {
        while true {
            let pending: [AuditRecord] = buffer.withLock { state in
                var taken: [AuditRecord] = []
                swap(&taken, &state.records)
                return taken
            }
            guard !pending.isEmpty else { return }
            var start = 0
            while start < pending.count {
                let end = min(start + batchSize, pending.count)
                do {
                    try write(pending[start..<end])
                } catch {
                    buffer.withLock { state in
                        state.records.insert(contentsOf: pending[start...], at: 0)
                        if state.error == nil { state.error = error }
                    }
                    return
                }
                start = end
            }
        }
    }

    private func write(_ batch: ArraySlice<AuditRecord>) throws(GovernanceError) {
        let head = try store.run("write the audit log", changesPolicy: false) { db -> (Int, String) in
            let last = try db.fetchOne("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            var seq = last?.value("seq", as: Int.self) ?? 0
            var previous = last?.value("hash", as: String.self) ?? Self.genesis
            let insert = try db.cachedStatement(
                """
                INSERT INTO audit_log (seq, time, principal, action, resource, decision, grants, policy_version,
                    query_sha256, detail, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for pending in batch {
                let record = pending.settled()
                seq += 1
                let chain = record.chainJSON()
                let hash = Self.chainHash(previous: previous, sequence: seq, json: chain.text)
                try insert.execute([
                    seq, record.time, record.principal, record.action, record.resource, record.allowed ? "allow" : "deny",
                    String(decoding: chain.grantsText, as: UTF8.self), record.policyVersion, record.querySHA256,
                    record.detail, previous, hash,
                ])
                previous = hash
            }
            return (seq, previous)
        }
        do {
            try AtomicFile.write(JSON.object(["seq": .int(head.0), "hash": .string(head.1)]).serialized() + "\n", to: headPath, mode: 0o600)
        } catch {
            throw GovernanceError(.store, "cannot write the audit chain head: \(error)", at: .init(file: headPath))
        }
    }

    /// The hash of a record in the chain: SHA-256 of `previous`, the sequence number and the record's JSON
    /// (`json.serialized()`), one per line.
    static func chainHash(previous: String, sequence: Int, record: AuditRecord) -> String {
        chainHash(previous: previous, sequence: sequence, json: record.chainJSON().text)
    }

    /// The same hash from the record's JSON text already made (`AuditRecord.chainJSON()`).
    static func chainHash(previous: String, sequence: Int, json: [UInt8]) -> String {
        var hasher = SHA256()
        var head: [UInt8] = Array(previous.utf8)
        head.append(0x0A)
        head.append(contentsOf: String(sequence).utf8)
        head.append(0x0A)
        hasher.update(data: head)
        hasher.update(data: json)
        return hex(hasher.finalize())
    }

    /// The digest in lowercase hex (one allocation: it runs for every audited statement).
    static func hex(_ digest: SHA256.Digest) -> String {
        let digits: StaticString = "0123456789abcdef"
        return digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                digits.withUTF8Buffer { digits in
                    for (i, byte) in bytes.enumerated() {
                        out[2 * i] = digits[Int(byte >> 4)]
                        out[2 * i + 1] = digits[Int(byte & 0xF)]
                    }
                }
                return bytes.count * 2
            }
        }
    }

    /// Records matching the filters, oldest first.
    public func search(
        principal: String? = nil, action: String? = nil, resource: String? = nil, decision: Bool? = nil, since: String? = nil,
        limit: Int = 1000
    ) throws(GovernanceError) -> [StoredAuditRecord] {
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        if let principal { conditions.append("principal = ?"); arguments.append(.text(principal)) }
        if let action { conditions.append("action = ?"); arguments.append(.text(action)) }
        if let resource { conditions.append("resource = ?"); arguments.append(.text(resource)) }
        if let decision { conditions.append("decision = ?"); arguments.append(.text(decision ? "allow" : "deny")) }
        if let since { conditions.append("time >= ?"); arguments.append(.text(since)) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(.integer(Int64(limit)))
        return try store.run("search the audit log", reading: true) { db in
            try db.fetchAll("SELECT * FROM audit_log \(whereClause) ORDER BY seq LIMIT ?", StatementArguments(arguments)).map(Self.stored)
        }
    }

    static func stored(_ row: Row) -> StoredAuditRecord {
        let grantsText = row.value("grants", as: String.self) ?? "[]"
        let grants: [String] =
            if case .array(let items)? = try? JSON.parse(grantsText) {
                items.compactMap { if case .string(let s) = $0 { s } else { nil } }
            } else { [] }
        var record = AuditRecord(
            time: row.value("time", as: String.self) ?? "", principal: row.value("principal", as: String.self) ?? "",
            action: row.value("action", as: String.self) ?? "", resource: row.value("resource", as: String.self) ?? "",
            allowed: row.value("decision", as: String.self) == "allow", grants: grants,
            policyVersion: row.value("policy_version", as: Int.self) ?? 0, detail: row.value("detail", as: String.self) ?? "")
        record.querySHA256 = row.value("query_sha256", as: String.self)
        return StoredAuditRecord(sequence: row.value("seq", as: Int.self) ?? 0, record: record, hash: row.value("hash", as: String.self) ?? "")
    }

    /// Recomputes the whole chain and compares its end with the head file.
    public func verify() throws(GovernanceError) -> AuditVerification {
        try flush()
        let result: AuditVerification = try store.run("verify the audit log", reading: true) { db in
            var previous = Self.genesis
            var expectedSeq = 1
            var count = 0
            var problem: String?
            try db.forEachRow("SELECT * FROM audit_log ORDER BY seq") { row in
                guard problem == nil else { return }
                let stored = Self.stored(row)
                let prev = row.value("prev_hash", as: String.self) ?? ""
                if stored.sequence != expectedSeq {
                    problem = "record \(expectedSeq) is missing (the next one is \(stored.sequence))"
                } else if prev != previous {
                    problem = "record \(stored.sequence) does not follow record \(stored.sequence - 1) (its previous hash differs)"
                } else if Self.chainHash(previous: previous, sequence: stored.sequence, record: stored.record) != stored.hash {
                    problem = "record \(stored.sequence) was changed after it was written (its hash does not match its content)"
                }
                previous = stored.hash
                expectedSeq += 1
                count += 1
            }
            return AuditVerification(records: count, problem: problem)
        }
        guard result.isIntact else { return result }
        let headText: String
        do {
            headText = try FileIO.readText(headPath)
        } catch {
            if result.records == 0 { return result }
            return AuditVerification(records: result.records, problem: "the chain head file \(headPath) is missing: \(error)")
        }
        guard case .object(let head)? = try? JSON.parse(headText), case .int(let seq)? = head["seq"],
            case .string(let hash)? = head["hash"]
        else {
            return AuditVerification(records: result.records, problem: "the chain head file \(headPath) is unreadable")
        }
        let last = try search(limit: Int.max).last
        if seq > result.records {
            return AuditVerification(
                records: result.records, problem: "the log ends at record \(result.records) but the head says \(seq): its tail was cut off")
        }
        if seq < result.records {
            return AuditVerification(
                records: result.records, problem: "the log has \(result.records) records but the head says \(seq): records were added outside Workbench")
        }
        if let last, last.hash != hash {
            return AuditVerification(
                records: result.records, problem: "the last record's hash differs from the head's: the chain was recomputed or replaced")
        }
        return result
    }
}
