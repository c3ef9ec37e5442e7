import Catalog
import CoreSupport

/// A point in a lakehouse's history to read tables at.
public enum AsOf: Sendable, Equatable, CustomStringConvertible {
    /// The state right after commit (snapshot) `id`.
    case snapshot(Int64)
    /// The state at this time (epoch seconds): the last commit made at or before it.
    case time(Double)

    /// Parses `--as-of`: a snapshot id (digits) or an ISO 8601 time (`2026-11-25T07:00:00Z`, `2026-11-25 07:00:00`, `2026-11-25`).
    public init?(parsing text: String) {
        let text = text.trimmed()
        if !text.isEmpty, text.allSatisfy(\.isNumber), let id = Int64(text) {
            self = .snapshot(id)
            return
        }
        guard let seconds = AsOf.parseTime(text) else { return nil }
        self = .time(seconds)
    }

    /// Epoch seconds for an ISO 8601 date or time in UTC (`T` or a space between date and time, `Z` optional).
    static func parseTime(_ text: String) -> Double? {
        var t = text.replacingAll(" ", with: "T")
        if t.count == 10 { t += "T00:00:00" }
        if t.count == 16 { t += ":00" }
        if !t.hasSuffix("Z") && !t.hasSuffix("+00:00") { t += "Z" }
        return Clock.parseISO8601(t)
    }

    public var description: String {
        switch self {
        case .snapshot(let id): "snapshot \(id)"
        case .time(let t): Clock.iso8601(t)
        }
    }
}

/// A `db.table` the user wrote, found by the name mapper.
struct TableReference {
    var database: String
    var table: String
    /// A per-table `VERSION AS OF n` / `TIMESTAMP AS OF 'time'` that followed it.
    var asOf: AsOf?
    /// Whether this is the table an INSERT, UPDATE or DELETE writes.
    var isWriteTarget: Bool
    /// Whether it was the first part of `db.table.column`.
    var isColumnQualifier: Bool
    /// Where the reference starts in the original text.
    var offset: Int
}

/// What a reference becomes in the engine's SQL.
struct Binding {
    /// The replacement text (`main."_lh_v3"`, a CTE name, `"_lh_src_2"."orders"`).
    var text: String
    /// A common table expression the statement needs for it: (name, body).
    var cte: (name: String, body: String)?
    /// For INSERT targets: the column list to add when the user gave none.
    var insertColumns: String?
}

/// Rewritten SQL and the way back from its offsets to the user's text.
struct MappedStatement {
    var sql: String
    var references: [TableReference]
    /// (output start, output end, original start, copied verbatim).
    fileprivate var segments: [(Int, Int, Int, Bool)]
    var originalStart: Int
    /// Where the statement ends in the original text.
    var originalEnd: Int

    /// The offset in the user's text that an offset in `sql` came from.
    func originalOffset(_ offset: Int) -> Int {
        for (start, end, original, copied) in segments where offset >= start && offset < end {
            return copied ? original + (offset - start) : original
        }
        return segments.last.map { $0.3 ? $0.2 + ($0.1 - $0.0) : $0.2 } ?? originalStart
    }
}

