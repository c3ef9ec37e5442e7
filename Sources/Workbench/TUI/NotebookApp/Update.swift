internal import CoreSupport
internal import Kernels
internal import Notebook

extension NotebookApp {
    /// Seconds between writes of the recovery file while there are unsaved changes.
    public static let autosaveInterval = 2.0
    /// Seconds a status message stays.
    static let messageSeconds = 4.0

    /// The state after `event`; work for the world is appended to `commands`.
    public static func update(_ state: State, _ event: Event) -> State {
        var next = state
        switch event {
        case .resize(let size):
            next.size = size
            let width = next.textWidth
            next.editor?.wrapWidth = width
            for i in next.cells.indices { next.cells[i].setWidth(width) }
            for i in next.deleted.indices {
                for j in next.deleted[i].cells.indices { next.deleted[i].cells[j].setWidth(width) }
            }
        case .tick(let now): next.tick(now)
        case .session(let report): next.apply(report)
        case .input(let input): next.handle(input)
        }
        next.clampSelection()
        next.settleLayout()
        return next
    }
}

// MARK: Time and reports

extension NotebookApp.State {
    mutating func tick(_ time: Double) {
        // A message said before the first tick (on open) counts from it.
        if now == 0, let said = message { message?.until = time + said.until }
        now = max(now, time)
        if let message, message.until <= now { self.message = nil }
        if change != autosavedChange && isDirty && now - lastAutosave >= NotebookApp.autosaveInterval && recovered == nil {
            commands.append(.autosave(notebookForSave, change: change))
            autosavedChange = change
            lastAutosave = now
        }
    }

    /// Shows `text` above the status bar for a few seconds (an error longer, in red).
    public mutating func say(_ text: String, error: Bool = false) {
        message = NotebookApp.Message(text: text, isError: error, until: now + NotebookApp.messageSeconds * (error ? 2 : 1))
    }

    /// Marks the notebook changed.
    mutating func touch() { change += 1 }

    mutating func apply(_ report: NotebookApp.SessionEvent) {
        switch report {
        case .kernelStatus(let status):
            kernel = status
            if case .dead(let why) = status {
                for i in cells.indices where cells[i].run != .idle { finishRun(i) }
                inputPrompt = nil
                say("kernel died: \(why) — press 0,0 to restart it; your edits are kept", error: true)
            }
        case .kernelReady(let name, let languageInfo):
            kernelName = name
            if let languageInfo, case .object = languageInfo { notebook.metadata["language_info"] = languageInfo }
        case .cellStarted(let key, let count):
            guard let i = index(of: key) else { return }
            cells[i].run = .running(since: now)
            if let count { executionCounter = max(executionCounter, count) }
        case .stream(let key, let name, let text):
            guard let i = index(of: key), cells[i].collector != nil else { return }
            let message = KernelMessage(header: ["msg_type": "stream"], content: ["name": .string(name), "text": .string(text)])
            // Costs the chunk: the collector and the output area both grow in place, nothing is joined or re-laid out.
            let before = cells[i].collector!.count
            cells[i].collector!.apply(message)
            if !(cells[i].collector!.count == before && cells[i].area.appendStream(name: name, text: text)) {
                cells[i].area.rebuild(cells[i].collector!.outputs)
            }
        case .output(let key, let message):
            guard let i = index(of: key), cells[i].collector != nil else { return }
            if cells[i].collector!.apply(message) { cells[i].setOutputs(cells[i].collector!.outputs) }
        case .cellFinished(let key, let outcome, let count):
            guard let i = index(of: key) else { return }
            if case .running(let since) = cells[i].run { cells[i].lastDuration = now - since }
            finishRun(i)
            if let count {
                cells[i].executionCount = count
                executionCounter = max(executionCounter, count)
            }
            switch outcome {
            case .error: cells[i].failed = true
            case .kernelDied(let why):
                if case .dead = kernel {} else { kernel = .dead(Self.firstLine(why)) }
                say("the kernel died while running cell \(i + 1) — press 0,0 to restart it", error: true)
            default: break
            }
            if inputPrompt?.cellKey == key { inputPrompt = nil }
            touch()
        case .inputRequested(let key, let prompt, let password):
            guard let i = index(of: key) else { return }
            inputPrompt = NotebookApp.InputPrompt(cellKey: key, prompt: prompt, password: password)
            completion = nil
            if mode == .edit { leaveEdit() }
            select(i)
        case .completions(let id, let matches, let start, let end):
            guard id == nextRequest - 1, mode == .edit else { return }
            receiveCompletions(matches: matches, start: start, end: end)
        case .inspection(let id, let text):
            guard id == nextRequest - 1 else { return }
            if let text, !text.isEmpty {
                overlay = .inspection(OutputSanitizer.sanitize(text))
            } else {
                say("the kernel has no help for that")
            }
        case .saved(let savedAt, let error):
            if let error {
                quitAfterSave = false
                say("not saved: \(error)", error: true)
            } else {
                savedChange = max(savedChange, savedAt)
                if autosavedChange < savedAt { autosavedChange = savedAt }
                // The file now holds everything; a later change keeps the recovery file going.
                if savedAt == change { commands.append(.discardRecovery) }
                say("saved \(fileName)")
                if quitAfterSave { quit = true }
            }
        case .autosaved(_, let error):
            if let error { say("cannot write the recovery file: \(error)", error: true) }
        case .cullWarning(let secondsLeft):
            applyCullWarning(secondsLeft)
        }
    }

