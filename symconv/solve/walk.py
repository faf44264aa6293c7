"""How an unknown acts on a network's output size: where it appears and in which direction
it moves the output (`roles`, `direction`), and the output computed from the formulas alone,
as numbers (`output_sizes`, exact) or as the relation the formulas write (`relation`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, assert_never

import sympy

from symconv.algebra.simplify import floor_map
from symconv.algebra.symbols import Value, symbol
from symconv.engine import formulas as f
from symconv.engine.blocks import MAX_UNROLLED, check_unrolling
from symconv.engine.records import PENDING_RULES, Record
from symconv.engine.substitute import substitute
from symconv.errors import NoSolutionError, SymconvError, UnsupportedError
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
    JoinOp,
    Layer,
    LayerNorm,
    LayerScale,
    Linear,
    Pad,
    PixelShuffle,
    Pool,
    Repeat,
    Residual,
    Scale,
    Upsample,
    Window,
    kind_of,
)
from symconv.network import Network

# ---------------------------------------------------------------- where the unknown acts


def roles(net: Network, u: sympy.Symbol) -> Iterator[tuple[Value, int | None, bool]]:
    """Every value that decides the output's spatial size: (value, +1 if the output grows
    with it, -1 if it shrinks, None if either, whether 0 is a valid value)."""
    for v in net.input_shape[1:]:
        yield v, 1, False
    yield from _layer_roles(net.layers, u, len(net.input_shape) - 1)


def _layer_roles(layers: Sequence[Layer], u: sympy.Symbol, rank: int
                 ) -> Iterator[tuple[Value, int | None, bool]]:
    for layer in layers:
        match layer:
            # TensorFlow's 'same' gives ceil(n/s) (n·s transposed): the stride alone acts;
            # PyTorch's keeps n.
            case Conv(window=w) | Pool(window=w) if w.same:
                if w.convention is Convention.TENSORFLOW:
                    yield from ((v, -1, False) for v in w.stride)
            case ConvTranspose(window=w) if w.same:
                yield from ((v, 1, False) for v in w.stride)
            case Bind(layer=inner):
                yield from _layer_roles((inner,), u, rank)
            # A join's sizes are those of tensors made by the layers before it.
            case Join():
                pass
            case Conv(window=w) | Pool(window=w):
                yield from _window_roles(w, 1, isinstance(layer, Pool) and layer.ceil_mode)
            case ConvTranspose(window=w, output_padding=op):
                yield from _window_roles(w, -1, False)
                yield from ((v, 1, True) for v in op)
            case AdaptivePool(output_size=size):
                yield from ((v, 1, False) for v in size if v is not None)
            case Repeat(count=count, body=body):
                yield count, _pass_direction(tuple(body), rank) if has(count, u) else None, False
                yield from _layer_roles(body, u, rank)
            # The output of a residual block is its body's, of a concatenation any branch's
            # (the others must agree, which the check by substitution sees to).
            case Residual(body=body) | Concat(branches=(body, *_)):
                yield from _layer_roles(body, u, rank)
            case Pad(padding=padding):
                yield from ((v, 1, True) for pair in padding for v in pair)
            case PixelShuffle(factor=r, inverse=inverse):
                yield r, -1 if inverse else 1, False
            case Upsample(size=size, scale=scale):
                yield from ((v, 1, False) for v in (size or scale or ()))
            # A gate keeps its input's size whatever it computes.
            case (Flatten() | Linear() | BatchNorm() | GroupNorm() | LayerNorm()
                  | InstanceNorm() | GlobalPool() | Activation() | Dropout() | Concat()
                  | Scale() | ChannelShuffle() | Chunk() | ChannelNorm() | LayerScale()
                  | ChannelsLast()):
                pass
            case _:
                assert_never(layer)


def kernel_of_tf_same(layers: Sequence[Layer], u: sympy.Symbol) -> bool:
    """Whether u stands in the kernel or dilation of a TensorFlow 'same' window, which its
    output ceil(n/s) (n·s transposed) does not depend on."""
    for layer in layers:
        match layer:
            case Conv(window=w) | Pool(window=w) | ConvTranspose(window=w) if (
                    w.same and w.convention is Convention.TENSORFLOW):
                if any(has(v, u) for v in (*w.kernel, *w.dilation)):
                    return True
            case Repeat(body=body) | Scale(body=body):
                if kernel_of_tf_same(body, u):
                    return True
            case Residual(body=body, shortcut=shortcut):
                if kernel_of_tf_same((*body, *shortcut), u):
                    return True
            case Concat(branches=branches):
                if any(kernel_of_tf_same(b, u) for b in branches):
                    return True
    return False


def _window_roles(w: Window, sign: int, ceil: bool
                  ) -> Iterator[tuple[Value, int | None, bool]]:
    # A convolution's output floor((n + 2p - d(k-1) - 1)/s) + 1 grows with p and shrinks
    # with k, d and s (s: while the numerator is >= 0, i.e. while the output is >= 1); a
    # transposed one, (n-1)s - 2p + d(k-1) + op + 1, the other way round. Pooling in ceil
    # mode is the exception: ceil(x/s) + 1 with x < 0 is 1 for a large stride and less
    # for a small one, so its stride moves the output both ways.
    stride = None if ceil else -sign
    for values, direction, may_be_zero in (
        (w.kernel, -sign, False), (w.stride, stride, False), (w.dilation, -sign, False),
        (w.padding, sign, True),
    ):
        yield from ((v, direction, may_be_zero) for v in values)


@lru_cache(maxsize=64)
def _pass_direction(body: tuple[Layer, ...], rank: int) -> int | None:
    """How one pass of a repeated body moves the spatial sizes, whatever they are: +1 if it
    never shrinks an axis, -1 if it never grows one, 0 if it keeps them, None where that is
    not known (a parameter is still a symbol, an axis's map is no single floor, ceil mode's
    Piecewise). Each layer keeps the order of sizes (its output grows with its input), so
    with f(n) <= n for every n, f(f(n)) <= f(n) and so on: the sizes after L passes then
    move one way as L grows (and an empty output stays empty)."""
    probes = tuple(sympy.Dummy(f"n{axis}", integer=True, positive=True) for axis in range(rank))
    try:
        sizes = run_layers(body, probes, _number)
    except (SymconvError, _Open):
        return None
    if sizes is None or len(sizes) != rank:
        return None  # flattened: no spatial sizes to follow
    moves = set()
    for x, out in zip(probes, sizes, strict=True):
        m = floor_map(out, x)
        if m is None or not all(isinstance(v, int | sympy.Integer)
                                for v in (m.scale, m.offset, m.divisor)):
            return None
        # f(n) = floor((M n + A)/S) over n >= 1: f(n) <= n for all n iff M <= S and
        # f(1) <= 1 (M + A < 2S); f(n) >= n for all n iff M >= S and f(1) >= 1 (M + A >= S).
        scale, offset, divisor = int(m.scale), int(m.offset), int(m.divisor)
        never_grows = scale <= divisor and scale + offset < 2 * divisor
        never_shrinks = scale >= divisor and scale + offset >= divisor
        if never_grows and never_shrinks:
            moves.add(0)
        elif never_grows or never_shrinks:
            moves.add(-1 if never_grows else 1)
        else:
            return None
    moves.discard(0)
    return moves.pop() if len(moves) == 1 else 0 if not moves else None


class _Open(Exception):
    """A layer's parameter is still a symbol."""


