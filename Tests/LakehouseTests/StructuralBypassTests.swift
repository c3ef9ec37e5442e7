import Catalog
import CoreSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Governance
import Lakehouse
@testable import Storage
import TestSupport
import Testing

/// The structural paths around the secure views: schema and stat tables, storage names, ATTACH,
/// PRAGMA, extensions, views, temp tables and triggers, EXPLAIN, copies, recursive CTEs and
/// grouping on hidden columns.
///
/// Each probe is first run on an unprotected connection to the same file (the positive control),
/// where it is shown to reveal what erin may not see: bob's row (US), the salary column, the raw
/// e-mails, the number of rows. Then the same probe through the governed lakehouse, as erin, is
/// refused with the specific error expected, or returns only what erin may see.
@Suite(.serialized) struct StructuralBypassTests {
    /// erin: EU rows of sales.people, no salary, e-mails hashed, birth dates to the year (`erinPolicy`).
    let f: GovernedFixture
    let people: Int64

    init() throws {
        f = try GovernedFixture("bypass-structural", policy: erinPolicy)
        people = try f.lakehouse.table(TableName("sales", "people")).id
    }

    var storage: String { "_lh_t\(people)" }
    var view: String { "_lh_v\(people)" }

    /// Runs `body` on a plain connection to the lakehouse's file: no authorizer, no secure views.
    func unprotected<T>(_ body: (Database) throws -> T) throws -> T {
        try DatabaseQueue(path: f.domain.path(of: .catalog)).write(body)
    }

    func texts(_ db: Database, _ sql: String) throws -> [String] {
        try db.fetchAll(sql).map { row in (0..<row.count).map { "\(row[$0])" }.joined(separator: "|") }
    }

    /// The governed error for `sql` as erin; records an issue when the probe is not refused.
    func refusal(_ sql: String) throws -> String {
        let error = try #require(f.error(sql, as: "erin"), "\(sql) should be refused")
        return error.message
    }

    @Test func schemaTables() throws {
        let schema = try unprotected { try texts($0, "SELECT sql FROM sqlite_master WHERE name = '\(storage)'") }
        #expect(schema.first?.contains("salary INTEGER") == true)  // control: the hidden column's name is there
        let probes = [
            ("SELECT sql FROM sqlite_master", "sqlite_master."), ("SELECT sql FROM main.sqlite_schema", "sqlite_master."),
            ("SELECT sql FROM sqlite_temp_master", "temp.sqlite_temp_master."),
        ]
        for (probe, object) in probes {
            let message = try refusal(probe)
            #expect(message.hasPrefix("not allowed in lakehouse SQL: access to \(object)") && message.hasSuffix(" is prohibited"), "\(probe): \(message)")
        }
    }

    @Test func statTablesAfterARealAnalyze() throws {
        _ = try f.rows("CREATE INDEX by_salary ON sales.people (salary)", as: f.admin)
        let stats = try unprotected { db in
            try db.execute("ANALYZE")
            return try texts(db, "SELECT stat FROM sqlite_stat1 WHERE tbl = '\(storage)'")
        }
        #expect(stats == ["4 1"], "\(stats)")  // control: four rows, where erin sees two
        for probe in ["SELECT stat FROM sqlite_stat1", "SELECT * FROM main.sqlite_stat1"] {
            let message = try refusal(probe)
            #expect(message.hasPrefix("not allowed in lakehouse SQL: access to sqlite_stat1.") && message.hasSuffix(" is prohibited"), "\(probe): \(message)")
        }
        #expect(try refusal("ANALYZE").hasPrefix("the lakehouse does not run ANALYZE statements"))
        // The planner still uses the statistics; erin's reads still see only her rows.
        #expect(try f.rows("SELECT count(*) FROM sales.people", as: "erin") == [[2]])
    }

    @Test func storageTablesByName() throws {
        let control = try unprotected { try texts($0, "SELECT salary FROM \(storage) WHERE name = 'bob'") }
        #expect(control == ["150000"])
        for probe in ["SELECT salary FROM \(storage)", "SELECT * FROM main.\"\(storage)\"", "SELECT * FROM \(view)", "SELECT * FROM _lh_h\(people)"] {
            let message = try refusal(probe)
            #expect(message.contains("is a name reserved for the lakehouse's storage"), "\(probe): \(message)")
        }
    }

    @Test func attach() throws {
        // Control: an unprotected connection attaches another file and copies bob's salary out into it.
        let other = try Scratch.directory("attach") + "/other.db"
        try DatabaseQueue(path: f.domain.path(of: .catalog)).writeWithoutTransaction { db in
            try db.execute("ATTACH DATABASE '\(other)' AS x")
            try db.execute("CREATE TABLE x.copy AS SELECT name, salary FROM main.\(storage)")
            try db.execute("DETACH DATABASE x")
        }
        let copied = try DatabaseQueue(path: other).read { try texts($0, "SELECT salary FROM copy WHERE name = 'bob'") }
        #expect(copied == ["150000"])
        for probe in ["ATTACH DATABASE '\(other)' AS x", "ATTACH '\(f.domain.path(of: .catalog))' AS y", "DETACH DATABASE main"] {
            let message = try refusal(probe)
            #expect(message.contains("does not run ATTACH") || message.contains("does not run DETACH"), "\(probe): \(message)")
        }
    }

