import CoreSupport
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `wb import`, `wb export`, `wb kernel sql` and `wb kernels install sql`, end to end on real files and a real Jupyter client.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct LakehouseIOTests {
    /// A domain folder and a working folder for one test.
    struct Setup {
        let dir: String
        let home: String
        var environment: [String: String] { ["WB_HOME": home] }

        init(_ name: String) {
            dir = WB.scratch(name)
            home = FilePath.join(dir, "home")
        }

        func file(_ name: String, _ text: String) throws -> String {
            let path = FilePath.join(dir, name)
            try AtomicFile.write(text, to: path)
            return path
        }

        func wb(_ arguments: [String]) throws -> Command.Result {
            try WB.run(arguments, environment: environment, cwd: dir)
        }
    }

    static let orders = """
        order_id,customer,amount,status,ordered_at
        1,ann,12.5,paid,2024-01-02
        2,bob,7.25,new,2024-01-03
        3,"Smith, Jo",100,shipped,2024-02-10

        """

    @Test func importCreatesTypedTableAndExportRoundTrips() throws {
        let s = Setup("import-export")
        let csv = try s.file("orders.csv", LakehouseIOTests.orders)
        let imported = try s.wb(["import", csv, "--into", "sales.orders", "--json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let summary = try JSON.parse(imported.stdout)
        #expect(summary["rows_imported"] == 3)
        #expect(summary["created"] == true)
        #expect(summary["columns"]?.arrayValue?.map { $0["type"]!.stringValue! } == ["INTEGER", "TEXT", "REAL", "TEXT", "DATE"])
        #expect(summary["snapshot"]?["operation"] == "create")

        let out = FilePath.join(s.dir, "out.csv")
        let exported = try s.wb(["export", "sales.orders", "--to", out])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(try FileIO.readText(out) == """
            order_id,customer,amount,status,ordered_at
            1,ann,12.5,paid,2024-01-02
            2,bob,7.25,new,2024-01-03
            3,"Smith, Jo",100.0,shipped,2024-02-10

            """)
        let jsonl = FilePath.join(s.dir, "out.jsonl")
        #expect(try s.wb(["export", "sales.orders", "--to", jsonl]).status == 0)
        let back = try s.wb(["import", jsonl, "--into", "sales.copy", "--json"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try JSON.parse(back.stdout)["rows_imported"] == 3)
    }

    @Test func aBadRowAbortsWithItsLineOrIsSkipped() throws {
        let s = Setup("bad-rows")
        let good = try s.file("orders.csv", LakehouseIOTests.orders)
        #expect(try s.wb(["import", good, "--into", "sales.orders"]).status == 0)
        let before = FilePath.join(s.dir, "before.csv")
        #expect(try s.wb(["export", "sales.orders", "--to", before]).status == 0)

        let bad = try s.file("more.csv", "order_id,customer,amount,status,ordered_at\n4,cy,1.5,new,2024-03-01\n5,dee,lots,new,2024-03-02\n6,eve,3\n7,fay,2,paid,2024-03-04\n")
        let aborted = try s.wb(["import", bad, "--into", "sales.orders"])
        #expect(aborted.status == 1)
        #expect(aborted.stderr.contains("more.csv:3: column amount is REAL but the value is 'lots'"), "\(aborted.stderr)")
        #expect(aborted.stderr.contains("nothing was imported"))
        let after = FilePath.join(s.dir, "after.csv")
        #expect(try s.wb(["export", "sales.orders", "--to", after]).status == 0)
        #expect(try FileIO.read(after) == FileIO.read(before))

        let tooFew = try s.wb(["import", bad, "--into", "sales.orders", "--skip-bad-rows", "1"])
        #expect(tooFew.status == 1)
        #expect(tooFew.stderr.contains("more.csv:4: expected 5 fields, found 3"), "\(tooFew.stderr)")

        let skipped = try s.wb(["import", bad, "--into", "sales.orders", "--skip-bad-rows", "2", "--json"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        let summary = try JSON.parse(skipped.stdout)
        #expect(summary["rows_imported"] == 2)
        #expect(summary["rows_skipped"] == 2)
        #expect(summary["skipped"]?.arrayValue?.map { $0["line"]! } == [3, 4])
        #expect(summary["snapshot"]?["operation"] == "append")
    }

    @Test func unreadableAndEmptyFilesAreUsageOfTheirOwn() throws {
        let s = Setup("bad-files")
        let missing = try s.wb(["import", FilePath.join(s.dir, "nope.csv"), "--into", "sales.x"])
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("nope.csv: cannot open"))
        let empty = try s.file("empty.csv", "")
        let emptyResult = try s.wb(["import", empty, "--into", "sales.x"])
        #expect(emptyResult.status == 66)
        #expect(emptyResult.stderr.contains("the file is empty"))
        let unknown = try s.file("data.txt", "a\n1\n")
        let noFormat = try s.wb(["import", unknown, "--into", "sales.x"])
        #expect(noFormat.status == 66)
        #expect(noFormat.stderr.contains("--format"))
        #expect(try s.wb(["import", unknown, "--into", "sales.x", "--format", "csv"]).status == 0)
        #expect(try s.wb(["import", unknown, "--into", "not-a-table-name"]).status == 64)
        #expect(try s.wb(["import", "--help"]).stdout.contains("--skip-bad-rows"))
        #expect(try s.wb(["export", "--help"]).stdout.contains("USAGE:"))
    }

    /// `wb import` and `wb export` go through the governed bus: the policy's plugin actions decide,
    /// a refusal exits 21 naming the permission, changes nothing, and every decision is audited.
    @Test func importAndExportAreAuthorizedAndAudited() throws {
        let s = Setup("import-export-governed")
        let csv = try s.file("orders.csv", LakehouseIOTests.orders)
        #expect(try s.wb(["import", csv, "--into", "sales.orders"]).status == 0)
        let me = Environment.userName
        let policy = try s.file(
            "policy.yaml",
            """
            version: 1
            grants:
              - {id: admin, to: "user:\(me)", permissions: [ALL, "governance:*", "lakehouse:query"], on: {catalog: "*"}}
            """)
        let applied = try s.wb(["policy", "apply", policy])
        #expect(applied.status == 0, "\(applied.stderr)")

        let refused = try s.wb(["import", csv, "--into", "sales.orders"])
        #expect(refused.status == 21, "\(refused.stderr)")
        #expect(refused.stderr.contains("lakehouse:import"), "\(refused.stderr)")
        let out = FilePath.join(s.dir, "out.csv")
        let noExport = try s.wb(["export", "sales.orders", "--to", out])
        #expect(noExport.status == 21, "\(noExport.stderr)")
        #expect(noExport.stderr.contains("lakehouse:export"))
        #expect(!FileIO.exists(out))
        let count = try s.wb(["sql", "SELECT count(*) FROM sales.orders", "--format", "csv"])
        #expect(count.stdout.hasSuffix("\r\n3\r\n"), "\(count.stdout) \(count.stderr)")

        let audit = try s.wb(["audit", "search", "--action", "lakehouse:import", "--json"])
        let decisions = audit.stdout.split(separator: "\n").map { try? JSON.parse(String($0)) }
        #expect(decisions.compactMap { $0?["decision"]?.stringValue } == ["allow", "deny"], "\(audit.stdout)")
        #expect(try s.wb(["audit", "search", "--action", "lakehouse:export", "--json"]).stdout.contains("\"deny\""))
    }

    /// On a terminal, a long import draws a progress line from the plugin's progress events, and erases it at the end.
    @Test func aLongImportShowsProgressOnATerminal() throws {
        let s = Setup("import-progress")
        let big = FilePath.join(s.dir, "big.csv")
        try LakehouseIOTests.generateOrders(big, megabytes: 30, seed: 5)
        let typescript = FilePath.join(s.dir, "typescript")
        var environment = ProcessInfo.processInfo.environment
        environment["WB_HOME"] = s.home
        // script(1) runs wb on a pseudo-terminal and keeps every byte it wrote there, erased lines included.
        let command = "'\(WB.binary)' import '\(big)' --into sales.big"
        let result = try Command.run(
            ["/usr/bin/timeout", "300", "/usr/bin/script", "-q", "-e", "-c", command, typescript], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let screen = try FileIO.readText(typescript)
        #expect(screen.contains("importing: ") && screen.contains(" MiB of 28 MiB ("), "\(screen.suffix(400))")
        #expect(screen.contains("\r\u{1B}[K"))
        #expect(screen.contains("created sales.big with"))
    }

    /// The stock jupyter_kernel_test suite drives `wb kernel sql`, started by jupyter_client from the
    /// kernelspec `wb kernels install sql` wrote, over a real table.
    @Test func sqlKernelPassesJupyterKernelTest() throws {
        let s = Setup("sql-kernel")
        let csv = try s.file("orders.csv", LakehouseIOTests.orders)
        #expect(try s.wb(["import", csv, "--into", "sales.orders"]).status == 0)
        let prefix = FilePath.join(s.dir, "prefix")
        let installed = try s.wb(["kernels", "install", "sql", "--prefix", prefix, "--home", s.home, "--json"])
        #expect(installed.status == 0, "\(installed.stderr)")
        let spec = try JSON.parse(installed.stdout)
        #expect(spec["spec"]?["argv"]?.arrayValue?.first?.stringValue?.hasPrefix("/") == true)
        #expect(spec["spec"]?["interrupt_mode"] == "message")

        var environment = ProcessInfo.processInfo.environment
        environment["JUPYTER_PATH"] = FilePath.join(prefix, "share/jupyter")
        environment["JUPYTER_RUNTIME_DIR"] = FilePath.join(s.dir, "runtime")
        environment["JUPYTER_DATA_DIR"] = FilePath.join(s.dir, "jupyter-data")
        environment["WB_HOME"] = s.home
        let script = """
            import json, sys, unittest
            import jupyter_kernel_test as jkt

            class WorkbenchSQL(jkt.KernelTests):
                kernel_name = "wb-sql"
                language_name = "sql"
                file_extension = ".sql"
                code_execute_result = [
                    {"code": "SELECT 1+2 AS three", "result": " three\\n-------\\n     3\\n(1 row)"},
                    {"code": "SELECT customer FROM sales.orders WHERE order_id = 3", "mime": "text/html"},
                ]
                code_history_pattern = "SELECT 1+2*"
                supported_history_operations = ("tail", "range", "search")
                code_generate_error = "SELEC 1"
                completion_samples = [{"text": "SELECT amou", "matches": ["amount"]}, {"text": "SELECT * FROM sales.ord", "matches": ["sales.orders"]}]
                complete_code_samples = ["SELECT 1;", "SELECT 1", "SELECT * FROM sales.orders;"]
                incomplete_code_samples = ["SELECT * FROM", "SELECT 'abc"]
                invalid_code_samples = ["SELEKT 1;", "SELECT * FROM; SELECT 1"]
                code_inspect_sample = "sales.orders"

                def test_wb_select_1_plus_2_is_3(self):
                    self.flush_channels()
                    reply, outputs = self.execute_helper("SELECT 1+2")
                    self.assertEqual(reply["content"]["status"], "ok")
                    data = outputs[0]["content"]["data"]
                    self.assertEqual(data["application/vnd.dataresource+json"]["data"], [{"1+2": 3}])
                    self.assertIn("<td>3</td>", data["text/html"])

                def test_wb_syntax_error_is_a_jupyter_error(self):
                    self.flush_channels()
                    reply, outputs = self.execute_helper("SELECT FROM WHERE")
                    self.assertEqual(reply["content"]["status"], "error")
                    self.assertEqual(reply["content"]["ename"], "SyntaxError")
                    self.assertEqual(outputs[0]["msg_type"], "error")
                    self.assertIn("syntax error", outputs[0]["content"]["evalue"])

                def test_wb_writes_make_a_snapshot(self):
                    self.flush_channels()
                    reply, outputs = self.execute_helper("INSERT INTO sales.orders VALUES (4, 'kim', 1.0, 'new', '2024-03-01')")
                    self.assertEqual(reply["content"]["status"], "ok")
                    text = outputs[0]["content"]["data"]["text/plain"]
                    self.assertIn("1 row changed", text)
                    self.assertIn("snapshot", text)

            result = unittest.main(argv=["jkt", "-v"], exit=False).result
            sys.exit(0 if result.wasSuccessful() else 1)
            """
        let run = try Command.run(
            [try Python.executable(), "-X", "utf8", "-c", script], environment: environment, cwd: s.dir)
        #expect(run.status == 0, "\(run.stderr)")
        // The stock tests that apply to SQL ran (stdout, stderr, display data, pager and clear_output have
        // no SQL sample, so those five skip), and ours.
        #expect(run.stderr.contains("Ran 15 tests"), "\(run.stderr)")
        #expect(run.stderr.contains("OK (skipped=5)"), "\(run.stderr)")
    }

    /// `wb kernel sql` under a real policy: cells go through the bus (authorized as lakehouse:query and
    /// audited), and completion and inspection offer only the tables and columns the user may see.
    @Test func sqlKernelIsGovernedLikeWbSQL() throws {
        let s = Setup("sql-kernel-governed")
        let me = Environment.userName
        #expect(try s.wb(["import", try s.file("orders.csv", LakehouseIOTests.orders), "--into", "sales.orders"]).status == 0)
        let salaries = try s.file("salaries.csv", "employee,salary_band\nann,7\nbob,9\n")
        #expect(try s.wb(["import", salaries, "--into", "hr.salaries"]).status == 0)
        #expect(try s.wb(["catalog", "comment", "hr.salaries", "confidential pay bands"]).status == 0)
        let prefix = FilePath.join(s.dir, "prefix")
        #expect(try s.wb(["kernels", "install", "sql", "--prefix", prefix, "--home", s.home]).status == 0)

        var environment = ProcessInfo.processInfo.environment
        environment["JUPYTER_PATH"] = FilePath.join(prefix, "share/jupyter")
        environment["JUPYTER_RUNTIME_DIR"] = FilePath.join(s.dir, "runtime")
        environment["JUPYTER_DATA_DIR"] = FilePath.join(s.dir, "jupyter-data")
        environment["WB_HOME"] = s.home
        // The user keeps governance administration (to change the policy mid-test) and reads sales.orders;
        // hr.salaries is not theirs until the second policy, the control.
        let script = """
            import json, subprocess, sys
            from jupyter_client.manager import start_new_kernel
            wb, home, me, workdir = sys.argv[1:5]

            def wb_run(*args):
                return subprocess.run([wb, *args, "--home", home], capture_output=True, text=True)

            def apply(name, grants):
                path = f"{workdir}/{name}.yaml"
                with open(path, "w") as f:
                    f.write("version: 1\\ngrants:\\n" + "".join(f"  - {g}\\n" for g in grants))
                r = wb_run("policy", "apply", path)
                assert r.returncode == 0, r.stderr

            admin = f'{{id: admin, to: "user:{me}", permissions: ["governance:*"]}}'
            orders = f'{{id: orders, to: "user:{me}", permissions: [SELECT, DESCRIBE], on: {{table: sales.orders}}}}'
            salaries = f'{{id: salaries, to: "user:{me}", permissions: [SELECT, DESCRIBE], on: {{table: hr.salaries}}}}'
            query = f'{{id: query, to: "user:{me}", permissions: ["lakehouse:query"]}}'

            def queries_audited():
                r = wb_run("audit", "search", "--action", "lakehouse:query", "--principal", f"user:{me}", "--json")
                assert r.returncode == 0, r.stderr
                return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

            km, kc = start_new_kernel(kernel_name="wb-sql", startup_timeout=120)
            try:
                def complete(code):
                    return kc.complete(code, reply=True, timeout=60)["content"]["matches"]
                def inspect(code):
                    return kc.inspect(code, reply=True, timeout=60)["content"]
                def execute(code):
                    outputs = []
                    reply = kc.execute_interactive(code, timeout=60, output_hook=outputs.append)
                    return reply["content"], outputs

                apply("without-salaries", [admin, orders, query])
                # What the user may not see is never offered: not the table, not its columns, not its comment.
                assert complete("SELECT * FROM sales.ord") == ["sales.orders"], complete("SELECT * FROM sales.ord")
                assert complete("SELECT amou") == ["amount"], complete("SELECT amou")
                assert "hr.salaries" not in complete("SELECT * FROM hr."), complete("SELECT * FROM hr.")
                assert not any("hr" in m.lower() for m in complete("SELECT * FROM h")), complete("SELECT * FROM h")
                assert complete("SELECT salary_") == [], complete("SELECT salary_")
                assert complete("SELECT hr.salaries.") == [], complete("SELECT hr.salaries.")
                assert inspect("hr.salaries")["found"] is False, inspect("hr.salaries")
                assert inspect("salary_band")["found"] is False, inspect("salary_band")
                seen = inspect("sales.orders")
                assert seen["found"] and "customer" in seen["data"]["text/plain"], seen

                # A cell is a lakehouse.query request: audited with the kernel user's principal.
                before = len(queries_audited())
                content, _ = execute("SELECT count(*) AS n FROM sales.orders")
                assert content["status"] == "ok", content
                after = queries_audited()
                assert len(after) == before + 1, (before, after[-3:])
                assert after[-1]["decision"] == "allow" and after[-1]["resource"] == "lakehouse.query", after[-1]
                content, _ = execute("SELECT * FROM hr.salaries")
                assert content["status"] == "error" and "salaries" in content["evalue"], content

                # Without lakehouse:query the bus refuses the cell before the lakehouse sees it, and says so.
                apply("no-query", [admin, orders])
                content, _ = execute("SELECT count(*) FROM sales.orders")
                assert content["status"] == "error" and content["ename"] == "DeniedError", content
                denied = queries_audited()[-1]
                assert denied["decision"] == "deny", denied

                # The control: once the user may read hr.salaries, the kernel offers it and its columns.
                apply("with-salaries", [admin, orders, salaries, query])
                assert complete("SELECT * FROM hr.") == ["hr.salaries"], complete("SELECT * FROM hr.")
                assert complete("SELECT salary_") == ["salary_band"], complete("SELECT salary_")
                shown = inspect("hr.salaries")
                assert shown["found"] and "confidential pay bands" in shown["data"]["text/plain"], shown
                content, _ = execute("SELECT max(salary_band) FROM hr.salaries")
                assert content["status"] == "ok", content
            finally:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
            print("ok")
            """
        let run = try Command.run(
            [try Python.executable(), "-X", "utf8", "-c", script, WB.binary, s.home, me, s.dir], environment: environment, cwd: s.dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("ok"), "\(run.stdout)")
    }

    /// An interrupt_request, and SIGINT, stop a long query in `wb kernel sql` with a KeyboardInterrupt;
    /// the kernel stays up and runs the next cell.
    @Test func sqlKernelInterruptStopsALongQuery() throws {
        let s = Setup("sql-kernel-interrupt")
        let prefix = FilePath.join(s.dir, "prefix")
        #expect(try s.wb(["kernels", "install", "sql", "--prefix", prefix, "--home", s.home]).status == 0)
        var environment = ProcessInfo.processInfo.environment
        environment["JUPYTER_PATH"] = FilePath.join(prefix, "share/jupyter")
        environment["JUPYTER_RUNTIME_DIR"] = FilePath.join(s.dir, "runtime")
        environment["JUPYTER_DATA_DIR"] = FilePath.join(s.dir, "jupyter-data")
        environment["WB_HOME"] = s.home
        let script = """
            import os, signal, sys, time
            from jupyter_client.manager import start_new_kernel

            LONG = "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 9000000000000) SELECT x FROM c)"

            def cpu_seconds(pid):
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            def wait_for(condition, what, seconds=120):
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    if condition():
                        return
                    time.sleep(0.02)
                raise AssertionError(f"timed out waiting for {what}")

            km, kc = start_new_kernel(kernel_name="wb-sql", startup_timeout=120)
            pid = km.provisioner.process.pid
            try:
                for how in ["interrupt_request", "SIGINT"]:
                    msg_id = kc.execute(LONG)
                    # The cell has started once its execute_input is out; then its statement is running
                    # once the kernel has spent half a second of CPU on it.
                    while True:
                        msg = kc.get_iopub_msg(timeout=120)
                        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
                            break
                    start = cpu_seconds(pid)
                    wait_for(lambda: cpu_seconds(pid) > start + 0.5, "the query to run")
                    if how == "SIGINT":
                        os.kill(pid, signal.SIGINT)
                    else:
                        km.interrupt_kernel()
                    reply = kc.get_shell_msg(timeout=120)
                    assert reply["parent_header"]["msg_id"] == msg_id, reply
                    content = reply["content"]
                    assert content["status"] == "error" and content["ename"] == "KeyboardInterrupt", (how, content)
                    # Still usable: the next cell runs.
                    again = kc.execute_interactive("SELECT 1+2 AS three", timeout=120)
                    assert again["content"]["status"] == "ok", (how, again["content"])
                    assert km.is_alive(), how
            finally:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
            print("ok")
            """
        let run = try Command.run([try Python.executable(), "-X", "utf8", "-c", script], environment: environment, cwd: s.dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("ok"), "\(run.stdout)")
    }

    /// Writes a deterministic orders CSV of about `megabytes` MB (seeded, so every run is the same).
    static func generateOrders(_ path: String, megabytes: Int, seed: Int) throws {
        _ = try Python.run(
            """
            import random, sys
            path, target, seed = sys.argv[1], int(sys.argv[2]) * 1_000_000, int(sys.argv[3])
            rng = random.Random(seed)
            statuses = ["new", "paid", "shipped", "returned"]
            with open(path, "w", newline="") as f:
                f.write("order_id,customer_id,amount,status,note,ordered_at\\n")
                i, size, rows = 0, 0, []
                while size < target:
                    i += 1
                    row = f'{i},{rng.randint(1, 1_000_000)},{rng.randint(1, 10_000_000) / 100},{statuses[i % 4]},"note, {rng.random():.6f}",2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}\\n'
                    rows.append(row)
                    size += len(row)
                    if len(rows) == 10_000:
                        f.write("".join(rows))
                        rows = []
                f.write("".join(rows))
            """, arguments: [path, String(megabytes), String(seed)])
    }

    struct SpawnFailure: Error { var message: String }

    /// A child process started with posix_spawn, its output to files, reaped with wait4 for its peak RSS.
    final class Child {
        let pid: pid_t

        init(_ argv: [String], environment: [String: String], output: String) throws {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, output + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            posix_spawn_file_actions_addopen(&actions, 2, output + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let cArgs = argv.map { strdup($0) } + [nil]
            let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer {
                cArgs.forEach { free($0) }
                cEnv.forEach { free($0) }
            }
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
            guard rc == 0 else { throw SpawnFailure(message: "posix_spawn \(argv[0]): \(String(cString: strerror(rc)))") }
            self.pid = pid
        }

        /// Waits for the child; its exit status (or 128 + signal) and peak resident set in KiB.
        func wait() -> (status: Int32, maxRSSKiB: Int) {
            var status: Int32 = 0
            var usage = rusage()
            while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
            let low = status & 0x7f
            let code = low == 0 ? (status >> 8) & 0xff : 128 + low
            return (code, usage.ru_maxrss)
        }
    }

    static var childEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["WB_PYTHON_ENV"] = WB.pythonEnv
        return env
    }

    /// Importing a 200 MB file takes no more memory than a 20 MB one: the peak RSS of the two
    /// `wb import` processes differs by under 10 MB.
    @Test func importMemoryIsBoundedByBatchesNotByTheFile() throws {
        let s = Setup("bounded-memory")
        var environment = LakehouseIOTests.childEnvironment
        environment["WB_HOME"] = s.home
        var peaks: [Int] = []
        for (megabytes, table) in [(20, "small"), (200, "large")] {
            let csv = FilePath.join(s.dir, "\(table).csv")
            try LakehouseIOTests.generateOrders(csv, megabytes: megabytes, seed: 7)
            let child = try Child(
                [WB.binary, "import", csv, "--into", "bench.\(table)", "--json"], environment: environment,
                output: FilePath.join(s.dir, table))
            let (status, peak) = child.wait()
            #expect(status == 0, "\((try? FileIO.readText(FilePath.join(s.dir, table) + ".err")) ?? "")")
            let summary = try JSON.parse(try FileIO.readText(FilePath.join(s.dir, table) + ".out"))
            #expect((summary["rows_imported"]?.intValue ?? 0) > megabytes * 10_000)
            peaks.append(peak)
            unlink(csv)
        }
        let difference = abs(peaks[1] - peaks[0])
        #expect(difference < 10 * 1024, "peak RSS: 20 MB file \(peaks[0]) KiB, 200 MB file \(peaks[1]) KiB")
    }

    /// A `wb import` killed with SIGKILL halfway leaves the table exactly as it was, and the lakehouse usable.
    @Test func importKilledMidwayLeavesTheTableAsBefore() async throws {
        let s = Setup("killed-import")
        let first = try s.file("first.csv", "order_id,customer_id,amount,status,note,ordered_at\n1,10,2.5,new,first,2024-01-01\n2,11,3.5,paid,second,2024-01-02\n")
        #expect(try s.wb(["import", first, "--into", "sales.orders"]).status == 0)
        let before = FilePath.join(s.dir, "before.csv")
        #expect(try s.wb(["export", "sales.orders", "--to", before]).status == 0)

        let big = FilePath.join(s.dir, "big.csv")
        try LakehouseIOTests.generateOrders(big, megabytes: 60, seed: 11)
        var environment = LakehouseIOTests.childEnvironment
        environment["WB_HOME"] = s.home
        let wal = FilePath.join(s.home, "catalog.db-wal")
        func walSize() -> Int64 {
            var info = stat()
            return stat(wal, &info) == 0 ? Int64(info.st_size) : 0
        }
        let walBefore = walSize()
        let child = try Child(
            [WB.binary, "import", big, "--into", "sales.orders"], environment: environment, output: FilePath.join(s.dir, "import"))
        // Rows are being written once the transaction spills pages into the write-ahead log.
        let writing = await poll(300) { walSize() > walBefore + 8_000_000 }
        kill(child.pid, SIGKILL)
        let (status, _) = child.wait()
        #expect(writing, "the import never started writing: \((try? FileIO.readText(FilePath.join(s.dir, "import.err"))) ?? "")")
        #expect(status == 128 + SIGKILL, "the import ended by itself before it was killed (status \(status))")

        let after = FilePath.join(s.dir, "after.csv")
        let exported = try s.wb(["export", "sales.orders", "--to", after])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(try FileIO.read(after) == FileIO.read(before))
        let count = try s.wb(["sql", "SELECT count(*) AS n FROM sales.orders", "--format", "csv"])
        #expect(count.stdout.contains("2"), "\(count.stdout) \(count.stderr)")
        // The lakehouse is not left locked or damaged: the next import commits.
        let again = try s.wb(["import", first, "--into", "sales.orders", "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try JSON.parse(again.stdout)["rows_imported"] == 2)
    }
}
