"""A Keras 3 model -> symconv's layers, in TensorFlow's convention and symconv's C x H x W.

Keras is channels-last: a (None, 224, 224, 3) input is symconv's 3 x 224 x 224, and every
shape symconv reports is channels first. The model's graph (Sequential or functional) is
walked backwards from its output, as symconv.interop.torch_graph walks a traced torch
forward: a layer that joins tensors (Add, Concatenate along the channels, Multiply) is a
block, each of its inputs followed back to where the paths forked. A Multiply of x and a gate
computed from x is a `scale` block (squeeze-and-excitation).

Keras itself is never imported here at load time: from_keras is given a model, so keras is
already imported (on any backend; symconv's tests use torch's).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy

from symconv.algebra.symbols import Value, symbol
from symconv.engine.records import axis_names
from symconv.engine.trace import trace
from symconv.errors import ModuleSource, ShapeError, SymconvError, UnsupportedError
from symconv.language.layers import (
    Activation,
    BatchNorm,
    Concat,
    Conv,
    Convention,
    ConvTranspose,
    Dropout,
    Flatten,
    GlobalPool,
    Layer,
    Linear,
    Pad,
    Pool,
    PoolOp,
    Residual,
    Scale,
    Window,
)

KNOWN = ("Conv1D-3D, Conv1D-3DTranspose, DepthwiseConv1D/2D, SeparableConv1D/2D, MaxPooling and "
         "AveragePooling 1D-3D, GlobalAveragePooling and GlobalMaxPooling 1D-3D, ZeroPadding "
         "1D-3D, BatchNormalization, Dense, Flatten, Add, Concatenate, Multiply, Activation, "
         "ReLU, Softmax, Dropout and SpatialDropout, Reshape (to or from 1 x 1 x C), Rescaling, "
         "Normalization")

# Keras's activation functions by name, as symconv's (PyTorch's) activation layers.
_ACTIVATIONS = {
    "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "softmax": "softmax",
    "tanh": "tanh", "swish": "silu", "silu": "silu", "gelu": "gelu", "elu": "elu",
    "selu": "selu", "softplus": "softplus", "softsign": "softsign", "mish": "mish",
    "hard_sigmoid": "hardsigmoid", "hard_swish": "hardswish", "hard_silu": "hardswish",
    "leaky_relu": "leakyrelu", "log_softmax": "logsoftmax", "linear": None,
}


@dataclass(frozen=True, slots=True)
class _Unflat:
    """A Reshape of C features to 1 x ... x 1 x C: makes the global pooling before it keep
    its axes (EfficientNet's squeeze-and-excitation)."""

    where: str
    source: ModuleSource | None = None  # the merged pooling's row is the reshape's


Item = Layer | _Unflat


def from_keras(model: Any) -> Any:
    """The Network of a built Keras 3 model (Sequential or functional) with one input and
    one output, in TensorFlow's convention. Shapes are symconv's: channels first (C x H x W),
    whatever the model's data_format; a spatial size the model leaves open (None) is a
    symbol (H, W; L in 1D; D, H, W in 3D). Parameters are the trainable ones, as in
    PyTorch: Keras's count_params() also counts BatchNormalization's moving mean and
    variance and Normalization's statistics, which are not parameters here."""
    from symconv.network import Network

    try:
        import keras
    except ImportError:  # pragma: no cover - a Keras model comes with keras
        raise SymconvError('Keras is not installed; install it with: pip install '
                           '"symconv[keras]"') from None
    if not isinstance(model, keras.Model):
        raise UnsupportedError(f"from_keras takes a Keras model, not {type(model).__name__}")
    reader = _Reader(keras, _data_format(model))
    inputs, output = _ends(model)
    shape = _input_shape(inputs[0].shape, reader.channels_last)
    items = reader.graph(inputs[0], output)
    layers = _check(shape, _merged(items))
    if not layers:
        raise ShapeError(f"the model '{model.name}' has no layers")
    return Network(shape, layers)


def _ends(model: Any) -> tuple[list[Any], Any]:
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, ValueError):
        inputs = outputs = []
    if not inputs or not outputs:
        raise UnsupportedError(
            f"the model '{model.name}' is not built: give it an input (keras.Input(shape)) "
            "or call model.build((None, ...)) first")
    if len(inputs) != 1 or len(outputs) != 1:
        raise UnsupportedError(
            f"the model '{model.name}' has {len(inputs)} inputs and {len(outputs)} outputs; "
            "symconv reads models with one input and one output")
    return inputs, outputs[0]


