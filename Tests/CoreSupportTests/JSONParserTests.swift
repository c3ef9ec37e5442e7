import CoreSupport
import Foundation
import Testing
import TestSupport

/// Unicode scalars of a string, so tests can tell `é` from `e\u{301}` (Swift's `==` cannot).
func scalars(_ s: String) -> [UInt32] { s.unicodeScalars.map(\.value) }

@Suite("JSON parser")
struct JSONParserTests {
    // MARK: Values

    @Test func numbersKeepIntAndDoubleApart() throws {
        #expect(try JSON.parse("1") == .int(1))
        #expect(try JSON.parse("1.0") == .double(1.0))
        #expect(try JSON.parse("1e2") == .double(100))
        #expect(try JSON.parse("-0") == .int(0))
        let negativeZero = try JSON.parse("-0.0")
        guard case .double(let d) = negativeZero else {
            Issue.record("-0.0 parsed as \(negativeZero)")
            return
        }
        #expect(d == 0 && d.sign == .minus)
        #expect(try JSON.parse("1E-5") == .double(1e-5))
        #expect(try JSON.parse("2.5e+3") == .double(2500))
    }

    @Test func bigIntegersKeepTheirDigits() throws {
        #expect(try JSON.parse("9223372036854775807") == .int(Int.max))
        #expect(try JSON.parse("-9223372036854775808") == .int(Int.min))
        #expect(try JSON.parse("9223372036854775808") == .bigInt("9223372036854775808"))
        #expect(try JSON.parse("-9223372036854775809") == .bigInt("-9223372036854775809"))
        let huge = "123456789012345678901234567890123456789012345678901234567890"
        #expect(try JSON.parse(huge) == .bigInt(huge))
        #expect(try JSON.parse("[\(huge)]").serialized() == "[\(huge)]")
    }

