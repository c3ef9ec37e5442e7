"""Regenerates the notebook fixtures in this folder with real Jupyter tooling.

Run with the pinned venv (nbformat, jupyter_client, ipykernel):

    source scripts/lib.sh
    "$(ensure_venv scripts/requirements.txt venv)/bin/python" Tests/NotebookTests/Fixtures/make_fixtures.py

Code cells run on a real ipykernel through jupyter_client, the way nbclient
runs them (outputs from `nbformat.v4.output_from_msg`, consecutive stream
outputs merged, timing metadata as `jupyter execute --record-timing` and
JupyterLab store it). Most files are then written with `nbformat.write`; the
ones that must look like other writers made them (missing ids, unsplit
strings, another indent) are dumped with `json` directly, as README.md says.
Outputs hold tracebacks, timestamps and kernel paths, so a rerun changes them.
"""

import base64
import copy
import datetime
import json
import os
import struct
import sys
import zlib

import nbformat
from jupyter_client.manager import start_new_kernel
from nbformat.v4 import (
    new_code_cell,
    new_markdown_cell,
    new_notebook,
    new_output,
    new_raw_cell,
    output_from_msg,
)
from nbformat.v4.rwbase import split_lines

HERE = os.path.dirname(os.path.abspath(__file__))

# A tiny RGB PNG made with zlib and struct only; the same function runs inside the kernel.
PNG_SOURCE = '''\
import struct, zlib

def make_png(width, height):
    """An RGB gradient as PNG bytes."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    rows = b"".join(
        b"\\x00" + bytes(v for x in range(width) for v in (x * 255 // (width - 1), y * 255 // (height - 1), 128))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
'''
_namespace = {}
exec(PNG_SOURCE, _namespace)
make_png = _namespace["make_png"]


def iso(moment):
    """A timestamp as JupyterLab and nbclient store them."""
    if isinstance(moment, str):
        return moment
    return moment.astimezone(datetime.timezone.utc).replace(tzinfo=None).isoformat() + "Z"


class Runner:
    """Runs code cells on a fresh ipykernel, filling outputs like nbclient does."""

    def __enter__(self):
        self.km, self.kc = start_new_kernel(kernel_name="python3")
        reply = self.kc.kernel_info(reply=True, timeout=30)
        self.language_info = reply["content"]["language_info"]
        return self

    def __exit__(self, *exc):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def run(self, cell):
        msg_id = self.kc.execute(cell.source, store_history=True, allow_stdin=False)
        outputs = []
        timing = {}
        while True:
            msg = self.kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            content = msg["content"]
            if kind == "status":
                state = content["execution_state"]
                if state == "busy":
                    timing["iopub.status.busy"] = iso(msg["header"]["date"])
                elif state == "idle":
                    timing["iopub.status.idle"] = iso(msg["header"]["date"])
                    break
            elif kind == "execute_input":
                timing["iopub.execute_input"] = iso(msg["header"]["date"])
            elif kind == "clear_output":
                outputs.clear()
            elif kind in ("stream", "display_data", "execute_result", "error"):
                out = output_from_msg(msg)
                last = outputs[-1] if outputs else None
                if kind == "stream" and last is not None and last.output_type == "stream" and last.name == out.name:
                    last.text += out.text
                else:
                    outputs.append(out)
        while True:
            reply = self.kc.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        timing["shell.execute_reply"] = iso(reply["header"]["date"])
        cell.outputs = outputs
        cell.execution_count = reply["content"].get("execution_count")
        cell.metadata["execution"] = timing


def lab_notebook(cells, runner, minor=5):
    """A notebook with the metadata JupyterLab 4 writes for an ipykernel session."""
    nb = new_notebook(cells=cells)
    nb.nbformat_minor = minor
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = copy.deepcopy(runner.language_info)
    for cell in cells:
        if cell.cell_type == "code" and not cell.metadata.pop("wb_skip_run", False):
            runner.run(cell)
    return nb


