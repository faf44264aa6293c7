"""Symbols and values: every unknown is an integer, positive SymPy symbol, one per name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import TypeAlias

import sympy

from symconv.errors import InvalidValueError

# A dimension or a layer parameter: a Python int when known, a SymPy expression otherwise.
Value: TypeAlias = "int | sympy.Expr"


def symbol(name: str) -> sympy.Symbol:
    """The symbol for `name`: integer and positive, so floors and ceilings simplify soundly.
    A name is text (a str subclass is read as its plain text)."""
    if not isinstance(name, str):
        raise InvalidValueError(f"a symbol's name must be text such as 'W', got "
                                f"{describe(name)}")
    return _symbol(str.__str__(name))


@cache
def _symbol(name: str) -> sympy.Symbol:
    return sympy.Symbol(name, integer=True, positive=True)


def internal_symbol(name: str, taken: Iterable[str]) -> sympy.Symbol:
    """A symbol of symconv's own (a unit index u, a size n in a message, the parameter total
    params): named `name`, or `name'` where a user's symbol is already called `name`. No
    description can write a prime, so the two never read alike."""
    return sympy.Symbol(name + "'" if name in set(taken) else name)


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


def describe(given: object) -> str:
    """The value as a message quotes it: its type and (shortened) repr, even where that
    repr fails or is huge."""
    kind = type(given).__name__
    shown = safe_repr(given)
    return f"{kind} {shown}" if kind not in shown else shown


def safe_repr(given: object) -> str:
    """repr(given), shortened, or 'a T object' where its __repr__ fails."""
    try:
        return short(repr(given))
    except Exception:  # an object whose __repr__ fails is still named
        return f"a {type(given).__name__} object"


def short(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


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