    static func firstLine(_ text: String) -> String {
        String(text.split(separator: "\n", maxSplits: 1).first ?? "")
    }

    mutating func finishRun(_ i: Int) {
        cells[i].run = .idle
        cells[i].finishCollecting()
    }
}

// MARK: Input

extension NotebookApp.State {
    mutating func handle(_ input: InputEvent) {
        // Any key answers the culler's countdown (and does nothing else).
        if cullDeadline != nil, case .key = input {
            keepAlive()
            return
        }
        if let overlay {
            handleOverlay(overlay, input)
            return
        }
        if inputPrompt != nil {
            handlePrompt(input)
            return
        }
        switch input {
        case .key(let key):
            if global(key) { return }
            if mode == .command { commandKey(key) } else { editKey(key) }
        case .paste(let text):
            paste(text)
        case .mouse(let mouse):
            handleMouse(mouse)
        default:
            break
        }
    }

    /// Keys that work in both modes; true when `key` was one.
    mutating func global(_ key: KeyEvent) -> Bool {
        switch (key.key, key.modifiers) {
        case (.character("s"), .control):
            save()
        case (.character("q"), .control):
            requestQuit()
        case (.character("d"), .control):
            requestDetach()
        case (.function(1), []):
            overlay = .help(scroll: 0)
        case (.character("r"), .control), (.enter, .shift):
            runAndAdvance()
        case (.function(5), []), (.enter, .control):
            leaveEdit()
            run([selected])
        case (.enter, .alt):
            leaveEdit()
            run([selected])
            insertCell(at: selected + 1, kind: .code)
            enterEdit()
        default:
            return false
        }
        pendingKey = nil
        return true
    }

    mutating func commandKey(_ key: KeyEvent) {
        let pending = pendingKey
        pendingKey = nil
        guard key.modifiers.subtracting(.shift).isEmpty else { return }
        switch key.key {
        case .enter: enterEdit()
        case .down, .character("j"): select(selected + 1)
        case .up, .character("k"): select(selected - 1)
        case .home: select(0)
        case .end: select(cells.count - 1)
        case .pageDown: scroll(by: max(1, pageHeight - 2))
        case .pageUp: scroll(by: -max(1, pageHeight - 2))
        case .character("a"): insertCell(at: selected, kind: .code)
        case .character("b"): insertCell(at: selected + 1, kind: .code)
        case .character("d"):
            if pending == "d" { deleteCells(selected..<(selected + 1)) } else { pendingKey = "d" }
        case .character("i"):
            if pending == "i" { interrupt() } else { pendingKey = "i" }
        case .character("0"):
            if pending == "0" { restart() } else { pendingKey = "0" }
        case .character("z"): undoDelete()
        case .character("y"): setKind(.code)
        case .character("m"): setKind(.markdown)
        case .character("r"): setKind(.raw)
        case .character("c"):
            clipboard = [current.notebookCell]
            say("copied cell \(selected + 1)")
        case .character("x"):
            clipboard = [current.notebookCell]
            deleteCells(selected..<(selected + 1))
        case .character("v"): pasteCells(at: selected + 1)
        case .character("V"): pasteCells(at: selected)
        case .character("o"):
            cells[selected].collapsed.toggle()
        case .character("O"):
            cells[selected].expanded.toggle()
            cells[selected].collapsed = false
        case .character("s"): save()
        case .character("h"), .character("?"): overlay = .help(scroll: 0)
        case .function(6): run(Array(cells.indices))
        case .function(7): run(Array(0..<selected))
        case .function(8): run(Array(selected..<cells.count))
        default: break
        }
    }

