internal import CoreSupport
internal import Notebook

extension Workspace {
    /// The state after `event`; work for the world is appended to `commands`.
    public static func update(_ state: State, _ event: Event) -> State {
        var next = state
        switch event {
        case .resize(let size):
            next.size = size
            next.layout()
        case .tick(let now):
            next.tick(now)
        case .session(let id, let report):
            next.apply(report, tab: id)
        case .textSaved(let id, let change, let error):
            next.textSaved(tab: id, change: change, error: error)
        case .opened(let document):
            next.add(document)
            next.layout()
        case .openFailed(let path, let error):
            next.say("cannot open \(path): \(error)", error: true)
        case .listed(let directory, let entries, let error):
            if case .files(var browser) = next.panel, browser.directory == directory {
                browser.entries = entries
                browser.error = error
                browser.selected = min(browser.selected, max(0, browser.rows.count - 1))
                next.panel = .files(browser)
            }
        case .kernelsFound(let choices, let problems):
            if case .kernels(var picker) = next.panel {
                picker.choices = choices
                picker.problems = problems
                picker.selected = choices.firstIndex { $0.name == picker.current } ?? 0
                next.panel = .kernels(picker)
            }
        case .input(let input):
            next.handle(input)
        case .git(let result):
            next.gitDone(result)
        case .reloaded(let id, let content):
            next.reloaded(tab: id, content)
        }
        next.takeGitRequests()
        next.refreshFind()
        if next.quitAfterSave && !next.isDirty { next.quit = true }
        return next
    }
}

// MARK: Documents

extension Workspace.State {
    /// Rows of the tab bar at the top: one when more than one file is open.
    var tabBarRows: Int { tabs.count > 1 ? 1 : 0 }

    /// Rows of the find bar at the bottom.
    var findRows: Int { find == nil ? 0 : 2 }

    /// The size of the active document's area.
    var documentSize: Size { Size(width: size.width, height: max(0, size.height - tabBarRows - findRows)) }

    /// Gives every document the area's size (after a resize, a tab opening or closing, the find bar opening or closing).
    mutating func layout() {
        for i in tabs.indices { tabs[i].document = sized(tabs[i].document) }
    }

    /// `document` resized to the document area, if its size differs.
    func sized(_ document: Workspace.Document) -> Workspace.Document {
        let area = documentSize
        switch document {
        case .notebook(var notebook):
            // While the find bar is open, Markdown cells show the source its matches are marked in.
            let asSource = find != nil
            guard notebook.size != area || notebook.markdownAsSource != asSource else { return document }
            notebook.markdownAsSource = asSource
            return .notebook(NotebookApp.update(notebook, .resize(area)))
        case .text(var text):
            guard text.size != area else { return document }
            text.resize(area)
            return .text(text)
        }
    }

    /// Changes the notebook in tab `index` with `body`, taking the commands it queued into the workspace's.
    mutating func withNotebook(at index: Int, _ body: (inout NotebookApp.State) -> Void) {
        guard tabs.indices.contains(index), case .notebook(var notebook) = tabs[index].document else { return }
        body(&notebook)
        notebook.settleLayout()
        collect(&notebook, tab: index)
        tabs[index].document = .notebook(notebook)
    }

    /// Feeds `event` to the notebook in tab `index`.
    mutating func updateNotebook(at index: Int, _ event: NotebookApp.Event) {
        guard tabs.indices.contains(index), case .notebook(let notebook) = tabs[index].document else { return }
        var updated = NotebookApp.update(notebook, event)
        collect(&updated, tab: index)
        tabs[index].document = .notebook(updated)
        if updated.detach {
            requestDetach()
        } else if updated.quit {
            close(tab: tabs[index].id)
        }
    }

    /// Moves a notebook's queued commands into the workspace's, tagged with its tab.
    private mutating func collect(_ notebook: inout NotebookApp.State, tab index: Int) {
        guard !notebook.commands.isEmpty else { return }
        let id = tabs[index].id
        commands += notebook.commands.map { .notebook(tab: id, $0) }
        notebook.commands = []
    }

