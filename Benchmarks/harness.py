#!/usr/bin/env python3
"""Runs the three benchmark figures, Workbench against its peers, and reports them.

Called by Benchmarks/run (which sets up the environments, builds wb and prepares
the work directory); not meant to be run by hand. Uses only the standard library
plus nbformat (to check the executed notebooks), so it runs on the bench venv.
"""

import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")

problems = []  # every failure, reported at the end; the run exits non-zero if any


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def problem(msg):
    problems.append(msg)
    log(f"bench: PROBLEM: {msg}")


class Failed(Exception):
    pass


def run(argv, env, timeout, cwd=None):
    """Runs argv in its own process group; returns (wall seconds, stdout). Raises Failed."""
    t0 = time.perf_counter()
    env = dict(env, BENCH_T0_NS=str(time.time_ns()))
    try:
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, text=True,
        )
    except OSError as e:
        raise Failed(f"cannot start {argv[0]}: {e}") from e
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise Failed(f"timed out after {timeout} s: {' '.join(argv)}")
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((err or out).strip().splitlines()[-15:])
        raise Failed(f"exit status {proc.returncode}: {' '.join(argv)}\n{tail}")
    return wall, out


def last_json(text, what):
    """The JSON object that ends the output, on one line or pretty-printed over several."""
    lines = text.strip().splitlines()
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].lstrip().startswith("{"):
            try:
                value = json.loads("\n".join(lines[i:]))
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    raise Failed(f"{what} printed no JSON object; its output ended with: {text.strip()[-300:]!r}")


def median(xs):
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return round(a / b, 3) if a is not None and b not in (None, 0) else None


def fmt(x, unit="", digits=2):
    return "-" if x is None else f"{x:.{digits}f}{unit}"


# ---------------------------------------------------------------- machine


