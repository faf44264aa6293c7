"""tests/notebooks/display.ipynb run in a Jupyter kernel (nbclient, ipykernel): every cell's
result reaches the notebook with its rich forms, as math, the Markdown and LaTeX forms the
same rows, and its text/plain one short line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from display_forms import (
    derivation_rows_latex,
    derivation_rows_markdown,
    html_rows,
    normalised,
    solution_rows_latex,
    solution_rows_markdown,
    table_rows_latex,
    table_rows_markdown,
)

NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "display.ipynb"
KERNEL = "symconv-test"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The data bundle of each code cell's result, in order."""
    # nbclient, nbformat and ipykernel come with the test extra: a missing one fails here
    import ipykernel  # noqa: F401  (the kernel the notebook runs in)
    import nbclient
    import nbformat
    # A kernel of this interpreter (this checkout's symconv), whatever `python` is on PATH.
    spec = tmp_path_factory.mktemp("jupyter") / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "symconv tests", "language": "python"}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(spec.parent.parent))
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=120,
                                resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    bundles = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, errors
        (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
        bundles.append(dict(result.data))
    assert len(bundles) == 6
    return bundles


def _short_text(bundle: dict[str, Any], starts: str) -> None:
    plain = bundle["text/plain"]
    assert plain.startswith(starts) and "\n" not in plain and len(plain) < 200, plain


def test_a_network_shows_its_table_as_math_with_its_blocks(results: list[dict]) -> None:
    bundle = results[0]
    _short_text(bundle, "<symconv Network: input 3 x 32 x 32, 5 layers")
    markdown, latex = bundle["text/markdown"], bundle["text/latex"]
    assert latex.startswith(r"$$\begin{array}") and r"\times" in latex
    rows = table_rows_markdown(markdown)
    assert normalised(rows) == normalised(table_rows_latex(latex))
    # the rows inside the residual and the repeat, in both forms
    assert [row.split(" & ")[0] for row in rows] == [
        "", "1", "2", "2.a1", "2.a2", "3", "3.1", "3.2", "4", "5", ""]


@pytest.mark.parametrize("index, math", [(1, False), (2, True)])
def test_a_table_shows_as_html_with_its_blocks_folded(results: list[dict], index: int,
                                                      math: bool) -> None:
    bundle = results[index]
    assert bundle["text/plain"].lstrip().startswith("#")  # the text table, in a terminal
    rows, details = html_rows(bundle["text/html"])
    assert details == (0 if math else 2)
    assert ("$" in bundle["text/html"]) is math and ("$" in bundle["text/markdown"]) is math
    assert normalised(table_rows_markdown(bundle["text/markdown"])) == normalised(
        table_rows_latex(bundle["text/latex"]))
    notes = bundle["text/html"].count("<p>")  # the warnings and notes under the table
    assert len([row for row in rows if row]) + notes == len(
        table_rows_markdown(bundle["text/markdown"]))


def test_a_derivation_shows_the_same_math_in_both_forms(results: list[dict]) -> None:
    bundle = results[3]
    _short_text(bundle, "<symconv Derivation: input C_0 = 3, H_0 = 32, W_0 = 32;")
    rows = derivation_rows_latex(bundle["text/latex"])
    assert derivation_rows_markdown(bundle["text/markdown"]) == rows
    assert r"\left\lfloor" in bundle["text/latex"] and any(r.endswith("= 32") for r in rows)


@pytest.mark.parametrize("index, answer", [
    (4, "P = 3"),
    (5, r"P = H - \frac{W}{2} + 1 & \text{for } W\text{ even}"),  # cases
])
def test_a_solution_shows_its_answer_as_math(results: list[dict], index: int,
                                             answer: str) -> None:
    bundle = results[index]
    _short_text(bundle, "<symconv Solution for P: ")
    markdown, latex = bundle["text/markdown"], bundle["text/latex"]
    assert "```" not in markdown and markdown.startswith("$$\n\\begin{gathered}")
    assert solution_rows_markdown(markdown) == solution_rows_latex(latex)
    assert answer in markdown.split("\n\n")[0]  # the answer first, as display math
