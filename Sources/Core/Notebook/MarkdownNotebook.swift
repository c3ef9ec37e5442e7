import CoreSupport

/// Jupytext's Markdown format, as jupytext 1.19.6 writes and reads it (`MarkdownCellExporter`
/// and `MarkdownCellReader`).
///
/// Notebook metadata sits in a YAML header (`---` lines, see `Jupytext`); code cells are fenced
/// blocks named by their language (```` ```python ````, ```` ```sql ```` for a `%%sql` cell);
/// raw cells sit between `<!-- #raw -->` and `<!-- #endraw -->`; a markdown cell with metadata,
/// or one that would not read back as itself, sits between `<!-- #region -->` and
/// `<!-- #endregion -->`, and two markdown cells in a row are kept apart by two blank lines.
/// Cell metadata follows the language or the comment's name (`<!-- #region tags=["intro"] -->`).
public enum MarkdownNotebook {
    static let ext = ".md"

    /// Renders a notebook as Markdown, byte for byte as `jupytext --to md`.
    public static func render(_ notebook: Notebook) -> String {
        var notebook = notebook
        var metadata = notebook.metadata
        TextFormats.dropUnpairedFormats(&metadata, ext: ext)
        let defaultLanguage = TextFormats.popMainLanguage(&metadata, ext: ext) ?? "python"
        let settings = metadata["jupytext"]?.objectValue ?? [:]
        let commentMagics = settings["comment_magics"]?.boolValue ?? false
        let plainJSON = settings["cell_metadata_json"]?.boolValue ?? false
        let (_, header, headerLinesToNextCell) = Jupytext.header(&notebook, metadata: metadata, ext: ext, formatName: "markdown", prefix: "")
        let exported = notebook.cells.map { cell in
            cellText(cell, defaultLanguage: defaultLanguage, cellFilter: settings["cell_metadata_filter"], commentMagics: commentMagics, plainJSON: plainJSON)
        }
        var lines: [String] = []
        for index in exported.indices.reversed() {
            var text = exported[index].text
            let blank = notebook.cells[index].metadata["lines_to_next_cell"]?.intValue ?? PEP8.linesBetween(text, lines, ext: ext)
            text += Array(repeating: "", count: max(blank, 0))
            // Two blank lines between markdown cells that have no region markers.
            if !exported[index].isCode, index + 1 < exported.count, !exported[index + 1].isCode,
                !(exported[index].text.first ?? "").hasScalarPrefix("<!-- #"), !(exported[index + 1].text.first ?? "").hasScalarPrefix("<!-- #")
            {
                text.append("")
            }
            lines = text + lines
        }
        let afterHeader = headerLinesToNextCell ?? PEP8.linesBetween(header, lines, ext: ext)
        return (header + Array(repeating: "", count: max(afterHeader, 0)) + lines).joined(separator: "\n")
    }

