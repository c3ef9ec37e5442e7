internal import CoreSupport

// MARK: Results

extension GitPanel {
    /// Takes in what `wb-git` answered for one of the panel's requests.
    public mutating func apply(_ result: GitResult) {
        pending.removeAll { $0.id == result.id }
        if case .pull = result.request, result.status == GitResult.conflicts, let json = try? JSON.parse(result.stdout),
            let files = json["files"]?.arrayValue
        {
            // The merge stopped: the notebooks are valid, the conflicts are listed for Enter to resolve.
            say("the pull stopped with conflicts in \(files.count) file\(files.count == 1 ? "" : "s"): Enter on one resolves it", error: true)
            return
        }
        guard result.status == 0 else {
            failed(result)
            return
        }
        let json = try? JSON.parse(result.stdout)
        switch result.request {
        case .status:
            guard let json, let status = Self.status(json) else {
                say("cannot read wb-git's status output", error: true)
                return
            }
            let chosen = selectedEntry
            summary = status.summary
            entries = status.entries
            // Keep the same file chosen when it is still listed (in the same group, else any).
            if let chosen {
                selected = entries.firstIndex { $0.path == chosen.path && $0.group == chosen.group }
                    ?? entries.firstIndex { $0.path == chosen.path } ?? min(selected, max(0, entries.count - 1))
            }
            selected = min(selected, max(0, entries.count - 1))
        case .stage, .unstage:
            break
        case .discard(let paths):
            say("discarded the changes to \(GitRequest.names(paths))")
        case .commit:
            let commit = json?["id"]?.stringValue.map { String($0.prefix(7)) } ?? ""
            let summaryLine = json?["summary"]?.stringValue ?? ""
            say("committed \(commit) \(summaryLine)")
            message = nil
        case .branches:
            branches = (json?["branches"]?.arrayValue ?? []).compactMap(Self.branch).filter { !$0.name.isEmpty }
            branchSelected = branches.firstIndex { $0.isHead } ?? min(branchSelected, max(0, branches.count - 1))
        case .switchBranch(let name):
            say("switched to \(name)")
            screen = .status
        case .createBranch(let name):
            say("created branch \(name) (Enter on it switches)")
        case .stash:
            say("stashed the local changes (Z lists the stashes)")
        case .stashes:
            stashes = (json?["stashes"]?.arrayValue ?? []).compactMap(Self.stash)
            stashSelected = min(stashSelected, max(0, stashes.count - 1))
        case .stashPop(let index):
            say("brought back stash@{\(index)} and dropped it")
        case .fetch:
            let moved = json?["updated"]?.arrayValue?.count ?? 0
            let remote = json?["remote"]?.stringValue ?? "origin"
            say(moved == 0 ? "fetched \(remote): nothing new" : "fetched \(remote): \(moved) branch\(moved == 1 ? "" : "es") moved")
        case .pull:
            switch json?["result"]?.stringValue {
            case "up_to_date": say("pulled: already up to date")
            case "fast_forward": say("pulled: fast-forward to \(json?["commit"]?.stringValue?.prefix(7) ?? "")")
            default: say("pulled: merged \(json?["commit"]?["id"]?.stringValue?.prefix(7) ?? "")")
            }
        case .push:
            say("pushed \(json?["pushed"]?.stringValue ?? "the branch") to \(json?["remote"]?.stringValue ?? "origin")")
        case .log:
            commits = (json?["commits"]?.arrayValue ?? []).compactMap(Self.commit)
            commitSelected = min(commitSelected, max(0, commits.count - 1))
            showSelectedCommit()
        case .diff(let path, let group):
            guard screen == .diff, diffTitle == Self.diffTitle(path, group) else { return }
            diffLines = Self.lines(result.stdout, empty: "no changes to show")
        case .show(let commit):
            if screen == .history, commits.indices.contains(commitSelected), commits[commitSelected].id == commit {
                diffLines = Self.lines(result.stdout, empty: "(no changes)")
                diffScroll = 0
            }
            showSelectedCommit()
        case .conflicts(let path):
            guard conflictPath == path else { return }
            conflicts = (json?["cells"]?.arrayValue ?? []).compactMap(Self.conflict)
            conflictsLoaded = true
            conflictSelected = min(conflictSelected, max(0, conflicts.count - 1))
            if conflicts.isEmpty { say("\(path) has no conflicting cells left: r marks it resolved (stages it)") }
        case .resolve(let path, _, _):
            let staged = json?["staged"]?.boolValue ?? true
            if staged {
                say("\(path): resolved and staged")
                if conflictPath == path {
                    screen = .status
                    conflictPath = nil
                    conflicts = []
                }
            } else if conflictPath == path {
                conflicts = (json?["remaining"]?.arrayValue ?? []).compactMap(Self.conflict)
                conflictSelected = min(conflictSelected, max(0, conflicts.count - 1))
                say("\(conflicts.count) conflicting cell\(conflicts.count == 1 ? "" : "s") left in \(path)")
            }
        }
    }