    @Test func pragmas() throws {
        let control = try unprotected { try texts($0, "SELECT name FROM pragma_table_info('\(storage)')") }
        #expect(control.contains("salary"))
        #expect(try refusal("PRAGMA table_info('\(storage)')").contains("does not run PRAGMA TABLE_INFO statements"))
        #expect(try refusal("SELECT name FROM pragma_table_info('\(storage)')") == "not authorized")
        #expect(try refusal("SELECT name FROM pragma_table_info('people')") == "not authorized")
    }

    /// A real extension: `leak()` reads bob's salary through the connection that loaded it.
    @Test(.enabled(if: FileIO.exists("/usr/bin/cc") && FileIO.exists("/usr/include/sqlite3ext.h")))
    func loadExtension() throws {
        let dir = try Scratch.directory("extension")
        let source = dir + "/leak.c", library = dir + "/leak.so"
        try AtomicFile.write(
            """
            #include <sqlite3ext.h>
            SQLITE_EXTENSION_INIT1
            static void leak(sqlite3_context *c, int n, sqlite3_value **v) {
                sqlite3_stmt *s;
                if (sqlite3_prepare_v2(sqlite3_context_db_handle(c), "SELECT salary FROM \(storage) WHERE name = 'bob'", -1, &s, 0) != SQLITE_OK) {
                    sqlite3_result_error(c, "prepare failed", -1); return;
                }
                if (sqlite3_step(s) == SQLITE_ROW) sqlite3_result_int64(c, sqlite3_column_int64(s, 0));
                sqlite3_finalize(s);
            }
            int sqlite3_extension_init(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
                SQLITE_EXTENSION_INIT2(api);
                return sqlite3_create_function(db, "leak", 0, SQLITE_UTF8, 0, leak, 0, 0);
            }
            """, to: source)
        let cc = try Command.run(["/usr/bin/cc", "-shared", "-fPIC", "-o", library, source])
        #expect(cc.status == 0, "\(cc.stderr)")
        typealias Enable = @convention(c) (OpaquePointer?, Int32) -> Int32
        let symbol = try #require(dlsym(dlopen(nil, RTLD_NOW), "sqlite3_enable_load_extension"))
        let enable = unsafeBitCast(symbol, to: Enable.self)
        let control = try unprotected { db in
            _ = enable(db.handle, 1)
            _ = try texts(db, "SELECT load_extension('\(library)')")
            return try texts(db, "SELECT leak()")
        }
        #expect(control == ["150000"], "\(control)")
        #expect(try refusal("SELECT load_extension('\(library)')") == "not authorized to use function: load_extension")
        #expect(try refusal("SELECT load_extension('\(library)') FROM sales.open") == "not authorized to use function: load_extension")
    }

    @Test func viewsTempTablesAndTriggersCreatedByTheUser() throws {
        let control = try unprotected { db in
            try db.execute(
                """
                CREATE TEMP VIEW v AS SELECT name, salary FROM main.\(storage);
                CREATE TEMP TABLE t AS SELECT name, email FROM main.\(storage);
                CREATE TEMP TABLE src (x); CREATE TEMP TABLE leak (s);
                CREATE TEMP TRIGGER tr AFTER INSERT ON src BEGIN INSERT INTO leak SELECT salary FROM main.\(storage) WHERE name = 'bob'; END;
                INSERT INTO src VALUES (1);
                """)
            return [
                try texts(db, "SELECT salary FROM v WHERE name = 'bob'"), try texts(db, "SELECT email FROM t WHERE name = 'alice'"),
                try texts(db, "SELECT s FROM leak"),
            ]
        }
        #expect(control == [["150000"], ["alice@example.com"], ["150000"]])
        let probes: [(String, String)] = [
            ("CREATE VIEW sales.v AS SELECT * FROM sales.people", "does not run CREATE VIEW statements"),
            ("CREATE VIEW scratch.v AS SELECT * FROM sales.people", "does not run CREATE VIEW statements"),
            ("CREATE TEMP VIEW v AS SELECT * FROM sales.people", "does not run CREATE TEMP statements"),
            ("CREATE TEMP TABLE t AS SELECT * FROM sales.people", "does not run CREATE TEMP statements"),
            ("CREATE TRIGGER scratch.tr AFTER INSERT ON sales.open BEGIN SELECT 1; END", "does not run CREATE TRIGGER statements"),
            ("CREATE TEMP TRIGGER tr AFTER INSERT ON sales.open BEGIN SELECT 1; END", "does not run CREATE TEMP statements"),
        ]
        for (probe, expected) in probes {
            let message = try refusal(probe)
            #expect(message.contains(expected), "\(probe): \(message)")
        }
    }

