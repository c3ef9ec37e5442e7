/// Sessions, activity tracking, lifecycle configs and the idle culler.
///
/// This module holds the session registry and culling rules of the Lifecycle
/// issue; it depends on Kernels (to shut kernels down) and Core only.
public enum LifecycleModule {
    /// The environment variable lifecycle scripts receive with the workspace path.
    public static let workspaceVariable = "WB_WORKSPACE"
}
