import CoreSupport
import Storage
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Database: opening, statements, values, transactions")
struct DatabaseTests {
    @Test func newStoreIsWALWithForeignKeysAndPrivateFiles() throws {
        let dir = try Scratch.directory()
        defer { Scratch.remove(dir) }
        let path = FilePath.join(dir, "catalog.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute("CREATE TABLE t (x)") }
        try queue.read { db throws in
            #expect(try db.fetchValue("PRAGMA journal_mode", as: String.self) == "wal")
            #expect(try db.fetchValue("PRAGMA foreign_keys", as: Int.self) == 1)
            #expect(try db.fetchValue("PRAGMA synchronous", as: Int.self) == 1)  // NORMAL
        }
        #expect(permissions(path) == 0o600)
        #expect(permissions(path + "-wal") == 0o600)
        #expect(permissions(path + "-shm") == 0o600)
    }

    @Test func crudWithPositionalAndNamedArguments() throws {
        let dir = try Scratch.directory()
        defer { Scratch.remove(dir) }
        let queue = try DatabaseQueue(path: FilePath.join(dir, "crud.db"))
        try queue.write { db in
            try db.execute(
                """
                CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, photo BLOB);
                CREATE INDEX person_name ON person(name);
                """)
            try db.execute("INSERT INTO person (name, score) VALUES (?, ?)", ["Ada", 9.5])
            #expect(db.lastInsertedRowID == 1)
            try db.execute("INSERT INTO person (name, score) VALUES (:name, :score)", ["name": "Grace", "score": nil])
            #expect(db.lastInsertedRowID == 2)
            try db.execute("UPDATE person SET score = score + ? WHERE score IS NOT NULL", [0.5])
            #expect(db.changesCount == 1)
        }
        let rows = try queue.read { db in try db.fetchAll("SELECT id, name AS Name, score FROM person ORDER BY id") }
        #expect(rows.count == 2)
        #expect(rows[0].columnNames == ["id", "Name", "score"])
        #expect(rows[0][0] == .integer(1))
        #expect(rows[0]["name"] == .text("Ada"))  // column names match case-insensitively
        #expect(rows[0].value("score", as: Double.self) == 10)
        #expect(rows[1]["score"] == .null)
        #expect(rows[1].value("score", as: Double.self) == nil)
        #expect(rows[1]["missing"] == nil)
        let name: String? = rows[1].value(1)
        #expect(name == "Grace")

        try queue.write { db in
            try db.execute("DELETE FROM person WHERE name = ?", ["Ada"])
            #expect(db.changesCount == 1)
        }
        #expect(try queue.read { db in try db.fetchValue("SELECT count(*) FROM person", as: Int.self) } == 1)
        #expect(try queue.read { db in try db.fetchOne("SELECT * FROM person WHERE id = ?", [42]) } == nil)
    }

    @Test func statementsAreReusableAndCount() throws {
        let queue = try DatabaseQueue.inMemory()
        try queue.write { db in
            try db.execute("CREATE TABLE n (v INTEGER)")
            let insert = try db.cachedStatement("INSERT INTO n VALUES (?)")
            #expect(insert.parameterCount == 1)
            #expect(!insert.isReadOnly)
            for i in 0..<100 { try insert.execute([i]) }
            #expect(try db.cachedStatement("INSERT INTO n VALUES (?)") === insert)
            let select = try db.makeStatement("SELECT v, v * 2 AS doubled FROM n WHERE v < ? ORDER BY v")
            #expect(select.isReadOnly)
            #expect(select.columnNames == ["v", "doubled"])
            try select.bind([3])
            var seen: [Int64] = []
            while try select.step() { seen.append(select.value(at: 1).int64!) }
            #expect(seen == [0, 2, 4])
            var sum = 0
            try db.forEachRow("SELECT v FROM n") { row in sum += row.value(0, as: Int.self)! }
            #expect(sum == 4950)
        }
    }

    @Test func wrongArgumentsAndSeveralStatementsAreErrors() throws {
        let queue = try DatabaseQueue.inMemory()
        try queue.write { db in
            try db.execute("CREATE TABLE t (a, b)")
            let tooFew = #expect(throws: DatabaseError.self) { try db.execute("INSERT INTO t VALUES (?, ?)", [1]) }
            #expect(tooFew?.code == .range)
            #expect(tooFew?.message.contains("2 parameters but 1 argument") == true)
            let unbound = #expect(throws: DatabaseError.self) { try db.execute("INSERT INTO t VALUES (?, ?)") }
            #expect(unbound?.code == .range)
            let missingName = #expect(throws: DatabaseError.self) {
                try db.execute("INSERT INTO t VALUES (:a, :b)", ["a": 1])
            }
            #expect(missingName?.message.contains(":b") == true)
            let two = #expect(throws: DatabaseError.self) { _ = try db.makeStatement("SELECT 1; SELECT 2") }
            #expect(two?.code == .misuse)
            // Trailing semicolons and comments are fine.
            _ = try db.makeStatement("SELECT 1; -- done\n")
            let syntax = #expect(throws: DatabaseError.self) { _ = try db.makeStatement("SELEC 1") }
            #expect(syntax?.code == .error)
            #expect(syntax?.sql == "SELEC 1")
        }
    }

