"""The compact notes: rows that share axes, lines that only divide or multiply by one left
out, shape-keeping layers grouped, digits grouped; every line still equals the value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sympy

import symconv
from symconv.derive.derivation import derive
from symconv.derive.steps import evaluate
from symconv.documents.layout import Seen, axis_key, drop_ones, step_rows, step_sides, width
from symconv.documents.notes import build_notes, group_title, layer_groups, notes_body
from symconv.present.latex import digit_groups, group_digits, latex

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.net"))
ALEXNET = (ROOT / "examples" / "alexnet.net").read_text()


def _step(text: str, target: str) -> symconv.derive.Step:  # type: ignore[name-defined]
    found = [s for s in derive(text).steps if s.target.name == target]
    assert found, target
    return found[0]


@pytest.mark.parametrize(
    ("text", "target", "general", "sides"),
    [
        # stride 1: the division by one is not a step of its own
        ("input 3 x 32 x 32\nconv 10 k=5 p=2", "H_1",
         r"\left\lfloor \frac{H_{0} - K_{1} + 2 P_{1}}{S_{1}} \right\rfloor + 1",
         [r"\left\lfloor \frac{32 - 5 + 2 \cdot 2}{1} \right\rfloor + 1", "31 + 1", "32"]),
        # stride 4: it is
        ("input 1 x 224 x 224\nconv 96 k=11 s=4 p=1", "H_1", None,
         [r"\left\lfloor \frac{224 - 11 + 2 \cdot 1}{4} \right\rfloor + 1",
          r"\left\lfloor \frac{215}{4} \right\rfloor + 1", "54"]),
        # J_0 = 1: 1·4 only multiplies by one
        ("input 1 x 224 x 224\nconv 96 k=11 s=4 p=1", "J_1,H", r"J_{0,H} S_{1}", ["4"]),
        ("input 1 x 224 x 224\nconv 96 k=11 s=4 p=1", "R_1,H",
         r"R_{0,H} + \left(K_{1} - 1\right) J_{0,H}",
         [r"1 + \left(11 - 1\right) \cdot 1", "1 + 10", "11"]),
        # a dilated window: D put in, nothing left out
        ("input 1 x 20 x 20\nconv 4 k=3 d=2", "H_1", None,
         [r"\left\lfloor \frac{20 - \left(3 - 1\right) \cdot 2 + 2 \cdot 0 - 1}{1} "
          r"\right\rfloor + 1",
          "15 + 1", "16"]),
        # a value given: one side, no formula
        ("input 1 x 8 x 8\nconv 4 k=3", "C_1", None, ["4"]),
    ],
)
def test_step_sides(text: str, target: str, general: str | None, sides: list[str]) -> None:
    shown_general, shown = step_sides(_step(text, target))
    assert shown == sides
    if general is not None:
        assert shown_general == general


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_lines_without_ones_keep_their_value(path: Path) -> None:
    """Oracle: every line with its divisions and multiplications by one taken out still
    evaluates to the step's value, for every step of every example."""
    for step in derive(path.read_text()).steps:
        for line in step.lines()[1:]:
            assert evaluate(drop_ones(line)) == evaluate(line) == evaluate(step.value), step


@pytest.mark.parametrize(
    ("name", "key"),
    [("H_1", "size_1"), ("W_1", "size_1"), ("D_3", "size_3"), ("L_2", "size_2"),
     ("H'_1", "size'_1"), ("R_1,H", "R_1"), ("J_4,W", "J_4"), ("K_1,H", "K_1"),
     ("C_1", None), ("params_1", None), ("F_14", None), ("H_6.a1", "size_6.a1")],
)
def test_axis_key(name: str, key: str | None) -> None:
    assert axis_key(name) == key


