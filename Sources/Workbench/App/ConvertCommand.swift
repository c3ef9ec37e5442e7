import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Notebook

struct ConvertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a notebook between .ipynb, Jupytext's percent-format .py and Jupytext Markdown .md.",
        discussion: "Writes atomically; the input is never changed. Exit codes: 0 done, 5 the input cannot be read, 7 the output cannot be written.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case py, md, ipynb
    }

    @Argument(help: "The notebook to convert (.ipynb, .py or .md).")
    var input: String

    @Option(help: "The format to write.")
    var to: Format

    @Option(name: [.short, .customLong("output")], help: "Where to write (default: the input's name with the new extension; `-` for standard output).")
    var output: String?

    func run() async throws {
        let notebook: Notebook
        do {
            notebook = try Notebook.read(path: input)
        } catch {
            printError("wb convert: \(error)")
            throw Exit.badNotebook
        }
        let text: String
        switch to {
        case .py: text = PercentScript.render(notebook)
        case .md: text = MarkdownNotebook.render(notebook)
        case .ipynb: text = String(decoding: notebook.ipynbBytes(), as: UTF8.self)
        }
        let target = output ?? FilePath.join(FilePath.directory(of: input), stem(FilePath.lastComponent(of: input)) + "." + to.rawValue)
        if target == "-" {
            print(text, terminator: "")
            return
        }
        if FilePath.absolute(target) == FilePath.absolute(input) {
            printError("wb convert: the output would overwrite the input \(input); give -o")
            throw Exit.writeFailed
        }
        do {
            try AtomicFile.write(text, to: target)
        } catch {
            printError("wb convert: \(error)")
            throw Exit.writeFailed
        }
        printError("wb convert: wrote \(target)")
    }

    func stem(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }
}