    @Test func valuesRoundTripExactly() throws {
        let queue = try DatabaseQueue(path: try Scratch.databasePath())
        let allBytes = (0...255).map { UInt8($0) }
        let values: [DatabaseValue] = [
            .null, .integer(.max), .integer(.min), .integer(0), .real(-0.5), .real(1e300), .real(.infinity),
            .text(""), .text("héllo wörld ✓ 🙂"), .text("nul\u{0}inside"), .text("e\u{301}"),
            .blob([]), .blob(allBytes), .blob([0, 0, 0]),
        ]
        try queue.write { db in
            try db.execute("CREATE TABLE v (i INTEGER PRIMARY KEY, x)")
            for (i, value) in values.enumerated() {
                try db.execute("INSERT INTO v VALUES (?, ?)", StatementArguments([.integer(Int64(i)), value]))
            }
        }
        let back = try queue.read { db in try db.fetchAll("SELECT x FROM v ORDER BY i").map { $0[0] } }
        #expect(back == values)
        // Empty text stays text and an empty blob stays a blob (neither becomes NULL).
        let types = try queue.read { db in
            try db.fetchAll("SELECT typeof(x) FROM v WHERE i IN (7, 11) ORDER BY i").map { $0.value(0, as: String.self) }
        }
        #expect(types == ["text", "blob"])
    }

    @Test func textThatIsNotUTF8ComesBackAsItsBytes() throws {
        let queue = try DatabaseQueue.inMemory()
        let invalid: [UInt8] = [0x61, 0xFF, 0xFE, 0x00, 0x62, 0xC3]
        let value = try queue.write { db -> DatabaseValue in
            try db.execute("CREATE TABLE t (x TEXT)")
            try db.execute("INSERT INTO t VALUES (CAST(? AS TEXT))", [invalid])
            #expect(try db.fetchValue("SELECT typeof(x) FROM t", as: String.self) == "text")
            return try db.fetchOne("SELECT x FROM t")![0]
        }
        #expect(value == .blob(invalid))
        #expect(value.bytes == invalid)
        // The same bytes reach a custom function intact.
        let echoed = try queue.write { db -> DatabaseValue in
            try db.addFunction("echo", argumentCount: 1) { $0[0] }
            return try db.fetchOne("SELECT echo(x) FROM t")![0]
        }
        #expect(echoed == .blob(invalid))
    }

