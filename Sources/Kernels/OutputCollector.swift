import CoreSupport
public import Notebook

/// Turns IOPub messages into nbformat outputs, as JupyterLab and nbclient do.
///
/// Consecutive stream text of the same name is merged, `clear_output(wait)`
/// clears at the next output, and `update_display_data` replaces the outputs
/// carrying the same `display_id`.
public struct OutputCollector: Sendable {
    public private(set) var outputs: [Output] = []
    private var clearPending = false
    /// Output indexes by display id.
    private var displays: [String: [Int]] = [:]

    public init() {}

    /// A collector that continues `outputs` (a cell's outputs so far; stream text merges into the last one).
    public init(outputs: [Output]) { self.outputs = outputs }

    /// Applies one IOPub message; returns whether the outputs changed.
    @discardableResult
    public mutating func apply(_ message: KernelMessage) -> Bool {
        let content = message.content
        switch message.msgType {
        case "stream":
            flushClear()
            let name = content["name"]?.stringValue ?? "stdout"
            let text = content["text"]?.stringValue ?? ""
            if let last = outputs.indices.last, outputs[last].outputType == "stream", outputs[last].streamName == name {
                outputs[last].text = (outputs[last].text ?? "") + text
            } else {
                outputs.append(.stream(name: name, text: text))
            }
            return true
        case "display_data", "execute_result":
            flushClear()
            var json: JSONObject = [
                "output_type": .string(message.msgType), "data": .object(content["data"]?.objectValue ?? [:]),
                "metadata": .object(content["metadata"]?.objectValue ?? [:]),
            ]
            if message.msgType == "execute_result" { json["execution_count"] = content["execution_count"] ?? .null }
            outputs.append(Output(json: json))
            if let id = content["transient"]?["display_id"]?.stringValue {
                displays[id, default: []].append(outputs.count - 1)
            }
            return true
        case "update_display_data":
            guard let id = content["transient"]?["display_id"]?.stringValue, let indexes = displays[id] else { return false }
            for i in indexes where i < outputs.count {
                outputs[i].json["data"] = .object(content["data"]?.objectValue ?? [:])
                outputs[i].json["metadata"] = .object(content["metadata"]?.objectValue ?? [:])
            }
            return true
        case "error":
            flushClear()
            outputs.append(
                .error(
                    name: content["ename"]?.stringValue ?? "Error", value: content["evalue"]?.stringValue ?? "",
                    traceback: content["traceback"]?.arrayValue?.compactMap(\.stringValue) ?? []))
            return true
        case "clear_output":
            if content["wait"]?.boolValue == true {
                clearPending = true
                return false
            }
            outputs.removeAll()
            displays.removeAll()
            clearPending = false
            return true
        default:
            return false
        }
    }

    private mutating func flushClear() {
        if clearPending {
            outputs.removeAll()
            displays.removeAll()
            clearPending = false
        }
    }
}
