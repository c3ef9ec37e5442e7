#!/usr/bin/env python3
"""Figure (3) peer: time until a jupyter_client kernel is ready, and the client's memory.

ready_ms          KernelManager(...).start_kernel() + client.wait_for_ready(), measured
                  in-process after jupyter_client is imported.
process_ready_ms  from the moment the harness launched this process (BENCH_T0_NS,
                  time.time_ns() just before the spawn) to the same ready point, so it
                  includes interpreter start-up and imports, like `wb bench startup`'s
                  ready_ms, which counts from its process start.
interpreter_ms    of that, the part before this script's first line ran.
rss_kb            this client process's resident set (VmRSS) once the kernel is ready.
peak_rss_kb       its peak resident set (getrusage ru_maxrss) after the first cell (`1+1`)
                  ran and the kernel was shut down, as `wb bench startup` reports it.
                  The kernel is a child process and is not counted in either.

Prints one JSON object.
"""

import os
import time

_T_START_NS = time.time_ns()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402

import jupyter_client  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402


def current_rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", default="python3")
    ap.add_argument("--json", action="store_true", help="accepted for symmetry with wb; output is always JSON")
    args = ap.parse_args()

    t0 = time.perf_counter()
    km = KernelManager(kernel_name=args.kernel)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        ready = time.perf_counter()
        ready_ns = time.time_ns()
        rss_kb = current_rss_kb()
        reply = kc.execute_interactive("1+1", timeout=60, output_hook=lambda msg: None)
        first_cell_ok = reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    launched = os.environ.get("BENCH_T0_NS")
    out = {
        "ready_ms": round((ready - t0) * 1000.0, 3),
        "process_ready_ms": round((ready_ns - int(launched)) / 1e6, 3) if launched else None,
        "interpreter_ms": round((_T_START_NS - int(launched)) / 1e6, 3) if launched else None,
        "rss_kb": rss_kb,
        "peak_rss_kb": peak_kb,
        "first_cell_ok": first_cell_ok,
        "client": f"jupyter_client {jupyter_client.__version__}",
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
