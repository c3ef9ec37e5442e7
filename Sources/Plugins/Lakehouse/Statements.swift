import Catalog
import CoreSupport
import Governance
import Storage

/// The DDL the gate runs itself: databases, tables, columns and indexes, each recorded in the catalog and the snapshot log.
struct Statements {
    let engine: SQLiteEngine
    let db: Database
    let access: CatalogAccess
    let commit: Commit
    let sql: String
    let tokens: [SQLToken]

    private var words: [SQLToken] { tokens.filter(\.isSignificant) }
    private var storage: TableStorage { TableStorage(db: db, access: access) }
    private var principal: Principal { commit.principal }
    private var owner: String { commit.principal.description }

    /// A cursor over the significant tokens of the statement.
    private struct Cursor {
        let words: [SQLToken]
        let sql: String
        var index = 0

        var current: SQLToken? { index < words.count ? words[index] : nil }
        var atEnd: Bool { index >= words.count }

        mutating func take(_ keyword: String) -> Bool {
            guard current?.isKeyword(keyword) == true else { return false }
            index += 1
            return true
        }

        mutating func expect(_ keyword: String, _ what: String) throws {
            guard take(keyword) else { throw error("expected \(what)") }
        }

        mutating func name(_ what: String) throws -> String {
            guard let token = current, token.kind == .word || token.kind == .quotedIdentifier, let name = token.identifier else {
                throw error("expected \(what)")
            }
            index += 1
            return name
        }

        mutating func tableName() throws -> TableName {
            let database = try name("a table name of the form db.table")
            guard current?.kind == .dot else {
                throw LakehouseError.syntax(
                    "write the table as db.table (\(SQLName.quoted(database)) alone does not say which database)", sql: sql,
                    offset: words[index - 1].start)
            }
            index += 1
            return TableName(database, try name("a table name after '\(database).'"))
        }

        func error(_ message: String) -> LakehouseError {
            let offset = current?.start ?? (words.last?.end ?? 0)
            let found = current.map { " but found '\($0.text)'" } ?? " but the statement ended"
            return LakehouseError.syntax(message + found, sql: sql, offset: offset)
        }

        /// The original text from the current token to the end of the statement.
        func rest() -> String {
            guard let start = current?.start, let end = words.last?.end else { return "" }
            return String(decoding: Array(sql.utf8)[start..<end], as: UTF8.self)
        }
    }

    private func rejectReservedNames() throws {
        for token in words {
            if let name = token.identifier, name.lowercased().hasPrefix("_lh_") {
                throw LakehouseError.syntax("'\(name)' is a name reserved for the lakehouse's storage", sql: sql, offset: token.start)
            }
        }
    }

    /// Checks `permission` on an existing table when the lakehouse is governed.
    private func authorize(_ permission: DataPermission, on table: TableInfo) throws {
        guard let governance = try engine.governance(for: principal, sql: sql),
            let database = try access.database(named: table.databaseName)
        else { return }
        try governance.table(StatementGovernance.descriptor(table, database: database), permission: permission)
    }

    /// Checks `permission` on a database (or, for a database that does not exist yet, CREATE_DATABASE on the managed catalog).
    private func authorize(_ permission: DataPermission, inDatabase name: String) throws {
        guard let governance = try engine.governance(for: principal, sql: sql) else { return }
        if let database = try access.database(named: name) {
            try governance.database(database, permission: permission)
        } else {
            try governance.catalog(try access.managedCatalog(owner: owner).name, permission: .createDatabase)
        }
    }

    private func managedTable(_ name: TableName, offset: Int) throws -> TableInfo {
        guard let table = try access.table(database: name.database, name: name.table) else {
            throw LakehouseError.syntax("there is no table \(name)", sql: sql, offset: offset)
        }
        guard table.kind == .managed else { throw LakehouseError(.readOnly, "\(name) is a federated source and is read-only", sql: sql) }
        return table
    }

    // MARK: Databases

