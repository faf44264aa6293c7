"""Renderers of a `Solution`: a dict for JSON, plain text, and LaTeX (equation, the
inequalities the floors become, the solution set), all from the SymPy objects it holds."""

from __future__ import annotations

from typing import Any

import sympy

from symconv.render.text import text
from symconv.render.values import json_value, text_value
from symconv.solve.invert import Between
from symconv.solve.solution import Solution, condition_text


def solution_dict(solution: Solution) -> dict[str, Any]:
    """The JSON form: unknown, solutions (a list, or null when infinite or symbolic),
    interval ([low, high] as integers or SymPy-syntax strings, "oo" when unbounded; null
    when there is none), reason, and the equations and inequalities as strings."""
    interval = None
    if not solution.empty:
        interval = [json_value(solution.low), json_value(solution.high)]
    return {
        "unknown": solution.unknown,
        "solutions": None if solution.values is None else list(solution.values),
        "isolated": list(solution.isolated),
        "interval": interval,
        "reason": solution.reason,
        "complete": solution.complete,
        "equations": [f"{sympy.sstr(e.lhs)} = {sympy.sstr(e.rhs)}" for e in _equations(solution)],
        "inequalities": [_between_text(b) for b in solution.inequalities],
        "conditions": [condition_text(c) for c in solution.conditions],
    }


def solution_text(solution: Solution) -> str:
    """A few lines for a terminal: the answer first, then the reason and the working."""
    u = solution.unknown
    if solution.empty:
        head = f"no solution: {solution.reason}"
    elif solution.values is not None and len(solution.values) == 1:
        head = f"{u} = {solution.values[0]}"
    elif solution.values is not None:
        head = f"{u} in {{{', '.join(map(str, solution.values))}}}"
    elif solution.high == sympy.oo:
        head = f"{u} >= {text_value(solution.low)}"
        if solution.isolated:
            head = f"{u} in {{{', '.join(map(str, solution.isolated))}}} or {head}"
    elif sympy.sympify(solution.low, strict=True) == sympy.sympify(solution.high, strict=True):
        head = f"{u} = {text_value(solution.low)}"
    else:
        head = f"{text_value(solution.low)} <= {u} <= {text_value(solution.high)}"
    lines = [head]
    if solution.reason and not solution.empty:
        lines.append(f"  {solution.reason}")
    lines += [f"  where {condition_text(c)}" for c in solution.conditions]
    lines += [f"  from {text(e.lhs)} = {text(e.rhs)}" for e in _equations(solution)]
    lines += [f"  that is {_between_text(b)}" for b in solution.inequalities]
    return "\n".join(lines) + "\n"


def solution_latex(solution: Solution) -> str:
    """A gather* environment: the equation, the inequalities, the solution set."""
    u = sympy.latex(sympy.Symbol(solution.unknown))
    rows = [f"{sympy.latex(e.lhs)} = {sympy.latex(e.rhs)}" for e in _equations(solution)]
    rows += [f"{sympy.latex(b.low)} \\le {sympy.latex(b.expr)} \\le {sympy.latex(b.high)}"
             for b in solution.inequalities]
    if solution.empty:
        rows.append(f"{u} \\in \\emptyset \\quad \\text{{({_latex_text(solution.reason)})}}")
    elif solution.values is not None:
        rows.append(f"{u} \\in \\{{{', '.join(map(str, solution.values))}\\}}")
    else:
        high = "" if solution.high == sympy.oo else f" \\le {sympy.latex(solution.high)}"
        also = "".join(f"{v}, " for v in solution.isolated)
        row = f"{sympy.latex(solution.low)} \\le {u}{high}, \\quad {u} \\in \\mathbb{{Z}}"
        rows.append(f"{u} \\in \\{{{also.rstrip(', ')}\\}} \\text{{ or }} {row}" if also else row)
        rows += [f"\\text{{where }} {sympy.latex(c.holds)}" for c in solution.conditions]
    body = " \\\\\n".join(rows)
    return f"\\begin{{gather*}}\n{body}\n\\end{{gather*}}\n"


def _equations(solution: Solution) -> list[sympy.Eq]:
    """The equations without repeats (square inputs give the same one on every axis)."""
    return list(dict.fromkeys(solution.equations))


def _between_text(b: Between) -> str:
    return f"{sympy.sstr(b.low)} <= {sympy.sstr(b.expr)} <= {sympy.sstr(b.high)}"


def _latex_text(text: str) -> str:
    for char in "\\{}$&#%_^~":
        text = text.replace(char, f"\\{char}" if char not in "\\^~" else " ")
    return text
