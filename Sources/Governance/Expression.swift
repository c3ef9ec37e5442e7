/// A column named by a row filter, a mask or a grant.
///
/// A policy file names columns; `wb policy apply` binds each name to the
/// catalog's stable column id, so renaming a column keeps its grants.
public struct ColumnRef: Sendable, Hashable, CustomStringConvertible {
    /// The name as written (or the current name, once bound).
    public var name: String
    /// The catalog's column id, once bound.
    public var id: String?

    public init(_ name: String, id: String? = nil) {
        self.name = name
        self.id = id
    }

    public var description: String { Lexer.quoteIdentifierIfNeeded(name) }
}

/// A constant in an expression.
public enum Literal: Sendable, Hashable, CustomStringConvertible {
    case integer(Int64)
    case real(Double)
    case text(String)
    case boolean(Bool)
    case null

    public var description: String {
        switch self {
        case .integer(let v): String(v)
        case .real(let v): String(v)
        case .text(let s): Lexer.quote(s, with: "'")
        case .boolean(let b): b ? "TRUE" : "FALSE"
        case .null: "NULL"
        }
    }
}

/// One side of a comparison in a row filter.
public enum Operand: Sendable, Hashable, CustomStringConvertible {
    case column(ColumnRef)
    case literal(Literal)
    /// The name of the user the plan is made for (`CURRENT_USER`).
    case currentUser

    public var description: String {
        switch self {
        case .column(let c): c.description
        case .literal(let l): l.description
        case .currentUser: "CURRENT_USER"
        }
    }
}

/// A comparison operator of the row-filter grammar.
public enum ComparisonOperator: String, Sendable, Hashable {
    case equal = "="
    case notEqual = "<>"
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
}

