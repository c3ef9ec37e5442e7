import CoreSupport

/// Jupytext's percent format: a script whose cells start with `# %%`, as jupytext 1.19.6
/// writes and reads it (`DoublePercentCellExporter` and `DoublePercentScriptCellReader`).
///
/// Notebook metadata sits in a commented YAML header between `# ---` lines (see `Jupytext`);
/// `# %% [markdown]` and `# %% [raw]` cells have their lines commented out; cell metadata
/// follows the marker as `key=value` pairs with JSON values (`# %% tags=["parameters"]`), or as
/// one JSON object; magics are commented (`# %matplotlib inline`) and a cell in another language
/// (`%%sql`) is commented out whole, its language kept as `language="sql"`. Blank lines between
/// cells follow PEP 8 as jupytext places them.
public enum PercentScript {
    /// Renders a notebook as a percent-format script, byte for byte as `jupytext --to py:percent`.
    public static func render(_ notebook: Notebook, extension ext: String = ".py") -> String {
        let script = Jupytext.scripts[ext] ?? Jupytext.scripts[".py"]!
        var notebook = notebook
        var metadata = notebook.metadata
        TextFormats.dropUnpairedFormats(&metadata, ext: ext)
        TextFormats.updateFormats(&metadata, ext: ext, formatName: "percent")
        let defaultLanguage = TextFormats.popMainLanguage(&metadata, ext: ext) ?? "python"
        let settings = metadata["jupytext"]?.objectValue ?? [:]
        let commentMagics = settings["comment_magics"]?.boolValue ?? true
        let plainJSON = settings["cell_metadata_json"]?.boolValue ?? false
        let (first, header, headerLinesToNextCell) = Jupytext.header(
            &notebook, metadata: metadata, ext: ext, formatName: "percent", prefix: script.comment, suffix: script.suffix)
        let texts = notebook.cells.map { cell in
            cellText(cell, ext: ext, script: script, defaultLanguage: defaultLanguage, cellFilter: settings["cell_metadata_filter"],
                     commentMagics: commentMagics, plainJSON: plainJSON)
        }
        var lines: [String] = []
        for (cell, text) in zip(notebook.cells, texts).reversed() {
            let blank = cell.metadata["lines_to_next_cell"]?.intValue ?? PEP8.linesBetween(text, lines, ext: ext)
            lines = text + Array(repeating: "", count: max(blank, 0)) + lines
        }
        let afterHeader = headerLinesToNextCell ?? PEP8.linesBetween(header, lines, ext: ext)
        return (first + header + Array(repeating: "", count: max(afterHeader, 0)) + lines).joined(separator: "\n")
    }

