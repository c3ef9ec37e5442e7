import CoreSupport
import Foundation
import Notebook
import Testing
import TestSupport

/// The real notebooks in Fixtures/ (see Fixtures/README.md for how each was made).
enum Fixtures {
    static let directory: String = {
        let file = URL(fileURLWithPath: #filePath)
        return file.deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()

    static let all = [
        "rich_outputs.ipynb", "widgets.ipynb", "markdown_raw_attachments.ipynb", "text_edge_cases.ipynb",
        "single_string_sources.ipynb", "old_style_lists.ipynb", "v44_no_ids.ipynb", "v45_missing_ids.ipynb",
        "foreign_writer.ipynb", "jupytext_features.ipynb",
    ]

    /// Written by `nbformat.write`, so saving them unchanged must reproduce them byte for byte.
    static let canonical = [
        "rich_outputs.ipynb", "widgets.ipynb", "markdown_raw_attachments.ipynb", "text_edge_cases.ipynb",
        "v44_no_ids.ipynb", "jupytext_features.ipynb",
    ]

    static func path(_ name: String) -> String { directory + "/" + name }

    static func bytes(_ name: String) throws -> [UInt8] { try FileIO.read(path(name)) }

    static func notebook(_ name: String) throws -> Notebook { try Notebook.read(path: path(name)) }

    /// The file as plain JSON, before any notebook handling.
    static func raw(_ name: String) throws -> JSONObject {
        try #require(try JSON.parse(bytes(name)).objectValue)
    }
}

/// What the pinned nbformat says about wb's handling of one fixture.
struct NbformatCheck: Sendable {
    /// What wb writes for the fixture.
    var written: [UInt8]
    /// What `nbformat.read` + `nbformat.write` give for it, with wb's ids where nbformat had to make ids up.
    var expected: [UInt8]
    /// Cells whose ids nbformat made up (missing or repeated in the file).
    var madeUpIDs: [Int]
    /// `nbformat.validate` on wb's file, warnings included; nil when valid.
    var validationError: String?
    /// Where `nbformat.read(wb's file)` differs from `nbformat.read(fixture)`; nil when equal.
    var difference: String?

    private struct Report: Decodable {
        var made_up_ids: [Int]
        var validation_error: String?
        var difference: String?
    }

    static let script = """
        import json, sys, warnings
        import nbformat

        original_path, wb_path, expected_path = sys.argv[1:4]
        with open(original_path, encoding="utf-8") as f:
            original_raw = json.load(f)
        with open(wb_path, encoding="utf-8") as f:
            wb_text = f.read()
        wb_raw = json.loads(wb_text)

        def read(path):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # nbformat warns as it repairs missing or repeated ids
                return nbformat.read(path, as_version=nbformat.NO_CONVERT)

        reference = read(original_path)
        made_up = []
        for i, cell in enumerate(reference.cells):
            if "id" in cell and cell["id"] != original_raw["cells"][i].get("id"):
                cell["id"] = wb_raw["cells"][i]["id"]
                made_up.append(i)
        nbformat.write(reference, expected_path)

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                nbformat.validate(nbformat.from_dict(wb_raw))
            validation_error = None
        except Exception as e:
            validation_error = f"{type(e).__name__}: {e}"

        def first_difference(a, b, path="nb"):
            if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
                return f"{path}: {type(a).__name__} {a!r:.200} != {type(b).__name__} {b!r:.200}"
            if isinstance(a, dict):
                if set(a) != set(b):
                    return f"{path}: keys {sorted(set(a) ^ set(b))!r} differ"
                for k in a:
                    d = first_difference(a[k], b[k], f"{path}[{k!r}]")
                    if d:
                        return d
                return None
            if isinstance(a, list):
                if len(a) != len(b):
                    return f"{path}: lengths {len(a)} != {len(b)}"
                for i, (x, y) in enumerate(zip(a, b)):
                    d = first_difference(x, y, f"{path}[{i}]")
                    if d:
                        return d
                return None
            return None if a == b or (a != a and b != b) else f"{path}: {a!r:.200} != {b!r:.200}"

        back = read(wb_path)
        print(json.dumps({"made_up_ids": made_up, "validation_error": validation_error,
                          "difference": first_difference(reference, back)}))
        """

    static func run(_ name: String) throws -> NbformatCheck {
        let notebook = try Fixtures.notebook(name)
        let written = notebook.ipynbBytes()
        let dir = try Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let wbPath = dir + "/wb.ipynb", expectedPath = dir + "/expected.ipynb"
        try AtomicFile.write(written, to: wbPath)
        let output = try Python.run(script, arguments: [Fixtures.path(name), wbPath, expectedPath])
        let report = try JSONDecoder().decode(Report.self, from: Data(output))
        return NbformatCheck(
            written: written, expected: try FileIO.read(expectedPath), madeUpIDs: report.made_up_ids,
            validationError: report.validation_error, difference: report.difference)
    }
}

/// Runs the nbformat check once per fixture, shared by the tests that look at it.
actor NbformatChecks {
    static let shared = NbformatChecks()
    private var tasks: [String: Task<NbformatCheck, any Error>] = [:]

    func check(_ name: String) async throws -> NbformatCheck {
        if let task = tasks[name] { return try await task.value }
        let task = Task.detached { try NbformatCheck.run(name) }
        tasks[name] = task
        return try await task.value
    }
}

/// The first line where two texts differ, for readable failures.
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String {
    let left = String(decoding: a, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    let right = String(decoding: b, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    for i in 0..<max(left.count, right.count) {
        let l = i < left.count ? String(left[i]) : "<end>"
        let r = i < right.count ? String(right[i]) : "<end>"
        if l.unicodeScalars.elementsEqual(r.unicodeScalars) { continue }
        return "line \(i + 1):\n  wb:       \(l.debugDescription)\n  nbformat: \(r.debugDescription)"
    }
    return "no line differs (sizes \(a.count) and \(b.count))"
}