    @Test func nanAndInfinityAreAcceptedAsPythonDoes() throws {
        let value = try JSON.parse("[NaN, Infinity, -Infinity]")
        guard case .array(let items) = value, items.count == 3,
            case .double(let nan) = items[0], case .double(let inf) = items[1], case .double(let negInf) = items[2]
        else {
            Issue.record("unexpected \(value)")
            return
        }
        #expect(nan.isNaN)
        #expect(inf == .infinity)
        #expect(negInf == -.infinity)
        #expect(value.serialized() == "[NaN,Infinity,-Infinity]")
        // An exponent past Double's range is infinity, as float() makes it in Python.
        #expect(try JSON.parse("1e400") == .double(.infinity))
        #expect(try JSON.parse("-1e400") == .double(-.infinity))
        #expect(try JSON.parse("1e-400") == .double(0))
        // Only these spellings.
        for text in ["nan", "-NaN", "infinity", "+Infinity", "Inf"] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSON.parse(text) }
        }
    }

    @Test func stringEscapesAndSurrogatePairs() throws {
        #expect(try JSON.parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try JSON.parse(#""\u00e9\u00E9""#) == .string("éé"))
        // A pair is one astral scalar.
        let pair = try JSON.parse(#""\ud83d\ude00""#).stringValue ?? ""
        #expect(scalars(pair) == [0x1F600])
        let upper = try JSON.parse(#""\uD83D\uDE00x""#).stringValue ?? ""
        #expect(scalars(upper) == [0x1F600, 0x78])
        // Raw UTF-8 passes through untouched.
        let raw = try JSON.parse("\"😀 中文 e\u{301}\"").stringValue ?? ""
        #expect(scalars(raw) == scalars("😀 中文 e\u{301}"))
        // Lone surrogates cannot live in a Swift string: they become U+FFFD (Python keeps them).
        let lone = try JSON.parse(#""a\ud800b\udc00c\ud83d\u0041\ud83d""#).stringValue ?? ""
        #expect(scalars(lone) == [0x61, 0xFFFD, 0x62, 0xFFFD, 0x63, 0xFFFD, 0x41, 0xFFFD])
        // A high surrogate followed by another pair.
        let twoHigh = try JSON.parse(#""\ud83d\ud83d\ude00""#).stringValue ?? ""
        #expect(scalars(twoHigh) == [0xFFFD, 0x1F600])
        // \u0000 is a valid character.
        #expect(try JSON.parse(#""\u0000""#).stringValue?.unicodeScalars.first?.value == 0)
    }

    @Test func duplicateKeysKeepTheFirstPositionAndTheLastValue() throws {
        let value = try JSON.parse(#"{"a": 1, "b": 2, "a": 3}"#)
        #expect(value.objectValue?.keys == ["a", "b"])
        #expect(value["a"] == .int(3))
        #expect(value.serialized() == #"{"a":3,"b":2}"#)
    }

    @Test func keysDifferingOnlyInNormalizationStayApart() throws {
        // Python compares str by code point; Swift's String by canonical equivalence.
        let value = try JSON.parse("{\"\u{E9}\": 1, \"e\u{301}\": 2}")
        let object = try #require(value.objectValue)
        #expect(object.count == 2)
        #expect(object.keys.map(scalars) == [[0xE9], [0x65, 0x301]])
        #expect(value.serialized(.init(sortKeys: true)) == "{\"e\u{301}\":2,\"\u{E9}\":1}")
        var edited = object
        edited["e\u{301}"] = nil
        #expect(edited.keys.map(scalars) == [[0xE9]])
    }

    @Test func whitespaceAndNesting() throws {
        #expect(try JSON.parse(" \t\r\n[ 1 ,\r\n 2 ] \n") == [1, 2])
        #expect(try JSON.parse("{}") == .object([:]))
        #expect(try JSON.parse("[[[]]]") == [[[]]])
        // Python's json gives up near 1000 levels (RecursionError); wb reports an error there
        // instead of overflowing the stack.
        func nested(_ n: Int) -> String { String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        #expect(throws: Never.self) { try JSON.parse(nested(1000)) }
        let tooDeep = #expect(throws: JSONParseError.self) { try JSON.parse(nested(1002)) }
        #expect(tooDeep?.column == 1002)
        #expect(throws: JSONParseError.self) { try JSON.parse(nested(1_000_000)) }
        #expect(throws: JSONParseError.self) { try JSON.parse(String(repeating: "{\"a\":", count: 100_000)) }
    }

    @Test func invalidUTF8IsAnError() {
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0x5C, 0x6E, 0xFF, 0x22]) }
        // Invalid bytes in a run after an escape, and after an escape that decoded to non-ASCII.
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0x5C, 0x6E, 0x61, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSON.parse(Array(#""\u00e9"#.utf8) + [0xED, 0xA0, 0x80, 0x22]) }
    }

    // MARK: Errors and their positions

    /// Malformed texts whose error position (line, column) must be the one Python's `json.loads` reports.
    static let malformed: [String] = [
        "", "   ", "{", #"{"a""#, #"{"a":"#, #"{"a":1"#, #"{"a":1,}"#, "[1,]", "[1 2]", #""abc"#,
        "\"a\u{1}b\"", #""a\qb""#, #""\u12""#, #""\u12x4""#, #""\ud800\u12""#, "\"ab\\", "tru", "[1] x", "-", "-x",
        "01", "{\n  \"a\": [1,\n   2,,\n]}", "[\"é\", x]", "\u{FEFF}{}", #"{"a" 1}"#, "[-Infinity, -NaN]",
        #"{"a":1}}"#, "[", "1.", "1e", ".5", "+1", "[1,\n\n  ]", "nul", "Infinit", "{1:2}", "\"😀\u{1F}\"",
        "{\r\n \"k\": \"v\",\r\n \"k2\" }", "[\"中文\",\n \"日本\", 01]",
    ]

    @Test func errorPositionsMatchPython() throws {
        let script = """
            import json, sys
            for line in sys.stdin.read().split():
                text = bytes.fromhex(line).decode("utf-8")
                try:
                    json.loads(text)
                    print("ok")
                except json.JSONDecodeError as e:
                    print(e.lineno, e.colno)
            """
        // The empty text cannot be a hex line; it is checked on its own below.
        let nonEmpty = JSONParserTests.malformed.filter { !$0.isEmpty }
        let expected = try Python.text(script, input: Array(nonEmpty.map { hex(Array($0.utf8)) + "\n" }.joined().utf8))
            .split(separator: "\n").map(String.init)
        #expect(expected.count == nonEmpty.count)
        for (text, want) in zip(nonEmpty, expected) {
            do {
                let value = try JSON.parse(text)
                Issue.record("\(text.debugDescription) parsed as \(value); Python: \(want)")
            } catch {
                #expect("\(error.line) \(error.column)" == want, "\(text.debugDescription): \(error.message)")
            }
        }
        let empty = #expect(throws: JSONParseError.self) { try JSON.parse("") }
        #expect(empty?.line == 1 && empty?.column == 1)
    }

    @Test func errorsNameLineAndColumn() {
        do {
            _ = try JSON.parse("{\n \"cells\": [\n  {\n   \"a\": tru\n  }\n ]\n}")
            Issue.record("parsed")
        } catch {
            #expect(error.line == 4)
            #expect(error.column == 9)
            #expect(error.description.hasPrefix("line 4, column 9: "))
        }
        // Columns count characters, not bytes.
        do {
            _ = try JSON.parse("[\"日本語\", ?]")
            Issue.record("parsed")
        } catch {
            #expect(error.line == 1)
            #expect(error.column == 9)
        }
        #expect(throws: JSONParseError.self) { try JSON.parse("\"tab\there\"") }
        #expect(throws: JSONParseError.self) { try JSON.parse(#"{"a":1}{"b":2}"#) }
    }

    // MARK: Agreement with Python on valid texts

    /// Valid texts: wb parsing then writing must give exactly what `json.dumps(json.loads(text))` gives.
    static let valid: [String] = [
        #"{"b": 1, "a": [true, false, null], "c": {"z": {}, "y": []}}"#,
        #"[1, -1, 0, -0, 1.0, -0.0, 1e5, 1E-5, 123.456e7, 0.1, 1e16, 1e15, 5e-324, 1e400]"#,
        #"[9223372036854775807, 9223372036854775808, -9223372036854775809, 100000000000000000000000000000]"#,
        #"["\u00e9", "e\u0301", "\ud83d\ude00", "\u2028\u2029", "\u0000\u001f\u007f\u0080", "\/"]"#,
        "[\"日本語\", \"😀👩‍👩‍👧\", \"\u{7F}\u{85}\u{A0}\"]",
        #"{"a": 1, "a": 2, "b": {"x": 1, "x": [3]}}"#,
        #"[NaN, Infinity, -Infinity, 1.7976931348623157e308, 2.2250738585072014e-308]"#,
        #"{"": "", " ": " ", "Z": "z", "é": "é"}"#,
        "\r\n\t [\"tabs\\tand\\nnewlines\\r\\n\"] \n",
        // Plain runs between escapes, copied whole: ASCII, raw UTF-8 and \u escapes mixed, as notebook lines are.
        #"["epoch 1 step    0  loss 1.000000\n", "a\"b\\c\/d\n", "é\nü\t中\r\n", "x\u0041y\u00e9z\n", "\n\n\n", "end\\"]"#,
    ]

    @Test func parsedValuesMatchPython() throws {
        let script = """
            import json, sys
            for line in sys.stdin.read().split():
                value = json.loads(bytes.fromhex(line).decode("utf-8"))
                print(json.dumps(value, ensure_ascii=True))
                print(json.dumps(value, ensure_ascii=True, sort_keys=True))
            """
        let input = JSONParserTests.valid.map { hex(Array($0.utf8)) + "\n" }.joined()
        let lines = try Python.text(script, input: Array(input.utf8)).split(separator: "\n").map(String.init)
        try #require(lines.count == 2 * JSONParserTests.valid.count)
        let pythonStyle = JSONWriteOptions(ensureASCII: true, itemSeparator: ", ", keySeparator: ": ")
        var sorted = pythonStyle
        sorted.sortKeys = true
        for (n, text) in JSONParserTests.valid.enumerated() {
            let value = try JSON.parse(text)
            #expect(value.serialized(pythonStyle) == lines[2 * n], "\(text)")
            #expect(value.serialized(sorted) == lines[2 * n + 1], "\(text)")
        }
    }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
}