    func createDatabase(_ outcome: inout QueryOutcome) throws {
        try rejectReservedNames()
        var cursor = Cursor(words: words, sql: sql, index: 2)
        let ifNotExists = cursor.take("IF") ? try { try cursor.expect("NOT", "NOT EXISTS"); try cursor.expect("EXISTS", "EXISTS"); return true }() : false
        let name = try cursor.name("a database name")
        var comment: String?
        if cursor.take("COMMENT") {
            guard let token = cursor.current, token.kind == .string else { throw cursor.error("expected a quoted comment") }
            comment = String(token.text.dropFirst().dropLast()).replacingAll("''", with: "'")
            cursor.index += 1
        }
        guard cursor.atEnd else { throw cursor.error("expected the end of CREATE DATABASE") }
        if let governance = try engine.governance(for: principal, sql: sql) {
            try governance.catalog(try access.managedCatalog(owner: owner).name, permission: .createDatabase)
        }
        if let existing = try access.database(named: name) {
            if ifNotExists {
                outcome.messages.append("database \(SQLName.quoted(existing.name)) exists already")
                return
            }
            throw LakehouseError(.alreadyExists, "the database \(SQLName.quoted(existing.name)) already exists", sql: sql)
        }
        let catalog = try access.managedCatalog(owner: owner)
        try access.createDatabase(name, inCatalog: catalog.id, comment: comment, owner: owner)
        outcome.messages.append("created database \(SQLName.quoted(name))")
    }

    func dropDatabase(_ outcome: inout QueryOutcome) throws {
        var cursor = Cursor(words: words, sql: sql, index: 2)
        let ifExists = cursor.take("IF") ? try { try cursor.expect("EXISTS", "EXISTS"); return true }() : false
        let name = try cursor.name("a database name")
        let cascade = cursor.take("CASCADE")
        guard cursor.atEnd else { throw cursor.error("expected the end of DROP DATABASE") }
        guard let database = try access.database(named: name) else {
            if ifExists { return }
            throw LakehouseError(.notFound, "there is no database \(SQLName.quoted(name))", sql: sql)
        }
        if let governance = try engine.governance(for: principal, sql: sql) {
            try governance.database(database, permission: .drop)
        }
        if database.catalogKind != .managed {
            try access.dropCatalog(id: database.catalogID)
            outcome.messages.append("unregistered the federated source \(SQLName.quoted(database.name)) (its file is untouched)")
            return
        }
        let tables = try access.tables(inDatabase: database.id)
        if !tables.isEmpty && !cascade {
            throw LakehouseError(
                .invalidInput,
                "the database \(SQLName.quoted(database.name)) has \(tables.count) table\(tables.count == 1 ? "" : "s"); "
                    + "drop them first or write DROP DATABASE \(SQLName.quoted(database.name)) CASCADE", sql: sql)
        }
        for table in tables { try storage.dropStorage(table) }
        try access.dropDatabase(id: database.id)
        outcome.messages.append("dropped database \(SQLName.quoted(database.name))")
    }

    // MARK: Tables

    func createTable(_ outcome: inout QueryOutcome) throws {
        try rejectReservedNames()
        var cursor = Cursor(words: words, sql: sql, index: 2)
        let ifNotExists = cursor.take("IF") ? try { try cursor.expect("NOT", "NOT EXISTS"); try cursor.expect("EXISTS", "EXISTS"); return true }() : false
        let nameOffset = cursor.current?.start ?? 0
        let name = try cursor.tableName()
        if let existing = try access.table(database: name.database, name: name.table) {
            if ifNotExists {
                outcome.messages.append("table \(existing.qualifiedName) exists already")
                return
            }
            throw LakehouseError.syntax("the table \(existing.qualifiedName) already exists", sql: sql, offset: nameOffset)
        }
        if let database = try access.database(named: name.database), database.catalogKind != .managed {
            throw LakehouseError(.readOnly, "\(SQLName.quoted(database.name)) is a federated source and is read-only", sql: sql)
        }
        try authorize(.createTable, inDatabase: name.database)
        if cursor.current?.kind == .leftParen {
            try createFromDefinitions(name, cursor: cursor, outcome: &outcome)
        } else if cursor.take("AS") {
            try createFromQuery(name, cursor: cursor, outcome: &outcome)
        } else {
            throw cursor.error("expected '(' and column definitions, or AS and a query")
        }
    }

