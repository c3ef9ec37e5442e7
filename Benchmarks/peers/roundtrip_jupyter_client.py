#!/usr/bin/env python3
"""Figure (1) peer: execute round-trip of `1+1` with jupyter_client's BlockingKernelClient.

One round-trip = send an execute_request, then receive its execute_reply on the
shell channel and every IOPub message of that request up to and including its
`status: idle` (so the execute_result is collected too). That is what a client
needs before it may say "the cell is done"; `wb bench roundtrip` measures the same.

Prints one JSON object: {"count", "warmup", "median_ms", "p99_ms", "min_ms", ...}.
"""

import argparse
import json
import statistics
import sys
import time

import jupyter_client
from jupyter_client.manager import KernelManager


def percentile(sorted_values, q):
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    if not sorted_values:
        raise ValueError("no samples")
    k = (len(sorted_values) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def roundtrip(kc, code, timeout, kernel_busy=None):
    """Runs `code` once; returns (seconds, execute_result text or None).

    Appends the kernel's own busy time (its idle minus its busy broadcast, by the
    kernel's clock, in ms) to `kernel_busy` when given."""
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    reply = None
    while reply is None:
        msg = kc.get_shell_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") == msg_id:
            reply = msg
    result = None
    busy_at = None
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "execute_result":
            result = msg["content"]["data"].get("text/plain")
        elif kind == "status" and msg["content"]["execution_state"] == "busy":
            busy_at = msg["header"]["date"]
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            if kernel_busy is not None and busy_at is not None:
                kernel_busy.append((msg["header"]["date"] - busy_at).total_seconds() * 1000.0)
            break
    elapsed = time.perf_counter() - t0
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"execute_reply status {reply['content']['status']}: {reply['content']}")
    return elapsed, result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--kernel", default="python3")
    ap.add_argument("--code", default="1+1")
    ap.add_argument("--expect", default="2", help="expected text/plain of the result ('' to skip the check)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for any one message")
    ap.add_argument("--json", action="store_true", help="accepted for symmetry with wb; output is always JSON")
    args = ap.parse_args()
    if args.count < 1 or args.warmup < 0:
        ap.error("--count must be >= 1 and --warmup >= 0")

    km = KernelManager(kernel_name=args.kernel)
    km.start_kernel()
    kernel_python = km.format_kernel_cmd()[0]
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        _, ipykernel_version = roundtrip(kc, "import ipykernel; ipykernel.__version__", args.timeout)
        for _ in range(args.warmup):
            roundtrip(kc, args.code, args.timeout)
        samples = []
        kernel_busy = []
        for _ in range(args.count):
            elapsed, result = roundtrip(kc, args.code, args.timeout, kernel_busy)
            if args.expect and result != args.expect:
                raise RuntimeError(f"{args.code!r} gave {result!r}, expected {args.expect!r}")
            samples.append(elapsed * 1000.0)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)

    s = sorted(samples)
    out = {
        "count": len(s),
        "warmup": args.warmup,
        "median_ms": round(statistics.median(s), 4),
        "p99_ms": round(percentile(s, 99), 4),
        "min_ms": round(s[0], 4),
        "mean_ms": round(statistics.fmean(s), 4),
        "max_ms": round(s[-1], 4),
        "kernel_busy_median_ms": round(statistics.median(kernel_busy), 4) if kernel_busy else None,
        "transport": km.transport,
        "client": f"jupyter_client {jupyter_client.__version__}",
        "kernel": f"ipykernel {(ipykernel_version or '?').strip(chr(39))}",
        "kernel_python": kernel_python,
        "python": sys.version.split()[0],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
