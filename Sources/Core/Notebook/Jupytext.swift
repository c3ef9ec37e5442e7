import CoreSupport
import YAML

/// What jupytext's text formats share, written and read as jupytext 1.19.6 does.
///
/// This follows jupytext's own code (`cell_metadata.py`, `header.py`, `languages.py`,
/// `magics.py`, `metadata_filter.py`, `pep8.py`, `stringparser.py`) step by step, so that a
/// notebook saved by `wb` and the same notebook saved by jupytext are the same text, and each
/// reads the other's files to the same cells. Where wb knowingly differs (it never loses a cell
/// metadata key or a character of a source), Docs/user-guide.md says so.
public enum Jupytext {
    /// The jupytext release whose output this writer matches (recorded as `jupytext_version`).
    public static let version = "1.19.6"
    /// The version of the percent and Markdown formats written.
    public static let formatVersion = "1.3"

    // MARK: Languages

    /// A script extension's language and comment (jupytext's `_SCRIPT_EXTENSIONS`).
    struct Script {
        var language: String
        var comment: String
        var suffix: String = ""
    }

    static let scripts: [String: Script] = [
        ".py": Script(language: "python", comment: "#"), ".coco": Script(language: "coconut", comment: "#"),
        ".R": Script(language: "R", comment: "#"), ".r": Script(language: "R", comment: "#"),
        ".jl": Script(language: "julia", comment: "#"), ".cpp": Script(language: "c++", comment: "//"),
        ".ss": Script(language: "scheme", comment: ";;"), ".clj": Script(language: "clojure", comment: ";;"),
        ".scm": Script(language: "scheme", comment: ";;"), ".sh": Script(language: "bash", comment: "#"),
        ".ps1": Script(language: "powershell", comment: "#"), ".q": Script(language: "q", comment: "/"),
        ".m": Script(language: "matlab", comment: "%"),
        ".wolfram": Script(language: "wolfram language", comment: "(*", suffix: "*)"),
        ".pro": Script(language: "idl", comment: ";"), ".js": Script(language: "javascript", comment: "//"),
        ".ts": Script(language: "typescript", comment: "//"), ".scala": Script(language: "scala", comment: "//"),
        ".rs": Script(language: "rust", comment: "//"), ".robot": Script(language: "robotframework", comment: "#"),
        ".resource": Script(language: "robotframework", comment: "#"), ".cs": Script(language: "csharp", comment: "//"),
        ".fsx": Script(language: "fsharp", comment: "//"), ".fs": Script(language: "fsharp", comment: "//"),
        ".sos": Script(language: "sos", comment: "#"), ".java": Script(language: "java", comment: "//"),
        ".groovy": Script(language: "groovy", comment: "//"), ".sage": Script(language: "sage", comment: "#"),
        ".ml": Script(language: "ocaml", comment: "(*", suffix: "*)"), ".hs": Script(language: "haskell", comment: "--"),
        ".tcl": Script(language: "tcl", comment: "#"), ".mac": Script(language: "maxima", comment: "/*", suffix: "*/"),
        ".gp": Script(language: "gnuplot", comment: "#"), ".do": Script(language: "stata", comment: "//"),
        ".sas": Script(language: "sas", comment: "/*", suffix: "*/"), ".jenner": Script(language: "jenner", comment: "/*", suffix: "*/"),
        ".xsh": Script(language: "xonsh", comment: "#"), ".lgt": Script(language: "logtalk", comment: "%"),
        ".logtalk": Script(language: "logtalk", comment: "%"), ".lua": Script(language: "lua", comment: "--"),
        ".go": Script(language: "go", comment: "//"),
    ]

    /// Each script language's comment (jupytext's `_COMMENT`).
    static let comments: [String: String] = {
        var result: [String: String] = [:]
        for script in scripts.values { result[script.language] = script.comment }
        return result
    }()

    /// Cell magics that name a language (jupytext's `_JUPYTER_LANGUAGES`), and every script language.
    static let jupyterLanguages: Set<String> = Set([
        "R", "bash", "sh", "python", "python2", "python3", "coconut", "javascript", "js", "perl", "html", "latex",
        "markdown", "pypy", "ruby", "script", "svg", "matlab", "octave", "idl", "robotframework", "sas", "spark", "sql",
        "cython", "haskell", "tcl", "gnuplot", "wolfram language", "c#", "f#", "cs", "fs",
    ]).union(comments.keys)

    static let jupyterLanguagesLowerAndUpper: Set<String> = jupyterLanguages.union(jupyterLanguages.map { $0.uppercased() })

    /// The notebook's language for a text file with this extension (`default_language_from_metadata_and_ext`).
    static func defaultLanguage(_ metadata: JSONObject, ext: String) -> String? {
        let fromExtension = scripts[ext]?.language
        let main = metadata["jupytext"]?["main_language"]?.stringValue
        let kernel = metadata["kernelspec"]?["language"]?.stringValue
        let fromKernel = (kernel?.isEmpty == false ? kernel : nil) ?? fromExtension
        guard let language = main ?? fromKernel else { return nil }
        if language == "R" || language == "sas" { return language }
        if language.hasPrefix("C++") { return "c++" }
        return language.lowercased().replacingAll("#", with: "sharp")
    }

    static func usualLanguageName(_ language: String) -> String {
        let lower = language.lowercased()
        if lower == "r" { return "R" }
        if lower.hasPrefix("c++") { return "c++" }
        if lower == "octave" { return "matlab" }
        if lower == "cs" || lower == "c#" { return "csharp" }
        if lower == "fs" || lower == "f#" { return "fsharp" }
        if lower == "sas" { return "SAS" }
        return lower
    }

    static func sameLanguage(_ a: String, _ b: String) -> Bool { usualLanguageName(a) == usualLanguageName(b) }

    /// A cell magic naming another language on the first line (`%%sql --out df`): removes that line
    /// and returns the language and its arguments (`cell_language`).
    static func cellLanguage(_ source: inout [String], defaultLanguage: String) -> (language: String, arguments: String)? {
        guard let line = source.first else { return nil }
        if defaultLanguage == "go", isGoDoublePercentCommand(line) { return nil }
        if defaultLanguage == "csharp" {
            guard line.hasScalarPrefix("#!") else { return nil }
            let language = line.dropScalars(2).pyStrip()
            guard jupyterLanguages.contains(language) else { return nil }
            source.removeFirst()
            return (language, "")
        }
        guard line.hasScalarPrefix("%%") else { return nil }
        let magic = line.dropScalars(2)
        let language: String, arguments: String
        if let space = magic.unicodeScalars.firstIndex(of: " ") {
            language = String(magic.unicodeScalars[..<space])
            arguments = String(magic.unicodeScalars[magic.unicodeScalars.index(after: space)...])
        } else {
            language = magic
            arguments = ""
        }
        guard jupyterLanguages.contains(language) else { return nil }
        source.removeFirst()
        return (language, arguments)
    }