    /// A stash entry from `wb git stash list --json`.
    static func stash(_ json: JSON) -> Stash? {
        guard let index = json["index"]?.intValue, let commit = json["commit"]?.stringValue else { return nil }
        return Stash(index: index, message: json["message"]?.stringValue ?? "", commit: commit)
    }

    /// A request that failed: say why (in a box when it takes several lines, as the missing-identity advice does).
    mutating func failed(_ result: GitResult) {
        let text = result.errorMessage
        switch result.request {
        case .diff, .show:
            diffLines = [[Span(text, style: Style(foreground: .red))]]
        case .commit:
            // Keep the message box open with what was typed, so nothing is lost.
            break
        default:
            break
        }
        say(text, error: true, box: true)
    }

    /// The history screen shows the selected commit's diff; ask for it unless it is shown or on its way.
    mutating func showSelectedCommit() {
        guard screen == .history, commits.indices.contains(commitSelected) else { return }
        let id = commits[commitSelected].id
        guard shownCommit != id else { return }
        if pending.contains(where: { if case .show = $0.request { true } else { false } }) { return }
        shownCommit = id
        diffLines = [[Span("reading commit \(id.prefix(7))…", style: NotebookApp.noteStyle)]]
        send(.show(commit: id))
    }

    static func diffTitle(_ path: String, _ group: Group) -> String {
        switch group {
        case .staged: "\(path) — staged (index against HEAD)"
        case .unstaged: "\(path) — not staged (working tree against the index)"
        case .untracked: "\(path) — untracked (the whole file)"
        case .conflicted: "\(path) — conflicted"
        }
    }

    /// `wb-git`'s coloured text as styled lines (the sanitizer keeps colours and styles, nothing else).
    static func lines(_ text: String, empty: String) -> [[Span]] {
        var lines = OutputSanitizer.sanitize(text)
        while let last = lines.last, last.allSatisfy({ $0.text.isEmpty }) { lines.removeLast() }
        return lines.isEmpty ? [[Span(empty, style: NotebookApp.noteStyle)]] : lines
    }
}

// MARK: Decoding wb-git's JSON

extension GitPanel {
    /// `wb git status --json`: the summary and the files, grouped as the panel lists them.
    static func status(_ json: JSON) -> (summary: Summary, entries: [Entry])? {
        guard let head = json["head"], let rawRoot = json["root"]?.stringValue else { return nil }
        let root = rawRoot.hasSuffix("/") ? rawRoot : rawRoot + "/"
        var upstream: Upstream?
        if let u = json["upstream"], let name = u["name"]?.stringValue {
            upstream = Upstream(name: name, ahead: u["ahead"]?.intValue ?? 0, behind: u["behind"]?.intValue ?? 0)
        }
        let summary = Summary(
            root: root, branch: head["branch"]?.stringValue, commit: head["commit"]?.stringValue,
            detached: head["detached"]?.boolValue ?? false, unborn: head["unborn"]?.boolValue ?? false, upstream: upstream,
            state: json["state"]?.stringValue ?? "none", stripOutputs: json["strip_outputs"]?.boolValue ?? false)
        var groups: [Group: [Entry]] = [:]
        for file in json["files"]?.arrayValue ?? [] {
            guard let path = file["path"]?.stringValue else { continue }
            let oldPath = file["old_path"]?.stringValue
            let staged = file["staged"]?.stringValue, unstaged = file["unstaged"]?.stringValue
            if unstaged == "conflicted" {
                groups[.conflicted, default: []].append(Entry(group: .conflicted, path: path, change: "conflicted"))
                continue
            }
            if let staged { groups[.staged, default: []].append(Entry(group: .staged, path: path, oldPath: oldPath, change: staged)) }
            switch unstaged {
            case nil, "ignored": break
            case "untracked": groups[.untracked, default: []].append(Entry(group: .untracked, path: path, change: "untracked"))
            case let change?:
                groups[.unstaged, default: []].append(Entry(group: .unstaged, path: path, oldPath: staged == nil ? oldPath : nil, change: change))
            }
        }
        return (summary, Group.allCases.flatMap { groups[$0] ?? [] })
    }