/// A row filter: a boolean expression over a table's columns and literals.
///
/// The grammar (Docs/governance.md) has comparisons, `IN`, `BETWEEN`, `LIKE`,
/// `IS NULL` and `AND`/`OR`/`NOT`; nothing else, so a filter can never smuggle
/// SQL into an engine. Engines compile this tree; it is never spliced as text.
public indirect enum RowPredicate: Sendable, Hashable, CustomStringConvertible {
    case and([RowPredicate])
    case or([RowPredicate])
    case not(RowPredicate)
    case compare(Operand, ComparisonOperator, Operand)
    case isNull(Operand, negated: Bool)
    case inList(Operand, [Operand], negated: Bool)
    case between(Operand, low: Operand, high: Operand, negated: Bool)
    case like(Operand, pattern: String, escape: Character?, negated: Bool)
    case constant(Bool)

    /// Parses a row filter; errors carry the 1-based column where parsing failed.
    public static func parse(_ text: String) throws(GovernanceError) -> RowPredicate {
        var parser = try ExpressionParser(text)
        let predicate = try parser.parsePredicate()
        try parser.expectEnd()
        return predicate
    }

    /// Every column the predicate reads.
    public var columns: [ColumnRef] {
        var result: [ColumnRef] = []
        func add(_ operand: Operand) { if case .column(let c) = operand, !result.contains(c) { result.append(c) } }
        func walk(_ p: RowPredicate) {
            switch p {
            case .and(let ps), .or(let ps): ps.forEach(walk)
            case .not(let q): walk(q)
            case .compare(let a, _, let b): add(a); add(b)
            case .isNull(let a, _): add(a)
            case .inList(let a, let list, _): add(a); list.forEach(add)
            case .between(let a, let lo, let hi, _): add(a); add(lo); add(hi)
            case .like(let a, _, _, _): add(a)
            case .constant: break
            }
        }
        walk(self)
        return result
    }

    /// The same predicate with every column reference passed through `transform`.
    public func mapColumns(_ transform: (ColumnRef) throws(GovernanceError) -> ColumnRef) throws(GovernanceError) -> RowPredicate {
        func op(_ o: Operand) throws(GovernanceError) -> Operand {
            if case .column(let c) = o { return .column(try transform(c)) }
            return o
        }
        switch self {
        case .and(let ps):
            var out: [RowPredicate] = []
            for p in ps { out.append(try p.mapColumns(transform)) }
            return .and(out)
        case .or(let ps):
            var out: [RowPredicate] = []
            for p in ps { out.append(try p.mapColumns(transform)) }
            return .or(out)
        case .not(let q): return .not(try q.mapColumns(transform))
        case .compare(let a, let o, let b): return .compare(try op(a), o, try op(b))
        case .isNull(let a, let n): return .isNull(try op(a), negated: n)
        case .inList(let a, let list, let n):
            var out: [Operand] = []
            for item in list { out.append(try op(item)) }
            return .inList(try op(a), out, negated: n)
        case .between(let a, let lo, let hi, let n): return .between(try op(a), low: try op(lo), high: try op(hi), negated: n)
        case .like(let a, let p, let e, let n): return .like(try op(a), pattern: p, escape: e, negated: n)
        case .constant: return self
        }
    }

    /// Canonical text, parseable again by `parse`.
    public var description: String { render(parentPrecedence: 0) }

    private var precedence: Int {
        switch self {
        case .or: 1
        case .and: 2
        case .not: 3
        default: 4
        }
    }

    private func render(parentPrecedence: Int) -> String {
        let text: String
        switch self {
        case .or(let ps): text = ps.map { $0.render(parentPrecedence: 1) }.joined(separator: " OR ")
        case .and(let ps): text = ps.map { $0.render(parentPrecedence: 2) }.joined(separator: " AND ")
        case .not(let q): text = "NOT " + q.render(parentPrecedence: 3)
        case .compare(let a, let o, let b): text = "\(a) \(o.rawValue) \(b)"
        case .isNull(let a, let n): text = "\(a) IS \(n ? "NOT " : "")NULL"
        case .inList(let a, let list, let n):
            text = "\(a) \(n ? "NOT " : "")IN (\(list.map(\.description).joined(separator: ", ")))"
        case .between(let a, let lo, let hi, let n): text = "\(a) \(n ? "NOT " : "")BETWEEN \(lo) AND \(hi)"
        case .like(let a, let p, let e, let n):
            text = "\(a) \(n ? "NOT " : "")LIKE \(Literal.text(p))" + (e.map { " ESCAPE \(Literal.text(String($0)))" } ?? "")
        case .constant(let b): text = b ? "TRUE" : "FALSE"
        }
        return precedence < parentPrecedence ? "(\(text))" : text
    }
}

/// A value expression for a custom column mask: the masked column, literals,
/// `||` and arithmetic, and a short list of functions that cannot fail on any
/// input (so a mask can never raise an error that reveals a hidden value).
public indirect enum ValueExpression: Sendable, Hashable, CustomStringConvertible {
    case column(ColumnRef)
    case literal(Literal)
    case concat(ValueExpression, ValueExpression)
    case arithmetic(ValueExpression, Character, ValueExpression)
    case negate(ValueExpression)
    case call(String, [ValueExpression])

    /// Functions a custom mask may call, with their allowed argument counts.
    public static let functions: [String: ClosedRange<Int>] = [
        "substr": 2...3, "upper": 1...1, "lower": 1...1, "length": 1...1, "replace": 3...3,
        "trim": 1...2, "ltrim": 1...2, "rtrim": 1...2, "coalesce": 2...8, "ifnull": 2...2,
        "round": 1...2, "instr": 2...2, "hex": 1...1, "nullif": 2...2,
    ]

    /// Parses a mask expression.
    public static func parse(_ text: String) throws(GovernanceError) -> ValueExpression {
        var parser = try ExpressionParser(text)
        let value = try parser.parseValue()
        try parser.expectEnd()
        return value
    }

    /// Every column the expression reads.
    public var columns: [ColumnRef] {
        switch self {
        case .column(let c): [c]
        case .literal: []
        case .concat(let a, let b), .arithmetic(let a, _, let b): a.columns + b.columns.filter { !a.columns.contains($0) }
        case .negate(let a): a.columns
        case .call(_, let args):
            args.reduce(into: []) { acc, e in for c in e.columns where !acc.contains(c) { acc.append(c) } }
        }
    }

    /// The same expression with every column reference passed through `transform`.
    public func mapColumns(_ transform: (ColumnRef) -> ColumnRef) -> ValueExpression {
        switch self {
        case .column(let c): .column(transform(c))
        case .literal: self
        case .concat(let a, let b): .concat(a.mapColumns(transform), b.mapColumns(transform))
        case .arithmetic(let a, let op, let b): .arithmetic(a.mapColumns(transform), op, b.mapColumns(transform))
        case .negate(let a): .negate(a.mapColumns(transform))
        case .call(let name, let args): .call(name, args.map { $0.mapColumns(transform) })
        }
    }

    public var description: String {
        switch self {
        case .column(let c): c.description
        case .literal(let l): l.description
        case .concat(let a, let b): "(\(a) || \(b))"
        case .arithmetic(let a, let op, let b): "(\(a) \(op) \(b))"
        case .negate(let a): "-\(a)"
        case .call(let name, let args): "\(name)(\(args.map(\.description).joined(separator: ", ")))"
        }
    }
}

