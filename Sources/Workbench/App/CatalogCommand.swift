import ArgumentParser
import CoreSupport
import Lakehouse

struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Browse and annotate the lakehouse catalog; table maintenance; federated sources.",
        discussion: Exit.lakehouseHelp,
        subcommands: [
            CatalogList.self, CatalogDescribe.self, CatalogSearch.self, CatalogHistory.self, CatalogTag.self, CatalogComment.self,
            CatalogExpire.self, CatalogCompact.self, CatalogRegister.self, CatalogRegisterCSV.self,
        ])
}

/// Options every catalog command shares.
struct CatalogOptions: ParsableArguments {
    @Flag(help: "Print JSON for scripts.")
    var json = false

    @OptionGroup var domain: DomainOptions
}

/// Prints a document: JSON, or the text `render` makes of it.
private func show(_ document: CatalogDocument, json: Bool, _ render: (JSON) -> String) {
    if json {
        printJSON(document.json)
    } else {
        print(render(document.json), terminator: "")
    }
}

private func field(_ json: JSON?) -> String {
    switch json {
    case .string(let s)?: s
    case .int(let i)?: String(i)
    case .double(let d)?: String(d)
    case .bool(let b)?: b ? "yes" : "no"
    default: ""
    }
}

private func tagsText(_ json: JSON?) -> String {
    (json?.objectValue.map { Array($0) } ?? []).map { "\($0.key)=\(field($0.value))" }.joined(separator: " ")
}

/// Aligned columns of text, with a header.
private func columns(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        var text = cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padded(to: widths[i]) }.joined(separator: "  ")
        while text.last == " " { text.removeLast() }
        return text
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n") + "\n"
}

struct CatalogList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the databases, or the tables of one database.", discussion: Exit.lakehouseHelp)

    @Argument(help: "A database whose tables to list.")
    var database: String?

    @OptionGroup var options: CatalogOptions

    func run() async throws {
        let client = try LakehouseClient.open(options.domain, command: "catalog ls")
        let document = try await client.send(LakehouseCatalogList(database: database))
        show(document, json: options.json) { json in
            if let tables = json["tables"]?.arrayValue {
                return columns(
                    ["TABLE", "KIND", "ROWS", "SNAPSHOT", "COMMENT"],
                    tables.map { [field($0["name"]), field($0["kind"]), field($0["rows"]), field($0["current_snapshot"]), field($0["comment"])] })
            }
            let databases = json["databases"]?.arrayValue ?? []
            if databases.isEmpty { return "no databases yet; create one with: wb sql \"CREATE DATABASE name\"\n" }
            return columns(
                ["DATABASE", "CATALOG", "KIND", "TABLES", "COMMENT"],
                databases.map { [field($0["name"]), field($0["catalog"]), field($0["kind"]), field($0["tables"]), field($0["comment"])] })
        }
    }
}

struct CatalogDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe", abstract: "Describe a database, a table (columns, tags, snapshots) or a column.",
        discussion: Exit.lakehouseHelp)

    @Argument(help: "db, db.table or db.table.column.")
    var name: String

    @OptionGroup var options: CatalogOptions

    func run() async throws {
        let client = try LakehouseClient.open(options.domain, command: "catalog describe")
        let document = try await client.send(LakehouseDescribe(name: name))
        show(document, json: options.json) { json in
            var out = "\(field(json["name"]))  (\(field(json["kind"])), id \(field(json["id"])))\n"
            if let comment = json["comment"]?.stringValue { out += "comment: \(comment)\n" }
            if let owner = json["owner"]?.stringValue { out += "owner: \(owner)\n" }
            let tags = tagsText(json["tags"])
            if !tags.isEmpty { out += "tags: \(tags)\n" }
            if let rows = json["rows"]?.intValue { out += "rows: \(rows), current snapshot: \(field(json["current_snapshot"]))\n" }
            if let type = json["type"]?.stringValue { out += "type: \(type), nullable: \(field(json["nullable"]))\n" }
            if let list = json["columns"]?.arrayValue {
                out += "\n" + columns(
                    ["COLUMN", "TYPE", "NULL", "TAGS", "COMMENT"],
                    list.map { [field($0["name"]), field($0["type"]), field($0["nullable"]), tagsText($0["tags"]), field($0["comment"])] })
            }
            if let tables = json["tables"]?.arrayValue {
                out += "\n" + columns(["TABLE", "KIND", "ROWS", "COMMENT"], tables.map { [field($0["name"]), field($0["kind"]), field($0["rows"]), field($0["comment"])] })
            }
            if let snapshots = json["snapshots"]?.arrayValue, !snapshots.isEmpty {
                out += "\nlast snapshots (wb catalog history \(name) for all):\n"
                out += snapshotTable(Array(snapshots.suffix(5)))
            }
            return out
        }
    }
}

