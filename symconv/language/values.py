"""Values from outside the language (a Python argument, a --set option): the one conversion
of every entry point. Text goes through symconv's expression parser, never Python's."""

from __future__ import annotations

import operator
from collections.abc import Mapping

import sympy

from symconv.algebra.simplify import simplify_rounding as _simplify_rounding
from symconv.algebra.symbols import Value, as_value, describe, free_names, short, symbol
from symconv.errors import InvalidValueError, SymconvError
from symconv.language.parse import MAX_DIGITS, parse_expression, too_big

EXPECTED = "a whole number, an expression over symbols, or its text (such as 224 or '2*K + 1')"


def value_of(name: str, given: object) -> Value:
    """The value given for `name` from outside the language (a Python argument, --set): an
    int or a SymPy expression. Text goes through symconv's expression parser, never Python's;
    None, booleans, floats (3.0 too: a float is not exact), Decimal, Fraction, complex and
    containers are refused with an InvalidValueError naming `name`. A number that is not whole
    (from text such as '3/2') is returned as it is: the rule a literal obeys refuses it
    where it lands, naming the layer (see trace.check_size)."""
    if isinstance(given, str):
        text = str.__str__(given)
        try:
            given = parse_expression(text)
        except SymconvError as error:
            raise InvalidValueError(f"{name}: cannot read '{short(text)}' as a number or an "
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


def substitution(values: Mapping[str, object]) -> dict[sympy.Symbol, sympy.Expr]:
    """A SymPy substitution {symbol: value} from a {name: value} mapping (see value_of)."""
    return {
        symbol(name): sympy.sympify(value_of(name, v), strict=True) for name, v in values.items()
    }


def simplify_rounding(value: object) -> Value:
    """`symconv.simplify_rounding`: a value from the Python API (an int, a SymPy expression or
    its text, read by value_of) with nested floors and ceilings merged."""
    return _simplify_rounding(value_of("simplify_rounding", value))
