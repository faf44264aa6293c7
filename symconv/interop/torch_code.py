"""Network -> PyTorch: the Python source of an equivalent nn.Sequential, and the module itself.

The source is the single form: `to_torch_module` executes it, so `symconv check --torch`
proves the very code a user copies.
"""

from __future__ import annotations

import keyword
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, assert_never

import sympy

from symconv.algebra.symbols import Value, free_names, safe_repr
from symconv.engine.records import Record
from symconv.errors import InvalidValueError, ShapeError, UnsupportedError
from symconv.language import catalog
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
    PoolOp,
    Repeat,
    Residual,
    Scale,
    Upsample,
    kind_of,
    shared_of,
    unbound,
)
from symconv.language.names import has_names
from symconv.present.values import text_shape

if TYPE_CHECKING:
    from symconv.network import Network

# kind_of(layer) -> PyTorch class name: conv2d -> Conv2d, relu -> ReLU, dropout2d -> Dropout2d.
TORCH_CLASS = {entry.kind_name: name for name, entry in catalog.TORCH_NAMES.items()}

# Element-wise layers whose PyTorch class wants an argument that symconv does not model:
# softmax over the channels (dim=1), as a classifier head uses it.
_EXTRA_ARGUMENTS = {"softmax": "dim=1", "logsoftmax": "dim=1"}


class _Numbers:
    """Collects the values written into the code; symbols among them are reported together.
    Also chooses the code's own names, each fresh: none is the network's name (`taken`)."""

    def __init__(self, taken: str = "net") -> None:
        self.missing: set[str] = set()
        self.taken = {taken}
        # The names the code defines; each yields to the network's name (nn_1 where the
        # network is called nn), so that the code runs whatever the network is called.
        self.nn, self.torch = self.fresh("nn"), self.fresh("torch")
        self.residual, self.concat = self.fresh("Residual"), self.fresh("Concat")
        self.scale, self.global_pool = self.fresh("Scale"), self.fresh("GlobalPool")
        self.chunk = self.fresh("Chunk")
        self.channels_last, self.layer_norm_2d = self.fresh("ChannelsLast"), self.fresh(
            "LayerNorm2d")
        self.layer_scale = self.fresh("LayerScale")
        self.module = "Network"  # the class of a network with named tensors (_named_module)
        self.join = self.fresh("Join")
        # Modules used at more than one place: a variable each, defined before the network.
        self.shared: dict[str, str] = {}
        self.definitions: list[str] = []

    def fresh(self, base: str) -> str:
        """`base`, or base_1, base_2, ... where it is taken; the name is then taken."""
        name, n = base, 0
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name

    def int(self, value: Value) -> str:
        number = sympy.sympify(value, strict=True)
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
    return all(sympy.sympify(v, strict=True) == default for v in values)


