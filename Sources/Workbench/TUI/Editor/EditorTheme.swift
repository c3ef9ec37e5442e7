/// How the cell editor looks: a style per syntax kind plus text, selection, bracket match and invisible characters.
///
/// The standard theme uses the 16 ANSI colours and attributes, so it reads the same on every
/// colour depth the backends map to, and selection and bracket matching stay visible under
/// `NO_COLOR` (they are drawn with attributes, not only colour).
public struct EditorTheme: Hashable, Sendable {
    /// Text that is not highlighted.
    public var text: Style
    /// Attributes added to selected text (and to a selected line break, drawn as one cell after the line).
    public var selection: Attributes
    /// The bracket at the cursor and its partner.
    public var bracketMatch: Style
    /// Characters that show nothing (controls, lone combining marks, zero-width characters), drawn as `�`.
    public var invisible: Style
    /// The style of each syntax kind.
    public var kinds: [SyntaxKind: Style]

    /// Creates a theme.
    public init(text: Style, selection: Attributes, bracketMatch: Style, invisible: Style, kinds: [SyntaxKind: Style]) {
        self.text = text
        self.selection = selection
        self.bracketMatch = bracketMatch
        self.invisible = invisible
        self.kinds = kinds
    }

    /// The style for `kind`; plain text style when the theme has none.
    public func style(for kind: SyntaxKind) -> Style { kinds[kind] ?? text }

    /// The default look: keywords magenta, builtins cyan, strings green, numbers yellow, comments grey italic.
    public static let standard = EditorTheme(
        text: .plain,
        selection: .reverse,
        bracketMatch: Style(foreground: .default, background: .ansi(8), attributes: [.bold, .underline]),
        invisible: Style(foreground: .red, attributes: .dim),
        kinds: [
            .keyword: Style(foreground: .magenta, attributes: .bold),
            .builtin: Style(foreground: .cyan),
            .string: Style(foreground: .green),
            .comment: Style(foreground: .ansi(8), attributes: .italic),
            .number: Style(foreground: .yellow),
            .decorator: Style(foreground: .blue),
            .definition: Style(foreground: .blue, attributes: .bold),
            .heading: Style(foreground: .blue, attributes: .bold),
            .emphasis: Style(attributes: .italic),
            .strong: Style(attributes: .bold),
            .code: Style(foreground: .green),
            .link: Style(foreground: .cyan, attributes: .underline),
            .url: Style(foreground: .ansi(8), attributes: .underline),
            .listMarker: Style(foreground: .yellow, attributes: .bold),
            .quote: Style(foreground: .ansi(8), attributes: .bold),
            .fence: Style(foreground: .ansi(8)),
            .rule: Style(foreground: .ansi(8), attributes: .dim),
        ]
    )
}
