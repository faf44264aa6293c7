"""The check before a presented form is shown: it equals the raw form at random points.

Symbols are positive integers (the network's symbols; a symbol without assumptions, such as
a unit index, is drawn the same way). Points are seeded, so a check is the same on every run,
and drawn inside the case's condition: a symbol the condition pins to a span or a residue is
drawn there, and every point is kept only where the condition holds.
"""

from __future__ import annotations

import random
from typing import Any

import sympy

from symconv.errors import SymconvError

POINTS = 8  # agreeing points a case needs
_TRIES = 64  # points drawn to find them
_SEED = 20240610


def at(expr: Any, point: dict[sympy.Symbol, int]) -> Any:
    """expr at the point, worked out (sums with numeric bounds summed): a SymPy number or
    boolean, or None where it does not become one."""
    subs = {s: sympy.Integer(v) for s, v in point.items()}
    value = expr.xreplace(subs)
    if isinstance(value, sympy.Basic) and value.has(sympy.Sum):
        value = value.replace(lambda e: isinstance(e, sympy.Sum), _term_by_term)
    if isinstance(value, sympy.Basic) and not (value.is_Number or value in (sympy.true,
                                                                         sympy.false)):
        value = value.doit()  # a presented fraction is kept unevaluated: (K - 1)/2
    if isinstance(value, bool):
        return sympy.true if value else sympy.false
    if value is sympy.true or value is sympy.false or (
            isinstance(value, sympy.Expr) and value.is_Number):
        return value
    return None


def _term_by_term(s: Any) -> Any:
    """A sum with numeric bounds added up term by term (SymPy's doit first tries a
    symbolic sum, which is slow), the innermost sums first."""
    body = s.function
    for index, low, high in reversed(s.limits):
        if not (low.is_Integer and high.is_Integer) or high - low > 10_000:
            return s.doit()
        body = sympy.Add(*(body.xreplace({index: sympy.Integer(k)})
                           for k in range(int(low), int(high) + 1)))
    return body


def points(symbols: list[sympy.Symbol], condition: Any = sympy.true,
           count: int = POINTS, small: frozenset[Any] = frozenset()) -> list[
               dict[sympy.Symbol, int]]:
    """Up to `count` seeded points of positive integers where `condition` holds; the
    `small` symbols (exponents, summation bounds) are drawn below 13, others may be large."""
    from symconv.present.conditions import AllOf, Residue, Span, readable

    ranges: dict[sympy.Symbol, tuple[int, int, int, int]] = {}  # low, high, modulus, rest
    if condition is not sympy.true:
        try:
            shown = readable(condition)
        except SymconvError:
            shown = None
        parts = shown.parts if isinstance(shown, AllOf) else (shown,)
        for part in parts:
            if isinstance(part, Span):
                low = part.low or 1
                high = part.high if part.high is not None else low + 9
                ranges[part.symbol] = (low, high, 1, 0)
            elif isinstance(part, Residue) and isinstance(part.expr, sympy.Symbol):
                r = min(part.remainders)
                ranges[part.expr] = (1, 40, part.modulus, r)
    rng = random.Random(_SEED + len(symbols))
    found: list[dict[sympy.Symbol, int]] = []
    for attempt in range(_TRIES):
        point = {}
        for s in symbols:
            if s in ranges:
                low, high, m, r = ranges[s]
                v = rng.randint(low, high)
                if m > 1:
                    v = max(m * (v // m) + r, r if r >= 1 else m)
            elif s in small or rng.random() < 0.7:
                v = rng.randint(1, 4) if attempt % 3 == 0 else rng.randint(1, 12)
            else:
                v = rng.randint(1, 10 ** rng.randint(2, 4))
            point[s] = v
        if condition is sympy.true or at(condition, point) is sympy.true:
            found.append(point)
            if len(found) == count:
                break
    return found


def same(raw: Any, shown: Any, condition: Any = sympy.true, what: str = "form") -> bool:
    """Whether `shown` equals `raw` wherever `condition` holds, at seeded random points.
    An internal SymconvError where they differ; False where no point could be checked (no
    point inside the condition was found, or a side does not work out to a number)."""
    raw, shown = sympy.sympify(raw, strict=True), sympy.sympify(shown, strict=True)
    symbols = sorted(raw.free_symbols | shown.free_symbols | getattr(
        condition, "free_symbols", set()), key=lambda s: s.name)
    small = frozenset().union(*(_small(e) for e in (raw, shown, condition)))
    checked = 0
    for point in points(symbols, condition, small=small):
        want, got = at(raw, point), at(shown, point)
        if want is None or got is None:
            return False
        if want != got:
            raise SymconvError(f"internal error: the presented {what} {shown} differs from the "
                               f"engine's {raw} at {point}")
        checked += 1
    return checked > 0


def _small(e: Any) -> set[Any]:
    """Symbols in exponents and summation bounds (large values there make huge numbers)."""
    if not isinstance(e, sympy.Basic):
        return set()
    found: set[Any] = set()
    for p in e.atoms(sympy.Pow):
        found |= p.exp.free_symbols
    for s in e.atoms(sympy.Sum, sympy.Product):
        for limit in s.limits:
            found |= limit[1].free_symbols | limit[2].free_symbols
    return found