    mutating func handleMouse(_ mouse: MouseEvent) {
        switch mouse.kind {
        case .scrollDown: scroll(by: 3)
        case .scrollUp: scroll(by: -3)
        case .press(.left):
            guard mouse.position.y < pageHeight, let i = cellAt(row: scrollTop + mouse.position.y) else { return }
            if i != selected {
                if mode == .edit { leaveEdit() }
                select(i)
            }
        default: break
        }
    }

    mutating func handleOverlay(_ overlay: NotebookApp.Overlay, _ input: InputEvent) {
        guard case .key(let key) = input else { return }
        switch overlay {
        case .help(let scroll):
            let most = max(0, NotebookApp.helpLines.count - max(1, pageHeight - 2))
            switch key.key {
            case .down, .character("j"): self.overlay = .help(scroll: min(most, scroll + 1))
            case .up, .character("k"): self.overlay = .help(scroll: max(0, scroll - 1))
            case .pageDown, .character(" "): self.overlay = .help(scroll: min(most, scroll + pageHeight / 2))
            case .pageUp: self.overlay = .help(scroll: max(0, scroll - pageHeight / 2))
            default: self.overlay = nil
            }
        case .inspection:
            self.overlay = nil
        case .confirmQuit:
            switch key.key {
            case .character("y"), .character("s"):
                self.overlay = nil
                quitAfterSave = true
                save()
            case .character("n"), .character("d"):
                commands.append(.discardRecovery)
                quit = true
            case .escape, .character("c"):
                self.overlay = nil
            default: break
            }
        case .recovery:
            switch key.key {
            case .character("r"):
                self.overlay = nil
                restoreRecovered()
            case .character("d"):
                self.overlay = nil
                recovered = nil
                commands.append(.discardRecovery)
                say("recovered edits discarded")
            case .escape:
                // Keep the file for next time; autosave resumes and will replace it with this session's edits.
                self.overlay = nil
                recovered = nil
            default: break
            }
        }
    }

    mutating func handlePrompt(_ input: InputEvent) {
        guard var prompt = inputPrompt else { return }
        switch input {
        case .key(let key):
            switch (key.key, key.modifiers) {
            case (.enter, _):
                commands.append(.answerInput(prompt.text))
                inputPrompt = nil
                return
            case (.character("c"), .control):
                commands.append(.answerInput(""))
                commands.append(.interrupt)
                inputPrompt = nil
                return
            case (.backspace, _):
                if !prompt.text.isEmpty { prompt.text.removeLast() }
            case (.character("s"), .control), (.character("q"), .control):
                _ = global(key)
                return
            case (.character(let c), let modifiers) where modifiers.subtracting(.shift).isEmpty:
                prompt.text.append(c)
            default:
                return
            }
        case .paste(let text):
            prompt.text += text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        default:
            return
        }
        inputPrompt = prompt
    }
}

// MARK: Cells

extension NotebookApp.State {
    mutating func select(_ index: Int) {
        selected = min(max(0, index), cells.count - 1)
        follow = true
    }

    mutating func clampSelection() {
        if cells.isEmpty { cells.append(makeCell(newCell(.code))) }
        selected = min(max(0, selected), cells.count - 1)
    }

    mutating func insertCell(at index: Int, kind: NotebookCell.Kind) {
        let at = min(max(0, index), cells.count)
        cells.insert(makeCell(newCell(kind)), at: at)
        select(at)
        touch()
    }

    mutating func deleteCells(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        if cells[range].contains(where: { $0.run != .idle }) {
            say("cell \(range.lowerBound + 1) is running: interrupt it first (i,i)", error: true)
            return
        }
        deleted.append((index: range.lowerBound, cells: Array(cells[range])))
        if deleted.count > 50 { deleted.removeFirst() }
        cells.removeSubrange(range)
        if cells.isEmpty { cells.append(makeCell(newCell(.code))) }
        select(min(range.lowerBound, cells.count - 1))
        touch()
    }

    mutating func undoDelete() {
        guard let last = deleted.popLast() else {
            say("nothing to undelete")
            return
        }
        let at = min(last.index, cells.count)
        cells.insert(contentsOf: last.cells, at: at)
        select(at)
        touch()
    }

