public import CoreSupport
public import Kernels
public import Notebook

/// The full-screen, editable notebook behind `wb open`: its state, the events that change it, and what it asks of the world.
///
/// The screen is a pure function of state: `update(state, event)` returns the next state and
/// `render(state, into:)` draws it. Whatever the app needs done outside (run code in the kernel,
/// write a file) it asks for by appending a `Command` to `state.commands`; `NotebookApp.Runtime`
/// performs them and reports back with `.session` events, so update never blocks on the kernel or the disk.
public enum NotebookApp {
    /// Jupyter's two modes: keys act on cells, or they edit the selected cell's text.
    public enum Mode: Sendable, Equatable {
        /// Keys act on cells (a, b, dd, j, k ...).
        case command
        /// Keys type into the selected cell.
        case edit
    }

    /// The kernel as the status bar shows it.
    public enum KernelState: Sendable, Equatable, CustomStringConvertible {
        /// Launched, not answering yet.
        case starting
        /// Ready and waiting.
        case idle
        /// Running code.
        case busy
        /// Being restarted.
        case restarting
        /// Gone (exited, killed, or it never started), with why.
        case dead(String)

        /// The word shown in the status bar.
        public var description: String {
            switch self {
            case .starting: "starting"
            case .idle: "idle"
            case .busy: "busy"
            case .restarting: "restarting"
            case .dead: "dead"
            }
        }
    }

    /// Where a code cell is in its run.
    public enum RunState: Sendable, Equatable {
        /// Not queued.
        case idle
        /// Sent, waiting for earlier cells.
        case queued
        /// Running since this monotonic time.
        case running(since: Double)
    }

    /// One cell as the app holds it: the notebook's cell plus what the screen needs.
    public struct CellState: Sendable {
        /// An id unique in this session, for routing kernel events (notebook cell ids may be missing or repeated).
        public let key: Int
        /// The notebook cell (its id, metadata and unknown keys); source and outputs live in the fields below.
        public var base: NotebookCell
        /// The cell's text.
        public private(set) var source: String
        /// The source as display lines (tabs expanded).
        public private(set) var sourceLines: [String]
        /// The outputs, as they will be saved (while the cell runs, as collected so far).
        public var outputs: [Output] { collector?.outputs ?? storedOutputs }
        /// The outputs when no run is collecting them.
        private var storedOutputs: [Output]
        /// The execution count shown as `[n]`.
        public var executionCount: Int?
        /// Queued, running, or neither.
        public var run: RunState = .idle
        /// Seconds the last run took.
        public var lastDuration: Double?
        /// Whether the last run raised an error.
        public var failed = false
        /// Outputs hidden behind one line.
        public var collapsed = false
        /// A long output shown whole rather than capped.
        public var expanded = false
        /// The outputs laid out as lines (lazily: see `layOut()`).
        public var area: OutputArea
        /// Turns the running cell's IOPub messages into outputs.
        var collector: OutputCollector?
        /// A Markdown cell's text, parsed (nil for other cells, empty Markdown, and until first laid out).
        var markdown: MarkdownDocument?
        /// A Markdown cell's text rendered for `width` columns, shown while the cell is not edited;
        /// nil for other cells and empty Markdown, and until the cell is laid out.
        public private(set) var rendered: [[Span]]?
        /// The rows the rendered Markdown is expected to take until it is laid out.
        private var renderedEstimate = 0
        /// The columns the cell's text and outputs are laid out for.
        public private(set) var width: Int

        /// A cell state for `cell` under `key`, images laid out by `images`, text for `width` columns.
        ///
        /// Nothing is laid out yet: Markdown and outputs wait, with estimated heights, for `layOut()`,
        /// which the notebook calls for the cells that come near the screen.
        public init(key: Int, cell: NotebookCell, images: ImageLayout = .placeholders, width: Int = 77) {
            self.key = key
            self.base = cell
            self.source = cell.source
            self.sourceLines = NotebookView.sourceLines(cell.source)
            let outputs = cell.outputs
            self.storedOutputs = outputs
            self.executionCount = cell.executionCount
            self.width = max(1, width)
            self.area = OutputArea(outputs: outputs, images: images, width: max(1, width), lazily: true)
            invalidateMarkdown()
        }

