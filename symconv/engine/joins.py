"""Joins of named tensors -> records: `concat a b` (channels concatenated), `add a b` and
`mul a b` (element-wise, PyTorch's broadcasting), `use a` (a named tensor taken up again).

The inputs are the Chains where each named tensor was made (trace.chain keeps them). The
receptive field is the widest of the inputs' (as where a residual's paths meet:
receptive.merge_paths), with whether the inputs centre their units alike; a gate (an
input pooled to 1 x 1, broadcast) is left out, as a scale block's is. Counts: a
concatenation copies and a `use` reads, so neither adds any; a sum or product of n tensors
is one neuron with n inputs per output element, a product also n - 1 multiplies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from symconv.algebra.symbols import Value, truth
from symconv.engine import formulas as f
from symconv.engine.blocks import agree, broadcast_fields, equal_when, is_gate
from symconv.engine.receptive import Field, merge_paths
from symconv.engine.records import PENDING_RULES, Chain, Record, Shape
from symconv.errors import ShapeError
from symconv.language.layers import Bind, Join, JoinOp, Layer, kind_of, unbound
from symconv.present.values import text_shape


def join_shape(join: Join, shapes: Sequence[Shape]) -> tuple[Shape, Any]:
    """The output shape of the join of tensors of these shapes, and the condition on the
    input under which they fit (None where they always do); a ShapeError where they never
    do. Conditions the symbols leave open are also pending rules (records.PENDING_RULES)."""
    first = shapes[0]
    if join.op is JoinOp.USE:
        return first, None
    for name, shape in zip(join.names, shapes, strict=True):
        if len(shape) != len(first):
            raise ShapeError(f"{join.op.value} of tensors with different numbers of axes: "
                             f"{_shown(join.names[0], first)}, {_shown(name, shape)}")
    if join.op is JoinOp.CONCAT:
        conditions = [agree(first[1:], shape[1:], f"'{join.names[0]}'", f"'{name}'",
                            "concatenated (every size but the channels must agree)")
                      for name, shape in zip(join.names[1:], shapes[1:], strict=True)]
        kept = [c for c in conditions if c is not None]
        channels = sum((shape[0] for shape in shapes), 0)
        return (channels, *first[1:]), sympy.And(*kept) if kept else None
    return _broadcast(join, shapes)


def _broadcast(join: Join, shapes: Sequence[Shape]) -> tuple[Shape, Any]:
    """PyTorch's broadcasting of tensors with the same number of axes: along each axis the
    sizes are equal, or 1 (which takes the others' size)."""
    out: list[Value] = []
    conditions: list[Any] = []
    for sizes in zip(*shapes, strict=True):
        size: Value = 1
        for n in sizes:
            if truth(f.equal(n, 1)) is True:
                continue
            if truth(f.equal(size, 1)) is True:
                size = n
                continue
            condition = equal_when(size, n)
            if condition is False:
                shown = ", ".join(_shown(name, shape)
                                  for name, shape in zip(join.names, shapes, strict=True))
                raise ShapeError(f"{join.op.value} of {shown}: the sizes do not broadcast "
                                 "(along each axis they must be equal, or 1)")
            if condition is not True:
                conditions.append(condition)
                if (pending := PENDING_RULES.get()) is not None:
                    pending.append(sympy.Eq(size, n))
        out.append(size)
    return tuple(out), sympy.And(*conditions) if conditions else None


def _shown(name: str, shape: Shape) -> str:
    return f"'{name}' {text_shape(shape)}"


def join_counts(join: Join, output: Shape) -> tuple[Value, Value, Value]:
    """(neurons, connections, multiply-adds) of the join itself."""
    if join.op in (JoinOp.CONCAT, JoinOp.USE):
        return 0, 0, 0
    elements = f.product(output)
    inputs = len(join.names)
    macs = (inputs - 1) * elements if join.op is JoinOp.MUL else 0
    return elements, inputs * elements, macs


def join_record(index: int, join: Join, inputs: Sequence[Chain], path: int) -> Record:
    """The record of a join whose named tensors stand at `inputs` (in the order named)."""
    shape, condition = join_shape(join, [at.shape for at in inputs])
    # A gate (an input pooled to one unit, broadcast along every spatial axis) is left out,
    # as a scale block's is (docs/conventions.md), unless every input is one.
    data = [at for at in inputs if not is_gate(at, shape)] or list(inputs)
    fields, aligned = merge_paths([broadcast_fields(at, shape) for at in data])
    neurons, connections, macs = join_counts(join, shape)
    return Record(index, kind_of(join), join, inputs[0].shape, shape, 0, neurons, connections,
                  macs, fields, (), path, aligned=None if len(data) == 1 else aligned,
                  condition=condition)


def data_paths(layers: Sequence[Layer], records: Sequence[Record], start: tuple[Field, ...]
               ) -> list[list[tuple[Field, ...]]]:
    """For each record, the fields along its data path from the input (the input's first,
    the record's last): the chain of the layers before it, where a join goes on from the
    input whose field it keeps (the widest), so that each step is a window (`symconv rf`'s
    per-layer k, s, p and the closed forms; a join itself is the identity step)."""
    named: dict[str, list[tuple[Field, ...]]] = {}
    path, paths = [start], []
    for layer, record in zip(layers, records, strict=True):
        join = unbound(layer)
        if isinstance(join, Join):
            options = [named.get(name, [start]) for name in join.names]
            path = list(next((p for p in options if p[-1] == record.fields), options[0]))
        path = [*path, record.fields]
        paths.append(path)
        if isinstance(layer, Bind):
            named[layer.name] = path
    return paths
