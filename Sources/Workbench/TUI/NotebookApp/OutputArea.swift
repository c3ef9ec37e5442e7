internal import CoreSupport
public import Notebook

/// The lines a cell's outputs show, kept up to date cheaply while output streams in.
///
/// Each output is one block of sanitized lines. A stream that keeps growing is fed to its own
/// `OutputSanitizer` chunk by chunk, so a cell printing 100,000 lines costs only the new text
/// per frame, never a re-layout of everything printed so far.
///
/// An area can be made lazily (`lazily: true`): its outputs then wait unlaid-out, each with the
/// lines it is expected to take (counted from the text's newlines, or read from a PNG's header
/// without decoding the picture), until `layOut()` lays them out, which the notebook does only
/// for cells that come near the screen. So opening a notebook of 5 MB of logs costs a scan
/// for newlines, not the sanitizing of every line.
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
        /// An output not laid out yet; `estimate` holds the lines it is expected to take.
        var pending: Output?
        /// The lines a pending output is expected to take (exact for plain text and images, close for the rest).
        var estimate = 0
        /// A pending PNG's size from its header, for laying it out anew for another image layout.
        var pendingImage: Size?
        /// Whether a pending output's estimate depends on the width (Markdown).
        var pendingWrap = false

        /// How many lines the block shows (expects to show, while pending).
        var count: Int {
            if pending != nil { return estimate }
            if let table { return table.lineCount }
            if image != nil { return imageRows }
            guard let stream else { return lines.count }
            return stream.finishedLines.count + (stream.currentLine.isEmpty ? 0 : 1)
        }

        /// Line `index` of the block, for an area `width` columns wide (the block must be laid out).
        func line(_ index: Int, width: Int) -> [Span] {
            if let table { return table.line(index, width: width) }
            if let image { return index == 0 ? [Span(image.label, style: NotebookView.placeholderStyle)] : [] }
            guard let stream else { return index < lines.count ? lines[index] : [] }
            return index < stream.finishedLines.count ? stream.finishedLines[index] : stream.currentLine
        }
    }

    private(set) var blocks: [Block] = []

    /// The lines of all outputs together (with pending outputs counted by their estimates).
    public private(set) var lineCount = 0

    /// How many blocks wait to be laid out.
    private var pendingBlocks = 0

    /// How images are laid out: placeholders, or pictures some rows high.
    public private(set) var imageLayout: ImageLayout

    /// The columns Markdown is wrapped to.
    public private(set) var width: Int

    /// An area showing `outputs`, images laid out by `images`, Markdown wrapped to `width` columns;
    /// `lazily`, the outputs wait for `layOut()` with estimated line counts.
    public init(outputs: [Output] = [], images: ImageLayout = .placeholders, width: Int = 77, lazily: Bool = false) {
        imageLayout = images
        self.width = max(1, width)
        if lazily {
            blocks = outputs.map { Self.pendingBlock($0, images: images, width: self.width) }
            pendingBlocks = blocks.count
            recount()
        } else {
            rebuild(outputs)
        }
    }

    /// Whether every output is laid out (line counts exact, lines ready to draw).
    public var isLaidOut: Bool { pendingBlocks == 0 }

    /// Lays out the outputs still pending.
    public mutating func layOut() {
        guard pendingBlocks > 0 else { return }
        for i in blocks.indices {
            if let output = blocks[i].pending { blocks[i] = Self.block(output, images: imageLayout, width: width) }
        }
        pendingBlocks = 0
        recount()
    }

    /// This area laid out (itself when it already is).
    public func laidOut() -> OutputArea {
        var area = self
        area.layOut()
        return area
    }

    /// Lays out `outputs` from scratch.
    public mutating func rebuild(_ outputs: [Output]) {
        blocks = outputs.map { Self.block($0, images: imageLayout, width: width) }
        pendingBlocks = 0
        recount()
    }

    private mutating func recount() {
        lineCount = blocks.reduce(0) { $0 + $1.count }
    }

    /// Wraps Markdown outputs anew for an area `width` columns wide.
    public mutating func setWidth(_ width: Int) {
        let width = max(1, width)
        guard width != self.width else { return }
        self.width = width
        for i in blocks.indices {
            if let markdown = blocks[i].markdown { blocks[i].lines = markdown.lines(width: width) }
            if blocks[i].pendingWrap, let output = blocks[i].pending { blocks[i] = Self.pendingBlock(output, images: imageLayout, width: width) }
        }
        recount()
    }

    /// Lays images out anew for a terminal that shows them as `images`.
    public mutating func setImageLayout(_ images: ImageLayout) {
        guard images != imageLayout else { return }
        imageLayout = images
        for i in blocks.indices {
            if let image = blocks[i].image { blocks[i].imageRows = images.rows(for: image) }
            if let size = blocks[i].pendingImage { blocks[i].estimate = images.rows(pixelWidth: size.width, pixelHeight: size.height) }
        }
        recount()
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
        layOut()
        guard let last = blocks.indices.last, blocks[last].streamName == name, blocks[last].stream != nil else { return false }
        let before = blocks[last].count
        blocks[last].stream!.feed(text)
        lineCount += blocks[last].count - before
        return true
    }

    /// The lines from `start` (at most `count` of them), tables drawn for `width` columns.
    ///
    /// Pending outputs are laid out for the call (and thrown away): lay the area out first to draw it repeatedly.
    public func lines(from start: Int, count: Int, width: Int = 80) -> [[Span]] {
        guard isLaidOut else { return laidOut().lines(from: start, count: count, width: width) }
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

    /// A block for `output` that waits to be laid out, with the lines it is expected to take.
    ///
    /// The choice follows `block(_:images:width:)`, without its work: text is counted by its
    /// newlines, a PNG's rows come from the 24 bytes of its header, Markdown and tables are estimated.
    static func pendingBlock(_ output: Output, images: ImageLayout, width: Int) -> Block {
        var block = Block(pending: output)
        if output.outputType == "stream" {
            block.estimate = countLines(output.text ?? "")
            return block
        }
        if output.outputType == "error" {
            block.estimate = max(1, countLines(output.traceback.joined(separator: "\n")))
            return block
        }
        guard let data = output.data else {
            block.estimate = 1
            return block
        }
        if let png = data["image/png"], let size = TerminalImage.pngSize(base64: NotebookView.joinLines(png)) {
            block.pendingImage = size
            block.estimate = images.rows(pixelWidth: size.width, pixelHeight: size.height)
            return block
        }
        let noImages = data.keys.allSatisfy { !$0.hasPrefix("image/") }
        if noImages, let source = data["text/markdown"] {
            block.pendingWrap = true
            block.estimate = MarkdownDocument.estimatedLines(NotebookView.joinLines(source), width: width)
            return block
        }
        if noImages, let html = data["text/html"].map(NotebookView.joinLines), html.contains("<table") {
            // A header, a rule and a line a row (notes around a table are not counted).
            block.estimate = max(1, Self.count(of: Array("<tr".utf8), in: html) + 1)
            return block
        }
        if let plain = data["text/plain"] {
            block.estimate = max(1, countLines(NotebookView.joinLines(plain)))
            return block
        }
        block.estimate = 1
        return block
    }

    /// How many times `needle` occurs in `text` (as bytes).
    static func count(of needle: [UInt8], in text: String) -> Int {
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.count >= needle.count, let first = needle.first else { return 0 }
            var n = 0
            var i = 0
            while i <= bytes.count - needle.count {
                if bytes[i] == first && (1..<needle.count).allSatisfy({ bytes[i + $0] == needle[$0] }) {
                    n += 1
                    i += needle.count
                } else {
                    i += 1
                }
            }
            return n
        }
    }

    /// The lines `text` shows once sanitized, counted by its newlines (exact unless it has control
    /// characters that edit lines, such as `\r`, or a line over 65,536 columns).
    static func countLines(_ text: String) -> Int {
        var text = text
        let (newlines, endsOpen) = text.withUTF8 { bytes -> (Int, Bool) in
            var n = 0
            for byte in bytes where byte == 0x0A { n += 1 }
            return (n, bytes.last.map { $0 != 0x0A } ?? false)
        }
        return newlines + (endsOpen ? 1 : 0)
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
