"""Numeric questions answered by compiled code: the Network's fast path.

A call of `output_shape`, `params`, `totals`, `records` or `table` that gives a whole number
for every symbol of the network is answered by the network's compiled evaluator
(symconv.numeric.evaluate), built once and kept on the network. Compiling costs about a hundred
traces, so the first TRACED_CALLS such calls are traced and the next compiles: a command
line run, which asks a few questions, pays nothing; a loop pays the compile once
(`network.evaluator()` compiles at once). Whatever the compiled code cannot answer exactly
as the trace would (a rule fails, a number is too big, a value is not a plain whole number)
returns None here, and the caller asks the trace, which gives the answer or the error with
its message.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from symconv.engine.joins import join_record
from symconv.engine.receptive import INPUT, Field, layer_fields
from symconv.engine.records import Chain, Record
from symconv.engine.trace import chain
from symconv.errors import SymconvError
from symconv.language.layers import (
    Bind,
    Concat,
    Join,
    Layer,
    Repeat,
    Residual,
    Scale,
    kind_of,
    unbound,
)
from symconv.language.parse import TOO_BIG, too_big
from symconv.language.values import substitution, value_of

if TYPE_CHECKING:
    from symconv.network import Network
    from symconv.numeric.evaluate import Evaluator, Row

# Numeric calls answered by the trace before the network is compiled (see the docstring):
# more than any command asks by default (`check --torch` tries 3 sizes), few for a loop.
TRACED_CALLS = 16

_COMPILING = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a numeric call needs besides the compiled code, worked out once per network."""

    symbols: tuple[str, ...]
    # Per top-level layer: the layer, its kind, the symbols it holds (bound per call only
    # where there are any) and whether it is a block (whose children the trace gives).
    layers: tuple[tuple[Layer, str, tuple[str, ...], bool], ...]


def evaluator_of(network: Network) -> Evaluator:
    """The network's compiled evaluator, built at most once (under a lock: threads asking at
    the same time share one build) and kept on the network."""
    cache = network._fast
    evaluator = cache.get("evaluator")
    if evaluator is None:
        with _COMPILING:
            evaluator = cache.get("evaluator")
            if evaluator is None:
                from symconv.numeric.evaluate import compile_network

                evaluator = compile_network(network)
                cache["evaluator"] = evaluator
    return evaluator


def _plan(network: Network) -> _Plan:
    plan = network._fast.get("plan")
    if plan is None:
        from symconv.engine.substitute import collect_names

        layers = []
        for layer in network.layers:
            names: set[str] = set()
            collect_names(layer, names)
            layers.append((layer, kind_of(layer), tuple(sorted(names)),
                           isinstance(unbound(layer), Repeat | Residual | Concat | Scale)))
        plan = _Plan(network.symbols, tuple(layers))
        network._fast["plan"] = plan  # the same plan whoever builds it: no lock needed
    return plan


def numeric_args(network: Network, values: Mapping[str, object]) -> tuple[int, ...] | None:
    """The values in the order of `network.symbols` where the call gives a whole number for
    every symbol and nothing else; otherwise None (the trace answers, or says what is wrong)."""
    symbols = _plan(network).symbols
    if len(values) != len(symbols):
        return None
    args = []
    for name in symbols:
        given = values.get(name, values)  # `values` itself marks a missing name
        if type(given) is not int:
            if given is values:
                return None
            try:
                given = value_of(name, given)
            except SymconvError:
                return None
            if not isinstance(given, int):
                return None
        args.append(given)
    return tuple(args)


def fast_rows(network: Network, values: Mapping[str, object]
              ) -> tuple[tuple[int, ...], tuple[Row, ...]] | None:
    """The symbols' values and the compiled rows of a numeric call, or None where the trace
    answers (not a numeric call, not compiled yet, or a case the compiled code leaves to
    the trace)."""
    args = numeric_args(network, values)
    if args is None or not network.layers:
        return None
    evaluator = network._fast.get("evaluator")
    if evaluator is None:
        calls = network._fast["calls"] = network._fast.get("calls", 0) + 1
        if calls <= TRACED_CALLS:
            return None
        evaluator = evaluator_of(network)
    rows = evaluator.rows(args)
    return None if rows is None else (args, rows)


def fast_records(network: Network, values: Mapping[str, object]) -> tuple[Record, ...] | None:
    """The trace's records for a numeric call, sizes and counts from compiled code, receptive
    fields from the trace's own per-layer recursion on numbers, blocks traced whole (their
    children are records too); None where the trace must answer."""
    found = fast_rows(network, values)
    if found is None:
        return None
    args, rows = found
    plan = _plan(network)
    given = dict(zip(plan.symbols, args, strict=True))
    subs = substitution(given) if given else {}
    shape = tuple(v if isinstance(v, int) else int(v.xreplace(subs))
                  for v in network.input_shape)
    spatial = shape[1:]
    fields: tuple[Field, ...] = tuple(INPUT for _ in spatial)
    records = []
    # Where each named tensor was made.
    start, named = Chain(shape, fields, spatial), dict[str, Chain]()
    try:
        for index, ((layer, kind, names, block), row) in enumerate(
                zip(plan.layers, rows, strict=True), start=1):
            bound = layer if not names else _bind(layer, names, given)
            if isinstance(join := unbound(bound), Join):
                record = join_record(index, join, [named.get(n, start) for n in join.names], 0)
                record = dataclasses.replace(record, kind=kind)
            elif block:
                (record,), _ = chain((bound,), Chain(shape, fields, spatial))
                record = dataclasses.replace(record, index=index)
            else:
                output, params, neurons, connections, macs = row
                record = Record(index, kind, unbound(bound), shape, output, params, neurons,
                                connections, macs,
                                layer_fields(bound, fields, shape[1:], spatial))
            if record.fields is not fields and any(map(_too_big, record.fields)):
                return None
            records.append(record)
            shape, fields = record.output_shape, record.fields
            if isinstance(layer, Bind):
                named[layer.name] = Chain(shape, fields, spatial)
    except SymconvError:
        return None  # the trace says where and why, with the values named
    return tuple(records)


def _bind(layer: Layer, names: tuple[str, ...], given: Mapping[str, int]) -> Layer:
    from symconv.engine.substitute import substitute

    bound: Layer = substitute(layer, substitution({n: given[n] for n in names}))
    return bound


def _too_big(field: Field) -> bool:
    """Whether a field holds a number of more than MAX_DIGITS digits (as the trace checks)."""
    for v in (field.size, field.jump, field.start):
        if type(v) is int:
            if not -TOO_BIG < v < TOO_BIG:
                return True
        elif v is not None and too_big(v):
            return True
    return False
