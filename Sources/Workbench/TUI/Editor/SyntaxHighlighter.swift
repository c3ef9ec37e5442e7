/// The languages the cell editor highlights.
public enum SyntaxLanguage: Sendable, Hashable {
    /// Python (code cells of Python kernels, `.py` files).
    case python
    /// SQL (cells of the SQL kernel, `.sql` files).
    case sql
    /// Markdown (markdown cells, `.md` files).
    case markdown
    /// YAML (`.yaml`, `.yml` files).
    case yaml
    /// No highlighting (raw cells, `.txt` and anything else).
    case plain

    /// The language of a file with extension `fileExtension` (with or without the dot, any case): py, pyw, pyi, ipy → python; sql; md, markdown → markdown; yaml, yml → yaml; anything else → plain.
    public init(fileExtension: String) {
        var ext = fileExtension.lowercased()
        if ext.hasPrefix(".") { ext.removeFirst() }
        switch ext {
        case "py", "pyw", "pyi", "ipy": self = .python
        case "sql": self = .sql
        case "md", "markdown", "mdown", "mkd": self = .markdown
        case "yaml", "yml": self = .yaml
        default: self = .plain
        }
    }

    /// The language of a kernel's `language_info.name` (or a kernelspec's `language`): python, sql; anything else → plain.
    public init(languageName: String) {
        switch languageName.lowercased() {
        case "python", "python3", "ipython", "ipython3": self = .python
        case "sql", "sqlite", "postgresql", "mysql": self = .sql
        case "markdown", "md": self = .markdown
        default: self = .plain
        }
    }
}

/// What a highlighted piece of text is, which decides its style.
public enum SyntaxKind: Hashable, Sendable, CaseIterable {
    /// A reserved word (`def`, `SELECT`), including the constants `True`, `None`, `NULL`.
    case keyword
    /// A builtin function, type or exception (`print`, `len`, `COUNT`, `INTEGER`).
    case builtin
    /// A string literal, quotes included.
    case string
    /// A comment.
    case comment
    /// A number literal.
    case number
    /// A Python decorator (`@property`).
    case decorator
    /// The name a `def` or `class` defines.
    case definition
    /// A Markdown heading line.
    case heading
    /// Markdown `*emphasis*`.
    case emphasis
    /// Markdown `**strong**`.
    case strong
    /// Markdown code: a `code span` or a line inside a fenced block.
    case code
    /// The text of a Markdown link.
    case link
    /// The target of a Markdown link or an autolink.
    case url
    /// A Markdown list marker (`-`, `1.`).
    case listMarker
    /// A Markdown block quote marker.
    case quote
    /// A Markdown code fence line (```` ```python ````).
    case fence
    /// A Markdown thematic break (`---`).
    case rule
}

/// A highlighted stretch of one line, in Character offsets.
struct SyntaxToken: Hashable, Sendable {
    /// The Characters covered.
    var range: Range<Int>
    /// What they are.
    var kind: SyntaxKind

    init(_ range: Range<Int>, _ kind: SyntaxKind) {
        self.range = range
        self.kind = kind
    }
}

/// What a line leaves open for the next: the state the line tokenizer carries from line to line.
enum LexState: Hashable, Sendable {
    /// Nothing open.
    case normal
    /// Inside a string opened by `delimiter` (a Python triple quote, a Python string continued by
    /// a backslash, or an SQL string, which may span lines).
    case string(delimiter: String)
    /// Inside an SQL `/* */` comment.
    case blockComment
    /// Inside a Markdown fenced code block opened by `length` times `marker`.
    case fence(marker: Character, length: Int)
}

/// A small line tokenizer for Python, SQL and Markdown: each line is tokenized from the state the
/// line before it left, so an edit only re-tokenizes from the changed line until the states agree again.
public enum SyntaxHighlighter {
    /// The tokens of one line (as Characters) that starts in `state`, and the state it leaves.
    static func tokenize(_ line: [Character], language: SyntaxLanguage, state: LexState) -> (tokens: [SyntaxToken], end: LexState) {
        var tokens: [SyntaxToken] = []
        let end: LexState
        switch language {
        case .python: end = python(line, state, &tokens)
        case .sql: end = sql(line, state, &tokens)
        case .markdown: end = markdown(line, state, &tokens)
        case .yaml: end = yaml(line, &tokens)
        case .plain: end = .normal
        }
        return (tokens, end)
    }

