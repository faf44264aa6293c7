"""Renderers of the per-layer table: aligned text, JSON, Markdown and LaTeX (booktabs).

The columns a table can show are one list, ALL_COLUMNS: each says its header, its JSON key
and how to read its value from a LayerRecord, so that every renderer (text, Markdown, LaTeX,
HTML) shows the same columns in the same order. `symconv table --columns` and the
renderers' `columns` argument choose among them by key; DEFAULT_COLUMNS is what a table
shows unless told.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import sympy

from symconv.engine.guards import notes as warning_notes
from symconv.engine.statistics import Memory
from symconv.network import LayerRecord, Network, Unused
from symconv.present.latex import escape_text, math_text
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
from symconv.render.columns import aligned_table, wrap_line
from symconv.render.markdown import escape_markdown


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the per-layer table. `value` reads it from a record: a SymPy value, a
    shape (a tuple, shown C x H x W) or text; `total` says whether the footer sums it."""

    key: str
    title: str
    value: Callable[[LayerRecord], Any]
    total: bool = False
    help: str = ""


ALL_COLUMNS: tuple[Column, ...] = (
    Column("name", "module", lambda r: r.name,
           help="the module's name in a torch model (layer2.0.conv1)"),
    Column("depth", "depth", lambda r: sympy.Integer(r.depth),
           help="nesting depth: module path components, or blocks around a row, plus 1"),
    Column("output_shape", "output shape", lambda r: r.output_shape),
    Column("kernel_shape", "kernel shape", lambda r: r.kernel_shape,
           help="the weight's shape, as PyTorch holds it (out x in/groups x kernel)"),
    Column("params", "params", lambda r: r.params, total=True),
    Column("trainable", "trainable", lambda r: r.trainable, total=True,
           help="parameters with requires_grad (every parameter of a description)"),
    Column("non_trainable", "non-trainable", lambda r: r.non_trainable, total=True,
           help="parameters with requires_grad=False (from_torch); buffers count nowhere"),
    Column("neurons", "neurons", lambda r: r.neurons, total=True),
    Column("connections", "connections", lambda r: r.connections, total=True),
    Column("macs", "macs", lambda r: r.macs, total=True),
    Column("param_bytes", "param bytes", lambda r: r.param_bytes, total=True,
           help="parameters x bytes per element of --dtype"),
    Column("activation_bytes", "forward bytes", lambda r: r.activation_bytes, total=True,
           help="the layer's output (neurons) x --batch x bytes per element"),
    Column("backward_bytes", "fwd+bwd bytes", lambda r: 2 * r.activation_bytes, total=True,
           help="twice the forward bytes: a gradient of each activation's size"),
)
COLUMN_KEYS = tuple(c.key for c in ALL_COLUMNS)
DEFAULT_COLUMNS = ("output_shape", "params", "neurons", "connections", "macs")
MEMORY_COLUMNS = ("param_bytes", "activation_bytes", "backward_bytes")
# The headers of the default table (label, layer, then the default columns).
COLUMNS = ("#", "layer", *(c.title for c in ALL_COLUMNS if c.key in DEFAULT_COLUMNS))
# One cell after a row's label and layer: a shape (tuple), a value (SymPy or int), or words
# (str) shown as they are. Every renderer (text, Markdown, LaTeX, HTML, to_dicts) formats
# the cells of the chosen columns, so a column added to ALL_COLUMNS shows everywhere.
Cell: TypeAlias = tuple[Any, ...] | sympy.Expr | int | str


def chosen(keys: Sequence[str] | None) -> tuple[Column, ...]:
    """The columns named by `keys` (None: the default ones), in the order given."""
    from symconv.errors import InvalidValueError, UnknownNameError, did_you_mean

    by_key = {c.key: c for c in ALL_COLUMNS}
    picked = []
    for key in DEFAULT_COLUMNS if keys is None else keys:
        if key not in by_key:
            raise UnknownNameError(f"no column '{key}'{did_you_mean(key, COLUMN_KEYS)} (the "
                                   f"columns: {', '.join(COLUMN_KEYS)})")
        if by_key[key] in picked:
            raise InvalidValueError(f"the column '{key}' is asked for twice")
        picked.append(by_key[key])
    if not picked:
        raise InvalidValueError(f"no columns asked for (the columns: {', '.join(COLUMN_KEYS)})")
    return tuple(picked)