    static func isGoDoublePercentCommand(_ line: String) -> Bool {
        guard line.hasScalarPrefix("%%") else { return false }
        let rest = line.dropScalars(2)
        if rest.unicodeScalars.allSatisfy(\.isPySpace) { return true }
        let trimmed = Substring(rest).unicodeScalars.drop(while: \.isPySpace)
        return trimmed.count < rest.unicodeScalars.count && trimmed.first == "-"
    }

    /// Comments out lines: `# text`, and a bare `#` for an empty line (`comment_lines`).
    static func commentLines(_ lines: [String], prefix: String, suffix: String = "") -> [String] {
        guard !prefix.isEmpty else { return lines }
        if suffix.isEmpty { return lines.map { $0.isEmpty ? prefix : "\(prefix) \($0)" } }
        return lines.map { $0.isEmpty ? "\(prefix) \(suffix)" : "\(prefix) \($0) \(suffix)" }
    }

    /// Removes a comment prefix (and the space after it) from each line that has one (`uncomment`).
    static func uncomment(_ lines: [String], prefix: String = "#", suffix: String = "") -> [String] {
        var result = lines
        if !prefix.isEmpty {
            result = result.map { line in
                if line.hasScalarPrefix(prefix + " ") { return line.dropScalars(prefix.unicodeScalars.count + 1) }
                if line.hasScalarPrefix(prefix) { return line.dropScalars(prefix.unicodeScalars.count) }
                return line
            }
        }
        if !suffix.isEmpty {
            result = result.map { line in
                if line.hasScalarSuffix(" " + suffix) { return line.dropLastScalars(suffix.unicodeScalars.count + 1) }
                if line.hasScalarSuffix(suffix) { return line.dropLastScalars(suffix.unicodeScalars.count) }
                return line
            }
        }
        return result
    }

    // MARK: Cell metadata as text

    /// Cell metadata that jupytext keeps for itself and never writes after a marker.
    static let jupytextCellKeys: Set<String> = ["skipline", "noskipline", "cell_marker", "lines_to_next_cell", "lines_to_end_of_cell_marker"]
    /// Cell metadata left out of the text by default (`_IGNORE_CELL_METADATA`).
    static let ignoredCellFilter = "-autoscroll,-collapsed,-scrolled,-trusted,-execution,-ExecuteTime,-skipline,-noskipline,-cell_marker,-lines_to_next_cell,-lines_to_end_of_cell_marker"
    /// Notebook metadata kept in the header by default (`_DEFAULT_NOTEBOOK_METADATA`).
    static let defaultNotebookFilter = "jupytext,kernelspec,kernel_info,orphan,tocdepth"

