import CoreSupport

/// Who is asking: a user, group or role.
///
/// In embedded mode the caller is the local OS user; policies, grants and
/// access plans (the Governance issue) are built on this type.
public struct Principal: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case user, group, role
    }

    public var kind: Kind
    public var name: String

    public init(_ kind: Kind, _ name: String) {
        self.kind = kind
        self.name = name
    }

    /// The user running this process.
    public static var currentUser: Principal { Principal(.user, Environment.userName) }

    public var description: String { "\(kind.rawValue):\(name)" }
}