MEMORY_SET = ("output_shape", "params", "trainable", "non_trainable", *MEMORY_COLUMNS)


def column_keys(spec: object) -> tuple[str, ...] | None:
    """The column keys a table is asked for: None (the default columns), 'all', 'memory'
    (shape, parameters and the memory columns), a comma-separated list, or a list of keys;
    an unknown key is refused with the names there are."""
    from symconv.algebra.symbols import describe, short
    from symconv.errors import InvalidValueError

    if spec is None:
        return None
    if isinstance(spec, str):
        keys = [key.strip().replace("-", "_") for key in spec.split(",")]
        if "" in keys:
            raise InvalidValueError(f"--columns: expected column names separated by commas, "
                                    f"got '{short(spec)}' (the columns: {', '.join(COLUMN_KEYS)})")
    elif isinstance(spec, list | tuple) and all(isinstance(k, str) for k in spec):
        keys = [key.replace("-", "_") for key in spec]
    else:
        raise InvalidValueError(f"columns: expected column names such as ['params', "
                                f"'param_bytes'], 'all' or 'memory'; got {describe(spec)}")
    if keys == ["all"]:
        return COLUMN_KEYS
    if keys == ["memory"]:
        return MEMORY_SET
    return tuple(c.key for c in chosen(keys))


def shows_memory(columns: Sequence[str] | None) -> bool:
    """Whether a table of these columns says its memory totals under it (it does when it
    shows a memory or a trainable column)."""
    return columns is not None and bool(
        set(columns) & {*MEMORY_COLUMNS, "trainable", "non_trainable"})


def table_notes(network: Network, records: Sequence[LayerRecord],
                columns: Sequence[str] | None = None, memory: Memory | None = None,
                separators: bool = True) -> list[str]:
    """The lines under a table, the same in every form: warnings, conditions, reused and
    unused parameters, and (for a table with memory columns) the memory summary."""
    notes = [*row_notes(records), *(unused_note(u) for u in network.unused_parameters)]
    if memory is not None and shows_memory(columns):
        notes += memory_summary(records, memory, separators)
    return notes


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
        "depth": r.depth,
        "kernel_shape": json_list(r.kernel_shape),
        "trainable": json_value(r.trainable),
        "non_trainable": json_value(r.non_trainable),
        "param_bytes": json_value(r.param_bytes),
        "activation_bytes": json_value(r.activation_bytes),
    }
    if r.name:
        row["name"] = r.name
    if r.warnings:
        row["warnings"] = [{"kind": w.guard.value, "axis": w.axis,
                            "count": None if w.count is None else json_value(w.count),
                            "text": w.text} for w in r.warnings]
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


def table_json(network: Network, records: Sequence[LayerRecord],
               memory: Memory | None = None) -> str:
    """The JSON form: input, one entry per layer (a block's layers nested under
    "children"), output shape, total parameters; the memory totals for the dtype and batch
    the records were made for."""
    layers = [_json_row(r) for r in records]
    document: dict[str, Any] = {
        "input": json_list(records[0].input_shape if records else network.input_shape),
        "layers": layers,
        "output_shape": json_list(records[-1].output_shape if records else ()),
        "params": json_value(sum((r.params for r in records), sympy.Integer(0))),
    }
    if memory is not None:
        document["memory"] = {
            "dtype": memory.dtype, "batch": json_value(memory.batch),
            **{c.key: json_value(_total(records, c)) for c in chosen(MEMORY_COLUMNS)}}
    if network.unused_parameters:
        document["not_counted"] = [{"path": u.path, "params": u.params, "module": u.module}
                                   for u in network.unused_parameters]
    return json.dumps(document, indent=2) + "\n"