def layer_code(record: Record, numbers: _Numbers) -> str:
    """The constructor call of one layer, e.g. `nn.Conv2d(3, 64, kernel_size=3, padding=1)`."""
    layer = record.layer
    args: list[str] = []
    match layer:
        case Conv(window=w) | ConvTranspose(window=w) | Pool(window=w) if (
                w.same and w.convention is not Convention.TORCH):
            raise UnsupportedError(
                f"layer {record.index} ({record.kind}): TensorFlow's padding='same' has no "
                "PyTorch argument (its padding depends on the input size and may be uneven); "
                "write that padding as a pad layer before it (pad (left, right, top, bottom) "
                "in 2-D) and the layer with p=0",
                getattr(layer, "source", None))
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
            if sympy.sympify(layer.groups, strict=True) != 1:
                args.append(f"groups={numbers.int(layer.groups)}")
            if not layer.bias:
                args.append("bias=False")
            if isinstance(layer, Conv) and layer.padding_mode != "zeros":
                args.append(f"padding_mode={layer.padding_mode!r}")
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
        case BatchNorm(scale=False) | BatchNorm(center=False) if layer.affine:
            raise UnsupportedError(
                f"layer {record.index} ({record.kind}): a batch normalisation with only a "
                "scale or only a shift (Keras's scale=False or center=False) has no PyTorch "
                "module", layer.source)
        case BatchNorm():
            args.append(numbers.int(record.input_shape[0]))
            if not layer.affine:
                args.append("affine=False")
        case GroupNorm():
            args += [numbers.int(layer.groups), numbers.int(record.input_shape[0])]
            if not layer.affine:
                args.append("affine=False")
        case LayerNorm(normalized_shape=shape):
            items = [numbers.int(v) for v in shape]
            args.append(items[0] if len(items) == 1 else "(" + ", ".join(items) + ")")
            if not layer.affine:
                args.append("elementwise_affine=False")
            elif not layer.bias:
                args.append("bias=False")
        case InstanceNorm():
            args.append(numbers.int(record.input_shape[0]))
            if layer.affine:
                args.append("affine=True")
        case Pad(padding=padding, value=value):
            # PyTorch lists the last axis first: (left, right, top, bottom, ...).
            items = [numbers.int(v) for pair in reversed(padding) for v in pair]
            args.append(items[0] if len(set(items)) == 1 else "(" + ", ".join(items) + ")")
            if value != 0:
                args.append(_number(value))
        case PixelShuffle(factor=r):
            args.append(numbers.int(r))
        case Upsample(size=size, scale=scale, mode=mode, align_corners=corners, every_axis=one):
            # One value where the layer has one for every axis, else one per axis (as
            # equal as they may be), so that the code reads back to the same layer.
            if size is not None:
                texts = [numbers.int(v) for v in size]
            else:
                assert scale is not None
                texts = [_number(q, numbers) for q in scale]
            shown = texts[0] if one else "(" + ", ".join(texts) + ("," if len(texts) == 1
                                                                   else "") + ")"
            args.append(f"{'size' if size is not None else 'scale_factor'}={shown}")
            if mode != "nearest":
                args.append(f"mode={mode!r}")
            if corners is not None:
                args.append(f"align_corners={corners}")
        case GlobalPool(op=op, keepdim=keep, rank=rank):
            dims = tuple(range(2, 2 + rank))
            return (f"{numbers.global_pool}({'mean' if op is PoolOp.AVG else 'amax'!r}, "
                    f"{dims}{', keepdim=True' if keep else ''})")
        case ChannelShuffle(groups=g):
            args.append(numbers.int(g))
        case Chunk(chunks=n, index=i):
            return f"{numbers.chunk}({numbers.int(n)}, {numbers.int(i)})"
        case Activation(name=name):
            if name in _EXTRA_ARGUMENTS:
                args.append(_EXTRA_ARGUMENTS[name])
        case Dropout(p=p):
            if p != sympy.Rational(1, 2):
                args.append(f"p={float(p)!r}")
        case ChannelNorm(affine=affine, bias=bias):
            rank = len(record.input_shape) - 1
            args.append(numbers.int(record.input_shape[0]))
            if rank != 2:
                args.append(f"rank={rank}")
            if not affine:
                args.append("elementwise_affine=False")
            elif not bias:
                args.append("bias=False")
            return f"{numbers.layer_norm_2d}({', '.join(args)})"
        case LayerScale():
            rank = len(record.input_shape) - 1
            return (f"{numbers.layer_scale}({numbers.int(record.input_shape[0])}"
                    f"{'' if rank == 2 else f', rank={rank}'})")
        case Repeat() | Residual() | Concat() | Scale() | ChannelsLast():
            raise AssertionError("blocks are written by block_lines")
        case Join() | Bind():
            raise AssertionError("named tensors are written by _named_module's forward")
        case _:
            assert_never(layer)
    return f"{numbers.nn}.{TORCH_CLASS[kind_of(layer)]}({', '.join(args)})"


def _number(value: Value, numbers: _Numbers | None = None) -> str:
    """A number as Python writes it: 2, or 1.5 for 3/2 (a scale factor, a fill value)."""
    number = sympy.sympify(value, strict=True)
    if number.is_Integer:
        return str(int(number))
    if number.is_Rational:
        return repr(float(number))
    if numbers is not None:
        return numbers.int(value)  # a symbol: reported as missing
    return sympy.sstr(number)


