public import Governance

/// Authorizes bus requests with the domain's policy: the action's registered permission
/// must be granted to the calling user, and every decision, allow or deny, is audited.
///
/// Install it as `RequireRegisteredPermission(GovernanceAuthorizer(service))`, first in
/// the middleware chain, so no plugin sees a request its caller may not make.
public struct GovernanceAuthorizer: PermissionAuthorizer {
    private let service: GovernanceService

    public init(_ service: GovernanceService) {
        self.service = service
    }

    public func authorize(_ context: RequestContext) async throws -> AuthorizationDecision {
        guard context.principal.kind == .user else {
            // Groups and roles are held by users; a request always comes from a user.
            return .deny(reason: "requests must come from a user, not \(context.principal)")
        }
        let decision = try service.authorize(
            user: context.principal.name, action: context.permission.name, resource: context.action.description,
            detail: "request \(context.requestID)")
        return decision.allowed ? .allow : .deny(reason: decision.reason)
    }
}
