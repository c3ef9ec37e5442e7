#if canImport(Glibc)
import Glibc
#endif

/// Recognizes numbers, dates and valid UTF-8 in raw field bytes, without making Strings.
enum FieldParsing {
    /// The integer the bytes spell (`[+-]?digits`, no leading zero, within Int64), or nil.
    ///
    /// A leading zero (`007`) keeps a value text: zip codes and ids lose meaning as numbers.
    @inline(__always)
    static func integer(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var i = 0
        let n = bytes.count
        guard n > 0 else { return nil }
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            i = 1
            guard n > 1 else { return nil }
        }
        if bytes[i] == UInt8(ascii: "0") && n - i > 1 { return nil }
        var value: UInt64 = 0
        while i < n {
            let d = bytes[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            value = s
            i += 1
        }
        if negative {
            guard value <= UInt64(Int64.max) + 1 else { return nil }
            return value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)
        }
        guard value <= UInt64(Int64.max) else { return nil }
        return Int64(value)
    }

    private static let powersOfTen: [Double] = (0...22).map { k in
        var p = 1.0
        for _ in 0..<k { p *= 10 }
        return p
    }

    /// The double the bytes spell as a decimal number (`1.5`, `-.5`, `2e10`), or nil.
    ///
    /// Not `inf`, `nan`, hex floats or numbers with a leading zero before more digits (`01.5`).
    static func real(_ bytes: UnsafeRawBufferPointer) -> Double? {
        let n = bytes.count
        guard n > 0, n < 400 else { return nil }
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            i = 1
        }
        let intStart = i
        var mantissa: UInt64 = 0
        var digits = 0
        var exact = true
        while i < n, bytes[i] &- UInt8(ascii: "0") < 10 {
            if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- UInt8(ascii: "0")) } else { exact = false }
            digits += 1
            i += 1
        }
        let intDigits = i - intStart
        if intDigits > 1 && bytes[intStart] == UInt8(ascii: "0") { return nil }
        var fractionDigits = 0
        if i < n, bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, bytes[i] &- UInt8(ascii: "0") < 10 {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- UInt8(ascii: "0")) } else { exact = false }
                digits += 1
                fractionDigits += 1
                i += 1
            }
        }
        guard intDigits + fractionDigits > 0 else { return nil }
        var hasExponent = false
        if i < n, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            hasExponent = true
            i += 1
            if i < n, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
            let expStart = i
            while i < n, bytes[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            guard i > expStart else { return nil }
        }
        guard i == n else { return nil }
        // Clinger's fast path: exact when the digits fit in 53 bits and the power of ten is exact.
        if exact, !hasExponent, mantissa < (1 << 53), fractionDigits <= 22 {
            let value = Double(mantissa) / powersOfTen[fractionDigits]
            return negative ? -value : value
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buffer -> Double? in
            for k in 0..<n { buffer[k] = CChar(bitPattern: bytes[k]) }
            buffer[n] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// Whether the bytes are a date: `YYYY-MM-DD`.
    static func isDate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count == 10 && datePrefix(bytes)
    }

    /// Whether the bytes are a timestamp: a date, `T` or a space, `HH:MM[:SS[.fraction]]`, then `Z` or an offset.
    static func isTimestamp(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        guard n >= 16, datePrefix(bytes), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " ") else { return false }
        guard twoDigits(bytes, 11, max: 23), bytes[13] == UInt8(ascii: ":"), twoDigits(bytes, 14, max: 59) else { return false }
        var i = 16
        if i < n, bytes[i] == UInt8(ascii: ":") {
            guard i + 3 <= n, twoDigits(bytes, i + 1, max: 60) else { return false }
            i += 3
            if i < n, bytes[i] == UInt8(ascii: ".") {
                i += 1
                let start = i
                while i < n, bytes[i] &- UInt8(ascii: "0") < 10 { i += 1 }
                guard i > start else { return false }
            }
        }
        if i == n { return true }
        if bytes[i] == UInt8(ascii: "Z") { return i + 1 == n }
        guard bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") else { return false }
        i += 1
        guard i + 2 <= n, twoDigits(bytes, i, max: 23) else { return false }
        i += 2
        if i == n { return true }
        if bytes[i] == UInt8(ascii: ":") { i += 1 }
        return i + 2 == n && twoDigits(bytes, i, max: 59)
    }

    private static func datePrefix(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return false }
        for k in [0, 1, 2, 3] where b[k] &- UInt8(ascii: "0") >= 10 { return false }
        guard twoDigits(b, 5, max: 12), twoDigits(b, 8, max: 31) else { return false }
        return !(b[5] == UInt8(ascii: "0") && b[6] == UInt8(ascii: "0")) && !(b[8] == UInt8(ascii: "0") && b[9] == UInt8(ascii: "0"))
    }

    @inline(__always)
    private static func twoDigits(_ b: UnsafeRawBufferPointer, _ at: Int, max: Int) -> Bool {
        let hi = b[at] &- UInt8(ascii: "0"), lo = b[at + 1] &- UInt8(ascii: "0")
        return hi < 10 && lo < 10 && Int(hi) * 10 + Int(lo) <= max
    }

    /// The narrowest type a non-empty field fits: INTEGER, REAL, DATE, TIMESTAMP or TEXT.
    static func classify(_ bytes: UnsafeRawBufferPointer) -> ColumnType {
        guard let first = bytes.first else { return .text }
        if first &- UInt8(ascii: "0") < 10 || first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".") {
            if integer(bytes) != nil { return .integer }
            if isDate(bytes) { return .date }
            if isTimestamp(bytes) { return .timestamp }
            if real(bytes) != nil { return .real }
        }
        return .text
    }

    /// The offset of the first byte that breaks UTF-8 (overlong forms and surrogates included), or nil when valid.
    static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let n = bytes.count
        var i = 0
        while i < n {
            // Eight ASCII bytes at a time.
            while i + 8 <= n, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
            guard i < n else { return nil }
            let b0 = bytes[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            let need: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; high = 0x9F
            case 0xF0: need = 3; low = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; high = 0x8F
            default: return i
            }
            guard i + need < n else { return i }
            let b1 = bytes[i + 1]
            guard b1 >= low && b1 <= high else { return i }
            var k = 2
            while k <= need {
                guard bytes[i + k] & 0xC0 == 0x80 else { return i }
                k += 1
            }
            i += need + 1
        }
        return nil
    }
}
