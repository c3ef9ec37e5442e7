#!/usr/bin/env python3
"""The terminal notebook figures: `wb open` against `euporie-notebook`, both in tmux, in the same run.

Run by Benchmarks/tui (which sets up the venvs, the shared kernelspec and the environment);
not meant to be run by hand. Needs nbformat and psutil (the tui venv has both).

Figures, each tool in its own tmux server of the same size:
  first screen   spawn to the first cell's text on screen (capture-pane polled every millisecond), for
                 notebooks of 50, 200 and 500 cells and one of about 5 MB; the kernel starts in
                 the background in both tools
  memory         resident memory of the notebook process once the 500-cell notebook is open
                 and its kernel idle (the kernel itself not counted)
  streaming      a cell printing 100,000 lines, flushed one by one (100,000 IOPub messages):
                 wb's per-frame render, paint and update times (WB_FRAME_LOG) while it streams
  keystrokes     while that cell streams, characters typed into the next cell: time from
                 send-keys until the pane shows them
  in process     `wb bench tui`: the app's own work without process start, ncurses or tmux:
                 parse, screen state and first frame of each notebook, a jump to its last cell,
                 and the update + render time of every frame while a cell receives the streamed
                 lines (no kernel: 40 lines a frame, as the terminal loop batches a flood)
A floor for the harness itself (tmux, send-keys, capture-pane) is measured with `sh`/`cat`.
"""

import argparse
import datetime
import json
import os
import platform
import queue
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

import nbformat
import psutil
from nbformat import v4

MARK = "first_cell_marker = 0"
TYPED_PREFIX = "#@"
KEYS = "zqxjvkwpmbzqxjvkwpmbzqxjvkwpmbzqxjvkwpmb"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- notebooks


def section(i):
    """Cells of a realistic analysis notebook: Markdown, code with stream and result outputs, a table now and then."""
    md = v4.new_markdown_cell(f"## Step {i}\nWe look at **batch {i}** and compare it with the `baseline`; see the notes below.")
    code = v4.new_code_cell(f"batch_{i} = load_batch({i})\nprint(summary(batch_{i}))\nbatch_{i}.mean()", execution_count=i)
    code.outputs = [
        v4.new_output("stream", name="stdout", text=f"batch {i}: 1000 rows, 12 columns, 0 missing\n"),
        v4.new_output("execute_result", data={"text/plain": f"{i * 0.37:.4f}"}, execution_count=i),
    ]
    cells = [md, code]
    if i % 10 == 0:
        rows = "".join(f"<tr><th>{r}</th><td>{r * i}</td><td>{r / 7:.3f}</td><td>name {r}</td></tr>" for r in range(10))
        table = v4.new_code_cell(f"df_{i}.head(10)", execution_count=i)
        table.outputs = [v4.new_output("execute_result", execution_count=i, data={
            "text/html": "<table><thead><tr><th></th><th>a</th><th>b</th><th>c</th></tr></thead><tbody>" + rows
                         + "</tbody></table>",
            "text/plain": "(table)"})]
        cells.append(table)
    return cells


def notebook(cells):
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:05d}"
    nbformat.validate(nb)
    return nb


def make_sized(n):
    cells = [v4.new_code_cell(MARK)]
    i = 0
    while len(cells) < n:
        cells += section(i)
        i += 1
    return notebook(cells[:n])


def make_megabytes(mb):
    """About `mb` MB: cells whose outputs are long logs (500 lines each), as a training run leaves them."""
    cells = [v4.new_code_cell(MARK)]
    i = 0
    size = 0
    while size < mb * 1_000_000:
        log_text = "".join(f"epoch {i} step {s:4d}  loss {1 / (s + 1):.6f}  acc {s / 500:.4f}  lr 0.0003\n" for s in range(500))
        cell = v4.new_code_cell(f"train(epoch={i})", execution_count=i + 1)
        cell.outputs = [v4.new_output("stream", name="stdout", text=log_text)]
        cells += [v4.new_markdown_cell(f"### Epoch {i}"), cell]
        size += len(log_text) + 60
        i += 1
    return notebook(cells)


