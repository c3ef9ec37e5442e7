internal import CoreSupport
internal import Notebook

extension NotebookApp {
    /// The column cell text starts at: a selection marker, the gutter, a space.
    static let textX = 3

    static let ruleStyle = Style(foreground: .cyan)
    static let commandStyle = Style(foreground: .blue, attributes: .bold)
    static let editStyle = Style(foreground: .green, attributes: .bold)
    static let gutterStyle = Style(foreground: .ansi(8))
    static let noteStyle = Style(foreground: .ansi(8), attributes: .italic)
    static let errorStyle = Style(foreground: .red, attributes: .bold)
    static let statusStyle = Style(attributes: .reverse)
    static let deadStyle = Style(foreground: .white, background: .red, attributes: .bold)
    static let boxStyle = Style(foreground: .cyan)

    /// Draws the notebook, the status bar and any overlay into `buffer`.
    public static func render(_ state: State, into buffer: inout ScreenBuffer) {
        let page = max(0, buffer.height - 1)
        let (tops, _) = state.cellTops()
        if page > 0, !state.cells.isEmpty {
            var i = tops.lastIndex { $0 <= state.scrollTop } ?? 0
            while i < state.cells.count && tops[i] < state.scrollTop + page {
                drawCell(state, i, y: tops[i] - state.scrollTop, page: page, into: &buffer)
                i += 1
            }
        }
        drawStatus(state, into: &buffer)
        drawCullWarning(state, into: &buffer)
        if let completion = state.completion, let cursor = buffer.cursor { drawCompletion(completion, at: cursor, into: &buffer) }
        if let overlay = state.overlay { drawOverlay(overlay, state, into: &buffer) }
    }

    /// The completion popup under the cursor (above it near the bottom), the chosen match highlighted.
    static func drawCompletion(_ completion: Completion, at cursor: Position, into buffer: inout ScreenBuffer) {
        let page = max(0, buffer.height - 1)
        let shown = min(completion.matches.count, 8, max(1, page - 1))
        let first = min(max(0, completion.selected - shown + 1), completion.matches.count - shown)
        let items = completion.matches[first..<(first + shown)]
        let width = min(buffer.width, (items.map { DisplayWidth.of($0) }.max() ?? 0) + 2)
        let x = max(0, min(cursor.x, buffer.width - width))
        let below = cursor.y + 1 + shown <= page
        let y = below ? cursor.y + 1 : max(0, cursor.y - shown)
        for (offset, match) in items.enumerated() {
            let chosen = first + offset == completion.selected
            let style = chosen ? Style(foreground: .black, background: .cyan) : Style(foreground: .white, background: .ansi(8))
            let row = Rect(x: x, y: y + offset, width: width, height: 1)
            buffer.fill(row, style: style)
            buffer.write(" " + OutputSanitizer.plainText(match), x: x, y: y + offset, style: style, clip: row)
        }
    }

    /// The title of a cell's header: `[3] code · cell 2 · 0.52s`.
    static func title(_ state: State, _ index: Int) -> String {
        let cell = state.cells[index]
        guard cell.isCode else { return "\(header(kind: cell.cellType)) · cell \(index + 1)" }
        var title: String
        switch cell.run {
        case .idle: title = "[\(cell.executionCount.map(String.init) ?? " ")] code · cell \(index + 1)"
        case .queued: title = "[*] code · cell \(index + 1) · queued"
        case .running(let since): title = "[*] code · cell \(index + 1) · running \(duration(state.now - since))"
        }
        if cell.run == .idle, let seconds = cell.lastDuration { title += " · \(duration(seconds))" }
        if cell.failed && cell.run == .idle { title += " · error" }
        return title
    }

    static func header(kind: String) -> String {
        kind.isEmpty ? "unknown" : OutputSanitizer.plainText(kind)
    }

