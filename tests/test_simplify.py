"""Nested floors and ceilings: every simplification checked by substitution over integers."""

from __future__ import annotations

import random

import pytest
import sympy

import symconv
from symconv.algebra.simplify import evaluate, floor_map, repeat_map, simplify_rounding
from symconv.algebra.symbols import symbol
from symconv.engine import formulas as f

W = symbol("W")
RANGE = range(1, 400)


def exact_value(e: sympy.Basic, n: int) -> object:
    return evaluate(e, W, n)


def _same_values(a: object, b: object, over: range = RANGE) -> None:
    ea, eb = sympy.sympify(a), sympy.sympify(b)
    for n in over:
        assert exact_value(ea, n) == exact_value(eb, n), (a, b, n)


def _raw_chain(windows: list[tuple[int, int, int, int]], ceil: bool = False) -> sympy.Expr:
    """The output size after the windows, substituted layer by layer without simplifying."""
    out = f.window_out_ceil if ceil else f.window_out
    x: object = W
    for k, s, p, d in windows:
        x = out(x, k, s, p, d)
    return sympy.sympify(x)


RESNET_STEM = [(7, 2, 3, 1), (3, 2, 1, 1), (3, 2, 1, 1), (3, 2, 1, 1), (3, 2, 1, 1)]


@pytest.mark.parametrize(
    ("expr", "simplified"),
    [
        (sympy.floor((sympy.floor(W / 3)) / 5), sympy.floor(W / 15)),
        (sympy.ceiling(sympy.ceiling(W / 2) / 4), sympy.ceiling(W / 8)),
        (sympy.floor((W - 1) / 2) + 1, sympy.ceiling(W / 2)),
        (sympy.floor((sympy.ceiling(W / 2) - 1) / 2) + 1, sympy.ceiling(W / 4)),
        (sympy.ceiling((sympy.floor(W / 2) + 1) / 3), sympy.floor((W + 6) / 6)),
        (_raw_chain(RESNET_STEM), sympy.ceiling(W / 32)),
        (_raw_chain([(3, 2, 1, 1)] * 10), sympy.ceiling(W / 1024)),
        (_raw_chain([(2, 2, 0, 1)] * 4), sympy.floor(W / 16)),
    ],
)
def test_identities(expr: sympy.Expr, simplified: sympy.Expr) -> None:
    got = simplify_rounding(expr)
    assert got == simplified
    _same_values(got, expr)


@pytest.mark.parametrize("seed", range(3))
def test_random_chains_keep_their_values(seed: int) -> None:
    """Random windows (kernel, stride, padding, dilation, ceil_mode), simplified after every
    layer as the engine does: equal to the formulas evaluated on integers, for every input
    size where the chain's sizes stay positive."""
    rng = random.Random(seed)
    for _ in range(50):
        windows = [(rng.randint(1, 5), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 2))
                   for _ in range(rng.randint(1, 5))]
        out = f.window_out_ceil if rng.random() < 0.3 else f.window_out
        symbolic: object = W
        for k, s, p, d in windows:
            symbolic = simplify_rounding(out(symbolic, k, s, p, d))
        for n in range(1, 150):
            x: object = n
            for k, s, p, d in windows:
                x = out(x, k, s, p, d) if isinstance(x, int) and x >= 1 else None
            if isinstance(x, int) and x >= 1:
                assert exact_value(sympy.sympify(symbolic), n) == x, (windows, n)


def test_symbolic_parameters_by_substitution() -> None:
    K, S, P = symbol("K"), symbol("S"), symbol("P")
    raw = _raw_chain([(K, S, P, 1)] * 3)  # type: ignore[list-item]
    simple = simplify_rounding(raw)
    assert len(sympy.sympify(simple).atoms(sympy.floor)) == 1  # no floor inside a floor
    for k in (1, 3, 4):
        for s in (1, 2, 3):
            for p in (0, 1, 2):
                values = {K: k, S: s, P: p}
                _same_values(simple.subs(values), raw.subs(values), range(1, 60))


def test_the_table_shows_the_simplified_sizes() -> None:
    net = symconv.parse("input 3 x H x W\nconv 64 k=7 s=2 p=3\nmaxpool k=3 s=2 p=1\n"
                        "repeat 3 { conv 64 k=3 s=2 p=1 }")
    assert net.output_shape() == (64, sympy.ceiling(symbol("H") / 32), sympy.ceiling(W / 32))


@pytest.mark.parametrize(
    "expr",
    [W, 2 * W + 3, sympy.floor(W / 2), sympy.ceiling((W + 1) / 3) + 2,
     sympy.floor((3 * W + 1) / 4)],
)
def test_floor_maps_and_their_repetition(expr: sympy.Expr) -> None:
    m = floor_map(expr, W)
    assert m is not None
    _same_values(m(W), expr)
    N = symbol("N")
    many = repeat_map(m, N)
    if many is None:  # a scale and a divisor: no closed form claimed
        assert m.scale != 1 and m.divisor != 1
        return
    for count in range(1, 5):
        for n in range(1, 60):
            x: object = n
            for _ in range(count):
                x = expr.subs(W, x)
            assert sympy.sympify(many(n)).subs(N, count) == x


def test_not_a_floor_map() -> None:
    assert floor_map(sympy.floor(W / 2) * 2, W) is None
    assert floor_map(W**2, W) is None


@pytest.mark.parametrize(
    "expr",
    [sympy.floor(W / 3 - sympy.Rational(1, 3)) + 1,
     sympy.Piecewise((sympy.ceiling(W / 4), sympy.And(W > 3, sympy.Eq(sympy.Mod(W, 1), 0))),
                     (W + 2, True)),
     f.window_out_ceil(sympy.ceiling(W / 2), 3, 2, 1, 1)],
)
def test_exact_evaluation_agrees_with_sympy(expr: sympy.Expr) -> None:
    for n in range(1, 40):
        assert evaluate(expr, W, n) == expr.xreplace({W: sympy.Integer(n)})


def test_ceil_mode_pooling_collapses_to_one_rounding() -> None:
    """PyTorch drops a ceil_mode window that starts in the right padding; the Piecewise that
    says so is one ⌈(n + p)/s⌉ when s + p > k (checked over a period by substitution)."""
    got = simplify_rounding(f.window_out_ceil(sympy.ceiling(W / 2), 2, 2, 1, 1))
    assert got == sympy.ceiling(W / 4 + sympy.Rational(1, 2))
    for n in range(1, 200):
        assert got.xreplace({W: n}) == f.window_out_ceil(-(-n // 2), 2, 2, 1, 1)


def test_a_size_with_a_threshold_is_left_alone() -> None:
    """Only sizes whose conditions are periodic in W collapse; a threshold is not."""
    e = sympy.Piecewise((sympy.floor(W / 2), W > 100), (sympy.floor(W / 2) + 1, True))
    assert simplify_rounding(e) == e