/// Snapshot rows as text.
private func snapshotTable(_ snapshots: [JSON]) -> String {
    columns(
        ["SNAPSHOT", "COMMITTED", "OPERATION", "ROWS", "BY", "CHANGES"],
        snapshots.map { s in
            let summary = s["summary"]
            var changes: [String] = []
            for key in ["added-rows", "deleted-rows", "updated-rows", "rewritten-rows"] {
                if let n = summary?[key]?.intValue, n > 0 { changes.append("\(key.split(separator: "-")[0]) \(n)") }
            }
            changes += (summary?["schema-changes"]?.arrayValue ?? []).compactMap(\.stringValue)
            return [
                field(s["snapshot_id"]) + (s["expired"]?.boolValue == true ? " (expired)" : ""), field(s["committed_at"]), field(s["operation"]),
                field(summary?["total-rows"]), field(s["principal"]), changes.joined(separator: ", "),
            ]
        })
}

struct CatalogSearch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find databases, tables and columns by name, comment or tag (KEY=VALUE matches a tag exactly).",
        discussion: Exit.lakehouseHelp)

    @Argument(help: "Text to find, or a tag as KEY=VALUE.")
    var text: String

    @OptionGroup var options: CatalogOptions

    func run() async throws {
        let client = try LakehouseClient.open(options.domain, command: "catalog search")
        let document = try await client.send(LakehouseSearch(text: self.text))
        show(document, json: options.json) { json in
            let hits = json["hits"]?.arrayValue ?? []
            if hits.isEmpty { return "nothing matches '\(self.text)'\n" }
            return columns(["KIND", "NAME", "MATCHED", "COMMENT"], hits.map { [field($0["kind"]), field($0["name"]), field($0["matched"]), field($0["comment"])] })
        }
    }
}

struct CatalogHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Show a table's snapshot log.", discussion: Exit.lakehouseHelp)

    @Argument(help: "db.table")
    var table: String

    @Flag(help: "Include snapshots retention expired.")
    var all = false

    @OptionGroup var options: CatalogOptions

    func run() async throws {
        let client = try LakehouseClient.open(options.domain, command: "catalog history")
        let document = try await client.send(LakehouseDescribe(name: table, includingExpired: all))
        let snapshots = document.json["snapshots"] ?? .array([])
        if options.json {
            printJSON(["table": document.json["name"] ?? .null, "snapshots": snapshots])
        } else {
            print(snapshotTable(snapshots.arrayValue ?? []), terminator: "")
        }
    }
}

struct CatalogTag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag", abstract: "Set (KEY=VALUE) or remove (--remove KEY) tags of a database, table or column.",
        discussion: Exit.lakehouseHelp)

    @Argument(help: "db, db.table or db.table.column.")
    var name: String

    @Argument(help: "Tags to set, as KEY=VALUE.")
    var tags: [String] = []

    @Option(help: "A tag key to remove (repeatable).")
    var remove: [String] = []

    @OptionGroup var options: CatalogOptions

    func validate() throws {
        guard !tags.isEmpty || !remove.isEmpty else { throw ValidationError("give tags to set (KEY=VALUE) or --remove KEY") }
        for tag in tags where !tag.contains("=") || tag.hasPrefix("=") { throw ValidationError("'\(tag)' is not KEY=VALUE") }
    }

    func run() async throws {
        var set: [String: String] = [:]
        for tag in tags {
            let parts = tag.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            set[String(parts[0])] = String(parts[1])
        }
        let client = try LakehouseClient.open(options.domain, command: "catalog tag")
        let document = try await client.send(LakehouseAnnotate(name: name, setTags: set, removeTags: remove))
        show(document, json: options.json) { json in "\(field(json["name"])): \(tagsText(json["tags"]))\n" }
    }
}

struct CatalogComment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comment", abstract: "Set the comment of a database, table or column ('' removes it).", discussion: Exit.lakehouseHelp)

    @Argument(help: "db, db.table or db.table.column.")
    var name: String

    @Argument(help: "The comment.")
    var comment: String

    @OptionGroup var options: CatalogOptions

    func run() async throws {
        let client = try LakehouseClient.open(options.domain, command: "catalog comment")
        let document = try await client.send(LakehouseAnnotate(name: name, comment: comment))
        show(document, json: options.json) { json in "\(field(json["name"])): \(field(json["comment"]))\n" }
    }
}

