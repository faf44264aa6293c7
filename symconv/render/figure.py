"""Figures drawn from their geometry (symconv.figures): laid out as cells on a grid, then
written as SVG (animated with SMIL where asked) or TikZ.

The layout only places what the geometry holds: every grid position it shows is one the
geometry names, every highlighted cell is a position a window reads. Long axes are drawn with
elided middles (a ⋯ column or ⋮ row), always keeping the ends, the padding and the window
shown, so a 224-wide input fits a page.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil, floor
from typing import Any
from xml.sax.saxutils import escape

from symconv.derive.figures import AxisFigure, LayerFigure, StackFigure

MAX_CELLS = 17  # the most positions one axis shows before its middle is elided
EDGE = 3  # positions kept at each end of an elided axis
WHOLE = 13  # a window spanning at most this many positions is always shown whole
CHAR = 0.4  # the width of a character of a label, in cells (about: SVG 12px, TikZ 8pt)

Shown = tuple[int | None, ...]  # the positions shown in order, None where some are elided


def elided(lo: int, hi: int, keep: Iterable[int], limit: int = MAX_CELLS) -> Shown:
    """The positions lo to hi − 1 to show: all of them where they fit, else the ends and
    every kept position with its neighbours, one None for each run left out."""
    if hi - lo <= limit:
        return tuple(range(lo, hi))
    wanted = set(range(lo, lo + EDGE)) | set(range(hi - EDGE, hi))
    for q in keep:
        wanted |= {q - 1, q, q + 1}
    out: list[int | None] = []
    for q in sorted(p for p in wanted if lo <= p < hi):
        if out and out[-1] is not None and q > out[-1] + 1:
            out.append(None)
        out.append(q)
    return tuple(out)


def _ends(positions: Sequence[int]) -> tuple[int, ...]:
    """Positions a window must keep in view: every position from its first to its last, or
    its first and last two where it spans more than WHOLE."""
    if not positions:
        return ()
    first, last = min(positions), max(positions)
    if last - first < WHOLE:
        return tuple(range(first, last + 1))
    return (first, first + 1, last - 1, last)


# ---------------------------------------------------------------- layout


@dataclass(frozen=True, slots=True)
class Cell:
    x: float
    y: float
    role: str  # input zero padding outside output unit extra read dropped interval
    w: float = 1
    h: float = 1
    frame: int | None = None  # animation: shown only in this frame


@dataclass(frozen=True, slots=True)
class Label:
    x: float
    y: float
    text: str
    role: str = "label"  # label, elision, title
    anchor: str = "middle"

    @property
    def width(self) -> float:
        """About how many cells the text takes."""
        return CHAR * len(self.text)

    @property
    def right(self) -> float:
        return self.x + (self.width if self.anchor == "start" else self.width / 2)


@dataclass(slots=True)
class Layout:
    cells: list[Cell] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    frames: int = 0

    @property
    def size(self) -> tuple[float, float]:
        xs = [c.x + c.w for c in self.cells] + [lb.right for lb in self.labels]
        ys = [c.y + c.h for c in self.cells] + [lb.y + 0.5 for lb in self.labels]
        return max(xs, default=1) + 0.5, max(ys, default=1) + 0.5


def _grid(layout: Layout, x0: float, y0: float, rows: Shown, cols: Shown,
          role_of: Any) -> dict[tuple[int, int], tuple[float, float]]:
    """Cells for rows × cols at (x0, y0), role_of(r, c) naming each; ⋯ and ⋮ where elided.
    Returns where each shown (row, column) sits."""
    at: dict[tuple[int, int], tuple[float, float]] = {}
    for i, r in enumerate(rows):
        for j, c in enumerate(cols):
            x, y = x0 + j, y0 + i
            if r is None or c is None:
                mark = "⋱" if r is None and c is None else ("⋮" if r is None else "⋯")
                layout.labels.append(Label(x + 0.5, y + 0.7, mark, "elision"))
                continue
            layout.cells.append(Cell(x, y, role_of(r, c)))
            at[(r, c)] = (x, y)
    return at


def _cross(picks: Sequence[Sequence[int]]) -> set[tuple[int, int]]:
    """Grid cells (row, column) of per-axis positions; a 1-D figure has one row, 0."""
    if len(picks) == 1:
        return {(0, q) for q in picks[0]}
    return {(r, c) for r in picks[0] for c in picks[1]}


def _two(values: Sequence[Any], one: Any) -> tuple[Any, Any]:
    """(rows, columns) of a 1-D or 2-D figure: a 1-D axis is a single row."""
    return (one, values[0]) if len(values) == 1 else (values[0], values[1])


def shown_input(axis: AxisFigure, unit: int) -> Shown:
    """The grid positions a figure shows along one axis with the window of `unit`: the
    window, the dropped window, the edges of the padding and the ends."""
    return elided(*axis.extent, (*_ends(axis.window(unit)), *_ends(axis.dropped), -1, 0,
                                 axis.grid - 1, axis.grid))


def layer_layout(figure: LayerFigure, animate: bool = False) -> Layout:
    """Dumoulin & Visin's figure: the padded input with the window, and the output grid."""
    layout = Layout()
    axes = figure.axes
    window = [a.window(u) for a, u in zip(axes, figure.unit, strict=True)]
    shown_in = [shown_input(a, u) for a, u in zip(axes, figure.unit, strict=True)]
    shown_out = [elided(0, a.out, (u, *a.extra)) for a, u in zip(axes, figure.unit, strict=True)]
    rows_in, cols_in = _two(shown_in, (0,))
    rows_out, cols_out = _two(shown_out, (0,))

    def kind(r: int, c: int) -> str:
        kinds = {a.kind(q) for a, q in zip(axes, (c,) if len(axes) == 1 else (r, c),
                                            strict=True)}
        return next(k for k in ("outside", "padding", "zero", "input") if k in kinds)

    def out_role(r: int, c: int) -> str:
        idx = (c,) if len(axes) == 1 else (r, c)
        return "extra" if any(q in a.extra for a, q in zip(axes, idx, strict=True)) else "output"

    top = 1.5
    layout.labels.append(Label(0, 0.8, _title(figure), "title", "start"))
    at_in = _grid(layout, 0, top, rows_in, cols_in, kind)
    x_out = len(cols_in) + 2
    at_out = _grid(layout, x_out, top, rows_out, cols_out, out_role)
    bottom = top + max(len(rows_in), len(rows_out)) + 0.9
    layout.labels.append(Label(len(cols_in) / 2, bottom, _input_caption(figure)))
    layout.labels.append(Label(x_out + len(cols_out) / 2, bottom,
                               "output " + " × ".join(str(a.out) for a in axes)))
    for d, a in enumerate(axes):  # the window PyTorch drops, along the axes that have one
        if a.dropped:
            picks = [[q for q in (a.dropped if e == d else w) if q in set(shown_in[e])]
                     for e, w in enumerate(window)]
            for key in sorted(_cross(picks)):
                if key in at_in:
                    layout.cells.append(Cell(*at_in[key], "dropped"))
    visible = [set(s) for s in shown_in]
    units = _frames(figure, shown_out) if animate else [figure.unit]
    for frame, unit in enumerate(units):
        reads = _cross([[q for q in a.window(u) if q in shown]
                        for a, u, shown in zip(axes, unit, visible, strict=True)])
        which = frame if animate else None
        for key in sorted(reads):
            if key in at_in:
                layout.cells.append(Cell(*at_in[key], "read", frame=which))
        key = (0, unit[0]) if len(axes) == 1 else (unit[0], unit[1])
        if key in at_out:
            layout.cells.append(Cell(*at_out[key], "unit", frame=which))
    layout.frames = len(units) if animate else 0
    return layout