    /// One entry of `wb git log --json`.
    static func commit(_ json: JSON) -> Commit? {
        guard let id = json["id"]?.stringValue else { return nil }
        return Commit(
            id: id, summary: json["summary"]?.stringValue ?? "", author: json["author"]?["name"]?.stringValue ?? "",
            time: json["author"]?["time"]?.intValue ?? 0, parents: json["parents"]?.arrayValue?.count ?? 0)
    }

    /// One entry of `wb git branch --json` (local branches only are asked for).
    static func branch(_ json: JSON) -> Branch? {
        guard let name = json["name"]?.stringValue, json["remote"]?.boolValue != true else { return nil }
        return Branch(
            name: name, isHead: json["head"]?.boolValue ?? false, commit: json["commit"]?.stringValue,
            upstream: json["upstream"]?.stringValue)
    }

    /// One cell of `wb git resolve --list --json` (or of `remaining` after a resolve).
    static func conflict(_ json: JSON) -> Conflict? {
        guard let cell = json["cell"]?.intValue else { return nil }
        func side(_ key: String) -> CellSide? {
            guard let object = json[key], object.objectValue != nil else { return nil }
            let source: String
            if let lines = object["source"]?.arrayValue {
                source = lines.compactMap(\.stringValue).joined()
            } else {
                source = object["source"]?.stringValue ?? ""
            }
            return CellSide(cellType: object["cell_type"]?.stringValue ?? "code", source: source)
        }
        return Conflict(
            cell: cell, id: json["id"]?.stringValue, fields: json["fields"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            ours: side("ours"), theirs: side("theirs"))
    }
}

// MARK: Keys

extension GitPanel {
    /// Applies input: keys, and pastes into the commit message.
    public mutating func handle(_ input: InputEvent) {
        if case .paste = input, message != nil {
            _ = message?.handle(input)
            return
        }
        guard case .key(let key) = input else {
            if case .mouse(let mouse) = input {
                switch mouse.kind {
                case .scrollDown: handle(.key(KeyEvent(.down)))
                case .scrollUp: handle(.key(KeyEvent(.up)))
                default: break
                }
            }
            return
        }
        // A box with what git refused goes with any key.
        if let notice, notice.isBox {
            self.notice = nil
            return
        }
        if message != nil {
            messageKey(key)
            return
        }
        if newBranch != nil {
            branchNameKey(key)
            return
        }
        if let paths = confirmDiscard {
            switch key.key {
            case .character("y"):
                confirmDiscard = nil
                send(.discard(paths))
                send(.status)
            case .character("n"), .escape:
                confirmDiscard = nil
                say("kept the changes")
            default:
                break
            }
            return
        }
        notice = nil
        switch (key.key, key.modifiers) {
        case (.character("g"), .control), (.character("q"), []):
            closeRequested = true
            return
        case (.escape, _):
            if screen == .status { closeRequested = true } else { back() }
            return
        case (.character("r"), []) where screen != .conflicts, (.function(5), []):
            refresh()
            return
        default:
            break
        }
        switch screen {
        case .status: statusKey(key)
        case .branches: branchKey(key)
        case .stashes: stashKey(key)
        case .history: historyKey(key)
        case .diff: diffKey(key, page: 20)
        case .conflicts: conflictKey(key)
        }
    }

    /// Leaves the screen for the one it came from.
    mutating func back() {
        switch screen {
        case .diff: screen = diffReturn
        case .status: closeRequested = true
        default: screen = .status
        }
        if screen == .status { send(.status) }
    }

