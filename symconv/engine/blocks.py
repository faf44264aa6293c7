"""Blocks -> records: `repeat N { ... }`, `residual { ... } shortcut { ... }`, `concat { ... }`.

A block is one record whose children are the records of the layers inside it. Its counts
are the sums over the children (a residual addition adds one neuron and two connections per
output element, and no parameters). A block repeated a symbolic number of times N is traced
once, and its output size, receptive field and counts are closed forms in N.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, assert_never

import sympy

from symconv.algebra.simplify import (
    FloorMap,
    floor_map,
    iteration_index,
    repeat_map,
    simplify_rounding,
)
from symconv.algebra.symbols import Value, internal_symbol, truth
from symconv.engine import formulas as f
from symconv.engine.receptive import Field, merge_paths, repeat_fields
from symconv.engine.records import PENDING_RULES, Chain, Record, Shape, Walk, axis_names
from symconv.errors import ShapeError, UnsupportedError
from symconv.language.layers import (
    AdaptivePool,
    Block,
    ChannelsLast,
    Concat,
    Conv,
    ConvTranspose,
    Flatten,
    GlobalPool,
    Layer,
    Linear,
    Pool,
    Repeat,
    Residual,
    Scale,
    Upsample,
    kind_of,
)
from symconv.present.values import text_shape

COUNTS = ("params", "neurons", "connections", "macs")


def block_record(index: int, block: Block,
                 at: Chain, path: int, chain: Walk) -> Record:
    """The record of one block applied at `at`, its children inside; `chain` walks the layers
    of a body (trace.chain, which calls back here for the blocks inside it)."""
    match block:
        case Repeat(count=count) if isinstance(count, int):
            return _unrolled(index, block, count, at, path, chain)
        case Repeat():
            return _repeated(index, block, at, path, chain)
        case Residual():
            return _residual(index, block, at, path, chain)
        case Concat():
            return _concat(index, block, at, path, chain)
        case Scale():
            return _scale(index, block, at, path, chain)
        case ChannelsLast():
            return _channels_last(index, block, at, path, chain)
        case _:
            assert_never(block)


def _sums(records: Sequence[Record]) -> dict[str, Value]:
    return {name: sum((getattr(r, name) for r in records), 0) for name in COUNTS}


def _numbered(records: Sequence[Record]) -> tuple[Record, ...]:
    return tuple(dataclasses.replace(r, index=i) for i, r in enumerate(records, start=1))


def _make(index: int, block: Layer, at: Chain, end: Chain, children: Sequence[Record],
          path: int, **extra: Any) -> Record:
    counts = {**_sums(children), **{k: v for k, v in extra.items() if k in COUNTS}}
    rest = {k: v for k, v in extra.items() if k not in COUNTS}
    return Record(index, kind_of(block), block, at.shape, end.shape, counts["params"],
                  counts["neurons"], counts["connections"], counts["macs"], end.fields,
                  tuple(children), path, **rest)


# ---------------------------------------------------------------- repeat


# A numeric repeat count is unrolled layer by layer, each pass traced again. Nested repeats
# multiply, so the limit is on the layers the unrolled block applies in all, checked before
# the first pass: about a second of work on numbers. On symbolic sizes a strided layer
# costs more with every stride before it (ceiling(W/2**60) is slow to decide), so those
# are limited apart.
MAX_UNROLLED = 10_000
MAX_UNROLLED_STRIDED = 32


def unrolled_layers(layers: Sequence[Layer], strided: bool = False) -> Value:
    """How many layers applying `layers` traces, repeats unrolled (an expression in the
    symbolic repeat counts, which pass for their count once given a number); with
    `strided`, only those with a stride other than 1."""
    total: Value = 0
    for layer in layers:
        match layer:
            case Repeat(count=count, body=body):
                total += count * unrolled_layers(body, strided) + int(not strided)
            case Residual(body=body, shortcut=shortcut):
                total += (unrolled_layers(body, strided) + unrolled_layers(shortcut, strided)
                          + int(not strided))
            case Concat(branches=branches):
                total += sum((unrolled_layers(b, strided) for b in branches), 0) + int(not strided)
            case Scale(body=body) | ChannelsLast(body=body):
                total += unrolled_layers(body, strided) + int(not strided)
            case Conv(window=w) | ConvTranspose(window=w) | Pool(window=w) if strided:
                total += any(truth(f.equal(s, 1)) is not True for s in w.stride)
            case _:
                total += int(not strided)
    return total


def _least(value: Value) -> int:
    """The value with every repeat count at its least, 1 (a symbolic count inside a numeric
    repeat is traced in closed form, about one pass)."""
    if isinstance(value, int):
        return value
    return int(value.xreplace({s: 1 for s in value.free_symbols}))


def _unrolled(index: int, block: Repeat, count: int, at: Chain, path: int, chain: Walk) -> Record:
    # Only the spatial sizes make a strided layer slow to trace: a symbolic channel count
    # (input C x W) is carried through each pass unchanged by the strides.
    check_unrolling(block, count, not all(isinstance(v, int) for v in at.shape[1:]))
    children: list[Record] = []
    end = at
    for _ in range(count):
        records, end = chain(block.body, end)
        children += records
    return _make(index, block, at, end, _numbered(children), path)


def check_unrolling(block: Repeat, count: int, symbolic: bool) -> None:
    """UnsupportedError where unrolling `count` passes of the block would apply more layers
    than symconv unrolls (more strided layers, where the spatial sizes are `symbolic`)."""
    if count > MAX_UNROLLED:
        raise UnsupportedError(
            f"repeat {count}: counts above {MAX_UNROLLED} are too many to unroll; write the "
            "count as a symbol (repeat N) for the closed form"
        )
    layers = _least(count * unrolled_layers(block.body))
    if layers > MAX_UNROLLED:
        raise UnsupportedError(
            f"repeat {count}: unrolled, it would apply {layers} layers, more than the "
            f"{MAX_UNROLLED} symconv unrolls; write a count as a symbol (repeat N) for the "
            "closed form"
        )
    strided = _least(count * unrolled_layers(block.body, strided=True))
    if strided > MAX_UNROLLED_STRIDED and symbolic:
        raise UnsupportedError(
            f"repeat {count}: unrolled on symbolic sizes, it would apply {strided} strided "
            f"layers, more than the {MAX_UNROLLED_STRIDED} symconv unrolls there; give the "
            "sizes numbers, or write the count as a symbol (repeat N) for the closed form"
        )


def _repeated(index: int, block: Repeat, at: Chain, path: int, chain: Walk) -> Record:
    """N passes with N a symbol: the first pass traced, the rest in closed form."""
    n = block.count
    _windows_only(block.body, n)
    first, once = chain(block.body, at)
    _, twice = chain(block.body, once)
    channels = once.shape[0]
    if truth(f.equal(twice.shape[0], channels)) is not True:
        raise UnsupportedError(
            f"the channels change on every pass ({at.shape[0]}, {channels}, {twice.shape[0]}, "
            f"...); give {n} a number"
        )
    names = axis_names(len(at.shape) - 1)
    probes = tuple(sympy.Dummy(name, integer=True, positive=True) for name in names)
    _, probe = chain(block.body, Chain((channels, *probes), at.fields, at.input_spatial))
    maps: list[FloorMap] = []
    for name, x, out in zip(names, probes, probe.shape[1:], strict=True):
        one = floor_map(out, x)
        many = None if one is None else repeat_map(one, n)
        if one is None or many is None:
            size = internal_symbol("n", _names((at.shape, block)))
            shown = sympy.sstr(sympy.sympify(out, strict=True).subs(x, size))
            raise UnsupportedError(
                f"the output size after {n} passes has no closed form here (one pass maps "
                f"{name} = {size} to {shown}); give {n} a number, e.g. --set {n}=4"
            )
        maps.append(one)
    spatial = at.shape[1:]
    after = tuple(simplify_rounding(_passes(m, n)(s)) for m, s in zip(maps, spatial, strict=True))
    # Passes 2..N read the shape after i passes, i = 1..N-1.
    i = iteration_index(_names((at.shape, at.fields, block)))
    shape_i = (channels, *(_passes(m, i)(s) for m, s in zip(maps, spatial, strict=True)))
    later, _ = chain(block.body, Chain(shape_i, once.fields, at.input_spatial))
    counts = {
        name: _sum_over_passes(value, i, n) for name, value in _sums(later).items()
    }
    totals = {name: _tidy(_sums(first)[name] + counts[name]) for name in COUNTS}
    fields = tuple(repeat_fields(b, o, n) for b, o in zip(at.fields, once.fields, strict=True))
    end = Chain((channels, *after), fields, at.input_spatial)
    return _make(index, block, at, end, first, path, **totals)


def _passes(one: FloorMap, count: Value) -> FloorMap:
    many = repeat_map(one, count)
    assert many is not None  # repeat_map's answer depends only on the map, checked above
    return many


def _names(obj: object) -> set[str]:
    """The names of every symbol in a value, a layer or a tuple of them."""
    if isinstance(obj, sympy.Basic):
        return {str(s) for s in obj.free_symbols}
    if isinstance(obj, tuple | list):
        return set().union(*map(_names, obj)) if obj else set()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _names(tuple(getattr(obj, f.name) for f in dataclasses.fields(obj)))
    return set()


def _sum_over_passes(value: Value, i: sympy.Symbol, n: Value) -> sympy.Expr:
    total = sympy.Sum(value, (i, 1, n - 1))
    if sympy.sympify(value, strict=True).has(sympy.floor, sympy.ceiling, sympy.Piecewise):
        return total
    return sympy.simplify(total.doit())


def _tidy(value: Any) -> Any:
    return value if value.has(sympy.Sum) else sympy.factor(value)


def _windows_only(body: Sequence[Layer], n: Value) -> None:
    for layer in body:
        sets_size = isinstance(layer, Upsample) and layer.size is not None
        if isinstance(layer, Flatten | Linear | AdaptivePool | GlobalPool) or sets_size:
            raise UnsupportedError(
                f"a block repeated {n} times can hold only layers that keep spatial axes with "
                f"a fixed window (here {kind_of(layer)}); give {n} a number"
            )
        inner: tuple[tuple[Layer, ...], ...] = ()
        match layer:
            case Repeat(body=b) | Residual(body=b, shortcut=()):
                inner = (b,)
            case Residual(body=b, shortcut=s):
                inner = (b, s)
            case Concat(branches=branches):
                inner = branches
        for b in inner:
            _windows_only(b, n)


# ---------------------------------------------------------------- paths that meet


def _residual(index: int, block: Residual, at: Chain, path: int, chain: Walk) -> Record:
    body, body_end = chain(block.body, at, path=1)
    shortcut, short_end = chain(block.shortcut, at, path=2) if block.shortcut else ((), at)
    other = "the shortcut" if block.shortcut else "the input (no shortcut)"
    condition = agree(body_end.shape, short_end.shape, "the body", other, "added")
    fields, aligned = merge_paths((body_end.fields, short_end.fields))
    end = Chain(body_end.shape, fields, at.input_spatial)
    children = (*body, *shortcut)
    elements = f.product(body_end.shape)  # the sum: one neuron, two inputs per element
    sums = _sums(children)
    return _make(index, block, at, end, children, path, aligned=aligned, condition=condition,
                 neurons=sums["neurons"] + elements,
                 connections=sums["connections"] + 2 * elements)


def _concat(index: int, block: Concat, at: Chain, path: int, chain: Walk) -> Record:
    ends: list[Chain] = []
    children: list[Record] = []
    for number, branch in enumerate(block.branches, start=1):
        records, end = chain(branch, at, path=number)
        ends.append(end)
        children += records
    conditions = [
        agree(ends[0].shape[1:], end.shape[1:], "branch 1", f"branch {number}", "concatenated")
        for number, end in enumerate(ends[1:], start=2)
    ]
    kept = [c for c in conditions if c is not None]
    channels = sum((e.shape[0] for e in ends), 0)
    fields, aligned = merge_paths([e.fields for e in ends])
    end = Chain((channels, *ends[0].shape[1:]), fields, at.input_spatial)
    return _make(index, block, at, end, children, path, aligned=aligned,
                 condition=sympy.And(*kept) if kept else None)


def _scale(index: int, block: Scale, at: Chain, path: int, chain: Walk) -> Record:
    """The input times the body's output (the gate), broadcast: the gate's sizes must each
    be 1 or the input's. The output is the input's shape; its receptive field takes in the
    gate's, unless the gate pools the whole input to one unit (left out: see
    docs/conventions.md)."""
    body, body_end = chain(block.body, at, path=1)
    gate, shape = body_end.shape, at.shape
    if len(gate) != len(shape):
        raise ShapeError(f"the gate gives {text_shape(gate)} and the input is "
                         f"{text_shape(shape)}: a gate must have the input's axes, each of "
                         "its size or 1")
    conditions = []
    for g, n in zip(gate, shape, strict=True):
        if truth(f.equal(g, 1)) is True:
            continue
        condition = equal_when(g, n)
        if condition is False:
            raise ShapeError(f"the gate gives {text_shape(gate)} and the input is "
                             f"{text_shape(shape)}: the gate does not broadcast to the input "
                             "(each of its sizes must be 1 or the input's)")
        if condition is not True:
            # Either size may match: 1 or the input's.
            conditions.append(sympy.Or(sympy.Eq(g, 1), condition))
            if (pending := PENDING_RULES.get()) is not None:
                pending.append(conditions[-1])
    elements = f.product(shape)  # the product: one neuron, two inputs, one multiply each
    sums = _sums(body)
    # The output sees what the input path and the gate see, but a gate pooled to one unit
    # (squeeze-and-excitation) is left out, as a join's is (engine/joins.py).
    paths = [at] if is_gate(body_end, shape) else [at, body_end]
    fields, aligned = merge_paths([broadcast_fields(p, shape) for p in paths])
    end = Chain(shape, fields, at.input_spatial)
    return _make(index, block, at, end, body, path,
                 aligned=None if len(paths) == 1 else aligned,
                 condition=sympy.And(*conditions) if conditions else None,
                 neurons=sums["neurons"] + elements,
                 connections=sums["connections"] + 2 * elements,
                 macs=sums["macs"] + elements)


def is_gate(at: Chain, output: Shape) -> bool:
    """Whether the input is broadcast along every spatial axis of a spatial output (a gate
    pooled to one unit, as squeeze-and-excitation's: left out of the receptive field, see
    docs/conventions.md)."""
    return len(at.shape) == len(output) > 1 and all(
        truth(f.equal(n, 1)) is True and truth(f.equal(o, 1)) is not True
        for n, o in zip(at.shape[1:], output[1:], strict=True))


def broadcast_fields(at: Chain, output: Shape) -> tuple[Field, ...]:
    """The input's fields, where it is broadcast along an axis (its size 1, the output's
    more) as after flatten: every output unit sees the one unit's whole region there."""
    if len(at.shape) != len(output):
        return at.fields
    return tuple(
        Field(fd.size, None, fd.start)
        if truth(f.equal(n, 1)) is True and truth(f.equal(o, 1)) is not True else fd
        for fd, n, o in zip(at.fields, at.shape[1:], output[1:], strict=True))


