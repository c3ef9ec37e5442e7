internal import CoreSupport

/// Reads `.ipynb` bytes into JSON, reading the multi-line strings that `nbformat.read` joins as one
/// string each, without a string per line.
///
/// A notebook keeps its sources, streams and text outputs as lists of lines (a 5 MB notebook of
/// training logs holds some 87,000), which `NotebookLines.rejoin` then joins. Here the lists at
/// exactly those places are read straight into the joined string, so the lines are never made;
/// everything else is read as `JSON.parse` reads it, and `rejoin` still runs (on what is already
/// joined it changes nothing), so the notebook is the same value either way. Where the place depends
/// on a key read later (an output's `data` comes before its `output_type` in nbformat's sorted keys)
/// the lists are read joined on the likely assumption, and the value is read again the plain way
/// when the assumption turns out wrong.
struct NotebookReader {
    private var parser: JSONParser

    /// The notebook's JSON, as `JSON.parse` followed by `NotebookLines.rejoin` on each cell gives it.
    static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSON {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var reader = NotebookReader(parser: JSONParser(bytes: buffer))
            reader.parser.skipWhitespace()
            let value = try reader.top()
            reader.parser.skipWhitespace()
            if reader.parser.index < buffer.count { throw reader.parser.error("extra data after the JSON value") }
            return value
        }
    }

    private var atObject: Bool { parser.index < parser.bytes.count && parser.bytes[parser.index] == UInt8(ascii: "{") }

    /// The top level: its `cells` are read cell by cell.
    private mutating func top() throws(JSONParseError) -> JSON {
        guard atObject else { return try parser.parseValue(depth: 0) }
        return try object(depth: 0) { reader, key, _ throws(JSONParseError) in
            guard key == "cells" else { return nil }
            return try reader.list(depth: 1) { reader, depth throws(JSONParseError) in try reader.cell(depth: depth) }
        }
    }

    /// A cell: `source` read joined; a code cell's `outputs` output by output.
    private mutating func cell(depth: Int) throws(JSONParseError) -> JSON {
        guard atObject else { return try parser.parseValue(depth: depth) }
        let start = parser.index
        var readAsCode = false
        let value = try object(depth: depth) { reader, key, object throws(JSONParseError) in
            switch key {
            case "source": return try reader.parser.parseJoinedStrings().map(JSON.string)
            case "outputs" where object["cell_type"]?.stringValue == "code":
                readAsCode = true
                return try reader.list(depth: depth + 1) { reader, depth throws(JSONParseError) in try reader.output(depth: depth) }
            default: return nil
            }
        }
        // A later duplicate `cell_type` changed what the cell is: read it again the plain way.
        if readAsCode && value["cell_type"]?.stringValue != "code" { return try reread(from: start, depth: depth) }
        return value
    }

    /// An output: `text` read joined for the output types `rejoin` joins it in; `data` bundles too.
    ///
    /// `data` comes before `output_type` in nbformat's sorted keys, so a bundle is read joined on the
    /// assumption that the output is a rich one, and read again the plain way if it is not.
    private mutating func output(depth: Int) throws(JSONParseError) -> JSON {
        guard atObject else { return try parser.parseValue(depth: depth) }
        let start = parser.index
        // The output types the joins assumed; "" for "a rich one" (`data` read before the type).
        var assumed: [String] = []
        let value = try object(depth: depth) { reader, key, object throws(JSONParseError) in
            let type = object["output_type"]?.stringValue
            if key == "text", let type, !type.isEmpty, !Self.isRich(type) {
                assumed.append(type)
                return try reader.parser.parseJoinedStrings().map(JSON.string)
            }
            if key == "data", reader.atObject, type.map(Self.isRich) ?? true {
                assumed.append(type ?? "")
                return try reader.object(depth: depth + 1) { reader, mime, _ throws(JSONParseError) in
                    if NotebookLines.isJSONMime(mime) { return nil }
                    return try reader.parser.parseJoinedStrings().map(JSON.string)
                }
            }
            return nil
        }
        // The type turned out otherwise (or a later duplicate `output_type` changed it): read it again the plain way.
        let type = value["output_type"]?.stringValue ?? ""
        if assumed.contains(where: { $0.isEmpty ? !Self.isRich(type) : $0 != type }) { return try reread(from: start, depth: depth) }
        return value
    }

    private static func isRich(_ type: String) -> Bool { type == "execute_result" || type == "display_data" }

    private mutating func reread(from start: Int, depth: Int) throws(JSONParseError) -> JSON {
        parser.index = start
        return try parser.parseValue(depth: depth)
    }

    /// An object as `JSONParser` reads it, except that `special` may read a key's value (nil: read it the plain way).
    private mutating func object(
        depth: Int, _ special: (inout NotebookReader, String, JSONObject) throws(JSONParseError) -> JSON?
    ) throws(JSONParseError) -> JSON {
        parser.index += 1  // {
        var object = JSONObject()
        parser.skipWhitespace()
        if parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "}") {
            parser.index += 1
            return .object(object)
        }
        while true {
            parser.skipWhitespace()
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "\"") else {
                throw parser.error("expected a property name in double quotes")
            }
            let key = try parser.parseString()
            parser.skipWhitespace()
            guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: ":") else {
                throw parser.error("expected ':' after a property name")
            }
            parser.index += 1
            parser.skipWhitespace()
            if let value = try special(&self, key, object) {
                object[key] = value
            } else {
                object[key] = try parser.parseValue(depth: depth + 1)
            }
            parser.skipWhitespace()
            guard parser.index < parser.bytes.count else { throw parser.error("unexpected end of input in an object") }
            if parser.bytes[parser.index] == UInt8(ascii: ",") {
                parser.index += 1
                continue
            }
            if parser.bytes[parser.index] == UInt8(ascii: "}") {
                parser.index += 1
                return .object(object)
            }
            throw parser.error("expected ',' or '}' in an object")
        }
    }

    /// A list whose items `item` reads (given their depth); anything but a list is read the plain way.
    private mutating func list(
        depth: Int, _ item: (inout NotebookReader, Int) throws(JSONParseError) -> JSON
    ) throws(JSONParseError) -> JSON {
        guard parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "[") else {
            return try parser.parseValue(depth: depth)
        }
        parser.index += 1  // [
        var array: [JSON] = []
        parser.skipWhitespace()
        if parser.index < parser.bytes.count, parser.bytes[parser.index] == UInt8(ascii: "]") {
            parser.index += 1
            return .array(array)
        }
        while true {
            parser.skipWhitespace()
            array.append(try item(&self, depth + 1))
            parser.skipWhitespace()
            guard parser.index < parser.bytes.count else { throw parser.error("unexpected end of input in an array") }
            if parser.bytes[parser.index] == UInt8(ascii: ",") {
                parser.index += 1
                continue
            }
            if parser.bytes[parser.index] == UInt8(ascii: "]") {
                parser.index += 1
                return .array(array)
            }
            throw parser.error("expected ',' or ']' in an array")
        }
    }
}
