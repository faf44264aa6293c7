"""Sizes a forward takes from a tensor: F.interpolate(x, size=y.shape[-2:]) resizes x to the
spatial size of y.

symconv reads this where y is the input of the branch the call is in, or the forward's input
at the top: a segmentation model upsampled back to its input's size, DeepLabV3's ASPP
pooling branch upsampled back to the size it pooled. While the graph is read such a size is
a marker; once the input shape is known, `resolve` puts in the branch input's spatial sizes
(numbers, or expressions of H and W), so every later stage sees an ordinary upsampling.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence
from typing import Any

import sympy

from symconv.algebra.symbols import Value
from symconv.engine.trace import trace
from symconv.errors import UnsupportedError
from symconv.interop.torch_graph import name_of
from symconv.language.layers import (
    ChannelsLast,
    Concat,
    Layer,
    Repeat,
    Residual,
    Scale,
    Upsample,
)

# The size of the branch input's last k axes (k markers), or of all its spatial axes (one
# ALL marker): never traced, replaced by `resolve` before anything reads the layer.
LAST = sympy.Dummy("branch_input_axis")
ALL = sympy.Dummy("branch_input_spatial")


def size_reference(size: Any, start: Any, where: str) -> tuple[Value, ...] | None:
    """The marker for a size read from a tensor's shape (y.shape[-2:], y.shape[2:],
    y.size()[2:]), where y is `start`, the input of the branch; None where `size` is not
    read from a tensor. A size read from any other tensor is refused."""
    if not hasattr(size, "op"):
        return None
    base, axes = _shape_slice(size)
    rule = ("symconv reads a resize to the spatial size of the input of the branch it is in "
            "(or of the forward's input), y.shape[-2:] or y.shape[2:]")
    if base is None or axes is None:
        raise UnsupportedError(f"{where} takes its size from {name_of(size)}; {rule}")
    if base is not start:
        raise UnsupportedError(
            f"{where} takes its size from the shape of the output of {name_of(base)}, which "
            f"is not the input of the branch it is in; {rule}")
    return axes


def _shape_slice(node: Any) -> tuple[Any, tuple[Value, ...] | None]:
    """(y, marker) for y.shape[s] or y.size()[s] with s = slice(-k, None) or slice(2, None)."""
    if node.op != "call_function" or node.target is not operator.getitem:
        return None, None
    shape, index = node.args
    if not hasattr(shape, "op"):
        return None, None
    attribute = shape.op == "call_function" and shape.target is getattr
    method = shape.op == "call_method" and shape.target == "size" and len(shape.args) == 1
    if not ((attribute and shape.args[1] == "shape") or method):
        return None, None
    base = shape.args[0]
    if not isinstance(index, slice) or index.stop is not None or index.step not in (None, 1):
        return base, None
    if index.start == 2:
        return base, (ALL,)
    if isinstance(index.start, int) and index.start < 0:
        return base, (LAST,) * -index.start
    return base, None


def marked(layer: Layer) -> bool:
    """Whether the layer, or one inside it, still holds a marker."""
    match layer:
        case Upsample(size=size):
            return size is not None and any(v in (LAST, ALL) for v in size)
        case Residual(body=body, shortcut=shortcut):
            return any(marked(x) for x in (*body, *shortcut))
        case Concat(branches=branches):
            return any(marked(x) for branch in branches for x in branch)
        case Repeat(body=body) | Scale(body=body) | ChannelsLast(body=body):
            return any(marked(x) for x in body)
        case _:
            return False


def resolve(layer: Layer, shape: Sequence[Value], origin: Sequence[Value]) -> Layer:
    """The layer with each marker replaced: `shape` is the layer's input, `origin` the input
    of the branch it is in (the forward's input at the top); a block's branches start at
    the block's input."""
    if not marked(layer):
        return layer
    match layer:
        case Upsample(size=size):
            assert size is not None
            spatial = tuple(origin[1:])
            if size != (ALL,) and len(size) != len(spatial):
                raise UnsupportedError(
                    f"the size is the last {len(size)} axes of a tensor with "
                    f"{len(spatial)} spatial axes; symconv reads a resize to the spatial "
                    "size of the branch's input")
            return dataclasses.replace(layer, size=spatial, every_axis=False)
        case Residual(body=body, shortcut=shortcut):
            return dataclasses.replace(layer, body=_branch(body, shape),
                                       shortcut=_branch(shortcut, shape))
        case Concat(branches=branches):
            return dataclasses.replace(layer,
                                       branches=tuple(_branch(b, shape) for b in branches))
        case Scale(body=body):
            return dataclasses.replace(layer, body=_branch(body, shape))
        case _:  # the import makes no Repeat
            raise AssertionError(layer)


def _branch(layers: Sequence[Layer], origin: Sequence[Value]) -> tuple[Layer, ...]:
    """A branch resolved layer by layer from its input `origin`."""
    shape = tuple(origin)
    done: list[Layer] = []
    for index, layer in enumerate(layers):
        layer = resolve(layer, shape, origin)
        done.append(layer)
        if index < len(layers) - 1:
            (record,) = trace(shape, (layer,))
            shape = record.output_shape
    return tuple(done)
