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

from symconv.algebra.pickling import Unevaluated
from symconv.algebra.simplify import simplify_rounding
from symconv.algebra.symbols import Value
from symconv.engine import formulas as f
from symconv.present.terms import Given, term_rank


class Quantity(enum.Enum):
    SHAPE = "shape"
    PARAMS = "params"
    RF = "rf"  # receptive field and jump, per spatial axis of the network input


QUANTITIES = tuple(q.value for q in Quantity)



def evaluate(expr: sympy.Basic) -> sympy.Expr:
    """The expression with every `Given` replaced by its value and unevaluated parts worked
    out: the value a line of a derivation stands for."""
    given = {g: g.value for g in expr.atoms(Given)}
    return sympy.sympify(expr.xreplace(given).doit(), strict=True)


@dataclass(frozen=True, slots=True)
class Step(Unevaluated):
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
