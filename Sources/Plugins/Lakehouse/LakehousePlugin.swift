import Catalog
public import CoreSupport
import Governance
public import PluginBus
public import Storage

/// The lakehouse on the bus: SQL, the catalog and table maintenance as typed requests.
///
/// Registration is the one line `try bus.register(LakehousePlugin(lakehouse, events: bus.publisher))`.
public final class LakehousePlugin: Plugin {
    /// The bus namespace of the lakehouse's actions.
    public static let namespace = "lakehouse"
    public static let query = Action(namespace, "query")
    public static let importData = Action(namespace, "import")

    public var namespace: String { "lakehouse" }
    /// The lakehouse the requests run on.
    public let lakehouse: Lakehouse
    private let events: EventPublisher

    public init(_ lakehouse: Lakehouse, events: EventPublisher) {
        self.lakehouse = lakehouse
        self.events = events
    }

    public var actions: [ActionRegistration] {
        [
            .handle(LakehouseQuery.self) { request, context in
                var asOf: AsOf?
                if let text = request.asOf {
                    guard let parsed = AsOf(parsing: text) else {
                        throw LakehouseError(.invalidInput, "--as-of takes a snapshot id or an ISO 8601 time such as 2026-11-25T07:00:00Z, not '\(text)'")
                    }
                    asOf = parsed
                }
                let result = try await self.lakehouse.query(
                    request.sql, context: QueryContext(principal: context.principal, asOf: asOf, timeout: request.timeoutSeconds),
                    limit: request.limit)
                for snapshot in result.outcome.snapshots {
                    self.events.publish(SnapshotCommitted(snapshot), by: context.principal)
                }
                return LakehouseQueryResult(result)
            },
            .handle(LakehouseCatalogList.self) { request, context in
                let visibility = self.visibility(context)
                return CatalogDocument(try self.catalogRead { try CatalogDocuments.list(request.database, access: $0, visibility: visibility) })
            },
            .handle(LakehouseDescribe.self) { request, context in
                let visibility = self.visibility(context)
                return CatalogDocument(try self.catalogRead {
                    try CatalogDocuments.describe(request.name, includingExpired: request.includingExpired, access: $0, visibility: visibility)
                })
            },
            .handle(LakehouseSearch.self) { request, context in
                let visibility = self.visibility(context)
                return CatalogDocument(try self.catalogRead { access in
                    let hits = try access.search(request.text).filter { hit in
                        try visibility.map { try CatalogDocuments.isVisible(hit, access: access, visibility: $0) } ?? true
                    }
                    return .object(["query": .string(request.text), "hits": .array(hits.map(CatalogDocuments.hit))])
                })
            },
            .handle(LakehouseAnnotate.self) { request, context in
                let visibility = self.visibility(context)
                return CatalogDocument(try self.catalogWrite { try CatalogDocuments.annotate(request, access: $0, visibility: visibility) })
            },
            .handle(LakehouseExpire.self) { request, context in
                let outcome = try await self.blocking { cancellation in
                    try self.lakehouse.expireSnapshots(
                        of: TableName(parsing: request.table), policy: RetentionPolicy(olderThan: request.olderThanSeconds, keepLast: request.keepLast),
                        context: QueryContext(principal: context.principal, cancellation: cancellation))
                }
                return CatalogDocument(outcome.jsonValue)
            },
            .handle(LakehouseCompact.self) { request, context in
                let outcome = try await self.blocking { cancellation in
                    try self.lakehouse.compact(
                        TableName(parsing: request.table), context: QueryContext(principal: context.principal, cancellation: cancellation))
                }
                if let snapshot = outcome.snapshot { self.events.publish(SnapshotCommitted(snapshot), by: context.principal) }
                return CatalogDocument(outcome.jsonValue)
            },
            .handle(LakehouseImport.self) { request, context in
                let table = try TableName(parsing: request.table)
                let options = try request.options()
                let events = self.events
                let summary = try await self.blocking { cancellation in
                    var last = -1.0
                    return try Importer.run(
                        path: request.path, into: table, options: options, lakehouse: self.lakehouse,
                        context: QueryContext(principal: context.principal, cancellation: cancellation)
                    ) { step in
                        // A few events a second: enough for a progress line, never a flood.
                        let now = Clock.monotonic()
                        guard now - last >= 0.2 else { return }
                        last = now
                        events.publish(
                            ImportProgressed(
                                requestID: context.requestID, bytesRead: Int(step.bytesRead), totalBytes: step.totalBytes.map(Int.init),
                                rowsImported: step.rowsImported), by: context.principal)
                    }
                }
                events.publish(SnapshotCommitted(summary.snapshot), by: context.principal)
                return LakehouseImportResult(summary)
            },
            .handle(LakehouseExport.self) { request, context in
                let table = try TableName(parsing: request.table)
                let format: ExportFormat
                if let name = request.format {
                    guard let known = ExportFormat(rawValue: name) else {
                        throw LakehouseError(.invalidInput, "the export format must be csv or jsonl, not '\(name)'")
                    }
                    format = known
                } else {
                    guard let guessed = ExportFormat.guess(path: request.path) else {
                        throw LakehouseError(.invalidInput, "cannot tell the format from '\(request.path)'; name it .csv or .jsonl, or give the format")
                    }
                    format = guessed
                }
                return try await self.blocking { cancellation in
                    try TableExporter.export(
                        table, to: request.path, format: format, lakehouse: self.lakehouse,
                        context: QueryContext(principal: context.principal, cancellation: cancellation))
                }
            },
            .handle(LakehouseRegisterSource.self) { request, context in
                let database = try await self.blocking { _ in
                    switch request.format {
                    case .sqlite:
                        try self.lakehouse.registerSQLiteSource(name: request.name, path: request.path, context: QueryContext(principal: context.principal))
                    case .csv:
                        try self.lakehouse.registerCSVSource(name: request.name, directory: request.path, context: QueryContext(principal: context.principal))
                    }
                }
                return CatalogDocument(try self.catalogRead { try CatalogDocuments.describe(database.name, includingExpired: false, access: $0) })
            },
        ]
    }

