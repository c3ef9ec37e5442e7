import Catalog

/// One SQL token with its place in the text (UTF-8 byte offsets).
struct SQLToken: Equatable {
    enum Kind: Equatable {
        case space, comment
        /// A bare word: a keyword or an unquoted identifier.
        case word
        /// `"name"`, `[name]` or `` `name` ``.
        case quotedIdentifier
        case string, number, blob, variable
        case dot, comma, semicolon, leftParen, rightParen
        /// Any other operator (`=`, `<>`, `||`, `*`, ...).
        case symbol
    }

    var kind: Kind
    /// Byte offsets of the token in the statement's UTF-8 text.
    var start: Int
    var end: Int
    /// The exact text.
    var text: String

    /// The name a word or quoted identifier stands for (quotes removed, doubled quotes undone).
    var identifier: String? {
        switch kind {
        case .word: return text
        case .quotedIdentifier:
            let inner = String(text.dropFirst().dropLast())
            switch text.first {
            case "\"": return inner.replacingAll("\"\"", with: "\"")
            case "`": return inner.replacingAll("``", with: "`")
            default: return inner
            }
        default: return nil
        }
    }

    /// Whether this is the bare keyword `word` (case-insensitive).
    func isKeyword(_ word: String) -> Bool {
        kind == .word && text.uppercased() == word
    }

    /// Whether the token is neither space nor comment.
    var isSignificant: Bool { kind != .space && kind != .comment }
}

/// Splits SQL into tokens the way SQLite's tokenizer does, so names are found outside strings and comments.
enum SQLTokenizer {
    /// The tokens of `sql`; an unterminated string, quoted name or comment is a syntax error at its start.
    static func tokenize(_ sql: String) throws(LakehouseError) -> [SQLToken] {
        let bytes = Array(sql.utf8)
        var tokens: [SQLToken] = []
        var i = 0
        func emit(_ kind: SQLToken.Kind, _ start: Int, _ end: Int) {
            tokens.append(SQLToken(kind: kind, start: start, end: end, text: String(decoding: bytes[start..<end], as: UTF8.self)))
        }
        func unterminated(_ what: String, _ start: Int) -> LakehouseError {
            LakehouseError.syntax("unterminated \(what)", sql: sql, offset: start)
        }
        while i < bytes.count {
            let c = bytes[i]
            let start = i
            switch c {
            case 0x20, 0x09, 0x0A, 0x0D, 0x0C:
                while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D, 0x0C].contains(bytes[i]) { i += 1 }
                emit(.space, start, i)
            case UInt8(ascii: "-") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "-"):
                while i < bytes.count, bytes[i] != 0x0A { i += 1 }
                emit(.comment, start, i)
            case UInt8(ascii: "/") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "*"):
                i += 2
                while i + 1 < bytes.count, !(bytes[i] == UInt8(ascii: "*") && bytes[i + 1] == UInt8(ascii: "/")) { i += 1 }
                // SQLite accepts a comment left open at the end of the text.
                i = min(i + 2, bytes.count)
                emit(.comment, start, i)
            case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "`"):
                i += 1
                while true {
                    guard i < bytes.count else {
                        throw unterminated(c == UInt8(ascii: "'") ? "string" : "quoted name", start)
                    }
                    if bytes[i] == c {
                        if i + 1 < bytes.count && bytes[i + 1] == c {
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    i += 1
                }
                emit(c == UInt8(ascii: "'") ? .string : .quotedIdentifier, start, i)
            case UInt8(ascii: "["):
                while i < bytes.count, bytes[i] != UInt8(ascii: "]") { i += 1 }
                guard i < bytes.count else { throw unterminated("quoted name", start) }
                i += 1
                emit(.quotedIdentifier, start, i)
            case _ where (c == UInt8(ascii: "x") || c == UInt8(ascii: "X")) && i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "'"):
                i += 2
                while i < bytes.count, bytes[i] != UInt8(ascii: "'") { i += 1 }
                guard i < bytes.count else { throw unterminated("blob literal", start) }
                i += 1
                emit(.blob, start, i)
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                i = scanNumber(bytes, i)
                emit(.number, start, i)
            case UInt8(ascii: "."):
                if i + 1 < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i + 1]),
                    !(tokens.last.map { $0.kind == .word || $0.kind == .quotedIdentifier } ?? false)
                {
                    i = scanNumber(bytes, i)
                    emit(.number, start, i)
                } else {
                    i += 1
                    emit(.dot, start, i)
                }
            case UInt8(ascii: "?"):
                i += 1
                while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) { i += 1 }
                emit(.variable, start, i)
            case UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "$"):
                i += 1
                while i < bytes.count, isIdentifierByte(bytes[i]) { i += 1 }
                emit(.variable, start, i)
            case UInt8(ascii: ","):
                i += 1
                emit(.comma, start, i)
            case UInt8(ascii: ";"):
                i += 1
                emit(.semicolon, start, i)
            case UInt8(ascii: "("):
                i += 1
                emit(.leftParen, start, i)
            case UInt8(ascii: ")"):
                i += 1
                emit(.rightParen, start, i)
            default:
                if isIdentifierStart(c) {
                    while i < bytes.count, isIdentifierByte(bytes[i]) { i += 1 }
                    emit(.word, start, i)
                } else {
                    i += 1
                    let two = i < bytes.count ? [c, bytes[i]] : [c]
                    if two.count == 2, ["||", "<=", ">=", "<>", "!=", "==", "<<", ">>", "->"].contains(String(decoding: two, as: UTF8.self)) {
                        i += 1
                        if two == Array("->".utf8), i < bytes.count, bytes[i] == UInt8(ascii: ">") { i += 1 }
                    }
                    emit(.symbol, start, i)
                }
            }
        }
        return tokens
    }

    private static func scanNumber(_ bytes: [UInt8], _ start: Int) -> Int {
        var i = start
        if i + 1 < bytes.count, bytes[i] == UInt8(ascii: "0"), bytes[i + 1] | 0x20 == UInt8(ascii: "x") {
            i += 2
            while i < bytes.count, isIdentifierByte(bytes[i]) { i += 1 }
            return i
        }
        while i < bytes.count, isIdentifierByte(bytes[i]) || bytes[i] == UInt8(ascii: ".") {
            if bytes[i] | 0x20 == UInt8(ascii: "e"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "+") || bytes[i + 1] == UInt8(ascii: "-") {
                i += 2
                continue
            }
            i += 1
        }
        return i
    }

    static func isIdentifierStart(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || c == UInt8(ascii: "_")
            || c >= 0x80
    }

    static func isIdentifierByte(_ c: UInt8) -> Bool {
        isIdentifierStart(c) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "$")
    }

    /// The statements of a script: token slices between top-level semicolons, empty ones dropped.
    static func statements(_ tokens: [SQLToken]) -> [[SQLToken]] {
        var result: [[SQLToken]] = []
        var current: [SQLToken] = []
        var depth = 0
        var inTrigger = false
        for token in tokens {
            if token.kind == .leftParen { depth += 1 }
            if token.kind == .rightParen { depth = max(0, depth - 1) }
            if token.isKeyword("TRIGGER") { inTrigger = true }
            if inTrigger && token.isKeyword("END") { inTrigger = false }
            if token.kind == .semicolon && depth == 0 && !inTrigger {
                if current.contains(where: \.isSignificant) { result.append(current) }
                current = []
                continue
            }
            current.append(token)
        }
        if current.contains(where: \.isSignificant) { result.append(current) }
        return result
    }
}
