"""A solve answer as a teacher writes it: `P = (K - 1)/2 for K odd; no integer P for K even`.

`present(solution)` turns the solver's raw answer (an interval low <= u <= high in the other
symbols, and conditions) into `Case`s: when the other symbols satisfy `when` (a SymPy
boolean, printed in words by render/words.py), the unknown takes `answer`. The bounds are
first rewritten where the rewrite is proven (present/bounds.py); then

1. a bound holding floors of (polynomials in X)/m is split on X mod L (L the least common
   multiple of the denominators; at most MAX_CLASSES classes in all): with X = L*t + r the
   roundings vanish, and low and high are compared in each class;
2. with one other symbol X in a divisor (a stride), each class is taken to large X, where
   every floor of a rational function is constant past a computed threshold, and the
   finitely many X below it are solved one by one with the numeric solver;
3. anything else keeps the interval (rewritten) and says what was not simplified.

Every presented answer is compared with the raw one (`Solution.contains`) and with the
numeric solver at a grid and a seeded sample of points before it is returned
(present/solution_check.py); a mismatch is an internal SymconvError.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import TYPE_CHECKING, Any

import sympy

from symconv.algebra.simplify import simplify_rounding
from symconv.algebra.symbols import symbol
from symconv.solve.answer import NONE, Answer, Case, Presented, answer_of
from symconv.solve.bounds import (
    ROUNDINGS,
    Unsure,
    decided,
    eventually,
    eventually_true,
    proven_nonnegative,
    tidy,
)
from symconv.solve.invert import Between, NotInvertible, invert
from symconv.solve.present_check import check, numeric_answer
from symconv.solve.walk import Condition

if TYPE_CHECKING:
    from symconv.solve.solution import Solution

MAX_CLASSES = 16  # residue classes of a split, all symbols together
MAX_SMALL = 64  # values of a symbol below a threshold solved one by one


def cases(solution: Solution) -> tuple[Case, ...]:
    """The presented cases of a solution (see `present`)."""
    return present(solution).cases


def present(solution: Solution) -> Presented:
    """The readable form of a solution, checked against the raw answer and the numeric
    solver before it is returned."""
    return _present(solution, solution.network, solution.targets)


@functools.lru_cache(maxsize=256)
def _present(solution: Solution, network: Any, targets: tuple[Any, ...]) -> Presented:
    equations, inequalities = steps(solution)
    if solution.empty:
        return Presented(solution.unknown, (), (), solution.reason, equations, inequalities)
    low, high = sympy.sympify(solution.low, strict=True), sympy.sympify(solution.high,
                                                                     strict=True)
    if solution.values is not None or (low.is_number and high.is_number
                                       and not solution.conditions):
        answer = answer_of(solution)
        return Presented(solution.unknown, (Case(sympy.true, answer),), (), solution.reason,
                         equations, inequalities)
    found, where, reason = _symbolic(solution)
    shown = Presented(solution.unknown, found, where, reason, equations, inequalities)
    check(solution, shown)
    return shown


# ---------------------------------------------------------------- the working shown


def steps(solution: Solution) -> tuple[tuple[sympy.Eq, ...], tuple[Between, ...]]:
    """The equations with nested roundings merged (the closed form the table shows:
    ceiling(W/32) = 7, not five nested floors) and the inequalities they become; the raw
    ones where the merged form does not invert. Each merged side is compared with the raw
    side at seeded points first."""
    raw = tuple(dict.fromkeys(solution.equations))
    u = symbol(solution.unknown)
    merged = []
    for e in raw:
        lhs = _merged(e.lhs)
        _same_values(e.lhs, lhs)
        merged.append(sympy.Eq(lhs, e.rhs, evaluate=False))
    found: list[Between] = []
    for e in merged:
        if not e.lhs.has(u):
            continue
        try:
            found.extend(invert(e.lhs, u, e.rhs)[2])
        except NotInvertible:
            return raw, solution.inequalities
    return tuple(merged), tuple(dict.fromkeys(found))


def _merged(e: Any) -> Any:
    """e with nested roundings merged (simplify_rounding) and a rounding of an integer
    dropped; a single rounding of a fraction is kept, being the working a reader follows."""
    e = sympy.sympify(e, strict=True)
    nested = any(r.args[0].has(sympy.floor, sympy.ceiling)
                 for r in e.atoms(sympy.floor, sympy.ceiling))
    if nested:
        e = sympy.sympify(simplify_rounding(e), strict=True)
    return e.replace(lambda x: isinstance(x, sympy.floor | sympy.ceiling)
                     and x.args[0].is_integer, lambda x: x.args[0])


def _same_values(raw: Any, merged: Any) -> None:
    from symconv.errors import SymconvError

    names = sorted(raw.free_symbols | merged.free_symbols, key=str)
    for n in range(12):
        point = {s: sympy.Integer(1 + (n * 7 + i * 13) % (5 + 40 * (n % 3))) for i, s in
                 enumerate(names)}
        if sympy.sympify(raw, strict=True).xreplace(point) != merged.xreplace(point):
            raise SymconvError(f"internal error: the merged form {merged} of {raw} differs "
                               f"from it at {point}")


# ---------------------------------------------------------------- symbolic answers


def _symbolic(solution: Solution) -> tuple[tuple[Case, ...], tuple[Condition, ...], str]:
    u = symbol(solution.unknown)
    low, high = tidy(solution.low), tidy(solution.high)
    tied = [c for c in solution.conditions if sympy.sympify(c.holds, strict=True).has(u)]
    where = tuple(c for c in solution.conditions if c not in tied)
    interval = f"{_sstr(low)} <= {u} <= {_sstr(high)}"
    bounds = "the bounds" if any(isinstance(e, sympy.Basic) and e.has(
        sympy.Max, sympy.Min, sympy.Piecewise) for e in (low, high)) else interval
    periods = _periods([low, high, *(c.holds for c in tied)], u)
    if periods is not None:
        split = _split(u, low, high, tied, periods)
        if split is not None and _readable_split(split[0]):
            found, kept = split
            by = ", ".join(f"{x} mod {L}" for x, L in periods.items() if L > 1)
            why = f"{bounds} compared for each {by}" if by else (
                "for every value of the other symbols" if len(found) == 1 and found[
                    0].answer.single is not None else f"the integers {u} with {interval}")
            return found, where + kept, why
        others = _others(solution, u)
        if len(others) == 1:
            large = _large(solution, u, low, high, tied, others[0], periods.get(others[0], 1))
            if large is not None:
                x = others[0]
                return large, where, (f"{bounds} taken to large {x} in closed form (for each "
                                      f"{x} mod {periods.get(x, 1)}), the smaller {x} solved "
                                      "one by one")
    low, high = tidy(solution.low, expand=False), tidy(solution.high, expand=False)
    interval = f"{_sstr(low)} <= {u} <= {_sstr(high)}"
    answer = Answer(low, high)
    note = ("none where the lower end exceeds the upper; "
            if not proven_nonnegative(high - low) and high != sympy.oo else "")
    # (a Piecewise is named for what it is to a reader: cases)
    left = " and ".join(sorted({type(a).__name__.replace("Piecewise", "cases")
                                for a in (low, high) if isinstance(a, sympy.Basic)
                                for a in a.atoms(*ROUNDINGS, sympy.Piecewise, sympy.Max,
                                                 sympy.Min)}))
    why = f"the integers {u} with {interval} ({note}not split into cases"
    why += f": the {left} kept)" if left else ")"
    return (Case(sympy.true, answer),), where + tuple(tied), why


def _others(solution: Solution, u: sympy.Symbol) -> list[sympy.Symbol]:
    found: set[sympy.Symbol] = set()
    for e in (solution.low, solution.high, *(c.holds for c in solution.conditions)):
        found |= sympy.sympify(e, strict=True).free_symbols
    found.discard(u)
    return sorted(found, key=str)


def _periods(exprs: list[Any], u: sympy.Symbol) -> dict[sympy.Symbol, int] | None:
    """For each symbol, the modulus L that makes every floor, ceiling and Mod of a
    polynomial with rational coefficients in it vanish with X = L*t + r (the least common
    multiple of the denominators met); None past MAX_CLASSES classes in all."""
    periods: dict[sympy.Symbol, int] = {}
    for e in exprs:
        e = sympy.sympify(e, strict=True)
        for atom in e.atoms(*ROUNDINGS):
            if isinstance(atom, sympy.Mod) and len(atom.free_symbols) > 1:
                continue  # Mod(W - K, 2) is itself the answer a teacher writes
            arg = atom.args[0] / atom.args[1] if isinstance(atom, sympy.Mod) else atom.args[0]
            inner = {a: sympy.Dummy() for a in arg.atoms(*ROUNDINGS)}
            plain = sympy.expand(arg.xreplace(inner))
            names = plain.free_symbols - set(inner.values()) - {u}
            try:
                poly = sympy.Poly(plain, *names, *inner.values())
            except sympy.PolynomialError:
                continue  # a symbol in a divisor: not a residue question
            if not names or not all(c.is_Rational for c in poly.coeffs()):
                continue
            m = math.lcm(*(int(c.q) for c in poly.coeffs()))
            for x in names:
                periods[x] = math.lcm(periods.get(x, 1), m)
    if math.prod(periods.values()) > MAX_CLASSES:
        return None
    return dict(sorted(periods.items(), key=lambda item: item[0].name))  # not in set order


def _split(u: sympy.Symbol, low: Any, high: Any, tied: list[Condition],
           periods: dict[sympy.Symbol, int]
           ) -> tuple[tuple[Case, ...], tuple[Condition, ...]] | None:
    """Cases from comparing low and high in each residue class; None where a rounding stays."""
    symbols = list(periods)
    stand = {x: sympy.Dummy(f"t_{x}", integer=True, nonnegative=True) for x in symbols}
    groups: dict[tuple[Any, Answer], list[tuple[int, ...]]] = {}
    kept: list[Condition] = []
    for residues in itertools.product(*(range(1, periods[x] + 1) for x in symbols)):
        to_t = {x: periods[x] * stand[x] + r for x, r in zip(symbols, residues, strict=True)}
        back = {stand[x]: (x - r) / periods[x] for x, r in zip(symbols, residues, strict=True)}
        lo, hi = tidy(low.xreplace(to_t)), tidy(high.xreplace(to_t))
        if any(a.has(*stand.values()) for e in (lo, hi) for a in e.atoms(*ROUNDINGS)):
            return None
        for extra, answer in _compare(lo, hi):
            answer, more = _with_conditions(u, answer, tied, to_t)
            kept += [c for c in more if c not in kept]
            said = _relation(sympy.sympify(extra, strict=True).xreplace(back))
            key = (said, _written_back(answer, back))
            groups.setdefault(key, []).append(residues)
    found = [Case(sympy.And(_classes(symbols, periods, members), extra), answer)
             for (extra, answer), members in groups.items()]
    found.sort(key=lambda c: c.answer.empty)
    return tuple(found), tuple(kept)


def _readable_split(found: tuple[Case, ...]) -> bool:
    """A split worth showing: every answer free of Max, Min and Piecewise, and every case's
    classes said in at most two parts."""
    return all(not (isinstance(e, sympy.Basic) and e.has(sympy.Max, sympy.Min, sympy.Piecewise))
               for c in found for e in (c.answer.low, c.answer.high)) and all(
        len(sympy.Or.make_args(a)) <= 2 for c in found for a in sympy.And.make_args(c.when)
        if isinstance(a, sympy.Or))


def _compare(lo: Any, hi: Any) -> list[tuple[Any, Answer]]:
    """lo <= u <= hi as (extra condition, answer) pairs: one value, an interval, or none;
    Max(a, h) <= u <= h is h where h >= a and none elsewhere."""
    if hi == sympy.oo:
        return [(sympy.true, Answer(lo, hi))]
    d = sympy.expand(hi - lo)
    if d.is_number:
        return [(sympy.true, NONE if d < 0 else Answer(lo, hi))]
    if proven_nonnegative(d):
        return [(sympy.true, Answer(lo, hi))]
    if proven_nonnegative(-d - 1):
        return [(sympy.true, NONE)]
    if isinstance(lo, sympy.Max) and hi in lo.args:
        rest = [a for a in lo.args if a != hi]
        return [(sympy.And(*(sympy.Ge(hi, a) for a in rest)), Answer(hi, hi)),
                (sympy.Or(*(sympy.Lt(hi, a) for a in rest)), NONE)]
    return [(sympy.true, Answer(lo, hi))]


def _with_conditions(u: sympy.Symbol, answer: Answer, tied: list[Condition],
                     to_t: dict[Any, Any]) -> tuple[Answer, list[Condition]]:
    """The conditions on u put in where the answer is one value: dropped where proven, the
    answer none where one fails; the rest kept to be stated."""
    value = answer.single
    if value is None:
        return answer, list(tied)
    kept = []
    for c in tied:
        # One substitution: u is a positive symbol, and SymPy would decide P >= 1 with it.
        truth = decided(tidy(sympy.sympify(c.holds, strict=True).xreplace({**to_t, u: value})))
        if truth is False:
            return NONE, []
        if truth is None:
            kept.append(c)
    return answer, kept


def _written_back(answer: Answer, back: dict[Any, Any]) -> Answer:
    if answer.low is None:
        return answer
    return Answer(_neat(answer.low.xreplace(back)), _neat(answer.high.xreplace(back)),
                  answer.values)


def _relation(c: Any) -> Any:
    """A relation (or And/Or of them) as lhs - rhs op 0 with integer coefficients, so that the
    same condition met in several classes reads the same."""
    if isinstance(c, sympy.And | sympy.Or):
        return c.func(*map(_relation, c.args))
    if not isinstance(c, sympy.core.relational.Relational):
        return c
    d = sympy.expand(c.lhs - c.rhs)
    d = sympy.expand(d * math.lcm(*(int(sympy.fraction(t.as_coeff_Mul()[0])[1])
                                     for t in sympy.Add.make_args(d))))
    return c.func(d, 0)


def _neat(e: Any) -> Any:
    """The shortest of a few equal forms of e: (K - 1)/2 rather than K/2 - 1/2."""
    e = sympy.sympify(e, strict=True)
    if not isinstance(e, sympy.Expr) or e.is_number or e.has(*ROUNDINGS):
        return e
    forms = [sympy.factor(e), sympy.together(sympy.expand(e)), sympy.expand(e)]
    return min(forms, key=lambda f: len(sympy.sstr(f)))


def _residue(x: sympy.Symbol, modulus: int, rs: list[int]) -> Any:
    """x ≡ r (mod modulus) for r in rs, with the least modulus that says the same."""
    members = {r % modulus for r in rs}
    for d in range(1, modulus + 1):
        reduced = {r % d for r in members}
        if modulus % d == 0 and all((r % d in reduced) == (r in members)
                                    for r in range(modulus)):
            return _residue_relation(x, d, sorted(reduced))
    raise AssertionError("d = modulus always fits")


def _residue_relation(x: sympy.Symbol, d: int, members: list[int]) -> Any:
    if d == 1 or len(members) == d:
        return sympy.true
    if len(members) == 1:
        return sympy.Eq(sympy.Mod(x, d), members[0])
    missing = [r for r in range(d) if r not in members]
    if len(missing) == 1:
        return sympy.Ne(sympy.Mod(x, d), missing[0])
    return sympy.Or(*(sympy.Eq(sympy.Mod(x, d), r) for r in members))


def _classes(symbols: list[sympy.Symbol], periods: dict[sympy.Symbol, int],
             members: list[tuple[int, ...]]) -> Any:
    """The union of residue classes as a few boxes (a set of residues per symbol each)."""
    left = set(members)
    chosen = set(members)
    boxes = []
    while left:
        seed = min(left)
        box = [{r} for r in seed]
        for i, x in enumerate(symbols):
            for r in range(1, periods[x] + 1):
                trial = [*box[:i], box[i] | {r}, *box[i + 1:]]
                if set(itertools.product(*trial)) <= chosen:
                    box = trial
        boxes.append(box)
        left -= set(itertools.product(*box))
    return sympy.Or(*(sympy.And(*(_residue(x, periods[x], sorted(rs)) for x, rs in zip(
        symbols, box, strict=True))) for box in boxes))


# ---------------------------------------------------------------- one symbol in a divisor


def _large(solution: Solution, u: sympy.Symbol, low: Any, high: Any, tied: list[Condition],
           x: sympy.Symbol, period: int) -> tuple[Case, ...] | None:
    """Cases for one other symbol x: in each class x = L*t + r the answer for every t past
    a threshold, and every x up to the thresholds solved with the numeric solver."""
    t = sympy.Dummy("t", integer=True, nonnegative=True)
    tails: dict[int, Answer] = {}
    start = 0  # every x > start is decided by its class's tail
    try:
        for r in range(1, period + 1):
            to_t = {x: period * t + r}
            lo, T_lo = eventually(tidy(low.xreplace(to_t)), t)
            hi, T_hi = eventually(tidy(high.xreplace(to_t)), t)
            if not (lo.is_number and (hi.is_number or hi == sympy.oo)):
                return None
            T = max(T_lo, T_hi)
            answer = NONE if hi != sympy.oo and lo > hi else Answer(lo, hi)
            value = answer.single
            for c in tied:
                if value is None:
                    return None
                holds, T_c = eventually_true(
                    sympy.sympify(c.holds, strict=True).xreplace({**to_t, u: value}), t)
                T = max(T, T_c)
                answer = answer if holds else NONE
            tails[r] = answer
            start = max(start, period * T + r)
    except Unsure:
        return None
    if start > MAX_SMALL or solution.network is None:
        return None

    small = {n: numeric_answer(solution, {x.name: n}) for n in range(1, start + 1)}
    groups: dict[Answer, list[int]] = {}
    for n, a in small.items():
        groups.setdefault(a, []).append(n)
    found: list[Case] = []
    if len(set(tails.values())) == 1:
        (tail,) = set(tails.values())
        found.append(Case(_runs(x, [*groups.pop(tail, [])], start + 1), tail))
    else:
        found += [Case(sympy.And(_residue(x, period, [r]), sympy.Gt(x, start)), a)
                  for r, a in tails.items()]
    found += [Case(_runs(x, ns, None), a, point=True) for a, ns in groups.items()]
    return tuple(found)


def _runs(x: sympy.Symbol, values: list[int], tail: int | None) -> Any:
    """x in the values or x >= tail, as spans: Eq(x, 3) | (x >= 5)."""
    values = sorted(values)
    parts = []
    while values:
        first = last = values.pop(0)
        while values and values[0] == last + 1:
            last = values.pop(0)
        if tail is not None and last + 1 >= tail:
            tail = first
            break
        parts.append(sympy.Eq(x, first) if first == last else sympy.And(x >= first, x <= last))
    if tail is not None:
        parts.append(x >= tail if tail > 1 else sympy.true)
    return sympy.Or(*parts)


def _sstr(e: Any) -> str:
    from symconv.present.text import text

    return text(e)
