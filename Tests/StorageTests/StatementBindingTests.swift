import Storage
import Testing

@Suite struct StatementBindingTests {
    @Test func bindsEachKindAndRunsRepeatedly() throws {
        let queue = try DatabaseQueue.inMemory()
        let rows = try queue.write { db -> [Row] in
            try db.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)")
            let insert = try db.makeStatement("INSERT INTO t VALUES (?, ?, ?, ?, ?)")
            let text = Array("héllo".utf8), blob: [UInt8] = [0, 1, 255]
            for k in 0..<3 {
                try insert.bind(Int64(k), at: 1)
                try insert.bind(Double(k) + 0.5, at: 2)
                try text.withUnsafeBytes { try insert.bindText($0, at: 3) }
                try blob.withUnsafeBytes { try insert.bindBlob($0, at: 4) }
                try insert.bindNull(at: 5)
                try insert.executeBound()
            }
            try [UInt8]().withUnsafeBytes { try insert.bindText($0, at: 3) }
            try insert.executeBound()
            return try db.fetchAll("SELECT i, r, s, b, n, typeof(s) FROM t ORDER BY rowid")
        }
        #expect(rows.count == 4)
        #expect(rows[2].values == [2, 2.5, "héllo", .blob([0, 1, 255]), nil, "text"])
        #expect(rows[3]["s"] == "")
        #expect(rows[3][5] == "text")
    }

    @Test func noCopyBindingsReadTheCallersBytesWhileTheStatementRuns() throws {
        let queue = try DatabaseQueue.inMemory()
        let rows = try queue.write { db -> [Row] in
            try db.execute("CREATE TABLE t (s TEXT, b BLOB)")
            let insert = try db.makeStatement("INSERT INTO t VALUES (?, ?)")
            var buffer = Array("first".utf8)
            for _ in 0..<2 {
                try buffer.withUnsafeBytes { bytes in
                    try insert.bindTextNoCopy(bytes, at: 1)
                    try insert.bindBlobNoCopy(bytes, at: 2)
                    try insert.executeBound()
                }
                buffer = Array("second, longer".utf8)  // the row written before keeps its own copy
            }
            try [UInt8]().withUnsafeBytes { empty in
                try insert.bindTextNoCopy(empty, at: 1)
                try insert.bindBlobNoCopy(empty, at: 2)
                try insert.executeBound()
            }
            return try db.fetchAll("SELECT s, b, typeof(s), typeof(b) FROM t ORDER BY rowid")
        }
        #expect(rows.map { $0[0] } == ["first", "second, longer", ""])
        #expect(rows[0][1] == .blob(Array("first".utf8)))
        #expect(rows[2][2] == "text" && rows[2][3] == "blob")
    }

    @Test func aFailedStepIsAnErrorAndTheStatementCanRunAgain() throws {
        let queue = try DatabaseQueue.inMemory()
        try queue.write { db in
            try db.execute("CREATE TABLE t (i INTEGER NOT NULL)")
            let insert = try db.makeStatement("INSERT INTO t VALUES (?)")
            try insert.bindNull(at: 1)
            #expect(throws: DatabaseError.self) { try insert.executeBound() }
            try insert.bind(Int64(7), at: 1)
            try insert.executeBound()
            #expect(try db.fetchValue("SELECT i FROM t", as: Int.self) == 7)
        }
    }
}
