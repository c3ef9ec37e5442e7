import CoreSupport
import Testing
import YAML

/// YAML through libyaml, with scalars resolved the way PyYAML's `safe_load` resolves them
/// (the expected values below are what `yaml.safe_load` gives for the same text).
@Suite struct YAMLTests {
    @Test(arguments: [
        ("a: ~", JSON.null), ("a: null", .null), ("a:", .null), ("a: NULL", .null),
        ("a: yes", .bool(true)), ("a: No", .bool(false)), ("a: on", .bool(true)), ("a: OFF", .bool(false)),
        ("a: true", .bool(true)), ("a: False", .bool(false)),
        ("a: 42", .int(42)), ("a: -7", .int(-7)), ("a: +3", .int(3)), ("a: 1_000", .int(1000)),
        ("a: 0x1F", .int(31)), ("a: 017", .int(15)), ("a: 0b101", .int(5)), ("a: 0", .int(0)),
        ("a: 123456789012345678901234567890", .bigInt("123456789012345678901234567890")),
        ("a: 1.5", .double(1.5)), ("a: -0.25", .double(-0.25)), ("a: 1.0e+3", .double(1000)), ("a: .5", .double(0.5)),
        ("a: 1.", .double(1)),
        // Not floats for YAML 1.1 (no dot, or an exponent without a sign): strings, as in PyYAML.
        ("a: 1e3", .string("1e3")), ("a: 1.0e3", .string("1.0e3")), ("a: 1.19.6", .string("1.19.6")),
        ("a: .py", .string(".py")), ("a: 0x", .string("0x")), ("a: 08", .string("08")),
        ("a: '42'", .string("42")), ("a: \"yes\"", .string("yes")), ("a: !!str 12", .string("12")),
        ("a: !!int '12'", .int(12)), ("a: 2024-01-02", .string("2024-01-02")), ("a: héllo wörld", .string("héllo wörld")),
    ])
    func scalarsResolveLikePyYAML(_ text: String, _ expected: JSON) throws {
        let value = try #require(try YAML.load(text))
        #expect(value["a"] == expected, "\(text)")
    }

    @Test func infinityAndNaN() throws {
        let value = try #require(try YAML.load("a: .inf\nb: -.Inf\nc: .nan\n"))
        #expect(value["a"] == .double(.infinity))
        #expect(value["b"] == .double(-.infinity))
        guard case .double(let nan)? = value["c"] else { Issue.record("c is not a float"); return }
        #expect(nan.isNaN)
    }

    @Test func mappingsKeepDocumentOrderAndNestedStructure() throws {
        let text = """
            zeta: 1
            alpha:
              - x
              - {b: 2, a: [1, 2]}
            mid: |
              line one
              line two
            """
        let value = try #require(try YAML.load(text))
        #expect(value.objectValue?.map(\.key) == ["zeta", "alpha", "mid"])
        #expect(value["alpha"] == .array([.string("x"), .object(JSONObject([("b", .int(2)), ("a", .array([.int(1), .int(2)]))]))]))
        // The text ends without a newline, so the kept block has none at its end either (as in PyYAML).
        #expect(value["mid"] == .string("line one\nline two"))
        #expect(try YAML.load("mid: |\n  line one\n  line two\nnext: 1\n")?["mid"] == .string("line one\nline two\n"))
    }

    @Test func aliasesRepeatTheAnchoredNode() throws {
        let value = try #require(try YAML.load("base: &b {x: 1}\ncopy: *b\n"))
        #expect(value["copy"] == value["base"])
        #expect(value["copy"]?["x"] == .int(1))
    }

    @Test func nodesCarryOneBasedPositionsAndStyles() throws {
        let root = try #require(try YAML.compose("version: 1\ngrants:\n  - id: 'a b'\n    to: user:x\n"))
        let mapping = try #require(root.mapping)
        #expect(mapping.map { $0.key.string } == ["version", "grants"])
        #expect(mapping[0].value.int == 1)
        let grant = try #require(mapping[1].value.sequence?.first?.mapping)
        let id = grant[0].value
        #expect(id.string == "a b")
        #expect(id.scalar?.style == .singleQuoted)
        #expect(id.mark == YAMLMark(line: 3, column: 9))
        #expect(grant[1].key.mark == YAMLMark(line: 4, column: 5))
        #expect(grant[1].value.bool == nil)
    }

    @Test func anEmptyStreamIsNil() throws {
        #expect(try YAML.compose("") == nil)
        #expect(try YAML.load("# only a comment\n") == nil)
    }

    @Test(arguments: [
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n  permissions: SELECT\n", 5, 3),
        ("a: [1, 2\n", 2, 1),
        ("a: 'unterminated\n", 2, 1),
        ("a: *nowhere\n", 1, 4),
        ("\tkey: 1\n", 1, 1),
    ])
    func malformedTextSaysWhere(_ text: String, _ line: Int, _ column: Int) {
        do {
            _ = try YAML.compose(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.mark == YAMLMark(line: line, column: column), "\(text): \(error)")
            #expect(!error.problem.isEmpty)
            #expect(error.description.contains("line \(line)"))
        }
    }

    @Test func aSecondDocumentIsRefused() {
        #expect(throws: YAMLError.self) { try YAML.compose("a: 1\n---\nb: 2\n") }
    }

    @Test func dumpWritesBlockStyleLikePyYAMLSafeDump() throws {
        // What jupytext writes in a percent script's header (yaml.safe_dump, default_flow_style=False).
        let header: JSON = [
            "jupyter": [
                "jupytext": [
                    "text_representation": [
                        "extension": ".py", "format_name": "percent", "format_version": "1.3", "jupytext_version": "1.19.6",
                    ]
                ],
                "kernelspec": ["display_name": "Python 3", "language": "python", "name": "python3"],
            ]
        ]
        let text = try YAML.dump(header)
        #expect(
            text == """
                jupyter:
                  jupytext:
                    text_representation:
                      extension: .py
                      format_name: percent
                      format_version: '1.3'
                      jupytext_version: 1.19.6
                  kernelspec:
                    display_name: Python 3
                    language: python
                    name: python3

                """)
    }

    @Test func dumpQuotesStringsThatWouldReadBackAsSomethingElse() throws {
        let value: JSON = [
            "s": ["yes", "1", "", "null", "1.5", "plain text", "ünïcode", "a: b", "- x"], "n": .null, "t": true, "i": 3, "d": 2.5,
            "empty_list": [], "empty_map": [:],
        ]
        let text = try YAML.dump(value, sortKeys: true)
        #expect(text.hasPrefix("d: 2.5\nempty_list: []\nempty_map: {}\ni: 3\nn: null\ns:\n- 'yes'\n- '1'\n- ''\n- 'null'\n- '1.5'\n- plain text\n- ünïcode\n"))
        #expect(try YAML.load(text) == JSON.object(JSONObject(value.objectValue!.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })))
    }
}