def _number(v: Value) -> int:
    if isinstance(v, int) or (isinstance(v, sympy.Basic) and v.is_Integer):
        return int(v)
    raise _Open(v)


def has(value: Value, u: sympy.Symbol) -> bool:
    return isinstance(value, sympy.Basic) and value.has(u)


def direction(net: Network, u: sympy.Symbol) -> int | None:
    """+1 if the output never shrinks as u grows, -1 if it never grows, 0 if u does not act
    on it, None if it may do both."""
    seen = set()
    for value, sign, _ in roles(net, u):
        if has(value, u):
            # A parameter such as K/2 is an integer only for some K: search them one by one.
            exact = _integral(sympy.sympify(value, strict=True), u)
            inner = _expr_direction(sympy.sympify(value, strict=True), u) if exact else None
            seen.add(None if inner is None or sign is None else sign * inner)
    seen.discard(0)
    if len(seen) > 1 or None in seen:
        return None
    return seen.pop() if seen else 0


def _expr_direction(e: sympy.Expr, u: sympy.Symbol) -> int | None:
    """How a parameter written as an expression (2*P, K - 1, K//2) moves with u."""
    if e == u:
        return 1
    if not e.has(u):
        return 0
    if isinstance(e, sympy.Add | sympy.floor | sympy.ceiling):
        seen = {_expr_direction(a, u) for a in e.args} - {0}
        return seen.pop() if len(seen) == 1 else None
    if isinstance(e, sympy.Mul):
        inner = [a for a in e.args if a.has(u)]
        factor = e / inner[0]
        d = _expr_direction(inner[0], u) if len(inner) == 1 else None
        if d is not None and factor.is_positive:
            return d
        if d is not None and factor.is_negative:
            return -d
    return None