def write_nbformat(nb, name):
    path = os.path.join(HERE, name)
    nbformat.write(nb, path)
    return path


def write_json(data, name, **kwargs):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(data, **kwargs))
        f.write("\n")
    return path


NBFORMAT_STYLE = {"indent": 1, "sort_keys": True, "ensure_ascii": False, "separators": (",", ": ")}


def rich_outputs(runner):
    cells = [
        new_markdown_cell("# Rich outputs\n\nStreams, results, images, HTML, SVG, JSON, LaTeX and an error."),
        new_code_cell('import sys\nprint("hello from stdout")\nprint("a warning", file=sys.stderr)\nprint("second stdout line")'),
        new_code_cell("list(range(0, 400, 7))"),
        new_code_cell(PNG_SOURCE + "\nfrom IPython.display import Image, display\n\npng = make_png(8, 6)\n"
                      "display(Image(data=png, width=64))\nImage(data=png)"),
        new_code_cell(
            "from IPython.display import HTML, JSON, SVG, Latex, Markdown\n"
            'display(HTML("<table>\\n<tr><td><b>bold</b></td></tr>\\n</table>"))\n'
            'display(Markdown("*italic* and `code`\\n\\n- item"))\n'
            'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">\\n'
            '<circle cx="10" cy="10" r="8" fill="teal"/>\\n</svg>\'))\n'
            'display(JSON({"a": [1, 2.5, None], "nested": {"k": "v\\nw"}}))\n'
            'Latex(r"$\\alpha^2 + \\beta_i$")'
        ),
        new_code_cell(
            "class Custom:\n"
            "    def _repr_mimebundle_(self, include=None, exclude=None):\n"
            '        data = {"text/plain": "Custom()", "text/html": "<p>custom</p>\\n<p>two</p>",\n'
            '                "application/vnd.wb.custom+json": {"lines": ["a\\n", "b"], "n": 3},\n'
            '                "application/x-wb-unknown": "opaque\\npayload"}\n'
            '        return data, {"application/vnd.wb.custom+json": {"expanded": True}}\n'
            "\n"
            "Custom()"
        ),
        new_code_cell("1 / 0"),
        new_code_cell('print("after the error")'),
        new_code_cell("# never run\nx = 1", metadata={"wb_skip_run": True}),
    ]
    nb = lab_notebook(cells, runner)
    return write_nbformat(nb, "rich_outputs.ipynb")


