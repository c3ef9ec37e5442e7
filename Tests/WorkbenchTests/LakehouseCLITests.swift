import CoreSupport
import Foundation
import TestSupport
import Testing

/// `wb sql` and `wb catalog`, run as a user would, against real domains in scratch folders.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct LakehouseCLITests {
    func sql(_ home: String, _ arguments: String...) throws -> Command.Result {
        try WB.run(["sql", "--home", home] + arguments)
    }

    @Test(arguments: [
        ["sql", "--help"], ["catalog", "--help"], ["catalog", "ls", "--help"], ["catalog", "describe", "--help"],
        ["catalog", "search", "--help"], ["catalog", "history", "--help"], ["catalog", "expire", "--help"],
        ["catalog", "compact", "--help"], ["catalog", "tag", "--help"], ["catalog", "register-sqlite", "--help"],
        ["catalog", "register-csv", "--help"], ["import", "--help"], ["export", "--help"],
    ])
    func everyLakehouseCommandHasHelp(_ args: [String]) throws {
        let result = try WB.run(args)
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE:"))
        #expect(result.stdout.contains("Exit codes:"))
    }

    @Test func queriesPrintAsTableCSVAndJSONAndWritesReportSnapshots() throws {
        let home = WB.scratch("cli-sql")
        let created = try sql(home, "CREATE TABLE sales.orders (id INTEGER PRIMARY KEY, customer TEXT, amount REAL)")
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("snapshot 1 of sales.orders: create"))
        let inserted = try sql(home, "INSERT INTO sales.orders VALUES (1, 'ann', 9.5), (2, 'b,\"o\"b', NULL)")
        #expect(inserted.stdout.contains("snapshot 2 of sales.orders: append, 2 rows"))

        let table = try sql(home, "SELECT * FROM sales.orders ORDER BY id")
        #expect(table.stdout == "id | customer | amount\n---+----------+-------\n 1 | ann      |    9.5\n 2 | b,\"o\"b   |   NULL\n(2 rows)\n")
        let csv = try sql(home, "SELECT * FROM sales.orders ORDER BY id", "--format", "csv")
        #expect(csv.stdout == "id,customer,amount\r\n1,ann,9.5\r\n2,\"b,\"\"o\"\"b\",\r\n")
        let json = try JSON.parse(try sql(home, "SELECT id FROM sales.orders ORDER BY id", "--json", "--limit", "1").stdout)
        #expect(json["rows"] == [[1]])
        #expect(json["truncated"] == true)

        // --home before the command, and $WB_HOME, name the same domain.
        let global = try WB.run(["--home", home, "sql", "SELECT count(*) FROM sales.orders", "--format", "csv"])
        #expect(global.stdout == "count(*)\r\n2\r\n")
        let env = try WB.run(["sql", "SELECT count(*) FROM sales.orders", "--format", "csv"], environment: ["WB_HOME": home])
        #expect(env.stdout == "count(*)\r\n2\r\n")

        // Time travel from the command line and in SQL.
        let past = try sql(home, "SELECT count(*) FROM sales.orders", "--as-of", "1", "--format", "csv")
        #expect(past.stdout == "count(*)\r\n0\r\n")
        let inSQL = try sql(home, "SELECT count(*) FROM sales.orders VERSION AS OF 1", "--format", "csv")
        #expect(inSQL.stdout == "count(*)\r\n0\r\n")
        // SQL from standard input.
        let stdin = try Command.run([WB.binary, "sql", "--home", home, "--format", "csv"], input: Array("SELECT 1 + 2 AS x".utf8))
        #expect(stdin.stdout == "x\r\n3\r\n")
    }

    @Test func errorsHaveAPlaceAndAnExitCode() throws {
        let home = WB.scratch("cli-errors")
        _ = try sql(home, "CREATE TABLE s.t (a INTEGER)")
        let bad = try sql(home, "SELECT a,\n  nope FROM s.t")
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("no such column: nope (at line 2, column 3)"))
        #expect(bad.stderr.contains("    nope FROM s.t\n    ^"))
        let missing = try sql(home, "SELECT * FROM s.missing")
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("s.missing"))
        let expired = try sql(home, "SELECT * FROM s.t", "--as-of", "99")
        #expect(expired.status == 1)
        #expect(expired.stderr.contains("there is no snapshot 99"))
        let slow = try sql(home, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", "--timeout", "0.5")
        #expect(slow.status == 4)
        #expect(slow.stderr.contains("time limit"))
        let usage = try sql(home, "SELECT 1", "--as-of", "yesterday-ish")
        #expect(usage.status == 64)
        let notAFolder = FilePath.join(home, "file")
        try AtomicFile.write("x", to: notAFolder)
        let domain = try WB.run(["sql", "--home", notAFolder, "SELECT 1"])
        #expect(domain.status == 23)
    }

    @Test func catalogCommandsListDescribeSearchAndMaintain() throws {
        let home = WB.scratch("cli-catalog")
        _ = try sql(home, "CREATE DATABASE hr COMMENT 'people'; CREATE TABLE hr.staff (id INTEGER, salary REAL)")
        for i in 1...4 { _ = try sql(home, "INSERT INTO hr.staff VALUES (\(i), \(i * 1000))") }
        let tag = try WB.run(["catalog", "tag", "hr.staff.salary", "pii=true", "--home", home])
        #expect(tag.status == 0, "\(tag.stderr)")
        let ls = try JSON.parse(try WB.run(["catalog", "ls", "--json", "--home", home]).stdout)
        #expect(ls["databases"]?.arrayValue?.first?["name"] == "hr")
        #expect(ls["databases"]?.arrayValue?.first?["comment"] == "people")
        let describe = try JSON.parse(try WB.run(["catalog", "describe", "hr.staff", "--json", "--home", home]).stdout)
        #expect(describe["rows"] == 4)
        #expect(describe["columns"]?.arrayValue?[1]["tags"] == ["pii": "true"])
        #expect(describe["snapshots"]?.arrayValue?.count == 5)
        let search = try JSON.parse(try WB.run(["catalog", "search", "pii=true", "--json", "--home", home]).stdout)
        #expect(search["hits"]?.arrayValue?.first?["name"] == "hr.staff.salary")
        let text = try WB.run(["catalog", "describe", "hr.staff", "--home", home])
        #expect(text.stdout.contains("\nsalary  REAL     yes   pii=true\n"))

        let expire = try JSON.parse(try WB.run(["catalog", "expire", "hr.staff", "--keep-last", "2", "--json", "--home", home]).stdout)
        #expect(expire["snapshots_expired"] == 3)
        let history = try JSON.parse(try WB.run(["catalog", "history", "hr.staff", "--all", "--json", "--home", home]).stdout)
        #expect(history["snapshots"]?.arrayValue?.filter { $0["expired"] == true }.count == 3)
        let compact = try WB.run(["catalog", "compact", "hr.staff", "--home", home])
        #expect(compact.status == 0, "\(compact.stderr)")
        #expect(compact.stdout.contains("rewrote 4 rows"))
        let notFound = try WB.run(["catalog", "describe", "hr.nothing", "--home", home])
        #expect(notFound.status == 1)
    }

    @Test func aFederatedSQLiteFileIsReadInPlaceAndReadOnly() throws {
        let home = WB.scratch("cli-federated")
        let file = FilePath.join(home, "legacy.db")
        _ = try Python.run(
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table customers (id integer primary key, name text)');"
                + "c.executemany('insert into customers values (?,?)', [(1,'ann'),(2,'bob')]); c.commit()", arguments: [file])
        let before = try FileIO.read(file)
        let registered = try WB.run(["catalog", "register-sqlite", "legacy", file, "--home", home])
        #expect(registered.status == 0, "\(registered.stderr)")
        _ = try sql(home, "CREATE TABLE sales.orders (id INTEGER, customer_id INTEGER); INSERT INTO sales.orders VALUES (10, 2)")
        let joined = try sql(home, "SELECT o.id, c.name FROM sales.orders o JOIN legacy.customers c ON c.id = o.customer_id", "--format", "csv")
        #expect(joined.stdout == "id,name\r\n10,bob\r\n", "\(joined.stderr)")
        let write = try sql(home, "DELETE FROM legacy.customers")
        #expect(write.status == 1)
        #expect(write.stderr.contains("read-only"))
        // Copying out of it is an ordinary managed write.
        let copy = try sql(home, "CREATE TABLE sales.customers AS SELECT * FROM legacy.customers")
        #expect(copy.status == 0, "\(copy.stderr)")
        #expect(try FileIO.read(file) == before)
        // The source updates in place: no copy was made.
        _ = try Python.run("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"insert into customers values (3,'cy')\"); c.commit()", arguments: [file])
        #expect(try sql(home, "SELECT count(*) FROM legacy.customers", "--format", "csv").stdout == "count(*)\r\n3\r\n")
        let dropped = try sql(home, "DROP DATABASE legacy")
        #expect(dropped.status == 0)
        #expect(FileIO.exists(file))
    }

    @Test func aDirectoryOfCSVFilesIsQueriedInPlace() throws {
        let home = WB.scratch("cli-federated-csv")
        let dir = FilePath.join(home, "exports")
        try FileIO.createDirectory(dir)
        let orders = FilePath.join(dir, "orders.csv")
        try AtomicFile.write("id,customer,amount\n1,ann,2.5\n2,bob,4\n", to: orders)
        try AtomicFile.write("name\tcity\nann\tOslo\n", to: FilePath.join(dir, "customers.tsv"))
        let registered = try WB.run(["catalog", "register-csv", "raw", dir, "--home", home])
        #expect(registered.status == 0, "\(registered.stderr)")
        #expect(registered.stdout.contains("registered raw (2 tables, read-only)"), "\(registered.stdout)")
        let described = try WB.run(["catalog", "describe", "raw.orders", "--json", "--home", home])
        let columns = try JSON.parse(described.stdout)["columns"]?.arrayValue ?? []
        #expect(columns.map { $0["type"]?.stringValue ?? "" } == ["INTEGER", "TEXT", "REAL"], "\(described.stdout)")
        let joined = try sql(home, "SELECT o.id, c.city FROM raw.orders o JOIN raw.customers c ON c.name = o.customer", "--format", "csv")
        #expect(joined.stdout == "id,city\r\n1,Oslo\r\n", "\(joined.stderr)")
        let write = try sql(home, "DELETE FROM raw.orders")
        #expect(write.status == 1)
        #expect(write.stderr.contains("read-only"))
        // A bad row fails the query with its file and line.
        try AtomicFile.write("id,customer,amount\n1,ann,2.5\n2,bob\n", to: orders)
        let bad = try sql(home, "SELECT sum(amount) FROM raw.orders")
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("\(orders):3: expected 3 fields, found 2"), "\(bad.stderr)")
        let missing = try WB.run(["catalog", "register-csv", "nope", FilePath.join(home, "missing"), "--home", home])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("there is no directory"), "\(missing.stderr)")
        #expect(try sql(home, "DROP DATABASE raw").status == 0)
        #expect(FileIO.exists(orders))
    }

    @Test func twoProcessesWritingAtOnceLoseNothing() async throws {
        let home = WB.scratch("cli-concurrent")
        _ = try sql(home, "CREATE TABLE c.t (writer TEXT, n INTEGER)")
        let binary = WB.binary
        let rounds = 15
        func loop(_ name: String) -> Task<Command.Result, any Error> {
            Task.detached {
                try Command.run([
                    "/bin/sh", "-c",
                    "for i in $(seq 1 \(rounds)); do \"$0\" sql --home \"$1\" \"INSERT INTO c.t VALUES ('\(name)', $i)\" >/dev/null || exit 1; done",
                    binary, home,
                ])
            }
        }
        let a = loop("a"), b = loop("b")
        let ra = try await a.value, rb = try await b.value
        #expect(ra.status == 0, "\(ra.stderr)")
        #expect(rb.status == 0, "\(rb.stderr)")
        let counts = try sql(home, "SELECT writer, count(*), sum(n) FROM c.t GROUP BY writer ORDER BY writer", "--format", "csv")
        #expect(counts.stdout == "writer,count(*),sum(n)\r\na,\(rounds),\(rounds * (rounds + 1) / 2)\r\nb,\(rounds),\(rounds * (rounds + 1) / 2)\r\n")
        // One snapshot per commit, each one row more than the one before.
        let history = try JSON.parse(try WB.run(["catalog", "history", "c.t", "--json", "--home", home]).stdout)
        let totals = history["snapshots"]?.arrayValue?.compactMap { $0["summary"]?["total-rows"]?.intValue } ?? []
        #expect(totals == Array(0...(2 * rounds)))
        let check = try Python.text(
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('pragma integrity_check').fetchone()[0])",
            arguments: [FilePath.join(home, "catalog.db")])
        #expect(check == "ok\n")
    }

    @Test func aProcessKilledMidTransactionLeavesTheTableAsItWas() async throws {
        let home = WB.scratch("cli-killed")
        _ = try sql(home, "CREATE TABLE k.t (n INTEGER, pad TEXT); INSERT INTO k.t VALUES (1, 'x'), (2, 'y')")
        let before = try sql(home, "SELECT n, pad FROM k.t ORDER BY n", "--format", "csv").stdout
        let process = Process()
        process.executableURL = URL(fileURLWithPath: WB.binary)
        process.arguments = [
            "sql", "--home", home,
            "INSERT INTO k.t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) SELECT x, hex(randomblob(64)) FROM c",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it once its uncommitted pages spill into the WAL: the transaction is mid-way.
        let wal = FilePath.join(home, "catalog.db-wal")
        let spilled = await poll(120) {
            ((try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0) > 8 << 20
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(spilled, "the insert never spilled 8 MiB into the WAL")
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(try sql(home, "SELECT n, pad FROM k.t ORDER BY n", "--format", "csv").stdout == before)
        let history = try JSON.parse(try WB.run(["catalog", "history", "k.t", "--json", "--home", home]).stdout)
        #expect(history["snapshots"]?.arrayValue?.count == 1)
        let next = try sql(home, "INSERT INTO k.t VALUES (3, 'z')")
        #expect(next.stdout.contains("snapshot 2 of k.t: append, 3 rows"), "\(next.stdout) \(next.stderr)")
    }

    /// CPU seconds a process has used so far (user + system), from /proc.
    static func cpuSeconds(_ pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime field 14, stime field 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Starts `wb sql` on its own, output to files the test reads when it has exited.
    static func start(_ arguments: [String], dir: String) throws -> (Process, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: WB.binary)
        process.arguments = ["sql"] + arguments
        let errPath = FilePath.join(dir, "stderr")
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        return (process, errPath)
    }

    @Test func ctrlCStopsARunningQueryWithExit130() async throws {
        let home = WB.scratch("cli-sigint-read")
        _ = try sql(home, "CREATE TABLE k.t (n INTEGER)")
        let (process, errPath) = try Self.start(
            ["--home", home, "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 9000000000000) SELECT x FROM c)"],
            dir: home)
        // Half a second of CPU is far past starting up: the statement is running.
        let running = await poll(120) { Self.cpuSeconds(process.processIdentifier) > 0.5 }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(running, "the query never got going")
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 130)
        let stderr = try FileIO.readText(errPath)
        #expect(stderr.contains("wb sql: the query was cancelled"), "\(stderr)")
        #expect(stderr.contains("wb sql: interrupted; the statement was stopped and nothing it changed was committed"), "\(stderr)")
        #expect(try sql(home, "SELECT 1 + 2", "--format", "csv").stdout == "1 + 2\r\n3\r\n")
    }

    @Test func ctrlCStopsARunningWriteAndCommitsNothing() async throws {
        let home = WB.scratch("cli-sigint-write")
        _ = try sql(home, "CREATE TABLE k.t (n INTEGER, pad TEXT); INSERT INTO k.t VALUES (1, 'x')")
        let (process, errPath) = try Self.start(
            ["--home", home,
             "INSERT INTO k.t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) SELECT x, hex(randomblob(64)) FROM c"],
            dir: home)
        // Interrupt once its uncommitted pages spill into the WAL: the statement is mid-way.
        let wal = FilePath.join(home, "catalog.db-wal")
        let spilled = await poll(120) {
            ((try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0) > 8 << 20
        }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(spilled, "the insert never spilled 8 MiB into the WAL")
        #expect(process.terminationStatus == 130)
        #expect(try FileIO.readText(errPath).contains("wb sql: interrupted"))
        #expect(try sql(home, "SELECT count(*) FROM k.t", "--format", "csv").stdout == "count(*)\r\n1\r\n")
        let history = try JSON.parse(try WB.run(["catalog", "history", "k.t", "--json", "--home", home]).stdout)
        #expect(history["snapshots"]?.arrayValue?.count == 1)
    }
}