    private func createFromDefinitions(_ name: TableName, cursor: Cursor, outcome: inout QueryOutcome) throws {
        let all = words
        var depth = 0
        var close = cursor.index
        for i in cursor.index..<all.count {
            if all[i].kind == .leftParen { depth += 1 }
            if all[i].kind == .rightParen {
                depth -= 1
                if depth == 0 {
                    close = i
                    break
                }
            }
        }
        guard depth == 0, close > cursor.index else {
            throw LakehouseError.syntax("the column definitions are not closed with ')'", sql: sql, offset: all[cursor.index].start)
        }
        for token in all[cursor.index...close] where token.isKeyword("REFERENCES") {
            throw LakehouseError.syntax("foreign keys between lakehouse tables are not supported", sql: sql, offset: token.start)
        }
        let bytes = Array(sql.utf8)
        // Table constraints (PRIMARY KEY (...), UNIQUE, CHECK, FOREIGN KEY, CONSTRAINT name) follow the columns in
        // SQLite's grammar: they start at the first top-level comma followed by one of these keywords.
        func startsConstraint(_ i: Int) -> Bool {
            ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"].contains { all[i].isKeyword($0) }
        }
        guard cursor.index + 1 < close, !startsConstraint(cursor.index + 1) else {
            throw LakehouseError.syntax("a table needs at least one column", sql: sql, offset: all[cursor.index].start)
        }
        var constraintsStart = close
        depth = 0
        for i in (cursor.index + 1)..<close {
            if all[i].kind == .leftParen { depth += 1 }
            if all[i].kind == .rightParen { depth -= 1 }
            if depth == 0, all[i].kind == .comma, i + 1 < close, startsConstraint(i + 1) {
                constraintsStart = i
                break
            }
        }
        let definitions = String(decoding: bytes[(all[cursor.index].end)..<(all[constraintsStart].start)], as: UTF8.self)
        let constraints = constraintsStart == close
            ? "" : String(decoding: bytes[(all[constraintsStart + 1].start)..<(all[close].start)], as: UTF8.self)
        var suffix = ""
        if close + 1 < all.count {
            let tail = all[(close + 1)...]
            if tail.contains(where: { $0.isKeyword("WITHOUT") }) {
                throw LakehouseError.syntax(
                    "WITHOUT ROWID tables cannot keep history; leave it out (a PRIMARY KEY still works)", sql: sql, offset: all[close + 1].start)
            }
            suffix = " " + String(decoding: bytes[all[close + 1].start..<all.last!.end], as: UTF8.self)
        }
        let table: TableInfo
        do {
            table = try storage.create(
                name, definitions: definitions, constraints: constraints, suffix: suffix, commit: commit, principal: principal)
        } catch let error as DatabaseError {
            var mapped = LakehouseError.from(error, sql: sql)
            mapped.message = engine.unmapNames(mapped.message, access: access)
            throw mapped
        }
        outcome.messages.append("created table \(table.qualifiedName) (\(table.columns.count) column\(table.columns.count == 1 ? "" : "s"))")
    }

    private func createFromQuery(_ name: TableName, cursor: Cursor, outcome: inout QueryOutcome) throws {
        let startOffset = cursor.current?.start ?? 0
        let selectTokens = tokens.filter { $0.start >= startOffset }
        let binder = Binder(engine: engine, access: access, asOf: nil, sql: sql)
        // The query part reads as the caller: a copy holds only what the caller sees (masked values stay masked).
        binder.governance = try engine.governance(for: principal, sql: sql)
        let mapped = try NameMapper.map(selectTokens, sql: sql, isDatabase: binder.isDatabase, bind: { try binder.bind($0) })
        if let governance = binder.governance, governance.isRestricted {
            try governance.checkRestrictedStatement(selectTokens)
            try SecureView.registerFunctions(db)
        }
        let probe: Statement
        do {
            probe = try engine.prepareUserStatement(mapped.sql, db: db, rules: binder.authorizer(writing: nil))
        } catch {
            var result = LakehouseError.from(error, sql: sql)
            result.message = engine.unmapNames(result.message, access: access)
            if let offset = error.offset {
                (result.line, result.column) = LakehouseError.position(of: mapped.originalOffset(offset), in: sql)
            }
            throw result
        }
        let names = probe.columnNames
        let types = probe.declaredTypes
        guard !names.isEmpty else { throw LakehouseError(.syntax, "CREATE TABLE ... AS needs a query that returns columns", sql: sql) }
        let definitions = zip(names, types).map { TableStorage.q($0) + ($1.map { " " + $0 } ?? "") }.joined(separator: ", ")
        let table = try storage.create(name, definitions: definitions, suffix: "", commit: commit, principal: principal)
        let list = table.columns.map { TableStorage.q($0.storageName) }.joined(separator: ", ")
        let insert = "INSERT INTO main.\(TableStorage.q(table.storageName)) (\(list)) \(mapped.sql)"
        try engine.prepareUserStatement(insert, db: db, rules: binder.authorizer(writing: table)).execute()
        let rows = db.changesCount
        commit.record(table.id, added: rows)
        outcome.changes += rows
        outcome.messages.append("created table \(table.qualifiedName) with \(rows) row\(rows == 1 ? "" : "s")")
    }