    /// Shows a message in the active document's status area.
    mutating func say(_ text: String, error: Bool = false) {
        guard tabs.indices.contains(active) else { return }
        switch tabs[active].document {
        case .notebook:
            withNotebook(at: active) { $0.say(text, error: error) }
        case .text(var document):
            document.say(text, error: error, now: now)
            tabs[active].document = .text(document)
        }
    }

    mutating func tick(_ time: Double) {
        // A text file's message said before the first tick (on open) counts from it, as a notebook's does.
        let first = now == 0
        now = max(now, time)
        git?.now = now
        for i in tabs.indices {
            switch tabs[i].document {
            case .notebook: updateNotebook(at: i, .tick(time))
            case .text(var text):
                if first, let said = text.message {
                    text.message?.until = time + said.until
                    tabs[i].document = .text(text)
                } else if let message = text.message, message.until <= now {
                    text.message = nil
                    tabs[i].document = .text(text)
                }
            }
        }
    }

    /// A notebook's kernel or file write reports.
    mutating func apply(_ report: NotebookApp.SessionEvent, tab id: Int) {
        guard let index = index(ofTab: id) else { return }
        updateNotebook(at: index, .session(report))
        guard case .saved(_, let error) = report else { return }
        if error != nil {
            quitAfterSave = false
            closeAfterSave.remove(id)
        } else if closeAfterSave.contains(id), let i = self.index(ofTab: id), !tabs[i].document.isDirty {
            close(tab: id)
        }
    }

    mutating func textSaved(tab id: Int, change: Int, error: String?) {
        guard let index = index(ofTab: id), case .text(var text) = tabs[index].document else { return }
        if let error {
            quitAfterSave = false
            closeAfterSave.remove(id)
            text.say("not saved: \(error)", error: true, now: now)
        } else {
            text.savedChange = max(text.savedChange, change)
            text.isNew = false
            text.say("saved \(text.fileName)", now: now)
        }
        tabs[index].document = .text(text)
        if error == nil, closeAfterSave.contains(id), !text.isDirty { close(tab: id) }
    }

    /// Writes the active document (a notebook through its own save).
    mutating func save(tab index: Int) {
        guard tabs.indices.contains(index) else { return }
        switch tabs[index].document {
        case .notebook: withNotebook(at: index) { $0.save() }
        case .text(let text):
            commands.append(.saveText(tab: tabs[index].id, text: text.editor.text, path: text.path, change: text.editor.changeCount))
        }
    }

    // MARK: Tabs

    /// Makes tab `index` the active one.
    mutating func activate(_ index: Int) {
        guard tabs.indices.contains(index) else { return }
        active = index
        if find != nil {
            find?.current = nil
            withNotebook(at: active) { if $0.mode == .edit { $0.leaveEdit() } }
        }
    }

    /// Closes tab `id` (its kernel is shut down); closing the last one quits.
    mutating func close(tab id: Int) {
        guard let index = index(ofTab: id) else { return }
        closeAfterSave.remove(id)
        let closed = tabs.remove(at: index)
        replacements.removeAll { $0.tab == id }
        commands.append(.closed(tab: id, closed.document.notebook))
        if tabs.isEmpty {
            quit = true
            return
        }
        if active > index || active >= tabs.count { active = max(0, active - 1) }
        layout()
    }

    /// Closes the active tab, asking first when it has unsaved changes.
    mutating func requestClose() {
        guard tabs.indices.contains(active) else { return }
        withNotebook(at: active) { $0.commitEditor() }
        let tab = tabs[active]
        if tab.document.isDirty {
            panel = .confirmClose(tab: tab.id)
        } else {
            if case .notebook = tab.document { commands.append(.notebook(tab: tab.id, .discardRecovery)) }
            close(tab: tab.id)
        }
    }