        /// Whether the cell's Markdown and outputs are laid out, so its height is exact and drawing it is cheap.
        public var isLaidOut: Bool { area.isLaidOut && (rendered != nil || !showsMarkdown) }

        /// Lays out whatever waits: the rendered Markdown and the outputs.
        public mutating func layOut() {
            area.layOut()
            if showsMarkdown && rendered == nil {
                let document = markdown ?? MarkdownDocument(source)
                markdown = document
                rendered = document.lines(width: width)
            }
        }

        /// Whether the cell shows rendered Markdown when it is not edited (a Markdown cell with text).
        var showsMarkdown: Bool { base.kind == .markdown && !source.isEmpty }

        /// Rows the rendered Markdown takes (expects to take, until laid out).
        var markdownRows: Int { rendered?.count ?? renderedEstimate }

        /// The Markdown rendered for the cell's width, laid out now when it is not yet (and then not kept).
        var renderedNow: [[Span]] {
            rendered ?? (markdown ?? MarkdownDocument(source)).lines(width: width)
        }

        /// Drops the rendered Markdown (after an edit or a resize); the cell estimates its rows until laid out again.
        private mutating func invalidateMarkdown() {
            rendered = nil
            guard showsMarkdown else {
                markdown = nil
                renderedEstimate = 0
                return
            }
            renderedEstimate = MarkdownDocument.estimatedLines(source, width: width)
        }

        /// Lays the cell out anew for `width` columns (after a resize): outputs at once when laid out, Markdown when next shown.
        public mutating func setWidth(_ width: Int) {
            let width = max(1, width)
            guard width != self.width else { return }
            self.width = width
            area.setWidth(width)
            invalidateMarkdown()
        }

        /// `code`, `markdown`, `raw` (or whatever the file says).
        public var cellType: String { base.cellType }
        /// Whether this is a code cell.
        public var isCode: Bool { base.kind == .code }

        /// Replaces the text.
        public mutating func setSource(_ text: String) {
            guard text != source else { return }
            source = text
            sourceLines = NotebookView.sourceLines(text)
            markdown = nil
            invalidateMarkdown()
        }

        /// Replaces the outputs and lays them out again.
        public mutating func setOutputs(_ outputs: [Output]) {
            storedOutputs = outputs
            area.rebuild(outputs)
        }

        /// Ends collecting a run's outputs: keeps what was collected.
        mutating func finishCollecting() {
            guard let collector else { return }
            storedOutputs = collector.outputs
            self.collector = nil
        }

        /// The notebook cell as it will be saved.
        public var notebookCell: NotebookCell {
            var cell = base
            cell.source = source
            if base.kind == .code {
                cell.outputs = outputs
                cell.executionCount = executionCount
            }
            return cell
        }
    }

    /// A window over the notebook: help, a question, or an offer to restore.
    public enum Overlay: Sendable, Equatable {
        /// The list of keys, scrolled down this many lines.
        case help(scroll: Int)
        /// Quit with unsaved changes: save, discard or stay.
        case confirmQuit
        /// A recovery file with unsaved edits exists: restore it or discard it.
        case recovery(savedAt: String)
        /// The kernel's help for the name under the cursor.
        case inspection([[Span]])
    }

    /// An `input()` the running cell is waiting on, answered in a line under the cell.
    public struct InputPrompt: Sendable, Equatable {
        /// The cell asking.
        public var cellKey: Int
        /// The prompt text.
        public var prompt: String
        /// Whether to hide what is typed (`getpass`).
        public var password: Bool
        /// What has been typed so far.
        public var text = ""
    }

    /// Completions the kernel offered for the text before the cursor.
    public struct Completion: Sendable, Equatable {
        /// The cell they are for.
        public var cellKey: Int
        /// The candidates.
        public var matches: [String]
        /// The highlighted candidate.
        public var selected = 0
        /// The code point range the chosen match replaces.
        public var start: Int
        /// The end of that range.
        public var end: Int
    }