def make_stream(lines, done):
    code = (f"for i in range({lines}):\n    print(f'stream line {{i}}', flush=True)\n"
            f"open({done!r}, 'w').close()")
    return notebook([v4.new_code_cell(code), v4.new_code_cell(""), v4.new_code_cell("after = 1")])


# ---------------------------------------------------------------- tmux


class Tmux:
    """A tmux server of its own (unique socket, no user configuration) with one session, driven through one
    control-mode client, so sending keys and reading the screen cost a pipe round trip, not a tmux process."""

    def __init__(self, width, height):
        self.socket = "wbbench-" + uuid.uuid4().hex[:10]
        self.width, self.height = width, height
        self.control = None
        self.blocks = queue.Queue()

    def run(self, *args):
        done = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def start(self, argv, env):
        """Starts the server and session with a placeholder (so the server's own start is not timed), then `argv` in its pane."""
        self.open(env)
        self.respawn(argv)

    def open(self, env):
        variables = []
        for key in ("PATH", "HOME", "LANG", "TERM", "JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR",
                    "IPYTHONDIR", "WB_HOME", "WB_PYTHON_ENV", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "WB_FRAME_LOG"):
            if key in env:
                variables += ["-e", f"{key}={env[key]}"]
        self.run("new-session", "-d", "-s", "b", "-x", str(self.width), "-y", str(self.height), *variables, "sleep", "3600")
        # The control client neither sizes the window nor receives the pane's output.
        self.control = subprocess.Popen(
            ["tmux", "-L", self.socket, "-f", "/dev/null", "-C", "attach-session", "-t", "b", "-f", "ignore-size,no-output"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        threading.Thread(target=self._read, daemon=True).start()
        self.blocks.get(timeout=30)  # the attach command's own reply

    def _read(self):
        block = None
        for raw in self.control.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if block is None:
                if line.startswith("%begin "):
                    block = []
            elif line.startswith("%end ") or line.startswith("%error "):
                self.blocks.put((line.startswith("%end "), block))
                block = None
            else:
                block.append(line)

    def command(self, *words):
        """Runs one tmux command through the control client; its output lines."""
        line = " ".join(shlex.quote(w) for w in words) + "\n"
        self.control.stdin.write(line.encode("utf-8"))
        ok, lines = self.blocks.get(timeout=30)
        if not ok:
            raise RuntimeError(f"tmux {words[0]}: {' '.join(lines)}")
        return lines

    def respawn(self, argv):
        """Replaces the pane's process with `argv` (the session's environment applies)."""
        self.command("respawn-pane", "-k", "-t", "b", *argv)

    def screen(self):
        return self.command("capture-pane", "-p", "-t", "b")

    def keys(self, *keys, literal=False):
        self.command("send-keys", "-t", "b", *(["-l"] if literal else []), *keys)

    def pane_pid(self):
        return int(self.command("display-message", "-p", "-t", "b", "#{pane_pid}")[0].strip())

    def kill(self):
        if self.control:
            try:
                self.control.stdin.close()
            except OSError:
                pass
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)
        if self.control:
            try:
                self.control.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.control.kill()


def wait_for(tmux, match, timeout, poll=0.001):
    """Seconds until a line of the pane satisfies `match`, polling capture-pane; None on timeout."""
    t0 = time.perf_counter()
    while True:
        if any(match(line) for line in tmux.screen()):
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout:
            return None
        time.sleep(poll)


def family(pid):
    try:
        root = psutil.Process(pid)
        return [root] + root.children(recursive=True)
    except psutil.Error:
        return []


def stop(tmux, pid, a=None, env=None):
    """Kills the session and whatever it started: kernels, and (for wb, given `a`) the sessions its host keeps."""
    procs = family(pid) if pid else []
    tmux.kill()
    if a is not None:
        # A hung-up wb detaches: its session host keeps the kernel, so stop every session of the bench domain.
        subprocess.run([a.wb, "sessions", "stop", "--all", "--force"], env=env, capture_output=True, timeout=120)
    for p in procs:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=10)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass


def is_kernel(p):
    try:
        return "ipykernel" in " ".join(p.cmdline())
    except psutil.Error:
        return False


