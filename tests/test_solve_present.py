"""Symbolic solve answers as a teacher writes them (present/solution.py): the exact first line
of the text output, each answer verified by brute force over a grid of the other symbols
(the unknown enumerated through Network.output_shape), and the check that refuses a wrong
presented form."""

from __future__ import annotations

import itertools
import json
import pathlib

import pytest
import sympy

import symconv
from symconv.algebra.symbols import symbol, truth
from symconv.errors import SymconvError
from symconv.language.parse import parse_expression
from symconv.present import solution as present_solution
from symconv.render.solution import solution_dict, solution_latex, solution_text
from symconv.solve.answer import Answer
from symconv.solve.present import present

# (layers after 'input C x W', unknown, target, the first line of the text answer)
QUESTIONS = [
    ("conv C k=K p=P", "P", "W", "P = (K - 1)/2 for K odd; no integer P for K even"),
    ("conv C k=3 d=D p=P", "P", "W", "P = D"),
    ("conv 64 k=3 s=2 p=P", "P", "ceiling(W/2)", "P = 1"),
    ("conv C k=K s=S p=P\nconvT C k=K s=S p=P op=O", "O", "W", "O = (W + 2*P - K) mod S"),
    ("conv C k=3 s=S p=1", "S", "ceiling(W/2)",
     "S = 2 for W = 3 and every W >= 5; W = 1: S >= 1; W = 2: S >= 2; W = 4: S in 2..3"),
    # 'same' padding under dilation and kernel together
    ("conv C k=K d=D p=P", "P", "W",
     "P = D*(K - 1)/2 for D even or K odd; no integer P for D odd and K even"),
    ("conv C k=K d=D p=P", "P", "W - 2",
     "P = D*(K - 1)/2 - 1 for K odd and D*(K - 1) - 2 >= 0; P = D*(K - 1)/2 - 1 for D even and "
     "K even; no integer P for K odd and D*(K - 1) - 2 < 0; no integer P for D odd and K even"),
    # kernel solves, stride 1
    ("conv C k=K p=P", "K", "W", "K = 2*P + 1"),
    ("conv C k=K d=2 p=P", "K", "W", "K = P + 1"),
    ("conv C k=K p=P\nconv C k=5 p=P", "K", "W", "K = 4*P - 3"),
    ("conv C k=3 d=D p=P", "D", "W", "D = P"),
    # padding chains of two layers
    ("conv C k=K p=P\nconv C k=3 p=1", "P", "W",
     "P = (K - 1)/2 for K odd; no integer P for K even"),
    ("conv C k=K p=P\nconv C k=K p=Q", "P", "W",
     "P = K - Q - 1 for K - Q - 1 >= 0; no integer P for K - Q - 1 < 0"),
    ("conv C k=K p=P\nmaxpool k=2", "P", "floor(W/2)",
     "P = (K - 1)/2 for K odd; P = K/2 - 1 for K even and W odd; P = K/2 for K even and W even"),
    ("conv C k=K s=2 p=P", "P", "ceiling(W/2)",
     "P = (K - 1)/2 for K odd; P = K/2 for K even and W odd; P = K/2 - 1 for K even and W even"),
    ("conv C k=5 s=2 p=P", "P", "ceiling(W/2)", "P = 2"),
    # output_padding with numbers for some symbols
    ("conv C k=3 s=2 p=1\nconvT C k=3 s=2 p=1 op=O", "O", "W", "O = 0 for W odd; O = 1 for W even"),
    ("conv C k=K s=2 p=1\nconvT C k=K s=2 p=1 op=O", "O", "W", "O = (W - K) mod 2"),
    ("convT C k=K s=2 p=P", "P", "2*W", "P = K/2 - 1 for K even; no integer P for K odd"),
    # input sizes for a symbolic stride; an interval nothing simplifies
    ("conv C k=3 s=S p=1", "W", "7", "6*S + 1 <= W <= 7*S"),
    ("conv C k=3 s=S p=1\nconv C k=3 s=2 p=1", "W", "7", "12*S + 1 <= W <= 14*S"),
    ("conv C k=K p=P", "W", "7",
     "W = K - 2*P + 6 for K - 2*P + 5 >= 0; no integer W for K - 2*P + 5 < 0"),
    # beyond the splits: the interval, rewritten where proven, and said to be kept
    ("conv C k=K s=S p=P", "P", "ceiling(W/S)",
     "Max(0, ceiling((K + S*(ceiling(W/S) - 1) - W)/2)) <= P <= "
     "floor((K + (-W) mod S - 1)/2)"),
]

RANGE = {0: 4, 1: 4, 2: 4}  # by how many symbols besides W: each takes 1..n, W 1..2n
UNKNOWN_UP_TO = 14


def _solve(layers: str, unknown: str, target: str) -> symconv.Solution:
    t = int(target) if target.isdigit() else parse_expression(target)
    return symconv.solve("input C x W\n" + layers, unknown, t)


