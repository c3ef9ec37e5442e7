public import CoreSupport
import CYAML

/// YAML documents, read and written through libyaml (the C library under PyYAML's
/// CLoader/CDumper and under Yams).
///
/// Scalars resolve the way PyYAML's `safe_load` resolves them (YAML 1.1: `yes`/`no`/`on`/`off`
/// are booleans, `~` and the empty scalar are null, `0x1F` and `017` are integers), since the
/// files Workbench reads (Jupytext headers, papermill parameters, policy and lifecycle files)
/// are written for Python tools. Mappings keep the order of the document.
///
/// Why not Yams: it links the whole of Foundation (NSRegularExpression, DateFormatter) and with
/// it ICU into every `wb` process, ~4 MB of resident memory at start (Docs/architecture.md).
public enum YAML {
    /// The single document of `text` as a node tree with positions; nil for an empty stream.
    public static func compose(_ text: String) throws(YAMLError) -> YAMLNode? {
        var reader = try EventReader(text)
        defer { reader.close() }
        return try reader.document()
    }

    /// The single document of `text` as JSON values; nil for an empty stream.
    public static func load(_ text: String) throws(YAMLError) -> JSON? {
        try compose(text)?.json
    }

    /// Writes `value` as a block-style YAML document, the way PyYAML's
    /// `safe_dump(value, default_flow_style=False, allow_unicode=allowUnicode, width=width)` does
    /// (without `allowUnicode`, non-ASCII text is escaped in double quotes, as in jupytext's headers).
    public static func dump(_ value: JSON, width: Int = 80, sortKeys: Bool = false, allowUnicode: Bool = true) throws(YAMLError) -> String {
        var writer = EventWriter(width: width, allowUnicode: allowUnicode)
        defer { writer.close() }
        try writer.stream { w throws(YAMLError) in try w.value(value, sortKeys: sortKeys) }
        return writer.output
    }
}

/// A YAML problem, with the (1-based) line and column where libyaml found it.
public struct YAMLError: Error, CustomStringConvertible, Sendable {
    public let problem: String
    public let mark: YAMLMark?

    public init(_ problem: String, at mark: YAMLMark? = nil) {
        self.problem = problem
        self.mark = mark
    }

    public var description: String {
        guard let mark else { return problem }
        return "line \(mark.line), column \(mark.column): \(problem)"
    }
}

/// A position in a YAML text, 1-based.
public struct YAMLMark: Sendable, Hashable {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    init(_ mark: yaml_mark_t) { self.init(line: Int(mark.line) + 1, column: Int(mark.column) + 1) }
}

/// A node of a composed document: scalars keep their text, style and tag; mappings keep
/// their key order (duplicate keys are kept too, for the reader to report).
public struct YAMLNode: Sendable {
    public enum Kind: Sendable {
        case scalar(YAMLScalar)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    public let kind: Kind
    /// Where the node starts (for a quoted scalar: its opening quote).
    public let mark: YAMLMark?

    public init(_ kind: Kind, mark: YAMLMark? = nil) {
        self.kind = kind
        self.mark = mark
    }

    public var scalar: YAMLScalar? {
        if case .scalar(let s) = kind { return s }
        return nil
    }

    public var mapping: [(key: YAMLNode, value: YAMLNode)]? {
        if case .mapping(let m) = kind { return m }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let s) = kind { return s }
        return nil
    }

    /// The scalar's text, whatever it resolves to.
    public var string: String? { scalar?.string }

    /// The scalar as a boolean, if it resolves to one.
    public var bool: Bool? {
        if case .bool(let b)? = scalar?.resolved { return b }
        return nil
    }

    /// The scalar as an integer, if it resolves to one that fits.
    public var int: Int? {
        if case .int(let i)? = scalar?.resolved { return i }
        return nil
    }

    /// The node as JSON: scalars resolved, mappings in document order (a repeated key keeps its last value).
    public var json: JSON {
        switch kind {
        case .scalar(let s): return s.resolved
        case .sequence(let items): return .array(items.map(\.json))
        case .mapping(let pairs):
            var object = JSONObject()
            for (key, value) in pairs {
                let name: String
                switch key.json {
                case .string(let s): name = s
                case .int(let i): name = String(i)
                case .bool(let b): name = b ? "True" : "False"
                case .null: name = "null"
                case .double(let d): name = String(d)
                case .bigInt(let s): name = s
                case .array, .object: name = key.string ?? ""
                }
                object[name] = value.json
            }
            return .object(object)
        }
    }
}

