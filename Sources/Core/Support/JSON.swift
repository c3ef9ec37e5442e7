/// A JSON value that keeps what Python's `json` module keeps.
///
/// Integers and floats stay apart (`1` and `1.0` are different values, as in
/// Python), integers too large for `Int` keep their digits, and objects keep
/// their keys in insertion order.
public enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    /// An integer that does not fit in `Int`, kept as its decimal digits.
    case bigInt(String)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)
}

/// A JSON object: string keys in insertion order, with dictionary lookup.
///
/// Keys are told apart by their Unicode scalars, as Python compares `str`: Swift's
/// `String` equality would merge keys that differ only in normalization (`"é"` and
/// `"e\u{301}"`), losing one of them.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    private var values: [ScalarKey: JSON] = [:]

    /// A key compared and hashed by its UTF-8 bytes.
    private struct ScalarKey: Hashable, Sendable {
        var string: String

        init(_ string: String) { self.string = string }

        static func == (lhs: ScalarKey, rhs: ScalarKey) -> Bool {
            lhs.string.utf8.count == rhs.string.utf8.count && lhs.string.utf8.elementsEqual(rhs.string.utf8)
        }

        func hash(into hasher: inout Hasher) {
            var s = string
            s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    public init() {}

    public init(dictionaryLiteral elements: (String, JSON)...) {
        for (key, value) in elements { self[key] = value }
    }

    public init(_ pairs: [(String, JSON)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// The value for a key; setting `nil` removes the key.
    public subscript(key: String) -> JSON? {
        get { values[ScalarKey(key)] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: ScalarKey(key)) == nil { keys.append(key) }
            } else if values.removeValue(forKey: ScalarKey(key)) != nil {
                keys.removeAll { ScalarKey($0) == ScalarKey(key) }
            }
        }
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSON? {
        let old = values[ScalarKey(key)]
        self[key] = nil
        return old
    }

    public func makeIterator() -> AnyIterator<(key: String, value: JSON)> {
        var index = 0
        let keys = self.keys
        let values = self.values
        return AnyIterator {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            return (keys[index], values[ScalarKey(keys[index])]!)
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        // Like Python dicts: equal when they hold the same pairs, in any order.
        lhs.values == rhs.values
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(values)
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral,
    ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

extension JSON {
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: return Int(d)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// Member lookup on an object; `nil` for anything else.
    public subscript(key: String) -> JSON? {
        get { objectValue?[key] }
        set {
            guard case .object(var object) = self else { return }
            object[key] = newValue
            self = .object(object)
        }
    }

    /// The name Python's `type()` would give this value, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .bigInt: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
