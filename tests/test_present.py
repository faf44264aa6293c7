"""The presentation of expressions (symconv/present/expressions.py): closed forms as cases in
textbook form, every case equal to the engine's raw form, no SymPy internals on screen."""

from __future__ import annotations

import itertools
import json
import random
import re
from typing import Any

import pytest
import sympy
from hypothesis import given, settings
from sympy.parsing.latex import parse_latex
from test_robustness import run
from test_symbolic import nested_networks

import symconv
from symconv.errors import SymconvError
from symconv.present import expressions
from symconv.present.expressions import Case, cases
from symconv.present.words import (
    cases_latex,
    cases_text,
    condition_latex,
    condition_text,
    value_latex,
)

D, H, K, L, P, S, W = (symconv.symbol(n) for n in "DHKLPSW")
GEOMETRIC = (K - 1) * sympy.Piecewise((L, sympy.Eq(S, 1)), ((1 - S**L) / (1 - S), True)) + 1
FORBIDDEN = ("Piecewise", "Max(", "Min(", "Eq(", "Ne(", "ITE(")


@pytest.mark.parametrize(("raw", "text", "latex"), [
    (GEOMETRIC, "1 + (K - 1)*(S**L - 1)/(S - 1) for S >= 2; 1 + L*(K - 1) for S = 1",
     r"1 + \frac{\left(K - 1\right) \left(S^{L} - 1\right)}{S - 1} \text{ for } S \ge 2;\ "
     r"1 + L \left(K - 1\right) \text{ for } S = 1"),
    (sympy.ceiling(D), "D", "D"),
    (sympy.floor(K + 2 * P), "K + 2*P", "K + 2 P"),
    (sympy.Max(0, K - 1) + W, "K + W - 1", "K + W - 1"),
    (sympy.Min(W, W + K), "W", "W"),
    (sympy.Max(K, 2 * K), "2*K", "2 K"),
    (W + 2 * P - K - S * sympy.floor((W + 2 * P - K) / S), "(W + 2*P - K) mod S",
     r"\left(W + 2 P - K\right) \bmod S"),
    (2 * sympy.ceiling(H / 2) - H, "H mod 2", r"H \bmod 2"),
    (sympy.floor((sympy.floor((W - 1) / 2) + 1) / 2), "floor((W + 1)/4)",
     r"\left\lfloor \frac{W + 1}{4} \right\rfloor"),
    (sympy.floor(H / 4 + sympy.Rational(1, 4)), "floor((H + 1)/4)",
     r"\left\lfloor \frac{H + 1}{4} \right\rfloor"),
    (D * K - D + 1, "1 + D*(K - 1)", r"1 + D \left(K - 1\right)"),
    (W / 2 + P - sympy.Rational(3, 2), "(W + 2*P - 3)/2", r"\frac{W + 2 P - 3}{2}"),
    (K * (1 - S) - W, "-K*(S - 1) - W", r"- K \left(S - 1\right) - W"),
    (sympy.Sum(sympy.Symbol("i", integer=True), (sympy.Symbol("i", integer=True), 1, L)),
     "(L**2 + L)/2", r"\frac{L^{2} + L}{2}"),
    # the channels times the sizes, as the formula multiplies them (SymPy distributes the 8)
    ((8 * sympy.floor((H - K) / S) + 8) * (sympy.floor((W - K) / S) + 1),
     "8*(floor((H - K)/S) + 1)*(floor((W - K)/S) + 1)",
     r"8 \cdot \left(\left\lfloor \frac{H - K}{S} \right\rfloor + 1\right) "
     r"\left(\left\lfloor \frac{W - K}{S} \right\rfloor + 1\right)"),
    (3 * K**2 * (8 * sympy.floor(H / S) - 8), "24*K**2*(floor(H/S) - 1)", None),
    (24 * K**2 + 8, "8*(3*K**2 + 1)", r"8 \cdot \left(3 K^{2} + 1\right)"),
    (2 * P + 4, "2*(P + 2)", r"2 \cdot \left(P + 2\right)"),
    ((sympy.floor(W / 2) - 17) * (8 * sympy.floor(W / 2) - 136), "8*(floor(W/2) - 17)**2",
     r"8 \left(\left\lfloor \frac{W}{2} \right\rfloor - 17\right)^{2}"),
    # no number alone in the sum: as SymPy writes it
    (2 * P + 2 * W, "2*P + 2*W", "2 P + 2 W"),
])
def test_presented_text_and_latex(raw: Any, text: str, latex: str | None) -> None:
    presented = cases(raw)
    assert cases_text(presented) == text
    if latex is not None:
        assert cases_latex(presented) == latex


