"""Derivations: the seeds' worked examples as golden files, and oracles for every line —
each line evaluates to the engine's own value, the general formula with the numbers put in
is the substituted line, and the values agree with the table and receptive-field records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sympy

import symconv
from symconv.derive.derivation import INTERNAL, Derivation, derive
from symconv.derive.steps import Given, Quantity, Step, evaluate
from symconv.documents.notes import _closed_forms
from symconv.engine.records import axis_names
from symconv.errors import UnknownNameError
from symconv.render.latex import derivation_latex
from symconv.render.markdown import derivation_markdown
from symconv.render.text import derivation_text

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.net"))

# The seeds' worked examples (shared/seeds): name -> description.
SEEDS = {
    # 000/001: 32x32x3, ten 5x5 filters, stride 1, no padding: (5*5*3 + 1)*10 = 760
    "seed000": "input 3 x 32 x 32\nconv 10 k=5 s=1 p=0",
    # 001: the same with pad 2: (32 - 5 + 2*2)/1 + 1 = 32
    "seed001": "input 3 x 32 x 32\nconv 10 k=5 s=1 p=2",
    # 002: (3, 6, 6) with 64 3x3 filters, stride 2: (6 - 3)/2 + 1 = 2.5 floors to 2
    "seed002": "input 3 x 6 x 6\nconv 64 k=3 s=2",
    # 004: d2l's AlexNet for Fashion-MNIST: 224 -> 54 -> 26 -> 26 -> 12 -> ... -> 5
    "seed004": (Path(__file__).parent.parent / "examples" / "alexnet.net").read_text(),
}

RENDERERS: dict[str, tuple[str, Callable[[Derivation], str]]] = {
    "text": ("txt", derivation_text),
    "latex": ("tex", derivation_latex),
    "markdown": ("md", derivation_markdown),
}


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seed_derivations_match_golden_files(
    seed: str, fmt: str, golden: Callable[[str, str], None]
) -> None:
    suffix, render = RENDERERS[fmt]
    golden(f"derive_{seed}.{suffix}", render(derive(SEEDS[seed])))


@pytest.mark.parametrize(
    ("seed", "quantity", "lines"),
    [
        # the example, as the aligned block writes it
        ("seed001", "shape", [
            r"H_{1} &= \left\lfloor \frac{H_{0} - K_{1} + 2 P_{1}}{S_{1}} \right\rfloor + 1",
            r" &= \left\lfloor \frac{32 - 5 + 2 \cdot 2}{1} \right\rfloor + 1",
            r" &= \left\lfloor \frac{31}{1} \right\rfloor + 1",
            r" &= 32",
        ]),
        ("seed001", "params", [
            r"\mathrm{params}_{1} &= \left(C_{0} K_{1,H} K_{1,W} + 1\right) C_{1}",
            r" &= \left(3 \cdot 5 \cdot 5 + 1\right) \cdot 10",
            r" &= 76 \cdot 10",
            r" &= 760",
        ]),
        ("seed002", "shape", [
            r" &= \left\lfloor \frac{6 - 3 + 2 \cdot 0}{2} \right\rfloor + 1",
            r" &= \left\lfloor \frac{3}{2} \right\rfloor + 1",
            r" &= 2",
        ]),
    ],
)
def test_latex_lines_as_a_teacher_writes_them(seed: str, quantity: str, lines: list[str]) -> None:
    tex = derivation_latex(derive(SEEDS[seed], quantity))
    block = "\n".join(lines)
    assert block in tex.replace(" \\\\\n", "\n"), tex


def _steps(text: str, **values: object) -> list[Step]:
    return list(derive(text, "all", **values).steps)


def _same(a: sympy.Expr, b: sympy.Expr) -> None:
    """a == b: exactly, or (floors that SymPy cannot merge) at many integer points."""
    if a == b:
        return
    names = sorted(a.free_symbols | b.free_symbols, key=str)
    assert names, (a, b)
    for seed in range(40):
        point = {x: 7 + (seed * 5 + 3 * i * i + seed * i) % 60 for i, x in enumerate(names)}
        assert a.xreplace(point) == b.xreplace(point), (a, b, point)


def _check_step(step: Step) -> None:
    """Every line of the step stands for the same value, and the general formula with the
    numbers put in is the substituted line."""
    given = step.substituted.atoms(Given)
    _same(evaluate(step.substituted), step.value)
    for line in step.simplified:
        assert evaluate(line) == step.value, (line, step)
    if not given:  # a declared value (C_1 = 10): nothing to derive
        assert step.formula == step.substituted == step.value, step
        return
    by_name = {sympy.Symbol(g.name): g for g in given}
    assert step.formula.free_symbols <= set(by_name), step
    assert step.formula.xreplace(by_name) == step.substituted, step


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_line_of_every_example_evaluates_to_the_value(path: Path) -> None:
    steps = _steps(path.read_text())
    assert steps
    for step in steps:
        _check_step(step)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_values_are_the_engines_records(path: Path) -> None:
    """The last shape step of each axis, the params step and the receptive-field steps of a
    layer say what the table and the receptive-field records say."""
    network = symconv.parse(path.read_text())
    records = {r.index: r for r in network.records()}
    derivation = derive(network)
    for layer in derivation.layers:
        record = records[layer.index]
        for step in layer.steps:
            name = step.target.name
            if step.quantity is Quantity.PARAMS:
                assert step.value == sympy.sympify(record.params), (layer.title, step)
            elif step.quantity is Quantity.SHAPE:
                # C_l, then the spatial axes by name (L; H, W; D, H, W); F_l: flat features
                letter = name.split("_")[0]
                spatial = axis_names(len(record.output_shape) - 1)
                axis = 0 if letter in ("C", "F") else 1 + spatial.index(letter)
                assert step.value == sympy.sympify(record.output_shape[axis]), step
            elif name.startswith("R_"):
                axis = 0 if "," not in name else "DHW"[-len(record.fields):].index(name[-1])
                assert step.value == sympy.sympify(record.fields[axis].size), (layer.title, step)


def test_symbolic_derivation_gives_the_closed_forms() -> None:
    """No numbers: the substituted line is the closed form and no value line repeats it."""
    text = "input C x H x W\nconv K k=F s=S p=P\nmaxpool k=2"
    network = symconv.parse(text)
    derivation = derive(network, "shape")
    (h1,) = [s for s in derivation.steps if s.target.name == "H_1"]
    H, F, S, P = (symconv.symbol(n) for n in "HFSP")
    assert h1.value == sympy.floor((H - F + 2 * P) / S) + 1
    assert h1.lines() == (h1.formula, h1.substituted)
    (h2,) = [s for s in derivation.steps if s.target.name == "H_2"]
    assert h2.value == network.output_shape()[1] == sympy.floor((H - F + 2 * P + S) / (2 * S))
    assert h2.lines()[-1] == h2.value  # merged floors: the value line says something new
    _check_step(h2)


def test_given_values_then_symbols_left() -> None:
    steps = _steps(Path(EXAMPLES[0].parent / "symbolic.net").read_text(), H=32, W=32)
    (h1,) = [s for s in steps if s.target.name == "H_1"]
    assert h1.value.free_symbols == {symconv.symbol(n) for n in "FPS"}


@pytest.mark.parametrize(
    ("text", "quantity", "targets"),
    [
        ("input 3 x 32 x 32\nconv 8 k=3 d=2", "shape", ["C_1", "H_1", "W_1"]),
        ("input 3 x 32 x 32\nconv 8 k=3 d=2", "params", ["params_1"]),
        ("input 3 x 32 x 32\nconv 8 k=3 s=2", "rf", ["R_1,H", "J_1,H", "R_1,W", "J_1,W"]),
        ("input 3 x 8 x 8\nconvt 4 k=3 s=2 output_padding=1", "shape",
         ["C_1", "H_1", "W_1"]),
        ("input 3 x 9 x 9\nmaxpool k=2 ceil", "shape", ["H_1", "W_1"]),
        ("input 3 x 9 x 9\nadaptive_avgpool (3, 3)\nflatten\nlinear 5", "shape",
         ["H_1", "W_1", "F_2", "F_3"]),
        ("input 4 x 9 x 9\nbatchnorm\nrelu", "params", ["params_1"]),
        ("input 2 x 16\nconv 4 k=3 groups=2", "params", ["params_1"]),
        ("input 3 x 8 x 6\nconv 4 k=(3, 1)", "shape", ["C_1", "H_1", "W_1"]),
    ],
)
def test_each_layer_kind(text: str, quantity: str, targets: list[str]) -> None:
    derivation = derive(text, quantity)
    assert [s.target.name for s in derivation.steps] == targets
    records = symconv.parse(text).records()
    for step in derivation.steps:
        _check_step(step)
    assert derivation.steps[-1].value in {
        sympy.sympify(v) for r in records
        for v in (*r.output_shape, r.params, *(fd.size for fd in r.fields),
                  *(fd.jump for fd in r.fields if fd.jump is not None))
    }


def test_dilation_and_groups_appear_only_where_they_are_not_one() -> None:
    plain = derive("input 4 x 32 x 32\nconv 8 k=3", "all").steps
    dilated = derive("input 4 x 32 x 32\nconv 8 k=3 d=2 groups=2", "all").steps
    names = {s.name for st in plain for s in st.formula.free_symbols}
    assert "D_1" not in names and "G_1" not in names
    names = {s.name for st in dilated for s in st.formula.free_symbols}
    assert {"D_1", "G_1"} <= names


def test_blocks_take_the_engines_values() -> None:
    text = ("input 3 x 32 x 32\nconv 16 k=3 p=1\nresidual {\n conv 16 k=3 p=1\n relu\n}\n"
            "repeat 2 {\n conv 16 k=3 s=2 p=1\n}\nflatten\nlinear 10")
    network = symconv.parse(text)
    derivation = derive(network)
    records = network.records()
    block = next(layer for layer in derivation.layers if layer.kind == "repeat")
    assert {s.target.name: s.value for s in block.steps if s.quantity is Quantity.SHAPE} == {
        "H_3": 8, "W_3": 8}
    (flat,) = [s for s in derivation.steps if s.target.name == "F_4"]
    assert flat.value == records[3].output_shape[0] == 16 * 8 * 8


def test_derive_object_prints_as_text_and_displays_as_math() -> None:
    derivation = symconv.derive(SEEDS["seed001"])
    assert str(derivation).startswith("Input: C_0 = 3, H_0 = 32, W_0 = 32\nLayer 1: conv2d\n")
    assert "= floor((32 - 5 + 2*2)/1) + 1" in str(derivation)
    latex = derivation._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    assert r"\text{Layer 1: conv2d}" in latex
    markdown = derivation._repr_markdown_()
    assert "**Layer 1: conv2d**" in markdown and "$$\n\\begin{aligned}" in markdown


def test_network_displays_as_a_table() -> None:
    network = symconv.parse(SEEDS["seed001"])
    latex = network._repr_latex_()
    assert latex.startswith("$$\\begin{array}") and "10 \\times 32 \\times 32 & 760" in latex
    assert "| 1 | conv2d | 10 × 32 × 32 | 760 |" in network._repr_markdown_()
    symbolic = symconv.parse("input C x H x W\nconv K k=F").table()
    from symconv.render.table import table_math

    assert r"K \times \left(H - F + 1\right)" in table_math(symconv.parse("input C x H x W\n"
                                                                          "conv K k=F"),
                                                            symbolic).replace("- F + H", "H - F")


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("area", "unknown quantity 'area' (choose from shape, params, rf or all)"),
        (["shape", "volume"], "unknown quantity 'volume' (choose from shape, params, rf or all)"),
    ],
)
def test_unknown_quantity(quantity: str | list[str], message: str) -> None:
    with pytest.raises(UnknownNameError) as error:
        derive(SEEDS["seed001"], quantity)
    assert str(error.value) == message


def test_unknown_symbol_is_a_symconv_error() -> None:
    with pytest.raises(UnknownNameError, match="unknown symbol 'Q'"):
        derive("input C x H x W\nconv K k=F", Q=3)


# ---------------------------------------------------------------- internal names
# A derivation names sizes, windows and fields itself (H_0, K_1, R_1,H, params_2, ...). A
# user's symbol named like one of them must never be mixed with it: the internal letter is
# primed (K'_1) instead. Every internal letter, in every form a name can print like it.

_INTERNAL_NAMES = [f"{letter}{sep}{i}" for letter in INTERNAL for sep, i in
                   (("_", 0), ("_", 1), ("_", 2), ("", 1))] + ["K_1_H", "R_2_W", "J_1_H"]


def _names_in(step: Step) -> set[str]:
    exprs = (step.target, step.formula, step.substituted, *step.simplified, step.value)
    return {s.name for e in exprs for s in e.free_symbols}


@pytest.mark.parametrize("name", _INTERNAL_NAMES)
@pytest.mark.parametrize("where", ["channels", "input"])
def test_internal_names_never_clash_with_a_users(name: str, where: str) -> None:
    head = f"input 2 x {name} x 20" if where == "input" else "input 2 x 20 x 21"
    out = name if where == "channels" else "6"
    text = (f"{head}\nconv {out} k=3 s=2 p=1 d=2\nbn\nconvT 4 k=2 s=2 op=1\n"
            "maxpool k=2 s=1\nflatten\nlinear 5")
    network = symconv.parse(text)
    derivation = derive(network)
    internal = [*derivation.inputs, *derivation.steps]
    # The user's symbol appears only as a value put in, never as a name the derivation gave.
    # (input 2 x H_0 x 20 names the input height as the derivation does: the same meaning.)
    for step in internal:
        assert step.target.name != name or (where, name) == ("input", "H_0")
        if step.formula != step.value and (where, name) != ("input", "H_0"):  # a formula
            assert name not in {s.name for s in step.formula.free_symbols}, step
    assert name in set().union(*map(_names_in, internal))
    # The closed forms of the notes name a numeric input size anew (never as the user's
    # symbol): with those sizes put back, each is the table's value.
    table = network.table()
    inputs = network.input_shape[1:]
    for step in _closed_forms(network)[:-1]:
        letter, index = step.target.name.split("_")
        if letter[0] not in "HW":
            continue  # the flattened size: the same values, multiplied
        axis = "HW".index(letter[0])
        fresh = {s: sympy.Integer(inputs["HW".index(s.name[0])])
                 for s in step.value.free_symbols if s.name not in network.symbols}
        assert {s.name for s in fresh} & {name} == set()
        user = {symconv.symbol(name): sympy.Integer(9)}
        assert step.value.xreplace(fresh).xreplace(user) == sympy.sympify(
            table[int(index) - 1].output_shape[axis + 1]).xreplace(user), step
