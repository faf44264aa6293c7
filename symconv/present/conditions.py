"""Conditions as a teacher states them: "H even", "W ≡ 1 (mod 4)", "S >= 2", "W in 193..224".

`readable(condition)` turns a SymPy boolean on the network's symbols (positive integers) into
data the renderers print (render/words.py): a `Residue`, a `Span` of one symbol, a `Relation`
as written, or `AllOf`/`AnyOf` of those; `Always`/`Never` where it is decided. A condition of
one symbol built from floors, ceilings and Mod of it (Eq(H, 2*floor(H/2))) is periodic in it,
and its residues are found exactly over one period (`simplify.quasi_linear` is the premise);
a linear one becomes a span. Every readable form is checked against the raw condition before
it is returned (`holds`; exhaustively over two periods, or at the span's ends and beyond).
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, assert_never

import sympy

from symconv.algebra.simplify import evaluate, period_of, quasi_linear
from symconv.errors import SymconvError

MAX_PERIOD = 360  # residues are listed for moduli up to this; past it the relation is kept


@dataclass(frozen=True, slots=True)
class Residue:
    """expr ≡ r (mod modulus) for r in remainders (modulus 2: expr even or odd)."""

    expr: sympy.Expr
    modulus: int
    remainders: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Span:
    """low <= symbol <= high over the integers (None: unbounded on that side)."""

    symbol: sympy.Symbol
    low: int | None
    high: int | None


@dataclass(frozen=True, slots=True)
class Relation:
    """lhs op rhs as written, op one of = != < <= > >=."""

    lhs: sympy.Expr
    op: str
    rhs: sympy.Expr


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Always:
    pass


@dataclass(frozen=True, slots=True)
class Never:
    pass


Condition = Residue | Span | Relation | AllOf | AnyOf | Always | Never

_OPS = {sympy.Eq: "=", sympy.Ne: "!=", sympy.Lt: "<", sympy.Le: "<=", sympy.Gt: ">",
        sympy.Ge: ">="}
_SYMPY_OPS = {"=": sympy.Eq, "!=": sympy.Ne, "<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt,
              ">=": sympy.Ge}


def readable(condition: Any) -> Condition:
    """The condition in the form a reader states it, checked against the raw one."""
    return _checked(sympy.sympify(condition, strict=True))


@functools.lru_cache(maxsize=4096)  # the same conditions are stated again and again
def _checked(raw: Any) -> Condition:
    shown = _readable(raw)
    _check(raw, shown)
    return shown


def holds(c: Condition) -> Any:
    """The readable condition as a SymPy boolean again (what `readable` is checked with)."""
    match c:
        case Residue(expr=e, modulus=m, remainders=rs):
            return sympy.Or(*(sympy.Eq(sympy.Mod(e, m), r) for r in rs))
        case Span(symbol=x, low=low, high=high):
            return sympy.And(sympy.true if low is None else x >= low,
                             sympy.true if high is None else x <= high)
        case Relation(lhs=lhs, op=op, rhs=rhs):
            return _SYMPY_OPS[op](lhs, rhs)
        case AllOf(parts=parts):
            return sympy.And(*map(holds, parts))
        case AnyOf(parts=parts):
            return sympy.Or(*map(holds, parts))
        case Always():
            return sympy.true
        case Never():
            return sympy.false
        case _:
            assert_never(c)


def _readable(c: Any) -> Condition:
    if c is sympy.true:
        return Always()
    if c is sympy.false:
        return Never()
    if isinstance(c, sympy.Not | sympy.Implies | sympy.Equivalent | sympy.Xor | sympy.ITE):
        pushed = sympy.to_nnf(c, simplify=False)  # negations pushed into the relations
        if pushed != c:
            return _readable(pushed)
    if isinstance(c, sympy.And):
        return _all_of([_readable(a) for a in c.args])
    if isinstance(c, sympy.Or):
        return AnyOf(tuple(_readable(a) for a in c.args))
    if not isinstance(c, sympy.core.relational.Relational) or type(c) not in _OPS:
        raise SymconvError(f"internal error: no readable form for the condition {c}")
    symbols = c.free_symbols
    if len(symbols) == 1:
        (x,) = symbols
        if x.is_integer and x.is_positive:
            found = _of_one_symbol(c, x)
            if found is not None:
                return found
    return _residue_of_sum(c) or Relation(c.lhs, _OPS[type(c)], c.rhs)


def _all_of(parts: list[Condition]) -> Condition:
    """The parts, with the spans of one symbol intersected (W >= 193 and W <= 224: one span)."""
    kept: list[Condition] = []
    for part in parts:
        if isinstance(part, Always):
            continue
        if isinstance(part, Never):
            return part
        same = next((i for i, k in enumerate(kept) if isinstance(k, Span) and isinstance(
            part, Span) and k.symbol == part.symbol), None)
        if same is None:
            kept.append(part)
            continue
        a = kept[same]
        assert isinstance(a, Span) and isinstance(part, Span)
        lows = [v for v in (a.low, part.low) if v is not None]
        highs = [v for v in (a.high, part.high) if v is not None]
        low, high = max(lows, default=None), min(highs, default=None)
        if low is not None and high is not None and low > high:
            return Never()
        kept[same] = Span(a.symbol, low, high)
    if not kept:
        return Always()
    return kept[0] if len(kept) == 1 else AllOf(tuple(kept))


def _without_mod(e: Any) -> Any:
    return e.replace(sympy.Mod, lambda a, b: a - b * sympy.floor(a / b))


def _of_one_symbol(c: Any, x: sympy.Symbol) -> Condition | None:
    """A span (linear sides) or residues (periodic sides) of the one symbol x >= 1."""
    diff = sympy.expand(_without_mod(c.lhs - c.rhs))
    rounded = diff.has(sympy.floor, sympy.ceiling)
    if not rounded:
        slope = diff.coeff(x)
        if sympy.expand(diff - slope * x).has(x) or not slope.is_Rational or slope == 0:
            return None
        a = Fraction(int(slope.p), int(slope.q))
        b = sympy.Rational(diff - slope * x)
        return _span(c, x, a, -Fraction(int(b.p), int(b.q)) / a)  # a*x + b op 0: x op -b/a
    period = period_of(diff)
    if period is None or period > MAX_PERIOD or not quasi_linear(diff, x, period):
        return None
    try:  # quasi-linear: diff(x + period) - diff(x) is one constant; 0 means periodic
        first = [evaluate(diff, x, n) for n in range(1, period + 1)]
        if evaluate(diff, x, period + 1) != first[0]:
            return None
        member = [bool(evaluate(c, x, n)) for n in range(1, period + 1)]
    except (TypeError, StopIteration):
        return None
    return _residues(x, period, member)


def _span(c: Any, x: sympy.Symbol, slope: Fraction, zero: Fraction) -> Condition:
    """a*x - a*zero op 0 over the integers x >= 1 (slope a != 0): a span of x."""
    op = _OPS[type(c)]
    if slope < 0:  # a*x op b with a < 0: x op' b/a
        op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
    low: int | None = None
    high: int | None = None
    if op == "=":
        if zero.denominator != 1:
            return Never()
        low = high = int(zero)
    elif op == "!=":
        if zero.denominator != 1 or zero < 1:
            return Always()
        if zero == 1:  # x != 1 over the positive integers: x >= 2
            return Span(x, 2, None)
        return Relation(x, "!=", sympy.Integer(int(zero)))
    elif op in (">", ">="):
        low = math.floor(zero) + 1 if op == ">" else math.ceil(zero)
    else:
        high = math.ceil(zero) - 1 if op == "<" else math.floor(zero)
    if high == 1 and (low is None or low <= 1):  # x <= 1 over the positive integers: x = 1
        low = 1
    elif low is not None and low <= 1:
        low = None
    if (high is not None and high < 1) or (low is not None and high is not None and low > high):
        return Never()
    if low is None and high is None:
        return Always()
    return Span(x, low, high)


def _residues(x: sympy.Symbol, period: int, member: list[bool]) -> Condition:
    """The classes where the condition holds, with the least modulus that decides it;
    member[i] is whether it holds at x = i + 1."""
    if all(member):
        return Always()
    if not any(member):
        return Never()
    modulus = next(d for d in range(1, period + 1) if period % d == 0 and all(
        member[i] == member[i % d] for i in range(period)))
    remainders = sorted({(i + 1) % modulus for i in range(modulus) if member[i]})
    return Residue(x, modulus, tuple(remainders))


def _residue_of_sum(c: Any) -> Residue | None:
    """Eq(A, m*floor(A/m)) and Eq(Mod(A, m), r) of several symbols: A ≡ r (mod m)."""
    if not isinstance(c, sympy.Eq):
        return None
    for lhs, rhs in ((c.lhs, c.rhs), (c.rhs, c.lhs)):
        if isinstance(lhs, sympy.Mod) and lhs.args[1].is_Integer and rhs.is_Integer:
            a, m = lhs.args
            if 0 <= rhs < m:
                return Residue(a, int(m), (int(rhs),))
    diff = sympy.expand(c.lhs - c.rhs)
    for r in diff.atoms(sympy.floor):
        numerator, m = sympy.fraction(sympy.together(r.args[0]))
        if not (m.is_Integer and m > 1):
            continue
        rest = sympy.expand(diff - diff.coeff(r) * r)
        if diff.coeff(r) == -m and sympy.expand(rest - numerator) == 0:
            return Residue(numerator, int(m), (0,))
        if diff.coeff(r) == m and sympy.expand(rest + numerator) == 0:
            return Residue(numerator, int(m), (0,))
    return None


# ---------------------------------------------------------------- the check before showing

_SAMPLES = 24


def _check(raw: Any, shown: Condition) -> None:
    """raw and shown agree: for one symbol at 1..64, over two periods of a residue and around
    a span's ends (and far out); for several at seeded random points; an internal error if
    not."""
    symbols = sorted(raw.free_symbols, key=lambda s: s.name)
    if len(symbols) == 1:
        values = set(range(1, 65)) | {10**6, 10**6 + 1}
        for part in _parts(shown):
            if isinstance(part, Residue):
                values |= set(range(1, 2 * part.modulus + 2))
            if isinstance(part, Span):
                values |= {v + d for v in (part.low, part.high) if v is not None
                           for d in (-1, 0, 1) if v + d >= 1}
        points = [{symbols[0]: n} for n in sorted(values)]
    else:
        rng = random.Random(len(symbols))
        points = [{s: rng.randint(1, 3 * MAX_PERIOD) for s in symbols} for _ in range(_SAMPLES)]
    presented = holds(shown)
    for point in points:
        subs = {s: sympy.Integer(v) for s, v in point.items()}
        want, got = raw.xreplace(subs), presented.xreplace(subs)
        if bool(want) != bool(got):
            raise SymconvError(f"internal error: the readable form of {raw} differs from it at "
                               f"{point}")


def _parts(c: Condition) -> list[Condition]:
    return [p for part in c.parts for p in _parts(part)] if isinstance(c, AllOf | AnyOf) else [c]
