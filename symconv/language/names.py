"""The rules of named tensors: `name = <layer>` binds a layer's output, `concat a b`, `add a b`,
`mul a b` and `use a` read named tensors (language/layers.py: Bind, Join).

A name is bound once, before it is used, at the top level of the network (the network's
input is bound too, as `x` unless `input ... as NAME` says otherwise). Every stage after
this one (trace, receptive fields, the compiled path, the solver, to_torch_code) relies on
these rules: a name a join reads that no earlier Bind bound is the network's input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from symconv.errors import InvalidLayerError, Source, UnknownNameError, did_you_mean
from symconv.language.layers import (
    Bind,
    Concat,
    Join,
    JoinOp,
    Layer,
    Repeat,
    Residual,
    Scale,
    kind_of,
)

BLOCKS = (Repeat, Residual, Concat, Scale)
INPUT_NAME = "x"  # the network input's name where the description gives none

# How many names each join reads: (least, most); None for any number.
_ARITY = {JoinOp.CONCAT: (1, None), JoinOp.ADD: (2, None), JoinOp.MUL: (2, None),
          JoinOp.USE: (1, 1)}
_ARITY_WORDS = {JoinOp.CONCAT: "one or more named tensors", JoinOp.ADD: "two or more named "
                "tensors", JoinOp.MUL: "two or more named tensors", JoinOp.USE: "one named "
                "tensor"}


def has_names(layers: Sequence[Layer]) -> bool:
    """Whether the layers bind or join named tensors (at the top level, where they may)."""
    return any(isinstance(layer, Bind | Join) for layer in layers)


def check_names(layers: Sequence[Layer], input_name: str = INPUT_NAME,
                bound_later: Mapping[str, Source | None] | None = None) -> None:
    """Refuse a name bound twice, read before it is bound or never bound, a join with too
    few or too many names, and names inside a block's body (UnknownNameError,
    InvalidLayerError, each naming the line, the layer and the rule). `bound_later`: names
    that statements after these layers bind (the builder checks as it goes)."""
    bound: dict[str, Source | None] = {input_name: None}
    later = {**(bound_later or {}),
             **{layer.name: layer.source for layer in layers if isinstance(layer, Bind)}}
    for index, layer in enumerate(layers, start=1):
        label = f"layer {index} ({kind_of(layer)})"
        inner = layer.layer if isinstance(layer, Bind) else layer
        if isinstance(layer, Bind) and isinstance(inner, Bind):
            raise InvalidLayerError(f"'{layer.name}' names a layer that is already named "
                                    f"'{inner.name}'; a layer's output has one name",
                                    layer.source, label)
        if isinstance(layer, Bind) and isinstance(inner, BLOCKS):
            raise InvalidLayerError(f"'{layer.name} = {kind_of(inner)} ...' names a block; a "
                                    "binding names the output of one layer: write the block, "
                                    f"then '{layer.name} = identity'", layer.source, label)
        _no_names_inside(inner, label)
        if isinstance(inner, Join):
            _check_join(inner, bound, later, label)
        if isinstance(layer, Bind):
            if layer.name in bound:
                first = bound[layer.name]
                where = ("the network's input" if first is None and layer.name == input_name
                         else f"line {first.line}" if first is not None else "an earlier layer")
                raise InvalidLayerError(f"the name '{layer.name}' is bound twice (first by "
                                        f"{where}); a name is bound once", layer.source, label)
            bound[layer.name] = layer.source


def _check_join(join: Join, bound: dict[str, Source | None], later: dict[str, Source | None],
                label: str) -> None:
    least, most = _ARITY[join.op]
    count = len(join.names)
    if count < least or (most is not None and count > most):
        raise InvalidLayerError(f"{join.op.value} takes {_ARITY_WORDS[join.op]}, got {count}",
                                join.source, label)
    for name in join.names:
        if name in bound:
            continue
        if name in later:
            where = later[name]
            line = f" on line {where.line}" if where is not None else " by a later layer"
            raise UnknownNameError(f"the tensor '{name}' is used before it is bound (it is "
                                   f"bound{line}); a name is read only after the layer that "
                                   "binds it", join.source, label)
        raise UnknownNameError(f"unknown tensor '{name}': a join reads the input or a tensor "
                               f"bound earlier by name = layer (here: {', '.join(bound)})"
                               f"{did_you_mean(name, list(bound))}", join.source, label)


def _no_names_inside(layer: Layer, label: str) -> None:
    """Refuse Bind and Join anywhere inside a block's bodies."""
    match layer:
        case Repeat(body=body) | Scale(body=body):
            bodies: tuple[tuple[Layer, ...], ...] = (body,)
        case Residual(body=body, shortcut=shortcut):
            bodies = (body, shortcut)
        case Concat(branches=branches):
            bodies = branches
        case _:
            return
    for body in bodies:
        for inner in body:
            if isinstance(inner, Bind | Join):
                raise InvalidLayerError(
                    f"{kind_of(inner)} inside a {kind_of(layer)} block: names are bound and "
                    "read at the top level of a network only", inner.source, label)
            _no_names_inside(inner, label)
