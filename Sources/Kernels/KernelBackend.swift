public import CoreSupport

/// What a kernel tells clients about itself in `kernel_info_reply`.
public struct KernelInfo: Sendable {
    public var implementation: String
    public var implementationVersion: String
    /// `language_info`: at least `name`, `version`, `mimetype` and `file_extension`.
    public var languageInfo: JSONObject
    public var banner: String
    /// `(text, url)` pairs shown in a client's help menu.
    public var helpLinks: [(text: String, url: String)]

    public init(
        implementation: String, implementationVersion: String, languageInfo: JSONObject, banner: String,
        helpLinks: [(text: String, url: String)] = []
    ) {
        self.implementation = implementation
        self.implementationVersion = implementationVersion
        self.languageInfo = languageInfo
        self.banner = banner
        self.helpLinks = helpLinks
    }
}

/// One `execute_request`, as the backend sees it.
public struct ExecuteRequest: Sendable {
    public var code: String
    public var silent: Bool
    public var storeHistory: Bool
    public var allowStdin: Bool
    public var stopOnError: Bool
    /// The execution count this request runs as (already advanced when it stores history).
    public var executionCount: Int
}

/// How an execution ended.
public enum ExecuteOutcome: Sendable {
    /// It ran; `result` (a MIME bundle such as `["text/plain": "3"]`) becomes the `execute_result`, if any.
    case ok(result: JSONObject?, metadata: JSONObject)
    /// It failed: published as an `error` message and answered with status `error`.
    case error(name: String, value: String, traceback: [String])

    /// An execution with a result and no metadata.
    public static func ok(_ result: JSONObject?) -> ExecuteOutcome { .ok(result: result, metadata: [:]) }
}

/// Publishes output on IOPub while a request runs (from any thread, during the request only).
public struct KernelOutput: Sendable {
    let publish: @Sendable (_ msgType: String, _ content: JSONObject) -> Void

    /// Creates an output that hands each message to `publish` (for backends tested on their own).
    public init(publish: @escaping @Sendable (_ msgType: String, _ content: JSONObject) -> Void) {
        self.publish = publish
    }

    /// Text on `stdout` or `stderr`.
    public func stream(_ name: String = "stdout", _ text: String) {
        publish("stream", ["name": .string(name), "text": .string(text)])
    }

    /// A rich display (a MIME bundle) that is not the execution's result.
    public func display(_ data: JSONObject, metadata: JSONObject = [:]) {
        publish("display_data", ["data": .object(data), "metadata": .object(metadata), "transient": [:]])
    }
}

/// Completion matches for `complete_request`; `cursorStart..<cursorEnd` is the text they replace (in code points).
public struct Completion: Sendable, Equatable {
    public var matches: [String]
    public var cursorStart: Int
    public var cursorEnd: Int
    public var metadata: JSONObject

    public init(matches: [String], cursorStart: Int, cursorEnd: Int, metadata: JSONObject = [:]) {
        self.matches = matches
        self.cursorStart = cursorStart
        self.cursorEnd = cursorEnd
        self.metadata = metadata
    }
}

/// What `inspect_request` found at the cursor: a MIME bundle, or nothing.
public struct Inspection: Sendable, Equatable {
    public var data: JSONObject?
    public var metadata: JSONObject

    public init(data: JSONObject?, metadata: JSONObject = [:]) {
        self.data = data
        self.metadata = metadata
    }

    public static let notFound = Inspection(data: nil)
}

/// Whether code is ready to run (`is_complete_request`), as a console decides between running and a new line.
public enum CodeCompleteness: Sendable, Equatable {
    case complete
    /// More input is needed; `indent` is the suggested indentation of the next line.
    case incomplete(indent: String)
    case invalid
    case unknown
}

/// The language side of a kernel: `KernelServer` speaks the protocol and calls this for the meaning.
///
/// `execute`, `complete`, `inspect` and `isComplete` are called one at a time on the server's
/// worker thread; `interrupt` comes from another thread while `execute` runs and must make it
/// return soon (with an error outcome).
public protocol KernelBackend: AnyObject, Sendable {
    var info: KernelInfo { get }
    func execute(_ request: ExecuteRequest, output: KernelOutput) -> ExecuteOutcome
    func complete(code: String, cursorPosition: Int) -> Completion
    func inspect(code: String, cursorPosition: Int, detailLevel: Int) -> Inspection
    func isComplete(code: String) -> CodeCompleteness
    func interrupt()
    func shutdown(restart: Bool)
}

extension KernelBackend {
    public func inspect(code: String, cursorPosition: Int, detailLevel: Int) -> Inspection { .notFound }
    public func interrupt() {}
    public func shutdown(restart: Bool) {}
}
