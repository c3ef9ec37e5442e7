import CoreSupport
import YAML

/// Jupytext's Markdown format: Markdown text with code cells in fenced blocks.
///
/// Notebook metadata sits in a YAML header (`---` lines); code cells are
/// ```` ```python ```` fences (the notebook's language); raw cells sit between
/// `<!-- #raw -->` and `<!-- #endraw -->`; markdown cells that follow one
/// another are kept apart with `<!-- #region -->` / `<!-- #endregion -->`.
public enum MarkdownNotebook {
    public static func render(_ notebook: Notebook) -> String {
        let language = notebook.language ?? "python"
        var blocks: [String] = []
        if let kernelspec = notebook.metadata["kernelspec"] {
            blocks.append("---\njupyter:\n  kernelspec: \(kernelspec.serialized(.init(sortKeys: true, itemSeparator: ", ", keySeparator: ": ")))\n---")
        }
        for (index, cell) in notebook.cells.enumerated() {
            let source = cell.source
            switch cell.kind {
            case .code:
                let fence = source.contains("```") ? "````" : "```"
                blocks.append("\(fence)\(language)\n\(source)\n\(fence)")
            case .raw:
                blocks.append("<!-- #raw -->\n\(source)\n<!-- #endraw -->")
            default:
                let previousIsMarkdown = index > 0 && notebook.cells[index - 1].kind == .markdown
                let ambiguous = previousIsMarkdown || source.contains("```") || source.contains("<!-- #")
                blocks.append(ambiguous ? "<!-- #region -->\n\(source)\n<!-- #endregion -->" : source)
            }
        }
        return blocks.joined(separator: "\n\n") + "\n"
    }

    public static func parse(_ text: String) throws(NotebookError) -> Notebook {
        var lines = PercentScript.scriptLines(text)
        if lines.last == "" { lines.removeLast() }
        var metadata: JSONObject = [:]
        var i = 0
        if lines.first == "---" {
            guard let end = lines.dropFirst().firstIndex(of: "---") else {
                throw NotebookError(.notANotebook, "line 1: the YAML header opened with --- is never closed")
            }
            let yaml = lines[1..<end].joined(separator: "\n")
            do {
                if let header = try YAML.load(yaml), let jupyter = header["jupyter"]?.objectValue {
                    for (key, value) in jupyter where key != "jupytext" { metadata[key] = value }
                }
            } catch {
                throw NotebookError(.notANotebook, "the YAML header is not valid: \(error)")
            }
            i = end + 1
        }
        var cells: [Cell] = []
        var markdown: [String] = []
        func flushMarkdown() {
            while markdown.first?.isEmpty == true { markdown.removeFirst() }
            while markdown.last?.isEmpty == true { markdown.removeLast() }
            if !markdown.isEmpty { cells.append(Cell(.markdown, source: markdown.joined(separator: "\n"))) }
            markdown = []
        }
        func block(until closing: (String) -> Bool, from start: Int) throws(NotebookError) -> ([String], Int) {
            var j = start
            var body: [String] = []
            while j < lines.count, !closing(lines[j]) {
                body.append(lines[j])
                j += 1
            }
            guard j < lines.count else {
                throw NotebookError(.notANotebook, "line \(start): a block opened here is never closed")
            }
            return (body, j + 1)
        }
        while i < lines.count {
            let line = lines[i]
            if line.hasPrefix("```"), line.count > 3, !line.dropFirst(3).hasPrefix("`") || line.hasPrefix("````") {
                let fence = String(line.prefix { $0 == "`" })
                flushMarkdown()
                let (body, next) = try block(until: { $0 == fence }, from: i + 1)
                cells.append(Cell(.code, source: body.joined(separator: "\n")))
                i = next
            } else if line == "<!-- #raw -->" {
                flushMarkdown()
                let (body, next) = try block(until: { $0 == "<!-- #endraw -->" }, from: i + 1)
                cells.append(Cell(.raw, source: body.joined(separator: "\n")))
                i = next
            } else if line == "<!-- #region -->" {
                flushMarkdown()
                let (body, next) = try block(until: { $0 == "<!-- #endregion -->" }, from: i + 1)
                cells.append(Cell(.markdown, source: body.joined(separator: "\n")))
                i = next
            } else {
                markdown.append(line)
                i += 1
            }
        }
        flushMarkdown()
        return Notebook(cells: cells, metadata: metadata)
    }
}
