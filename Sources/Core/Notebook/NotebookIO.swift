public import CoreSupport

/// Why a notebook could not be read or written, and where.
public struct NotebookError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case notJSON
        case notANotebook
        case unsupportedVersion
        case io
    }

    public var code: Code
    /// The file, when there is one.
    public var path: String?
    public var message: String

    public init(_ code: Code, _ message: String, path: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
    }

    public var description: String {
        if let path { return "\(path): \(message)" }
        return message
    }
}

extension Notebook {
    /// Reads a notebook file (`.ipynb`, a percent-format `.py` script, or Jupytext Markdown `.md`).
    public static func read(path: String) throws(NotebookError) -> Notebook {
        let bytes: [UInt8]
        do {
            bytes = try FileIO.read(path)
        } catch {
            throw NotebookError(.io, error.description)
        }
        do throws(NotebookError) {
            let ext = FilePath.pathExtension(path)
            if ext == "py" || ext == "md" {
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw NotebookError(.notANotebook, "the file is not valid UTF-8")
                }
                return ext == "py" ? try PercentScript.parse(text) : try MarkdownNotebook.parse(text)
            }
            return try Notebook(ipynb: bytes)
        } catch {
            var located = error
            located.path = path
            throw located
        }
    }

    /// Parses `.ipynb` JSON, rejoining split lines and dropping transient keys as `nbformat.read` does.
    public init(ipynb bytes: [UInt8]) throws(NotebookError) {
        let root: JSON
        do {
            // The lists of lines that `rejoin` joins below are read joined already (NotebookReader).
            root = try NotebookReader.parse(bytes)
        } catch {
            throw NotebookError(.notJSON, "not valid JSON at \(error)")
        }
        guard case .object(var top) = root else {
            throw NotebookError(.notANotebook, "the top level is a JSON \(root.typeName), not an object")
        }
        guard let major = top["nbformat"]?.intValue else {
            throw NotebookError(.notANotebook, "no \"nbformat\" version number at the top level")
        }
        guard major == 4 else {
            throw NotebookError(
                .unsupportedVersion,
                "nbformat \(major) is not supported; only version 4 notebooks are (convert with `jupyter nbconvert --to notebook`)")
        }
        guard top["nbformat_minor"]?.intValue != nil else {
            throw NotebookError(.notANotebook, "no \"nbformat_minor\" version number at the top level")
        }
        guard let rawCells = top["cells"]?.arrayValue else {
            throw NotebookError(.notANotebook, "no \"cells\" list at the top level")
        }
        top.removeValue(forKey: "cells")
        var cells: [Cell] = []
        cells.reserveCapacity(rawCells.count)
        for (index, raw) in rawCells.enumerated() {
            guard case .object(let object) = raw else {
                throw NotebookError(.notANotebook, "cell \(index + 1) is a JSON \(raw.typeName), not an object")
            }
            guard object["cell_type"]?.stringValue != nil else {
                throw NotebookError(.notANotebook, "cell \(index + 1) has no \"cell_type\"")
            }
            cells.append(Cell(json: NotebookLines.rejoin(cell: object)))
        }
        var notebook = Notebook(json: top, cells: cells)
        if top["metadata"]?.objectValue == nil {
            notebook.json["metadata"] = .object([:])
        }
        notebook.stripTransient()
        if notebook.hasCellIDs { notebook.ensureCellIDs() }
        self = notebook
    }

    /// Removes values that are never stored in files (as `nbformat` does on read and write).
    mutating func stripTransient() {
        var meta = metadata
        if meta["orig_nbformat"] != nil || meta["orig_nbformat_minor"] != nil || meta["signature"] != nil {
            meta["orig_nbformat"] = nil
            meta["orig_nbformat_minor"] = nil
            meta["signature"] = nil
            metadata = meta
        }
        for i in cells.indices where cells[i].json["metadata"]?["trusted"] != nil {
            var cellMeta = cells[i].metadata
            cellMeta["trusted"] = nil
            cells[i].metadata = cellMeta
        }
    }

    /// The notebook as a JSON value in file form (lines split, transient keys dropped).
    public func fileJSON() -> JSON {
        var copy = self
        copy.stripTransient()
        var top = copy.json
        top["cells"] = .array(copy.cells.map { .object(NotebookLines.split(cell: $0.json)) })
        return .object(top)
    }

    /// The file's bytes, identical to what `nbformat.write` writes.
    public func ipynbBytes() -> [UInt8] {
        var bytes = fileJSON().serializedBytes(.nbformat)
        bytes.append(0x0A)
        return bytes
    }

    /// Writes the notebook atomically; `.py` paths get the percent format, `.md` Jupytext's Markdown.
    public func write(path: String) throws(NotebookError) {
        let bytes: [UInt8]
        switch FilePath.pathExtension(path) {
        case "py": bytes = Array(PercentScript.render(self).utf8)
        case "md": bytes = Array(MarkdownNotebook.render(self).utf8)
        default:
            bytes = ipynbBytes()
        }
        do {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw NotebookError(.io, error.description, path: path)
        }
    }
}

