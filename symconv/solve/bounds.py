"""Proven integer rewrites of a solve answer's bounds, and their values for large arguments.

The symbols are positive integers (symbols.symbol); the stand-ins `t` of a residue split
(X = L*t + r) are nonnegative integers. Each rewrite holds under exactly that premise:

- ceiling(x) and floor(x) of an integer x is x (SymPy's own evaluation, with the evaluation
  the solver deferred done here);
- a - b*floor(a/b) is Mod(a, b) for b != 0 (SymPy's Mod is that remainder by definition);
- Max(c, x) is x where x >= c is proven by a lower bound (`lower`), Min(c, x) likewise.

`eventually(e, t)` gives the value of e for every integer t above a threshold, where e is
built from rational functions of t, floors, ceilings, Max, Min and Piecewise: a floor of a
rational function is eventually a polynomial plus a constant, and every sign is eventually
the sign of a leading coefficient (past Cauchy's bound on the real roots).
"""

from __future__ import annotations

import math
from typing import Any

import sympy

ROUNDINGS = (sympy.floor, sympy.ceiling, sympy.Mod)


class Unsure(Exception):
    """An expression outside the shapes `eventually` knows (an internal signal)."""


def tidy(e: Any, expand: bool = True) -> Any:
    """e with the deferred evaluation done and the proven rewrites applied; `expand` expands
    the argument of each rounding (so that SymPy takes the integer terms out of it)."""
    e = sympy.sympify(e, strict=True)
    if e.is_number or e is sympy.oo:
        return e
    if not expand:  # as written, but a rounding of an integer is that integer
        e = e.replace(lambda x: isinstance(x, sympy.floor | sympy.ceiling)
                      and x.args[0].is_integer, lambda x: x.args[0])
    else:
        e = e.doit()
        e = e.replace(lambda x: isinstance(x, sympy.floor | sympy.ceiling) and sympy.fraction(
            sympy.together(x.args[0]))[1].is_number,
            lambda x: x.func(sympy.expand(x.args[0])))
    e = e.replace(lambda x: x.is_Add, _as_mod)
    e = e.replace(lambda x: isinstance(x, sympy.Max | sympy.Min), _drop_implied)
    return e


def _as_mod(e: Any) -> Any:
    """An Add holding a - b*floor(a/b): Mod(a, b) plus the rest, where the rest is a number."""
    for term in e.args:
        floors = [f for f in sympy.Mul.make_args(term) if isinstance(f, sympy.floor)]
        if len(floors) != 1:
            continue
        a, b = sympy.fraction(sympy.together(floors[0].args[0]))
        if not b.is_nonzero or sympy.expand(term / floors[0] + b) != 0:
            continue
        rest = sympy.expand(e - term - a)
        if rest.is_number:
            return sympy.Mod(sympy.expand(a), b) + rest
    return e


def _drop_implied(e: Any) -> Any:
    """Max (Min) without the arguments another argument is proven to be above (below)."""
    big = isinstance(e, sympy.Max)
    kept = list(e.args)
    for a in list(kept):
        if any(b is not a and proven_nonnegative((b - a) if big else (a - b)) for b in kept):
            kept.remove(a)
    return kept[0] if len(kept) == 1 else e.func(*kept)


