import Storage

/// Reading SQL text as a console must: where statements end, whether input is finished, the word at the cursor.
enum SQLText {
    /// Splits SQL into statements at semicolons outside strings, quoted names and comments.
    /// Each piece keeps its text without the semicolon; `terminated` says whether one ended it.
    static func statements(_ sql: String) -> [(text: String, terminated: Bool)] {
        let s = Array(sql.unicodeScalars)
        var out: [(String, Bool)] = []
        var start = 0
        var i = 0
        func piece(_ from: Int, _ to: Int) -> String {
            var text = String.UnicodeScalarView()
            text.append(contentsOf: s[from..<to])
            return String(text)
        }
        while i < s.count {
            let c = s[i]
            switch c {
            case "'", "\"", "`":
                i += 1
                while i < s.count {
                    if s[i] == c {
                        if i + 1 < s.count && s[i + 1] == c {
                            i += 2
                            continue
                        }
                        break
                    }
                    i += 1
                }
                i += 1
            case "[":
                while i < s.count && s[i] != "]" { i += 1 }
                i += 1
            case "-" where i + 1 < s.count && s[i + 1] == "-":
                while i < s.count && s[i] != "\n" { i += 1 }
            case "/" where i + 1 < s.count && s[i + 1] == "*":
                i += 2
                while i < s.count && !(s[i] == "*" && i + 1 < s.count && s[i + 1] == "/") { i += 1 }
                i += 2
            case ";":
                out.append((piece(start, i), true))
                i += 1
                start = i
            default:
                i += 1
            }
        }
        if start < s.count { out.append((piece(min(start, s.count), s.count), false)) }
        return out.filter { !isBlank($0.0) }
    }

    /// Whether SQL holds nothing but whitespace and comments.
    static func isBlank(_ sql: String) -> Bool {
        let s = Array(sql.unicodeScalars)
        var i = 0
        while i < s.count {
            if s[i].properties.isWhitespace {
                i += 1
            } else if s[i] == "-" && i + 1 < s.count && s[i + 1] == "-" {
                while i < s.count && s[i] != "\n" { i += 1 }
            } else if s[i] == "/" && i + 1 < s.count && s[i + 1] == "*" {
                i += 2
                while i < s.count && !(s[i] == "*" && i + 1 < s.count && s[i + 1] == "/") { i += 1 }
                i += 2
            } else {
                return false
            }
        }
        return true
    }

    /// Whether SQL is ready to run: each statement must parse; a last one that SQLite calls
    /// incomplete (`SELECT * FROM`, an open string or comment) asks for more lines; a syntax
    /// error anywhere is invalid. Names need not exist: only the grammar is judged.
    static func completeness(_ sql: String) -> CompletenessJudgement {
        let pieces = statements(sql)
        if pieces.isEmpty { return .complete }
        guard let database = try? DatabaseQueue.inMemory() else { return .unknown }
        for (index, piece) in pieces.enumerated() {
            let last = index == pieces.count - 1
            let verdict = judgeOne(piece.text, database: database)
            switch verdict {
            case .complete: continue
            case .incomplete: return last ? .incomplete : .invalid
            case .invalid, .unknown: return verdict
            }
        }
        return .complete
    }

    enum CompletenessJudgement: Equatable {
        case complete, incomplete, invalid, unknown
    }

    private static func judgeOne(_ sql: String, database: DatabaseQueue) -> CompletenessJudgement {
        do {
            _ = try database.writeWithoutTransaction { db in try db.makeStatement(sql) }
            return .complete
        } catch let error as DatabaseError {
            let message = error.message
            if message.contains("incomplete input") { return .incomplete }
            if message.hasPrefix("unrecognized token: \"'") || message.hasPrefix("unrecognized token: \"\"")
                || message.hasPrefix("unrecognized token: \"`") || message.hasPrefix("unrecognized token: \"[")
            {
                return .incomplete  // an open string or quoted name: the next line may close it
            }
            if message.contains("syntax error") || message.contains("unrecognized token") { return .invalid }
            return .complete  // a name SQLite does not know here (no such table, function...): the grammar is fine
        } catch {
            return .unknown
        }
    }

    /// The identifier (with dots, as in `db.table`) that ends at `cursor` (in code points), and where it starts.
    static func word(endingAt cursor: Int, in code: String) -> (word: String, start: Int) {
        let s = Array(code.unicodeScalars)
        let end = min(max(cursor, 0), s.count)
        var start = end
        while start > 0 {
            let c = s[start - 1]
            if c.properties.isAlphabetic || c.properties.numericType != nil || c == "_" || c == "." || c == "$" {
                start -= 1
            } else {
                break
            }
        }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: s[start..<end])
        return (String(text), start)
    }
}