    /// A key jupytext writes as `key=value` (`_IS_VALID_METADATA_KEY`).
    static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || "_.@/-".unicodeScalars.contains($0) }
    }

    /// `_IS_IDENTIFIER`: letters, `_` and `.`, then digits too.
    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCIILetter || first == "_" || first == "." else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "_" || $0 == "." }
    }

    /// JSON as Python's `json.dumps` writes it by default.
    static func dumps(_ value: JSON) -> String {
        value.serialized(JSONWriteOptions(ensureASCII: true, itemSeparator: ", ", keySeparator: ": "))
    }

    /// The metadata as `key=value` pairs after an optional language or title (`metadata_to_text`).
    static func metadataText(_ languageOrTitle: String?, _ metadata: JSONObject, plainJSON: Bool) -> String {
        var metadata = JSONObject(metadata.filter { !jupytextCellKeys.contains($0.key) }.map { ($0.key, $0.value) })
        var text: [String] = []
        if let languageOrTitle, !languageOrTitle.isEmpty { text.append(languageOrTitle) }
        if languageOrTitle == nil, case .string(let title)? = metadata["title"], !title.contains("{"), !title.contains("=") {
            text.append(title)
            metadata["title"] = nil
        }
        if plainJSON {
            if !metadata.isEmpty { text.append(dumps(.object(metadata))) }
        } else {
            for (key, value) in metadata {
                if key == "incorrectly_encoded_metadata", case .string(let raw) = value {
                    text.append(raw)
                } else if value == .null {
                    text.append(key)
                } else {
                    text.append("\(key)=\(dumps(value))")
                }
            }
        }
        return text.joined(separator: " ")
    }

    /// What follows `%%` on a percent marker: a title, the cell type, then the metadata
    /// (`metadata_to_double_percent_options`).
    static func percentOptions(_ metadata: JSONObject, plainJSON: Bool) -> String {
        var metadata = metadata
        var text: [String] = []
        if let title = metadata.removeValue(forKey: "title") { text.append(title.stringValue ?? dumps(title)) }
        if let depth = metadata.removeValue(forKey: "cell_depth")?.intValue { text.insert(String(repeating: "%", count: max(depth, 0)), at: 0) }
        if let type = metadata.removeValue(forKey: "cell_type") {
            let name = metadata.removeValue(forKey: "region_name") ?? type
            text.append("[\(name.stringValue ?? "")]")
        }
        return metadataText(text.joined(separator: " "), metadata, plainJSON: plainJSON)
    }

    /// `is_json_metadata`: a `{` before any `=`.
    static func isJSONMetadata(_ text: String) -> Bool {
        guard let brace = text.scalarOffset(of: "{") else { return false }
        guard let equal = text.scalarOffset(of: "=") else { return true }
        return brace < equal
    }

    /// Parses JSON (`relax_json_loads`); nil when it is not JSON.
    static func relaxJSON(_ text: String) -> JSON? {
        try? JSON.parse(text.pyStrip())
    }

    /// Parses `key1=value1 key2=value2`, from the right, as jupytext does (`parse_key_equal_value`).
    static func parseKeyEqualValue(_ text: String) -> JSONObject {
        let text = text.pyStrip()
        guard !text.isEmpty else { return [:] }
        let scalars = Array(text.unicodeScalars)
        let lastSpace = scalars.lastIndex(of: " ") ?? -1
        let lastWord = String(String.UnicodeScalarView(scalars[(lastSpace + 1)...]))
        if !text.hasScalarPrefix("--"), isIdentifier(lastWord) {
            // `{key: None}` updated with what comes before it, so this key comes first (as in Python).
            var result: JSONObject = [lastWord: .null]
            if lastSpace > 0 {
                for (key, value) in parseKeyEqualValue(String(String.UnicodeScalarView(scalars[..<lastSpace]))) { result[key] = value }
            }
            return result
        }
        var searchEnd = scalars.count
        while true {
            guard let equal = scalars[..<searchEnd].lastIndex(of: "=") else {
                return ["incorrectly_encoded_metadata": .string(text)]
            }
            searchEnd = equal
            let left = String(String.UnicodeScalarView(scalars[..<equal])).pyRStrip()
            let previousSpace = left.unicodeScalars.lastIndex(of: " ").map { left.unicodeScalars.distance(from: left.unicodeScalars.startIndex, to: $0) } ?? -1
            let key = String(String.UnicodeScalarView(scalars[(previousSpace + 1)..<equal])).pyStrip()
            guard isValidKey(key) else { continue }
            guard let value = relaxJSON(String(String.UnicodeScalarView(scalars[(equal + 1)...]))) else { continue }
            var metadata: JSONObject = previousSpace > 0 ? parseKeyEqualValue(String(String.UnicodeScalarView(scalars[..<previousSpace]))) : [:]
            metadata[key] = value
            return metadata
        }
    }

    /// Splits the text after a marker into a language or title and the metadata (`text_to_metadata`).
    static func textToMetadata(_ text: String, allowTitle: Bool) -> (String, JSONObject) {
        let text = text.pyStrip()
        let brace = text.scalarOffset(of: "{")
        let equal = text.scalarOffset(of: "=")
        if brace == nil || (equal != nil && equal! < brace!) {
            if !allowTitle {
                if isJupyterLanguage(text) { return (text, [:]) }
                guard let space = text.scalarOffset(of: " ") else { return ("", parseKeyEqualValue(text)) }
                let language = text.prefixScalars(space)
                let options = text.dropScalars(space + 1)
                if isJupyterLanguage(language) { return (language, parseKeyEqualValue(options)) }
                return ("", parseKeyEqualValue(text))
            }
            var words: [String]
            if let equal {
                words = text.prefixScalars(equal).split(exactly: " ")
                while let last = words.last, last.isEmpty { words.removeLast() }
                if !words.isEmpty { words.removeLast() }
            } else {
                words = text.split(exactly: " ")
            }
            while let last = words.last, last.pyStrip().isEmpty || last.hasScalarPrefix(".") { words.removeLast() }
            let title = words.joined(separator: " ")
            return (title, parseKeyEqualValue(text.dropScalars(title.unicodeScalars.count)))
        }
        let title = text.prefixScalars(brace!).pyStrip()
        let json = text.dropScalars(brace!)
        if case .object(let object)? = relaxJSON(json) { return (title, object) }
        return (title, ["incorrectly_encoded_metadata": .string(json.pyStrip())])
    }

    static func isJupyterLanguage(_ language: String) -> Bool {
        jupyterLanguages.contains { $0.lowercased() == language.lowercased() }
    }

    /// Whether a cell is active in a file with this extension (`is_active`).
    static func isActive(_ ext: String, _ metadata: JSONObject, default defaultValue: Bool = true) -> Bool {
        if metadata["run_control"]?["frozen"] == .bool(true) { return ext == ".ipynb" }
        let bare = ext.replacingAll(".", with: "")
        for tag in metadata["tags"]?.arrayValue ?? [] {
            if let tag = tag.stringValue, tag.hasScalarPrefix("active-") {
                return tag.split(exactly: "-").contains(bare)
            }
        }
        guard let active = metadata["active"] else { return defaultValue }
        let list = active.stringValue ?? ""
        return list.split(whereSeparator: { $0 == "." || $0 == "," }).map(String.init).contains(bare)
            || (bare.isEmpty && list.isEmpty)
    }

    // MARK: Metadata filters

    /// A metadata filter: the keys added and those excluded, each a list or "all" (`metadata_filter_as_dict`).
    struct Filter {
        enum Keys { case all, keys([String]) }
        var additional: Keys?
        var excluded: Keys?

        static func from(_ value: JSON?) -> Filter {
            switch value {
            case .bool(true)?: return Filter(additional: .all, excluded: nil)
            case .bool(false)?: return Filter(additional: nil, excluded: .all)
            case .string(let text)?: return from(text)
            default: return Filter(additional: nil, excluded: nil)
            }
        }

        static func from(_ text: String) -> Filter {
            var add: [String]? = nil, exclude: [String]? = nil
            for raw in text.split(exactly: ",") {
                let key = raw.pyStrip()
                if key.hasScalarPrefix("-") {
                    exclude = (exclude ?? []) + [key.dropScalars(1).pyStrip()]
                } else if key.hasScalarPrefix("+") {
                    add = (add ?? []) + [key.dropScalars(1).pyStrip()]
                } else {
                    add = (add ?? []) + [key]
                }
            }
            func keys(_ list: [String]?) -> Keys? {
                guard let list else { return nil }
                return list.contains("all") ? .all : .keys(list.filter { !$0.isEmpty })
            }
            return Filter(additional: keys(add), excluded: keys(exclude))
        }
    }

    /// The metadata a filter keeps (`filter_metadata`). Keys jupytext cannot write are dropped
    /// unless `keepUnwritable` (wb keeps them in cells, writing the metadata as JSON instead).
    static func filter(_ metadata: JSONObject, user: JSON?, defaults: String, keepUnwritable: Bool = false) -> JSONObject {
        let defaultFilter = Filter.from(defaults)
        let userFilter = Filter.from(user)
        var defaultExclude = defaultFilter.excluded ?? .keys([])
        let defaultInclude = defaultFilter.additional ?? .keys([])
        if case .keys(let include) = defaultInclude, !include.isEmpty, case .keys(let exclude) = defaultExclude, exclude.isEmpty {
            defaultExclude = .all
        }
        let userExclude = userFilter.excluded ?? .keys([])
        let userInclude = userFilter.additional ?? .keys([])
        func list(_ keys: Filter.Keys) -> [String] {
            if case .keys(let list) = keys { return list }
            return []
        }
        if case .all = defaultExclude {
            if case .all = userInclude { return subset(metadata, keepOnly: nil, exclude: list(userExclude), keepUnwritable) }
            if case .all = userExclude { return subset(metadata, keepOnly: list(userInclude), exclude: nil, keepUnwritable) }
            return subset(metadata, keepOnly: list(userInclude) + list(defaultInclude), exclude: list(userExclude), keepUnwritable)
        }
        if case .all = userInclude { return subset(metadata, keepOnly: nil, exclude: list(userExclude), keepUnwritable) }
        if case .all = userExclude { return subset(metadata, keepOnly: list(userInclude), exclude: nil, keepUnwritable) }
        var metadata = metadata
        if let tags = metadata["tags"]?.arrayValue, tags.isEmpty { metadata["tags"] = nil }
        let userIncluded = Set(list(userInclude))
        return subset(metadata, keepOnly: nil, exclude: list(userExclude) + list(defaultExclude).filter { !userIncluded.contains($0) }, keepUnwritable)
    }

    /// `subset_metadata`, with its second level (`a.b` keeps or drops `b` inside `a`).
    static func subset(_ metadata: JSONObject, keepOnly: [String]?, exclude: [String]?, _ keepUnwritable: Bool) -> JSONObject {
        let supported = metadata.keys.filter { keepUnwritable || isValidKey($0) }
        func secondLevel(_ keys: [String]) -> [String: [String]] {
            var result: [String: [String]] = [:]
            for key in keys {
                guard let dot = key.scalarOffset(of: ".") else { continue }
                result[key.prefixScalars(dot), default: []].append(key.dropScalars(dot + 1))
            }
            return result
        }
        var filtered: JSONObject = [:]
        if let keepOnly {
            let keep = Set(keepOnly)
            for key in supported where keep.contains(key) { filtered[key] = metadata[key] }
            let sub = secondLevel(keepOnly)
            for key in supported where sub[key] != nil {
                if let inner = metadata[key]?.objectValue {
                    filtered[key] = .object(subset(inner, keepOnly: sub[key], exclude: nil, keepUnwritable))
                }
            }
        } else {
            for key in supported { filtered[key] = metadata[key] }
        }
        if let exclude {
            for key in exclude { filtered[key] = nil }
            for (key, keys) in secondLevel(exclude) {
                if let inner = filtered[key]?.objectValue {
                    filtered[key] = .object(subset(inner, keepOnly: nil, exclude: keys, keepUnwritable))
                }
            }
        }
        return filtered
    }

    /// Records in the notebook's `jupytext` settings which metadata a text file held (`update_metadata_filters`).
    static func updateMetadataFilters(_ metadata: inout JSONObject, headerFound: Bool, cellKeys: [String]) {
        var jupytext = metadata["jupytext"]?.objectValue ?? [:]
        defer { metadata["jupytext"] = jupytext.isEmpty ? nil : .object(jupytext) }
        func asString(additional: Filter.Keys?, excluded: Filter.Keys?) -> String {
            var entries: [String] = []
            switch additional {
            case .all?: entries = ["all"]
            case .keys(let keys)?: entries = keys.filter { !jupytextCellKeys.contains($0) }
            case nil: break
            }
            switch excluded {
            case .all?: entries.append("-all")
            case .keys(let keys)?: entries += keys.map { "-" + $0 }
            case nil: break
            }
            return entries.joined(separator: ",")
        }
        if !headerFound {
            jupytext["notebook_metadata_filter"] = "-all"
            if jupytext["cell_metadata_filter"] == nil {
                jupytext["cell_metadata_filter"] = .string(asString(additional: .keys(cellKeys), excluded: .all))
            }
        } else if let existing = jupytext["cell_metadata_filter"] {
            var filter = Filter.from(existing)
            if case .keys(let excluded)? = filter.excluded { filter.excluded = .keys(excluded.filter { !cellKeys.contains($0) }) }
            if filter.additional == nil { filter.additional = Filter.Keys.keys([]) }
            if case .keys(var additional)? = filter.additional {
                for key in cellKeys where !additional.contains(key) { additional.append(key) }
                filter.additional = .keys(additional)
            }
            jupytext["cell_metadata_filter"] = .string(asString(additional: filter.additional, excluded: filter.excluded))
        } else {
            var filter = (jupytext["notebook_metadata_filter"]?.stringValue ?? "").split(exactly: ",").filter { !$0.isEmpty }
            if filter.contains("all") || filter.contains("-all") { return }
            let defaults = Set(defaultNotebookFilter.split(exactly: ","))
            for key in metadata.keys where !defaults.contains(key) && !filter.contains(key) && !filter.contains("-" + key) {
                filter.append(key)
            }
            if !filter.isEmpty { jupytext["notebook_metadata_filter"] = .string(filter.joined(separator: ",")) }
        }
    }

    // MARK: Header

    /// The text before the first cell: `#!` and encoding lines, then the YAML header, commented
    /// with `prefix` (`encoding_and_executable`, `metadata_and_cell_to_header`). Removes a leading
    /// raw cell that holds YAML front matter, which goes into the header. Returns the lines and
    /// the blank lines the removed cell asked for after it, if any.
    static func header(
        _ notebook: inout Notebook, metadata: JSONObject, ext: String, formatName: String, prefix: String, suffix: String = ""
    ) -> (executable: [String], header: [String], linesToNextCell: Int?) {
        var metadata = metadata
        var jupytext = metadata["jupytext"]?.objectValue ?? [:]
        var first: [String] = []
        if let comment = scripts[ext]?.comment {
            if let executable = jupytext.removeValue(forKey: "executable")?.stringValue { first.append("#!" + executable) }
            if let encoding = jupytext.removeValue(forKey: "encoding")?.stringValue {
                first.append(encoding)
            } else if defaultLanguage(metadata, ext: ext) != "python",
                notebook.cells.contains(where: { !$0.source.unicodeScalars.allSatisfy(\.isASCII) })
            {
                first.append(comment + " -*- coding: utf-8 -*-")
            }
        }
        var header: [String] = []
        var linesToNextCell: Int? = nil
        if let cell = notebook.cells.first, cell.kind == .raw {
            let lines = pySplitLines(cell.source.pyStrip(characters: "\n\t "))
            if lines.count >= 2, isHeaderRule(lines[0]), isHeaderRule(lines[lines.count - 1]) {
                header = Array(lines[1..<(lines.count - 1)])
                linesToNextCell = cell.metadata["lines_to_next_cell"]?.intValue
                notebook.cells.removeFirst()
            }
        }
        jupytext["text_representation"] = [
            "extension": .string(ext), "format_name": .string(formatName), "format_version": .string(formatVersion),
            "jupytext_version": .string(version),
        ]
        metadata["jupytext"] = .object(jupytext)
        let kept = filter(metadata, user: jupytext["notebook_metadata_filter"], defaults: defaultNotebookFilter)
        if !kept.isEmpty {
            // jupytext: `yaml.safe_dump({"jupyter": metadata}, default_flow_style=False)`, which sorts keys and escapes non-ASCII.
            let yaml = (try? YAML.dump(["jupyter": .object(kept)], width: 80, sortKeys: true, allowUnicode: false)) ?? ""
            header += pySplitLines(yaml)
        }
        if !header.isEmpty { header = ["---"] + header + ["---"] }
        return (first, commentLines(header, prefix: prefix, suffix: suffix), linesToNextCell)
    }

    static func isHeaderRule(_ line: String) -> Bool {
        line.hasScalarPrefix("---") && line.dropScalars(3).unicodeScalars.allSatisfy(\.isPySpace)
    }

    /// What a header holds (`header_to_metadata_and_cell`): the notebook metadata, whether a
    /// `jupyter:` section was there, a raw cell for other YAML keys, and the index of the first
    /// line after the header. A header that is opened but never closed, or whose YAML does not
    /// parse, is an error naming the line.
    static func readHeader(
        _ lines: [String], prefix: String, suffix: String = "", ext: String
    ) throws(NotebookError) -> (metadata: JSONObject, jupyter: Bool, cell: Cell?, next: Int) {
        var header: [String] = [], jupyter: [String] = []
        var jupyterLines: [Int] = []
        var inJupyter = false
        var start = 0, started = false, ended = false
        var openedAt = 0
        var metadata: JSONObject = [:]
        var settings: JSONObject = [:]
        var i = -1
        let comment = prefix == "#'" ? "#" : prefix
        func encoding(_ line: String) -> String? {
            // [ \t\f]*COMMENT.*?coding[:=][ \t]*([-_.a-zA-Z0-9]+)
            let body = Substring(line).unicodeScalars.drop { $0 == " " || $0 == "\t" || $0 == "\u{0C}" }
            guard !comment.isEmpty, String(body).hasScalarPrefix(comment) else { return nil }
            let rest = String(body).dropScalars(comment.unicodeScalars.count)
            guard let range = rest.scalarRange(of: "coding") else { return nil }
            let after = rest[range.upperBound...].unicodeScalars
            guard let sign = after.first, sign == ":" || sign == "=" else { return nil }
            let name = after.dropFirst().drop { $0 == " " || $0 == "\t" }.prefix { $0.isASCIIAlphanumeric || "-_.".unicodeScalars.contains($0) }
            return name.isEmpty ? nil : String(name)
        }
        while i + 1 < lines.count {
            i += 1
            var line = lines[i]
            if i == 0, line.hasScalarPrefix("#!") {
                settings["executable"] = .string(line.dropScalars(2))
                start = i + 1
                continue
            }
            if i == 0 || (i == 1 && encoding(lines[0]) == nil) {
                if let name = encoding(line) {
                    guard name == "utf-8" else {
                        throw NotebookError(.notANotebook, "line \(i + 1): encodings other than utf-8 are not supported (\(name))")
                    }
                    settings["encoding"] = .string(line)
                    start = i + 1
                    continue
                }
            }
            guard line.hasScalarPrefix(prefix) else { break }
            line = uncomment([line], prefix: prefix, suffix: suffix)[0]
            if isHeaderRule(line) {
                if !started {
                    started = true
                    openedAt = i
                    continue
                }
                ended = true
                break
            }
            if !started, !line.pyStrip().isEmpty { break }
            if line.pyRStrip() == "jupyter:" || (line.hasScalarPrefix("jupyter") && line.dropScalars(7).pyStrip() == ":") {
                inJupyter = true
            } else if !line.isEmpty, let first = line.unicodeScalars.first, !first.isPySpace {
                inJupyter = false
            }
            if inJupyter {
                jupyter.append(line)
                jupyterLines.append(i)
            } else {
                header.append(line)
            }
        }
        if started, !ended {
            let opened = "line \(openedAt + 1): the header opened with `\(prefix.isEmpty ? "" : prefix + " ")---` is never closed"
            // The header stops at the first line that is not a header comment, or at the end of the file.
            let stop = i < lines.count && !lines[i].hasScalarPrefix(prefix) ? "before line \(i + 1)" : "before the end of the file"
            throw NotebookError(.notANotebook, "\(opened) (no closing `---` \(stop))")
        }
        if !settings.isEmpty { metadata["jupytext"] = .object(settings) }
        guard ended else { return (metadata, false, nil, start) }
        if !jupyter.isEmpty {
            let yaml = jupyter.joined(separator: "\n")
            let loaded: JSON?
            do {
                loaded = try YAML.load(yaml)
            } catch {
                var line = jupyterLines.first.map { $0 + 1 } ?? openedAt + 1
                // The mark counts lines of the YAML from 1; past its end it means the last line.
                if let mark = error.mark, mark.line >= 1, !jupyterLines.isEmpty { line = jupyterLines[min(mark.line, jupyterLines.count) - 1] + 1 }
                throw NotebookError(.notANotebook, "line \(line): the YAML header is not valid: \(error.problem)")
            }
            guard let section = loaded?["jupyter"] else {
                throw NotebookError(.notANotebook, "line \((jupyterLines.first ?? openedAt) + 1): the header's `jupyter:` section is not a mapping")
            }
            guard case .object(var fromYAML) = section else {
                if section == .null { return (metadata, true, nil, i + 1) }
                throw NotebookError(.notANotebook, "line \((jupyterLines.first ?? openedAt) + 1): the header's `jupyter:` section is not a mapping")
            }
            if !settings.isEmpty {
                var merged = fromYAML["jupytext"]?.objectValue ?? [:]
                for (key, value) in settings { merged[key] = value }
                fromYAML["jupytext"] = .object(merged)
            }
            metadata = fromYAML
        }
        var linesToNextCell = 1
        if lines.count > i + 1 {
            let line = uncomment([lines[i + 1]], prefix: prefix)[0]
            if !line.unicodeScalars.allSatisfy(\.isPySpace) {
                linesToNextCell = 0
            } else {
                i += 1
            }
        } else {
            linesToNextCell = 0
        }
        var cell: Cell? = nil
        if !header.isEmpty {
            let expected = PEP8.linesBetween(["---"], Array(lines[min(i + 1, lines.count)...]), ext: ext)
            cell = Cell(.raw, source: (["---"] + header + ["---"]).joined(separator: "\n"),
                        metadata: linesToNextCell == expected ? [:] : ["lines_to_next_cell": .int(linesToNextCell)])
        }
        return (metadata, !jupyter.isEmpty, cell, i + 1)
    }

    /// After reading a text notebook: cells in another language get their `%%language` magic back,
    /// and the main language is recorded when no kernel names it (`set_main_and_cell_language`).
    static func setMainAndCellLanguage(_ metadata: inout JSONObject, _ cells: inout [Cell], ext: String) {
        var main = defaultLanguage(metadata, ext: ext)
        if main == nil {
            var counts: [String: Double] = ["python": 0.5]
            for cell in cells {
                if let language = cell.metadata["language"]?.stringValue { counts[usualLanguageName(language), default: 0] += 1 }
            }
            main = counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key
        }
        guard let main else { return }
        if metadata["kernelspec"]?["language"] == nil, !cells.isEmpty {
            var jupytext = metadata["jupytext"]?.objectValue ?? [:]
            jupytext["main_language"] = .string(main)
            metadata["jupytext"] = .object(jupytext)
        }
        for index in cells.indices {
            guard let language = cells[index].metadata["language"]?.stringValue else { continue }
            if language == main {
                cells[index].metadata["language"] = nil
                continue
            }
            if usualLanguageName(language) == main { continue }
            if jupyterLanguages.contains(language) {
                cells[index].metadata["language"] = nil
                let magic = main != "csharp" ? "%%" : "#!"
                if let arguments = cells[index].metadata.removeValue(forKey: "magic_args") {
                    cells[index].source = "\(magic)\(language) \(arguments.stringValue ?? "")\n" + cells[index].source
                } else {
                    cells[index].source = "\(magic)\(language)\n" + cells[index].source
                }
            }
        }
    }

    /// A cell's source as lines, as jupytext sees it (`cell_source`): `[""]` when empty, and a
    /// final empty line when it ends with a newline. Only `\n` splits lines here (see `lines`).
    static func cellSource(_ source: String) -> [String] {
        if source.isEmpty { return [""] }
        return PercentScript.lines(source)
    }

    /// Python's `str.splitlines()`, for text that wb itself produced (YAML) or headers.
    static func pySplitLines(_ text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n", previousCR {
                previousCR = false
                continue
            }
            previousCR = scalar == "\r"
            if scalar.isPyLineBreak {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    /// What both text formats start a cell with: its source, its metadata as written (user filter
    /// applied, a cell magic's language and arguments added) and that magic's language, if any.
    static func cellHeader(_ cell: Cell, defaultLanguage: String, cellFilter: JSON?) -> (source: [String], metadata: JSONObject, language: String?) {
        var source = Jupytext.cellSource(cell.source)
        var metadata = Jupytext.filter(cell.metadata, user: cellFilter, defaults: Jupytext.ignoredCellFilter, keepUnwritable: true)
        var language: String? = nil
        if let magic = Jupytext.cellLanguage(&source, defaultLanguage: defaultLanguage) {
            if !magic.arguments.isEmpty { metadata["magic_args"] = .string(magic.arguments) }
            language = magic.language
            metadata["language"] = .string(magic.language)
        }
        return (source, metadata, language)
    }
}