// MARK: - Lexer

struct Token: Equatable {
    enum Kind: Equatable {
        case identifier(String)
        case quotedIdentifier(String)
        case string(String)
        case integer(Int64)
        case real(Double)
        case symbol(String)
        case end
    }
    var kind: Kind
    /// 1-based column (in characters) where the token starts.
    var column: Int

    /// The keyword this token spells, upper-cased, if it is a bare word.
    var keyword: String? {
        if case .identifier(let word) = kind { return word.uppercased() }
        return nil
    }
}

enum Lexer {
    static let keywords: Set<String> = [
        "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "ESCAPE", "IS", "NULL", "TRUE", "FALSE", "CURRENT_USER",
    ]

    /// SQL words printed quoted when they name a column, so canonical text reads unambiguously.
    static let sqlReserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "GROUP", "ORDER", "BY", "LIMIT", "UNION", "JOIN", "ON", "AS", "TABLE", "CASE", "WHEN",
        "THEN", "ELSE", "END", "HAVING", "DISTINCT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP",
    ]

    static func isIdentifierStart(_ c: Character) -> Bool { c == "_" || (c.isASCII && c.isLetter) }
    static func isIdentifierPart(_ c: Character) -> Bool { c == "_" || (c.isASCII && (c.isLetter || c.isNumber)) }

    /// `name` as written in an expression: bare when it is a plain identifier, else double-quoted.
    static func quoteIdentifierIfNeeded(_ name: String) -> String {
        if let first = name.first, isIdentifierStart(first), name.allSatisfy(isIdentifierPart),
            !keywords.contains(name.uppercased()), !sqlReserved.contains(name.uppercased())
        {
            return name
        }
        return quote(name, with: "\"")
    }

    /// `text` between `quote` characters, each quote inside doubled (SQL style).
    static func quote(_ text: String, with quote: Character) -> String {
        var result = String(quote)
        for c in text {
            if c == quote { result.append(quote) }
            result.append(c)
        }
        result.append(quote)
        return result
    }

    static func tokenize(_ text: String) throws(GovernanceError) -> [Token] {
        let chars = Array(text)
        var tokens: [Token] = []
        var i = 0
        func fail(_ message: String, _ at: Int) -> GovernanceError {
            GovernanceError(.invalidExpression, message, at: .init(column: at + 1))
        }
        while i < chars.count {
            let c = chars[i]
            let start = i
            if c.isWhitespace {
                i += 1
                continue
            }
            if isIdentifierStart(c) {
                while i < chars.count, isIdentifierPart(chars[i]) { i += 1 }
                tokens.append(Token(kind: .identifier(String(chars[start..<i])), column: start + 1))
            } else if c == "\"" || c == "'" {
                var value = ""
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == c {
                        if i + 1 < chars.count, chars[i + 1] == c {
                            value.append(c)
                            i += 2
                            continue
                        }
                        i += 1
                        closed = true
                        break
                    }
                    value.append(chars[i])
                    i += 1
                }
                guard closed else {
                    throw fail(c == "'" ? "unterminated string" : "unterminated quoted name", start)
                }
                if c == "\"" {
                    guard !value.isEmpty else { throw fail("empty quoted name", start) }
                    tokens.append(Token(kind: .quotedIdentifier(value), column: start + 1))
                } else {
                    tokens.append(Token(kind: .string(value), column: start + 1))
                }
            } else if c.isASCII && c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isASCII && chars[i + 1].isNumber) {
                var isReal = false
                while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1 }
                if i < chars.count, chars[i] == "." {
                    isReal = true
                    i += 1
                    while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1 }
                }
                if i < chars.count, chars[i] == "e" || chars[i] == "E" {
                    var j = i + 1
                    if j < chars.count, chars[j] == "+" || chars[j] == "-" { j += 1 }
                    if j < chars.count, chars[j].isASCII, chars[j].isNumber {
                        isReal = true
                        i = j
                        while i < chars.count, chars[i].isASCII, chars[i].isNumber { i += 1 }
                    }
                }
                if i < chars.count, isIdentifierPart(chars[i]) {
                    throw fail("malformed number", start)
                }
                let literal = String(chars[start..<i])
                if isReal {
                    guard let value = Double(literal) else { throw fail("malformed number '\(literal)'", start) }
                    tokens.append(Token(kind: .real(value), column: start + 1))
                } else {
                    guard let value = Int64(literal) else {
                        throw fail("integer '\(literal)' does not fit in 64 bits", start)
                    }
                    tokens.append(Token(kind: .integer(value), column: start + 1))
                }
            } else {
                let two = i + 1 < chars.count ? String(chars[i...i + 1]) : ""
                if ["<=", ">=", "<>", "!=", "==", "||"].contains(two) {
                    tokens.append(Token(kind: .symbol(two), column: start + 1))
                    i += 2
                } else if "=<>(),+-*/%".contains(c) {
                    tokens.append(Token(kind: .symbol(String(c)), column: start + 1))
                    i += 1
                } else {
                    throw fail("unexpected character '\(c)'", start)
                }
            }
        }
        tokens.append(Token(kind: .end, column: chars.count + 1))
        return tokens
    }
}

