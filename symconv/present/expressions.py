"""Closed forms as a textbook prints them: cases instead of a Piecewise, and each value in its
plain form under the symbols' assumptions (positive integers).

`cases(expr)` returns a `Presented`: the raw expression and a tuple of `Case(value, when)`.

    (K - 1)*Piecewise((L, Eq(S, 1)), ((1 - S**L)/(1 - S), True)) + 1
        → 1 + (K - 1)*(S**L - 1)/(S - 1)   for S >= 2
          1 + L*(K - 1)                    for S = 1

A Piecewise is split into cases at the top (the condition of a later piece is the negation of
the earlier ones, stated readably: Ne(S, 1) is S >= 2); a symbol a case pins (S = 1) is put
in. Each value is then rewritten, each rewrite only where its premise is proven:

- sums Σ with a closed form are summed (a summand free of roundings and pieces);
- nested floors and ceilings merged (`simplify.simplify_rounding`);
- Max and Min of arguments whose order is proven (under the case's lower bounds) resolved;
- a − b·⌊a/b⌋ written Mod(a, b) (b positive);
- a product of several symbols' terms factored where it reads shorter (D*(K - 1), not
  D*K - D);
- a fraction's sign normalised, so the denominator's leading term is positive
  ((S**L - 1)/(S - 1), not (1 - S**L)/(1 - S));
- a sum of fractions over one integer denominator kept as one fraction ((H + 1)/4).

Every case is compared with the raw expression at seeded random points inside its condition
(`present.check.same`) before it is returned: a mismatch is an internal SymconvError. Where a
form cannot be checked (no point found) or no readable split exists, the raw expression is
returned as the one case, so nothing unchecked is ever shown.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import sympy

from symconv.algebra.simplify import simplify_rounding
from symconv.errors import SymconvError
from symconv.present.check import same

MAX_CASES = 8


@dataclass(frozen=True, slots=True)
class Case:
    """One value of an expression and where it holds (`when` a SymPy boolean; sympy.true
    where the value always holds)."""

    value: Any
    when: Any


@dataclass(frozen=True, slots=True)
class Presented:
    """An expression as cases, each checked against `raw`."""

    raw: Any
    cases: tuple[Case, ...]

    @property
    def single(self) -> bool:
        """Whether one value holds everywhere."""
        return len(self.cases) == 1 and self.cases[0].when is sympy.true


def cases(expr: Any) -> Presented:
    """The expression as a tuple of cases (value, condition) in textbook form, checked."""
    if isinstance(expr, bool):
        raise SymconvError(f"internal error: a boolean {expr} is no expression to present")
    return _cases(sympy.sympify(expr, strict=True))


def textbook(expr: Any) -> Any:
    """The expression in textbook form where one value holds everywhere, else the raw
    expression (a Piecewise stays for the caller to split with `cases`)."""
    p = cases(expr)
    return p.cases[0].value if p.single else p.raw


@functools.lru_cache(maxsize=4096)
def _cases(raw: Any) -> Presented:
    if not isinstance(raw, sympy.Basic) or not raw.free_symbols:
        return Presented(raw, (Case(raw, sympy.true),))
    try:
        split = _split(_summed(raw), sympy.true)
    except _NoSplit:
        return Presented(raw, (Case(raw, sympy.true),))
    shown: list[Case] = []
    for value, when in split:
        value = _value(value, when)
        if not same(raw, value, when, "value"):
            return Presented(raw, (Case(raw, sympy.true),))
        shown.append(Case(value, when))
    # the general case first, the cases that pin a symbol (S = 1) after it
    shown.sort(key=lambda c: bool(_pinned(c.when)) if c.when is not sympy.true else False)
    return Presented(raw, tuple(shown))


# ---------------------------------------------------------------- cases


class _NoSplit(Exception):
    pass


def _split(expr: Any, condition: Any, depth: int = 0) -> list[tuple[Any, Any]]:
    """(value, condition) pairs, one per combination of the pieces of expr's Piecewise."""
    piece = _liftable(expr)
    if piece is None and expr.has(sympy.Max, sympy.Min):
        # extrema only once the pieces inside them are split (a Piecewise built on a
        # condition holding a Piecewise folds it into an ITE)
        pieces = _extrema_as_pieces(expr, _lower_bounds(condition))
        if pieces != expr:
            return _split(pieces, condition, depth + 1)
    if piece is None:  # a leaf: the symbols the case pins put in
        if condition is sympy.true:
            return [(expr, condition)]
        fixed = _pinned(condition)
        pinned = expr.xreplace(fixed)
        if pinned.has(sympy.nan, sympy.zoo):
            raise _NoSplit
        others = _condition(condition.xreplace(fixed))  # S = 1 and W <= 3*S**L: W <= 3
        return [(pinned, sympy.And(*(sympy.Eq(x, v) for x, v in fixed.items()), others))]
    if depth > 4:
        raise _NoSplit
    out: list[tuple[Any, Any]] = []
    earlier: Any = sympy.false
    for value, c in piece.args:
        here = _condition(sympy.And(condition, c, sympy.Not(earlier)))
        earlier = sympy.Or(earlier, c)
        if here is sympy.false:
            continue
        out += _split(expr.xreplace({piece: value}), here, depth + 1)
        if len(out) > MAX_CASES:
            raise _NoSplit
    return out


