"""Plain text: derivations as a person reads them in a terminal (SymPy syntax, exact)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sympy
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from symconv.derive import Derivation
from symconv.steps import Step, term_rank


class OrderedTerms:
    """Printer mixin: sums list their terms in the order the formula takes its arguments
    (W - K + 2*P rather than -K + 2*P + W); sums worked out from numbers keep their order."""

    _settings: dict[str, Any]

    def ordered_terms(self, expr: Any, terms: list[Any]) -> list[Any]:
        if not expr.free_symbols:
            return list(expr.args)  # a sum worked out from numbers: as written
        order: Sequence[str] = self._settings["arg_order"]
        return sorted(terms, key=lambda t: term_rank(t, order)) if order else terms


class TextPrinter(OrderedTerms, StrPrinter):
    _default_settings: ClassVar[dict[str, Any]] = {**StrPrinter._default_settings, "arg_order": ()}

    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Any]:
        return self.ordered_terms(expr, list(super()._as_ordered_terms(expr, order)))

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        """Per-axis names such as K_1,H read as K_1[H], so that a product K_1[H]*K_1[W]
        cannot be misread at the comma."""
        base, comma, axis = expr.name.partition(",")
        return f"{base}[{axis}]" if comma else str(super()._print_Symbol(expr))

    def _print_floor(self, expr: sympy.Basic) -> str:
        return self._rounding("floor", expr)

    def _print_ceiling(self, expr: sympy.Basic) -> str:
        return self._rounding("ceiling", expr)

    def _rounding(self, name: str, expr: sympy.Basic) -> str:
        """floor((2*P + 217)/2), as the formula divides, where SymPy has distributed the
        division into floor(P + 217/2)."""
        (arg,) = expr.args
        if arg.is_Add and any(t.is_Rational and not t.is_Integer for t in arg.args):
            numerator, denominator = sympy.fraction(sympy.together(arg))
            if denominator.is_Integer:
                return f"{name}(({self._print(numerator)})/{denominator})"
        return f"{name}({self._print(arg)})"

    def _print_Mul(self, expr: sympy.Mul) -> str:
        """A product of whole factors in the formula's order, numbers first: (3*5*5 + 1)*10
        as the LaTeX writes it; anything with a quotient or a sign is SymPy's."""
        order: Sequence[str] = self._settings["arg_order"]
        if (not order or expr.could_extract_minus_sign()
                or any((a.is_Rational and not a.is_Integer) or a.is_Pow for a in expr.args)):
            return str(super()._print_Mul(expr))
        factors = sorted(expr.args, key=lambda a: (not a.is_Number, term_rank(a, order)))
        return "*".join(self.parenthesize(a, precedence(expr), strict=False) for a in factors)


def text(expr: object, order: Sequence[str] = ()) -> str:
    """The expression in SymPy syntax, terms ordered as the formula's arguments."""
    return str(TextPrinter({"arg_order": tuple(order)}).doprint(sympy.sympify(expr, strict=True)))


def step_text(step: Step, indent: str = "  ") -> str:
    """target = first line, then '= line' aligned under it for the rest."""
    lhs = text(step.target)
    lines: list[str] = []
    for expr in step.lines():
        line = text(expr, step.order)
        if not lines or lines[-1] != line:
            lines.append(line)
    pad = " " * len(lhs)
    return "\n".join(
        f"{indent}{lhs if i == 0 else pad} = {line}" for i, line in enumerate(lines)
    )


def derivation_text(derivation: Derivation) -> str:
    """Input sizes, then each layer that has steps, its title and its steps."""
    out = ["Input: " + ", ".join(f"{text(s.target)} = {text(s.value)}"
                                 for s in derivation.inputs)]
    for layer in derivation.layers:
        if layer.steps:
            out.append(layer.title)
            out.extend(step_text(s) for s in layer.steps)
    return "\n".join(out) + "\n"
