import Foundation
import Governance
import Testing

@Suite struct PolicyFileTests {
    static let example = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Docs/examples/policies.yaml")

    @Test func theShippedExampleIsValid() throws {
        let text = try String(contentsOf: Self.example, encoding: .utf8)
        let policy = try PolicyFile.parse(text, file: "policies.yaml")
        #expect(policy.grants.count >= 6)
        #expect(!policy.roles.isEmpty && !policy.groups.isEmpty && !policy.tags.isEmpty)
        // Every kind of mask and a row filter appear in the example, so the guide walks through all of them.
        let masks = Set(policy.grants.flatMap(\.masks).map { "\($0.mask)".prefix(4) })
        #expect(masks.isSuperset(of: ["hash", "show", "reda", "date", "null", "expr"]))
        #expect(policy.grants.contains { $0.rows != nil })
        #expect(policy.grants.contains { $0.effect == .deny })
    }

    @Test func readsEveryPart() throws {
        let policy = try PolicyFile.parse(
            """
            version: 1
            groups:
              analysts: [alice, bob]
            roles:
              reader: {members: [group:analysts]}
              writer: {inherits: [reader], members: [user:carol]}
            tags:
              classification: [public, pii]
            grants:
              - id: g1
                to: role:reader
                permissions: SELECT
                on: {table: sales.orders}
                columns: {exclude: [card]}
                rows: "region = 'EU'"
                masks:
                  email: hash
                  phone: {show_last: 4}
                  born: date_to_year
                  notes: redact
                  nick: null
                  name: {expression: "substr(name, 1, 1) || '.'"}
                grant_option: true
              - id: g2
                effect: deny
                to: [user:bob]
                permissions: [ALL]
                on: {tags: {classification: [pii]}}
              - id: g3
                to: user:carol
                permissions: ["lakehouse:import", "experiments:*"]
            """, file: "p.yaml")
        #expect(policy.groups == ["analysts": ["alice", "bob"]])
        #expect(policy.roles["writer"] == Role(name: "writer", members: [Principal(.user, "carol")], inherits: ["reader"]))
        let g1 = policy.grants[0]
        #expect(g1.principals == [Principal(.role, "reader")])
        #expect(g1.permissions == [.data(.select)])
        #expect(g1.resource == .table(catalog: nil, database: "sales", name: "orders"))
        #expect(g1.columns == .exclude([ColumnRef("card")]))
        #expect(g1.rows?.description == "region = 'EU'")
        #expect(g1.masks.map(\.mask.description) == ["hash", "show_last(4)", "date_to_year", "redact", "null", "expression((substr(name, 1, 1) || '.'))"])
        #expect(g1.grantOption)
        #expect(g1.location?.line == 10)
        #expect(policy.grants[1].effect == .deny)
        #expect(policy.grants[1].permissions.count == DataPermission.allCases.count)
        #expect(policy.grants[2].permissions == [.action("lakehouse:import"), .action("experiments:*")])
        #expect(policy.grants[2].resource == .none)
    }