def _extrema_as_pieces(expr: Any, lows: dict[Any, int]) -> Any:
    """Max and Min whose order is not proven as pieces (a case each); the others resolved."""
    if not expr.has(sympy.Max, sympy.Min):
        return expr
    def pieces(m: Any) -> Any:
        m = _extremum(m, lows)
        if not isinstance(m, sympy.Max | sympy.Min):
            return m
        wins = sympy.Ge if isinstance(m, sympy.Max) else sympy.Le
        return sympy.Piecewise(*((a, sympy.And(*(wins(a, b) for b in m.args if b is not a)))
                                 for a in m.args[:-1]), (m.args[-1], True))

    return expr.replace(lambda x: isinstance(x, sympy.Max | sympy.Min), pieces)


def _liftable(expr: Any) -> Any:
    """A Piecewise of expr whose conditions mention no summation index, or None."""
    bound: set[Any] = set()
    for s in expr.atoms(sympy.Sum, sympy.Product):
        bound |= {limit[0] for limit in s.limits}
    pieces = [p for p in expr.atoms(sympy.Piecewise)
              if not any(c.has(sympy.Piecewise) for _, c in p.args)]  # innermost first
    for p in sorted(pieces, key=sympy.default_sort_key):
        if any(c.free_symbols & bound for _, c in p.args):
            raise _NoSplit
        return p
    if expr.has(sympy.Piecewise):
        raise _NoSplit
    return None


def _condition(c: Any) -> Any:
    """The condition as its readable form states it (Ne(S, 1) as S >= 2; false where it
    never holds), a SymPy boolean again."""
    from symconv.present.conditions import holds, readable

    if c is sympy.true or c is sympy.false:
        return c
    c = c.replace(lambda e: isinstance(e, sympy.core.relational.Relational), _decided)
    if c is sympy.true or c is sympy.false:
        return c
    try:
        return holds(readable(c))
    except SymconvError:
        raise _NoSplit from None


def _decided(relation: Any) -> Any:
    """A relation the symbols' signs decide, as true or false (K + S > K + S*K: the
    difference −S·(K − 1) is never positive); else the relation as it is."""
    if type(relation) not in (sympy.Lt, sympy.Le, sympy.Gt, sympy.Ge, sympy.Eq, sympy.Ne):
        return relation
    difference = sympy.factor(relation.lhs - relation.rhs)
    decided = relation.func(difference, 0)
    return decided if decided in (sympy.true, sympy.false) else relation


def _pinned(condition: Any) -> dict[Any, Any]:
    """The symbols a condition fixes to one value (S = 1: S ↦ 1)."""
    from symconv.present.conditions import AllOf, Span, readable

    shown = readable(condition)
    parts = shown.parts if isinstance(shown, AllOf) else (shown,)
    return {p.symbol: sympy.Integer(p.low) for p in parts
            if isinstance(p, Span) and p.low is not None and p.low == p.high}


# ---------------------------------------------------------------- values


def _summed(expr: Any) -> Any:
    """Each Σ whose summand has no rounding, piece or extremum, summed in closed form."""
    def closed(s: Any) -> Any:
        if s.function.has(sympy.floor, sympy.ceiling, sympy.Piecewise, sympy.Max, sympy.Min,
                          sympy.Mod):
            return s
        done = s.doit()
        return s if done.has(sympy.Sum) else done

    if not expr.has(sympy.Sum):
        return expr
    return expr.replace(lambda e: isinstance(e, sympy.Sum), closed)


def _value(expr: Any, when: Any) -> Any:
    """The value rewritten for reading, under the case's condition."""
    lows = _lower_bounds(when)
    e = _summed(expr)
    if e.has(sympy.floor, sympy.ceiling):
        e = sympy.sympify(simplify_rounding(e), strict=True)
    if e.has(sympy.Max, sympy.Min):
        e = e.replace(lambda x: isinstance(x, sympy.Max | sympy.Min),
                      lambda x: _extremum(x, lows))
    if e.has(sympy.floor, sympy.ceiling):
        e = _as_mod(_rounding_arguments(e))
    e = _factored(e)
    e = _signs(e)
    return _numbers_out(_one_fraction(e))


