import Catalog
import CoreSupport
import Storage
import TestSupport
import Testing

@Suite struct CatalogTests {
    func open() throws -> Catalog {
        try Catalog(domain: Domain.open(at: Scratch.directory("catalog")))
    }

    @Test func hierarchyWithStableIdsCommentsOwnersAndTags() throws {
        let catalog = try open()
        let (db, table, column) = try catalog.write { access -> (DatabaseInfo, TableInfo, ColumnInfo) in
            let managed = try access.managedCatalog(owner: "user:ann")
            let db = try access.createDatabase("sales", inCatalog: managed.id, comment: "Sales data", owner: "user:ann")
            let table = try access.createTable("orders", inDatabase: db.id, kind: .managed, storageName: "_lh_t{id}", comment: "one row per order", owner: "user:ann")
            let column = try access.addColumn(toTable: table.id, name: "amount", type: "REAL", comment: "in euros")
            try access.setTag(.database, id: db.id, key: "domain", value: "finance")
            try access.setTag(.table, id: table.id, key: "pii", value: "false")
            try access.setTag(.column, id: column.id, key: "pii", value: "true")
            return (db, table, column)
        }
        let read = try catalog.read { try $0.table(database: "SALES", name: "Orders") }
        #expect(read?.id == table.id)
        #expect(read?.storageName == "_lh_t\(table.id)")
        #expect(read?.owner == "user:ann")
        #expect(read?.comment == "one row per order")
        #expect(read?.tags == ["pii": "false"])
        #expect(read?.columns.first?.tags == ["pii": "true"])
        #expect(read?.columns.first?.comment == "in euros")
        #expect(try catalog.read { try $0.database(named: "sales")?.tags } == ["domain": "finance"])
        // Renames keep ids.
        try catalog.write { try $0.renameTable(id: table.id, to: "purchases") }
        try catalog.write { try $0.renameColumn(id: column.id, to: "total") }
        let renamed = try catalog.read { try $0.table(id: table.id) }
        #expect(renamed?.name == "purchases")
        #expect(renamed?.columns.map(\.id) == [column.id])
        #expect(renamed?.columns.map(\.name) == ["total"])
        // Names are unique (case-insensitively) where they must be.
        #expect(throws: CatalogError.self) {
            try catalog.write { access in _ = try access.createDatabase("SALES", inCatalog: db.catalogID, owner: "user:bob") }
        }
        #expect(throws: CatalogError.self) {
            try catalog.write { access in _ = try access.createTable("Purchases", inDatabase: db.id, kind: .managed, storageName: "x", owner: "user:bob") }
        }
        #expect(throws: CatalogError.self) {
            try catalog.write { access in _ = try access.createDatabase("_lh_x", inCatalog: db.catalogID, owner: "user:bob") }
        }
    }

    @Test func searchFindsNamesCommentsAndTags() throws {
        let catalog = try open()
        try catalog.write { access in
            let managed = try access.managedCatalog(owner: "user:ann")
            let sales = try access.createDatabase("sales", inCatalog: managed.id, owner: "user:ann")
            let hr = try access.createDatabase("hr", inCatalog: managed.id, comment: "people and salaries", owner: "user:ann")
            let orders = try access.createTable("orders", inDatabase: sales.id, kind: .managed, storageName: "a", owner: "user:ann")
            let staff = try access.createTable("staff", inDatabase: hr.id, kind: .managed, storageName: "b", owner: "user:ann")
            try access.addColumn(toTable: orders.id, name: "customer_email", type: "TEXT")
            let salary = try access.addColumn(toTable: staff.id, name: "salary", type: "REAL")
            try access.setTag(.column, id: salary.id, key: "pii", value: "true")
            try access.setTag(.table, id: orders.id, key: "owner_team", value: "growth")
        }
        let byName = try catalog.read { try $0.search("email") }
        #expect(byName.map(\.path) == ["sales.orders.customer_email"])
        let byComment = try catalog.read { try $0.search("salaries") }
        #expect(byComment.map(\.path) == ["hr"])
        #expect(byComment.first?.matched == "comment")
        let byTag = try catalog.read { try $0.search("pii=true") }
        #expect(byTag.map(\.path) == ["hr.staff.salary"])
        #expect(byTag.first?.kind == .column)
        #expect(try catalog.read { try $0.search("PII=TRUE") }.count == 1)
        #expect(try catalog.read { try $0.search("pii=false") }.isEmpty)
        #expect(try catalog.read { try $0.search("growth") }.map(\.path) == ["sales.orders"])
        // LIKE wildcards in the text are taken literally.
        #expect(try catalog.read { try $0.search("%") }.isEmpty)
    }

    @Test func theStoreIsMigratedOnceAndANewerStoreIsRefused() throws {
        let home = try Scratch.directory("catalog-newer")
        _ = try Catalog(domain: Domain.open(at: home))
        _ = try Catalog(domain: Domain.open(at: home))
        let file = FilePath.join(home, "catalog.db")
        let queue = try DatabaseQueue(path: file)
        try queue.writeWithoutTransaction { db in try db.execute("PRAGMA user_version = 99") }
        let error = #expect(throws: CatalogError.self) { try Catalog(domain: Domain.open(at: home)) }
        #expect(error?.message.contains("newer version of wb") == true)
    }
}
