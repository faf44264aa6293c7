"""PyTorch -> Network: a module's layers read into symconv's layers.

The module is traced with torch.fx, which flattens nn.Sequential and nested containers and
follows a custom forward; every layer symconv knows stays a leaf of the trace, and branches
that meet in an addition or torch.cat become residual and concat blocks (torch_graph.py).
What symconv does not model (an unknown layer, a function call, a second input) is named in
an error, never skipped: a skipped layer would make every answer after it wrong.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import sympy

from symconv.algebra.symbols import Value, symbol
from symconv.engine.joins import join_shape
from symconv.engine.records import axis_names
from symconv.engine.trace import trace
from symconv.errors import (
    InvalidLayerError,
    ModuleSource,
    ShapeError,
    SymconvError,
    UnsupportedError,
)
from symconv.interop._torch import require_torch
from symconv.interop.torch_channels import read_chunk, read_part, shuffle_part
from symconv.interop.torch_graph import (
    NotATree,
    Step,
    inside,
    is_layer_scale,
    is_size_query,
    located,
    name_of,
    permutation,
    read_graph,
)
from symconv.interop.torch_named import read_named
from symconv.interop.torch_sizes import resolve, size_reference
from symconv.language import catalog
from symconv.language.catalog import Entry, Family
from symconv.language.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Bind,
    ChannelNorm,
    ChannelShuffle,
    ChannelsLast,
    Concat,
    Conv,
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
    Shared,
    Upsample,
    Window,
    WithParameters,
    shared_of,
    unbound,
)
from symconv.language.names import INPUT_NAME, check_names

if TYPE_CHECKING:
    from symconv.network import Unused

# torch.nn's containers are traced through; every other class of torch is a leaf.
_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")

# What a subclass of a layer symconv models may define and still be read as that layer: it
# configures the layer (its __init__ calls the base's) but computes what the base computes.
# Anything else (a forward, a _conv_forward, a __call__, a property) may change the result,
# so such a subclass is traced into instead, and refused where its forward is not readable.
_CONFIGURATION = frozenset({
    "__init__", "__module__", "__qualname__", "__doc__", "__dict__", "__weakref__",
    "__annotations__", "__firstlineno__", "__static_attributes__", "__slots__",
    "__orig_bases__", "__parameters__", "__constants__", "extra_repr", "reset_parameters",
})


def from_torch(module: Any, input_shape: Sequence[int] | str | None = None) -> Any:
    """The Network of a torch module (nn.Sequential, nested containers, or a model whose
    forward torch.fx can trace). `input_shape` has no batch axis, e.g. (3, 224, 224) or
    "3x224x224"; without it the channels come from the first layer and the spatial sizes are
    symbols (H, W; L in 1D; D, H, W in 3D), and the rules that depend on the input's size
    (reflect padding shorter than the input, an output of at least 1) are checked when the
    sizes are given (network.table(H=..., W=...)).

    A module called at more than one place is one layer per call, each with its own shapes
    and counts; its parameters are counted at the first call only (Shared). Parameters the
    forward never uses (a module not called, such as an auxiliary head in eval mode) are
    counted in no total and listed in `Network.unused_parameters`, which the table notes."""
    torch = require_torch()
    if not isinstance(module, torch.nn.Module):
        raise UnsupportedError(f"from_torch takes a torch.nn.Module, not {type(module).__name__}")
    # torch.fx traces by patching torch.nn.Module for every thread at once: while one model
    # is traced, another thread reading a module's weight would get a tracing proxy. One
    # model is traced and read at a time.
    with _TORCH_FX:
        return _from_torch(module, input_shape, torch)


_TORCH_FX = threading.Lock()


def _from_torch(module: Any, input_shape: Sequence[int] | str | None, torch: Any) -> Any:
    from symconv.network import Network

    if _is_leaf(type(module)) or _modelled_base(type(module)) is not None:
        # A single layer (torch.fx would trace into its forward), or a subclass of one,
        # read at path '0' so that messages can name it.
        module = torch.nn.Sequential(module)
    _refuse_hooks(module, torch)
    graph = _trace(module, torch)
    _refuse_direct_tensors(graph)
    owners = _Owners(module)
    def reader(node: Any, start: Any) -> Step | None:
        return _step(module, node, owners, start)

    input_name, outputs = INPUT_NAME, tuple[tuple[str, str], ...]()
    try:
        steps = read_graph(graph, reader)
    except NotATree:  # a tensor read by several joins: named, not copied
        owners = _Owners(module)
        steps, input_name, outputs = read_named(graph, reader)
    except UnsupportedError as refused:
        # No tree of blocks (a resize to the size of a tensor inside another branch, say):
        # read with names where that can be done, else the tree's reason is the message.
        owners = _Owners(module)
        try:
            steps, input_name, outputs = read_named(graph, reader)
        except SymconvError:
            raise refused from None
    steps = _mark_shared(steps)
    layers = tuple(step.layer for step in steps)
    if not layers:
        raise ShapeError("the module has no layers")
    shape = _input_shape(input_shape, steps)
    layers = _check(shape, steps)
    check_names(layers, input_name)
    return Network(shape, layers, unused_parameters=owners.unused(), input_name=input_name,
                   outputs=outputs)


# ---------------------------------------------------------------- tracing


def _trace(module: Any, torch: Any) -> Any:
    import torch.fx

    class _Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return _is_leaf(type(m))

    tracer = _Tracer()
    try:
        return tracer.trace(module)
    except SymconvError:
        raise
    except Exception as error:  # fx raises many types: TraceError, TypeError, ...
        # The module whose forward failed is still on fx's stack of modules.
        stack = list(tracer.module_stack.values())
        name = type(module).__name__
        if stack:
            path, cls = stack[-1]
            name = f"'{path}' ({getattr(cls, '__name__', cls)})"
        raise UnsupportedError(
            f"torch.fx cannot trace the forward of {name} ({error}); "
            "symconv reads models whose forward has no data-dependent control flow"
        ) from None


def _is_leaf(cls: type) -> bool:
    """Layers symconv reads, and every other class of torch but the containers; a class of
    one's own is traced into."""
    if _torch_entry(cls) is not None or _is_stochastic_depth(cls) or _is_layer_norm_2d(cls):
        return True
    return _is_torch_class(cls) and cls.__name__ not in _CONTAINERS


