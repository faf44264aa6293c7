"""The printers and the derivation steps as a textbook writes them: no juxtaposed factors that
read as one number, one fraction under a floor, powers for repeated values, the receptive
field as R + (K - 1)·J, ceil-mode pooling by its case, no SymPy internals in any text or
LaTeX output, and terminal tables within 160 columns. Every printed form is compared with the
raw one at random positive integer points."""

from __future__ import annotations

import random
import re

import pytest
import sympy
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sympy.parsing.latex import parse_latex
from test_robustness import run

import symconv
from symconv.derive.derivation import CEIL_DROPPED, CEIL_EITHER, CEIL_INSIDE, derive
from symconv.derive.steps import evaluate
from symconv.documents.notes import build_notes, notes_body
from symconv.errors import SymconvError
from symconv.language.parse import parse_expression
from symconv.present.cases import cases, check
from symconv.present.latex import latex
from symconv.present.text import text
from symconv.present.values import text_shape, text_value
from symconv.render.columns import WIDTH, aligned_table
from symconv.render.latex import derivation_latex
from symconv.render.markdown import derivation_markdown
from symconv.render.table import RENDERERS, flat_rows
from symconv.render.text import derivation_text, step_text

H, K, P, N, S, L, M = (sympy.Symbol(n, integer=True, positive=True) for n in "HKPNSLM")


def _same(a: sympy.Expr, b: sympy.Expr, seed: int = 0) -> None:
    """a and b agree at random positive integer points."""
    rng = random.Random(seed)
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    for _ in range(12):
        point = {s: sympy.Integer(rng.randint(1, 12)) for s in symbols}
        difference = a.xreplace(point) - b.xreplace(point)
        assert (difference if difference.is_Number else sympy.simplify(difference)) == 0, (
            a, b, point)


def _read_text(shown: str) -> sympy.Expr:
    """A printed text form read back through symconv's own expression parser."""
    return sympy.sympify(parse_expression(shown), strict=True)


def _read_latex(tex: str) -> sympy.Expr:
    plain = {s: sympy.Symbol(s.name) for s in (H, K, P, N, S, L, M)}
    parsed = parse_latex(tex, backend="lark")
    return parsed.xreplace({sympy.Symbol(s.name): s for s in plain})


# A digit printed right after a factor, with only a space between: 2 2^{N} reads as 22^N.
JUXTAPOSED_DIGIT = re.compile(r"[0-9A-Za-z})]\s+[0-9]")


@pytest.mark.parametrize(
    ("expr", "tex"),
    [
        (2 * 2**N, r"2 \cdot 2^{N}"),
        (3 * 2**N * K, r"3 \cdot 2^{N} K"),
        (2**N * 3**K, r"2^{N} \cdot 3^{K}"),
        (2 * 2**N / 3, r"\frac{2 \cdot 2^{N}}{3}"),
        (sympy.Mul(2, 3, evaluate=False), r"2 \cdot 3"),
        (sympy.Mul(2, sympy.Add(3, 4, evaluate=False), evaluate=False),
         r"2 \cdot \left(3 + 4\right)"),
        (2 * K, "2 K"),
        (sympy.Mul(2, K - 1, evaluate=False), r"2 \cdot \left(K - 1\right)"),
        (K**2 * 2**N, "2^{N} K^{2}"),  # as the text form: 2**N*K**2
    ],
)
def test_latex_products_never_read_as_one_number(expr: sympy.Expr, tex: str) -> None:
    assert latex(expr) == tex
    assert not JUXTAPOSED_DIGIT.search(tex.replace(r"\cdot", "*"))


_FACTORS = st.sampled_from([sympy.Integer(2), sympy.Integer(3), 2**N, 3**K, K, N**2,
                            K - 1, sympy.Integer(5) ** M, 2**(N + 1)])


