"""Inverse questions: which values of one symbol give a network's output a target size.

`solve(network, "P", "112x112", W=224)` answers with the exact set of integers:

- When every other quantity that decides the output size is a number, the answer is found
  by search on the output as a function of the unknown alone, computed with the formulas of
  `symconv.formulas` (the definition of the relation). The search is exact because that
  function is monotone: every layer's output grows with its input; it grows with a
  convolution's or pooling's padding and shrinks with its kernel, stride and dilation, and
  the other way round for a transposed convolution (see `_roles`). So the unknown's
  solutions are one interval, found by two exponential-then-binary searches; an output
  that stays constant from some stride on (every window then reads from the first row)
  makes the interval unbounded. Where the unknown both grows and shrinks the output (for
  instance `k=K p=K//2`), the search falls back to enumerating 0..SEARCH_LIMIT and says so.
- When other symbols remain, the output expression is inverted in closed form
  (`solve_invert`): an interval whose ends are SymPy expressions.

Every solution of a finite list is substituted back into the network (`Network.bind`, which
also checks PyTorch's rules) before it is returned; an unbounded set has its first value and a
value past the point where the output stops changing checked the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, assert_never

import sympy

from symconv import formulas as f
from symconv.errors import NoSolutionError, SymconvError, UnknownNameError
from symconv.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Concat,
    Conv,
    ConvTranspose,
    Dropout,
    Flatten,
    Layer,
    Linear,
    Pool,
    Repeat,
    Residual,
    Window,
)
from symconv.network import Network, parse
from symconv.parse import parse_shape
from symconv.solve_invert import Between, NotInvertible, invert
from symconv.symbols import Value, free_names, symbol

SEARCH_LIMIT = 1024  # the range enumerated where the output is not monotone in the unknown
ENDS = 16  # solutions at each end of a list that are checked by building the network
_FAR = 2**62  # where searches for growing outputs give up (no layer grows that slowly)


@dataclass(frozen=True, slots=True)
class Solution:
    """The answer to one inverse question, as SymPy objects (renderers in solve_render).

    `low`/`high` bound the solutions (`high` is sympy.oo when unbounded; both None when
    there is none); `values` is the full sorted list when it is finite and numeric;
    `complete` is False only when the search was limited to 0..SEARCH_LIMIT."""

    unknown: str
    equations: tuple[sympy.Eq, ...]
    inequalities: tuple[Between, ...]
    low: sympy.Expr | None
    high: sympy.Expr | None
    values: tuple[int, ...] | None
    reason: str
    complete: bool = True

    @property
    def empty(self) -> bool:
        return self.low is None


def solve(network: Network | str, unknown: str, target: object, /, **values: object) -> Solution:
    """All values of the symbol `unknown` for which the network's output has the target
    spatial size ("112x112", 56, (112, 112); one number stands for every axis), the other
    symbols taking `values`."""
    net = parse(network) if isinstance(network, str) else network
    if unknown not in net.symbols:
        have = ", ".join(net.symbols) or "none"
        raise UnknownNameError(f"unknown symbol '{unknown}' (the network's symbols: {have})")
    if unknown in values:
        raise NoSolutionError(f"'{unknown}' is the unknown; it cannot also be given a value")
    bound = net.bind(values)
    u = symbol(unknown)
    targets = _targets(target, len(bound.input_shape) - 1, bound)
    least = 0 if all(zero_ok for v, _, zero_ok in _roles(bound, u) if _has(v, u)) else 1
    others = set().union(*(free_names(v) for v, _, _ in _roles(bound, u)),
                         *map(free_names, targets))
    others.discard(unknown)
    if others:
        return _symbolic(bound, u, targets, least, sorted(others))
    # The relation with the numbers in place, as the formulas write it (unevaluated: SymPy's
    # floor would spend its time on simplifying what the search decides anyway).
    with sympy.evaluate(False):
        relation = _run(bound.layers, tuple(bound.input_shape[1:]), lambda v: v)
    outputs = tuple(_tidy(o) for o in _axes_of(relation, targets))
    equations = tuple(sympy.Eq(o, t, evaluate=False) for o, t in zip(outputs, targets,
                                                                       strict=True))
    inequalities = _try_inequalities(outputs, targets, u)
    return _numeric(bound, u, tuple(int(t) for t in targets), least, equations, inequalities)


def _tidy(e: sympy.Basic) -> sympy.Expr:
    """The expression with sums, products and powers evaluated and everything else (floors,
    ceilings, ceil mode's Piecewise) kept as it is, which is fast and reads like the formula."""
    if not e.args:
        return e
    args = [_tidy(a) for a in e.args]
    if isinstance(e, sympy.Add | sympy.Mul | sympy.Pow):
        return e.func(*args)
    with sympy.evaluate(False):  # floor, ceiling, and ceil mode's Piecewise and conditions
        return e.func(*args)


def _axes_of(outputs: Sequence[Value] | None, targets: Sequence[sympy.Expr]
             ) -> tuple[sympy.Expr, ...]:
    if outputs is None:
        raise NoSolutionError("some layer's output is empty whatever the unknown is")
    if not outputs:
        raise NoSolutionError("the network's output has no spatial axes (it ends flat)")
    if len(outputs) != len(targets):
        raise NoSolutionError(
            f"the output has {len(outputs)} spatial axes, the target {len(targets)}"
        )
    return tuple(sympy.sympify(o) for o in outputs)


def _targets(target: object, rank: int, net: Network) -> tuple[sympy.Expr, ...]:
    if rank == 0:
        raise NoSolutionError("the network's input has no spatial axes")
    if isinstance(target, str):
        items: Sequence[object] = parse_shape(target)
    elif isinstance(target, Sequence):
        items = target
    else:
        items = (target,)
    values = [sympy.sympify(t) for t in items]
    if len(values) == 1:
        values *= rank
    for t in values:
        if t.is_number and not (t.is_Integer and t >= 1):
            raise NoSolutionError(f"a target size must be a positive integer, got {t}")
    return tuple(values)


# ---------------------------------------------------------------- where the unknown acts


def _roles(net: Network, u: sympy.Symbol) -> Iterator[tuple[Value, int | None, bool]]:
    """Every value that decides the output's spatial size: (value, +1 if the output grows
    with it, -1 if it shrinks, None if either, whether 0 is a valid value)."""
    for v in net.input_shape[1:]:
        yield v, 1, False
    yield from _layer_roles(net.layers)


def _layer_roles(layers: Sequence[Layer]) -> Iterator[tuple[Value, int | None, bool]]:
    for layer in layers:
        match layer:
            case Conv(window=w) | Pool(window=w):
                if not (isinstance(layer, Conv) and w.same):
                    yield from _window_roles(w, 1, isinstance(layer, Pool) and layer.ceil_mode)
            case ConvTranspose(window=w, output_padding=op):
                yield from _window_roles(w, -1, False)
                yield from ((v, 1, True) for v in op)
            case AdaptivePool(output_size=size):
                yield from ((v, 1, False) for v in size if v is not None)
            case Repeat(count=count, body=body):
                yield count, None, False
                yield from _layer_roles(body)
            # The output of a residual block is its body's, of a concatenation any branch's
            # (the others must agree, which the check by substitution sees to).
            case Residual(body=body) | Concat(branches=(body, *_)):
                yield from _layer_roles(body)
            case Flatten() | Linear() | BatchNorm() | Activation() | Dropout() | Concat():
                pass
            case _:
                assert_never(layer)


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


def _has(value: Value, u: sympy.Symbol) -> bool:
    return isinstance(value, sympy.Basic) and value.has(u)


def _direction(net: Network, u: sympy.Symbol) -> int | None:
    """+1 if the output never shrinks as u grows, -1 if it never grows, 0 if u does not act
    on it, None if it may do both."""
    seen = set()
    for value, sign, _ in _roles(net, u):
        if _has(value, u):
            inner = _expr_direction(sympy.sympify(value), u)
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


# ---------------------------------------------------------------- numbers


def output_sizes(net: Network, u: sympy.Symbol, value: int) -> tuple[int, ...] | None:
    """The spatial output with u = value by the formulas alone (PyTorch's rules unchecked),
    or None where some layer's output would be smaller than 1."""

    def at(v: Value) -> int:
        return v if isinstance(v, int) else int(v.xreplace({u: sympy.Integer(value)}))

    return _run(net.layers, tuple(at(v) for v in net.input_shape[1:]), at)


def _run(layers: Sequence[Layer], sizes: tuple[Any, ...] | None,
         at: Callable[[Value], Any]) -> tuple[Any, ...] | None:
    """The spatial sizes after the layers (ints, or expressions where `at` leaves symbols);
    None once some size is below 1."""
    for layer in layers:
        if sizes is None or _empty(sizes):
            return None
        match layer:
            case Conv(window=w) if w.same:
                pass
            case Conv(window=w) | Pool(window=w):
                ceil = isinstance(layer, Pool) and layer.ceil_mode
                out = f.window_out_ceil if ceil else f.window_out
                sizes = tuple(
                    out(n, at(k), at(s), at(p), at(d))
                    for n, k, s, p, d in zip(sizes, w.kernel, w.stride, w.padding, w.dilation,
                                             strict=True)
                )
            case ConvTranspose(window=w, output_padding=ops):
                sizes = tuple(
                    f.transposed_out(n, at(k), at(s), at(p), at(d), at(op))
                    for n, k, s, p, d, op in zip(sizes, w.kernel, w.stride, w.padding,
                                                 w.dilation, ops, strict=True)
                )
            case AdaptivePool(output_size=size):
                sizes = tuple(n if o is None else at(o) for n, o in zip(sizes, size, strict=True))
            case Flatten() | Linear():
                sizes = ()
            case Repeat(count=count, body=body):
                for _ in range(at(count)):
                    sizes = _run(body, sizes, at)
            case Residual(body=body) | Concat(branches=(body, *_)):
                sizes = _run(body, sizes, at)
            case BatchNorm() | Activation() | Dropout() | Concat():
                pass
            case _:
                assert_never(layer)
    return None if _empty(sizes) else sizes


def _empty(sizes: tuple[Any, ...] | None) -> bool:
    """Whether some size is known to be below 1 (symbolic sizes are left to the caller)."""
    return sizes is None or any(isinstance(n, int) and n < 1 for n in sizes)


def _numeric(
    net: Network,
    u: sympy.Symbol,
    targets: tuple[int, ...],
    least: int,
    equations: tuple[sympy.Eq, ...],
    inequalities: tuple[Between, ...],
) -> Solution:
    name = u.name

    def sizes(v: int) -> tuple[int, ...] | None:
        return output_sizes(net, u, v)

    def at_least(v: int) -> bool:  # every axis at or above its target (None: too small)
        s = sizes(v)
        return s is not None and all(a >= t for a, t in zip(s, targets, strict=True))

    def at_most(v: int) -> bool:
        s = sizes(v)
        return s is None or all(a <= t for a, t in zip(s, targets, strict=True))

    def answer(low: int, high: float | int, reason: str, complete: bool = True) -> Solution:
        return _checked(net, u, targets, low, high, equations, inequalities, reason, complete)

    direction = _direction(net, u)
    if direction in (1, -1):
        # rises: true from some value on; falls: false from some value on.
        rises, falls = (at_least, at_most) if direction == 1 else (at_most, at_least)
        low = first_true(rises, least)
        if low > _FAR:
            return _none(name, equations, inequalities,
                         f"no {name} up to 2**62 gives {_show(targets)}")
        stop = _plateau(net, u, least) if direction == -1 else _FAR
        end = first_true(lambda v: not falls(v), low, stop)
        if end > stop:
            return answer(low, sympy.oo, f"every {name} >= {low} gives {_show(targets)}: the "
                          f"output no longer changes as {name} grows")
        high = end - 1
    elif direction == 0:
        got = sizes(least)
        if got != targets:
            return _none(name, equations, inequalities,
                         f"the output is {_show(got)} whatever {name} is")
        return answer(least, sympy.oo, f"the output is {_show(targets)} whatever {name} is")
    else:
        found = [v for v in range(least, SEARCH_LIMIT + 1) if sizes(v) == targets]
        reason = (f"the output both grows and shrinks with {name}, so only {least} <= {name} "
                  f"<= {SEARCH_LIMIT} was searched")
        if not found:
            return _none(name, equations, inequalities, "no value: " + reason, complete=False)
        return _checked(net, u, targets, found[0], found[-1], equations, inequalities, reason,
                        False, only=found)
    if low > high:
        return _none(name, equations, inequalities, _gap(name, sizes, low, least, targets))
    return answer(low, high, "")


def first_true(test: Callable[[int], bool], start: int, stop: int = _FAR) -> int:
    """The least v >= start with test(v), for a test that stays true once true; stop + 1
    when none is found up to stop."""
    if test(start):
        return start
    step, below = 1, start  # test(below) is false
    while not test(min(below + step, stop)):
        if below + step >= stop:
            return stop + 1
        below, step = below + step, step * 2
    above = min(below + step, stop)
    while above - below > 1:
        middle = (below + above) // 2
        below, above = (below, middle) if test(middle) else (middle, above)
    return above


def _plateau(net: Network, u: sympy.Symbol, least: int) -> int:
    """A value of u past which the output no longer changes, when u is nothing but the stride
    of convolutions and poolings in a network without blocks: their input sizes are largest
    at u = least (outputs shrink as the stride grows), and a stride beyond n + 2p leaves a
    single window. Else _FAR."""
    strides = [(i, layer.window) for i, layer in enumerate(net.layers)
               if isinstance(layer, Conv | Pool) and u in layer.window.stride]
    inside = [v for v, _, _ in _roles(net, u) if _has(v, u)]
    if len(inside) != sum(w.stride.count(u) for _, w in strides):
        return _FAR  # u is also something other than a plain stride
    widest = 0
    for i, w in strides:
        sizes = output_sizes(Network(net.input_shape, net.layers[:i]), u, least) or (0,)
        widest = max(widest, max(sizes) + 2 * max(int(p) for p in w.padding))
    return widest + 1


def _checked(
    net: Network,
    u: sympy.Symbol,
    targets: tuple[int, ...],
    low: int,
    high: float | int,
    equations: tuple[sympy.Eq, ...],
    inequalities: tuple[Between, ...],
    reason: str,
    complete: bool,
    only: Sequence[int] | None = None,
) -> Solution:
    """The solutions after substituting each back into the network (PyTorch's rules too)."""
    name = u.name
    if high == sympy.oo:
        # PyTorch's rules (output_padding below stride or dilation, pooling padding at most
        # half the kernel) hold from some value on when they hold far out: each is monotone.
        far = max(low, min(_plateau(net, u, low), 10**6)) + 1
        if _verify(net, name, far, targets) is None:
            first = first_true(lambda v: _verify(net, name, v, targets) is None, low, far)
            return Solution(name, equations, inequalities, sympy.Integer(first), sympy.oo, None,
                            reason.replace(f">= {low} ", f">= {first} "), complete)
        low, high = low, low + SEARCH_LIMIT
        reason = f"{name} = {far} breaks a rule, so only {low} <= {name} <= {high} was searched"
        complete = False
    candidates = list(only) if only is not None else list(range(low, int(high) + 1))
    # Every candidate is substituted into the formulas. The network itself (PyTorch's rules
    # too) is built for the first and last ENDS of them, or all when one of those fails: a
    # rule that involves the unknown is monotone in it, so where it holds at both ends of a
    # run of values it holds in between.
    if any(output_sizes(net, u, v) != targets for v in candidates):
        raise SymconvError(f"internal check failed: the search for {name} found a value that "
                           "does not give the target")
    ends = candidates if len(candidates) <= 2 * ENDS else candidates[:ENDS] + candidates[-ENDS:]
    problems = {v: _verify(net, name, v, targets) for v in ends}
    if any(problems.values()):
        problems = {v: _verify(net, name, v, targets) for v in candidates}
    kept = [(v, None) for v in candidates if problems.get(v) is None]
    rejected = [(v, problems[v]) for v in candidates if problems.get(v) is not None]
    if not kept:
        v, problem = rejected[0]
        return _none(name, equations, inequalities, f"{name} = {v} gives the size but {problem}")
    values = tuple(v for v, _ in kept)
    note = f"; {name} = {rejected[0][0]} is ruled out: {rejected[0][1]}" if rejected else ""
    return Solution(name, equations, inequalities, sympy.Integer(values[0]),
                    sympy.Integer(values[-1]), values, reason.lstrip("; ") + note if reason
                    else note.lstrip("; "), complete)


def _verify(net: Network, name: str, value: int, targets: tuple[int, ...]) -> str | None:
    """None when the network with name = value builds and gives the targets, else why not."""
    try:
        got = net.output_shape(**{name: value})[1:]
    except SymconvError as error:
        return error.message
    if tuple(got) != tuple(sympy.Integer(t) for t in targets):
        return f"the output is {_show(got)}"
    return None


def _gap(name: str, sizes: Callable[[int], tuple[int, ...] | None], low: int, least: int,
         targets: tuple[int, ...]) -> str:
    """Why no value fits: the output steps over the target between two neighbours."""
    after, head = sizes(low), f"no integer {name} gives {_show(targets)}"
    if low <= least:
        return f"{head}: {name} = {least} already gives {_show(after)}"
    return (f"{head}: {name} = {low - 1} gives {_show(sizes(low - 1))} and {name} = {low} "
            f"gives {_show(after)}")


def _none(name: str, equations: tuple[sympy.Eq, ...], inequalities: tuple[Between, ...],
          reason: str, complete: bool = True) -> Solution:
    return Solution(name, equations, inequalities, None, None, (), reason, complete)


def _show(sizes: Sequence[object] | None) -> str:
    return "an empty output" if sizes is None else " x ".join(str(s) for s in sizes)


# ---------------------------------------------------------------- symbols


def _try_inequalities(
    outputs: Sequence[sympy.Expr], targets: Sequence[sympy.Expr], u: sympy.Symbol
) -> tuple[Between, ...]:
    """The inequalities the floors become, for display (empty where inversion does not apply)."""
    steps: list[Between] = []
    for o, t in zip(outputs, targets, strict=True):
        try:
            steps.extend(invert(o, u, t)[2])
        except NotInvertible:
            return ()
    return tuple(dict.fromkeys(steps))


def _symbolic(
    net: Network, u: sympy.Symbol, targets: Sequence[sympy.Expr], least: int,
    others: list[str],
) -> Solution:
    name = u.name
    # Trace with an unknown whose assumptions match its true range (paddings may be 0), so
    # SymPy's simplifications stay valid there.
    x = sympy.Dummy(name, integer=True, nonnegative=True) if least == 0 else u
    try:
        outputs = _axes_of(net.bind({name: x}).output_shape()[1:], targets)
    except SymconvError as error:  # decided for every value of the unknown at once
        return _none(name, (), (), f"no value of {name} works: {error.message}")
    back = {x: u}
    equations = tuple(sympy.Eq(o.xreplace(back), t, evaluate=False)
                      for o, t in zip(outputs, targets, strict=True))
    lows: list[sympy.Expr] = [sympy.Integer(least)]
    highs: list[sympy.Expr] = []
    steps: list[Between] = []
    for o, t in zip(outputs, targets, strict=True):
        if not o.has(x):
            continue
        try:
            low, high, found = invert(o, x, t)
        except NotInvertible as why:
            raise NoSolutionError(
                f"{name} cannot be solved in closed form while {', '.join(others)} "
                f"{'is a symbol' if len(others) == 1 else 'are symbols'} ({why}); give "
                f"{'it a value' if len(others) == 1 else 'them values'} with --set"
            ) from None
        lows.append(low)
        highs.append(high)
        steps.extend(found)
    low = sympy.Max(*lows)
    high = sympy.Min(*highs) if highs else sympy.oo
    inequalities = tuple(Between(b.low.xreplace(back), b.expr.xreplace(back),
                                 b.high.xreplace(back)) for b in dict.fromkeys(steps))
    reason = (f"the integers {name} with {sympy.sstr(low)} <= {name} <= {sympy.sstr(high)} "
              f"(none where the lower end exceeds the upper), where every layer's output is "
              f"at least 1")
    return Solution(name, equations, inequalities, low.xreplace(back), high.xreplace(back),
                    None, reason)