/// nbformat's `rejoin_lines` and `split_lines`, exactly.
enum NotebookLines {
    static func isJSONMime(_ mime: String) -> Bool {
        mime == "application/json" || (mime.hasPrefix("application/") && mime.hasSuffix("+json"))
    }

    static let nonTextSplitMimes: Set<String> = ["application/javascript", "image/svg+xml"]

    static func rejoin(bundle: JSONObject) -> JSONObject {
        var bundle = bundle
        for (key, value) in bundle where !isJSONMime(key) {
            if case .array(let items) = value, items.allSatisfy({ $0.stringValue != nil }) {
                bundle[key] = .string(Cell.joinLines(value))
            }
        }
        return bundle
    }

    static func split(bundle: JSONObject) -> JSONObject {
        var bundle = bundle
        for (key, value) in bundle {
            if case .string(let s) = value, key.hasPrefix("text/") || nonTextSplitMimes.contains(key) {
                bundle[key] = .array(splitLines(s).map(JSON.string))
            }
        }
        return bundle
    }

    static func rejoin(cell: JSONObject) -> JSONObject {
        var cell = cell
        if case .array = cell["source"] { cell["source"] = .string(Cell.joinLines(cell["source"]!)) }
        if var attachments = cell["attachments"]?.objectValue {
            for (name, value) in attachments {
                if let bundle = value.objectValue { attachments[name] = .object(rejoin(bundle: bundle)) }
            }
            cell["attachments"] = .object(attachments)
        }
        if cell["cell_type"]?.stringValue == "code", let outputs = cell["outputs"]?.arrayValue {
            cell["outputs"] = .array(
                outputs.map { output in
                    guard var o = output.objectValue else { return output }
                    let type = o["output_type"]?.stringValue ?? ""
                    if type == "execute_result" || type == "display_data" {
                        if let data = o["data"]?.objectValue { o["data"] = .object(rejoin(bundle: data)) }
                    } else if !type.isEmpty, case .array = o["text"] {
                        o["text"] = .string(Cell.joinLines(o["text"]!))
                    }
                    return .object(o)
                })
        }
        return cell
    }

    static func split(cell: JSONObject) -> JSONObject {
        var cell = cell
        if case .string(let s) = cell["source"] { cell["source"] = .array(splitLines(s).map(JSON.string)) }
        if var attachments = cell["attachments"]?.objectValue {
            for (name, value) in attachments {
                if let bundle = value.objectValue { attachments[name] = .object(split(bundle: bundle)) }
            }
            cell["attachments"] = .object(attachments)
        }
        if cell["cell_type"]?.stringValue == "code", let outputs = cell["outputs"]?.arrayValue {
            cell["outputs"] = .array(
                outputs.map { output in
                    guard var o = output.objectValue else { return output }
                    let type = o["output_type"]?.stringValue ?? ""
                    if type == "execute_result" || type == "display_data" {
                        if let data = o["data"]?.objectValue { o["data"] = .object(split(bundle: data)) }
                    } else if type == "stream", case .string(let s) = o["text"] {
                        o["text"] = .array(splitLines(s).map(JSON.string))
                    }
                    return .object(o)
                })
        }
        return cell
    }

    /// Python's `str.splitlines(keepends=True)`.
    static func splitLines(_ s: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var iterator = s.unicodeScalars.makeIterator()
        var pending = iterator.next()
        while let scalar = pending {
            pending = iterator.next()
            current.append(scalar)
            switch scalar.value {
            case 0x0D:
                if let next = pending, next.value == 0x0A {
                    current.append(next)
                    pending = iterator.next()
                }
                lines.append(String(current))
                current = String.UnicodeScalarView()
            case 0x0A, 0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                lines.append(String(current))
                current = String.UnicodeScalarView()
            default:
                break
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }
}