def _channels_last(index: int, block: ChannelsLast, at: Chain, path: int, chain: Walk
                   ) -> Record:
    """The body applied with the channels last (H x W x C, as PyTorch's permute gives), so
    that a linear acts on each position's channels and a layernorm normalises them; the
    output has its channels first again. Every layer of the body acts on one position, so
    each keeps the input's receptive fields, and so does the block."""
    if len(at.shape) < 2:
        raise ShapeError(f"channels_last needs an input with spatial axes (C x H x W), but its "
                         f"input is {text_shape(at.shape)}")
    last = (*at.shape[1:], at.shape[0])
    inner, end = chain(block.body, Chain(last, at.fields, at.input_spatial))
    children = tuple(dataclasses.replace(r, fields=at.fields) for r in inner)
    out = (end.shape[-1], *end.shape[:-1])
    return _make(index, block, at, Chain(out, at.fields, at.input_spatial), children, path)


def agree(a: Shape, b: Shape, first: str, second: str, verb: str) -> Any:
    """None where the shapes are equal for every input, the condition on the input under
    which they are, or a ShapeError naming both shapes."""
    def mismatch(why: str = "") -> ShapeError:
        return ShapeError(f"{first} gives {text_shape(a)} and {second} {text_shape(b)}: "
                          f"they cannot be {verb}{why}")

    if len(a) != len(b):
        raise mismatch()
    conditions = []
    for x, y in zip(a, b, strict=True):
        condition = equal_when(x, y)
        if condition is False:
            raise mismatch(" for any input size" if _symbolic(x, y) else "")
        if condition is not True:
            conditions.append(condition)
            if (pending := PENDING_RULES.get()) is not None:
                pending.append(sympy.Eq(x, y))  # checked once numbers are given (evaluate.py)
    return sympy.And(*conditions) if conditions else None