    /// Runs lakehouse work off the cooperative pool; cancelling the task stops that work (and no other).
    private func blocking<T: Sendable>(_ work: @escaping @Sendable (QueryCancellation) throws -> T) async throws -> T {
        let cancellation = QueryCancellation()
        return try await offThread(interrupt: { cancellation.cancel() }) { try work(cancellation) }
    }

    /// What the caller may see of the catalog, when the lakehouse is governed.
    private func visibility(_ context: RequestContext) -> CatalogVisibility? {
        CatalogVisibility(lakehouse.governance, principal: context.principal)
    }

    private func catalogRead(_ body: @escaping @Sendable (CatalogAccess) throws -> JSON) throws -> JSON {
        do { return try lakehouse.catalog.read(body) } catch { throw LakehouseError.wrap(error) }
    }

    private func catalogWrite(_ body: @escaping @Sendable (CatalogAccess) throws -> JSON) throws -> JSON {
        do { return try lakehouse.catalog.write(body) } catch { throw LakehouseError.wrap(error) }
    }
}

// MARK: Requests

/// Runs SQL through the gate: `lakehouse.query`.
public struct LakehouseQuery: BusRequest {
    public typealias Response = LakehouseQueryResult
    public static let action = LakehousePlugin.query
    public static let permission: Permission = "lakehouse:query"

    public var sql: String
    /// A snapshot id or ISO 8601 time to read every table at (reads only).
    public var asOf: String?
    /// The most rows to return (reading stops there); nil for all.
    public var limit: Int?
    public var timeoutSeconds: Double?

    public init(sql: String, asOf: String? = nil, limit: Int? = nil, timeoutSeconds: Double? = nil) {
        self.sql = sql
        self.asOf = asOf
        self.limit = limit
        self.timeoutSeconds = timeoutSeconds
    }

    public init(json: JSON) throws {
        sql = try json.required("sql", \.stringValue)
        asOf = json["as_of"]?.stringValue
        limit = json["limit"]?.intValue
        timeoutSeconds = json["timeout_seconds"]?.doubleValue
    }

