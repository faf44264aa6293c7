"""Renderers of the per-layer table: aligned text, JSON, Markdown and LaTeX (booktabs)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, TypeAlias

import sympy

from symconv.network import LayerRecord, Network, Unused
from symconv.present.latex import escape_text
from symconv.present.values import (
    json_list,
    json_value,
    row_label,
    shape_latex,
    text_shape,
    text_value,
    value_latex,
)
from symconv.present.words import expression_latex
from symconv.render.columns import aligned_table
from symconv.render.markdown import escape_markdown

COLUMNS = ("#", "layer", "output shape", "params", "neurons", "connections", "macs")
# The columns summed in the footer, and the field of LayerRecord each sums.
TOTALS = {"params": "params", "neurons": "neurons", "connections": "connections", "macs": "macs"}
# One cell after a row's label and layer: a shape (tuple), a value (SymPy or int), or words
# (str) shown as they are. Every renderer (text, Markdown, LaTeX, HTML, to_dicts) formats
# these, so a column added here shows everywhere.
Cell: TypeAlias = tuple[Any, ...] | sympy.Expr | int | str


def row_cells(r: LayerRecord) -> list[Cell]:
    """A row's cells, one per column of COLUMNS after '#' and 'layer'."""
    return [r.output_shape, _reused(r) or r.params, r.neurons, r.connections, r.macs]


def total_cells(records: Sequence[LayerRecord]) -> list[Cell]:
    """The footer's cells, one per column after '#' and 'layer' ('' where nothing is summed)."""
    return [_total(records, TOTALS[name]) if name in TOTALS else "" for name in COLUMNS[2:]]


def text_cell(cell: Cell) -> str:
    """A cell as the text table writes it."""
    if isinstance(cell, str):
        return cell
    return text_shape(cell) if isinstance(cell, tuple) else text_value(cell)


def flat_rows(records: Sequence[LayerRecord], parent: str = "") -> list[tuple[str, LayerRecord]]:
    """Every row with its label, a block's rows after it: 3, 3.1, 3.2 for a repeated block;
    3.a1, 3.b1 for the branches of residual (a: body, b: shortcut) and concat."""
    rows = []
    for r in records:
        label = row_label(parent, r.index, r.path)
        rows.append((label, r))
        rows += flat_rows(r.children, label)
    return rows


def _json_row(r: LayerRecord) -> dict[str, Any]:
    row: dict[str, Any] = {
        "index": r.index,
        "kind": r.kind,
        "output_shape": json_list(r.output_shape),
        "params": json_value(r.params),
        "neurons": json_value(r.neurons),
        "connections": json_value(r.connections),
        "macs": json_value(r.macs),
        "receptive_field": json_list(r.receptive_field),
        "jump": json_list(r.jump),
        "start": json_list(r.start),
    }
    if r.path:
        row["path"] = r.path
    if r.children:
        row["children"] = [_json_row(child) for child in r.children]
    if r.aligned is not None:
        row["aligned"] = r.aligned if isinstance(r.aligned, bool) else sympy.sstr(r.aligned)
    if r.condition is not None:
        row["condition"] = sympy.sstr(r.condition)
    if r.shared is not None:
        row["shared"] = r.shared.name
        row["reused"] = r.shared.reuse
    return row


def table_json(network: Network, records: Sequence[LayerRecord]) -> str:
    """The JSON form: input, one entry per layer (a block's layers nested under
    "children"), output shape, total parameters."""
    layers = [_json_row(r) for r in records]
    document: dict[str, Any] = {
        "input": json_list(records[0].input_shape if records else network.input_shape),
        "layers": layers,
        "output_shape": json_list(records[-1].output_shape if records else ()),
        "params": json_value(sum((r.params for r in records), sympy.Integer(0))),
    }
    if network.unused_parameters:
        document["not_counted"] = [{"path": u.path, "params": u.params, "module": u.module}
                                   for u in network.unused_parameters]
    return json.dumps(document, indent=2) + "\n"


def _rows(records: Sequence[LayerRecord]) -> list[list[str]]:
    return [[label, _indent(label) + r.kind, *map(text_cell, row_cells(r))]
            for label, r in flat_rows(records)]


def _reused(r: LayerRecord) -> str:
    """'reused' in the params column of a layer whose parameters are counted at another."""
    return "reused" if r.shared is not None and r.shared.reuse else ""


def _indent(label: str) -> str:
    return "  " * label.count(".")


def _total(records: Sequence[LayerRecord], field: str) -> sympy.Expr:
    return sympy.sympify(sum((getattr(r, field) for r in records), sympy.Integer(0)), strict=True)


def table_text(network: Network, records: Sequence[LayerRecord]) -> str:
    """An aligned table in the manner of a torchinfo summary, with totals."""
    totals = ["", "total", *map(text_cell, total_cells(records))]
    input_shape = records[0].input_shape if records else network.input_shape
    rows = [["", "input", *map(text_cell, input_cells(input_shape))], *_rows(records)]
    table = aligned_table(COLUMNS, rows, left=("layer", "output shape"), footer=totals)
    notes = [*_notes(records), *(unused_note(u) for u in network.unused_parameters)]
    return table + "".join(f"{note}\n" for note in notes)


def input_cells(shape: Sequence[Any]) -> list[Cell]:
    """The input row's cells after '#' and 'layer': its shape under "output shape"."""
    return [tuple(shape) if name == "output shape" else "" for name in COLUMNS[2:]]