def _frames(figure: LayerFigure, shown_out: Sequence[Shown]) -> list[tuple[int, ...]]:
    """The output units an animation visits: every shown one, row by row."""
    picks = [[q for q in s if q is not None] for s in shown_out]
    if len(picks) == 1:
        return [(q,) for q in picks[0]]
    return [(r, c) for r in picks[0] for c in picks[1]]


def _title(figure: LayerFigure) -> str:
    def per_axis(values: Sequence[int]) -> str:
        return str(values[0]) if len(set(values)) == 1 else "(" + ", ".join(map(str, values)) + ")"

    axes = figure.axes
    if figure.transposed:
        return (f"layer {figure.index} ({figure.kind}): k={per_axis([a.kernel for a in axes])},"
                f" stride {per_axis([a.spread for a in axes])} as "
                f"{per_axis([a.spread - 1 for a in axes])} zeros between inputs, implicit "
                f"padding {per_axis([a.before for a in axes])} / "
                f"{per_axis([a.after for a in axes])}")
    text = (f"layer {figure.index} ({figure.kind}): k={per_axis([a.kernel for a in axes])}, "
            f"s={per_axis([a.stride for a in axes])}, "
            f"p={per_axis([a.before for a in axes])}")
    if any(a.before != a.after for a in axes):
        text += f"/{per_axis([a.after for a in axes])}"
    if any(a.dilation != 1 for a in axes):
        text += f", d={per_axis([a.dilation for a in axes])}"
    return text


