"""Workbench's %%sql cell magic for IPython: SQL cells run through `wb sql`, so the lakehouse's policy applies.

Load it with ``%load_ext wb_sql`` (Workbench does this itself in the Python kernels it starts).
The magic runs the ``wb`` executable named by ``$WB_EXECUTABLE`` (else ``wb`` on PATH) as
``wb sql --json``, with the cell on standard input and the domain of ``$WB_HOME``, and shows
the rows as a table (text/plain, text/html and application/vnd.dataresource+json).

    %%sql [--out NAME] [--as-of SNAPSHOT|TIME] [--limit N] [--timeout SECONDS]
"""

import argparse
import html
import json
import os
import shlex
import shutil
import subprocess
import unicodedata

__all__ = ["SQLResult", "WorkbenchSQLError", "load_ipython_extension", "run_sql"]

DISPLAY_LIMIT = 1000
MAX_WIDTH = 60


class WorkbenchSQLError(Exception):
    """A statement `wb sql` refused or failed: the message says what and where (line, column)."""

    def _render_traceback_(self):
        # IPython shows this instead of a Python traceback: the SQL error is the whole story.
        return ["\x1b[31mWorkbenchSQLError\x1b[0m: " + line if i == 0 else line for i, line in enumerate(str(self).split("\n"))]


class SQLResult:
    """The rows and effects of one %%sql cell, shown as a table."""

    def __init__(self, document):
        self.columns = list(document.get("columns") or [])
        self.rows = [list(row) for row in document.get("rows") or []]
        self.truncated = bool(document.get("truncated"))
        self.changes = int(document.get("changes") or 0)
        self.snapshots = list(document.get("snapshots") or [])
        self.messages = list(document.get("messages") or [])

    def summary(self):
        """Lines about what the statements did: messages and committed snapshots."""
        lines = list(self.messages)
        for s in self.snapshots:
            rows = (s.get("summary") or {}).get("total-rows")
            lines.append("snapshot %s of %s: %s%s" % (s.get("snapshot_id"), s.get("table"), s.get("operation"),
                                                      "" if rows is None else ", %s rows" % rows))
        if not self.columns and not lines:
            lines.append("%d row%s changed" % (self.changes, "" if self.changes == 1 else "s"))
        return lines

    def footer(self):
        n = len(self.rows)
        if self.truncated:
            return "(first %d rows; --limit 0 shows all)" % n
        return "(%d row%s)" % (n, "" if n == 1 else "s")

    def _numeric(self):
        return [bool(self.rows) and all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) or r[i] is None
                                        for r in self.rows) for i in range(len(self.columns))]

    def to_text(self):
        """An aligned table, as `wb sql` prints it in a terminal."""
        out = self.summary()
        if self.columns:
            cells = [[_display(v) for v in row] for row in self.rows]
            widths = [_width(c) for c in self.columns]
            for row in cells:
                for i, cell in enumerate(row):
                    widths[i] = min(MAX_WIDTH, max(widths[i], _width(cell)))
            numeric = self._numeric()

            def line(values):
                parts = []
                for i, value in enumerate(values):
                    text = _fit(value, widths[i])
                    pad = " " * max(0, widths[i] - _width(text))
                    parts.append(pad + text if numeric[i] else text + pad)
                return " | ".join(parts).rstrip()

            out.append(line(self.columns))
            out.append("-+-".join("-" * w for w in widths))
            out.extend(line(row) for row in cells)
            out.append(self.footer())
        return "\n".join(out)

    def to_html(self):
        """An HTML table (with the summary lines above it)."""
        parts = ["<p>%s</p>" % html.escape(line) for line in self.summary()]
        if self.columns:
            numeric = self._numeric()
            parts.append('<table class="wb-sql">')
            parts.append("<thead><tr>%s</tr></thead>" % "".join("<th>%s</th>" % html.escape(c) for c in self.columns))
            parts.append("<tbody>")
            for row in self.rows:
                parts.append("<tr>%s</tr>" % "".join(
                    '<td style="text-align:%s">%s</td>' % ("right" if numeric[i] else "left", html.escape(_display(v)))
                    for i, v in enumerate(row)))
            parts.append("</tbody></table>")
            parts.append("<p>%s</p>" % html.escape(self.footer()))
        return "".join(parts)

    def to_dataresource(self):
        """The Frictionless data resource JupyterLab's table viewers read."""
        types = []
        for i in range(len(self.columns)):
            kinds = {_kind(row[i]) for row in self.rows if row[i] is not None}
            types.append(kinds.pop() if len(kinds) == 1 else ("number" if kinds == {"integer", "number"} else "string"))
        return {
            "schema": {"fields": [{"name": c, "type": t} for c, t in zip(self.columns, types)]},
            "data": [{c: _plain(v) for c, v in zip(self.columns, row)} for row in self.rows],
        }

    def records(self):
        """The rows as a list of dicts (blobs as bytes)."""
        return [{c: _plain(v, raw=True) for c, v in zip(self.columns, row)} for row in self.rows]

    def to_dataframe(self):
        """The rows as a pandas DataFrame (raises ImportError without pandas)."""
        import pandas

        return pandas.DataFrame([[_plain(v, raw=True) for v in row] for row in self.rows], columns=self.columns)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": self.to_text(), "text/html": self.to_html()}
        if self.columns:
            bundle["application/vnd.dataresource+json"] = self.to_dataresource()
        return bundle

    def __repr__(self):
        return self.to_text()

    def __len__(self):
        return len(self.rows)


