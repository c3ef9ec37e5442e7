extension SyntaxHighlighter {
    /// YAML's plain words that are not strings: booleans, null and its spellings.
    static let yamlConstants: Set<String> = ["true", "false", "True", "False", "TRUE", "FALSE", "null", "Null", "NULL", "~", "yes", "no", "on", "off"]

    /// One YAML line: document markers, list markers, keys, quoted strings, constants, numbers, anchors/aliases/tags, comments.
    ///
    /// Each line stands alone (block scalars and flow collections spanning lines are shown as plain text), so the state is always `.normal`.
    static func yaml(_ line: [Character], _ tokens: inout [SyntaxToken]) -> LexState {
        var i = 0
        if line.count >= 3, line[0..<3] == ["-", "-", "-"] || line[0..<3] == [".", ".", "."], line.count == 3 || line[3] == " " {
            tokens.append(SyntaxToken(0..<3, .rule))
            i = 3
        }
        while i < line.count && line[i] == " " { i += 1 }
        // List markers, as many as there are (`- - a`).
        while i < line.count && line[i] == "-" && (i + 1 == line.count || line[i + 1] == " ") {
            tokens.append(SyntaxToken(i..<(i + 1), .listMarker))
            i += 1
            while i < line.count && line[i] == " " { i += 1 }
        }
        if let colon = yamlKeyEnd(line, from: i) {
            tokens.append(SyntaxToken(i..<colon, .definition))
            i = colon + 1
        }
        while i < line.count {
            let c = line[i]
            let atStart = i == 0 || " ,[{".contains(line[i - 1])
            if c == "#" && (i == 0 || line[i - 1] == " ") {
                tokens.append(SyntaxToken(i..<line.count, .comment))
                break
            }
            if c == "\"" || c == "'" {
                let end = stringEnd(line, from: i + 1, delimiter: [c], escapes: c == "\"", doubling: c == "'").end
                tokens.append(SyntaxToken(i..<end, .string))
                i = end
                continue
            }
            guard atStart, !" ,[]{}".contains(c) else {
                i += 1
                continue
            }
            var end = i
            while end < line.count && !" ,[]{}".contains(line[end]) { end += 1 }
            let word = String(line[i..<end])
            if c == "&" || c == "*" || c == "!" {
                tokens.append(SyntaxToken(i..<end, .decorator))
            } else if yamlConstants.contains(word) {
                tokens.append(SyntaxToken(i..<end, .keyword))
            } else if isYAMLNumber(word) {
                tokens.append(SyntaxToken(i..<end, .number))
            }
            i = end
        }
        return .normal
    }

    /// The index of the `:` ending a mapping key that starts at `i` (a `:` followed by a blank or the line's end), or nil.
    static func yamlKeyEnd(_ line: [Character], from i: Int) -> Int? {
        guard i < line.count, !"#[{&*!|>%@`".contains(line[i]) else { return nil }
        var j = i
        if line[i] == "\"" || line[i] == "'" {
            j = stringEnd(line, from: i + 1, delimiter: [line[i]], escapes: line[i] == "\"", doubling: line[i] == "'").end
            return j < line.count && line[j] == ":" && (j + 1 == line.count || line[j + 1] == " ") ? j : nil
        }
        while j < line.count {
            if line[j] == ":" && (j + 1 == line.count || line[j + 1] == " ") { return j > i ? j : nil }
            if line[j] == "#" && j > i && line[j - 1] == " " { return nil }
            j += 1
        }
        return nil
    }

    /// Whether a plain YAML word is a number (`12`, `-3.5`, `1e3`, `0x1F`, `.inf`).
    static func isYAMLNumber(_ word: String) -> Bool {
        if [".inf", "-.inf", "+.inf", ".nan", ".Inf", ".NaN"].contains(word) { return true }
        var body = Substring(word)
        if body.first == "-" || body.first == "+" { body.removeFirst() }
        guard let first = body.first, first.isASCII, first.isNumber || first == "." else { return false }
        if body.hasPrefix("0x") || body.hasPrefix("0o") { return body.dropFirst(2).allSatisfy(\.isHexDigit) && body.count > 2 }
        return Double(body) != nil
    }
}
