#!/usr/bin/env python3
"""Figure (3) peer: time until a jupyter_client kernel is ready, and the client's memory.

ready_ms          KernelManager(...).start_kernel() + client.wait_for_ready(), measured
                  in-process after jupyter_client is imported.
process_ready_ms  from the moment the harness launched this process (BENCH_T0_NS,
                  time.time_ns() just before the spawn) to the same ready point, so it
                  includes interpreter start-up and imports, like a whole `wb` start.
interpreter_ms    of that, the part before this script's first line ran.
rss_kb            this client process's peak resident set (getrusage ru_maxrss) once
                  the kernel is ready; the kernel is a child process and not counted.

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
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        rss_kb = current_rss_kb()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)

    launched = os.environ.get("BENCH_T0_NS")
    out = {
        "ready_ms": round((ready - t0) * 1000.0, 3),
        "process_ready_ms": round((ready_ns - int(launched)) / 1e6, 3) if launched else None,
        "interpreter_ms": round((_T_START_NS - int(launched)) / 1e6, 3) if launched else None,
        "rss_kb": peak_kb,
        "rss_now_kb": rss_kb,
        "client": f"jupyter_client {jupyter_client.__version__}",
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
