"""The intermediate form: immutable layer records, one type per layer kind.

Every size or parameter is a `Value` (an int, or a SymPy expression over integer symbols).
Per-axis parameters are tuples with one entry per spatial axis, already broadcast.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TypeAlias, assert_never

import sympy

from symconv.algebra.symbols import Value
from symconv.errors import Source

Axes: TypeAlias = tuple[Value, ...]


class PoolOp(enum.Enum):
    MAX = "max"
    AVG = "avg"


class Convention(enum.Enum):
    """Whose padding='same' a description follows (its `convention` line, `--convention`):
    PyTorch's (stride 1 only, the output keeps n, total padding d(k-1)) or TensorFlow's
    ('SAME': any stride, output ceil(n/s), a total padding that depends on n; also on
    pooling and transposed convolutions, output n·s)."""

    TORCH = "torch"
    TENSORFLOW = "tensorflow"


@dataclass(frozen=True, slots=True)
class Window:
    """A sliding window along each spatial axis (kernel, stride, padding, dilation).

    `same` is padding='same', in the window's `convention`: PyTorch's keeps the input's size
    and splits the total padding d*(k-1) with the extra element after (formulas.same_padding);
    TensorFlow's gives ceil(n/s) and pads as formulas.tf_same_padding says, an amount that
    depends on the input size n (engine/windows.py applies either). `padding` is then 0.
    """

    kernel: Axes
    stride: Axes
    padding: Axes
    dilation: Axes
    same: bool = False
    convention: Convention = Convention.TORCH  # read only where `same`

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
    # Keras's BatchNormalization(scale=False) or (center=False): with affine, the shift
    # alone or the scale alone (from_keras; PyTorch has both or neither)
    scale: bool = True
    center: bool = True


@dataclass(frozen=True, slots=True)
class GroupNorm:
    """nn.GroupNorm: the channels normalised in `groups` groups, a scale and a shift per
    channel when affine."""

    groups: Value
    num_channels: Value | None = None
    affine: bool = True
    source: Source | None = field(default=None, compare=False)
    shared: Shared | None = None


@dataclass(frozen=True, slots=True)
class LayerNorm:
    """nn.LayerNorm over the last axes of the input (channels first: (C, H, W) normalises
    every axis, (W,) the last one); with elementwise_affine a weight, and a bias unless
    bias=False, of that shape."""

    normalized_shape: Axes
    affine: bool = True
    bias: bool = True
    source: Source | None = field(default=None, compare=False)
    shared: Shared | None = None


@dataclass(frozen=True, slots=True)
class ChannelNorm:
    """torchvision's LayerNorm2d (`layernorm2d`): at every position, the channels normalised
    (channels last, nn.LayerNorm over C, channels first again); with elementwise_affine a
    weight, and a bias unless bias=False, per channel."""

    num_channels: Value | None = None  # as declared; checked against the input's channels
    affine: bool = True
    bias: bool = True
    source: Source | None = field(default=None, compare=False)
    shared: Shared | None = None


@dataclass(frozen=True, slots=True)
class LayerScale:
    """ConvNeXt's layer scale (`layerscale`): the input times a learned scale per channel (a
    parameter of shape C x 1 x 1, broadcast over the positions); the shape stays."""

    channels: Value | None = None  # as declared; checked against the input's channels
    rank: int | None = None  # spatial axes the parameter broadcasts over (from_torch), if known
    source: Source | None = field(default=None, compare=False)
    shared: Shared | None = None


@dataclass(frozen=True, slots=True)
class InstanceNorm:
    """nn.InstanceNorm1d/2d/3d: every channel of every example normalised over its spatial
    axes; a scale and a shift per channel only with affine=True (PyTorch's default is
    False)."""

    rank: int
    num_features: Value | None = None
    affine: bool = False
    source: Source | None = field(default=None, compare=False)
    shared: Shared | None = None


@dataclass(frozen=True, slots=True)
class Pad:
    """nn.ZeroPad1d/2d/3d and nn.ConstantPad1d/2d/3d: (before, after) per spatial axis, the
    first axis first (PyTorch's own tuple lists the last axis first); negative amounts crop."""

    padding: tuple[tuple[Value, Value], ...]
    value: Value = 0  # what fills the padding (shapes and counts do not depend on it)
    source: Source | None = field(default=None, compare=False)

    @property
    def rank(self) -> int:
        return len(self.padding)


@dataclass(frozen=True, slots=True)
class PixelShuffle:
    """nn.PixelShuffle(r): C·r² x H x W -> C x rH x rW; `inverse` (nn.PixelUnshuffle(r)):
    C x rH x rW -> C·r² x H x W."""

    factor: Value
    inverse: bool = False
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Upsample:
    """nn.Upsample and F.interpolate: the spatial axes resized to `size`, or multiplied by
    `scale` and rounded down (PyTorch's rule for a scale factor); exactly one is given."""

    size: Axes | None = None
    scale: Axes | None = None  # ints or exact Rationals (2, 3/2)
    mode: str = "nearest"  # nearest, linear, bilinear, bicubic, trilinear, nearest-exact
    align_corners: bool | None = None
    every_axis: bool = False  # one size or scale given for every spatial axis

    def per_axis(self, rank: int) -> Upsample:
        """The same upsampling with its size or scale given per spatial axis (one value
        given for every axis is repeated)."""
        if not self.every_axis:
            return self
        size = None if self.size is None else self.size[:1] * rank
        scale = None if self.scale is None else self.scale[:1] * rank
        return Upsample(size, scale, self.mode, self.align_corners, False, self.source)
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class GlobalPool:
    """x.mean(spatial axes) or x.amax(...): every spatial axis reduced to one value per
    channel; with keepdim the axes stay, of size 1, else the output is flat (C)."""

    op: PoolOp
    keepdim: bool = False
    rank: int = 2  # spatial axes of its input
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ChannelShuffle:
    """nn.ChannelShuffle(g): the channels, seen as g groups of C/g, interleaved (ShuffleNet's
    view, transpose, view); the shape stays, C must be divisible by g."""

    groups: Value
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Chunk:
    """x.chunk(n, dim=1)[i]: part `index` (from 0) of the channels cut into `chunks` equal
    parts (ShuffleNet's channel split); C must be divisible by n."""

    chunks: Value
    index: Value = 0
    source: Source | None = field(default=None, compare=False)


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


@dataclass(frozen=True, slots=True)
class Scale:
    """`scale { ... }`: the input multiplied by what the body computes from it, broadcast
    (a squeeze-and-excitation gate: x * sigmoid(conv(relu(conv(avgpool(x)))))). The body's
    output must broadcast to the input: each size equal to the input's or 1."""

    body: tuple[Layer, ...]
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ChannelsLast:
    """`channels_last { ... }`: the body applied at every position to the vector of channels,
    as PyTorch's x.permute(0, 2, 3, 1), body, x.permute(0, 3, 1, 2) does (ConvNeXt's block).
    The body holds only per-position layers (layernorm over C, linear, activations, dropout),
    so the positions keep their sizes and their receptive fields; a linear changes C."""

    body: tuple[Layer, ...]
    source: Source | None = field(default=None, compare=False)


class JoinOp(enum.Enum):
    CONCAT = "concat"  # the channels concatenated; every other size must agree
    ADD = "add"  # element-wise, PyTorch's broadcasting (each size equal, or 1)
    MUL = "mul"
    USE = "use"  # one named tensor, taken up again


@dataclass(frozen=True, slots=True)
class Join:
    """`concat a b c`, `add a b`, `mul a b`, `use a`: a layer whose input is the named
    tensors (bound by `Bind`, or the network's input), not the previous layer's output.
    Names are bound at the top level of a network only (language/names.py checks them)."""

    op: JoinOp
    names: tuple[str, ...]
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Bind:
    """`name = <layer>`: the layer, its output named so that later joins can read it (the
    same tensor, not a copy). The layer is never itself a Bind."""

    name: str
    layer: Layer
    source: Source | None = field(default=None, compare=False)


Layer: TypeAlias = (
    Conv | ConvTranspose | Pool | AdaptivePool | Flatten | Linear | BatchNorm | GroupNorm
    | LayerNorm | InstanceNorm | Pad | PixelShuffle | Upsample | GlobalPool | ChannelShuffle
    | Chunk | Activation | Dropout | Repeat | Residual | Concat | Scale | ChannelNorm
    | LayerScale | ChannelsLast | Join | Bind
)

# The blocks: layers whose record holds the records of the layers inside them (traced by
# engine/blocks.py; the compiled code reaches them through the trace's recursion).
Block: TypeAlias = Repeat | Residual | Concat | Scale | ChannelsLast

# How many names a join's label lists before it says how many more (a dense block's last
# concatenation joins dozens).
SHOWN_NAMES = 4


def join_label(join: Join) -> str:
    """`concat x0 x1 x2`, or `concat x0 x1 … x24 (25 tensors)` where the names are many."""
    names = join.names
    if len(names) > SHOWN_NAMES:
        shown = [*names[:SHOWN_NAMES - 1], "…", names[-1]]
        return f"{join.op.value} {' '.join(shown)} ({len(names)} tensors)"
    return " ".join((join.op.value, *names))


# The layers that hold learnable parameters (and so may share them, see Shared).
WithParameters: TypeAlias = (
    Conv | ConvTranspose | Linear | BatchNorm | GroupNorm | LayerNorm | InstanceNorm
    | ChannelNorm | LayerScale
)


def unbound(layer: Layer) -> Layer:
    """The layer itself, without the name a Bind gives its output."""
    return layer.layer if isinstance(layer, Bind) else layer


def shared_of(layer: Layer) -> Shared | None:
    """The parameters the layer shares with others, or None where it has its own."""
    match layer:
        case Bind(layer=inner):
            return shared_of(inner)
        case (Conv(shared=s) | ConvTranspose(shared=s) | Linear(shared=s) | BatchNorm(shared=s)
              | GroupNorm(shared=s) | LayerNorm(shared=s) | InstanceNorm(shared=s)
              | ChannelNorm(shared=s) | LayerScale(shared=s)):
            return s
        case _:
            return None


# What a channels-last section holds, in words (for the messages that refuse anything else).
PER_POSITION = ("layers that act on each position's channels alone (layernorm over C, "
                "linear, activations, dropout)")


def not_per_position(layer: Layer) -> str | None:
    """Why the layer cannot stand in a channels-last section (with the channels last, it
    would not act on each position's channels alone), or None where it can."""
    match layer:
        case LayerNorm(normalized_shape=shape) if len(shape) != 1:
            return (f"a layernorm over {len(shape)} axes would normalise across positions; "
                    "with the channels last it normalises them with one size, C")
        case LayerNorm() | Linear() | Activation() | Dropout():
            return None
        case _:
            return f"the section holds only {PER_POSITION}"


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
        case GroupNorm():
            return "groupnorm"
        case LayerNorm():
            return "layernorm"
        case InstanceNorm(rank=rank):
            return f"instancenorm{rank}d"
        case Pad(value=value):
            return f"{'zero' if value == 0 else 'constant'}pad{layer.rank}d"
        case PixelShuffle(inverse=inverse):
            return "pixelunshuffle" if inverse else "pixelshuffle"
        case Upsample():
            return "upsample"
        case GlobalPool(op=op):
            return "mean" if op is PoolOp.AVG else "amax"
        case ChannelShuffle():
            return "channelshuffle"
        case Chunk():
            return "chunk"
        case Activation(name=name) | Dropout(name=name):
            return name
        case Repeat():
            return "repeat"
        case Residual():
            return "residual"
        case Concat():
            return "concat"
        case Scale():
            return "scale"
        case ChannelNorm():
            return "layernorm2d"
        case LayerScale():
            return "layerscale"
        case ChannelsLast():
            return "channels_last"
        case Join():
            return join_label(layer)
        case Bind(name=name, layer=inner):
            return f"{name} = {kind_of(inner)}"
        case _:
            assert_never(layer)
