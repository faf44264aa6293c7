"""The data of a trace: what one layer does to its input (Record), where a chain of layers
stands (Chain), and how spatial axes are named in messages."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import sympy

from symconv.algebra.symbols import Value
from symconv.engine.receptive import Field
from symconv.language.layers import Layer

Shape = tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Record:
    """What one layer does to its input: the numbers a summary table shows."""

    index: int  # counting from 1
    kind: str
    layer: Layer
    input_shape: Shape
    output_shape: Shape
    params: Value
    neurons: Value
    connections: Value
    macs: Value
    # The receptive field of one output unit, one Field per spatial axis of the network input.
    fields: tuple[Field, ...] = ()
    # Blocks: the records of the layers inside, `path` telling which branch each is on.
    children: tuple[Record, ...] = ()
    path: int = 0  # 0 for a chain; 1, 2, ... for the branches of residual and concat
    aligned: Any = None  # multi-path blocks: True, False, or the condition under which
    condition: Any = None  # the condition on the input under which the paths' shapes agree

    @property
    def receptive_field(self) -> tuple[Value, ...]:
        return tuple(fd.size for fd in self.fields)

    @property
    def jump(self) -> tuple[Value | None, ...]:
        return tuple(fd.jump for fd in self.fields)

    @property
    def start(self) -> tuple[Value, ...]:
        return tuple(fd.start for fd in self.fields)


# Where a caller collects the rules that symbols leave undecided (see evaluate.py).
PENDING_RULES: ContextVar[list[Any] | None] = ContextVar("pending_rules", default=None)
# Where the compiler (numeric/evaluate.py) collects the sizes an upsampling by a scale factor
# gives, which PyTorch rounds in double precision (formulas.scaled_size) and no exact formula
# follows: each a fresh unknown, with the (n, scale) that its compiled code computes it from.
SCALED_SIZES: ContextVar[list[tuple[Any, Any, Any]] | None] = ContextVar("scaled_sizes",
                                                                        default=None)


@cache
def checked_unit(record: Record, unit: Sequence[Value], outs: Sequence[Value]
                 ) -> tuple[Value, ...]:
    """`unit` (one index per spatial axis) if it is a unit of `record`'s output, which has
    `outs` units along each axis (numbers, or sizes in symbols: refused only where the index
    is certainly outside); else the ShapeError that `draw` and `region` both give."""
    from symconv.algebra.symbols import truth
    from symconv.errors import ShapeError
    from symconv.present.values import text_value

    label = f"layer {record.index} ({record.kind})"
    names = axis_names(len(outs))
    if len(unit) != len(outs):
        raise ShapeError(f"the unit takes one index per spatial axis ({', '.join(names)}), "
                         f"got {len(unit)}", record.layer.source, label)
    for name, u, out in zip(names, unit, outs, strict=True):
        if truth(sympy.Ge(u, 0)) is False or truth(sympy.Lt(u, out)) is False:
            raise ShapeError(f"unit {name} = {text_value(u)} is not a unit of this layer, "
                             f"whose output {name} has units 0 to {text_value(out - 1)}",
                             record.layer.source, label)
    return tuple(unit)


def axis_names(rank: int) -> tuple[str, ...]:
    """How the spatial axes are called in messages: L; H, W; D, H, W."""
    names = _AXIS_NAMES.get(rank)  # (asked per layer of every table: one lookup)
    return names if names is not None else tuple(f"axis{i + 1}" for i in range(rank))


_AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@dataclass(frozen=True, slots=True)
class Chain:
    """Where a chain of layers stands: its shape, its units' receptive fields, and the network
    input's spatial size (a flatten's units see all of it)."""

    shape: Shape
    fields: tuple[Field, ...]
    input_spatial: Shape


# How a block walks the layers of its body: trace.chain, passed in by the trace (which calls
# the blocks' module for the blocks it meets), so that neither module imports the other.
class Walk(Protocol):
    def __call__(self, layers: Sequence[Layer], at: Chain, path: int = 0
                 ) -> tuple[tuple[Record, ...], Chain]: ...
