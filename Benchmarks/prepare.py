#!/usr/bin/env python3
"""Prepares a benchmark work directory. Run with the kernel venv's Python.

  WORK/jupyter/kernels/python3/kernel.json
      a copy of the kernel venv's own `python3` kernelspec whose argv[0] is this
      interpreter (the kernel venv's python) instead of a bare "python", so that
      wb, jupyter_client, nbclient and papermill all launch the very same kernel
      whatever Python they run on themselves (JUPYTER_PATH points here).
  WORK/nb<N>.ipynb for each N in --sizes
      deterministic notebooks of N small, cheap code cells, validated by nbformat.

Prints a JSON summary (kernel argv, ipykernel version, notebook paths).
"""

import argparse
import json
import os
import shutil
import sys

import ipykernel
import nbformat
from nbformat import v4


def cell_source(i):
    """Cell i: an assignment, a print (stream output) or an expression (execute_result)."""
    kind = i % 3
    if kind == 0:
        return f"x = {i} * 2"
    if kind == 1:
        return f"print({i})"
    return f"x + {i}"


def make_notebook(n):
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [v4.new_code_cell(cell_source(i)) for i in range(n)]
    # Stable cell ids so that the files are byte-identical from run to run.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:04d}"
    nbformat.validate(nb)
    return nb


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", help="work directory (created if missing)")
    ap.add_argument("--sizes", default="50,200", help="comma-separated cell counts")
    args = ap.parse_args()

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or any(n < 1 for n in sizes):
        ap.error("--sizes needs positive integers")

    venv = sys.prefix
    source = os.path.join(venv, "share", "jupyter", "kernels", "python3")
    if not os.path.isfile(os.path.join(source, "kernel.json")):
        sys.exit(f"prepare.py: no python3 kernelspec in {source} (is ipykernel installed in this venv?)")
    target = os.path.join(args.work, "jupyter", "kernels", "python3")
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(source):
        if name != "kernel.json":
            shutil.copy(os.path.join(source, name), target)
    with open(os.path.join(source, "kernel.json")) as f:
        spec = json.load(f)
    argv = list(spec["argv"])
    if argv and argv[0] in ("python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"):
        argv[0] = sys.executable
    spec["argv"] = argv
    with open(os.path.join(target, "kernel.json"), "w") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")

    notebooks = {}
    for n in sizes:
        path = os.path.join(args.work, f"nb{n}.ipynb")
        nbformat.write(make_notebook(n), path)
        notebooks[str(n)] = path

    print(json.dumps({
        "kernelspec_dir": target,
        "kernel_argv": argv,
        "ipykernel": ipykernel.__version__,
        "nbformat": nbformat.__version__,
        "python": sys.version.split()[0],
        "notebooks": notebooks,
    }))


if __name__ == "__main__":
    main()
