import CoreSupport
import Crypto
import Foundation
import Governance
import Lakehouse
import Storage
import Testing

/// The secure view compiler against a naive oracle.
///
/// For random tables, grants and users (fixed seed), the oracle applies the
/// combination rules of Docs/governance.md straight from the grants, row by row
/// in Swift; the real path is PolicyEngine's plan compiled to SQL and run by
/// SQLite. They must agree on every row and cell. The oracle shares no code with
/// the plan builder or the compiler (only the parsed grant trees).
@Suite struct SecureViewTests {
    static let cases = Int(ProcessInfo.processInfo.environment["WB_LEAK_CASES"] ?? "") ?? 1500

    @Test func theCompiledViewMatchesTheOracle() throws {
        var random = Random(seed: 7)
        var withRows = 0
        var restricted = 0
        for index in 0..<Self.cases {
            let scenario = Scenario.generate(&random)
            let (actual, plan) = try scenario.runCompiled()
            let expected = scenario.oracle()
            #expect(
                actual == expected,
                "case \(index): \(scenario.describe())\nplan branches: \(plan.branches.map(\.grantID)) denied: \(plan.deniedRows.map(\.rows))\nSQL rows: \(actual)\noracle rows: \(expected)"
            )
            if actual != expected { return }
            if !(expected?.rows.isEmpty ?? true) {
                withRows += 1
                if !plan.isUnrestricted { restricted += 1 }
            }
        }
        // The cases are worth something: most return rows through an active filter or mask.
        #expect(withRows * 2 >= Self.cases, "\(withRows) of \(Self.cases) cases returned rows")
        #expect(restricted * 2 >= Self.cases, "\(restricted) of \(Self.cases) cases returned rows under a filter or mask")
    }

    @Test func aCompilerThatDropsOneFilterIsCaught() throws {
        var random = Random(seed: 11)
        var caught = false
        for _ in 0..<500 where !caught {
            let scenario = Scenario.generate(&random)
            var (plan, _) = scenario.plan()
            guard let index = plan.branches.firstIndex(where: { $0.rows != nil }) else { continue }
            plan.branches[index].rows = nil  // the deliberate bug
            let broken = try scenario.run(plan)
            caught = broken != scenario.oracle()
        }
        #expect(caught)
    }

    @Test func literalsAndNamesCannotEscapeTheirQuotes() throws {
        let db = try DatabaseQueue.inMemory()
        try db.write { db in
            try db.execute(#"CREATE TABLE t ("we""ird" TEXT, "b" INTEGER); INSERT INTO t VALUES ('x''; DROP TABLE t; --', 1), ('ok', 2)"#)
        }
        let table = TableDescriptor(
            id: "t", database: DatabaseDescriptor(catalog: "lakehouse", name: "d"), name: "t",
            columns: [ColumnDescriptor(id: "1", name: "we\"ird"), ColumnDescriptor(id: "2", name: "b")])
        let policy = Policy(grants: [
            Grant(
                id: "g", principals: [Principal(.user, "u")], permissions: [.data(.select)],
                resource: .table(catalog: nil, database: "d", name: "t"),
                rows: try RowPredicate.parse(#""we""ird" = 'x''; DROP TABLE t; --' OR b = 2"#))
        ])
        let plan = PolicyEngine(policy: policy).accessPlan(user: "u", table: table)
        let sql = try #require(SecureView.select(plan, from: "t"))
        let rows = try db.read { try $0.fetchAll(sql) }
        #expect(rows.count == 2)
        #expect(try db.read { try $0.fetchValue("SELECT count(*) FROM t", as: Int.self) } == 2)
    }
}

// MARK: - Scenarios

typealias Random = SplitMix64

extension SplitMix64 {
    mutating func int(_ bound: Int) -> Int { next(below: bound) }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }
}

/// A value of the generated tables: integers, text and dates (as ISO text), or NULL.
enum V: Hashable, CustomStringConvertible {
    case null, int(Int64), text(String)
    var description: String {
        switch self {
        case .null: "NULL"
        case .int(let i): String(i)
        case .text(let s): "'\(s)'"
        }
    }
    var database: DatabaseValue {
        switch self {
        case .null: .null
        case .int(let i): .integer(i)
        case .text(let s): .text(s)
        }
    }
    init(_ value: DatabaseValue) {
        switch value {
        case .integer(let i): self = .int(i)
        case .text(let s): self = .text(s)
        default: self = .null
        }
    }
}

struct Scenario {
    enum Kind { case int, text, date }
    var columns: [(name: String, kind: Kind)]
    var rows: [[V]]
    var grants: [Grant]
    var table: TableDescriptor
    /// Groups and roles (`generate(_:rich:)`): grants reach `u` directly, through a group, a role, an inherited role, or not at all.
    var groups: [String: [String]] = [:]
    var roles: [String: Role] = [:]
    /// The tag ontology, the table's tags and each column's own tags (TBAC grants match their effective tags).
    var ontology: [String: [String]] = [:]
    var tableTags: [String: String] = [:]
    var columnTags: [[String: String]] = []

    /// The whole policy the scenario's grants are part of.
    var policy: Policy { Policy(groups: groups, roles: roles, tags: ontology, grants: grants) }

    static let words = ["alpha", "Beta", "gamma", "a_b", "50%", "zeta", "ALPHA", ""]

    static func value(_ kind: Kind, _ random: inout Random) -> V {
        if random.chance(12) { return .null }
        switch kind {
        case .int: return .int(Int64(random.int(21)) - 10)
        case .text: return .text(random.pick(words))
        case .date: return .text("20\(10 + random.int(15))-0\(1 + random.int(9))-1\(random.int(9))")
        }
    }

    static func operand(_ kind: Kind, _ random: inout Random) -> Operand {
        switch value(kind, &random) {
        // Literals match their column's type: across types SQLite converts by column affinity, which the oracle does not model.
        case .null: return .literal(random.chance(50) ? .null : (kind == .int ? .integer(0) : .text("")))
        case .int(let i): return .literal(.integer(i))
        case .text(let s): return .literal(.text(s))
        }
    }

    static func predicate(_ columns: [(name: String, kind: Kind)], _ random: inout Random, depth: Int = 0) -> RowPredicate {
        let (name, kind) = random.pick(columns)
        let column = Operand.column(ColumnRef(name))
        if depth < 2, random.chance(30) {
            let parts = (0..<(2 + random.int(2))).map { _ in predicate(columns, &random, depth: depth + 1) }
            return random.chance(50) ? .and(parts) : .or(parts)
        }
        if depth < 2, random.chance(10) { return .not(predicate(columns, &random, depth: depth + 1)) }
        switch random.int(6) {
        case 0:
            let op = random.pick([ComparisonOperator.equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual])
            return .compare(column, op, operand(kind, &random))
        case 1: return .isNull(column, negated: random.chance(50))
        case 2: return .inList(column, (0..<(1 + random.int(3))).map { _ in operand(kind, &random) }, negated: random.chance(30))
        case 3:
            let a = operand(kind, &random)
            let b = operand(kind, &random)
            return .between(column, low: a, high: b, negated: random.chance(30))
        case 4 where kind != .int:
            let patterns = ["a%", "%A%", "_eta", "50!%", "%", "a!_b", "20__-0%"]
            let pattern = random.pick(patterns)
            return .like(column, pattern: pattern, escape: pattern.contains("!") ? "!" : nil, negated: random.chance(30))
        default:
            return .compare(column, .equal, operand(kind, &random))
        }
    }

    static func mask(_ kind: Kind, _ random: inout Random) -> Mask {
        switch random.int(kind == .date ? 6 : 5) {
        case 0: return .null
        case 1: return .hash
        case 2: return .showLast(random.int(4))
        case 3: return .redact
        case 4: return .expression(.concat(.call("substr", [.column(ColumnRef("x")), .literal(.integer(1)), .literal(.integer(2))]), .literal(.text("*"))))
        default: return .dateToYear
        }
    }

    /// A scenario whose grants name groups, roles (one inheriting another) and tag expressions besides `u`,
    /// some of which `u` holds and some not; the table and its columns carry tags.
    static func generate(_ random: inout Random, rich: Bool) -> Scenario {
        var scenario = generate(&random)
        guard rich else { return scenario }
        let me = Principal(.user, "u")
        // Memberships: u is in g1 most of the time, in g2 rarely; r2 (held by u, g1 or g2) inherits r1, which is
        // otherwise g1's or w's, so r1's grants often reach u only through the inheritance; r3 is v's alone.
        scenario.groups = ["g1": random.chance(80) ? ["u", "v"] : ["v"], "g2": random.chance(20) ? ["u"] : ["v", "w"]]
        let r1Members: [Principal] = random.chance(40) ? [Principal(.group, "g1")] : [Principal(.user, "w")]
        let r2Members: [Principal] =
            random.chance(60) ? [me] : (random.chance(60) ? [Principal(.group, "g1")] : [Principal(.group, "g2")])
        scenario.roles = [
            "r1": Role(name: "r1", members: r1Members),
            "r2": Role(name: "r2", members: r2Members, inherits: ["r1"]),
            "r3": Role(name: "r3", members: [Principal(.user, "v")]),
        ]
        let holders: [Principal] = [me, Principal(.group, "g1"), Principal(.role, "r1"), Principal(.role, "r2")]
        let others: [Principal] = [Principal(.user, "v"), Principal(.group, "g2"), Principal(.role, "r3")]
        for index in scenario.grants.indices {
            // Mostly one principal u may hold (directly or not), sometimes one u does not, sometimes both.
            var principals = [random.chance(85) ? random.pick(holders) : random.pick(others)]
            if random.chance(20) { principals.append(random.pick(holders + others)) }
            scenario.grants[index].principals = Array(Set(principals)).sorted { $0.description < $1.description }
        }
        // Tags: LF-Tag style, keys ANDed and values ORed; a column's own tag overrides its table's.
        scenario.ontology = ["level": ["low", "high"], "area": ["x", "y"]]
        if random.chance(50) { scenario.tableTags["level"] = random.pick(["low", "high"]) }
        scenario.columnTags = scenario.columns.map { _ in
            var tags: [String: String] = [:]
            if random.chance(50) { tags["level"] = random.pick(["low", "high"]) }
            if random.chance(40) { tags["area"] = random.pick(["x", "y"]) }
            return tags
        }
        if random.chance(45) {
            var clauses: [(key: String, values: [String])] = [("level", random.chance(70) ? ["low"] : ["low", "high"])]
            if random.chance(30) { clauses.append(("area", [random.pick(["x", "y"])])) }
            var grant = Grant(
                id: "by-tags", principals: [random.chance(85) ? random.pick(holders) : random.pick(others)], permissions: [.data(.select)],
                resource: .tags(TagExpression(clauses)))
            if random.chance(40) {
                let chosen = scenario.columns.filter { _ in random.chance(50) }.map { ColumnRef($0.name) }
                if !chosen.isEmpty { grant.columns = .exclude(chosen) }
            }
            for column in scenario.columns where random.chance(30) {
                var m = mask(column.kind, &random)
                if case .expression = m {
                    m = .expression(.concat(.call("substr", [.column(ColumnRef(column.name)), .literal(.integer(1)), .literal(.integer(2))]), .literal(.text("*"))))
                }
                grant.masks.append(ColumnMask(ColumnRef(column.name), m))
            }
            scenario.grants.append(grant)
        }
        if random.chance(12) {
            scenario.grants.append(
                Grant(
                    id: "deny-tags", effect: .deny, principals: [random.pick(holders + others)], permissions: [.data(.select)],
                    resource: .tags(TagExpression([("area", [random.pick(["x", "y"])])]))))
        }
        scenario.table.tags = scenario.tableTags
        for index in scenario.table.columns.indices { scenario.table.columns[index].tags = scenario.columnTags[index] }
        return scenario
    }

    static func generate(_ random: inout Random) -> Scenario {
        let kinds: [Kind] = [.int, .text, .date]
        let columns = (0..<(2 + random.int(4))).map { i in (name: "c\(i)", kind: random.pick(kinds)) }
        let rows = (0..<(3 + random.int(12))).map { _ in columns.map { value($0.kind, &random) } }
        let me = Principal(.user, "u")
        let resource = ResourcePattern.table(catalog: nil, database: "d", name: "t")
        var grants: [Grant] = []
        for g in 0..<(1 + random.int(3)) {
            var grant = Grant(id: "allow\(g)", principals: [me], permissions: [.data(.select)], resource: resource)
            if random.chance(70) { grant.rows = predicate(columns, &random) }
            if random.chance(50) {
                let chosen = columns.filter { _ in random.chance(60) }.map { ColumnRef($0.name) }
                if !chosen.isEmpty { grant.columns = random.chance(50) ? .include(chosen) : .exclude(chosen) }
            }
            for column in columns where random.chance(25) {
                var m = mask(column.kind, &random)
                if case .expression = m {
                    m = .expression(.concat(.call("substr", [.column(ColumnRef(column.name)), .literal(.integer(1)), .literal(.integer(2))]), .literal(.text("*"))))
                }
                grant.masks.append(ColumnMask(ColumnRef(column.name), m))
            }
            grants.append(grant)
        }
        if random.chance(20) {
            grants.append(
                Grant(id: "deny-rows", effect: .deny, principals: [me], permissions: [.data(.select)], resource: resource, rows: predicate(columns, &random)))
        }
        if random.chance(15) {
            grants.append(
                Grant(id: "deny-cols", effect: .deny, principals: [me], permissions: [.data(.select)], resource: resource, columns: .include([ColumnRef(random.pick(columns).name)])))
        }
        let table = TableDescriptor(
            id: "t", database: DatabaseDescriptor(catalog: "lakehouse", name: "d"), name: "t",
            columns: columns.enumerated().map { ColumnDescriptor(id: "col\($0.offset)", name: $0.element.name) })
        return Scenario(columns: columns, rows: rows, grants: grants, table: table)
    }

    func describe() -> String {
        "columns \(columns.map { "\($0.name):\($0.kind)" }) rows \(rows)\ngroups \(groups) roles \(roles.values.map { "\($0.name) \($0.members) < \($0.inherits)" })"
            + "\ntags: table \(tableTags) columns \(columnTags)\ngrants:\n"
            + grants.map { "  \($0.id) to \($0.principals): \($0.summary.joined(separator: "; "))" }.joined(separator: "\n")
    }

    func plan() -> (AccessPlan, PolicyEngine) {
        let engine = PolicyEngine(policy: policy)
        return (engine.accessPlan(user: "u", table: table), engine)
    }

    struct Result: Equatable, CustomStringConvertible {
        var columns: [String]
        var rows: [[V]]  // sorted, so row order does not matter
        var description: String { "\(columns) \(rows)" }
    }

    func runCompiled() throws -> (Result?, AccessPlan) {
        let (plan, _) = plan()
        return (try run(plan), plan)
    }

    func run(_ plan: AccessPlan) throws -> Result? {
        guard let sql = SecureView.select(plan, from: "t") else { return nil }
        let db = try DatabaseQueue.inMemory()
        return try db.write { db in
            try SecureView.registerFunctions(db)
            try db.execute("CREATE TABLE t (\(columns.map { "\($0.name) \($0.kind == .int ? "INTEGER" : "TEXT")" }.joined(separator: ", ")))")
            let insert = try db.makeStatement("INSERT INTO t VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))")
            for row in rows { try insert.execute(StatementArguments(row.map(\.database))) }
            let statement = try db.makeStatement(sql)
            let names = statement.columnNames
            let fetched = try statement.fetchAll().map { row in row.values.map(V.init) }
            return Result(columns: names, rows: fetched.sorted { "\($0)" < "\($1)" })
        }
    }

    // MARK: The oracle: the rules of Docs/governance.md, applied naively from the grants.

    /// Who `u` is: the user, the groups listing it, the roles whose members include one of those, and every
    /// role such a role inherits, transitively (worked out here from the policy's lists, not by the engine).
    func principalsOfU() -> Set<Principal> {
        var held: Set<Principal> = [Principal(.user, "u")]
        for (group, members) in groups where members.contains("u") { held.insert(Principal(.group, group)) }
        var changed = true
        while changed {
            changed = false
            for (name, role) in roles where !held.contains(Principal(.role, name)) {
                let member = role.members.contains { held.contains($0) }
                let inheritedBy = roles.values.contains { other in held.contains(Principal(.role, other.name)) && other.inherits.contains(name) }
                if member || inheritedBy {
                    held.insert(Principal(.role, name))
                    changed = true
                }
            }
        }
        return held
    }

    /// The grants that reach `u`, in policy order.
    func grantsOfU() -> [Grant] {
        let held = principalsOfU()
        return grants.filter { grant in grant.principals.contains { held.contains($0) } }
    }

    func oracle() -> Result? {
        let mine = grantsOfU()
        let allows = mine.filter { $0.effect == .allow }
        let denies = mine.filter { $0.effect == .deny }
        func columnsOf(_ grant: Grant) -> [String] {
            var all = columns.map(\.name)
            if case .tags(let expression) = grant.resource {
                // A column's tag: its own, else its table's. Every key must match one of its values.
                all = columns.indices.filter { index in
                    expression.clauses.allSatisfy { clause in
                        (columnTags[index][clause.key] ?? tableTags[clause.key]).map { clause.values.contains($0) } ?? false
                    }
                }.map { columns[$0].name }
            }
            switch grant.columns {
            case nil: return all
            case .include(let refs)?: return all.filter { name in refs.contains { $0.name == name } }
            case .exclude(let refs)?: return all.filter { name in !refs.contains { $0.name == name } }
            }
        }
        let deniedColumns = Set(denies.filter { $0.rows == nil }.flatMap(columnsOf))
        let visible = columns.map(\.name).filter { name in
            !deniedColumns.contains(name) && allows.contains { columnsOf($0).contains(name) }
        }
        guard !visible.isEmpty else { return nil }
        var out: [[V]] = []
        for row in rows {
            // A grant left with no columns (all excluded or denied) admits nothing: rows alone would reveal that they exist.
            let admitting = allows.filter { grant in
                !Set(columnsOf(grant)).subtracting(deniedColumns).isEmpty && (grant.rows.map { truth($0, row) == true } ?? true)
            }
            guard !admitting.isEmpty else { continue }
            // A deny whose filter is true or unknown removes the row.
            if denies.contains(where: { deny in deny.rows.map { truth($0, row) != false } ?? false }) { continue }
            var cells: [V] = []
            for name in visible {
                let value = row[columns.firstIndex { $0.name == name }!]
                let granting = admitting.filter { columnsOf($0).contains(name) }
                if granting.isEmpty {
                    cells.append(.null)
                } else if granting.contains(where: { g in !g.masks.contains { $0.column.name == name } }) {
                    cells.append(value)
                } else {
                    let masks = granting.map { g in g.masks.last { $0.column.name == name }!.mask }
                    let best = masks.max { rank($0) < rank($1) }!
                    cells.append(apply(best, value))
                }
            }
            out.append(cells)
        }
        return Result(columns: visible, rows: out.sorted { "\($0)" < "\($1)" })
    }

    func rank(_ mask: Mask) -> Int {
        switch mask {
        case .null: 0
        case .redact: 1
        case .hash: 2
        case .dateToYear: 3
        case .showLast(let n): 4 + n
        case .expression: 1_000_000
        }
    }

    func apply(_ mask: Mask, _ value: V) -> V {
        let text: String? =
            switch value {
            case .null: nil
            case .int(let i): String(i)
            case .text(let s): s
            }
        guard let text else { return .null }
        switch mask {
        case .null: return .null
        case .redact: return .text("[REDACTED]")
        case .hash:
            return .text(SHA256.hash(data: Array(text.utf8)).map { byte in String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }.joined())
        case .showLast(let n):
            let chars = Array(text)
            if chars.count <= n { return .text(text) }
            return .text(String(repeating: "*", count: chars.count - n) + String(chars.suffix(n)))
        case .dateToYear:
            // strftime('%Y') accepts YYYY-MM-DD dates and gives NULL for anything else.
            let parts = text.split(separator: "-")
            guard parts.count == 3, parts[0].count == 4, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }),
                let month = Int(parts[1]), let day = Int(parts[2]), parts[1].count == 2, parts[2].count == 2, (1...12).contains(month), (1...31).contains(day)
            else {
                return .null
            }
            return .text(String(parts[0]))
        case .expression:
            // The generated custom mask is substr(x, 1, 2) || '*'.
            return .text(String(Array(text).prefix(2)) + "*")
        }
    }

    /// SQL's three-valued truth of a predicate on a row (nil = unknown).
    func truth(_ predicate: RowPredicate, _ row: [V]) -> Bool? {
        func value(_ operand: Operand) -> V {
            switch operand {
            case .column(let ref): return row[columns.firstIndex { $0.name == ref.name }!]
            case .literal(.integer(let i)): return .int(i)
            case .literal(.text(let s)): return .text(s)
            case .literal(.boolean(let b)): return .int(b ? 1 : 0)
            case .literal(.real(let d)): return .int(Int64(d))
            case .literal(.null), .currentUser: return .null
            }
        }
        // SQLite orders values by type: NULL < numbers < text.
        func compare(_ a: V, _ b: V) -> Int? {
            switch (a, b) {
            case (.null, _), (_, .null): return nil
            case (.int(let x), .int(let y)): return x < y ? -1 : (x == y ? 0 : 1)
            case (.text(let x), .text(let y)):
                let xs = Array(x.utf8), ys = Array(y.utf8)
                return xs.lexicographicallyPrecedes(ys) ? -1 : (xs == ys ? 0 : 1)
            case (.int, .text): return -1
            case (.text, .int): return 1
            }
        }
        func and(_ values: [Bool?]) -> Bool? {
            if values.contains(false) { return false }
            return values.contains(nil) ? nil : true
        }
        func or(_ values: [Bool?]) -> Bool? {
            if values.contains(true) { return true }
            return values.contains(nil) ? nil : false
        }
        switch predicate {
        case .and(let parts): return and(parts.map { truth($0, row) })
        case .or(let parts): return or(parts.map { truth($0, row) })
        case .not(let inner): return truth(inner, row).map { !$0 }
        case .constant(let b): return b
        case .isNull(let a, let negated): return (value(a) == .null) != negated
        case .compare(let a, let op, let b):
            guard let c = compare(value(a), value(b)) else { return nil }
            switch op {
            case .equal: return c == 0
            case .notEqual: return c != 0
            case .less: return c < 0
            case .lessOrEqual: return c <= 0
            case .greater: return c > 0
            case .greaterOrEqual: return c >= 0
            }
        case .inList(let a, let list, let negated):
            let v = value(a)
            if v == .null { return nil }
            let results = list.map { item -> Bool? in compare(v, value(item)).map { $0 == 0 } }
            return or(results).map { $0 != negated }
        case .between(let a, let low, let high, let negated):
            let v = value(a)
            let lo = compare(v, value(low)).map { $0 >= 0 }
            let hi = compare(v, value(high)).map { $0 <= 0 }
            return and([lo, hi]).map { $0 != negated }
        case .like(let a, let pattern, let escape, let negated):
            let text: String
            switch value(a) {
            case .null: return nil
            case .int(let i): text = String(i)
            case .text(let s): text = s
            }
            return like(Array(text), Array(pattern), escape) != negated
        }
    }

    /// SQLite's LIKE: `%` any run, `_` one character, ASCII letters case-insensitive.
    func like(_ text: [Character], _ pattern: [Character], _ escape: Character?) -> Bool {
        func fold(_ c: Character) -> Character { c.isASCII ? Character(c.lowercased()) : c }
        func match(_ t: Int, _ p: Int) -> Bool {
            if p == pattern.count { return t == text.count }
            var c = pattern[p]
            if let escape, c == escape, p + 1 < pattern.count {
                c = pattern[p + 1]
                return t < text.count && fold(text[t]) == fold(c) && match(t + 1, p + 2)
            }
            if c == "%" {
                for k in t...text.count where match(k, p + 1) { return true }
                return false
            }
            if c == "_" { return t < text.count && match(t + 1, p + 1) }
            return t < text.count && fold(text[t]) == fold(c) && match(t + 1, p + 1)
        }
        return match(0, 0)
    }
}
