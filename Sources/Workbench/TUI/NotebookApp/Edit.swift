// Edit mode: the cell editor lands separately (TUI/Editor); until then cells are edited with `wb` headless tools.

extension NotebookApp.State {
    /// The cursor's row within the edited cell's text.
    var editorCursorRow: Int { 0 }

    mutating func enterEdit() {
        say("editing cells arrives with the cell editor")
    }

    mutating func leaveEdit() {
        mode = .command
    }

    /// Copies the editor's text into the cell.
    mutating func commitEditor() {}

    mutating func editKey(_ key: KeyEvent) {
        if key.key == .escape { leaveEdit() }
    }

    mutating func paste(_ text: String) {}

    mutating func receiveCompletions(matches: [String], start: Int, end: Int) {}
}