def _is_stochastic_depth(cls: type) -> bool:
    """torchvision.ops.StochasticDepth (or a subclass that only configures it): at inference
    the identity, and in training a random choice between the input and zeros, of the same
    shape. torchvision is looked up only where a model already imported it."""
    base = _torchvision_class("torchvision.ops.stochastic_depth", "StochasticDepth")
    return base is not None and issubclass(cls, base) and not _behaviour_until(cls, base)


def _torchvision_class(module: str, name: str) -> type | None:
    """A class of torchvision's, where a model already imported its module."""
    import sys

    found = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) else None


def _is_layer_norm_2d(cls: type) -> bool:
    """torchvision's LayerNorm2d (ConvNeXt's; or a subclass that only configures it): an
    nn.LayerNorm over the channels at every position, read as a layernorm2d."""
    base = _torchvision_class("torchvision.models.convnext", "LayerNorm2d")
    return base is not None and issubclass(cls, base) and not _behaviour_until(cls, base)


def _behaviour_until(cls: type, base: type) -> list[str]:
    """What the classes between `cls` and `base` define that may change what they compute:
    a property, or a method that replaces one `base` has (its forward, a helper it calls,
    __call__). A method of a new name is not called by the base's code (torchvision's
    Conv3DSimple adds a static get_downsample_stride, which its model's constructor reads)."""
    names = []
    for c in cls.__mro__:
        if c is base:
            break
        for name, value in vars(c).items():
            if name in _CONFIGURATION:
                continue
            if isinstance(value, property) or (
                    (callable(value) or isinstance(value, staticmethod | classmethod))
                    and hasattr(base, name)):
                names.append(name)
    return names


def _is_torch_class(cls: type) -> bool:
    return cls.__module__ == "torch" or cls.__module__.startswith("torch.")


def _modelled_base(cls: type) -> type | None:
    """The torch.nn class symconv models that `cls` is or derives from, if any."""
    base = next((c for c in cls.__mro__ if _is_torch_class(c)), None)
    if base is None or base.__name__ not in catalog.TORCH_NAMES:
        return None
    import torch

    # torch.nn.Conv2d itself, not a namesake elsewhere in torch (a quantized Conv2d, say).
    return base if getattr(torch.nn, base.__name__, None) is base else None


