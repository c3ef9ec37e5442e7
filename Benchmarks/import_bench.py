"""Import figure of issue 4: `wb import` against `sqlite3 .import` into a typed table and DuckDB's read_csv.

Run by Benchmarks/import on the bench venv (which pins duckdb). Generates the data with a
fixed seed, runs every tool on the same files in the same run (fresh target each time),
and prints a table plus a JSON report.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

ORDERS_COLUMNS = "order_id INTEGER, customer_id INTEGER, amount REAL, status TEXT, ordered_at DATE, product TEXT"
CUSTOMERS_COLUMNS = "customer_id INTEGER, name TEXT, city TEXT, signup DATE, score REAL"
STATUSES = ["new", "paid", "shipped", "returned", "cancelled"]
CITIES = ["Lisbon", "Oslo", "Austin", "Kyoto", "Lagos", "Lima", "Pune", "Graz"]


def generate(path, rows, kind, seed):
    rng = random.Random(seed)
    with open(path, "w", newline="") as f:
        if kind == "orders":
            f.write("order_id,customer_id,amount,status,ordered_at,product\n")
        else:
            f.write("customer_id,name,city,signup,score\n")
        buf = []
        for i in range(1, rows + 1):
            if kind == "orders":
                buf.append(
                    f"{i},{rng.randint(1, max(1, rows // 10))},{rng.randint(100, 1_000_000) / 100},"
                    f"{STATUSES[rng.randrange(5)]},2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
                    f"sku-{rng.randint(1, 99999):05d} {'gift' if i % 7 == 0 else 'std'}\n")
            else:
                buf.append(
                    f"{i},customer {i},{CITIES[rng.randrange(8)]},20{rng.randint(10, 24)}-{rng.randint(1, 12):02d}-"
                    f"{rng.randint(1, 28):02d},{rng.random() * 100:.3f}\n")
            if len(buf) >= 20_000:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))


def timed(argv, env=None):
    start = time.perf_counter()
    pid = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(pid.pid, 0)
    elapsed = time.perf_counter() - start
    err = pid.stderr.read().decode(errors="replace")
    pid.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[0]} failed ({status}): {err[-2000:]}")
    return elapsed, usage.ru_maxrss


def run_sqlite3(work, csv, table, columns):
    db = os.path.join(work, f"sqlite3-{table}.db")
    if os.path.exists(db):
        os.remove(db)
    script = f"CREATE TABLE {table} ({columns});\n.import --csv --skip 1 {csv} {table}\n"
    script_path = os.path.join(work, f"sqlite3-{table}.sql")
    with open(script_path, "w") as f:
        f.write(script)
    seconds, rss = timed(["sqlite3", db, f".read {script_path}"])
    rows = int(subprocess.check_output(["sqlite3", db, f"SELECT count(*) FROM {table}"]).strip())
    return seconds, rss, rows


def run_wb(wb, work, csv, table):
    home = os.path.join(work, f"wb-home-{table}")
    shutil.rmtree(home, ignore_errors=True)
    env = dict(os.environ, WB_HOME=home)
    seconds, rss = timed([wb, "import", csv, "--into", f"bench.{table}"], env=env)
    out = subprocess.check_output([wb, "sql", f"SELECT count(*) AS n FROM bench.{table}", "--format", "csv"], env=env)
    rows = int(out.decode().strip().splitlines()[-1])
    return seconds, rss, rows


DUCKDB_SCRIPT = """
import sys, time, duckdb
db, csv, table = sys.argv[1:4]
start = time.perf_counter()
con = duckdb.connect(db)
con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{csv}')")
con.close()
print(time.perf_counter() - start)
print(duckdb.connect(db, read_only=True).execute(f"SELECT count(*) FROM {table}").fetchone()[0])
"""


def run_duckdb(work, csv, table):
    """DuckDB in its own process (so it never inflates this one, whose forks the other tools' RSS would count)."""
    db = os.path.join(work, f"duck-{table}.duckdb")
    if os.path.exists(db):
        os.remove(db)
    start = time.perf_counter()
    pid = subprocess.Popen([sys.executable, "-c", DUCKDB_SCRIPT, db, csv, table], stdout=subprocess.PIPE)
    out, _ = pid.communicate()
    if pid.returncode != 0:
        raise RuntimeError("duckdb failed")
    seconds, rows = out.decode().split()[-2:]
    return float(seconds), None, int(rows)


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wb", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--results", required=True)
    args = parser.parse_args()

    datasets = [("orders", args.rows, ORDERS_COLUMNS), ("customers", max(1, args.rows // 10), CUSTOMERS_COLUMNS)]
    report = {"rows": args.rows, "repeat": args.repeat, "load_before": os.getloadavg()[0], "results": []}
    for table, rows, columns in datasets:
        csv = os.path.join(args.work, f"{table}.csv")
        t0 = time.perf_counter()
        generate(csv, rows, table, seed=4)
        size = os.path.getsize(csv)
        print(f"generated {table}.csv: {rows:,} rows, {size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        runs = {"sqlite3 .import": [], "wb import": [], "duckdb read_csv": []}
        rss = {}
        counts = {}
        for _ in range(args.repeat):
            for name, fn in [
                ("sqlite3 .import", lambda: run_sqlite3(args.work, csv, table, columns)),
                ("wb import", lambda: run_wb(args.wb, args.work, csv, table)),
                ("duckdb read_csv", lambda: run_duckdb(args.work, csv, table)),
            ]:
                seconds, peak, count = fn()
                runs[name].append(seconds)
                if peak:
                    rss[name] = max(rss.get(name, 0), peak)
                counts[name] = count
        for name, samples in runs.items():
            seconds = median(samples)
            report["results"].append({
                "table": table, "tool": name, "rows": counts[name], "bytes": size, "seconds": seconds,
                "mb_per_s": size / 1e6 / seconds, "peak_rss_kib": rss.get(name),
            })
        os.remove(csv)
    report["load_after"] = os.getloadavg()[0]
    print(f"{'table':<10} {'tool':<16} {'rows':>11} {'seconds':>8} {'MB/s':>7} {'peak RSS':>9}")
    for r in report["results"]:
        peak = f"{r['peak_rss_kib'] / 1024:.0f} MiB" if r["peak_rss_kib"] else "-"
        print(f"{r['table']:<10} {r['tool']:<16} {r['rows']:>11,} {r['seconds']:>8.2f} {r['mb_per_s']:>7.1f} {peak:>9}")
    for table, _, _ in datasets:
        by = {r["tool"]: r["seconds"] for r in report["results"] if r["table"] == table}
        print(f"{table}: wb import is {by['sqlite3 .import'] / by['wb import']:.2f}x as fast as sqlite3 .import; "
              f"DuckDB read_csv is {by['wb import'] / by['duckdb read_csv']:.2f}x as fast as wb import")
    print(f"load average: {report['load_before']:.2f} before, {report['load_after']:.2f} after")
    os.makedirs(args.results, exist_ok=True)
    with open(os.path.join(args.results, "import-latest.json"), "w") as f:
        json.dump(report, f, indent=1)
    for r in report["results"]:
        if r["rows"] != (args.rows if r["table"] == "orders" else max(1, args.rows // 10)):
            print(f"row count mismatch: {r}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
