"""Inverse questions: which values of one symbol give a network's output a target size.

`solve(network, "P", "112x112", W=224)` answers with the exact set of integers:

- When every other quantity that decides the output size is a number, the answer is found
  by search on the output as a function of the unknown alone, computed with the formulas of
  `symconv.formulas` (the definition of the relation). The search is exact because that
  function is monotone: every layer's output grows with its input; it grows with a
  convolution's or pooling's padding and shrinks with its kernel, stride and dilation, and
  the other way round for a transposed convolution (see `walk.roles`). So the unknown's
  solutions are one interval, found by two exponential-then-binary searches; an output
  that stays constant from some stride on (every window then reads from the first row)
  makes the interval unbounded. Where the unknown both grows and shrinks the output (for
  instance `k=K p=K//2`), the search falls back to enumerating 0..SEARCH_LIMIT and says so.
- When other symbols remain, the output expression is inverted in closed form
  (`invert`): an interval whose ends are SymPy expressions.

Every solution is substituted back into the formulas before it is returned, and the first
and last of them into the network itself (`Network.output_shape`, which also checks
PyTorch's rules: a rule that involves the unknown is monotone in it, so it holds between
two values where it holds at both); an unbounded set has its first value and a value past
the point where the output stops changing checked the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy

from symconv.algebra.pickling import Unevaluated
from symconv.algebra.symbols import Value, free_names, symbol, truth
from symconv.engine import formulas as f
from symconv.engine.blocks import MAX_UNROLLED, describe, unrolled_layers
from symconv.errors import (
    InvalidValueError,
    LayerSource,
    NoSolutionError,
    SymconvError,
    UnknownNameError,
    UnsupportedError,
)
from symconv.language.layers import (
    Concat,
    Conv,
    Layer,
    Pool,
    Repeat,
    Residual,
    Scale,
    Upsample,
    kind_of,
)
from symconv.language.parse import parse_shape
from symconv.language.values import substitution, value_of, whole_number
from symconv.network import Network, as_network, bind_whole
from symconv.present.values import text_shape
from symconv.solve.invert import Between, NotInvertible, invert
from symconv.solve.walk import (
    Condition,
    PathsDisagree,
    direction,
    has,
    kernel_of_tf_same,
    network_conditions,
    output_sizes,
    relation,
    roles,
)

SEARCH_LIMIT = 1024  # the range enumerated where the output is not monotone in the unknown
EXHAUSTIVE = 100_000  # up to where every value before a plateau is tried instead
ENDS = 1  # solutions at each end of a list that are checked by building the network
_REPR_WIDTH = 100  # the longest answer a Solution's repr shows whole
_FAR = 2**62  # where searches for growing outputs give up (no layer grows that slowly)


@dataclass(frozen=True, slots=True, repr=False)
class Solution(Unevaluated):
    """The answer to one inverse question, as SymPy objects (renderers in render/solution.py).

    Prints as a few lines of text, the answer first; its repr is one line; Jupyter shows it
    as math (`_repr_markdown_`, `_repr_latex_`: the same rows).

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
    # Symbolic answers: what else must hold (on the other symbols, and on the unknown where
    # the bounds do not pin it), each a SymPy relation, with where it comes from.
    conditions: tuple[Condition, ...] = ()
    # Solutions below an unbounded interval [low, oo) and apart from it (a ceil-mode
    # pooling's stride: S in {2} or S >= 10).
    isolated: tuple[int, ...] = ()
    # The question itself (the network with the given values bound, and the target per
    # axis), so that a presented answer can be checked against the numeric solver.
    network: Network | None = field(default=None, compare=False, repr=False)
    targets: tuple[sympy.Expr, ...] = field(default=(), compare=False, repr=False)

    @property
    def empty(self) -> bool:
        return self.low is None

    @property
    def cases(self) -> tuple[Any, ...]:
        """The answer as a teacher writes it: `symconv.present.solution.Case`s (when the
        other symbols satisfy `when`, the unknown takes `answer`), checked by brute force."""
        from symconv.solve.present import cases

        return cases(self)

    def contains(self, value: int, /, **others: int) -> bool:
        """Whether the unknown = value solves the question with the other symbols taking
        `others`: the bounds and every condition evaluated there."""
        value = whole_number(self.unknown, value)
        given = {k: whole_number(k, v) for k, v in others.items()}
        if self.empty:
            return False
        if self.values is not None:
            return value in self.values
        if value in self.isolated:
            return True
        subs = {symbol(k): sympy.Integer(v) for k, v in given.items()}
        subs[symbol(self.unknown)] = sympy.Integer(value)
        low, high = (sympy.sympify(b, strict=True).xreplace(subs) for b in (self.low, self.high))
        checks = [sympy.Le(low, value), sympy.Le(value, high)]
        # In order: a condition may divide by what a bound keeps at least 1.
        for check in (*checks, *(c.holds for c in self.conditions)):
            holds = sympy.sympify(check, strict=True).xreplace(subs)
            decided = truth(holds)
            if decided is None:
                raise SymconvError(f"give every symbol a value: {holds}")
            if not decided:
                return False
        return True

    def __str__(self) -> str:
        from symconv.render.solution import solution_text

        return solution_text(self)

    def __repr__(self) -> str:
        head = str(self).partition("\n")[0]
        if len(head) > _REPR_WIDTH:
            head = head[: _REPR_WIDTH - 1] + "…"
        return f"<symconv Solution for {self.unknown}: {head}>"

    def _repr_latex_(self) -> str:
        """Jupyter: the answer, how it was found, the equation and its inequalities."""
        from symconv.render.solution import solution_math

        return solution_math(self)

    def _repr_markdown_(self) -> str:
        """The same rows as `_repr_latex_`, as display math."""
        from symconv.render.solution import solution_markdown

        return solution_markdown(self)