def _behaviour(cls: type) -> list[str]:
    """What a class of one's own defines between it and torch that may change what it
    computes (see _CONFIGURATION and _behaviour_until)."""
    base = next((c for c in cls.__mro__ if _is_torch_class(c)), None)
    return [] if base is None else _behaviour_until(cls, base)


def _torch_entry(cls: type) -> tuple[str, Entry] | None:
    """The catalog entry of a torch.nn class symconv models, or of a subclass of one that
    only configures it (defines nothing that computes); None for anything else."""
    base = _modelled_base(cls)
    if base is None or _behaviour(cls):
        return None
    return base.__name__, catalog.TORCH_NAMES[base.__name__]


def _describe(module: Any, path: str) -> str:
    """How a module is named in messages: "nn.Conv2d at 'features.0'", or for a class of
    one's own "MyConv (a subclass of nn.Conv2d) at 'features.0'"."""
    cls = type(module)
    base = _modelled_base(cls)
    if _is_torch_class(cls):
        return f"nn.{cls.__name__} at '{path}'"
    if base is not None:
        return f"{cls.__name__} (a subclass of nn.{base.__name__}) at '{path}'"
    return f"{cls.__name__} at '{path}'"


def _refuse_hooks(root: Any, torch: Any) -> None:
    """A forward hook may replace a layer's output; torch.fx does not run hooks, so a model
    with one would be read as if it had none."""
    hooks = torch.nn.modules.module
    if getattr(hooks, "_global_forward_hooks", None) or getattr(
            hooks, "_global_forward_pre_hooks", None):
        raise UnsupportedError(
            "a global forward hook is registered (torch.nn.modules.module."
            "register_module_forward_hook); it may change every layer's output, which "
            "symconv cannot read"
        )
    for path, m in root.named_modules():
        cls = type(m)
        if _is_torch_class(cls) and _torch_entry(cls) is None:
            continue  # refused or traced into later (a lazy layer's own hook is torch's)
        where = _describe(m, path or cls.__name__)
        if m._forward_hooks or m._forward_pre_hooks:
            raise UnsupportedError(
                f"{where} has a forward hook; a hook may change what the module computes, "
                "which symconv cannot read"
            )
        if any("__call__" in vars(c) for c in cls.__mro__ if not _is_torch_class(c)):
            raise UnsupportedError(
                f"{where} defines __call__, which may change what the module computes; "
                "symconv reads modules that compute in their forward"
            )


def _refuse_direct_tensors(graph: Any) -> None:
    """A parameter or buffer used in the forward itself (F.conv2d(x, self.conv.weight),
    x * self.scale) is a computation symconv does not model, and its parameters would go
    uncounted or be counted twice."""
    for node in graph.nodes:
        if node.op == "get_attr" and not (node.users and all(map(is_layer_scale, node.users))):
            user = next(iter(node.users), node)
            where = inside(user).removeprefix(" in ") or "the forward"
            raise UnsupportedError(
                f"{where} uses the tensor '{node.target}' directly (in "
                f"{name_of(user)}); symconv reads parameters only through the layer modules "
                f"that own them{_subclass_hint(user)}"
            )