def _input_caption(figure: LayerFigure) -> str:
    sizes = " × ".join(str(a.size) for a in figure.axes)
    return f"input {sizes}" if not figure.transposed else f"input {sizes}, spread out"


def stack_layout(figure: StackFigure) -> Layout:
    """Araujo et al.'s figure: one grid per level, the input first, what the top unit reads
    highlighted on each and its receptive-field interval outlined."""
    layout = Layout()
    unit = ", ".join(map(str, figure.unit))
    layout.labels.append(Label(0, 0.8, f"receptive field of unit ({unit}) of layer "
                               f"{figure.last}", "title", "start"))
    one_d = len(figure.axis_names) == 1
    shown_levels = []
    for level in figure.levels:
        shown = []
        for n, reads, (a, b) in zip(level.sizes, level.reads, level.interval, strict=True):
            lo, hi = min([0, *reads]), max([n, *(q + 1 for q in reads)])
            keep = (*_ends(reads), *_ends([ceil(a), floor(b)]), 0, n - 1)
            shown.append(elided(lo, hi, keep))
        shown_levels.append(shown)
    widest = max(len(s[-1]) for s in shown_levels)
    x = y = 1.5
    for level, shown in (zip(reversed(figure.levels), reversed(shown_levels), strict=True)
                         if one_d else zip(figure.levels, shown_levels, strict=True)):
        rows, cols = _two(shown, (0,))
        read = _cross([[q for q in r if q in set(sh)]
                       for r, sh in zip(level.reads, shown, strict=True)])

        def role(r: int, c: int, level: Any = level, reads: Any = read) -> str:
            idx = (c,) if one_d else (r, c)
            inside = all(0 <= q < n for q, n in zip(idx, level.sizes, strict=True))
            return ("read" if (r, c) in reads else "input") if inside else (
                "read" if (r, c) in reads else "padding")

        slot = max(len(cols), CHAR * len(level.label))
        x0 = x + (widest - len(cols)) / 2 if one_d else x + (slot - len(cols)) / 2
        at = _grid(layout, x0, y, rows, cols, role)
        _outline(layout, at, level.interval, one_d)
        if one_d:
            layout.labels.append(Label(x0 + len(cols) + 0.5, y + 0.7, level.label, "label",
                                       "start"))
            y += 2
        else:
            label = Label(x0 + len(cols) / 2, y + len(rows) + 0.9, level.label)
            layout.labels.append(label)
            x += max(len(cols), label.width) + 1.5
    return layout


