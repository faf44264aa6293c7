"""The figures of `symconv notes --figures`: one Dumoulin & Visin figure per distinct layer
kind, the TikZ that `symconv draw NET --layer N --format tikz` writes for the first layer of
that kind, set beside that layer's derivation.

A kind is the layer's name (conv2d, maxpool2d, convtranspose2d, ...), with dilation and ceil
mode told apart, since their figures show what the plain layer's do not (spread taps, the
extra window). Only top-level layers can be drawn (as with `symconv draw --layer N`), and
only those whose sizes are numbers and that have one or two spatial axes; the others are
passed over, and the next layer of their kind is drawn instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from symconv.derive.figures import layer_figure
from symconv.engine.records import Record
from symconv.errors import SymconvError
from symconv.language.layers import Conv, ConvTranspose, Pool
from symconv.network import Network
from symconv.render.figure import Drawing

# The package a figure needs beside the notes' own.
PACKAGE = "tikz"


def figure_kind(record: Record) -> str | None:
    """The kind a figure stands for ('conv2d', 'conv2d dilated', 'maxpool2d ceil'), or None
    for a layer with no sliding window."""
    layer = record.layer
    if not isinstance(layer, Conv | ConvTranspose | Pool):
        return None
    kind = record.kind
    if any(d != 1 for d in layer.window.dilation):
        kind += " dilated"
    if isinstance(layer, Pool) and layer.ceil_mode:
        kind += " ceil"
    return kind


def layer_figures(network: Network, values: Mapping[str, object],
                  shown: frozenset[int] | None = None) -> dict[int, str]:
    """Per layer number, the TikZ picture of the first layer of each kind among the layers
    `shown` (None: all) that can be drawn."""
    out: dict[int, str] = {}
    kinds: set[str] = set()
    records = network.records(**values)
    for record in records:
        kind = figure_kind(record)
        if kind is None or kind in kinds or (shown is not None and record.index not in shown):
            continue
        try:  # what Network.draw(index) draws, as `symconv draw --layer N` does
            drawing = Drawing(layer_figure(records, record.index))
        except SymconvError:  # symbols, three axes, a window too wide to list
            continue
        kinds.add(kind)
        out[record.index] = drawing.tikz().rstrip("\n")
    return out


def figure_lines(tikz: str) -> list[str]:
    """The figure as lines of the notes: scaled to the column's width where wider."""
    return [r"\par\smallskip\noindent\symconvfitbox{%", tikz + "}", r"\par\smallskip"]
