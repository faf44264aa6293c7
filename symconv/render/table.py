"""Renderers of the per-layer table: aligned text, JSON, Markdown and LaTeX (booktabs)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sympy

from symconv.network import LayerRecord, Network, Unused
from symconv.present.latex import escape_text, latex
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
    return [
        [label, _indent(label) + r.kind, text_shape(r.output_shape),
         _reused(r) or text_value(r.params),
         text_value(r.neurons), text_value(r.connections), text_value(r.macs)]
        for label, r in flat_rows(records)
    ]


def _reused(r: LayerRecord) -> str:
    """'reused' in the params column of a layer whose parameters are counted at another."""
    return "reused" if r.shared is not None and r.shared.reuse else ""


def _indent(label: str) -> str:
    return "  " * label.count(".")


def _total(records: Sequence[LayerRecord], field: str) -> sympy.Expr:
    return sympy.sympify(sum((getattr(r, field) for r in records), sympy.Integer(0)), strict=True)


def table_text(network: Network, records: Sequence[LayerRecord]) -> str:
    """An aligned table in the manner of a torchinfo summary, with totals."""
    totals = ["", "total", "", *(text_value(_total(records, f))
                                 for f in ("params", "neurons", "connections", "macs"))]
    input_shape = records[0].input_shape if records else network.input_shape
    rows = [["", "input", text_shape(input_shape), "", "", "", ""], *_rows(records)]
    table = aligned_table(COLUMNS, rows, left=("layer", "output shape"), footer=totals)
    notes = [*_notes(records), *(unused_note(u) for u in network.unused_parameters)]
    return table + "".join(f"{note}\n" for note in notes)


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
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for label, r in flat_rows(records):
        cells = [label, _indent(label).replace(" ", "&nbsp;") + r.kind, _md_shape(r.output_shape),
                 _reused(r) or _md(r.params), *(_md(v) for v in (r.neurons, r.connections, r.macs))]
        lines.append("| " + " | ".join(cells) + " |")
    totals = [_md(_total(records, f)) for f in ("params", "neurons", "connections", "macs")]
    lines.append("| | **total** | | " + " | ".join(totals) + " |")
    lines += [f"\n{escape_markdown(unused_note(u))}" for u in network.unused_parameters]
    return "\n".join(lines) + "\n"


def _md(value: sympy.Expr) -> str:
    v = sympy.sympify(value, strict=True)
    return str(v) if v.is_Integer else f"${expression_latex(v)}$"


def _md_shape(shape: Sequence[sympy.Expr]) -> str:
    if all(sympy.sympify(v, strict=True).is_Integer for v in shape):
        return " × ".join(str(v) for v in shape)
    return f"${shape_latex(shape)}$"


def table_latex(network: Network, records: Sequence[LayerRecord]) -> str:
    """A booktabs tabular with every entry in math mode."""
    head = " & ".join(COLUMNS).replace("#", r"\#")
    lines = [r"\begin{tabular}{rllrrrr}", r"\toprule", head + r" \\", r"\midrule"]
    for label, r in flat_rows(records):
        shape = shape_latex(r.output_shape)
        kind = r"\texttt{" + escape_text(r.kind) + "}"
        params = params_latex(r) if _reused(r) else f"${params_latex(r)}$"
        cells = [label, r"\quad" * label.count(".") + kind, f"${shape}$", params,
                 *(f"${value_latex(v)}$" for v in (r.neurons, r.connections, r.macs))]
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\midrule")
    totals = [f"${value_latex(_total(records, f))}$"
              for f in ("params", "neurons", "connections", "macs")]
    lines.append(" & total & & " + " & ".join(totals) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"\n{escape_text(unused_note(u))}" for u in network.unused_parameters]
    return "\n".join(lines) + "\n"


def params_latex(r: LayerRecord) -> str:
    """A layer's parameter count as the LaTeX tables write it (math, or 'reused')."""
    return r"\textit{reused}" if _reused(r) else value_latex(r.params)


RENDERERS = {
    "text": table_text,
    "json": table_json,
    "markdown": table_markdown,
    "latex": table_latex,
}


def table_math(network: Network, records: Sequence[LayerRecord]) -> str:
    """The per-layer table as one display-math array (what Jupyter's MathJax can show)."""
    def row(cells: Sequence[str]) -> str:
        return " & ".join(cells) + r" \\"

    input_shape = records[0].input_shape if records else network.input_shape
    lines = [r"$$\begin{array}{rllrrrr}",
             row([r"\text{" + escape_text(c) + "}" for c in COLUMNS]), r"\hline",
             row(["", r"\text{input}", shape_latex(input_shape), "", "", "", ""])]
    for r in records:
        lines.append(row([str(r.index), r"\text{" + escape_text(r.kind) + "}",
                          shape_latex(r.output_shape),
                          params_latex(r).replace(r"\textit", r"\text"),
                          *(latex(v) for v in (r.neurons, r.connections, r.macs))]))
    totals = [latex(sum((getattr(r, f) for r in records), sympy.Integer(0)))
              for f in ("params", "neurons", "connections", "macs")]
    lines += [r"\hline", row(["", r"\text{total}", "", *totals]), r"\end{array}$$"]
    lines += [escape_text(unused_note(u)) for u in network.unused_parameters]
    return "\n".join(lines)
