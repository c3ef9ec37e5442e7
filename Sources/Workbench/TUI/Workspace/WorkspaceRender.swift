extension Workspace {
    static let tabStyle = Style(foreground: .white, background: .ansi(8))
    static let activeTabStyle = Style(foreground: .black, background: .cyan, attributes: .bold)

    /// Draws the tab bar (with two or more files), the active document, the find bar and any panel into `buffer`.
    public static func render(_ state: State, into buffer: inout ScreenBuffer) {
        guard let document = state.document else { return }
        let top = state.tabBarRows
        let area = Size(width: buffer.width, height: max(0, buffer.height - top - state.findRows))
        if top == 0 && area.height == buffer.height {
            draw(document, find: state.find, into: &buffer)
        } else {
            var inner = ScreenBuffer(size: area)
            draw(document, find: state.find, into: &inner)
            copy(inner, into: &buffer, y: top)
        }
        if top > 0 { drawTabBar(state, into: &buffer) }
        if let find = state.find { drawFindBar(find, y: top + area.height, into: &buffer) }
        if let panel = state.panel { drawPanel(panel, state, into: &buffer) }
    }

    /// The document (a notebook or a text file) with the find bar's matches marked.
    static func draw(_ document: Document, find: FindBar?, into buffer: inout ScreenBuffer) {
        switch document {
        case .notebook(let notebook):
            NotebookApp.render(notebook, into: &buffer)
            if let find, notebook.overlay == nil { highlight(find, in: notebook, into: &buffer) }
        case .text(let text):
            text.render(into: &buffer)
            if let find { highlight(find, in: text, into: &buffer) }
        }
    }

    /// Copies `source` into `buffer` from row `y` on, with its cursor and images.
    static func copy(_ source: ScreenBuffer, into buffer: inout ScreenBuffer, y: Int) {
        for row in 0..<source.height where row + y < buffer.height {
            for x in 0..<min(source.width, buffer.width) {
                let cell = source[x, row]
                if cell.isContinuation { continue }
                buffer.write(cell.grapheme, x: x, y: row + y, style: cell.style)
            }
        }
        for graphic in source.graphics {
            buffer.place(graphic.image, in: Rect(x: graphic.rect.x, y: graphic.rect.y + y, width: graphic.rect.width, height: graphic.rect.height))
        }
        if let cursor = source.cursor { buffer.cursor = Position(x: cursor.x, y: cursor.y + y) }
    }

    /// The tab bar: each open file's number, name and unsaved marker, the active one highlighted.
    static func drawTabBar(_ state: State, into buffer: inout ScreenBuffer) {
        buffer.fill(Rect(x: 0, y: 0, width: buffer.width, height: 1), style: tabStyle)
        var x = 0
        for index in state.tabs.indices where x < buffer.width {
            x = buffer.write(state.tabLabel(index), x: x, y: 0, style: index == state.active ? activeTabStyle : tabStyle)
            x = buffer.write("│", x: x, y: 0, style: tabStyle)
        }
        let hint = " Ctrl-T files "
        let hintX = buffer.width - DisplayWidth.of(hint)
        if hintX > x { buffer.write(hint, x: hintX, y: 0, style: tabStyle) }
    }

    static func drawPanel(_ panel: Panel, _ state: State, into buffer: inout ScreenBuffer) {
        let bold = Style(attributes: .bold)
        switch panel {
        case .palette(let palette):
            drawPalette(palette, into: &buffer)
        case .switcher(let selected):
            var lines: [[Span]] = []
            for index in state.tabs.indices {
                let chosen = index == selected
                let kind: String
                switch state.tabs[index].document {
                case .notebook(let notebook): kind = "notebook · \(OutputSanitizer.plainText(notebook.kernelName)): \(notebook.kernel)"
                case .text(let text): kind = "text · \(text.languageName)"
                }
                let line = "\(chosen ? "▸" : " ")\(state.tabLabel(index))  \(kind)\(index == state.active ? "  (shown)" : "")"
                lines.append([Span(line, style: chosen ? Style(foreground: .black, background: .cyan) : .plain)])
            }
            lines.append([])
            lines.append([Span("Enter switch · 1-9 jump · x close · Esc", style: NotebookApp.noteStyle)])
            NotebookApp.box(title: "Open files", lines: lines, into: &buffer)
        case .files(let browser):
            drawFileBrowser(browser, into: &buffer)
        case .kernels(let picker):
            drawKernelPicker(picker, into: &buffer)
        case .help(let scroll):
            NotebookApp.box(title: "Keys (j/k scroll, other keys close)", lines: Array(NotebookApp.helpLines.dropFirst(scroll)), into: &buffer)
        case .git:
            guard let git = state.git else { return }
            buffer.cursor = nil
            git.render(into: &buffer, unsaved: state.unsavedPaths)
        case .confirmQuit:
            let unsaved = state.tabs.filter(\.document.isDirty).map { OutputSanitizer.plainText($0.document.fileName) }
            var lines: [[Span]]
            if unsaved.count == 1 {
                lines = [[Span("\(unsaved[0]) has changes that are not saved.")]]
            } else {
                lines = [[Span("These files have changes that are not saved:")]] + unsaved.map { [Span("  " + $0, style: bold)] }
            }
            lines += [
                [], [Span("y", style: bold), Span(unsaved.count == 1 ? "  save and quit" : "  save them all and quit")],
                [Span("n", style: bold), Span("  quit without saving")],
                [Span("Esc", style: bold), Span("  stay")],
            ]
            NotebookApp.box(title: "Unsaved changes", lines: lines, into: &buffer)
        case .confirmClose(let id):
            let name = state.index(ofTab: id).map { state.tabs[$0].document.fileName } ?? "the file"
            NotebookApp.box(
                title: "Unsaved changes",
                lines: [
                    [Span("\(OutputSanitizer.plainText(name)) has changes that are not saved.")], [],
                    [Span("y", style: bold), Span("  save and close it")],
                    [Span("n", style: bold), Span("  close it without saving")],
                    [Span("Esc", style: bold), Span("  keep it open")],
                ], into: &buffer)
        }
    }
}