def widgets(runner):
    slider_id = "3b5c2ad1a1e24c27a4b8e6a1f0c3d9e2"
    layout_id = "9f0a8e7d6c5b4a39a8b7c6d5e4f3a2b1"
    style_id = "c1d2e3f4a5b64c7d8e9fa0b1c2d3e4f5"
    button_id = "0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5"
    button_layout_id = "1234abcd5678ef90a1b2c3d4e5f6a7b8"
    button_style_id = "fedcba9876543210fedcba9876543210"
    layout_state = {k: None for k in (
        "_model_module", "align_content", "align_items", "align_self", "border_bottom", "border_left",
        "border_right", "border_top", "bottom", "display", "flex", "flex_flow", "grid_area",
        "grid_auto_columns", "grid_auto_flow", "grid_auto_rows", "grid_column", "grid_gap", "grid_row",
        "grid_template_areas", "grid_template_columns", "grid_template_rows", "height", "justify_content",
        "justify_items", "left", "margin", "max_height", "max_width", "min_height", "min_width",
        "object_fit", "object_position", "order", "overflow", "padding", "right", "top", "visibility", "width")}
    layout_state.update({"_model_module": "@jupyter-widgets/base", "_model_module_version": "2.0.0",
                         "_model_name": "LayoutModel", "_view_count": None, "_view_module": "@jupyter-widgets/base",
                         "_view_module_version": "2.0.0", "_view_name": "LayoutView"})

    def model(module, name, state):
        return {"model_module": module, "model_module_version": "2.0.0", "model_name": name, "state": state}

    widget_state = {
        "state": {
            layout_id: model("@jupyter-widgets/base", "LayoutModel", layout_state),
            style_id: model("@jupyter-widgets/controls", "SliderStyleModel", {
                "_model_module": "@jupyter-widgets/controls", "_model_module_version": "2.0.0",
                "_model_name": "SliderStyleModel", "_view_count": None, "_view_module": "@jupyter-widgets/base",
                "_view_module_version": "2.0.0", "_view_name": "StyleView", "description_width": "",
                "handle_color": None}),
            slider_id: model("@jupyter-widgets/controls", "IntSliderModel", {
                "_dom_classes": [], "_model_module": "@jupyter-widgets/controls", "_model_module_version": "2.0.0",
                "_model_name": "IntSliderModel", "_view_count": None, "_view_module": "@jupyter-widgets/controls",
                "_view_module_version": "2.0.0", "_view_name": "IntSliderView", "behavior": "drag-tap",
                "continuous_update": True, "description": "n", "description_allow_html": False,
                "disabled": False, "layout": f"IPY_MODEL_{layout_id}", "max": 100, "min": 0,
                "orientation": "horizontal", "readout": True, "readout_format": "d", "step": 1,
                "style": f"IPY_MODEL_{style_id}", "tabbable": None, "tooltip": None, "value": 5}),
            button_layout_id: model("@jupyter-widgets/base", "LayoutModel", dict(layout_state, width="50%")),
            button_style_id: model("@jupyter-widgets/controls", "ButtonStyleModel", {
                "_model_module": "@jupyter-widgets/controls", "_model_module_version": "2.0.0",
                "_model_name": "ButtonStyleModel", "_view_count": None, "_view_module": "@jupyter-widgets/base",
                "_view_module_version": "2.0.0", "_view_name": "StyleView", "button_color": None,
                "font_family": None, "font_size": None, "font_style": None, "font_variant": None,
                "font_weight": None, "text_color": None, "text_decoration": None}),
            button_id: model("@jupyter-widgets/controls", "ButtonModel", {
                "_dom_classes": [], "_model_module": "@jupyter-widgets/controls", "_model_module_version": "2.0.0",
                "_model_name": "ButtonModel", "_view_count": None, "_view_module": "@jupyter-widgets/controls",
                "_view_module_version": "2.0.0", "_view_name": "ButtonView", "button_style": "",
                "description": "Run ▶", "disabled": False, "icon": "", "layout": f"IPY_MODEL_{button_layout_id}",
                "style": f"IPY_MODEL_{button_style_id}", "tabbable": None, "tooltip": "runs it"}),
        },
        "version_major": 2,
        "version_minor": 0,
    }

    def view(model_id, text):
        # What ipywidgets' Widget._repr_mimebundle_ sends.
        return ("from IPython.display import display\n"
                f"display({{'text/plain': {text!r}, 'application/vnd.jupyter.widget-view+json': "
                f"{{'version_major': 2, 'version_minor': 0, 'model_id': {model_id!r}}}}}, raw=True)")

    cells = [
        new_markdown_cell("## Widgets\nState saved by JupyterLab (*Save Widget State Automatically*)."),
        new_code_cell(view(slider_id, "IntSlider(value=5, description='n')")),
        new_code_cell(view(button_id, "Button(description='Run ▶', layout=Layout(width='50%'), style=ButtonStyle(), tooltip='runs it')")),
    ]
    nb = lab_notebook(cells, runner)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": widget_state}
    return write_nbformat(nb, "widgets.ipynb")


