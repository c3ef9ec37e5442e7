/// Why a JSON text could not be read, and where (1-based line and column).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var line: Int
    public var column: Int

    public var description: String { "line \(line), column \(column): \(message)" }
}

extension JSON {
    /// Parses JSON text the way Python's `json.loads` does.
    ///
    /// Accepts `NaN`, `Infinity` and `-Infinity`; numbers with a fraction or an
    /// exponent are doubles, others integers; a later duplicate key replaces the
    /// earlier value in the earlier position.
    public static func parse(_ text: String) throws(JSONParseError) -> JSON {
        try parse(Array(text.utf8))
    }

    /// Parses UTF-8 encoded JSON bytes (a leading byte-order mark is an error, as in Python).
    public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSON {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            try parse(buffer)
        }
    }

    public static func parse(_ buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSON {
        var parser = JSONParser(bytes: buffer)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index < buffer.count {
            throw parser.error("extra data after the JSON value")
        }
        return value
    }
}

/// A JSON reader over UTF-8 bytes; `package` so that a format with a known shape (the notebook reader)
/// can walk it and read some values its own way.
package struct JSONParser {
    package let bytes: UnsafeBufferPointer<UInt8>
    /// The next byte to read.
    package var index = 0
    /// Where a string with escapes is decoded; reused for every such string.
    var scratch: [UInt8] = []
    /// Deeper nesting is an error, not a stack overflow: each level costs stack frames, and a test
    /// or worker thread's stack is far smaller than the main thread's. Python gives up near 1000 too.
    static let maxDepth = 1_000

    package init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    package func error(_ message: String, at position: Int? = nil) -> JSONParseError {
        let end = min(position ?? index, bytes.count)
        var line = 1
        var lineStart = 0
        var i = 0
        while i < end {
            if bytes[i] == UInt8(ascii: "\n") {
                line += 1
                lineStart = i + 1
            }
            i += 1
        }
        // Columns count characters, not bytes.
        var column = 1
        i = lineStart
        while i < end {
            if bytes[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return JSONParseError(message: message, line: line, column: column)
    }

    package mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    package mutating func parseValue(depth: Int) throws(JSONParseError) -> JSON {
        guard index < bytes.count else { throw error("unexpected end of input, expected a value") }
        if depth > JSONParser.maxDepth { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "N"): try expectWord("NaN"); return .double(.nan)
        case UInt8(ascii: "I"): try expectWord("Infinity"); return .double(.infinity)
        case UInt8(ascii: "-"):
            if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "I") {
                index += 1
                try expectWord("Infinity")
                return .double(-.infinity)
            }
            return try parseNumber()
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("expected a value")
        }
    }

    mutating func expectWord(_ word: StaticString) throws(JSONParseError) {
        let start = index
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("expected a value", at: start) }
        let w = word.utf8Start
        for k in 0..<count where bytes[index + k] != w[k] {
            throw error("expected a value", at: start)
        }
        index += count
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSON {
        index += 1  // {
        var object = JSONObject()
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("expected a property name in double quotes")
            }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error("expected ':' after a property name")
            }
            index += 1
            skipWhitespace()
            object[key] = try parseValue(depth: depth + 1)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input in an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(object)
            }
            throw error("expected ',' or '}' in an object")
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSON {
        index += 1  // [
        var array: [JSON] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(array)
        }
        while true {
            skipWhitespace()
            array.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(array)
            }
            throw error("expected ',' or ']' in an array")
        }
    }

    mutating func parseNumber() throws(JSONParseError) -> JSON {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        // Like Python, a '-' without digits is reported where the value starts.
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("expected a value", at: start) }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "."), index + 1 < bytes.count,
            isDigit(bytes[index + 1])
        {
            isInteger = false
            index += 1
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            var probe = index + 1
            if probe < bytes.count, bytes[probe] == UInt8(ascii: "+") || bytes[probe] == UInt8(ascii: "-") {
                probe += 1
            }
            if probe < bytes.count, isDigit(bytes[probe]) {
                isInteger = false
                index = probe
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger {
            if let value = Int(text) { return .int(value) }
            return .bigInt(text)
        }
        guard let value = Double(text) else { throw error("bad number \(text)", at: start) }
        return .double(value)
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    package mutating func parseString() throws(JSONParseError) -> String {
        let quote = index
        index += 1
        let start = index
        // Bytes over 0x7F seen: only then must the text be checked for valid UTF-8.
        var nonASCII: UInt8 = 0
        // Fast path: no escapes.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return try string(slice, nonASCII: nonASCII & 0x80 != 0, start: start)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("invalid control character in a string") }
            nonASCII |= byte
            index += 1
        }
        guard index < bytes.count else { throw error("unterminated string", at: quote) }
        // Slow path: the runs of plain bytes between escapes are copied whole into `scratch`, a buffer
        // kept across strings, so a string with escapes (every line of a notebook ends in `\n`) costs
        // one allocation, the String's own.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
        var buffer = scratch
        scratch = []
        defer { scratch = buffer }
        let wide = try continueString(into: &buffer, quote: quote, nonASCII: nonASCII)
        return try buffer.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            try string(buffer, nonASCII: wide, start: start)
        }
    }

    /// Decodes the rest of the string opened at `quote` (`index` inside it) onto the end of `buffer`;
    /// returns whether a byte over 0x7F was seen (`nonASCII`: bits of the bytes before `index`).
    mutating func continueString(into buffer: inout [UInt8], quote: Int, nonASCII seen: UInt8) throws(JSONParseError) -> Bool {
        var nonASCII = seen
        while index < bytes.count {
            let run = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                nonASCII |= byte
                index += 1
            }
            if index > run { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<index])) }
            guard index < bytes.count else { break }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return nonASCII & 0x80 != 0
            }
            if byte < 0x20 { throw error("invalid control character in a string") }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5C)
            case UInt8(ascii: "/"): buffer.append(0x2F)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar), index + 1 < bytes.count,
                    bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                {
                    let save = index
                    index += 2
                    let low = try parseHex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        index = save
                    }
                }
                // A lone surrogate cannot live in a Swift string.
                let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                UTF8.encode(unicode) { buffer.append($0) }
            default:
                throw error("invalid escape", at: index - 2)
            }
        }
        throw error("unterminated string", at: quote)
    }

    /// Reads a list of strings as the one string they join into, without a string per item (a
    /// notebook keeps multi-line text as a list of lines); nil, with nothing read, when the value at
    /// `index` is not a list or holds something other than strings. Errors are those of `parseValue`.
    package mutating func parseJoinedStrings() throws(JSONParseError) -> String? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
        let open = index
        index += 1
        var buffer = scratch
        scratch = []
        defer { scratch = buffer }
        buffer.removeAll(keepingCapacity: true)
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return ""
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                index = open
                return nil
            }
            let quote = index
            let itemStart = buffer.count
            index += 1
            if try continueString(into: &buffer, quote: quote, nonASCII: 0) {
                let valid = buffer.withUnsafeBufferPointer { Self.isValidUTF8(UnsafeBufferPointer(rebasing: $0[itemStart...])) }
                if !valid { throw error("invalid UTF-8 in a string", at: quote + 1) }
            }
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input in an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            }
            throw error("expected ',' or ']' in an array")
        }
    }

    /// Whether `bytes` are valid UTF-8, as `String(validating:)` decides, without making a string.
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// The string of UTF-8 `bytes`; checked only when some byte is not ASCII (ASCII is always valid), since
    /// `String(validating:)` costs a generic metadata lookup a call, a tenth of parsing a large notebook.
    func string(_ bytes: UnsafeBufferPointer<UInt8>, nonASCII: Bool, start: Int) throws(JSONParseError) -> String {
        if !nonASCII { return String(decoding: bytes, as: UTF8.self) }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw error("invalid UTF-8 in a string", at: start) }
        return s
    }

    /// Reads the four hex digits after `\u`; errors point at the `u`, as Python's do.
    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        let u = index - 1
        guard index + 4 <= bytes.count else { throw error("invalid \\u escape", at: u) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case 0x30...0x39: digit = UInt32(b - 0x30)
            case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
            default: throw error("invalid \\u escape", at: u)
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }
}