def row_cells(r: LayerRecord, columns: Sequence[str] | None = None) -> list[Cell]:
    """A row's cells, one per chosen column ('reused' for the parameters counted at
    another layer)."""
    return [_reused(r) if c.key == "params" and _reused(r) else c.value(r)
            for c in chosen(columns)]


def total_cells(records: Sequence[LayerRecord], columns: Sequence[str] | None = None
                ) -> list[Cell]:
    """The footer's cells, one per chosen column ('' where nothing is summed)."""
    return [_total(records, c) if c.total else "" for c in chosen(columns)]


def input_cells(shape: Sequence[Any], columns: Sequence[str] | None = None) -> list[Cell]:
    """The input row's cells: its shape under "output shape"."""
    return [tuple(shape) if c.key == "output_shape" else "" for c in chosen(columns)]


def text_cell(cell: Cell, separators: bool = True) -> str:
    """A cell as the text table writes it: a shape as C x H x W, a whole number with
    thousands separators (where asked), anything else presented."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, tuple):
        return text_shape(cell) if cell else ""
    v = sympy.sympify(cell, strict=True)
    if separators and v.is_Integer:
        return f"{int(v):,}"
    return text_value(v)


def markdown_cell(cell: Cell) -> str:
    """A cell in Markdown (and HTML): numbers as they are, anything symbolic as $…$ math."""
    if isinstance(cell, str):
        return escape_markdown(cell)
    if isinstance(cell, tuple):
        if not cell:
            return ""
        if all(sympy.sympify(v, strict=True).is_Integer for v in cell):
            return " × ".join(str(v) for v in cell)
        return f"${shape_latex(cell)}$"
    v = sympy.sympify(cell, strict=True)
    return str(v) if v.is_Integer else f"${expression_latex(v)}$"


def latex_cell(cell: Cell) -> str:
    """A cell in LaTeX math (words as \\text, see math_text)."""
    if isinstance(cell, str):
        return math_text(cell)
    if isinstance(cell, tuple):
        return shape_latex(cell) if cell else ""
    return value_latex(cell)


def _reused(r: LayerRecord) -> str:
    """'reused' in the params column of a layer whose parameters are counted at another."""
    return "reused" if r.shared is not None and r.shared.reuse else ""


def _indent(label: str) -> str:
    return "  " * label.count(".")


def _nested(r: LayerRecord, cells: Sequence[Any], columns: Sequence[str] | None,
            step: str) -> list[Any]:
    """The row's cells with its module name indented by its depth (`step` per level), as
    torchinfo indents its names."""
    return [step * (r.depth - 1) + cell if c.key == "name" and cell else cell
            for c, cell in zip(chosen(columns), cells, strict=True)]


def _total(records: Sequence[LayerRecord], column: Column | str) -> sympy.Expr:
    read = column.value if isinstance(column, Column) else (
        lambda r: getattr(r, column))
    return sympy.sympify(sum((read(r) for r in records), sympy.Integer(0)), strict=True)


def header(columns: Sequence[str] | None) -> tuple[str, ...]:
    """The table's headers: #, layer, then the chosen columns' titles."""
    return ("#", "layer", *(c.title for c in chosen(columns)))


def table_text(network: Network, records: Sequence[LayerRecord],
               columns: Sequence[str] | None = None, separators: bool = True,
               memory: Memory | None = None) -> str:
    """An aligned table in the manner of a torchinfo summary, with totals (whole numbers
    with thousands separators unless `separators` is False), then its notes: warnings,
    conditions, reused and unused parameters, and the memory summary where the columns
    show memory (see table_notes)."""
    def cells(row: Sequence[Cell]) -> list[str]:
        return [text_cell(c, separators) for c in row]

    totals = ["", "total", *cells(total_cells(records, columns))]
    input_shape = records[0].input_shape if records else network.input_shape
    rows = [["", "input", *cells(input_cells(input_shape, columns))],
            *([label, _indent(label) + r.kind, *cells(_nested(r, row_cells(r, columns),
                                                              columns, "  "))]
              for label, r in flat_rows(records))]
    left = ("layer", "output shape", "kernel shape", "module")
    table = aligned_table(header(columns), rows, left=left, footer=totals)
    notes = table_notes(network, records, columns, memory, separators)
    return table + "".join(f"{wrap_line(note)}\n" for note in notes)


def memory_summary(records: Sequence[LayerRecord], memory: Memory,
                   separators: bool = True) -> list[str]:
    """The lines under a table that say its memory totals, as torchinfo's summary does (MB
    are 10^6 bytes, torchinfo's unit)."""
    batch = text_cell(memory.batch, separators)

    def amount(column: str) -> str:
        total = _total(records, chosen([column])[0])
        shown = f"{text_cell(total, separators)} bytes"
        return shown + (f" ({megabytes(int(total))} MB)" if total.is_Integer else "")

    trainable = text_cell(_total(records, "trainable"), separators)
    frozen = text_cell(_total(records, "non_trainable"), separators)
    return [f"parameters: {trainable} trainable, {frozen} non-trainable",
            f"memory for {memory.dtype}, batch {batch}: parameters {amount('param_bytes')}; "
            f"forward pass {amount('activation_bytes')}; forward + backward "
            f"{amount('backward_bytes')}"]