@settings(max_examples=60, deadline=None)
@example([sympy.Integer(2), sympy.Integer(2)], False)
@example([sympy.Integer(2), 2**N], True)
@given(st.lists(_FACTORS, min_size=2, max_size=4), st.booleans())
def test_latex_products_property(factors: list[sympy.Expr], evaluated: bool) -> None:
    """Any product of numbers, powers of numbers, symbols and sums: a digit never follows
    a printed factor with only a space between."""
    tex = latex(sympy.Mul(*factors, evaluate=evaluated))
    assert not JUXTAPOSED_DIGIT.search(tex.replace(r"\cdot", "*")), tex


ROUNDED = [
    sympy.ceiling((H - 7 * K + 14 * P + 7) / 8),
    sympy.floor((H - 7 * K + 14 * P + 7) / 8),
    sympy.floor(sympy.Rational(3, 2) * H + K / 4),
    sympy.floor(H / 2 + sympy.Rational(1, 2)) + 1,
    sympy.ceiling((H - K + 2 * P) / S) + 1,
    sympy.floor(H / 4 - sympy.Rational(9, 4)),
]


@pytest.mark.parametrize("expr", ROUNDED, ids=str)
def test_a_rounded_fraction_stays_one_fraction(expr: sympy.Expr) -> None:
    tex, shown = latex(expr), text(expr)
    for rounded in re.findall(r"\\left\\l(?:floor|ceil) (.*?) \\right\\r", tex):
        assert rounded.startswith(r"\frac{") and rounded.count(r"\frac") == 1, tex
    for rounded in re.findall(r"(?:floor|ceiling)\((.*)\)", shown):
        assert rounded.count("/") == 1, shown
    _same(_read_text(shown), expr)
    _same(_read_latex(tex), expr)


def test_rounded_fraction_examples() -> None:
    assert text(ROUNDED[0]) == "ceiling((H - 7*K + 14*P + 7)/8)"
    assert latex(ROUNDED[0]) == r"\left\lceil \frac{H - 7 K + 14 P + 7}{8} \right\rceil"


# ---------------------------------------------------------------- derivation steps

NETWORKS = [
    "input C x H x W\nconv C k=K s=S p=P\nconv C k=K s=S p=P",
    "input 3 x 32 x 32\nconv 8 k=3 s=2 p=1\nmaxpool k=3 s=2 ceil\nconv 16 k=3 d=2",
    "input 3 x H\nmaxpool k=3 s=2 ceil",
    "input 3 x H\nmaxpool k=2 s=3 p=1 ceil",
    "input 3 x 16\nmaxpool k=2 s=3 p=1 ceil\nmaxpool k=K s=S p=P ceil",
    "input 3 x H x W\nmaxpool k=K s=S p=P ceil\nconv 4 k=3",
    "input C x H x W\nrepeat L { conv C k=K s=S }",
    "input C x H x W\nrepeat 3 { conv C k=3 s=2 p=1 }",
    "input 3 x H\nconvT 8 k=K s=S p=P\nconv 8 k=K s=S d=D",
    "input 3 x H x W\nresidual { conv 3 k=3 p=1 }\nmaxpool k=2 ceil\nflatten\nlinear 10",
    "input C x H x W\nconv C k=K s=S p=P\nmaxpool k=2 s=2 ceil\nconv 2*C k=K",
]


@pytest.mark.parametrize("net", NETWORKS)
def test_every_step_line_equals_its_value(net: str) -> None:
    """The rewritten lines (factored fields, cases, powers) say what the engine computes."""
    for step in derive(symconv.parse(net)).steps:
        for line in step.lines()[1:]:
            _same(evaluate(line), step.value)


def test_receptive_field_step_is_factored() -> None:
    text_out = derivation_text(derive(symconv.parse("input 3 x H\nconv 8 k=K s=S\nconv 8 k=3 d=2"),
                                      "rf"))
    assert "  R_1 = R_0 + (K_1 - 1)*J_0\n      = 1 + (K - 1)*1\n      = K\n" in text_out
    assert "  R_2 = R_1 + D_2*(K_2 - 1)*J_1\n      = K + 2*(3 - 1)*S\n" in text_out
    tex = derivation_latex(derive(symconv.parse("input 3 x 32\nconv 8 k=5 s=2"), "rf"))
    assert (r"R_{1} &= R_{0} + \left(K_{1} - 1\right) J_{0} \\" + "\n"
            r" &= 1 + \left(5 - 1\right) \cdot 1 \\" + "\n" r" &= 1 + 4 \\") in tex