def _outline(layout: Layout, at: dict[tuple[int, int], tuple[float, float]],
             interval: Sequence[tuple[Fraction, Fraction]], one_d: bool) -> None:
    """A frame around the shown cells inside the interval [first, last] per axis."""
    bounds = [(ceil(a), floor(b)) for a, b in interval]
    if one_d:
        bounds = [(0, 0), bounds[0]]
    inside = [xy for (r, c), xy in at.items()
              if bounds[0][0] <= r <= bounds[0][1] and bounds[1][0] <= c <= bounds[1][1]]
    if not inside:
        return
    x0, y0 = min(p[0] for p in inside), min(p[1] for p in inside)
    x1, y1 = max(p[0] for p in inside) + 1, max(p[1] for p in inside) + 1
    layout.cells.append(Cell(x0, y0, "interval", x1 - x0, y1 - y0))


# ---------------------------------------------------------------- SVG

SCALE = 20  # pixels per cell
_SVG_STYLE = {
    "input": 'fill="#ffffff" stroke="#555555"',
    "zero": 'fill="#eeeeee" stroke="#999999"',
    "padding": 'fill="#dddddd" stroke="#999999" stroke-dasharray="2,2"',
    "outside": 'fill="none" stroke="#bbbbbb" stroke-dasharray="1,3"',
    "output": 'fill="#ffffff" stroke="#555555"',
    "extra": 'fill="#fff2cc" stroke="#b58900"',
    "read": 'fill="#268bd2" fill-opacity="0.55" stroke="#073642"',
    "unit": 'fill="#2aa198" fill-opacity="0.8" stroke="#073642"',
    "dropped": 'fill="none" stroke="#dc322f" stroke-width="2" stroke-dasharray="4,2"',
    "interval": 'fill="none" stroke="#d33682" stroke-width="2"',
}
FRAME_SECONDS = 0.5