    mutating func pasteCells(at index: Int) {
        guard !clipboard.isEmpty else {
            say("nothing to paste: copy a cell with c first")
            return
        }
        let at = min(max(0, index), cells.count)
        let pasted = clipboard.map { cell -> NotebookApp.CellState in
            var copy = cell
            if copy.id != nil { copy.id = NotebookCell.randomID() }
            return makeCell(copy)
        }
        cells.insert(contentsOf: pasted, at: at)
        select(at)
        touch()
    }

    mutating func setKind(_ kind: NotebookCell.Kind) {
        let cell = cells[selected]
        guard cell.base.kind != kind, cell.run == .idle else { return }
        var json = cell.base.json
        json["cell_type"] = .string(kind.rawValue)
        if kind == .code {
            json["execution_count"] = .null
            json["outputs"] = .array([])
        } else {
            json["execution_count"] = nil
            json["outputs"] = nil
        }
        var replacement = NotebookApp.CellState(key: cell.key, cell: NotebookCell(json: json), images: imageLayout, width: textWidth)
        replacement.setSource(cell.source)
        cells[selected] = replacement
        touch()
    }

    // MARK: Running

    mutating func run(_ indices: [Int]) {
        let code = indices.filter { cells.indices.contains($0) && cells[$0].isCode }
        guard !code.isEmpty else { return }
        if case .dead = kernel {
            say("the kernel is dead: press 0,0 (command mode) to restart it; your edits are kept", error: true)
            return
        }
        for i in code {
            cells[i].run = .queued
            cells[i].failed = false
            cells[i].collector = OutputCollector()
            cells[i].setOutputs([])
            commands.append(.execute(cell: cells[i].key, code: cells[i].source))
        }
        touch()
    }

    mutating func runAndAdvance() {
        leaveEdit()
        run([selected])
        if selected == cells.count - 1 {
            insertCell(at: cells.count, kind: .code)
            enterEdit()
        } else {
            select(selected + 1)
        }
    }

    mutating func interrupt() {
        if inputPrompt != nil {
            commands.append(.answerInput(""))
            inputPrompt = nil
        }
        if case .dead = kernel {
            say("the kernel is dead: 0,0 restarts it", error: true)
            return
        }
        commands.append(.interrupt)
        say("interrupting the kernel")
    }

    mutating func restart() {
        inputPrompt = nil
        for i in cells.indices where cells[i].run != .idle { finishRun(i) }
        kernel = .restarting
        executionCounter = 0
        commands.append(.restart)
        say("restarting the kernel")
    }

    // MARK: Files

    mutating func save() {
        commitEditor()
        commands.append(.save(notebookForSave, path: path, change: change))
    }

    mutating func requestQuit() {
        commitEditor()
        if isDirty {
            overlay = .confirmQuit
        } else {
            commands.append(.discardRecovery)
            quit = true
        }
    }

    mutating func restoreRecovered() {
        guard let nb = recovered else { return }
        recovered = nil
        var top = nb
        top.cells = []
        notebook = top
        cells = nb.cells.map { makeCell($0) }
        if cells.isEmpty { cells.append(makeCell(newCell(.code))) }
        selected = 0
        scrollTop = 0
        follow = true
        touch()
        say("restored the recovered edits — Ctrl-S saves them")
    }

    // MARK: Scrolling

    /// Rows for the notebook (all but the status bar).
    var pageHeight: Int { max(0, size.height - 1) }

    /// Columns for cell text (after the marker and gutter).
    var textWidth: Int { max(1, size.width - NotebookApp.textX) }

    /// At most this many output rows show before a long output is capped.
    var outputCap: Int { max(6, pageHeight * 2 / 3) }

    /// The output rows a cell shows: all, capped (plus a line saying so), or one line when collapsed.
    func outputRows(_ cell: NotebookApp.CellState) -> Int {
        let count = cell.area.lineCount
        if count == 0 { return 0 }
        if cell.collapsed { return 1 }
        if !cell.expanded && count > outputCap { return outputCap + 1 }
        return count
    }

    /// Rows of the cell's text (the edited cell's wrap at the window's edge; rendered Markdown wraps; others are cut).
    func sourceRows(_ index: Int) -> Int {
        if mode == .edit && index == selected, let editor { return max(1, editor.height(width: textWidth)) }
        if showsRendered(index) { return max(1, cells[index].markdownRows) }
        return max(1, cells[index].sourceLines.count)
    }

    /// Whether cell `index` shows its Markdown rendered: a Markdown cell not being edited, as in JupyterLab.
    func showsRendered(_ index: Int) -> Bool {
        !markdownAsSource && !(mode == .edit && index == selected) && cells[index].showsMarkdown
    }

