import CoreSupport
import Kernels

/// Wires the `%%sql` cell magic into the Python kernels wb starts (`wb run`, `wb open`).
///
/// The extension's text is carried in the binary (`SQLMagic.source`) and written to
/// `$WB_HOME/python/wb_sql/__init__.py` when it is missing or different; the kernel gets that
/// folder first on PYTHONPATH, `WB_EXECUTABLE` (this wb) and `WB_HOME` (this domain) in its
/// environment, and loads the extension silently once it is ready.
enum SQLMagic {
    /// The folder (to put on PYTHONPATH) that holds the `wb_sql` package of the domain `home`.
    static func folder(home: String = Environment.workbenchHome) -> String {
        FilePath.join(FilePath.absolute(home), "python")
    }

    /// Writes the extension under `home` unless it is there already, and returns its folder.
    @discardableResult
    static func install(home: String = Environment.workbenchHome) throws(SystemError) -> String {
        let folder = folder(home: home)
        let package = FilePath.join(folder, "wb_sql")
        let file = FilePath.join(package, "__init__.py")
        let text = source + "\n"  // the raw string leaves out the file's last newline
        if (try? FileIO.readText(file)) == text { return folder }
        try FileIO.createDirectory(package)
        try AtomicFile.write(text, to: file)
        return folder
    }

    /// The setup for a kernel: for Python kernels, the environment and `%load_ext wb_sql`; nothing for others.
    ///
    /// A domain folder that cannot be written leaves Python working and makes `%%sql` cells say why
    /// (nothing is printed: the full-screen notebook owns the terminal).
    static func kernelSetup(for spec: KernelSpec, home: String = Environment.workbenchHome) -> KernelSetup {
        guard spec.language.lowercased() == "python" else { return KernelSetup() }
        let folder: String
        do {
            folder = try install(home: home)
        } catch {
            let why = "%%sql is not available: wb cannot write its IPython extension under \(Self.folder(home: home)): \(error)"
            return KernelSetup(startupCode: """
                def _wb_sql_unavailable(line, cell):
                    from IPython.core.error import UsageError
                    raise UsageError(\(JSON.string(why).serialized()))
                get_ipython().register_magic_function(_wb_sql_unavailable, magic_kind="cell", magic_name="sql")
                del _wb_sql_unavailable
                """)
        }
        var path = folder
        if let existing = spec.env["PYTHONPATH"] ?? Environment.nonEmpty("PYTHONPATH") { path += ":" + existing }
        return KernelSetup(
            environment: [
                "PYTHONPATH": path, "WB_EXECUTABLE": KernelsCommand.Install.executablePath(),
                "WB_HOME": FilePath.absolute(home),
            ],
            startupCode: "%load_ext wb_sql")
    }
}