def megabytes(count: int) -> str:
    """A byte count in MB (10^6 bytes) to two decimals, rounded half up, exactly for any
    count (a float overflows past 10^308)."""
    hundredths = (count * 100 + 500_000) // 1_000_000
    return f"{hundredths // 100:,}.{hundredths % 100:02d}"


def unused_note(unused: Unused) -> str:
    """The line that says which parameters of a torch model no total counts, and why."""
    count = f"{unused.params:,} parameter{'' if unused.params == 1 else 's'}"
    if unused.module:
        return f"not counted: '{unused.path}' ({count}) is never called by the forward"
    return f"not counted: the tensor '{unused.path}' ({count}) is never used by the forward"


def warning_lines(records: Sequence[LayerRecord]) -> list[str]:
    """One line per warning of every row: '3 conv2d: H: 1 pixel of 224 discarded ...'."""
    return [f"{label} {r.kind}: {line}" for label, r in flat_rows(records)
            for line in warning_notes(r.warnings)]


def row_notes(records: Sequence[LayerRecord]) -> list[str]:
    """Warnings (pixels discarded or skipped, sizes that depend on the input's parity),
    conditions under which a block's branches agree, and branches that are not aligned."""
    from symconv.engine.blocks import describe

    notes = []
    rows = flat_rows(records)
    for label, r in rows:
        notes += [f"{label} {r.kind}: {line}" for line in warning_notes(r.warnings)]
        if r.shared is not None and r.shared.reuse:
            name = r.shared.name
            first = next((x for x, o in rows if o.shared is not None and o.shared.name == name),
                         None)  # None: that row is folded into a module's (Table.folded)
            where = "an earlier row" if first is None else f"row {first}"
            notes.append(f"{label} {r.kind}: reuses the parameters of '{name}' ({where}), "
                         "counted there")
        if r.condition is not None:
            notes.append(f"{label} {r.kind}: the branches' shapes agree only where "
                         f"{describe(r.condition)}")
        if r.aligned is not None and r.aligned is not True:
            where = "" if r.aligned is False else f" except where {describe(r.aligned)}"
            notes.append(f"{label} {r.kind}: the branches centre their units differently"
                         f"{where} (not aligned)")
    return notes


def table_markdown(network: Network, records: Sequence[LayerRecord],
                   columns: Sequence[str] | None = None, memory: Memory | None = None) -> str:
    """A GitHub-flavoured Markdown table with $…$ math for symbolic entries, then its notes
    (see table_notes)."""
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    titles = header(columns)
    input_shape = records[0].input_shape if records else network.input_shape
    lines = [line(titles), "|" + "---|" * len(titles),
             line(["", "input", *map(markdown_cell, input_cells(input_shape, columns))])]
    for label, r in flat_rows(records):
        kind = _indent(label).replace(" ", "&nbsp;") + escape_markdown(r.kind)
        shown = [markdown_cell(c) for c in row_cells(r, columns)]
        lines.append(line([label, kind, *_nested(r, shown, columns, "&nbsp;&nbsp;")]))
    lines.append(line(["", "**total**", *map(markdown_cell, total_cells(records, columns))]))
    lines += [f"\n{escape_markdown(note)}"
              for note in table_notes(network, records, columns, memory)]
    return "\n".join(lines) + "\n"


