/// One SQLite value: NULL, a 64-bit integer, a double, UTF-8 text or a blob.
///
/// Text that is not valid UTF-8 is read back as `.blob` with its exact bytes, so nothing is lost.
public enum DatabaseValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// Whether this is NULL.
    public var isNull: Bool { self == .null }

    /// The integer, or an integral real that fits; nil otherwise.
    public var int64: Int64? {
        switch self {
        case .integer(let v): return v
        case .real(let d): return d.rounded() == d ? Int64(exactly: d) : nil
        default: return nil
        }
    }

    /// The real, or the integer as a double; nil otherwise.
    public var double: Double? {
        switch self {
        case .integer(let v): return Double(v)
        case .real(let d): return d
        default: return nil
        }
    }

    /// The text; nil for other types.
    public var string: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    /// The bytes of a blob or of text (as UTF-8); nil for other types.
    public var bytes: [UInt8]? {
        switch self {
        case .blob(let b): return b
        case .text(let s): return Array(s.utf8)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .null: return "NULL"
        case .integer(let v): return String(v)
        case .real(let d): return String(d)
        case .text(let s): return s
        case .blob(let b): return "x'\(hex(b))'"
        }
    }

    private func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension DatabaseValue: ExpressibleByNilLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByStringLiteral, ExpressibleByBooleanLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .integer(value ? 1 : 0) }
}

/// A Swift type that converts to and from a `DatabaseValue`.
public protocol DatabaseValueConvertible {
    /// The value to store.
    var databaseValue: DatabaseValue { get }
    /// The Swift value for a stored value, or nil when it does not convert.
    static func fromDatabaseValue(_ value: DatabaseValue) -> Self?
}

extension DatabaseValue: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { self }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> DatabaseValue? { value }
}

extension Int64: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(self) }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> Int64? { value.int64 }
}

extension Int: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(Int64(self)) }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> Int? { value.int64.flatMap { Int(exactly: $0) } }
}

extension Int32: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(Int64(self)) }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> Int32? { value.int64.flatMap { Int32(exactly: $0) } }
}

extension Double: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .real(self) }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> Double? { value.double }
}

extension Bool: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .integer(self ? 1 : 0) }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> Bool? { value.int64.map { $0 != 0 } }
}

extension String: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { .text(self) }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> String? { value.string }
}

extension Array: DatabaseValueConvertible where Element == UInt8 {
    public var databaseValue: DatabaseValue { .blob(self) }
    public static func fromDatabaseValue(_ value: DatabaseValue) -> [UInt8]? { value.bytes }
}

extension Optional: DatabaseValueConvertible where Wrapped: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { self?.databaseValue ?? .null }
    /// NULL converts to `.some(nil)`; another value converts when `Wrapped` accepts it.
    public static func fromDatabaseValue(_ value: DatabaseValue) -> Wrapped?? {
        if value.isNull { return .some(nil) }
        return Wrapped.fromDatabaseValue(value).map { .some($0) }
    }
}

/// Values bound to a statement's parameters: by position (`?`, `?NNN`) or by name (`:name`, `@name`, `$name`).
public struct StatementArguments: Sendable, Equatable, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    /// Values for positional parameters, in order.
    public var positional: [DatabaseValue]
    /// Values for named parameters, keyed by name without the `:`, `@` or `$` prefix.
    public var named: [String: DatabaseValue]

    /// Positional arguments.
    public init(_ values: [DatabaseValue] = []) {
        positional = values
        named = [:]
    }

    /// Named arguments, keyed by parameter name without its prefix.
    public init(named values: [String: DatabaseValue]) {
        positional = []
        named = values
    }

    public init(arrayLiteral elements: (any DatabaseValueConvertible)?...) {
        self.init(elements.map { $0?.databaseValue ?? .null })
    }

    public init(dictionaryLiteral elements: (String, (any DatabaseValueConvertible)?)...) {
        var values: [String: DatabaseValue] = [:]
        for (key, value) in elements { values[key] = value?.databaseValue ?? .null }
        self.init(named: values)
    }

    /// Whether there is no argument at all.
    public var isEmpty: Bool { positional.isEmpty && named.isEmpty }
}

/// The column names of a result, shared by all its rows, with a case-insensitive lookup.
final class ColumnIndex: Sendable {
    let names: [String]
    private let positions: [String: Int]

    init(_ names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (i, name) in names.enumerated() where positions[name.lowercased()] == nil {
            positions[name.lowercased()] = i
        }
        self.positions = positions
    }

    func position(of name: String) -> Int? {
        positions[name.lowercased()]
    }
}

/// One result row: its values by position and by column name (SQLite compares names case-insensitively).
public struct Row: Sendable, Equatable, CustomStringConvertible {
    /// The values, in column order.
    public let values: [DatabaseValue]
    let columns: ColumnIndex

    init(values: [DatabaseValue], columns: ColumnIndex) {
        self.values = values
        self.columns = columns
    }

    /// A row with the given column names and values (for tests and hand-built results).
    public init(columns: [String], values: [DatabaseValue]) {
        precondition(columns.count == values.count, "a row needs one value per column")
        self.init(values: values, columns: ColumnIndex(columns))
    }

    /// The column names, in order.
    public var columnNames: [String] { columns.names }

    /// The number of columns.
    public var count: Int { values.count }

    /// The value at a column position (0-based).
    public subscript(index: Int) -> DatabaseValue { values[index] }

    /// The value of the first column with this name, or nil when there is no such column.
    public subscript(name: String) -> DatabaseValue? {
        columns.position(of: name).map { values[$0] }
    }

    /// The value at a column position converted to `T`; nil for NULL or a value `T` does not accept.
    public func value<T: DatabaseValueConvertible>(_ index: Int, as type: T.Type = T.self) -> T? {
        T.fromDatabaseValue(values[index])
    }

    /// The value of a named column converted to `T`; nil for no such column, NULL, or a value `T` does not accept.
    public func value<T: DatabaseValueConvertible>(_ name: String, as type: T.Type = T.self) -> T? {
        self[name].flatMap { T.fromDatabaseValue($0) }
    }

    public static func == (lhs: Row, rhs: Row) -> Bool {
        lhs.values == rhs.values && lhs.columns.names == rhs.columns.names
    }

    public var description: String {
        "[" + zip(columns.names, values).map { "\($0): \($1)" }.joined(separator: ", ") + "]"
    }
}
