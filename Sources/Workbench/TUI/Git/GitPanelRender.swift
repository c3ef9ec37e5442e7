internal import CoreSupport

extension GitPanel {
    static let titleStyle = Style(foreground: .black, background: .cyan, attributes: .bold)
    static let chosenStyle = Style(foreground: .black, background: .cyan)
    static let sectionStyle = Style(foreground: .cyan, attributes: .bold)
    static let hintStyle = Style(foreground: .white, background: .ansi(8))
    static let spinner: [Character] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

    /// Draws the panel over the whole screen. `unsaved` holds the absolute paths of open files with
    /// unsaved edits, marked in the lists (staging takes the file as saved on disk).
    public func render(into buffer: inout ScreenBuffer, unsaved: Set<String> = []) {
        buffer.fill(buffer.area)
        guard buffer.height >= 4, buffer.width >= 10 else { return }
        drawTitle(into: &buffer)
        let body = Rect(x: 0, y: 1, width: buffer.width, height: buffer.height - 3)
        if !isLoaded {
            buffer.write("reading the repository…", x: 2, y: 2, style: NotebookApp.noteStyle, clip: body)
        } else {
            switch screen {
            case .status: drawStatus(body, unsaved: unsaved, into: &buffer)
            case .branches: drawBranches(body, into: &buffer)
            case .stashes: drawStashes(body, into: &buffer)
            case .history: drawHistory(body, into: &buffer)
            case .diff: drawDiff(body, title: diffTitle, into: &buffer)
            case .conflicts: drawConflicts(body, into: &buffer)
            }
        }
        drawNotice(y: buffer.height - 2, into: &buffer)
        drawHints(y: buffer.height - 1, into: &buffer)
        if message != nil { drawMessageBox(into: &buffer) }
        if let newBranch {
            NotebookApp.box(
                title: "New branch",
                lines: [
                    [Span("Name: "), Span(OutputSanitizer.plainText(newBranch) + "▏", style: Style(attributes: .bold))],
                    [Span("Made at HEAD (\(summary?.commit.map { String($0.prefix(7)) } ?? "no commit yet")); Enter on it switches.", style: NotebookApp.noteStyle)],
                    [], [Span("Enter", style: Style(attributes: .bold)), Span("  create it")],
                    [Span("Esc", style: Style(attributes: .bold)), Span("  cancel")],
                ], into: &buffer)
        }
        if let paths = confirmDiscard {
            NotebookApp.box(
                title: "Discard changes",
                lines: [
                    [Span("Discard your changes to \(GitRequest.names(paths))?")],
                    [Span("The file goes back to its staged (or committed) version; this cannot be undone.")], [],
                    [Span("y", style: Style(attributes: .bold)), Span("  discard them")],
                    [Span("n / Esc", style: Style(attributes: .bold)), Span("  keep them")],
                ], into: &buffer)
        }
        if let notice, notice.isBox {
            var lines: [[Span]] = []
            for text in notice.text.split(separator: "\n", omittingEmptySubsequences: false) {
                lines += Self.wrap(OutputSanitizer.plainText(String(text)), width: max(10, buffer.width - 6)).map { [Span($0)] }
            }
            lines += [[], [Span("any key closes", style: NotebookApp.noteStyle)]]
            NotebookApp.box(title: "git: not done", lines: lines, into: &buffer)
        }
    }