// MARK: Magics

/// jupytext's handling of Jupyter magics in scripts (`magics.py`): `%matplotlib inline` is
/// written `# %matplotlib inline`, so that the script stays valid code, and read back uncommented.
enum Magics {
    static let scriptLanguages: Set<String> = Set(Jupytext.scripts.values.map(\.language))

    /// `^\s*(C |C)*` followed by `%`, `%%` or `%%%` and a letter; returns the rest after the letter.
    static func magicRest(_ line: String, comment: String, leadingSpace: Bool = true) -> Substring.UnicodeScalarView? {
        var rest = Substring(line).unicodeScalars[...]
        if leadingSpace { rest = rest.drop(while: \.isPySpace) }
        rest = dropComments(rest, comment)
        let percents = rest.prefix { $0 == "%" }.count
        guard (1...3).contains(percents) else { return nil }
        rest = rest.dropFirst(percents)
        guard let letter = rest.first, letter.isASCIILetter else { return nil }
        return rest.dropFirst()
    }

    /// Drops any number of `C ` or `C` at the start.
    static func dropComments(_ text: Substring.UnicodeScalarView, _ comment: String) -> Substring.UnicodeScalarView {
        var rest = text
        let c = Array(comment.unicodeScalars)
        guard !c.isEmpty else { return rest }
        while rest.starts(with: c) {
            rest = rest.dropFirst(c.count)
            if rest.first == " " { rest = rest.dropFirst() }
        }
        return rest
    }