def _data_format(model: Any) -> str:
    """The layout every layer with a data_format agrees on (channels_last by default)."""
    formats = {str(f) for layer in _all_layers(model)
               if (f := getattr(layer, "data_format", None)) is not None}
    if len(formats) > 1:
        raise UnsupportedError(f"the model '{model.name}' mixes data formats "
                               f"({', '.join(sorted(formats))}); symconv reads one layout")
    return formats.pop() if formats else "channels_last"


def _all_layers(model: Any) -> list[Any]:
    out = []
    for layer in getattr(model, "layers", ()):
        out.append(layer)
        out += _all_layers(layer)
    return out


def _input_shape(keras_shape: Sequence[int | None], channels_last: bool) -> tuple[Value, ...]:
    """Keras's (None, *spatial, C) or (None, C, *spatial) as symconv's (C, *spatial)."""
    sizes = list(keras_shape[1:])
    channels, spatial = (sizes[-1], sizes[:-1]) if channels_last else (sizes[0], sizes[1:])
    if channels is None:
        raise ShapeError("the model's input leaves its channels open (None); symconv needs "
                         "the number of channels")
    names = axis_names(len(spatial))
    return (int(channels), *(symbol(name) if n is None else int(n)
                             for name, n in zip(names, spatial, strict=True)))


# ---------------------------------------------------------------- the graph


def _producer(tensor: Any) -> tuple[Any, list[Any]]:
    """The operation that made the tensor and the tensors it took."""
    op, node_index, _ = tensor._keras_history
    node = op._inbound_nodes[node_index]
    return op, list(node.input_tensors)


