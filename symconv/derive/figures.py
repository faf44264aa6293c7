"""The geometry of figures, as plain data: what Dumoulin & Visin draw for one layer, and what
Araujo, Norris & Sim draw for a unit's receptive field through several layers.

Nothing here is drawn and nothing is computed twice: the output sizes are the trace's, the
padding is `receptive.window_geometry`'s, and every window is the interval that the
receptive-field recursion (`receptive.advance`, `receptive.transposed`) gives one output unit
of the layer, read at the dilation's step. The renderers (symconv/render/figure.py) only place
these positions on a page.

Positions along an axis are those of the layer's input grid: 0 to n − 1 are input elements,
below 0 and from n on lie in the padding. A transposed convolution is drawn as Dumoulin & Visin
draw it, a stride-1 convolution over its input spread out by s (s − 1 zeros between elements),
so its grid has (n − 1)·s + 1 positions, input element i at position i·s, and an implicit
padding of k_eff − 1 − p before and k_eff − 1 − p + output_padding after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import sympy

from symconv.algebra.symbols import free_names
from symconv.engine import formulas as f
from symconv.engine import receptive, windows
from symconv.engine.records import Record, axis_names, checked_unit
from symconv.engine.trace import trace
from symconv.errors import (
    InvalidValueError,
    ShapeError,
    Source,
    SymconvError,
    UnsupportedError,
)
from symconv.language.layers import (
    Activation,
    BatchNorm,
    ChannelNorm,
    ChannelsLast,
    Conv,
    ConvTranspose,
    Dropout,
    GroupNorm,
    InstanceNorm,
    Layer,
    LayerNorm,
    LayerScale,
    Pool,
)
from symconv.language.values import describe, whole_number
from symconv.present.values import with_article

# Layers that keep every position where it is: a stack of windows passes over them.
_IN_PLACE = (Activation, BatchNorm, Dropout, GroupNorm, InstanceNorm, LayerNorm, ChannelNorm,
             LayerScale, ChannelsLast)
MAX_RANK = 2  # a page shows a row or a grid
MAX_POSITIONS = 100_000  # units along an axis, or taps of a window, a figure lists


@dataclass(frozen=True, slots=True)
class AxisFigure:
    """One spatial axis of a one-layer figure."""

    name: str  # L; H, W
    size: int  # input elements n
    spread: int  # 1, or a transposed convolution's stride (input i at position i·s)
    before: int  # padding before position 0
    after: int  # padding after the last input position
    out: int  # output units
    kernel: int
    stride: int  # the window's step over the grid (1 for a transposed convolution)
    dilation: int
    field: receptive.Field  # one output unit's region on the grid (see window)
    extra: tuple[int, ...] = ()  # ceil mode: the units floor mode would not have
    dropped: tuple[int, ...] = ()  # ceil mode: the window PyTorch drops (it would start
    # in the right padding), empty where there is none

    def window(self, unit: int) -> tuple[int, ...]:
        """The grid positions output unit `unit` reads: its region [first, last]
        (receptive.Field.interval, times the spread on a spread grid) at every d-th."""
        first, last = (int(sympy.Rational(v) * self.spread) for v in self.field.interval(unit))
        return tuple(range(first, last + 1, self.dilation))

    @property
    def grid(self) -> int:
        """Positions of the grid without padding: n, or (n − 1)·s + 1 when spread."""
        return (self.size - 1) * self.spread + 1

    def kind(self, position: int) -> str:
        """input, zero (inserted between a transposed convolution's inputs), padding, or
        outside (past the padding, where only ceil mode's last window reaches)."""
        if 0 <= position < self.grid:
            return "input" if position % self.spread == 0 else "zero"
        if -self.before <= position < self.grid + self.after:
            return "padding"
        return "outside"

    def inputs(self, unit: int) -> tuple[int, ...]:
        """The input elements whose values reach output unit `unit`."""
        return tuple(q // self.spread for q in self.window(unit)
                     if self.kind(q) == "input")

    @property
    def extent(self) -> tuple[int, int]:
        """The first position drawn and one past the last: the padded grid, and whatever a
        window reads beyond it."""
        reads = [q for w in (self.window(0), self.window(self.out - 1), self.dropped) for q in w]
        return (min([-self.before, *reads]), max([self.grid + self.after, *(q + 1 for q in reads)]))


@dataclass(frozen=True, slots=True)
class LayerFigure:
    """Dumoulin & Visin's figure of one layer: its axes and the unit whose window is shown."""

    index: int
    kind: str
    axes: tuple[AxisFigure, ...]
    unit: tuple[int, ...]
    transposed: bool = False

    def json(self, every_unit: bool = False) -> dict[str, Any]:
        """The geometry as JSON data: per axis the sizes, padding and the positions each
        output unit reads (every unit, or only `unit`)."""
        axes = []
        for axis, u in zip(self.axes, self.unit, strict=True):
            if every_unit and axis.out > MAX_POSITIONS:
                raise UnsupportedError(
                    f"the output along {axis.name} has {axis.out} units, more than the "
                    f"{MAX_POSITIONS} a figure's data lists: ask for one unit (--unit, or "
                    "unit= in Python)")
            units = range(axis.out) if every_unit else (u,)
            entry: dict[str, Any] = {
                "axis": axis.name, "input": axis.size, "padding": [axis.before, axis.after],
                "output": axis.out, "kernel": axis.kernel,
                "stride": axis.spread if self.transposed else axis.stride,
                "dilation": axis.dilation,
                "reads": {str(v): list(axis.window(v)) for v in units},
            }
            if self.transposed:
                entry["zeros_between"] = axis.spread - 1
                entry["grid"] = axis.grid
                entry["inputs"] = {str(v): list(axis.inputs(v)) for v in units}
            if axis.extra or axis.dropped:
                entry["ceil_extra_units"] = list(axis.extra)
                entry["dropped_window"] = list(axis.dropped)
            axes.append(entry)
        return {"figure": "layer", "layer": self.index, "kind": self.kind,
                "unit": list(self.unit), "transposed": self.transposed, "axes": axes}


@dataclass(frozen=True, slots=True)
class Level:
    """One grid of a receptive-field stack: a layer's input (or the last layer's output)."""

    label: str
    sizes: tuple[int, ...]
    reads: tuple[tuple[int, ...], ...]  # per axis, the positions the top unit depends on
    interval: tuple[tuple[Fraction, Fraction], ...]  # per axis, receptive.Field.interval


@dataclass(frozen=True, slots=True)
class StackFigure:
    """Araujo et al.'s figure: the grids from layer `first`'s input up to layer `last`'s
    output, the unit on top and what it reads on every grid below."""

    first: int
    last: int
    unit: tuple[int, ...]
    axis_names: tuple[str, ...]
    levels: tuple[Level, ...]  # the input of `first` first, the output of `last` last

    def json(self) -> dict[str, Any]:
        return {
            "figure": "receptive field", "layers": [self.first, self.last],
            "unit": list(self.unit), "axes": list(self.axis_names),
            "levels": [
                {"label": lv.label, "size": list(lv.sizes),
                 "reads": [list(r) for r in lv.reads],
                 "interval": [[_number(a), _number(b)] for a, b in lv.interval]}
                for lv in self.levels
            ],
        }


def _number(x: Fraction) -> int | str:
    return x.numerator if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


# ---------------------------------------------------------------- one layer


def layer_figure(records: Sequence[Record], layer: int,
                 unit: Sequence[int] | None = None) -> LayerFigure:
    """The figure of layer `layer` (from 1) at output unit `unit` (default: all zeros)."""
    record = _record(records, layer)
    axes = _axes(record)
    chosen = _unit(record, tuple(a.out for a in axes), unit)
    return LayerFigure(layer, record.kind, axes, chosen,
                       isinstance(record.layer, ConvTranspose))


def _record(records: Sequence[Record], layer: int) -> Record:
    if not 1 <= layer <= len(records):
        raise ShapeError(f"no layer {layer} to draw: the network has layers 1 to "
                         f"{len(records)}")
    return records[layer - 1]


def _axes(record: Record) -> tuple[AxisFigure, ...]:
    """Per spatial axis, the figure's geometry (numbers only)."""
    layer = record.layer
    label = f"layer {record.index} ({record.kind})"
    if not isinstance(layer, Conv | ConvTranspose | Pool):
        raise UnsupportedError(
            f"a figure shows a sliding window, which {with_article(record.kind)} layer has none "
            "of (draw a conv, convT or pool layer)", layer.source, label)
    _numbers(record, label)
    w = layer.window
    if w.rank > MAX_RANK:
        raise UnsupportedError(f"a figure shows 1-D and 2-D layers; this one is {w.rank}-D",
                               layer.source, label)
    ins, outs = record.input_shape[1:], record.output_shape[1:]
    axes = []
    for i, name in enumerate(axis_names(w.rank)):
        n, k, s, p, d = (int(v) for v in (ins[i], w.kernel[i], w.stride[i], w.padding[i],
                                          w.dilation[i]))
        out = int(outs[i])
        if isinstance(layer, ConvTranspose):
            field = receptive.transposed(receptive.INPUT, k, s,
                                         int(windows.transposed_padding_of(w, i)), d)
            axis = AxisFigure(name, n, s, 0, 0, out, k, 1, d, field)
            # the implicit padding: what unit 0 reads before the grid, and the last unit after
            first, last = axis.window(0)[0], axis.window(out - 1)[-1]
            axes.append(_checked(replace(axis, before=-first, after=last - axis.grid + 1),
                                 label, layer.source))
            continue
        g = receptive.window_geometry(w, ins)[i]
        field = receptive.advance(receptive.INPUT, g)
        extra: tuple[int, ...] = ()
        dropped: tuple[int, ...] = ()
        axis = AxisFigure(name, n, 1, int(g.before), int(g.after), out, k, s, d, field)
        if isinstance(layer, Pool) and layer.ceil_mode:
            extra = tuple(range(int(f.window_out(n, k, s, p, d)), out))
            if f.last_window_in_padding(n, k, s, p, d) is True:
                dropped = axis.window(out)
        axes.append(_checked(replace(axis, extra=extra, dropped=dropped), label, layer.source))
    return tuple(axes)


def _checked(axis: AxisFigure, label: str, source: Source | None) -> AxisFigure:
    """Refuse a window too wide to list its positions."""
    if axis.kernel > MAX_POSITIONS:
        raise UnsupportedError(
            f"a figure lists the positions each window reads, at most {MAX_POSITIONS} along "
            f"an axis; the kernel along {axis.name} has {axis.kernel}", source, label)
    return axis


def _numbers(record: Record, label: str) -> None:
    """Refuse symbols: a figure needs every size in numbers."""
    names: set[str] = set()
    for value in (*record.input_shape, *record.output_shape, *_window_values(record.layer)):
        if isinstance(value, sympy.Basic):
            names |= free_names(value)
    if names:
        listed, first = ", ".join(sorted(names)), sorted(names)[0]
        are, them = ("is a symbol", "it a value") if len(names) == 1 else ("are symbols",
                                                                           "them values")
        raise SymconvError(
            f"a figure needs numbers, but {listed} {are} here; give {them} "
            f"(--set {first}=… on the command line, {first}=… in Python)",
            record.layer.source, label)


def _window_values(layer: Layer) -> tuple[Any, ...]:
    if isinstance(layer, Conv | ConvTranspose | Pool):
        w = layer.window
        extra = layer.output_padding if isinstance(layer, ConvTranspose) else ()
        return (*w.kernel, *w.stride, *w.padding, *w.dilation, *extra)
    return ()


def _unit(record: Record, outs: tuple[int, ...],
          unit: Sequence[int] | None) -> tuple[int, ...]:
    if unit is None:
        return tuple(0 for _ in outs)
    checked_unit(record, unit, outs)
    return tuple(unit)


# ---------------------------------------------------------------- a stack of layers


def stack_figure(records: Sequence[Record], first: int, last: int,
                 unit: Sequence[int] | None = None) -> StackFigure:
    """The receptive field of output unit `unit` of layer `last` on the input of every
    window layer from `first` to `last`: what it reads exactly (window by window, PyTorch's
    dependence) and the interval [first, last] of the recursion (as Network.region gives)."""
    if not 1 <= first <= last <= len(records):
        raise ShapeError(f"no layers {first}-{last} to draw: the network has layers 1 to "
                         f"{len(records)}")
    steps: list[tuple[Record, tuple[AxisFigure, ...]]] = []
    for record in records[first - 1:last]:
        if isinstance(record.layer, _IN_PLACE):
            continue
        steps.append((record, _axes(record)))
    if not steps:
        raise UnsupportedError(f"layers {first}-{last} hold no window layer to draw")
    top_record, top_axes = steps[-1]
    chosen = _unit(top_record, tuple(a.out for a in top_axes), unit)
    names = tuple(a.name for a in top_axes)
    reads: list[tuple[int, ...]] = [(u,) for u in chosen]
    levels = [Level(f"layer {top_record.index} ({top_record.kind})",
                    tuple(a.out for a in top_axes), tuple(reads),
                    tuple((Fraction(u), Fraction(u)) for u in chosen))]
    for record, axes in reversed(steps):
        reads = [_below(a, r) for a, r in zip(axes, reads, strict=True)]
        interval = _interval(records, record.index, last, chosen)
        levels.append(Level(f"input of layer {record.index}" if record.index > 1 else "input",
                            tuple(a.size for a in axes), tuple(reads), interval))
    return StackFigure(first, last, chosen, names, tuple(reversed(levels)))


def _below(axis: AxisFigure, reads: Sequence[int]) -> tuple[int, ...]:
    """The positions of the layer's input that the given positions of its output depend on:
    padding positions of the output read nothing; a spread grid gives its input elements."""
    below: set[int] = set()
    for u in reads:
        if 0 <= u < axis.out:
            below |= set(axis.inputs(u) if axis.spread > 1 else axis.window(u))
    return tuple(sorted(below))


def _interval(records: Sequence[Record], at: int, last: int,
              unit: tuple[int, ...]) -> tuple[tuple[Fraction, Fraction], ...]:
    """The region of `unit` of layer `last` on layer `at`'s input: the receptive fields of
    the layers at to last traced from there (Network.region's own computation)."""
    chain = [r.layer for r in records[at - 1:last]]
    fields = trace(records[at - 1].input_shape, chain)[-1].fields
    return tuple((_fraction(a), _fraction(b))
                 for a, b in (fd.interval(u) for fd, u in zip(fields, unit, strict=True)))


def _fraction(v: Any) -> Fraction:
    r = sympy.Rational(v)
    return Fraction(int(r.p), int(r.q))


# ---------------------------------------------------------------- what a caller asks for


def figure_of(records: Sequence[Record], layer: object = None, unit: object = None,
              layers: object = None) -> LayerFigure | StackFigure:
    """The figure asked for: one layer's (`layer`), or the receptive field through the layers
    `layers` = (first, last); `unit` is one index per spatial axis, or None for unit 0."""
    if (layer is None) == (layers is None):
        raise InvalidValueError("draw: give either a layer (one window) or layers=(first, "
                                "last) (a receptive field through them)")
    chosen = None if unit is None else _indices(unit)
    if layers is not None:
        if not isinstance(layers, tuple | list) or len(layers) != 2:
            raise InvalidValueError(f"draw: layers takes (first, last), got {describe(layers)}")
        first, last = (whole_number("layers", v) for v in layers)
        return stack_figure(records, first, last, chosen)
    return layer_figure(records, whole_number("layer", layer), chosen)


def _indices(unit: object) -> tuple[int, ...]:
    if not isinstance(unit, tuple | list) or not all(
            isinstance(u, int) and not isinstance(u, bool) for u in unit):
        raise InvalidValueError(f"draw: the unit is one whole number per spatial axis, such "
                                f"as (0, 0); got {describe(unit)}")
    return tuple(unit)
