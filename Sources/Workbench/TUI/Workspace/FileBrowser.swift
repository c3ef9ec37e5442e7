internal import Notebook
internal import CoreSupport

/// The file browser: a folder's subfolders and the files wb opens (notebooks and text), hidden ones only on request.
public struct FileBrowser: Sendable, Equatable {
    /// The folder shown.
    public var directory: String
    /// Its entries as read (nil while being read).
    public var entries: [Workspace.DirectoryEntry]?
    /// Why the folder could not be read.
    public var error: String?
    /// The chosen row.
    public var selected = 0
    /// Whether names starting with a dot show.
    public var showHidden = false

    /// A browser on `directory`, its entries not read yet.
    public init(directory: String) {
        self.directory = directory
    }

    /// The extensions of files the browser lists (others are not text wb edits).
    public static let openable: Set<String> = [
        "ipynb", "py", "pyw", "pyi", "sql", "md", "markdown", "yaml", "yml", "txt", "json", "toml", "cfg", "ini", "csv", "tsv", "sh", "r",
    ]

    /// The rows shown: `..` (except at `/`), folders, then openable files, hidden ones filtered out unless asked for.
    public var rows: [Workspace.DirectoryEntry] {
        guard let entries else { return [] }
        let visible = entries.filter { showHidden || !$0.name.hasPrefix(".") }
        let folders = visible.filter(\.isDirectory).sorted { $0.name < $1.name }
        let files = visible.filter { !$0.isDirectory && Self.openable.contains(FilePath.pathExtension($0.name)) }.sorted { $0.name < $1.name }
        let parent = directory == "/" ? [] : [Workspace.DirectoryEntry(name: "..", isDirectory: true)]
        return parent + folders + files
    }

    /// The path of the folder above `directory`.
    static func parent(of directory: String) -> String {
        if directory == "." || directory.isEmpty { return ".." }
        if directory == "/" { return "/" }
        let last = FilePath.lastComponent(of: directory)
        if last == ".." || last == "." { return FilePath.join(directory, "..") }
        return FilePath.directory(of: directory)
    }

    /// `name` in `directory`, without a leading `./`.
    static func path(_ name: String, in directory: String) -> String {
        directory == "." ? name : FilePath.join(directory, name)
    }
}

/// The kernel picker: every installed kernelspec, the notebook's current one marked.
public struct KernelPicker: Sendable, Equatable {
    /// The kernels found (nil while looking).
    public var choices: [Workspace.KernelChoice]?
    /// Kernelspecs that could not be read.
    public var problems: [String] = []
    /// The chosen row.
    public var selected = 0
    /// The notebook's kernelspec name now.
    public var current: String

    /// A picker for a notebook now on kernelspec `current`.
    public init(current: String) {
        self.current = current
    }
}

extension Workspace.State {
    /// Opens the file browser on the active file's folder and asks for its entries.
    mutating func openFileBrowser() {
        let directory = document.map { FilePath.directory(of: $0.path) } ?? "."
        panel = .files(FileBrowser(directory: directory))
        commands.append(.list(directory: directory))
    }

    /// Keys in the file browser: move, Enter opens a file or a folder, Backspace goes up, `.` shows hidden files.
    mutating func fileBrowserKey(_ browser: FileBrowser, _ key: KeyEvent) {
        var browser = browser
        let rows = browser.rows
        switch (key.key, key.modifiers) {
        case (.escape, _), (.character("o"), .control), (.character("q"), []):
            panel = nil
            return
        case (.down, []), (.character("j"), []):
            if !rows.isEmpty { browser.selected = min(rows.count - 1, browser.selected + 1) }
        case (.up, []), (.character("k"), []):
            browser.selected = max(0, browser.selected - 1)
        case (.pageDown, []):
            browser.selected = max(0, min(rows.count - 1, browser.selected + 10))
        case (.pageUp, []):
            browser.selected = max(0, browser.selected - 10)
        case (.home, []):
            browser.selected = 0
        case (.end, []):
            browser.selected = max(0, rows.count - 1)
        case (.character("."), []):
            browser.showHidden.toggle()
            browser.selected = 0
        case (.backspace, _), (.left, []), (.character("h"), []):
            browser = FileBrowser(directory: FileBrowser.parent(of: browser.directory))
            browser.showHidden = (panel.flatMap { if case .files(let b) = $0 { b.showHidden } else { nil } }) ?? false
            commands.append(.list(directory: browser.directory))
        case (.enter, []), (.right, []), (.character("l"), []):
            guard rows.indices.contains(browser.selected) else { return }
            let entry = rows[browser.selected]
            if entry.isDirectory {
                let showHidden = browser.showHidden
                browser = FileBrowser(
                    directory: entry.name == ".." ? FileBrowser.parent(of: browser.directory) : FileBrowser.path(entry.name, in: browser.directory))
                browser.showHidden = showHidden
                commands.append(.list(directory: browser.directory))
            } else {
                panel = nil
                open(path: FileBrowser.path(entry.name, in: browser.directory))
                return
            }
        default:
            return
        }
        panel = .files(browser)
    }

    /// Switches to `path` if it is open, else asks the runtime to open it.
    mutating func open(path: String) {
        let wanted = Self.normalized(path)
        if let open = tabs.firstIndex(where: { Self.normalized($0.document.path) == wanted }) {
            activate(open)
            say("\(tabs[open].document.fileName) is already open")
        } else {
            commands.append(.open(path: path))
        }
    }