    /// The top row: repository, branch, upstream, operation in progress.
    func drawTitle(into buffer: inout ScreenBuffer) {
        buffer.fill(Rect(x: 0, y: 0, width: buffer.width, height: 1), style: Self.titleStyle)
        var text = " Git"
        if let summary {
            let folder = FilePath.lastComponent(of: String(summary.root.dropLast(summary.root.hasSuffix("/") ? 1 : 0)))
            text += "  \(folder)  "
            if let branch = summary.branch {
                text += "on \(branch)"
                if summary.unborn { text += " (no commits yet)" }
            } else {
                text += "HEAD detached at \(summary.commit.map { String($0.prefix(7)) } ?? "?")"
            }
            if let upstream = summary.upstream {
                text += "  ↑\(upstream.ahead) ↓\(upstream.behind) \(upstream.name)"
            }
            if summary.state != "none" { text += "  [\(summary.state) in progress]" }
            if summary.stripOutputs { text += "  outputs stripped on commit" }
        }
        buffer.write(OutputSanitizer.plainText(text), x: 0, y: 0, style: Self.titleStyle)
        // On the right: what runs now (over the title if need be), else how to close.
        if let progress = progressText {
            let right = " " + progress + " "
            let x = max(0, buffer.width - DisplayWidth.of(right))
            buffer.write(right, x: x, y: 0, style: Style(foreground: .black, background: .yellow, attributes: .bold))
        } else {
            let right = " Ctrl-G closes "
            let x = buffer.width - DisplayWidth.of(right)
            if x > DisplayWidth.of(text) + 1 { buffer.write(right, x: x, y: 0, style: Self.titleStyle) }
        }
    }

    /// The oldest request still running, with a spinner and its time once it takes a while.
    var progressText: String? {
        guard let job = pending.first else { return nil }
        let elapsed = max(0, now - job.started)
        let frame = Self.spinner[Int(now * 4) % Self.spinner.count]
        var text = "\(frame) \(job.request.title)…"
        if elapsed >= 0.5 { text += " \(String(format1: elapsed)) s" }
        if pending.count > 1 { text += " (+\(pending.count - 1))" }
        return OutputSanitizer.plainText(text)
    }

    /// The changed files in their groups, the chosen one highlighted and kept in view.
    func drawStatus(_ area: Rect, unsaved: Set<String>, into buffer: inout ScreenBuffer) {
        var rows: [(spans: [Span], entry: Int?)] = []
        if let summary, summary.detached {
            rows.append(([Span("Not on a branch: new commits belong to no branch (b lists branches to switch to).", style: Style(foreground: .yellow))], nil))
        }
        if entries.isEmpty {
            rows.append(([Span("Nothing to commit, working tree clean.", style: NotebookApp.noteStyle)], nil))
        }
        var group: Group?
        for (index, entry) in entries.enumerated() {
            if entry.group != group {
                if group != nil { rows.append(([], nil)) }
                group = entry.group
                rows.append(([Span(entry.group.title, style: Self.sectionStyle)], nil))
            }
            let color: Color = entry.group == .staged ? .green : entry.group == .conflicted ? .magenta : .red
            let kind = entry.change.replacingOccurrences("_", " ")
            var spans = [Span("  " + kind.padded(12), style: Style(foreground: color))]
            let name = entry.oldPath.map { "\($0) → \(entry.path)" } ?? entry.path
            spans.append(Span(OutputSanitizer.plainText(name), style: Style(foreground: color)))
            if let summary, unsaved.contains(summary.root + entry.path) {
                spans.append(Span("  (unsaved edits in wb: save first)", style: Style(foreground: .yellow)))
            }
            rows.append((spans, index))
        }
        let chosenRow = rows.firstIndex { $0.entry == selected } ?? 0
        let first = max(0, min(chosenRow - area.height / 2, rows.count - area.height))
        for (offset, row) in rows.dropFirst(first).prefix(area.height).enumerated() {
            let y = area.y + offset
            if row.entry == selected && row.entry != nil {
                buffer.fill(Rect(x: 0, y: y, width: area.width, height: 1), style: Self.chosenStyle)
                buffer.write("▸" + row.spans.map(\.text).joined().dropFirst(), x: 1, y: y, style: Self.chosenStyle, clip: area)
            } else {
                buffer.write(row.spans, x: 1, y: y, clip: area)
            }
        }
    }