def rss_mb(pid, helper_exe=None):
    """The notebook process's RSS, and the sum over it, its non-kernel descendants and other processes of `helper_exe` (wb's session host), in MB."""
    procs = family(pid)
    own = procs[0].memory_info().rss / 1e6 if procs else None
    helpers = [p for p in procs if not is_kernel(p)]
    if helper_exe:
        for p in psutil.process_iter(["exe"]):
            if p.info.get("exe") == helper_exe and p.pid not in {q.pid for q in helpers}:
                helpers.append(p)
    total = sum(p.memory_info().rss for p in helpers) / 1e6
    return own, total


def kernel_running(pid):
    return any(is_kernel(p) for p in family(pid))


def wait_ready(name, tmux, pid, timeout):
    """Waits until the tool's kernel is up and idle (wb says so in its status bar), then for the screen to settle."""
    if name == "wb":
        wait_for(tmux, lambda line: ": idle" in line, timeout, poll=0.05)
    else:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline and not kernel_running(pid):
            time.sleep(0.1)
    settle(tmux, timeout)


# ---------------------------------------------------------------- figures


def tools(a):
    every = [
        ("wb", lambda nb: [a.wb, "open", nb]),
        ("euporie", lambda nb: [a.euporie, nb]),
    ]
    return [t for t in every if t[0] in a.tools.split(",")]


def summary(xs):
    if not xs:
        return {}
    s = sorted(xs)
    return {"n": len(s), "median": statistics.median(s), "p99": s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))], "max": s[-1]}


def figure_first_screen(a, env, notebooks):
    res = {}
    # The harness's own floor: a shell printing the marker.
    floor = []
    for _ in range(a.repeat):
        tmux = Tmux(a.width, a.height)
        tmux.open(env)
        t0 = time.perf_counter()
        tmux.respawn(["sh", "-c", f"echo '{MARK}'; exec sleep 600"])
        dt = wait_for(tmux, lambda line: MARK in line, 30)
        floor.append((time.perf_counter() - t0) * 1000 if dt is not None else None)
        tmux.kill()
    res["floor_ms"] = statistics.median([x for x in floor if x is not None])
    log(f"tui: first screen floor (tmux + sh): {res['floor_ms']:.1f} ms")
    for label, path in notebooks:
        res[label] = {}
        for name, argv in tools(a):
            runs, rss = [], None
            for r in range(a.repeat):
                tmux = Tmux(a.width, a.height)
                pid = None
                try:
                    tmux.open(env)
                    t0 = time.perf_counter()
                    tmux.respawn(argv(path))
                    dt = wait_for(tmux, lambda line: MARK in line, a.timeout)
                    elapsed = (time.perf_counter() - t0) * 1000
                    pid = tmux.pane_pid()
                    if dt is None:
                        log(f"tui:   {label:>10}  {name:<8} no first screen in {a.timeout} s")
                        continue
                    runs.append(round(elapsed, 1))
                    log(f"tui:   {label:>10}  {name:<8} first screen {elapsed:8.1f} ms")
                    if label == a.rss_label and r == 0:
                        # Memory once the kernel is up and idle.
                        wait_ready(name, tmux, pid, a.timeout)
                        own, total = rss_mb(pid, os.path.realpath(a.wb) if name == "wb" else None)
                        rss = {"process_mb": round(own, 1), "with_helpers_mb": round(total, 1)}
                        log(f"tui:   {label:>10}  {name:<8} RSS {own:.1f} MB (with non-kernel helpers {total:.1f} MB)")
                finally:
                    stop(tmux, pid, a if name == "wb" else None, env)
            res[label][name] = {"runs_ms": runs, "median_ms": statistics.median(runs) if runs else None}
            if rss:
                res[label][name]["rss"] = rss
    return res


def settle(tmux, timeout, quiet=1.0):
    """Waits until the pane has not changed for `quiet` seconds (at most `timeout`)."""
    deadline = time.perf_counter() + timeout
    last, since = None, time.perf_counter()
    while time.perf_counter() < deadline:
        screen = tmux.screen()
        if screen != last:
            last, since = screen, time.perf_counter()
        elif time.perf_counter() - since >= quiet:
            return
        time.sleep(0.05)


