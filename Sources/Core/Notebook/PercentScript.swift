public import CoreSupport
import YAML

/// Jupytext's percent format: a script whose cells start with `# %%`.
///
/// Notebook metadata sits in a commented YAML header between `# ---` lines;
/// `# %% [markdown]` and `# %% [raw]` cells have their lines commented out;
/// cell metadata follows the marker as `key=value` pairs with JSON values
/// (`# %% tags=["parameters"]`). Comment prefixes follow the notebook's
/// language (`#` for Python, R, Julia; `--` for SQL).
public enum PercentScript {
    static func commentPrefix(language: String?) -> String {
        switch language?.lowercased() {
        case "sql": return "--"
        case "c++", "c", "java", "javascript", "rust", "go", "swift", "scala": return "//"
        default: return "#"
        }
    }

    /// Renders a notebook as a percent-format script.
    public static func render(_ notebook: Notebook) -> String {
        let comment = commentPrefix(language: notebook.language)
        var out = ""
        var header: JSONObject = [:]
        if let kernelspec = notebook.metadata["kernelspec"] { header["kernelspec"] = kernelspec }
        if !header.isEmpty {
            out += "\(comment) ---\n\(comment) jupyter:\n"
            for (key, value) in header {
                out += "\(comment)   \(key): \(value.serialized(.init(sortKeys: true, itemSeparator: ", ", keySeparator: ": ")))\n"
            }
            out += "\(comment) ---\n\n"
        }
        for (index, cell) in notebook.cells.enumerated() {
            if index > 0 { out += "\n" }
            var marker = "\(comment) %%"
            if cell.kind == .markdown { marker += " [markdown]" }
            if cell.kind == .raw { marker += " [raw]" }
            for (key, value) in cell.metadata where isSimpleKey(key) {
                marker += " \(key)=\(value.serialized(.init(sortKeys: true, itemSeparator: ", ", keySeparator: ": ")))"
            }
            out += marker + "\n"
            let source = cell.source
            if source.isEmpty { continue }
            if cell.kind == .code {
                out += source
            } else {
                out += lines(source)
                    .map { $0.isEmpty ? comment : "\(comment) \($0)" }.joined(separator: "\n")
            }
            out += "\n"
        }
        return out
    }

    /// The text split at each "\n" scalar. (Splitting the `String` itself would not split at
    /// "\r\n", which is a single `Character`.)
    static func lines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(Substring($0)) }
    }

    /// Lines of a script as read: like `lines(_:)`, except that a file saved with Windows line
    /// endings throughout (every line ends in `\r\n`) reads as if it had plain `\n`. A lone `\r\n`
    /// in an otherwise `\n` file is content, and stays.
    static func scriptLines(_ text: String) -> [String] {
        var all = lines(text)
        let body = all.last == "" ? all.dropLast() : all[...]
        guard !body.isEmpty, body.allSatisfy({ $0.unicodeScalars.last == "\r" }) else { return all }
        for i in all.indices where all[i].unicodeScalars.last == "\r" {
            all[i] = String(String.UnicodeScalarView(all[i].unicodeScalars.dropLast()))
        }
        return all
    }

    static func isSimpleKey(_ key: String) -> Bool {
        !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
    }

    /// Parses a percent-format script into a notebook.
    public static func parse(_ text: String, language: String = "python") throws(NotebookError) -> Notebook {
        var lines = PercentScript.scriptLines(text)
        if lines.last == "" { lines.removeLast() }
        let comment = lines.first.map { $0.hasPrefix("--") ? "--" : ($0.hasPrefix("//") ? "//" : "#") } ?? "#"
        var metadata: JSONObject = [:]
        var index = 0
        if lines.first == "\(comment) ---" {
            var yaml = ""
            index = 1
            while index < lines.count, lines[index] != "\(comment) ---" {
                let line = lines[index]
                yaml += (line.hasPrefix("\(comment) ") ? String(line.dropFirst(comment.count + 1)) : String(line.dropFirst(comment.count))) + "\n"
                index += 1
            }
            guard index < lines.count else {
                throw NotebookError(.notANotebook, "line 1: the header opened with `\(comment) ---` is never closed")
            }
            index += 1
            do {
                if let header = try YAML.load(yaml), let jupyter = header["jupyter"]?.objectValue {
                    for (key, value) in jupyter where key != "jupytext" { metadata[key] = value }
                }
            } catch {
                throw NotebookError(.notANotebook, "the YAML header is not valid: \(error)")
            }
        }
        var cells: [Cell] = []
        var current: (kind: Cell.Kind, metadata: JSONObject, lines: [String])? = nil
        func flush() {
            guard var cell = current else { return }
            while cell.lines.last?.isEmpty == true { cell.lines.removeLast() }
            var body = cell.lines
            if cell.kind != .code {
                body = body.map { line in
                    if line == comment { return "" }
                    if line.hasPrefix("\(comment) ") { return String(line.dropFirst(comment.count + 1)) }
                    return line
                }
            }
            cells.append(Cell(cell.kind, source: body.joined(separator: "\n"), metadata: cell.metadata))
        }
        let marker = "\(comment) %%"
        while index < lines.count {
            let line = lines[index]
            index += 1
            if line == marker || line.hasPrefix(marker + " ") {
                flush()
                var rest = Substring(line.dropFirst(marker.count)).drop { $0 == " " }
                var kind = Cell.Kind.code
                if rest.hasPrefix("[markdown]") {
                    kind = .markdown
                    rest = rest.dropFirst("[markdown]".count)
                } else if rest.hasPrefix("[md]") {
                    kind = .markdown
                    rest = rest.dropFirst("[md]".count)
                } else if rest.hasPrefix("[raw]") {
                    kind = .raw
                    rest = rest.dropFirst("[raw]".count)
                }
                current = (kind, parseCellMetadata(String(rest), line: index), [])
                continue
            }
            if current == nil {
                if line.isEmpty { continue }
                current = (.code, [:], [])
            }
            current!.lines.append(line)
        }
        flush()
        if metadata["kernelspec"] == nil, language == "python" {
            metadata["kernelspec"] = ["display_name": "Python 3", "language": "python", "name": "python3"]
        }
        return Notebook(cells: cells, metadata: metadata)
    }

    /// Reads `key=value` pairs (JSON values) after a cell marker; other text becomes the cell's title.
    static func parseCellMetadata(_ text: String, line: Int) -> JSONObject {
        var result: JSONObject = [:]
        var rest = Substring(text).drop { $0 == " " }
        var titleWords: [Substring] = []
        while !rest.isEmpty {
            if let eq = rest.firstIndex(of: "="), rest[..<eq].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }),
                eq != rest.startIndex
            {
                let key = String(rest[..<eq])
                let valueStart = rest.index(after: eq)
                // Find the shortest prefix that parses as JSON and ends at a space or the end.
                var end = valueStart
                var parsed: JSON? = nil
                var candidate = rest.endIndex
                while true {
                    if let value = try? JSON.parse(String(rest[valueStart..<candidate])) {
                        parsed = value
                        end = candidate
                        break
                    }
                    guard let space = rest[valueStart..<candidate].lastIndex(of: " ") else { break }
                    candidate = space
                }
                if let parsed {
                    result[key] = parsed
                    rest = rest[end...].drop { $0 == " " }
                    continue
                }
            }
            let word = rest.prefix { $0 != " " }
            titleWords.append(word)
            rest = rest.dropFirst(word.count).drop { $0 == " " }
        }
        if !titleWords.isEmpty { result["title"] = .string(titleWords.joined(separator: " ")) }
        return result
    }
}