def test_size_step_keeps_the_formulas_order() -> None:
    """H - K + 2P from the formula line to the substituted line, symbolic and numeric."""
    for net in ("input 3 x H x W\nconv 8 k=K s=S p=P", "input 3 x 32 x 32\nconv 8 k=3 p=1",
                "input 3 x H x W\nrepeat 2 { conv 3 k=K p=P }\nconv 3 k=K p=P"):
        for step in derive(symconv.parse(net), "shape").steps:
            if step.target.name.startswith("H_") and step.formula != step.value:
                first, second = ([*step_text(step).split("\n"), ""])[:2]
                assert re.search(r"\(H_\d - K_\d \+ 2\*P_\d\)", first), step_text(step)
                assert re.search(r"\(\S+ - \S+ \+ 2\*\S+\)", second), step_text(step)


def test_a_repeated_value_prints_as_a_power() -> None:
    net = symconv.parse("input C x H x W\nconv C k=K s=S p=P")
    out = derivation_text(derive(net, "params"))
    assert "  params_1 = (C_0*K_1[H]*K_1[W] + 1)*C_1\n           = (C*K**2 + 1)*C\n" in out
    assert r"&= \left(C K^{2} + 1\right) C" in derivation_latex(derive(net, "params"))
    for text_net in NETWORKS:
        shown = derivation_text(derive(symconv.parse(text_net)))
        # a name times itself (K*K), not S*S**L, which is S times a power
        assert not re.search(r"(?<![\w\]*])([A-Za-z]\w*)\*\1(?![\w\[*])", shown), shown


@pytest.mark.parametrize(
    ("net", "note", "formula"),
    [
        ("input 3 x H\nmaxpool k=3 s=2 ceil", CEIL_INSIDE,
         "  L_1 = ceiling((L_0 - K_1 + 2*P_1)/S_1) + 1\n      = ceiling((H - 3 + 2*0)/2) + 1\n"
         "      = floor(H/2)\n"),
        ("input 3 x 16\nmaxpool k=2 s=3 p=1 ceil", CEIL_DROPPED,
         "  L_1 = ceiling((L_0 - K_1 + 2*P_1)/S_1)\n      = ceiling((16 - 2 + 2*1)/3)\n"),
        ("input 3 x 18\nmaxpool k=2 s=3 p=1 ceil", CEIL_INSIDE,
         "  L_1 = ceiling((L_0 - K_1 + 2*P_1)/S_1) + 1\n"),
        ("input 3 x H\nmaxpool k=2 s=3 p=1 ceil", CEIL_EITHER,
         "  L_1 = ceiling((L_0 - K_1 + 2*P_1)/S_1) for L_0 + P_1 <= "),
    ],
)
def test_ceil_mode_names_the_case(net: str, note: str, formula: str) -> None:
    shown = derivation_text(derive(symconv.parse(net), "shape"))
    assert f"  {note}\n{formula}" in shown
    tex = derivation_latex(derive(symconv.parse(net), "shape"))
    assert r"\text{" + note + "}" in tex


@pytest.mark.parametrize("n", range(4, 14))
@pytest.mark.parametrize(("k", "s", "p"), [(2, 3, 1), (3, 2, 1), (2, 2, 0), (3, 3, 1)])
def test_ceil_mode_case_agrees_with_pytorch(n: int, k: int, s: int, p: int) -> None:
    """The case the derivation names gives PyTorch's size (oracle)."""
    net = symconv.parse(f"input 1 x {n}\nmaxpool k={k} s={s} p={p} ceil")
    step = derive(net, "shape").steps[-1]
    pool = torch.nn.MaxPool1d(k, s, p, ceil_mode=True)
    assert step.value == pool(torch.zeros(1, 1, n)).shape[-1]
    assert step.note in (CEIL_INSIDE, CEIL_DROPPED)


