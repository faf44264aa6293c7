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


EXPECTED = "a whole number, an expression over symbols, or its text (such as 224 or '2*K + 1')"


def value_of(name: str, given: object) -> Value:
    """The value given for `name` from outside the language (a Python argument, --set): an
    int or a SymPy expression. Text goes through symconv's expression parser, never Python's;
    None, booleans, floats (3.0 too: a float is not exact), Decimal, Fraction, complex and
    containers are refused with an InvalidValueError naming `name`. A number that is not whole
    (from text such as '3/2') is returned as it is: the rule a literal obeys refuses it
    where it lands, naming the layer (see trace.check_size)."""
    from symconv.parse import MAX_DIGITS, parse_expression, too_big  # parse imports this

    if isinstance(given, str):
        text = str.__str__(given)
        try:
            given = parse_expression(text)
        except SymconvError as error:
            raise InvalidValueError(f"{name}: cannot read '{_short(text)}' as a number or an "
                                    f"expression such as 2*K + 1: {error.message}") from None
    if isinstance(given, sympy.Basic) and (
            words := free_names(given) & {"True", "False", "None"}):
        raise InvalidValueError(f"{name}: expected {EXPECTED}, got the word "
                                f"{sorted(words)[0]}")
    value: Value | None = None
    if not isinstance(given, bool | sympy.Basic):
        try:
            # ints, numpy integers; an int subclass as the plain int it holds
            value = int.__index__(operator.index(given))  # type: ignore[arg-type]
        except TypeError:
            pass
        except Exception as error:  # the object's own __index__ failed
            raise InvalidValueError(f"{name}: expected {EXPECTED}, got {describe(given)} "
                                    f"(its __index__ raised {type(error).__name__})") from None
    elif isinstance(given, sympy.Expr) and _written(given):
        # Symbols made outside symconv become symconv's, one per name (whole, positive).
        value = as_value(given.xreplace({s: symbol(s.name) for s in given.free_symbols}))
    if value is None:
        raise InvalidValueError(f"{name}: expected {EXPECTED}, got {describe(given)}")
    if too_big(value):
        raise InvalidValueError(f"{name}: the number is too large (symconv takes at most "
                                f"{MAX_DIGITS} digits)")
    return value


# What a description can write (+ - * / // ** floor ceil min max; Mod in results symconv
# gives back): a SymPy expression of anything else (pi, sin, a Piecewise, a Float, an
# undefined function, a Dummy or an Indexed) is no size.
_WRITTEN = (sympy.Rational, sympy.Add, sympy.Mul, sympy.floor, sympy.ceiling, sympy.Min,
            sympy.Max, sympy.Mod)


def _written(expr: sympy.Expr) -> bool:
    """Whether every node of expr is one the language writes (see _WRITTEN)."""
    for node in sympy.preorder_traversal(expr):
        if type(node) is sympy.Symbol or isinstance(node, _WRITTEN):
            continue
        if isinstance(node, sympy.Pow) and (node.exp.is_Integer or type(node.exp) is
                                            sympy.Symbol):
            continue
        return False
    return True


def whole_number(name: str, given: object) -> int:
    """A value that must be a number (no symbols), as value_of reads it: an int."""
    value = value_of(name, given)
    if not isinstance(value, int):
        raise InvalidValueError(f"{name}: expected a whole number, got {value}")
    return value


def describe(given: object) -> str:
    """The value as a message quotes it: its type and (shortened) repr, even where that
    repr fails or is huge."""
    kind = type(given).__name__
    shown = safe_repr(given)
    return f"{kind} {shown}" if kind not in shown else shown


def safe_repr(given: object) -> str:
    """repr(given), shortened, or 'a T object' where its __repr__ fails."""
    try:
        return _short(repr(given))
    except Exception:  # an object whose __repr__ fails is still named
        return f"a {type(given).__name__} object"


def _short(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


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
