"""A value that is genuinely piecewise, as the cases a reader is shown: one (value, condition)
pair per case, the last one's condition True ("otherwise").

The Piecewise the engine builds sits inside a larger expression ((K - 1)*Piecewise(...) + 1);
the cases pull it to the outside, and where a case's condition fixes a symbol (S = 1) the
symbol's value is put into that case's expression. Both printers (render/text.py,
render/latex.py) print a value through `cases`, so no raw `Piecewise` reaches a reader.

The presentation stage (symconv/present/) is where readable forms live; once it offers its
case splitting of expressions, `cases` is the one place that calls it.
"""

from __future__ import annotations

import functools
import random

import sympy

from symconv.errors import SymconvError

Case = tuple[sympy.Expr, sympy.Basic]

_POINTS = 10  # points at which every presented form is compared with the raw one


@functools.lru_cache(maxsize=512)  # a table shows a value in a row and again in the totals
def cases(expr: sympy.Expr) -> tuple[Case, ...]:
    """The expression's cases in order (the first whose condition holds applies); a single
    case (expr, True) where it holds no Piecewise. Checked against the raw expression at
    random positive integer points: a mismatch is an internal error, never a wrong form."""
    if not expr.has(sympy.Piecewise):
        return ((expr, sympy.true),)
    folded = sympy.piecewise_fold(expr)
    if not isinstance(folded, sympy.Piecewise):
        shown: tuple[Case, ...] = ((folded, sympy.true),)
    else:
        shown = tuple((_fixed(value, condition), condition) for value, condition in folded.args)
    check(expr, shown)
    return shown


def _fixed(value: sympy.Expr, condition: sympy.Basic) -> sympy.Expr:
    """The case's value with the symbols its condition fixes (S = 1) put in."""
    fixed = {}
    for part in sympy.And.make_args(condition):
        if isinstance(part, sympy.Eq):
            for x, c in ((part.lhs, part.rhs), (part.rhs, part.lhs)):
                if x.is_Symbol and c.is_Number:
                    fixed[x] = c
    if not fixed:
        return value
    put_in = value.xreplace(fixed)
    expanded = sympy.expand(put_in)  # -K*L + L*(K - 1) + L at S = 1 is 0
    return expanded if sympy.count_ops(expanded) < sympy.count_ops(put_in) else put_in


def pick(shown: tuple[Case, ...], point: dict[sympy.Basic, int]) -> sympy.Expr | None:
    """The value of the first case whose condition holds at the point (None: none decided)."""
    for value, condition in shown:
        holds = sympy.sympify(condition, strict=True).xreplace(point)
        if holds is sympy.true or holds is True:
            return sympy.sympify(value, strict=True).xreplace(point)
        if holds is not sympy.false and holds is not False:
            return None
    return None


def check(raw: sympy.Expr, shown: tuple[Case, ...]) -> None:
    """Raises SymconvError where the cases disagree with the raw expression at one of
    `_POINTS` positive integer points."""
    symbols = sorted(raw.free_symbols | {s for v, c in shown for s in
                                         (v.free_symbols | c.free_symbols)}, key=str)
    rng = random.Random(len(symbols))
    for k in range(_POINTS):  # every symbol 1, every symbol 2 (S = 1 is a common case), then random
        point = {s: sympy.Integer(k + 1 if k < 2 else rng.randint(1, 12)) for s in symbols}
        expected = raw.xreplace(point)
        got = pick(shown, point)
        if got is not None and got == expected:  # oo where a bound is unbounded: oo - oo is nan
            continue
        difference = (expected - got).doit() if got is not None else None
        if difference is not None and not difference.is_Number:
            difference = sympy.simplify(difference)
        if difference is None or difference != 0:
            raise SymconvError(f"internal error: the cases {shown} of {raw} differ from it at "
                               f"{point}")
