public import PluginBus

/// The experiments plugin: runs, parameters, metrics and artifacts.
public enum ExperimentsPlugin {
    /// The bus namespace of the experiment tracker's actions.
    public static let namespace = "experiments"
    public static let write = Action(namespace, "write")
}
