import CoreSupport
import Foundation
import Notebook
import TestSupport
import Testing

@testable import TUI

/// Whole-screen snapshots of the notebook app, kept as text files in Fixtures/snapshots.
///
/// A missing file is written and the test fails so that it gets looked at; `WB_RECORD_SNAPSHOTS=1`
/// rewrites every snapshot (then review the diff with git before committing).
@Suite("Outputs: screen snapshots", .serialized)
struct OutputSnapshotTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/snapshots")

    /// Compares `screen` with the snapshot `name`, each row ending in `|` so trailing spaces show.
    static func check(_ screen: [String], _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let text = screen.map { $0 + "|" }.joined(separator: "\n") + "\n"
        let url = folder.appendingPathComponent(name + ".txt")
        let record = ProcessInfo.processInfo.environment["WB_RECORD_SNAPSHOTS"] == "1"
        guard !record, let saved = try? String(contentsOf: url, encoding: .utf8) else {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
            if !record { Issue.record("snapshot \(name) was missing and has been written: review it", sourceLocation: sourceLocation) }
            return
        }
        if saved != text {
            let old = saved.split(separator: "\n", omittingEmptySubsequences: false)
            let new = text.split(separator: "\n", omittingEmptySubsequences: false)
            let first = (0..<min(old.count, new.count)).first { old[$0] != new[$0] } ?? min(old.count, new.count)
            Issue.record(
                """
                screen differs from snapshot \(name) from row \(first + 1):
                  saved: \(first < old.count ? String(old[first]) : "(none)")
                  now:   \(first < new.count ? String(new[first]) : "(none)")
                whole screen now:
                \(text)
                """, sourceLocation: sourceLocation)
        }
    }

    /// A notebook with one output of every kind; the table is real pandas HTML from the venv.
    static func notebook() throws -> Notebook {
        let html = try HTMLTableTests.pandasHTML(
            #"pd.DataFrame({"city": ["東京", "Paris", "São Paulo"], "country": ["Japan", "France", "Brazil"], "population": [13960000, 2161000, 12330000], "area_km2": [2194.1, 105.4, 1521.1]})"#)[0]
        let png = Data(try GraphicsTests.fixture("small.png")).base64EncodedString()
        func code(_ source: String, count: Int, _ outputs: [JSONObject]) -> NotebookCell {
            var cell = NotebookCell(.code, source: source, id: nil)
            cell.outputs = outputs.map(Output.init(json:))
            cell.executionCount = count
            return cell
        }
        let traceback = [
            "\u{1B}[31m---------------------------------------------------------------------------\u{1B}[39m",
            "\u{1B}[31mZeroDivisionError\u{1B}[39m                         Traceback (most recent call last)",
            "\u{1B}[36mCell\u{1B}[39m\u{1B}[36m \u{1B}[39m\u{1B}[32mIn[6]\u{1B}[39m\u{1B}[32m, line 1\u{1B}[39m",
            "\u{1B}[32m----> 1\u{1B}[39m \u{1B}[32m1\u{1B}[39m/\u{1B}[32m0\u{1B}[39m",
            "",
            "\u{1B}[31mZeroDivisionError\u{1B}[39m: division by zero",
        ]
        return Notebook(
            cells: [
                NotebookCell(.markdown, source: "# Every output\nOne of each kind.", id: nil),
                code(
                    "print('\\x1b[32mok\\x1b[0m 東京 🍣')", count: 1,
                    [
                        ["output_type": "stream", "name": "stdout", "text": "\u{1B}[32mok\u{1B}[0m 東京 🍣\n"],
                        ["output_type": "stream", "name": "stderr", "text": "\u{1B}[1;33mwarning:\u{1B}[0m slow\u{1B}]0;title\u{07}\n"],
                    ]),
                code(
                    "df", count: 2,
                    [["output_type": "execute_result", "execution_count": 2, "metadata": [:], "data": ["text/html": .string(html), "text/plain": "(repr)"]]]),
                code(
                    "Markdown('**bold** and `code`')", count: 3,
                    [
                        [
                            "output_type": "display_data", "metadata": [:],
                            "data": ["text/markdown": "**bold** and `code`", "text/plain": "<IPython.core.display.Markdown object>"],
                        ]
                    ]),
                code(
                    "plt.imshow(img)", count: 4,
                    [["output_type": "display_data", "metadata": [:], "data": ["image/png": .string(png), "text/plain": "<Figure size 3x7>"]]]),
                code(
                    "6 * 7", count: 5,
                    [["output_type": "execute_result", "execution_count": 5, "metadata": [:], "data": ["text/plain": "42"]]]),
                code(
                    "1/0", count: 6,
                    [["output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero", "traceback": .array(traceback.map(JSON.string))]]),
            ],
            metadata: ["kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"]])
    }

    static func render(_ notebook: Notebook, width: Int, height: Int) -> ScreenBuffer {
        var state = NotebookApp.State(notebook: notebook, path: "/tmp/outputs.ipynb", size: Size(width: width, height: height))
        state = NotebookApp.update(state, .tick(100))
        state = NotebookApp.update(state, .session(.kernelStatus(.idle)))
        var buffer = ScreenBuffer(size: state.size)
        NotebookApp.render(state, into: &buffer)
        return buffer
    }

    @Test func everyOutputKindAt80Columns() throws {
        let buffer = Self.render(try Self.notebook(), width: 80, height: 40)
        try Self.check(buffer.lines(), "every-output-kind-80x40")
        // What the text file cannot show: colours and styles survived, images stayed placeholders.
        let lines = buffer.lines()
        let ok = try #require(lines.firstIndex { $0.contains("ok 東京") })
        #expect(buffer[3, ok].style.foreground == .green)
        let warning = try #require(lines.firstIndex { $0.contains("warning:") })
        #expect(buffer[3, warning].style.foreground == .yellow && buffer[3, warning].style.attributes.contains(.bold))
        let zero = try #require(lines.lastIndex { $0.contains("ZeroDivisionError:") })
        #expect(buffer[3, zero].style.foreground == .red)
        let header = try #require(lines.firstIndex { $0.contains("population") })
        #expect(buffer[6, header].style.attributes.contains(.bold), "table header bold")
        #expect(buffer.graphics.isEmpty)
    }

    @Test func everyOutputKindOnANarrow40ColumnTerminal() throws {
        let buffer = Self.render(try Self.notebook(), width: 40, height: 40)
        try Self.check(buffer.lines(), "every-output-kind-40x40")
        #expect(buffer.lines().allSatisfy { DisplayWidth.of($0) == 40 }, "every row exactly fills the screen, wide characters included")
    }

    @Test func wideCharactersLineUp() throws {
        let html = try HTMLTableTests.pandasHTML(
            #"pd.DataFrame({"名前": ["寿司🍣", "ramen", "カレー"], "値段": [1200, 900, 850]}, index=["一", "二", "三"])"#)[0]
        var cell = NotebookCell(.code, source: "menu  # 東京の店 🍜", id: nil)
        cell.executionCount = 1
        cell.outputs = [
            Output(json: ["output_type": "stream", "name": "stdout", "text": "한국어 ｆｕｌｌ　ｗｉｄｔｈ e\u{301}\n"]),
            Output(json: ["output_type": "execute_result", "execution_count": 1, "metadata": [:], "data": ["text/html": .string(html), "text/plain": "(repr)"]]),
        ]
        let buffer = Self.render(Notebook(cells: [cell], metadata: [:]), width: 40, height: 12)
        try Self.check(buffer.lines(), "wide-characters-40x12")
        #expect(buffer.lines().allSatisfy { DisplayWidth.of($0) == 40 })
    }
}
