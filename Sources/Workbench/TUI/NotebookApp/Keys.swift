extension NotebookApp {
    /// One line of the help screen: the keys and what they do.
    public struct KeyHelp: Sendable, Equatable {
        /// The keys, as typed (`Shift-Enter / Ctrl-R`).
        public var keys: String
        /// What they do.
        public var action: String
    }

    /// The help screen's sections, in the order shown: made from `Workspace.actions`, the table the
    /// command palette lists too, so the two never disagree.
    public static var help: [(title: String, keys: [KeyHelp])] {
        Workspace.helpSections.map { section in (section.title, section.actions.map { KeyHelp(keys: $0.keys, action: $0.title) }) }
    }

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
