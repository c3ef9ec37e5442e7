import CoreSupport
import Foundation
import Testing
import TestSupport

@Suite("JSON writer")
struct JSONWriterTests {
    /// Values covering what notebooks hold: every control character, non-ASCII of all widths, keys
    /// that sort differently by code point and by UTF-16, big ints, floats at Python's repr switch points.
    static let values: [JSON] = {
        let controls = String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar($0)! }))
        var values: [JSON] = [
            .null, true, false, 0, -1, .int(Int.max), .int(Int.min),
            .bigInt("9223372036854775808"), .bigInt("-123456789012345678901234567890"),
            0.1, 1e-05, 1e16, 1e15, 100.0, -0.0, 0.0, .double(.nan), .double(.infinity), .double(-.infinity),
            .double(.leastNonzeroMagnitude), 1.7976931348623157e308, 0.30000000000000004, 123456789.125,
            "", "plain", .string(controls), "\u{7F}\u{80}\u{85}\u{9F}\u{A0}", "quote \" backslash \\ slash /",
            "line\nbreaks\r\nand\rmore\u{2028}\u{2029}\u{0B}\u{0C}\u{1C}\u{85}", "tab\tbell\u{07}esc\u{1B}[0m",
            "日本語 中文 한국어", "😀 👩‍👩‍👧 🇯🇵", "e\u{301} \u{E9}", "\u{FFFF}\u{10000}\u{10FFFF}\u{E000}\u{FEFF}",
            [], [:], [[], [:], [[]]], [1, "two", 3.0, nil, true],
        ]
        let tricky: JSONObject = [
            "b": 1, "a": 2, "B": 3, "": 4, " ": 5, "é": 6, "e\u{301}": 7, "\u{FF61}": 8, "\u{10000}": 9,
            "\u{E000}": 10, "\u{FFFF}": 11, "中": 12, "😀": 13, "a\u{0}": 14, "aa": 15, "\u{7F}": 16,
        ]
        values.append(.object(tricky))
        values.append([
            "cells": [["cell_type": "code", "source": ["x = 1\n", "print(x)"], "outputs": [], "metadata": [:]]],
            "metadata": ["kernelspec": ["name": "python3"], "floats": [1e-7, 2.5, 1e22], "nested": ["z": [:], "y": []]],
            "nbformat": 4, "nbformat_minor": 5,
        ])
        var deep: JSON = ["leaf": [1, [2, [3, ["k": "v"]]]]]
        for n in 0..<20 { deep = n % 2 == 0 ? [deep, .int(n)] : ["level\(n)": deep, "n": .int(n)] }
        values.append(deep)
        return values
    }()

    /// Option sets paired with the Python `json.dumps` keyword arguments that mean the same.
    static let optionSets: [(JSONWriteOptions, String)] = [
        (JSONWriteOptions(ensureASCII: true, itemSeparator: ", ", keySeparator: ": "), "{}"),
        (.compact, #"{"separators": (",", ":"), "ensure_ascii": False}"#),
        (.nbformat, #"{"indent": 1, "sort_keys": True, "ensure_ascii": False, "separators": (",", ": ")}"#),
        (.pretty, #"{"indent": 2, "sort_keys": True, "ensure_ascii": False}"#),
        (JSONWriteOptions(indent: 0, ensureASCII: true, itemSeparator: ", ", keySeparator: ": "),
         #"{"indent": 0, "separators": (", ", ": ")}"#),
        (JSONWriteOptions(indent: 3, sortKeys: true, ensureASCII: true, itemSeparator: ",", keySeparator: ": "),
         #"{"indent": 3, "sort_keys": True}"#),
        (JSONWriteOptions(sortKeys: true, ensureASCII: true, itemSeparator: ",", keySeparator: ":"),
         #"{"sort_keys": True, "separators": (",", ":")}"#),
    ]

    @Test func matchesPythonJSONDumpsByteForByte() throws {
        // Each value goes to Python as wb's ASCII-only compact text; Python loads it and dumps it
        // with every option set. Hex lines keep multi-line output and odd characters intact.
        let script = """
            import json, sys
            option_sets = [eval(line) for line in sys.argv[1:]]
            for line in sys.stdin.read().split():
                value = json.loads(bytes.fromhex(line).decode("ascii"))
                print(" ".join(json.dumps(value, **options).encode("utf-8").hex() for options in option_sets))
            """
        let transport = JSONWriteOptions(ensureASCII: true)
        let input = JSONWriterTests.values.map { hex($0.serializedBytes(transport)) + "\n" }.joined()
        let output = try Python.text(script, arguments: JSONWriterTests.optionSets.map(\.1), input: Array(input.utf8))
        let lines = output.split(separator: "\n")
        try #require(lines.count == JSONWriterTests.values.count)
        for (value, line) in zip(JSONWriterTests.values, lines) {
            let expected = line.split(separator: " ").map(String.init)
            try #require(expected.count == JSONWriterTests.optionSets.count)
            for ((options, kwargs), want) in zip(JSONWriterTests.optionSets, expected) {
                let got = value.serializedBytes(options)
                let identical = hex(got) == want
                #expect(
                    identical,
                    "json.dumps(value, **\(kwargs)) differs:\n wb:     \(String(decoding: got, as: UTF8.self))\n python: \(String(decoding: unhex(want), as: UTF8.self))"
                )
                // serialized() and serializedBytes() agree.
                let sameText = Array(value.serialized(options).utf8) == got
                #expect(sameText)
            }
        }
    }

    @Test func knownOutputs() {
        #expect(JSON.string("\u{7F}é").serialized(.init(ensureASCII: true)) == #""\u007f\u00e9""#)
        #expect(JSON.string("\u{7F}é").serialized() == "\"\u{7F}é\"")
        #expect(JSON.string("😀").serialized(.init(ensureASCII: true)) == #""\ud83d\ude00""#)
        #expect(JSON.string("\u{0}\u{1F}\u{8}\u{C}").serialized() == #""\u0000\u001f\b\f""#)
        #expect(JSON.array([1, [:], []]).serialized(.nbformat) == "[\n 1,\n {},\n []\n]")
        #expect(JSON.object(["b": 1, "a": ["x": nil]]).serialized(.nbformat) == "{\n \"a\": {\n  \"x\": null\n },\n \"b\": 1\n}")
    }

    // MARK: Python's float repr

    /// SplitMix64: a small seeded generator, so every run checks the same doubles.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func floatSamples() -> [Double] {
        var rng = SeededGenerator(state: 20_240_601)
        var samples: [Double] = [
            0.1, 0.2, 0.3, 1e-05, 1e-04, 0.0001, 0.00011, 9.999999999999999e-05, 1e15, 1e16, 1e17, 100.0, 1.0, -1.5,
            9999999999999998.0, 999999999999999.9, 1234567890123456.7, 12345678901234567.0, 0.5, 2.0 / 3.0,
            .leastNonzeroMagnitude, .leastNormalMagnitude, Double.leastNormalMagnitude.nextDown, .greatestFiniteMagnitude, 4.35, 0.07, 1e22, 1e23,
            Double("9007199254740993")!, 123456789012345680.0, -0.0, 0.0, 3.141592653589793, 2.718281828459045, 1e-7, 1.5e-5,
        ]
        // Powers of ten and their neighbours, across the positional/scientific switch points.
        for k in -30...30 {
            let p = Double("1e\(k)")!
            samples += [p, p.nextUp, p.nextDown, -p, p * 1.5, p * 9.99]
        }
        // Uniform bit patterns: every exponent, subnormals included.
        for _ in 0..<700 {
            let d = Double(bitPattern: rng.next())
            if d.isFinite { samples.append(d) }
        }
        // Random mantissas at decimal magnitudes around where Python changes notation.
        for _ in 0..<700 {
            let k = Int.random(in: -25...25, using: &rng)
            samples.append(Double.random(in: 1..<10, using: &rng) * Double("1e\(k)")!)
        }
        // Short decimals, where shortest round-trip digits matter most.
        for _ in 0..<400 {
            let digits = Double(Int.random(in: 1..<1_000_000, using: &rng))
            let k = Int.random(in: -12...12, using: &rng)
            samples.append(digits * Double("1e\(k)")!)
        }
        // Integers near 2^53 and above 1e16.
        for _ in 0..<200 {
            samples.append(Double(Int64.random(in: 1 << 50...1 << 62, using: &rng)))
        }
        return samples
    }

    @Test func pythonReprMatchesPythonForManyDoubles() throws {
        let samples = JSONWriterTests.floatSamples()
        #expect(samples.count > 2000)
        let script = """
            import json, struct, sys
            for line in sys.stdin.read().split():
                print(json.dumps(struct.unpack("<d", struct.pack("<Q", int(line)))[0]))
            """
        let input = samples.map { "\($0.bitPattern)\n" }.joined()
        let expected = try Python.text(script, input: Array(input.utf8)).split(separator: "\n").map(String.init)
        try #require(expected.count == samples.count)
        var mismatches: [String] = []
        for (d, want) in zip(samples, expected) where JSON.pythonRepr(d) != want {
            mismatches.append("\(d.bitPattern): wb \(JSON.pythonRepr(d)), python \(want)")
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(10))")
        // And what wb writes reads back to the same double.
        for d in samples {
            #expect(Double(JSON.pythonRepr(d))?.bitPattern == d.bitPattern, "\(d)")
        }
    }

    @Test func pythonReprSpecialValues() {
        #expect(JSON.pythonRepr(.nan) == "NaN")
        #expect(JSON.pythonRepr(.infinity) == "Infinity")
        #expect(JSON.pythonRepr(-.infinity) == "-Infinity")
        #expect(JSON.pythonRepr(-0.0) == "-0.0")
        #expect(JSON.pythonRepr(1e-05) == "1e-05")
        #expect(JSON.pythonRepr(1e16) == "1e+16")
        #expect(JSON.pythonRepr(1e15) == "1000000000000000.0")
        #expect(JSON.pythonRepr(0.0001) == "0.0001")
        #expect(JSON.pythonRepr(100) == "100.0")
        #expect(JSON.pythonRepr(1.5e300) == "1.5e+300")
        #expect(JSON.pythonRepr(-2.5e-10) == "-2.5e-10")
    }
}

func unhex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var chars = text.utf8.makeIterator()
    func value(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : c - 0x61 + 10 }
    while let hi = chars.next(), let lo = chars.next() { bytes.append(value(hi) << 4 | value(lo)) }
    return bytes
}