    /// Ends the app leaving the notebooks' kernels running (their unsaved edits go to recovery files);
    /// text files have no recovery file, so their unsaved changes must be saved first.
    mutating func requestDetach() {
        let unsaved = tabs.filter { $0.document.text?.isDirty == true }.map(\.document.fileName)
        guard unsaved.isEmpty else {
            say("save or close \(unsaved.joined(separator: ", ")) first: detaching keeps notebooks' edits only", error: true)
            return
        }
        for i in tabs.indices { withNotebook(at: i) { $0.commitEditor() } }
        detach = true
        quit = true
    }

    /// Quits, asking first when any file has unsaved changes.
    mutating func requestQuit() {
        for i in tabs.indices { withNotebook(at: i) { $0.commitEditor() } }
        if isDirty {
            panel = .confirmQuit
        } else {
            for tab in tabs where tab.document.notebook != nil { commands.append(.notebook(tab: tab.id, .discardRecovery)) }
            quit = true
        }
    }

    // MARK: Input

    mutating func handle(_ input: InputEvent) {
        guard tabs.indices.contains(active) else { return }
        if let panel {
            panelInput(panel, input)
            return
        }
        let notebookOverlay = document?.notebook.map { $0.overlay != nil } ?? false
        // While the culler counts down, any key keeps the session (the notebook takes it).
        if case .key = input, document?.notebook?.cullDeadline != nil {
            updateNotebook(at: active, .input(input))
            return
        }
        if case .key(let key) = input {
            if key == KeyEvent(.character("q"), .control) {
                requestQuit()
                return
            }
            if !notebookOverlay && global(key) { return }
        }
        if find != nil && !notebookOverlay {
            switch input {
            case .key, .paste:
                findKey(input)
                return
            default:
                break
            }
        }
        var input = input
        if case .mouse(let mouse) = input, tabBarRows > 0 {
            if mouse.position.y == 0 {
                if case .press(.left) = mouse.kind, let index = tabAt(x: mouse.position.x) { activate(index) }
                return
            }
            input = .mouse(MouseEvent(mouse.kind, x: mouse.position.x, y: mouse.position.y - tabBarRows, modifiers: mouse.modifiers))
        }
        switch tabs[active].document {
        case .notebook: updateNotebook(at: active, .input(input))
        case .text(var text):
            text.handle(input)
            tabs[active].document = .text(text)
        }
    }

    /// The workspace's own keys (save, palette, files, find, tabs, kernel, help); true when `key` was one.
    mutating func global(_ key: KeyEvent) -> Bool {
        switch (key.key, key.modifiers) {
        case (.character("s"), .control):
            save(tab: active)
        case (.character("p"), .control):
            panel = .palette(CommandPalette())
        case (.character(":"), []), (.character(":"), .shift):
            guard case .notebook(let notebook) = document, notebook.mode == .command, notebook.inputPrompt == nil, find == nil else { return false }
            panel = .palette(CommandPalette())
        case (.character("o"), .control):
            openFileBrowser()
        case (.character("t"), .control):
            panel = .switcher(selected: active)
        case (.character("n"), .alt):
            activate((active + 1) % tabs.count)
        case (.character("p"), .alt):
            activate((active + tabs.count - 1) % tabs.count)
        case (.character(let c), .alt) where ("1"..."9").contains(c):
            let index = (c.wholeNumberValue ?? 1) - 1
            guard tabs.indices.contains(index) else {
                say("only \(tabs.count) file\(tabs.count == 1 ? " is" : "s are") open")
                return true
            }
            activate(index)
        case (.character("w"), .alt):
            requestClose()
        case (.character("f"), .control):
            openFind()
        case (.character("k"), .control):
            openKernelPicker()
        case (.function(1), []):
            panel = .help(scroll: 0)
        case (.character("g"), .control):
            openGit()
        default:
            return false
        }
        return true
    }

