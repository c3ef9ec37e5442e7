internal import Notebook

// Edit mode: the selected cell's text in a `TextEditor`, with completion and inspection from the kernel.

extension NotebookApp.State {
    /// The editor's language for cell `index`: the kernel's language for code, Markdown, or none.
    func language(of index: Int) -> SyntaxLanguage {
        switch cells[index].base.kind {
        case .code: SyntaxLanguage(languageName: notebook.language ?? "python")
        case .markdown: .markdown
        default: .plain
        }
    }

    /// The cursor's row within the edited cell's text.
    var editorCursorRow: Int { editor?.cursorRow(width: textWidth) ?? 0 }

    /// Opens the selected cell in the editor, the cursor at `start` or else at the end.
    mutating func enterEdit(atStart: Bool = false) {
        let key = cells[selected].key
        var editor = TextEditor(text: cells[selected].source, language: language(of: selected))
        if let stashed = stashedEditors.removeValue(forKey: key), stashed.text == cells[selected].source,
            stashed.language == editor.language
        {
            editor = stashed
        }
        editor.wrapWidth = textWidth
        editor.pageRows = max(1, pageHeight - 2)
        if atStart { editor.moveCursor(to: .zero) } else { editor.moveToEnd() }
        self.editor = editor
        mode = .edit
        completion = nil
        follow = true
    }

    /// Back to command mode, keeping the text.
    mutating func leaveEdit() {
        commitEditor()
        if let editor, cells.indices.contains(selected) { stashedEditors[cells[selected].key] = editor }
        editor = nil
        completion = nil
        mode = .command
    }

    /// Copies the editor's text into the cell (a change only if it differs).
    mutating func commitEditor() {
        guard mode == .edit, let editor, cells.indices.contains(selected) else { return }
        let text = editor.text
        if text != cells[selected].source {
            cells[selected].setSource(text)
            touch()
        }
    }

    mutating func editKey(_ key: KeyEvent) {
        guard var editor else {
            mode = .command
            return
        }
        if completion != nil, completionKey(key) { return }
        switch (key.key, key.modifiers) {
        case (.escape, []):
            leaveEdit()
            return
        case (.tab, []) where editor.wantsCompletion:
            requestCompletion()
            return
        case (.function(2), []):
            requestInspection()
            return
        case (.tab, .shift) where editor.wantsCompletion:
            requestInspection()
            return
        default:
            break
        }
        editor.wrapWidth = textWidth
        let result = editor.handle(key)
        self.editor = editor
        switch result {
        case .handled(let changed):
            if changed { syncEditor() }
            follow = true
        case .ignored:
            if key == KeyEvent(.up) && editor.isAtFirstLine && selected > 0 {
                leaveEdit()
                select(selected - 1)
                enterEdit()
            } else if key == KeyEvent(.down) && editor.isAtLastLine && selected < cells.count - 1 {
                leaveEdit()
                select(selected + 1)
                enterEdit(atStart: true)
            }
        }
    }

    /// Takes the editor's text into the cell after an edit.
    mutating func syncEditor() {
        guard let editor else { return }
        cells[selected].setSource(editor.text)
        touch()
    }

    /// Pasted text goes into the editor as one undo step (command mode opens the editor first).
    mutating func paste(_ text: String) {
        if mode == .command { enterEdit() }
        completion = nil
        editor?.insert(text)
        syncEditor()
    }

    // MARK: Completion and inspection

    mutating func requestCompletion() {
        guard let editor else { return }
        commands.append(.complete(id: nextRequest, code: editor.text, cursor: editor.cursorCodePointOffset))
        nextRequest += 1
    }

    mutating func requestInspection() {
        guard let editor else { return }
        commands.append(.inspect(id: nextRequest, code: editor.text, cursor: editor.cursorCodePointOffset))
        nextRequest += 1
    }

    /// Shows the kernel's completions: one is applied at once, several open the popup.
    mutating func receiveCompletions(matches: [String], start: Int, end: Int) {
        guard editor != nil else { return }
        var unique: [String] = []
        for match in matches where !unique.contains(match) { unique.append(match) }
        if unique.isEmpty {
            say("no completions")
        } else if unique.count == 1 {
            applyCompletion(unique[0], start: start, end: end)
        } else {
            completion = NotebookApp.Completion(cellKey: cells[selected].key, matches: unique, start: start, end: end)
        }
    }

    mutating func applyCompletion(_ match: String, start: Int, end: Int) {
        guard var editor else { return }
        let length = editor.codePointOffset(of: editor.endPosition)
        let lower = min(max(0, start), length)
        editor.replace(codePointRange: lower..<min(max(lower, end), length), with: match)
        self.editor = editor
        completion = nil
        syncEditor()
    }

    /// Keys while the popup shows: Up/Down/Tab choose, Enter takes, Esc closes; true when the key was used.
    mutating func completionKey(_ key: KeyEvent) -> Bool {
        guard var popup = completion else { return false }
        switch (key.key, key.modifiers) {
        case (.down, []), (.tab, []):
            popup.selected = (popup.selected + 1) % popup.matches.count
        case (.up, []), (.tab, .shift):
            popup.selected = (popup.selected + popup.matches.count - 1) % popup.matches.count
        case (.enter, []):
            applyCompletion(popup.matches[popup.selected], start: popup.start, end: popup.end)
            return true
        case (.escape, []):
            completion = nil
            return true
        default:
            // Any other key closes the popup and does what it does.
            completion = nil
            return false
        }
        completion = popup
        return true
    }
}