/// A scalar's text as written, its style and its tag (nil when none was written).
public struct YAMLScalar: Sendable {
    public enum Style: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }

    public let string: String
    public let style: Style
    public let tag: String?

    public init(_ string: String, style: Style = .plain, tag: String? = nil) {
        self.string = string
        self.style = style
        self.tag = tag
    }

    /// The value PyYAML's safe loader gives this scalar.
    public var resolved: JSON {
        switch tag {
        case "tag:yaml.org,2002:str": return .string(string)
        case "tag:yaml.org,2002:null": return .null
        case "tag:yaml.org,2002:bool": return YAMLResolver.bool(string).map(JSON.bool) ?? .string(string)
        case "tag:yaml.org,2002:int": return YAMLResolver.int(string) ?? .string(string)
        case "tag:yaml.org,2002:float": return YAMLResolver.float(string).map(JSON.double) ?? .string(string)
        case nil, "!": break
        default: return .string(string)
        }
        if tag == "!" || style != .plain { return .string(string) }
        return YAMLResolver.plain(string)
    }
}

/// PyYAML's implicit resolvers for plain scalars (yaml/resolver.py), without timestamps
/// (kept as strings: JSON has no date type) and sexagesimal numbers.
public enum YAMLResolver {
    public static func plain(_ s: String) -> JSON {
        if isNull(s) { return .null }
        if let b = bool(s) { return .bool(b) }
        if let i = int(s) { return i }
        if let d = float(s) { return .double(d) }
        return .string(s)
    }

    static func isNull(_ s: String) -> Bool { s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL" }

    static func bool(_ s: String) -> Bool? {
        switch s {
        case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON": return true
        case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF": return false
        default: return nil
        }
    }

    /// `[-+]?0b[01_]+ | [-+]?0[0-7_]+ | [-+]?(0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+`.
    static func int(_ s: String) -> JSON? {
        var body = Substring(s)
        var negative = false
        if let first = body.first, first == "-" || first == "+" {
            negative = first == "-"
            body = body.dropFirst()
        }
        guard let first = body.first, first.isASCII, first.isNumber else { return nil }
        var digits: Substring, radix: Int
        if body.hasPrefix("0b") {
            (digits, radix) = (body.dropFirst(2), 2)
        } else if body.hasPrefix("0x") {
            (digits, radix) = (body.dropFirst(2), 16)
        } else if body.count > 1, first == "0" {
            (digits, radix) = (body.dropFirst(), 8)
        } else {
            (digits, radix) = (body, 10)
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0 == "_" || ($0.isASCII && $0.hexDigitValue.map { $0 < radix } == true) })
        else { return nil }
        let clean = digits.filter { $0 != "_" }
        guard !clean.isEmpty else { return nil }
        if let value = Int(clean, radix: radix) { return .int(negative ? -value : value) }
        // Too large for Int: keep the decimal text exactly, as JSON does.
        return radix == 10 ? .bigInt((negative ? "-" : "") + clean) : nil
    }

    /// `[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)? | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)`.
    static func float(_ s: String) -> Double? {
        var body = Substring(s)
        var sign = 1.0
        if let first = body.first, first == "-" || first == "+" {
            if first == "-" { sign = -1 }
            body = body.dropFirst()
        }
        switch body {
        case ".inf", ".Inf", ".INF": return sign * .infinity
        case ".nan", ".NaN", ".NAN": return s == String(body) ? .nan : nil
        default: break
        }
        guard let dot = body.firstIndex(of: ".") else { return nil }
        let whole = body[..<dot]
        var rest = body[body.index(after: dot)...]
        var exponent = ""
        if let e = rest.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            let exp = rest[rest.index(after: e)...]
            guard let sign = exp.first, sign == "-" || sign == "+", exp.count > 1,
                exp.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber })
            else { return nil }
            exponent = "e" + exp
            rest = rest[..<e]
        }
        let isDigits: (Substring) -> Bool = { $0.allSatisfy { $0 == "_" || ($0.isASCII && $0.isNumber) } }
        guard isDigits(whole), isDigits(rest), whole.first.map({ $0 != "_" }) ?? true else { return nil }
        guard !(whole.isEmpty && rest.isEmpty) else { return nil }
        let text = (whole.isEmpty ? "0" : whole.filter { $0 != "_" }) + "." + (rest.isEmpty ? "0" : rest.filter { $0 != "_" }) + exponent
        return Double(text).map { sign * $0 }
    }
}

// MARK: - Reading

/// libyaml's parser keeps pointers to itself and to the input, so both live on the heap.
private struct EventReader {
    private let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    private let input: UnsafeMutableBufferPointer<UInt8>
    private var anchors: [String: YAMLNode] = [:]
    private var open = false

