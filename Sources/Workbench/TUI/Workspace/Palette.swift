/// The command palette: every action of `Workspace.actions` with its keys, filtered by a fuzzy query; Enter runs the chosen one.
public struct CommandPalette: Sendable, Equatable {
    /// What has been typed.
    public var query = ""
    /// The chosen row among the filtered actions.
    public var selected = 0

    /// An empty palette.
    public init(query: String = "") {
        self.query = query
    }

    /// The indices into `Workspace.actions` matching the query, best first (shorter titles, then table order, among equals).
    ///
    /// The keys that move inside lists (this palette among them) are left out: they are not actions to run.
    public var matches: [Int] {
        let actions = Workspace.actions
        let listed = actions.indices.filter { actions[$0].scope != .list }
        guard !query.isEmpty else { return listed }
        var scored: [(index: Int, score: Int)] = []
        for index in listed {
            let action = actions[index]
            let titleScore = Self.score(query, in: action.title)
            let keyScore = Self.score(query, in: action.keys).map { $0 - 1 }
            if let best = [titleScore, keyScore].compactMap({ $0 }).max() { scored.append((index, best)) }
        }
        return scored.sorted { a, b in
            if a.score != b.score { return a.score > b.score }
            let (lengthA, lengthB) = (actions[a.index].title.count, actions[b.index].title.count)
            return lengthA != lengthB ? lengthA < lengthB : a.index < b.index
        }.map(\.index)
    }

    /// How well `query` fuzzily matches `text` (its characters in order, any case), or nil if it does not.
    ///
    /// Each matched character scores; runs of adjacent matches and matches at word starts score more,
    /// so "rc" ranks "run cell" above "fresh cell".
    public static func score(_ query: String, in text: String) -> Int? {
        let needle = Array(query.lowercased())
        let haystack = Array(text.lowercased())
        guard !needle.isEmpty else { return 0 }
        var score = 0
        var j = 0
        var previous = -2
        for (i, c) in haystack.enumerated() where j < needle.count {
            guard c == needle[j] else { continue }
            score += 1
            if i == previous + 1 { score += 3 }
            if i == 0 || !(haystack[i - 1].isLetter || haystack[i - 1].isNumber) { score += 2 }
            previous = i
            j += 1
        }
        return j == needle.count ? score : nil
    }
}

extension Workspace.State {
    /// Keys while the palette is open: type to filter, Up/Down choose, Enter runs, Esc closes.
    mutating func paletteKey(_ palette: CommandPalette, _ input: InputEvent) {
        var palette = palette
        let matches = palette.matches
        switch input {
        case .paste(let text):
            palette.query += text.filter { $0 != "\n" && $0 != "\r" }
            palette.selected = 0
        case .key(let key):
            switch (key.key, key.modifiers.subtracting(.shift)) {
            case (.escape, _), (.character("p"), .control), (.character("c"), .control):
                panel = nil
                return
            case (.enter, []):
                panel = nil
                guard matches.indices.contains(palette.selected) else { return }
                run(Workspace.actions[matches[palette.selected]])
                return
            case (.down, []), (.tab, []), (.character("n"), .control):
                if !matches.isEmpty { palette.selected = (palette.selected + 1) % matches.count }
            case (.up, []), (.character("p"), .alt):
                if !matches.isEmpty { palette.selected = (palette.selected + matches.count - 1) % matches.count }
            case (.pageDown, []):
                palette.selected = min(max(0, matches.count - 1), palette.selected + 10)
            case (.pageUp, []):
                palette.selected = max(0, palette.selected - 10)
            case (.backspace, _):
                if !palette.query.isEmpty { palette.query.removeLast() }
                palette.selected = 0
            case (.character(let c), []):
                palette.query.append(c)
                palette.selected = 0
            default:
                return
            }
        default:
            return
        }
        panel = .palette(palette)
    }

