import Catalog
import CoreSupport
import Governance
import Storage

/// The JSON documents `wb catalog` shows: listings, descriptions, search hits.
enum CatalogDocuments {
    static func list(_ database: String?, access: CatalogAccess, visibility: CatalogVisibility? = nil) throws -> JSON {
        func tables(_ db: DatabaseInfo) throws -> [TableInfo] {
            let all = try access.tables(inDatabase: db.id)
            guard let visibility else { return all }
            return try all.filter { try visibility.canSee($0, access) }
        }
        guard let database else {
            let databases = try access.databases().filter { try visibility?.canSee($0, access) ?? true }
            return .object(["databases": .array(try databases.map { db in databaseJSON(db, tableCount: try tables(db).count) })])
        }
        guard let db = try access.database(named: database), try visibility?.canSee(db, access) ?? true else {
            throw LakehouseError(.notFound, "there is no database \(SQLName.quoted(database))")
        }
        return .object(["database": databaseJSON(db, tableCount: nil), "tables": .array(try tables(db).map(tableJSON))])
    }

    static func describe(_ name: String, includingExpired: Bool, access: CatalogAccess, visibility: CatalogVisibility? = nil) throws -> JSON {
        let parts = try SQLTokenizer.tokenize(name).filter(\.isSignificant)
        let names = parts.enumerated().compactMap { $0.offset % 2 == 0 ? $0.element.identifier : nil }
        guard !names.isEmpty, names.count <= 3, parts.count == names.count * 2 - 1,
            parts.enumerated().allSatisfy({ $0.offset % 2 == 1 ? $0.element.kind == .dot : $0.element.identifier != nil })
        else {
            throw LakehouseError(.invalidInput, "'\(name)' is not a name of the form db, db.table or db.table.column")
        }
        guard let database = try access.database(named: names[0]), try visibility?.canSee(database, access) ?? true else {
            throw LakehouseError(.notFound, "there is no database \(SQLName.quoted(names[0]))")
        }
        if names.count == 1 {
            var json = databaseJSON(database, tableCount: nil).objectValue!
            let tables = try access.tables(inDatabase: database.id).filter { try visibility?.canSee($0, access) ?? true }
            json["tables"] = .array(tables.map(tableJSON))
            return .object(json)
        }
        guard var table = try access.table(database: names[0], name: names[1]) else {
            throw LakehouseError(.notFound, "there is no table \(SQLName.qualified(names[0], names[1]))")
        }
        if let visibility { table = try visibility.visible(table, access) }
        if names.count == 3 {
            guard let column = table.columns.first(where: { $0.name.lowercased() == names[2].lowercased() }) else {
                throw LakehouseError(.notFound, "\(table.qualifiedName) has no column \(SQLName.quoted(names[2]))")
            }
            return columnJSON(column)
        }
        var json = tableJSON(table).objectValue!
        json["columns"] = .array(table.columns.map(columnJSON))
        if table.kind == .managed {
            json["snapshots"] = .array(try access.snapshots(ofTable: table.id, includingExpired: includingExpired).map(\.jsonValue))
        }
        return .object(json)
    }

