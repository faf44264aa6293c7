"""Derivations inside blocks: every path of a block derived layer by layer, as a lecture
shows them. A repeat's body is derived once for each run of passes that compute the same
numbers ("passes 1–2, × 2"); a residual block's body and shortcut both; a concat's every
branch, and its channels as their sum. Each path starts from a copy of the chain at the
block's input, so its sizes are named after the table's row labels (H_6.a1, H_6.b1)."""

from __future__ import annotations

from collections.abc import Sequence

from symconv.derive.derivation import LayerDerivation, Part, _axes, _Chain, _layer_steps, _with_own
from symconv.derive.steps import Quantity, Step, call, given_step
from symconv.engine.records import Record
from symconv.language.layers import ChannelsLast, Concat, Repeat, Residual, Scale, shared_of
from symconv.present.values import row_label


def parts_of(record: Record, chain: _Chain, at: object) -> tuple[tuple[Part, ...], list[Step]]:
    """The block's paths, derived, and its own steps that follow from them (a concat's
    channels); nothing for a layer that is not a block."""
    label = str(at)
    children = record.children
    match record.layer:
        case Repeat(count=count, body=layers):
            return _passes(children, chain, label, count, len(layers), record), []
        case Residual():
            main, _ = _path("body", [c for c in children if c.path == 1], chain, label, record)
            inner = [c for c in children if c.path == 2]
            shortcut, _ = _path("shortcut" if inner else "shortcut: the input itself", inner,
                                chain, label, record)
            return (main, shortcut), []
        case Concat(branches=branches):
            paths = [_path(f"branch {i}", [c for c in children if c.path == i], chain, label,
                           record) for i in range(1, len(branches) + 1)]
            return tuple(p for p, _ in paths), _channel_sum(record, chain, label,
                                                            [c for _, c in paths])
        case Scale():
            gate, _ = _path("gate", list(children), chain, label, record)
            return (gate,), []
        case ChannelsLast():
            # The body sees H x W x C: its chain names the channels last too.
            last = _copy(chain)
            last.names, last.values = [*last.names[1:], last.names[0]], [*last.values[1:],
                                                                         last.values[0]]
            order = _axes(len(last.names))
            last.axes = (*order[1:], order[0])
            derived = derive_records(children, last, label)
            shape = children[-1].output_shape if children else record.input_shape
            return (Part("at every position, channels last", derived, tuple(shape)),), []
        case _:
            return (), []


def _copy(chain: _Chain) -> _Chain:
    """The chain at the block's input, for one path (receptive fields left to the block)."""
    return _Chain(list(chain.names), list(chain.values), [], chain.letters)


def derive_records(records: Sequence[Record], chain: _Chain, prefix: str
                   ) -> tuple[LayerDerivation, ...]:
    """The layers of one path, each named by its row label under `prefix`."""
    out = []
    for r in records:
        label = row_label(prefix, r.index, r.path)
        parts, own = parts_of(r, chain, label)
        steps = _with_own(_layer_steps(r, chain, label), own)
        shared = shared_of(r.layer)
        if shared is not None and shared.reuse:  # counted where first used, as the table does
            steps = [*(s for s in steps if s.quantity is not Quantity.PARAMS),
                     given_step(Quantity.PARAMS, chain.name("params", label), 0)]
        out.append(LayerDerivation(r.index, r.kind, tuple(steps), label=label, parts=parts))
    return tuple(out)


def _path(title: str, records: Sequence[Record], chain: _Chain, label: str, block: Record
          ) -> tuple[Part, _Chain]:
    sub = _copy(chain)
    layers = derive_records(records, sub, label)
    shape = records[-1].output_shape if records else block.input_shape
    return Part(title, layers, tuple(shape)), sub


def _passes(children: Sequence[Record], chain: _Chain, label: str, count: object, size: int,
            block: Record) -> tuple[Part, ...]:
    """A repeat's passes: the layers of each pass derived in turn, consecutive passes that
    compute the same numbers shown once ("passes 1–3, × 3")."""
    if size == 0 or not children:
        return ()
    sub = _copy(chain)
    if not isinstance(count, int):  # a symbolic count: the first pass is traced (blocks.py)
        layers = derive_records(children, sub, label)
        return (Part(f"pass 1 of {count}; the table sums all {count}", layers,
                     tuple(children[-1].output_shape)),)
    runs: list[tuple[int, int, tuple[LayerDerivation, ...], tuple[object, ...]]] = []
    for n in range(len(children) // size):
        records = children[n * size:(n + 1) * size]
        layers = derive_records(records, sub, label)
        key = _numbers(layers)
        if runs and runs[-1][3] == key:
            first, _, shown, _ = runs[-1]
            runs[-1] = (first, n + 1, shown, key)
        else:
            runs.append((n + 1, n + 1, layers, key))
    parts = []
    for first, last, layers, _ in runs:
        title = (f"pass {first}" if first == last
                 else f"passes {first}–{last}, the same numbers each time")
        parts.append(Part(title, layers, tuple(children[last * size - 1].output_shape),
                          passes="" if first == last else f"× {last - first + 1}"))
    return tuple(parts)


def _numbers(layers: Sequence[LayerDerivation]) -> tuple[object, ...]:
    """What a pass computes, names left out: its lines with the numbers put in."""
    return tuple(
        (layer.kind, tuple((s.quantity, tuple(str(line) for line in s.lines()[1:]))
                           for s in layer.steps),
         tuple((p.title, _numbers(p.layers)) for p in layer.parts))
        for layer in layers)


def _channel_sum(record: Record, chain: _Chain, label: str, ends: Sequence[_Chain]
                 ) -> list[Step]:
    """A concat's output channels: the sum of its branches' channels, each named as its
    branch's derivation left it."""
    rank = len(record.output_shape)
    if any(len(end.names) != rank for end in ends) or len(chain.names) != rank:
        return []  # a branch reshapes: the block's sizes as the engine gives them
    target = chain.name(_axes(rank)[0], label)
    slots = [((end.names[0], end.values[0]),) for end in ends]
    return [call(Quantity.SHAPE, target, _sum, *slots,
                 chained=[end.names[0] for end in ends])]


def _sum(*values: object) -> object:
    total = values[0]
    for v in values[1:]:
        total = total + v  # type: ignore[operator]
    return total