    init(_ text: String) throws(YAMLError) {
        let bytes = Array(text.utf8)
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        parser.initialize(to: yaml_parser_t())
        guard yaml_parser_initialize(parser) == 1 else {
            input.deallocate()
            parser.deallocate()
            throw YAMLError("out of memory")
        }
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
        open = true
    }

    mutating func close() {
        guard open else { return }
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
        open = false
    }

    private mutating func next() throws(YAMLError) -> Event {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw parserError() }
        defer { yaml_event_delete(&event) }
        return Event(event)
    }

    private func parserError() -> YAMLError {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "malformed YAML"
        let message = p.context.map { "\(problem) \(String(cString: $0))" } ?? problem
        return YAMLError(message, at: YAMLMark(p.problem_mark))
    }

    mutating func document() throws(YAMLError) -> YAMLNode? {
        guard case .streamStart = try next() else { throw YAMLError("expected the start of a stream") }
        var event = try next()
        if case .streamEnd = event { return nil }
        guard case .documentStart = event else { throw YAMLError("expected a document") }
        let root = try node(try next())
        guard case .documentEnd = try next() else { throw YAMLError("expected the end of the document") }
        event = try next()
        if case .documentStart(let mark) = event {
            throw YAMLError("expected a single document, found a second one", at: mark)
        }
        return root
    }

    private mutating func node(_ event: Event) throws(YAMLError) -> YAMLNode {
        switch event {
        case .scalar(let scalar, let anchor, let mark):
            return remember(YAMLNode(.scalar(scalar), mark: mark), anchor)
        case .alias(let anchor, let mark):
            guard let node = anchors[anchor] else { throw YAMLError("unknown alias *\(anchor)", at: mark) }
            return node
        case .sequenceStart(let anchor, let mark):
            var items: [YAMLNode] = []
            while true {
                let e = try next()
                if case .sequenceEnd = e { break }
                items.append(try node(e))
            }
            return remember(YAMLNode(.sequence(items), mark: mark), anchor)
        case .mappingStart(let anchor, let mark):
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            while true {
                let e = try next()
                if case .mappingEnd = e { break }
                let key = try node(e)
                let value = try node(try next())
                pairs.append((key, value))
            }
            return remember(YAMLNode(.mapping(pairs), mark: mark), anchor)
        default:
            throw YAMLError("unexpected YAML event")
        }
    }

    private mutating func remember(_ node: YAMLNode, _ anchor: String?) -> YAMLNode {
        if let anchor { anchors[anchor] = node }
        return node
    }

    private enum Event {
        case streamStart, streamEnd, documentEnd, other
        case documentStart(YAMLMark)
        case alias(String, YAMLMark)
        case scalar(YAMLScalar, anchor: String?, YAMLMark)
        case sequenceStart(anchor: String?, YAMLMark)
        case sequenceEnd
        case mappingStart(anchor: String?, YAMLMark)
        case mappingEnd

        init(_ e: yaml_event_t) {
            let mark = YAMLMark(e.start_mark)
            func text(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                p.map { String(cString: UnsafePointer($0)) }
            }
            switch e.type {
            case YAML_STREAM_START_EVENT: self = .streamStart
            case YAML_STREAM_END_EVENT: self = .streamEnd
            case YAML_DOCUMENT_START_EVENT: self = .documentStart(mark)
            case YAML_DOCUMENT_END_EVENT: self = .documentEnd
            case YAML_ALIAS_EVENT: self = .alias(text(e.data.alias.anchor) ?? "", mark)
            case YAML_SCALAR_EVENT:
                let s = e.data.scalar
                let value = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
                let style: YAMLScalar.Style
                switch s.style {
                case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
                case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
                case YAML_LITERAL_SCALAR_STYLE: style = .literal
                case YAML_FOLDED_SCALAR_STYLE: style = .folded
                default: style = .plain
                }
                self = .scalar(YAMLScalar(value, style: style, tag: text(s.tag)), anchor: text(s.anchor), mark)
            case YAML_SEQUENCE_START_EVENT: self = .sequenceStart(anchor: text(e.data.sequence_start.anchor), mark)
            case YAML_SEQUENCE_END_EVENT: self = .sequenceEnd
            case YAML_MAPPING_START_EVENT: self = .mappingStart(anchor: text(e.data.mapping_start.anchor), mark)
            case YAML_MAPPING_END_EVENT: self = .mappingEnd
            default: self = .other
            }
        }
    }
}

// MARK: - Writing

private final class OutputBuffer {
    var bytes: [UInt8] = []
}

private struct EventWriter {
    private let emitter = UnsafeMutablePointer<yaml_emitter_t>.allocate(capacity: 1)
    private let buffer = OutputBuffer()
    private var open = false