    public var jsonValue: JSON {
        var object: JSONObject = ["sql": .string(sql)]
        if let asOf { object["as_of"] = .string(asOf) }
        if let limit { object["limit"] = .int(limit) }
        if let timeoutSeconds { object["timeout_seconds"] = .double(timeoutSeconds) }
        return .object(object)
    }
}

/// Rows and effects of `lakehouse.query`.
public struct LakehouseQueryResult: BusMessage, Equatable {
    public var columns: [String]
    public var rows: [[DatabaseValue]]
    /// More rows were there than the limit returned.
    public var truncated: Bool
    public var changes: Int
    public var snapshots: [CommittedSnapshot]
    public var messages: [String]

    public init(_ result: QueryResult) {
        columns = result.columns
        rows = result.rows
        truncated = result.truncated
        changes = result.outcome.changes
        snapshots = result.outcome.snapshots
        messages = result.outcome.messages
    }

    public init(json: JSON) throws {
        columns = (json["columns"]?.arrayValue ?? []).compactMap(\.stringValue)
        rows = (json["rows"]?.arrayValue ?? []).map { ($0.arrayValue ?? []).map(DatabaseValue.init(json:)) }
        truncated = json["truncated"]?.boolValue ?? false
        changes = json["changes"]?.intValue ?? 0
        snapshots = (json["snapshots"]?.arrayValue ?? []).map {
            CommittedSnapshot(
                table: $0["table"]?.stringValue ?? "", snapshotID: Int64($0["snapshot_id"]?.intValue ?? 0),
                operation: $0["operation"]?.stringValue ?? "", summary: $0["summary"] ?? [:])
        }
        messages = (json["messages"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    public var jsonValue: JSON {
        [
            "columns": .array(columns.map(JSON.string)), "rows": .array(rows.map { .array($0.map(\.jsonValue)) }),
            "row_count": .int(rows.count), "truncated": .bool(truncated), "changes": .int(changes),
            "snapshots": .array(snapshots.map(\.jsonValue)), "messages": .array(messages.map(JSON.string)),
        ]
    }
}

/// Lists databases, or the tables of one: `lakehouse.catalog.list`.
public struct LakehouseCatalogList: BusRequest {
    public typealias Response = CatalogDocument
    public static let action = Action(LakehousePlugin.namespace, "catalog.list")
    public static let permission: Permission = "lakehouse:catalog-read"

    public var database: String?
    public init(database: String? = nil) { self.database = database }
    public init(json: JSON) { database = json["database"]?.stringValue }
    public var jsonValue: JSON { database.map { ["database": .string($0)] } ?? [:] }
}

/// Describes a database or a table (columns, tags, snapshots): `lakehouse.describe`.
public struct LakehouseDescribe: BusRequest {
    public typealias Response = CatalogDocument
    public static let action = Action(LakehousePlugin.namespace, "describe")
    public static let permission: Permission = "lakehouse:catalog-read"

    /// `db` or `db.table`.
    public var name: String
    public var includingExpired: Bool
    public init(name: String, includingExpired: Bool = false) {
        self.name = name
        self.includingExpired = includingExpired
    }
    public init(json: JSON) throws {
        name = try json.required("name", \.stringValue)
        includingExpired = json["including_expired"]?.boolValue ?? false
    }
    public var jsonValue: JSON { ["name": .string(name), "including_expired": .bool(includingExpired)] }
}

/// Searches names, comments and tags: `lakehouse.catalog.search`.
public struct LakehouseSearch: BusRequest {
    public typealias Response = CatalogDocument
    public static let action = Action(LakehousePlugin.namespace, "catalog.search")
    public static let permission: Permission = "lakehouse:catalog-read"

    public var text: String
    public init(text: String) { self.text = text }
    public init(json: JSON) throws { text = try json.required("text", \.stringValue) }
    public var jsonValue: JSON { ["text": .string(text)] }
}

/// Sets or removes tags and the comment of a database, table or column: `lakehouse.catalog.annotate`.
public struct LakehouseAnnotate: BusRequest {
    public typealias Response = CatalogDocument
    public static let action = Action(LakehousePlugin.namespace, "catalog.annotate")
    public static let permission: Permission = "lakehouse:catalog-write"

    /// `db`, `db.table` or `db.table.column`.
    public var name: String
    public var setTags: [String: String]
    public var removeTags: [String]
    /// A new comment; an empty string removes it; nil leaves it.
    public var comment: String?

    public init(name: String, setTags: [String: String] = [:], removeTags: [String] = [], comment: String? = nil) {
        self.name = name
        self.setTags = setTags
        self.removeTags = removeTags
        self.comment = comment
    }
    public init(json: JSON) throws {
        name = try json.required("name", \.stringValue)
        var tags: [String: String] = [:]
        for (key, value) in json["set_tags"]?.objectValue ?? [:] { tags[key] = value.stringValue ?? "" }
        setTags = tags
        removeTags = (json["remove_tags"]?.arrayValue ?? []).compactMap(\.stringValue)
        comment = json["comment"]?.stringValue
    }
    public var jsonValue: JSON {
        var object: JSONObject = [
            "name": .string(name), "set_tags": .object(JSONObject(setTags.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) })),
            "remove_tags": .array(removeTags.map(JSON.string)),
        ]
        if let comment { object["comment"] = .string(comment) }
        return .object(object)
    }
}

/// Expires snapshots: `lakehouse.expire`.
public struct LakehouseExpire: BusRequest {
    public typealias Response = CatalogDocument
    public static let action = Action(LakehousePlugin.namespace, "expire")
    public static let permission: Permission = "lakehouse:maintain"