class _Reader:
    def __init__(self, keras: Any, data_format: str):
        self.keras = keras
        self.channels_last = data_format == "channels_last"
        self.forks: dict[int, Any] = {}
        self.joins = (keras.layers.Add, keras.layers.Concatenate, keras.layers.Multiply)
        # Each tensor is read into one place of the tree and each layer called once: a
        # tensor two joins read (a dense block) or a layer called twice would otherwise be
        # copied, its parameters counted twice.
        self.read: set[int] = set()
        self.called: dict[int, int] = {}

    # -------------------------------------------------------------- walking back

    def _join(self, tensor: Any) -> Any | None:
        op, _ = _producer(tensor)
        return op if type(op) in self.joins else None

    def previous(self, tensor: Any) -> Any:
        """The tensor before this one on its path: the layer's input, or for a join the
        fork."""
        if self._join(tensor) is not None:
            return self.fork(tensor)
        op, inputs = _producer(tensor)
        if len(inputs) != 1:
            raise UnsupportedError(f"{_named(op)} takes {len(inputs)} tensors; symconv reads "
                                   "branches that meet in Add, Concatenate or Multiply")
        return inputs[0]

    def fork(self, join: Any) -> Any:
        """Where the paths into a join went apart: the nearest tensor on all of them."""
        if id(join) not in self.forks:
            _, inputs = _producer(join)
            paths = []
            for t in inputs:  # each input back to the model's input
                path = [t]
                while not isinstance(_producer(path[-1])[0], self.keras.layers.InputLayer):
                    path.append(self.previous(path[-1]))
                paths.append(path)
            shared = set.intersection(*({id(x) for x in p} for p in paths))
            self.forks[id(join)] = next(x for x in paths[0] if id(x) in shared)
        return self.forks[id(join)]

    def graph(self, start: Any, end: Any) -> list[Item]:
        """The layers from `start` (excluded) to `end` (included), blocks nested."""
        items: list[Item] = []
        tensor = end
        while tensor is not start:
            op, inputs = _producer(tensor)
            if isinstance(op, self.keras.layers.InputLayer):
                raise UnsupportedError("a branch of the model does not start where the "
                                       "others do; symconv reads branches that leave one "
                                       "tensor and meet again")
            self._once(tensor, op)
            before = self.previous(tensor)
            if self._join(tensor) is not None:
                items.append(self.block(op, inputs, before))
            else:
                items += reversed(self.layer(op, inputs[0], tensor))
            tensor = before
        return items[::-1]

    def _once(self, tensor: Any, op: Any) -> None:
        """Refuses a tensor read a second time, or a layer called a second time."""
        if id(tensor) in self.read:
            raise UnsupportedError(
                f"the output of {_named(op)} is read by more than one join (as in a dense "
                "block); from_keras reads branches that leave one tensor and meet again, and "
                "would count its layers twice (from_torch reads such graphs with named "
                "tensors)")
        self.read.add(id(tensor))
        node = tensor._keras_history[1]
        if self.called.setdefault(id(op), node) != node and not isinstance(
                op, self.keras.layers.InputLayer):
            raise UnsupportedError(
                f"{_named(op)} is called more than once (one layer, shared): from_keras "
                "would count its parameters twice")

    def block(self, op: Any, inputs: list[Any], fork: Any) -> Item:
        branches = [_merged(self.graph(fork, t)) for t in inputs]
        return _sourced(self._block(op, branches, fork), op)

    def _block(self, op: Any, branches: list[tuple[Layer, ...]], fork: Any) -> Layer:
        where = _named(op)
        keras = self.keras
        if isinstance(op, keras.layers.Concatenate):
            rank = len(fork.shape)
            if op.axis not in ((-1, rank - 1) if self.channels_last else (1, 1 - rank)):
                raise UnsupportedError(f"{where} joins along axis {op.axis}; symconv reads "
                                       "concatenations of the channels")
            return Concat(tuple(b or (Activation("identity"),) for b in branches))
        if len(branches) != 2:
            raise UnsupportedError(f"{where} joins {len(branches)} tensors; symconv reads two "
                                   "(a residual block, or a tensor times its gate)")
        if isinstance(op, keras.layers.Multiply):
            gates = [b for b in branches if b]
            if len(gates) != 1:
                raise UnsupportedError(
                    f"{where} multiplies " + ("a tensor by itself" if not gates else
                                              "two tensors computed from one")
                    + "; symconv reads a tensor times a gate computed from it (x * s, as in "
                    "squeeze-and-excitation: a scale block)")
            return Scale(gates[0])
        body, shortcut = branches
        if not body:
            body, shortcut = shortcut, body
        if not body:
            raise UnsupportedError(f"{where} adds a tensor to itself")
        return Residual(body, shortcut)

    # -------------------------------------------------------------- one layer

    def layer(self, op: Any, x: Any, y: Any) -> list[Item]:
        """The items one Keras layer is, given its input and output tensors."""
        keras = self.keras
        if isinstance(op, keras.Model):  # a model used as a layer: its own graph
            inner_in, inner_out = _ends(op)
            return self.graph(inner_in[0], inner_out)
        for cls in type(op).__mro__:
            read = _READERS.get(cls.__name__)
            if read is not None and getattr(keras.layers, cls.__name__, None) is cls:
                if cls is not type(op) and _overrides_call(type(op), cls):
                    break
                try:
                    items = read(self, op, x, y)
                except SymconvError as error:
                    raise type(error)(error.message, None, _named(op)) from None
                return [_sourced(item, op) for item in items]
        raise UnsupportedError(f"{_named(op)} is not a layer symconv reads; it reads {KNOWN}")

    def channels(self, tensor: Any) -> int:
        shape = tensor.shape
        return int(shape[-1] if self.channels_last else shape[1])

    def activation(self, op: Any) -> list[Item]:
        """The activation a layer applies after itself (Conv2D(..., activation='relu'))."""
        fn = getattr(op, "activation", None)
        if fn is None:
            return []
        name = getattr(fn, "__name__", str(fn))
        if name not in _ACTIVATIONS:
            raise UnsupportedError(f"{_named(op)}: unknown activation '{name}'")
        word = _ACTIVATIONS[name]
        return [] if word is None else [Activation(word)]


def _overrides_call(cls: type, base: type) -> bool:
    """Whether a subclass of a Keras layer computes something else (its own call)."""
    return any("call" in vars(c) or "compute_output_shape" in vars(c)
               for c in cls.__mro__[:cls.__mro__.index(base)])


def _named(op: Any) -> str:
    return f"layer '{op.name}' ({type(op).__name__})"


def _sourced(item: Item, op: Any) -> Item:
    if not hasattr(item, "source"):
        return item
    return dataclasses.replace(item, source=ModuleSource(0, 0, _named(op), op.name))