    /// A line in the status bar for a while.
    public struct Message: Sendable, Equatable {
        /// What to say.
        public var text: String
        /// Whether it reports a failure (shown in red).
        public var isError: Bool
        /// When it goes (monotonic seconds).
        public var until: Double
    }

    /// Work the runtime does for the app; the result comes back as a `SessionEvent`.
    public enum Command: Sendable {
        /// Run `code` for the cell with `cell` key.
        case execute(cell: Int, code: String)
        /// Interrupt the running cell.
        case interrupt
        /// Restart the kernel (or start it again after it died).
        case restart
        /// Answer the pending `input()`.
        case answerInput(String)
        /// Write the notebook to `path`; `.saved(change:)` reports it.
        case save(Notebook, path: String, change: Int)
        /// Write the notebook to the recovery file; `.autosaved(change:)` reports it.
        case autosave(Notebook, change: Int)
        /// Remove the recovery file (the edits were saved or thrown away).
        case discardRecovery
        /// Ask the kernel for completions at a code point offset.
        case complete(id: Int, code: String, cursor: Int)
        /// Ask the kernel for help on the name at a code point offset.
        case inspect(id: Int, code: String, cursor: Int)
        /// The user answered the culler's warning: keep the session.
        case keepAlive
    }

    /// What the kernel session and the file writes report back.
    public enum SessionEvent: Sendable {
        /// The kernel's state changed.
        case kernelStatus(KernelState)
        /// The kernel answered `kernel_info`: its name and language.
        case kernelReady(displayName: String, languageInfo: JSON?)
        /// The kernel began a cell (its `execute_input`).
        case cellStarted(cell: Int, executionCount: Int?)
        /// Stream text for a cell (consecutive chunks already joined).
        case stream(cell: Int, name: String, text: String)
        /// Another IOPub output message for a cell (display data, results, errors, clear_output).
        case output(cell: Int, KernelMessage)
        /// A cell finished (or was aborted, or the kernel died under it).
        case cellFinished(cell: Int, outcome: ExecutionResult.Outcome, executionCount: Int?)
        /// A cell called `input()`.
        case inputRequested(cell: Int, prompt: String, password: Bool)
        /// Completions for request `id` (empty when there are none or the kernel could not answer).
        case completions(id: Int, matches: [String], start: Int, end: Int)
        /// Help text for request `id`, nil when the kernel found nothing.
        case inspection(id: Int, text: String?)
        /// The notebook was written (error nil) or not.
        case saved(change: Int, error: String?)
        /// The recovery file was written (error nil) or not.
        case autosaved(change: Int, error: String?)
        /// The culler warned that the idle session stops in this many seconds (nil: the warning was withdrawn).
        case cullWarning(secondsLeft: Double?)
    }

    /// What `update` receives.
    public enum Event: Sendable {
        /// Keys, mouse, paste.
        case input(InputEvent)
        /// The screen's size, first at start and then after each resize.
        case resize(Size)
        /// Time passes (monotonic seconds): running timers, autosave, messages expiring.
        case tick(Double)
        /// The kernel or a file write reports.
        case session(SessionEvent)
    }

