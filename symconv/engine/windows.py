"""A window's padding and output along one axis, in its convention: the one place that
chooses between an explicit padding p, PyTorch's padding='same' and TensorFlow's 'SAME'
(whose padding depends on the input size n). The arithmetic is formulas.py's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

from symconv.algebra.symbols import Value
from symconv.engine import formulas as f
from symconv.language.layers import Convention, Window


def padding_of(w: Window, axis: int, n: Value) -> tuple[Value, Value]:
    """The padding (before, after) a convolution or pooling window applies along one axis
    to an input of length n."""
    k, s, p, d = w.kernel[axis], w.stride[axis], w.padding[axis], w.dilation[axis]
    if not w.same:
        return p, p
    match w.convention:
        case Convention.TORCH:
            return f.same_padding(k, d)
        case Convention.TENSORFLOW:
            return f.tf_same_padding(n, k, s, d)
        case _:
            assert_never(w.convention)


def paddings(w: Window, spatial: Sequence[Value]) -> tuple[tuple[Value, Value], ...]:
    """padding_of along every axis."""
    return tuple(padding_of(w, axis, n) for axis, n in enumerate(spatial))


def out_of(w: Window, axis: int, n: Value, ceil: bool = False) -> Value:
    """The output length of a convolution or pooling window along one axis (`ceil`: PyTorch's
    ceil_mode pooling)."""
    k, s, p, d = w.kernel[axis], w.stride[axis], w.padding[axis], w.dilation[axis]
    if not w.same:
        return (f.window_out_ceil if ceil else f.window_out)(n, k, s, p, d)
    match w.convention:
        case Convention.TORCH:
            return n  # stride 1 (trace refuses any other)
        case Convention.TENSORFLOW:
            return f.tf_same_out(n, s)
        case _:
            assert_never(w.convention)


def transposed_padding_of(w: Window, axis: int) -> Value:
    """The padding a transposed convolution crops before its output along one axis (p, or
    the 'before' of TensorFlow's 'SAME')."""
    if not w.same:
        return w.padding[axis]
    return f.tf_same_transposed_padding(w.kernel[axis], w.stride[axis], w.dilation[axis])[0]


def transposed_out_of(w: Window, axis: int, n: Value, op: Value) -> Value:
    """The output length of a transposed convolution along one axis."""
    k, s, p, d = w.kernel[axis], w.stride[axis], w.padding[axis], w.dilation[axis]
    if not w.same:
        return f.transposed_out(n, k, s, p, d, op)
    return f.tf_same_transposed_out(n, s)  # build allows 'same' only in TensorFlow's
