import CoreSupport
import Notebook
import Testing

@testable import Kernels

/// The collector merges IOPub messages into nbformat outputs; a growing stream is appended in place.
@Suite("Output collector")
struct OutputCollectorTests {
    static func message(_ type: String, _ content: JSONObject) -> KernelMessage {
        KernelMessage(header: ["msg_type": .string(type)], content: content)
    }

    static func stream(_ text: String, name: String = "stdout") -> KernelMessage {
        message("stream", ["name": .string(name), "text": .string(text)])
    }

    static func display(_ text: String, id: String? = nil, update: Bool = false) -> KernelMessage {
        var content: JSONObject = ["data": ["text/plain": .string(text)], "metadata": [:]]
        if let id { content["transient"] = ["display_id": .string(id)] }
        return message(update ? "update_display_data" : "display_data", content)
    }

    @Test func aHundredThousandChunksMergeIntoOneStreamWithTheTextAsPrinted() {
        var collector = OutputCollector()
        var expected = ""
        // Older copies kept alive, as the UI's earlier states keep theirs, must not change what the collector holds.
        var earlier: [(collector: OutputCollector, text: String)] = []
        for i in 0..<100_000 {
            let text = i % 1000 == 999 ? "step \(i)\r" : "line \(i)\n"
            expected += text
            collector.apply(Self.stream(text))
            if i % 10_000 == 0 { earlier.append((collector, expected)) }
        }
        #expect(collector.count == 1)
        #expect(collector.outputs == [Output.stream(name: "stdout", text: expected)])
        for (copy, text) in earlier { #expect(copy.outputs.first?.text == text, "a copy keeps the text it had") }
    }

    @Test func streamsOfOtherNamesAndOtherOutputsStartNewOutputs() {
        var collector = OutputCollector()
        collector.apply(Self.stream("a\n"))
        collector.apply(Self.stream("b\n"))
        collector.apply(Self.stream("warn\n", name: "stderr"))
        collector.apply(Self.display("shown", id: "d1"))
        collector.apply(Self.stream("c\n"))
        collector.apply(Self.display("updated", id: "d1", update: true))
        collector.apply(Self.stream("d\n"))
        let outputs = collector.outputs
        #expect(outputs.map(\.outputType) == ["stream", "stream", "display_data", "stream"])
        #expect(outputs[0].text == "a\nb\n" && outputs[1].streamName == "stderr" && outputs[3].text == "c\nd\n")
        #expect(outputs[2].data?["text/plain"]?.stringValue == "updated", "update_display_data replaces the display, not the stream after it")
        #expect(collector.count == 4)
    }

    @Test func clearOutputWaitClearsAnOpenStreamAtTheNextOutput() {
        var collector = OutputCollector()
        collector.apply(Self.stream("old 1\n"))
        collector.apply(Self.stream("old 2\n"))
        let changed = collector.apply(Self.message("clear_output", ["wait": true]))
        #expect(!changed)
        #expect(collector.outputs.first?.text == "old 1\nold 2\n", "waiting: the old output stays until something new comes")
        collector.apply(Self.stream("new\n"))
        #expect(collector.outputs == [Output.stream(name: "stdout", text: "new\n")])
        collector.apply(Self.message("clear_output", ["wait": false]))
        #expect(collector.outputs.isEmpty && collector.count == 0)
    }

    @Test func aCollectorContinuingSavedOutputsAppendsToTheirLastStream() {
        var saved = Output.stream(name: "stdout", text: "before\n")
        saved.json["metadata"] = ["kept": true]
        var collector = OutputCollector(outputs: [Output(json: ["output_type": "error", "ename": "E", "evalue": "", "traceback": []]), saved])
        collector.apply(Self.stream("after\n"))
        let outputs = collector.outputs
        #expect(outputs.count == 2 && outputs[1].text == "before\nafter\n")
        #expect(outputs[1].json["metadata"]?["kept"]?.boolValue == true, "the stream's other keys are kept")
    }

    @Test func growingTextJoinsItsPiecesInOrder() {
        var text = GrowingText("start|")
        var expected = "start|"
        for i in 0..<20_000 {
            let piece = "piece \(i) é 名|"
            text.append(piece)
            expected += piece
        }
        #expect(text.string == expected)
        #expect(text.utf8Count == expected.utf8.count)
    }
}
