/// How to write JSON text; the defaults give compact output.
public struct JSONWriteOptions: Sendable {
    /// Spaces per level; `nil` writes everything on one line.
    public var indent: Int?
    public var sortKeys: Bool
    /// Escape every non-ASCII character as `\uXXXX` (Python's `ensure_ascii`).
    public var ensureASCII: Bool
    /// Item and key separators; Python's defaults are `", "` and `": "`.
    public var itemSeparator: String
    public var keySeparator: String

    public init(
        indent: Int? = nil, sortKeys: Bool = false, ensureASCII: Bool = false,
        itemSeparator: String = ",", keySeparator: String = ":"
    ) {
        self.indent = indent
        self.sortKeys = sortKeys
        self.ensureASCII = ensureASCII
        self.itemSeparator = itemSeparator
        self.keySeparator = keySeparator
    }

    /// Compact output for the wire.
    public static let compact = JSONWriteOptions()

    /// Exactly what `nbformat.write` produces: `json.dumps(nb, indent=1,
    /// sort_keys=True, separators=(",", ": "), ensure_ascii=False)`.
    public static let nbformat = JSONWriteOptions(
        indent: 1, sortKeys: true, ensureASCII: false, itemSeparator: ",", keySeparator: ": ")

    /// Human-readable output for `--json` on the command line.
    public static let pretty = JSONWriteOptions(
        indent: 2, sortKeys: true, ensureASCII: false, itemSeparator: ",", keySeparator: ": ")
}

extension JSON {
    /// Serializes the value as Python's `json.dumps` would with the same options.
    public func serialized(_ options: JSONWriteOptions = .compact) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, options: options, level: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// Serializes into UTF-8 bytes.
    public func serializedBytes(_ options: JSONWriteOptions = .compact) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, options: options, level: 0)
        return out
    }

    /// Appends `s` as a JSON string literal, exactly as `JSON.string(s).serialized()` writes it (non-ASCII kept).
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        writeString(s, into: &out, ensureASCII: false)
    }

    private func write(into out: inout [UInt8], options: JSONWriteOptions, level: Int) {
        switch self {
        case .null: out.append(contentsOf: Array("null".utf8))
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .int(let i): out.append(contentsOf: Array(String(i).utf8))
        case .bigInt(let digits): out.append(contentsOf: Array(digits.utf8))
        case .double(let d): out.append(contentsOf: Array(JSON.pythonRepr(d).utf8))
        case .string(let s): JSON.writeString(s, into: &out, ensureASCII: options.ensureASCII)
        case .array(let items):
            if items.isEmpty {
                out.append(contentsOf: Array("[]".utf8))
                return
            }
            out.append(UInt8(ascii: "["))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(contentsOf: Array(options.itemSeparator.utf8)) }
                JSON.newline(into: &out, options: options, level: level + 1)
                item.write(into: &out, options: options, level: level + 1)
            }
            JSON.newline(into: &out, options: options, level: level)
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            if object.isEmpty {
                out.append(contentsOf: Array("{}".utf8))
                return
            }
            out.append(UInt8(ascii: "{"))
            // Python sorts str keys by code point, which is UTF-8 byte order... except
            // for surrogates, which Swift strings cannot hold. Unicode scalar order matches.
            let keys = options.sortKeys ? object.keys.sorted(by: JSON.codePointLess) : object.keys
            for (n, key) in keys.enumerated() {
                if n > 0 { out.append(contentsOf: Array(options.itemSeparator.utf8)) }
                JSON.newline(into: &out, options: options, level: level + 1)
                JSON.writeString(key, into: &out, ensureASCII: options.ensureASCII)
                out.append(contentsOf: Array(options.keySeparator.utf8))
                object[key]!.write(into: &out, options: options, level: level + 1)
            }
            JSON.newline(into: &out, options: options, level: level)
            out.append(UInt8(ascii: "}"))
        }
    }

    static func codePointLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }

    private static func newline(into out: inout [UInt8], options: JSONWriteOptions, level: Int) {
        guard let indent = options.indent else { return }
        out.append(0x0A)
        out.append(contentsOf: repeatElement(0x20, count: indent * level))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func writeString(_ s: String, into out: inout [UInt8], ensureASCII: Bool) {
        out.append(0x22)
        if ensureASCII {
            for scalar in s.unicodeScalars {
                let v = scalar.value
                // Python escapes DEL too: only space to `~` go out as they are.
                if v < 0x7F {
                    appendEscapedASCII(UInt8(v), into: &out)
                } else if v < 0x10000 {
                    appendUnicodeEscape(UInt16(v), into: &out)
                } else {
                    let u = v - 0x10000
                    appendUnicodeEscape(UInt16(0xD800 + (u >> 10)), into: &out)
                    appendUnicodeEscape(UInt16(0xDC00 + (u & 0x3FF)), into: &out)
                }
            }
        } else {
            for byte in s.utf8 {
                if byte < 0x80 {
                    appendEscapedASCII(byte, into: &out)
                } else {
                    out.append(byte)
                }
            }
        }
        out.append(0x22)
    }

    private static func appendEscapedASCII(_ byte: UInt8, into out: inout [UInt8]) {
        switch byte {
        case 0x22: out.append(contentsOf: [0x5C, 0x22])
        case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
        case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
        case 0..<0x20: appendUnicodeEscape(UInt16(byte), into: &out)
        default: out.append(byte)
        }
    }

    private static func appendUnicodeEscape(_ unit: UInt16, into out: inout [UInt8]) {
        out.append(contentsOf: [0x5C, UInt8(ascii: "u")])
        out.append(hexDigits[Int(unit >> 12) & 0xF])
        out.append(hexDigits[Int(unit >> 8) & 0xF])
        out.append(hexDigits[Int(unit >> 4) & 0xF])
        out.append(hexDigits[Int(unit) & 0xF])
    }

    /// The text Python's `repr(float)` gives, which `json.dumps` writes.
    ///
    /// Same shortest round-trip digits as Swift; Python writes positional
    /// notation for decimal exponents from -4 to 15 and `1e+16` style otherwise.
    public static func pythonRepr(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description holds the shortest digits; pull them out.
        let text = "\(d.magnitude)"
        var digits: [Character] = []
        var pointPosition: Int? = nil
        var exponent = 0
        var seenE = false
        var expText = ""
        for c in text {
            if seenE {
                expText.append(c)
            } else if c == "e" || c == "E" {
                seenE = true
            } else if c == "." {
                pointPosition = digits.count
            } else {
                digits.append(c)
            }
        }
        if seenE { exponent = Int(expText) ?? 0 }
        // Decimal exponent of the digit string: value = 0.d1d2... * 10^(pointPos) * 10^exponent.
        var point = (pointPosition ?? digits.count) + exponent
        // Strip leading zeros (e.g. "0.001" -> digits "0001").
        while digits.count > 1, digits.first == "0" {
            digits.removeFirst()
            point -= 1
        }
        // Strip trailing zeros.
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        let decimalExponent = point - 1  // exponent of the first significant digit
        var result = d.sign == .minus ? "-" : ""
        if decimalExponent >= -4 && decimalExponent < 16 {
            if point <= 0 {
                result += "0." + String(repeating: "0", count: -point) + String(digits)
            } else if point >= digits.count {
                result += String(digits) + String(repeating: "0", count: point - digits.count) + ".0"
            } else {
                result += String(digits[0..<point]) + "." + String(digits[point...])
            }
        } else {
            result += String(digits[0])
            if digits.count > 1 { result += "." + String(digits[1...]) }
            let e = decimalExponent
            result += "e" + (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
        }
        return result
    }
}