@pytest.mark.parametrize(("condition", "text", "latex"), [
    (sympy.Eq(H, 2 * sympy.floor(H / 2)), "H even", r"H\text{ even}"),
    (sympy.Eq(sympy.Mod(W, 4), 1), "W ≡ 1 (mod 4)", r"W \equiv 1 \pmod{4}"),
    (sympy.And(W >= 193, W <= 224), "W in 193..224", r"W \in \{193, \dots, 224\}"),
    (sympy.Ne(S, 1), "S >= 2", r"S \ge 2"),
    (sympy.Eq(S, 1), "S = 1", "S = 1"),
    (S <= 1, "S = 1", "S = 1"),
    (sympy.Ne(S, 0), "always", r"\text{always}"),
    (sympy.Not(sympy.And(S > 2, W > 5)), "S <= 2 or W <= 5", r"S \le 2 \text{ or } W \le 5"),
    # a linear condition of one symbol with a slope other than 1 is a span at -b/a
    (H / 2 >= 1, "H >= 2", r"H \ge 2"),
    (H / 3 < 2, "H <= 5", r"H \le 5"),
    (2 * H - 5 > 0, "H >= 3", r"H \ge 3"),
    (sympy.Eq(3 * H, 9), "H = 3", "H = 3"),
    (4 - H >= 0, "H <= 4", r"H \le 4"),
    (sympy.Eq(sympy.floor((W - 1) / 3), sympy.floor(W / 3)), "W ≡ 1 or 2 (mod 3)",
     r"W \equiv 1\text{ or }2 \pmod{3}"),
    (sympy.Eq(4 * sympy.ceiling(W / 4), W + 3), "W ≡ 1 (mod 4)", r"W \equiv 1 \pmod{4}"),
    # a disjunction inside a conjunction (and the other way round) is bracketed
    (sympy.And(S >= 2, sympy.Or(sympy.And(sympy.Eq(sympy.Mod(K, 2), 0),
                                          sympy.Eq(sympy.Mod(W, 2), 0)),
                                sympy.And(sympy.Eq(sympy.Mod(K, 2), 1),
                                          sympy.Eq(sympy.Mod(W, 2), 1)))),
     "S >= 2 and ((K even and W even) or (K odd and W odd))",
     r"S \ge 2 \text{ and } ((K\text{ even} \text{ and } W\text{ even}) \text{ or } "
     r"(K\text{ odd} \text{ and } W\text{ odd}))"),
    (sympy.Or(S >= 3, sympy.And(sympy.Eq(sympy.Mod(K, 2), 1), W >= 4)),
     "S >= 3 or (W >= 4 and K odd)", None),
])
def test_conditions_in_words(condition: Any, text: str, latex: str | None) -> None:
    assert condition_text(condition) == text
    if latex is not None:
        assert condition_latex(condition) == latex


def test_the_cases_partition_and_pin() -> None:
    presented = cases(GEOMETRIC)
    assert presented.cases == (
        Case(1 + (K - 1) * (S**L - 1) / (S - 1), S >= 2),
        Case(1 + L * (K - 1), sympy.Eq(S, 1)),
    )


