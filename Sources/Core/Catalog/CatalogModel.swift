public import CoreSupport
public import Storage

/// What kind of catalog: the managed lakehouse, or a federated read-only source.
public enum CatalogKind: String, Sendable, Hashable, CaseIterable {
    /// Tables stored and versioned by the lakehouse.
    case managed
    /// An external SQLite file, read in place, never written.
    case sqlite
    /// A directory of CSV and TSV files, one table per file, read in place, never written.
    case csv
}

/// The kind of object a tag or search hit is attached to.
public enum CatalogObjectKind: String, Sendable, Hashable, CaseIterable {
    case catalog, database, table, column
}

/// A catalog: the top of the hierarchy (catalogs > databases > tables > columns).
public struct CatalogInfo: Sendable, Equatable {
    /// Stable id, never reused.
    public var id: Int64
    public var name: String
    public var kind: CatalogKind
    /// Where a federated catalog's data is (a file or directory path); nil for the managed catalog.
    public var location: String?
    public var comment: String?
    /// The principal that created it (`user:alice`).
    public var owner: String
    /// ISO 8601 UTC.
    public var createdAt: String
    public var updatedAt: String
}

/// A database: a namespace of tables. Its name is unique across catalogs, so `db.table` names one table.
public struct DatabaseInfo: Sendable, Equatable {
    public var id: Int64
    public var catalogID: Int64
    public var catalogName: String
    public var catalogKind: CatalogKind
    public var name: String
    public var comment: String?
    public var owner: String
    public var tags: [String: String]
    public var createdAt: String
    public var updatedAt: String
}

/// Whether a table's rows are stored by the lakehouse or read from a federated source.
public enum TableKind: String, Sendable, Hashable {
    /// Stored and versioned by the lakehouse (snapshots, time travel).
    case managed
    /// Read in place from a federated source; read-only, no snapshots.
    case external
}

/// A table and its current columns.
public struct TableInfo: Sendable, Equatable {
    public var id: Int64
    public var databaseID: Int64
    public var databaseName: String
    public var name: String
    public var kind: TableKind
    /// The engine's name for the stored table (managed: `_lh_t<id>`; external: the source's table name, or a CSV source's file name).
    public var storageName: String
    public var comment: String?
    public var owner: String
    public var tags: [String: String]
    public var createdAt: String
    public var updatedAt: String
    /// The last snapshot (commit id) that changed the table; nil for external tables.
    public var currentSnapshot: Int64?
    /// Rows in the current snapshot, kept by the lakehouse; nil for external tables.
    public var rowCount: Int64?
    /// The live columns, in order.
    public var columns: [ColumnInfo]

    /// `db.table`, quoted where needed.
    public var qualifiedName: String { SQLName.qualified(databaseName, name) }
}

/// A column of a table.
public struct ColumnInfo: Sendable, Equatable {
    public var id: Int64
    public var tableID: Int64
    public var name: String
    /// The declared type (`INTEGER`, `TEXT`, `REAL`, `BLOB`, `DATE`, ... or empty).
    public var type: String
    /// 0-based position among the live columns.
    public var position: Int
    public var nullable: Bool
    public var comment: String?
    public var tags: [String: String]
    /// The column's name in storage (equal to `name` while live).
    public var storageName: String
    public var createdAt: String
    public var updatedAt: String
}

/// A column as a snapshot's schema records it.
public struct SchemaColumn: Sendable, Equatable {
    /// The column's stable id.
    public var id: Int64
    public var name: String
    public var type: String

    public init(id: Int64, name: String, type: String) {
        self.id = id
        self.name = name
        self.type = type
    }

    public var jsonValue: JSON { ["id": .int(Int(id)), "name": .string(name), "type": .string(type)] }

    public init?(json: JSON) {
        guard let id = json["id"]?.intValue, let name = json["name"]?.stringValue else { return nil }
        self.init(id: Int64(id), name: name, type: json["type"]?.stringValue ?? "")
    }
}

/// One committed change of one table: Iceberg's snapshot.
///
/// The id is the lakehouse-wide commit number, so one id names the state of every table at once.
public struct SnapshotInfo: Sendable, Equatable {
    /// The commit id (increasing; one commit may make snapshots of several tables).
    public var id: Int64
    public var tableID: Int64
    /// Seconds since the epoch (UTC).
    public var committedAt: Double
    /// `create`, `append`, `overwrite`, `delete`, `update`, `schema`, `replace` (compaction).
    public var operation: String
    /// Counts and details: `added-rows`, `deleted-rows`, `updated-rows`, `total-rows`, `change`, ...
    public var summary: JSON
    /// Who committed it.
    public var principal: String
    /// The table's columns after this snapshot.
    public var schema: [SchemaColumn]
    /// Whether retention expired it: its entry stays, its old rows are gone.
    public var expired: Bool

    public var jsonValue: JSON {
        [
            "snapshot_id": .int(Int(id)), "table_id": .int(Int(tableID)), "committed_at": .string(Clock.iso8601(committedAt)),
            "operation": .string(operation), "summary": summary, "principal": .string(principal),
            "schema": .array(schema.map(\.jsonValue)), "expired": .bool(expired),
        ]
    }
}

