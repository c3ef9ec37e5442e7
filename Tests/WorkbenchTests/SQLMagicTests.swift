import CoreSupport
import Foundation
import Notebook
import TestSupport
import Testing

/// `%%sql` cells in the Python kernels wb starts: real ipykernel, real `wb sql`, a scratch domain per test.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct SQLMagicTests {
    /// A MIME bundle entry as one string (nbformat may store it as a list of lines).
    func text(_ value: JSON?) -> String {
        if let s = value?.stringValue { return s }
        return (value?.arrayValue ?? []).compactMap(\.stringValue).joined()
    }

    @Test func sqlCellsRenderAsTablesAndOutHandsADataFrameToPython() throws {
        let dir = WB.scratch("sql-magic")
        let home = FilePath.join(dir, "home")
        let input = try WB.notebook(
            [
                "%%sql\nCREATE TABLE sales.orders (id INTEGER PRIMARY KEY, customer TEXT, amount REAL)",
                "%%sql\nINSERT INTO sales.orders VALUES (1, 'ann', 9.5), (2, 'b<o>b', 3)",
                "%%sql\nSELECT customer, amount FROM sales.orders ORDER BY id",
                "%%sql --out df\nSELECT * FROM sales.orders ORDER BY id",
                "print(type(df).__name__, len(df), list(df.columns), df['amount'].sum())",
                "%%sql --as-of 1 --out empty\nSELECT * FROM sales.orders",
                "print(len(empty))",
            ], in: dir)
        let output = FilePath.join(dir, "out.ipynb")
        let result = try WB.run(["run", input, "-o", output, "--json"], environment: ["WB_HOME": home])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let cells = try Notebook.read(path: output).cells

        let created = try #require(cells[0].outputs.first { $0.outputType == "execute_result" }?.data)
        #expect(text(created["text/plain"]).contains("snapshot 1 of sales.orders: create"))
        let inserted = try #require(cells[1].outputs.first { $0.outputType == "execute_result" }?.data)
        #expect(text(inserted["text/plain"]).contains("snapshot 2 of sales.orders: append, 2 rows"))

        let table = try #require(cells[2].outputs.first { $0.outputType == "execute_result" }?.data)
        #expect(text(table["text/plain"]) == "customer | amount\n---------+-------\nann      |    9.5\nb<o>b    |    3.0\n(2 rows)")
        let html = text(table["text/html"])
        #expect(html.contains("<th>customer</th><th>amount</th>"))
        #expect(html.contains("<td style=\"text-align:left\">b&lt;o&gt;b</td>"))
        let resource = try #require(table["application/vnd.dataresource+json"])
        #expect(resource["schema"]?["fields"] == [["name": "customer", "type": "string"], ["name": "amount", "type": "number"]])
        #expect(resource["data"]?.arrayValue?[1] == ["customer": "b<o>b", "amount": 3.0])

        #expect(cells[3].outputs.first?.text == "df: 2 rows as a pandas DataFrame\n")
        #expect(cells[4].outputs.first?.text == "DataFrame 2 ['id', 'customer', 'amount'] 12.5\n")
        // Time travel in a cell: snapshot 1 is the table as created, before the rows came.
        #expect(cells[5].outputs.first?.text == "empty: 0 rows as a pandas DataFrame\n")
        #expect(cells[6].outputs.first?.text == "0\n")
    }

    @Test func aBadStatementIsAJupyterErrorNamingTheLine() throws {
        let dir = WB.scratch("sql-magic-error")
        let input = try WB.notebook(["%%sql\nSELECT 1,\n  FROM nowhere", "print('not reached')"], in: dir)
        let output = FilePath.join(dir, "out.ipynb")
        let result = try WB.run(["run", input, "-o", output], environment: ["WB_HOME": FilePath.join(dir, "home")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cell 1 raised WorkbenchSQLError"))
        let nb = try Notebook.read(path: output)
        let cell = try #require(nb.cells.first { $0.source.hasPrefix("%%sql") })
        let error = try #require(cell.outputs.first { $0.outputType == "error" })
        #expect(error.errorName == "WorkbenchSQLError")
        #expect(error.errorValue?.contains("(at line 2, column 3)") == true)
        #expect(error.errorValue?.contains("exited with code 1") == true)

        // Bad options are usage errors that say what is wrong.
        let usage = try WB.notebook(["%%sql --limit many\nSELECT 1"], in: dir, name: "usage.ipynb")
        let misused = try WB.run(["run", usage], environment: ["WB_HOME": FilePath.join(dir, "home")])
        #expect(misused.status == 1)
        #expect(misused.stderr.contains("UsageError"))
        #expect(misused.stderr.contains("--limit"))
    }

    @Test func theShippedExtensionIsTheOneWbCarries() throws {
        // scripts/embed-sql-magic copies Sources/Python/wb_sql/__init__.py into the binary; wb writes it to the domain.
        let dir = WB.scratch("sql-magic-file")
        let home = FilePath.join(dir, "home")
        let input = try WB.notebook(["import wb_sql, os; print(os.environ['WB_HOME'] == \(pythonString(home)), wb_sql.__file__)"], in: dir)
        let output = FilePath.join(dir, "out.ipynb")
        let result = try WB.run(["run", input, "-o", output], environment: ["WB_HOME": home])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let written = FilePath.join(home, "python", "wb_sql", "__init__.py")
        #expect(try Notebook.read(path: output).cells[0].outputs.first?.text == "True \(written)\n")
        let shipped = try FileIO.readText(FilePath.join(WB.root, "Sources", "Python", "wb_sql", "__init__.py"))
        #expect(try FileIO.readText(written) == shipped, "run scripts/embed-sql-magic after editing the extension")
    }

    @Test func aDomainThatCannotHoldTheExtensionMakesSQLCellsSayWhy() throws {
        let dir = WB.scratch("sql-magic-unwritable")
        let home = FilePath.join(dir, "home")
        try FileIO.createDirectory(home)
        try AtomicFile.write("not a folder", to: FilePath.join(home, "python"))
        let input = try WB.notebook(["print(6 * 7)", "%%sql\nSELECT 1"], in: dir)
        let output = FilePath.join(dir, "out.ipynb")
        let result = try WB.run(["run", input, "-o", output], environment: ["WB_HOME": home])
        #expect(result.status == 1)
        let cells = try Notebook.read(path: output).cells.filter { $0.kind == .code }
        #expect(cells[0].outputs.first?.text == "42\n")
        // IPython shows a UsageError as a line on stderr, and the cell fails.
        let why = "UsageError: %%sql is not available: wb cannot write its IPython extension under \(FilePath.join(home, "python"))"
        #expect(cells[1].outputs.first?.text?.hasPrefix(why) == true)
        #expect(result.stderr.contains("cell 2 raised UsageError"))
    }

    /// The lines a run logged for cell `number` (`wb run --log-output`), between its marker and the next.
    func logged(_ stderr: String, cell number: Int) -> [String] {
        var lines: [String] = []
        var inside = false
        for line in stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("--- cell ") {
                inside = line.hasPrefix("--- cell \(number) ")
                continue
            }
            if inside && !line.isEmpty && !line.hasPrefix("wb run: ") { lines.append(line) }
        }
        return lines
    }

    @Test func theTUIAndWbRunShowASQLResultTheSameWay() async throws {
        let sources = [
            "%%sql\nCREATE TABLE sales.orders (id INTEGER PRIMARY KEY, customer TEXT, amount REAL)",
            "%%sql\nINSERT INTO sales.orders VALUES (1, '東京', 9.5), (2, 'b<o>b', 3), (3, NULL, 120.25)",
            "%%sql\nSELECT customer, amount FROM sales.orders ORDER BY id",
        ]
        // wb run's log: each cell's outputs as text, the %%sql table as the TUI lays it out.
        let dir = WB.scratch("sql-magic-tui")
        let input = try WB.notebook(sources, in: dir)
        let result = try WB.run(
            ["run", input, "-o", FilePath.join(dir, "out.ipynb"), "--log-output"], environment: ["WB_HOME": FilePath.join(dir, "home-run"), "NO_COLOR": "1"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let expected = (1...3).map { logged(result.stderr, cell: $0) }
        #expect(expected[0] == ["created table sales.orders (3 columns)", "snapshot 1 of sales.orders: create, 0 rows"])
        #expect(expected[2] == ["customer  amount", "────────────────", "東京         9.5", "b<o>b        3.0", "NULL      120.25", "(3 rows)"])

        // The same cells run in the TUI (a domain of its own, so the snapshot ids match), in a real terminal.
        let tuiDir = WB.scratch("sql-magic-tui-open")
        let notebook = try WB.notebook(sources, in: tuiDir)
        let (tmux, _) = try await OpenTests.start(notebook, in: tuiDir, home: FilePath.join(tuiDir, "home"))
        defer { tmux.kill() }
        guard await OpenTests.wait(tmux, "the notebook", { $0.hasPrefix(" nb.ipynb  COMMAND") }) else { return }
        try await tmux.keys("F6")
        guard await OpenTests.wait(tmux, "the SELECT's rows", { $0.hasSuffix("(3 rows)") }) else { return }
        // Output lines start after the selection marker and the gutter (three columns).
        let screen = await tmux.screen().map { String($0.dropFirst(3)) }
        for line in expected.joined() {
            #expect(screen.contains(line), "\(line) on the TUI's screen as in wb run's log:\n\(screen.joined(separator: "\n"))")
        }
        let rule = try #require(screen.firstIndex(of: "────────────────"))
        #expect(Array(screen[(rule - 1)...(rule + 4)]) == expected[2], "the table's lines in the same order")
    }

    func pythonString(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "\\'") + "'" }
}