def solve(network: Network | str, unknown: str, target: object, /, **values: object) -> Solution:
    """All values of the symbol `unknown` for which the network's output has the target
    spatial size ("112x112", 56, (112, 112); one number stands for every axis), the other
    symbols taking `values`."""
    net = as_network(network, "solve")
    if not isinstance(unknown, str):
        raise InvalidValueError(f"solve: the unknown is a symbol's name such as 'W', got "
                                f"{type(unknown).__name__}")
    if unknown not in net.symbols:
        have = ", ".join(net.symbols) or "none"
        raise UnknownNameError(f"unknown symbol '{unknown}' (the network's symbols: {have})")
    if unknown in values:
        raise NoSolutionError(f"'{unknown}' is the unknown; it cannot also be given a value")
    bound = bind_whole(net, values)
    _refuse_fractional_scales(bound.layers)
    u = symbol(unknown)
    targets = _given(_targets(target, len(bound.input_shape) - 1), net, values)
    if any(unknown in free_names(t) for t in targets):
        raise NoSolutionError(f"the target size may not contain {unknown}, the symbol solved for")
    acting = [zero_ok for v, _, zero_ok in roles(bound, u) if has(v, u)]
    if not acting and kernel_of_tf_same(bound.layers, u):
        raise NoSolutionError(
            f"'{unknown}' does not decide the output's spatial size in TensorFlow's "
            "convention: padding='same' gives ceil(n/s) whatever the kernel and dilation")
    if not acting:
        raise NoSolutionError(f"'{unknown}' does not decide the output's spatial size (a "
                              "channel count, or a window of a padding='same' convolution); "
                              "solve for a size, kernel, stride, padding, dilation or "
                              "output_padding")
    least = 0 if all(acting) else 1
    others = set().union(*(free_names(v) for v, _, _ in roles(bound, u)),
                         *map(free_names, targets))
    # Symbols that act only on a residual's shortcut or a later concatenated branch, or in a
    # rule (groups, pooling padding), are others too: numbers alone cannot decide them.
    try:
        names = set().union(*(free_names(c.holds) for c in network_conditions(bound)))
    except SymconvError:
        names = set()  # the symbolic trace is refused: left to the search and its checks
    others |= names
    others.discard(unknown)
    # The relation with the numbers in place, as the formulas write it (floors unevaluated:
    # SymPy would spend its time simplifying what the inversion or the search decides).
    outputs = _axes_of(relation(bound), targets, bound)
    equations = tuple(sympy.Eq(o, t, evaluate=False) for o, t in zip(outputs, targets,
                                                                       strict=True))
    if others:
        found = _symbolic(bound, u, outputs, targets, equations, least, sorted(others))
    else:
        inequalities = _try_inequalities(outputs, targets, u)
        found = _numeric(bound, u, tuple(int(t) for t in targets), least, equations,
                         inequalities)
    return dataclasses.replace(found, network=bound, targets=targets)


