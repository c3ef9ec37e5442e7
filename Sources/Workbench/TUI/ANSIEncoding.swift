/// Writes sanitized spans back out as text with SGR sequences, for line-oriented output
/// (the headless transcript, logs) where no screen buffer is involved.
public enum ANSIEncoding {
    /// The lines as text; with `color`, each styled span is wrapped in its SGR sequence.
    public static func text(_ lines: [[Span]], color: Bool) -> String {
        lines.map { line in
            line.map { span in
                guard color, span.style != .plain else { return span.text }
                return "\u{1B}[\(sgr(span.style))m\(span.text)\u{1B}[0m"
            }.joined()
        }.joined(separator: "\n")
    }

    /// The SGR parameters of a style (without ESC [ and m).
    public static func sgr(_ style: Style) -> String {
        var codes: [String] = []
        let a = style.attributes
        if a.contains(.bold) { codes.append("1") }
        if a.contains(.dim) { codes.append("2") }
        if a.contains(.italic) { codes.append("3") }
        if a.contains(.underline) { codes.append("4") }
        if a.contains(.reverse) { codes.append("7") }
        codes += colorCodes(style.foreground, base: 30, bright: 90, extended: 38)
        codes += colorCodes(style.background, base: 40, bright: 100, extended: 48)
        return codes.isEmpty ? "0" : codes.joined(separator: ";")
    }

    static func colorCodes(_ color: Color, base: Int, bright: Int, extended: Int) -> [String] {
        switch color {
        case .default: return []
        case .ansi(let n): return [String(n < 8 ? base + Int(n) : bright + Int(n) - 8)]
        case .indexed(let n): return ["\(extended);5;\(n)"]
        case .rgb(let r, let g, let b): return ["\(extended);2;\(r);\(g);\(b)"]
        }
    }
}
