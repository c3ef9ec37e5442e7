public import CoreSupport
public import Notebook

/// Papermill-compatible notebook parameters.
public enum Parameters {
    /// The value papermill's `-p NAME VALUE` gives: `True`/`False`, `None`,
    /// an integer, a float, else the string itself.
    public static func infer(_ text: String) -> JSON {
        switch text {
        case "True", "true": return .bool(true)
        case "False", "false": return .bool(false)
        case "None": return .null
        default: break
        }
        if let i = Int(text) { return .int(i) }
        if let d = Double(text), !text.isEmpty, text.first != "+" || text.count > 1,
            !["nan", "inf", "-inf", "infinity"].contains(text.lowercased())
        {
            return .double(d)
        }
        return .string(text)
    }

    /// The source of the `injected-parameters` cell, in the kernel's language (as papermill writes it).
    public static func source(_ parameters: [(String, JSON)], language: String) -> String {
        let lang = language.lowercased()
        let comment = lang == "r" || lang == "python" || lang == "julia" || lang.isEmpty ? "#" : (lang == "sql" ? "--" : "//")
        var out = "\(comment) Parameters\n"
        for (name, value) in parameters {
            switch lang {
            case "r": out += "\(name) = \(rLiteral(value))\n"
            case "julia": out += "\(name) = \(value.serialized(.init(itemSeparator: ", ", keySeparator: " => ")))\n"
            default: out += "\(name) = \(pythonLiteral(value))\n"
            }
        }
        return out
    }

    /// A Python literal for a JSON value (papermill's PythonTranslator).
    public static func pythonLiteral(_ value: JSON) -> String {
        switch value {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .bigInt(let digits): return digits
        case .double(let d):
            if d.isNaN { return "float('nan')" }
            if d.isInfinite { return d < 0 ? "float('-inf')" : "float('inf')" }
            return JSON.pythonRepr(d)
        case .string(let s):
            // papermill: '"{}"'.format(val.replace('"', r'\"')) after escaping backslashes.
            return "\"" + s.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"").replacingAll("\n", with: "\\n") + "\""
        case .array(let items): return "[" + items.map(pythonLiteral).joined(separator: ", ") + "]"
        case .object(let object):
            return "{" + object.map { "\(pythonLiteral(.string($0.key))): \(pythonLiteral($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    static func rLiteral(_ value: JSON) -> String {
        switch value {
        case .null: return "NULL"
        case .bool(let b): return b ? "TRUE" : "FALSE"
        case .array(let items): return "list(" + items.map(rLiteral).joined(separator: ", ") + ")"
        case .object(let object):
            return "list(" + object.map { "\"\($0.key)\" = \(rLiteral($0.value))" }.joined(separator: ", ") + ")"
        default: return pythonLiteral(value)
        }
    }

    /// Puts the parameters cell in place: replacing an earlier `injected-parameters`
    /// cell, else right after the cell tagged `parameters`, else at the top.
    /// Returns the index of the injected cell.
    @discardableResult
    public static func inject(_ parameters: [(String, JSON)], into notebook: inout Notebook, language: String) -> Int? {
        guard !parameters.isEmpty else { return nil }
        var cell = Cell(.code, source: source(parameters, language: language), id: notebook.hasCellIDs ? Cell.randomID() : nil)
        cell.metadata = ["tags": ["injected-parameters"]]
        if let existing = notebook.firstCell(taggedWith: "injected-parameters") {
            notebook.cells[existing] = cell
            return existing
        }
        if let tagged = notebook.firstCell(taggedWith: "parameters") {
            notebook.cells.insert(cell, at: tagged + 1)
            return tagged + 1
        }
        notebook.cells.insert(cell, at: 0)
        return 0
    }
}