    /// Keys (and pastes) while a panel is open.
    mutating func panelInput(_ panel: Workspace.Panel, _ input: InputEvent) {
        if case .palette(let palette) = panel {
            paletteKey(palette, input)
            return
        }
        if panel == .git {
            gitInput(input)
            return
        }
        guard case .key(let key) = input else { return }
        switch panel {
        case .palette, .git:
            break
        case .switcher(let selected):
            switcherKey(selected, key)
        case .files(let browser):
            fileBrowserKey(browser, key)
        case .kernels(let picker):
            kernelPickerKey(picker, key)
        case .help(let scroll):
            let most = max(0, NotebookApp.helpLines.count - max(1, size.height - 3))
            switch key.key {
            case .down, .character("j"): self.panel = .help(scroll: min(most, scroll + 1))
            case .up, .character("k"): self.panel = .help(scroll: max(0, scroll - 1))
            case .pageDown, .character(" "): self.panel = .help(scroll: min(most, scroll + size.height / 2))
            case .pageUp: self.panel = .help(scroll: max(0, scroll - size.height / 2))
            default:
                // Help opened from the git panel goes back to it.
                self.panel = helpReturnsToGit && git != nil ? .git : nil
                helpReturnsToGit = false
            }
        case .confirmQuit:
            switch key.key {
            case .character("y"), .character("s"):
                self.panel = nil
                quitAfterSave = true
                for i in tabs.indices where tabs[i].document.isDirty { save(tab: i) }
            case .character("n"), .character("d"):
                for tab in tabs where tab.document.notebook != nil { commands.append(.notebook(tab: tab.id, .discardRecovery)) }
                quit = true
            case .escape, .character("c"):
                self.panel = nil
            default:
                break
            }
        case .confirmClose(let id):
            guard let index = index(ofTab: id) else {
                self.panel = nil
                return
            }
            switch key.key {
            case .character("y"), .character("s"):
                self.panel = nil
                closeAfterSave.insert(id)
                save(tab: index)
            case .character("n"), .character("d"):
                self.panel = nil
                if tabs[index].document.notebook != nil { commands.append(.notebook(tab: id, .discardRecovery)) }
                close(tab: id)
            case .escape, .character("c"):
                self.panel = nil
            default:
                break
            }
        }
    }

    /// Keys in the switcher: move, Enter switches, `x` closes the chosen file, Esc closes the list.
    mutating func switcherKey(_ selected: Int, _ key: KeyEvent) {
        var selected = min(selected, tabs.count - 1)
        switch (key.key, key.modifiers) {
        case (.escape, _), (.character("t"), .control), (.character("q"), []):
            panel = nil
            return
        case (.down, []), (.character("j"), []), (.tab, []):
            selected = (selected + 1) % tabs.count
        case (.up, []), (.character("k"), []), (.tab, .shift):
            selected = (selected + tabs.count - 1) % tabs.count
        case (.enter, []):
            panel = nil
            activate(selected)
            return
        case (.character(let c), []) where ("1"..."9").contains(c):
            let index = (c.wholeNumberValue ?? 1) - 1
            guard tabs.indices.contains(index) else { return }
            panel = nil
            activate(index)
            return
        case (.character("x"), []), (.delete, []):
            panel = nil
            activate(selected)
            requestClose()
            if panel == nil && !tabs.isEmpty { panel = .switcher(selected: min(selected, tabs.count - 1)) }
            return
        default:
            return
        }
        panel = .switcher(selected: selected)
    }

    /// The label of tab `index` in the tab bar: its number, name and unsaved marker.
    func tabLabel(_ index: Int) -> String {
        let document = tabs[index].document
        return " \(index + 1) \(OutputSanitizer.plainText(document.fileName))\(document.isDirty ? " [+]" : "") "
    }

    /// The tab under column `x` of the tab bar.
    func tabAt(x: Int) -> Int? {
        var left = 0
        for index in tabs.indices {
            let width = DisplayWidth.of(tabLabel(index)) + 1
            if x >= left && x < left + width { return index }
            left += width
        }
        return nil
    }
}
