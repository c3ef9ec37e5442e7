public import CoreSupport

/// How rich outputs read as text, one rendering for every part of wb that shows them: the
/// notebook app, `wb view`, and the transcripts of `wb run --log-output` and the headless `wb open`.
///
/// Markdown (`display(Markdown(...))`) is rendered by `MarkdownDocument`; an HTML table (pandas
/// DataFrames, `%%sql` results) is laid out by `TextTable`, with the text around it (a `%%sql`
/// cell's summary and row count) as notes above and below. Anything else is left to the caller,
/// which shows `text/plain`.
public enum RichOutput {
    /// The lines `data` (an output's MIME bundle) shows in `width` columns, or nil when it has no Markdown or HTML table.
    public static func lines(_ data: JSONObject, width: Int) -> [[Span]]? {
        guard data.keys.allSatisfy({ !$0.hasPrefix("image/") }) else { return nil }
        if let markdown = data["text/markdown"] {
            return MarkdownDocument(NotebookView.joinLines(markdown)).lines(width: max(1, width))
        }
        if let html = data["text/html"], let table = HTMLTable.parse(NotebookView.joinLines(html)) {
            let laidOut = TextTable(table)
            return (0..<laidOut.lineCount).map { laidOut.line($0, width: max(1, width)) }
        }
        return nil
    }
}
