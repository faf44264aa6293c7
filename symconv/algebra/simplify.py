"""Closed forms of nested floors and ceilings, and of maps repeated a symbolic number of times.

Substituting layer after layer into the output-size formulas nests roundings:
⌊(⌊(n − 1)/2⌋ + 1 − 1)/2⌋ + 1 … This module applies exact identities, valid for integer x
(any real x for the first two) and positive integers a, b, m:

    ⌊(⌊x⌋ + m)/b⌋ = ⌊(x + m)/b⌋          ⌈(⌈x⌉ + m)/b⌉ = ⌈(x + m)/b⌉
    ⌊z/b⌋ = ⌈(z − b + 1)/b⌉  for integer z   (so ⌊(n − 1)/2⌋ + 1 = ⌈n/2⌉)

and recognises the result as a map n ↦ ⌊(M·n + A)/S⌋ when it is one: such maps compose and
repeat in closed form (`repeat_map`).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy

from symconv.algebra.symbols import Value, as_value

_ROUNDINGS = (sympy.floor, sympy.ceiling)


def iteration_index(taken: Iterable[str]) -> sympy.Symbol:
    """The summation index of a repeated block (pass i of N): i, j, l, i2, ..., the first
    whose name is not taken, so that a repeat inside a repeat sums over its own index (the
    same symbol for both would bind the outer one inside the inner sum) and no user's
    symbol reads the same."""
    used = set(taken)
    names = itertools.chain(("i", "j", "l"), (f"i{n}" for n in itertools.count(2)))
    return sympy.Symbol(next(n for n in names if n not in used), integer=True,
                        nonnegative=True)


def simplify_rounding(value: Value) -> Value:
    """The value with nested floors and ceilings merged (an int stays an int)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    expr = sympy.sympify(value, strict=True)
    if not expr.has(sympy.floor, sympy.ceiling):
        return as_value(expr)
    expr = _bottom_up(expr)
    if expr.has(sympy.Piecewise):
        expr = _collapse(expr)
    return as_value(expr)


@functools.lru_cache(maxsize=8192)  # long chains meet the same sub-expressions again and again
def _bottom_up(expr: sympy.Expr) -> Any:
    if not expr.args or not expr.has(sympy.floor, sympy.ceiling):
        return expr
    args = [_bottom_up(a) for a in expr.args]
    expr = expr.func(*args) if args != list(expr.args) else expr
    if isinstance(expr, sympy.Add):
        return _fold_integer(expr)
    if isinstance(expr, _ROUNDINGS):
        return _canonical(_merge(expr))
    return expr


def _is_integer(value: Any) -> bool:
    return bool(sympy.sympify(value, strict=True).is_integer)


def _positive_integer(value: Any) -> bool:
    v = sympy.sympify(value, strict=True)
    return bool(v.is_integer and v.is_positive)


def _merge(outer: Any) -> Any:
    """R(α·Q(y) + β) with Q a rounding, 1/α a positive integer b and β·b an integer:
    one rounding of (y + β·b)/b, converted to Q's direction first when R differs."""
    arg = sympy.expand(outer.args[0])
    inner = [t for t in arg.atoms(*_ROUNDINGS) if arg.coeff(t) != 0]
    if len(inner) != 1:
        return outer
    q = inner[0]
    alpha = arg.coeff(q)
    beta = sympy.expand(arg - alpha * q)
    if beta.has(q) or alpha.has(q):
        return outer
    b = sympy.simplify(1 / alpha)
    m = sympy.expand(beta * b)
    if not (_positive_integer(b) and _is_integer(m)):
        return outer
    y = q.args[0]
    if outer.func is q.func:
        return outer.func(sympy.expand((y + m) / b))
    if outer.func is sympy.floor:  # ⌊(⌈y⌉ + m)/b⌋ = ⌈(⌈y⌉ + m − b + 1)/b⌉
        return sympy.ceiling(sympy.expand((y + m - b + 1) / b))
    return sympy.floor(sympy.expand((y + m + b - 1) / b))  # ⌈z/b⌉ = ⌊(z + b − 1)/b⌋


def _fold_integer(expr: sympy.Add) -> Any:
    """c + R(u) with c an integer and R the only rounding term: R(u + c), rewritten."""
    roundings = [t for t in expr.args if isinstance(t, _ROUNDINGS)]
    rest = [t for t in expr.args if not isinstance(t, _ROUNDINGS)]
    if len(roundings) != 1:
        return expr
    constant = sympy.Add(*rest)
    if not _is_integer(constant):
        return expr
    r = roundings[0]
    folded = _canonical(r.func(sympy.expand(r.args[0] + constant)))
    return folded if sympy.count_ops(folded) <= sympy.count_ops(expr) else expr


