import ArgumentParser
import CoreSupport
#if canImport(Glibc)
import Glibc
#endif
import Kernels

struct KernelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Installed Jupyter kernels.",
        subcommands: [List.self, Install.self],
        defaultSubcommand: List.self)

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install the kernelspec of a Workbench kernel (sql), so Jupyter clients can start it.",
            discussion: """
                Writes KERNELS/NAME/kernel.json, whose argv starts this `wb` (by its absolute path) with \
                `kernel sql -f {connection_file}`. KERNELS is the user's Jupyter data folder \
                ($JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter) with --user (the default), or \
                PREFIX/share/jupyter with --prefix PREFIX. --home is written into the spec so the kernel \
                opens that domain. An existing spec of the same name is replaced.

                Exit codes: 0 installed; 7 the kernelspec cannot be written; 64 bad usage.
                """)

        @Argument(help: "The kernel to install: sql.")
        var kernel: String

        @Flag(help: "Install for the current user (the default).")
        var user = false

        @Option(help: "Install under PREFIX/share/jupyter/kernels instead.")
        var prefix: String?

        @Option(help: "The kernelspec's name.")
        var name = "wb-sql"

        @Option(help: "The name Jupyter clients show.")
        var displayName = "SQL (Workbench)"

        @Option(help: "The domain folder the kernel opens (default: the kernel's $WB_HOME).")
        var home: String?

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            guard kernel == "sql" else { throw ValidationError("the kernels Workbench serves: sql (not '\(kernel)')") }
            if user && prefix != nil { throw ValidationError("--user and --prefix are exclusive") }
            guard KernelSpecFinder.isValidName(name) else {
                throw ValidationError("kernel names use only ASCII letters, digits, '.', '_' and '-'")
            }
        }

        func run() async throws {
            let base: String
            if let prefix {
                base = FilePath.join(FilePath.absolute(prefix), "share/jupyter")
            } else {
                base = Environment.nonEmpty("JUPYTER_DATA_DIR") ?? FilePath.join(Environment.dataHome, "jupyter")
            }
            let directory = FilePath.join(base, "kernels", name)
            var argv: [JSON] = [.string(Self.executablePath()), "kernel", "sql", "-f", "{connection_file}"]
            if let home { argv += ["--home", .string(FilePath.absolute(home))] }
            let spec: JSON = [
                "argv": .array(argv), "display_name": .string(displayName), "language": "sql",
                "interrupt_mode": "message", "metadata": ["debugger": false],
            ]
            let path = FilePath.join(directory, "kernel.json")
            do {
                try FileIO.createDirectory(directory, mode: 0o755)
                try AtomicFile.write(spec.serialized(.pretty) + "\n", to: path)
            } catch {
                printError("wb kernels install: \(error)")
                throw Exit.writeFailed
            }
            if json {
                printJSON(["name": .string(name), "resource_dir": .string(directory), "spec": spec])
            } else {
                print("Installed kernelspec \(name) in \(directory)")
            }
        }

        /// This program's absolute path (`/proc/self/exe`), so the spec works from any folder and PATH.
        static func executablePath() -> String {
            var buffer = [CChar](repeating: 0, count: 4096)
            let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            guard n > 0 else { return FilePath.absolute(CommandLine.arguments[0]) }
            return buffer.withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0).prefix(n), as: UTF8.self) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List installed kernelspecs, resolved as `jupyter kernelspec list` does.",
            discussion: """
                Searched in order: $JUPYTER_PATH, the user's Jupyter data folder, Workbench's Python \
                environment, /usr/local/share/jupyter and /usr/share/jupyter; a name found earlier \
                shadows the same name later. `--json` prints what `jupyter kernelspec list --json` prints.
                """)

        @Flag(help: "Print JSON, in the shape of `jupyter kernelspec list --json`.")
        var json = false

        @Flag(help: "Also show the folders searched and specs shadowed by others.")
        var verbose = false

        func run() async throws {
            let finder = KernelSpecFinder()
            let (specs, problems) = finder.allSpecs()
            if json {
                var all = JSONObject()
                for spec in specs {
                    all[spec.name] = ["resource_dir": .string(spec.resourceDirectory), "spec": spec.specJSON]
                }
                printJSON(["kernelspecs": .object(all)])
            } else {
                if specs.isEmpty {
                    print("No kernels found. Run `wb doctor` to see why.")
                } else {
                    let width = specs.map(\.name.count).max() ?? 0
                    print("Available kernels:")
                    for spec in specs {
                        print("  \(spec.name.padded(to: width))    \(spec.resourceDirectory)")
                    }
                }
                if verbose {
                    print("\nSearched, in order:")
                    for dir in finder.kernelDirectories {
                        print("  \(dir)\(FileIO.isDirectory(dir) ? "" : "  (missing)")")
                    }
                }
            }
            for problem in problems { printError("wb kernels: skipped a broken kernelspec: \(problem.message)") }
            for spec in specs where !KernelSpecFinder.isValidName(spec.name) {
                printError("wb kernels: \(spec.resourceDirectory): kernel names should use only ASCII letters, digits, '.', '_' and '-'")
            }
        }
    }
}

