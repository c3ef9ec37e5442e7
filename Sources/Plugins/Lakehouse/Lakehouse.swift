public import PluginBus

/// The lakehouse plugin: catalog, managed tables, imports and SQL.
public enum LakehousePlugin {
    /// The bus namespace of the lakehouse's actions.
    public static let namespace = "lakehouse"
    public static let query = Action(namespace, "query")
    public static let importData = Action(namespace, "import")
}
