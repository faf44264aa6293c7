"""Plain aligned columns for terminal tables (the per-layer table, the receptive-field table).

A table fits WIDTH columns: where the cells side by side are wider, the widest columns are
narrowed and their long cells wrapped onto continuation lines (at a space where there is
one, so that a term is kept whole); where even that cannot fit, every row becomes a block of
its own, one line per column. Nothing is cut: the wrapped lines joined again are the cell
(the full expressions are also in the JSON form).
"""

from __future__ import annotations

from collections.abc import Sequence

WIDTH = 160  # the widest line a terminal table prints
NARROWEST = 16  # a wrapped column is at least this wide, or the rows become blocks
_GAP = "   "
_MARGIN = "  "
_CONTINUED = "  "  # a wrapped cell's further lines are indented by this much


def aligned_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    left: Sequence[str] = (),
    footer: Sequence[str] | None = None,
    width: int = WIDTH,
) -> str:
    """The rows under a header and a rule, columns padded to their widest cell; the columns
    named in `left`, and any column holding an expression, are left-justified, columns of
    numbers right-justified; a footer row (totals) under a second rule. No line is wider
    than `width` (see the module docstring)."""
    table = [list(header), *(list(r) for r in rows), *([list(footer)] if footer else [])]
    natural = [max(len(row[i]) for row in table) for i in range(len(header))]
    flush_left = [
        name in left or not all(_number(row[i]) for row in table[1:])
        for i, name in enumerate(header)
    ]
    budget = width - len(_MARGIN) - len(_GAP) * (len(header) - 1)
    widths = _fit(natural, [max(len(h), NARROWEST) for h in header], budget)
    if widths is None:
        return _blocks(header, rows, footer, width)

    def line(cells: Sequence[str]) -> list[str]:
        wrapped = [_wrap(cell, w) for cell, w in zip(cells, widths, strict=True)]
        depth = max(len(w) for w in wrapped)
        out = []
        for k in range(depth):
            padded = (
                (part.ljust(w) if to_left or len(lines) > 1 else part.rjust(w))
                for lines, w, to_left in zip(wrapped, widths, flush_left, strict=True)
                for part in [lines[k] if k < len(lines) else ""]
            )
            out.append((_MARGIN + _GAP.join(padded)).rstrip())
        return out

    rule = _MARGIN + "-" * (sum(widths) + len(_GAP) * (len(widths) - 1))
    lines = [*line(header), rule, *(text for r in rows for text in line(r))]
    if footer:
        lines += [rule, *line(footer)]
    return "\n".join(lines) + "\n"


def _fit(natural: Sequence[int], narrowest: Sequence[int], budget: int) -> list[int] | None:
    """Column widths within `budget`: each column its natural width where all fit; else the
    narrow columns keep theirs and the wide ones share what is left equally. None where a
    wide column would be narrower than it can be."""
    if sum(natural) <= budget:
        return list(natural)
    widths = list(natural)
    left, remaining = budget, len(natural)
    for i in sorted(range(len(natural)), key=lambda i: natural[i]):
        widths[i] = min(natural[i], left // remaining)
        left -= widths[i]
        remaining -= 1
    if any(w < min(n, least) for w, n, least in zip(widths, natural, narrowest, strict=True)):
        return None
    return widths


def _blocks(header: Sequence[str], rows: Sequence[Sequence[str]],
            footer: Sequence[str] | None, width: int) -> str:
    """Each row as a block: its first two cells (label and name) on a line, then one line
    per other column, 'name: value', wrapped to the width."""
    name_width = max(len(h) for h in header[2:]) + 1
    indent = _MARGIN + "    "
    lines = []
    for cells in [*rows, *([footer] if footer else [])]:
        lines.append((_MARGIN + " ".join(c for c in cells[:2] if c)).rstrip())
        for name, cell in zip(header[2:], cells[2:], strict=True):
            if not cell:
                continue
            room = width - len(indent) - name_width - 1
            wrapped = _wrap(cell, room)
            lines.append(f"{indent}{(name + ':').ljust(name_width)} {wrapped[0]}")
            lines += [f"{indent}{' ' * name_width} {part}" for part in wrapped[1:]]
    return "\n".join(lines) + "\n"


def _wrap(cell: str, width: int) -> list[str]:
    """The cell in lines of at most `width` characters, the further lines indented."""
    parts = _split(cell, width, width - len(_CONTINUED))
    return [parts[0], *(_CONTINUED + part for part in parts[1:])]


def _split(text: str, first: int, rest: int) -> list[str]:
    """The text in pieces, the first at most `first` characters long and the others `rest`;
    a piece ends at the last space that fits, else after an operator or a comma, else where
    the room ends."""
    pieces: list[str] = []
    while len(text) > (room := max(rest if pieces else first, 1)):
        cut = text.rfind(" ", 1, room + 1)
        if cut <= 0:
            cut = max(text.rfind(c, 1, room) for c in "*/(,") + 1
        if cut <= 0:
            cut = room
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    pieces.append(text)
    return pieces


def wrap_line(text: str, width: int = WIDTH, indent: str = "      ") -> str:
    """Running output within `width`: each line that is wider is continued on further
    lines indented by `indent`."""
    if "\n" in text:
        return "\n".join(wrap_line(line, width, indent) for line in text.split("\n"))
    if len(text) <= width:
        return text
    lead = len(text) - len(text.lstrip())
    pieces = _split(text[lead:], width - lead, width - len(indent))
    return "\n".join([text[:lead] + pieces[0], *(indent + p for p in pieces[1:])])


def _number(cell: str) -> bool:
    """A cell that reads as a number (thousands separators allowed; or is empty, or a
    dash): right-justified."""
    digits = cell.lstrip("-").replace("/", "").replace(".", "").replace(",", "")
    return cell in ("", "-") or digits.isdigit()