    func dropTable(_ outcome: inout QueryOutcome) throws {
        var cursor = Cursor(words: words, sql: sql, index: 2)
        let ifExists = cursor.take("IF") ? try { try cursor.expect("EXISTS", "EXISTS"); return true }() : false
        let offset = cursor.current?.start ?? 0
        let name = try cursor.tableName()
        guard cursor.atEnd else { throw cursor.error("expected the end of DROP TABLE") }
        guard let table = try access.table(database: name.database, name: name.table) else {
            if ifExists { return }
            throw LakehouseError.syntax("there is no table \(name)", sql: sql, offset: offset)
        }
        guard table.kind == .managed else { throw LakehouseError(.readOnly, "\(name) is a federated source and is read-only", sql: sql) }
        try authorize(.drop, on: table)
        try storage.dropStorage(table)
        try access.dropTable(id: table.id)
        outcome.messages.append("dropped table \(table.qualifiedName) and its history")
    }

    // MARK: Schema evolution

    func alterTable(_ outcome: inout QueryOutcome) throws {
        try rejectReservedNames()
        var cursor = Cursor(words: words, sql: sql, index: 2)
        let offset = cursor.current?.start ?? 0
        let name = try cursor.tableName()
        let table = try managedTable(name, offset: offset)
        try authorize(.alter, on: table)
        let t = TableStorage.q(table.storageName), h = TableStorage.q(TableStorage.historyName(table.id))
        let rows = table.rowCount ?? 0
        if cursor.take("ADD") {
            _ = cursor.take("COLUMN")
            let definition = cursor.rest()
            guard !definition.isEmpty else { throw cursor.error("expected a column definition") }
            let before = Set(try storage.storedColumns(table).map { $0.name.lowercased() })
            try storage.dropDerived(table.id)
            do {
                try db.execute("ALTER TABLE main.\(t) ADD COLUMN \(definition)")
            } catch {
                throw LakehouseError.from(error, sql: sql)
            }
            guard let added = try storage.storedColumns(table).first(where: { !before.contains($0.name.lowercased()) }) else {
                throw LakehouseError(.storage, "the new column was not found after ALTER TABLE", sql: sql)
            }
            try db.execute("ALTER TABLE main.\(h) ADD COLUMN \(TableStorage.q(added.name)) \(added.type)")
            let info = try db.fetchOne("SELECT \"notnull\" FROM pragma_table_info(?, 'main') WHERE name = ?", [table.storageName, added.name])
            try access.addColumn(toTable: table.id, name: added.name, type: added.type, nullable: (info?.value(0, as: Int.self) ?? 0) == 0)
            try storage.rebuildDerived(table)
            commit.schemaChange(table.id, rowsBefore: rows, "add column \(SQLName.quoted(added.name)) \(added.type)".trimmed())
            outcome.messages.append("added column \(SQLName.quoted(added.name)) to \(table.qualifiedName)")
        } else if cursor.take("RENAME") {
            if cursor.take("TO") {
                let newName = try cursor.name("the new table name")
                try access.renameTable(id: table.id, to: newName)
                commit.schemaChange(table.id, rowsBefore: rows, "rename table \(SQLName.quoted(table.name)) to \(SQLName.quoted(newName))")
                outcome.messages.append("renamed \(table.qualifiedName) to \(SQLName.qualified(table.databaseName, newName))")
                return
            }
            _ = cursor.take("COLUMN")
            let oldName = try cursor.name("the column to rename")
            try cursor.expect("TO", "TO")
            let newName = try cursor.name("the new column name")
            guard cursor.atEnd else { throw cursor.error("expected the end of ALTER TABLE") }
            guard let column = table.columns.first(where: { $0.name.lowercased() == oldName.lowercased() }) else {
                throw LakehouseError(.notFound, "\(table.qualifiedName) has no column \(SQLName.quoted(oldName))", sql: sql)
            }
            if let clash = table.columns.first(where: { $0.name.lowercased() == newName.lowercased() && $0.id != column.id }) {
                throw LakehouseError(.alreadyExists, "\(table.qualifiedName) already has a column \(SQLName.quoted(clash.name))", sql: sql)
            }
            try storage.dropDerived(table.id)
            for stored in [t, h] {
                try db.execute("ALTER TABLE main.\(stored) RENAME COLUMN \(TableStorage.q(column.storageName)) TO \(TableStorage.q(newName))")
            }
            try access.renameColumn(id: column.id, to: newName)
            try storage.rebuildDerived(table)
            commit.schemaChange(table.id, rowsBefore: rows, "rename column \(SQLName.quoted(column.name)) to \(SQLName.quoted(newName))")
            outcome.messages.append("renamed column \(SQLName.quoted(column.name)) of \(table.qualifiedName) to \(SQLName.quoted(newName))")
        } else if cursor.take("DROP") {
            _ = cursor.take("COLUMN")
            let columnName = try cursor.name("the column to drop")
            guard cursor.atEnd else { throw cursor.error("expected the end of ALTER TABLE") }
            guard let column = table.columns.first(where: { $0.name.lowercased() == columnName.lowercased() }) else {
                throw LakehouseError(.notFound, "\(table.qualifiedName) has no column \(SQLName.quoted(columnName))", sql: sql)
            }
            guard table.columns.count > 1 else {
                throw LakehouseError(.invalidInput, "\(SQLName.quoted(column.name)) is the last column of \(table.qualifiedName); drop the table instead", sql: sql)
            }
            let info = try db.fetchOne(
                "SELECT \"notnull\", dflt_value, pk FROM pragma_table_info(?, 'main') WHERE name = ?", [table.storageName, column.storageName])
            if (info?.value(0, as: Int.self) ?? 0) == 1 && (info?[1].isNull ?? true) {
                throw LakehouseError(
                    .unsupported,
                    "\(SQLName.quoted(column.name)) is NOT NULL without a default: new rows could not be written once it is hidden; "
                        + "the lakehouse keeps dropped columns for time travel", sql: sql)
            }
            // The column stays in storage under a reserved name, so older snapshots still read it.
            let hidden = TableStorage.droppedColumnName(column.id)
            try storage.dropDerived(table.id)
            for stored in [t, h] {
                try db.execute("ALTER TABLE main.\(stored) RENAME COLUMN \(TableStorage.q(column.storageName)) TO \(TableStorage.q(hidden))")
            }
            try access.dropColumn(id: column.id, atSnapshot: commit.id, storageName: hidden)
            try storage.rebuildDerived(table)
            commit.schemaChange(table.id, rowsBefore: rows, "drop column \(SQLName.quoted(column.name))")
            outcome.messages.append("dropped column \(SQLName.quoted(column.name)) of \(table.qualifiedName) (older snapshots keep it)")
        } else {
            throw cursor.error("expected ADD, RENAME or DROP")
        }
    }

