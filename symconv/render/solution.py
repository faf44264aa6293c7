"""Renderers of a `Solution`: a dict for JSON, plain text, and LaTeX (equation, the
inequalities the floors become, the answer in cases), all from its presented form
(symconv.present.solution: cases, conditions in words, the working with roundings merged)."""

from __future__ import annotations

from typing import Any

import sympy

from symconv.errors import SymconvError
from symconv.present.conditions import AnyOf, Span, readable
from symconv.present.expressions import cases as expression_cases
from symconv.present.latex import latex as symconv_latex
from symconv.present.latex import name_latex
from symconv.present.text import text
from symconv.present.values import json_value, text_value
from symconv.present.words import condition_latex
from symconv.present.words import condition_text as words
from symconv.solve.answer import Answer, Case, Presented
from symconv.solve.invert import Between
from symconv.solve.present import present
from symconv.solve.solution import Solution, condition_text


def solution_dict(solution: Solution) -> dict[str, Any]:
    """The JSON form: unknown, solutions (a list, or null when infinite or symbolic),
    interval ([low, high] as integers or SymPy-syntax strings, "oo" when unbounded; null
    when there is none), reason, the equations and inequalities as strings, the conditions
    in words, and the cases ({"when", "answer"} in words, with low/high/values as data)."""
    shown = present(solution)
    interval = None
    if not solution.empty:
        interval = [json_value(solution.low), json_value(solution.high)]
    return {
        "unknown": solution.unknown,
        "solutions": None if solution.values is None else list(solution.values),
        "isolated": list(solution.isolated),
        "interval": interval,
        "reason": shown.reason,
        "complete": solution.complete,
        "equations": [f"{sympy.sstr(e.lhs)} = {sympy.sstr(e.rhs)}" for e in shown.equations],
        "inequalities": [_between_text(b) for b in shown.inequalities],
        "conditions": [condition_text(c) for c in shown.where],
        "cases": [{"when": _when_text(c), "answer": _answer_text(solution.unknown, c.answer),
                   "low": None if c.answer.low is None else json_value(c.answer.low),
                   "high": None if c.answer.high is None else json_value(c.answer.high),
                   "values": list(c.answer.values)} for c in shown.cases],
    }


def solution_text(solution: Solution) -> str:
    """A few lines for a terminal: the answer first (in cases), then the reason and the
    working."""
    shown = present(solution)
    if solution.empty:
        head = f"no solution: {solution.reason}"
    else:
        head = "; ".join(_case_text(solution.unknown, c) for c in shown.cases)
    lines = [head]
    if shown.reason and not solution.empty:
        lines.append(f"  {shown.reason}")
    lines += [f"  where {condition_text(c)}" for c in shown.where]
    lines += [f"  from {text(e.lhs)} = {text(e.rhs)}" for e in shown.equations]
    lines += [f"  that is {_between_text(b)}" for b in shown.inequalities]
    return "\n".join(lines) + "\n"


def solution_latex(solution: Solution) -> str:
    """A gather* environment: the equation, the inequalities, the answer (a cases
    environment where it has several)."""
    shown = present(solution)
    rows = [*_working_rows(shown), *_answer_rows(solution, shown)]
    body = " \\\\\n".join(rows)
    return f"\\begin{{gather*}}\n{body}\n\\end{{gather*}}\n"


def solution_math(solution: Solution) -> str:
    """Jupyter's LaTeX form, in the order the text reads: the answer, the reason in words,
    then the working (the same rows as `solution_markdown`)."""
    shown = present(solution)
    rows = [*_answer_rows(solution, shown), *_reason_rows(solution, shown),
            *_working_rows(shown)]
    body = " \\\\\n".join(rows)
    return f"\\begin{{gather*}}\n{body}\n\\end{{gather*}}\n"


def solution_markdown(solution: Solution) -> str:
    """Jupyter's Markdown form: the answer as display math, the reason, the working as
    display math (the rows of `solution_math`)."""
    shown = present(solution)

    def display(rows: list[str]) -> str:
        return "$$\n\\begin{gathered}\n" + " \\\\\n".join(rows) + "\n\\end{gathered}\n$$"

    parts = [display(_answer_rows(solution, shown))]
    parts += [display(reason) for reason in [_reason_rows(solution, shown)] if reason]
    working = _working_rows(shown)
    if working:
        parts += ["from", display(working)]
    return "\n\n".join(parts) + "\n"


def _working_rows(shown: Presented) -> list[str]:
    """The equations, and the inequalities their roundings become."""
    rows = [f"{latex(e.lhs)} = {latex(e.rhs)}" for e in shown.equations]
    rows += [f"{latex(b.low)} \\le {latex(b.expr)} \\le {latex(b.high)}"
             for b in shown.inequalities]
    return rows


def _reason_rows(solution: Solution, shown: Presented) -> list[str]:
    """How the answer was found, in words (an empty answer says it in its own row)."""
    if solution.empty or not shown.reason:
        return []
    return [f"\\text{{{_latex_text(shown.reason)}}}"]


