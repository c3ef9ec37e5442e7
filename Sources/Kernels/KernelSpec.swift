public import CoreSupport

/// A failure in the kernel layer, with a code scripts can map to exit codes.
public struct KernelError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case noSuchKernel
        case badKernelSpec
        case connectionFile
        case launchFailed
        case notReady
        case died
        case timeout
        case protocolError
        case closed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// A kernelspec: how to launch one kind of kernel (`kernel.json` in its resource directory).
public struct KernelSpec: Sendable, Equatable {
    public var name: String
    public var resourceDirectory: String
    public var argv: [String]
    public var displayName: String
    public var language: String
    public var interruptMode: String
    public var env: [String: String]
    public var metadata: JSONObject
    /// The protocol version the kernel declares in its spec ("" when it declares none).
    public var protocolVersion: String = ""

    public init(
        name: String, resourceDirectory: String, argv: [String], displayName: String, language: String,
        interruptMode: String = "signal", env: [String: String] = [:], metadata: JSONObject = [:]
    ) {
        self.name = name
        self.resourceDirectory = resourceDirectory
        self.argv = argv
        self.displayName = displayName
        self.language = language
        self.interruptMode = interruptMode
        self.env = env
        self.metadata = metadata
    }

    /// Loads `kernel.json` from a resource directory.
    public static func load(name: String, directory: String) throws(KernelError) -> KernelSpec {
        let path = FilePath.join(directory, "kernel.json")
        let value: JSON
        do {
            value = try JSON.parse(try FileIO.read(path))
        } catch let error as SystemError {
            throw KernelError(.badKernelSpec, error.description)
        } catch {
            throw KernelError(.badKernelSpec, "\(path): not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw KernelError(.badKernelSpec, "\(path): not a JSON object")
        }
        guard let argv = object["argv"]?.arrayValue?.compactMap(\.stringValue), !argv.isEmpty else {
            throw KernelError(.badKernelSpec, "\(path): \"argv\" must be a non-empty list of strings")
        }
        guard let display = object["display_name"]?.stringValue else {
            throw KernelError(.badKernelSpec, "\(path): \"display_name\" is missing")
        }
        var env: [String: String] = [:]
        for (key, v) in object["env"]?.objectValue ?? [:] { env[key] = v.stringValue ?? v.serialized() }
        var spec = KernelSpec(
            name: name, resourceDirectory: directory, argv: argv, displayName: display,
            language: object["language"]?.stringValue ?? "", interruptMode: object["interrupt_mode"]?.stringValue ?? "signal",
            env: env, metadata: object["metadata"]?.objectValue ?? [:])
        spec.protocolVersion = object["kernel_protocol_version"]?.stringValue ?? ""
        return spec
    }

    /// The spec as `jupyter kernelspec list --json` prints it.
    public var specJSON: JSON {
        var envObject = JSONObject()
        for key in env.keys.sorted() { envObject[key] = .string(env[key]!) }
        return [
            "argv": .array(argv.map(JSON.string)), "env": .object(envObject), "display_name": .string(displayName),
            "language": .string(language), "interrupt_mode": .string(interruptMode), "metadata": .object(metadata),
            "kernel_protocol_version": .string(protocolVersion),
        ]
    }
}

/// Finds kernelspecs exactly where Jupyter looks, in the same order.
public struct KernelSpecFinder: Sendable {
    /// The Python environment whose `share/jupyter` counts as Jupyter's `sys.prefix` (Workbench's venv).
    public var pythonPrefix: String?
    public var environment: [String: String]

    public init(pythonPrefix: String? = KernelSpecFinder.defaultPythonPrefix(), environment: [String: String] = Environment.all()) {
        self.pythonPrefix = pythonPrefix
        self.environment = environment
    }

    /// `$WB_PYTHON_ENV`, else the environment the set-up script recorded in `$WB_HOME/python-env`.
    public static func defaultPythonPrefix() -> String? {
        if let env = Environment.nonEmpty("WB_PYTHON_ENV") { return env }
        let recorded = FilePath.join(Environment.workbenchHome, "python-env")
        if let text = try? FileIO.readText(recorded) {
            let path = text.trimmed()
            if !path.isEmpty { return path }
        }
        return nil
    }