def _refuse_fractional_scales(layers: Sequence[Layer]) -> None:
    """The solver inverts exact floors; an upsampling by a scale factor that is not a whole
    number follows PyTorch's rule in double precision (formulas.scaled_size), which differs
    from the exact floor near whole numbers (90·4.1 is 368.99999999999994 there, so 368, not
    369). Such a layer is refused rather than answered by a rule it does not follow."""
    for layer in layers:
        match layer:
            case Upsample(scale=scale) if scale is not None:
                for q in scale:
                    if sympy.sympify(q, strict=True).is_integer is not True:
                        source = layer.source
                        where = (source.argument("scale_factor")
                                 if isinstance(source, LayerSource) else source)
                        raise UnsupportedError(
                            f"solve: upsample by scale_factor {sympy.sstr(q)}, not a whole "
                            "number: PyTorch computes floor(n·scale_factor) in double "
                            "precision (90·4.1 gives 368.99999999999994, so 368), which the "
                            "solver's exact inversion does not follow; give the upsampling a "
                            "whole scale_factor or an output size (size=...), or try sizes "
                            "with 'symconv table --set'", where, "upsample")
            case Repeat(body=body) | Scale(body=body):
                _refuse_fractional_scales(body)
            case Residual(body=body, shortcut=shortcut):
                _refuse_fractional_scales((*body, *shortcut))
            case Concat(branches=branches):
                for branch in branches:
                    _refuse_fractional_scales(branch)


def _axes_of(outputs: Sequence[Value] | None, targets: Sequence[sympy.Expr], net: Network
             ) -> tuple[sympy.Expr, ...]:
    if outputs is None:
        raise NoSolutionError("some layer's output is empty whatever the unknown is")
    if not outputs:
        last = len(net.layers)
        raise NoSolutionError(
            f"the output of layer {last} ({kind_of(net.layers[-1])}) has no spatial axes (a "
            "flatten or linear layer ends them); a target is a spatial size, so ask for an "
            "earlier layer's output (--layer N, or network.upto(N) from Python)")
    if len(outputs) != len(targets):
        raise NoSolutionError(
            f"the output has {len(outputs)} spatial axes, the target {len(targets)}"
        )
    return tuple(sympy.sympify(o, strict=True) for o in outputs)


def _given(targets: tuple[sympy.Expr, ...], net: Network, values: dict[str, object]
           ) -> tuple[sympy.Expr, ...]:
    """The targets with the values given to the symbols put in, as into the network
    (--set W=224 makes a target ceiling(W/2) 112). A new symbol standing alone names the
    output size (--target O: the answer for every output size O); inside an expression,
    a symbol that is none of the network's is a slip (ceiling(Q/2) for ceiling(W/2)) and is
    refused."""
    names = set(net.symbols)
    for t in targets:
        foreign = sorted(free_names(t) - names)
        if foreign and not t.is_Symbol:
            have = ", ".join(net.symbols) or "none"
            raise UnknownNameError(
                f"the target {sympy.sstr(t)} names {', '.join(foreign)}, which is no symbol "
                f"of the network and has no value (the network's symbols: {have}); a new "
                "symbol may stand alone for the output size (such as O), not inside an "
                "expression")
    subs = substitution(values)
    given = tuple(t.xreplace(subs) for t in targets)
    for t, g in zip(targets, given, strict=True):
        if g.is_number and not (g.is_Integer and g >= 1):
            raise NoSolutionError(f"a target size must be a positive integer, got "
                                  f"{sympy.sstr(t)} = {sympy.sstr(g)} with the values given")
    return given


def _targets(target: object, rank: int) -> tuple[sympy.Expr, ...]:
    if rank == 0:
        raise NoSolutionError("the network's input has no spatial axes")
    if isinstance(target, str):
        try:
            items: Sequence[object] = parse_shape(target)
        except SymconvError as error:
            raise InvalidValueError(f"target: cannot read '{target[:60]}' as a size such as 112 or "
                                    f"'112x112': {error.message}") from None
    elif isinstance(target, tuple | list):
        items = target
    else:
        items = (target,)
    values = [sympy.sympify(value_of("target", t), strict=True) for t in items]
    if len(values) == 1:
        values *= rank
    for t in values:
        if t.is_number and not (t.is_Integer and t >= 1):
            raise NoSolutionError(f"a target size must be a positive integer, got {t}")
    return tuple(values)


