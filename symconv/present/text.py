"""Plain text: symconv's SymPy printer, values as a person reads them in a terminal (SymPy
syntax, exact, terms in the order of the formula's arguments)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sympy
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from symconv.present.cases import cases
from symconv.present.terms import powers, reading, term_rank


class OrderedTerms:
    """Printer mixin: sums list their terms in the order the formula takes its arguments
    (W - K + 2*P rather than -K + 2*P + W); sums worked out from numbers keep their order."""

    _settings: dict[str, Any]

    def ordered_terms(self, expr: Any, terms: list[Any]) -> list[Any]:
        if not expr.free_symbols:
            return list(expr.args)  # a sum worked out from numbers: as written
        order: Sequence[str] = self._settings["arg_order"]
        placed = order and any(getattr(x, "name", "") in order
                               for t in terms for x in t.free_symbols)
        # (terms the formula's order does not place read as a formula does: W - K + 2*P)
        return sorted(reading(terms), key=lambda t: term_rank(t, order)) if placed \
            else reading(terms)


class TextPrinter(OrderedTerms, StrPrinter):
    _default_settings: ClassVar[dict[str, Any]] = {**StrPrinter._default_settings, "arg_order": ()}

    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Any]:
        return self.ordered_terms(expr, list(super()._as_ordered_terms(expr, order)))

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        """Per-axis names such as K_1,H read as K_1[H], so that a product K_1[H]*K_1[W]
        cannot be misread at the comma."""
        base, comma, axis = expr.name.partition(",")
        return f"{base}[{axis}]" if comma else str(super()._print_Symbol(expr))

    def _print_Mod(self, expr: sympy.Mod) -> str:
        """A remainder as a teacher writes it, (W + 2*P - K) mod S: terms with a plus sign
        first."""
        a, b = expr.args
        # (-W) mod 2, not -W mod 2: anything but a name or a number is parenthesised
        shown = self._positive_first(a) if a.is_Add else (
            self._print(a) if a.is_Atom else f"({self._print(a)})")
        return f"{shown} mod {self.parenthesize(b, precedence(expr))}"

    def _positive_first(self, a: sympy.Add) -> str:
        terms = sorted(self._as_ordered_terms(a), key=lambda t: t.could_extract_minus_sign())
        out = self._print(terms[0])
        for t in terms[1:]:
            out += f" - {self.parenthesize(-t, precedence(a))}" if t.could_extract_minus_sign() \
                else f" + {self.parenthesize(t, precedence(a))}"
        return f"({out})"

    def _print_floor(self, expr: sympy.Basic) -> str:
        return self._rounding("floor", expr)

    def _print_ceiling(self, expr: sympy.Basic) -> str:
        return self._rounding("ceiling", expr)

    def _rounding(self, name: str, expr: sympy.Basic) -> str:
        """floor((2*P + 217)/2), as the formula divides, where SymPy has distributed the
        division into floor(P + 217/2): one fraction, never a sum of fractions."""
        (arg,) = expr.args
        joined = one_fraction(arg)
        if joined is not None:
            numerator, denominator = joined
            under = self.parenthesize(denominator, precedence(sympy.Pow(denominator, -1)))
            return f"{name}(({self._print(numerator)})/{under})"
        return f"{name}({self._print(arg)})"

    def _print_Mul(self, expr: sympy.Mul) -> str:
        """A product of whole factors in the formula's order, numbers first: (3*5*5 + 1)*10
        as the LaTeX writes it; anything with a quotient or a sign is SymPy's."""
        order: Sequence[str] = self._settings["arg_order"]
        if (not order or expr.could_extract_minus_sign()
                or any((a.is_Rational and not a.is_Integer) or a.is_Pow for a in expr.args)):
            return str(super()._print_Mul(expr))
        factors = sorted(powers(expr.args), key=lambda a: (not a.is_Number, term_rank(a, order)))
        return "*".join(self.parenthesize(a, precedence(expr), strict=False) for a in factors)

    # Conditions, in words: S = 1, K < P + S, a and b (what symconv's expressions read).
    def _print_Relational(self, expr: sympy.Basic) -> str:
        op = RELATIONS[expr.rel_op]
        return f"{self._print(expr.lhs)} {op} {self._print(expr.rhs)}"

    def _print_And(self, expr: sympy.Basic) -> str:
        return self._connect(" and ", expr)

    def _print_Or(self, expr: sympy.Basic) -> str:
        return self._connect(" or ", expr)

    def _print_Not(self, expr: sympy.Basic) -> str:
        return f"not ({self._print(expr.args[0])})"

    def _print_ITE(self, expr: sympy.Basic) -> str:
        return str(self._print(expr.to_nnf()))

    def _print_BooleanTrue(self, expr: sympy.Basic) -> str:
        return "always"

    def _print_BooleanFalse(self, expr: sympy.Basic) -> str:
        return "never"

    def _connect(self, word: str, expr: sympy.Basic) -> str:
        parts = [self._print(a) for a in sorted(expr.args, key=sympy.default_sort_key)]
        nested = [f"({p})" if isinstance(a, sympy.And | sympy.Or) else p
                  for a, p in zip(sorted(expr.args, key=sympy.default_sort_key), parts,
                                  strict=True)]
        return word.join(nested)

    def _print_Piecewise(self, expr: sympy.Piecewise) -> str:
        """The cases, 'value for condition; value otherwise' (symconv.render.cases)."""
        top = self._print_level <= 1  # text() has put the checked cases outside
        shown = "; ".join(
            f"{self._print(value)} " + ("otherwise" if condition == sympy.true
                                        else f"for {self._print(condition)}")
            for value, condition in (expr.args if top else cases(expr)))
        return shown if top else f"({shown})"


# How a relation reads in a condition.
RELATIONS = {"==": "=", "!=": "≠", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def one_fraction(arg: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr] | None:
    """A floor's or ceiling's argument over one denominator, (numerator, denominator):
    (H - 7*K + 14*P + 7, 8) for H/8 - 7*K/8 + 7*P/4 + 7/8; None where the argument is not a
    sum with a fractional coefficient."""
    if not arg.is_Add or not any(_fractional(t) for t in arg.args):
        return None
    numerator, denominator = sympy.fraction(sympy.together(arg))
    if denominator == 1:
        return None
    return numerator, denominator


def _fractional(term: sympy.Expr) -> bool:
    coefficient = term.as_coeff_Mul()[0]
    return bool(coefficient.is_Rational and not coefficient.is_Integer)


def text(expr: object, order: Sequence[str] = (), enclosed: bool = False) -> str:
    """The expression in SymPy syntax, terms ordered as the formula's arguments; a piecewise
    value as its cases, 'value for condition; value otherwise' (in parentheses where
    `enclosed`: a value inside a sentence, a shape or a table cell)."""
    e = sympy.sympify(expr, strict=True)
    split = isinstance(e, sympy.Expr) and e.has(sympy.Piecewise) and len(shown := cases(e)) > 1
    if split:
        e = sympy.Piecewise(*shown, evaluate=False)  # the cases outside, checked
    elif isinstance(e, sympy.Expr) and e.has(sympy.Piecewise):
        e = shown[0][0]
    printed = str(TextPrinter({"arg_order": tuple(order)}).doprint(e))
    return f"({printed})" if split and enclosed else printed
