internal import CoreSupport
internal import Notebook

/// The workspace's side of the git panel: opening it for the active file, routing keys and results,
/// and reading open files again after git rewrote them.
extension Workspace.State {
    /// Opens the git panel for the repository around the active file (the status is read in the background;
    /// outside a work tree the panel closes with a message).
    mutating func openGit() {
        guard let document else { return }
        let file = FilePath.absolute(document.path)
        let directory = FilePath.directory(of: file)
        if var git, git.isLoaded, let root = git.summary?.root, file.hasPrefix(root) {
            git.now = now
            git.closeRequested = false
            git.notice = nil
            if git.screen == .diff || git.screen == .conflicts { git.screen = .status }
            git.refresh()
            self.git = git
        } else {
            // Request ids go on from the last panel's, so a late answer to it is never taken for this one's.
            git = GitPanel(directory: directory, now: now, firstID: git?.nextID ?? 1)
        }
        panel = .git
    }

    /// Keys and pastes while the git panel shows; F1 shows the keys (the panel's among them).
    mutating func gitInput(_ input: InputEvent) {
        guard var git else {
            panel = nil
            return
        }
        if case .key(let key) = input, key == KeyEvent(.function(1)), git.message == nil {
            panel = .help(scroll: Self.gitHelpLine)
            helpReturnsToGit = true
            return
        }
        git.handle(input)
        if git.closeRequested {
            git.closeRequested = false
            panel = nil
        }
        self.git = git
    }

    /// The help screen's line where the git panel's keys begin.
    static var gitHelpLine: Int {
        NotebookApp.helpLines.firstIndex { $0.first?.text.hasPrefix("Git panel") == true } ?? 0
    }

    /// A git request finished: the panel takes it; files git rewrote are read again.
    mutating func gitDone(_ result: GitResult) {
        guard var git, git.pending.contains(where: { $0.id == result.id }) else { return }
        if case .status = result.request, result.status != 0, !git.isLoaded {
            // Not in a work tree (or a bare or damaged repository): no panel, a message saying why.
            self.git = nil
            if panel == .git { panel = nil }
            let name = document.map { OutputSanitizer.plainText($0.fileName) } ?? "this file"
            let why = OutputSanitizer.plainText(result.errorMessage)
            say(result.status == GitResult.notARepository ? "git: \(name) is not in a git work tree (\(why))" : "git: \(why)", error: true)
            return
        }
        git.apply(result)
        self.git = git
        guard result.status == 0, result.request.changesFiles, let root = git.summary?.root else { return }
        var kept: [String] = []
        for tab in tabs where FilePath.absolute(tab.document.path).hasPrefix(root) {
            if tab.document.isDirty {
                kept.append(tab.document.fileName)
            } else {
                commands.append(.reload(tab: tab.id, path: tab.document.path))
            }
        }
        if !kept.isEmpty {
            let before = self.git?.notice.map { $0.text + "; " } ?? ""
            self.git?.say(
                before
                    + "\(kept.joined(separator: ", ")) not read again (unsaved edits): saving would undo git's change",
                error: true)
        }
    }

    /// Moves the panel's new requests into the commands, to run in the repository's folder.
    mutating func takeGitRequests() {
        guard var git, !git.requests.isEmpty else { return }
        let folder = git.workingFolder
        commands += git.requests.map { .git($0, directory: folder) }
        git.requests = []
        self.git = git
    }

    /// A tab's file read again: a clean tab takes the new content (its kernel stays).
    mutating func reloaded(tab id: Int, _ content: Workspace.Reloaded) {
        guard let index = index(ofTab: id) else { return }
        switch (tabs[index].document, content) {
        case (.notebook(var notebook), .notebook(let fresh)):
            guard !notebook.isDirty, notebook.runningCell == nil else { return }
            notebook.reload(fresh)
            tabs[index].document = .notebook(notebook)
        case (.text(let text), .text(let fresh)):
            guard !text.isDirty else { return }
            var document = Workspace.TextDocumentReload.make(text, fresh)
            document.say("\(text.fileName) was changed by git: read again", now: now)
            tabs[index].document = .text(document)
        case (_, .failed(let error)):
            git?.say("cannot read \(tabs[index].document.fileName) again: \(error)", error: true)
        default:
            break
        }
    }

    /// The absolute paths of open files with unsaved edits.
    var unsavedPaths: Set<String> {
        Set(tabs.filter(\.document.isDirty).map { FilePath.absolute($0.document.path) })
    }
}

extension Workspace {
    enum TextDocumentReload {
        /// `old` with `text` as its content, as saved (same path and size).
        static func make(_ old: TextDocument, _ text: String) -> TextDocument {
            var document = TextDocument(path: old.path, text: text, isNew: false, size: old.size)
            let row = old.scrollRow
            document.scrollRow = min(row, max(0, document.editor.lines.count - 1))
            return document
        }
    }
}

extension NotebookApp.State {
    /// Takes the file's new content (git rewrote it) without touching the kernel; stays unmodified.
    mutating func reload(_ fresh: Notebook) {
        var top = fresh
        top.cells = []
        notebook = top
        cells = fresh.cells.map { makeCell($0) }
        if cells.isEmpty { cells.append(makeCell(newCell(.code))) }
        selected = min(selected, cells.count - 1)
        editor = nil
        stashedEditors = [:]
        mode = .command
        deleted = []
        say("\(fileName) was changed by git: read again")
    }
}