def _canonical(expr: Any) -> Any:
    """⌊(z + m)/b⌋ or ⌈(z + m − b + 1)/b⌉, whichever has the smaller constant (z integer)."""
    if not isinstance(expr, _ROUNDINGS):
        return expr
    numerator, b = sympy.fraction(sympy.together(expr.args[0]))
    if not _positive_integer(b) and _positive_integer(-b):  # R(z/b) = R(−z/−b)
        numerator, b = sympy.expand(-numerator), sympy.expand(-b)
    # ⌈z/b⌉ = ⌊(z + b − 1)/b⌋ needs an integer z and a positive integer b: proven, or no
    # rewrite (with b < 0 it would round the wrong way).
    if not (_positive_integer(b) and _is_integer(numerator)):
        return expr
    m, z = sympy.expand(numerator).as_coeff_Add()
    if not b.is_Integer:  # a symbolic divisor: one fraction, rounded the shorter way
        as_floor = sympy.expand(numerator if expr.func is sympy.floor else numerator + b - 1)
        as_ceiling = sympy.expand(as_floor - b + 1)
        if sympy.count_ops(as_ceiling) < sympy.count_ops(as_floor):
            return sympy.ceiling(as_ceiling / b)
        return sympy.floor(as_floor / b)
    if not (b > 1 and m.is_Integer and _is_integer(z)):
        return expr
    floor_m = m if expr.func is sympy.floor else m + b - 1
    ceil_m = floor_m - b + 1
    if abs(ceil_m) < abs(floor_m):
        return sympy.ceiling(sympy.expand((z + ceil_m) / b))
    return sympy.floor(sympy.expand((z + floor_m) / b))


# ---------------------------------------------------------------- quasi-linear sizes


def evaluate(expr: Any, x: sympy.Symbol, n: int) -> Any:
    """expr at x = n in exact rational arithmetic (Fractions and bools, never floats)."""
    if expr == x:
        return Fraction(n)
    if expr.is_Rational:
        return Fraction(int(expr.p), int(expr.q))
    if isinstance(expr, sympy.Piecewise):
        return next(evaluate(v, x, n) for v, c in expr.args if evaluate(c, x, n))
    if expr is sympy.true or expr is sympy.false:
        return bool(expr)
    args = [evaluate(a, x, n) for a in expr.args]
    if isinstance(expr, sympy.ITE):
        return args[1] if args[0] else args[2]
    operation = _OPERATIONS.get(type(expr)) or _OPERATIONS.get(getattr(expr, "rel_op", None))
    if operation is None:
        raise TypeError(f"cannot evaluate {expr.func} exactly")
    return operation(args)


_OPERATIONS: dict[Any, Any] = {
    sympy.Add: lambda a: sum(a, Fraction(0)),
    sympy.Mul: math.prod,
    sympy.Pow: lambda a: a[0] ** a[1],
    sympy.floor: lambda a: Fraction(math.floor(a[0])),
    sympy.ceiling: lambda a: Fraction(math.ceil(a[0])),
    sympy.And: all,
    sympy.Or: any,
    sympy.Not: lambda a: not a[0],
    ">=": lambda a: a[0] >= a[1],
    ">": lambda a: a[0] > a[1],
    "<=": lambda a: a[0] <= a[1],
    "<": lambda a: a[0] < a[1],
    "==": lambda a: a[0] == a[1],
    "!=": lambda a: a[0] != a[1],
}


def _collapse(expr: Any) -> Any:
    """A Piecewise size of one symbol (ceil_mode's dropped last window) as one ⌊(M·x + A)/S⌋.

    Every part is quasi-linear: floors of rational multiples of x and of each other, and
    conditions comparing parts of equal slope. Shifting x by P, a multiple of every divisor
    met, then shifts each part by a constant, so f(x + P) − f(x) is constant and f agrees
    with the floor map everywhere once it agrees over one period."""
    symbols = expr.free_symbols
    if len(symbols) != 1:
        return expr
    (x,) = symbols
    if not _positive_integer(x):  # the check below runs over x = 1, 2, ... only
        return expr
    period = period_of(expr)
    if period is None or period > 4096 or not quasi_linear(expr, x, period):
        return expr
    try:
        values = [evaluate(expr, x, n) for n in range(1, 2 * period + 2)]
    except (TypeError, StopIteration):
        return expr
    rise = values[period] - values[0]
    if any(values[i + period] - values[i] != rise for i in range(period + 1)):
        return expr
    slope = Fraction(rise) / period
    divisor, scale = slope.denominator, slope.numerator
    low = max(v * divisor - scale * n for n, v in enumerate(values, start=1))
    high = min((v + 1) * divisor - 1 - scale * n for n, v in enumerate(values, start=1))
    if low > high:
        return expr
    offset = min(range(int(low), int(high) + 1), key=abs)
    return _canonical(sympy.floor((scale * x + offset) / divisor)) if divisor != 1 else (
        scale * x + offset)


