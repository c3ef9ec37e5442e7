internal import CoreSupport
public import Notebook

/// Several files open at once in one full-screen app: notebooks and plain text files, each in a tab.
///
/// Like `NotebookApp`, the screen is a pure function of state: `update(state, event)` returns the
/// next state and `render(state, into:)` draws it. The workspace owns what spans files (tabs, the
/// command palette, find and replace, the file browser, the kernel picker, quitting) and hands
/// every other key to the active document: a notebook goes through `NotebookApp.update`, a text
/// file through its `TextEditor`. Work for the world is appended to `commands`; `Workspace.Runtime`
/// performs it (a kernel session per notebook, file reads and writes) and reports back with events.
public enum Workspace {
    /// What a tab holds.
    public enum Document: Sendable {
        /// A notebook (`.ipynb`, percent-format `.py`).
        case notebook(NotebookApp.State)
        /// A plain text file (`.py`, `.sql`, `.md`, `.yaml`, `.txt` ...).
        case text(TextDocument)

        /// The file's path.
        public var path: String {
            switch self {
            case .notebook(let state): state.path
            case .text(let text): text.path
            }
        }

        /// The name shown in the tab bar.
        public var fileName: String {
            switch self {
            case .notebook(let state): state.fileName
            case .text(let text): text.fileName
            }
        }

        /// Whether there are changes not written to the file.
        public var isDirty: Bool {
            switch self {
            case .notebook(let state): state.isDirty
            case .text(let text): text.isDirty
            }
        }

        /// The notebook's state, if this is one.
        public var notebook: NotebookApp.State? {
            if case .notebook(let state) = self { state } else { nil }
        }

        /// The text file's state, if this is one.
        public var text: TextDocument? {
            if case .text(let text) = self { text } else { nil }
        }
    }

    /// One open file.
    public struct Tab: Sendable {
        /// An id unique in this session, for routing the file's kernel and write reports.
        public let id: Int
        /// The file.
        public var document: Document
    }

    /// A window over the active document that takes the keys until it closes.
    public enum Panel: Sendable, Equatable {
        /// The command palette.
        case palette(CommandPalette)
        /// The list of open files.
        case switcher(selected: Int)
        /// The file browser.
        case files(FileBrowser)
        /// The kernel picker.
        case kernels(KernelPicker)
        /// Quit with unsaved files: save all, discard or stay.
        case confirmQuit
        /// Close a tab with unsaved changes: save, discard or stay.
        case confirmClose(tab: Int)
        /// The list of keys, scrolled down this many lines.
        case help(scroll: Int)
        /// The git panel (`State.git` holds it, so its work survives closing it).
        case git
    }

    /// Work the runtime does for the workspace; results come back as events.
    public enum Command: Sendable {
        /// A notebook's own command (run code, save, autosave ...), for the tab with `tab` id.
        case notebook(tab: Int, NotebookApp.Command)
        /// Write a text file atomically; `.textSaved` reports it.
        case saveText(tab: Int, text: String, path: String, change: Int)
        /// Read `path` and open it in a new tab; `.opened` or `.openFailed` reports it.
        case open(path: String)
        /// Read a folder for the file browser; `.listed` reports it.
        case list(directory: String)
        /// Find the installed kernelspecs; `.kernelsFound` reports them.
        case findKernels
        /// Replace the tab's kernel with a new one of kernelspec `name`.
        case changeKernel(tab: Int, name: String)
        /// The tab was closed (a notebook's last state with it): let its kernel go.
        case closed(tab: Int, NotebookApp.State?)
        /// Run a git panel request with `wb-git` in `directory`, after the ones before it; `.git` reports it.
        case git(GitPanel.Job, directory: String)
        /// Read tab `id`'s file again (git changed it on disk); `.reloaded` reports it.
        case reload(tab: Int, path: String)
    }

    /// A file read again after git changed it.
    public enum Reloaded: Sendable {
        /// A notebook's new content.
        case notebook(Notebook)
        /// A text file's new content.
        case text(String)
        /// It could not be read, and why.
        case failed(String)
    }

    /// One entry of a folder, as the file browser shows it.
    public struct DirectoryEntry: Sendable, Equatable {
        /// The name in the folder.
        public var name: String
        /// Whether it is a folder.
        public var isDirectory: Bool

        /// An entry.
        public init(name: String, isDirectory: Bool) {
            self.name = name
            self.isDirectory = isDirectory
        }
    }