# The modules symconv's branching blocks become; written into the code only where used.
RESIDUAL_CLASS = '''
class {Residual}({nn}.Module):
    """symconv's residual block: body(x) + shortcut(x); no shortcut is the identity."""

    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body = body
        self.shortcut = {nn}.Identity() if shortcut is None else shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)
'''

CONCAT_CLASS = '''
class {Concat}({nn}.Module):
    """symconv's concat block: the branches on the same input, joined along the channels."""

    def __init__(self, *branches):
        super().__init__()
        self.branches = {nn}.ModuleList(branches)

    def forward(self, x):
        return {torch}.cat([branch(x) for branch in self.branches], dim=1)
'''


SCALE_CLASS = '''
class {Scale}({nn}.Module):
    """symconv's scale block: the input times what the body computes from it (a gate)."""

    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x * self.body(x)
'''

GLOBAL_POOL_CLASS = '''
class {GlobalPool}({nn}.Module):
    """symconv's global pooling: the mean or the maximum over the spatial axes `dims`."""

    def __init__(self, op, dims, keepdim=False):
        super().__init__()
        self.op, self.dims, self.keepdim = op, dims, keepdim

    def forward(self, x):
        if self.op == "mean":
            return x.mean(self.dims, keepdim=self.keepdim)
        return x.amax(self.dims, keepdim=self.keepdim)
'''

CHANNELS_LAST_CLASS = '''
class {ChannelsLast}({nn}.Module):
    """symconv's channels_last section: the body applied to each position's channels (the
    input permuted to channels last, and back; `rank` spatial axes)."""

    def __init__(self, rank, body):
        super().__init__()
        self.to_last = (0, *range(2, rank + 2), 1)
        self.to_first = (0, rank + 1, *range(1, rank + 1))
        self.body = body

    def forward(self, x):
        return self.body(x.permute(*self.to_last)).permute(*self.to_first)
'''

LAYER_NORM_2D_CLASS = '''
class {LayerNorm2d}({nn}.Module):
    """symconv's layernorm2d, torchvision's LayerNorm2d: the channels normalised at every
    position (nn.LayerNorm over C, the input permuted to channels last and back)."""

    def __init__(self, channels, rank=2, elementwise_affine=True, bias=True):
        super().__init__()
        self.to_last = (0, *range(2, rank + 2), 1)
        self.to_first = (0, rank + 1, *range(1, rank + 1))
        self.norm = {nn}.LayerNorm(channels, eps=1e-6, elementwise_affine=elementwise_affine,
                                 bias=bias)

    def forward(self, x):
        return self.norm(x.permute(*self.to_last)).permute(*self.to_first)
'''

LAYER_SCALE_CLASS = '''
class {LayerScale}({nn}.Module):
    """symconv's layerscale (ConvNeXt): the input times a learned scale per channel."""

    def __init__(self, channels, rank=2):
        super().__init__()
        self.scale = {nn}.Parameter({torch}.ones(channels, *(1,) * rank))

    def forward(self, x):
        return self.scale * x
'''

CHUNK_CLASS = '''
class {Chunk}({nn}.Module):
    """symconv's chunk: part `index` of the channels cut into `chunks` equal parts."""

    def __init__(self, chunks, index):
        super().__init__()
        self.chunks, self.index = chunks, index

    def forward(self, x):
        return x.chunk(self.chunks, dim=1)[self.index]
'''


def _sequential(records: Sequence[Record], numbers: _Numbers, indent: str) -> list[str]:
    lines = [f"{indent}{numbers.nn}.Sequential("]
    for record in records:
        lines += record_lines(record, numbers, indent + "    ")
    return [*lines, f"{indent}),"]


