/// Display widths in terminal columns, from Unicode properties and the East Asian Width table.
///
/// A grapheme cluster (a Swift `Character`) occupies one cell of a `ScreenBuffer`. Its width
/// follows the model of Python's `wcwidth` (checked against it in TUITests):
/// - control characters (C0, DEL, C1) have none: they are never stored or shown;
/// - East Asian Wide and Fullwidth characters (Unicode 15 `EastAsianWidth.txt`) and emoji with
///   emoji presentation take 2, and so do emoji ZWJ sequences, flags and skin-tone sequences
///   whose first character does;
/// - VS16 (U+FE0F) widens an emoji to 2, VS15 (U+FE0E) narrows a wide one to 1;
/// - combining marks, format characters (zero-width space, joiners, bidi controls) and Hangul
///   medial and final jamo take 0 and ride on the character before them;
/// - an Indic conjunct (consonant, virama, consonant) or a base with a spacing vowel sign takes 2;
/// - everything else takes 1 (East Asian Ambiguous counts as narrow, as in Western locales).
public enum DisplayWidth {
    /// The columns `character` takes, or nil for a control character, which is never shown.
    public static func of(_ character: Character) -> Int? {
        var scalars = character.unicodeScalars.makeIterator()
        guard let first = scalars.next() else { return 0 }
        guard let base = of(first) else { return nil }
        var total = 0
        var cluster = base
        var lastBase: Unicode.Scalar? = base > 0 ? first : nil
        var selectable = lastBase != nil
        var afterVirama = false
        var afterJoiner = false
        while let scalar = scalars.next() {
            let properties = scalar.properties
            if afterJoiner {
                afterJoiner = false
                if properties.isEmoji { continue }  // joined into the pictograph before
            }
            switch scalar {
            case "\u{200D}":
                afterJoiner = true
                afterVirama = false
                continue
            case "\u{FE0F}":
                if selectable, let lastBase, lastBase.properties.isEmoji { cluster = 2 }
                selectable = false
                continue
            case "\u{FE0E}":
                if selectable, let lastBase, lastBase.properties.isEmoji, cluster == 2 { cluster = 1 }
                selectable = false
                continue
            default:
                break
            }
            if let lastBase, lastBase.properties.isEmoji,
                properties.isEmojiModifier || (isRegionalIndicator(scalar) && isRegionalIndicator(lastBase))
            {
                continue  // a skin tone, or the second half of a flag
            }
            let width = of(scalar) ?? 0
            if width > 0 {
                if afterVirama {
                    cluster = 2
                } else {
                    total += cluster
                    cluster = width
                }
                lastBase = scalar
                selectable = true
                afterVirama = false
            } else if properties.canonicalCombiningClass == .virama {
                afterVirama = true
            } else if properties.generalCategory == .spacingMark && lastBase != nil {
                cluster = 2
                selectable = false
                afterVirama = false
            } else {
                afterVirama = false
            }
        }
        return total + cluster
    }

    static func isRegionalIndicator(_ scalar: Unicode.Scalar) -> Bool { (0x1F1E6...0x1F1FF).contains(scalar.value) }

    /// The columns `scalar` takes on its own, or nil for a control character.
    public static func of(_ scalar: Unicode.Scalar) -> Int? {
        let value = scalar.value
        if value < 0x20 || (0x7F..<0xA0).contains(value) { return nil }
        if value < 0x300 { return 1 }
        if isZeroWidth(scalar) { return 0 }
        if isWide(value) || scalar.properties.isEmojiPresentation { return 2 }
        return 1
    }

    /// The columns `text` takes when written on one line; control characters count as nothing.
    public static func of(_ text: String) -> Int {
        var total = 0
        for character in text { total += of(character) ?? 0 }
        return total
    }

