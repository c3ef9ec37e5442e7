#!/usr/bin/env python3
"""Lakehouse query benchmark: the same data and queries through `wb sql`'s gate, raw SQLite
(default and tuned the same way as wb) and DuckDB, timed in-process, medians.

Run by Benchmarks/lakehouse (which builds wb and makes the venv); see Docs/performance.md.
"""
import argparse, csv, json, os, random, sqlite3, statistics, subprocess, sys, time

STATUSES = ["pending", "paid", "shipped", "delivered", "returned"]
REGIONS = ["north", "south", "east", "west", "central"]
COUNTRIES = ["DE", "FR", "ES", "IT", "NL", "PL", "SE", "PT", "AT", "BE", "US", "JP"]
WORDS = ["red", "blue", "green", "fast", "gift", "bulk", "fragile", "express", "promo", "repeat"]

# (name, SQL with {o} for orders and {c} for customers)
QUERIES = [
    ("count", "SELECT count(*) FROM {o}"),
    ("group-by", "SELECT status, count(*), sum(amount) FROM {o} GROUP BY status"),
    ("filtered group-by, top 10", "SELECT customer_id, sum(amount) AS s FROM {o} WHERE status = 'shipped' GROUP BY customer_id ORDER BY s DESC LIMIT 10"),
    ("point lookup", "SELECT * FROM {o} WHERE id = 424242"),
    ("LIKE scan", "SELECT count(*) FROM {o} WHERE note LIKE '%express%'"),
    ("join + group-by", "SELECT c.country, count(*), sum(o.amount) FROM {o} o JOIN {c} c ON c.id = o.customer_id GROUP BY c.country"),
    ("top-N", "SELECT id, amount FROM {o} ORDER BY amount DESC LIMIT 10"),
    ("two-key group-by", "SELECT status, region, count(*) FROM {o} GROUP BY status, region"),
    ("date-part group-by", "SELECT substr(order_date, 1, 7) AS month, count(*), sum(amount) FROM {o} GROUP BY month"),
    ("distinct count", "SELECT count(DISTINCT customer_id) FROM {o}"),
]

ORDERS_DDL = """CREATE TABLE {o} (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, order_date TEXT NOT NULL,
    status TEXT NOT NULL, region TEXT NOT NULL, quantity INTEGER NOT NULL, amount REAL NOT NULL, note TEXT)"""
CUSTOMERS_DDL = "CREATE TABLE {c} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL, segment TEXT NOT NULL)"