# ---------------------------------------------------------------- no SymPy internals

INTERNALS = ("Piecewise", "Max(", "Min(", "Eq(", "Ne(", "ITE(", "StrictLessThan", "And(")


def _outputs(net: str) -> dict[str, str]:
    network = symconv.parse(net)
    derivation = derive(network)
    records = network.table()
    outputs = {
        "derive text": derivation_text(derivation),
        "derive latex": derivation_latex(derivation),
        "derive markdown": derivation_markdown(derivation),
        **{f"table {name}": render(network, records) for name, render in RENDERERS.items()
           if name != "json"},
        "rf": run(["rf", "-e", net])[1],
    }
    return outputs


@pytest.mark.parametrize("net", NETWORKS)
def test_no_sympy_internals_in_any_output(net: str) -> None:
    for name, out in _outputs(net).items():
        assert out, name
        for internal in INTERNALS:
            assert internal not in out, (name, internal, out)


def test_no_sympy_internals_in_notes() -> None:
    notes = build_notes(symconv.parse("input 3 x H x W\nmaxpool k=2 s=3 p=1 ceil\nconv 4 k=3"))
    body = notes_body(notes).split(r"\section{Formula sheet}")[0]
    for internal in INTERNALS:
        assert internal not in body, internal


@pytest.mark.parametrize(
    ("expr", "shown"),
    [
        ((K - 1) * sympy.Piecewise((L, sympy.Eq(S, 1)), ((1 - S**L) / (1 - S), True)) + 1,
         "L*(K - 1) + 1 for S = 1; 1 + (1 - S**L)*(K - 1)/(1 - S) otherwise"),
        (sympy.Piecewise((H, (K < S) & (H > 2)), (H + 1, True)),
         "H for H > 2 and K < S; H + 1 otherwise"),
    ],
)
def test_cases_in_words(expr: sympy.Expr, shown: str) -> None:
    assert text(expr) == shown
    assert "Piecewise" not in latex(expr)


def test_cases_that_differ_from_the_raw_form_are_an_internal_error() -> None:
    raw = sympy.Piecewise((L, sympy.Eq(S, 1)), (S**L, True))
    assert cases(raw) == ((L, sympy.Eq(S, 1)), (S**L, sympy.true))
    with pytest.raises(SymconvError, match="internal error: the cases"):
        check(raw, ((L + 1, sympy.Eq(S, 1)), (S**L, sympy.true)))


# ---------------------------------------------------------------- terminal tables

SYMBOLIC = [
    "input C x H x W\nconv C k=K s=S p=P\nconv C k=K s=S p=P",
    "input C x H x W\nrepeat L { conv C k=K s=S }",
    "input C x H x W\nconv C k=K s=S p=P\nconv C k=K s=S p=P\nmaxpool k=K s=S p=P ceil",
    "input C x D x H x W\nconv C k=K s=S p=P\nconv C k=K s=S p=P\nconv C k=K s=S p=P",
]


def _squeezed(s: str) -> str:
    return "".join(s.split())


@pytest.mark.parametrize("net", SYMBOLIC)
@pytest.mark.parametrize("command", ["table", "rf"])
def test_symbolic_tables_fit_160_columns_and_keep_every_cell(net: str, command: str) -> None:
    code, out, err = run([command, "-e", net])
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= WIDTH, out
    if command == "table":
        # every cell, wrapped or not: the column's lines of a row joined again are the cell
        # the table ends where its notes (warnings, not indented) begin
        table = out.splitlines()
        table = table[:next((i for i, line in enumerate(table) if line[:1].strip()),
                            len(table))]
        lines = [line for line in table if not line.lstrip().startswith("---")]
        names = ("layer", "output shape", "params", "neurons", "connections", "macs")
        starts = [lines[0].index(name) for name in names]
        rows: list[list[str]] = []
        for line in lines[1:]:
            cells = [line[a:b] for a, b in zip(starts, [*starts[1:], None], strict=True)]
            if cells[0].strip():  # a row begins where its layer is named
                rows.append(["" for _ in names])
            rows[-1] = [joined + _squeezed(c) for joined, c in zip(rows[-1], cells, strict=True)]
        records = [r for _, r in flat_rows(symconv.parse(net).table())]
        expected = [[_squeezed(c) for c in (text_shape(r.output_shape), *map(text_value, (
            r.params, r.neurons, r.connections, r.macs)))] for r in records]
        assert [row[1:] for row in rows[1:-1]] == expected


