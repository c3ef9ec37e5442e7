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
        subcommands: [List.self],
        defaultSubcommand: List.self)

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
                        print("  \(spec.name.padding(width))    \(spec.resourceDirectory)")
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

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
