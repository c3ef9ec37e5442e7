import Testing
import TestSupport

@testable import TUI

/// A string from code points, so tests spell out exactly which scalars a cluster holds.
func scalars(_ values: UInt32...) -> String {
    String(String.UnicodeScalarView(values.map { Unicode.Scalar($0)! }))
}

@Suite("Display width")
struct DisplayWidthTests {
    @Test(arguments: [
        ("a", 1), ("é", 1), ("中", 2), ("Ａ", 2), ("ｱ", 1), ("한", 2), ("😀", 2), ("⌚", 2), ("☺", 1),
        ("\u{AD}", 1),  // soft hyphen shows as a hyphen in terminals
        ("\u{200B}", 0), ("\u{200D}", 0), ("\u{202E}", 0), ("\u{FEFF}", 0), ("\u{301}", 0),
    ] as [(String, Int)])
    func singleCharacters(_ text: String, _ width: Int) {
        #expect(DisplayWidth.of(Character(text)) == width)
    }

    @Test func controlCharactersHaveNoWidth() {
        for value: UInt32 in [0x00, 0x07, 0x08, 0x09, 0x0A, 0x0D, 0x1B, 0x7F, 0x80, 0x85, 0x9B, 0x9F] {
            #expect(DisplayWidth.of(Unicode.Scalar(value)!) == nil, "U+\(String(value, radix: 16))")
        }
        #expect(DisplayWidth.of(Character("\r\n")) == nil)
        #expect(DisplayWidth.of("a\tb\u{1B}c") == 3)
    }

    @Test(arguments: [
        (scalars(0x65, 0x301), 1),  // e + combining acute
        (scalars(0x61, 0x308, 0x301), 1),  // two marks on one base
        (scalars(0x4E2D, 0x301), 2),  // a mark on a wide base
        (scalars(0x1F468, 0x200D, 0x1F469, 0x200D, 0x1F467), 2),  // family: ZWJ sequence
        (scalars(0x1F3F3, 0xFE0F, 0x200D, 0x1F308), 2),  // rainbow flag
        (scalars(0x1F1EB, 0x1F1F7), 2),  // flag of France
        (scalars(0x1F44D, 0x1F3FD), 2),  // thumbs up, medium skin tone
        (scalars(0x31, 0xFE0F, 0x20E3), 2),  // keycap 1
        (scalars(0x31, 0x20E3), 1),  // keycap without VS16
        (scalars(0x263A, 0xFE0F), 2),  // VS16 widens a text-style emoji
        (scalars(0x231A, 0xFE0E), 1),  // VS15 narrows a wide emoji
        (scalars(0x1100, 0x1161, 0x11A8), 2),  // Hangul from conjoining jamo
        (scalars(0x915, 0x94D, 0x937, 0x93F), 2),  // Devanagari conjunct with a vowel sign
        (scalars(0x915, 0x93F), 2),  // base and spacing vowel sign
        (scalars(0x1F3F4, 0xE0067, 0xE0062, 0xE0065, 0xE006E, 0xE0067, 0xE007F), 2),  // flag of England (tags)
    ] as [(String, Int)])
    func clusters(_ text: String, _ width: Int) {
        #expect(text.count == 1, "one grapheme cluster")
        #expect(DisplayWidth.of(text.first!) == width)
    }

    /// Emoji with a VS15 that Unicode does not define as a text-style sequence: wcwidth keeps
    /// them wide; here any emoji followed by VS15 is narrow (one rule, no table of sequences).
    @Test func undefinedTextStyleSequenceIsNarrow() {
        #expect(DisplayWidth.of(Character(scalars(0x1F600, 0xFE0E))) == 1)
    }

    /// Code points whose East Asian Width became Wide after Unicode 15 (in 16.0): narrow here, wide in wcwidth 0.9.
    static let wideSinceUnicode16: [ClosedRange<UInt32>] = [
        0x2630...0x2637, 0x268A...0x268F, 0x4DC0...0x4DFF, 0x1D300...0x1D356, 0x1D360...0x1D376,
    ]

    @Test func everyScalarAgreesWithPythonWcwidth() throws {
        // Python prints runs "first last width" of wcwidth.wcwidth over planes 0-3.
        let script = """
            import wcwidth, sys
            out = []
            start, current = 0x20, wcwidth.wcwidth(chr(0x20))
            for cp in range(0x21, 0x40000):
                w = -1 if 0xD800 <= cp <= 0xDFFF else wcwidth.wcwidth(chr(cp))
                if w != current:
                    out.append(f"{start} {cp - 1} {current}")
                    start, current = cp, w
            out.append(f"{start} {0x3FFFF} {current}")
            sys.stdout.write("\\n".join(out))
            """
        var expected: [(ClosedRange<UInt32>, Int)] = []
        for line in try Python.text(script).split(separator: "\n") {
            let fields = line.split(separator: " ").compactMap { Int($0) }
            expected.append((UInt32(fields[0])...UInt32(fields[1]), fields[2]))
        }
        #expect(expected.count > 500)
        var mismatches: [String] = []
        var compared = 0
        for (range, theirs) in expected {
            for value in range {
                // Only what Unicode 15 assigned: later characters are outside the table's version.
                guard let scalar = Unicode.Scalar(value), let age = scalar.properties.age,
                    age.major < 15 || (age.major == 15 && age.minor == 0)
                else { continue }
                compared += 1
                let ours = DisplayWidth.of(scalar) ?? -1
                if ours == theirs { continue }
                if Self.wideSinceUnicode16.contains(where: { $0.contains(value) }) && ours == 1 && theirs == 2 { continue }
                mismatches.append("U+\(String(value, radix: 16, uppercase: true)): ours \(ours), wcwidth \(theirs)")
            }
        }
        #expect(compared > 150_000)
        #expect(mismatches.isEmpty, "\(mismatches.count) differences: \(mismatches.prefix(40).joined(separator: "; "))")
    }