@pytest.mark.parametrize(
    ("text", "targets"),
    [
        # a square input: H and W share a row, for the size and the receptive field
        ("input 1 x 224 x 224\nconv 96 k=11 s=4 p=1",
         [("C_{1}",), ("H_{1}",), ("H_{1}", "W_{1}"), (r"\mathrm{params}_{1}",),
          (r"\mathrm{params}_{1}",), ("R_{1,H}",), ("R_{1,H}", "R_{1,W}"), ("J_{1,H}",),
          ("J_{1,H}", "J_{1,W}")]),
        # a rectangular one: they never do (W's formula is H's, not shown again)
        ("input 1 x 224 x 200\nconv 96 k=11 s=4 p=1",
         [("C_{1}",), ("H_{1}",), ("H_{1}",), ("W_{1}",), (r"\mathrm{params}_{1}",),
          (r"\mathrm{params}_{1}",), ("R_{1,H}",), ("R_{1,H}", "R_{1,W}"), ("J_{1,H}",),
          ("J_{1,H}", "J_{1,W}")]),
        # a kernel that differs between axes: the sizes differ, the rows too
        ("input 1 x 32 x 32\nconv 4 k=(3, 5)",
         [("C_{1}",), ("H_{1}",), ("H_{1}",), ("W_{1}",), (r"\mathrm{params}_{1}",),
          (r"\mathrm{params}_{1}",), ("R_{1,H}",), ("R_{1,H}",), ("R_{1,W}",)]),
    ],
)
def test_axes_share_a_row_only_where_their_numbers_agree(
        text: str, targets: list[tuple[str, ...]]) -> None:
    rows = step_rows(derive(text).layers[0].steps, Seen())
    assert [r.targets for r in rows] == targets


def test_a_general_formula_is_shown_once() -> None:
    seen = Seen()
    layers = derive(ALEXNET).layers
    first = step_rows(layers[0].steps, seen)
    pool = step_rows(layers[2].steps, seen)  # the same window formula: numbers only
    assert any(r.sides[0].startswith(r"\left\lfloor \frac{H_{0}") for r in first)
    assert not any("K_{3}" in side for r in pool for side in r.sides)


def test_shape_keeping_layers_are_grouped_with_the_layer_before() -> None:
    layers = derive("input 3 x 32 x 32\nrelu\nconv 8 k=3\nbn\nrelu\ndropout\nmaxpool k=2\n"
                    "flatten\nlinear 10\nrelu").layers
    assert [group_title(g) for g in layer_groups(layers)] == [
        "Layer 1: relu", "Layers 2--5: conv2d, batchnorm2d, relu, dropout",
        "Layer 6: maxpool2d", "Layer 7: flatten", "Layers 8--9: linear, relu"]


@pytest.mark.parametrize(
    ("digits", "separator", "shown"),
    [("46764746", "{,}", "46{,}764{,}746"), ("11712", "{,}", "11{,}712"),
     ("4096", "{,}", "4096"), ("1000000", r"\,", r"1\,000\,000"), ("-123456", "{,}",
     "-123{,}456"), ("123456", "", "123456"), ("100000", "{,}", "100{,}000")],
)
def test_group_digits(digits: str, separator: str, shown: str) -> None:
    assert group_digits(digits, separator) == shown
    # the grouping never changes the number
    assert shown.replace("{,}", "").replace(r"\,", "") == digits


def test_digit_groups_apply_only_within_the_block() -> None:
    expr = sympy.Integer(26218496) * symconv.symbol("H") + 12345
    with digit_groups("{,}"):
        assert latex(expr) == "26{,}218{,}496 H + 12{,}345"
    assert latex(expr) == "26218496 H + 12345"


@pytest.mark.parametrize(("tex", "low", "high"), [
    ("54", 8, 12), (r"\left\lfloor \frac{215}{4} \right\rfloor + 1", 25, 50),
    (r"\mathrm{params}_{1}", 25, 40), (r"H_{1} = W_{1}", 35, 60)])
def test_width_estimate(tex: str, low: float, high: float) -> None:
    assert low <= width(tex) <= high


def test_alexnet_derivations_match_golden(golden: Callable[[str, str], None]) -> None:
    body = notes_body(build_notes(symconv.parse(ALEXNET)))
    start = body.index(r"\section{Derivations}")
    golden("notes_alexnet_derivations.tex", body[start:body.index(r"\section{Receptive")])
