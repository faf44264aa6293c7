"""Plain aligned columns for terminal tables (the per-layer table, the receptive-field table).

Cells are never wrapped: a long symbolic entry widens its column, and the terminal wraps the
line, so an expression is never split in the middle of a term.
"""

from __future__ import annotations

from collections.abc import Sequence


def aligned_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    left: Sequence[str] = (),
    footer: Sequence[str] | None = None,
) -> str:
    """The rows under a header and a rule, columns padded to their widest cell; the columns
    named in `left`, and any column holding an expression, are left-justified, columns of
    numbers right-justified; a footer row (totals) under a second rule."""
    table = [list(header), *(list(r) for r in rows), *([list(footer)] if footer else [])]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    flush_left = [
        name in left or not all(_number(row[i]) for row in table[1:])
        for i, name in enumerate(header)
    ]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.ljust(w) if to_left else cell.rjust(w)
            for cell, w, to_left in zip(cells, widths, flush_left, strict=True)
        )
        return ("  " + "   ".join(padded)).rstrip()

    rule = "  " + "-" * (sum(widths) + 3 * (len(widths) - 1))
    lines = [line(header), rule, *(line(r) for r in rows)]
    if footer:
        lines += [rule, line(footer)]
    return "\n".join(lines) + "\n"


def _number(cell: str) -> bool:
    """A cell that reads as a number (or is empty, or a dash): right-justified."""
    return cell in ("", "-") or cell.lstrip("-").replace("/", "").replace(".", "").isdigit()