/// Maps the `db.table` names users write to what the engine stores, token by token.
///
/// Why rewriting and not ATTACH: every managed table lives in one SQLite file (so a commit of data,
/// snapshot log and catalog is one atomic transaction), and the rewrite decides per statement what
/// `db.table` means: the current rows (a view hiding the snapshot column), the rows at a snapshot
/// (a common table expression over current and history rows), the table itself for writes, or a
/// federated source (an attached read-only file). SQLite's own resolution could not do that:
/// `db.table` never resolves to a TEMP view, and a view in one schema cannot read another.
enum NameMapper {
    /// Rewrites one statement's tokens; `isDatabase` says which first parts are lakehouse databases.
    static func map(
        _ tokens: [SQLToken], sql: String, isDatabase: (String) throws -> Bool, bind: (TableReference) throws -> Binding
    ) throws -> MappedStatement {
        let significant = tokens.indices.filter { tokens[$0].isSignificant }
        let firstKeyword = significant.first.map { tokens[$0].text.uppercased() } ?? ""
        for index in significant {
            let token = tokens[index]
            if let name = token.identifier, name.lowercased().hasPrefix("_lh_") {
                throw LakehouseError.syntax(
                    "'\(name)' is a name reserved for the lakehouse's storage; write db.table names", sql: sql, offset: token.start)
            }
        }
        struct Replacement {
            var firstToken: Int
            var lastToken: Int
            var text: String
            var insertAfter: (token: Int, text: String)?
        }
        var replacements: [Replacement] = []
        var references: [TableReference] = []
        var ctes: [(name: String, body: String)] = []
        func sig(_ k: Int) -> SQLToken? { k >= 0 && k < significant.count ? tokens[significant[k]] : nil }
        func isName(_ t: SQLToken?) -> Bool { t.map { $0.kind == .word || $0.kind == .quotedIdentifier } ?? false }
        var k = 0
        while k < significant.count {
            defer { k += 1 }
            guard let a = sig(k), isName(a), sig(k + 1)?.kind == .dot, let b = sig(k + 2), isName(b) else { continue }
            if let before = sig(k - 1), before.kind == .dot { continue }
            guard let database = a.identifier, let table = b.identifier, try isDatabase(database) else { continue }
            let columnQualifier = sig(k + 3)?.kind == .dot && isName(sig(k + 4))
            var last = k + 2
            var asOf: AsOf?
            if !columnQualifier, let next = sig(k + 3) {
                if (next.isKeyword("VERSION") || next.isKeyword("TIMESTAMP")), sig(k + 4)?.isKeyword("AS") == true,
                    sig(k + 5)?.isKeyword("OF") == true, let value = sig(k + 6)
                {
                    asOf = try parseAsOf(value, timestamp: next.isKeyword("TIMESTAMP"), sql: sql)
                    last = k + 6
                } else if next.isKeyword("FOR"), sig(k + 4)?.isKeyword("SYSTEM_TIME") == true, sig(k + 5)?.isKeyword("AS") == true,
                    sig(k + 6)?.isKeyword("OF") == true, let value = sig(k + 7)
                {
                    asOf = try parseAsOf(value, timestamp: value.kind == .string, sql: sql)
                    last = k + 7
                }
            }
            let p1 = sig(k - 1), p2 = sig(k - 2), p3 = sig(k - 3)
            let isTarget =
                !columnQualifier
                && ((p1?.isKeyword("INTO") == true && (firstKeyword == "INSERT" || firstKeyword == "REPLACE" || firstKeyword == "WITH"))
                    || p1?.isKeyword("UPDATE") == true || (p3?.isKeyword("UPDATE") == true && p2?.isKeyword("OR") == true)
                    || (p1?.isKeyword("FROM") == true && p2?.isKeyword("DELETE") == true))
            let reference = TableReference(
                database: database, table: table, asOf: asOf, isWriteTarget: isTarget, isColumnQualifier: columnQualifier,
                offset: a.start)
            references.append(reference)
            let binding = try bind(reference)
            if let cte = binding.cte, !ctes.contains(where: { $0.name == cte.name }) { ctes.append(cte) }
            var replacement = Replacement(firstToken: significant[k], lastToken: significant[last], text: binding.text)
            if let columns = binding.insertColumns {
                // After the target (and an optional `AS alias`), unless a column list or DEFAULT VALUES follows.
                var after = last
                if sig(after + 1)?.isKeyword("AS") == true, isName(sig(after + 2)) { after += 2 }
                let next = sig(after + 1)
                if next?.kind != .leftParen && next?.isKeyword("DEFAULT") != true {
                    replacement.insertAfter = (significant[after], " (\(columns))")
                }
            }
            replacements.append(replacement)
            k = last
        }

        var out = ""
        var outCount = 0
        var segments: [(Int, Int, Int, Bool)] = []
        let originalStart = tokens.first?.start ?? 0
        func append(_ text: String, original: Int, copied: Bool) {
            let n = text.utf8.count
            segments.append((outCount, outCount + n, original, copied))
            out += text
            outCount += n
        }
        // Common table expressions go first, merged into the user's WITH when there is one.
        var startToken = 0
        if !ctes.isEmpty {
            let definitions = ctes.map { "\(SQLName.alwaysQuoted($0.name)) AS (\($0.body))" }.joined(separator: ", ")
            if firstKeyword == "WITH" {
                var upTo = significant[0]
                if sig(1)?.isKeyword("RECURSIVE") == true { upTo = significant[1] }
                for i in 0...upTo { append(tokens[i].text, original: tokens[i].start, copied: true) }
                append(" \(definitions),", original: originalStart, copied: false)
                startToken = upTo + 1
            } else {
                append("WITH \(definitions) ", original: originalStart, copied: false)
            }
        }
        var i = startToken
        var pendingInserts: [Int: String] = [:]
        while i < tokens.count {
            if let replacement = replacements.first(where: { $0.firstToken == i }) {
                append(replacement.text, original: tokens[i].start, copied: false)
                if let insert = replacement.insertAfter { pendingInserts[insert.token] = insert.text }
                if let text = pendingInserts.removeValue(forKey: replacement.lastToken) {
                    append(text, original: tokens[replacement.lastToken].end, copied: false)
                }
                i = replacement.lastToken + 1
                continue
            }
            append(tokens[i].text, original: tokens[i].start, copied: true)
            if let text = pendingInserts.removeValue(forKey: i) { append(text, original: tokens[i].end, copied: false) }
            i += 1
        }
        let originalEnd = tokens.last(where: \.isSignificant)?.end ?? originalStart
        return MappedStatement(sql: out, references: references, segments: segments, originalStart: originalStart, originalEnd: originalEnd)
    }

    private static func parseAsOf(_ token: SQLToken, timestamp: Bool, sql: String) throws -> AsOf {
        if !timestamp, token.kind == .number, let id = Int64(token.text) { return .snapshot(id) }
        if token.kind == .string {
            let text = String(token.text.dropFirst().dropLast()).replacingAll("''", with: "'")
            if let value = AsOf(parsing: text) { return value }
        }
        throw LakehouseError.syntax(
            timestamp ? "TIMESTAMP AS OF needs a quoted ISO 8601 time, such as '2026-11-25T07:00:00Z'"
                : "VERSION AS OF needs a snapshot id (an integer)", sql: sql, offset: token.start)
    }
}