    /// Everything the screen shows and the app remembers.
    public struct State: Sendable {
        /// The notebook's file.
        public var path: String
        /// The name shown in the status bar.
        public var fileName: String
        /// The notebook's top level (metadata, format); its `cells` are not used, `cells` below are.
        public var notebook: Notebook
        /// The cells.
        public var cells: [CellState]
        /// The selected cell's index.
        public var selected = 0
        /// Command or edit mode.
        public var mode = Mode.command
        /// The selected cell's editor, in edit mode.
        public var editor: TextEditor?
        /// Editors of cells edited before, by cell key, so undo history survives leaving a cell.
        var stashedEditors: [Int: TextEditor] = [:]
        /// The screen size.
        public var size: Size
        /// How image outputs show on this terminal (`setImageLayout` changes it).
        public internal(set) var imageLayout = ImageLayout.placeholders
        /// Markdown cells show their source rather than rendered (while the find bar marks matches in it).
        public var markdownAsSource = false
        /// The first document row on screen.
        public var scrollTop = 0
        /// Whether the view follows the selection (off after scrolling by hand, on again when the selection moves).
        public var follow = true
        /// The kernel's state.
        public var kernel = KernelState.starting
        /// The kernel's name as shown (display name once it is ready).
        public var kernelName: String
        /// The highest execution count so far.
        public var executionCounter = 0
        /// Bumped on every change to the notebook.
        public var change = 0
        /// The change last written to the file.
        public var savedChange = 0
        /// The change last written to the recovery file.
        public var autosavedChange = 0
        /// When the recovery file was last written (monotonic seconds).
        public var lastAutosave = 0.0
        /// The latest time seen (monotonic seconds).
        public var now = 0.0
        /// The first key of a two-key command (d,d  i,i  0,0).
        public var pendingKey: Character?
        /// Cells copied or cut, for v and V.
        public var clipboard: [NotebookCell] = []
        /// Deleted cells with where they were, newest last, for z.
        public var deleted: [(index: Int, cells: [CellState])] = []
        /// A window over the notebook.
        public var overlay: Overlay?
        /// The `input()` being answered.
        public var inputPrompt: InputPrompt?
        /// Completions on show.
        public var completion: Completion?
        /// A status bar message.
        public var message: Message?
        /// Work for the runtime, taken away after each update.
        public var commands: [Command] = []
        /// The notebook from a recovery file, offered on open.
        public var recovered: Notebook?
        /// Quit once the pending save succeeds.
        public var quitAfterSave = false
        /// Whether the app is done.
        public var quit = false
        /// Whether it ended by detaching (the kernel keeps running in its session host).
        public var detach = false
        /// When the culler stops this idle session (monotonic seconds), while its warning shows.
        public var cullDeadline: Double?
        /// The next `CellState.key`.
        var nextKey = 0
        /// The next completion or inspection request id.
        var nextRequest = 1

        /// The state for `notebook` read from `path` on a screen of `size`.
        public init(notebook: Notebook, path: String, size: Size = Size(width: 80, height: 24), kernelName: String? = nil) {
            self.path = path
            self.fileName = FilePath.lastComponent(of: path)
            var top = notebook
            top.cells = []
            self.notebook = top
            self.size = size
            self.kernelName = kernelName ?? notebook.kernelName ?? "python3"
            self.cells = []
            for cell in notebook.cells { cells.append(makeCell(cell)) }
            if cells.isEmpty { cells.append(makeCell(newCell(.code))) }
            // Only the first page is laid out; the rest waits until it comes near the screen.
            settleLayout()
        }

        /// Whether there are changes not written to the file.
        public var isDirty: Bool { change != savedChange }

        /// The selected cell.
        public var current: CellState { cells[selected] }

        /// The notebook as it will be saved.
        public var notebookForSave: Notebook {
            var nb = notebook
            nb.cells = cells.map(\.notebookCell)
            return nb
        }

        /// A cell state with a fresh key.
        mutating func makeCell(_ cell: NotebookCell) -> CellState {
            defer { nextKey += 1 }
            return CellState(key: nextKey, cell: cell, images: imageLayout, width: textWidth)
        }

        /// A new empty cell, with an id when the format has them.
        func newCell(_ kind: NotebookCell.Kind, source: String = "", metadata: JSONObject = [:]) -> NotebookCell {
            NotebookCell(kind, source: source, id: notebook.hasCellIDs ? NotebookCell.randomID() : nil, metadata: metadata)
        }

        /// The index of the cell with `key`.
        func index(of key: Int) -> Int? { cells.firstIndex { $0.key == key } }

        /// The running cell, if one is.
        public var runningCell: Int? {
            cells.firstIndex { if case .running = $0.run { true } else { false } }
        }
    }
}