    /// Each bad file is refused with the line and column of the fault and a reason that names it.
    @Test(arguments: [
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permisions: [SELECT]\n", 5, 5, "unknown key 'permisions'"),
        ("version: 2\n", 1, 10, "reads policy version 1"),
        ("version: 1\ngrants:\n  - id: a\n    to: alice\n    permissions: SELECT\n    on: {table: a.b}\n", 4, 9, "user:NAME"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: [READ]\n    on: {table: a.b}\n", 5, 18, "unknown permission 'READ'"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: SELECT\n    on: {table: a.b}\n    rows: \"x = \"\n", 7, 16, "row filter: expected a column or a value"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: SELECT\n    on: {table: a.b}\n    rows: region = 'EU' OR\n", 7, 27, "row filter: expected a column or a value"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: SELECT\n    on: {table: abc}\n", 6, 17, "DB.TABLE"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: SELECT\n    on: {table: a.b, database: a}\n", 6, 9, "exactly one"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: SELECT\n    on: {table: a.b}\n    masks: {c: scramble}\n", 7, 16, "unknown mask 'scramble'"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: SELECT\n    on: {table: a.b}\n  - id: a\n    to: user:y\n    permissions: SELECT\n    on: {table: a.b}\n", 7, 5, "grant id 'a' is used twice"),
        ("version: 1\ngrants:\n  - id: a\n    to: group:ghosts\n    permissions: SELECT\n    on: {table: a.b}\n", 3, 5, "unknown group 'ghosts'"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: SELECT\n", 3, 5, "names no resource"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: SELECT\n    on: {database: a}\n    rows: \"x = 1\"\n", 3, 5, "need one table"),
        ("version: 1\ngrants:\n  - id: a\n    effect: deny\n    to: user:x\n    permissions: SELECT\n    on: {table: a.b}\n    masks: {c: hash}\n", 3, 5, "cannot have masks"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n    permissions: SELECT\n    on: {table: a.b}\n    masks: {c: {expression: \"d || c\"}}\n", 3, 5, "may read only that column, not 'd'"),
        ("version: 1\ntags: {k: [v]}\ngrants:\n  - id: a\n    to: user:x\n    permissions: SELECT\n    on: {tags: {k: [w]}}\n", 4, 5, "'w' is not a value of tag 'k'"),
        ("version: 1\ngrants:\n  - id: a\n    to: user:x\n  permissions: SELECT\n", 5, 3, "not valid YAML"),
        ("version: 1\ngrants: [{id: a, to: \"user:x\", permissions: SELECT, on: {table: \"a.b\"}, grant_option: maybe}]\n", 2, 87, "grant_option must be true or false"),
    ] as [(String, Int, Int, String)])
    func refusesBadFilesSayingWhere(_ text: String, _ line: Int, _ column: Int, _ reason: String) {
        do {
            _ = try PolicyFile.parse(text, file: "bad.yaml")
            Issue.record("accepted:\n\(text)")
        } catch {
            #expect(error.location?.file == "bad.yaml", "\(error)")
            #expect(error.location?.line == line, "\(error)")
            #expect(error.location?.column == column, "\(error)")
            #expect(error.message.contains(reason), "\(error)")
        }
    }

    @Test func refusesRoleCycles() {
        let text = """
            version: 1
            roles:
              a: {inherits: [b]}
              b: {inherits: [c]}
              c: {inherits: [a]}
            """
        #expect {
            try PolicyFile.parse(text)
        } throws: { error in
            guard let error = error as? GovernanceError else { return false }
            return error.code == .roleCycle && error.message.contains("a -> b -> c -> a")
        }
    }

    @Test func refusesAnEmptyFile() {
        #expect(throws: GovernanceError.self) { try PolicyFile.parse("") }
        #expect(throws: GovernanceError.self) { try PolicyFile.parse("# only a comment\n") }
    }

    @Test func renderedPoliciesReadBackTheSame() throws {
        let text = try String(contentsOf: Self.example, encoding: .utf8)
        let policy = try PolicyFile.parse(text, file: "policies.yaml")
        let rendered = PolicyFile.render(policy, header: "generated")
        let again = try PolicyFile.parse(rendered, file: "rendered")
        #expect(again == policy, "\(rendered)")
        // Awkward names and values survive quoting.
        let odd = Policy(
            groups: ["two words": ["o'brien", "null", "123"]],
            grants: [
                Grant(
                    id: "g-1", principals: [Principal(.group, "two words")], permissions: [.data(.select)],
                    resource: .table(catalog: nil, database: "sales db", name: "t:1"),
                    columns: .include([ColumnRef("a \"b\"")]), rows: try RowPredicate.parse("\"a \"\"b\"\"\" = 'x\\y' OR c IS NULL"),
                    masks: [ColumnMask(ColumnRef("a \"b\""), .showLast(2))])
            ])
        #expect(try PolicyFile.parse(PolicyFile.render(odd)) == odd, "\(PolicyFile.render(odd))")
    }
}