    func drawBranches(_ area: Rect, into buffer: inout ScreenBuffer) {
        buffer.write("Branches (Enter switches; local changes the switch would overwrite stop it)", x: 1, y: area.y, style: Self.sectionStyle, clip: area)
        if branches.isEmpty {
            buffer.write("  no branches yet (the first commit makes one)", x: 1, y: area.y + 1, style: NotebookApp.noteStyle, clip: area)
        }
        let height = max(0, area.height - 1)
        let first = max(0, min(branchSelected - height / 2, branches.count - height))
        for (offset, branch) in branches.dropFirst(first).prefix(height).enumerated() {
            let index = first + offset
            let y = area.y + 1 + offset
            var text = (branch.isHead ? "* " : "  ") + OutputSanitizer.plainText(branch.name).padded(24)
            text += " " + (branch.commit.map { String($0.prefix(7)) } ?? "").padded(8)
            if let upstream = branch.upstream { text += " [\(OutputSanitizer.plainText(upstream))]" }
            if index == branchSelected {
                buffer.fill(Rect(x: 0, y: y, width: area.width, height: 1), style: Self.chosenStyle)
                buffer.write(text, x: 1, y: y, style: Self.chosenStyle, clip: area)
            } else {
                buffer.write(text, x: 1, y: y, style: branch.isHead ? Style(foreground: .green, attributes: .bold) : .plain, clip: area)
            }
        }
    }

    /// The stash entries, newest first.
    func drawStashes(_ area: Rect, into buffer: inout ScreenBuffer) {
        buffer.write("Stashes (Enter brings the chosen one back and drops it)", x: 1, y: area.y, style: Self.sectionStyle, clip: area)
        if stashes.isEmpty {
            buffer.write("  nothing stashed (z on the file list stashes the local changes)", x: 1, y: area.y + 1, style: NotebookApp.noteStyle, clip: area)
        }
        let height = max(0, area.height - 1)
        let first = max(0, min(stashSelected - height / 2, stashes.count - height))
        for (offset, stash) in stashes.dropFirst(first).prefix(height).enumerated() {
            let y = area.y + 1 + offset
            let text = "stash@{\(stash.index)}".padded(11) + " " + String(stash.commit.prefix(7)) + "  " + OutputSanitizer.plainText(stash.message)
            if first + offset == stashSelected {
                buffer.fill(Rect(x: 0, y: y, width: area.width, height: 1), style: Self.chosenStyle)
                buffer.write(text, x: 1, y: y, style: Self.chosenStyle, clip: area)
            } else {
                buffer.write(text, x: 1, y: y, clip: area)
            }
        }
    }

    /// The commits on top, the chosen commit's diff below.
    func drawHistory(_ area: Rect, into buffer: inout ScreenBuffer) {
        if commits.isEmpty {
            buffer.write("No commits yet.", x: 1, y: area.y, style: NotebookApp.noteStyle, clip: area)
            return
        }
        let listHeight = max(1, min(commits.count, area.height / 3))
        let first = max(0, min(commitSelected - listHeight / 2, commits.count - listHeight))
        for (offset, commit) in commits.dropFirst(first).prefix(listHeight).enumerated() {
            let index = first + offset
            let y = area.y + offset
            let date = String(Clock.iso8601(Double(commit.time)).prefix(16)).replacingOccurrences("T", " ")
            let line = "\(commit.id.prefix(7))  \(date)  \(OutputSanitizer.plainText(commit.author).padded(16))  \(OutputSanitizer.plainText(commit.summary))"
            if index == commitSelected {
                buffer.fill(Rect(x: 0, y: y, width: area.width, height: 1), style: Self.chosenStyle)
                buffer.write(line, x: 1, y: y, style: Self.chosenStyle, clip: area)
            } else {
                buffer.write(String(commit.id.prefix(7)), x: 1, y: y, style: Style(foreground: .yellow), clip: area)
                buffer.write(String(line.dropFirst(7)), x: 8, y: y, clip: area)
            }
        }
        let divider = area.y + listHeight
        buffer.write(String(repeating: "─", count: area.width), x: 0, y: divider, style: NotebookApp.boxStyle)
        drawLines(Rect(x: 0, y: divider + 1, width: area.width, height: max(0, area.maxY - divider - 1)), into: &buffer)
    }

