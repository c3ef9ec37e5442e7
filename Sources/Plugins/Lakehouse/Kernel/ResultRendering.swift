import CoreSupport
import Storage

/// Query results as a notebook shows them: a plain-text table, an HTML table and a
/// Frictionless data resource (`application/vnd.dataresource+json`, as pandas emits).
struct ResultRendering {
    var columns: [String]
    var rows: [[DatabaseValue]]
    /// Whether the query had more rows than `rows` holds.
    var truncated: Bool

    /// The MIME bundle of the result.
    var mimeBundle: JSONObject {
        ["text/plain": .string(plainText), "text/html": .string(html), "application/vnd.dataresource+json": dataResource]
    }

    private var footer: String {
        let n = rows.count
        return truncated ? "(first \(n) rows shown)" : "(\(n) row\(n == 1 ? "" : "s"))"
    }

    static let maximumCellWidth = 40

    /// A value as text in a cell: NULL as `NULL`, reals as Python prints them, blobs as hex.
    static func text(_ value: DatabaseValue) -> String {
        switch value {
        case .null: return "NULL"
        case .integer(let v): return String(v)
        case .real(let d): return JSON.double(d).serialized()
        case .text(let s): return s
        case .blob(let b): return "x'" + Identifier.hexString(b) + "'"
        }
    }

    private static func clipped(_ text: String) -> String {
        let flat = text.replacingNewlines()
        return flat.count > maximumCellWidth ? String(flat.prefix(maximumCellWidth - 1)) + "…" : flat
    }

    /// A psql-style table: ` a | b `, a rule, right-aligned numbers, and a row count.
    var plainText: String {
        let header = columns.map { ResultRendering.clipped($0) }
        let cells = rows.map { $0.map { ResultRendering.clipped(ResultRendering.text($0)) } }
        var widths = header.map(\.count)
        for row in cells {
            for (c, cell) in row.enumerated() where c < widths.count { widths[c] = max(widths[c], cell.count) }
        }
        func pad(_ s: String, _ width: Int, right: Bool) -> String {
            let fill = String(repeating: " ", count: max(0, width - s.count))
            return right ? fill + s : s + fill
        }
        var lines: [String] = []
        lines.append(header.enumerated().map { " " + pad($1, widths[$0], right: false) + " " }.joined(separator: "|"))
        lines.append(widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+"))
        for (r, row) in cells.enumerated() {
            lines.append(
                row.enumerated().map { c, cell in
                    let numeric: Bool
                    switch rows[r][c] {
                    case .integer, .real: numeric = true
                    default: numeric = false
                    }
                    return " " + pad(cell, widths[c], right: numeric) + " "
                }.joined(separator: "|"))
        }
        lines.append(footer)
        return lines.map { $0.trailingSpacesTrimmed() }.joined(separator: "\n")
    }

    var html: String {
        var out = "<table>\n<thead><tr>"
        for name in columns { out += "<th>\(ResultRendering.escape(name))</th>" }
        out += "</tr></thead>\n<tbody>\n"
        for row in rows {
            out += "<tr>"
            for value in row {
                if case .null = value {
                    out += "<td><i>NULL</i></td>"
                } else {
                    out += "<td>\(ResultRendering.escape(ResultRendering.text(value)))</td>"
                }
            }
            out += "</tr>\n"
        }
        out += "</tbody>\n</table>\n<p>\(ResultRendering.escape(footer))</p>"
        return out
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// The Table Schema type of a column: `integer`, `number`, `string` or `any`, by its non-NULL values.
    private func schemaType(_ c: Int) -> String {
        var type: String? = nil
        for row in rows {
            let t: String
            switch row[c] {
            case .null: continue
            case .integer: t = "integer"
            case .real: t = "number"
            case .text, .blob: t = "string"
            }
            if type == nil {
                type = t
            } else if type != t {
                type = (type == "integer" && t == "number") || (type == "number" && t == "integer") ? "number" : "any"
            }
        }
        return type ?? "any"
    }

    var dataResource: JSON {
        let fields: [JSON] = columns.enumerated().map { c, name in ["name": .string(name), "type": .string(schemaType(c))] }
        let data: [JSON] = rows.map { row in
            var object = JSONObject()
            for (name, value) in zip(columns, row) {
                switch value {
                case .null: object[name] = .null
                case .integer(let v): object[name] = .int(Int(v))
                case .real(let d): object[name] = .double(d)
                case .text(let s): object[name] = .string(s)
                case .blob(let b): object[name] = .string(Identifier.hexString(b))
                }
            }
            return .object(object)
        }
        return ["schema": ["fields": .array(fields)], "data": .array(data)]
    }
}

extension String {
    /// Line breaks and tabs shown as `↵` and spaces, so a value stays on one table line.
    func replacingNewlines() -> String {
        var out = ""
        for ch in self {
            switch ch {
            case "\n", "\r\n", "\r": out += "↵"
            case "\t": out += " "
            default: out.append(ch)
            }
        }
        return out
    }

    func trailingSpacesTrimmed() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