def lower(e: Any) -> sympy.Rational | None:
    """A proven lower bound of e over the symbols' domains (positive integers, stand-ins
    nonnegative), or None."""
    e = sympy.sympify(e, strict=True)
    if e.is_Rational:
        return e
    if e.is_Symbol:
        return sympy.Integer(1) if e.is_positive else sympy.Integer(0) if e.is_nonnegative \
            else None
    if isinstance(e, sympy.Add):
        parts = [lower(a) for a in e.args]
        return None if any(p is None for p in parts) else sympy.Add(*parts)
    if isinstance(e, sympy.Mul):
        c, rest = e.as_coeff_Mul()
        if c.is_negative:
            return None
        factors = [lower(a) for a in sympy.Mul.make_args(rest)]
        if any(f is None or f < 0 for f in factors):
            return None
        return c * sympy.Mul(*factors)
    if isinstance(e, sympy.Pow) and e.exp.is_Integer and e.exp > 0:
        base = lower(e.base)
        return None if base is None or base < 0 else base ** e.exp
    if isinstance(e, sympy.floor | sympy.ceiling):
        inner = lower(e.args[0])
        return None if inner is None else e.func(inner)
    if isinstance(e, sympy.Mod) and e.args[1].is_positive:
        return sympy.Integer(0)
    if isinstance(e, sympy.Max):
        found = [b for b in map(lower, e.args) if b is not None]
        return max(found) if found else None
    if isinstance(e, sympy.Min):
        found = [lower(a) for a in e.args]
        return None if any(b is None for b in found) else min(b for b in found if b is not None)
    return None


def proven_nonnegative(e: Any) -> bool:
    """e >= 0 proven: by `lower` after expanding, each Mod(a, b) written m or b - 1 - m
    (m >= 0 a stand-in; either is exact, dropping m <= b - 1 only widens the domain)."""
    e = sympy.expand(sympy.sympify(e, strict=True))
    mods = [m for m in e.atoms(sympy.Mod) if m.args[1].is_positive]
    tries = [e]
    if mods:
        stand = {m: sympy.Dummy(integer=True, nonnegative=True) for m in mods}
        tries = [sympy.expand(e.xreplace(stand)),
                 sympy.expand(e.xreplace({m: m.args[1] - 1 - s for m, s in stand.items()}))]
    for candidate in tries:
        bound = lower(candidate)
        if bound is not None and bound >= 0:
            return True
    return False


def decided(condition: Any) -> bool | None:
    """True or False where a relation is proven (numbers, or a lower bound), else None."""
    c = sympy.sympify(condition, strict=True)
    if c is sympy.true or c is sympy.false:
        return bool(c)
    if isinstance(c, sympy.And):
        parts = [decided(a) for a in c.args]
        return False if False in parts else True if all(parts) else None
    if not isinstance(c, sympy.core.relational.Relational):
        return None
    d = sympy.expand(c.lhs - c.rhs)
    ops = {sympy.Ge: (d, -d - 1), sympy.Gt: (d - 1, -d), sympy.Le: (-d, d - 1),
           sympy.Lt: (-d - 1, d)}
    if type(c) in ops and all(sympy.sympify(x, strict=True).is_integer for x in (c.lhs, c.rhs)):
        yes, no = ops[type(c)]
        if proven_nonnegative(yes):
            return True
        if proven_nonnegative(no):
            return False
    return None


# ---------------------------------------------------------------- large arguments


def eventually(e: Any, t: sympy.Symbol) -> tuple[Any, int]:
    """(v, T): e equals v, free of roundings, for every integer t > T."""
    e = sympy.sympify(e, strict=True)
    if not e.has(t) or e == t:
        if e.has(*ROUNDINGS) and not e.is_number:
            raise Unsure("a rounding of other symbols")
        return e, -1
    if isinstance(e, sympy.Add | sympy.Mul | sympy.Pow):
        found = [eventually(a, t) for a in e.args]
        return sympy.cancel(e.func(*(v for v, _ in found))), max(T for _, T in found)
    if isinstance(e, sympy.floor | sympy.ceiling):
        return _rounding(e, t)
    if isinstance(e, sympy.Max | sympy.Min):
        found = [eventually(a, t) for a in e.args]
        best, T = found[0]
        for v, T_v in found[1:]:
            sign, T_s = _sign(v - best, t)
            if (sign > 0) == isinstance(e, sympy.Max) and sign != 0:
                best = v
            T = max(T, T_v, T_s)
        return best, T
    if isinstance(e, sympy.Piecewise):
        T = -1
        for value, cond in e.args:
            holds, T_c = _truth(cond, t)
            T = max(T, T_c)
            if holds:
                v, T_v = eventually(value, t)
                return v, max(T, T_v)
        raise Unsure("no branch of a Piecewise holds")
    raise Unsure(f"no rule for {type(e).__name__}")


