/// Every action the app has, with its keys: the one table behind both the help screen and the command palette.
extension Workspace {
    /// Where an action applies, which decides how the palette runs it.
    public enum Scope: Sendable, Equatable {
        /// Anywhere.
        case anywhere
        /// In a notebook, either mode.
        case notebook
        /// In a notebook's command mode (the palette leaves edit mode first).
        case command
        /// In a notebook's edit mode (the palette opens the cell's editor first).
        case edit
        /// In the find bar (open it with Ctrl-F first).
        case find
        /// While a cell waits on `input()`.
        case prompt
        /// In the file browser, switcher or kernel picker.
        case list
        /// In the git panel (the palette opens it first).
        case git
    }

    /// One action: its keys as shown, what it does, where it applies, and the keys the palette feeds to run it.
    public struct Action: Sendable, Equatable {
        /// The help screen section.
        public var section: String
        /// The keys, as typed (`Shift-Enter / Ctrl-R`).
        public var keys: String
        /// What it does.
        public var title: String
        /// Where it applies.
        public var scope: Scope
        /// The key events that perform it (empty: it needs a context the palette cannot give, such as a position).
        public var invoke: [KeyEvent]

        /// An action.
        public init(_ section: String, _ keys: String, _ title: String, _ scope: Scope, _ invoke: [KeyEvent]) {
            self.section = section
            self.keys = keys
            self.title = title
            self.scope = scope
            self.invoke = invoke
        }

        /// Whether the palette can run it.
        public var isRunnable: Bool { !invoke.isEmpty }
    }

    private static func key(_ key: Key, _ modifiers: Modifiers = []) -> KeyEvent { KeyEvent(key, modifiers) }
    private static func char(_ c: Character, _ modifiers: Modifiers = []) -> KeyEvent { KeyEvent(.character(c), modifiers) }
    private static let files = "Files and windows"
    private static let both = "Notebook, both modes"
    private static let command = "Notebook, command mode"
    private static let edit = "Notebook, edit mode"
    private static let findBar = "Find and replace (Ctrl-F)"
    private static let lists = "Lists (palette, files, kernels, switcher)"
    private static let prompts = "input() prompts"
    private static let gitPanel = "Git panel (Ctrl-G)"

