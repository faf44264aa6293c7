"""Atoms and orderings the printers share with derivations: a number put in for a symbol
(`Given`), and the order in which the terms of a sum and the factors of a product are written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from symconv.algebra.symbols import Value


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

    def __getnewargs_ex__(self) -> tuple[tuple[str, sympy.Expr, bool], dict[str, Any]]:
        # Symbol's own (name and assumptions) would call __new__ without the value
        return (self.name, self.value, self.chained), {}

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


def reading(terms: Sequence[Any]) -> list[Any]:
    """A sum's terms (in SymPy's order) as a formula reads where no formula gives the order:
    the sizes first, then the rest, never a minus in front where a term is positive.

    A plain symbol added as it is, and held by no other term (the W of W - K + 2*P), is the
    size a formula starts from, so it leads; SymPy's order alone would write -K + 2*P + W.
    Where no plain symbol is added, a sum that would begin with a minus begins with its
    positive number (the 223 of 223 - D*(K - 1) + 2*P, the size with its - 1 worked out) or
    else with its first positive term.
    """
    plain = [t for t in terms if t.is_Symbol
             and not any(t in u.free_symbols for u in terms if u is not t)]
    if plain:  # (a symbol that other terms hold too keeps SymPy's order: L**2 + L)
        return plain + [t for t in terms if not any(t is p for p in plain)]
    if not terms or not terms[0].could_extract_minus_sign():
        return list(terms)
    positive = [t for t in terms if not t.could_extract_minus_sign()]
    if not positive:
        return list(terms)
    lead = next((t for t in positive if t.is_Number), positive[0])
    return [lead] + [t for t in terms if t is not lead]
