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
        /// An HTML table, drawn for the width at hand.
        var table: TextTable?
        /// A PNG: its label line, then (when drawn as a picture) blank lines it covers.
        var image: TerminalImage?
        /// The rows the image takes.
        var imageRows = 0
        /// Markdown, parsed; `lines` holds it laid out for the area's width.
        var markdown: MarkdownDocument?

        /// How many lines the block shows.
        var count: Int {
            if let table { return table.lineCount }
            if image != nil { return imageRows }
            guard let stream else { return lines.count }
            return stream.finishedLines.count + (stream.currentLine.isEmpty ? 0 : 1)
        }

        /// Line `index` of the block, for an area `width` columns wide.
        func line(_ index: Int, width: Int) -> [Span] {
            if let table { return table.line(index, width: width) }
            if let image { return index == 0 ? [Span(image.label, style: NotebookView.placeholderStyle)] : [] }
            guard let stream else { return lines[index] }
            return index < stream.finishedLines.count ? stream.finishedLines[index] : stream.currentLine
        }
    }

    private(set) var blocks: [Block] = []

    /// The lines of all outputs together.
    public private(set) var lineCount = 0

    /// How images are laid out: placeholders, or pictures some rows high.
    public private(set) var imageLayout: ImageLayout

    /// The columns Markdown is wrapped to.
    public private(set) var width: Int

    /// An area showing `outputs`, images laid out by `images`, Markdown wrapped to `width` columns.
    public init(outputs: [Output] = [], images: ImageLayout = .placeholders, width: Int = 77) {
        imageLayout = images
        self.width = max(1, width)
        rebuild(outputs)
    }

    /// Lays out `outputs` from scratch.
    public mutating func rebuild(_ outputs: [Output]) {
        blocks = outputs.map { Self.block($0, images: imageLayout, width: width) }
        lineCount = blocks.reduce(0) { $0 + $1.count }
    }

    /// Wraps Markdown outputs anew for an area `width` columns wide.
    public mutating func setWidth(_ width: Int) {
        let width = max(1, width)
        guard width != self.width else { return }
        self.width = width
        for i in blocks.indices {
            if let markdown = blocks[i].markdown { blocks[i].lines = markdown.lines(width: width) }
        }
        lineCount = blocks.reduce(0) { $0 + $1.count }
    }

    /// Lays images out anew for a terminal that shows them as `images`.
    public mutating func setImageLayout(_ images: ImageLayout) {
        guard images != imageLayout else { return }
        imageLayout = images
        for i in blocks.indices {
            if let image = blocks[i].image { blocks[i].imageRows = images.rows(for: image) }
        }
        lineCount = blocks.reduce(0) { $0 + $1.count }
    }

    /// The images among the lines from `start` (at most `count` of them): each with its first line and its rows.
    public func images(from start: Int, count: Int) -> [(line: Int, image: TerminalImage, rows: Int)] {
        var result: [(line: Int, image: TerminalImage, rows: Int)] = []
        var first = 0
        for block in blocks {
            let n = block.count
            if first >= start + count { break }
            if let image = block.image, first + n > start { result.append((first, image, n)) }
            first += n
        }
        return result
    }

    /// Appends stream text to the last block when it is the same stream; false when the caller must rebuild instead.
    public mutating func appendStream(name: String, text: String) -> Bool {
        guard let last = blocks.indices.last, blocks[last].streamName == name, blocks[last].stream != nil else { return false }
        let before = blocks[last].count
        blocks[last].stream!.feed(text)
        lineCount += blocks[last].count - before
        return true
    }

    /// The lines from `start` (at most `count` of them), tables drawn for `width` columns.
    public func lines(from start: Int, count: Int, width: Int = 80) -> [[Span]] {
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
                result.append(block.line(i, width: width))
                if result.count == count { return result }
            }
            skip = 0
        }
        return result
    }

    /// The lines of one output, sanitized; streams keep their sanitizer so they can grow.
    ///
    /// What shows, first match wins: a PNG (a picture, or its placeholder); Markdown rendered for
    /// `width` columns; an HTML table as an aligned text table; `text/plain`; other HTML with its
    /// tags stripped; a placeholder.
    static func block(_ output: Output, images: ImageLayout = .placeholders, width: Int = 77) -> Block {
        if output.outputType == "stream" {
            var sanitizer = OutputSanitizer()
            sanitizer.feed(output.text ?? "")
            return Block(stream: sanitizer, streamName: output.streamName ?? "stdout")
        }
        if let data = output.data, let png = data["image/png"], let image = TerminalImage(base64: NotebookView.joinLines(png)) {
            return Block(image: image, imageRows: images.rows(for: image))
        }
        // Markdown (IPython's display(Markdown(...))), rendered rather than shown as its repr.
        if let data = output.data, data.keys.allSatisfy({ !$0.hasPrefix("image/") }), let source = data["text/markdown"] {
            let markdown = MarkdownDocument(NotebookView.joinLines(source))
            return Block(lines: markdown.lines(width: width), markdown: markdown)
        }
        if let data = output.data, data.keys.allSatisfy({ !$0.hasPrefix("image/") }), let html = data["text/html"],
            let table = HTMLTable.parse(NotebookView.joinLines(html))
        {
            return Block(table: TextTable(table))
        }
        let lines = NotebookView.outputLines(output).compactMap { line -> [Span]? in
            if case .output(let spans) = line { return spans }
            return nil
        }
        return Block(lines: lines)
    }
}