def _answer_rows(solution: Solution, shown: Presented) -> list[str]:
    """The answer: the set, or its cases, and what else must hold."""
    u = name_latex(solution.unknown)
    if solution.empty:
        return [f"{u} \\in \\emptyset \\quad \\text{{({_latex_text(solution.reason)})}}"]
    if solution.values is not None:  # a list of numbers, long runs with dots
        v = solution.values
        run = len(v) >= 3 and v[-1] - v[0] + 1 == len(v)
        listed = f"{v[0]}, \\dots, {v[-1]}" if run else ", ".join(map(str, v))
        return [f"{u} = {v[0]}" if len(v) == 1 else f"{u} \\in \\{{{listed}\\}}"]
    return [_cases_latex(u, shown),
            *(f"\\text{{where }} {_condition_latex(c.holds)}" for c in shown.where)]


# ---------------------------------------------------------------- answers in words


def latex(e: Any) -> str:
    """symconv's LaTeX printer (one fraction under a rounding, \\cdot between numbers)."""
    return symconv_latex(e)


def _case_text(u: str, c: Case) -> str:
    answer = _answer_text(u, c.answer)
    if c.when is sympy.true:
        return answer
    if c.point:
        return f"{_when_text(c)}: {answer}"
    return f"{answer} for {_when_text(c)}"


def _when_text(c: Case) -> str:
    """The case's condition in words; a union of spans of one symbol as 'W = 3 and every
    W >= 5'."""
    if c.when is sympy.true:
        return "always"
    try:
        said = _readable_when(c.when)
    except SymconvError:
        return sympy.sstr(c.when)
    if isinstance(said, AnyOf) and all(isinstance(p, Span) for p in said.parts):
        return " and ".join(("every " if isinstance(p, Span) and p.high is None else "")
                            + words(p) for p in said.parts)
    return words(said)


def _answer_text(u: str, a: Answer) -> str:
    if a.empty:
        return f"no integer {u}"
    listed = f"{{{', '.join(map(str, a.values))}}}"
    if a.low is None:
        return f"{u} = {a.values[0]}" if len(a.values) == 1 else f"{u} in {listed}"
    if a.high == sympy.oo:
        main = f"{u} >= {_shown(a.low)}"
    elif a.single is not None:
        main = f"{u} = {_shown(a.low)}"
    elif a.low.is_Integer and a.high.is_Integer:
        main = f"{u} in {a.low}..{a.high}"
    else:
        main = f"{_shown(a.low)} <= {u} <= {_shown(a.high)}"
    return f"{u} in {listed} or {main}" if a.values else main


def _shown(bound: Any) -> str:
    """A bound presented where it is one value (D*(K - 1)/2 - 1), else as the engine wrote
    it: cases of a bound inside an interval would not read."""
    return text_value(bound) if expression_cases(bound).single else text(bound)


def _answer_latex(u: str, a: Answer) -> str:
    if a.empty:
        return f"\\text{{no integer }} {u}"
    listed = ", ".join(map(str, a.values))
    if a.low is None:
        return f"{u} \\in \\{{{listed}\\}}"
    if a.high == sympy.oo:
        main = f"{u} \\ge {latex(a.low)}"
    elif a.single is not None:
        main = f"{u} = {latex(a.low)}"
    elif a.low.is_Integer and a.high.is_Integer:
        dots = ", \\dots, " if a.high - a.low >= 2 else ", "
        main = f"{u} \\in \\{{{a.low}{dots}{a.high}\\}}"
    else:
        main = f"{latex(a.low)} \\le {u} \\le {latex(a.high)}, \\quad {u} \\in \\mathbb{{Z}}"
    return f"{u} \\in \\{{{listed}\\}} \\text{{ or }} {main}" if a.values else main


def _cases_latex(u: str, shown: Presented) -> str:
    if len(shown.cases) == 1 and shown.cases[0].when is sympy.true:
        return _answer_latex(u, shown.cases[0].answer)
    rows = []
    for c in shown.cases:
        when = _condition_latex(c.when)
        rows.append(f"{_answer_latex(u, c.answer)} & \\text{{for }} {when}")
    return "\\begin{cases}\n" + " \\\\\n".join(rows) + "\n\\end{cases}"


def _readable_when(when: Any) -> Any:
    """The readable condition, W <= 1 said W = 1 (every symbol is at least 1)."""
    said = readable(when)
    if isinstance(said, Span) and said.low is None and said.high == 1:
        return Span(said.symbol, 1, 1)
    return said


def _condition_latex(condition: Any) -> str:
    try:
        return condition_latex(_readable_when(condition))
    except SymconvError:
        return latex(condition)


def _between_text(b: Between) -> str:
    return f"{text(b.low)} <= {text(b.expr)} <= {text(b.high)}"


def _latex_text(text: str) -> str:
    for char in "\\{}$&#%_^~":
        text = text.replace(char, f"\\{char}" if char not in "\\^~" else " ")
    return text