def _symbolic(*values: Value) -> bool:
    return any(isinstance(v, sympy.Basic) and v.free_symbols for v in values)





def equal_when(x: Value, y: Value) -> Any:
    """True, False, or the condition under which x = y. Sizes n ↦ ⌊(M·n + A)/S⌋ of one
    symbol with the same slope M/S differ by a function of n mod lcm(S), so one period of
    residues decides them exactly (e.g. ⌊W/2⌋ = ⌈W/2⌉ exactly when W is even)."""
    if isinstance(x, int) and isinstance(y, int):
        return x == y
    decided = truth(sympy.Eq(x, y))
    if decided is not None:
        return decided
    difference = simplify_rounding(sympy.expand(sympy.sympify(x, strict=True) - y))
    if difference == 0:
        return True
    symbols = sympy.sympify(difference, strict=True).free_symbols
    if len(symbols) != 1:
        return sympy.Eq(x, y)
    (w,) = symbols
    mx, my = floor_map(x, w), floor_map(y, w)
    if mx is None or my is None or not all(
        isinstance(v, sympy.Integer | int) for v in (mx.divisor, my.divisor)
    ) or sympy.simplify(mx.scale / mx.divisor - my.scale / my.divisor) != 0:
        # (decided never or always; where it holds for some residues the equation stays,
        # as the solver and the presentation read it)
        periodic = _periodic(sympy.sympify(difference, strict=True), w)
        return periodic if isinstance(periodic, bool) else sympy.Eq(x, y)
    period = math.lcm(int(mx.divisor), int(my.divisor))
    if period > PERIOD_LIMIT:  # too many residues to try: the condition as it is
        return sympy.Eq(x, y)
    # Equal at a residue only where proven (other symbols may stay in the values).
    same_at = [_same(_at(mx, period + r), _at(my, period + r)) for r in range(period)]
    if None in same_at:
        return sympy.Eq(x, y)
    residues = [r for r, same in enumerate(same_at) if same]
    if len(residues) == period:
        return True
    if not residues:
        return False
    return sympy.Or(*(sympy.Eq(sympy.Mod(w, period), r) for r in residues))