def markdown_raw_attachments(runner):
    png = base64.b64encode(make_png(4, 4)).decode("ascii")
    attached = new_markdown_cell(
        "A pasted image:\n\n![shot.png](attachment:shot.png)\n\nand a note ![note.txt](attachment:note.txt)",
        attachments={"shot.png": {"image/png": png}, "note.txt": {"text/plain": "first line\nsecond line\n"}},
    )
    cells = [
        attached,
        new_raw_cell("Raw reStructuredText\n====================\n\n.. note:: kept as is\n",
                     metadata={"raw_mimetype": "text/restructuredtext"}),
        new_raw_cell("\\begin{equation}x\\end{equation}", metadata={"format": "text/latex", "tags": ["latex"]}),
        new_markdown_cell(""),
        new_code_cell("alpha = 0.5\nn = 10", metadata={
            "tags": ["parameters"], "collapsed": False, "scrolled": True, "editable": True, "deletable": False,
            "jupyter": {"source_hidden": False, "outputs_hidden": False}, "wb_unknown_key": {"x": [1, 2]}}),
        new_code_cell("alpha * n", metadata={"tags": ["result", "keep"], "jupyter": {"source_hidden": True}}),
        new_markdown_cell("Closing words.", metadata={"tags": ["footer"], "slideshow": {"slide_type": "fragment"}}),
    ]
    nb = lab_notebook(cells, runner)
    return write_nbformat(nb, "markdown_raw_attachments.ipynb")


def text_edge_cases(runner):
    cells = [
        new_markdown_cell("Non-ASCII: 你好，世界 — 日本語テキスト — 한국어 — naïve café\n"
                          "Emoji: 🌏 🚀 👩‍👩‍👧 (ZWJ) 🇯🇵 (flag) e\u0301 (combining) \u00e9 (precomposed)\n"
                          "Windows line\r\nnext line\rold Mac line\u2028line separator\u2029paragraph separator\n"
                          "form\x0cfeed, vertical\x0btab, group\x1dsep, next\x85line\n"),
        new_code_cell('print("你好，世界 🌏 👩‍👩‍👧 e\\u0301")\n'
                      'print("ctrl: \\x00 \\x01 \\x07 \\x1b[31mred\\x1b[0m \\x7f \\t tab")\n'
                      'print("progress 10%\\rprogress 100%\\r\\nwindows\\r\\nlines")\n'
                      'print("ls\\u2028ps\\u2029vt\\x0bff\\x0cfs\\x1cgs\\x1drs\\x1enel\\x85end")\n'
                      'print("no trailing newline", end="")'),
        new_code_cell('s = "literal U+2028 \u2028 inside a string"\ns'),
        new_code_cell("from IPython.display import display\n"
                      'display({"text/plain": "crlf\\r\\nbody\\r\\n", "text/x-wb-custom": "a\\u2028b\\rc",\n'
                      '         "application/x-wb-binary": "QUJD"}, metadata={"wb": {"ratio": 1e-05}}, raw=True)'),
        new_code_cell("quote = '\"quoted\" \\\\ backslash / slash'\nquote", metadata={"wb": {"keys": {"Z": 1, "a": 2}}}),
    ]
    nb = lab_notebook(cells, runner)
    nb.metadata["wb_numbers"] = {
        "floats": [1e-05, 1e16, 0.1, 100.0, 0.0001, 1e15, 123456789012345680.0, 9007199254740993.0,
                   -0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.30000000000000004,
                   1.5e-07, 2.5, 1e22, 1e-300, -123.456],
        "ints": [0, -1, 9223372036854775807, -9223372036854775808, 9223372036854775808, 18446744073709551616,
                 -9223372036854775809, 123456789012345678901234567890, -99999999999999999999999],
    }
    nb.metadata["wb_text"] = {
        "": "empty key", "Z": "upper", "a": "lower", "é": "e acute", "e\u0301": "e + combining accent",
        "中文": "cjk", "😀": "emoji", "ｆｕｌｌ": "fullwidth", "\U0001f600x": "astral then x", "\uffff": "last BMP",
        "ctrl": "\x00\x01\x1f\x7f\x80\x9f", "quotes": "\"'\\/", "bools": [True, False, None], "empty": [{}, [], ""],
    }
    return write_nbformat(nb, "text_edge_cases.ipynb")


