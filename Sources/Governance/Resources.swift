/// A column as Governance sees it: its stable id, current name and own tags.
public struct ColumnDescriptor: Sendable, Hashable {
    public var id: String
    public var name: String
    public var tags: [String: String]

    public init(id: String, name: String, tags: [String: String] = [:]) {
        self.id = id
        self.name = name
        self.tags = tags
    }
}

/// A database as Governance sees it.
public struct DatabaseDescriptor: Sendable, Hashable {
    public var catalog: String
    public var name: String
    /// The catalog's tags merged with the database's own (the database's win).
    public var tags: [String: String]

    public init(catalog: String, name: String, tags: [String: String] = [:]) {
        self.catalog = catalog
        self.name = name
        self.tags = tags
    }
}

/// A table as Governance sees it: where it is, its tags and columns.
///
/// Tags are inherited downward and overridable: a table's effective tags are
/// its database's with its own laid over them; a column's are its table's with
/// its own laid over them.
public struct TableDescriptor: Sendable, Hashable {
    public var id: String
    public var database: DatabaseDescriptor
    public var name: String
    /// The table's own tags.
    public var tags: [String: String]
    public var columns: [ColumnDescriptor]

    public init(id: String, database: DatabaseDescriptor, name: String, tags: [String: String] = [:], columns: [ColumnDescriptor]) {
        self.id = id
        self.database = database
        self.name = name
        self.tags = tags
        self.columns = columns
    }

    /// `catalog.database.table`.
    public var qualifiedName: String { "\(database.catalog).\(database.name).\(name)" }

    /// The table's effective tags.
    public var effectiveTags: [String: String] { database.tags.merging(tags) { _, own in own } }

    /// A column's effective tags.
    public func effectiveTags(of column: ColumnDescriptor) -> [String: String] {
        effectiveTags.merging(column.tags) { _, own in own }
    }

    /// The effective value of one tag key on a column: its own, else its table's, else its database's.
    public func effectiveTag(_ key: String, of column: ColumnDescriptor) -> String? {
        column.tags[key] ?? tags[key] ?? database.tags[key]
    }

    /// The column a reference names: by id when bound, else by name (case-insensitive, as SQL names are).
    public func column(_ ref: ColumnRef) -> ColumnDescriptor? {
        if let id = ref.id { return columns.first { $0.id == id } }
        let lowered = ref.name.lowercased()
        return columns.first { $0.name.lowercased() == lowered }
    }
}