def machine_info():
    info = {"nproc": os.cpu_count(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["memory_mb"] = int(line.split()[1]) // 1024
                    break
    except OSError:
        pass
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    info["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    info["loadavg_start"] = list(os.getloadavg())
    return info


# ---------------------------------------------------------------- notebooks


def check_executed(path, cells):
    """The output notebook is valid nbformat and every code cell ran without error."""
    import nbformat

    if not os.path.isfile(path):
        raise Failed(f"no output notebook at {path}")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if len(code) != cells:
        raise Failed(f"{path}: {len(code)} code cells, expected {cells}")
    not_run = sum(1 for c in code if c.get("execution_count") is None)
    errors = sum(1 for c in code for o in c.get("outputs", []) if o.get("output_type") == "error")
    if not_run or errors:
        raise Failed(f"{path}: {not_run} cells without execution_count, {errors} error outputs")
    # Cell 1 prints "1"; cell 2 evaluates x + 2 = 2.
    if cells > 2:
        out1 = "".join(o.get("text", "") for o in code[1].outputs if o.output_type == "stream")
        out2 = [o for o in code[2].outputs if o.output_type == "execute_result"]
        if out1.strip() != "1" or not out2 or out2[0].data.get("text/plain") != "2":
            raise Failed(f"{path}: wrong outputs in cells 1-2 ({out1!r}, {out2!r})")


# ---------------------------------------------------------------- figures


def figure_roundtrip(a, env):
    log(f"bench: (1) round-trip of 1+1, {a.count} times after {a.warmup} warm-up")
    res = {"count": a.count, "warmup": a.warmup}
    peer_argv = [os.path.join(a.bench_venv, "bin", "python"), os.path.join(PEERS, "roundtrip_jupyter_client.py"),
                 "--count", str(a.count), "--warmup", str(a.warmup), "--kernel", "python3", "--json"]
    try:
        wall, out = run(peer_argv, env, a.timeout)
        res["jupyter_client"] = dict(last_json(out, "roundtrip_jupyter_client.py"), wall_s=round(wall, 3))
    except Failed as e:
        problem(f"round-trip, jupyter_client: {e}")
    if a.wb:
        wb_argv = [a.wb, "bench", "roundtrip", "--count", str(a.count), "--warmup", str(a.warmup),
                   "--kernel", "python3", "--json"]
        try:
            wall, out = run(wb_argv, env, a.timeout)
            res["wb"] = dict(last_json(out, "wb bench roundtrip"), wall_s=round(wall, 3))
        except Failed as e:
            problem(f"round-trip, wb: {e}")
        # wb's default for ipykernel is Unix sockets; TCP too, the transport jupyter_client uses.
        try:
            wall, out = run(wb_argv + ["--transport", "tcp"], env, a.timeout)
            res["wb (tcp)"] = dict(last_json(out, "wb bench roundtrip --transport tcp"), wall_s=round(wall, 3))
        except Failed as e:
            problem(f"round-trip, wb over tcp: {e}")
    w, p = res.get("wb"), res.get("jupyter_client")
    if w and p:
        res["ratio_median"] = ratio(w.get("median_ms"), p.get("median_ms"))
        res["ratio_p99"] = ratio(w.get("p99_ms"), p.get("p99_ms"))
        res["ratio_min"] = ratio(w.get("min_ms"), p.get("min_ms"))
    t = res.get("wb (tcp)")
    if t and p:
        res["ratio_median_tcp"] = ratio(t.get("median_ms"), p.get("median_ms"))
    return res


def notebook_tools(a):
    jx = os.path.join(a.bench_venv, "bin", "jupyter")
    pm = os.path.join(a.bench_venv, "bin", "papermill")
    tools = []
    if a.wb:
        tools.append(("wb run", lambda nb, out: [a.wb, "run", nb, "-o", out]))
    # nbclient's --output is a base name relative to the input notebook's folder.
    tools.append(("jupyter execute", lambda nb, out: [
        jx, "execute", nb, "--output=" + os.path.splitext(os.path.basename(out))[0], "--kernel_name=python3"]))
    tools.append(("papermill", lambda nb, out: [pm, nb, out, "-k", "python3"]))
    tools.append(("papermill no-save", lambda nb, out: [
        pm, nb, out, "-k", "python3", "--no-request-save-on-cell-execute"]))
    return tools


def figure_notebooks(a, env, notebooks):
    log(f"bench: (2) whole-process wall time, {a.repeat} runs each, sizes {a.sizes}")
    tools = notebook_tools(a)
    res = {"repeat": a.repeat, "sizes": {}}
    for n in a.sizes:
        nb = os.path.abspath(notebooks[str(n)])
        runs = {name: [] for name, _ in tools}
        # Round-robin over the tools so slow drift in the machine's load hits all of them alike.
        for r in range(a.repeat):
            for name, make in tools:
                out = os.path.join(a.work, f"out-{n}-{name.replace(' ', '_')}-{r}.ipynb")
                try:
                    wall, _ = run(make(nb, out), env, a.timeout, cwd=a.work)
                    check_executed(out, n)
                    runs[name].append(round(wall, 4))
                    log(f"bench:   {n:>4} cells  {name:<18} {wall:7.3f} s")
                except Failed as e:
                    problem(f"{n}-cell notebook, {name}: {e}")
                finally:
                    if os.path.exists(out):
                        os.remove(out)
        size = {name: {"runs_s": xs, "median_s": median(xs)} for name, xs in runs.items()}
        w = size.get("wb run", {}).get("median_s")
        for name in runs:
            if name != "wb run":
                size[name]["ratio_wb"] = ratio(w, size[name]["median_s"])
        res["sizes"][str(n)] = size
    # Marginal cost of a cell: the slope between the smallest and largest notebooks,
    # i.e. the time per cell once the kernel is up (start-up and save-at-end cancel out).
    if len(a.sizes) >= 2:
        lo, hi = min(a.sizes), max(a.sizes)
        res["per_cell_ms"] = {}
        for name, _ in tools:
            t_lo = res["sizes"][str(lo)][name]["median_s"]
            t_hi = res["sizes"][str(hi)][name]["median_s"]
            if t_lo is not None and t_hi is not None:
                res["per_cell_ms"][name] = round((t_hi - t_lo) * 1000.0 / (hi - lo), 3)
    return res


def figure_startup(a, env):
    log(f"bench: (3) start to kernel ready, and client RSS, {a.startup_repeat} runs each")
    res = {"repeat": a.startup_repeat}
    specs = [("jupyter_client", [os.path.join(a.bench_venv, "bin", "python"),
                                 os.path.join(PEERS, "startup_jupyter_client.py"), "--kernel", "python3", "--json"])]
    if a.wb:
        specs.append(("wb", [a.wb, "bench", "startup", "--kernel", "python3", "--json"]))
    samples = {name: [] for name, _ in specs}
    for _ in range(a.startup_repeat):
        for name, argv in specs:
            try:
                wall, out = run(argv, env, a.timeout)
                sample = dict(last_json(out, " ".join(argv[:3])), wall_s=round(wall, 4))
                if sample.get("first_cell_ok") is False:
                    raise Failed("the first cell (1+1) did not run ok")
                samples[name].append(sample)
            except Failed as e:
                problem(f"start-up, {name}: {e}")
    for name, xs in samples.items():
        if not xs:
            continue
        entry = {"runs": xs}
        for key in ("ready_ms", "process_ready_ms", "rss_kb", "peak_rss_kb", "wall_s"):
            vals = [x[key] for x in xs if isinstance(x.get(key), (int, float))]
            if vals:
                entry[key] = median(vals)
        res[name] = entry
    w, p = res.get("wb"), res.get("jupyter_client")
    if w and p:
        # wb's ready_ms counts from its own process start: compare with the peer's the same way.
        res["ratio_ready"] = ratio(w.get("ready_ms"), p.get("process_ready_ms"))
        res["ratio_ready_vs_start_kernel"] = ratio(w.get("ready_ms"), p.get("ready_ms"))
        res["ratio_rss"] = ratio(w.get("rss_kb"), p.get("rss_kb"))
        res["ratio_peak_rss"] = ratio(w.get("peak_rss_kb"), p.get("peak_rss_kb"))
    return res


# ---------------------------------------------------------------- report


def print_report(r):
    m = r["machine"]
    p = print
    p("")
    p("Workbench benchmark  " + r["started"])
    p(f"machine: {m.get('nproc')} CPUs, {m.get('cpu', '?')}, {m.get('memory_mb', '?')} MB RAM, {m.get('os', '?')}")
    busy = m["loadavg_start"][0] > 0.5 or m["loadavg_end"][0] > (m.get("nproc") or 1) + 0.5
    p(f"load average at start {m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f}"
      + ("  (BUSY MACHINE: other processes competed; these numbers are noisy)" if busy else ""))
    p(f"kernel: ipykernel {r['kernel']['ipykernel']} on Python {r['kernel']['python']} ({r['kernel']['argv'][0]})")
    p(f"wb: {r.get('wb_binary') or 'not run (--peers-only)'}")

    rt = r["figures"].get("roundtrip")
    if rt:
        p("")
        p(f"(1) execute round-trip of 1+1, {rt['count']} after {rt['warmup']} warm-up (ms)")
        p(f"    {'client':<24}{'median':>9}{'p99':>9}{'min':>9}{'kernel busy':>13}  transport")
        for name in ("jupyter_client", "wb", "wb (tcp)"):
            x = rt.get(name)
            if x:
                p(f"    {name:<24}{fmt(x.get('median_ms')):>9}{fmt(x.get('p99_ms')):>9}{fmt(x.get('min_ms')):>9}"
                  f"{fmt(x.get('kernel_busy_median_ms')):>13}  {x.get('transport', '?')}")
        if "ratio_median" in rt:
            p(f"    {'wb / jupyter_client':<24}{fmt(rt['ratio_median'], 'x'):>9}{fmt(rt['ratio_p99'], 'x'):>9}"
              f"{fmt(rt['ratio_min'], 'x'):>9}")
        if "ratio_median_tcp" in rt:
            p(f"    {'wb (tcp) / jupyter_client':<24}{fmt(rt['ratio_median_tcp'], 'x'):>9}")
        p("    kernel busy = median of the kernel's own time from its busy to its idle broadcast (its clock);")
        p("    the rest of a round-trip is the client and the transport")

    nbs = r["figures"].get("notebooks")
    if nbs:
        sizes = list(nbs["sizes"].keys())
        p("")
        p(f"(2) run a notebook, whole-process wall time, median of {nbs['repeat']} (s; ratio = wb / tool)")
        head = f"    {'tool':<20}" + "".join(f"{s + ' cells':>12}{'ratio':>8}" for s in sizes)
        if "per_cell_ms" in nbs:
            head += f"{'ms/cell':>10}"
        p(head)
        for name in nbs["sizes"][sizes[0]]:
            line = f"    {name:<20}"
            for s in sizes:
                x = nbs["sizes"][s][name]
                line += f"{fmt(x['median_s'], '', 3):>12}{fmt(x.get('ratio_wb'), 'x') if name != 'wb run' else '':>8}"
            if "per_cell_ms" in nbs:
                line += f"{fmt(nbs['per_cell_ms'].get(name)):>10}"
            p(line)
        if "per_cell_ms" in nbs:
            p(f"    ms/cell = (t{max(map(int, sizes))} - t{min(map(int, sizes))}) / "
              f"{max(map(int, sizes)) - min(map(int, sizes))}: time per cell once the kernel is up")

    st = r["figures"].get("startup")
    if st:
        p("")
        p(f"(3) start to kernel ready, client memory, median of {st['repeat']}")
        p(f"    {'client':<42}{'ready ms':>10}{'RSS MB':>9}{'peak MB':>9}")

        def mb(x, key):
            return fmt(x[key] / 1024 if isinstance(x.get(key), (int, float)) else None, "", 1)

        jc = st.get("jupyter_client")
        if jc:
            p(f"    {'jupyter_client, process start -> ready':<42}{fmt(jc.get('process_ready_ms'), '', 1):>10}"
              f"{mb(jc, 'rss_kb'):>9}{mb(jc, 'peak_rss_kb'):>9}")
            p(f"    {'jupyter_client, start_kernel -> ready':<42}{fmt(jc.get('ready_ms'), '', 1):>10}")
        w = st.get("wb")
        if w:
            p(f"    {'wb bench startup, process start -> ready':<42}{fmt(w.get('ready_ms'), '', 1):>10}"
              f"{mb(w, 'rss_kb'):>9}{mb(w, 'peak_rss_kb'):>9}")
        if "ratio_ready" in st:
            p(f"    {'wb / jupyter_client':<42}{fmt(st['ratio_ready'], 'x'):>10}{fmt(st['ratio_rss'], 'x'):>9}"
              f"{fmt(st['ratio_peak_rss'], 'x'):>9}")
        p("    RSS = client's resident memory when the kernel is ready; peak = after the first cell; kernel not counted")
    p("")
    p(f"took {r['duration_s']:.0f} s; results in {r['results_file']}")
    if problems:
        p(f"{len(problems)} problem(s):")
        for x in problems:
            p("  - " + x.splitlines()[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wb", default="", help="wb binary; empty to run the peers only")
    ap.add_argument("--bench-venv", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--prepared", required=True, help="JSON printed by prepare.py")
    ap.add_argument("--results", required=True, help="folder for latest.json")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--startup-repeat", type=int, default=3)
    ap.add_argument("--sizes", default="50,200")
    ap.add_argument("--only", default="roundtrip,notebooks,startup", help="figures to run")
    ap.add_argument("--timeout", type=int, default=300, help="seconds allowed to any one command")
    a = ap.parse_args()
    a.sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    a.work = os.path.abspath(a.work)
    a.results = os.path.abspath(a.results)
    if a.wb:
        a.wb = os.path.abspath(a.wb)
    only = {s.strip() for s in a.only.split(",") if s.strip()}
    unknown = only - {"roundtrip", "notebooks", "startup"}
    if unknown:
        ap.error(f"unknown figure(s) in --only: {', '.join(sorted(unknown))}")

    with open(a.prepared) as f:
        prepared = json.load(f)
    t_start = time.perf_counter()
    report = {
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "kernel": {"ipykernel": prepared["ipykernel"], "python": prepared["python"], "argv": prepared["kernel_argv"]},
        "wb_binary": a.wb or None,
        "figures": {},
    }
    if report["machine"]["loadavg_start"][0] > 0.5:
        log(f"bench: note: load average is {report['machine']['loadavg_start'][0]:.2f}; "
            "another busy process on this machine makes the numbers noisy")
    env = dict(os.environ)
    if "startup" in only:
        report["figures"]["startup"] = figure_startup(a, env)
    if "roundtrip" in only:
        report["figures"]["roundtrip"] = figure_roundtrip(a, env)
    if "notebooks" in only:
        report["figures"]["notebooks"] = figure_notebooks(a, env, prepared["notebooks"])
    report["machine"]["loadavg_end"] = list(os.getloadavg())
    report["duration_s"] = round(time.perf_counter() - t_start, 1)
    report["problems"] = problems

    os.makedirs(a.results, exist_ok=True)
    latest = os.path.join(a.results, "latest.json")
    report["results_file"] = latest
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for path in (latest, os.path.join(a.results, f"run-{stamp}.json")):
        with open(path + ".tmp", "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
        os.replace(path + ".tmp", path)
    print_report(report)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