def record_lines(record: Record, numbers: _Numbers, indent: str) -> list[str]:
    """The source lines of one record, each ending with a comma; blocks nest."""
    comment = f"  # -> {text_shape(record.output_shape)}"
    layer = record.layer
    match layer:
        case Repeat(count=count):
            numbers.int(count)
            inner = _sequential(record.children, numbers, indent)
        case Residual():
            body = [r for r in record.children if r.path == 1]
            shortcut = [r for r in record.children if r.path == 2]
            inner = [f"{indent}{numbers.residual}(", *_sequential(body, numbers, indent + "    ")]
            if shortcut:
                inner += _sequential(shortcut, numbers, indent + "    ")
            inner.append(f"{indent}),")
        case Concat(branches=branches):
            inner = [f"{indent}{numbers.concat}("]
            for path in range(1, len(branches) + 1):
                branch = [r for r in record.children if r.path == path]
                inner += _sequential(branch, numbers, indent + "    ")
            inner.append(f"{indent}),")
        case Scale():
            inner = [f"{indent}{numbers.scale}(",
                     *_sequential(record.children, numbers, indent + "    "), f"{indent}),"]
        case ChannelsLast():
            rank = len(record.input_shape) - 1
            inner = [f"{indent}{numbers.channels_last}({rank},",
                     *_sequential(record.children, numbers, indent + "    "), f"{indent}),"]
        case _:
            return [f"{indent}{_module_code(record, numbers)},{comment}"]
    return [*inner[:-1], inner[-1] + comment]


def _module_code(record: Record, numbers: _Numbers) -> str:
    """The constructor call of a layer, or for a module used at more than one place the
    variable that holds it (so that PyTorch, too, counts its parameters once)."""
    shared = shared_of(record.layer)
    if shared is None:
        return layer_code(record, numbers)
    if shared.name not in numbers.shared:
        variable = numbers.fresh(f"shared{len(numbers.shared) + 1}")
        numbers.shared[shared.name] = variable
        numbers.definitions.append(f"{variable} = {layer_code(record, numbers)}")
    return numbers.shared[shared.name]


def _uses(records: Sequence[Record], kind: type) -> bool:
    return any(isinstance(r.layer, kind) or _uses(r.children, kind) for r in records)


def to_torch_code(network: Network, name: str = "net", **values: object) -> str:
    """Python source that builds the network as `name = nn.Sequential(...)`, one layer per
    line with symconv's output shape as a comment; residual and concat blocks become the small
    modules `Residual` and `Concat` defined in the code, a repeat its copies in a row. Every
    channel count and window size must be a number: give symbols values as keyword arguments
    (W=224), as in Network.table()."""
    from symconv.network import as_network

    network = as_network(network, "to_torch_code")
    if not isinstance(name, str):
        raise InvalidValueError(f"name: expected a Python name such as net, got "
                                f"{safe_repr(name)}")
    name = str.__str__(name)  # the text itself, whatever a str subclass prints
    if not name.isidentifier() or keyword.iskeyword(name):
        raise InvalidValueError(f"name: expected a Python name such as net, got {name[:60]!r}"
                                + (" (a keyword of Python)" if keyword.iskeyword(name) else ""))
    records = network.records(**values)
    numbers = _Numbers(name)
    named = has_names(network.layers)
    if named:  # a module whose forward keeps the named tensors
        lines = _named_module(network.layers, records, numbers, network.input_name,
                              network.outputs)
    else:
        lines = [line for r in records for line in record_lines(r, numbers, "    ")]
    if numbers.missing:
        names = ", ".join(sorted(numbers.missing))
        raise ShapeError(
            f"PyTorch code needs numbers for every channel count, window size and repeat "
            f"count; give values for {names}"
        )
    input_shape = (network.bind(values).input_shape if named or not records
                   else records[0].input_shape)
    head = [
        f"# Written by symconv for the input {text_shape(input_shape)} "
        "(PyTorch adds the batch axis in front).",
    ]
    concat = _uses(records, Concat) or named
    if concat or _uses(records, LayerScale):
        head.append("import torch" + _alias("torch", numbers.torch))
    head.append("from torch import nn" + _alias("nn", numbers.nn))
    own = {"nn": numbers.nn, "torch": numbers.torch, "Residual": numbers.residual,
           "Concat": numbers.concat, "Scale": numbers.scale,
           "GlobalPool": numbers.global_pool, "Chunk": numbers.chunk,
           "ChannelsLast": numbers.channels_last, "LayerNorm2d": numbers.layer_norm_2d,
           "LayerScale": numbers.layer_scale, "Join": numbers.join}
    if _uses(records, Residual):
        head.append(RESIDUAL_CLASS.format(**own))
    if concat:
        head.append(CONCAT_CLASS.format(**own))
    if _uses(records, Scale):
        head.append(SCALE_CLASS.format(**own))
    if _uses(records, GlobalPool):
        head.append(GLOBAL_POOL_CLASS.format(**own))
    if _uses(records, Chunk):
        head.append(CHUNK_CLASS.format(**own))
    for kind, text in ((ChannelsLast, CHANNELS_LAST_CLASS), (ChannelNorm, LAYER_NORM_2D_CLASS),
                       (LayerScale, LAYER_SCALE_CLASS)):
        if _uses(records, kind):
            head.append(text.format(**own))
    if named:
        head.append(JOIN_CLASS.format(**own))
    if numbers.definitions:
        head += ["", "# Used at more than one place: one module, its parameters counted once.",
                 *numbers.definitions]
    if named:
        return "\n".join([*head, *lines, "", f"{name} = {numbers.module}()"]) + "\n"
    return "\n".join([*head, "", f"{name} = {numbers.nn}.Sequential(", *lines, ")"]) + "\n"


