"""Display forms agree and survive: the unit a region or a figure is asked for is one check;
Table, Derivation and Solution pickle and deep-copy to equal objects that print the same."""

from __future__ import annotations

import copy
import html
import pickle
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import symconv
from symconv.present.latex import escape_text, math_text
from symconv.render.markdown import escape_markdown
from symconv.render.table import column_keys, header, table_latex, table_notes
from symconv.render.table_object import Table

NET = symconv.parse("input 3 x H x W\nconv 64 k=7 s=2 p=3\nmaxpool k=3 s=2 p=1\n"
                    "conv 128 k=3 s=2 p=1\nadaptive_avgpool 1\nflatten\nlinear 10")


@pytest.mark.parametrize(("layer", "unit", "message"), [
    (1, (-1, 0), "unit H = -1 is not a unit of this layer, whose output H has units 0 to 15"),
    (1, (0, 16), "unit W = 16 is not a unit of this layer, whose output W has units 0 to 15"),
    (1, (10**30, 0), f"unit H = {10**30} is not a unit of this layer, whose output H has "
                     "units 0 to 15"),
    (3, (4, 0), "unit H = 4 is not a unit of this layer, whose output H has units 0 to 3"),
    (2, (0,), "the unit takes one index per spatial axis (H, W), got 1"),
    (2, (0, 0, 0), "the unit takes one index per spatial axis (H, W), got 3"),
])
def test_region_refuses_the_units_draw_refuses(layer: int, unit: tuple[int, ...],
                                               message: str) -> None:
    for ask in (lambda: NET.region(layer, unit, H=32, W=32),
                lambda: NET.draw(layer, unit, H=32, W=32)):
        with pytest.raises(symconv.ShapeError) as error:
            ask()
        assert message in str(error.value)
        assert f"layer {layer} (" in str(error.value)


@pytest.mark.parametrize(("unit", "expected"), [
    ((0, 0), ((-3, 3), (-3, 3))),
    ((15, 15), ((27, 33), (27, 33))),
])
def test_region_of_a_unit_that_exists(unit: tuple[int, int], expected: object) -> None:
    assert NET.region(1, unit, H=32, W=32) == expected


def test_region_with_symbolic_sizes_refuses_only_what_is_certainly_outside() -> None:
    assert NET.region(1, (5, 0))[0] == (7, 13)
    with pytest.raises(symconv.ShapeError, match="unit H = -1 is not a unit"):
        NET.region(1, (-1, 0))


# ---------------------------------------------------------------- pickle and deepcopy

EXAMPLES = Path(__file__).parent.parent / "examples"
SMALL = ("lenet5", "symbolic", "audio1d", "seed_conv")


def _objects() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name in SMALL:
        net = symconv.parse((EXAMPLES / f"{name}.net").read_text(encoding="utf-8"))
        found += [(f"{name} network", net), (f"{name} table", net.table(batch="N"))]
        if name in ("lenet5", "audio1d"):
            found.append((f"{name} derivation", symconv.derive(net)))
    upsampled = symconv.parse("input 3 x H x W\nconv 8 k=3 s=2\nrepeat N { conv 8 k=3 }\n"
                              "upsample scale_factor=2")
    found += [
        ("no solution", symconv.solve(upsampled, "W", "7", H=32, N=1)),
        ("symbolic solution", symconv.solve("input 3 x H x W\nconv 8 k=K p=P", "P", "H")),
        ("numeric solution", symconv.solve("input 3 x 32 x W\nconv 8 k=3 s=2", "W", "15")),
        ("derivation with numbers", symconv.derive(upsampled, H=32, W=40, N=2)),
    ]
    return found


OBJECTS = _objects()


@pytest.mark.parametrize(("name", "obj"), OBJECTS, ids=[n for n, _ in OBJECTS])
def test_pickle_and_deepcopy_keep_the_object_and_its_forms(name: str, obj: object) -> None:
    forms = [str]
    forms += [getattr(type(obj), m) for m in ("_repr_markdown_", "_repr_latex_")
              if hasattr(obj, m)]
    for copied in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj)):
        assert type(copied) is type(obj)
        assert copied == obj
        for form in forms:
            assert form(copied) == form(obj), form


# ---------------------------------------------------------------- notes and columns

NOTED = {
    "warnings": "input 3 x H_1 x W\nconv 4 k=1 s=3",
    "blocks": "input 3 x 16 x W\nconv 8 k=3 p=1\nresidual { conv 8 k=3 p=1\nrelu } shortcut "
              "{ conv 8 k=1 }\nconcat { conv 4 k=1 } { maxpool k=3 s=1 p=1 }\n"
              "repeat 2 { conv 12 k=3 s=2 p=1 }\nflatten\nlinear 10",
    "specials": "input 3 x 224 x 224\nconv 96 k=11 s=4\nmaxpool k=3 s=2",
}
SPECS: list[tuple[object, dict[str, object]]] = [
    (None, {}),
    ("all", {}),
    ("memory", {"dtype": "float16", "batch": "N"}),
    (["params", "trainable"], {}),
    (None, {"batch": 8}),
    (["params", "param_bytes"], {"dtype": "float16", "batch": "N"}),
]