def _subclass_hint(node: Any) -> str:
    """Why a subclass of a layer symconv models was traced into rather than read as it."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    cls = list(stack.values())[-1][1]
    base = _modelled_base(cls) if isinstance(cls, type) else None
    if base is None or not _behaviour(cls):
        return ""
    return (f"; {cls.__name__} derives from nn.{base.__name__} but defines "
            f"{', '.join(_behaviour(cls))}, so it is not read as nn.{base.__name__}")


def _step(root: Any, node: Any, owners: _Owners, start: Any) -> Step | None:
    """The layer a graph node stands for; None for a node that changes nothing. `start` is
    the input of the branch the node is in (a size may be taken from its shape)."""
    if node.op == "call_module":
        module = root.get_submodule(node.target)
        if _is_stochastic_depth(type(module)):
            # The identity at inference; its shapes and counts are the identity's always.
            return Step(Activation("identity"), f"StochasticDepth at '{node.target}'")
        if _is_layer_norm_2d(type(module)):
            return _layer_norm_2d(module, node, owners)
        found = _torch_entry(type(module))
        where = _describe(module, node.target)
        if found is None:
            raise UnsupportedError(
                f"{where} is a layer symconv does not model (the layers it reads are "
                "listed in docs/language.md)"
            )
        if len(node.args) != 1 or node.kwargs:
            extra = [*(name_of(a) if hasattr(a, "op") else repr(a) for a in node.args[1:]),
                     *(f"{k}=..." for k in node.kwargs)]
            raise UnsupportedError(
                f"{where} is called with more than its input ({', '.join(extra)}); symconv "
                "reads a layer applied to one tensor"
            )
        frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
        source = ModuleSource(0, 0, where, str(node.target), frozen)
        layer = _from_module(module, *found, where, source)
        if isinstance(layer, WithParameters):
            layer = dataclasses.replace(layer, shared=owners.shared(module, where))
        return Step(layer, where)
    if is_size_query(node):
        return None
    dims = permutation(node)
    if dims is not None:  # one of a pair around a channels-last section (torch_graph)
        where = f"Tensor.{_shown_permute(dims)}{inside(node) or ' in the forward'}"
        return Step(Activation("identity"), where, permute=dims)
    if is_layer_scale(node):
        return _layer_scale(root, node, owners)
    if node.op in ("call_function", "call_method"):
        return _from_call(node, start)
    raise UnsupportedError(f"'{node.name}' ({node.op} {node.target}) is not a layer symconv reads")


def _shown_permute(dims: tuple[int, ...]) -> str:
    return f"permute({', '.join(map(str, dims))})"


def _layer_norm_2d(module: Any, node: Any, owners: _Owners) -> Step:
    """torchvision's LayerNorm2d: the channels normalised at every position."""
    where = f"LayerNorm2d at '{node.target}'"
    if len(node.args) != 1 or node.kwargs:
        raise UnsupportedError(f"{where} is called with more than its input; symconv reads "
                               "a layer applied to one tensor")
    shape = tuple(module.normalized_shape)
    if len(shape) != 1:
        raise UnsupportedError(f"{where} normalises over {len(shape)} axes "
                               f"{shape}; LayerNorm2d normalises the channels, one size")
    affine = bool(module.elementwise_affine)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    source = ModuleSource(0, 0, where, str(node.target), frozen)
    layer = ChannelNorm(shape[0], affine, module.bias is not None if affine else True, source,
                        owners.shared(module, where))
    return Step(layer, where)


def _layer_scale(root: Any, node: Any, owners: _Owners) -> Step:
    """x times a parameter of shape C x 1 x 1 (or 1 x C x 1 x 1): ConvNeXt's layer scale, a
    learned scale per channel."""
    (held,) = [a for a in node.args if a.op == "get_attr"]
    name = str(held.target)
    where = f"the layer scale '{name}'{inside(node) or ' in the forward'}"
    try:
        tensor = root.get_parameter(name)
    except AttributeError:
        raise UnsupportedError(
            f"{located(node)} multiplies by the tensor '{name}', which is not a parameter; "
            "symconv reads a product with a parameter of shape C x 1 x 1 as a layer scale"
        ) from None
    shape = tuple(tensor.shape)
    if len(shape) >= 2 and shape[0] != 1 and all(n == 1 for n in shape[1:]):
        channels, rank = shape[0], len(shape) - 1
    elif len(shape) >= 3 and shape[0] == 1 and all(n == 1 for n in shape[2:]):
        channels, rank = shape[1], len(shape) - 2
    else:
        raise UnsupportedError(
            f"{located(node)} multiplies by the parameter '{name}' of shape "
            f"{tuple(shape)}; symconv reads a product with a parameter of one value per "
            "channel, of shape C x 1 x 1 (or 1 x C x 1 x 1), as a layer scale")
    frozen = 0 if tensor.requires_grad else tensor.numel()
    source = ModuleSource(0, 0, where, name, frozen)
    return Step(LayerScale(channels, rank, source, owners.tensor(tensor, name)), where)


