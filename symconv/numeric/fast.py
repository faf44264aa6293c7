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
from typing import TYPE_CHECKING, NamedTuple

from symconv.engine.receptive import Field
from symconv.engine.records import Record
from symconv.errors import SymconvError
from symconv.language.layers import (
    Block,
    Layer,
    kind_of,
    unbound,
)
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
    bound: bool  # whether any layer holds a symbol


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
                           isinstance(unbound(layer), Block)))
        plan = _Plan(network.symbols, tuple(layers), any(names for _, _, names, _ in layers))
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


def _compiled(network: Network, values: Mapping[str, object]
              ) -> tuple[tuple[int, ...], Evaluator] | None:
    """The symbols' values of a numeric call and the network's evaluator, or None where the
    trace answers (not a numeric call, or not compiled yet)."""
    args = numeric_args(network, values)
    if args is None or not network.layers:
        return None
    evaluator = network._fast.get("evaluator")
    if evaluator is None:
        calls = network._fast["calls"] = network._fast.get("calls", 0) + 1
        if calls <= TRACED_CALLS:
            return None
        evaluator = evaluator_of(network)
    return args, evaluator


def fast_rows(network: Network, values: Mapping[str, object]
              ) -> tuple[tuple[int, ...], tuple[Row, ...]] | None:
    """The symbols' values and the compiled rows of a numeric call, or None where the trace
    answers (not a numeric call, not compiled yet, or a case the compiled code leaves to
    the trace)."""
    if (found := _compiled(network, values)) is None:
        return None
    args, evaluator = found
    rows = evaluator.rows(args)
    return None if rows is None else (args, rows)


class FastRow(NamedTuple):
    """One top-level layer of a numeric call as compiled code gives it: what a Record holds
    but its children (a block's record, by the trace on numbers, is `block`), made for the
    cost of a tuple."""

    index: int  # type: ignore[assignment]  # (shadows tuple.index, as Record names it)
    kind: str
    layer: Layer  # with the call's values in place
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    neurons: int
    connections: int
    macs: int
    fields: tuple[Field, ...]
    block: Record | None


def fast_layers(network: Network, values: Mapping[str, object]
                ) -> tuple[FastRow, ...] | None:
    """The rows of a numeric call: sizes, counts and receptive fields from compiled code
    (Evaluator.table_rows); None where the trace must answer."""
    if (found := _compiled(network, values)) is None:
        return None
    args, evaluator = found
    if (table := evaluator.table_rows(args)) is None:
        return None
    shape, rows = table
    plan = _plan(network)
    given = dict(zip(plan.symbols, args, strict=True)) if plan.bound else {}
    found_rows = []
    try:
        for index, ((layer, kind, names, _), row) in enumerate(
                zip(plan.layers, rows, strict=True), start=1):
            bound = layer if not names else _bind(layer, names, given)
            found_rows.append(FastRow(index, kind, unbound(bound), shape, *row))
            shape = row[0]
    except SymconvError:
        return None  # the trace says where and why, with the values named
    return tuple(found_rows)


def fast_records(network: Network, values: Mapping[str, object]) -> tuple[Record, ...] | None:
    """The trace's records for a numeric call (see fast_layers; a block's record, its
    children inside, by the trace on numbers); None where the trace must answer."""
    if (rows := fast_layers(network, values)) is None:
        return None
    return tuple(Record(*row[:10]) if row.block is None
                 else dataclasses.replace(row.block, index=row.index, kind=row.kind)
                 for row in rows)


def _bind(layer: Layer, names: tuple[str, ...], given: Mapping[str, int]) -> Layer:
    from symconv.engine.substitute import substitute

    bound: Layer = substitute(layer, substitution({n: given[n] for n in names}))
    return bound