    /// `C\s*escape` somewhere in the text (`_MAGIC_FORCE_ESC_RE` / `_MAGIC_NOT_ESC_RE`).
    static func hasFlag(_ rest: Substring.UnicodeScalarView, comment: String, _ flag: String) -> Bool {
        let text = String(rest)
        var search = text[...]
        while let range = search.scalarRange(of: comment) {
            let after = Substring(search[range.upperBound...]).unicodeScalars.drop(while: \.isPySpace)
            if String(after).hasScalarPrefix(flag) { return true }
            search = search[range.upperBound...]
        }
        return false
    }

    static let shellCommands = ["cat", "cd", "cp", "mv", "rm", "rmdir", "mkdir", "copy", "ddir", "echo", "ls", "ldir", "ren"]

    /// Whether a (possibly commented) line is a Jupyter magic that the script should comment (`is_magic`).
    static func isMagic(_ line: String, language: String, escape: Bool = true, explicitlyCode: Bool = false) -> Bool {
        let language = Jupytext.usualLanguageName(language)
        if ["octave", "matlab", "sas", "jenner", "logtalk"].contains(language) || !scriptLanguages.contains(language) { return false }
        let comment = Jupytext.comments[language] ?? "#"
        let generic = magicRest(line, comment: comment)
        // jupytext's `_MAGIC_FORCE_ESC_RE` (for Rust and C# it is set to the `noescape` pattern, as there).
        switch language {
        case "rust":
            if let rest = prefixed(line, comment: "//", marker: ":"), hasFlag(rest, comment: "//", "noescape") { return true }
        case "csharp":
            if let rest = prefixed(line, comment: "//", marker: "#!"), hasFlag(rest, comment: "//", "noescape") { return true }
        default:
            if let generic, hasFlag(generic, comment: comment, "escape") { return true }
        }
        if !escape { return false }
        if let generic, hasFlag(generic, comment: comment, "noescape") { return false }
        switch language {
        case "rust": if prefixed(line, comment: "//", marker: ":") != nil { return true }
        case "csharp": if prefixed(line, comment: "//", marker: "#!") != nil { return true }
        case "go":
            if magicRest(line, comment: "//", leadingSpace: false) != nil || prefixed(line, comment: "//", marker: "!*") != nil
                || prefixed(line, comment: "//", marker: "!") != nil
            {
                return true
            }
        default: if generic != nil { return true }
        }
        guard language == "python" else { return false }
        if isHelpOrBash(line) || isMagicAssignment(line) { return true }
        if explicitlyCode, isHelp(line) { return true }
        return isShellCommand(line)
    }