    private func env(_ name: String) -> String? {
        guard let v = environment[name], !v.isEmpty else { return nil }
        return v
    }

    /// `jupyter_core.paths.jupyter_path()`: JUPYTER_PATH, then user and environment, then system.
    public var dataPath: [String] {
        var paths: [String] = []
        if let jp = env("JUPYTER_PATH") {
            paths += jp.split(separator: ":", omittingEmptySubsequences: true).map {
                var p = String($0)
                while p.count > 1, p.hasSuffix("/") { p.removeLast() }
                return p
            }
        }
        let home = env("HOME") ?? Environment.home
        let xdg = env("XDG_DATA_HOME") ?? FilePath.join(home, ".local/share")
        let user = [env("JUPYTER_DATA_DIR") ?? FilePath.join(xdg, "jupyter")]
        let system = ["/usr/local/share/jupyter", "/usr/share/jupyter"]
        var environmentPaths: [String] = []
        if let prefix = pythonPrefix {
            let p = FilePath.join(prefix, "share/jupyter")
            if !system.contains(p) { environmentPaths.append(p) }
        }
        if preferEnvironmentOverUser {
            paths += environmentPaths + user
        } else {
            paths += user + environmentPaths
        }
        paths += system
        return paths
    }

    /// `JUPYTER_PREFER_ENV_PATH` when set; otherwise true, since Workbench's Python is a virtualenv.
    var preferEnvironmentOverUser: Bool {
        if let v = environment["JUPYTER_PREFER_ENV_PATH"] {
            return !["no", "n", "off", "false", "0", "0.0"].contains(v.lowercased())
        }
        return pythonPrefix != nil
    }

    public var kernelDirectories: [String] { dataPath.map { FilePath.join($0, "kernels") } }

    /// Valid kernel names: ASCII letters, digits, `.`, `_` and `-`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            ($0.value < 128 && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "." || $0 == "_"
                || $0 == "-"
        }
    }

    /// Name to resource directory; a name found earlier in the path shadows later ones.
    public func findSpecDirectories() -> [(name: String, directory: String)] {
        var found: [String: String] = [:]
        var order: [String] = []
        for dir in kernelDirectories where FileIO.isDirectory(dir) {
            for entry in FileIO.list(dir) {
                let path = FilePath.join(dir, entry)
                guard FileIO.isDirectory(path), FileIO.exists(FilePath.join(path, "kernel.json")) else { continue }
                // Jupyter warns about names outside [A-Za-z0-9._-] but still lists them; so do we.
                let name = entry.lowercased()
                if found[name] == nil {
                    found[name] = path
                    order.append(name)
                }
            }
        }
        return order.sorted().map { ($0, found[$0]!) }
    }

    /// All specs that load; broken ones are returned separately with their errors.
    public func allSpecs() -> (specs: [KernelSpec], problems: [KernelError]) {
        var specs: [KernelSpec] = []
        var problems: [KernelError] = []
        for (name, dir) in findSpecDirectories() {
            do {
                specs.append(try KernelSpec.load(name: name, directory: dir))
            } catch {
                problems.append(error)
            }
        }
        return (specs, problems)
    }

    /// The spec of one kernel name (case-insensitive, as Jupyter does).
    public func spec(named name: String) throws(KernelError) -> KernelSpec {
        let wanted = name.lowercased()
        let dirs = findSpecDirectories()
        guard let hit = dirs.first(where: { $0.name == wanted }) else {
            let known = dirs.map(\.name).joined(separator: ", ")
            throw KernelError(
                .noSuchKernel,
                "no kernel named \(name)" + (known.isEmpty ? " (no kernelspecs found; run `wb doctor`)" : " (installed: \(known))"))
        }
        return try KernelSpec.load(name: hit.name, directory: hit.directory)
    }
}