    @Test func writeRollsBackWhenTheClosureThrows() throws {
        struct Oops: Error {}
        let queue = try DatabaseQueue(path: try Scratch.databasePath())
        try queue.write { db in try db.execute("CREATE TABLE t (x)") }
        #expect(throws: Oops.self) {
            try queue.write { db in
                try db.execute("INSERT INTO t VALUES (1)")
                #expect(db.isInsideTransaction)
                throw Oops()
            }
        }
        #expect(try queue.read { db in try db.fetchValue("SELECT count(*) FROM t", as: Int.self) } == 0)
        // A failing statement rolls back the statements before it in the same write.
        #expect(throws: DatabaseError.self) {
            try queue.write { db in
                try db.execute("INSERT INTO t VALUES (1)")
                try db.execute("INSERT INTO missing VALUES (1)")
            }
        }
        #expect(try queue.read { db in try db.fetchValue("SELECT count(*) FROM t", as: Int.self) } == 0)
        try queue.write { db in
            try db.execute("INSERT INTO t VALUES (1)")
            // A savepoint undoes only its own part.
            #expect(throws: Oops.self) {
                try db.inSavepoint {
                    try db.execute("INSERT INTO t VALUES (2)")
                    throw Oops()
                }
            }
        }
        #expect(try queue.read { db in try db.fetchValue("SELECT count(*) FROM t", as: Int.self) } == 1)
    }

    @Test func asyncWriteRollsBackToo() async throws {
        struct Oops: Error {}
        let queue = try DatabaseQueue(path: try Scratch.databasePath())
        try await queue.write { db in try db.execute("CREATE TABLE t (x)") }
        await #expect(throws: Oops.self) {
            try await queue.write { db in
                try db.execute("INSERT INTO t VALUES (1)")
                throw Oops()
            }
        }
        let count = try await queue.read { db in try db.fetchValue("SELECT count(*) FROM t", as: Int.self) }
        #expect(count == 0)
    }

    @Test func readsRefuseWrites() throws {
        let queue = try DatabaseQueue(path: try Scratch.databasePath())
        try queue.write { db in try db.execute("CREATE TABLE t (x)") }
        let error = #expect(throws: DatabaseError.self) {
            try queue.read { db in try db.execute("INSERT INTO t VALUES (1)") }
        }
        #expect(error?.code == .readOnly)
        // The connection writes again afterwards.
        try queue.write { db in try db.execute("INSERT INTO t VALUES (1)") }
    }

    @Test func constraintErrorsNameTheCodeTheSQLAndTheFile() throws {
        let path = try Scratch.databasePath("constraints.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(
                """
                CREATE TABLE parent (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL);
                CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id));
                INSERT INTO parent (id, email) VALUES (1, 'a@example.com');
                """)
        }
        let insert = "INSERT INTO parent (email) VALUES (?)"
        let unique = #expect(throws: DatabaseError.self) { try queue.write { db in try db.execute(insert, ["a@example.com"]) } }
        #expect(unique?.kind == .sqlite)
        #expect(unique?.code == .constraint)
        #expect(unique?.extendedCode == .constraintUnique)
        #expect(unique?.sql == insert)
        #expect(unique?.path == path)
        let text = unique.map(String.init(describing:)) ?? ""
        #expect(text.contains("2067"))
        #expect(text.contains("SQLITE_CONSTRAINT_UNIQUE"))
        #expect(text.contains("UNIQUE constraint failed: parent.email"))
        #expect(text.contains(insert))
        #expect(text.contains(path))
        // The values bound are never part of the message.
        #expect(!text.contains("a@example.com"))

        let notNull = #expect(throws: DatabaseError.self) { try queue.write { db in try db.execute(insert, [nil]) } }
        #expect(notNull?.extendedCode == .constraintNotNull)
        let foreignKey = #expect(throws: DatabaseError.self) {
            try queue.write { db in try db.execute("INSERT INTO child (parent_id) VALUES (?)", [99]) }
        }
        #expect(foreignKey?.extendedCode == .constraintForeignKey)
        #expect(foreignKey.map { DatabaseError.Code.constraint ~= $0 } == true)
    }

    @Test func aFileThatIsNotADatabaseIsRefusedByName() throws {
        let dir = try Scratch.directory()
        defer { Scratch.remove(dir) }
        let path = FilePath.join(dir, "notes.db")
        try AtomicFile.write(String(repeating: "this is not a database\n", count: 100), to: path)
        let error = #expect(throws: DatabaseError.self) { _ = try DatabaseQueue(path: path) }
        #expect(error?.code == .notADatabase)
        #expect(error.map(String.init(describing:))?.contains(path) == true)
        let missing = #expect(throws: DatabaseError.self) {
            _ = try DatabaseQueue(path: FilePath.join(dir, "no-such-dir/x.db"))
        }
        #expect(missing?.code == .cannotOpen)
    }

    @Test func customFunctions() throws {
        struct Refused: Error, CustomStringConvertible {
            var description: String { "refused by the test" }
        }
        let queue = try DatabaseQueue.inMemory()
        try queue.write { db in
            try db.addFunction("reverse_text", argumentCount: 1) { args in
                guard let s = args[0].string else { return .null }
                return .text(String(s.reversed()))
            }
            try db.addFunction("total_of", argumentCount: nil) { args in
                .real(args.compactMap(\.double).reduce(0, +))
            }
            try db.addFunction("fail", argumentCount: 0) { _ in throw Refused() }
            try db.addFunction("bytes_of", argumentCount: 1) { args in .blob(args[0].bytes ?? []) }
            #expect(try db.fetchValue("SELECT reverse_text('abc✓')", as: String.self) == "✓cba")
            #expect(try db.fetchOne("SELECT reverse_text(NULL)")![0] == .null)
            #expect(try db.fetchValue("SELECT total_of(1, 2.5, 'x', NULL, 3)", as: Double.self) == 6.5)
            #expect(try db.fetchValue("SELECT total_of()", as: Double.self) == 0)
            #expect(try db.fetchOne("SELECT bytes_of('')")![0] == .blob([]))
            let error = #expect(throws: DatabaseError.self) { _ = try db.fetchOne("SELECT fail()") }
            #expect(error?.message == "refused by the test")
            #expect(error?.sql == "SELECT fail()")
            // Works on table data, and can be removed.
            try db.execute("CREATE TABLE w (word TEXT); INSERT INTO w VALUES ('stressed')")
            #expect(try db.fetchValue("SELECT reverse_text(word) FROM w", as: String.self) == "desserts")
            try db.removeFunction("reverse_text", argumentCount: 1)
            #expect(throws: DatabaseError.self) { _ = try db.fetchOne("SELECT reverse_text('x')") }
        }
    }
}