@pytest.mark.parametrize(("layers", "unknown", "target", "first"), QUESTIONS)
def test_first_line_and_brute_force(layers: str, unknown: str, target: str, first: str) -> None:
    solution = _solve(layers, unknown, target)
    assert solution_text(solution).splitlines()[0] == first
    net = symconv.parse("input C x W\n" + layers)
    t = int(target) if target.isdigit() else parse_expression(target)
    names = sorted(set(net.symbols) - {unknown, "C"})
    shown = present(solution)
    n = RANGE.get(len(names) - 1, 3)
    for values in itertools.product(range(1, 2 * n + 1), repeat=len(names)):
        point = dict(zip(names, values, strict=True))
        if any(v > n for name, v in point.items() if name != "W"):
            continue
        subs = {symbol(n): sympy.Integer(v) for n, v in point.items()}
        goal = sympy.sympify(t, strict=True).xreplace(subs)
        brute = set()
        for v in range(UNKNOWN_UP_TO + 1):
            try:
                got = net.output_shape(C=3, **point, **{unknown: v})[1:]
            except SymconvError:
                continue
            if tuple(got) == (goal,):
                brute.add(v)
        assert _presented_set(shown, unknown, subs) == brute, point


def _presented_set(shown: present_solution.Presented, unknown: str,
                   subs: dict[sympy.Symbol, sympy.Integer]) -> set[int]:
    u = symbol(unknown)
    holding = [c for c in shown.cases if truth(sympy.sympify(c.when, strict=True).xreplace(subs))]
    assert len(holding) == 1, subs
    a: Answer = holding[0].answer
    found = set(a.values)
    if a.low is not None:
        low, high = a.low.xreplace(subs), a.high.xreplace(subs)
        found |= {v for v in range(UNKNOWN_UP_TO + 1) if low <= v <= high}
    return {v for v in found if v <= UNKNOWN_UP_TO and all(
        truth(sympy.sympify(c.holds, strict=True).xreplace({**subs, u: sympy.Integer(v)}))
        for c in shown.where)}


def test_resnet18_input_sizes_read_as_one_rounding() -> None:
    """The working shows the closed form the table knows, the answer an integer range."""
    net = pathlib.Path(__file__).parent.parent / "examples" / "resnet18.net"
    body = [line for line in net.read_text().splitlines()
            if not line.startswith(("adaptive_avgpool", "flatten", "linear"))]
    text = "\n".join(body).replace("input 3 x 224 x 224", "input 3 x W x W")
    lines = solution_text(symconv.solve(text, "W", 7)).splitlines()
    assert lines == ["W in 193..224", "  from ceiling(W/32) = 7", "  that is 193 <= W <= 224"]


def test_latex_and_json_carry_the_cases() -> None:
    solution = _solve("conv C k=K p=P", "P", "W")
    latex = solution_latex(solution)
    assert "\\begin{cases}" in latex
    assert "P = \\frac{K - 1}{2} & \\text{for } K\\text{ odd}" in latex
    assert "\\text{no integer } P & \\text{for } K\\text{ even}" in latex
    data = json.loads(json.dumps(solution_dict(solution)))
    assert data["cases"] == [
        {"when": "K odd", "answer": "P = (K - 1)/2", "low": "(K - 1)/2", "high": "(K - 1)/2",
         "values": []},
        {"when": "K even", "answer": "no integer P", "low": None, "high": None, "values": []},
    ]
    assert data["interval"] == ["Max(0, ceiling((K - 1)/2))", "floor((K - 1)/2)"]  # raw, kept


def test_conditions_are_said_in_words() -> None:
    solution = _solve("conv C k=K s=S p=P\nconvT C k=K s=S p=P op=O", "O", "W")
    where = [line for line in solution_text(solution).splitlines() if "where" in line]
    assert where == ["  where floor((W - K + 2*P)/S) + 1 >= 1 (a layer's rule)"]
    assert "Max(" not in solution_text(solution) and "Eq(" not in solution_text(solution)


def test_a_wrong_presented_form_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check before showing: a split that gives one class the wrong answer is an
    internal error, never a line on screen."""
    real = present_solution._compare

    def off_by_one(lo: object, hi: object) -> list[tuple[object, Answer]]:
        return [(c, Answer(a.low + 1, a.high + 1) if a.low is not None else a)
                for c, a in real(lo, hi)]

    monkeypatch.setattr(present_solution, "_compare", off_by_one)
    present_solution._present.cache_clear()
    with pytest.raises(SymconvError, match="internal error: the presented answer to P differs"):
        solution_text(_solve("conv C k=K p=P", "P", "W"))
    present_solution._present.cache_clear()


def test_cases_property_is_the_presented_form() -> None:
    solution = _solve("conv C k=3 d=D p=P", "P", "W")
    (case,) = solution.cases
    assert case.when is sympy.true and case.answer.single == symbol("D")
    assert solution.low != case.answer.low  # the raw bounds stay as the engine gives them