def orders(rows, customers):
    rnd = random.Random(42)
    for i in range(1, rows + 1):
        day = rnd.randrange(0, 3 * 365)
        yield (i, rnd.randrange(1, customers + 1), "%04d-%02d-%02d" % (2023 + day // 365, 1 + (day % 365) // 31 % 12, 1 + day % 28),
               rnd.choice(STATUSES), rnd.choice(REGIONS), rnd.randrange(1, 20), round(rnd.uniform(1, 500), 2),
               " ".join(rnd.sample(WORDS, 3)))


def customers(count):
    rnd = random.Random(7)
    for i in range(1, count + 1):
        yield (i, "customer %d" % i, rnd.choice(COUNTRIES), rnd.choice(["consumer", "business", "public"]))


def generate(work, rows):
    """The raw SQLite file and the two CSV files (for DuckDB), from the same rows."""
    n_customers = max(10, rows // 10)
    raw = os.path.join(work, "raw.db")
    con = sqlite3.connect(raw)
    con.execute(ORDERS_DDL.format(o="orders"))
    con.execute(CUSTOMERS_DDL.format(c="customers"))
    with open(os.path.join(work, "orders.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "customer_id", "order_date", "status", "region", "quantity", "amount", "note"])
        batch = []
        for row in orders(rows, n_customers):
            w.writerow(row)
            batch.append(row)
            if len(batch) == 50000:
                con.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?)", batch)
                batch = []
        con.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?)", batch)
    with open(os.path.join(work, "customers.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "country", "segment"])
        rows_c = list(customers(n_customers))
        w.writerows(rows_c)
        con.executemany("INSERT INTO customers VALUES (?,?,?,?)", rows_c)
    con.commit()
    con.close()
    return raw


# Queries that take microseconds: a median of 3 runs right after a scan of the whole table says more about
# the caches the scan left than about the query, so these run POINT_REPEAT times on every side.
FAST = {"point lookup"}
POINT_REPEAT = 300


def repeats(name, repeat):
    return max(repeat, POINT_REPEAT) if name in FAST else repeat


def median_ms(run, repeat):
    """Median wall and process CPU time (ms) of `repeat` runs after one warm-up."""
    run()  # warm-up: the page cache and the OS cache
    samples, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        run()
        samples.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(samples), statistics.median(cpu)


def time_sqlite(path, repeat, pragmas):
    con = sqlite3.connect(path)
    for p in pragmas:
        con.execute(p)
    out, cpu = [], []
    for name, sql in QUERIES:
        q = sql.format(o="orders", c="customers")
        wall, c = median_ms(lambda: con.execute(q).fetchall(), repeats(name, repeat))
        out.append(wall)
        cpu.append(c)
    con.close()
    return out, cpu


def time_duckdb(work, repeat):
    import duckdb
    con = duckdb.connect(os.path.join(work, "bench.duckdb"))
    con.execute("""CREATE OR REPLACE TABLE orders AS SELECT * FROM read_csv(?, header=true, columns={'id': 'BIGINT',
        'customer_id': 'BIGINT', 'order_date': 'VARCHAR', 'status': 'VARCHAR', 'region': 'VARCHAR', 'quantity': 'BIGINT',
        'amount': 'DOUBLE', 'note': 'VARCHAR'})""", [os.path.join(work, "orders.csv")])
    con.execute("CREATE OR REPLACE TABLE customers AS SELECT * FROM read_csv(?, header=true)", [os.path.join(work, "customers.csv")])
    out = []
    for name, sql in QUERIES:
        q = sql.format(o="orders", c="customers")
        out.append(median_ms(lambda: con.execute(q).fetchall(), repeats(name, repeat))[0])
    return out, duckdb.__version__


def wb(binary, home, *args):
    r = subprocess.run([binary, *args, "--home", home], capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        sys.exit("wb %s failed (%d): %s" % (" ".join(args[:2]), r.returncode, r.stderr))
    return r.stdout


def load_wb(binary, home, raw):
    """The same rows in lakehouse tables (same types and keys), copied from the raw file registered as a source."""
    wb(binary, home, "catalog", "register-sqlite", "raw", raw)
    wb(binary, home, "sql", ORDERS_DDL.format(o="bench.orders") + "; " + CUSTOMERS_DDL.format(c="bench.customers")
       + "; INSERT INTO bench.orders SELECT * FROM raw.orders; INSERT INTO bench.customers SELECT * FROM raw.customers")
    wb(binary, home, "sql", "DROP DATABASE raw")


def time_wb(binary, home, repeat, cache, mmap, threads, temp_store):
    def run(names, n):
        queries = [sql.format(o="bench.orders", c="bench.customers") for name, sql in QUERIES if name in names]
        out = json.loads(wb(binary, home, "bench", "query", "--repeat", str(n), "--cache-mib", str(cache), "--mmap-mib", str(mmap),
                            "--threads", str(threads), "--temp-store", temp_store, *queries))
        return dict(zip(names, out["queries"]))
    slow = [name for name, _ in QUERIES if name not in FAST]
    results = run(slow, repeat)
    results.update(run([name for name, _ in QUERIES if name in FAST], repeats(next(iter(FAST)), repeat)))
    return [results[name]["median_ms"] for name, _ in QUERIES], [results[name]["median_cpu_ms"] for name, _ in QUERIES]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wb", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-duckdb", action="store_true")
    a = ap.parse_args()
    t = time.perf_counter()
    raw = generate(a.work, a.rows)
    print("generated %d orders in %.1f s" % (a.rows, time.perf_counter() - t), file=sys.stderr)
    home = os.path.join(a.work, "wb-home")
    t = time.perf_counter()
    load_wb(a.wb, home, raw)
    print("loaded them into the lakehouse in %.1f s" % (time.perf_counter() - t), file=sys.stderr)

    # wb's SQLiteEngine.Tuning.standard: SQLite's default page cache, a 1 GiB memory map, 2 sorter threads.
    tuned = ["PRAGMA mmap_size = 1073741824", "PRAGMA threads = 2"]
    columns, cpu = {}, {}
    columns["raw SQLite, defaults"], cpu["raw defaults"] = time_sqlite(raw, a.repeat, [])
    columns["raw SQLite, tuned like wb"], cpu["raw tuned"] = time_sqlite(raw, a.repeat, tuned)
    columns["wb, SQLite defaults"], cpu["wb defaults"] = time_wb(a.wb, home, a.repeat, 2, 0, 0, "file")
    columns["wb (standard tuning)"], cpu["wb tuned"] = time_wb(a.wb, home, a.repeat, 2, 1024, 2, "file")
    duck_version = None
    if not a.no_duckdb:
        columns["DuckDB"], duck_version = time_duckdb(a.work, a.repeat)

    names = list(columns)
    wbc, rawd, rawt = columns[names[3]], columns[names[0]], columns[names[1]]
    print("\n| query | " + " | ".join(names) + " | wb / raw tuned | wb / raw defaults |" + (" DuckDB / wb |" if duck_version else ""))
    print("|---" * (len(names) + 3 + (1 if duck_version else 0)) + "|")
    for i, (name, _) in enumerate(QUERIES):
        cells = [("%.1f" if columns[n][i] >= 10 else "%.3g") % columns[n][i] for n in names]
        line = "| %s | %s | %.2fx | %.2fx |" % (name, " | ".join(cells), wbc[i] / rawt[i], wbc[i] / rawd[i])
        if duck_version:
            line += " %.3fx |" % (columns["DuckDB"][i] / wbc[i])
        print(line)
    # Process CPU time (every thread of the process; for wb, its background audit writer too) moves less than
    # wall time when other processes share the machine's cores.
    print("\nCPU time, median (ms): | query | raw defaults | raw tuned | wb defaults | wb tuned | wb / raw tuned | wb / raw defaults |")
    for i, (name, _) in enumerate(QUERIES):
        c = [cpu[k][i] for k in ("raw defaults", "raw tuned", "wb defaults", "wb tuned")]
        ratio = lambda x, y: "%.2fx" % (x / y) if y > 0 else "-"
        print("| %s | %s | %s | %s |" % (name, " | ".join(("%.1f" if v >= 10 else "%.3g") % v for v in c), ratio(c[3], c[1]), ratio(c[3], c[0])))
    result = {"rows": a.rows, "repeat": a.repeat, "point_repeat": POINT_REPEAT, "sqlite": sqlite3.sqlite_version, "duckdb": duck_version,
              "queries": [q for q, _ in QUERIES], "median_ms": columns, "median_cpu_ms": cpu, "load": os.getloadavg()}
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    with open(os.path.join(os.path.dirname(__file__), "results", "lakehouse-latest.json"), "w") as f:
        json.dump(result, f, indent=2)
    print("\nSQLite %s, DuckDB %s, %d rows, median of %d after one warm-up (point lookup: %d); load average %s"
          % (sqlite3.sqlite_version, duck_version, a.rows, a.repeat, max(a.repeat, POINT_REPEAT), " ".join("%.2f" % x for x in os.getloadavg())))


if __name__ == "__main__":
    main()