def _merged(items: Sequence[Item]) -> tuple[Layer, ...]:
    """The items with each Reshape to 1 x ... x 1 x C folded into the global pooling before
    it (which then keeps its axes)."""
    out: list[Layer] = []
    for item in items:
        if isinstance(item, _Unflat):
            last = out[-1] if out else None
            if not isinstance(last, GlobalPool) or last.keepdim:
                raise UnsupportedError(f"{item.where}: a reshape of C features to 1 x 1 x C "
                                       "is read after a global pooling only")
            out[-1] = dataclasses.replace(last, keepdim=True, source=item.source)
        else:
            out.append(item)
    return tuple(out)


def _check(shape: tuple[Value, ...], layers: Sequence[Layer]) -> tuple[Layer, ...]:
    """Each layer traced once, so that one that cannot follow its input is named."""
    for layer in layers:
        try:
            (record,) = trace(shape, (layer,))
        except SymconvError as error:
            where = getattr(layer, "source", None)
            raise type(error)(error.message, None,
                              where.text if isinstance(where, ModuleSource) else None) from None
        shape = record.output_shape
    return tuple(layers)


# ---------------------------------------------------------------- the readers


def _axes(value: Any, rank: int) -> tuple[int, ...]:
    values = tuple(value) if isinstance(value, list | tuple) else (value,) * rank
    return tuple(int(v) for v in values)


def _window(op: Any, rank: int, kernel: Any, strides: Any, dilation: Any = 1) -> tuple[
        Window, tuple[Item, ...]]:
    """A window in TensorFlow's convention, and a pad layer before it for 'causal'."""
    k, s, d = _axes(kernel, rank), _axes(strides, rank), _axes(dilation, rank)
    padding = str(op.padding).lower()
    zeros = (0,) * rank
    if padding == "same":
        return Window(k, s, zeros, d, True, Convention.TENSORFLOW), ()
    if padding == "valid":
        return Window(k, s, zeros, d), ()
    if padding == "causal" and rank == 1:  # d(k-1) zeros before, then 'valid'
        return Window(k, s, zeros, d), (Pad(((d[0] * (k[0] - 1), 0),)),)
    raise UnsupportedError(f"padding '{op.padding}' is not modelled")


def _rank(op: Any) -> int:
    return len(op.kernel_size) if hasattr(op, "kernel_size") else len(op.pool_size)