def _lower_bounds(when: Any) -> dict[Any, int]:
    from symconv.present.conditions import AllOf, Span, readable

    if when is sympy.true:
        return {}
    shown = readable(when)
    parts = shown.parts if isinstance(shown, AllOf) else (shown,)
    return {p.symbol: p.low for p in parts if isinstance(p, Span) and p.low is not None}


def _nonnegative(e: Any, lows: dict[Any, int]) -> bool:
    """e >= 0 proven for positive integer symbols with the given lower bounds."""
    shifted = e.xreplace({x: x + (low - 1) for x, low in lows.items() if low > 1})
    return any(bool(form.is_nonnegative) for form in (shifted, sympy.expand(shifted),
                                                       sympy.factor(shifted)))


def _extremum(m: Any, lows: dict[Any, int]) -> Any:
    """Max or Min with every argument another one provably dominates left out."""
    def dominates(b: Any, a: Any) -> bool:
        return _nonnegative(b - a if isinstance(m, sympy.Max) else a - b, lows)

    keep: list[Any] = []
    for a in m.args:
        if any(dominates(b, a) for b in keep):
            continue
        keep = [b for b in keep if not dominates(a, b)]
        keep.append(a)
    return m.func(*keep)


def _as_mod(e: Any) -> Any:
    """a − b·⌊a/b⌋ as Mod(a, b) and a + b·⌈-a/b⌉ likewise, b positive, where it reads
    shorter."""
    def rewrite(add: Any) -> Any:
        for term in add.args:
            coefficient, r = term.as_independent(sympy.floor, sympy.ceiling, as_Add=False)
            if not isinstance(r, sympy.floor | sympy.ceiling):
                continue
            u = r.args[0]
            if isinstance(r, sympy.ceiling):  # ⌈x⌉ = −⌊−x⌋
                coefficient, u = -coefficient, -u
            rest = add - term
            # c·⌊u⌋ with ±c = d > 0: rest − d⌊n/d⌋ = rest − n + Mod(n, d), n = d·u
            for sign in (1, -1):
                d = sign * coefficient
                if not d.is_positive:
                    continue
                n = sympy.cancel(d * u)
                joined = sympy.expand(rest + sign * n)
                if len(sympy.Add.make_args(joined)) >= len(sympy.Add.make_args(
                        sympy.expand(rest))) + len(sympy.Add.make_args(sympy.expand(n))):
                    continue  # nothing cancels: no shorter form (and factoring is slow)
                n = _fraction_of(n)
                candidate = _fraction_of(sympy.cancel(joined)) - sign * sympy.Mod(n, d)
                if _size(candidate) < _size(add):
                    return candidate
        return add

    return e.replace(lambda x: isinstance(x, sympy.Add), rewrite)


def _fraction_of(e: Any) -> Any:
    """A rational function in whichever of its usual forms reads shortest."""
    forms = [e, sympy.expand(e), sympy.factor(e), _factored(sympy.expand(e))]
    return min(forms, key=_size)


def _size(e: Any) -> tuple[int, int]:
    """How long an expression reads: symbol occurrences, then operations."""
    return (sum(1 for a in sympy.preorder_traversal(e) if isinstance(a, sympy.Symbol)),
            int(sympy.count_ops(e)))


def _factored(e: Any) -> Any:
    """Each sum with a symbol that is a factor of several terms collected where it reads
    shorter: D*(K - 1) + 1 rather than D*K - D + 1."""
    if not isinstance(e, sympy.Basic) or not e.args:
        return e
    args = [_factored(a) for a in e.args]
    e = e.func(*args) if args != list(e.args) else e
    if not isinstance(e, sympy.Add):
        return e
    best = e
    for s in sorted(e.free_symbols, key=lambda s: s.name):
        having = [t for t in e.args if s in sympy.Mul.make_args(t)]
        if len(having) < 2:
            continue
        rest = [t for t in e.args if t not in having]
        inner = sympy.factor(sympy.Add(*(t / s for t in having)))
        candidate = sympy.Add(*rest, s * inner)
        if _size(candidate) < _size(best):
            best = candidate
    return best


def _leading_negative(add: Any) -> bool:
    """Whether the sum's leading term (its first one not a number) carries a minus sign."""
    terms = [t for t in add.as_ordered_terms() if not t.is_Number]
    return bool(terms) and terms[0].could_extract_minus_sign()


def _all_negative(add: Any) -> bool:
    """Whether every term of the sum but a number carries a minus sign (1 − K, −K − W)."""
    terms = [t for t in add.args if not t.is_Number]
    return bool(terms) and all(t.could_extract_minus_sign() for t in terms)