def test_a_presented_form_that_differs_is_an_internal_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The check before showing is live: a wrong rewrite raises, it is never shown."""
    monkeypatch.setattr(expressions, "_one_fraction", lambda e: e + 1)
    expressions._cases.cache_clear()
    try:
        with pytest.raises(SymconvError, match=r"internal error: the presented value .* "
                                               r"differs from the engine's"):
            cases(sympy.floor(H / 4 + sympy.Rational(1, 4)))
    finally:
        expressions._cases.cache_clear()


# ---------------------------------------------------------------- an independent oracle


def _at(e: Any, point: dict[Any, int]) -> Any:
    v = e.xreplace({s: sympy.Integer(n) for s, n in point.items()})
    return v.doit() if isinstance(v, sympy.Basic) else v


def assert_presented_equals_raw(raw: Any, rng: random.Random, tries: int = 6) -> None:
    """At random points (not the check's own): exactly one case holds, and its value equals
    the raw expression; no SymPy internals in the text."""
    presented = cases(raw)
    text = cases_text(presented)
    assert not any(word in text for word in FORBIDDEN) or "Sum(" in text, text
    symbols = sorted(getattr(raw, "free_symbols", set()), key=lambda s: s.name)
    for _ in range(tries):
        point = {s: rng.randint(1, 5) if rng.random() < 0.6 else rng.randint(1, 60)
                 for s in symbols}
        holding = [c for c in presented.cases if bool(_at(c.when, point))]
        assert len(holding) == 1, (raw, point, presented.cases)
        assert _at(holding[0].value, point) == _at(raw, point), (raw, point, holding[0])


def _values(network: symconv.Network) -> list[Any]:
    out: list[Any] = []
    for r in network.records():
        out += [v for fd in r.fields for v in (fd.size, fd.jump, fd.start) if v is not None]
    for r in network.table():
        out += [*r.output_shape, r.params, r.neurons, r.macs]
    return [v for v in out if isinstance(v, sympy.Basic) and v.free_symbols]


@settings(max_examples=4, deadline=None)
@given(nested_networks())
def test_presented_forms_equal_the_raw_ones(case: tuple[str, dict[str, tuple[int, int]]]) -> None:
    text, _ = case
    try:
        network = symconv.parse(text)
        values = _values(network)
    except SymconvError:
        return  # a network the engine refuses (checked elsewhere)
    rng = random.Random(len(text))
    for v in values:
        assert_presented_equals_raw(v, rng)


# ---------------------------------------------------------------- LaTeX parses back

def _group_before(tex: str, end: int) -> int:
    """Where the operand ending at `end` starts: a \\left( … \right) group or a token."""
    if tex[:end].endswith(r"\right)"):
        depth, i = 0, end
        while i > 0:
            if tex.startswith(r"\right)", i - 7):
                depth, i = depth + 1, i - 7
            elif tex.startswith(r"\left(", i - 6):
                depth, i = depth - 1, i - 6
                if depth == 0:
                    return i
            else:
                i -= 1
    return re.search(r"[A-Za-z0-9]+$", tex[:end]).start()  # type: ignore[union-attr]


def _group_after(tex: str, start: int) -> int:
    """Where the operand starting at `start` ends: a \\left( … \right) group or a token
    with its power."""
    if tex.startswith(r"\left(", start):
        depth, i = 0, start
        while i < len(tex):
            if tex.startswith(r"\left(", i):
                depth, i = depth + 1, i + 6
            elif tex.startswith(r"\right)", i):
                depth, i = depth - 1, i + 7
                if depth == 0:
                    return i
            else:
                i += 1
    return start + re.match(r"[A-Za-z0-9]+(\^\{[^}]*\})?", tex[start:]).end()  # type: ignore


def readable_by_sympy(tex: str) -> str:
    """symconv's LaTeX with what SymPy's lark parser does not read translated (the test's
    only liberty): `A \bmod B` as A - B\\lfloor A/B\rfloor; \\left( \right) and the
    \\left\\lfloor forms as plain brackets; a factor beside a bracket or a rounding with an
    explicit \\cdot (lark reads `L (K - 1)` as a call and `C \\lceil` ambiguously)."""
    while (m := re.search(r" \\bmod ", tex)) is not None:
        start, end = _group_before(tex, m.start()), _group_after(tex, m.end())
        a, b = tex[start:m.start()], tex[m.end():end]
        tex = (tex[:start] + rf"\left({a} - {b} \cdot \left\lfloor \frac{{{a}}}{{{b}}} "
               r"\right\rfloor\right)" + tex[end:])
    for macro, plain in ((r"\left(", "("), (r"\right)", ")"), (r"\left\lfloor", r"\lfloor"),
                         (r"\right\rfloor", r"\rfloor"), (r"\left\lceil", r"\lceil"),
                         (r"\right\rceil", r"\rceil")):
        tex = tex.replace(macro, plain)
    tokens = tex.split(" ")
    out = tokens[:1]
    for a, b in itertools.pairwise(tokens):
        macro = re.search(r"\\[a-z]+$", a) is not None
        ends = (re.search(r"[\w})]$", a) is not None and not macro) or a.endswith(
            (r"\rfloor", r"\rceil"))
        starts = re.match(r"[(A-Za-z0-9]|\\lfloor|\\lceil|\\frac", b) is not None
        if ends and starts:
            out.append(r"\cdot")
        out.append(b)
    return " ".join(out)


_SHEET = [GEOMETRIC, sympy.floor(H / 4 + sympy.Rational(1, 4)), D * K - D + 1,
          W + 2 * P - K - S * sympy.floor((W + 2 * P - K) / S), 2 * sympy.ceiling(H / 2) - H,
          W / 2 + P - sympy.Rational(3, 2), sympy.ceiling((W + 2 * P - K) / S) + 1]

_NETWORKS = [
    "input C x W\nrepeat L { conv C k=K s=S }",
    "input C x H x W\nconv C k=3 s=2 p=1\nmaxpool k=3 s=2 ceil",
    "input C x W\nconv C k=K d=D p=P\nmaxpool k=2 s=S ceil",
    "input C x H x W\nresidual { conv C k=3 p=1 s=2 } shortcut { conv C k=1 s=2 }",
    "input C x W\nrepeat N { repeat M { conv C k=3 s=2 } }",
    "input C x H x W\nconv 8 k=K s=S p=P d=D\navgpool k=2\nconv 8 k=3 p=same",
    "input C x W\nconcat { conv C k=3 p=1 } { maxpool k=3 s=1 p=1 }\nconv C k=1\n"
    "convT C k=K s=S",
]


def _latex_cases() -> list[Any]:
    values = list(_SHEET)
    for text in _NETWORKS[:3] + _NETWORKS[5:]:  # the others: sums, or what these cover
        values += _values(symconv.parse(text))
    # each LaTeX construct (fraction, rounding, mod, bracket, power) a few times, not every
    # multiple of the same size (the parser takes ~0.15 s a value)
    unique: dict[str, Any] = {}
    for v in values:
        tex = cases_latex(cases(v))
        if not v.has(sympy.Sum) and re.search(r"frac|lfloor|lceil|bmod|left\(|\^", tex):
            unique.setdefault(re.sub(r"\d+", "0", tex), v)
    return list(unique.values())[:30]


@pytest.mark.parametrize("raw", _latex_cases(), ids=str)
def test_latex_parses_back_to_the_engines_value(raw: Any) -> None:
    rng = random.Random(7)
    for case in cases(raw).cases:
        parsed = parse_latex(readable_by_sympy(value_latex(case.value)), backend="lark")
        assert isinstance(parsed, sympy.Expr), (value_latex(case.value), parsed)
        names = {s.name: s for s in raw.free_symbols}
        parsed = parsed.xreplace({s: names.get(s.name, s) for s in parsed.free_symbols})
        symbols = sorted(raw.free_symbols, key=lambda s: s.name)
        checked = 0
        for _ in range(30):
            point = {s: rng.randint(1, 9) for s in symbols}
            if not bool(_at(case.when, point)):
                continue
            assert _at(parsed, point) == _at(raw, point), (value_latex(case.value), point)
            checked += 1
            if checked == 4:
                break
        assert checked, f"no point inside {case.when}"


# ---------------------------------------------------------------- what the CLI shows


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run(argv)
    assert code == 0, err
    return out


@pytest.mark.parametrize("text", _NETWORKS)
def test_no_sympy_internals_in_rf_and_table_text(text: str, tmp_path: Any,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "net.txt"
    path.write_text(text + "\n", encoding="utf-8")
    unit = ",".join(["3"] * text.split("\n")[0].count(" x "))  # one index per spatial axis
    for argv in (["rf", str(path), "--unit", unit], ["table", str(path)]):
        out = _cli(argv, capsys)
        shown = [w for w in FORBIDDEN if w in out]
        assert not shown, (argv, shown, out)


def test_rf_json_keeps_the_raw_string_and_adds_the_cases(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "net.txt"
    path.write_text(_NETWORKS[0] + "\n", encoding="utf-8")
    form = json.loads(_cli(["rf", str(path), "--format", "json"], capsys))["closed_forms"]["L"]
    assert form["receptive_field"] == str(GEOMETRIC)
    assert form["cases"]["receptive_field"] == [
        {"value": "1 + (K - 1)*(S**L - 1)/(S - 1)", "when": "S >= 2"},
        {"value": "1 + L*(K - 1)", "when": "S = 1"},
    ]