def _conv(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    window, before = _window(op, _rank(op), op.kernel_size, op.strides, op.dilation_rate)
    conv = Conv(int(op.filters), window, int(op.groups), bool(op.use_bias))
    return [*before, conv, *r.activation(op)]


def _conv_transpose(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    rank = _rank(op)
    window, _ = _window(op, rank, op.kernel_size, op.strides, op.dilation_rate)
    k, s, d = window.kernel, window.stride, window.dilation
    spans = [dd * (kk - 1) + 1 for kk, dd in zip(k, d, strict=True)]
    given = getattr(op, "output_padding", None)
    if given is None:
        # 'same': n·s (the window's own rule); 'valid': n·s + max(span - s, 0), which is
        # PyTorch's formula with the output_padding max(s - span, 0)
        ops = tuple(0 if window.same else max(ss - span, 0) for ss, span in
                    zip(s, spans, strict=True))
    else:
        ops = _axes(given, rank)
        if window.same:  # Keras pads span // 2 on each side then
            window = Window(k, s, tuple(span // 2 for span in spans), d)
    return [ConvTranspose(int(op.filters), window, ops, 1, bool(op.use_bias)),
            *r.activation(op)]


def _depthwise(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    window, before = _window(op, _rank(op), op.kernel_size, op.strides, op.dilation_rate)
    c = r.channels(x)
    conv = Conv(c * int(op.depth_multiplier), window, c, bool(op.use_bias))
    return [*before, conv, *r.activation(op)]


def _separable(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    rank = _rank(op)
    window, before = _window(op, rank, op.kernel_size, op.strides, op.dilation_rate)
    c = r.channels(x)
    ones = (1,) * rank
    depthwise = Conv(c * int(op.depth_multiplier), window, c, False)
    pointwise = Conv(int(op.filters), Window(ones, ones, (0,) * rank, ones), 1,
                     bool(op.use_bias))
    return [*before, depthwise, pointwise, *r.activation(op)]


def _pool(op_kind: PoolOp) -> Callable[[_Reader, Any, Any, Any], list[Item]]:
    def read(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
        rank = _rank(op)
        strides = op.pool_size if op.strides is None else op.strides
        window, _ = _window(op, rank, op.pool_size, strides)
        return [Pool(op_kind, window)]

    return read


def _global(op_kind: PoolOp) -> Callable[[_Reader, Any, Any, Any], list[Item]]:
    def read(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
        return [GlobalPool(op_kind, bool(op.keepdims), len(x.shape) - 2)]

    return read


def _zero_pad(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    padding = op.padding
    if len(x.shape) == 3:  # ZeroPadding1D's (before, after)
        padding = (padding,)
    pairs = tuple((int(a), int(b)) for a, b in padding)
    return [Pad(pairs)]


def _batchnorm(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    rank = len(x.shape)
    axis = op.axis
    if axis not in ((-1, rank - 1) if r.channels_last else (1, 1 - rank)):
        raise UnsupportedError(f"it normalises axis {axis}; symconv reads batch "
                               "normalisation of the channels")
    scale, center = bool(op.scale), bool(op.center)
    return [BatchNorm(max(rank - 2, 1), r.channels(x), scale or center, scale=scale,
                      center=center)]


def _dense(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    units, bias = int(op.units), bool(op.use_bias)
    if len(x.shape) == 2:
        return [Linear(units, bias), *r.activation(op)]
    if not r.channels_last:
        raise UnsupportedError("Dense acts on the last axis, which is not the channels in "
                               "channels_first; symconv does not model that")
    # Dense on (..., C) is a 1 x 1 convolution of the channels
    rank = len(x.shape) - 2
    ones = (1,) * rank
    return [Conv(units, Window(ones, ones, (0,) * rank, ones), 1, bias), *r.activation(op)]


def _flatten(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    return [Flatten()]


def _activation(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    return r.activation(op) or [Activation("identity")]


def _relu(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    if op.max_value is not None and float(op.max_value) == 6.0 and not op.negative_slope:
        return [Activation("relu6")]
    return [Activation("leakyrelu" if op.negative_slope else "relu")]


def _named_activation(word: str) -> Callable[[_Reader, Any, Any, Any], list[Item]]:
    def read(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
        return [Activation(word)]

    return read


def _dropout(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    rate = sympy.Rational(str(op.rate)) if not isinstance(op.rate, int) else sympy.Rational(
        op.rate)
    return [Dropout(rate)]


def _identity(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    """Rescaling, Normalization: element-wise, the shape kept."""
    return [Activation("identity")]


def _reshape(r: _Reader, op: Any, x: Any, y: Any) -> list[Item]:
    before, after = tuple(x.shape[1:]), tuple(y.shape[1:])
    if None in before or None in after:
        raise UnsupportedError("it reshapes sizes that are not known; symconv reads a reshape "
                               "of known sizes")
    if len(after) == 1 and math.prod(before) == after[0]:
        return [Flatten()]  # the same features, in Keras's order
    kept = after[:-1] if r.channels_last else after[1:]
    if len(before) == 1 and math.prod(after) == before[0] and all(n == 1 for n in kept):
        return [_Unflat(_named(op))]
    if before == after:
        return [Activation("identity")]
    raise UnsupportedError(f"it reshapes {before} to {after}; symconv reads a reshape to "
                           "flat features, or of C features to 1 x ... x 1 x C")


_READERS: dict[str, Callable[[_Reader, Any, Any, Any], list[Item]]] = {
    **{f"Conv{n}D": _conv for n in (1, 2, 3)},
    **{f"Conv{n}DTranspose": _conv_transpose for n in (1, 2, 3)},
    **{f"DepthwiseConv{n}D": _depthwise for n in (1, 2)},
    **{f"SeparableConv{n}D": _separable for n in (1, 2)},
    **{f"MaxPooling{n}D": _pool(PoolOp.MAX) for n in (1, 2, 3)},
    **{f"AveragePooling{n}D": _pool(PoolOp.AVG) for n in (1, 2, 3)},
    **{f"GlobalMaxPooling{n}D": _global(PoolOp.MAX) for n in (1, 2, 3)},
    **{f"GlobalAveragePooling{n}D": _global(PoolOp.AVG) for n in (1, 2, 3)},
    **{f"ZeroPadding{n}D": _zero_pad for n in (1, 2, 3)},
    "BatchNormalization": _batchnorm,
    "Dense": _dense,
    "Flatten": _flatten,
    "Activation": _activation,
    "ReLU": _relu,
    "Softmax": _named_activation("softmax"),
    "Dropout": _dropout,
    **{f"SpatialDropout{n}D": _dropout for n in (1, 2, 3)},
    "Rescaling": _identity,
    "Normalization": _identity,
    "Reshape": _reshape,
}
