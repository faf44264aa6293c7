"""Readable conditions (symconv.present.conditions) as text and as LaTeX:
"H even", "W ≡ 1 (mod 4)", "W >= 5", "W in 193..224", "K - 1 <= 2*P"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never

import sympy

from symconv.present.conditions import (
    AllOf,
    Always,
    AnyOf,
    Condition,
    Never,
    Relation,
    Residue,
    Span,
    readable,
)
from symconv.present.expressions import Presented, cases
from symconv.present.latex import latex
from symconv.present.text import text


@dataclass(frozen=True, slots=True)
class _Style:
    expr: Callable[[Any], str]
    ops: dict[str, str]
    equiv: str
    mod: Callable[[int], str]
    word: Callable[[str], str]
    span: Callable[[int, int], str]


def _text_expr(e: Any) -> str:
    """A side of a relation, in its presented form (cases() checks it)."""
    return value_text(_side(e))


def _latex_expr(e: Any) -> str:
    return value_latex(_side(e))


def _side(e: Any) -> Any:
    if isinstance(e, sympy.Basic) and e.free_symbols and not e.is_Symbol:
        p = cases(e)
        return p.cases[0].value if p.single else e
    return e


_TEXT = _Style(_text_expr, {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="},
               "≡", lambda m: f"(mod {m})", lambda w: f" {w}", lambda a, b: f"in {a}..{b}")
_LATEX = _Style(_latex_expr, {"=": "=", "!=": r"\ne", "<": "<", "<=": r"\le", ">": ">",
                              ">=": r"\ge"},
                r"\equiv", lambda m: rf"\pmod{{{m}}}", lambda w: rf"\text{{ {w}}}",
                lambda a, b: rf"\in \{{{a}, \dots, {b}\}}")


def condition_text(condition: Any) -> str:
    """A SymPy condition (or a readable one) in words, for a terminal."""
    return _words(_as_readable(condition), _TEXT)


def condition_latex(condition: Any) -> str:
    """The same in LaTeX math."""
    return _words(_as_readable(condition), _LATEX)


def _as_readable(condition: Any) -> Condition:
    if isinstance(condition, Residue | Span | Relation | AllOf | AnyOf | Always | Never):
        return condition
    return readable(condition)


def _words(c: Condition, style: _Style) -> str:
    match c:
        case Residue(expr=e, modulus=2, remainders=(r,)):
            return _operand(e, style) + style.word("even" if r == 0 else "odd")
        case Residue(expr=e, modulus=m, remainders=rs):
            either = " or ".join(map(str, rs)) if style is _TEXT else r"\text{ or }".join(
                map(str, rs))
            return f"{_operand(e, style)} {style.equiv} {either} {style.mod(m)}"
        case Span(symbol=x, low=low, high=high):
            name = style.expr(x)
            if low is not None and low == high:
                return f"{name} = {low}"
            if low is not None and high is not None:
                return f"{name} {style.span(low, high)}"
            if low is not None:
                return f"{name} {style.ops['>=']} {low}"
            return f"{name} {style.ops['<=']} {high}"
        case Relation(lhs=lhs, op=op, rhs=rhs):
            return f"{style.expr(lhs)} {style.ops[op]} {style.expr(rhs)}"
        case AllOf(parts=parts):
            joint = " and " if style is _TEXT else r" \text{ and } "
            return joint.join(_grouped(p, style, AnyOf) for p in parts)
        case AnyOf(parts=parts):
            joint = " or " if style is _TEXT else r" \text{ or } "
            return joint.join(_grouped(p, style, AllOf) for p in parts)
        case Always():
            return "always" if style is _TEXT else r"\text{always}"
        case Never():
            return "never" if style is _TEXT else r"\text{never}"
        case _:
            assert_never(c)


def _grouped(c: Condition, style: _Style, inner_kind: type) -> str:
    """A part of a conjunction or a disjunction, in parentheses where it is the other kind
    (A and (B or C); (A and B) or C), so that no reader has to know which binds first."""
    inner = _words(c, style)
    return f"({inner})" if isinstance(c, inner_kind) else inner


def _operand(e: Any, style: _Style) -> str:
    """A sum is parenthesised before a word: (H + 2*P) even."""
    shown = style.expr(e)
    return f"({shown})" if e.is_Add else shown


# ---------------------------------------------------------------- presented expressions


def value_text(value: Any) -> str:
    """A presented value for a terminal, in SymPy syntax; a positive constant added to one
    factored product is written first, as the closed forms read (1 + L*(K - 1))."""
    head, rest = _constant_first(value)
    return f"{head} + {text(rest)}" if head else text(value)


def value_latex(value: Any) -> str:
    """The same in LaTeX math."""
    head, rest = _constant_first(value)
    return f"{latex(sympy.Integer(head))} + {latex(rest)}" if head else latex(value)


def _constant_first(value: Any) -> tuple[str, Any]:
    if isinstance(value, sympy.Add) and len(value.args) == 2:
        constant, rest = value.as_coeff_Add()
        if constant.is_Integer and constant > 0 and isinstance(rest, sympy.Mul) and any(
                isinstance(f, sympy.Add) or (isinstance(f, sympy.Pow) and isinstance(
                    f.base, sympy.Add)) for f in rest.args):
            return str(constant), rest
    return "", value


def cases_text(presented: Presented) -> str:
    """The cases as one line: 'value' where one value holds everywhere, else
    'value for condition; value for condition'."""
    if presented.single:
        return value_text(presented.cases[0].value)
    return "; ".join(f"{value_text(c.value)} for {condition_text(c.when)}"
                     for c in presented.cases)


def cases_latex(presented: Presented) -> str:
    """The same in LaTeX math (inline: the cases joined by semicolons)."""
    if presented.single:
        return value_latex(presented.cases[0].value)
    return r";\ ".join(rf"{value_latex(c.value)} \text{{ for }} {condition_latex(c.when)}"
                       for c in presented.cases)


def cases_json(presented: Presented) -> list[dict[str, str | None]]:
    """The cases for JSON: each value in SymPy syntax and its condition in words (null where
    it always holds)."""
    return [{"value": value_text(c.value),
             "when": None if c.when is sympy.true else condition_text(c.when)}
            for c in presented.cases]


def expression_text(expr: Any) -> str:
    """An engine expression presented (`present.expressions.cases`) as one line of text."""
    return cases_text(cases(expr))


def expression_latex(expr: Any) -> str:
    """The same in LaTeX math."""
    return cases_latex(cases(expr))