    /// Every action, in help screen order; `update` implements exactly these keys.
    ///
    /// Most terminals send Shift-Enter and Ctrl-Enter as a plain Enter (only those speaking the
    /// kitty keyboard protocol or xterm's modifyOtherKeys tell them apart), so each has an
    /// alternative every terminal can send; Ctrl-Shift-P cannot be sent at all, so the palette is Ctrl-P.
    public static let actions: [Action] = [
        Action(both, "Shift-Enter / Ctrl-R", "run cell, select the next", .notebook, [char("r", .control)]),
        Action(both, "Ctrl-Enter / F5", "run cell", .notebook, [key(.function(5))]),
        Action(both, "Alt-Enter", "run cell, insert a cell below", .notebook, [key(.enter, .alt)]),

        Action(command, "Enter", "edit the cell", .command, [key(.enter)]),
        Action(command, "j / Down", "select the next cell", .command, [char("j")]),
        Action(command, "k / Up", "select the previous cell", .command, [char("k")]),
        Action(command, "Home", "select the first cell", .command, [key(.home)]),
        Action(command, "End", "select the last cell", .command, [key(.end)]),
        Action(command, "PgDn, wheel", "scroll down", .command, [key(.pageDown)]),
        Action(command, "PgUp, wheel", "scroll up", .command, [key(.pageUp)]),
        Action(command, "a", "insert a cell above", .command, [char("a")]),
        Action(command, "b", "insert a cell below", .command, [char("b")]),
        Action(command, "d,d", "delete the cell", .command, [char("d"), char("d")]),
        Action(command, "z", "undo the last delete", .command, [char("z")]),
        Action(command, "y", "make it a code cell", .command, [char("y")]),
        Action(command, "m", "make it a markdown cell", .command, [char("m")]),
        Action(command, "r", "make it a raw cell", .command, [char("r")]),
        Action(command, "c", "copy the cell", .command, [char("c")]),
        Action(command, "x", "cut the cell", .command, [char("x")]),
        Action(command, "v", "paste below", .command, [char("v")]),
        Action(command, "V", "paste above", .command, [char("V")]),
        Action(command, "F6", "run all cells", .command, [key(.function(6))]),
        Action(command, "F7", "run all cells above", .command, [key(.function(7))]),
        Action(command, "F8", "run this cell and all below", .command, [key(.function(8))]),
        Action(command, "i,i", "interrupt the kernel", .command, [char("i"), char("i")]),
        Action(command, "0,0", "restart the kernel (also after it died)", .command, [char("0"), char("0")]),
        Action(command, "o", "collapse / show the outputs", .command, [char("o")]),
        Action(command, "O", "show a long output whole / capped", .command, [char("O")]),
        Action(command, "s", "save", .command, [char("s")]),
        Action(command, "h ?", "this help", .command, [char("h")]),

        Action(edit, "Esc", "back to command mode", .edit, [key(.escape)]),
        Action(edit, "Up Down at the edge", "move into the cell above / below", .edit, []),
        Action(edit, "Tab", "complete (after a name), else indent", .edit, [key(.tab)]),
        Action(edit, "Shift-Tab / F2", "kernel help for the name at the cursor", .edit, [key(.function(2))]),

        Action(files, "Ctrl-P / :", "command palette: every action, filtered as you type", .anywhere, [char("p", .control)]),
        Action(files, "Ctrl-S", "save the file", .anywhere, [char("s", .control)]),
        Action(files, "Ctrl-O", "open a file (file browser)", .anywhere, [char("o", .control)]),
        Action(files, "Ctrl-T", "switch between open files", .anywhere, [char("t", .control)]),
        Action(files, "Alt-N", "next open file", .anywhere, [char("n", .alt)]),
        Action(files, "Alt-P", "previous open file", .anywhere, [char("p", .alt)]),
        Action(files, "Alt-1 … Alt-9", "go to open file 1 … 9", .anywhere, []),
        Action(files, "Alt-W", "close the file (asks when it has unsaved changes)", .anywhere, [char("w", .alt)]),
        Action(files, "Ctrl-F", "find and replace in the file (all cells)", .anywhere, [char("f", .control)]),
        Action(files, "Ctrl-K", "change the notebook's kernel", .notebook, [char("k", .control)]),
        Action(files, "Ctrl-Q", "quit (asks when a file has unsaved changes)", .anywhere, [char("q", .control)]),
        Action(files, "Ctrl-D", "detach: the notebooks' kernels keep running; wb open re-attaches", .anywhere, [char("d", .control)]),
        Action(files, "Ctrl-G", "git panel: changes, stage, commit, branches, history", .anywhere, [char("g", .control)]),
        Action(files, "F1", "this help", .anywhere, [key(.function(1))]),

        Action(findBar, "Enter / Down", "next match (in the replace field: replace it, then next)", .find, [key(.down)]),
        Action(findBar, "Up", "previous match", .find, [key(.up)]),
        Action(findBar, "Tab", "switch between the find and replace fields", .find, [key(.tab)]),
        Action(findBar, "Alt-C", "match case on / off", .find, [char("c", .alt)]),
        Action(findBar, "Alt-R", "regular expression on / off ($1 in the replacement)", .find, [char("r", .alt)]),
        Action(findBar, "Alt-A", "replace all matches (one undo step)", .find, [char("a", .alt)]),
        Action(findBar, "Ctrl-Z", "undo the last replace", .find, [char("z", .control)]),
        Action(findBar, "Esc", "close the find bar", .find, [key(.escape)]),

        Action(lists, "Up Down / j k", "move (in the palette, type to filter)", .list, []),
        Action(lists, "Enter", "run / open / choose", .list, []),
        Action(lists, "Backspace", "file browser: the parent folder", .list, []),
        Action(lists, ".", "file browser: show / hide hidden files", .list, []),
        Action(lists, "x", "switcher: close the file", .list, []),
        Action(lists, "Esc", "close the list", .list, []),

        Action(gitPanel, "s / S", "stage the chosen file / everything", .git, [char("s")]),
        Action(gitPanel, "u / U", "unstage the chosen file / everything", .git, [char("u")]),
        Action(gitPanel, "x", "discard the file's unstaged changes (asks first)", .git, [char("x")]),
        Action(gitPanel, "Enter", "the file's diff (notebooks per cell); a conflict: resolve it", .git, [key(.enter)]),
        Action(gitPanel, "c", "write the commit message; Ctrl-S commits", .git, [char("c")]),
        Action(gitPanel, "b", "branches; Enter switches, n makes one at HEAD", .git, [char("b")]),
        Action(gitPanel, "z / Z", "stash the local changes / the stashes (Enter pops one)", .git, [char("z")]),
        Action(gitPanel, "f / p / P", "fetch origin / pull the upstream / push the branch", .git, [char("f")]),
        Action(gitPanel, "l", "history, with the chosen commit's diff", .git, [char("l")]),
        Action(gitPanel, "o / t / b", "conflicting cell: keep ours / theirs / both", .git, []),
        Action(gitPanel, "r / F5", "read the status again", .git, [char("r")]),
        Action(gitPanel, "Esc", "back; on the file list, close the panel", .git, [key(.escape)]),

        Action(prompts, "Enter", "send the answer", .prompt, [key(.enter)]),
        Action(prompts, "Ctrl-C", "interrupt instead", .prompt, [char("c", .control)]),
    ]

    /// The help screen's sections, in table order.
    public static var helpSections: [(title: String, actions: [Action])] {
        var sections: [(title: String, actions: [Action])] = []
        for action in actions {
            if sections.last?.title == action.section {
                sections[sections.count - 1].actions.append(action)
            } else {
                sections.append((action.section, [action]))
            }
        }
        return sections
    }
}
