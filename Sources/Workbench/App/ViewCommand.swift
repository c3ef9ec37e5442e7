import ArgumentParser
import CoreSupport
import Notebook
import TUI

struct ViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Show a notebook full-screen, read-only.",
        discussion: """
            Scroll with j/k or the arrows, PgUp/PgDn or space, g/G for the top and bottom, \
            n/p for the next and previous cell; q quits. Outputs are shown as saved (no kernel is started); \
            images and HTML appear as labelled placeholders. \
            Exit codes: 0 success; 1 ncurses cannot drive the terminal (check TERM); 5 the notebook cannot be \
            read; 64 bad usage, or standard input and output are not a terminal.
            """)

    @Argument(help: "The notebook to view (.ipynb, percent-format .py or Jupytext .md).")
    var notebook: String

    func run() throws {
        let nb: Notebook
        do {
            nb = try Notebook.read(path: notebook)
        } catch {
            printError("wb view: \(error)")
            throw Exit.badNotebook
        }
        guard isTerminal(0) && isTerminal(1) else {
            printError("wb view: standard input and output must be a terminal")
            throw ExitCode.validationFailure
        }
        let state = NotebookView.state(for: nb, fileName: FilePath.lastComponent(of: notebook))
        do {
            _ = try FullScreen.run(state, update: NotebookView.update, render: NotebookView.render, isDone: \.quit)
        } catch {
            printError("wb view: \(error)")
            throw ExitCode.failure
        }
    }
}