# ---------------------------------------------------------------- shared parameters


class _Owners:
    """Which module owns each parameter: the first path PyTorch lists it under, as
    model.parameters() counts each tensor once."""

    def __init__(self, root: Any):
        self.root = root
        self.owner: dict[int, str] = {}
        for name, p in root.named_parameters():
            self.owner[id(p)] = name.rpartition(".")[0]
        self.used: set[int] = set()  # the parameters of every module the forward calls

    def shared(self, module: Any, where: str) -> Shared | None:
        """Shared(owner) for a module with parameters (_mark_shared keeps it only where the
        owner's parameters are used more than once); None for one without."""
        ids = {id(p) for p in module.parameters()}
        self.used |= ids
        if not ids:
            return None
        owners = {self.owner[i] for i in ids}
        (owner, *others) = sorted(owners)
        owned = {id(p) for p in self.root.get_submodule(owner).parameters()}
        if others or owned != ids:
            raise UnsupportedError(
                f"{where} shares some of its parameters with "
                f"{', '.join(repr(o) for o in sorted(owners))} but not all; symconv reads "
                "parameters shared by whole modules (one module called twice, or all of its "
                "tensors tied)"
            )
        return Shared(owner)


    def tensor(self, tensor: Any, name: str) -> Shared:
        """Shared(name) for a parameter used in the forward itself (a layer scale's), which
        is then used; _mark_shared keeps it only where it is used more than once."""
        self.used.add(id(tensor))
        return Shared(name)

    def unused(self) -> tuple[Unused, ...]:
        """The parameters no called module uses, as model.parameters() counts them (each
        tensor once): by the outermost module all of whose parameters are unused, else
        tensor by tensor."""
        from symconv.network import Unused

        tensors = {id(p): (name, p) for name, p in self.root.named_parameters()}
        left = {i for i in tensors if i not in self.used}
        found = []
        for path, module in self.root.named_modules():
            ids = {id(p) for p in module.parameters()}
            if path and ids and ids <= left:
                found.append(Unused(path, sum(tensors[i][1].numel() for i in ids)))
                left -= ids
        found += [Unused(name, p.numel(), module=False)
                  for i, (name, p) in tensors.items() if i in left]
        return tuple(found)


def _layers_of(layer: Layer) -> Iterator[Layer]:
    """The layer and every layer inside it, in the order the trace meets them."""
    yield layer
    match layer:
        case Residual(body=body, shortcut=shortcut):
            for inner in (*body, *shortcut):
                yield from _layers_of(inner)
        case Concat(branches=branches):
            for inner in (x for branch in branches for x in branch):
                yield from _layers_of(inner)
        case Repeat(body=body) | Scale(body=body) | ChannelsLast(body=body):
            for inner in body:
                yield from _layers_of(inner)
        case _:
            pass


def _mark_shared(steps: Sequence[Step]) -> list[Step]:
    """Parameters used at more than one place: the first use (in the order of the trace, which
    `symconv table` lists) owns them, the later ones are reuses; parameters used once are
    not marked."""
    uses = Counter(s.name for step in steps for x in _layers_of(step.layer)
                   if (s := shared_of(x)) is not None)
    seen: set[str] = set()

    def mark(layer: Any) -> Any:
        match layer:
            case Bind(layer=inner):
                return dataclasses.replace(layer, layer=mark(inner))
            case Residual(body=body, shortcut=shortcut):
                return dataclasses.replace(layer, body=tuple(mark(x) for x in body),
                                           shortcut=tuple(mark(x) for x in shortcut))
            case Concat(branches=branches):
                return dataclasses.replace(
                    layer, branches=tuple(tuple(mark(x) for x in b) for b in branches))
            case Scale(body=body) | ChannelsLast(body=body):
                return dataclasses.replace(layer, body=tuple(mark(x) for x in body))
        shared = shared_of(layer)
        if shared is None:
            return layer
        if uses[shared.name] == 1:
            return dataclasses.replace(layer, shared=None)
        reuse = shared.name in seen
        seen.add(shared.name)
        return dataclasses.replace(layer, shared=Shared(shared.name, reuse))

    return [dataclasses.replace(step, layer=mark(step.layer)) for step in steps]


# ---------------------------------------------------------------- modules