def _signs(e: Any) -> Any:
    """Signs moved out of the sums of a product: a denominator whose leading term is
    negative, or a factor all of whose terms are, multiplied by −1, the sign carried to a
    numerator led by a minus or else to the product: (1 − S^L)/(1 − S) → (S^L − 1)/(S − 1),
    D*(1 − K) → −D*(K − 1). A number times a sum is left as SymPy writes it."""
    def flippable(f: Any) -> tuple[Any, Any] | None:
        base, exp = (f.base, f.exp) if isinstance(f, sympy.Pow) else (f, sympy.S.One)
        if isinstance(base, sympy.Add) and exp.is_Integer:
            return base, exp
        return None

    def normalise(m: Any) -> Any:
        factors = list(m.args)
        if sum(1 for f in factors if not f.is_Number) < 2:
            return m
        flips = 0
        for i, f in enumerate(factors):
            found = flippable(f)
            if found is None:
                continue
            base, exp = found
            if (_leading_negative(base) if exp < 0 else _all_negative(base)):
                factors[i] = sympy.Pow(sympy.expand(-base), exp)
                flips += abs(int(exp))
        if flips % 2:
            led = [i for i, f in enumerate(factors) if (found := flippable(f)) is not None
                   and found[1] == 1 and _leading_negative(found[0])]
            if led:
                factors[led[0]] = sympy.expand(-factors[led[0]])
                flips += 1
        if not flips:
            return m
        product = sympy.Mul(*factors)
        return -product if flips % 2 else product

    if not isinstance(e, sympy.Basic) or not e.args:
        return e
    return e.replace(lambda x: isinstance(x, sympy.Mul), normalise)


def _rounding_arguments(e: Any) -> Any:
    """Each floor's or ceiling's argument in its shortest usual form (one fraction where
    the terms share a denominator)."""
    def shorter(r: Any) -> Any:
        arg = r.args[0]
        forms = [arg, sympy.together(arg), sympy.factor_terms(sympy.together(arg)),
                 sympy.cancel(arg)]
        best = min(forms, key=_size)
        return r if best == arg else r.func(best)

    return e.replace(lambda x: isinstance(x, sympy.floor | sympy.ceiling), shorter)


def _one_fraction(e: Any) -> Any:
    """A sum whose terms have rational coefficients over one denominator q > 1 as one
    fraction (H/4 + 1/4 → (H + 1)/4), at the top and inside roundings; kept unevaluated,
    for display."""
    def joined(add: Any) -> Any:
        coefficients = [t.as_coeff_Mul()[0] for t in add.args]
        if not all(c.is_Rational for c in coefficients):
            return add
        q = math.lcm(*(int(c.q) for c in coefficients))
        if q == 1 or sum(1 for c in coefficients if c.q != 1) < 2:
            return add
        numerator = sympy.Add(*(q * t for t in add.args))
        return sympy.Mul(numerator, sympy.Pow(sympy.Integer(q), -1, evaluate=False),
                         evaluate=False)

    if isinstance(e, sympy.Add):
        return joined(e)
    if isinstance(e, sympy.floor | sympy.ceiling) and isinstance(e.args[0], sympy.Add):
        return e.func(joined(e.args[0]), evaluate=False)
    if isinstance(e, sympy.Mul | sympy.Add) and e.has(sympy.floor, sympy.ceiling):
        args = [_one_fraction(a) if isinstance(a, sympy.floor | sympy.ceiling) else a
                for a in e.args]
        return e.func(*args, evaluate=False) if args != list(e.args) else e
    return e


def _numbers_out(e: Any) -> Any:
    """A whole number that divides every term of a sum with a constant term taken out of the
    sum, and a product's numbers gathered in front, kept unevaluated: 8·(⌊…⌋ + 1)·(⌊…⌋ + 1)
    and 8·(F − 17)², the channels times the output sizes as the formula multiplies them,
    rather than SymPy's distributed (8⌊…⌋ + 8)(⌊…⌋ + 1) and (F − 17)(8F − 136). Only sums
    and products are entered (a floor's argument keeps its form)."""
    if isinstance(e, sympy.Add):
        args = [_numbers_out(a) for a in e.args]
        whole = e if args == list(e.args) else sympy.Add(*args, evaluate=False)
        content, primitive = whole.as_content_primitive()
        if (content.is_Integer and content > 1 and isinstance(primitive, sympy.Add)
                and any(t.is_Number for t in primitive.args)):
            return sympy.Mul(content, primitive, evaluate=False)
        return whole
    if isinstance(e, sympy.Mul):
        args = [_numbers_out(a) for a in e.args]
        if args == list(e.args):
            return e
        number, factors = sympy.Integer(1), []
        for a in args:
            inner = list(a.args) if isinstance(a, sympy.Mul) and a.args[0].is_Number else [a]
            for f in inner:
                if f.is_Number:
                    number *= f
                else:
                    factors.append(f)
        coefficient, product = sympy.Mul(*factors).as_coeff_Mul()  # (twice met: a power)
        number *= coefficient
        if number == 1:
            return product
        return sympy.Mul(number, *sympy.Mul.make_args(product), evaluate=False)
    return e
