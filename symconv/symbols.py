"""Symbols and values: every unknown is an integer, positive SymPy symbol, one per name."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TypeAlias

import sympy

# A dimension or a layer parameter: a Python int when known, a SymPy expression otherwise.
Value: TypeAlias = "int | sympy.Expr"


@cache
def symbol(name: str) -> sympy.Symbol:
    """The symbol for `name`: integer and positive, so floors and ceilings simplify soundly."""
    return sympy.Symbol(name, integer=True, positive=True)


def as_value(expr: object) -> Value:
    """A Python int where `expr` is an integer number, else the SymPy expression itself."""
    if isinstance(expr, bool):
        raise TypeError("a boolean is not a size")
    if isinstance(expr, int):
        return expr
    if isinstance(expr, sympy.Integer):
        return int(expr)
    if isinstance(expr, sympy.Basic):
        return expr
    raise TypeError(f"not a size: {expr!r}")


def free_names(value: object) -> set[str]:
    """Names of the symbols in a value (empty for numbers)."""
    if isinstance(value, sympy.Basic):
        return {s.name for s in value.free_symbols}
    return set()


def substitution(values: Mapping[str, object]) -> dict[sympy.Symbol, sympy.Expr]:
    """A SymPy substitution {symbol: value} from a {name: value} mapping."""
    return {symbol(name): sympy.sympify(v) for name, v in values.items()}


def bind(value: Value, subs: Mapping[sympy.Symbol, sympy.Expr]) -> Value:
    """The value with the symbols in `subs` replaced, as an int when it becomes a number."""
    if isinstance(value, int) or not subs:
        return value
    return as_value(value.xreplace(subs))


def truth(condition: object) -> bool | None:
    """True or False where the condition is decided (numbers or assumptions), else None."""
    if isinstance(condition, bool):
        return condition
    if condition is sympy.true:
        return True
    if condition is sympy.false:
        return False
    return None