def _axes(value: Any, rank: int) -> tuple[Value, ...]:
    if isinstance(value, tuple | list):
        return tuple(value)
    return (value,) * rank


def _window(m: Any, rank: int, dilation: Any = 1, kernel: Any = None) -> Window:
    padding = m.padding
    same = padding == "same"
    if isinstance(padding, str):
        padding = 0
    stride = m.stride if m.stride not in (None, (), []) else m.kernel_size
    kernel = m.kernel_size if kernel is None else kernel
    return Window(_axes(kernel, rank), _axes(stride, rank), _axes(padding, rank),
                  _axes(dilation, rank), same)


def _from_module(m: Any, name: str, entry: Entry, where: str, source: ModuleSource) -> Layer:
    """The layer of a module, read as its forward computes it: channel counts and kernel sizes
    from the weight's shape, which is what the forward uses (the attributes could have been
    changed after construction)."""
    rank = entry.rank or 0
    family = entry.spec.family
    bias = getattr(m, "bias", None) is not None
    if getattr(m, "return_indices", False):
        raise UnsupportedError(
            f"{where} returns the indices of the maxima too (return_indices=True); symconv "
            "reads layers that return one tensor"
        )
    if family is Family.CONV:
        if m.padding_mode not in catalog.PADDING_MODES[catalog.Kind.PADDING_MODE]:
            raise InvalidLayerError(f"{where}: unknown padding_mode {m.padding_mode!r}")
        c_out, per_group, *kernel = m.weight.shape
        return Conv(c_out, _window(m, rank, m.dilation, tuple(kernel)), m.groups, bias,
                    per_group * m.groups, source, str(m.padding_mode))
    if family is Family.CONV_TRANSPOSE:
        c_in, out_per_group, *kernel = m.weight.shape
        if m.padding_mode != "zeros":
            raise InvalidLayerError(
                f"{where}: only padding_mode='zeros' is supported for a transposed "
                f"convolution, not {m.padding_mode!r}"
            )
        return ConvTranspose(out_per_group * m.groups, _window(m, rank, m.dilation, tuple(kernel)),
                             _axes(m.output_padding, rank), m.groups, bias, c_in, source)
    if family in (Family.MAX_POOL, Family.AVG_POOL):
        is_max = family is Family.MAX_POOL
        if getattr(m, "divisor_override", None) == 0:
            raise InvalidLayerError(f"{where}: divisor_override must not be zero")
        window = _window(m, rank, m.dilation if is_max else 1)
        return Pool(PoolOp.MAX if is_max else PoolOp.AVG, window, bool(m.ceil_mode), source)
    if family in (Family.ADAPTIVE_MAX_POOL, Family.ADAPTIVE_AVG_POOL):
        op = PoolOp.MAX if family is Family.ADAPTIVE_MAX_POOL else PoolOp.AVG
        return AdaptivePool(op, _axes(m.output_size, rank), source)
    if family is Family.FLATTEN:
        return dataclasses.replace(_flatten(m.start_dim, m.end_dim, where), source=source)
    if family is Family.LINEAR:
        out_features, in_features = m.weight.shape
        return Linear(out_features, bias, in_features, source)
    if family is Family.BATCH_NORM:
        # The forward checks the channels against the running statistics or the weight;
        # with neither (affine=False, track_running_stats=False) it takes any count.
        sized = m.running_mean if m.running_mean is not None else m.weight
        channels = None if sized is None else sized.shape[0]
        return BatchNorm(rank, channels, m.weight is not None, source)
    if family is Family.DROPOUT:
        return Dropout(_rate(m.p), entry.kind_name, source)
    if family is Family.ACTIVATION:
        return Activation(entry.kind_name, source)
    return _from_module_more(m, entry, where, source)


