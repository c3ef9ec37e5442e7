import Governance

/// A table a statement reads or writes, and the permission that takes.
public struct QueryTable: Sendable, Hashable {
    public var name: TableName
    public var permission: DataPermission

    public init(name: TableName, permission: DataPermission) {
        self.name = name
        self.permission = permission
    }
}

extension Lakehouse {
    /// The tables `sql` names, with the permission each needs (SELECT for reads; INSERT, UPDATE or
    /// DELETE for a write target), in the order they first appear — what `wb policy explain` explains.
    ///
    /// `isDatabase` tells a database name from a table alias in `x.y` (as the engine does, from the catalog).
    public static func tables(in sql: String, isDatabase: (String) throws -> Bool) throws -> [QueryTable] {
        let tokens = try SQLTokenizer.tokenize(sql)
        var found: [QueryTable] = []
        for statement in SQLTokenizer.statements(tokens) {
            let verb = StatementKind.dmlVerb(statement)
            _ = try NameMapper.map(statement, sql: sql, isDatabase: isDatabase) { reference in
                let permission: DataPermission =
                    switch (reference.isWriteTarget, verb) {
                    case (true, "UPDATE"): .update
                    case (true, "DELETE"): .delete
                    case (true, _): .insert
                    default: .select
                    }
                let table = QueryTable(name: TableName(reference.database, reference.table), permission: permission)
                if !reference.isColumnQualifier, !found.contains(table) { found.append(table) }
                return Binding(text: "t")
            }
        }
        return found
    }
}