    /// Cell `index`'s Markdown as rendered, when it shows rendered (rendered for the call if the cell is not laid out).
    func renderedMarkdown(_ index: Int) -> [[Span]]? {
        showsRendered(index) ? cells[index].renderedNow : nil
    }

    /// Rows cell `index` takes: header, text, outputs, an input line, a gap.
    func height(of index: Int) -> Int {
        let cell = cells[index]
        return 1 + sourceRows(index) + outputRows(cell) + (inputPrompt?.cellKey == cell.key ? 1 : 0) + 1
    }

    // MARK: Lazy layout

    /// Rows above and below the page that are laid out ahead of scrolling.
    var layoutMargin: Int { max(8, pageHeight) }

    /// Lays out the cells on the page and a margin around it, keeping the selection in view.
    ///
    /// Cells are laid out (Markdown rendered, outputs sanitized) only when they come near the
    /// screen; until then their heights are estimates (exact for plain-text outputs). When laying
    /// out corrects heights above the page, the view keeps the row it showed at its top, as a
    /// virtualised list does, so what is on screen does not jump.
    mutating func settleLayout() {
        if cells.indices.contains(selected) { cells[selected].layOut() }
        keepSelectionVisible()
        // Each pass lays out at least one cell or stops; a few passes settle any corrections.
        for _ in 0..<4 {
            guard layOutPage() else { break }
            keepSelectionVisible()
        }
    }

    /// Lays out the cells near the page that are not laid out yet; false when there were none.
    mutating func layOutPage() -> Bool {
        guard !cells.isEmpty else { return false }
        let tops = cellTops().tops
        let from = max(0, scrollTop - layoutMargin)
        let to = scrollTop + pageHeight + layoutMargin
        // The cell at the page's top, and how far into it the page starts: kept across corrections.
        let anchor = Self.lastIndex(in: tops, atOrBefore: scrollTop)
        let offset = scrollTop - tops[anchor]
        var changed = false
        var i = Self.lastIndex(in: tops, atOrBefore: from)
        while i < cells.count && tops[i] < to {
            if !cells[i].isLaidOut {
                cells[i].layOut()
                changed = true
            }
            i += 1
        }
        guard changed else { return false }
        let newTops = cellTops().tops
        scrollTop = max(0, newTops[anchor] + min(offset, max(0, height(of: anchor) - 1)))
        return true
    }

    /// The last index whose value is at most `row` in ascending `tops` (0 when none is).
    static func lastIndex(in tops: [Int], atOrBefore row: Int) -> Int {
        var low = 0
        var high = tops.count
        while low < high {
            let mid = (low + high) / 2
            if tops[mid] <= row { low = mid + 1 } else { high = mid }
        }
        return max(0, low - 1)
    }

    /// The first document row of each cell, and the total.
    func cellTops() -> (tops: [Int], total: Int) {
        var tops: [Int] = []
        tops.reserveCapacity(cells.count)
        var row = 0
        for i in cells.indices {
            tops.append(row)
            row += height(of: i)
        }
        return (tops, row)
    }

    /// The cell at a document row.
    func cellAt(row: Int) -> Int? {
        let (tops, total) = cellTops()
        guard row >= 0 && row < total else { return nil }
        return tops.lastIndex { $0 <= row }
    }

    mutating func scroll(by rows: Int) {
        let total = cellTops().total
        scrollTop = min(max(0, scrollTop + rows), max(0, total - pageHeight))
        follow = false
    }

    /// Scrolls so the selected cell (in edit mode, the cursor's line) is on screen, if following.
    mutating func keepSelectionVisible() {
        let (tops, total) = cellTops()
        let page = pageHeight
        scrollTop = min(max(0, scrollTop), max(0, total - page))
        guard follow, cells.indices.contains(selected), page > 0 else { return }
        let top = tops[selected]
        let bottom = top + height(of: selected)
        var focusTop = top
        var focusBottom = bottom
        if let prompt = inputPrompt, prompt.cellKey == cells[selected].key {
            focusTop = bottom - 2
            focusBottom = bottom
        } else if mode == .edit {
            let row = top + 1 + min(editorCursorRow, sourceRows(selected) - 1)
            focusTop = row
            focusBottom = row + 1
        }
        if focusBottom - focusTop >= page || focusTop < scrollTop {
            scrollTop = focusTop
        } else if focusBottom > scrollTop + page {
            scrollTop = focusBottom - page
        }
        if mode == .command && bottom - top <= page && top < scrollTop { scrollTop = top }
    }
}
