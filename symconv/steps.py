"""One derived quantity as data: the steps a teacher writes, built by calling a formula.

`call(formula, ...)` calls one of the functions in `symconv.formulas` three times: with
symbols (the general formula), with `Given` atoms (the formula with every number put in,
nothing computed yet) and with the values (the value). The outermost operation worked out
gives the line in between. Renderers order terms with `term_rank`, as the formula orders
its arguments.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sympy

from symconv import formulas as f
from symconv.simplify import simplify_rounding
from symconv.symbols import Value


class Quantity(enum.Enum):
    SHAPE = "shape"
    PARAMS = "params"
    RF = "rf"  # receptive field and jump, per spatial axis of the network input


QUANTITIES = tuple(q.value for q in Quantity)


class Given(sympy.Symbol):
    """A value put in for a symbol: printed as the value, but kept in the symbol's place, so
    the substituted line has exactly the shape of the general formula (nothing is computed
    until the next line).

    `chained` marks a size that an earlier line derived (H_1 in layer 2's formula): where
    its value is an expression rather than a number or a single symbol, it is shown by its
    name, which that earlier line defines, instead of repeating the whole expression."""

    __slots__ = ("chained", "value")
    value: sympy.Expr
    chained: bool

    def __new__(cls, name: str, value: Value, chained: bool = False) -> Given:
        obj = sympy.Symbol.__xnew__(cls, name)
        obj.value = sympy.sympify(value, strict=True)
        obj.chained = chained
        return obj

    def __getnewargs__(self) -> tuple[str, sympy.Expr, bool]:
        return (self.name, self.value, self.chained)

    def _hashable_content(self) -> tuple[Any, ...]:
        return (*super()._hashable_content(), self.value, self.chained)

    @property
    def by_name(self) -> bool:
        """Shown by its name rather than its value (a derived size that is an expression)."""
        return self.chained and not self.value.is_Atom

    def _sympystr(self, printer: Any) -> str:
        if self.by_name:
            return self.name
        text = str(printer._print(self.value))
        return text if self.value.is_Atom and not self.value.is_negative else f"({text})"


def evaluate(expr: sympy.Basic) -> sympy.Expr:
    """The expression with every `Given` replaced by its value and unevaluated parts worked
    out: the value a line of a derivation stands for."""
    given = {g: g.value for g in expr.atoms(Given)}
    return sympy.sympify(expr.xreplace(given).doit(), strict=True)


@dataclass(frozen=True, slots=True)
class Step:
    """One derived quantity: target = formula = substituted = simplified... = value."""

    quantity: Quantity
    target: sympy.Symbol
    formula: sympy.Expr
    substituted: sympy.Expr
    simplified: tuple[sympy.Expr, ...]
    value: sympy.Expr
    order: tuple[str, ...] = ()  # symbol names in the formula's argument order
    note: str = ""  # words before the step: which case of the formula applies

    def lines(self) -> tuple[sympy.Expr, ...]:
        """The right-hand sides in order, a line equal to the one before it left out, and the
        value left out where only symbols were put in and nothing simplifies (the substituted
        line is then already the closed form, and the value would repeat it in another
        order)."""
        given = self.substituted.atoms(Given)
        symbolic = (bool(given) and not any(g.value.is_Number or g.by_name for g in given)
                    and evaluate(self.substituted) == self.value)
        lines: list[sympy.Expr] = []
        for expr in (self.formula, self.substituted, *self.simplified,
                     *(() if symbolic else (self.value,))):
            if not lines or lines[-1] != expr:
                lines.append(expr)
        return tuple(lines)


# One argument of a formula: a product of (symbol name, value) pairs, or a fixed value that
# is not shown as a symbol (a bias flag, or a dilation or group count of 1).
Slot = tuple[tuple[str, Value], ...] | bool | int


def call(quantity: Quantity, target: str, formula: Callable[..., Any], *slots: Slot,
          chained: Collection[str] = (), close: Callable[[Any], Any] = simplify_rounding
          ) -> Step:
    """The step that `formula` yields when called with symbols, with numbers put in, and
    with the values; `chained` names the sizes that earlier lines derived; `close` brings
    the value to the engine's closed form (nested floors merged, by default)."""

    def arguments(pick: Callable[[str, Value], Any]) -> list[Any]:
        return [
            f.product(pick(name, value) for name, value in slot)
            if isinstance(slot, tuple) else slot
            for slot in slots
        ]

    general = sympy.sympify(formula(*arguments(lambda name, _: sympy.Symbol(name))), strict=True)
    given = formula(*arguments(lambda name, value: Given(name, value, name in chained)))
    substituted = sympy.sympify(given, strict=True)
    # Nested floors merged as the engine merges them (trace.py), so a closed form reads as
    # the table's.
    merged = close(formula(*arguments(lambda _, value: value)))
    value = sympy.sympify(merged, strict=True)
    order = tuple(name for slot in slots if isinstance(slot, tuple) for name, _ in slot)
    numeric = all(g.value.is_Number for g in substituted.atoms(Given))
    simplified = (_work_out(substituted, order),) if numeric else ()
    return Step(quantity, sympy.Symbol(target), general, substituted, simplified, value, order)


def numeric(expr: sympy.Basic) -> bool:
    """A number, or a number put in for a symbol (a dot goes between two of them)."""
    return bool(expr.is_Number) or (isinstance(expr, Given) and bool(expr.value.is_Number))


def powers(factors: Sequence[sympy.Basic]) -> list[sympy.Basic]:
    """The factors of a product with a repeated value put in written as a power: K_1,H and
    K_1,W both given K read K**2, not K*K (numbers put in stay as they are, 3*3, so that the
    line still shows what was put in)."""
    counts: dict[sympy.Expr, list[Given]] = {}
    for a in factors:
        if isinstance(a, Given) and not a.value.is_Number and not a.by_name:
            counts.setdefault(a.value, []).append(a)
    out: list[sympy.Basic] = []
    for a in factors:
        if isinstance(a, Given) and a in counts.get(a.value, ()):
            same = counts[a.value]
            if a is same[0]:
                out.append(a if len(same) == 1 else
                           sympy.Pow(a, len(same), evaluate=False))
            continue
        out.append(a)
    return out


def term_rank(expr: sympy.Basic, order: Sequence[str]) -> tuple[int, int]:
    """Where a term or factor goes when a sum or product is written out: those with symbols
    first, by the earliest formula argument they hold (W - K + 2P), then worked-out parts
    such as floor(31/1), then plain numbers (the + 1 at the end)."""
    names = [getattr(s, "name", "") for s in expr.free_symbols]
    positions = [order.index(n) for n in names if n in order]
    group = 0 if names else 2 if expr.is_Number else 1
    return (group, min(positions, default=len(order)))


def _work_out(expr: sympy.Expr, order: Sequence[str]) -> sympy.Expr:
    """The outermost operation with its operands worked out, in the order they are written:
    floor((32 - 5 + 2·2)/1) + 1 becomes floor(31/1) + 1, (3·5·5 + 1)·10 becomes 76·10."""
    if isinstance(expr, sympy.Add | sympy.Mul):
        written = expr.as_ordered_terms() if isinstance(expr, sympy.Add) else expr.args
        operands = sorted(written, key=lambda a: term_rank(a, order))
        if isinstance(expr, sympy.Mul):  # numbers first, as the printer writes them
            operands = sorted(operands, key=lambda a: not a.is_Number)
        return type(expr)(*(_operand(a) for a in operands), evaluate=False)
    return _operand(expr)


def _operand(expr: sympy.Expr) -> sympy.Expr:
    if isinstance(expr, sympy.floor | sympy.ceiling):
        numerator, denominator = sympy.fraction(expr.args[0])
        quotient = sympy.Mul(
            evaluate(numerator), sympy.Pow(evaluate(denominator), -1, evaluate=False),
            evaluate=False,
        )
        return type(expr)(quotient, evaluate=False)
    return evaluate(expr)


def given_step(quantity: Quantity, target: str, value: Value) -> Step:
    """A step with nothing to derive: target = value (a layer's declared channel count)."""
    v = sympy.sympify(value, strict=True)
    return Step(quantity, sympy.Symbol(target), v, v, (), v)