def type_and_time(tmux, count, load_done=None):
    """Types `count` characters one at a time into the cell being edited; latencies in ms and how many came while loaded."""
    latencies, loaded = [], 0
    typed = TYPED_PREFIX
    for c in KEYS[:count]:
        typed += c
        busy = load_done is not None and not os.path.exists(load_done)
        t0 = time.perf_counter()
        tmux.keys(c, literal=True)
        dt = wait_for(tmux, lambda line, t=typed: t in line, 30, poll=0.001)
        if dt is None:
            raise RuntimeError(f"typed text {typed!r} never showed")
        latencies.append(round((time.perf_counter() - t0) * 1000, 2))
        if busy and not os.path.exists(load_done):
            loaded += 1
    return latencies, loaded


def figure_keystroke_floor(a, env):
    """send-keys to capture-pane through `cat` echoing: what the harness adds to every keystroke figure."""
    tmux = Tmux(a.width, a.height)
    try:
        tmux.start(["cat"], env)
        time.sleep(0.2)
        tmux.keys(TYPED_PREFIX, literal=True)
        wait_for(tmux, lambda line: TYPED_PREFIX in line, 10)
        latencies, _ = type_and_time(tmux, a.keystrokes)
        return summary(latencies)
    finally:
        tmux.kill()


def figure_streaming(a, env):
    res = {}
    for name, argv in tools(a):
        done = os.path.join(a.work, f"stream-done-{name}")
        path = os.path.join(a.work, f"stream-{name}.ipynb")
        nbformat.write(make_stream(a.lines, done), path)
        frame_log = os.path.join(a.work, f"frames-{name}.log")
        run_env = dict(env)
        if name == "wb":
            run_env["WB_FRAME_LOG"] = frame_log
        tmux = Tmux(a.width, a.height)
        pid = None
        try:
            tmux.start(argv(path), run_env)
            if wait_for(tmux, lambda line: "stream line" in line, a.timeout) is None:
                raise RuntimeError("the notebook never showed")
            pid = tmux.pane_pid()
            wait_ready(name, tmux, pid, a.timeout)
            # Ctrl-R runs the cell and selects the next in both; Enter edits it.
            started = time.monotonic()
            tmux.keys("C-r")
            wait_for(tmux, lambda line: "stream line 1" in line or "stream line 2" in line, a.timeout, poll=0.001)
            tmux.keys("Enter")
            tmux.keys(TYPED_PREFIX, literal=True)
            if wait_for(tmux, lambda line: TYPED_PREFIX in line, a.timeout) is None:
                raise RuntimeError("the second cell never went into edit mode")
            latencies, loaded = type_and_time(tmux, a.keystrokes, load_done=done)
            t_end = time.perf_counter() + a.timeout
            while not os.path.exists(done) and time.perf_counter() < t_end:
                time.sleep(0.05)
            stream_done = time.monotonic()
            if not os.path.exists(done):
                raise RuntimeError(f"the stream did not finish in {a.timeout} s")
            shown = wait_for(tmux, lambda line: f"stream line {a.lines - 1}" in line, a.timeout)
            entry = {
                "keystroke_ms": summary(latencies), "keystrokes_while_streaming": loaded, "keystrokes": len(latencies),
                "stream_s": round(stream_done - started, 2),
                "last_line_shown": shown is not None,
            }
            if name == "wb":
                frames, paints = [], []
                with open(frame_log) as f:
                    for line in f:
                        fields = line.split()
                        if fields[0] == "paint":
                            # The painter thread's paints: the terminal write, off the UI thread.
                            t, paint, waited, count = (float(x) for x in fields[1:])
                            if started <= t / 1000 <= stream_done:
                                paints.append((paint, waited, count))
                            continue
                        t, render, paint, update = (float(x) for x in fields)
                        if started <= t / 1000 <= stream_done:
                            frames.append((render, paint, update))
                entry["frames"] = len(frames)
                entry["frame_ms"] = summary([r + p for r, p, _ in frames])
                entry["render_ms"] = summary([r for r, _, _ in frames])
                entry["paint_ms"] = summary([p for _, p, _ in frames])
                entry["update_ms"] = summary([u for _, _, u in frames])
                entry["frames_over_16ms"] = sum(1 for r, p, _ in frames if r + p > 16)
                entry["frames_with_update_over_16ms"] = sum(1 for r, p, u in frames if r + p + u > 16)
                if paints:
                    entry["terminal_paints"] = len(paints)
                    entry["terminal_paint_ms"] = summary([p for p, _, _ in paints])
                    entry["terminal_paint_waited_ms"] = summary([w for _, w, _ in paints])
                    entry["terminal_paints_over_16ms"] = sum(1 for p, _, _ in paints if p > 16)
                    entry["frames_replaced_unpainted"] = int(sum(c - 1 for _, _, c in paints))
            res[name] = entry
            log(f"tui:   streaming {name:<8} keystroke median {entry['keystroke_ms'].get('median', 0):.1f} ms, "
                f"max {entry['keystroke_ms'].get('max', 0):.1f} ms ({loaded}/{len(latencies)} during the stream, {entry['stream_s']} s)")
        except (RuntimeError, OSError, ValueError) as e:
            res[name] = {"error": str(e)}
            log(f"tui:   streaming {name}: PROBLEM: {e}")
        finally:
            stop(tmux, pid, a if name == "wb" else None, env)
    return res