    /// An installed kernel, as the kernel picker shows it.
    public struct KernelChoice: Sendable, Equatable {
        /// The kernelspec's name (`python3`).
        public var name: String
        /// Its display name (`Python 3 (ipykernel)`).
        public var displayName: String
        /// Its language (`python`).
        public var language: String

        /// A choice.
        public init(name: String, displayName: String, language: String) {
            self.name = name
            self.displayName = displayName
            self.language = language
        }
    }

    /// What `update` receives.
    public enum Event: Sendable {
        /// Keys, mouse, paste.
        case input(InputEvent)
        /// The screen's size, first at start and then after each resize.
        case resize(Size)
        /// Time passes (monotonic seconds).
        case tick(Double)
        /// A notebook tab's kernel session or file write reports.
        case session(tab: Int, NotebookApp.SessionEvent)
        /// A text file was written (error nil) or not.
        case textSaved(tab: Int, change: Int, error: String?)
        /// A file was read for a new tab.
        case opened(Document)
        /// A file could not be opened, and why.
        case openFailed(path: String, error: String)
        /// A folder's entries (or why it could not be read).
        case listed(directory: String, entries: [DirectoryEntry], error: String?)
        /// The installed kernelspecs, and the ones that could not be read.
        case kernelsFound([KernelChoice], problems: [String])
        /// A git panel request finished.
        case git(GitResult)
        /// A tab's file was read again.
        case reloaded(tab: Int, Reloaded)
    }

    /// Everything the screen shows and the workspace remembers.
    public struct State: Sendable {
        /// The open files, in tab order.
        public var tabs: [Tab] = []
        /// The active tab's index.
        public var active = 0
        /// The screen size.
        public var size: Size
        /// A panel over the document.
        public var panel: Panel?
        /// The find bar, when open.
        public var find: FindBar?
        /// The git panel, once opened (it is shown while `panel` is `.git`).
        public var git: GitPanel?
        /// Whether the help screen was opened from the git panel (closing it goes back there).
        var helpReturnsToGit = false
        /// Replacements in notebooks, newest last, each undone as one step.
        public var replacements: [Replacement] = []
        /// The latest time seen (monotonic seconds).
        public var now = 0.0
        /// Work for the runtime, taken away after each update.
        public var commands: [Command] = []
        /// Tabs to close once their pending save succeeds.
        public var closeAfterSave: Set<Int> = []
        /// Quit once every pending save has succeeded.
        public var quitAfterSave = false
        /// Whether the app is done.
        public var quit = false
        /// Whether it ended by detaching (the notebooks' kernels keep running in their session hosts).
        public var detach = false
        /// How image outputs show on this terminal, for every notebook open now or later.
        public internal(set) var imageLayout = ImageLayout.placeholders
        /// The next tab id.
        var nextID = 0

        /// A workspace with `documents` open (the first active) on a screen of `size`.
        public init(documents: [Document], size: Size = Size(width: 80, height: 24)) {
            self.size = size
            for document in documents { add(document) }
            active = 0
            layout()
        }

        /// The active tab's document.
        public var document: Document? { tabs.indices.contains(active) ? tabs[active].document : nil }

        /// Whether any open file has unsaved changes.
        public var isDirty: Bool { tabs.contains { $0.document.isDirty } }

        /// Adds a tab for `document` after the others and makes it active.
        mutating func add(_ document: Document) {
            var document = document
            if case .notebook(var notebook) = document, notebook.imageLayout != imageLayout {
                notebook.setImageLayout(imageLayout)
                document = .notebook(notebook)
            }
            tabs.append(Tab(id: nextID, document: document))
            nextID += 1
            active = tabs.count - 1
        }

        /// Lays image outputs out in every notebook for a terminal that shows them as `layout`.
        public mutating func setImageLayout(_ layout: ImageLayout) {
            imageLayout = layout
            for i in tabs.indices {
                guard case .notebook(var notebook) = tabs[i].document else { continue }
                notebook.setImageLayout(layout)
                tabs[i].document = .notebook(notebook)
            }
        }

        /// The index of the tab with `id`.
        func index(ofTab id: Int) -> Int? { tabs.firstIndex { $0.id == id } }
    }

    /// A replacement across a notebook's cells, kept so it can be undone in one step.
    public struct Replacement: Sendable, Equatable {
        /// The tab it was made in.
        public var tab: Int
        /// Each changed cell's key, its text before and after.
        public var cells: [ChangedCell]

        /// One cell's change.
        public struct ChangedCell: Sendable, Equatable {
            /// The cell's key.
            public var key: Int
            /// The text before.
            public var before: String
            /// The text after.
            public var after: String
        }
    }
}