    /// `^(C |C)*MARKER[a-zA-Z]` for Rust's `:dep` and C#'s `#!magic`.
    static func prefixed(_ line: String, comment: String, marker: String) -> Substring.UnicodeScalarView? {
        let rest = dropComments(Substring(line).unicodeScalars, comment)
        guard rest.starts(with: marker.unicodeScalars) else { return nil }
        let after = rest.dropFirst(marker.unicodeScalars.count)
        guard let letter = after.first, letter.isASCIILetter else { return nil }
        return after.dropFirst()
    }

    /// `^\s*(?:(?:# |#)+\s*)?(\?|!)\s*[A-Za-z.~$\\/{}]`
    static func isHelpOrBash(_ line: String) -> Bool {
        var rest = Substring(line).unicodeScalars.drop(while: \.isPySpace)
        if rest.first == "#" { rest = dropComments(rest, "#").drop(while: \.isPySpace) }
        guard let mark = rest.first, mark == "?" || mark == "!" else { return false }
        rest = rest.dropFirst().drop(while: \.isPySpace)
        guard let next = rest.first else { return false }
        return next.isASCIILetter || ".~$\\/{}".unicodeScalars.contains(next)
    }

    /// `^(# |#)*\s*IDENT\s*=\s*(%|%%|%%%|!)[a-zA-Z]`
    static func isMagicAssignment(_ line: String) -> Bool {
        var rest = dropComments(Substring(line).unicodeScalars, "#").drop(while: \.isPySpace)
        guard let first = rest.first, first.isASCIILetter || first == "_" else { return false }
        rest = rest.drop { $0.isASCIIAlphanumeric || $0 == "_" || $0 == "$" }.drop(while: \.isPySpace)
        guard rest.first == "=" else { return false }
        rest = rest.dropFirst().drop(while: \.isPySpace)
        if rest.first == "!" {
            rest = rest.dropFirst()
        } else {
            let percents = rest.prefix { $0 == "%" }.count
            guard (1...3).contains(percents) else { return false }
            rest = rest.dropFirst(percents)
        }
        return rest.first?.isASCIILetter == true
    }

