import Catalog
import Governance
import Storage
import Synchronization

/// An INSERT, UPDATE or DELETE by a caller who may write a table only under a row filter, a column
/// list or a mask (PostgreSQL's row security, USING and WITH CHECK, applied to Workbench's plans).
///
/// The statement's target is bound to a temporary view: the caller's secure SELECT of the table
/// (compiled from the write permission's plan) plus the row id. SQLite evaluates the statement's
/// WHERE and SET against that view, so it reaches only rows the caller may write, sees masked
/// values as masked and cannot name hidden columns (the same error as a column that does not
/// exist). INSTEAD OF triggers carry each change to the table's storage, and check that the row
/// written is one the caller may write; one that is not aborts the statement, which changes nothing.
///
/// - A column shown raw in every admitted row is written as given.
/// - A masked (or partly visible) column is written only when the statement changes it; an
///   unchanged masked value never overwrites the stored one.
/// - Columns the caller cannot see keep their value on UPDATE and are NULL in a new row.
/// - REPLACE and upserts are refused: their conflict handling would delete or change rows the
///   caller cannot see.
final class FilteredWrite {
    static let rowIDColumn = "_lh_rowid"
    /// The SQL function each trigger calls once per row it writes (SQLite counts no changes made through a view).
    static let countFunction = "lh_filtered_write"
    /// The end of the message of a write that would leave a row outside the caller's grant.
    static let violation = "grant admits; this row is not one"

    let tableID: Int64
    /// The view, as the statement names it.
    let target: String
    /// The view's unquoted name, for the authorizer.
    let viewName: String
    /// The view's columns in table order, for an INSERT that names none.
    let insertColumns: String
    private let count = Mutex(0)

    /// Rows written so far.
    var changes: Int { count.withLock { $0 } }

    static func viewName(_ tableID: Int64) -> String { "_lh_w\(tableID)" }

    private init(tableID: Int64, insertColumns: String) {
        self.tableID = tableID
        viewName = FilteredWrite.viewName(tableID)
        target = "temp." + SQLName.alwaysQuoted(viewName)
        self.insertColumns = insertColumns
    }

    /// Creates the view and triggers for writing `table` under `plan` on `db` (inside the statement's transaction).
    static func install(plan: AccessPlan, table: TableInfo, user: String, db: Database, sql: String) throws -> FilteredWrite {
        let q = SQLName.alwaysQuoted
        let storage = "main." + q(table.storageName)
        let byID = Dictionary(table.columns.map { (String($0.id), $0) }, uniquingKeysWith: { a, _ in a })
        let source =
            "(SELECT rowid AS \(q(rowIDColumn)), "
            + table.columns.map { "\(q($0.storageName)) AS \(q($0.name))" }.joined(separator: ", ") + " FROM \(storage))"
        let visible = plan.visibleColumns.compactMap { descriptor in byID[descriptor.id].map { (descriptor, $0) } }
        guard !visible.isEmpty, let secure = SecureView.select(plan, from: source, passThrough: [rowIDColumn]) else {
            throw LakehouseError(.denied, "\(user) may \(plan.permission.rawValue) \(table.qualifiedName) but sees none of its columns", sql: sql)
        }
        let write = FilteredWrite(tableID: table.id, insertColumns: visible.map { q($0.1.name) }.joined(separator: ", "))
        try? remove(tableID: table.id, db: db)
        try db.addFunction(countFunction, argumentCount: 0, options: []) { [write] _ in
            write.count.withLock { $0 += 1 }
            return .null
        }
        let view = write.target
        try db.execute("CREATE TEMP VIEW \(q(write.viewName)) AS \(secure)")
        let outside = { (verb: String) in
            literal("\(user) may \(verb) only rows of \(table.qualifiedName) its \(plan.permission.rawValue) \(violation)")
        }
        let visibleAfter = { (rowid: String) in
            "SELECT RAISE(ABORT, \(outside(plan.permission.rawValue))) WHERE NOT EXISTS (SELECT 1 FROM \(view) WHERE \(q(rowIDColumn)) = \(rowid));"
        }
        let counted = "SELECT \(countFunction)();"
        // Statements in triggers name their table unqualified; only main holds the storage name.
        let stored = q(table.storageName)
        // INSERT: visible columns as given; the new row must be one the caller may write.
        try db.execute(
            """
            CREATE TEMP TRIGGER \(q("_lh_wi\(table.id)")) INSTEAD OF INSERT ON \(view) BEGIN
                INSERT INTO \(stored) (\(visible.map { q($0.1.storageName) }.joined(separator: ", ")))
                    VALUES (\(visible.map { "NEW." + q($0.1.name) }.joined(separator: ", ")));
                \(visibleAfter("last_insert_rowid()"))
                \(counted)
            END
            """)
        // UPDATE: raw columns as given, masked ones only when changed; the row must stay writable.
        let assignments = visible.map { descriptor, column in
            let name = q(column.storageName), new = "NEW." + q(column.name), old = "OLD." + q(column.name)
            return SecureView.isRaw(descriptor, in: plan)
                ? "\(name) = \(new)" : "\(name) = CASE WHEN \(new) IS \(old) THEN \(name) ELSE \(new) END"
        }
        try db.execute(
            """
            CREATE TEMP TRIGGER \(q("_lh_wu\(table.id)")) INSTEAD OF UPDATE ON \(view) BEGIN
                UPDATE \(stored) SET \(assignments.joined(separator: ", ")) WHERE rowid = OLD.\(q(rowIDColumn));
                \(visibleAfter("OLD." + q(rowIDColumn)))
                \(counted)
            END
            """)
        try db.execute(
            """
            CREATE TEMP TRIGGER \(q("_lh_wd\(table.id)")) INSTEAD OF DELETE ON \(view) BEGIN
                DELETE FROM \(stored) WHERE rowid = OLD.\(q(rowIDColumn));
                \(counted)
            END
            """)
        return write
    }

    /// Drops the view and its triggers (they go with the view).
    static func remove(tableID: Int64, db: Database) throws {
        try db.execute("DROP VIEW IF EXISTS temp.\(SQLName.alwaysQuoted(viewName(tableID)))")
    }

    /// `text` as an SQL string literal.
    private static func literal(_ text: String) -> String {
        "'" + text.replacingAll("'", with: "''") + "'"
    }
}
