"""How single values are written: JSON numbers or SymPy-syntax strings, and plain text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sympy

from symconv.present.words import expression_latex, expression_text


def json_value(value: Any) -> int | str | None:
    """An integer as a JSON integer; anything else (a symbolic expression, an exact fraction
    such as 1/2) as a string in SymPy syntax."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    v = sympy.sympify(value, strict=True)
    if v.is_Integer:
        return int(v)
    return sympy.sstr(v)


def json_list(values: Iterable[Any]) -> list[int | str | None]:
    return [json_value(v) for v in values]


def text_value(value: Any) -> str:
    """A value as a person reads it in a terminal: presented (symconv.present.expressions:
    cases in words, never a Piecewise), 'expr for cond; expr for cond' where it has cases."""
    return expression_text(value)


def text_shape(shape: Iterable[Any]) -> str:
    """C x H x W, each size presented, a sum or cases in parentheses so that the x
    separators read unambiguously."""
    def one(v: Any) -> str:
        shown = text_value(v)
        return f"({shown})" if sympy.sympify(v, strict=True).is_Add or "; " in shown else shown

    return " x ".join(one(v) for v in shape)


def row_label(parent: str, index: int, path: int) -> str:
    """A table row's label: 3 at the top, 3.1 inside a repeated block, 3.a1 and 3.b1 inside
    the branches of residual (a: body, b: shortcut) and concat."""
    branch = "" if path == 0 else "abcdefghijklmnopqrstuvwxyz"[(path - 1) % 26]
    return f"{parent}.{branch}{index}" if parent else str(index)


def value_latex(value: object) -> str:
    """A value shown in a table or a closed form: presented (symconv.present: cases with
    their conditions in words, remainders, geometric sums), checked, in LaTeX."""
    return expression_latex(value)


def shape_latex(shape: Sequence[object]) -> str:
    """C × H × W, each size presented, a sum or cases in parentheses so that × binds as it
    reads."""
    def one(v: object) -> str:
        shown = value_latex(v)
        cases = r"\text{ for }" in shown  # a size with cases: the cases are one factor
        return rf"\left({shown}\right)" if cases or sympy.sympify(v, strict=True).is_Add \
            else shown

    return r" \times ".join(one(v) for v in shape)


def counted(count: Any, noun: str) -> str:
    """A count and its noun as a sentence says them: '1 layer', '34,944 parameters' (a whole
    number with thousands separators), 'N + 2 parameters' (an expression, plural)."""
    number = sympy.sympify(count, strict=True)
    if number.is_Integer:
        return f"{int(number):,} {noun}{'' if number == 1 else 's'}"
    return f"{text_value(number)} {noun}s"


def with_article(word: str) -> str:
    """The word after 'a' or 'an', by its first letter: 'a conv2d', 'an adaptiveavgpool2d'."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