    /// A new position in a list of `count` rows for a movement key, or nil when `key` is not one.
    static func moved(_ index: Int, count: Int, key: KeyEvent, page: Int = 10) -> Int? {
        guard count > 0 else { return nil }
        switch (key.key, key.modifiers) {
        case (.down, []), (.character("j"), []): return min(count - 1, index + 1)
        case (.up, []), (.character("k"), []): return max(0, index - 1)
        case (.pageDown, []): return min(count - 1, index + page)
        case (.pageUp, []): return max(0, index - page)
        case (.home, []), (.character("g"), []): return 0
        case (.end, []), (.character("G"), []), (.character("G"), .shift): return count - 1
        default: return nil
        }
    }

    mutating func statusKey(_ key: KeyEvent) {
        if let index = Self.moved(selected, count: entries.count, key: key) {
            selected = index
            return
        }
        let entry = selectedEntry
        switch (key.key, key.modifiers.subtracting(.shift)) {
        case (.character("s"), []):
            guard let entry else { return say("nothing to stage") }
            switch entry.group {
            case .staged: say("\(entry.path) is staged already (u unstages it)")
            case .conflicted, .unstaged, .untracked:
                if entry.group == .conflicted, entry.isNotebook {
                    say("resolve the conflicting cells first (Enter), or stage the notebook as it is with S")
                    return
                }
                send(.stage([entry.path]))
                send(.status)
            }
        case (.character("S"), []):
            send(.stage(["."]))
            send(.status)
        case (.character("u"), []):
            guard let entry else { return say("nothing to unstage") }
            guard entry.group == .staged else { return say("\(entry.path) is not staged") }
            send(.unstage([entry.path] + (entry.oldPath.map { [$0] } ?? [])))
            send(.status)
        case (.character("U"), []):
            guard entries.contains(where: { $0.group == .staged }) else { return say("nothing is staged") }
            if summary?.unborn == true {
                send(.unstage(entries.filter { $0.group == .staged }.map(\.path)))
            } else {
                send(.unstage(["."]))
            }
            send(.status)
        case (.character("x"), []), (.delete, []):
            guard let entry else { return say("nothing to discard") }
            switch entry.group {
            case .unstaged: confirmDiscard = [entry.path]
            case .staged: say("\(entry.path) is staged: unstage it first (u), then discard")
            case .untracked: say("untracked files are never discarded here: delete \(entry.path) yourself if you mean to")
            case .conflicted: say("resolve \(entry.path) first (Enter)")
            }
        case (.enter, []):
            guard let entry else { return }
            if entry.group == .conflicted {
                openConflicts(entry.path)
            } else {
                screen = .diff
                diffReturn = .status
                diffTitle = Self.diffTitle(entry.path, entry.group)
                diffLines = [[Span("diffing \(entry.path)…", style: NotebookApp.noteStyle)]]
                diffScroll = 0
                send(.diff(path: entry.path, group: entry.group))
            }
        case (.character("c"), []):
            if summary?.state == "merge", entries.contains(where: { $0.group == .conflicted }) {
                say("resolve the conflicts first: the merge cannot be committed while files are conflicted", error: true)
                return
            }
            guard entries.contains(where: { $0.group == .staged }) || summary?.state == "merge" else {
                say("nothing is staged: s stages the chosen file, S everything")
                return
            }
            message = TextEditor()
        case (.character("b"), []):
            screen = .branches
            send(.branches)
        case (.character("z"), []):
            guard entries.contains(where: { $0.group != .untracked }) else { return say("no local changes to stash (untracked files stay)") }
            send(.stash)
            send(.status)
        case (.character("Z"), []):
            screen = .stashes
            send(.stashes)
        case (.character("f"), []):
            send(.fetch)
            send(.status)
        case (.character("p"), []):
            send(.pull)
            send(.status)
        case (.character("P"), []):
            send(.push)
            send(.status)
        case (.character("l"), []), (.character("h"), []):
            screen = .history
            shownCommit = nil
            diffScroll = 0
            send(.log)
        default:
            break
        }
    }

    mutating func openConflicts(_ path: String) {
        screen = .conflicts
        conflictPath = path
        conflicts = []
        conflictSelected = 0
        conflictsLoaded = false
        if path.hasSuffix(".ipynb") { send(.conflicts(path: path)) }
    }

