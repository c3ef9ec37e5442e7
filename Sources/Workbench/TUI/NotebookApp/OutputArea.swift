internal import CoreSupport
public import Notebook

/// The lines a cell's outputs show, kept up to date cheaply while output streams in.
///
/// Each output is one block of sanitized lines. A stream that keeps growing is fed to its own
/// `OutputSanitizer` chunk by chunk, so a cell printing 100,000 lines costs only the new text
/// per frame, never a re-layout of everything printed so far.
public struct OutputArea: Sendable {
    /// One output's lines.
    struct Block: Sendable {
        /// The lines of a non-stream output.
        var lines: [[Span]] = []
        /// A stream output's sanitizer, which holds its lines.
        var stream: OutputSanitizer?
        /// The stream's name (`stdout`, `stderr`), for deciding whether new text continues it.
        var streamName: String?

        /// How many lines the block shows.
        var count: Int {
            guard let stream else { return lines.count }
            return stream.finishedLines.count + (stream.currentLine.isEmpty ? 0 : 1)
        }

        /// Line `index` of the block.
        func line(_ index: Int) -> [Span] {
            guard let stream else { return lines[index] }
            return index < stream.finishedLines.count ? stream.finishedLines[index] : stream.currentLine
        }
    }

    private(set) var blocks: [Block] = []

    /// The lines of all outputs together.
    public private(set) var lineCount = 0

    /// An area showing `outputs`.
    public init(outputs: [Output] = []) {
        rebuild(outputs)
    }

    /// Lays out `outputs` from scratch.
    public mutating func rebuild(_ outputs: [Output]) {
        blocks = outputs.map(Self.block)
        lineCount = blocks.reduce(0) { $0 + $1.count }
    }

    /// Appends stream text to the last block when it is the same stream; false when the caller must rebuild instead.
    public mutating func appendStream(name: String, text: String) -> Bool {
        guard let last = blocks.indices.last, blocks[last].streamName == name, blocks[last].stream != nil else { return false }
        let before = blocks[last].count
        blocks[last].stream!.feed(text)
        lineCount += blocks[last].count - before
        return true
    }

    /// The lines from `start` (at most `count` of them).
    public func lines(from start: Int, count: Int) -> [[Span]] {
        var result: [[Span]] = []
        guard count > 0 else { return result }
        var skip = max(0, start)
        for block in blocks {
            let n = block.count
            if skip >= n {
                skip -= n
                continue
            }
            for i in skip..<n {
                result.append(block.line(i))
                if result.count == count { return result }
            }
            skip = 0
        }
        return result
    }

    /// The lines of one output, sanitized; streams keep their sanitizer so they can grow.
    static func block(_ output: Output) -> Block {
        if output.outputType == "stream" {
            var sanitizer = OutputSanitizer()
            sanitizer.feed(output.text ?? "")
            return Block(stream: sanitizer, streamName: output.streamName ?? "stdout")
        }
        // Markdown (IPython's display(Markdown(...))) reads better as its source than as its repr.
        if let data = output.data, data.keys.allSatisfy({ !$0.hasPrefix("image/") }), let markdown = data["text/markdown"] {
            var lines = OutputSanitizer.sanitize(NotebookView.joinLines(markdown))
            if lines.last == [] { lines.removeLast() }
            return Block(lines: lines)
        }
        let lines = NotebookView.outputLines(output).compactMap { line -> [Span]? in
            if case .output(let spans) = line { return spans }
            return nil
        }
        return Block(lines: lines)
    }
}
