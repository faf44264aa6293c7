"""The intermediate form: immutable layer records, one type per layer kind.

Every size or parameter is a `Value` (an int, or a SymPy expression over integer symbols).
Per-axis parameters are tuples with one entry per spatial axis, already broadcast.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TypeAlias, assert_never

import sympy

from symconv.errors import Source
from symconv.symbols import Value

Axes: TypeAlias = tuple[Value, ...]


class PoolOp(enum.Enum):
    MAX = "max"
    AVG = "avg"


@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window along each spatial axis (kernel, stride, padding, dilation).

    `same` is PyTorch's padding='same': the output keeps the input's size and the total
    padding d*(k-1) is split with the extra element after (see formulas.same_padding).
    """

    kernel: Axes
    stride: Axes
    padding: Axes
    dilation: Axes
    same: bool = False

    @property
    def rank(self) -> int:
        return len(self.kernel)


@dataclass(frozen=True, slots=True)
class Shared:
    """Parameters that a model applies at more than one place (from_torch: one module called
    twice, or modules that hold the same tensors). `name` says whose they are (the module's
    path); every use after the first is a `reuse` and owns no parameters, so that totals count
    them once, as PyTorch's `model.parameters()` does."""

    name: str
    reuse: bool = False


@dataclass(frozen=True, slots=True)
class Conv:
    out_channels: Value
    window: Window
    groups: Value = 1
    bias: bool = True
    in_channels: Value | None = None  # as declared in PyTorch text; checked against the shape
    source: Source | None = field(default=None, compare=False)
    padding_mode: str = "zeros"  # PyTorch's: zeros, reflect, replicate, circular
    shared: Shared | None = None


@dataclass(frozen=True, slots=True)
class ConvTranspose:
    out_channels: Value
    window: Window
    output_padding: Axes
    groups: Value = 1
    bias: bool = True
    in_channels: Value | None = None
    source: Source | None = field(default=None, compare=False)
    shared: Shared | None = None


@dataclass(frozen=True, slots=True)
class Pool:
    op: PoolOp
    window: Window
    ceil_mode: bool = False
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AdaptivePool:
    op: PoolOp
    output_size: tuple[Value | None, ...]  # None keeps that axis's input size, as in PyTorch
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Flatten:
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Linear:
    out_features: Value
    bias: bool = True
    in_features: Value | None = None
    source: Source | None = field(default=None, compare=False)
    shared: Shared | None = None


@dataclass(frozen=True, slots=True)
class BatchNorm:
    rank: int  # spatial axes of its input: 1 -> BatchNorm1d (also for flat input), 2, 3
    num_features: Value | None = None
    affine: bool = True
    source: Source | None = field(default=None, compare=False)
    shared: Shared | None = None


@dataclass(frozen=True, slots=True)
class Activation:
    """A shape-preserving element-wise layer without parameters (relu, gelu, identity, ...)."""

    name: str  # PyTorch class name in lower case
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Dropout:
    p: sympy.Rational
    name: str = "dropout"  # dropout, dropout1d, dropout2d, dropout3d
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Repeat:
    """`repeat N { ... }`: the body applied `count` times in sequence."""

    count: Value
    body: tuple[Layer, ...]
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Residual:
    """`residual { ... } shortcut { ... }`: body(x) + shortcut(x); an empty shortcut is x."""

    body: tuple[Layer, ...]
    shortcut: tuple[Layer, ...] = ()
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Concat:
    """`concat { ... } { ... }`: parallel branches on the same input, channels concatenated."""

    branches: tuple[tuple[Layer, ...], ...]
    source: Source | None = field(default=None, compare=False)


Layer: TypeAlias = (
    Conv | ConvTranspose | Pool | AdaptivePool | Flatten | Linear | BatchNorm | Activation | Dropout
    | Repeat | Residual | Concat
)


def shared_of(layer: Layer) -> Shared | None:
    """The parameters the layer shares with others, or None where it has its own."""
    match layer:
        case Conv(shared=s) | ConvTranspose(shared=s) | Linear(shared=s) | BatchNorm(shared=s):
            return s
        case _:
            return None


def kind_of(layer: Layer) -> str:
    """The PyTorch class name of the layer, in lower case (conv2d, maxpool2d, linear, ...)."""
    match layer:
        case Conv(window=w):
            return f"conv{w.rank}d"
        case ConvTranspose(window=w):
            return f"convtranspose{w.rank}d"
        case Pool(op=op, window=w):
            return f"{op.value}pool{w.rank}d"
        case AdaptivePool(op=op, output_size=size):
            return f"adaptive{op.value}pool{len(size)}d"
        case Flatten():
            return "flatten"
        case Linear():
            return "linear"
        case BatchNorm(rank=rank):
            return f"batchnorm{rank}d"
        case Activation(name=name) | Dropout(name=name):
            return name
        case Repeat():
            return "repeat"
        case Residual():
            return "residual"
        case Concat():
            return "concat"
        case _:
            assert_never(layer)
