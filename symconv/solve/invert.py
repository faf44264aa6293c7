"""Closed-form inversion of one output-size expression: the integer interval of one unknown.

SymPy's `solve` cannot handle floor. Over the integers it is not needed: for B > 0,

    floor(A / B) = q   <=>   B*q <= A <= B*(q + 1) - 1,

so an equation `output(u) = target` becomes a chain of such inequalities, peeled from the
outside in while the unknown occurs once: `c + g` shifts the bounds, `m*g` divides them
(rounding inwards), `floor(A/B)` and `ceiling(A/B)` become the pair of inequalities above,
and `floor(A/(c*u))` (the unknown as a stride) bounds u from both sides. The bounds may hold
symbols; they come out as `ceiling(...)` and `floor(...)` of SymPy expressions.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy


class NotInvertible(Exception):
    """The expression is outside the shapes this inversion knows (an internal signal)."""


@dataclass(frozen=True, slots=True)
class Between:
    """low <= expr <= high: one step of the inversion, for display."""

    low: sympy.Expr
    expr: sympy.Expr
    high: sympy.Expr


def invert(
    expr: sympy.Expr, u: sympy.Symbol, target: sympy.Expr
) -> tuple[sympy.Expr, sympy.Expr, tuple[Between, ...]]:
    """The bounds (low, high) with expr = target exactly when low <= u <= high (u an integer,
    every other symbol a positive integer), and the inequalities met on the way."""
    steps: list[Between] = []
    goal = sympy.sympify(target, strict=True)
    low, high = _peel(sympy.sympify(expr, strict=True), u, goal, goal, steps)
    return low, high, tuple(steps)


def _floor(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    return _rounded(sympy.floor, a, b)


def _ceil(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    return _rounded(sympy.ceiling, a, b)


def _rounded(func: type[sympy.Function], a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """floor or ceiling of a/b: a number when it is one, else left as written (SymPy's own
    simplification of a symbolic floor costs more than the rest of a query)."""
    x = sympy.together(a / b)
    return func(x) if x.is_number else func(x, evaluate=False)


def _peel(
    e: sympy.Expr, u: sympy.Symbol, low: sympy.Expr, high: sympy.Expr, steps: list[Between]
) -> tuple[sympy.Expr, sympy.Expr]:
    if e == u:
        return low, high
    if not e.has(u):
        raise NotInvertible("the expression does not hold the unknown")
    if isinstance(e, sympy.Add):
        inner = [a for a in e.args if a.has(u)]
        if len(inner) != 1:
            raise NotInvertible("the unknown occurs in several terms")
        rest = e - inner[0]
        return _peel(inner[0], u, low - rest, high - rest, steps)
    if isinstance(e, sympy.Mul):
        inner = [a for a in e.args if a.has(u)]
        if len(inner) != 1 or not inner[0].is_integer:
            raise NotInvertible("the unknown occurs in a product")
        factor = e / inner[0]  # e and inner are integers: divide the bounds, rounding inwards
        if factor.is_positive:
            return _peel(inner[0], u, _ceil(low, factor), _floor(high, factor), steps)
        if factor.is_negative:
            return _peel(inner[0], u, _ceil(high, factor), _floor(low, factor), steps)
        if factor.is_nonnegative or factor.is_nonpositive:
            # K - 1 for a kernel K >= 1: zero where the unknown (a dilation, say) has no
            # effect, and then every value of it fits or none does.
            up = bool(factor.is_nonnegative)
            first, last = _peel(inner[0], u, _ceil(low if up else high, factor),
                                _floor(high if up else low, factor), steps)
            fits = sympy.Eq(low, 0) if low == high else sympy.And(low <= 0, high >= 0)
            acts = sympy.Ne(factor, 0)
            return (sympy.Piecewise((first, acts), (-sympy.oo, fits), (sympy.oo, True)),
                    sympy.Piecewise((last, acts), (sympy.oo, fits), (-sympy.oo, True)))
        raise NotInvertible("a factor of unknown sign")
    if isinstance(e, sympy.floor | sympy.ceiling):
        return _floor_or_ceiling(e, u, low, high, steps)
    raise NotInvertible(next((said for kind, said in _SHAPES if isinstance(e, kind)),
                             "the unknown occurs inside a function this inversion does not undo"))


# What the unknown sits inside where the inversion stops, in words (never SymPy's class).
_SHAPES: tuple[tuple[type, str], ...] = (
    (sympy.Piecewise, "the output is one of two formulas, depending on the unknown"),
    (sympy.Pow, "the unknown occurs in a power"),
    (sympy.Max, "the unknown occurs in a maximum"),
    (sympy.Min, "the unknown occurs in a minimum"),
    (sympy.Mod, "the unknown occurs in a remainder"),
)


def _floor_or_ceiling(
    e: sympy.Expr, u: sympy.Symbol, low: sympy.Expr, high: sympy.Expr, steps: list[Between]
) -> tuple[sympy.Expr, sympy.Expr]:
    num, den = sympy.fraction(sympy.together(e.args[0]))
    if isinstance(e, sympy.floor):  # floor(A/B) in [low, high] <=> B*low <= A <= B*(high+1) - 1
        a_low, a_high = den * low, den * (high + 1) - 1
    else:  # ceiling(A/B) in [low, high] <=> B*(low-1) + 1 <= A <= B*high
        a_low, a_high = den * (low - 1) + 1, den * high
    if not den.has(u):
        if not den.is_positive:
            raise NotInvertible("a divisor of unknown sign")
        steps.append(Between(sympy.expand(a_low), num, sympy.expand(a_high)))
        return _peel(num, u, a_low, a_high, steps)
    return _divisor(e, num, den, u, low, high, steps)


def _divisor(
    e: sympy.Expr,
    num: sympy.Expr,
    den: sympy.Expr,
    u: sympy.Symbol,
    low: sympy.Expr,
    high: sympy.Expr,
    steps: list[Between],
) -> tuple[sympy.Expr, sympy.Expr]:
    """floor or ceiling of A/(c*u) in [low, high], A and c free of u, c > 0: u's bounds."""
    c = sympy.simplify(den / u)
    if num.has(u) or c.has(u) or not c.is_positive:
        raise NotInvertible("the unknown occurs in a divisor with other terms")
    if isinstance(e, sympy.floor):
        # A >= c*u*low (u <= A/(c*low)) and A < c*u*(high + 1) (u > A/(c*(high + 1))).
        steps.append(Between(den * low, num, den * (high + 1) - 1))
        first, top = _floor(num, c * (high + 1)) + 1, low
        last = sympy.oo if top == 0 else _floor(num, c * top)
    else:
        # A <= c*u*high (u >= A/(c*high)) and A > c*u*(low - 1) (u < A/(c*(low - 1))).
        steps.append(Between(den * (low - 1) + 1, num, den * high))
        first, top = _ceil(num, c * high), low - 1
        last = sympy.oo if top == 0 else _ceil(num, c * top) - 1
    if top == 0 or top.is_positive:
        return first, last
    if top.is_nonnegative:  # a symbolic target such as O - 1: unbounded exactly when it is 0
        return first, sympy.Piecewise((sympy.oo, sympy.Eq(top, 0)), (last, True))
    raise NotInvertible("a quotient bound of unknown sign")