    /// The state a line starting in `state` leaves: what `tokenize` returns as `end`, found by a
    /// byte scan when the line cannot change the state (no quote, comment or fence character in it).
    static func endState(of line: String, language: SyntaxLanguage, state: LexState) -> LexState {
        let utf8 = line.utf8
        switch (language, state) {
        case (.plain, _), (.yaml, _):
            return .normal
        case (.python, .normal):
            if !utf8.contains(where: { $0 == 0x22 || $0 == 0x27 }) { return .normal }
        case (.python, .string(let delimiter)) where delimiter.utf8.count == 3:
            // Only the closing triple quote ends it (a backslash can only break one up).
            if let quote = delimiter.utf8.first, !containsRun(of: quote, count: 3, in: utf8) { return state }
        case (.sql, .normal):
            if !utf8.contains(where: { $0 == 0x27 || $0 == 0x2F }) { return .normal }
        case (.sql, .blockComment):
            if !utf8.contains(0x2A) { return state }
        case (.sql, .string):
            if !utf8.contains(0x27) { return state }
        case (.markdown, .normal):
            if !utf8.contains(where: { $0 == 0x60 || $0 == 0x7E }) { return .normal }
        case (.markdown, .fence(let marker, _)):
            if let byte = marker.asciiValue, !utf8.contains(byte) { return state }
        default:
            break
        }
        return tokenize(Array(line), language: language, state: state).end
    }

