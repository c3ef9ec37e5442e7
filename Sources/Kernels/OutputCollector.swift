import CoreSupport
public import Notebook

/// Turns IOPub messages into nbformat outputs, as JupyterLab and nbclient do.
///
/// Consecutive stream text of the same name is merged, `clear_output(wait)`
/// clears at the next output, and `update_display_data` replaces the outputs
/// carrying the same `display_id`.
///
/// A stream that keeps growing (a cell printing 100,000 lines) is held as `GrowingText` and joined
/// only when `outputs` is read, so applying a chunk costs the chunk, not the text printed so far,
/// even while copies of the collector (in earlier states of a value-typed UI) share its storage.
public struct OutputCollector: Sendable {
    /// The outputs before the open stream (all of them when there is none).
    private var settled: [Output] = []
    /// The last output while it is a stream that may grow: its JSON (text left out) and its text.
    private var openStream: (output: Output, name: String, text: GrowingText)?
    private var clearPending = false
    /// Output indexes by display id.
    private var displays: [String: [Int]] = [:]

    public init() {}

    /// A collector that continues `outputs` (a cell's outputs so far; stream text merges into the last one).
    public init(outputs: [Output]) {
        settled = outputs
        if let last = settled.last, last.outputType == "stream" {
            settled.removeLast()
            openStream = (last, last.streamName ?? "stdout", GrowingText(last.text ?? ""))
        }
    }

    /// The outputs so far, as nbformat outputs (the growing stream's text joined: O(text)).
    public var outputs: [Output] {
        guard let open = openStream else { return settled }
        var stream = open.output
        stream.text = open.text.string
        return settled + [stream]
    }

    /// How many outputs there are (cheap, unlike `outputs`).
    public var count: Int { settled.count + (openStream == nil ? 0 : 1) }

    /// Applies one IOPub message; returns whether the outputs changed.
    @discardableResult
    public mutating func apply(_ message: KernelMessage) -> Bool {
        let content = message.content
        switch message.msgType {
        case "stream":
            flushClear()
            let name = content["name"]?.stringValue ?? "stdout"
            let text = content["text"]?.stringValue ?? ""
            if openStream?.name == name {
                openStream!.text.append(text)
            } else {
                closeStream()
                openStream = (.stream(name: name, text: ""), name, GrowingText(text))
            }
            return true
        case "display_data", "execute_result":
            flushClear()
            closeStream()
            var json: JSONObject = [
                "output_type": .string(message.msgType), "data": .object(content["data"]?.objectValue ?? [:]),
                "metadata": .object(content["metadata"]?.objectValue ?? [:]),
            ]
            if message.msgType == "execute_result" { json["execution_count"] = content["execution_count"] ?? .null }
            settled.append(Output(json: json))
            if let id = content["transient"]?["display_id"]?.stringValue {
                displays[id, default: []].append(settled.count - 1)
            }
            return true
        case "update_display_data":
            guard let id = content["transient"]?["display_id"]?.stringValue, let indexes = displays[id] else { return false }
            // Display outputs are always settled: a stream opened after them sits at a higher index.
            for i in indexes where i < settled.count {
                settled[i].json["data"] = .object(content["data"]?.objectValue ?? [:])
                settled[i].json["metadata"] = .object(content["metadata"]?.objectValue ?? [:])
            }
            return true
        case "error":
            flushClear()
            closeStream()
            settled.append(
                .error(
                    name: content["ename"]?.stringValue ?? "Error", value: content["evalue"]?.stringValue ?? "",
                    traceback: content["traceback"]?.arrayValue?.compactMap(\.stringValue) ?? []))
            return true
        case "clear_output":
            if content["wait"]?.boolValue == true {
                clearPending = true
                return false
            }
            clearAll()
            return true
        default:
            return false
        }
    }

    /// Moves the open stream, if any, into the settled outputs (something else is appended after it).
    private mutating func closeStream() {
        guard let open = openStream else { return }
        var stream = open.output
        stream.text = open.text.string
        settled.append(stream)
        openStream = nil
    }

    private mutating func clearAll() {
        settled.removeAll()
        openStream = nil
        displays.removeAll()
        clearPending = false
    }

    private mutating func flushClear() {
        if clearPending { clearAll() }
    }
}

/// Text that only grows at its end, kept as sealed pieces plus an open tail.
///
/// Appending copies at most the tail (under 64 KiB) even when the value is shared with an older
/// copy, so a stream's cost per chunk does not grow with the text already printed.
public struct GrowingText: Sendable {
    /// Bytes after which the tail is sealed into `pieces`.
    static let pieceBytes = 1 << 16
    private var pieces: [String] = []
    private var tail: String
    /// The length in UTF-8 bytes.
    public private(set) var utf8Count: Int

    /// Text starting as `text`.
    public init(_ text: String = "") {
        tail = text
        utf8Count = text.utf8.count
    }

    /// Appends `text` at the end.
    public mutating func append(_ text: String) {
        tail += text
        utf8Count += text.utf8.count
        if tail.utf8.count >= Self.pieceBytes {
            pieces.append(tail)
            tail = ""
        }
    }

    /// The whole text (joins the pieces: O(length)).
    public var string: String {
        if pieces.isEmpty { return tail }
        var result = ""
        result.reserveCapacity(utf8Count)
        for piece in pieces { result += piece }
        result += tail
        return result
    }
}