    mutating func messageKey(_ key: KeyEvent) {
        switch (key.key, key.modifiers) {
        case (.escape, _):
            message = nil
            say("commit cancelled")
        case (.character("s"), .control):
            let text = message?.text ?? ""
            guard !text.trimmed(" \n\t").isEmpty else {
                say("write a commit message first", error: true)
                return
            }
            send(.commit(message: text))
            send(.status)
            if screen == .history { send(.log) }
        default:
            _ = message?.handle(key)
        }
    }

    mutating func branchKey(_ key: KeyEvent) {
        if let index = Self.moved(branchSelected, count: branches.count, key: key) {
            branchSelected = index
            return
        }
        if key.key == .character("n"), key.modifiers.subtracting(.shift).isEmpty {
            newBranch = ""
            return
        }
        guard key.key == .enter, branches.indices.contains(branchSelected) else { return }
        let branch = branches[branchSelected]
        if branch.isHead { return say("already on \(branch.name)") }
        send(.switchBranch(branch.name))
        send(.status)
        send(.branches)
    }

    /// Typing the new branch's name: Enter makes it at HEAD, Esc gives up.
    mutating func branchNameKey(_ key: KeyEvent) {
        guard let name = newBranch else { return }
        switch (key.key, key.modifiers.subtracting(.shift)) {
        case (.escape, _):
            newBranch = nil
        case (.enter, []):
            let trimmed = name.trimmed(" ")
            guard !trimmed.isEmpty else { return say("type the new branch's name first", error: true) }
            newBranch = nil
            send(.createBranch(trimmed))
            send(.branches)
        case (.backspace, []):
            if !name.isEmpty { newBranch = String(name.dropLast()) }
        case (.character(let c), []) where !c.isWhitespace || c == " ":
            newBranch = name + String(c)
        default:
            break
        }
    }

    /// The stash list: Enter (or p) brings the chosen entry back and drops it.
    mutating func stashKey(_ key: KeyEvent) {
        if let index = Self.moved(stashSelected, count: stashes.count, key: key) {
            stashSelected = index
            return
        }
        switch key.key {
        case .enter, .character("p"):
            guard stashes.indices.contains(stashSelected) else { return say("no stash is chosen") }
            send(.stashPop(stashes[stashSelected].index))
            send(.status)
            send(.stashes)
        default:
            break
        }
    }

    mutating func historyKey(_ key: KeyEvent) {
        switch key.key {
        case .character(" "), .character("J"):
            diffScroll = min(max(0, diffLines.count - 1), diffScroll + 10)
            return
        case .character("K"), .backspace:
            diffScroll = max(0, diffScroll - 10)
            return
        case .enter:
            guard commits.indices.contains(commitSelected) else { return }
            screen = .diff
            diffReturn = .history
            diffTitle = "commit \(commits[commitSelected].id.prefix(7)) \(commits[commitSelected].summary)"
            diffScroll = 0
            return
        default:
            break
        }
        if let index = Self.moved(commitSelected, count: commits.count, key: key) {
            commitSelected = index
            showSelectedCommit()
        }
    }

    mutating func diffKey(_ key: KeyEvent, page: Int) {
        if let line = Self.moved(diffScroll, count: diffLines.count, key: key, page: page) { diffScroll = line }
        if key.key == .character(" ") { diffScroll = min(max(0, diffLines.count - 1), diffScroll + page) }
    }

    mutating func conflictKey(_ key: KeyEvent) {
        guard let path = conflictPath else { return back() }
        let notebook = path.hasSuffix(".ipynb")
        if let index = Self.moved(conflictSelected, count: conflicts.count, key: key) {
            conflictSelected = index
            return
        }
        let choice: String
        switch key.key {
        case .character("o"): choice = "ours"
        case .character("t"): choice = "theirs"
        case .character("b") where notebook: choice = "both"
        case .character("r") where notebook && conflictsLoaded && conflicts.isEmpty:
            // No cell conflicts left but the index still has the three stages: stage the notebook as it is.
            send(.stage([path]))
            send(.status)
            screen = .status
            return
        default: return
        }
        if notebook {
            guard conflicts.indices.contains(conflictSelected) else { return say("no conflicting cell is chosen") }
            send(.resolve(path: path, cell: conflicts[conflictSelected].cell, choice: choice))
        } else {
            send(.resolve(path: path, cell: nil, choice: choice))
            screen = .status
        }
        send(.status)
    }
}
