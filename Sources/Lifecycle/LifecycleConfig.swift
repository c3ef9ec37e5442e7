import CoreSupport
import YAML

/// A lifecycle config file (`$WB_HOME/lifecycle.yaml` or a workspace's `.wb/lifecycle.yaml`).
///
/// ```yaml
/// on_create: |          # once, when the workspace is first set up
///   pip install -r requirements.txt
/// on_start: |           # before every session's kernel starts
///   nohup ./sync-data.sh > sync.log 2>&1 &
/// timeout: 300          # seconds per script (default 300)
/// continue_on_failure: false
/// culling:              # global file only: the culler's defaults
///   idle_timeout: 3600
///   interval: 300
///   cull_busy: false
///   cull_connected: false
///   max_age: 0
///   warning: 60         # seconds of countdown an attached TUI shows first
/// ```
/// Unknown keys are errors, reported with file, line and column, so a typo never silently drops a script.
public struct LifecycleConfig: Sendable, Equatable {
    public var onCreate: String?
    public var onStart: String?
    /// Seconds each script may run before its process group is killed.
    public var timeout: Double = 300
    /// Whether a session starts even when a script fails or times out.
    public var continueOnFailure = false
    /// The culler's settings (read from the global file only).
    public var culling: CullPolicy?
    /// The file it came from.
    public var file: String?

    public init(onCreate: String? = nil, onStart: String? = nil, timeout: Double = 300, continueOnFailure: Bool = false, file: String? = nil) {
        self.onCreate = onCreate
        self.onStart = onStart
        self.timeout = timeout
        self.continueOnFailure = continueOnFailure
        self.file = file
    }

    /// The config in `file`, or nil when there is no such file.
    public static func load(_ file: String) throws(LifecycleError) -> LifecycleConfig? {
        guard FileIO.exists(file) else { return nil }
        let text: String
        do {
            text = try FileIO.readText(file)
        } catch {
            throw LifecycleError(.invalidConfig, "cannot read the lifecycle config \(file): \(error)")
        }
        return try parse(text, file: file)
    }

    /// Parses a config's YAML text.
    public static func parse(_ text: String, file: String? = nil) throws(LifecycleError) -> LifecycleConfig {
        let place = file ?? "lifecycle config"
        func fail(_ node: YAMLNode?, _ message: String) -> LifecycleError {
            let at = node?.mark.map { ":\($0.line):\($0.column)" } ?? ""
            return LifecycleError(.invalidConfig, "\(place)\(at): \(message)")
        }
        let root: YAMLNode?
        do {
            root = try YAML.compose(text)
        } catch {
            throw LifecycleError(.invalidConfig, "\(place): not valid YAML: \(error)")
        }
        var config = LifecycleConfig(file: file)
        guard let root else { return config }
        guard let mapping = root.mapping else { throw fail(root, "the config must be a mapping of keys (on_create, on_start, timeout, ...)") }
        func number(_ node: YAMLNode, _ key: String) throws(LifecycleError) -> Double {
            guard let scalar = node.scalar, let value = Double(scalar.string), value >= 0, value.isFinite else {
                throw fail(node, "\(key) must be a number of seconds (0 or more)")
            }
            return value
        }
        func flag(_ node: YAMLNode, _ key: String) throws(LifecycleError) -> Bool {
            switch node.scalar?.string.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: throw fail(node, "\(key) must be true or false")
            }
        }
        func script(_ node: YAMLNode, _ key: String) throws(LifecycleError) -> String? {
            guard let scalar = node.scalar else { throw fail(node, "\(key) must be a shell script (a string; use `|` for several lines)") }
            return scalar.string.trimmed().isEmpty ? nil : scalar.string
        }
        for (keyNode, value) in mapping {
            let key = keyNode.scalar?.string ?? ""
            switch key {
            case "on_create": config.onCreate = try script(value, key)
            case "on_start": config.onStart = try script(value, key)
            case "timeout":
                config.timeout = try number(value, key)
                if config.timeout == 0 { throw fail(value, "timeout must be more than 0 seconds") }
            case "continue_on_failure": config.continueOnFailure = try flag(value, key)
            case "culling":
                guard let culling = value.mapping else { throw fail(value, "culling must be a mapping") }
                var policy = CullPolicy()
                for (k, v) in culling {
                    let name = k.scalar?.string ?? ""
                    switch name {
                    case "idle_timeout": policy.idleTimeout = try number(v, name)
                    case "interval":
                        policy.interval = try number(v, name)
                        if policy.interval == 0 { throw fail(v, "interval must be more than 0 seconds") }
                    case "cull_busy": policy.cullBusy = try flag(v, name)
                    case "cull_connected": policy.cullConnected = try flag(v, name)
                    case "max_age": policy.maxAge = try number(v, name)
                    case "warning": policy.warning = try number(v, name)
                    default:
                        throw fail(k, "unknown key culling.\(name) (known: idle_timeout, interval, cull_busy, cull_connected, max_age, warning)")
                    }
                }
                config.culling = policy
            default:
                throw fail(keyNode, "unknown key \(key) (known: on_create, on_start, timeout, continue_on_failure, culling)")
            }
        }
        return config
    }
}

/// Workspaces: folders holding a `.wb/` folder.
public enum Workspace {
    /// The workspace's own folder name.
    public static let folderName = ".wb"

    /// The nearest folder from `directory` upwards that holds `.wb/`, or nil.
    public static func find(from directory: String) -> String? {
        var dir = FilePath.absolute(directory)
        while true {
            if FileIO.isDirectory(FilePath.join(dir, folderName)) { return dir }
            let parent = FilePath.directory(of: dir)
            if parent == dir || dir == "/" || parent.isEmpty { return nil }
            dir = parent
        }
    }

    /// The workspace's config file.
    public static func configFile(_ workspace: String) -> String { FilePath.join(workspace, folderName, "lifecycle.yaml") }

    /// The file whose presence says on-create has run.
    public static func createdMarker(_ workspace: String) -> String { FilePath.join(workspace, folderName, "created") }

    /// The global config file of a domain.
    public static func globalConfigFile(home: String) -> String { FilePath.join(home, "lifecycle.yaml") }
}