    /// One cell as Markdown lines, and whether jupytext counts it as code when spacing cells.
    static func cellText(
        _ cell: Cell, defaultLanguage: String, cellFilter: JSON?, commentMagics: Bool, plainJSON: Bool
    ) -> (text: [String], isCode: Bool) {
        var (source, metadata, language) = Jupytext.cellHeader(cell, defaultLanguage: defaultLanguage, cellFilter: cellFilter)
        var cellLanguage = language ?? cell.metadata["language"]?.stringValue ?? defaultLanguage
        let tags = (metadata["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
        let activeTag = tags.contains { $0.hasScalarPrefix("active-") }
        if cell.kind == .raw, metadata["active"] == nil, !activeTag { metadata["active"] = "" }

        func htmlComment(_ metadata: JSONObject, _ name: String) -> [String] {
            var start = "<!-- #\(name) -->"
            if !metadata.isEmpty {
                var text = Jupytext.metadataText(nil, metadata, plainJSON: plainJSON)
                if !plainJSON, regionOptions(text) != metadata { text = Jupytext.metadataText(nil, metadata, plainJSON: true) }
                start = "<!-- #\(name) \(text) -->"
            }
            return [start] + source + ["<!-- #end\(name) -->"]
        }

        if cell.kind == .markdown {
            var protect = !metadata.isEmpty
            if !protect {
                let reader = Reader(defaultLanguage: "python")
                let (read, consumed, _) = reader.read(source)
                protect = consumed < source.count || read.kind != .markdown
            }
            if protect {
                let name = metadata.removeValue(forKey: "region_name")?.stringValue ?? "region"
                return (htmlComment(metadata, name), activeTag)
            }
            return (source, activeTag)
        }
        let commented = Magics.comment(source, language: cellLanguage, escape: commentMagics)
        if metadata["active"] == .string("") { metadata["active"] = nil }
        if let named = metadata.removeValue(forKey: "language")?.stringValue { cellLanguage = named }
        let isCode = cell.kind == .code || (cell.kind == .raw && metadata["active"] != nil) || activeTag
        if cell.kind == .raw, !Jupytext.isActive(ext, metadata, default: false) {
            return (htmlComment(metadata, "raw"), isCode)
        }
        var options = Jupytext.metadataText(cellLanguage, metadata, plainJSON: false)
        // Where `key=value` would not read back the same (a key jupytext cannot write), wb writes JSON.
        let parsed = Jupytext.textToMetadata(options, allowTitle: false)
        if Jupytext.isJupyterLanguage(cellLanguage), parsed.1 != metadata {
            options = Jupytext.metadataText(cellLanguage, metadata, plainJSON: true)
        }
        let fence = backticks(source)
        return ([fence + options] + commented + [fence], isCode)
    }

    /// Enough backticks to fence the given lines (`three_backticks_or_more`).
    static func backticks(_ lines: [String]) -> String {
        var fence = "```"
        for line in lines where line.hasScalarPrefix("```") {
            for char in line.dropScalars(3).unicodeScalars {
                if char != "`" { break }
                fence += "`"
            }
            fence += "`"
        }
        return fence
    }

    /// The metadata a region comment's options read back as.
    static func regionOptions(_ text: String) -> JSONObject {
        let (title, read) = Jupytext.textToMetadata(text, allowTitle: true)
        var metadata = read
        if !title.isEmpty { metadata["title"] = .string(title) }
        return metadata
    }

    /// Parses jupytext Markdown into a notebook, as `jupytext.reads(text, "md")`.
    public static func parse(_ text: String) throws(NotebookError) -> Notebook {
        let lines = PercentScript.scriptLines(text)
        let header = try Jupytext.readHeader(lines, prefix: "", ext: ext)
        var metadata = header.metadata
        let defaultLanguage = Jupytext.defaultLanguage(metadata, ext: ext) ?? "python"
        let settings = metadata["jupytext"]?.objectValue ?? [:]
        var reader = Reader(defaultLanguage: defaultLanguage)
        reader.commentMagics = settings["comment_magics"]?.boolValue ?? false
        var cells: [Cell] = header.cell.map { [$0] } ?? []
        var usedJSON = settings["cell_metadata_json"]?.boolValue ?? false
        var position = header.next
        while position < lines.count {
            let (cell, consumed, json) = reader.read(Array(lines[position...]))
            if reader.isUnclosedBlock(Array(lines[position...])) {
                throw NotebookError(.notANotebook, "line \(position + 1): \(reader.unclosedDescription(lines[position])) is never closed")
            }
            cells.append(cell)
            usedJSON = usedJSON || json
            position += max(consumed, 1)
        }
        TextFormats.finishReading(&metadata, &cells, ext: ext, headerFound: header.jupyter, usedJSON: usedJSON)
        return Notebook(cells: cells, metadata: metadata)
    }

    /// Reads one cell at a time (`MarkdownCellReader`).
    struct Reader {
        var defaultLanguage: String
        var commentMagics = false

        /// A region comment: `^<!--\s*#(region|markdown|md|raw)(.*)-->\s*$`; its name and options.
        static func region(_ line: String) -> (name: String, options: String)? {
            guard line.hasScalarPrefix("<!--") else { return nil }
            let rest = String(String.UnicodeScalarView(line.dropScalars(4).unicodeScalars.drop(while: \.isPySpace)))
            guard rest.hasScalarPrefix("#") else { return nil }
            let body = rest.dropScalars(1)
            let trimmed = body.pyRStrip()
            guard trimmed.hasScalarSuffix("-->") else { return nil }
            let inner = trimmed.dropLastScalars(3)
            for name in ["region", "markdown", "md", "raw"] where inner.hasScalarPrefix(name) {
                return (name, inner.dropScalars(name.unicodeScalars.count))
            }
            return nil
        }

        /// `^<!--\s*#endNAME\s*-->\s*$`
        static func isRegionEnd(_ line: String, _ name: String) -> Bool {
            guard line.hasScalarPrefix("<!--") else { return false }
            let rest = line.dropScalars(4).pyLStrip()
            guard rest.hasScalarPrefix("#end" + name) else { return false }
            let after = rest.dropScalars(4 + name.unicodeScalars.count).pyLStrip()
            return after.hasScalarPrefix("-->") && after.dropScalars(3).pyStrip().isEmpty
        }

        /// A fenced code block in a Jupyter language: ```` ^```(`*)(\s*)(LANGUAGE)($|\s.*$) ````;
        /// the extra backticks, and the options text (`" ".join(groups[1:])`).
        static func codeStart(_ line: String) -> (extra: String, options: String)? {
            guard line.hasScalarPrefix("```") else { return nil }
            var rest = line.dropScalars(3)
            let extra = String(String.UnicodeScalarView(rest.unicodeScalars.prefix { $0 == "`" }))
            rest = rest.dropScalars(extra.unicodeScalars.count)
            let space = String(String.UnicodeScalarView(rest.unicodeScalars.prefix(while: \.isPySpace)))
            rest = rest.dropScalars(space.unicodeScalars.count)
            if rest.hasScalarPrefix("wolfram language") {
                let after = rest.dropScalars(16)
                if after.isEmpty || after.unicodeScalars.first!.isPySpace { return (extra, [space, "wolfram language", after].joined(separator: " ")) }
            }
            let word = String(String.UnicodeScalarView(rest.unicodeScalars.prefix { !$0.isPySpace }))
            guard Jupytext.jupyterLanguagesLowerAndUpper.contains(word) else { return nil }
            let after = rest.dropScalars(word.unicodeScalars.count)
            return (extra, [space, word, after].joined(separator: " "))
        }

        /// The language and metadata of a code fence's options (`options_to_metadata`), and whether they were JSON.
        static func codeOptions(_ options: String) -> (language: String, metadata: JSONObject, json: Bool) {
            let (language, metadata) = Jupytext.textToMetadata(options, allowTitle: false)
            return (language, metadata, Jupytext.isJSONMetadata(options))
        }

        /// Whether the cell at the start of `lines` opens a region or fence that nothing closes.
        func isUnclosedBlock(_ lines: [String]) -> Bool {
            guard let first = lines.first else { return false }
            if let (name, _) = Self.region(first) {
                return !lines.dropFirst().contains { Self.isRegionEnd($0, name) }
            }
            if let (extra, _) = Self.codeStart(first) {
                return !lines.dropFirst().contains { $0.hasScalarPrefix("```" + extra) }
            }
            return false
        }

        func unclosedDescription(_ line: String) -> String {
            if let (name, _) = Self.region(line) { return "the `<!-- #\(name) -->` block opened here" }
            return "the code block opened here with \(String(String.UnicodeScalarView(line.unicodeScalars.prefix { $0 == "`" })))"
        }

        /// The cell at the start of `lines`, how many lines it took, and whether its metadata was JSON.
        func read(_ lines: [String]) -> (Cell, Int, Bool) {
            var metadata: JSONObject? = nil
            var language: String? = nil
            var kind: Cell.Kind = .code
            var json = false
            var region: String? = nil
            var endCode = "```"
            if let (name, options) = Self.region(lines[0]) {
                region = name
                json = Jupytext.isJSONMetadata(options)
                let (title, read) = Jupytext.textToMetadata(options, allowTitle: true)
                var parsed = read
                kind = name == "raw" ? .raw : .markdown
                if !title.isEmpty { parsed["title"] = .string(title) }
                if name == "markdown" || name == "md" { parsed["region_name"] = .string(name) }
                metadata = parsed
            } else if let (extra, options) = Self.codeStart(lines[0]) {
                let parsed = Self.codeOptions(options)
                endCode = "```" + extra
                json = parsed.json
                language = parsed.language
                metadata = parsed.metadata
                if parsed.metadata[".noeval"] == .null {
                    kind = .markdown
                    metadata = [:]
                    language = nil
                }
            }
            if let named = metadata?.removeValue(forKey: "language")?.stringValue { language = named }
            // find_cell_end
            var end = lines.count, next = lines.count, explicitEnd = false
            if let region {
                if let i = lines.firstIndex(where: { Self.isRegionEnd($0, region) }) {
                    (end, next, explicitEnd) = (i, i + 1, true)
                }
            } else if metadata == nil {
                kind = .markdown
                var previousBlank = 0
                var inFence = false, inIndented = false
                var fenceEnd: String? = nil
                scan: for (i, line) in lines.enumerated() {
                    let blank = PEP8.isBlank(line)
                    if inFence, Self.matchesEnd(line, fenceEnd) {
                        inFence = false
                        continue
                    }
                    if previousBlank > 0, line.hasScalarPrefix("    "), !blank {
                        inIndented = true
                        previousBlank = 0
                        continue
                    }
                    if inIndented, !blank, !line.hasScalarPrefix("    ") { inIndented = false }
                    if inIndented || inFence { continue }
                    if Self.region(line) != nil {
                        if i > 1, previousBlank > 0 { (end, next, explicitEnd) = (i - 1, i, false) } else { (end, next, explicitEnd) = (i, i, false) }
                        break scan
                    }
                    if let (extra, options) = Self.codeStart(line) {
                        fenceEnd = "```" + extra
                        let parsed = Self.codeOptions(options)
                        if !Jupytext.jupyterLanguagesLowerAndUpper.contains(parsed.language) || parsed.metadata[".noeval"] == .null {
                            inFence = true
                            previousBlank = 0
                            continue
                        }
                        if i > 1, previousBlank > 0 { (end, next, explicitEnd) = (i - 1, i, false) } else { (end, next, explicitEnd) = (i, i, false) }
                        break scan
                    } else if line.hasScalarPrefix("```{") {
                        inFence = true
                        previousBlank = 0
                        continue
                    }
                    if line.hasScalarPrefix("```") {
                        if previousBlank >= 2 {
                            (end, next, explicitEnd) = (i - 2, i, true)
                            break scan
                        }
                        inFence = true
                        previousBlank = 0
                        continue
                    }
                    if blank {
                        previousBlank += 1
                    } else if previousBlank >= 2 {
                        (end, next, explicitEnd) = (i - 2, i, true)
                        break scan
                    } else {
                        previousBlank = 0
                    }
                }
            } else {
                kind = .code
                var parser = StringParser(language: language ?? defaultLanguage)
                for (i, line) in lines.enumerated() where i > 0 {
                    if parser.isQuoted {
                        parser.read(line)
                        continue
                    }
                    parser.read(line)
                    if line.hasScalarPrefix(endCode) {
                        (end, next, explicitEnd) = (i, i + 1, true)
                        break
                    }
                }
            }
            // find_cell_content
            let start = metadata == nil ? 0 : 1
            var cellMetadata = metadata ?? [:]
            var content = extract(Array(lines[min(start, end)..<end]), kind: kind, metadata: cellMetadata, language: language)
            if kind == .code {
                if !Jupytext.isActive(".ipynb", cellMetadata) {
                    if cellMetadata["active"] == .string("") { cellMetadata["active"] = nil }
                    kind = .raw
                } else if language == nil || language == "" {
                    kind = .markdown
                    explicitEnd = false
                    end += 1
                    content = Array(lines[..<min(end, lines.count)])
                }
            }
            if next + 1 < lines.count, PEP8.isBlank(lines[next]), !PEP8.isBlank(lines[next + 1]) {
                next += 1
            } else if explicitEnd, next + 2 < lines.count, PEP8.isBlank(lines[next]), PEP8.isBlank(lines[next + 1]), !PEP8.isBlank(lines[next + 2]) {
                next += 2
            }
            var linesToNextCell = 1
            if end < lines.count {
                linesToNextCell = next - end - (explicitEnd ? 1 : 0) + (next >= lines.count ? 1 : 0)
            }
            if linesToNextCell != 1 { cellMetadata["lines_to_next_cell"] = .int(linesToNextCell) }
            if let language, !language.isEmpty { cellMetadata["language"] = .string(language) }
            return (Cell(kind, source: content.joined(separator: "\n"), metadata: cellMetadata), next, json)
        }

        /// A closing fence line: the code's fence at the start of the line (jupytext's `end_code_re.match`).
        static func matchesEnd(_ line: String, _ fence: String?) -> Bool {
            // The default `^```\s*$` until a code fence sets its own.
            guard let fence else { return line.hasScalarPrefix("```") && line.dropScalars(3).pyStrip().isEmpty }
            return line.hasScalarPrefix(fence)
        }

        func extract(_ lines: [String], kind: Cell.Kind, metadata: JSONObject, language: String?) -> [String] {
            if !Jupytext.isActive(ext, metadata) || (metadata["active"] == nil && language != nil && language != "" && language != defaultLanguage) {
                return lines
            }
            if kind == .code, commentMagics {
                return Magics.uncomment(lines, language: language ?? defaultLanguage)
            }
            return lines
        }
    }
}