@given(st.lists(st.text("ab +*()x", min_size=0, max_size=70), min_size=7, max_size=7))
def test_wrapped_table_loses_nothing(cells: list[str]) -> None:
    header = ["#", "layer", "output shape", "params", "neurons", "connections", "macs"]
    out = aligned_table(header, [cells, cells[::-1]], width=60)
    assert all(len(line) <= 60 for line in out.splitlines()), out
    squeezed = _squeezed(out)
    for cell in cells:
        assert _squeezed(cell) in squeezed


# ---------------------------------------------------------------- a sum's order

_D, _W = (sympy.Symbol(n, integer=True, positive=True) for n in "DW")


@pytest.mark.parametrize(("expr", "shown", "tex"), [
    # the size leads, as the formula takes it, not SymPy's -K + 2*P + W
    (-K + 2 * P + _W, "W - K + 2*P", "W - K + 2 P"),
    (-K + 2 * P + _W + 1, "W - K + 2*P + 1", "W - K + 2 P + 1"),
    (_W - 3 * K, "W - 3*K", "W - 3 K"),
    (sympy.floor((_W - K) / 2) + 2, "floor((W - K)/2) + 2",
     r"\left\lfloor \frac{W - K}{2} \right\rfloor + 2"),
    # a number put in for the size: the sum begins with it, not with a minus
    (-K + 2 * P + 224, "224 - K + 2*P", "224 - K + 2 P"),
    (sympy.floor((-_D * (K - 1) + 2 * P + 223) / S) + 1,
     "floor((223 - D*(K - 1) + 2*P)/S) + 1",
     r"\left\lfloor \frac{223 - D \left(K - 1\right) + 2 P}{S} \right\rfloor + 1"),
    # no plain size and no positive number: the first positive term leads
    (2 * P - K * S, "2*P - K*S", "2 P - K S"),
    (-K * S + 2 * P * S, "2*P*S - K*S", "2 P S - K S"),
    # kept as SymPy writes them: polynomials in one symbol, sums without a plus, two sizes
    (L**2 + L, "L**2 + L", "L^{2} + L"),
    (-K * (S - 1) - _W, "-K*(S - 1) - W", r"- K \left(S - 1\right) - W"),
    (H + _W - 2, "H + W - 2", "H + W - 2"),
    (1 - K, "1 - K", "1 - K"),
])
def test_a_sum_reads_as_the_formula(expr: sympy.Expr, shown: str, tex: str) -> None:
    assert text(expr) == shown
    assert latex(expr) == tex
    assert parse_expression(shown) == expr  # the order changed, never the value


_TERMS = [_W, H, -K, 2 * P, -3 * K, -_D * (K - 1), 7, -1, -S * K, L**2, L, -P * S, 224]


@pytest.mark.parametrize("seed", range(40))
def test_any_sum_reads_back_and_begins_with_a_plus_where_it_can(seed: int) -> None:
    rng = random.Random(seed)
    expr = sympy.Integer(0)
    while not expr.is_Add:  # (numbers alone add up to one number: drawn again)
        expr = sympy.Add(*rng.sample(_TERMS, rng.randint(2, 6)))
    shown = text(expr)
    assert parse_expression(shown) == expr
    if any(not t.could_extract_minus_sign() for t in expr.args):
        assert not shown.startswith("-"), shown
