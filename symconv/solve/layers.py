"""Answers about single windows: 'same' padding in PyTorch's and TensorFlow's conventions,
the output_padding that makes a transposed convolution undo a convolution, and the sizes a
transposed convolution can produce. The arithmetic is the formulas module's."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import assert_never

from symconv.algebra.symbols import Value
from symconv.engine import formulas as f
from symconv.errors import NoSolutionError
from symconv.language.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Bind,
    ChannelNorm,
    ChannelShuffle,
    ChannelsLast,
    Chunk,
    Concat,
    Conv,
    Convention,
    ConvTranspose,
    Dropout,
    Flatten,
    GlobalPool,
    GroupNorm,
    InstanceNorm,
    Join,
    Layer,
    LayerNorm,
    LayerScale,
    Linear,
    Pad,
    PixelShuffle,
    Pool,
    Repeat,
    Residual,
    Scale,
    Upsample,
)
from symconv.network import Network


def sizes_in(network: Network, convention: Convention) -> Network:
    """The network with every padding='same' window in `convention` (whose 'same' a window
    follows is part of the IR: `Window.convention`, from a description's convention line or
    --convention; this re-reads a network built in one convention in the other). Windows
    without 'same' are the same in both conventions: an explicit padding p=P is P zeros on
    each side (Keras's ZeroPadding2D(P) before a 'VALID' convolution)."""
    return dataclasses.replace(network, layers=_in(network.layers, convention))


def _in(layers: tuple[Layer, ...], convention: Convention) -> tuple[Layer, ...]:
    return tuple(_layer_in(layer, convention) for layer in layers)


def _layer_in(layer: Layer, convention: Convention) -> Layer:
    match layer:
        case Conv(window=w) if w.same:
            return dataclasses.replace(layer, window=dataclasses.replace(w, convention=convention))
        case Repeat(body=body) | Scale(body=body):
            return dataclasses.replace(layer, body=_in(body, convention))
        case Residual(body=body, shortcut=shortcut):
            return dataclasses.replace(layer, body=_in(body, convention),
                                       shortcut=_in(shortcut, convention))
        case Concat(branches=branches):
            return dataclasses.replace(layer, branches=tuple(_in(b, convention)
                                                             for b in branches))
        case Bind(layer=inner):
            return dataclasses.replace(layer, layer=_layer_in(inner, convention))
        case Join():
            return layer
        case (Conv() | ConvTranspose() | Pool() | AdaptivePool() | Linear() | Flatten()
              | BatchNorm() | Activation() | Dropout() | GroupNorm() | LayerNorm()
              | InstanceNorm() | Pad() | PixelShuffle() | Upsample() | GlobalPool()
              | ChannelShuffle() | Chunk() | ChannelNorm() | LayerScale() | ChannelsLast()):
            return layer  # pools and transposed convolutions take 'same' in TensorFlow's only
        case _:
            assert_never(layer)


@dataclass(frozen=True, slots=True)
class SamePadding:
    """Padding before and after the input along one axis, and the output length it gives."""

    before: Value
    after: Value
    output: Value

    @property
    def symmetric(self) -> bool:
        """Whether PyTorch's single `padding=` number can express it (before == after)."""
        return bool(self.before == self.after)


def same_padding(
    n: Value, k: Value, s: Value = 1, d: Value = 1, convention: Convention = Convention.TORCH
) -> SamePadding:
    """padding='same' along one axis of length n. PyTorch pads d(k-1) in total, the odd
    element after, and refuses strides above 1; TensorFlow pads max((ceil(n/s) - 1)s +
    d(k-1) + 1 - n, 0), the odd element after, for an output of ceil(n/s). With stride 1 the
    two coincide; they differ exactly where the stride is above 1."""
    if convention is Convention.TENSORFLOW:
        before, after = f.tf_same_padding(n, k, s, d)
        return SamePadding(before, after, f.tf_same_out(n, s))
    if s != 1:
        raise NoSolutionError(
            f"PyTorch's padding='same' needs stride 1 (got {s}); TensorFlow's 'SAME' gives "
            f"ceil(n/{s}) instead, or solve for a padding with 'symconv solve'"
        )
    before, after = f.same_padding(k, d)
    return SamePadding(before, after, f.window_out(n + before + after, k, 1, 0, d))


def undo_output_padding(n: Value, k: Value, s: Value = 1, p: Value = 0, d: Value = 1) -> Value:
    """The output_padding with which ConvTranspose(k, s, p, d) gives back the length n that
    Conv(k, s, p, d) turned into window_out(n, ...): the elements the convolution left over,
    (n + 2p - d(k-1) - 1) mod s, always below s and so accepted by PyTorch."""
    if isinstance(n, int) and f.window_out(n, k, s, p, d) < 1:
        raise NoSolutionError(f"the convolution has no output for an input of {n}")
    return f.window_leftover(n, k, s, p, d)


def transposed_sizes(n: Value, k: Value, s: Value = 1, p: Value = 0, d: Value = 1
                     ) -> tuple[Value, Value]:
    """The smallest and largest output length ConvTranspose(k, s, p, d) makes of length n,
    over the output_padding values PyTorch accepts (0 to max(s, d) - 1)."""
    low, high = f.transposed_out_range(n, k, s, p, d)
    if isinstance(high, int) and high < 1:
        raise NoSolutionError(f"the transposed convolution has no output for an input of {n}")
    return f.maximum(low, 1), high