    /// Clusters a terminal meets in notebook output: emoji sequences, combining marks, scripts.
    static func sampleClusters() -> [String] {
        var samples: [String] = [
            scalars(0x65, 0x301), scalars(0x61, 0x308, 0x301), scalars(0x4E2D, 0x301),
            scalars(0x1F468, 0x200D, 0x1F469, 0x200D, 0x1F467), scalars(0x1F469, 0x200D, 0x1F4BB),
            scalars(0x1F3F3, 0xFE0F, 0x200D, 0x1F308), scalars(0x1F3F4, 0x200D, 0x2620, 0xFE0F),
            scalars(0x2764, 0xFE0F, 0x200D, 0x1F525), scalars(0x2764, 0x200D, 0x1F525),
            scalars(0x1F9D1, 0x1F3FD, 0x200D, 0x1F680), scalars(0x26F9, 0x1F3FD, 0x200D, 0x2640, 0xFE0F),
            scalars(0x1F441, 0xFE0F, 0x200D, 0x1F5E8, 0xFE0F), scalars(0x1FAF1, 0x1F3FC, 0x200D, 0x1FAF2, 0x1F3FF),
            scalars(0x1F1EB, 0x1F1F7), scalars(0x1F1EF, 0x1F1F5), scalars(0x1F1EB),
            scalars(0x1F3F4, 0xE0067, 0xE0062, 0xE0065, 0xE006E, 0xE0067, 0xE007F),
            scalars(0x31, 0xFE0F, 0x20E3), scalars(0x23, 0xFE0F, 0x20E3), scalars(0x2A, 0x20E3),
            scalars(0x2122, 0xFE0F), scalars(0xA9), scalars(0xA9, 0xFE0F), scalars(0x2194, 0xFE0F),
            scalars(0x1F3FB), scalars(0x938, 0x94D, 0x924, 0x94D, 0x930, 0x940), scalars(0x915, 0x94D, 0x937),
            scalars(0x995, 0x9CD, 0x9B7), scalars(0xBA4, 0xBCD), scalars(0xE17, 0xE35, 0xE48), scalars(0xE01, 0xE33),
            scalars(0x646, 0x64E), scalars(0x5E9, 0x5B8, 0x5C1), scalars(0x1EB9, 0x301), scalars(0xFF76, 0xFF9E),
            scalars(0x1100, 0x1161), scalars(0x110B, 0x1175, 0x11BC), scalars(0x600, 0x661),
        ]
        // Text- and emoji-style variation sequences.
        for value: UInt32 in [
            0x203C, 0x2139, 0x21A9, 0x231A, 0x2328, 0x23CF, 0x24C2, 0x25B6, 0x2600, 0x260E, 0x261D, 0x2639,
            0x2660, 0x267B, 0x2693, 0x26A0, 0x26A1, 0x26BD, 0x2702, 0x2708, 0x2744, 0x2763, 0x27A1, 0x2B05,
            0x2B50, 0x3030, 0x303D, 0x3297, 0x1F004, 0x1F170, 0x1F202, 0x1F321, 0x1F37D, 0x1F3CB, 0x1F3F3,
            0x1F441, 0x1F4FD, 0x1F549, 0x1F56F, 0x1F590, 0x1F5A5, 0x1F6CB, 0x1F6F3,
        ] {
            let base = String(Unicode.Scalar(value)!)
            samples += [base, base + "\u{FE0F}", base + "\u{FE0E}"]
        }
        // Skin tones on modifier bases, text-style bases included.
        for base: UInt32 in [0x261D, 0x26F9, 0x270A, 0x270C, 0x1F385, 0x1F442, 0x1F575, 0x1F590, 0x1F918, 0x1F9D1] {
            for tone: UInt32 in 0x1F3FB...0x1F3FF { samples.append(scalars(base, tone)) }
        }
        // Combining marks on narrow and wide bases.
        for base in ["a", "x", "Ж", "中", "あ", "가"] {
            for mark: UInt32 in [0x300, 0x301, 0x308, 0x323, 0x327, 0x20D7, 0x3099, 0x1AB0, 0x1DC0, 0xFE20] {
                samples.append(base + String(Unicode.Scalar(mark)!))
            }
        }
        return samples
    }

    @Test func clustersAgreeWithPythonWcwidth() throws {
        let samples = Self.sampleClusters()
        for sample in samples { #expect(sample.count == 1, "\(sample.unicodeScalars.map(\.value)) is one cluster") }
        let input = samples.map { $0.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ") }
            .joined(separator: "\n")
        let script = """
            import sys, wcwidth
            for line in sys.stdin.read().split("\\n"):
                print(wcwidth.width("".join(chr(int(h, 16)) for h in line.split())))
            """
        let theirs = try Python.text(script, input: Array(input.utf8)).split(separator: "\n").map { Int($0) }
        #expect(theirs.count == samples.count)
        for (sample, width) in zip(samples, theirs) {
            let codes = sample.unicodeScalars.map { String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")
            #expect(DisplayWidth.of(sample.first!) == width, "\(codes)")
        }
    }

    @Test func stringWidthSumsClusters() {
        #expect(DisplayWidth.of("ab中文😀") == 8)
        #expect(DisplayWidth.of("e\u{301}e\u{301}") == 2)
        #expect(DisplayWidth.of("") == 0)
    }
}