def unused_note(unused: Unused) -> str:
    """The line that says which parameters of a torch model no total counts, and why."""
    count = f"{unused.params:,} parameter{'' if unused.params == 1 else 's'}"
    if unused.module:
        return f"not counted: '{unused.path}' ({count}) is never called by the forward"
    return f"not counted: the tensor '{unused.path}' ({count}) is never used by the forward"


def _notes(records: Sequence[LayerRecord]) -> list[str]:
    """Conditions under which a block's branches agree, and branches that are not aligned."""
    from symconv.engine.blocks import describe

    notes = []
    rows = flat_rows(records)
    for label, r in rows:
        if r.shared is not None and r.shared.reuse:
            name = r.shared.name
            first = next(x for x, o in rows if o.shared is not None and o.shared.name == name)
            notes.append(f"{label} {r.kind}: reuses the parameters of '{name}' (row {first}), "
                         "counted there")
        if r.condition is not None:
            notes.append(f"{label} {r.kind}: the branches' shapes agree only where "
                         f"{describe(r.condition)}")
        if r.aligned is not None and r.aligned is not True:
            where = "" if r.aligned is False else f" except where {describe(r.aligned)}"
            notes.append(f"{label} {r.kind}: the branches centre their units differently"
                         f"{where} (not aligned)")
    return notes


def table_markdown(network: Network, records: Sequence[LayerRecord]) -> str:
    """A GitHub-flavoured Markdown table with $…$ math for symbolic entries."""
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    input_shape = records[0].input_shape if records else network.input_shape
    lines = [line(COLUMNS), "|" + "---|" * len(COLUMNS),
             line(["", "input", *map(markdown_cell, input_cells(input_shape))])]
    for label, r in flat_rows(records):
        kind = _indent(label).replace(" ", "&nbsp;") + escape_markdown(r.kind)
        lines.append(line([label, kind, *map(markdown_cell, row_cells(r))]))
    lines.append(line(["", "**total**", *map(markdown_cell, total_cells(records))]))
    lines += [f"\n{escape_markdown(unused_note(u))}" for u in network.unused_parameters]
    return "\n".join(lines) + "\n"


def markdown_cell(cell: Cell) -> str:
    """A cell in Markdown (and HTML): numbers as they are, anything symbolic as $…$ math."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, tuple):
        if all(sympy.sympify(v, strict=True).is_Integer for v in cell):
            return " × ".join(str(v) for v in cell)
        return f"${shape_latex(cell)}$"
    v = sympy.sympify(cell, strict=True)
    return str(v) if v.is_Integer else f"${expression_latex(v)}$"


def latex_cell(cell: Cell) -> str:
    """A cell in LaTeX math (words as \\text)."""
    if isinstance(cell, str):
        return r"\text{" + escape_text(cell) + "}" if cell else ""
    return shape_latex(cell) if isinstance(cell, tuple) else value_latex(cell)


def table_latex(network: Network, records: Sequence[LayerRecord]) -> str:
    """A booktabs tabular with every entry in math mode."""
    head = " & ".join(COLUMNS).replace("#", r"\#")
    spec = "rl" + "".join("l" if name == "output shape" else "r" for name in COLUMNS[2:])
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", head + r" \\", r"\midrule"]
    for label, r in flat_rows(records):
        kind = r"\texttt{" + escape_text(r.kind) + "}"
        cells = [label, r"\quad" * label.count(".") + kind, *map(_tabular_cell, row_cells(r))]
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\midrule")
    totals = ["", "total", *map(_tabular_cell, total_cells(records))]
    lines.append(re.sub(r"&  (?=&)", "& ", " & ".join(totals)) + r" \\")  # '& &' if empty
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"\n{escape_text(unused_note(u))}" for u in network.unused_parameters]
    return "\n".join(lines) + "\n"


def params_latex(r: LayerRecord) -> str:
    """A layer's parameter count as the LaTeX tables write it (math, or 'reused')."""
    return r"\textit{reused}" if _reused(r) else value_latex(r.params)


def _tabular_cell(cell: Cell) -> str:
    """A cell of the booktabs table: words in italics, values in math mode."""
    if isinstance(cell, str):
        return r"\textit{" + escape_text(cell) + "}" if cell else ""
    return f"${latex_cell(cell)}$"


RENDERERS = {
    "text": table_text,
    "json": table_json,
    "markdown": table_markdown,
    "latex": table_latex,
}


def table_math(network: Network, records: Sequence[LayerRecord]) -> str:
    """The per-layer table as one display-math array (what Jupyter's MathJax can show): the
    same rows as the Markdown table, a block's rows (3.1, 3.a1, ...) after it, indented."""
    def row(cells: Sequence[str]) -> str:
        return " & ".join(cells) + r" \\"

    input_shape = records[0].input_shape if records else network.input_shape
    spec = "rl" + "".join("l" if name == "output shape" else "r" for name in COLUMNS[2:])
    lines = [rf"$$\begin{{array}}{{{spec}}}",
             row([r"\text{" + escape_text(c) + "}" for c in COLUMNS]), r"\hline",
             row(["", r"\text{input}", *map(latex_cell, input_cells(input_shape))])]
    for label, r in flat_rows(records):
        kind = r"\quad " * label.count(".") + r"\text{" + escape_text(r.kind) + "}"
        lines.append(row([label, kind, *map(latex_cell, row_cells(r))]))
    lines += [r"\hline", row(["", r"\text{total}", *map(latex_cell, total_cells(records))]),
              r"\end{array}$$"]
    lines += [escape_text(unused_note(u)) for u in network.unused_parameters]
    return "\n".join(lines)