def single_string_sources(runner):
    cells = [
        new_markdown_cell("# Unsplit strings\nEvery multi-line value is one JSON string here."),
        new_code_cell('for i in range(3):\n    print(f"line {i}")'),
        new_code_cell("from IPython.display import HTML\nHTML('<ul>\\n<li>one</li>\\n<li>two</li>\\n</ul>')"),
        new_code_cell("print('tail', end='')"),
    ]
    nb = lab_notebook(cells, runner)
    # nbformat's own writer can skip splitting: this is `nbformat.write(nb, f, split_lines=False)`.
    path = os.path.join(HERE, "single_string_sources.ipynb")
    with open(path, "w", encoding="utf-8") as f:
        nbformat.write(nb, f, split_lines=False)
    return path


def old_style_lists(runner):
    """Lists where nbformat keeps strings, and strings where it splits: older writers did both."""
    png = make_png(5, 3)
    b64 = base64.encodebytes(png).decode("ascii")  # 76-character lines, as IPython 2 stored them
    cells = [
        new_code_cell(PNG_SOURCE + "\nfrom IPython.display import Image\nImage(data=make_png(5, 3))"),
        new_code_cell('print("one")\nprint("two")'),
    ]
    nb = lab_notebook(cells, runner)
    data = json.loads(nbformat.writes(nb))
    data["cells"][0]["outputs"][0]["data"]["image/png"] = b64.splitlines(True)
    data["cells"][0]["outputs"][0]["data"]["application/x-wb-lines"] = ["x\n", "y"]
    data["cells"][1]["outputs"][0]["text"] = "one\ntwo\n"
    data["cells"][1]["source"] = 'print("one")\nprint("two")'
    return write_json(data, "old_style_lists.ipynb", **NBFORMAT_STYLE)


def v44_no_ids(runner):
    cells = [
        new_markdown_cell("Written by nbformat 4.4 tooling: cells have no `id`."),
        new_code_cell("total = sum(range(10))\nprint(total)"),
        new_code_cell("total / 4"),
        new_raw_cell("raw text"),
    ]
    nb = lab_notebook(cells, runner, minor=4)
    for cell in nb.cells:
        del cell["id"]
    return write_nbformat(nb, "v44_no_ids.ipynb")


def v45_missing_ids(runner):
    cells = [
        new_markdown_cell("Some cells lost their ids (hand edits, old tools)."),
        new_code_cell("a = 1"),
        new_code_cell("b = 2\nprint(a + b)"),
        new_code_cell("a, b"),
        new_markdown_cell("The last cell repeats an earlier id."),
        new_code_cell("c = 3"),
    ]
    nb = lab_notebook(cells, runner)
    nb.cells[0].id = "intro-cell"
    del nb.cells[1]["id"]
    nb.cells[2].id = "b_cell-2"
    del nb.cells[3]["id"]
    nb.cells[4].id = "dup"
    nb.cells[5].id = "dup"
    # nbformat.write would add the missing ids, so dump as it would without repairing.
    return write_json(split_lines(copy.deepcopy(nb)), "v45_missing_ids.ipynb", **NBFORMAT_STYLE)