def table_latex(network: Network, records: Sequence[LayerRecord],
                columns: Sequence[str] | None = None, memory: Memory | None = None) -> str:
    """A booktabs tabular with every entry in math mode, then its notes (see table_notes)."""
    picked = chosen(columns)
    head = " & ".join(header(columns)).replace("#", r"\#")
    spec = "rl" + "".join("l" if c.key in ("output_shape", "kernel_shape", "name") else "r"
                          for c in picked)
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", head + r" \\", r"\midrule"]
    for label, r in flat_rows(records):
        kind = r"\texttt{" + escape_text(r.kind) + "}"
        cells = [label, r"\quad" * label.count(".") + kind,
                 *(_tabular_cell(cell, c) for cell, c in zip(row_cells(r, columns), picked,
                                                             strict=True))]
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\midrule")
    totals = ["", "total", *(_tabular_cell(cell, c) for cell, c in
                             zip(total_cells(records, columns), picked, strict=True))]
    lines.append(re.sub(r"&  (?=&)", "& ", " & ".join(totals)) + r" \\")  # '& &' if empty
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [f"\n{escape_text(note)}"
              for note in table_notes(network, records, columns, memory)]
    return "\n".join(lines) + "\n"


def params_latex(r: LayerRecord) -> str:
    """A layer's parameter count as the LaTeX tables write it (math, or 'reused')."""
    return r"\textit{reused}" if _reused(r) else value_latex(r.params)


def _tabular_cell(cell: Cell, column: Column) -> str:
    """A cell of the booktabs table: a module name in typewriter, other words in italics,
    values in math mode."""
    if isinstance(cell, str):
        if not cell:
            return ""
        style = r"\texttt" if column.key == "name" else r"\textit"
        return style + "{" + escape_text(cell) + "}"
    return f"${latex_cell(cell)}$" if latex_cell(cell) else ""


def table_math(network: Network, records: Sequence[LayerRecord],
               columns: Sequence[str] | None = None, memory: Memory | None = None) -> str:
    """The per-layer table as one display-math array (what Jupyter's MathJax can show): the
    same rows as the Markdown table, a block's rows (3.1, 3.a1, ...) after it, indented;
    its notes (see table_notes) as rows of text under it, inside the same display, since
    Jupyter shows text outside the math as it is written (H\\_1, not H_1)."""
    def row(cells: Sequence[str]) -> str:
        return " & ".join(cells) + r" \\"

    picked = chosen(columns)
    input_shape = records[0].input_shape if records else network.input_shape
    spec = "rl" + "".join("l" if c.key in ("output_shape", "kernel_shape", "name") else "r"
                          for c in picked)
    lines = [rf"\begin{{array}}{{{spec}}}",
             row([math_text(c) for c in header(columns)]), r"\hline",
             row(["", math_text("input"), *map(latex_cell, input_cells(input_shape, columns))])]
    for label, r in flat_rows(records):
        kind = r"\quad " * label.count(".") + math_text(r.kind)
        lines.append(row([label, kind, *map(latex_cell, row_cells(r, columns))]))
    lines += [r"\hline", row(["", math_text("total"),
                              *map(latex_cell, total_cells(records, columns))]),
              r"\end{array}"]
    notes = table_notes(network, records, columns, memory)
    if not notes:
        return "$$" + "\n".join(lines) + "$$"
    # one column: the table, then one note per row
    return ("$$\\begin{array}{l}\n" + "\n".join(lines) + r" \\" + "\n"
            + "\n".join(math_text(note) + r" \\" for note in notes)
            + "\n\\end{array}$$")


RENDERERS = {
    "text": table_text,
    "json": table_json,
    "markdown": table_markdown,
    "latex": table_latex,
}