    /// Runs `action` as its keys would, after putting the notebook in the mode it needs.
    mutating func run(_ action: Workspace.Action) {
        guard action.isRunnable else {
            say("\(action.keys): \(action.title) — press the keys where they apply")
            return
        }
        switch action.scope {
        case .anywhere, .list:
            break
        case .notebook, .command, .edit, .prompt:
            guard case .notebook(var notebook) = document else {
                say("\(action.title): only in a notebook", error: true)
                return
            }
            if action.scope == .prompt && notebook.inputPrompt == nil {
                say("no cell is waiting for input", error: true)
                return
            }
            if action.scope == .command && notebook.mode == .edit { notebook.leaveEdit() }
            if action.scope == .edit && notebook.mode == .command { notebook.enterEdit() }
            tabs[active].document = .notebook(notebook)
        case .find:
            if find == nil { openFind() }
        case .git:
            if panel != .git { openGit() }
            guard panel == .git else { return }
        }
        for key in action.invoke { handle(.key(key)) }
    }
}

extension Workspace {
    /// The palette over the screen: the query, then the matching actions with their keys.
    static func drawPalette(_ palette: CommandPalette, into buffer: inout ScreenBuffer) {
        let matches = palette.matches
        let actions = Workspace.actions
        let width = min(buffer.width, max(40, min(90, buffer.width - 4)))
        let rows = max(1, min(matches.count, buffer.height - 6, 16))
        let x0 = (buffer.width - width) / 2
        let y0 = min(2, max(0, buffer.height - rows - 4))
        let area = Rect(x: x0, y: y0, width: width, height: rows + 3)
        buffer.fill(area)
        let inner = Rect(x: x0 + 1, y: y0, width: width - 2, height: rows + 3)
        drawFrame(area, title: "Commands (type to filter, Enter runs, Esc closes)", into: &buffer)
        var x = buffer.write("> ", x: x0 + 2, y: y0 + 1, style: Style(foreground: .cyan, attributes: .bold), clip: inner)
        x = buffer.write(palette.query, x: x, y: y0 + 1, style: Style(attributes: .bold), clip: inner)
        buffer.cursor = Position(x: min(x, x0 + width - 2), y: y0 + 1)
        if matches.isEmpty {
            buffer.write("no action matches", x: x0 + 2, y: y0 + 2, style: NotebookApp.noteStyle, clip: inner)
            return
        }
        let first = min(max(0, palette.selected - rows + 1), max(0, matches.count - rows))
        let keyWidth = min(22, actions.map { DisplayWidth.of($0.keys) }.max() ?? 0)
        for row in 0..<rows where first + row < matches.count {
            let action = actions[matches[first + row]]
            let y = y0 + 2 + row
            let chosen = first + row == palette.selected
            let base = chosen ? Style(foreground: .black, background: .cyan) : (action.isRunnable ? Style.plain : NotebookApp.noteStyle)
            buffer.fill(Rect(x: x0 + 1, y: y, width: width - 2, height: 1), style: base)
            var keyStyle = base
            keyStyle.attributes.insert(.bold)
            let keysEnd = buffer.write(action.keys, x: x0 + 2, y: y, style: keyStyle, clip: Rect(x: x0 + 2, y: y, width: keyWidth, height: 1))
            let titleX = max(keysEnd, x0 + 2 + keyWidth) + 2
            let suffix: String
            switch action.scope {
            case .find: suffix = "  (find bar)"
            case .prompt: suffix = "  (input prompt)"
            case .edit: suffix = "  (edit mode)"
            case .git: suffix = "  (git panel)"
            default: suffix = ""
            }
            buffer.write(action.title + suffix, x: titleX, y: y, style: base, clip: inner)
        }
    }

    /// A box outline with a title on its top edge.
    static func drawFrame(_ area: Rect, title: String, into buffer: inout ScreenBuffer) {
        guard area.width >= 2, area.height >= 2 else { return }
        let horizontal = String(repeating: "─", count: area.width - 2)
        buffer.write("┌" + horizontal + "┐", x: area.x, y: area.y, style: NotebookApp.boxStyle)
        buffer.write(" \(title) ", x: area.x + 2, y: area.y, style: Style(foreground: .cyan, attributes: .bold), clip: Rect(x: area.x, y: area.y, width: area.width - 2, height: 1))
        buffer.write("└" + horizontal + "┘", x: area.x, y: area.maxY - 1, style: NotebookApp.boxStyle)
        for y in (area.y + 1)..<(area.maxY - 1) {
            buffer.write("│", x: area.x, y: y, style: NotebookApp.boxStyle)
            buffer.write("│", x: area.maxX - 1, y: y, style: NotebookApp.boxStyle)
        }
    }
}