    public var table: String
    public var olderThanSeconds: Double?
    public var keepLast: Int?
    public init(table: String, olderThanSeconds: Double? = nil, keepLast: Int? = nil) {
        self.table = table
        self.olderThanSeconds = olderThanSeconds
        self.keepLast = keepLast
    }
    public init(json: JSON) throws {
        table = try json.required("table", \.stringValue)
        olderThanSeconds = json["older_than_seconds"]?.doubleValue
        keepLast = json["keep_last"]?.intValue
    }
    public var jsonValue: JSON {
        var object: JSONObject = ["table": .string(table)]
        if let olderThanSeconds { object["older_than_seconds"] = .double(olderThanSeconds) }
        if let keepLast { object["keep_last"] = .int(keepLast) }
        return .object(object)
    }
}

/// Compacts a table: `lakehouse.compact`.
public struct LakehouseCompact: BusRequest {
    public typealias Response = CatalogDocument
    public static let action = Action(LakehousePlugin.namespace, "compact")
    public static let permission: Permission = "lakehouse:maintain"

    public var table: String
    public init(table: String) { self.table = table }
    public init(json: JSON) throws { table = try json.required("table", \.stringValue) }
    public var jsonValue: JSON { ["table": .string(table)] }
}

/// Registers a federated read-only source, an SQLite file or a directory of CSV files: `lakehouse.sources.register`.
public struct LakehouseRegisterSource: BusRequest {
    public typealias Response = CatalogDocument
    public static let action = Action(LakehousePlugin.namespace, "sources.register")
    public static let permission: Permission = "lakehouse:admin"

    /// What a source is.
    public enum Format: String, Sendable {
        /// An SQLite file: its tables.
        case sqlite
        /// A directory: each CSV/TSV file in it is a table.
        case csv
    }