    /// `^\s*(# )*[^\s]*\?\s*$`: IPython help such as `math.sqrt?`.
    static func isHelp(_ line: String) -> Bool {
        var rest = Substring(line).unicodeScalars.drop(while: \.isPySpace)
        while rest.starts(with: "# ".unicodeScalars) { rest = rest.dropFirst(2) }
        let trimmed = rest.reversed().drop(while: \.isPySpace).reversed()
        guard trimmed.last == "?" else { return false }
        return !trimmed.contains(where: \.isPySpace)
    }

    /// `^(# |#)*(cat|cd|...)($|\s$|\s[^=,])`: a shell command IPython runs without `!`.
    static func isShellCommand(_ line: String) -> Bool {
        let rest = dropComments(Substring(line).unicodeScalars, "#")
        for command in shellCommands where rest.starts(with: command.unicodeScalars) {
            let after = Array(rest.dropFirst(command.unicodeScalars.count))
            if after.isEmpty { return true }
            guard after[0].isPySpace else { continue }
            if after.count == 1 { return true }
            if after[1] != "=" && after[1] != "," { return true }
        }
        return false
    }

    /// Comments out the magics of a code cell (`comment_magic`).
    static func comment(_ source: [String], language: String, escape: Bool = true, explicitlyCode: Bool = true) -> [String] {
        rewriteMagics(source, language: language, escape: escape, explicitlyCode: explicitlyCode) { line, continued, comment in
            // A continuation line of a magic keeps its own indentation after the comment mark.
            if continued { return comment + " " + line }
            let unindented = line.pyLStrip()
            let indent = line.prefixScalars(line.unicodeScalars.count - unindented.unicodeScalars.count)
            return indent + comment + " " + unindented
        }
    }

    /// Uncomments the magics of a code cell (`uncomment_magic`).
    static func uncomment(_ source: [String], language: String, escape: Bool = true, explicitlyCode: Bool = true) -> [String] {
        rewriteMagics(source, language: language, escape: escape, explicitlyCode: explicitlyCode) { line, _, comment in
            unescape(line, comment: comment)
        }
    }

    /// Rewrites each magic line of a code cell outside strings, and the lines a magic continues onto with
    /// a trailing backslash (Python): `rewrite(line, isContinuation, commentMark)`.
    private static func rewriteMagics(
        _ source: [String], language: String, escape: Bool, explicitlyCode: Bool,
        _ rewrite: (String, Bool, String) -> String
    ) -> [String] {
        var source = source
        var parser = StringParser(language: language)
        var nextIsMagic = false
        let comment = Jupytext.comments[Jupytext.usualLanguageName(language)] ?? Jupytext.comments[language] ?? "#"
        for index in source.indices {
            let line = source[index]
            if !parser.isQuoted, nextIsMagic || isMagic(line, language: language, escape: escape, explicitlyCode: explicitlyCode) {
                source[index] = rewrite(line, nextIsMagic, comment)
                nextIsMagic = language == "python" && endsWithContinuation(line)
            }
            parser.read(line)
        }
        return source
    }

    static func unescape(_ line: String, comment: String) -> String {
        let unindented = line.pyLStrip()
        let indent = line.prefixScalars(line.unicodeScalars.count - unindented.unicodeScalars.count)
        if unindented.hasScalarPrefix(comment + " ") { return indent + unindented.dropScalars(comment.unicodeScalars.count + 1) }
        if unindented.hasScalarPrefix(comment) { return indent + unindented.dropScalars(comment.unicodeScalars.count) }
        return line
    }

    /// `.*\\\s*$`
    static func endsWithContinuation(_ line: String) -> Bool {
        line.unicodeScalars.reversed().drop(while: \.isPySpace).first == "\\"
    }

    /// `^(C |C)*(C|C )\+`: a light-format cell marker, escaped in code (`is_escaped_code_start`).
    static func isEscapedCodeStart(_ line: String, ext: String) -> Bool {
        if ext == ".md" || ext == ".markdown" {
            return dropComments(Substring(line).unicodeScalars, "#").starts(with: "```".unicodeScalars)
        }
        guard let comment = Jupytext.scripts[ext]?.comment else { return false }
        let c = Array(comment.unicodeScalars)
        // At least one comment, the last one followed by an optional space, then `+`.
        var rest = Substring(line).unicodeScalars[...]
        while rest.starts(with: c) {
            rest = rest.dropFirst(c.count)
            if rest.first == "+" { return true }
            if rest.first == " " {
                rest = rest.dropFirst()
                if rest.first == "+" { return true }
            }
        }
        return false
    }

    /// `unescape_code_start`: `# # +` back to `# +` in code cells.
    static func unescapeCodeStart(_ source: [String], ext: String, language: String) -> [String] {
        var source = source
        var parser = StringParser(language: language)
        let comment = Jupytext.comments[Jupytext.usualLanguageName(language)] ?? "#"
        for index in source.indices {
            let line = source[index]
            if !parser.isQuoted, isEscapedCodeStart(line, ext: ext) {
                let unescaped = unescape(line, comment: comment)
                if isEscapedCodeStart(unescaped, ext: ext) { source[index] = unescaped }
            }
            parser.read(line)
        }
        return source
    }
}

/// Whether the start of the next line is inside a string (jupytext's `StringParser`).
struct StringParser {
    var single: Unicode.Scalar?
    var triple: Unicode.Scalar?
    let ignore: Bool
    let python: Bool
    let comment: [Unicode.Scalar]?

    init(language: String?) {
        ignore = language == nil
        python = language != "R"
        comment = language.flatMap { Jupytext.comments[$0] }.map { Array($0.unicodeScalars) }
    }

    var isQuoted: Bool { !ignore && (single != nil || triple != nil) }