    func drawDiff(_ area: Rect, title: String, into buffer: inout ScreenBuffer) {
        buffer.write(OutputSanitizer.plainText(title), x: 1, y: area.y, style: Self.sectionStyle, clip: area)
        drawLines(Rect(x: 0, y: area.y + 1, width: area.width, height: max(0, area.height - 1)), into: &buffer)
    }

    /// `diffLines` from `diffScroll` on, clipped to `area`.
    func drawLines(_ area: Rect, into buffer: inout ScreenBuffer) {
        for (offset, line) in diffLines.dropFirst(diffScroll).prefix(area.height).enumerated() {
            buffer.write(line, x: 1, y: area.y + offset, clip: area)
        }
    }

    /// A conflicted notebook's cells (ours and theirs of the chosen one), or a plain file's two choices.
    func drawConflicts(_ area: Rect, into buffer: inout ScreenBuffer) {
        guard let path = conflictPath else { return }
        var y = area.y
        func line(_ spans: [Span]) {
            if y < area.maxY { buffer.write(spans, x: 1, y: y, clip: area) }
            y += 1
        }
        guard path.hasSuffix(".ipynb") else {
            line([Span("\(OutputSanitizer.plainText(path)) is in conflict (not a notebook)", style: Self.sectionStyle)])
            line([])
            line([Span("o", style: Style(attributes: .bold)), Span("  keep our version of the whole file")])
            line([Span("t", style: Style(attributes: .bold)), Span("  keep their version of the whole file")])
            line([Span("Either way the file is staged; or edit it yourself and stage it (s).", style: NotebookApp.noteStyle)])
            return
        }
        if !conflictsLoaded {
            line([Span("reading the conflicts in \(path)…", style: NotebookApp.noteStyle)])
            return
        }
        let count = conflicts.count
        line([Span("\(OutputSanitizer.plainText(path)): \(count) conflicting cell\(count == 1 ? "" : "s") (the file is a valid notebook; ours is shown in them)", style: Self.sectionStyle)])
        if conflicts.isEmpty {
            line([Span("No conflicting cells left: r marks the notebook resolved (stages it).", style: NotebookApp.noteStyle)])
            return
        }
        for (index, conflict) in conflicts.enumerated() {
            let text = "cell \(conflict.cell)\(conflict.id.map { " (id \(OutputSanitizer.plainText($0)))" } ?? ""): \(conflict.what)"
            if index == conflictSelected {
                if y < area.maxY { buffer.fill(Rect(x: 0, y: y, width: area.width, height: 1), style: Self.chosenStyle) }
                line([Span("▸ " + text, style: Self.chosenStyle)])
            } else {
                line([Span("  " + text)])
            }
        }
        guard conflicts.indices.contains(conflictSelected) else { return }
        let conflict = conflicts[conflictSelected]
        let rest = max(0, area.maxY - y - 1)
        let half = max(1, rest / 2)
        for (name, side, color) in [("ours", conflict.ours, Color.green), ("theirs", conflict.theirs, Color.blue)] {
            line([])
            guard let side else {
                line([Span("\(name): the cell is deleted", style: Style(foreground: color, attributes: .bold))])
                continue
            }
            line([Span("\(name) (\(side.cellType))", style: Style(foreground: color, attributes: .bold))])
            let sourceLines = side.source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let shown = max(1, half - 2)
            for text in sourceLines.prefix(shown) {
                line([Span("│ ", style: Style(foreground: color)), Span(OutputSanitizer.plainText(text))])
            }
            if sourceLines.count > shown { line([Span("│ … \(sourceLines.count - shown) more line(s)", style: NotebookApp.noteStyle)]) }
        }
    }

    /// The last message (an error in red).
    func drawNotice(y: Int, into buffer: inout ScreenBuffer) {
        guard let notice, !notice.isBox else { return }
        buffer.write(
            OutputSanitizer.plainText(notice.text), x: 1, y: y,
            style: notice.isError ? Style(foreground: .red, attributes: .bold) : Style(foreground: .green))
    }