    /// `path` without `./` parts, for telling whether a file is open.
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) where part != "." { parts.append(part) }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// Opens the kernel picker for the active notebook and asks for the installed kernels.
    mutating func openKernelPicker() {
        guard case .notebook(let notebook) = document else {
            say("kernels belong to notebooks: this is a text file", error: true)
            return
        }
        panel = .kernels(KernelPicker(current: notebook.notebook.kernelName ?? "python3"))
        commands.append(.findKernels)
    }

    /// Keys in the kernel picker: move, Enter switches the notebook to the chosen kernel.
    mutating func kernelPickerKey(_ picker: KernelPicker, _ key: KeyEvent) {
        var picker = picker
        let count = picker.choices?.count ?? 0
        switch (key.key, key.modifiers) {
        case (.escape, _), (.character("k"), .control), (.character("q"), []):
            panel = nil
            return
        case (.down, []), (.character("j"), []):
            if count > 0 { picker.selected = min(count - 1, picker.selected + 1) }
        case (.up, []), (.character("k"), []):
            picker.selected = max(0, picker.selected - 1)
        case (.enter, []):
            panel = nil
            guard let choices = picker.choices, choices.indices.contains(picker.selected) else { return }
            changeKernel(to: choices[picker.selected])
            return
        default:
            return
        }
        panel = .kernels(picker)
    }

    /// Points the active notebook at another kernelspec (saved in its metadata) and starts that kernel.
    mutating func changeKernel(to choice: Workspace.KernelChoice) {
        guard case .notebook(let current) = document else { return }
        var dead = false
        if case .dead = current.kernel { dead = true }
        if current.notebook.kernelName == choice.name && !dead {
            say("the notebook already uses \(choice.displayName)")
            return
        }
        let id = tabs[active].id
        withNotebook(at: active) { notebook in
            for i in notebook.cells.indices where notebook.cells[i].run != .idle { notebook.finishRun(i) }
            notebook.inputPrompt = nil
            notebook.completion = nil
            notebook.notebook.metadata["kernelspec"] = [
                "display_name": .string(choice.displayName), "language": .string(choice.language), "name": .string(choice.name),
            ]
            notebook.notebook.metadata["language_info"] = ["name": .string(choice.language)]
            notebook.kernelName = choice.displayName
            notebook.kernel = .starting
            notebook.executionCounter = 0
            if notebook.mode == .edit {
                notebook.leaveEdit()
            }
            notebook.stashedEditors = [:]
            notebook.touch()
            notebook.say("switching to \(choice.displayName)")
        }
        commands.append(.changeKernel(tab: id, name: choice.name))
    }
}

extension Workspace {
    /// The file browser box: the folder, then its rows (folders end in `/`).
    static func drawFileBrowser(_ browser: FileBrowser, into buffer: inout ScreenBuffer) {
        var lines: [[Span]] = [[Span(OutputSanitizer.plainText(browser.directory), style: Style(attributes: .bold))], []]
        let rows = browser.rows
        if let error = browser.error {
            lines.append([Span(error, style: NotebookApp.errorStyle)])
        } else if browser.entries == nil {
            lines.append([Span("reading…", style: NotebookApp.noteStyle)])
        } else if rows.isEmpty {
            lines.append([Span("no notebooks or text files here", style: NotebookApp.noteStyle)])
        }
        let shown = max(1, buffer.height - 8)
        let first = min(max(0, browser.selected - shown + 1), max(0, rows.count - shown))
        for (offset, entry) in rows.dropFirst(first).prefix(shown).enumerated() {
            let chosen = first + offset == browser.selected
            let name = OutputSanitizer.plainText(entry.name) + (entry.isDirectory ? "/" : "")
            var style = entry.isDirectory ? Style(foreground: .blue, attributes: .bold) : Style.plain
            if chosen { style = Style(foreground: .black, background: .cyan) }
            lines.append([Span((chosen ? "▸ " : "  ") + name, style: style)])
        }
        lines.append([])
        lines.append([Span("Enter open · Backspace up · . \(browser.showHidden ? "hide" : "show") hidden · Esc", style: NotebookApp.noteStyle)])
        NotebookApp.box(title: "Open a file", lines: lines, into: &buffer)
    }

    /// The kernel picker box: every installed kernelspec, the notebook's marked with `*`.
    static func drawKernelPicker(_ picker: KernelPicker, into buffer: inout ScreenBuffer) {
        var lines: [[Span]] = []
        if let choices = picker.choices {
            if choices.isEmpty { lines.append([Span("no kernelspecs installed (jupyter kernelspec list)", style: NotebookApp.errorStyle)]) }
            for (index, choice) in choices.enumerated() {
                let chosen = index == picker.selected
                let mark = choice.name == picker.current ? "* " : "  "
                let text = "\(chosen ? "▸" : " ")\(mark)\(OutputSanitizer.plainText(choice.displayName))  (\(OutputSanitizer.plainText(choice.name)), \(OutputSanitizer.plainText(choice.language)))"
                lines.append([Span(text, style: chosen ? Style(foreground: .black, background: .cyan) : .plain)])
            }
            for problem in picker.problems { lines.append([Span("  ! " + OutputSanitizer.plainText(problem), style: NotebookApp.noteStyle)]) }
        } else {
            lines.append([Span("looking for kernels…", style: NotebookApp.noteStyle)])
        }
        lines.append([])
        lines.append([Span("Enter switch to it · * the notebook's now · Esc", style: NotebookApp.noteStyle)])
        NotebookApp.box(title: "Kernel", lines: lines, into: &buffer)
    }
}