def output_sizes(net: Network, u: sympy.Symbol, value: int, agree: bool = False
                 ) -> tuple[int, ...] | None:
    """The spatial output with u = value by the formulas alone (PyTorch's rules unchecked),
    or None where some layer's output would be smaller than 1 or a parameter is no integer.
    With `agree`, a residual's shortcut and every branch of a concatenation are computed too,
    and PathsDisagree raised where their sizes differ from the first path's."""

    def at(v: Value) -> int:
        return v if isinstance(v, int) else _compiled(v, u)(value)

    try:
        return run_layers(net.layers, tuple(at(v) for v in net.input_shape[1:]), at, agree)
    except NotInteger:
        return None


class PathsDisagree(Exception):
    """A residual's shortcut or a concatenated branch gives another size than the body."""


def relation(net: Network) -> tuple[sympy.Expr, ...] | None:
    """The output sizes as the formulas write them, symbols in place (see `tidy`)."""
    if _symbolic_repeat(net.layers):  # not unrolled: the trace has its closed form
        return tuple(net.output_shape()[1:])
    # The symbols stand in as real symbols, not integer ones, while the formulas run, so
    # that SymPy settles no floor ⌊P + 217/2⌋ by P's integrality (real and finite, so that
    # its assumption queries stay quick); `tidy` puts them back. (Not
    # `sympy.evaluate(False)`: that switch is per thread but SymPy's cache is shared, and
    # other threads were handed unevaluated expressions from it.)
    plain = {symbol(name): sympy.Dummy(name, real=True, finite=True) for name in net.symbols}
    held = substitute(net, plain)
    sizes = run_layers(held.layers, tuple(held.input_shape[1:]), lambda v: v)
    back = {d: s for s, d in plain.items()}
    if sizes is None:
        return None
    return tuple(tidy(sympy.sympify(n, strict=True), back) for n in sizes)


def _symbolic_repeat(layers: Sequence[Layer]) -> bool:
    for layer in layers:
        match layer:
            case Repeat(count=count, body=body):
                if not isinstance(count, int) or _symbolic_repeat(body):
                    return True
            case Residual(body=body, shortcut=shortcut):
                if _symbolic_repeat(body) or _symbolic_repeat(shortcut):
                    return True
            case Concat(branches=branches):
                if any(_symbolic_repeat(b) for b in branches):
                    return True
    return False