    mutating func read(_ line: String) {
        if ignore { return }
        let chars = Array(line.unicodeScalars)
        if !isQuoted, let comment, chars.drop(while: \.isPySpace).starts(with: comment) { return }
        var tripleStart = -1
        for i in chars.indices {
            let char = chars[i]
            if single == nil, triple == nil, let comment, char == comment[0], chars[i...].starts(with: comment) { break }
            guard char == "\"" || char == "'" else { continue }
            if i > 0, chars[i - 1] == "\\" { continue }
            if single == char {
                single = nil
                continue
            }
            if single != nil { continue }
            if !python { continue }
            if i >= 2, chars[i - 2] == char, chars[i - 1] == char, i >= tripleStart + 3 {
                if triple == char {
                    triple = nil
                    tripleStart = i
                    continue
                }
                if triple != nil { continue }
                triple = char
                tripleStart = i
                continue
            }
            if triple != nil { continue }
            single = char
        }
        if python { single = nil }
    }
}

/// jupytext's PEP 8 spacing of Python scripts (`pep8.py`): two blank lines around a cell that
/// ends with, or is followed by, a function or class definition; one otherwise.
enum PEP8 {
    /// Blank lines between a cell's text (`previous`) and the text after it (`next`, all following cells).
    static func linesBetween(_ previous: [String], _ next: [String], ext: String) -> Int {
        if next.isEmpty { return 1 }
        if previous.isEmpty { return 0 }
        if ext != ".py" { return 1 }
        if endsWithFunctionOrClass(previous) { return hasCode(next) ? 2 : 1 }
        if endsWithCode(previous) && nextIsFunctionOrClass(next) { return 2 }
        return 1
    }

    static func isDefinition(_ line: String) -> Bool {
        line.hasScalarPrefix("def ") || line.hasScalarPrefix("async ") || line.hasScalarPrefix("class ")
    }

    static func isBlank(_ line: String) -> Bool { line.unicodeScalars.allSatisfy(\.isPySpace) }

    static func nextIsFunctionOrClass(_ lines: [String]) -> Bool {
        var parser = StringParser(language: "python")
        for (i, line) in lines.enumerated() {
            if parser.isQuoted {
                parser.read(line)
                continue
            }
            parser.read(line)
            if isBlank(line) {
                if i > 0, isBlank(lines[i - 1]) { return false }
                continue
            }
            if isDefinition(line) { return true }
            if line.hasScalarPrefix("#") || line.hasScalarPrefix("@") || line.hasScalarPrefix(" ") || line.hasScalarPrefix(")") { continue }
            return false
        }
        return false
    }

    static func endsWithFunctionOrClass(_ lines: [String]) -> Bool {
        var parser = StringParser(language: "python")
        var unquoted: [String] = []
        for line in lines {
            if !parser.isQuoted { unquoted.append(line) }
            parser.read(line)
        }
        let reversed = Array(unquoted.reversed())
        for (i, line) in reversed.enumerated() {
            if isBlank(line) {
                if i > 0, isBlank(reversed[i - 1]) { return false }
                continue
            }
            if line.hasScalarPrefix("#") || line.hasScalarPrefix(" ") || line.hasScalarPrefix(")") { continue }
            return isDefinition(line)
        }
        return false
    }

    static func endsWithCode(_ lines: [String]) -> Bool {
        guard let last = lines.last else { return false }
        return !isBlank(last) && !last.hasScalarPrefix("#")
    }

    static func hasCode(_ lines: [String]) -> Bool {
        for (i, line) in lines.enumerated() {
            let stripped = line.pyStrip()
            if stripped.hasScalarPrefix("#") { continue }
            if stripped.isEmpty {
                if i > 0, isBlank(lines[i - 1]) { return false }
                continue
            }
            return true
        }
        return false
    }
}

// MARK: Python string semantics

extension Unicode.Scalar {
    /// Python's `str.isspace()`.
    var isPySpace: Bool {
        properties.isWhitespace || (0x1C...0x1F).contains(value)
    }

    /// A line boundary for Python's `str.splitlines()`.
    var isPyLineBreak: Bool {
        switch value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    var isASCIILetter: Bool { (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) }
    var isASCIIAlphanumeric: Bool { isASCIILetter || (0x30...0x39).contains(value) }
}

extension String {
    /// Whether the string starts with `prefix`, scalar by scalar (as Python compares).
    func hasScalarPrefix(_ prefix: String) -> Bool { unicodeScalars.starts(with: prefix.unicodeScalars) }

    func hasScalarSuffix(_ suffix: String) -> Bool { unicodeScalars.reversed().starts(with: suffix.unicodeScalars.reversed()) }

    func dropScalars(_ count: Int) -> String { String(String.UnicodeScalarView(unicodeScalars.dropFirst(count))) }

    func dropLastScalars(_ count: Int) -> String { String(String.UnicodeScalarView(unicodeScalars.dropLast(count))) }

    func prefixScalars(_ count: Int) -> String { String(String.UnicodeScalarView(unicodeScalars.prefix(count))) }

    /// The scalar offset of the first `scalar`, as Python's `str.find`.
    func scalarOffset(of scalar: Unicode.Scalar) -> Int? {
        var offset = 0
        for s in unicodeScalars {
            if s == scalar { return offset }
            offset += 1
        }
        return nil
    }

    func pyStrip() -> String { pyLStrip().pyRStrip() }

    func pyLStrip() -> String { String(String.UnicodeScalarView(unicodeScalars.drop(while: \.isPySpace))) }

    func pyRStrip() -> String {
        var scalars = Array(unicodeScalars)
        while let last = scalars.last, last.isPySpace { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    /// `str.strip(chars)`.
    func pyStrip(characters: String) -> String {
        let set = Set(characters.unicodeScalars)
        var scalars = Array(unicodeScalars.drop { set.contains($0) })
        while let last = scalars.last, set.contains(last) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }

    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        return split(exactly: target).joined(separator: replacement)
    }

    /// Split at every occurrence of a scalar-exact separator.
    func split(exactly separator: String) -> [String] {
        let sep = Array(separator.unicodeScalars)
        let scalars = Array(unicodeScalars)
        var result: [String] = []
        var current = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            if !sep.isEmpty, scalars[i...].starts(with: sep) {
                result.append(String(current))
                current = String.UnicodeScalarView()
                i += sep.count
            } else {
                current.append(scalars[i])
                i += 1
            }
        }
        result.append(String(current))
        return result
    }

    /// The first range of `needle`, compared scalar by scalar (no Unicode equivalence).
    func scalarRange(of needle: String) -> Range<String.Index>? { self[...].scalarRange(of: needle) }
}

extension Substring {
    func scalarRange(of needle: String) -> Range<String.Index>? {
        let hay = unicodeScalars
        let n = Array(needle.unicodeScalars)
        guard !n.isEmpty else { return nil }
        var index = hay.startIndex
        while index != hay.endIndex {
            if hay[index...].starts(with: n) {
                return index..<hay.index(index, offsetBy: n.count)
            }
            index = hay.index(after: index)
        }
        return nil
    }
}