def quasi_linear(e: Any, x: sympy.Symbol, period: int) -> bool:
    """Whether e is built from x, numbers, sums, products by constants and roundings, with
    conditions comparing sides of equal slope (their difference unchanged by a shift of x
    by `period`, which for such sides means periodic): the premise of `_collapse`."""
    if not e.has(x) or e == x:
        return True
    if isinstance(e, (sympy.Add, sympy.And, sympy.Or, sympy.Not, sympy.ITE, *_ROUNDINGS)):
        return all(quasi_linear(a, x, period) for a in e.args)
    if isinstance(e, sympy.Mul):
        return sum(a.has(x) for a in e.args) == 1 and all(
            quasi_linear(a, x, period) for a in e.args)
    if isinstance(e, sympy.Piecewise):
        return all(quasi_linear(v, x, period) and quasi_linear(c, x, period)
                   for v, c in e.args)
    if isinstance(e, sympy.core.relational.Relational):
        sides = e.lhs - e.rhs
        if not quasi_linear(sides, x, period):
            return False
        try:
            return bool(evaluate(sides, x, 1) == evaluate(sides, x, 1 + period))
        except (TypeError, StopIteration):
            return False
    return False


def period_of(expr: Any) -> int | None:
    """A shift of x after which every rounding inside expr moves by an integer: the lcm over
    roundings of their divisors times the periods of the roundings inside them."""
    period = 1
    for r in expr.atoms(*_ROUNDINGS):
        if any(r in other.args[0].atoms(*_ROUNDINGS) for other in expr.atoms(*_ROUNDINGS)):
            continue  # counted inside the rounding that holds it
        own = 1
        for term in sympy.Add.make_args(sympy.expand(r.args[0])):
            coefficient = term.as_coeff_Mul()[0]
            if not coefficient.is_Rational:
                return None
            own = math.lcm(own, int(coefficient.q))
        inner = period_of(r.args[0]) if r.args[0].has(*_ROUNDINGS) else 1
        if inner is None:
            return None
        period = math.lcm(period, own * inner)
    return period


# ---------------------------------------------------------------- maps n ↦ ⌊(M·n + A)/S⌋


@dataclass(frozen=True, slots=True)
class FloorMap:
    """The map n ↦ ⌊(M·n + A)/S⌋ of one axis (S = 1: an affine map)."""

    scale: Any  # M
    offset: Any  # A
    divisor: Any  # S

    def __call__(self, n: Value) -> Value:
        if self.divisor == 1:
            return as_value(sympy.expand(self.scale * n + self.offset))
        return simplify_rounding(sympy.floor((self.scale * n + self.offset) / self.divisor))


def floor_map(expr: Value, x: sympy.Symbol) -> FloorMap | None:
    """`expr` (in x) as ⌊(M·x + A)/S⌋ with integer M, A and positive integer S, or None."""
    e = sympy.expand(sympy.sympify(simplify_rounding(expr), strict=True))
    roundings = [t for t in e.atoms(*_ROUNDINGS) if t.has(x)]
    if not roundings:
        return _affine(e, x)
    if len(roundings) != 1:
        return None
    r = roundings[0]
    c0 = sympy.expand(e - r)
    inner = _affine(sympy.expand(r.args[0]), x, integral=False)
    if c0.has(x) or not _is_integer(c0) or inner is None:
        return None
    scale, divisor = sympy.fraction(sympy.together(inner.scale))
    offset = sympy.expand(inner.offset * divisor)
    if r.func is sympy.ceiling:
        offset += divisor - 1
    offset = sympy.expand(offset + c0 * divisor)
    if not (_is_integer(scale) and _is_integer(offset) and _positive_integer(divisor)):
        return None
    return FloorMap(scale, offset, divisor)


def _affine(e: Any, x: sympy.Symbol, integral: bool = True) -> FloorMap | None:
    scale = sympy.diff(e, x)
    if scale.has(x) or e.has(sympy.Piecewise):
        return None
    offset = sympy.expand(e - scale * x)
    if integral and not (_is_integer(scale) and _is_integer(offset)):
        return None
    return FloorMap(scale, offset, 1)


def geometric_sum(ratio: Any, count: Any) -> Any:
    """Σ_{i<count} ratio^i, derived by summation: count where ratio = 1 (a Piecewise when
    undecided)."""
    k = sympy.Dummy("k", integer=True, nonnegative=True)
    return sympy.summation(sympy.sympify(ratio, strict=True) ** k, (k, 0, count - 1))


def repeat_map(m: FloorMap, count: Any) -> FloorMap | None:
    """The map applied `count` times, in closed form, or None where none is known (both a
    scale and a divisor other than 1)."""
    if m.scale == 1:
        # ⌊(⌊(n + A)/S⌋ + A)/S⌋ = ⌊(n + A + A·S)/S²⌋, and so on (A an integer, S ≥ 1).
        return FloorMap(1, cancelled(m.offset * geometric_sum(m.divisor, count)),
                        m.divisor**count)
    if m.divisor == 1:
        return FloorMap(m.scale**count, cancelled(m.offset * geometric_sum(m.scale, count)),
                        1)
    return None


def cancelled(e: Any) -> Any:
    """e with each piece's fraction cancelled: (S − 1)·(S^N − 1)/(S − 1) is S^N − 1, so that
    ⌊(n + S^N − 1)/S^N⌋ is recognised as ⌈n/S^N⌉ (a polynomial divisor, whose sign SymPy
    may not prove, never stays in a rounding)."""
    e = sympy.piecewise_fold(e)
    if isinstance(e, sympy.Piecewise):
        return sympy.Piecewise(*((sympy.cancel(v), c) for v, c in e.args))
    return sympy.cancel(e)