def _kind(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _plain(value, raw=False):
    if isinstance(value, dict) and "blob" in value:
        return bytes.fromhex(value["blob"]) if raw else value["blob"]
    return value


def _display(value):
    if value is None:
        return "NULL"
    if isinstance(value, dict) and "blob" in value:
        return value["blob"]
    text = value if isinstance(value, str) else json.dumps(value) if isinstance(value, bool) else str(value)
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif unicodedata.category(ch) == "Cc":
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)


def _width(text):
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text, width):
    if _width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = _width(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"


def wb_executable():
    """The `wb` to call: $WB_EXECUTABLE, else `wb` on PATH."""
    path = os.environ.get("WB_EXECUTABLE") or shutil.which("wb")
    if not path:
        raise WorkbenchSQLError("cannot find wb: set WB_EXECUTABLE to its path or put it on PATH")
    return path


def run_sql(sql, as_of=None, limit=None, timeout=None):
    """Runs SQL with `wb sql --json` and returns its SQLResult; a refused or failing statement raises WorkbenchSQLError."""
    argv = [wb_executable(), "sql", "--json"]
    if as_of is not None:
        argv += ["--as-of", as_of]
    if limit is not None:
        argv += ["--limit", str(limit)]
    if timeout is not None:
        argv += ["--timeout", str(timeout)]
    argv.append("-")
    try:
        done = subprocess.run(argv, input=sql.encode("utf-8"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as error:
        raise WorkbenchSQLError("cannot run %s: %s" % (argv[0], error)) from None
    stderr = done.stderr.decode("utf-8", "replace").rstrip()
    if done.returncode != 0:
        error = WorkbenchSQLError("%s\n(wb sql exited with code %d)" % (stderr or "wb sql failed", done.returncode))
        error.exit_code = done.returncode
        raise error
    try:
        document = json.loads(done.stdout.decode("utf-8"))
    except ValueError as error:
        raise WorkbenchSQLError("wb sql printed something that is not JSON: %s" % error) from None
    return SQLResult(document)


def _parser():
    parser = argparse.ArgumentParser(prog="%%sql", add_help=False,
                                     description="Run the cell as SQL on the Workbench lakehouse (through wb sql).")
    parser.add_argument("--out", metavar="NAME", help="store the rows in NAME (a pandas DataFrame, or a list of dicts without pandas)")
    parser.add_argument("--as-of", dest="as_of", metavar="SNAPSHOT|TIME", help="read every table as of a snapshot id or ISO 8601 UTC time")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="at most N rows (default %d for display, all with --out; 0: all)" % DISPLAY_LIMIT)
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="stop the statement after this many seconds")
    return parser


class _ArgumentError(Exception):
    pass


def parse_line(line):
    """Parses the magic's line into options; bad options raise UsageError."""
    parser = _parser()

    def fail(message):
        raise _ArgumentError(message)

    parser.error = fail
    try:
        options = parser.parse_args(shlex.split(line or ""))
    except (_ArgumentError, ValueError) as error:
        from IPython.core.error import UsageError

        raise UsageError("%%%%sql: %s\n%s" % (error, parser.format_usage().strip())) from None
    if options.out is not None and not options.out.isidentifier():
        from IPython.core.error import UsageError

        raise UsageError("%%%%sql: --out needs a Python name, not %r" % options.out)
    if options.limit is not None and options.limit < 0:
        from IPython.core.error import UsageError

        raise UsageError("%%sql: --limit must be 0 (no limit) or more")
    return options


def load_ipython_extension(ipython):
    """Registers the %%sql cell magic."""

    def sql(line, cell):
        options = parse_line(line)
        limit = options.limit if options.limit is not None else (0 if options.out else DISPLAY_LIMIT)
        result = run_sql(cell, as_of=options.as_of, limit=limit, timeout=options.timeout)
        if options.out:
            try:
                value, kind = result.to_dataframe(), "pandas DataFrame"
            except ImportError:
                value, kind = result.records(), "list of dicts (pandas is not installed)"
            ipython.user_ns[options.out] = value
            print("%s: %d row%s as a %s" % (options.out, len(result), "" if len(result) == 1 else "s", kind))
        return result

    sql.__doc__ = _parser().format_help()
    ipython.register_magic_function(sql, magic_kind="cell", magic_name="sql")