# ---------------------------------------------------------------- numbers


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

    def answer(low: int, high: int | sympy.Expr, reason: str) -> Solution:
        return _checked(net, u, targets, low, high, equations, inequalities, reason, True)

    moves = direction(net, u)
    if moves in (1, -1):
        # rises: true from some value on; falls: false from some value on.
        rises, falls = (at_least, at_most) if moves == 1 else (at_most, at_least)
        limit = _unroll_limit(net, u, least)
        low = first_true(rises, least, limit)
        if low > limit:
            return _none(name, equations, inequalities,
                         f"no {name} up to {_limit_text(limit)} gives {_show(targets)}",
                         complete=limit == _FAR)
        plateau = _plateau(net, u, least) if moves == -1 else _FAR
        stop = min(plateau, limit)
        end = first_true(lambda v: not falls(v), low, stop)
        if end > stop and plateau <= limit:
            return answer(low, sympy.oo, f"every {name} >= {{first}} gives {_show(targets)}: "
                          f"the output no longer changes as {name} grows")
        if end > stop:  # cut off by the passes symconv unrolls, not by the output
            return _checked(net, u, targets, low, limit, equations, inequalities,
                            f"only {name} <= {_limit_text(limit)} was searched", False)
        high = end - 1
    elif moves == 0:
        got = sizes(least)
        if got != targets:
            return _none(name, equations, inequalities,
                         f"the output is {_show(got)} whatever {name} is")
        return answer(least, sympy.oo, f"the output is {_show(targets)} whatever {name} is")
    elif (stop := _plateau(net, u, least)) <= EXHAUSTIVE:
        return _up_to_plateau(net, u, targets, least, stop, equations, inequalities)
    else:
        found = [v for v in range(least, SEARCH_LIMIT + 1) if sizes(v) == targets]
        reason = (f"the output is not known to move one way only as {name} grows, so only "
                  f"{least} <= {name} <= {SEARCH_LIMIT} was searched")
        if not found:
            return _none(name, equations, inequalities, "no value: " + reason, complete=False)
        return _checked(net, u, targets, found[0], found[-1], equations, inequalities, reason,
                        False, only=found)
    if low > high:
        return _none(name, equations, inequalities, _gap(name, sizes, low, least, targets))
    return answer(low, high, "")


