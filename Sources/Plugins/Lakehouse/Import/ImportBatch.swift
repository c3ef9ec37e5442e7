public import Storage

/// The storage class of one imported value.
public enum ValueKind: UInt8, Sendable {
    case null, integer, real, text, blob
}

/// A batch of imported rows: typed values row by row, text and blobs in one byte arena.
///
/// Rows are rectangular (`columnCount` values each). Text is valid UTF-8. The arrays are
/// reused from batch to batch, so a reader's memory stays bounded by the batch limits.
public struct ImportBatch: Sendable {
    /// The number of values in each row.
    public internal(set) var columnCount: Int
    /// The number of rows.
    public internal(set) var rowCount = 0
    /// Per value: its kind.
    public internal(set) var kinds: [ValueKind] = []
    /// Per value: the integer, the bit pattern of the double, or the offset of the text in `arena`.
    public internal(set) var payloads: [Int64] = []
    /// Per value: the length of its text or blob in `arena`.
    public internal(set) var lengths: [Int32] = []
    /// The bytes of every text and blob value.
    public internal(set) var arena: [UInt8] = []
    /// Per row: the 1-based line (or, for SQLite sources, the row number) it came from.
    public internal(set) var lines: [Int] = []
    /// Rows of this stretch of input that could not be read, in input order.
    public internal(set) var rejected: [RejectedRow] = []
    /// How far into the input the reader is after this batch, in bytes (for progress).
    public internal(set) var bytesRead: Int64 = 0
    /// Per row, when any row is marked: whether to leave it out (a value that does not fit its column).
    var skipped: [Bool] = []

    init(columnCount: Int) {
        self.columnCount = columnCount
    }

    /// Empties the batch, keeping its capacity.
    mutating func reset(columnCount: Int) {
        self.columnCount = columnCount
        rowCount = 0
        kinds.removeAll(keepingCapacity: true)
        payloads.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        lines.removeAll(keepingCapacity: true)
        rejected.removeAll(keepingCapacity: true)
        skipped.removeAll(keepingCapacity: true)
    }

    /// Whether the batch holds nothing to hand out (no rows, no rejections).
    var isEmpty: Bool { rowCount == 0 && rejected.isEmpty }

    // MARK: Building (row by row: append `columnCount` values, then `endRow`)

    mutating func appendNull() {
        kinds.append(.null)
        payloads.append(0)
        lengths.append(0)
    }

    mutating func appendInteger(_ value: Int64) {
        kinds.append(.integer)
        payloads.append(value)
        lengths.append(0)
    }

    mutating func appendReal(_ value: Double) {
        kinds.append(.real)
        payloads.append(Int64(bitPattern: value.bitPattern))
        lengths.append(0)
    }

    mutating func appendText(_ bytes: UnsafeRawBufferPointer) {
        appendBytes(bytes, kind: .text)
    }

    mutating func appendText(_ text: String) {
        var text = text
        text.withUTF8 { appendBytes(UnsafeRawBufferPointer($0), kind: .text) }
    }

    mutating func appendBlob(_ bytes: UnsafeRawBufferPointer) {
        appendBytes(bytes, kind: .blob)
    }

    private mutating func appendBytes(_ bytes: UnsafeRawBufferPointer, kind: ValueKind) {
        kinds.append(kind)
        payloads.append(Int64(arena.count))
        lengths.append(Int32(bytes.count))
        arena.append(contentsOf: bytes)
    }

    /// Ends the row being built; it came from `line`.
    mutating func endRow(line: Int) {
        rowCount += 1
        lines.append(line)
    }

    /// Drops the values appended since the last complete row (a row that turned out bad halfway).
    mutating func dropPartialRow() {
        let keep = rowCount * columnCount
        guard kinds.count > keep else { return }
        let arenaEnd = (keep..<kinds.count).first { kinds[$0] == .text || kinds[$0] == .blob }.map { Int(payloads[$0]) }
        kinds.removeSubrange(keep...)
        payloads.removeSubrange(keep...)
        lengths.removeSubrange(keep...)
        if let arenaEnd { arena.removeSubrange(arenaEnd...) }
    }

    mutating func reject(line: Int, _ reason: String) {
        rejected.append(RejectedRow(line: line, reason: reason))
    }

    /// Marks a row to be left out, recording why.
    mutating func skip(row: Int, _ reason: String) {
        if skipped.isEmpty { skipped = [Bool](repeating: false, count: rowCount) }
        guard !skipped[row] else { return }
        skipped[row] = true
        rejected.append(RejectedRow(line: lines[row], reason: reason))
    }

    /// Whether a row is marked to be left out.
    @inline(__always)
    public func isSkipped(_ row: Int) -> Bool { !skipped.isEmpty && skipped[row] }

    // MARK: Reading

    /// The index of a value in the per-value arrays.
    @inline(__always)
    public func index(row: Int, column: Int) -> Int { row * columnCount + column }

    /// The kind of a value.
    public func kind(row: Int, column: Int) -> ValueKind { kinds[index(row: row, column: column)] }

    /// The integer of an `.integer` value.
    public func integer(row: Int, column: Int) -> Int64 { payloads[index(row: row, column: column)] }

    /// The double of a `.real` value.
    public func real(row: Int, column: Int) -> Double {
        Double(bitPattern: UInt64(bitPattern: payloads[index(row: row, column: column)]))
    }

    /// Calls `body` with the bytes of a `.text` or `.blob` value (valid only during the call).
    public func withBytes<R>(row: Int, column: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let i = index(row: row, column: column)
        let offset = Int(payloads[i])
        let length = Int(lengths[i])
        return try arena.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)]))
        }
    }

    /// A value as a Swift value, for tests and slow paths: nil, Int64, Double, String or [UInt8].
    public func value(row: Int, column: Int) -> ImportValue {
        switch kind(row: row, column: column) {
        case .null: return .null
        case .integer: return .integer(integer(row: row, column: column))
        case .real: return .real(real(row: row, column: column))
        case .text: return .text(withBytes(row: row, column: column) { String(decoding: $0, as: UTF8.self) })
        case .blob: return .blob(withBytes(row: row, column: column) { Array($0) })
        }
    }

    /// A whole row as Swift values.
    public func row(_ row: Int) -> [ImportValue] {
        (0..<columnCount).map { value(row: row, column: $0) }
    }
}

/// One imported value as a Swift value.
public enum ImportValue: Sendable, Hashable, CustomStringConvertible, ExpressibleByNilLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral
{
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public init(nilLiteral: ()) { self = .null }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(stringLiteral value: String) { self = .text(value) }

    /// The same value for the storage layer.
    public var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .integer(let v): return .integer(v)
        case .real(let d): return .real(d)
        case .text(let s): return .text(s)
        case .blob(let b): return .blob(b)
        }
    }

    public var description: String {
        switch self {
        case .null: return "NULL"
        case .integer(let v): return String(v)
        case .real(let d): return String(d)
        case .text(let s): return s
        case .blob(let b): return "<\(b.count) bytes>"
        }
    }
}