def _from_module_more(m: Any, entry: Entry, where: str, source: ModuleSource) -> Layer:
    """Normalisations, padding, pixel shuffles and upsampling, read from their modules."""
    family, rank = entry.spec.family, entry.rank or 0
    if family is Family.GROUP_NORM:
        return GroupNorm(m.num_groups, m.num_channels, bool(m.affine), source)
    if family is Family.LAYER_NORM:
        affine = bool(m.elementwise_affine)
        # Without affine there is no bias either; the flag then says nothing.
        return LayerNorm(tuple(m.normalized_shape), affine,
                         m.bias is not None if affine else True, source)
    if family is Family.INSTANCE_NORM:
        # The channels are checked only where a weight or running statistics hold them.
        sized = bool(m.affine) or bool(m.track_running_stats)
        return InstanceNorm(rank, m.num_features if sized else None, bool(m.affine), source)
    if family in (Family.ZERO_PAD, Family.CONSTANT_PAD):
        amounts = _axes(m.padding, 2 * rank)
        pairs = [(amounts[i], amounts[i + 1]) for i in range(0, len(amounts), 2)]
        return Pad(tuple(reversed(pairs)), _number(m.value, where), source)
    if family is Family.PIXEL_SHUFFLE:
        return PixelShuffle(m.upscale_factor, False, source)
    if family is Family.PIXEL_UNSHUFFLE:
        return PixelShuffle(m.downscale_factor, True, source)
    if family is Family.UPSAMPLE:
        return _upsample(m.size, m.scale_factor, m.mode, m.align_corners, where, source)
    if family is Family.CHANNEL_SHUFFLE:
        return ChannelShuffle(m.groups, source)
    raise AssertionError(family)