// MARK: - Parser

struct ExpressionParser {
    private let tokens: [Token]
    private var index = 0

    init(_ text: String) throws(GovernanceError) {
        tokens = try Lexer.tokenize(text)
    }

    private var current: Token { tokens[index] }

    private func fail(_ message: String, _ token: Token? = nil) -> GovernanceError {
        GovernanceError(.invalidExpression, message, at: .init(column: (token ?? current).column))
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .identifier(let s): "'\(s)'"
        case .quotedIdentifier(let s): "\"\(s)\""
        case .string(let s): "string '\(s)'"
        case .integer(let v): String(v)
        case .real(let v): String(v)
        case .symbol(let s): "'\(s)'"
        case .end: "the end of the expression"
        }
    }

    private mutating func accept(keyword: String) -> Bool {
        if current.keyword == keyword {
            index += 1
            return true
        }
        return false
    }

    private mutating func accept(symbol: String) -> Bool {
        if current.kind == .symbol(symbol) {
            index += 1
            return true
        }
        return false
    }

    private mutating func expect(symbol: String) throws(GovernanceError) {
        guard accept(symbol: symbol) else { throw fail("expected '\(symbol)' but found \(describe(current))") }
    }

    private mutating func expect(keyword: String) throws(GovernanceError) {
        guard accept(keyword: keyword) else { throw fail("expected \(keyword) but found \(describe(current))") }
    }

    mutating func expectEnd() throws(GovernanceError) {
        guard current.kind == .end else { throw fail("unexpected \(describe(current))") }
    }

    // predicate := or
    mutating func parsePredicate() throws(GovernanceError) -> RowPredicate {
        guard current.kind != .end else { throw fail("the expression is empty") }
        return try parseOr()
    }

    private mutating func parseOr() throws(GovernanceError) -> RowPredicate {
        var terms = [try parseAnd()]
        while accept(keyword: "OR") { terms.append(try parseAnd()) }
        return terms.count == 1 ? terms[0] : .or(terms)
    }

    private mutating func parseAnd() throws(GovernanceError) -> RowPredicate {
        var terms = [try parseNot()]
        while accept(keyword: "AND") { terms.append(try parseNot()) }
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    private mutating func parseNot() throws(GovernanceError) -> RowPredicate {
        if accept(keyword: "NOT") { return .not(try parseNot()) }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(GovernanceError) -> RowPredicate {
        if current.kind == .symbol("(") {
            // A parenthesised predicate; operands are never parenthesised in this grammar.
            index += 1
            let inner = try parseOr()
            try expect(symbol: ")")
            return inner
        }
        if current.keyword == "TRUE" || current.keyword == "FALSE" {
            let next = tokens[index + 1]
            if next.kind == .end || next.kind == .symbol(")") || next.keyword == "AND" || next.keyword == "OR" {
                let value = current.keyword == "TRUE"
                index += 1
                return .constant(value)
            }
        }
        let left = try parseOperand()
        if accept(keyword: "IS") {
            let negated = accept(keyword: "NOT")
            try expect(keyword: "NULL")
            return .isNull(left, negated: negated)
        }
        let negated = accept(keyword: "NOT")
        if accept(keyword: "IN") {
            try expect(symbol: "(")
            var items = [try parseOperand()]
            while accept(symbol: ",") { items.append(try parseOperand()) }
            try expect(symbol: ")")
            return .inList(left, items, negated: negated)
        }
        if accept(keyword: "BETWEEN") {
            let low = try parseOperand()
            try expect(keyword: "AND")
            let high = try parseOperand()
            return .between(left, low: low, high: high, negated: negated)
        }
        if accept(keyword: "LIKE") {
            let patternToken = current
            guard case .string(let pattern) = current.kind else {
                throw fail("LIKE needs a string pattern, found \(describe(current))")
            }
            index += 1
            var escape: Character?
            if accept(keyword: "ESCAPE") {
                guard case .string(let e) = current.kind, e.count == 1 else {
                    throw fail("ESCAPE needs a one-character string")
                }
                escape = e.first
                index += 1
            }
            if let escape, !Self.isValidLikePattern(pattern, escape: escape) {
                throw fail("the LIKE pattern ends with its escape character", patternToken)
            }
            return .like(left, pattern: pattern, escape: escape, negated: negated)
        }
        if negated { throw fail("expected IN, BETWEEN or LIKE after NOT") }
        guard case .symbol(let symbol) = current.kind,
            let op: ComparisonOperator = switch symbol {
            case "=", "==": .equal
            case "<>", "!=": .notEqual
            case "<": .less
            case "<=": .lessOrEqual
            case ">": .greater
            case ">=": .greaterOrEqual
            default: nil
            }
        else {
            throw fail("expected a comparison, IS, IN, BETWEEN or LIKE after \(left) but found \(describe(current))")
        }
        index += 1
        let right = try parseOperand()
        return .compare(left, op, right)
    }

    private static func isValidLikePattern(_ pattern: String, escape: Character) -> Bool {
        var escaped = false
        for c in pattern {
            if escaped {
                escaped = false
            } else if c == escape {
                escaped = true
            }
        }
        return !escaped
    }

    private mutating func parseOperand() throws(GovernanceError) -> Operand {
        let token = current
        switch token.kind {
        case .identifier(let word):
            switch word.uppercased() {
            case "NULL":
                index += 1
                return .literal(.null)
            case "TRUE", "FALSE":
                index += 1
                return .literal(.boolean(word.uppercased() == "TRUE"))
            case "CURRENT_USER":
                index += 1
                return .currentUser
            case let keyword where Lexer.keywords.contains(keyword):
                throw fail("expected a column or a value but found \(keyword)")
            default:
                index += 1
                return .column(ColumnRef(word))
            }
        case .quotedIdentifier(let name):
            index += 1
            return .column(ColumnRef(name))
        case .string(let s):
            index += 1
            return .literal(.text(s))
        case .integer(let v):
            index += 1
            return .literal(.integer(v))
        case .real(let v):
            index += 1
            return .literal(.real(v))
        case .symbol("-"):
            index += 1
            switch current.kind {
            case .integer(let v):
                index += 1
                return .literal(.integer(-v))
            case .real(let v):
                index += 1
                return .literal(.real(-v))
            default:
                throw fail("'-' must be followed by a number here")
            }
        case .symbol("("):
            throw fail("parentheses group conditions, not values")
        default:
            throw fail("expected a column or a value but found \(describe(token))")
        }
    }

    // value := concat ; concat := additive ('||' additive)* ; additive := term (('+'|'-') term)* ;
    // term := unary (('*'|'/'|'%') unary)* ; unary := '-' unary | atom
    mutating func parseValue() throws(GovernanceError) -> ValueExpression {
        guard current.kind != .end else { throw fail("the expression is empty") }
        var left = try parseAdditive()
        while accept(symbol: "||") { left = .concat(left, try parseAdditive()) }
        return left
    }

    private mutating func parseAdditive() throws(GovernanceError) -> ValueExpression {
        var left = try parseTerm()
        while let op = acceptOperator("+-") { left = .arithmetic(left, op, try parseTerm()) }
        return left
    }

    private mutating func parseTerm() throws(GovernanceError) -> ValueExpression {
        var left = try parseUnary()
        while let op = acceptOperator("*/%") { left = .arithmetic(left, op, try parseUnary()) }
        return left
    }

    /// The next token when it is one of the one-character `operators`, consumed.
    private mutating func acceptOperator(_ operators: String) -> Character? {
        guard case .symbol(let symbol) = current.kind, symbol.count == 1, let op = symbol.first, operators.contains(op) else {
            return nil
        }
        index += 1
        return op
    }

    private mutating func parseUnary() throws(GovernanceError) -> ValueExpression {
        if accept(symbol: "-") { return .negate(try parseUnary()) }
        let token = current
        switch token.kind {
        case .symbol("("):
            index += 1
            let inner = try parseValue()
            try expect(symbol: ")")
            return inner
        case .identifier(let word):
            index += 1
            if accept(symbol: "(") {
                let name = word.lowercased()
                guard let arity = ValueExpression.functions[name] else {
                    throw fail(
                        "function '\(word)' is not allowed in a mask (allowed: \(ValueExpression.functions.keys.sorted().joined(separator: ", ")))",
                        token)
                }
                var args: [ValueExpression] = []
                if !accept(symbol: ")") {
                    args.append(try parseValue())
                    while accept(symbol: ",") { args.append(try parseValue()) }
                    try expect(symbol: ")")
                }
                guard arity.contains(args.count) else {
                    throw fail("\(name) takes \(arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) to \(arity.upperBound)") arguments, not \(args.count)", token)
                }
                return .call(name, args)
            }
            switch word.uppercased() {
            case "NULL": return .literal(.null)
            case "TRUE": return .literal(.boolean(true))
            case "FALSE": return .literal(.boolean(false))
            case let keyword where Lexer.keywords.contains(keyword):
                throw fail("expected a value but found \(keyword)", token)
            default: return .column(ColumnRef(word))
            }
        case .quotedIdentifier(let name):
            index += 1
            return .column(ColumnRef(name))
        case .string(let s):
            index += 1
            return .literal(.text(s))
        case .integer(let v):
            index += 1
            return .literal(.integer(v))
        case .real(let v):
            index += 1
            return .literal(.real(v))
        default:
            throw fail("expected a value but found \(describe(token))")
        }
    }
}