@cache
def _compiled(e: sympy.Expr, u: sympy.Symbol) -> Callable[[int], int]:
    """An exact evaluator of a parameter written as an expression in u (2*P, K//2, S + 1) in
    Python integers: a floor or ceiling of (integer polynomial)/q becomes // q. Anything
    else (a fraction outside a floor) is left to SymPy."""
    if e == u:
        return lambda v: v
    if e.is_Integer:
        number = int(e)
        return lambda v: number
    if isinstance(e, sympy.floor | sympy.ceiling):
        num, den = sympy.fraction(sympy.together(e.args[0]))
        if den.is_Integer and den > 0 and _integral(sympy.expand(num), u):
            top, q = _compiled(sympy.expand(num), u), int(den)
            if isinstance(e, sympy.floor):
                return lambda v: top(v) // q
            return lambda v: -(-top(v) // q)
    elif _integral(e, u):
        parts = [_compiled(a, u) for a in e.args]
        if isinstance(e, sympy.Add):
            return lambda v: sum(p(v) for p in parts)
        if isinstance(e, sympy.Mul):
            return lambda v: math.prod(p(v) for p in parts)
        if isinstance(e, sympy.Pow) and e.exp.is_Integer and e.exp >= 0:
            base, power = parts[0], int(e.exp)
            return lambda v: base(v) ** power
    return lambda v: _integer(e.xreplace({u: sympy.Integer(v)}))


class NotInteger(Exception):
    """A parameter such as K/2 is not an integer for this value of the unknown."""


def _integer(value: sympy.Expr) -> int:
    if not value.is_Integer:
        raise NotInteger(value)
    return int(value)


def _integral(e: sympy.Expr, u: sympy.Symbol) -> bool:
    """Whether e is built from u and integers by sums, products and powers, floors and
    ceilings (so Python integers evaluate it exactly)."""
    if e == u or e.is_Integer:
        return True
    if isinstance(e, sympy.floor | sympy.ceiling):
        return True  # compiled on its own, or left to SymPy
    if isinstance(e, sympy.Pow):
        return bool(e.exp.is_Integer and e.exp >= 0) and _integral(e.base, u)
    return isinstance(e, sympy.Add | sympy.Mul) and all(_integral(a, u) for a in e.args)


class _Budget:
    """The layers an outermost repeat may still apply, passes unrolled (the trace's limit,
    MAX_UNROLLED): a count the search sets (repeat N, N = 2**40) is refused, not looped."""

    def __init__(self, block: Repeat, passes: int):
        self.block, self.passes, self.left = block, passes, MAX_UNROLLED

    def spend(self, layers: int) -> None:
        self.left -= layers
        if self.left < 0:
            count = self.block.count
            shown = count if isinstance(count, int) else f"{count} (= {self.passes})"
            raise UnsupportedError(
                f"repeat {shown}: unrolled, it would apply more than the {MAX_UNROLLED} "
                "layers symconv unrolls; write a count as a symbol (repeat N) for the closed "
                "form, or give it a smaller number")


def run_layers(layers: Sequence[Layer], sizes: tuple[Any, ...] | None,
               at: Callable[[Value], Any], agree: bool = False,
               budget: _Budget | None = None) -> tuple[Any, ...] | None:
    """The spatial sizes after the layers (ints, or expressions where `at` leaves symbols);
    None once some size is below 1. Only the first path of a block is followed unless
    `agree` (see output_sizes). Inside a repeat, every layer applied is spent from its
    outermost repeat's `budget` (UnsupportedError past it). A join reads the sizes of the
    tensors named before it (a name none bound is the input: language/names.py)."""
    start, named = sizes, dict[str, Any]()
    for layer in layers:
        if budget is not None:
            budget.spend(1)
        if sizes is None or _empty(sizes):
            return None
        match layer:
            case Bind(name=name, layer=Join() as join):
                sizes = joined(join, [named.get(n, start) for n in join.names], agree)
                named[name] = sizes
            case Bind(name=name, layer=one):
                sizes = run_layers((one,), sizes, at, agree, budget)
                named[name] = sizes
            case Join():
                sizes = joined(layer, [named.get(n, start) for n in layer.names], agree)
            case Repeat(count=count, body=body):
                passes = at(count)
                if isinstance(count, int):  # a written count: the trace's limits, at once
                    check_unrolling(layer, passes, not all(isinstance(n, int) for n in sizes))
                inner = budget or _Budget(layer, passes)
                for _ in range(passes):
                    before, sizes = sizes, run_layers(body, sizes, at, agree, inner)
                    if sizes == before:  # a fixed point: more repeats change nothing
                        break
            case Residual(body=body, shortcut=shortcut):
                sizes = _paths(layer, (body, shortcut), sizes, at, agree, budget)
            case Concat(branches=branches):
                sizes = _paths(layer, branches, sizes, at, agree, budget)
            case _:
                outs = [axis_size(layer, axis, n, at) for axis, n in enumerate(sizes)]
                sizes = () if FLAT in outs else tuple(outs)
    return None if _empty(sizes) else sizes


def joined(join: Join, inputs: Sequence[tuple[Any, ...] | None], agree: bool
           ) -> tuple[Any, ...] | None:
    """The spatial sizes of a join of tensors of these sizes: the first's for a
    concatenation, along each axis the size other than 1 for a sum or product (PyTorch's
    broadcasting). With `agree`, the others must give the same (PathsDisagree)."""
    if any(sizes is None for sizes in inputs):
        return None
    first = inputs[0]
    assert first is not None
    if join.op is JoinOp.CONCAT or join.op is JoinOp.USE:
        if agree and any(sizes != first for sizes in inputs[1:]):
            raise PathsDisagree(kind_of(join))
        return first
    out = []
    for axis in zip(*inputs, strict=True):
        wide = [n for n in axis if not (isinstance(n, int) and n == 1)]
        if agree and any(n != wide[0] for n in wide[1:]):
            raise PathsDisagree(kind_of(join))
        out.append(wide[0] if wide else 1)
    return tuple(out)


# What axis_size returns for a layer after which no axis is spatial (flatten, linear,
# global pooling without keepdim).
FLAT = "flat"


def axis_size(layer: Layer, axis: int, n: Any, at: Callable[[Value], Any]) -> Any:
    """The size along one spatial axis after one layer that is not a block, its arguments
    read through `at` (a value given for a symbol, or a check that it is a number): the
    one step of the per-axis walks (run_layers here, the aligned sizes of solve/align.py)."""
    match layer:
        case Conv(window=w) | Pool(window=w) if w.same:
            match w.convention:
                case Convention.TORCH:
                    return n
                case Convention.TENSORFLOW:
                    return f.tf_same_out(n, at(w.stride[axis]))
                case _:
                    assert_never(w.convention)
        case ConvTranspose(window=w) if w.same:  # TensorFlow's alone (build refuses PyTorch's)
            return f.tf_same_transposed_out(n, at(w.stride[axis]))
        case Conv(window=w) | Pool(window=w):
            ceil = isinstance(layer, Pool) and layer.ceil_mode
            out = f.window_out_ceil if ceil else f.window_out
            return out(n, *(at(v[axis]) for v in (w.kernel, w.stride, w.padding, w.dilation)))
        case ConvTranspose(window=w, output_padding=ops):
            return f.transposed_out(n, *(at(v[axis]) for v in (w.kernel, w.stride, w.padding,
                                                               w.dilation, ops)))
        case AdaptivePool(output_size=size):
            return n if size[axis] is None else at(size[axis])
        case Pad(padding=padding):
            return n + at(padding[axis][0]) + at(padding[axis][1])
        case PixelShuffle(factor=r, inverse=False):
            return n * at(r)
        case PixelShuffle(factor=r):
            return n // at(r)
        case Upsample(size=size, scale=scale, every_axis=every):
            given = 0 if every else axis
            if size is not None:
                return at(size[given])
            assert scale is not None
            return f.upsample_out(n, at(scale[given]))
        case GlobalPool(keepdim=keep):
            return 1 if keep else FLAT
        case Flatten() | Linear():
            return FLAT
        case (BatchNorm() | GroupNorm() | LayerNorm() | InstanceNorm() | Activation()
              | Dropout() | Scale() | ChannelShuffle() | Chunk() | ChannelNorm()
              | LayerScale()):
            return n
        # Its layers act on each position's channels alone: the positions keep their sizes.
        case ChannelsLast():
            return n
        case Bind(layer=inner):
            return axis_size(inner, axis, n, at)
        case Repeat() | Residual() | Concat() | Join():
            raise AssertionError("blocks and joins are walked by their paths, not as one step")
        case _:
            assert_never(layer)


def _paths(block: Layer, paths: Sequence[Sequence[Layer]], sizes: tuple[Any, ...],
           at: Callable[[Value], Any], agree: bool, budget: _Budget | None
           ) -> tuple[Any, ...] | None:
    """A block's output: its first path's (a residual's body, the first concatenated
    branch); with `agree`, the others are computed too and must give the same sizes (an
    empty shortcut is the identity)."""
    first = run_layers(paths[0], sizes, at, agree, budget)
    if agree and any(run_layers(p, sizes, at, agree, budget) != first for p in paths[1:]):
        raise PathsDisagree(kind_of(block))
    return first


def _empty(sizes: tuple[Any, ...] | None) -> bool:
    """Whether some size is known to be below 1 (symbolic sizes are left to the caller)."""
    return sizes is None or any(isinstance(n, int) and n < 1 for n in sizes)


def tidy(e: sympy.Basic, names: dict[Any, Any] | None = None) -> sympy.Expr:
    """The expression with sums, products and powers evaluated and everything else (floors,
    ceilings, ceil mode's Piecewise) kept as it is, which is fast and reads like the formula."""
    if not e.args:
        return names.get(e, e) if names else e
    args = [tidy(a, names) for a in e.args]
    if isinstance(e, sympy.Add) and len(args) == 2:
        return _plus_one(*args)
    if isinstance(e, sympy.Add | sympy.Mul | sympy.Pow):
        return e.func(*args)
    if args == list(e.args):
        return e
    # floor, ceiling, and ceil mode's Piecewise and its conditions, rebuilt as they are (not
    # with `sympy.evaluate(False)`, which clears SymPy's whole cache each time it is set).
    try:
        return e.func(*args, evaluate=False)
    except TypeError:
        return e.func(*args)


def _plus_one(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """⌊x⌋ + c as the formula writes it, ⌊x + c − 1⌋ + 1: SymPy takes whole numbers out of
    a floor it builds (⌊2P + 28⌋ + 1 becomes ⌊2P⌋ + 29), which no textbook writes. The
    identity holds for every whole c."""
    constant, rest = (a, b) if a.is_Integer else (b, a)
    if constant.is_Integer and constant != 1 and isinstance(rest, sympy.floor):
        inner = rest.args[0] + constant - 1
        return sympy.Add(sympy.floor(inner, evaluate=False), 1, evaluate=False)
    return sympy.Add(a, b)


# ---------------------------------------------------------------- conditions


@dataclass(frozen=True, slots=True)
class Condition:
    """What must hold besides the output's size for the network to be valid: a SymPy
    relation over the symbols, and where it comes from (for the answer's wording)."""

    holds: Any
    origin: str


def network_conditions(net: Network) -> tuple[Condition, ...]:
    """Every condition the symbols leave open in the traced network: PyTorch's rules (each
    layer's output at least 1, pooling padding at most half the kernel, ...) and the
    agreement of the paths of residual and concat blocks. A ShapeError or InvalidLayerError
    where a rule fails for every value; NoSolutionError where a condition holds a block's
    internal symbols (a repeat N's passes), which no answer could state."""
    pending: list[Any] = []
    token = PENDING_RULES.set(pending)
    try:
        records = net.records()
    finally:
        PENDING_RULES.reset(token)
    # A block's agreement is also a pending rule (the evaluator checks it at run time): it
    # is named for the block, which says more than "a layer's rule".
    agree = {part: f"the paths of layer {label} ({r.kind}) must agree in size"
             for label, r in _all_records(records, "") if r.condition is not None
             for part in sympy.And.make_args(r.condition)}
    found = [Condition(c, agree.get(c, "a layer's rule")) for c in pending]
    found += [Condition(c, origin) for c, origin in agree.items() if c not in pending]
    names = set(net.symbols)
    for c in found:
        foreign = [s for s in sympy.sympify(c.holds, strict=True).free_symbols
                   if isinstance(s, sympy.Dummy) or s.name not in names]
        if foreign:
            raise NoSolutionError(
                "the conditions inside a block repeated a symbolic number of times cannot be "
                "stated for every pass; give the count a value with --set")
    return tuple(dict.fromkeys(c for c in found if c.holds is not sympy.true))


def _all_records(records: Sequence[Record], prefix: str) -> Iterator[tuple[str, Record]]:
    for r in records:
        label = f"{prefix}{r.index}"
        yield label, r
        yield from _all_records(r.children, f"{label}.")