    public var name: String
    /// The SQLite file, or the directory of CSV files (absolute).
    public var path: String
    public var format: Format
    public init(name: String, path: String, format: Format = .sqlite) {
        self.name = name
        self.path = path
        self.format = format
    }
    public init(json: JSON) throws {
        name = try json.required("name", \.stringValue)
        path = try json.required("path", \.stringValue)
        let text = json["format"]?.stringValue ?? Format.sqlite.rawValue
        guard let format = Format(rawValue: text) else {
            throw BusError(.invalidPayload, "the field 'format' must be sqlite or csv, not '\(text)'")
        }
        self.format = format
    }
    public var jsonValue: JSON { ["name": .string(name), "path": .string(path), "format": .string(format.rawValue)] }
}

/// A catalog answer as a JSON document (listings, descriptions, search hits, maintenance reports).
public struct CatalogDocument: BusMessage, Equatable {
    public var json: JSON
    public init(_ json: JSON) { self.json = json }
    public init(json: JSON) { self.json = json }
    public var jsonValue: JSON { json }
}

/// Published after a commit made a snapshot: `lakehouse.committed`.
public struct SnapshotCommitted: BusEvent, Equatable {
    public static let topic = Action(LakehousePlugin.namespace, "committed")
    public var snapshot: CommittedSnapshot
    public init(_ snapshot: CommittedSnapshot) { self.snapshot = snapshot }
    public init(json: JSON) {
        snapshot = CommittedSnapshot(
            table: json["table"]?.stringValue ?? "", snapshotID: Int64(json["snapshot_id"]?.intValue ?? 0),
            operation: json["operation"]?.stringValue ?? "", summary: json["summary"] ?? [:])
    }
    public var jsonValue: JSON { snapshot.jsonValue }
}

extension DatabaseValue {
    /// The value as JSON: null, integer, double, string, or `{"blob": "<hex>"}`.
    public var jsonValue: JSON {
        switch self {
        case .null: .null
        case .integer(let v): .int(Int(v))
        case .real(let d): .double(d)
        case .text(let s): .string(s)
        case .blob(let b): ["blob": .string(Identifier.hexString(b))]
        }
    }

    /// Reads a value written by `jsonValue`.
    public init(json: JSON) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .integer(b ? 1 : 0)
        case .int(let i): self = .integer(Int64(i))
        case .bigInt(let s): self = .text(s)
        case .double(let d): self = .real(d)
        case .string(let s): self = .text(s)
        case .object(let o):
            let hex = Array((o["blob"]?.stringValue ?? "").utf8)
            var bytes: [UInt8] = []
            var i = 0
            func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
            while i + 1 < hex.count {
                bytes.append(nibble(hex[i]) << 4 | nibble(hex[i + 1]))
                i += 2
            }
            self = .blob(bytes)
        case .array: self = .text(json.serialized())
        }
    }
}

// MARK: What each action needs on catalog objects

extension LakehousePlugin {
    /// What a lakehouse action needs on a catalog object besides the action itself, as its request checks it.
    public enum ObjectRequirement: Sendable, Equatable {
        /// This data permission on the object.
        case permission(DataPermission)
        /// Any data permission on the object (seeing it in `wb catalog`).
        case anyPermission
    }

    /// The kind of catalog object an action is asked about.
    public enum ObjectKind: Sendable, Equatable {
        case catalog, database, table
        /// A table that does not exist (yet): what creating it needs, on its database.
        case newTable
    }

    /// What `action` (`lakehouse:import`, ...) needs on an object of `kind`; nil when the action does not act on such objects.
    ///
    /// Queries read (SELECT); imports append to a table (INSERT) or create one (CREATE_TABLE on its
    /// database); exports read (SELECT); catalog reads need any permission, catalog writes ASSIGN_TAG
    /// (tags; a comment needs ALTER); maintenance ALTER; registering sources CREATE_DATABASE on a catalog.
    public static func requirement(of action: String, on kind: ObjectKind) -> ObjectRequirement? {
        switch (action, kind) {
        case (LakehouseQuery.permission.name, .table), (LakehouseExport.permission.name, .table): .permission(.select)
        case (LakehouseImport.permission.name, .table): .permission(.insert)
        case (LakehouseImport.permission.name, .newTable): .permission(.createTable)
        case (LakehouseDescribe.permission.name, .table), (LakehouseDescribe.permission.name, .database): .anyPermission
        case (LakehouseAnnotate.permission.name, .table), (LakehouseAnnotate.permission.name, .database): .permission(.assignTag)
        case (LakehouseCompact.permission.name, .table): .permission(.alter)
        case (LakehouseRegisterSource.permission.name, .catalog): .permission(.createDatabase)
        default: nil
        }
    }
}
