/// A policy problem: what is wrong and where (file, line, column).
public struct GovernanceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem this is; the CLI maps it to an exit code.
    public enum Code: String, Sendable, Equatable {
        /// The policy file is not valid YAML, or not of the policy's shape.
        case invalidPolicy
        /// A row filter or mask expression does not parse.
        case invalidExpression
        /// A grant names a table, column, role or group that does not exist.
        case unknownReference
        /// Role inheritance loops back on itself.
        case roleCycle
        /// The principal may not do this.
        case denied
        /// The policy store is unreadable or was written by a newer Workbench.
        case store
    }

    /// Where in a file or expression the problem is.
    public struct Location: Sendable, Equatable, CustomStringConvertible {
        public var file: String?
        /// 1-based line, when known.
        public var line: Int?
        /// 1-based column, when known.
        public var column: Int?

        public init(file: String? = nil, line: Int? = nil, column: Int? = nil) {
            self.file = file
            self.line = line
            self.column = column
        }

        public var description: String {
            var parts: [String] = []
            if let file { parts.append(file) }
            if let line { parts.append(String(line)) }
            if let column { parts.append(String(column)) }
            return parts.joined(separator: ":")
        }
    }

    public var code: Code
    public var message: String
    public var location: Location?

    public init(_ code: Code, _ message: String, at location: Location? = nil) {
        self.code = code
        self.message = message
        self.location = location
    }

    public var description: String {
        guard let location, !location.description.isEmpty else { return message }
        return "\(location): \(message)"
    }

    /// The same error, placed in `file` at the given line and column (an expression's own offsets are added).
    func located(file: String?, line: Int?, column: Int?) -> GovernanceError {
        var copy = self
        let innerColumn = location?.column
        let shifted: Int? =
            switch (column, innerColumn) {
            case (let c?, let i?): c + i - 1
            case (let c?, nil): c
            case (nil, let i): i
            }
        copy.location = Location(file: file, line: line, column: shifted)
        return copy
    }
}