def _periodic(difference: Any, w: sympy.Symbol) -> Any:
    """True, False or the residues of w where `difference` (of one symbol, its roundings of
    arguments linear in w with rational slopes) is 0, where it repeats with the period of
    those roundings (2*floor(W/2) + 2 - W, say: never 0); None where it does not."""
    roundings = difference.atoms(sympy.floor, sympy.ceiling)
    slopes = [sympy.diff(r.args[0], w) for r in roundings]
    if not roundings or not all(s.is_Rational for s in slopes):
        return None
    period = math.lcm(*(int(sympy.Rational(s).q) for s in slopes))
    if period > PERIOD_LIMIT or sympy.simplify(
            difference.subs(w, w + period) - difference) != 0:
        return None
    values = [difference.subs(w, period + r) for r in range(period)]
    if not all(v.is_Integer for v in values):
        return None
    residues = [r for r, v in enumerate(values) if v == 0]
    if len(residues) == period:
        return True
    if not residues:
        return False
    return sympy.Or(*(sympy.Eq(sympy.Mod(w, period), r) for r in residues))


# The most residues `equal_when` tries (a shape of stride 3001 against one of stride 3001
# in ceil mode, say); beyond, the condition is left as the equation.
PERIOD_LIMIT = 4096


def _same(a: Value, b: Value) -> bool | None:
    """a = b where decided (integers compared directly), else None."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return truth(sympy.Eq(a, b))


def _at(m: FloorMap, n: int) -> Value:
    """m(n), in integer arithmetic where the map's numbers are integers."""
    numbers = (m.scale, m.offset, m.divisor)
    if all(isinstance(v, int | sympy.Integer) for v in numbers):
        scale, offset, divisor = map(int, numbers)
        return (scale * n + offset) // divisor
    return m(n)


def describe(condition: Any) -> str:
    """A condition in words ("W even", "W ≡ 1 (mod 4)", "S >= 2"; render/words.py)."""
    from symconv.present.words import condition_text

    return condition_text(condition)
