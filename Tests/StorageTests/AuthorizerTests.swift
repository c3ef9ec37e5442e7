import CoreSupport
import Storage
import Testing

@Suite("Authorizer: the hook Governance builds on")
struct AuthorizerTests {
    func store() throws -> DatabaseQueue {
        let queue = try DatabaseQueue(path: try Scratch.databasePath())
        try queue.write { db in
            try db.execute(
                """
                CREATE TABLE secrets (id INTEGER PRIMARY KEY, value TEXT);
                CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
                CREATE VIEW everything AS SELECT s.value, n.body FROM secrets s JOIN notes n USING (id);
                INSERT INTO secrets VALUES (1, 'hunter2');
                INSERT INTO notes VALUES (1, 'hello');
                """)
        }
        return queue
    }

    /// Denies every read of the `secrets` table, whatever the route.
    let denySecrets: (AuthorizerAction) -> AuthorizerDecision = { action in
        action.code == .read && action.table == "secrets" ? .deny : .allow
    }

    @Test func denyingATableReadFailsWithSQLITE_AUTH() throws {
        let queue = try store()
        try queue.read { db in
            try db.withAuthorizer(denySecrets) { () throws in
                let direct = #expect(throws: DatabaseError.self) { _ = try db.fetchAll("SELECT value FROM secrets") }
                #expect(direct?.code == .auth)
                #expect(direct?.message.contains("secrets") == true)
                #expect(direct?.sql == "SELECT value FROM secrets")
                let throughView = #expect(throws: DatabaseError.self) { _ = try db.fetchAll("SELECT * FROM everything") }
                #expect(throughView?.code == .auth)
                #expect(try db.fetchValue("SELECT body FROM notes", as: String.self) == "hello")
            }
            // Scoped: the previous (no) authorizer is back.
            #expect(try db.fetchValue("SELECT value FROM secrets", as: String.self) == "hunter2")
        }
    }

    @Test func actionsCarryTableColumnSchemaAndSource() throws {
        let queue = try store()
        var seen: [AuthorizerAction] = []
        try queue.read { db in
            try db.withAuthorizer({ action in
                seen.append(action)
                return .allow
            }) {
                _ = try db.fetchAll("SELECT * FROM everything")
            }
        }
        #expect(seen.contains(AuthorizerAction(code: .select)))
        #expect(seen.contains(AuthorizerAction(code: .read, first: "secrets", second: "value", schema: "main", source: "everything")))
        #expect(seen.contains(AuthorizerAction(code: .read, first: "notes", second: "body", schema: "main", source: "everything")))
        // The transaction and pragma statements of `read` itself are not shown.
        #expect(!seen.contains { $0.code == .transaction || $0.code == .pragma })
    }

    @Test func ignoreReadsAColumnAsNull() throws {
        let queue = try store()
        let row = try queue.read { db in
            try db.withAuthorizer({ $0.code == .read && $0.column == "value" ? .ignore : .allow }) {
                try db.fetchOne("SELECT id, value FROM secrets")!
            }
        }
        #expect(row["id"] == .integer(1))
        #expect(row["value"] == .null)
    }

    @Test func cachedStatementsMeetANewAuthorizer() throws {
        let queue = try store()
        try queue.read { db throws in
            #expect(try db.fetchValue("SELECT value FROM secrets", as: String.self) == "hunter2")
            db.setAuthorizer(denySecrets)
            let error = #expect(throws: DatabaseError.self) { _ = try db.fetchValue("SELECT value FROM secrets", as: String.self) }
            #expect(error?.code == .auth)
        }
        // It stays on the connection: a later read is still refused, yet its own BEGIN and COMMIT run.
        let later = #expect(throws: DatabaseError.self) {
            try queue.read { db in try db.fetchAll("SELECT value FROM secrets") }
        }
        #expect(later?.code == .auth)
        try queue.read { db in db.setAuthorizer(nil) }
        #expect(try queue.read { db in try db.fetchValue("SELECT count(*) FROM secrets", as: Int.self) } == 1)
    }

    @Test func aDenyAllAuthorizerStillLetsWritesCommitTheirOwnWork() throws {
        let queue = try store()
        try queue.write { db in
            try db.execute("INSERT INTO notes VALUES (2, 'allowed')")
            db.setAuthorizer { action in action.code == .insert ? .allow : .deny }
            try db.execute("INSERT INTO notes VALUES (3, 'also allowed')")
            let error = #expect(throws: DatabaseError.self) { try db.execute("DELETE FROM notes") }
            #expect(error?.code == .auth)
        }
        try queue.write { db in db.setAuthorizer(nil) }
        #expect(try queue.read { db in try db.fetchValue("SELECT count(*) FROM notes", as: Int.self) } == 3)
    }
}