    init(width: Int, allowUnicode: Bool = true) {
        emitter.initialize(to: yaml_emitter_t())
        open = yaml_emitter_initialize(emitter) == 1
        guard open else { return }
        yaml_emitter_set_unicode(emitter, allowUnicode ? 1 : 0)
        yaml_emitter_set_width(emitter, Int32(clamping: width))
        yaml_emitter_set_indent(emitter, 2)
        yaml_emitter_set_output(
            emitter,
            { data, bytes, size in
                guard let data, let bytes else { return 1 }
                Unmanaged<OutputBuffer>.fromOpaque(data).takeUnretainedValue().bytes.append(
                    contentsOf: UnsafeBufferPointer(start: bytes, count: size))
                return 1
            }, Unmanaged.passUnretained(buffer).toOpaque())
    }

    var output: String { String(decoding: buffer.bytes, as: UTF8.self) }

    mutating func close() {
        if open { yaml_emitter_delete(emitter) }
        emitter.deallocate()
        open = false
    }

    mutating func stream(_ body: (inout EventWriter) throws(YAMLError) -> Void) throws(YAMLError) {
        guard open else { throw YAMLError("out of memory") }
        var event = yaml_event_t()
        yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING)
        try emit(&event)
        yaml_document_start_event_initialize(&event, nil, nil, nil, 1)
        try emit(&event)
        try body(&self)
        yaml_document_end_event_initialize(&event, 1)
        try emit(&event)
        yaml_stream_end_event_initialize(&event)
        try emit(&event)
        _ = yaml_emitter_flush(emitter)
    }

    private mutating func emit(_ event: inout yaml_event_t) throws(YAMLError) {
        guard yaml_emitter_emit(emitter, &event) == 1 else {
            throw YAMLError(emitter.pointee.problem.map { String(cString: $0) } ?? "cannot write YAML")
        }
    }

    mutating func value(_ value: JSON, sortKeys: Bool) throws(YAMLError) {
        var event = yaml_event_t()
        switch value {
        case .null: try scalar("null", plain: true)
        case .bool(let b): try scalar(b ? "true" : "false", plain: true)
        case .int(let i): try scalar(String(i), plain: true)
        case .bigInt(let s): try scalar(s, plain: true)
        case .double(let d): try scalar(Self.repr(d), plain: true)
        case .string(let s):
            // Quoted when the plain form would read back as something else (PyYAML's representer does the same).
            try scalar(s, plain: YAMLResolver.plain(s) == .string(s) && !s.isEmpty)
        case .array(let items):
            guard !items.isEmpty else {
                yaml_sequence_start_event_initialize(&event, nil, nil, 1, YAML_FLOW_SEQUENCE_STYLE)
                try emit(&event)
                yaml_sequence_end_event_initialize(&event)
                return try emit(&event)
            }
            yaml_sequence_start_event_initialize(&event, nil, nil, 1, YAML_BLOCK_SEQUENCE_STYLE)
            try emit(&event)
            for item in items { try self.value(item, sortKeys: sortKeys) }
            yaml_sequence_end_event_initialize(&event)
            try emit(&event)
        case .object(let object):
            guard object.count > 0 else {
                yaml_mapping_start_event_initialize(&event, nil, nil, 1, YAML_FLOW_MAPPING_STYLE)
                try emit(&event)
                yaml_mapping_end_event_initialize(&event)
                return try emit(&event)
            }
            yaml_mapping_start_event_initialize(&event, nil, nil, 1, YAML_BLOCK_MAPPING_STYLE)
            try emit(&event)
            var pairs = Array(object)
            if sortKeys { pairs.sort { $0.0 < $1.0 } }
            for (key, item) in pairs {
                try self.value(.string(key), sortKeys: sortKeys)
                try self.value(item, sortKeys: sortKeys)
            }
            yaml_mapping_end_event_initialize(&event)
            try emit(&event)
        }
    }

    private mutating func scalar(_ text: String, plain: Bool) throws(YAMLError) {
        var event = yaml_event_t()
        var bytes = Array(text.utf8)
        let ok = bytes.withUnsafeMutableBufferPointer { b in
            yaml_scalar_event_initialize(
                &event, nil, nil, b.baseAddress, Int32(b.count), plain ? 1 : 0, 1, YAML_ANY_SCALAR_STYLE)
        }
        guard ok == 1 else { throw YAMLError("cannot write the scalar \(text)") }
        try emit(&event)
    }

    /// Python's `repr` of a float, as PyYAML writes it.
    static func repr(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        let s = "\(d)"
        return s.contains(".") || s.contains("e") ? s : s + ".0"
    }
}
