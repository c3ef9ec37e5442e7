extension NotebookApp {
    /// One line of the help screen: the keys and what they do.
    public struct KeyHelp: Sendable, Equatable {
        /// The keys, as typed (`Shift-Enter / Ctrl-R`).
        public var keys: String
        /// What they do.
        public var action: String
    }

    /// The help screen's sections, in the order shown; `update` implements exactly these keys.
    ///
    /// Most terminals send Shift-Enter and Ctrl-Enter as a plain Enter (only those speaking the
    /// kitty keyboard protocol or xterm's modifyOtherKeys tell them apart), so each has an
    /// alternative every terminal can send.
    public static let help: [(title: String, keys: [KeyHelp])] = [
        (
            "Both modes",
            [
                KeyHelp(keys: "Shift-Enter / Ctrl-R", action: "run cell, select the next"),
                KeyHelp(keys: "Ctrl-Enter / F5", action: "run cell"),
                KeyHelp(keys: "Alt-Enter", action: "run cell, insert a cell below"),
                KeyHelp(keys: "Ctrl-S", action: "save"),
                KeyHelp(keys: "Ctrl-Q", action: "quit (asks when there are unsaved changes)"),
                KeyHelp(keys: "Ctrl-D", action: "detach: the kernel keeps running; wb open re-attaches"),
                KeyHelp(keys: "F1", action: "this help"),
            ]
        ),
        (
            "Command mode",
            [
                KeyHelp(keys: "Enter", action: "edit the cell"),
                KeyHelp(keys: "j k / Down Up", action: "select the next / previous cell"),
                KeyHelp(keys: "Home End", action: "select the first / last cell"),
                KeyHelp(keys: "PgDn PgUp, wheel", action: "scroll"),
                KeyHelp(keys: "a b", action: "insert a cell above / below"),
                KeyHelp(keys: "d,d", action: "delete the cell"),
                KeyHelp(keys: "z", action: "undo the last delete"),
                KeyHelp(keys: "y m r", action: "make it code / markdown / raw"),
                KeyHelp(keys: "c x", action: "copy / cut the cell"),
                KeyHelp(keys: "v V", action: "paste below / above"),
                KeyHelp(keys: "F6 F7 F8", action: "run all / all above / this and below"),
                KeyHelp(keys: "i,i", action: "interrupt the kernel"),
                KeyHelp(keys: "0,0", action: "restart the kernel (also after it died)"),
                KeyHelp(keys: "o", action: "collapse / show the outputs"),
                KeyHelp(keys: "O", action: "show a long output whole / capped"),
                KeyHelp(keys: "s", action: "save"),
                KeyHelp(keys: "h ?", action: "this help"),
            ]
        ),
        (
            "Edit mode",
            [
                KeyHelp(keys: "Esc", action: "back to command mode"),
                KeyHelp(keys: "Up Down at the edge", action: "move into the cell above / below"),
                KeyHelp(keys: "Tab", action: "complete (after a name), else indent"),
                KeyHelp(keys: "Shift-Tab / F2", action: "kernel help for the name at the cursor"),
            ]
        ),
        (
            "input() prompts",
            [
                KeyHelp(keys: "Enter", action: "send the answer"),
                KeyHelp(keys: "Ctrl-C", action: "interrupt instead"),
            ]
        ),
    ]

    /// The help screen as lines (keys padded into a column).
    public static var helpLines: [[Span]] {
        let keyWidth = help.flatMap(\.keys).map { DisplayWidth.of($0.keys) }.max() ?? 0
        var lines: [[Span]] = []
        for (index, section) in help.enumerated() {
            if index > 0 { lines.append([]) }
            lines.append([Span(section.title, style: Style(foreground: .cyan, attributes: .bold))])
            for entry in section.keys {
                let padding = String(repeating: " ", count: keyWidth - DisplayWidth.of(entry.keys) + 2)
                lines.append([Span("  " + entry.keys, style: Style(attributes: .bold)), Span(padding + entry.action)])
            }
        }
        return lines
    }
}