def eventually_true(c: Any, t: sympy.Symbol) -> tuple[bool, int]:
    """(truth, T): the truth of a relation (or And/Or of them) for every integer t > T."""
    return _truth(c, t)


def _truth(c: Any, t: sympy.Symbol) -> tuple[bool, int]:
    if c is sympy.true or c is sympy.false:
        return bool(c), -1
    if isinstance(c, sympy.And | sympy.Or):
        found = [_truth(a, t) for a in c.args]
        values = [v for v, _ in found]
        return (all(values) if isinstance(c, sympy.And) else any(values)), max(
            T for _, T in found)
    if not isinstance(c, sympy.core.relational.Relational):
        raise Unsure("a condition that is not a relation")
    lhs, T_l = eventually(c.lhs, t)
    rhs, T_r = eventually(c.rhs, t)
    sign, T_s = _sign(lhs - rhs, t)
    ops = {sympy.Eq: sign == 0, sympy.Ne: sign != 0, sympy.Ge: sign >= 0, sympy.Gt: sign > 0,
           sympy.Le: sign <= 0, sympy.Lt: sign < 0}
    if type(c) not in ops:
        raise Unsure("an unknown relation")
    return ops[type(c)], max(T_l, T_r, T_s)


def _rounding(e: Any, t: sympy.Symbol) -> tuple[Any, int]:
    """floor or ceiling of a rational function g of t: g = q + rem/den with q a polynomial
    taking integer values and rem/den -> 0, so the rounding is q plus the rounding of a
    quantity of one sign inside (-1, 1)."""
    g, T = eventually(e.args[0], t)
    num, den = sympy.fraction(sympy.cancel(g))
    try:
        pn, pd = sympy.Poly(num, t), sympy.Poly(den, t)
    except sympy.PolynomialError:
        raise Unsure("not a rational function") from None
    if not (pn.free_symbols_in_domain == set() and pd.free_symbols_in_domain == set()):
        raise Unsure("other symbols in a rational function")
    q, rem = sympy.div(pn, pd)
    if not all(c.is_integer for c in q.all_coeffs()):
        raise Unsure("a quotient with fractions")  # integer-valued only with a split
    sign, T_s = _sign(rem.as_expr() / den, t)
    bound = max(_root_bound(p) for p in (rem - pd, rem + pd, pd))
    inside = {(sympy.floor, 1): 0, (sympy.floor, 0): 0, (sympy.floor, -1): -1,
              (sympy.ceiling, 1): 1, (sympy.ceiling, 0): 0, (sympy.ceiling, -1): 0}
    return q.as_expr() + inside[(e.func, sign)], max(T, T_s, bound)


def _sign(e: Any, t: sympy.Symbol) -> tuple[int, int]:
    """(s, T): the sign of the rational function e for every integer t > T."""
    num, den = sympy.fraction(sympy.cancel(sympy.together(e)))
    if num == 0:
        return 0, -1
    try:
        pn, pd = sympy.Poly(num, t), sympy.Poly(den, t)
    except sympy.PolynomialError:
        raise Unsure("not a rational function") from None
    lc = pn.LC() * pd.LC()
    if not lc.is_number:
        raise Unsure("a leading coefficient with other symbols")
    return (1 if lc > 0 else -1), max(_root_bound(pn), _root_bound(pd))


def _root_bound(p: sympy.Poly) -> int:
    """An integer above every real root of p (Cauchy's bound); -1 for a constant."""
    coeffs = p.all_coeffs()
    if len(coeffs) <= 1:
        return -1
    if not all(c.is_number for c in coeffs):
        raise Unsure("coefficients with other symbols")
    lead = abs(coeffs[0])
    return math.ceil(1 + max(abs(c) / lead for c in coeffs[1:]))