def _up_to_plateau(net: Network, u: sympy.Symbol, targets: tuple[int, ...], least: int,
                   stop: int, equations: tuple[sympy.Eq, ...],
                   inequalities: tuple[Between, ...]) -> Solution:
    """The complete answer for an unknown that moves the output both ways but is nothing
    but strides (a ceil-mode pooling's): every value up to the plateau is tried, and past it
    the output is the plateau's, so the set ends in an unbounded run where that fits."""
    name = u.name
    found = [v for v in range(least, stop + 2) if output_sizes(net, u, v) == targets]
    why = (f"the output is not known to move one way only as {name} grows; every {name} > "
           f"{stop} gives the output of {name} = {stop + 1}, so {least} <= {name} <= "
           f"{stop + 1} were all tried")
    if not found:
        return _none(name, equations, inequalities, f"no {name} gives {_show(targets)}: {why}")
    if found[-1] <= stop:
        return _checked(net, u, targets, found[0], found[-1], equations, inequalities, why,
                        True, only=found)
    start = found[-1]
    while start - 1 in found:
        start -= 1
    tail = _checked(net, u, targets, start, sympy.oo, equations, inequalities,
                    f"{why}; every {name} >= {{first}} gives {_show(targets)}", True)
    head = [v for v in found if v < start]
    isolated = () if not head else _checked(
        net, u, targets, head[0], head[-1], equations, inequalities, why, True,
        only=head).values or ()
    if tail.empty or tail.high != sympy.oo:  # the tail broke a rule: the values found
        return _checked(net, u, targets, found[0], found[-1], equations, inequalities, why,
                        True, only=[v for v in found if v <= start + SEARCH_LIMIT])
    return dataclasses.replace(tail, isolated=tuple(isolated))


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
    at u = least (outputs shrink as the stride grows), and a stride beyond both n + 2p and the
    window's span leaves a single window (or, ceil mode, a rounding of a negative
    numerator that is 0 from then on). Where u is only the count of one repeat among the
    top layers, the pass from which the walk's sizes no longer change (each pass then maps
    them to themselves), if one comes within the passes symconv unrolls. Else _FAR."""
    if (count := _count_only(net, u)) is not None:
        fixed = first_true(lambda v: output_sizes(net, u, v) == output_sizes(net, u, v + 1),
                           least, count)
        return fixed if fixed <= count else _FAR
    strides = [(i, layer.window) for i, layer in enumerate(net.layers)
               if isinstance(layer, Conv | Pool) and u in layer.window.stride]
    inside = [v for v, _, _ in roles(net, u) if has(v, u)]
    if len(inside) != sum(w.stride.count(u) for _, w in strides):
        return _FAR  # u is also something other than a plain stride
    widest = 0
    for i, w in strides:
        sizes = output_sizes(Network(net.input_shape, net.layers[:i]), u, least) or (0,)
        widest = max(widest, max(sizes) + 2 * max(int(p) for p in w.padding),
                     *(int(d) * (int(k) - 1) + 1 for k, d in zip(w.kernel, w.dilation,
                                                                  strict=True)))
    return widest + 1


def _count_only(net: Network, u: sympy.Symbol) -> int | None:
    """When u is nothing but the count (`repeat u`) of one repeat among the top layers: the
    most passes of it the trace unrolls. Else None."""
    repeats = [layer for layer in net.layers if isinstance(layer, Repeat) and layer.count == u]
    inside = [v for v, _, _ in roles(net, u) if has(v, u)]
    if len(repeats) != 1 or len(inside) != 1:
        return None
    layers = sympy.sympify(unrolled_layers(repeats[0].body), strict=True)
    return MAX_UNROLLED // max(1, int(layers.xreplace({s: 1 for s in layers.free_symbols})))


def _unroll_limit(net: Network, u: sympy.Symbol, least: int) -> int:
    """The largest u for which the walk unrolls its repeats within symconv's limit (a count
    past it is refused, as the trace refuses it); _FAR where u counts no passes."""
    if not any(has(layer.count, u) for layer in _repeats(net.layers)):
        return _FAR

    def refused(v: int) -> bool:
        try:
            output_sizes(net, u, v)
        except UnsupportedError:
            return True
        return False

    # Refused once, refused for every larger count: more passes apply more layers (a walk
    # that has reached its fixed point stops early, and then stays so).
    return min(first_true(refused, least), _FAR + 1) - 1


def _repeats(layers: Sequence[Layer]) -> list[Repeat]:
    found: list[Repeat] = []
    for layer in layers:
        if isinstance(layer, Repeat):
            found += [layer, *_repeats(layer.body)]
        elif isinstance(layer, Residual):
            found += _repeats(layer.body) + _repeats(layer.shortcut)
        elif isinstance(layer, Concat):
            found += [r for b in layer.branches for r in _repeats(b)]
    return found


def _limit_text(limit: int) -> str:
    if limit >= _FAR:
        return "2**62"
    return f"{limit} (the passes symconv unrolls)"


def _checked(
    net: Network,
    u: sympy.Symbol,
    targets: tuple[int, ...],
    low: int,
    high: int | sympy.Expr,
    equations: tuple[sympy.Eq, ...],
    inequalities: tuple[Between, ...],
    reason: str,
    complete: bool,
    only: Sequence[int] | None = None,
) -> Solution:
    """The solutions after substituting each back into the network (PyTorch's rules too).
    For an unbounded set, `reason` may name its first value as {first}."""
    name = u.name
    if high == sympy.oo:
        # PyTorch's rules (output_padding below stride or dilation, pooling padding at most
        # half the kernel) hold from some value on when they hold far out: each is monotone.
        far = max(low, min(_plateau(net, u, low), 10**6)) + 1
        if _verify(net, name, far, targets) is None:
            first = first_true(lambda v: _verify(net, name, v, targets) is None, low, far)
            return Solution(name, equations, inequalities, sympy.Integer(first), sympy.oo, None,
                            reason.format(first=first), complete)
        low, high = low, low + SEARCH_LIMIT
        reason = f"{name} = {far} breaks a rule, so only {low} <= {name} <= {high} was searched"
        complete = False
    candidates = list(only) if only is not None else list(range(low, int(high) + 1))
    # Every candidate is substituted into the formulas (with every path of a block, whose
    # sizes must agree). The network itself (PyTorch's rules too) is built for the first and
    # last ENDS of them, or all when one of those fails: a rule that involves the unknown is
    # monotone in it, so where it holds at both ends of a run of values it holds in between.
    problems: dict[int, str | None] = {}
    for v in candidates:
        try:
            if output_sizes(net, u, v, agree=True) != targets:
                raise SymconvError(f"internal check failed: the search for {name} found "
                                   f"{v}, which does not give the target")
        except PathsDisagree as block:
            problems[v] = f"the paths of a {block} block differ in size"
    fine = [v for v in candidates if v not in problems]
    ends = fine if len(fine) <= 2 * ENDS else fine[:ENDS] + fine[-ENDS:]
    problems |= {v: _verify(net, name, v, targets) for v in ends}
    if any(problems[v] for v in ends):
        problems |= {v: _verify(net, name, v, targets) for v in fine}
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
    return "an empty output" if sizes is None else text_shape(sizes)


# ---------------------------------------------------------------- symbols


def _try_inequalities(
    outputs: Sequence[sympy.Expr], targets: Sequence[sympy.Expr], u: sympy.Symbol
) -> tuple[Between, ...]:
    """The inequalities the floors become, for display (empty where inversion does not apply)."""
    steps: list[Between] = []
    for o, t in dict.fromkeys(zip(outputs, targets, strict=True)):
        try:
            steps.extend(invert(o, u, t)[2])
        except NotInvertible:
            return ()
    return tuple(dict.fromkeys(steps))


def _symbolic(
    net: Network,
    u: sympy.Symbol,
    outputs: Sequence[sympy.Expr],
    targets: Sequence[sympy.Expr],
    equations: tuple[sympy.Eq, ...],
    least: int,
    others: list[str],
) -> Solution:
    name = u.name
    lows: list[sympy.Expr] = [sympy.Integer(least)]
    highs: list[sympy.Expr] = []
    steps: list[Between] = []
    # Every condition is kept: the equations of axes the unknown does not act on hold for
    # the other symbols alone, and the network's rules and its blocks' agreements too.
    conditions = [Condition(sympy.Eq(o, t), "the output size") for o, t in
                  dict.fromkeys(zip(outputs, targets, strict=True)) if not o.has(u)]
    # A rule that the last layer's output be at least 1 follows from its target.
    sizes = [sympy.expand(o.doit()) for o, t in zip(outputs, targets, strict=True)
             if t.is_positive]
    conditions += [c for c in network_conditions(net) if not (
        isinstance(c.holds, sympy.GreaterThan) and c.holds.rhs == 1
        and any(sympy.expand(c.holds.lhs - o) == 0 for o in sizes))]
    for o, t in dict.fromkeys(zip(outputs, targets, strict=True)):  # square: one equation
        if not o.has(u):
            continue
        try:
            low, high, found = invert(o, u, t)
        except NotInvertible as why:
            # ceil mode's Piecewise: say which layers and which rule make the two formulas.
            ceil = [f"layer {label}, {kind_of(layer)}" for label, layer in _ceil_pools(
                net.layers, "") if o.has(sympy.Piecewise)]
            reason = (f"ceil_mode in {' and '.join(ceil)}: the output is one of two formulas, "
                      "as a last window that would start in the right padding is dropped, "
                      f"and {name} decides which" if ceil else str(why))
            raise NoSolutionError(
                f"{name} cannot be solved in closed form while {', '.join(others)} "
                f"{'is a symbol' if len(others) == 1 else 'are symbols'} ({reason}); give "
                f"{'it a value' if len(others) == 1 else 'them values'} with --set"
            ) from None
        lows.append(low)
        highs.append(high)
        steps.extend(found)
    low, high = _extreme(sympy.Max, lows), _extreme(sympy.Min, highs or [sympy.oo])
    single = sympy.sympify(low, strict=True) == sympy.sympify(high, strict=True)
    if low.is_number and high.is_number and low > high:  # two numbers: none at all
        return _none(name, equations, tuple(dict.fromkeys(steps)),
                     f"no integer {name}: it would need {sympy.sstr(low)} <= {name} <= "
                     f"{sympy.sstr(high)}, whatever {', '.join(others)} "
                     f"{'is' if len(others) == 1 else 'are'}")
    try:
        kept = _settled(conditions, {u: low} if single else {})
    except _Fails as failed:
        at = f" at {name} = {sympy.sstr(low)}" if single else ""
        return _none(name, equations, tuple(dict.fromkeys(steps)),
                     f"{condition_text(failed.condition)} fails{at} whatever the other "
                     "symbols are")
    where = " and where the conditions below hold" if kept else ""
    if single:
        reason = f"for every value of the other symbols{where}"
    else:
        reason = (f"the integers {name} with {sympy.sstr(low)} <= {name} <= {sympy.sstr(high)} "
                  f"(none where the lower end exceeds the upper){where}")
    return Solution(name, equations, tuple(dict.fromkeys(steps)), low, high, None, reason,
                    conditions=tuple(dict.fromkeys(kept)))


def _ceil_pools(layers: Sequence[Layer], prefix: str) -> list[tuple[str, Pool]]:
    """The ceil-mode poolings among the layers (blocks searched), numbered as `table`
    numbers them (1, 2.3, ...)."""
    found: list[tuple[str, Pool]] = []
    for i, layer in enumerate(layers, start=1):
        label = f"{prefix}{i}"
        w = getattr(layer, "window", None)
        # Only where s + p may exceed the window's span can a last window start in the
        # padding (formulas.last_window_in_padding): elsewhere ceil mode is one formula.
        if isinstance(layer, Pool) and layer.ceil_mode and w is not None and any(
                truth(sympy.Gt(s + p, f.effective_kernel(k, d))) is not False
                for k, s, p, d in zip(w.kernel, w.stride, w.padding, w.dilation, strict=True)):
            found.append((label, layer))
        inner = [getattr(layer, "body", ()), getattr(layer, "shortcut", ()),
                 *getattr(layer, "branches", ())]
        for body in inner:
            found += _ceil_pools(body, f"{label}.")
    return found


class _Fails(Exception):
    def __init__(self, condition: Condition) -> None:
        self.condition = condition


def _settled(conditions: Sequence[Condition], known: dict[sympy.Symbol, sympy.Expr]
             ) -> list[Condition]:
    """The conditions that stay open, each conjunction split, with the values in `known`
    put in, and every symbol that an equation of its own pins to one value (the output size
    of an axis that only H decides: H = 128) put into the others too. _Fails where one
    fails whatever the symbols are."""
    parts = [Condition(h, c.origin) for c in conditions
             for h in sympy.And.make_args(sympy.sympify(c.holds, strict=True))]
    pinned: list[Condition] = []
    while True:
        open_: list[Condition] = []
        for c in parts:
            holds = sympy.sympify(c.holds, strict=True).xreplace(known)
            decided = truth(holds)
            if decided is False:
                raise _Fails(c)
            if decided is None:
                open_.append(Condition(holds, c.origin))
        pin = next(((c, p) for c in open_ if (p := _pinned(c.holds)) is not None), None)
        if pin is None:
            return pinned + open_
        c, (v, value) = pin
        if value is None:
            raise _Fails(c)
        known = {**known, v: value}
        pinned.append(Condition(sympy.Eq(v, value), c.origin))
        parts = [p for p in open_ if p is not c]


def _pinned(holds: Any) -> tuple[sympy.Symbol, sympy.Integer | None] | None:
    """(v, its value) for an equation of one symbol v that holds for exactly one integer,
    (v, None) for one that holds for none, else None."""
    if not isinstance(holds, sympy.Eq) or len(holds.free_symbols) != 1:
        return None
    (v,) = holds.free_symbols
    try:
        low, high, _ = invert(holds.lhs, v, holds.rhs) if not holds.rhs.has(v) else (
            invert(holds.rhs, v, holds.lhs))
    except NotInvertible:
        return None
    if not (low.is_Integer and high.is_Integer):
        return None
    low = max(low, sympy.Integer(1))  # every symbol is a positive integer
    if low > high:
        return v, None
    return (v, low) if low == high else None


def condition_text(c: Condition) -> str:
    """A condition as a reader says it (render/words.py: W even; W = 3; W >= 2), and its
    origin; as SymPy writes it where no readable form is known."""
    from symconv.present.words import condition_text as words

    try:
        said = words(c.holds)
    except SymconvError:
        said = describe(c.holds)
    return f"{said} ({c.origin})"


def _extreme(func: type[sympy.Function], items: list[sympy.Expr]) -> sympy.Expr:
    """Max or Min of distinct bounds, left as written when symbolic (SymPy's comparisons of
    symbolic bounds cost more than the rest of a query, and decide nothing here)."""
    items = list(dict.fromkeys(items))
    if len(items) == 1:
        return items[0]
    if all(i.is_number for i in items):
        return func(*items)
    return func(*items, evaluate=False)