    /// `text` highlighted as styled spans, one array per line: for read-only views of source.
    public static func spans(for text: String, language: SyntaxLanguage, theme: EditorTheme = .standard) -> [[Span]] {
        var state = LexState.normal
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            let characters = Array(line)
            let (tokens, end) = tokenize(characters, language: language, state: state)
            state = end
            return spans(characters, tokens, theme: theme)
        }
    }

    /// The lines `visible` of `lines` highlighted as styled spans (one array per visible line):
    /// the lines above are only scanned for the state they leave, so a long cell shown in part
    /// costs little more than its visible lines.
    public static func spans(forLines lines: [String], visible: Range<Int>, language: SyntaxLanguage, theme: EditorTheme = .standard) -> [[Span]] {
        let visible = visible.clamped(to: lines.indices)
        var state = LexState.normal
        for line in lines[..<visible.lowerBound] { state = endState(of: line, language: language, state: state) }
        var result: [[Span]] = []
        result.reserveCapacity(visible.count)
        for line in lines[visible] {
            let characters = Array(line)
            let (tokens, end) = tokenize(characters, language: language, state: state)
            state = end
            result.append(spans(characters, tokens, theme: theme))
        }
        return result
    }

    /// Characters and their tokens as spans, plain text between tokens.
    static func spans(_ characters: [Character], _ tokens: [SyntaxToken], theme: EditorTheme) -> [Span] {
        var spans: [Span] = []
        var at = 0
        for token in tokens {
            if token.range.lowerBound > at {
                spans.append(Span(String(characters[at..<token.range.lowerBound]), style: theme.text))
            }
            spans.append(Span(String(characters[token.range]), style: theme.style(for: token.kind)))
            at = token.range.upperBound
        }
        if at < characters.count { spans.append(Span(String(characters[at...]), style: theme.text)) }
        return spans
    }

    /// Whether `bytes` holds `count` times `byte` in a row.
    static func containsRun(of byte: UInt8, count: Int, in bytes: String.UTF8View) -> Bool {
        var run = 0
        for b in bytes {
            run = b == byte ? run + 1 : 0
            if run == count { return true }
        }
        return false
    }

    // MARK: Shared scanning

    static func isIdentifierStart(_ c: Character) -> Bool { c == "_" || c.isLetter }
    static func isIdentifierPart(_ c: Character) -> Bool { c == "_" || c.isLetter || c.isNumber }
    static func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }

    /// The end of the identifier starting at `i`.
    static func identifierEnd(_ line: [Character], from i: Int) -> Int {
        var j = i
        while j < line.count && isIdentifierPart(line[j]) { j += 1 }
        return j
    }

    /// The end of the number starting at `i` (decimal, hex, octal, binary, float, exponent, `_`, imaginary `j`).
    static func numberEnd(_ line: [Character], from i: Int) -> Int {
        var j = i
        while j < line.count {
            let c = line[j]
            if c.isASCII && (c.isLetter || c.isNumber) || c == "_" || c == "." {
                j += 1
            } else if (c == "+" || c == "-") && j > i && (line[j - 1] == "e" || line[j - 1] == "E")
                && !(line[i...].starts(with: ["0", "x"]) || line[i...].starts(with: ["0", "X"]))
            {
                j += 1
            } else {
                break
            }
        }
        return j
    }

    /// Scans a string body from `i` up to and including `delimiter`; a backslash escapes the next
    /// Character when `escapes`, and `delimiter` twice in a row is an escaped quote when `doubling`.
    /// Returns where the string ends and whether it closed on this line.
    static func stringEnd(_ line: [Character], from i: Int, delimiter: [Character], escapes: Bool, doubling: Bool = false) -> (end: Int, closed: Bool) {
        var j = i
        while j < line.count {
            if escapes && line[j] == "\\" {
                j += 2
                continue
            }
            if line[j] == delimiter[0] && j + delimiter.count <= line.count && Array(line[j..<(j + delimiter.count)]) == delimiter {
                if doubling && j + 1 < line.count && line[j + 1] == delimiter[0] {
                    j += 2
                    continue
                }
                return (j + delimiter.count, true)
            }
            j += 1
        }
        return (line.count, false)
    }

    // MARK: Python

    static let pythonKeywords: Set<String> = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
        "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
        "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
    ]

    static let pythonBuiltins: Set<String> = [
        "abs", "aiter", "all", "anext", "any", "ascii", "bin", "bool", "breakpoint", "bytearray", "bytes", "callable",
        "chr", "classmethod", "compile", "complex", "delattr", "dict", "dir", "divmod", "enumerate", "eval", "exec",
        "filter", "float", "format", "frozenset", "getattr", "globals", "hasattr", "hash", "help", "hex", "id", "input",
        "int", "isinstance", "issubclass", "iter", "len", "list", "locals", "map", "max", "memoryview", "min", "next",
        "object", "oct", "open", "ord", "pow", "print", "property", "range", "repr", "reversed", "round", "set",
        "setattr", "slice", "sorted", "staticmethod", "str", "sum", "super", "tuple", "type", "vars", "zip",
        "__import__", "self", "cls", "NotImplemented", "Ellipsis", "__name__", "__file__",
        "BaseException", "Exception", "ArithmeticError", "AssertionError", "AttributeError", "EOFError",
        "ImportError", "ModuleNotFoundError", "IndexError", "KeyError", "KeyboardInterrupt", "LookupError",
        "MemoryError", "NameError", "NotImplementedError", "OSError", "OverflowError", "RecursionError",
        "RuntimeError", "StopIteration", "SyntaxError", "SystemExit", "TypeError", "ValueError",
        "ZeroDivisionError", "FileNotFoundError", "PermissionError", "TimeoutError", "UnicodeError", "Warning",
        "DeprecationWarning", "UserWarning",
    ]

    /// Whether `prefix` may stand before a Python string's quote (`r`, `b`, `f`, `u`, `rb`, `fr`, ...).
    static func isStringPrefix(_ prefix: ArraySlice<Character>) -> Bool {
        let lower = String(prefix).lowercased()
        return ["r", "b", "f", "u", "t", "rb", "br", "fr", "rf", "tr", "rt"].contains(lower)
    }

    static func python(_ line: [Character], _ state: LexState, _ tokens: inout [SyntaxToken]) -> LexState {
        var i = 0
        if case .string(let delimiter) = state {
            let quote = Array(delimiter)
            let (end, closed) = stringEnd(line, from: 0, delimiter: quote, escapes: true)
            if end > 0 { tokens.append(SyntaxToken(0..<end, .string)) }
            if !closed {
                // A triple-quoted string stays open; a one-quote string only across a trailing backslash.
                return quote.count == 3 || line.last == "\\" ? state : .normal
            }
            i = end
        }
        var atLineStart = i == 0
        var defining = false
        while i < line.count {
            let c = line[i]
            if c == " " || c == "\t" {
                i += 1
                continue
            }
            let wasAtLineStart = atLineStart
            atLineStart = false
            if c == "#" {
                tokens.append(SyntaxToken(i..<line.count, .comment))
                return .normal
            }
            if c == "\"" || c == "'" {
                if let open = pythonString(line, start: i, quoteAt: i, &tokens) { return open }
                i = tokens[tokens.count - 1].range.upperBound
                defining = false
                continue
            }
            if isDigit(c) || (c == "." && i + 1 < line.count && isDigit(line[i + 1])) {
                let end = numberEnd(line, from: i)
                tokens.append(SyntaxToken(i..<end, .number))
                i = end
                defining = false
                continue
            }
            if isIdentifierStart(c) {
                let end = identifierEnd(line, from: i)
                if end < line.count && (line[end] == "\"" || line[end] == "'") && isStringPrefix(line[i..<end]) {
                    if let open = pythonString(line, start: i, quoteAt: end, &tokens) { return open }
                    i = tokens[tokens.count - 1].range.upperBound
                    defining = false
                    continue
                }
                let word = String(line[i..<end])
                if wasAtLineStart && (word == "match" || word == "case") && isSoftKeywordStatement(line, after: end) {
                    tokens.append(SyntaxToken(i..<end, .keyword))
                    i = end
                    continue
                }
                if defining {
                    tokens.append(SyntaxToken(i..<end, .definition))
                    defining = false
                } else if pythonKeywords.contains(word) {
                    tokens.append(SyntaxToken(i..<end, .keyword))
                    defining = word == "def" || word == "class"
                } else if pythonBuiltins.contains(word) && !(i > 0 && line[i - 1] == ".") {
                    tokens.append(SyntaxToken(i..<end, .builtin))
                }
                i = end
                continue
            }
            if c == "@" && wasAtLineStart {
                var end = i + 1
                while end < line.count && (isIdentifierPart(line[end]) || line[end] == ".") { end += 1 }
                tokens.append(SyntaxToken(i..<end, .decorator))
                i = end
                continue
            }
            defining = false
            i += 1
        }
        return .normal
    }

    /// Whether `match` or `case` ending at `end` starts a statement rather than naming something:
    /// a subject follows (not `=`, `.`, `,` or `)`) and a `:` comes later on the line.
    static func isSoftKeywordStatement(_ line: [Character], after end: Int) -> Bool {
        var next = end
        while next < line.count && line[next] == " " { next += 1 }
        guard next > end || (next < line.count && (line[next] == "(" || line[next] == "[")) else { return false }
        guard next < line.count, !"=.,):".contains(line[next]) else { return false }
        return line[next...].contains(":")
    }

    /// Adds the string token that starts at `start` (its prefix) with a quote at `quoteAt`; returns the open state when it runs past the line.
    static func pythonString(_ line: [Character], start: Int, quoteAt: Int, _ tokens: inout [SyntaxToken]) -> LexState? {
        let q = line[quoteAt]
        let triple = quoteAt + 2 < line.count && line[quoteAt + 1] == q && line[quoteAt + 2] == q
        let delimiter: [Character] = triple ? [q, q, q] : [q]
        let (end, closed) = stringEnd(line, from: quoteAt + delimiter.count, delimiter: delimiter, escapes: true)
        tokens.append(SyntaxToken(start..<end, .string))
        if closed { return nil }
        if triple || line.last == "\\" { return .string(delimiter: String(delimiter)) }
        return nil  // an unterminated one-line string ends with its line
    }

    // MARK: SQL

    static let sqlKeywords: Set<String> = [
        "ABORT", "ACTION", "ADD", "AFTER", "ALL", "ALTER", "ANALYZE", "AND", "AS", "ASC", "ATTACH", "AUTOINCREMENT",
        "BEFORE", "BEGIN", "BETWEEN", "BY", "CASCADE", "CASE", "CAST", "CHECK", "COLLATE", "COLUMN", "COMMIT",
        "CONFLICT", "CONSTRAINT", "CREATE", "CROSS", "CURRENT", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP",
        "DATABASE", "DEFAULT", "DEFERRABLE", "DEFERRED", "DELETE", "DESC", "DETACH", "DISTINCT", "DO", "DROP", "EACH",
        "ELSE", "END", "ESCAPE", "EXCEPT", "EXCLUDE", "EXCLUSIVE", "EXISTS", "EXPLAIN", "FAIL", "FALSE", "FILTER",
        "FIRST", "FOLLOWING", "FOR", "FOREIGN", "FROM", "FULL", "GENERATED", "GLOB", "GRANT", "GROUP", "GROUPS",
        "HAVING", "IF", "IGNORE", "ILIKE", "IMMEDIATE", "IN", "INDEX", "INDEXED", "INITIALLY", "INNER", "INSERT",
        "INSTEAD", "INTERSECT", "INTO", "IS", "ISNULL", "JOIN", "KEY", "LAST", "LATERAL", "LEFT", "LIKE", "LIMIT",
        "MATCH", "MATERIALIZED", "NATURAL", "NO", "NOT", "NOTHING", "NOTNULL", "NULL", "NULLS", "OF", "OFFSET", "ON",
        "OR", "ORDER", "OTHERS", "OUTER", "OVER", "PARTITION", "PLAN", "PRAGMA", "PRECEDING", "PRIMARY", "QUERY",
        "RAISE", "RANGE", "RECURSIVE", "REFERENCES", "REGEXP", "REINDEX", "RELEASE", "RENAME", "REPLACE", "RESTRICT",
        "RETURNING", "REVOKE", "RIGHT", "ROLLBACK", "ROW", "ROWS", "SAVEPOINT", "SCHEMA", "SELECT", "SET", "TABLE",
        "TEMP", "TEMPORARY", "THEN", "TIES", "TO", "TRANSACTION", "TRIGGER", "TRUE", "UNBOUNDED", "UNION", "UNIQUE",
        "UPDATE", "USING", "VACUUM", "VALUES", "VIEW", "VIRTUAL", "WHEN", "WHERE", "WINDOW", "WITH", "WITHOUT",
    ]

    /// Type names: builtins wherever they stand.
    static let sqlTypes: Set<String> = [
        "INTEGER", "INT", "BIGINT", "SMALLINT", "TINYINT", "TEXT", "REAL", "BLOB", "NUMERIC", "VARCHAR", "CHAR",
        "BOOLEAN", "BOOL", "DATETIME", "TIMESTAMP", "FLOAT", "DOUBLE", "DECIMAL",
    ]

    /// Function names: builtins only when called (`total` may well be a column).
    static let sqlFunctions: Set<String> = [
        "ABS", "DATE", "AVG", "CHANGES", "COALESCE", "COUNT", "DENSE_RANK", "FIRST_VALUE", "GROUP_CONCAT", "HEX", "IFNULL",
        "IIF", "INSTR", "JSON_EXTRACT", "JSON_OBJECT", "JSON_ARRAY", "LAG", "LAST_VALUE", "LEAD", "LENGTH", "LOWER",
        "LTRIM", "MAX", "MIN", "NTILE", "NULLIF", "PRINTF", "RANDOM", "RANK", "ROUND", "ROW_NUMBER", "RTRIM",
        "STRFTIME", "SUBSTR", "SUBSTRING", "SUM", "TIME", "TOTAL", "TRIM", "TYPEOF", "UPPER", "JULIANDAY", "UNIXEPOCH",
        "JSON",
    ]

    static func sql(_ line: [Character], _ state: LexState, _ tokens: inout [SyntaxToken]) -> LexState {
        var i = 0
        switch state {
        case .blockComment:
            let (end, closed) = stringEnd(line, from: 0, delimiter: ["*", "/"], escapes: false)
            if end > 0 { tokens.append(SyntaxToken(0..<end, .comment)) }
            if !closed { return state }
            i = end
        case .string(let delimiter):
            let (end, closed) = stringEnd(line, from: 0, delimiter: Array(delimiter), escapes: false, doubling: true)
            if end > 0 { tokens.append(SyntaxToken(0..<end, .string)) }
            if !closed { return state }
            i = end
        default:
            break
        }
        while i < line.count {
            let c = line[i]
            let next: Character? = i + 1 < line.count ? line[i + 1] : nil
            if c == "-" && next == "-" {
                tokens.append(SyntaxToken(i..<line.count, .comment))
                return .normal
            }
            if c == "/" && next == "*" {
                let (end, closed) = stringEnd(line, from: i + 2, delimiter: ["*", "/"], escapes: false)
                tokens.append(SyntaxToken(i..<end, .comment))
                if !closed { return .blockComment }
                i = end
                continue
            }
            if c == "'" {
                let (end, closed) = stringEnd(line, from: i + 1, delimiter: ["'"], escapes: false, doubling: true)
                tokens.append(SyntaxToken(i..<end, .string))
                if !closed { return .string(delimiter: "'") }
                i = end
                continue
            }
            if c == "\"" || c == "`" || c == "[" {
                // A quoted identifier: no keywords inside.
                let close: Character = c == "[" ? "]" : c
                var end = i + 1
                while end < line.count && line[end] != close { end += 1 }
                i = min(line.count, end + 1)
                continue
            }
            if isDigit(c) || (c == "." && next.map(isDigit) == true) {
                let end = numberEnd(line, from: i)
                tokens.append(SyntaxToken(i..<end, .number))
                i = end
                continue
            }
            if isIdentifierStart(c) {
                let end = identifierEnd(line, from: i)
                let word = String(line[i..<end]).uppercased()
                var after = end
                while after < line.count && line[after] == " " { after += 1 }
                let called = after < line.count && line[after] == "("
                if i > 0 && line[i - 1] == "." {
                    // A column or table after a qualifier, whatever its name.
                } else if sqlKeywords.contains(word) {
                    tokens.append(SyntaxToken(i..<end, .keyword))
                } else if sqlTypes.contains(word) || (called && sqlFunctions.contains(word)) {
                    tokens.append(SyntaxToken(i..<end, .builtin))
                }
                i = end
                continue
            }
            if (c == ":" || c == "@" || c == "$") && next.map(isIdentifierPart) == true {
                i = identifierEnd(line, from: i + 1)  // a parameter
                continue
            }
            i += 1
        }
        return .normal
    }

    // MARK: Markdown

    static func markdown(_ line: [Character], _ state: LexState, _ tokens: inout [SyntaxToken]) -> LexState {
        var indent = 0
        while indent < line.count && line[indent] == " " { indent += 1 }
        if case .fence(let marker, let length) = state {
            var run = indent
            while run < line.count && line[run] == marker { run += 1 }
            let closes = indent <= 3 && run - indent >= length && line[run...].allSatisfy { $0 == " " || $0 == "\t" }
            if !line.isEmpty { tokens.append(SyntaxToken(0..<line.count, closes ? .fence : .code)) }
            return closes ? .normal : state
        }
        guard indent < line.count else { return .normal }
        if indent >= 4 {
            tokens.append(SyntaxToken(indent..<line.count, .code))  // an indented code block
            return .normal
        }
        let first = line[indent]
        if first == "`" || first == "~" {
            var run = indent
            while run < line.count && line[run] == first { run += 1 }
            if run - indent >= 3 && !(first == "`" && line[run...].contains("`")) {
                tokens.append(SyntaxToken(indent..<line.count, .fence))
                return .fence(marker: first, length: run - indent)
            }
        }
        if first == "#" {
            var run = indent
            while run < line.count && line[run] == "#" { run += 1 }
            if run - indent <= 6 && (run == line.count || line[run] == " " || line[run] == "\t") {
                tokens.append(SyntaxToken(indent..<line.count, .heading))
                return .normal
            }
        }
        if first == "-" || first == "*" || first == "_" {
            let marks = line[indent...].filter { $0 != " " && $0 != "\t" }
            if marks.count >= 3 && marks.allSatisfy({ $0 == first }) {
                tokens.append(SyntaxToken(indent..<line.count, .rule))
                return .normal
            }
        }
        var i = indent
        while i < line.count && line[i] == ">" {
            tokens.append(SyntaxToken(i..<(i + 1), .quote))
            i += 1
            while i < line.count && line[i] == " " { i += 1 }
        }
        if i < line.count {
            let c = line[i]
            if (c == "-" || c == "*" || c == "+") && (i + 1 == line.count || line[i + 1] == " ") {
                tokens.append(SyntaxToken(i..<(i + 1), .listMarker))
                i += 1
            } else if isDigit(c) {
                var end = i
                while end < line.count && isDigit(line[end]) && end - i < 9 { end += 1 }
                if end < line.count && (line[end] == "." || line[end] == ")") && (end + 1 == line.count || line[end + 1] == " ") {
                    tokens.append(SyntaxToken(i..<(end + 1), .listMarker))
                    i = end + 1
                }
            }
        }
        markdownInline(line, from: i, &tokens)
        return .normal
    }

    /// Code spans, strong and emphasis, links and autolinks from `start` to the end of the line.
    static func markdownInline(_ line: [Character], from start: Int, _ tokens: inout [SyntaxToken]) {
        var i = start
        while i < line.count {
            let c = line[i]
            if c == "\\" {
                i += 2
                continue
            }
            if c == "`" {
                let span = CodeSpan.match(line, at: i)
                if let close = span.close {
                    tokens.append(SyntaxToken(i..<(close + span.ticks), .code))
                    i = close + span.ticks
                } else {
                    i = span.contentStart
                }
                continue
            }
            if c == "*" || c == "_" {
                let double = i + 1 < line.count && line[i + 1] == c
                let marker: [Character] = double ? [c, c] : [c]
                let open = i + marker.count
                let flanking = open < line.count && line[open] != " " && line[open] != c
                let intraword = c == "_" && i > 0 && isIdentifierPart(line[i - 1])
                if flanking && !intraword, let close = emphasisClose(line, from: open, marker: marker) {
                    tokens.append(SyntaxToken(i..<(close + marker.count), double ? .strong : .emphasis))
                    i = close + marker.count
                    continue
                }
                i = open
                continue
            }
            if c == "[" || (c == "!" && i + 1 < line.count && line[i + 1] == "[") {
                let open = c == "!" ? i + 1 : i
                if let close = line[(open + 1)...].firstIndex(of: "]"), close + 1 < line.count, line[close + 1] == "(",
                    let end = line[(close + 2)...].firstIndex(of: ")")
                {
                    tokens.append(SyntaxToken(i..<(close + 1), .link))
                    tokens.append(SyntaxToken((close + 1)..<(end + 1), .url))
                    i = end + 1
                    continue
                }
            }
            if c == "<", let end = line[(i + 1)...].firstIndex(of: ">") {
                let inner = String(line[(i + 1)..<end])
                if inner.hasPrefix("http://") || inner.hasPrefix("https://") || inner.hasPrefix("mailto:") {
                    tokens.append(SyntaxToken(i..<(end + 1), .url))
                    i = end + 1
                    continue
                }
            }
            i += 1
        }
    }

    /// Where the closing `marker` of an emphasis opened before `from` starts, if it closes on this line.
    static func emphasisClose(_ line: [Character], from: Int, marker: [Character]) -> Int? {
        var j = from + 1
        while j + marker.count <= line.count {
            if line[j] == "`" { return nil }  // keep it simple: no emphasis across code spans
            if Array(line[j..<(j + marker.count)]) == marker && line[j - 1] != " " {
                let after = j + marker.count
                if after < line.count && line[after] == marker[0] {
                    j += 1
                    continue
                }
                if marker[0] == "_" && after < line.count && isIdentifierPart(line[after]) {
                    j += 1
                    continue
                }
                return j
            }
            j += 1
        }
        return nil
    }
}

/// A Markdown code span (CommonMark 6.1): a run of backticks closed by the next run of the same length.
enum CodeSpan {
    /// For the backtick run starting at `start`: its length, where the span's content starts, and where
    /// the closing run starts (nil when no run of the same length follows on `chars`).
    static func match(_ chars: [Character], at start: Int) -> (ticks: Int, contentStart: Int, close: Int?) {
        var run = start
        while run < chars.count && chars[run] == "`" { run += 1 }
        let ticks = run - start
        var j = run
        while j < chars.count {
            guard chars[j] == "`" else {
                j += 1
                continue
            }
            var k = j
            while k < chars.count && chars[k] == "`" { k += 1 }
            if k - j == ticks { return (ticks, run, j) }
            j = k
        }
        return (ticks, run, nil)
    }
}
