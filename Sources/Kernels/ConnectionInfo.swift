public import CoreSupport
#if canImport(Glibc)
import Glibc
#endif

/// The contents of a Jupyter connection file: where a kernel's sockets are and how to sign.
public struct ConnectionInfo: Sendable, Equatable {
    public var transport: String
    public var ip: String
    public var shellPort: Int
    public var iopubPort: Int
    public var stdinPort: Int
    public var controlPort: Int
    public var hbPort: Int
    public var key: String
    public var signatureScheme: String
    public var kernelName: String

    public init(
        transport: String = "tcp", ip: String = "127.0.0.1", shellPort: Int, iopubPort: Int, stdinPort: Int,
        controlPort: Int, hbPort: Int, key: String = Identifier.uuid(), signatureScheme: String = "hmac-sha256",
        kernelName: String = ""
    ) {
        self.transport = transport
        self.ip = ip
        self.shellPort = shellPort
        self.iopubPort = iopubPort
        self.stdinPort = stdinPort
        self.controlPort = controlPort
        self.hbPort = hbPort
        self.key = key
        self.signatureScheme = signatureScheme
        self.kernelName = kernelName
    }

    /// New connection info on five free loopback TCP ports, with a random key.
    public static func allocate(kernelName: String = "") throws(SystemError) -> ConnectionInfo {
        let ports = try freeTCPPorts(5)
        return ConnectionInfo(
            shellPort: ports[0], iopubPort: ports[1], stdinPort: ports[2], controlPort: ports[3], hbPort: ports[4],
            kernelName: kernelName)
    }

    /// New connection info on Unix domain sockets (`ipc://PATH-N`) next to `path`, with a random key.
    public static func allocateIPC(path: String, kernelName: String = "") -> ConnectionInfo {
        ConnectionInfo(
            transport: "ipc", ip: path, shellPort: 1, iopubPort: 2, stdinPort: 3, controlPort: 4, hbPort: 5,
            kernelName: kernelName)
    }

    public func port(for channel: Channel) -> Int {
        switch channel {
        case .shell: return shellPort
        case .iopub: return iopubPort
        case .stdin: return stdinPort
        case .control: return controlPort
        case .heartbeat: return hbPort
        }
    }

    /// The ZeroMQ endpoint of a channel (`tcp://127.0.0.1:PORT` or `ipc://PATH-N`).
    public func endpoint(for channel: Channel) -> String {
        if transport == "ipc" { return "ipc://\(ip)-\(port(for: channel))" }
        let host = ip.contains(":") ? "[\(ip)]" : ip
        return "\(transport)://\(host):\(port(for: channel))"
    }

    public var json: JSON {
        [
            "shell_port": .int(shellPort), "iopub_port": .int(iopubPort), "stdin_port": .int(stdinPort),
            "control_port": .int(controlPort), "hb_port": .int(hbPort), "ip": .string(ip), "key": .string(key),
            "transport": .string(transport), "signature_scheme": .string(signatureScheme),
            "kernel_name": .string(kernelName),
        ]
    }

    /// Reads a connection file.
    public static func read(path: String) throws(KernelError) -> ConnectionInfo {
        let value: JSON
        do {
            value = try JSON.parse(try FileIO.read(path))
        } catch let error as SystemError {
            throw KernelError(.connectionFile, error.description)
        } catch {
            throw KernelError(.connectionFile, "\(path): not valid JSON: \(error)")
        }
        func port(_ name: String) throws(KernelError) -> Int {
            guard let p = value[name]?.intValue else {
                throw KernelError(.connectionFile, "\(path): missing \"\(name)\"")
            }
            return p
        }
        let scheme = value["signature_scheme"]?.stringValue ?? "hmac-sha256"
        guard scheme == "hmac-sha256" else {
            throw KernelError(.connectionFile, "\(path): unsupported signature_scheme \(scheme) (only hmac-sha256)")
        }
        return ConnectionInfo(
            transport: value["transport"]?.stringValue ?? "tcp", ip: value["ip"]?.stringValue ?? "127.0.0.1",
            shellPort: try port("shell_port"), iopubPort: try port("iopub_port"), stdinPort: try port("stdin_port"),
            controlPort: try port("control_port"), hbPort: try port("hb_port"), key: value["key"]?.stringValue ?? "",
            signatureScheme: scheme, kernelName: value["kernel_name"]?.stringValue ?? "")
    }

    /// Writes the connection file readable by the owner only (mode 0600).
    public func write(path: String) throws(SystemError) {
        try FileIO.createDirectory(FilePath.directory(of: path), mode: 0o700)
        try AtomicFile.write(json.serialized(.pretty) + "\n", to: path, mode: 0o600)
        chmod(path, 0o600)
    }

    /// Asks the OS for `count` distinct free TCP ports on 127.0.0.1 (as jupyter_client does).
    static func freeTCPPorts(_ count: Int) throws(SystemError) -> [Int] {
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw SystemError.errno("open a socket", path: "") }
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else { throw SystemError.errno("bind a free port", path: "127.0.0.1") }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}
