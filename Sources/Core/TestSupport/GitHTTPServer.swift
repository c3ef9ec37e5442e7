// A real smart-HTTP git server on 127.0.0.1 for remote tests: a small Python HTTP server in front
// of `git http-backend` (the CGI program git ships), with HTTP Basic authentication, over plain
// HTTP or HTTPS (a certificate from a throw-away CA made with `openssl` for the test).
import Foundation

/// A certificate authority made for one test, and a server certificate it signed for 127.0.0.1.
public struct TestCertificateAuthority: Sendable {
    /// The CA's certificate (PEM): what a client must trust (`http.sslCAInfo`, `GIT_SSL_CAINFO`).
    public let caCertificate: String
    /// The server's certificate (PEM, for `127.0.0.1` as an IP address and as a name) and its key.
    public let serverCertificate: String
    public let serverKey: String
    /// The folder holding them.
    public let folder: String

    /// Makes a new CA and server certificate (P-256 keys, valid for two days) with the `openssl` command.
    public init() throws {
        folder = try Scratch.directory("test-ca")
        caCertificate = folder + "/ca.pem"
        serverCertificate = folder + "/server.pem"
        serverKey = folder + "/server.key"
        try """
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature, keyEncipherment
            extendedKeyUsage = serverAuth
            subjectAltName = IP:127.0.0.1, DNS:127.0.0.1
            """.write(toFile: folder + "/server.ext", atomically: true, encoding: .utf8)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let steps: [[String]] = [
            ["req", "-x509"] + key + [
                "-keyout", folder + "/ca.key", "-out", caCertificate, "-days", "2", "-subj", "/CN=Workbench test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ],
            ["req"] + key + ["-keyout", serverKey, "-out", folder + "/server.csr", "-subj", "/CN=127.0.0.1"],
            [
                "x509", "-req", "-in", folder + "/server.csr", "-CA", caCertificate, "-CAkey", folder + "/ca.key",
                "-CAcreateserial", "-out", serverCertificate, "-days", "2", "-extfile", folder + "/server.ext",
            ],
        ]
        for step in steps {
            let result = try Command.run(["/usr/bin/openssl"] + step)
            guard result.status == 0 else {
                throw TestSupportFailure(description: "openssl \(step[0]) failed (\(result.status)): \(result.stderr)")
            }
        }
    }
}

/// A git smart-HTTP server on loopback, serving the repositories under one folder, behind Basic auth
/// (over TLS when given a certificate authority's server certificate).
///
/// Started by the test, stopped by `stop()` (or when the test process exits: the server leaves when
/// its standard input closes). Every request is logged (method, path, status, user) for assertions.
public final class GitHTTPServer: @unchecked Sendable {
    /// The folder whose repositories are served (`http://127.0.0.1:PORT/NAME.git`).
    public let root: String
    public let port: Int
    private let process: Process
    private let stdin: Pipe
    private let logPath: String

    /// Whether it speaks HTTPS.
    public let secure: Bool

    /// The base URL, `http://127.0.0.1:PORT` (or `https://`).
    public var url: String { "\(secure ? "https" : "http")://127.0.0.1:\(port)" }

    /// Starts a server for the repositories under `root`, accepting one user and password; over
    /// HTTPS with `tls`'s server certificate when given.
    public init(
        root: String, username: String, password: String, tls: TestCertificateAuthority? = nil, timeout: Double = 60
    ) throws {
        secure = tls != nil
        self.root = root
        let dir = try Scratch.directory("git-http")
        let script = dir + "/server.py", portPath = dir + "/port", errPath = dir + "/stderr"
        logPath = dir + "/requests.log"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process = Process()
        // The system Python: the server needs only the standard library.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, root, username, password, portPath, logPath] + (tls.map { [$0.serverCertificate, $0.serverKey] } ?? [])
        stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        var found: Int?
        while found == nil, Date() < deadline, process.isRunning {
            if let text = try? String(contentsOfFile: portPath, encoding: .utf8), let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                found = value
            } else {
                usleep(20_000)
            }
        }
        guard let found else {
            let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
            if process.isRunning { process.terminate() }
            throw TestSupportFailure(description: "the git HTTP server did not start within \(Int(timeout)) s: \(stderr)")
        }
        port = found
    }