def _forms(table: Table) -> dict[str, str]:
    return {"text": str(table), "markdown": table._repr_markdown_(),
            "latex": table_latex(table.network, table, table.columns, table.memory),
            "html": table._repr_html_(), "jupyter": table._repr_latex_()}


@pytest.mark.parametrize("name", NOTED)
@pytest.mark.parametrize(("columns", "memory"), SPECS)
def test_every_form_carries_the_same_notes(name: str, columns: object,
                                           memory: dict[str, object]) -> None:
    table = symconv.parse(NOTED[name]).table(columns=columns, **memory)
    notes = table_notes(table.network, table, table.columns, table.memory)
    if name != "blocks":
        assert notes
    if table.columns is not None and set(table.columns) & {"trainable", "param_bytes"}:
        assert [n for n in notes if n.startswith("parameters: ")]
        assert [n for n in notes if n.startswith("memory for ")]
    forms = _forms(table)
    written = {"text": lambda n: " ".join(n.split()), "markdown": escape_markdown,
               "latex": escape_text, "html": html.escape, "jupyter": math_text}
    for form, text in forms.items():
        shown = " ".join(text.split()) if form == "text" else text
        for note in notes:
            assert written[form](note) in shown, (form, note)
    # Jupyter: everything inside one display, and no text-mode macro inside \text, which
    # MathJax would show as written
    jupyter = forms["jupyter"]
    assert jupyter.startswith("$$") and jupyter.endswith("$$") and jupyter.count("$$") == 2
    assert not re.search(r"\\text\{[^}]*\\", jupyter), jupyter


@pytest.mark.parametrize(("columns", "memory"), SPECS)
def test_a_table_shows_the_columns_it_was_asked_for_in_every_form(
        columns: object, memory: dict[str, object]) -> None:
    table = symconv.parse(NOTED["warnings"]).table(columns=columns, **memory)
    keys = column_keys(columns)
    if keys is None and memory:
        keys = column_keys("memory")
    titles = header(keys)
    assert table.columns == keys
    assert list(table.to_dicts()[0]) == list(titles)
    assert list(table.to_pandas().columns) == list(titles)
    assert table._repr_markdown_().startswith("| " + " | ".join(titles) + " |\n")
    # a table too wide for the terminal lists each row's cells that hold something (a
    # description's layers have no module name)
    text = str(table)
    assert all(t in text for t in titles[2:] if t != "module")
    assert all(f"<th>{html.escape(t)}</th>" in table._repr_html_() for t in titles)
    copied = pickle.loads(pickle.dumps(table))
    assert (copied.columns, copied.memory, str(copied)) == (table.columns, table.memory,
                                                            str(table))


@pytest.mark.parametrize(("columns", "error", "message"), [
    (["parms"], symconv.UnknownNameError, "no column 'parms'; did you mean 'params'?"),
    ("params,bytes", symconv.UnknownNameError, "no column 'bytes'"),
    (5, symconv.InvalidValueError, "columns: expected column names such as ['params', "
                                   "'param_bytes'], 'all' or 'memory'; got int 5"),
    ([1], symconv.InvalidValueError, "got list [1]"),
])
def test_columns_that_do_not_exist_are_refused(columns: object, error: type,
                                               message: str) -> None:
    with pytest.raises(error) as raised:
        symconv.parse(NOTED["warnings"]).table(columns=columns)
    assert message in str(raised.value)


@pytest.mark.parametrize("form", ["latex", "jupyter"])
def test_the_latex_forms_compile_and_read_as_the_notes(pdflatex: str, tmp_path: Path,
                                                       form: str) -> None:
    """The booktabs table and the Jupyter display (as nbconvert sets it, with amsmath) of a
    table whose notes hold < and _ compile, and the PDF reads as the notes."""
    table = symconv.parse(NOTED["warnings"]).table(columns="memory")
    body = _forms(table)[form]
    source = ("\\documentclass{article}\\usepackage{amsmath,booktabs}\\usepackage[landscape]"
              "{geometry}\\begin{document}\n" + body + "\n\\end{document}\n")
    (tmp_path / "t.tex").write_text(source, encoding="utf-8")
    run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        return
    shown = " ".join(subprocess.run([pdftotext, "t.pdf", "-"], cwd=tmp_path,
                                    capture_output=True, text=True, check=True).stdout.split())
    assert "(kernel 1 < stride 3)" in shown
    assert "parameters: 16 trainable, 0 non-trainable" in shown