    // MARK: Indexes

    func createIndex(_ outcome: inout QueryOutcome) throws {
        try rejectReservedNames()
        var cursor = Cursor(words: words, sql: sql, index: 1)
        let unique = cursor.take("UNIQUE")
        try cursor.expect("INDEX", "INDEX")
        let ifNotExists = cursor.take("IF") ? try { try cursor.expect("NOT", "NOT EXISTS"); try cursor.expect("EXISTS", "EXISTS"); return true }() : false
        let indexName = try cursor.name("an index name")
        try cursor.expect("ON", "ON")
        let offset = cursor.current?.start ?? 0
        let name = try cursor.tableName()
        let table = try managedTable(name, offset: offset)
        try authorize(.alter, on: table)
        guard cursor.current?.kind == .leftParen else { throw cursor.error("expected '(' and the indexed columns") }
        let rest = cursor.rest()
        let storageName = "_lh_i\(table.id)_\(indexName)"
        try db.execute(
            "CREATE \(unique ? "UNIQUE " : "")INDEX \(ifNotExists ? "IF NOT EXISTS " : "")main.\(TableStorage.q(storageName)) "
                + "ON \(TableStorage.q(table.storageName)) \(rest)")
        outcome.messages.append("created index \(SQLName.quoted(indexName)) on \(table.qualifiedName)")
    }

    func dropIndex(_ outcome: inout QueryOutcome) throws {
        var cursor = Cursor(words: words, sql: sql, index: 2)
        let ifExists = cursor.take("IF") ? try { try cursor.expect("EXISTS", "EXISTS"); return true }() : false
        let offset = cursor.current?.start ?? 0
        let name = try cursor.tableName()
        guard cursor.atEnd else { throw cursor.error("expected the end of DROP INDEX (write DROP INDEX db.index)") }
        guard let database = try access.database(named: name.database) else {
            throw LakehouseError.syntax("there is no database \(SQLName.quoted(name.database))", sql: sql, offset: offset)
        }
        for table in try access.tables(inDatabase: database.id) {
            let storageName = "_lh_i\(table.id)_\(name.table)"
            if try db.fetchValue("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", [storageName], as: Int.self) != nil {
                try authorize(.alter, on: table)
                try db.execute("DROP INDEX main.\(TableStorage.q(storageName))")
                outcome.messages.append("dropped index \(SQLName.quoted(name.table)) of \(table.qualifiedName)")
                return
            }
        }
        if !ifExists { throw LakehouseError.syntax("there is no index \(name)", sql: sql, offset: offset) }
    }
}