    @Test func explain() throws {
        // Control: EXPLAIN of erin's secure SELECT shows the row filter's hidden constant and the hash function.
        let database = try #require(try f.lakehouse.catalog.read { try $0.database(named: "sales") })
        let descriptor = StatementGovernance.descriptor(try f.lakehouse.table(TableName("sales", "people")), database: database)
        let plan = try f.governance.accessPlan(user: "erin", table: descriptor, permission: .select).plan
        let secure = try #require(SecureView.select(plan, from: "main.\"\(view)\""))
        let control = try unprotected { db in
            try SecureView.registerFunctions(db)
            return try texts(db, "EXPLAIN \(secure)")
        }
        #expect(control.contains { $0.contains("|EU|") } && control.contains { $0.contains("wb_mask_hash") }, "\(control)")
        for probe in ["EXPLAIN SELECT * FROM sales.people", "EXPLAIN QUERY PLAN SELECT id FROM sales.people WHERE id = 2"] {
            let message = try refusal(probe)
            #expect(message == "EXPLAIN is not allowed on tables erin reads through a row filter or mask", "\(probe): \(message)")
        }
    }

    @Test func createTableAsSelectCopiesOnlyWhatTheCallerSees() throws {
        let control = try unprotected { db in
            try db.execute("CREATE TEMP TABLE copy AS SELECT * FROM main.\(view)")
            return try texts(db, "SELECT id, email, salary FROM copy ORDER BY id")
        }
        #expect(control.count == 4 && control[1] == "2|bob@example.com|150000")
        _ = try f.rows("CREATE TABLE scratch.copy AS SELECT * FROM sales.people", as: "erin")
        let copied = try f.rows("SELECT * FROM scratch.copy ORDER BY id", as: f.admin)
        #expect(copied.map { $0[0] } == [1, 3])
        #expect(copied.allSatisfy { $0.count == 5 && $0[2].string?.count == 64 })  // no salary; e-mails hashed
        #expect(try refusal("CREATE TABLE scratch.pay AS SELECT salary FROM sales.people") == "no such column: salary")
    }

    @Test func insertSelectCopiesOnlyWhatTheCallerSees() throws {
        let control = try unprotected { db in
            try db.execute("CREATE TEMP TABLE ids (x); INSERT INTO ids SELECT salary FROM main.\(view)")
            return try texts(db, "SELECT x FROM ids ORDER BY x")
        }
        #expect(control.contains("150000"))
        _ = try f.rows("CREATE TABLE scratch.ids (x)", as: "erin")
        _ = try f.rows("INSERT INTO scratch.ids SELECT id FROM sales.people", as: "erin")
        _ = try f.rows("INSERT INTO scratch.ids SELECT email FROM sales.people WHERE id = 1", as: "erin")
        let copied = try f.rows("SELECT x FROM scratch.ids", as: f.admin)
        #expect(copied.prefix(2).map { $0[0] } == [1, 3] && copied.last?[0].string?.count == 64)
        #expect(try refusal("INSERT INTO scratch.ids SELECT salary FROM sales.people") == "no such column: salary")
    }

    @Test func recursiveCTEs() throws {
        let walk = "WITH RECURSIVE r(id) AS (SELECT min(id) FROM PEOPLE UNION SELECT p.id FROM PEOPLE p JOIN r ON p.id = r.id + 1) SELECT group_concat(id) FROM r"
        let control = try unprotected { try texts($0, walk.replacingAll("PEOPLE", with: "main.\(view)")) }
        #expect(control == ["1,2,3,4"])  // bob's row (2) links 1 to 3
        #expect(try f.rows(walk.replacingAll("PEOPLE", with: "sales.people"), as: "erin") == [["1"]])  // 2 is not there, so 3 is not reached
        #expect(try refusal("WITH RECURSIVE r(n) AS (SELECT max(salary) FROM sales.people UNION ALL SELECT n - 1 FROM r WHERE n > 0) SELECT max(n) FROM r")
            == "no such column: salary")
    }

    @Test func groupingOnAHiddenOrMaskedColumn() throws {
        let control = try unprotected { db in
            [try texts(db, "SELECT salary > 100000, count(*) FROM main.\(view) GROUP BY 1 ORDER BY 1"),
             try texts(db, "SELECT region, count(*) FROM main.\(view) GROUP BY region ORDER BY region"),
             try texts(db, "SELECT email FROM main.\(view) WHERE email IS NOT NULL GROUP BY email ORDER BY email LIMIT 1")]
        }
        #expect(control == [["0|2", "1|2"], ["EU|2", "US|2"], ["alice@example.com"]])
        #expect(try refusal("SELECT salary > 100000, count(*) FROM sales.people GROUP BY 1") == "no such column: salary")
        #expect(try refusal("SELECT count(*) FROM sales.people GROUP BY salary") == "no such column: salary")
        #expect(try f.rows("SELECT region, count(*) FROM sales.people GROUP BY region", as: "erin") == [["EU", 2]])
        let emails = try f.rows("SELECT email, count(*) FROM sales.people GROUP BY email", as: "erin")
        #expect(emails.count == 2 && emails.allSatisfy { $0[0].string?.count == 64 && $0[1] == 1 })
    }
}