    static func annotate(_ request: LakehouseAnnotate, access: CatalogAccess, visibility: CatalogVisibility? = nil) throws -> JSON {
        // Tags need ASSIGN_TAG, a comment needs ALTER, on the object (a column's table).
        let needed: [DataPermission] = (request.setTags.isEmpty && request.removeTags.isEmpty ? [] : [.assignTag]) + (request.comment == nil ? [] : [.alter])
        let parts = try SQLTokenizer.tokenize(request.name).filter(\.isSignificant).compactMap(\.identifier)
        let (kind, id): (CatalogObjectKind, Int64)
        switch parts.count {
        case 1:
            guard let db = try access.database(named: parts[0]), try visibility?.canSee(db, access) ?? true else {
                throw LakehouseError(.notFound, "there is no database \(SQLName.quoted(parts[0]))")
            }
            for permission in needed { try visibility?.require(permission, on: db) }
            (kind, id) = (.database, db.id)
        case 2, 3:
            guard var table = try access.table(database: parts[0], name: parts[1]) else {
                throw LakehouseError(.notFound, "there is no table \(SQLName.qualified(parts[0], parts[1]))")
            }
            if let visibility {
                table = try visibility.visible(table, access)
                for permission in needed { try visibility.require(permission, on: table, access) }
            }
            if parts.count == 2 {
                (kind, id) = (.table, table.id)
            } else {
                guard let column = table.columns.first(where: { $0.name.lowercased() == parts[2].lowercased() }) else {
                    throw LakehouseError(.notFound, "\(table.qualifiedName) has no column \(SQLName.quoted(parts[2]))")
                }
                (kind, id) = (.column, column.id)
            }
        default:
            throw LakehouseError(.invalidInput, "'\(request.name)' is not a name of the form db, db.table or db.table.column")
        }
        try visibility?.checkOntology(request.setTags)
        for (key, value) in request.setTags { try access.setTag(kind, id: id, key: key, value: value) }
        for key in request.removeTags { try access.removeTag(kind, id: id, key: key) }
        if let comment = request.comment { try access.setComment(kind, id: id, comment.isEmpty ? nil : comment) }
        return try describe(request.name, includingExpired: false, access: access, visibility: visibility)
    }

    static func databaseJSON(_ db: DatabaseInfo, tableCount: Int?) -> JSON {
        var object: JSONObject = [
            "id": .int(Int(db.id)), "name": .string(db.name), "catalog": .string(db.catalogName), "kind": .string(db.catalogKind.rawValue),
            "comment": db.comment.map(JSON.string) ?? .null, "owner": .string(db.owner), "tags": tags(db.tags),
            "created_at": .string(db.createdAt), "updated_at": .string(db.updatedAt),
        ]
        if let tableCount { object["tables"] = .int(tableCount) }
        return .object(object)
    }

    static func tableJSON(_ table: TableInfo) -> JSON {
        [
            "id": .int(Int(table.id)), "name": .string(table.qualifiedName), "kind": .string(table.kind.rawValue),
            "comment": table.comment.map(JSON.string) ?? .null, "owner": .string(table.owner), "tags": tags(table.tags),
            "rows": table.rowCount.map { .int(Int($0)) } ?? .null,
            "current_snapshot": table.currentSnapshot.map { .int(Int($0)) } ?? .null, "column_count": .int(table.columns.count),
            "created_at": .string(table.createdAt), "updated_at": .string(table.updatedAt),
        ]
    }

    static func columnJSON(_ column: ColumnInfo) -> JSON {
        [
            "id": .int(Int(column.id)), "name": .string(column.name), "type": .string(column.type), "nullable": .bool(column.nullable),
            "comment": column.comment.map(JSON.string) ?? .null, "tags": tags(column.tags),
        ]
    }

    /// Whether a search hit names something the user may see (a column only when its column is visible).
    static func isVisible(_ hit: SearchHit, access: CatalogAccess, visibility: CatalogVisibility) throws -> Bool {
        switch hit.kind {
        case .catalog: return true
        case .database:
            guard let db = try access.database(id: hit.id) else { return false }
            return try visibility.canSee(db, access)
        case .table:
            guard let table = try access.table(id: hit.id) else { return false }
            return try visibility.canSee(table, access)
        case .column:
            for table in try access.allTables() where table.columns.contains(where: { $0.id == hit.id }) {
                return try visibility.visibleColumns(table, access)?.contains(hit.id) ?? false
            }
            return false
        }
    }

    static func hit(_ hit: SearchHit) -> JSON {
        [
            "kind": .string(hit.kind.rawValue), "id": .int(Int(hit.id)), "name": .string(hit.path), "matched": .string(hit.matched),
            "comment": hit.comment.map(JSON.string) ?? .null,
        ]
    }

    static func tags(_ tags: [String: String]) -> JSON {
        .object(JSONObject(tags.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }))
    }
}