/// A match of `Catalog.search`.
public struct SearchHit: Sendable, Equatable {
    public var kind: CatalogObjectKind
    public var id: Int64
    /// `catalog`, `db`, `db.table` or `db.table.column`.
    public var path: String
    /// What matched: `name`, `comment` or `tag key=value`.
    public var matched: String
    public var comment: String?
}

/// A catalog failure: what and where.
public struct CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case notFound, alreadyExists, invalidName, readOnly, database
    }
    public var code: Code
    public var message: String
    public var database: DatabaseError?

    public init(_ code: Code, _ message: String, database: DatabaseError? = nil) {
        self.code = code
        self.message = message
        self.database = database
    }

    public var description: String { message }
}

/// Quoting and checking of SQL names.
public enum SQLName {
    /// `name` as an SQL identifier: bare when it is a plain word that is not a keyword, else double-quoted.
    public static func quoted(_ name: String) -> String {
        if isPlain(name) && !SQLKeywords.all.contains(name.uppercased()) { return name }
        return "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }

    /// Always double-quoted.
    public static func alwaysQuoted(_ name: String) -> String {
        "\"" + name.replacingAll("\"", with: "\"\"") + "\""
    }

    /// `db.table`, each part quoted where needed.
    public static func qualified(_ parts: String...) -> String {
        parts.map(quoted).joined(separator: ".")
    }

    /// Whether `name` is a letter or underscore followed by letters, digits or underscores.
    public static func isPlain(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }

    /// Why `name` cannot name a database, table or column, or nil when it can.
    public static func problem(_ name: String, what: String) -> String? {
        if name.isEmpty { return "the \(what) name is empty" }
        if name.utf8.count > 128 { return "the \(what) name '\(name)' is longer than 128 bytes" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "the \(what) name '\(name)' contains a control character"
        }
        if name.lowercased().hasPrefix("_lh_") || name.lowercased().hasPrefix("sqlite_") {
            return "the \(what) name '\(name)' starts with a reserved prefix (_lh_, sqlite_)"
        }
        return nil
    }
}

extension String {
    /// Every occurrence of `target` replaced by `replacement`.
    public func replacingAll(_ target: String, with replacement: String) -> String {
        let source = Array(utf8), pattern = Array(target.utf8)
        guard !pattern.isEmpty, source.count >= pattern.count else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(source.count)
        var i = 0
        while i < source.count {
            if i + pattern.count <= source.count, source[i] == pattern[0], Array(source[i..<(i + pattern.count)]) == pattern {
                out.append(contentsOf: replacement.utf8)
                i += pattern.count
            } else {
                out.append(source[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// SQLite's keywords (https://sqlite.org/lang_keywords.html), uppercased.
public enum SQLKeywords {
    public static let all: Set<String> = [
        "ABORT", "ACTION", "ADD", "AFTER", "ALL", "ALTER", "ALWAYS", "ANALYZE", "AND", "AS", "ASC", "ATTACH", "AUTOINCREMENT",
        "BEFORE", "BEGIN", "BETWEEN", "BY", "CASCADE", "CASE", "CAST", "CHECK", "COLLATE", "COLUMN", "COMMIT", "CONFLICT",
        "CONSTRAINT", "CREATE", "CROSS", "CURRENT", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "DATABASE",
        "DEFAULT", "DEFERRABLE", "DEFERRED", "DELETE", "DESC", "DETACH", "DISTINCT", "DO", "DROP", "EACH", "ELSE", "END",
        "ESCAPE", "EXCEPT", "EXCLUDE", "EXCLUSIVE", "EXISTS", "EXPLAIN", "FAIL", "FILTER", "FIRST", "FOLLOWING", "FOR",
        "FOREIGN", "FROM", "FULL", "GENERATED", "GLOB", "GROUP", "GROUPS", "HAVING", "IF", "IGNORE", "IMMEDIATE", "IN",
        "INDEX", "INDEXED", "INITIALLY", "INNER", "INSERT", "INSTEAD", "INTERSECT", "INTO", "IS", "ISNULL", "JOIN", "KEY",
        "LAST", "LEFT", "LIKE", "LIMIT", "MATCH", "MATERIALIZED", "NATURAL", "NO", "NOT", "NOTHING", "NOTNULL", "NULL",
        "NULLS", "OF", "OFFSET", "ON", "OR", "ORDER", "OTHERS", "OUTER", "OVER", "PARTITION", "PLAN", "PRAGMA",
        "PRECEDING", "PRIMARY", "QUERY", "RAISE", "RANGE", "RECURSIVE", "REFERENCES", "REGEXP", "REINDEX", "RELEASE",
        "RENAME", "REPLACE", "RESTRICT", "RETURNING", "RIGHT", "ROLLBACK", "ROW", "ROWS", "SAVEPOINT", "SELECT", "SET",
        "TABLE", "TEMP", "TEMPORARY", "THEN", "TIES", "TO", "TRANSACTION", "TRIGGER", "UNBOUNDED", "UNION", "UNIQUE",
        "UPDATE", "USING", "VACUUM", "VALUES", "VIEW", "VIRTUAL", "WHEN", "WHERE", "WINDOW", "WITH", "WITHOUT",
    ]
}
