"""The columns a torchinfo summary shows, per layer: module name and depth, kernel shape,
trainable and non-trainable parameters, and memory for a dtype and a batch size.

Conventions (docs/conventions.md, "Memory"):
- parameters are what model.parameters() holds; BatchNorm's running mean and variance are
  buffers, not parameters, and count nowhere (as in PyTorch and torchinfo). A parameter is
  trainable unless from_torch read it with requires_grad=False.
- parameter memory = parameters x bytes per element of the dtype.
- forward activation memory = the elements every layer's output holds (the `neurons`
  column: a layer's output, the sum of a residual and the product of a scale, which are new
  tensors; a concatenation is its branches' outputs side by side, counted once) x batch x
  bytes per element. Forward + backward is twice that: a gradient of each activation's size
  (torchinfo's "forward/backward pass size").
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, NamedTuple

import sympy

from symconv.algebra.symbols import Value, free_names, truth
from symconv.errors import InvalidValueError, ModuleSource
from symconv.language.layers import Conv, ConvTranspose, Layer, Linear
from symconv.language.values import value_of

# Bytes per element of each dtype that --dtype names (torch.<name>.itemsize).
DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}


@dataclass(frozen=True, slots=True)
class Memory:
    """The element type and the batch size that memory columns are computed for; the batch
    may be a symbol (N) or an expression."""

    dtype: str = "float32"
    batch: Value = 1

    @property
    def itemsize(self) -> int:
        return DTYPES[self.dtype]


def memory_of(dtype: object = "float32", batch: object = 1, name: str = "batch",
              taken: Collection[str] = ()) -> Memory:
    """The Memory settings a caller gave (dtype by name, batch a whole number, a symbol's
    name or an expression), checked; `name` is how messages call the batch. The batch must
    be a whole number, 1 or more, for every value of its symbols (N, 2*N, N + 1; not N - 10
    or N/2), and its symbols must be its own: a name in `taken` (the network's symbols, an
    input size such as H) is refused rather than merged with the batch."""
    if not isinstance(dtype, str) or str.__str__(dtype) not in DTYPES:
        raise InvalidValueError(f"dtype: expected one of {', '.join(DTYPES)}, got "
                                f"{dtype!r}"[:200])
    value = value_of(name, batch)
    expected = f"{name}: expected a whole number of examples, 1 or more, or a symbol such as N"
    if type(value) is int:  # the common case, decided without SymPy
        if value < 1:
            raise InvalidValueError(f"{expected}; got {value}, which is less than 1")
        return Memory(str.__str__(dtype), value)
    for holds, fails in ((sympy.Ge(value, 1), "less than 1"),
                         (sympy.Eq(value, sympy.floor(value)), "not whole")):
        if (verdict := truth(holds)) is not True:
            some = "" if verdict is False else " for some values of its symbols"
            raise InvalidValueError(f"{expected}; got {value}, which is {fails}{some}")
    if shared := sorted(free_names(value) & set(taken)):
        raise InvalidValueError(f"{name}: {shared[0]} is a symbol of the network (an input size "
                                "or a layer's argument); the batch size needs a symbol of its "
                                "own, such as N")
    return Memory(str.__str__(dtype), value)


def kernel_shape(layer: Layer, input_shape: tuple[Value, ...]) -> tuple[Value, ...]:
    """The shape of the layer's weight, as PyTorch holds it: (out, in/groups, *kernel) for a
    convolution, (in, out/groups, *kernel) for a transposed one, (out, in) for a linear
    layer; () for a layer without a weight matrix or kernel."""
    match layer:
        case Conv(out_channels=out, window=w, groups=g):
            return (out, _divided(input_shape[0], g), *w.kernel)
        case ConvTranspose(out_channels=out, window=w, groups=g):
            return (input_shape[0], _divided(out, g), *w.kernel)
        case Linear(out_features=out):
            return (out, input_shape[-1])
        case _:
            return ()


def _divided(a: Value, b: Value) -> Value:
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return sympy.sympify(a, strict=True) / b


def module_path(layer: Layer) -> str:
    """The module's name in the torch model it was read from ('layer2.0.conv1'), or ''."""
    source = getattr(layer, "source", None)
    return source.path if isinstance(source, ModuleSource) else ""


def non_trainable(layer: Layer, params: Value) -> Value:
    """The layer's parameters that do not train (requires_grad=False in the torch model it
    was read from): 0 for a description, and for a reuse (which owns no parameters)."""
    source = getattr(layer, "source", None)
    if not isinstance(source, ModuleSource) or params == 0:
        return 0
    return source.frozen


class Columns(NamedTuple):
    """The torchinfo columns of one row, as LayerRecord names them."""

    name: str
    depth: int
    kernel_shape: tuple[Value, ...]
    trainable: Value
    non_trainable: Value
    param_bytes: Value
    activation_bytes: Value


def columns(layer: Layer, input_shape: tuple[Value, ...], params: Value, neurons: Value,
            memory: Memory, depth: int, children: tuple[Any, ...] = ()) -> Columns:
    """The torchinfo columns of a layer whose trace record (symconv.trace.Record) has these
    input shape, counts and children: the name and depth, and the numbers as Values
    (Python ints where the record has ints; LayerRecord reads them as SymPy objects); block
    rows sum their children's parameters as the params column does."""
    frozen: Value = (sum((_frozen(c) for c in children), 0) if children
                     else non_trainable(layer, params))
    path = module_path(layer)
    return Columns(path, path.count(".") + 1 if path else depth,
                   kernel_shape(layer, input_shape), params - frozen, frozen,
                   params * memory.itemsize, neurons * memory.batch * memory.itemsize)


def _frozen(record: Any) -> Value:
    if record.children:
        return sum((_frozen(c) for c in record.children), 0)
    return non_trainable(record.layer, record.params)