def svg(layout: Layout) -> str:
    """The layout as a standalone SVG document (SMIL animation where it has frames)."""
    width, height = layout.size
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width * SCALE)}" '
           f'height="{_n(height * SCALE)}" viewBox="0 0 {_n(width * SCALE)} '
           f'{_n(height * SCALE)}" font-family="sans-serif" font-size="12">']
    for cell in layout.cells:
        rect = (f'<rect class="cell {cell.role}" x="{_n(cell.x * SCALE)}" '
                f'y="{_n(cell.y * SCALE)}" width="{_n(cell.w * SCALE)}" '
                f'height="{_n(cell.h * SCALE)}" {_SVG_STYLE[cell.role]}')
        if cell.frame is None:
            out.append(rect + "/>")
        else:
            out.append(rect + ' visibility="hidden">' + _smil(cell.frame, layout.frames)
                       + "</rect>")
    for label in layout.labels:
        weight = ' font-weight="bold"' if label.role == "title" else ""
        out.append(f'<text class="{label.role}" x="{_n(label.x * SCALE)}" '
                   f'y="{_n(label.y * SCALE)}" text-anchor="{label.anchor}"{weight}>'
                   f"{escape(label.text)}</text>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _smil(frame: int, frames: int) -> str:
    """Visible during its frame of the cycle, hidden otherwise."""
    start, end = Fraction(frame, frames), Fraction(frame + 1, frames)
    if frame == 0:
        values, times = "visible;hidden", f"0;{_n(float(end))}"
    else:
        values, times = "hidden;visible;hidden", f"0;{_n(float(start))};{_n(float(end))}"
    return (f'<animate attributeName="visibility" values="{values}" keyTimes="{times}" '
            f'dur="{_n(frames * FRAME_SECONDS)}s" calcMode="discrete" '
            'repeatCount="indefinite"/>')


def _n(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------- TikZ

CM = 0.4  # centimetres per cell
_TIKZ_STYLE = {
    "input": "draw=black!70, fill=white",
    "zero": "draw=black!40, fill=black!7",
    "padding": "draw=black!40, fill=black!13, dashed",
    "outside": "draw=black!30, dotted",
    "output": "draw=black!70, fill=white",
    "extra": "draw=orange!80!black, fill=orange!15",
    "read": "draw=blue!60!black, fill=blue!60, fill opacity=0.55",
    "unit": "draw=teal!60!black, fill=teal!70, fill opacity=0.8",
    "dropped": "draw=red!80!black, thick, dashed",
    "interval": "draw=magenta!80!black, thick",
}
_TIKZ_TEXT = {"⋯": r"$\cdots$", "⋮": r"$\vdots$", "⋱": r"$\ddots$", "×": r"$\times$"}


def tikz(layout: Layout) -> str:
    """The layout as a tikzpicture (for \\usepackage{tikz}); y grows downwards as in SVG."""
    lines = [rf"\begin{{tikzpicture}}[x={CM}cm, y=-{CM}cm, font=\footnotesize]"]
    for cell in layout.cells:
        lines.append(rf"\path[{_TIKZ_STYLE[cell.role]}] ({_n(cell.x)},{_n(cell.y)}) "
                     rf"rectangle ++({_n(cell.w)},{_n(cell.h)});")
    for label in layout.labels:
        anchor = {"start": "base west", "middle": "base"}[label.anchor]
        text = _tex_text(label.text)
        if label.role == "title":
            text = rf"\bfseries {text}"
        lines.append(rf"\node[anchor={anchor}, inner sep=0pt] at ({_n(label.x)},{_n(label.y)}) "
                     rf"{{{text}}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"


def _tex_text(text: str) -> str:
    special = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "%": r"\%",
               "&": r"\&", "#": r"\#", "$": r"\$", "^": r"\^{}", "~": r"\~{}"}
    out = "".join(special.get(ch, ch) for ch in text)
    for symbol, tex in _TIKZ_TEXT.items():
        out = out.replace(symbol, tex)
    return out


def tikz_document(layout: Layout) -> str:
    """A document whose one page is the figure (article and geometry: TeX Live's base
    packages and TikZ, no standalone class)."""
    width, height = layout.size
    return "\n".join([
        r"\documentclass{article}",
        rf"\usepackage[paperwidth={_n(width * CM + 0.6)}cm, "
        rf"paperheight={_n(height * CM + 0.6)}cm, margin=0.3cm]{{geometry}}",
        r"\usepackage{tikz}",
        r"\pagestyle{empty}",
        r"\begin{document}",
        r"\noindent",
        tikz(layout).rstrip("\n"),
        r"\end{document}",
        "",
    ])


# ---------------------------------------------------------------- the object Python gets


class Drawing:
    """A figure as Network.draw returns it: `.svg()`, `.tikz()`, `.json()`, and an SVG
    display in Jupyter."""

    def __init__(self, figure: LayerFigure | StackFigure, animate: bool = False,
                 every_unit: bool = False):
        self.figure = figure
        self.animate = animate
        self.every_unit = every_unit

    def layout(self) -> Layout:
        if isinstance(self.figure, StackFigure):
            return stack_layout(self.figure)
        return layer_layout(self.figure, self.animate)

    def svg(self) -> str:
        return svg(self.layout())

    def tikz(self) -> str:
        return tikz(self.layout())

    def tikz_document(self) -> str:
        return tikz_document(self.layout())

    def data(self) -> dict[str, Any]:
        """The geometry as JSON data (see symconv.figures)."""
        if isinstance(self.figure, StackFigure):
            return self.figure.json()
        return self.figure.json(self.every_unit)

    def json(self) -> str:
        return json.dumps(self.data(), indent=2) + "\n"

    def _repr_svg_(self) -> str:
        return self.svg()