def figure_in_process(a, notebooks):
    """`wb bench tui` for each notebook (open to first frame, End) and once for the stream."""
    res = {"notebooks": {}}
    for label, path in notebooks:
        out = subprocess.run([a.wb, "bench", "tui", "--notebook", path, "--repeat", str(a.repeat), "--lines", "1",
                              "--width", str(a.width), "--height", str(a.height), "--json"],
                             capture_output=True, text=True, timeout=a.timeout)
        if out.returncode != 0:
            res["notebooks"][label] = {"error": out.stderr.strip()}
            continue
        res["notebooks"][label] = json.loads(out.stdout)["open"]
        o = res["notebooks"][label]
        log(f"tui:   in process {label:>22}: parse {o['parse_ms']:.1f} ms, open {o['open_ms']:.1f} ms, "
            f"first frame {o['first_frame_ms']:.1f} ms, End {o['end_frame_ms']:.1f} ms, wb view {o['view_first_screen_ms']:.1f} ms")
    out = subprocess.run([a.wb, "bench", "tui", "--lines", str(a.lines), "--width", str(a.width), "--height", str(a.height), "--json"],
                         capture_output=True, text=True, timeout=a.timeout)
    if out.returncode != 0:
        res["stream"] = {"error": out.stderr.strip()}
    else:
        res["stream"] = json.loads(out.stdout)["stream"]
        f = res["stream"]["frame_ms"]
        log(f"tui:   in process stream of {a.lines:,} lines: frame median {f['median']:.3f} ms, p99 {f['p99']:.3f} ms, "
            f"max {f['max']:.3f} ms, {res['stream']['frames_over_16ms']} of {res['stream']['frames']} over 16 ms")
    return res


