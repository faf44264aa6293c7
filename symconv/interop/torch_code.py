"""Network -> PyTorch: the Python source of an equivalent nn.Sequential, and the module itself.

The source is the single form: `to_torch_module` executes it, so `symconv check --torch`
proves the very code a user copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, assert_never

import sympy

from symconv import catalog
from symconv.errors import ShapeError
from symconv.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    ConvTranspose,
    Dropout,
    Flatten,
    Linear,
    Pool,
    PoolOp,
    kind_of,
)
from symconv.render.values import text_shape
from symconv.symbols import Value, free_names
from symconv.trace import Record

if TYPE_CHECKING:
    from symconv.network import Network

# kind_of(layer) -> PyTorch class name: conv2d -> Conv2d, relu -> ReLU, dropout2d -> Dropout2d.
TORCH_CLASS = {entry.kind_name: name for name, entry in catalog.TORCH_NAMES.items()}

# Element-wise layers whose PyTorch class wants an argument that symconv does not model:
# softmax over the channels (dim=1), as a classifier head uses it.
_EXTRA_ARGUMENTS = {"softmax": "dim=1", "logsoftmax": "dim=1"}


class _Numbers:
    """Collects the values written into the code; symbols among them are reported together."""

    def __init__(self) -> None:
        self.missing: set[str] = set()

    def int(self, value: Value) -> str:
        number = sympy.sympify(value)
        if number.is_Integer:
            return str(int(number))
        self.missing |= free_names(number)
        return sympy.sstr(number)

    def axes(self, values: Sequence[Value]) -> str:
        texts = [self.int(v) for v in values]
        if len(set(texts)) == 1:
            return texts[0]
        return "(" + ", ".join(texts) + ")"


def _same(values: Sequence[Value], default: int) -> bool:
    return all(sympy.sympify(v) == default for v in values)


def layer_code(record: Record, numbers: _Numbers) -> str:
    """The constructor call of one layer, e.g. `nn.Conv2d(3, 64, kernel_size=3, padding=1)`."""
    layer = record.layer
    args: list[str] = []
    match layer:
        case Conv(window=w) | ConvTranspose(window=w):
            args += [numbers.int(record.input_shape[0]), numbers.int(layer.out_channels),
                     f"kernel_size={numbers.axes(w.kernel)}"]
            if not _same(w.stride, 1):
                args.append(f"stride={numbers.axes(w.stride)}")
            if w.same:
                args.append("padding='same'")
            elif not _same(w.padding, 0):
                args.append(f"padding={numbers.axes(w.padding)}")
            if isinstance(layer, ConvTranspose) and not _same(layer.output_padding, 0):
                args.append(f"output_padding={numbers.axes(layer.output_padding)}")
            if not _same(w.dilation, 1):
                args.append(f"dilation={numbers.axes(w.dilation)}")
            if sympy.sympify(layer.groups) != 1:
                args.append(f"groups={numbers.int(layer.groups)}")
            if not layer.bias:
                args.append("bias=False")
        case Pool(window=w):
            args.append(f"kernel_size={numbers.axes(w.kernel)}")
            if tuple(w.stride) != tuple(w.kernel):
                args.append(f"stride={numbers.axes(w.stride)}")
            if not _same(w.padding, 0):
                args.append(f"padding={numbers.axes(w.padding)}")
            if layer.op is PoolOp.MAX and not _same(w.dilation, 1):
                args.append(f"dilation={numbers.axes(w.dilation)}")
            if layer.ceil_mode:
                args.append("ceil_mode=True")
        case AdaptivePool(output_size=size):
            items = ["None" if o is None else numbers.int(o) for o in size]
            args.append(items[0] if len(set(items)) == 1 else "(" + ", ".join(items) + ")")
        case Flatten():
            pass
        case Linear():
            args += [numbers.int(record.input_shape[-1]), numbers.int(layer.out_features)]
            if not layer.bias:
                args.append("bias=False")
        case BatchNorm():
            args.append(numbers.int(record.input_shape[0]))
            if not layer.affine:
                args.append("affine=False")
        case Activation(name=name):
            if name in _EXTRA_ARGUMENTS:
                args.append(_EXTRA_ARGUMENTS[name])
        case Dropout(p=p):
            if p != sympy.Rational(1, 2):
                args.append(f"p={float(p)!r}")
        case _:
            assert_never(layer)
    return f"nn.{TORCH_CLASS[kind_of(layer)]}({', '.join(args)})"


def to_torch_code(network: Network, name: str = "net", **values: object) -> str:
    """Python source that builds the network as `name = nn.Sequential(...)`, one layer per
    line with symconv's output shape as a comment. Every channel count and window size must
    be a number: give symbols values as keyword arguments (W=224), as in Network.table()."""
    records = network.records(**values)
    numbers = _Numbers()
    lines = [f"{layer_code(r, numbers)},  # -> {text_shape(r.output_shape)}" for r in records]
    if numbers.missing:
        names = ", ".join(sorted(numbers.missing))
        raise ShapeError(
            f"PyTorch code needs numbers for every channel count and window size; "
            f"give values for {names}"
        )
    input_shape = records[0].input_shape if records else network.bind(values).input_shape
    head = [
        f"# Written by symconv for the input {text_shape(input_shape)} "
        "(PyTorch adds the batch axis in front).",
        "from torch import nn",
        "",
        f"{name} = nn.Sequential(",
    ]
    return "\n".join([*head, *(f"    {line}" for line in lines), ")"]) + "\n"


def to_torch_module(network: Network, device: Any = None, **values: object) -> Any:
    """The nn.Module that `to_torch_code` writes, built on `device` (e.g. "meta", where
    parameters take no memory)."""
    from symconv.interop._torch import require_torch

    torch = require_torch()
    code = to_torch_code(network, "net", **values)
    namespace: dict[str, Any] = {}
    with torch.device(device or "cpu"):
        exec(compile(code, "<symconv torch code>", "exec"), namespace)
    return namespace["net"]
