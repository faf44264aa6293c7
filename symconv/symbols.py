"""Symbols and values: every unknown is an integer, positive SymPy symbol, one per name."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TypeAlias

import sympy

from symconv.errors import InvalidValueError, SymconvError

# A dimension or a layer parameter: a Python int when known, a SymPy expression otherwise.
Value: TypeAlias = "int | sympy.Expr"


@cache
def symbol(name: str) -> sympy.Symbol:
    """The symbol for `name`: integer and positive, so floors and ceilings simplify soundly."""
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


EXPECTED = "a whole number, an expression over symbols, or its text (such as 224 or '2*K + 1')"


def value_of(name: str, given: object) -> Value:
    """The value given for `name` from outside the language (a Python argument, --set): an
    int or a SymPy expression. Text goes through symconv's expression parser, never Python's;
    None, booleans, floats (3.0 too: a float is not exact), Decimal, Fraction, complex and
    containers are refused with an InvalidValueError naming `name`. A number that is not whole
    (from text such as '3/2') is returned as it is: the rule a literal obeys refuses it
    where it lands, naming the layer (see trace.check_size)."""
    if isinstance(given, str):
        from symconv.parse import parse_expression  # parse imports this module

        try:
            given = parse_expression(given)
        except SymconvError as error:
            raise InvalidValueError(f"{name}: cannot read '{given}' as a number or an "
                                    f"expression such as 2*K + 1: {error.message}") from None
    if words := free_names(given) & {"True", "False", "None"}:
        raise InvalidValueError(f"{name}: expected {EXPECTED}, got the word "
                                f"{sorted(words)[0]}")
    if not isinstance(given, bool):
        try:
            return operator.index(given)  # type: ignore[arg-type]  # ints, numpy integers
        except TypeError:
            pass
    if isinstance(given, sympy.Expr) and not isinstance(given, sympy.Float) and not given.atoms(
        sympy.Float
    ) and (given.is_number is False or given.is_Rational):
        return as_value(given)
    raise InvalidValueError(f"{name}: expected {EXPECTED}, got {_describe(given)}")


def whole_number(name: str, given: object) -> int:
    """A value that must be a number (no symbols), as value_of reads it: an int."""
    value = value_of(name, given)
    if not isinstance(value, int):
        raise InvalidValueError(f"{name}: expected a whole number, got {value}")
    return value


def _describe(given: object) -> str:
    kind = type(given).__name__
    return f"{kind} {given!r}" if kind not in repr(given) else repr(given)


def substitution(values: Mapping[str, object]) -> dict[sympy.Symbol, sympy.Expr]:
    """A SymPy substitution {symbol: value} from a {name: value} mapping (see value_of)."""
    return {
        symbol(name): sympy.sympify(value_of(name, v), strict=True) for name, v in values.items()
    }


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
