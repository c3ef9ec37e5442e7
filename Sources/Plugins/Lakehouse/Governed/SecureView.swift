import Crypto
import Governance
import Storage

/// Compiles a Governance access plan into the SQLite query that serves one principal one table.
///
/// Governance decides, this engine enforces: the plan's row predicates and
/// masks are trees, rendered here into SQL with every name quoted and every
/// literal written as an SQL literal, never as text spliced from a policy. The
/// result is a `SELECT` over `source` (the table's current rows, or its
/// time-travel relation) that returns exactly the visible columns, in table
/// order, under their own names:
///
/// - rows: admitted by at least one branch, and by no deny (a deny whose
///   predicate is unknown, NULL, removes the row too: fail closed);
/// - cells: raw when an admitting branch grants the column unmasked, else the
///   most revealing mask among admitting branches that grant it masked, else NULL.
public enum SecureView {
    /// The custom SQL function behind the `hash` mask; `registerFunctions` installs it.
    public static let hashFunction = "wb_mask_hash"
    /// The custom SQL function behind the `show_last` mask (a built-in version would need zeroblob, which can raise).
    public static let showLastFunction = "wb_mask_show_last"

    /// The SELECT for `plan` over `source`, or nil when the plan allows nothing.
    ///
    /// - Parameters:
    ///   - source: an SQL relation (already quoted) with the table's columns.
    ///   - columnName: the relation's name for a column (default: the column's current name).
    ///   - passThrough: columns of `source` selected first, as they are (a filtered write's row id).
    public static func select(
        _ plan: AccessPlan, from source: String, columnName: (ColumnDescriptor) -> String = { $0.name }, passThrough: [String] = []
    ) -> String? {
        guard plan.decision.allowed, !plan.branches.isEmpty else { return nil }
        let visible = plan.visibleColumns
        guard !visible.isEmpty else { return nil }
        let ids = Dictionary(plan.table.columns.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func quotedColumn(_ ref: ColumnRef) -> String {
            // Bound predicates carry ids; an unbound name falls back to itself (Governance binds every filter).
            if let id = ref.id, let column = ids[id] { return quote(columnName(column)) }
            return quote(ref.name)
        }
        let predicates = plan.branches.map { branch in branch.rows.map { sql($0, column: quotedColumn) } }
        var items: [String] = passThrough.map(quote)
        for column in visible {
            let name = quote(columnName(column))
            // (branch position, mask) for each branch granting the column; nil mask = raw.
            let grants: [(Int, Mask?)] = plan.branches.enumerated().compactMap { index, branch in
                branch.columns[column.id].map { (index, $0) }
            }
            let expression: String
            let everyBranch = grants.count == plan.branches.count
            if everyBranch, grants.allSatisfy({ $0.1 == nil }) {
                expression = name
            } else if everyBranch, let first = grants.first?.1, grants.allSatisfy({ $0.1 == first }) {
                expression = sql(first, value: name)
            } else {
                // Most revealing first: raw, then masks by how much they show; policy order breaks ties.
                let ordered = grants.sorted { a, b in
                    let ra = a.1.map { $0.revealRank } ?? Int.max
                    let rb = b.1.map { $0.revealRank } ?? Int.max
                    return ra != rb ? ra > rb : a.0 < b.0
                }
                var cases: [String] = []
                for (index, mask) in ordered {
                    let value = mask.map { sql($0, value: name) } ?? name
                    guard let predicate = predicates[index] else {
                        // This branch admits every admitted row: nothing after it can apply.
                        cases.append("ELSE \(value)")
                        break
                    }
                    cases.append("WHEN \(predicate) THEN \(value)")
                }
                if cases.count == 1, let only = cases.first, only.hasPrefix("ELSE ") {
                    expression = String(only.dropFirst(5))
                } else {
                    if !(cases.last?.hasPrefix("ELSE") ?? false) { cases.append("ELSE NULL") }
                    expression = "CASE \(cases.joined(separator: " ")) END"
                }
            }
            items.append("\(expression) AS \(quote(column.name))")
        }
        var conditions: [String] = []
        if !predicates.contains(where: { $0 == nil }) {
            conditions.append(predicates.map { "(\($0!))" }.joined(separator: " OR "))
        }
        for denied in plan.deniedRows {
            conditions.append("NOT coalesce((\(sql(denied.rows, column: quotedColumn))), 1)")
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.map { "(\($0))" }.joined(separator: " AND ")
        return "SELECT \(items.joined(separator: ", ")) FROM \(source)\(whereClause)"
    }

    /// Whether every admitted row shows `column` raw (each branch grants it unmasked).
    public static func isRaw(_ column: ColumnDescriptor, in plan: AccessPlan) -> Bool {
        plan.branches.allSatisfy { branch in branch.columns[column.id] == .some(.none) }
    }

    /// Installs the functions the compiled SQL calls (the `hash` mask) on a connection.
    public static func registerFunctions(_ db: Database) throws(DatabaseError) {
        try db.addFunction(hashFunction, argumentCount: 1, options: [.deterministic, .innocuous]) { arguments in
            switch arguments[0] {
            case .null: return .null
            case .blob(let bytes): return .text(hex(SHA256.hash(data: bytes)))
            case let value: return .text(hex(SHA256.hash(data: Array(text(of: value).utf8))))
            }
        }
        try db.addFunction(showLastFunction, argumentCount: 2, options: [.deterministic, .innocuous]) { arguments in
            if arguments[0] == .null { return .null }
            let n = max(0, Int(clamping: arguments[1].int64 ?? 0))
            return .text(showLast(text(of: arguments[0]), n))
        }
    }

    /// `text` with all but its last `n` characters replaced by `*`.
    static func showLast(_ text: String, _ n: Int) -> String {
        let count = text.count
        guard count > n else { return text }
        return String(repeating: "*", count: count - n) + String(text.suffix(n))
    }

    /// SQLite's text form of a value, as `CAST(x AS TEXT)` gives it for integers and text.
    static func text(of value: DatabaseValue) -> String {
        switch value {
        case .null: ""
        case .integer(let i): String(i)
        case .real(let d): d.description
        case .text(let s): s
        case .blob(let b): String(decoding: b, as: UTF8.self)
        }
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        for byte in digest {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: Rendering

    /// `name` as an SQL identifier.
    public static func quote(_ name: String) -> String {
        "\"" + name.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    /// An SQL literal for `literal`.
    static func sql(_ literal: Literal) -> String {
        switch literal {
        case .integer(let i): return i == Int64.min ? "(-9223372036854775807 - 1)" : String(i)
        case .real(let d):
            if d.isNaN { return "NULL" }
            if d.isInfinite { return d > 0 ? "9e999" : "-9e999" }
            return "(\(d.description))"
        case .text(let s): return text(s)
        case .boolean(let b): return b ? "1" : "0"
        case .null: return "NULL"
        }
    }

    /// A text literal; text holding NUL is written as a cast blob, which SQL quoting cannot carry.
    static func text(_ s: String) -> String {
        if s.utf8.contains(0) {
            let digits = Array("0123456789ABCDEF")
            let hex = String(s.utf8.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
            return "CAST(X'\(hex)' AS TEXT)"
        }
        return "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") + "'"
    }

    static func sql(_ operand: Operand, column: (ColumnRef) -> String) -> String {
        switch operand {
        case .column(let ref): column(ref)
        case .literal(let literal): sql(literal)
        // Governance resolves CURRENT_USER when it makes the plan; one left here matches nothing.
        case .currentUser: "NULL"
        }
    }

    static func sql(_ predicate: RowPredicate, column: (ColumnRef) -> String) -> String {
        func op(_ o: Operand) -> String { sql(o, column: column) }
        switch predicate {
        case .and(let parts): return parts.map { "(\(sql($0, column: column)))" }.joined(separator: " AND ")
        case .or(let parts): return parts.map { "(\(sql($0, column: column)))" }.joined(separator: " OR ")
        case .not(let inner): return "NOT (\(sql(inner, column: column)))"
        case .compare(let a, let o, let b): return "\(op(a)) \(o.rawValue) \(op(b))"
        case .isNull(let a, let negated): return "\(op(a)) IS \(negated ? "NOT " : "")NULL"
        case .inList(let a, let list, let negated):
            return "\(op(a)) \(negated ? "NOT " : "")IN (\(list.map(op).joined(separator: ", ")))"
        case .between(let a, let low, let high, let negated):
            return "\(op(a)) \(negated ? "NOT " : "")BETWEEN \(op(low)) AND \(op(high))"
        case .like(let a, let pattern, let escape, let negated):
            let escapeClause = escape.map { " ESCAPE \(text(String($0)))" } ?? ""
            return "\(op(a)) \(negated ? "NOT " : "")LIKE \(text(pattern))\(escapeClause)"
        case .constant(let b): return b ? "1" : "0"
        }
    }

    /// The SQL of `mask` applied to the SQL value `value`.
    static func sql(_ mask: Mask, value: String) -> String {
        switch mask {
        case .null:
            return "NULL"
        case .hash:
            return "\(hashFunction)(\(value))"
        case .redact:
            return "CASE WHEN \(value) IS NULL THEN NULL ELSE '[REDACTED]' END"
        case .dateToYear:
            return "strftime('%Y', \(value))"
        case .showLast(let n):
            return "\(showLastFunction)(\(value), \(n))"
        case .expression(let expression):
            return "(\(sql(expression, value: value)))"
        }
    }

    static func sql(_ expression: ValueExpression, value: String) -> String {
        switch expression {
        // A mask reads only its own column (Policy.validate checks), so every column reference is the value.
        case .column: return value
        case .literal(let literal): return sql(literal)
        case .concat(let a, let b): return "(\(sql(a, value: value)) || \(sql(b, value: value)))"
        case .arithmetic(let a, let op, let b): return "(\(sql(a, value: value)) \(op) \(sql(b, value: value)))"
        case .negate(let a): return "(-\(sql(a, value: value)))"
        case .call(let name, let args): return "\(name)(\(args.map { sql($0, value: value) }.joined(separator: ", ")))"
        }
    }
}

extension SecureView {
    /// How an engine turns an access plan into the secure SELECT a restricted read runs.
    ///
    /// The engine always uses `standard`. `altering` exists for the differential leak test's negative
    /// control: a deliberately broken compiler (one that drops a row filter, say) run through the real
    /// query path, to show that the test catches it.
    public struct Compiler: Sendable {
        let alter: (@Sendable (AccessPlan) -> AccessPlan)?

        /// `SecureView.select` on the plan as Governance made it.
        public static let standard = Compiler(alter: nil)

        /// A compiler that compiles `alter(plan)` instead of the plan: only for tests' negative controls.
        public static func altering(_ alter: @escaping @Sendable (AccessPlan) -> AccessPlan) -> Compiler { Compiler(alter: alter) }

        /// The SELECT for `plan` over `source` (see `SecureView.select`).
        public func select(_ plan: AccessPlan, from source: String, columnName: (ColumnDescriptor) -> String = { $0.name }) -> String? {
            SecureView.select(alter.map { $0(plan) } ?? plan, from: source, columnName: columnName)
        }
    }
}