struct CatalogExpire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire",
        abstract: "Expire old snapshots of a table and the history rows only they needed.",
        discussion: """
            A snapshot is kept when it is the current one, among the last --keep-last, or newer than --older-than; \
            the others expire, and time travel to them then fails with a clear error. Durations: 90s, 30m, 12h, 7d.

            \(Exit.lakehouseHelp)
            """)

    @Argument(help: "db.table")
    var table: String

    @Option(name: .customLong("older-than"), help: "Expire snapshots older than this (90s, 30m, 12h, 7d).")
    var olderThan: String?

    @Option(name: .customLong("keep-last"), help: "Keep at least this many most recent snapshots.")
    var keepLast: Int?

    @OptionGroup var options: CatalogOptions

    func validate() throws {
        guard olderThan != nil || keepLast != nil else { throw ValidationError("give --older-than, --keep-last, or both") }
        if let olderThan, CatalogExpire.seconds(olderThan) == nil {
            throw ValidationError("--older-than takes a duration such as 90s, 30m, 12h or 7d, not '\(olderThan)'")
        }
        if let keepLast, keepLast < 1 { throw ValidationError("--keep-last must be at least 1") }
    }

    static func seconds(_ text: String) -> Double? {
        guard let unit = text.last, let number = Double(text.dropLast()), number >= 0 else { return Double(text) }
        switch unit {
        case "s": return number
        case "m": return number * 60
        case "h": return number * 3600
        case "d": return number * 86400
        default: return nil
        }
    }

    func run() async throws {
        let client = try LakehouseClient.open(options.domain, command: "catalog expire")
        let document = try await client.send(
            LakehouseExpire(table: table, olderThanSeconds: olderThan.flatMap(CatalogExpire.seconds), keepLast: keepLast))
        show(document, json: options.json) { json in
            "\(field(json["table"])): expired \(field(json["snapshots_expired"])) snapshots, kept \(field(json["snapshots_kept"])), "
                + "removed \(field(json["history_rows_removed"])) history rows\n"
        }
    }
}

struct CatalogCompact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Rewrite a table's storage compactly (a 'replace' snapshot: the same rows at every kept snapshot).",
        discussion: Exit.lakehouseHelp)

    @Argument(help: "db.table")
    var table: String

    @OptionGroup var options: CatalogOptions

    func run() async throws {
        let client = try LakehouseClient.open(options.domain, command: "catalog compact")
        let document = try await client.send(LakehouseCompact(table: table))
        show(document, json: options.json) { json in
            "\(field(json["table"])): rewrote \(field(json["rows_rewritten"])) rows, purged \(field(json["columns_purged"])) dropped columns"
                + (json["snapshot"].map { ", snapshot \(field($0["snapshot_id"]))" } ?? "") + "\n"
        }
    }
}

struct CatalogRegister: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register-sqlite",
        abstract: "Register an SQLite file as a read-only federated catalog (its tables become NAME.table; nothing is copied).",
        discussion: "Unregister with: wb sql \"DROP DATABASE NAME\" (the file is untouched).\n\n\(Exit.lakehouseHelp)")

    @Argument(help: "The catalog and database name to give it.")
    var name: String

    @Argument(help: "The SQLite file.")
    var file: String

    @OptionGroup var options: CatalogOptions

    func run() async throws {
        let client = try LakehouseClient.open(options.domain, command: "catalog register-sqlite")
        let document = try await client.send(LakehouseRegisterSource(name: name, path: FilePath.absolute(file)))
        show(document, json: options.json) { json in
            "registered \(field(json["name"])) (\((json["tables"]?.arrayValue ?? []).count) tables, read-only)\n"
        }
    }
}

struct CatalogRegisterCSV: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register-csv",
        abstract: "Register a directory of CSV/TSV files as a read-only federated catalog (each file becomes NAME.file; nothing is copied).",
        discussion: """
            Every .csv, .tsv and .tab file directly in DIRECTORY becomes a table named after the file, with the \
            columns and types `wb import` would infer (header detected, types from the first 1000 rows). Queries \
            read the files in place each time, so they see the files as they are then; a row that cannot be \
            read fails the query with its file and line. The access policy applies as to any table (the source \
            is a catalog of its own). Unregister with: wb sql "DROP DATABASE NAME" (the files are untouched).

            \(Exit.lakehouseHelp)
            """)

    @Argument(help: "The catalog and database name to give it.")
    var name: String

    @Argument(help: "The directory of CSV/TSV files.")
    var directory: String

    @OptionGroup var options: CatalogOptions

    func run() async throws {
        let client = try LakehouseClient.open(options.domain, command: "catalog register-csv")
        let document = try await client.send(LakehouseRegisterSource(name: name, path: FilePath.absolute(directory), format: .csv))
        show(document, json: options.json) { json in
            let tables = (json["tables"]?.arrayValue ?? []).map { field($0["name"]) }
            return "registered \(field(json["name"])) (\(tables.count) table\(tables.count == 1 ? "" : "s"), read-only): \(tables.joined(separator: ", "))\n"
        }
    }
}
