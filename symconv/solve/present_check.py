"""The check before a presented solve answer is shown: at a grid of small values of the other
symbols and a seeded sample of larger ones, the presented set of the unknown equals the set
where the raw answer holds (`Solution.contains`), and at a part of those points the set the
numeric solver finds with those values given. A mismatch is an internal SymconvError."""

from __future__ import annotations

import functools
import itertools
import random
from typing import TYPE_CHECKING, Any

import sympy

from symconv.algebra.symbols import symbol, truth
from symconv.errors import NoSolutionError, SymconvError
from symconv.solve.answer import NONE, Answer, Presented, answer_of

if TYPE_CHECKING:
    from symconv.solve.solution import Solution

FAR = 10**6  # where an unbounded answer is also compared
_GRID = {1: 8, 2: 5, 3: 3, 4: 2}  # values 1..n per symbol, by the number of symbols
_RANDOM = 8
_NUMERIC_EVERY = 6  # one grid point in this many is also solved numerically


def numeric_answer(solution: Solution, point: dict[str, int]) -> Answer:
    """The numeric solver's answer with the other symbols taking `point`."""
    return _numeric(solution.network, solution.unknown, solution.targets,
                    tuple(sorted(point.items())))


@functools.lru_cache(maxsize=4096)
def _numeric(network: Any, unknown: str, targets: tuple[Any, ...],
             point: tuple[tuple[str, int], ...]) -> Answer:
    from symconv.solve.solution import solve

    subs = {symbol(k): sympy.Integer(v) for k, v in point}
    target = tuple(sympy.sympify(t, strict=True).xreplace(subs) for t in targets)
    given = {k: v for k, v in point if k in network.symbols}
    try:
        found = solve(network, unknown, target, **given)
    except NoSolutionError:
        return NONE
    if not found.complete:
        raise SymconvError(f"internal error: the numeric solver searched only part of the "
                           f"range at {dict(point)}")
    return answer_of(found)


def check(solution: Solution, shown: Presented) -> None:
    """Raise an internal SymconvError where the presented answer differs from the raw one
    or from the numeric solver at some point."""
    u = symbol(solution.unknown)
    names = sorted({s.name for e in (solution.low, solution.high, *solution.targets,
                                     *(c.holds for c in solution.conditions))
                    for s in sympy.sympify(e, strict=True).free_symbols} - {u.name})
    if not names:
        return
    grid = [dict(zip(names, p, strict=True)) for p in itertools.product(
        range(1, _GRID.get(len(names), 1) + 1), repeat=len(names))]
    rng = random.Random(len(names))
    sample = [{n: rng.randint(1, 40) for n in names} for _ in range(_RANDOM)]
    for i, point in enumerate(grid + sample):
        numeric = i % _NUMERIC_EVERY == 0 or i >= len(grid)
        _compare(solution, shown, u, point, numeric)


def _compare(solution: Solution, shown: Presented, u: sympy.Symbol, point: dict[str, int],
             numeric: bool) -> None:
    subs = {symbol(k): sympy.Integer(v) for k, v in point.items()}
    answer, tied = _case_at(shown, subs, u, point)
    ends = [answer.low, answer.high, *answer.values]
    ends += [sympy.sympify(b, strict=True).xreplace(subs) for b in (solution.low, solution.high)]
    finite = sorted({int(e) for e in ends if e is not None and getattr(e, "is_Integer", True)})
    # Both sets are runs of integers (the network's rules are monotone in the unknown), so
    # they agree where they agree at every end, its neighbours and between ends.
    candidates = {0, 1} | {e + d for e in finite for d in (-1, 0, 1)}
    candidates |= {(a + b) // 2 for a, b in itertools.pairwise(finite)}
    if any(e == sympy.oo for e in ends):
        candidates.add(FAR)

    def shown_has(v: int) -> bool:
        if not _has(answer, v):
            return False
        return all(truth(sympy.sympify(c, strict=True).xreplace({**subs, u: v})) for c in tied)

    for v in sorted(c for c in candidates if c >= 0):
        if shown_has(v) != solution.contains(v, **point):
            raise SymconvError(f"internal error: the presented answer to {solution.unknown} "
                               f"differs from the solver's at {point}, {u} = {v}")
    if numeric and not tied:
        want = _canonical(numeric_answer(solution, point))
        if _canonical(answer) != want:
            raise SymconvError(f"internal error: the presented answer to {solution.unknown} "
                               f"differs from the numeric solver's at {point}")


def _case_at(shown: Presented, subs: dict[Any, Any], u: sympy.Symbol, point: dict[str, int]
             ) -> tuple[Answer, list[Any]]:
    """The answer of the one case that holds at the point, with numbers put in (none where
    a condition on the other symbols fails), and the conditions on u still to hold."""
    holding = [c for c in shown.cases if truth(sympy.sympify(c.when, strict=True).xreplace(
        subs))]
    if len(holding) != 1:
        raise SymconvError(f"internal error: {len(holding)} cases of the presented answer "
                           f"hold at {point}")
    tied = []
    for c in shown.where:
        holds = sympy.sympify(c.holds, strict=True)
        if holds.has(u):  # u is put in with the others: SymPy decides P >= 1 for a symbol P
            tied.append(holds)
        elif not truth(holds.xreplace(subs)):
            return NONE, []
    a = holding[0].answer
    if a.low is None:
        return a, tied
    return Answer(a.low.xreplace(subs), a.high.xreplace(subs), a.values), tied


def _has(a: Answer, v: int) -> bool:
    if v in a.values:
        return True
    return a.low is not None and bool(a.low <= v) and bool(v <= a.high)


def _canonical(a: Answer) -> tuple[frozenset[int], int | None]:
    """The set as (its values below an unbounded tail, where the tail starts)."""
    values = set(a.values)
    tail = None
    if a.low is not None and a.high == sympy.oo:
        tail = int(a.low)
    elif a.low is not None and a.low <= a.high:
        values |= set(range(int(a.low), int(a.high) + 1))
    if tail is not None:
        values = {v for v in values if v < tail}
        while tail - 1 in values:
            values.discard(tail - 1)
            tail -= 1
    return frozenset(values), tail