def _named_module(layers: Sequence[Layer], records: Sequence[Record], numbers: _Numbers,
                  input_name: str, outputs: Sequence[tuple[str, str]] = ()) -> list[str]:
    """A network with named tensors as an nn.Module: each layer (and each join, a small
    `Join` module) an attribute `layer<row>`, and a forward that keeps every named tensor in
    a variable of its name (the same tensor, read by each join that names it)."""
    numbers.module = numbers.fresh("Network")
    variables: dict[str, str] = {}

    def variable(name: str) -> str:
        if name not in variables:
            ok = name.isidentifier() and not keyword.iskeyword(name)
            variables[name] = numbers.fresh(name if ok else "t")
        return variables[name]

    for reserved in ("self", "h"):
        numbers.taken.add(reserved)
    first = variable(input_name)
    init = [f"class {numbers.module}({numbers.nn}.Module):", "    def __init__(self):",
            "        super().__init__()"]
    forward = [f"    def forward(self, {first}):", f"        h = {first}"]
    for layer, record in zip(layers, records, strict=True):
        attribute = f"self.layer{record.index}"
        comment = f"  # -> {text_shape(record.output_shape)}"
        join = unbound(layer)
        if isinstance(join, Join):
            init.append(f"        {attribute} = {numbers.join}({join.op.value!r})")
            code = f"{attribute}({', '.join(variable(n) for n in join.names)})"
        else:
            made = record_lines(record, numbers, "        ")
            made[0] = f"        {attribute} = {made[0].lstrip()}"
            made[-1] = made[-1].rpartition(",  # -> ")[0]  # the shape goes on the call
            init += made
            code = f"{attribute}(h)"
        target = f"{variable(layer.name)} = h" if isinstance(layer, Bind) else "h"
        forward.append(f"        {target} = {code}{comment}")
    result = "h"
    if outputs and [key for key, _ in outputs] == [str(i) for i in range(len(outputs))]:
        result = f"({', '.join(variable(name) for _, name in outputs)},)"  # a tuple
    elif outputs:
        result = "{" + ", ".join(f"{key!r}: {variable(name)}" for key, name in outputs) + "}"
    return ["", *init, "", *forward, f"        return {result}"]


JOIN_CLASS = '''
class {Join}({nn}.Module):
    """symconv's join of named tensors: concat (along the channels), add, mul, or use (the
    one tensor itself)."""

    def __init__(self, op):
        super().__init__()
        self.op = op

    def forward(self, *tensors):
        if self.op == "concat":
            return {torch}.cat(tensors, dim=1)
        result = tensors[0]
        for tensor in tensors[1:]:
            result = result + tensor if self.op == "add" else result * tensor
        return result
'''


def _alias(module: str, name: str) -> str:
    """' as torch_1' where an import is bound to another name than the module's."""
    return "" if name == module else f" as {name}"


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
