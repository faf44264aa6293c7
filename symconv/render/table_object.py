"""What `Network.table()` returns: the per-layer records, as a tuple, that display.

A `Table` is the tuple of `LayerRecord`s it always was (it iterates, indexes, compares and
unpacks as one) and also knows how to show itself: `str()` is the text table that `symconv
table` prints, Jupyter shows `_repr_html_` (a block's rows folded under it, in <details>) or
`_repr_markdown_`, and `to_dicts()` / `to_pandas()` give the rows as data. Every form is
built from the column definitions of symconv.render.table, so a column added there shows in
all of them.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sympy

from symconv.errors import UnsupportedError

if TYPE_CHECKING:
    from symconv.engine.statistics import Memory
    from symconv.network import LayerRecord, Network
    from symconv.render.table import Cell


class Table(tuple["LayerRecord", ...]):
    """One `LayerRecord` per layer after the input (a block's inner rows in its `children`),
    with the network they describe, the columns every form shows (keys of
    symconv.render.table.ALL_COLUMNS; None for the default ones) and the dtype and batch
    the memory columns were counted for."""

    network: Network
    columns: tuple[str, ...] | None
    memory: Memory | None

    def __new__(cls, records: Iterable[LayerRecord], network: Network,
                columns: tuple[str, ...] | None = None, memory: Memory | None = None
                ) -> Table:
        table = super().__new__(cls, records)
        table.network = network
        table.columns = columns
        table.memory = memory
        return table

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickle and copy keep what it shows
        return tuple(self), self.network, self.columns, self.memory

    def folded(self, depth: object) -> Table:
        """The table nested no deeper than `depth`, as torchinfo's depth folds a summary:
        each row deeper folded into its parent, whose numbers sum what it holds; for a torch
        model a row per module up to that depth (symconv.render.fold)."""
        from symconv.render.fold import fold, fold_depth

        return Table(fold(self, fold_depth(depth)), self.network, self.columns, self.memory)

    # ---------------------------------------------------------------- text

    def __str__(self) -> str:
        from symconv.render.table import table_text

        return table_text(self.network, self, self.columns, memory=self.memory)

    def __repr__(self) -> str:
        shape = _shape_text(self[-1].output_shape) if self else "no layers"
        return f"<symconv Table: {len(self)} rows, output {shape}; print() shows it>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's text form: the text table."""
        printer.text(repr(self) if cycle else str(self).rstrip("\n"))

    # ---------------------------------------------------------------- Jupyter

    def _repr_html_(self) -> str:
        return table_html(self.network, self, self.columns, self.memory)

    def _repr_markdown_(self) -> str:
        from symconv.render.table import table_markdown

        return table_markdown(self.network, self, self.columns, self.memory)

    def _repr_latex_(self) -> str:
        from symconv.render.table import table_math

        return table_math(self.network, self, self.columns, self.memory)

    # ---------------------------------------------------------------- data

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per row (a block's rows after it, labelled 3.1, 3.a1, ...), keyed by the
        headers of the table's columns: whole numbers as ints, anything symbolic as its text
        form, a shape as a list of those, words ('reused') as they are."""
        from symconv.render.table import flat_rows, header, row_cells

        names = header(self.columns)
        return [dict(zip(names, [label, r.kind, *map(_data, row_cells(r, self.columns))],
                         strict=True))
                for label, r in flat_rows(self)]

    def to_pandas(self) -> Any:
        """The rows of `to_dicts()` as a pandas DataFrame (pandas is optional)."""
        try:
            import pandas
        except ImportError:
            raise UnsupportedError("Table.to_pandas needs pandas, which is not installed "
                                   "(pip install pandas); to_dicts() gives the same rows "
                                   "without it") from None
        return pandas.DataFrame(self.to_dicts())


def _data(cell: Cell) -> Any:
    if isinstance(cell, str):
        return cell
    if isinstance(cell, tuple):
        return [_data(v) for v in cell]
    from symconv.present.values import text_value

    value = sympy.sympify(cell, strict=True)
    return int(value) if value.is_Integer else text_value(value)


def _shape_text(shape: Sequence[Any]) -> str:
    from symconv.present.values import text_shape

    return text_shape(shape)


# -------------------------------------------------------------------- HTML


def table_html(network: Network, records: Sequence[LayerRecord],
               columns: Sequence[str] | None = None, memory: Memory | None = None) -> str:
    """An HTML table (symbolic cells as $…$ math, which Jupyter typesets): the input, one
    row per layer, the totals; a block's rows in a nested table under it, folded in a
    <details> element that opens on a click; then its notes (see table_notes)."""
    from symconv.render.table import header, input_cells, table_notes, total_cells

    input_shape = records[0].input_shape if records else network.input_shape
    body = [_tr(["", "input", *map(_html_cell, input_cells(input_shape, columns))]),
            *_layer_rows(records, "", columns),
            _tr(["", "<b>total</b>", *map(_html_cell, total_cells(records, columns))],
                raw=True)]
    parts = ['<table class="symconv-table">', _head(header(columns)), "<tbody>", *body,
             "</tbody>", "</table>"]
    parts += [f"<p>{html.escape(note)}</p>"
              for note in table_notes(network, records, columns, memory)]
    return "\n".join(parts) + "\n"


def _layer_rows(records: Sequence[LayerRecord], parent: str,
                columns: Sequence[str] | None) -> list[str]:
    from symconv.present.values import row_label
    from symconv.render.table import header, row_cells

    titles = header(columns)
    rows = []
    for r in records:
        label = row_label(parent, r.index, r.path)
        rows.append(_tr([label, r.kind, *map(_html_cell, row_cells(r, columns))]))
        if r.children:
            inner = _layer_rows(r.children, label, columns)
            count = len(r.children)
            summary = f"{count} row{'' if count == 1 else 's'} inside {label} {r.kind}"
            rows.append(f'<tr><td colspan="{len(titles)}"><details>'
                        f"<summary>{html.escape(summary)}</summary>\n"
                        f'<table class="symconv-table">\n{_head(titles)}\n<tbody>\n'
                        + "\n".join(inner) + "\n</tbody>\n</table></details></td></tr>")
    return rows


def _head(columns: Sequence[str]) -> str:
    return ("<thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns)
            + "</tr></thead>")


def _tr(cells: Sequence[str], raw: bool = False) -> str:
    """A row; every cell escaped, except markup of symconv's own (`raw`: the first two)."""
    shown = [c if raw and i < 2 else html.escape(c) for i, c in enumerate(cells)]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in shown) + "</tr>"


def _html_cell(cell: Cell) -> str:
    """The cell as the Markdown table writes it (numbers, or $…$ math); escaped by _tr."""
    from symconv.render.table import markdown_cell

    return markdown_cell(cell)