    deinit { stop() }

    /// Stops the server and waits (bounded) for it to leave.
    public func stop() {
        guard process.isRunning else { return }
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// The requests served so far: one line per request, `METHOD PATH STATUS USER` (`-` when not authenticated).
    public var requests: [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Creates a bare repository `name.git` under the served folder with the git command line; returns its path.
    @discardableResult
    public func createRepository(_ name: String, environment: [String: String]) throws -> String {
        let path = root + "/" + name + ".git"
        let result = try Command.run(["/usr/bin/git", "init", "-q", "--bare", path], environment: environment)
        guard result.status == 0 else { throw TestSupportFailure(description: "git init --bare failed: \(result.stderr)") }
        return path
    }

    static let script = #"""
        import base64, http.server, os, ssl, subprocess, sys, threading

        root, user, password, port_path, log_path = sys.argv[1:6]
        certificate = sys.argv[6:8]
        exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
        backend = os.path.join(exec_path, "git-http-backend")
        log_lock = threading.Lock()


        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Buffered: each response leaves in one write, headers and body together.
            wbufsize = 1 << 20

            def log_message(self, *args):
                pass

            def record(self, status, who):
                with log_lock, open(log_path, "a") as log:
                    log.write(f"{self.command} {self.path} {status} {who}\n")

            def read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return bytes(data)
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def reply(self, status, headers, payload):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def serve(self):
                body = self.read_body()
                who = None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    name, _, secret = base64.b64decode(auth[6:]).decode("utf-8", "replace").partition(":")
                    if name == user and secret == password:
                        who = name
                if who is None:
                    self.record(401, "-")
                    # An empty body, as many git hosts send: libgit2 1.5.1 misreads a 401's body as the next
                    # response ("http parser error: invalid constant string"); Docs/architecture.md says so.
                    self.reply(401, [("WWW-Authenticate", 'Basic realm="wb-test"')], b"")
                    return
                path, _, query = self.path.partition("?")
                env = dict(os.environ)
                env.update(
                    GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1", REQUEST_METHOD=self.command, PATH_INFO=path,
                    QUERY_STRING=query, REMOTE_USER=who, REMOTE_ADDR="127.0.0.1", GATEWAY_INTERFACE="CGI/1.1",
                    SERVER_PROTOCOL="HTTP/1.1", CONTENT_TYPE=self.headers.get("Content-Type", ""),
                    CONTENT_LENGTH=str(len(body)))
                for header, variable in (("Content-Encoding", "HTTP_CONTENT_ENCODING"), ("Git-Protocol", "GIT_PROTOCOL")):
                    if self.headers.get(header):
                        env[variable] = self.headers[header]
                result = subprocess.run([backend], input=body, env=env, capture_output=True, timeout=120)
                out = result.stdout
                split = out.find(b"\r\n\r\n")
                head, payload = (out[:split], out[split + 4:]) if split >= 0 else out.partition(b"\n\n")[::2]
                status, headers = 200, []
                for line in head.decode("latin-1").splitlines():
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.strip().split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.record(status, who)
                self.reply(status, headers, payload)

            do_GET = serve
            do_POST = serve


        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if certificate:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            # The handshake happens in each connection's thread, on its first read, not in accept().
            server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        with open(port_path + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(port_path + ".tmp", port_path)


        def leave_with_parent():
            sys.stdin.buffer.read()
            os._exit(0)


        threading.Thread(target=leave_with_parent, daemon=True).start()
        server.serve_forever()
        """#
}