    /// One cell's lines: its marker, then its source (commented unless it is active code).
    static func cellText(
        _ cell: Cell, ext: String, script: Jupytext.Script, defaultLanguage: String, cellFilter: JSON?, commentMagics: Bool, plainJSON: Bool
    ) -> [String] {
        var (source, metadata, language) = Jupytext.cellHeader(cell, defaultLanguage: defaultLanguage, cellFilter: cellFilter)
        let cellLanguage = language ?? cell.metadata["language"]?.stringValue ?? defaultLanguage
        let tags = (metadata["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
        if cell.kind == .raw, metadata["active"] == nil, !tags.contains(where: { $0.hasScalarPrefix("active-") }) {
            metadata["active"] = ""
        }
        let active = Jupytext.isActive(ext, metadata, default: Jupytext.sameLanguage(cellLanguage, defaultLanguage))
        if cell.kind == .raw, metadata["active"] == .string("") { metadata["active"] = nil }
        let isCode = cell.kind == .code || (cell.kind == .raw && metadata["active"] != nil)
            || tags.contains { $0.hasScalarPrefix("active-") }
        if !isCode { metadata["cell_type"] = .string(cell.kind?.rawValue ?? cell.cellType) }
        var options = Jupytext.percentOptions(metadata, plainJSON: plainJSON)
        // wb writes the metadata as JSON where jupytext's `key=value` text would not read back the same
        // (a null value reads as a title, a key with spaces cannot be written): nothing is lost.
        if !plainJSON, markerOptions(options).metadata != metadata {
            options = Jupytext.percentOptions(metadata, plainJSON: true)
        }
        var indent = ""
        if isCode, active, let firstLine = source.first, !firstLine.pyStrip().isEmpty {
            indent = String(String.UnicodeScalarView(firstLine.unicodeScalars.prefix(while: \.isPySpace)))
        }
        let marker = options.hasScalarPrefix("%") || options.isEmpty ? "%%" + options : "%% " + options
        let markerLines = Jupytext.commentLines([marker], prefix: indent + script.comment, suffix: script.suffix)
        if isCode, active {
            source = Magics.comment(source, language: cellLanguage, escape: commentMagics)
            if source == [""] { return markerLines }
            return markerLines + source
        }
        return markerLines + Jupytext.commentLines(source, prefix: script.comment, suffix: script.suffix)
    }

    /// The text split at each "\n" scalar. (Splitting the `String` itself would not split at
    /// "\r\n", which is a single `Character`.)
    static func lines(_ text: String) -> [String] {
        text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { String(Substring($0)) }
    }

    /// Lines of a script as read: like `lines(_:)`, except that a file saved with Windows line
    /// endings throughout (every line ends in `\r\n`) reads as if it had plain `\n`. A lone `\r\n`
    /// in an otherwise `\n` file is content, and stays. A final newline ends the last line.
    static func scriptLines(_ text: String) -> [String] {
        var all = lines(text)
        let body = all.last == "" ? all.dropLast() : all[...]
        if !body.isEmpty, body.allSatisfy({ $0.unicodeScalars.last == "\r" }) {
            for i in all.indices where all[i].unicodeScalars.last == "\r" {
                all[i] = String(String.UnicodeScalarView(all[i].unicodeScalars.dropLast()))
            }
        }
        if all.last == "" { all.removeLast() }
        return all
    }

    /// Parses a percent-format script into a notebook, as `jupytext.reads(text, "py:percent")`.
    public static func parse(_ text: String, extension ext: String = ".py") throws(NotebookError) -> Notebook {
        let script = Jupytext.scripts[ext] ?? Jupytext.scripts[".py"]!
        let lines = scriptLines(text)
        let header = try Jupytext.readHeader(lines, prefix: script.comment, suffix: script.suffix, ext: ext)
        var metadata = header.metadata
        let defaultLanguage = Jupytext.defaultLanguage(metadata, ext: ext) ?? script.language
        let settings = metadata["jupytext"]?.objectValue ?? [:]
        let reader = Reader(
            ext: ext, script: script, defaultLanguage: defaultLanguage, commentMagics: settings["comment_magics"]?.boolValue ?? true)
        var cells: [Cell] = header.cell.map { [$0] } ?? []
        var usedJSON = settings["cell_metadata_json"]?.boolValue ?? false
        var rest = lines[header.next...]
        while !rest.isEmpty {
            let (cell, consumed, json) = reader.read(Array(rest))
            cells.append(cell)
            usedJSON = usedJSON || json
            rest = rest.dropFirst(max(consumed, 1))
        }
        TextFormats.finishReading(&metadata, &cells, ext: ext, headerFound: header.jupyter, usedJSON: usedJSON)
        return Notebook(cells: cells, metadata: metadata)
    }

    /// `# %%` with options: `^\s*C\s*%%(%*)\s(.*)$`.
    static func isMarker(_ line: String, comment: String) -> Bool {
        guard let rest = afterComment(line, comment: comment), rest.starts(with: "%%".unicodeScalars) else { return false }
        let after = rest.dropFirst(2).drop { $0 == "%" }
        return after.first?.isPySpace == true
    }

    /// A bare marker: `^\s*C\s*(%%|<codecell>|In\[[0-9 ]*\]:?)\s*$`.
    static func isAlternativeMarker(_ line: String, comment: String) -> Bool {
        guard let rest = afterComment(line, comment: comment) else { return false }
        let text = String(String.UnicodeScalarView(rest)).pyRStrip()
        if text == "%%" || text == "<codecell>" { return true }
        guard text.hasScalarPrefix("In["), var inner = Optional(text.dropScalars(3)) else { return false }
        if inner.hasScalarSuffix(":") { inner = inner.dropLastScalars(1) }
        guard inner.hasScalarSuffix("]") else { return false }
        return inner.dropLastScalars(1).unicodeScalars.allSatisfy { $0 == " " || ("0"..."9").contains($0) }
    }

    static func afterComment(_ line: String, comment: String) -> Substring.UnicodeScalarView? {
        let rest = Substring(line).unicodeScalars.drop(while: \.isPySpace)
        guard rest.starts(with: comment.unicodeScalars) else { return nil }
        return rest.dropFirst(comment.unicodeScalars.count).drop(while: \.isPySpace)
    }

    /// The cell type and metadata after `%%` (`LightScriptCellReader.options_to_metadata`), and
    /// whether they were written as JSON.
    static func markerOptions(_ options: String) -> (metadata: JSONObject, json: Bool) {
        let json = Jupytext.isJSONMetadata(options)
        var (title, metadata) = Jupytext.textToMetadata(options, allowTitle: true)
        for type in ["markdown", "raw", "md"] {
            let code = "[\(type)]"
            guard title.scalarRange(of: code) != nil else { continue }
            title = title.replacingAll(code, with: "").pyStrip()
            metadata["cell_type"] = .string(type == "md" ? "markdown" : type)
            if type == "md" { metadata["region_name"] = "md" }
            break
        }
        var depth = 0
        while title.hasScalarPrefix("%") {
            depth += 1
            title = title.dropScalars(1)
        }
        if depth > 0 {
            metadata["cell_depth"] = .int(depth)
            title = title.pyStrip()
        }
        if !title.isEmpty { metadata["title"] = .string(title) }
        return (metadata, json)
    }

    /// Reads one cell at a time (`DoublePercentScriptCellReader`).
    struct Reader {
        var ext: String
        var script: Jupytext.Script
        var defaultLanguage: String
        var commentMagics: Bool

        /// The cell at the start of `lines`, how many lines it took, and whether its metadata was JSON.
        func read(_ lines: [String]) -> (Cell, Int, Bool) {
            var metadata: JSONObject = [:]
            var json = false
            if isMarker(lines[0], comment: script.comment) {
                let line = Jupytext.uncomment([lines[0]], prefix: script.comment, suffix: script.suffix)[0]
                let start = line.scalarRange(of: "%%").map { line.unicodeScalars.distance(from: line.unicodeScalars.startIndex, to: $0.upperBound) } ?? 0
                (metadata, json) = markerOptions(line.dropScalars(start))
            }
            let language = metadata.removeValue(forKey: "language")?.stringValue
            var comment = script.comment
            // find_cell_end
            var kind: Cell.Kind
            if let type = metadata.removeValue(forKey: "cell_type")?.stringValue {
                kind = Cell.Kind(rawValue: type) ?? .markdown
            } else if !Jupytext.isActive(".ipynb", metadata) {
                if metadata["active"] == .string("") { metadata["active"] = nil }
                kind = .raw
                if Jupytext.isActive(ext, metadata) { comment = "" }
            } else {
                kind = .code
            }
            var next = lines.count
            var parser = StringParser(language: language ?? defaultLanguage)
            var fence: (Unicode.Scalar, Int)? = nil
            for (i, line) in lines.enumerated() {
                if parser.isQuoted {
                    parser.read(line)
                    continue
                }
                parser.read(line)
                if kind == .markdown || kind == .raw {
                    let text = Jupytext.uncomment([line], prefix: comment, suffix: script.suffix)[0]
                    if let open = fence {
                        if Fence.closes(text, open) { fence = nil }
                        continue
                    }
                    if let opening = Fence.opening(text),
                        lines[(i + 1)...].contains(where: { Fence.closes(Jupytext.uncomment([$0], prefix: comment, suffix: script.suffix)[0], opening) })
                    {
                        fence = opening
                        continue
                    }
                }
                if i > 0, isMarker(line, comment: script.comment) || isAlternativeMarker(line, comment: script.comment) {
                    next = i
                    break
                }
            }
            var end = next
            if lastTwoLinesBlank(lines[..<next]) {
                end = next - 2
            } else if next > 0, lines[next - 1].isEmpty {
                end = next - 1
            }
            // find_cell_content
            let start = isMarker(lines[0], comment: script.comment) || isAlternativeMarker(lines[0], comment: script.comment) ? 1 : 0
            let source = Array(lines[min(start, end)..<end])
            let content = extract(source, kind: kind, metadata: metadata, language: language, comment: comment)
            let linesToNextCell = end < lines.count ? next - end + (next >= lines.count ? 1 : 0) : 1
            // read
            let expected = ext == ".py" ? PEP8.linesBetween(source.isEmpty ? [""] : source, Array(lines[next...]), ext: ext) : 1
            if linesToNextCell != expected { metadata["lines_to_next_cell"] = .int(linesToNextCell) }
            if let language { metadata["language"] = .string(language) }
            return (Cell(kind, source: content.joined(separator: "\n"), metadata: metadata), next, json)
        }

        /// The source of a cell from its lines (`extract_content`, `uncomment_code_and_magics`).
        func extract(_ lines: [String], kind: Cell.Kind, metadata: JSONObject, language: String?, comment: String) -> [String] {
            if !Jupytext.isActive(ext, metadata) || (metadata["active"] == nil && language != nil && language != defaultLanguage) {
                return Jupytext.uncomment(lines, prefix: ext == ".r" || ext == ".R" ? "#" : comment)
            }
            var lines = lines
            if kind == .code || comment != "#'" {
                if commentMagics {
                    lines = Magics.uncomment(lines, language: language ?? defaultLanguage, explicitlyCode: true)
                } else {
                    lines = Jupytext.uncomment(lines)
                }
            }
            if kind == .code { return Magics.unescapeCodeStart(lines, ext: ext, language: language ?? defaultLanguage) }
            return Jupytext.uncomment(lines, prefix: comment, suffix: script.suffix)
        }
    }

    /// `last_two_lines_blank`: the two last lines blank, and not the third last.
    static func lastTwoLinesBlank(_ source: ArraySlice<String>) -> Bool {
        guard source.count >= 3 else { return false }
        let s = Array(source)
        return !PEP8.isBlank(s[s.count - 3]) && PEP8.isBlank(s[s.count - 2]) && PEP8.isBlank(s[s.count - 1])
    }
}

/// Markdown code fences inside markdown and raw cells (`_opening_fence`, `_closes_fence`).
enum Fence {
    /// `^ {0,3}(`{3,}|~{3,})(.*)$`: the fence character, its length and the info string.
    static func parse(_ text: String) -> (Unicode.Scalar, Int, String)? {
        var rest = Substring(text).unicodeScalars[...]
        var spaces = 0
        while spaces < 3, rest.first == " " {
            rest = rest.dropFirst()
            spaces += 1
        }
        guard let char = rest.first, char == "`" || char == "~" else { return nil }
        let count = rest.prefix { $0 == char }.count
        guard count >= 3 else { return nil }
        return (char, count, String(String.UnicodeScalarView(rest.dropFirst(count))))
    }

    static func opening(_ text: String) -> (Unicode.Scalar, Int)? {
        guard let (char, count, info) = parse(text) else { return nil }
        if char == "`", info.unicodeScalars.contains("`") { return nil }
        return (char, count)
    }

    static func closes(_ text: String, _ fence: (Unicode.Scalar, Int)) -> Bool {
        guard let (char, count, info) = parse(text) else { return false }
        return char == fence.0 && count >= fence.1 && info.pyStrip().isEmpty
    }
}

/// What the percent and Markdown formats do alike around the cells.
enum TextFormats {
    /// The extension of each entry of `jupytext.formats` (`py:percent` is `py`, `auto` the
    /// notebook's `language_info.file_extension`); nil for an entry with a folder prefix or suffix.
    static func formatExtensions(_ metadata: JSONObject) -> [String?]? {
        guard let formats = metadata["jupytext"]?["formats"]?.stringValue, !formats.isEmpty else { return nil }
        let autoExt = metadata["language_info"]?["file_extension"]?.stringValue
        return formats.split(exactly: ",").map { entry in
            var path = entry.scalarOffset(of: ":").map { entry.prefixScalars($0) } ?? entry
            guard !path.unicodeScalars.contains("/") else { return nil }
            if path.hasScalarPrefix(".") { path = path.dropScalars(1) }
            if path == "auto", let autoExt { path = autoExt.dropScalars(1) }
            return path
        }
    }

    /// `jupytext --to FORMAT` drops `jupytext.formats` from a file that is not one of the paired
    /// formats (a `.md` written from a notebook paired as `ipynb,py:percent`); so does wb.
    static func dropUnpairedFormats(_ metadata: inout JSONObject, ext: String) {
        guard let extensions = formatExtensions(metadata), !extensions.contains(ext.dropScalars(1)) else { return }
        guard var jupytext = metadata["jupytext"]?.objectValue else { return }
        jupytext["formats"] = nil
        metadata["jupytext"] = .object(jupytext)
    }

    /// `update_jupytext_formats_metadata`: the entry of `jupytext.formats` for this extension
    /// names the format written (`py` becomes `py:percent`).
    static func updateFormats(_ metadata: inout JSONObject, ext: String, formatName: String) {
        guard var jupytext = metadata["jupytext"]?.objectValue, let formats = jupytext["formats"]?.stringValue, !formats.isEmpty else { return }
        let bare = ext.dropScalars(1)
        let autoExt = metadata["language_info"]?["file_extension"]?.stringValue
        var entries = formats.split(exactly: ",")
        for (index, entry) in entries.enumerated() {
            var path = entry.scalarOffset(of: ":").map { entry.prefixScalars($0) } ?? entry
            if path.hasScalarPrefix(".") { path = path.dropScalars(1) }
            if path == "auto", let autoExt { path = autoExt.dropScalars(1) }
            if path == bare {
                entries[index] = "\(bare):\(formatName)"
                break
            }
        }
        jupytext["formats"] = .string(entries.joined(separator: ","))
        metadata["jupytext"] = .object(jupytext)
    }

    /// The notebook's language; a `main_language` the kernel already says is dropped
    /// (`default_language_from_metadata_and_ext(..., pop_main_language=True)`).
    static func popMainLanguage(_ metadata: inout JSONObject, ext: String) -> String? {
        if var jupytext = metadata["jupytext"]?.objectValue, let main = jupytext["main_language"]?.stringValue {
            let kernel = metadata["kernelspec"]?["language"]?.stringValue
            let fromKernel = (kernel?.isEmpty == false ? kernel : nil) ?? Jupytext.scripts[ext]?.language
            if main == fromKernel {
                let language = Jupytext.defaultLanguage(metadata, ext: ext)
                jupytext["main_language"] = nil
                metadata["jupytext"] = .object(jupytext)
                return language
            }
        }
        return Jupytext.defaultLanguage(metadata, ext: ext)
    }

    /// After the cells are read: languages, metadata filters, and the `jupytext` settings without
    /// the file's own `text_representation` (it describes the file, and is written afresh).
    static func finishReading(_ metadata: inout JSONObject, _ cells: inout [Cell], ext: String, headerFound: Bool, usedJSON: Bool) {
        Jupytext.setMainAndCellLanguage(&metadata, &cells, ext: ext)
        var keys: Set<String> = []
        for cell in cells { keys.formUnion(cell.metadata.keys) }
        Jupytext.updateMetadataFilters(&metadata, headerFound: headerFound, cellKeys: keys.sorted())
        var jupytext = metadata["jupytext"]?.objectValue ?? [:]
        if usedJSON, jupytext["cell_metadata_json"] == nil { jupytext["cell_metadata_json"] = true }
        jupytext["text_representation"] = nil
        metadata["jupytext"] = jupytext.isEmpty ? nil : .object(jupytext)
    }
}