def _number(value: Any, where: str) -> Value:
    """A number of a module (a fill value, a scale factor) as an exact fraction: 0.1 is
    1/10 (its float is the same double)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidLayerError(f"{where}: expected a number, got {value!r}")
    if isinstance(value, float):  # nsimplify would sympify text: a float only
        exact = sympy.nsimplify(value, rational=True)
        return int(exact) if exact.is_Integer else exact
    return value


def _upsample(size: Any, scale: Any, mode: Any, corners: Any, where: str,
              source: ModuleSource | None = None) -> Upsample:
    """nn.Upsample or F.interpolate, from their arguments."""
    if (size is None) == (scale is None):
        raise InvalidLayerError(f"{where}: give either size or scale_factor, not "
                                + ("both" if size is not None else "neither"))
    if any(hasattr(v, "op") for v in (*_axes(size, 1), *_axes(scale, 1))):
        raise UnsupportedError(f"{where} takes its size from another tensor; symconv reads "
                               "an upsampling to a given size or by a given factor")
    if mode not in catalog.UPSAMPLE_MODES:
        raise UnsupportedError(f"{where}: mode {mode!r} is not one symconv reads "
                               f"({', '.join(catalog.UPSAMPLE_MODES)})")
    every = not isinstance(size if size is not None else scale, tuple | list)
    sizes = None if size is None else _axes(size, 1)
    scales = None if scale is None else tuple(_number(q, where) for q in _axes(scale, 1))
    return Upsample(sizes, scales, str(mode), None if corners is None else bool(corners),
                    every, source)


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
        stride = _argument(node, 1, "stride", None)
        if stride is None or stride in ((), []):  # PyTorch's default: the kernel size
            stride = kernel
        padding = _argument(node, 2, "padding", 0)
        if op is PoolOp.MAX:
            dilation = _argument(node, 3, "dilation", 1)
            ceil = _argument(node, 4, "ceil_mode", False)
        else:
            dilation, ceil = 1, _argument(node, 3, "ceil_mode", False)
            if _argument(node, 5, "divisor_override", None) == 0:
                raise InvalidLayerError(f"{located(node)}: divisor_override must not be zero")
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
        try:
            return shuffle_part(node)  # a part of a channel shuffle
        except LookupError:
            pass
        shape = [a for a in node.args[1:]]
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = list(shape[0])
        # x.view(x.size(0), -1) or x.view(-1, n): everything but the batch in one axis.
        if len(shape) == 2 and (shape[1] == -1 or shape[0] == -1):
            return Flatten()
        raise UnsupportedError(
            f"Tensor.{node.target} with shape {tuple(shape)}: symconv reads a reshape only as "
            "a flatten, x.view(x.size(0), -1), or in a channel shuffle, x.view(b, g, c // g, "
            "h, w).transpose(1, 2).view(b, c, h, w)"
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


def _global_pool(op: PoolOp) -> Callable[[Any], Layer]:
    """x.mean(dims), torch.mean(x, dims), x.amax(dims): every spatial axis, and only those
    (2, 3 or -2, -1 in 2D; the channels and the batch stay)."""
    def read(node: Any) -> Layer:
        dims = _argument(node, 0, "dim", None)
        keepdim = _argument(node, 1, "keepdim", False)
        axes = tuple(dims) if isinstance(dims, tuple | list) else (dims,)
        if not all(isinstance(a, int) for a in axes) or len(set(axes)) != len(axes) or not (
                sorted(axes) == list(range(2, 2 + len(axes)))
                or sorted(axes) == list(range(-len(axes), 0))):
            raise UnsupportedError(
                f"{located(node)} over dim={dims}: symconv reads a mean or maximum over every "
                "spatial axis (dim=(2, 3) in 2D, or (-2, -1)), a global pooling")
        return GlobalPool(op, bool(keepdim), len(axes))

    return read


def _interpolate(node: Any, start: Any) -> Layer:
    """F.interpolate; a size read from the shape of the branch's input (x.shape[-2:]) is
    marked, and put in once the shapes are known (torch_sizes.resolve)."""
    where = located(node)
    size = _argument(node, 0, "size", None)
    size = size_reference(size, start, where) or size
    return _upsample(size, _argument(node, 1, "scale_factor", None),
                     _argument(node, 2, "mode", "nearest"),
                     _argument(node, 3, "align_corners", None), where)


_FUNCTIONS: dict[str, Callable[[Any], Layer | None]] = {
    "mean": _global_pool(PoolOp.AVG),
    "amax": _global_pool(PoolOp.MAX),
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
    "chunk": read_chunk,
    "getitem": read_part,
    "transpose": shuffle_part,
}


def _from_call(node: Any, start: Any) -> Step | None:
    name = str(node.target) if node.op == "call_method" else getattr(node.target, "__name__", "")
    where = located(node)
    if name == "interpolate":
        return Step(_interpolate(node, start), where)
    read = _FUNCTIONS.get(name)
    if read is not None:
        layer = read(node)
        return None if layer is None else Step(layer, where, _declared_features(node))
    activation = catalog.DSL_NAMES.get(name.rstrip("_"))
    if activation is not None and activation.spec.family is Family.ACTIVATION:
        return Step(Activation(activation.kind_name), where)
    raise UnsupportedError(
        f"{where} is not something symconv reads; use the nn layer instead (nn.ReLU(), "
        f"nn.MaxPool2d(2), nn.Flatten(), ...){_subclass_hint(node)}"
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
    from symconv.network import shape_of

    shape = shape_of(given)  # text, or a tuple of whole numbers (never a float cut short)
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
        layer = unbound(step.layer)
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


def _check(shape: tuple[Value, ...], steps: Sequence[Step]) -> tuple[Layer, ...]:
    """The layers, each size taken from a tensor put in (torch_sizes.resolve), traced once
    so that a layer that cannot follow its input is named by its module path."""
    origin, layers = shape, []
    named: dict[str, tuple[Value, ...]] = {}  # the shape of each named tensor
    for step in steps:
        try:
            inner = unbound(step.layer)
            if isinstance(inner, Join):
                layer = step.layer
                shape, _ = join_shape(inner, [named.get(n, origin) for n in inner.names])
            else:
                inner = resolve(inner, shape,
                                origin if step.size_of is None else named[step.size_of])
                layer = (inner if not isinstance(step.layer, Bind)
                         else dataclasses.replace(step.layer, layer=inner))
                (record,) = trace(shape, (inner,))
                if step.rank is not None and len(shape) - 1 != step.rank:
                    raise ShapeError(f"the permutes around it take {step.rank} spatial axes, "
                                     f"but its input has {len(shape) - 1}", None, step.where)
                shape = record.output_shape
            layers.append(layer)
        except SymconvError as error:
            raise type(error)(error.message, None, step.where) from None
        if isinstance(layer, Bind):
            named[layer.name] = shape
        if step.features is not None and sympy.sympify(shape[0] - step.features, strict=True) != 0:
            raise ShapeError(
                f"the forward flattens to {step.features} features, but the input here has "
                f"{shape[0]} per example",
                None,
                step.where,
            )
    return tuple(layers)