    /// Whether `scalar` is a C0 or C1 control character or DEL.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value)
    }

    /// Marks, format characters, Hangul medial/final jamo and fillers: no width of their own.
    static func isZeroWidth(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if (0x1160...0x11FF).contains(value) || (0xD7B0...0xD7FF).contains(value) { return true }
        if value == 0x3164 || value == 0xFFA0 { return true }  // Hangul fillers
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .spacingMark:
            return true
        case .format:
            return !isPrependedConcatenationMark(value)
        case .lineSeparator, .paragraphSeparator:
            return true
        default:
            return false
        }
    }

    /// Format characters that are visible (Arabic number signs and the like): one column.
    static func isPrependedConcatenationMark(_ value: UInt32) -> Bool {
        (0x600...0x605).contains(value) || value == 0x6DD || value == 0x70F || (0x890...0x891).contains(value)
            || value == 0x8E2 || value == 0x110BD || value == 0x110CD
    }

    /// Whether `value` is East Asian Wide or Fullwidth.
    static func isWide(_ value: UInt32) -> Bool {
        guard value >= 0x1100 else { return false }
        var low = 0, high = wideRanges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let range = wideRanges[mid]
            if value < range.lowerBound {
                high = mid - 1
            } else if value > range.upperBound {
                low = mid + 1
            } else {
                return true
            }
        }
        return false
    }

    /// East Asian Width W and F ranges from Unicode 15.0 `EastAsianWidth.txt`, merged, with the
    /// unassigned parts of the CJK planes (2 and 3) counted wide as the file's defaults say.
    static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0...0x23F0, 0x23F3...0x23F3,
        0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F...0x267F, 0x2693...0x2693, 0x26A1...0x26A1,
        0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5, 0x26CE...0x26CE, 0x26D4...0x26D4, 0x26EA...0x26EA,
        0x26F2...0x26F3, 0x26F5...0x26F5, 0x26FA...0x26FA, 0x26FD...0x26FD, 0x2705...0x2705, 0x270A...0x270B,
        0x2728...0x2728, 0x274C...0x274C, 0x274E...0x274E, 0x2753...0x2755, 0x2757...0x2757, 0x2795...0x2797,
        0x27B0...0x27B0, 0x27BF...0x27BF, 0x2B1B...0x2B1C, 0x2B50...0x2B50, 0x2B55...0x2B55, 0x2E80...0x2E99,
        0x2E9B...0x2EF3, 0x2F00...0x2FD5, 0x2FF0...0x2FFB, 0x3000...0x303E, 0x3041...0x3096, 0x3099...0x30FF,
        0x3105...0x312F, 0x3131...0x318E, 0x3190...0x31E3, 0x31F0...0x321E, 0x3220...0x3247, 0x3250...0x4DBF,
        0x4E00...0xA48C, 0xA490...0xA4C6, 0xA960...0xA97C, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
        0xFE30...0xFE52, 0xFE54...0xFE66, 0xFE68...0xFE6B, 0xFF01...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4,
        0x16FF0...0x16FF1, 0x17000...0x187F7, 0x18800...0x18CD5, 0x18D00...0x18D08, 0x1AFF0...0x1AFF3,
        0x1AFF5...0x1AFFB, 0x1AFFD...0x1AFFE, 0x1B000...0x1B122, 0x1B132...0x1B132, 0x1B150...0x1B152,
        0x1B155...0x1B155, 0x1B164...0x1B167, 0x1B170...0x1B2FB, 0x1F004...0x1F004, 0x1F0CF...0x1F0CF,
        0x1F18E...0x1F18E, 0x1F191...0x1F19A, 0x1F200...0x1F202, 0x1F210...0x1F23B, 0x1F240...0x1F248,
        0x1F250...0x1F251, 0x1F260...0x1F265, 0x1F300...0x1F320, 0x1F32D...0x1F335, 0x1F337...0x1F37C,
        0x1F37E...0x1F393, 0x1F3A0...0x1F3CA, 0x1F3CF...0x1F3D3, 0x1F3E0...0x1F3F0, 0x1F3F4...0x1F3F4,
        0x1F3F8...0x1F43E, 0x1F440...0x1F440, 0x1F442...0x1F4FC, 0x1F4FF...0x1F53D, 0x1F54B...0x1F54E,
        0x1F550...0x1F567, 0x1F57A...0x1F57A, 0x1F595...0x1F596, 0x1F5A4...0x1F5A4, 0x1F5FB...0x1F64F,
        0x1F680...0x1F6C5, 0x1F6CC...0x1F6CC, 0x1F6D0...0x1F6D2, 0x1F6D5...0x1F6D7, 0x1F6DC...0x1F6DF,
        0x1F6EB...0x1F6EC, 0x1F6F4...0x1F6FC, 0x1F7E0...0x1F7EB, 0x1F7F0...0x1F7F0, 0x1F90C...0x1F93A,
        0x1F93C...0x1F945, 0x1F947...0x1F9FF, 0x1FA70...0x1FA7C, 0x1FA80...0x1FA88, 0x1FA90...0x1FABD,
        0x1FABF...0x1FAC5, 0x1FACE...0x1FADB, 0x1FAE0...0x1FAE8, 0x1FAF0...0x1FAF8, 0x20000...0x2FFFD,
        0x30000...0x3FFFD,
    ]
}
