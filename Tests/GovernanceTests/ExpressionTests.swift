import Governance
import Testing

@Suite struct RowFilterGrammarTests {
    @Test(arguments: [
        ("region = 'EU'", "region = 'EU'"),
        ("region == 'EU' and amount >= 10", "region = 'EU' AND amount >= 10"),
        ("a <> 1 OR b != 2", "a <> 1 OR b <> 2"),
        ("NOT (a = 1 OR b = 2) AND c < 3", "NOT (a = 1 OR b = 2) AND c < 3"),
        ("(a = 1 or b = 2) and c < 3", "(a = 1 OR b = 2) AND c < 3"),
        ("country IN ('DE','FR', 'IT')", "country IN ('DE', 'FR', 'IT')"),
        ("country not in ('DE')", "country NOT IN ('DE')"),
        ("amount BETWEEN -5 AND 1e3", "amount BETWEEN -5 AND 1000.0"),
        ("amount NOT BETWEEN 0.5 AND 2", "amount NOT BETWEEN 0.5 AND 2"),
        ("name LIKE 'A%'", "name LIKE 'A%'"),
        ("name NOT LIKE '10!%' ESCAPE '!'", "name NOT LIKE '10!%' ESCAPE '!'"),
        ("deleted_at IS NULL", "deleted_at IS NULL"),
        ("deleted_at is not null", "deleted_at IS NOT NULL"),
        ("owner = CURRENT_USER", "owner = CURRENT_USER"),
        ("\"select\" = 'x''s'", "\"select\" = 'x''s'"),
        ("\"two words\" = 1", "\"two words\" = 1"),
        ("TRUE", "TRUE"),
        ("flag = TRUE AND x IS NULL", "flag = TRUE AND x IS NULL"),
        ("a = 1 AND b = 2 AND c = 3 OR d = 4", "a = 1 AND b = 2 AND c = 3 OR d = 4"),
    ])
    func parsesAndPrintsCanonically(_ input: String, _ canonical: String) throws {
        let predicate = try RowPredicate.parse(input)
        #expect(predicate.description == canonical)
        // The canonical text parses back to the same tree.
        #expect(try RowPredicate.parse(canonical) == predicate)
    }

    @Test func precedenceIsNotOverAndOverOr() throws {
        let p = try RowPredicate.parse("NOT a = 1 AND b = 2 OR c = 3")
        guard case .or(let terms) = p, case .and(let conj) = terms[0], case .not = conj[0] else {
            Issue.record("unexpected tree \(p)")
            return
        }
        #expect(terms.count == 2)
    }

    @Test func listsTheColumnsItReads() throws {
        let p = try RowPredicate.parse("a = b AND c IN (1, d) AND a LIKE 'x%'")
        #expect(p.columns.map(\.name) == ["a", "b", "c", "d"])
    }

    @Test(arguments: [
        ("", 1, "empty"),
        ("region = ", 10, "expected a column or a value"),
        ("region = 'EU", 10, "unterminated string"),
        ("a = 1; DROP TABLE x", 6, "unexpected character ';'"),
        ("a = 1 AND", 10, "expected a column or a value"),
        ("a == (SELECT 1)", 6, "parentheses group conditions"),
        ("upper(a) = 'X'", 6, "expected a comparison"),
        ("a NOT = 1", 7, "expected IN, BETWEEN or LIKE after NOT"),
        ("a LIKE b", 8, "LIKE needs a string pattern"),
        ("a LIKE 'x!' ESCAPE '!'", 8, "ends with its escape character"),
        ("a LIKE 'x' ESCAPE '!!'", 19, "one-character string"),
        ("a = 99999999999999999999", 5, "does not fit in 64 bits"),
        ("a = 12abc", 5, "malformed number"),
        ("(a = 1", 7, "expected ')'"),
        ("a = 1)", 6, "unexpected ')'"),
        ("a IN ()", 7, "expected a column or a value"),
        ("\"\" = 1", 1, "empty quoted name"),
        ("AND = 1", 1, "expected a column or a value but found AND"),
    ])
    func rejectsBadFiltersSayingWhere(_ input: String, _ column: Int, _ message: String) {
        do {
            let p = try RowPredicate.parse(input)
            Issue.record("parsed '\(input)' as \(p)")
        } catch {
            #expect(error.code == .invalidExpression)
            #expect(error.location?.column == column, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }
}

@Suite struct MaskExpressionTests {
    @Test func parsesAllowedFunctions() throws {
        let e = try ValueExpression.parse("substr(email, 1, 2) || '***' || lower(\"email\")")
        #expect(e.columns.map(\.name) == ["email"])
        #expect(e.description == "((substr(email, 1, 2) || '***') || lower(email))")
    }

    @Test func arithmeticAndNegation() throws {
        let e = try ValueExpression.parse("-(salary / 1000) * 1000 + 0")
        #expect(e.description == "((-(salary / 1000) * 1000) + 0)")
    }

    @Test(arguments: [
        ("abs(x)", "function 'abs' is not allowed"),
        ("load_extension('x')", "function 'load_extension' is not allowed"),
        ("substr(x)", "substr takes 2 to 3 arguments, not 1"),
        ("x ||", "expected a value"),
        ("(SELECT x)", "expected ')'"),
    ])
    func rejects(_ input: String, _ message: String) {
        #expect {
            try ValueExpression.parse(input)
        } throws: { error in
            (error as? GovernanceError)?.message.contains(message) == true
        }
    }
}