    /// The keys of the screen shown, as many as fit, then where to find them all.
    func drawHints(y: Int, into buffer: inout ScreenBuffer) {
        buffer.fill(Rect(x: 0, y: y, width: buffer.width, height: 1), style: Self.hintStyle)
        let hints: [String]
        if message != nil {
            hints = ["Ctrl-S commit", "Esc cancel"]
        } else if newBranch != nil {
            hints = ["Enter create", "Esc cancel"]
        } else {
            switch screen {
            case .status:
                hints = [
                    "s/S stage", "u/U unstage", "x discard", "Enter diff", "c commit", "b branches", "l history", "r refresh", "Esc close",
                    "z stash", "Z stashes", "f fetch", "p pull", "P push",
                ]
            case .branches: hints = ["Enter switch", "n new branch", "j/k move", "Esc back"]
            case .stashes: hints = ["Enter pop", "j/k move", "Esc back"]
            case .history: hints = ["j/k commit", "Space/K scroll diff", "Enter whole diff", "Esc back"]
            case .diff: hints = ["j/k PgUp/PgDn scroll", "Esc back"]
            case .conflicts:
                hints = conflictPath?.hasSuffix(".ipynb") == false ? ["o ours", "t theirs", "Esc back"] : ["j/k cell", "o ours", "t theirs", "b both", "Esc back"]
            }
        }
        let more = "F1 all keys"
        var line = ""
        for hint in hints {
            let next = line.isEmpty ? " " + hint : line + " · " + hint
            if DisplayWidth.of(next) + DisplayWidth.of(" · " + more) > buffer.width { break }
            line = next
        }
        if message == nil { line += (line.isEmpty ? " " : " · ") + more }
        buffer.write(line, x: 0, y: y, style: Self.hintStyle)
    }

    /// The commit message box over the lower part of the screen.
    func drawMessageBox(into buffer: inout ScreenBuffer) {
        guard let message else { return }
        let height = max(5, min(12, buffer.height / 2))
        let area = Rect(x: 1, y: max(1, buffer.height - 2 - height), width: max(4, buffer.width - 2), height: height)
        buffer.fill(area)
        Workspace.drawFrame(area, title: "Commit message (Ctrl-S commits, Esc cancels)", into: &buffer)
        var note = "By your git identity (user.name, user.email)"
        if summary?.stripOutputs == true { note += " · outputs stripped" }
        buffer.write(note, x: area.x + 2, y: area.maxY - 2, style: NotebookApp.noteStyle, clip: Rect(x: area.x + 1, y: area.y, width: area.width - 2, height: area.height))
        let inner = Rect(x: area.x + 2, y: area.y + 1, width: max(1, area.width - 4), height: max(1, area.height - 4))
        let lines = message.height(width: inner.width)
        let scroll = max(0, lines - inner.height)
        if let cursor = message.render(into: &buffer, rect: inner, focused: true, scrollRow: scroll) { buffer.cursor = cursor }
    }
}

extension GitPanel {
    /// `text` cut into lines of at most `width` columns, at spaces where it can.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var rest = Substring(text)
        while DisplayWidth.of(String(rest)) > width {
            var cut = rest.startIndex, columns = 0, lastSpace: Substring.Index?
            for index in rest.indices {
                let w = DisplayWidth.of(String(rest[index]))
                if columns + w > width { break }
                columns += w
                if rest[index] == " " { lastSpace = index }
                cut = rest.index(after: index)
            }
            let end = lastSpace.map { $0 > rest.startIndex ? $0 : cut } ?? cut
            lines.append(String(rest[..<end]))
            rest = rest[end...].drop { $0 == " " }
            if end == rest.startIndex && rest.isEmpty { break }
        }
        lines.append(String(rest))
        return lines
    }
}

extension String {
    /// The string padded with spaces to `width` columns.
    func padded(_ width: Int) -> String {
        let w = DisplayWidth.of(self)
        return w >= width ? self : self + String(repeating: " ", count: width - w)
    }

    /// Every `target` replaced by `replacement`.
    func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }

    /// A number with one decimal.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