def foreign_writer(runner):
    cells = [
        new_markdown_cell("Saved by a tool with its own JSON style: indent 2, unsorted keys, `\\u` escapes: café ☕"),
        new_code_cell('print("ünïcödé ☕")'),
    ]
    nb = lab_notebook(cells, runner)
    data = json.loads(nbformat.writes(nb))

    def unsort(value):
        if isinstance(value, dict):
            return {k: unsort(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [unsort(v) for v in value]
        return value

    return write_json(unsort(data), "foreign_writer.ipynb", indent=2, ensure_ascii=True)


def jupytext_features(runner):
    """What jupytext's text formats treat specially, in a notebook as JupyterLab saves it."""
    skip = {"wb_skip_run": True}

    def cell(make, source, id, **kwargs):
        made = make(source, **kwargs)
        made.id = id
        return made

    cells = [
        cell(new_markdown_cell, "# Magics, parameters and friends — données naïves 📊\n\nA notebook with what real ones carry.", "title"),
        cell(new_markdown_cell, "A second markdown cell, straight after the first.", "second"),
        cell(new_code_cell, "%matplotlib inline\nimport sqlite3", "inline", metadata=dict(skip)),
        cell(new_code_cell, "import math", "imports"),
        cell(new_code_cell, "# Parameters\nrows = 5\nlabel = \"café\"", "params", metadata={"tags": ["parameters"]}),
        cell(new_code_cell, "%%sql\nSELECT name, COUNT(*) AS n\nFROM items\nWHERE label = 'é'\nGROUP BY name", "sql",
             metadata={"tags": ["query"], **skip}),
        cell(new_code_cell, "%%sql --out df\nSELECT 1 AS one", "sqlout", metadata=dict(skip)),
        cell(new_code_cell, "%%time\ntotal = sum(range(rows))\ntotal", "time"),
        cell(new_code_cell, "!ls -d / | head -3\nfiles = !ls /\nmath.sqrt?", "shell"),
        cell(new_code_cell, "", "empty-code"),
        cell(new_markdown_cell, "", "empty-md"),
        cell(new_code_cell, "def area(r):\n    \"\"\"The area of a circle.\"\"\"\n    return math.pi * r ** 2", "def"),
        cell(new_code_cell, "area(2)", "call"),
        cell(new_code_cell, "class Point:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n\n"
             "    def norm(self):\n        return math.hypot(self.x, self.y)", "class",
             metadata={"collapsed": False, "scrolled": True}),
        cell(new_code_cell, "@staticmethod\ndef decorated():\n    return 1", "decorated"),
        cell(new_code_cell, "text = \"\"\"\n# %% this is not a cell marker\n%%sql neither is this\n\"\"\"\nprint(text)", "triple"),
        cell(new_markdown_cell, "Code in markdown:\n\n```python\nprint('hi')\n```\n\n\nand two blank lines above.", "fenced"),
        cell(new_markdown_cell, "Slide one", "slide", metadata={"slideshow": {"slide_type": "slide"}, "tags": ["intro", "ünï"]}),
        cell(new_raw_cell, "\\begin{align}\ny &= x^2\n\\end{align}", "raw-latex", metadata={"raw_mimetype": "text/latex"}),
        cell(new_raw_cell, "plain raw text", "raw-plain"),
        cell(new_code_cell, "x = {\"a\": [1, 2]}  # trailing comment\nx", "meta", metadata={
            "jupyter": {"source_hidden": True, "outputs_hidden": False}, "editable": False,
            "wb": {"nested": {"deep": [1, 2.5, None, True]}}}),
        cell(new_code_cell, "%%bash\necho \"from bash\"", "bash"),
        cell(new_code_cell, "%%html\n<b>bold</b>", "html"),
        cell(new_code_cell, "print(\"last cell\")\n", "last"),
    ]
    nb = lab_notebook(cells, runner)
    nb.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
    nb.metadata["toc"] = {"base_numbering": 1, "nav_menu": {}}
    return write_nbformat(nb, "jupytext_features.ipynb")


def main():
    made = []
    makers = (rich_outputs, widgets, markdown_raw_attachments, text_edge_cases, single_string_sources,
              old_style_lists, v44_no_ids, v45_missing_ids, foreign_writer, jupytext_features)
    # Names on the command line remake only those fixtures (`make_fixtures.py jupytext_features`).
    if sys.argv[1:]:
        makers = [make for make in makers if make.__name__ in sys.argv[1:]]
    for make in makers:
        with Runner() as runner:
            made.append(make(runner))
    for path in made:
        print(f"{os.path.getsize(path):6d} {os.path.basename(path)}")


if __name__ == "__main__":
    sys.exit(main())
