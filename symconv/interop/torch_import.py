"""PyTorch -> Network: a module's layers read into symconv's layers.

The module is traced with torch.fx, which flattens nn.Sequential and nested containers and
follows a custom forward; every layer symconv knows stays a leaf of the trace, and branches
that meet in an addition or torch.cat become residual and concat blocks (torch_graph.py).
What symconv does not model (an unknown layer, a function call, a second input) is named in
an error, never skipped: a skipped layer would make every answer after it wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sympy

from symconv import catalog
from symconv.catalog import Entry, Family
from symconv.errors import InvalidLayerError, ShapeError, SymconvError, UnsupportedError
from symconv.interop._torch import require_torch
from symconv.interop.torch_graph import Step, is_size_query, name_of, read_graph
from symconv.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    ConvTranspose,
    Dropout,
    Flatten,
    Layer,
    Linear,
    Pool,
    PoolOp,
    Window,
)
from symconv.parse import parse_shape
from symconv.symbols import Value, symbol
from symconv.trace import axis_names, trace

# Containers are traced through; every other class from torch.nn is a leaf.
_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


def from_torch(module: Any, input_shape: Sequence[int] | str | None = None) -> Any:
    """The Network of a torch module (nn.Sequential, nested containers, or a model whose
    forward torch.fx can trace). `input_shape` has no batch axis, e.g. (3, 224, 224) or
    "3x224x224"; without it the channels come from the first layer and the spatial sizes are
    symbols (H, W; L in 1D; D, H, W in 3D)."""
    from symconv.network import Network

    torch = require_torch()
    if not isinstance(module, torch.nn.Module):
        raise UnsupportedError(f"from_torch takes a torch.nn.Module, not {type(module).__name__}")
    if _is_leaf(type(module)):  # a single layer: torch.fx would trace into its forward
        module = torch.nn.Sequential(module)
    steps = read_graph(_trace(module, torch), lambda node: _step(module, node))
    layers = tuple(step.layer for step in steps)
    if not layers:
        raise ShapeError("the module has no layers")
    shape = _input_shape(input_shape, steps)
    _check(shape, steps)
    return Network(shape, layers)


# ---------------------------------------------------------------- tracing


def _trace(module: Any, torch: Any) -> Any:
    import torch.fx

    class _Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return _is_leaf(type(m))

    try:
        return _Tracer().trace(module)
    except Exception as error:  # fx raises many types: TraceError, TypeError, ...
        raise UnsupportedError(
            f"torch.fx cannot trace the forward of {type(module).__name__} ({error}); "
            "symconv reads models whose forward has no data-dependent control flow"
        ) from None


def _is_leaf(cls: type) -> bool:
    """Layers symconv knows, and every other torch.nn class but the containers."""
    if _torch_entry(cls) is not None:
        return True
    return cls.__module__.startswith("torch.nn") and cls.__name__ not in _CONTAINERS


def _torch_entry(cls: type) -> tuple[str, Entry] | None:
    """The catalog entry of a torch.nn class or of the torch.nn class it derives from."""
    for base in cls.__mro__:
        if base.__module__.startswith("torch.nn") and base.__name__ in catalog.TORCH_NAMES:
            return base.__name__, catalog.TORCH_NAMES[base.__name__]
    return None


def _step(root: Any, node: Any) -> Step | None:
    """The layer a graph node stands for; None for a node that changes nothing."""
    if node.op == "call_module":
        module = root.get_submodule(node.target)
        found = _torch_entry(type(module))
        where = f"nn.{type(module).__name__} at '{node.target}'"
        if found is None:
            raise UnsupportedError(
                f"{where} is a layer symconv does not model (the layers it reads are "
                "listed in docs/language.md)"
            )
        return Step(_from_module(module, *found, where), where)
    if is_size_query(node):
        return None
    if node.op in ("call_function", "call_method"):
        return _from_call(node)
    raise UnsupportedError(f"'{node.name}' ({node.op} {node.target}) is not a layer symconv reads")


# ---------------------------------------------------------------- modules


def _axes(value: Any, rank: int) -> tuple[Value, ...]:
    if isinstance(value, tuple | list):
        return tuple(value)
    return (value,) * rank


def _window(m: Any, rank: int, dilation: Any = 1) -> Window:
    padding = m.padding
    same = padding == "same"
    if isinstance(padding, str):
        padding = 0
    stride = m.stride if m.stride is not None else m.kernel_size
    return Window(_axes(m.kernel_size, rank), _axes(stride, rank), _axes(padding, rank),
                  _axes(dilation, rank), same)


def _from_module(m: Any, name: str, entry: Entry, where: str) -> Layer:
    rank = entry.rank or 0
    family = entry.spec.family
    bias = getattr(m, "bias", None) is not None
    if family is Family.CONV:
        return Conv(m.out_channels, _window(m, rank, m.dilation), m.groups, bias, m.in_channels)
    if family is Family.CONV_TRANSPOSE:
        return ConvTranspose(m.out_channels, _window(m, rank, m.dilation),
                             _axes(m.output_padding, rank), m.groups, bias, m.in_channels)
    if family in (Family.MAX_POOL, Family.AVG_POOL):
        is_max = family is Family.MAX_POOL
        window = _window(m, rank, m.dilation if is_max else 1)
        return Pool(PoolOp.MAX if is_max else PoolOp.AVG, window, bool(m.ceil_mode))
    if family in (Family.ADAPTIVE_MAX_POOL, Family.ADAPTIVE_AVG_POOL):
        op = PoolOp.MAX if family is Family.ADAPTIVE_MAX_POOL else PoolOp.AVG
        return AdaptivePool(op, _axes(m.output_size, rank))
    if family is Family.FLATTEN:
        return _flatten(m.start_dim, m.end_dim, where)
    if family is Family.LINEAR:
        return Linear(m.out_features, bias, m.in_features)
    if family is Family.BATCH_NORM:
        return BatchNorm(rank, m.num_features, bool(m.affine))
    if family is Family.DROPOUT:
        return Dropout(_rate(m.p), entry.kind_name)
    if family is Family.ACTIVATION:
        return Activation(entry.kind_name)
    raise AssertionError(family)


def _rate(p: float) -> sympy.Rational:
    if isinstance(p, bool) or not isinstance(p, int | float):  # nsimplify would eval text
        raise InvalidLayerError(f"dropout p must be a number, got {p!r}")
    return sympy.nsimplify(p)


def _flatten(start: int, end: int, where: str) -> Flatten:
    if (start, end) != (1, -1):
        raise UnsupportedError(
            f"{where}: only a flatten of every axis but the batch (start_dim=1, end_dim=-1) "
            f"is modelled, not start_dim={start}, end_dim={end}"
        )
    return Flatten()


# ---------------------------------------------------------------- functions in a forward


def _argument(node: Any, index: int, name: str, default: Any) -> Any:
    """Argument `index` (after the tensor) of a call, positional or by keyword."""
    if len(node.args) > index + 1:
        return node.args[index + 1]
    return node.kwargs.get(name, default)


def _functional_pool(op: PoolOp, rank: int) -> Callable[[Any], Layer]:
    def read(node: Any) -> Layer:
        kernel = _argument(node, 0, "kernel_size", None)
        stride = _argument(node, 1, "stride", None) or kernel
        padding = _argument(node, 2, "padding", 0)
        if op is PoolOp.MAX:
            dilation = _argument(node, 3, "dilation", 1)
            ceil = _argument(node, 4, "ceil_mode", False)
        else:
            dilation, ceil = 1, _argument(node, 3, "ceil_mode", False)
        window = Window(_axes(kernel, rank), _axes(stride, rank), _axes(padding, rank),
                        _axes(dilation, rank))
        return Pool(op, window, bool(ceil))

    return read


def _functional_adaptive(op: PoolOp, rank: int) -> Callable[[Any], Layer]:
    def read(node: Any) -> Layer:
        return AdaptivePool(op, _axes(_argument(node, 0, "output_size", None), rank))

    return read


def _functional_dropout(name: str) -> Callable[[Any], Layer]:
    def read(node: Any) -> Layer:
        return Dropout(_rate(_argument(node, 0, "p", 0.5)), name)

    return read


def _flatten_call(node: Any) -> Layer | None:
    if node.target in ("view", "reshape"):
        shape = [a for a in node.args[1:]]
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = list(shape[0])
        # x.view(x.size(0), -1) or x.view(-1, n): everything but the batch in one axis.
        if len(shape) == 2 and (shape[1] == -1 or shape[0] == -1):
            return Flatten()
        raise UnsupportedError(
            f"Tensor.{node.target} with shape {tuple(shape)}: symconv reads a reshape only as "
            "a flatten, x.view(x.size(0), -1)"
        )
    start = _argument(node, 0, "start_dim", 0)
    end = _argument(node, 1, "end_dim", -1)
    return _flatten(start, end, f"{name_of(node)}")


def _declared_features(node: Any) -> Value | None:
    """n in x.view(-1, n): the flattened size the forward expects."""
    if node.op == "call_method" and node.target in ("view", "reshape") and len(node.args) == 3:
        first, second = node.args[1:]
        if first == -1 and isinstance(second, int):
            return second
    return None


_FUNCTIONS: dict[str, Callable[[Any], Layer | None]] = {
    **{f"max_pool{r}d": _functional_pool(PoolOp.MAX, r) for r in (1, 2, 3)},
    **{f"avg_pool{r}d": _functional_pool(PoolOp.AVG, r) for r in (1, 2, 3)},
    **{f"adaptive_max_pool{r}d": _functional_adaptive(PoolOp.MAX, r) for r in (1, 2, 3)},
    **{f"adaptive_avg_pool{r}d": _functional_adaptive(PoolOp.AVG, r) for r in (1, 2, 3)},
    **{f"dropout{r}d": _functional_dropout(f"dropout{r}d") for r in (1, 2, 3)},
    "dropout": _functional_dropout("dropout"),
    "flatten": _flatten_call,
    "view": _flatten_call,
    "reshape": _flatten_call,
    "contiguous": lambda node: None,
}


def _from_call(node: Any) -> Step | None:
    name = str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", "")
    where = f"{name_of(node)} in the forward"
    read = _FUNCTIONS.get(name)
    if read is not None:
        layer = read(node)
        return None if layer is None else Step(layer, where, _declared_features(node))
    activation = catalog.DSL_NAMES.get(name.rstrip("_"))
    if activation is not None and activation.spec.family is Family.ACTIVATION:
        return Step(Activation(activation.kind_name), where)
    raise UnsupportedError(
        f"{where} is not something symconv reads; use the nn layer instead (nn.ReLU(), "
        "nn.MaxPool2d(2), nn.Flatten(), ...)"
    )


# ---------------------------------------------------------------- the input


def _input_shape(given: Sequence[int] | str | None, steps: Sequence[Step]) -> tuple[Value, ...]:
    """The given shape (checked for a batch axis by mistake), or one from the first layers."""
    inferred = _inferred_shape(steps)
    if given is None:
        if inferred is None:
            raise ShapeError(
                "the first layers do not tell the input's channels; give the input shape "
                "without the batch axis, as in from_torch(model, (3, 224, 224))"
            )
        return inferred
    shape = parse_shape(given) if isinstance(given, str) else tuple(int(v) for v in given)
    if inferred is not None and len(shape) == len(inferred) + 1 and shape[1] == inferred[0]:
        shown = ", ".join(str(v) for v in shape)
        raise ShapeError(
            f"the input shape ({shown}) has one axis more than the first layer takes: symconv's "
            f"shapes have no batch axis; give ({', '.join(str(v) for v in shape[1:])})"
        )
    return shape


def _inferred_shape(steps: Sequence[Step]) -> tuple[Value, ...] | None:
    """Channels from the first layer that declares them, spatial sizes as symbols."""
    for step in steps:
        layer = step.layer
        match layer:
            case Conv(window=w) | ConvTranspose(window=w) if layer.in_channels is not None:
                return (layer.in_channels, *_spatial(w.rank))
            case Linear(in_features=n) if n is not None:
                return (n,)
            case BatchNorm(rank=rank, num_features=c) if c is not None:
                return (c, *_spatial(rank))
            case Activation() | Dropout():
                continue
            case _:
                return None
    return None


def _spatial(rank: int) -> tuple[Value, ...]:
    return tuple(symbol(name) for name in axis_names(rank))


def _check(shape: tuple[Value, ...], steps: Sequence[Step]) -> None:
    """Trace once so that a layer that cannot follow its input is named by its module path."""
    for step in steps:
        try:
            (record,) = trace(shape, (step.layer,))
        except SymconvError as error:
            raise type(error)(error.message, None, step.where) from None
        shape = record.output_shape
        if step.features is not None and sympy.sympify(shape[0] - step.features, strict=True) != 0:
            raise ShapeError(
                f"the forward flattens to {step.features} features, but the input here has "
                f"{shape[0]} per example",
                None,
                step.where,
            )