    /// Seconds as `0.52s`, `12.3s` or `4m05s`.
    static func duration(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 10 {
            let hundredths = Int(s * 100)
            return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)s"
        }
        if s < 60 { return "\(Int(s)).\(Int(s * 10) % 10)s" }
        let whole = Int(s)
        let rest = whole % 60
        return "\(whole / 60)m\(rest < 10 ? "0" : "")\(rest)s"
    }

    static func drawCell(_ state: State, _ index: Int, y top: Int, page: Int, into buffer: inout ScreenBuffer) {
        let cell = state.cells[index]
        let width = buffer.width
        let clip = Rect(x: 0, y: 0, width: width, height: page)
        let isSelected = index == state.selected
        let accent = state.mode == .edit ? editStyle : commandStyle
        let height = state.height(of: index)
        func visible(_ y: Int) -> Bool { y >= 0 && y < page }

        if isSelected {
            for y in top..<(top + height - 1) where visible(y) { buffer.write("▌", x: 0, y: y, style: accent, clip: clip) }
        }
        // Header rule.
        if visible(top) {
            let style = isSelected ? accent : ruleStyle
            var x = buffer.write("─ ", x: 1, y: top, style: style, clip: clip)
            let failed = cell.failed && cell.run == .idle
            x = buffer.write(title(state, index), x: x, y: top, style: failed ? errorStyle : Style(foreground: style.foreground, attributes: .bold), clip: clip)
            x = buffer.write(" ", x: x, y: top, style: style, clip: clip)
            if x < width { buffer.fill(Rect(x: x, y: top, width: width - x, height: 1), with: "─", style: style) }
        }
        // Text: the editor for the edited cell, highlighted lines for the others.
        var y = top + 1
        let rows = state.sourceRows(index)
        for row in 0..<rows where visible(y + row) {
            buffer.write("│", x: 1, y: y + row, style: isSelected ? accent : gutterStyle, clip: clip)
        }
        if isSelected && state.mode == .edit, let editor = state.editor {
            let first = max(y, 0)
            let last = min(y + rows, page)
            if last > first {
                let rect = Rect(x: textX, y: first, width: max(0, width - textX), height: last - first)
                buffer.cursor = editor.render(into: &buffer, rect: rect, focused: true, scrollRow: first - y)
            }
        } else if let rendered = state.renderedMarkdown(index) {
            for row in max(0, -y)..<min(rendered.count, max(0, page - y)) {
                buffer.write(rendered[row], x: textX, y: y + row, clip: clip)
            }
        } else if !cell.sourceLines.isEmpty {
            let from = max(0, -y)
            let to = min(cell.sourceLines.count, page - y)
            if to > from {
                let highlighted = SyntaxHighlighter.spans(for: cell.sourceLines.joined(separator: "\n"), language: state.language(of: index))
                for row in from..<min(to, highlighted.count) {
                    buffer.write(highlighted[row], x: textX, y: y + row, clip: clip)
                }
            }
        }
        y += rows
        // Outputs (laid out for this frame if `update` has not laid the cell out yet).
        let outputRows = state.outputRows(cell)
        let area = cell.area.isLaidOut ? cell.area : cell.area.laidOut()
        if outputRows > 0 {
            let total = area.lineCount
            if cell.collapsed {
                if visible(y) {
                    buffer.write("⋯ \(total) output line\(total == 1 ? "" : "s") collapsed (o shows them)", x: textX, y: y, style: noteStyle, clip: clip)
                }
                y += 1
            } else {
                var first = 0
                if outputRows < total {
                    // Capped: a note, then the newest lines, as a streaming cell's latest output matters most.
                    first = total - (outputRows - 1)
                    if visible(y) {
                        buffer.write("⋯ \(first) earlier line\(first == 1 ? "" : "s") hidden (O shows all)", x: textX, y: y, style: noteStyle, clip: clip)
                    }
                    y += 1
                }
                let shown = total - first
                let skip = max(0, -y)
                let count = max(0, min(shown - skip, page - max(y, 0)))
                var row = y + skip
                for line in area.lines(from: first + skip, count: count, width: width - textX) {
                    buffer.write(line, x: textX, y: row, clip: clip)
                    row += 1
                }
                drawImages(area, firstLine: first, top: y, page: page, into: &buffer)
                y += shown
            }
        }
        // An input() prompt.
        if let prompt = state.inputPrompt, prompt.cellKey == cell.key {
            if visible(y) {
                var x = buffer.write(OutputSanitizer.plainText(prompt.prompt), x: textX, y: y, style: Style(attributes: .bold), clip: clip)
                let shown = prompt.password ? String(repeating: "•", count: prompt.text.count) : prompt.text
                x = buffer.write(shown, x: x, y: y, style: Style(attributes: .underline), clip: clip)
                buffer.cursor = Position(x: min(x, width - 1), y: y)
            }
            y += 1
        }
    }

    static func drawStatus(_ state: State, into buffer: inout ScreenBuffer) {
        guard buffer.height > 0 else { return }
        let row = buffer.height - 1
        let width = buffer.width
        buffer.fill(Rect(x: 0, y: row, width: width, height: 1), style: statusStyle)
        var x = buffer.write(" \(state.fileName)\(state.isDirty ? " [+]" : "")", x: 0, y: row, style: Style(attributes: [.reverse, .bold]))
        x = buffer.write("  \(state.mode == .edit ? "EDIT" : "COMMAND")  ", x: x, y: row, style: statusStyle)
        var kernelText = "\(OutputSanitizer.plainText(state.kernelName)): \(state.kernel)"
        if case .dead = state.kernel { kernelText += " (0,0 restarts)" }
        if case .dead = state.kernel {
            x = buffer.write(" \(kernelText) ", x: x, y: row, style: deadStyle)
        } else {
            x = buffer.write(kernelText, x: x, y: row, style: statusStyle)
        }
        x = buffer.write("  [\(state.executionCounter)]", x: x, y: row, style: statusStyle)
        if let running = state.runningCell, case .running(let since) = state.cells[running].run {
            x = buffer.write("  cell \(running + 1) \(duration(state.now - since))", x: x, y: row, style: statusStyle)
        }
        x = buffer.write("  \(state.selected + 1)/\(state.cells.count)", x: x, y: row, style: statusStyle)
        let hint = "F1 help "
        let hintX = width - DisplayWidth.of(hint)
        if hintX > x + 1 { buffer.write(hint, x: hintX, y: row, style: statusStyle) }
        // A message takes the row above the status bar, over the notebook, until it expires.
        if let message = state.message, row > 0 {
            let style = message.isError ? errorStyle : Style(attributes: .bold)
            buffer.fill(Rect(x: 0, y: row - 1, width: width, height: 1))
            buffer.write(" " + OutputSanitizer.plainText(message.text), x: 0, y: row - 1, style: style)
        }
    }

    // MARK: Overlays

    static func drawOverlay(_ overlay: Overlay, _ state: State, into buffer: inout ScreenBuffer) {
        switch overlay {
        case .help(let scroll):
            box(title: "Keys (j/k scroll, other keys close)", lines: Array(helpLines.dropFirst(scroll)), into: &buffer)
        case .inspection(let lines):
            box(title: "Help (any key closes)", lines: lines, into: &buffer)
        case .confirmQuit:
            box(
                title: "Unsaved changes",
                lines: [
                    [Span("\(state.fileName) has changes that are not saved.")], [],
                    [Span("y", style: Style(attributes: .bold)), Span("  save and quit")],
                    [Span("n", style: Style(attributes: .bold)), Span("  quit without saving")],
                    [Span("Esc", style: Style(attributes: .bold)), Span("  stay")],
                ], into: &buffer)
        case .recovery(let savedAt):
            box(
                title: "Recovered edits",
                lines: [
                    [Span("\(state.fileName) has edits that were never saved")],
                    [Span("(autosaved \(savedAt), before wb stopped).")], [],
                    [Span("r", style: Style(attributes: .bold)), Span("  restore them (then Ctrl-S to save)")],
                    [Span("d", style: Style(attributes: .bold)), Span("  discard them and open the file as saved")],
                    [Span("Esc", style: Style(attributes: .bold)), Span("  decide later (keeps the recovery file)")],
                ], into: &buffer)
        }
    }

    /// A bordered box in the middle of the screen holding `lines` (cut to fit).
    static func box(title: String, lines: [[Span]], into buffer: inout ScreenBuffer) {
        let contentWidth = lines.map { $0.reduce(0) { $0 + DisplayWidth.of($1.text) } }.max() ?? 0
        let width = min(buffer.width, max(contentWidth, DisplayWidth.of(title) + 2) + 4)
        let height = min(max(0, buffer.height - 1), lines.count + 2)
        guard width >= 4, height >= 3 else { return }
        let x0 = (buffer.width - width) / 2
        let y0 = max(0, (buffer.height - 1 - height) / 2)
        let area = Rect(x: x0, y: y0, width: width, height: height)
        buffer.fill(area)
        let horizontal = String(repeating: "─", count: width - 2)
        buffer.write("┌" + horizontal + "┐", x: x0, y: y0, style: boxStyle)
        buffer.write(" \(title) ", x: x0 + 2, y: y0, style: Style(foreground: .cyan, attributes: .bold), clip: area)
        buffer.write("└" + horizontal + "┘", x: x0, y: y0 + height - 1, style: boxStyle)
        let inner = Rect(x: x0 + 2, y: y0 + 1, width: width - 4, height: height - 2)
        for row in 0..<(height - 2) {
            buffer.write("│", x: x0, y: y0 + 1 + row, style: boxStyle)
            buffer.write("│", x: x0 + width - 1, y: y0 + 1 + row, style: boxStyle)
            buffer.write(lines[row], x: x0 + 2, y: y0 + 1 + row, clip: inner)
        }
    }
}