# ---------------------------------------------------------------- report


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def report(r):
    p = print
    m = r["machine"]
    p("")
    p(f"wb open against euporie-notebook {r['euporie_version']}, tmux {r['width']}x{r['height']}  {r['started']}")
    p(f"machine: {m['nproc']} CPUs, {m.get('cpu', '?')}, load average {m['load_start']:.2f} at start, {m['load_end']:.2f} at end"
      + ("  (BUSY: other processes competed; numbers are noisy)" if max(m['load_start'], m['load_end']) > 1 else ""))
    fs = r["first_screen"]
    p("")
    p(f"first screen, spawn to the first cell on screen, median of {r['repeat']} (ms); harness floor {fs['floor_ms']:.1f} ms")
    p(f"    {'notebook':<26}{'wb':>10}{'euporie':>10}{'ratio':>8}")
    for label, size in r["notebooks"]:
        w = fs[label].get("wb", {}).get("median_ms")
        e = fs[label].get("euporie", {}).get("median_ms")
        p(f"    {label + f' ({size / 1e6:.1f} MB)':<26}{fmt(w):>10}{fmt(e):>10}{fmt(w / e if w and e else None, 2) + 'x':>8}")
    rl = r["rss_label"]
    p("")
    p(f"memory with the {rl} notebook open, kernel idle (MB; kernel not counted)")
    for name in ("wb", "euporie"):
        x = fs[rl].get(name, {}).get("rss")
        if x:
            p(f"    {name:<10} process {x['process_mb']:7.1f}   with its non-kernel helpers {x['with_helpers_mb']:7.1f}")
    st = r["streaming"]
    p("")
    p(f"a cell printing {r['lines']:,} lines (one IOPub message each) while {r['keystrokes']} characters are typed into the next cell")
    p(f"    keystroke to screen (ms)   {'median':>8}{'p99':>8}{'max':>8}  typed during the stream   stream s")
    kf = r["keystroke_floor_ms"]
    p(f"    {'harness floor (cat)':<26}{fmt(kf.get('median')):>8}{fmt(kf.get('p99')):>8}{fmt(kf.get('max')):>8}")
    for name in ("wb", "euporie"):
        x = st.get(name, {})
        if "error" in x:
            p(f"    {name:<26}failed: {x['error']}")
            continue
        k = x.get("keystroke_ms", {})
        p(f"    {name:<26}{fmt(k.get('median')):>8}{fmt(k.get('p99')):>8}{fmt(k.get('max')):>8}  "
          f"{x.get('keystrokes_while_streaming')}/{x.get('keystrokes'):<22}{fmt(x.get('stream_s'))}")
    w = st.get("wb", {})
    if "frame_ms" in w:
        p(f"    wb frames while streaming: {w['frames']} frames; render+paint (UI thread) median {fmt(w['frame_ms'].get('median'), 2)} ms, "
          f"p99 {fmt(w['frame_ms'].get('p99'), 2)} ms, max {fmt(w['frame_ms'].get('max'), 2)} ms; "
          f"{w['frames_over_16ms']} over 16 ms")
        p(f"      render median {fmt(w['render_ms'].get('median'), 2)} / max {fmt(w['render_ms'].get('max'), 2)} ms, "
          f"paint median {fmt(w['paint_ms'].get('median'), 2)} / max {fmt(w['paint_ms'].get('max'), 2)} ms, "
          f"update between frames median {fmt(w['update_ms'].get('median'), 2)} / max {fmt(w['update_ms'].get('max'), 2)} ms "
          f"({w['frames_with_update_over_16ms']} frames over 16 ms with it)")
        if "terminal_paint_ms" in w:
            tp, tw = w["terminal_paint_ms"], w["terminal_paint_waited_ms"]
            p(f"      painter thread (ncurses writing to the terminal, off the UI thread): {w['terminal_paints']} paints, "
              f"median {fmt(tp.get('median'), 2)} / p99 {fmt(tp.get('p99'), 2)} / max {fmt(tp.get('max'), 2)} ms, "
              f"{w['terminal_paints_over_16ms']} over 16 ms; a frame waited for the painter median {fmt(tw.get('median'), 2)} / "
              f"max {fmt(tw.get('max'), 2)} ms; {w['frames_replaced_unpainted']} frames replaced by newer ones before painting")
    ip = r.get("in_process")
    if ip:
        p("")
        p("in process (`wb bench tui`: no process start, ncurses or tmux), median of the runs (ms)")
        p(f"    {'notebook':<26}{'parse':>8}{'open':>8}{'frame':>8}{'1st scr':>9}{'End':>8}{'view':>8}")
        for label, _ in r["notebooks"]:
            o = ip["notebooks"].get(label, {})
            if "error" in o:
                p(f"    {label:<26}failed: {o['error']}")
                continue
            p(f"    {label:<26}{fmt(o.get('parse_ms')):>8}{fmt(o.get('open_ms')):>8}{fmt(o.get('first_frame_ms')):>8}"
              f"{fmt(o.get('first_screen_ms')):>9}{fmt(o.get('end_frame_ms')):>8}{fmt(o.get('view_first_screen_ms')):>8}")
        s = ip.get("stream", {})
        if "error" in s:
            p(f"    stream: failed: {s['error']}")
        elif s:
            f, u, rd = s["frame_ms"], s["update_ms"], s["render_ms"]
            p(f"    stream of {s['lines']:,} lines, {s['chunk']} a frame, {s['frames']} frames: update+render median {fmt(f['median'], 3)}, "
              f"p99 {fmt(f['p99'], 3)}, max {fmt(f['max'], 3)}; {s['frames_over_16ms']} over 16 ms")
            p(f"      update median {fmt(u['median'], 3)} / p99 {fmt(u['p99'], 3)} / max {fmt(u['max'], 3)}, "
              f"render median {fmt(rd['median'], 3)} / p99 {fmt(rd['p99'], 3)} / max {fmt(rd['max'], 3)}; "
              f"second half p99 {fmt(s['frame_ms_second_half']['p99'], 3)} (first half {fmt(s['frame_ms_first_half']['p99'], 3)}); "
              f"last line shown {s['last_line_shown']}, capped marker shown {s['capped_marker_shown']}")
    p("")
    p(f"results in {r['results_file']}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wb", required=True)
    ap.add_argument("--euporie", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--sizes", default="50,200,500")
    ap.add_argument("--mb", type=float, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--keystrokes", type=int, default=20)
    ap.add_argument("--width", type=int, default=120)
    ap.add_argument("--height", type=int, default=40)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--only", default="first,streaming,inprocess")
    ap.add_argument("--tools", default="wb,euporie")
    a = ap.parse_args()
    a.keystrokes = min(a.keystrokes, len(KEYS))
    only = set(a.only.split(","))
    env = dict(os.environ, LANG="C.UTF-8", TERM="xterm-256color")

    notebooks = []
    for n in [int(s) for s in a.sizes.split(",") if s]:
        path = os.path.join(a.work, f"tui-{n}.ipynb")
        nbformat.write(make_sized(n), path)
        notebooks.append((f"{n} cells", path))
    if a.mb > 0:
        path = os.path.join(a.work, "tui-mb.ipynb")
        nb = make_megabytes(a.mb)
        nbformat.write(nb, path)
        notebooks.append((f"{a.mb:g} MB, {len(nb.cells)} cells", path))
    a.rss_label = next((label for label, _ in notebooks if label == "500 cells"), notebooks[-1][0])

    version = subprocess.run([a.euporie, "--version"], capture_output=True, text=True).stdout.strip()
    r = {
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "platform": platform.platform(), "load_start": os.getloadavg()[0]},
        "euporie_version": version.split()[-1] if version else "?", "wb": a.wb,
        "width": a.width, "height": a.height, "repeat": a.repeat, "lines": a.lines, "keystrokes": a.keystrokes,
        "notebooks": [(label, os.path.getsize(path)) for label, path in notebooks], "rss_label": a.rss_label,
    }
    try:
        with open("/proc/cpuinfo") as f:
            r["machine"]["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    if "first" in only:
        log(f"tui: first screen and memory, {a.repeat} runs each, {a.width}x{a.height}")
        r["first_screen"] = figure_first_screen(a, env, notebooks)
    if "streaming" in only:
        log(f"tui: streaming {a.lines:,} lines and typing {a.keystrokes} characters")
        r["keystroke_floor_ms"] = figure_keystroke_floor(a, env)
        r["streaming"] = figure_streaming(a, env)
    if "inprocess" in only:
        log(f"tui: in process, {a.repeat} runs each")
        r["in_process"] = figure_in_process(a, notebooks)
    r["machine"]["load_end"] = os.getloadavg()[0]
    os.makedirs(a.results, exist_ok=True)
    r["results_file"] = os.path.join(a.results, "tui-latest.json")
    with open(r["results_file"] + ".tmp", "w") as f:
        json.dump(r, f, indent=1)
    os.replace(r["results_file"] + ".tmp", r["results_file"])
    if "first_screen" in r and "streaming" in r:
        report(r)
    else:
        print(json.dumps(r, indent=1))
    failed = any("error" in x for x in r.get("streaming", {}).values()) or "error" in r.get("in_process", {}).get("stream", {})
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
