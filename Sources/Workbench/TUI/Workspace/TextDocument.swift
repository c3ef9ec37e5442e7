internal import CoreSupport

/// A plain text file open in a tab: the cell editor, full-screen, highlighted by the file's extension.
public struct TextDocument: Sendable {
    /// The file's path.
    public var path: String
    /// The name shown in the tab bar and status bar.
    public var fileName: String
    /// The text and its cursor, selection and undo history.
    public var editor: TextEditor
    /// The size of the document's area (the status bar is its last row).
    public var size: Size
    /// The first visual row on screen.
    public var scrollRow = 0
    /// The editor's `changeCount` last written to the file.
    public var savedChange: Int
    /// Whether the file did not exist when opened (the first save creates it).
    public var isNew: Bool
    /// A status bar message.
    public var message: NotebookApp.Message?

    /// A document holding `text` read from `path`.
    public init(path: String, text: String, isNew: Bool = false, size: Size = Size(width: 80, height: 24)) {
        self.path = path
        self.fileName = FilePath.lastComponent(of: path)
        self.editor = TextEditor(text: text, language: SyntaxLanguage(fileExtension: FilePath.pathExtension(path)))
        self.savedChange = editor.changeCount
        self.isNew = isNew
        self.size = size
        editor.wrapWidth = size.width
        editor.pageRows = max(1, size.height - 2)
    }

    /// Whether there are edits not written to the file.
    public var isDirty: Bool { editor.changeCount != savedChange }

    /// Rows for the text (all but the status bar).
    var pageHeight: Int { max(0, size.height - 1) }

    /// Changes the area's size; the text wraps at its new width.
    mutating func resize(_ size: Size) {
        self.size = size
        editor.wrapWidth = size.width
        editor.pageRows = max(1, pageHeight - 1)
        keepCursorVisible()
    }

    /// Applies input: keys and pastes go to the editor, the mouse wheel scrolls, a click moves the cursor (Ctrl-S is the workspace's).
    mutating func handle(_ input: InputEvent) {
        switch input {
        case .mouse(let mouse):
            switch mouse.kind {
            case .scrollDown: scroll(by: 3)
            case .scrollUp: scroll(by: -3)
            case .press(.left) where mouse.position.y < pageHeight:
                editor.moveCursor(to: editor.position(atRow: scrollRow + mouse.position.y, x: mouse.position.x, width: max(1, size.width)))
            default: break
            }
            return
        default:
            _ = editor.handle(input)
        }
        keepCursorVisible()
    }

    mutating func scroll(by rows: Int) {
        let total = editor.height(width: max(1, size.width))
        scrollRow = min(max(0, scrollRow + rows), max(0, total - pageHeight))
    }

    /// Scrolls so the cursor's row is on screen.
    mutating func keepCursorVisible() {
        let page = pageHeight
        guard page > 0 else { return }
        let row = editor.cursorRow(width: max(1, size.width))
        if row < scrollRow { scrollRow = row } else if row >= scrollRow + page { scrollRow = row - page + 1 }
        let total = editor.height(width: max(1, size.width))
        scrollRow = min(max(0, scrollRow), max(0, total - 1))
    }

    /// Shows `text` in the status bar for a few seconds after `now`.
    mutating func say(_ text: String, error: Bool = false, now: Double) {
        message = NotebookApp.Message(text: text, isError: error, until: now + 4 * (error ? 2 : 1))
    }

    /// The language's name as the status bar shows it.
    var languageName: String {
        switch editor.language {
        case .python: "python"
        case .sql: "sql"
        case .markdown: "markdown"
        case .yaml: "yaml"
        case .plain: "text"
        }
    }

    /// Draws the text and the status bar into `buffer` (its size is the document's area).
    func render(into buffer: inout ScreenBuffer) {
        let page = max(0, buffer.height - 1)
        if page > 0 {
            let rect = Rect(x: 0, y: 0, width: buffer.width, height: page)
            buffer.cursor = editor.render(into: &buffer, rect: rect, focused: true, scrollRow: scrollRow)
        }
        guard buffer.height > 0 else { return }
        let row = buffer.height - 1
        buffer.fill(Rect(x: 0, y: row, width: buffer.width, height: 1), style: NotebookApp.statusStyle)
        var x = buffer.write(" \(fileName)\(isDirty ? " [+]" : "")", x: 0, y: row, style: Style(attributes: [.reverse, .bold]))
        x = buffer.write("  TEXT  \(languageName)", x: x, y: row, style: NotebookApp.statusStyle)
        x = buffer.write("  Ln \(editor.cursor.line + 1), Col \(editor.cursor.column + 1)", x: x, y: row, style: NotebookApp.statusStyle)
        let hint = "Ctrl-P commands  F1 help "
        let hintX = buffer.width - DisplayWidth.of(hint)
        if hintX > x + 1 { buffer.write(hint, x: hintX, y: row, style: NotebookApp.statusStyle) }
        if let message, row > 0 {
            let style = message.isError ? NotebookApp.errorStyle : Style(attributes: .bold)
            buffer.fill(Rect(x: 0, y: row - 1, width: buffer.width, height: 1))
            buffer.write(" " + OutputSanitizer.plainText(message.text), x: 0, y: row - 1, style: style)
        }
    }
}
