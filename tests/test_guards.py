"""Guard-rails against brute force: which input pixels no window reads, counted for numeric
sizes (any size, 10**30 included) and stated for symbolic ones (every size the warning
names, and no other)."""

from __future__ import annotations

import contextlib
import io
import itertools
import math

import pytest
import sympy

import symconv
from symconv.cli import main
from symconv.engine import formulas as f
from symconv.engine.guards import Guard, axis_warnings, covered_counts, skip_sizes

GRID = list(itertools.product(range(1, 6), range(1, 6), range(4), range(1, 5)))  # k, s, p, d


def brute_counts(n: int, o: int, k: int, s: int, p: int, d: int) -> tuple[int, int]:
    """(discarded, skipped): list every input pixel and ask whether some window reads it
    (the oracle of the warnings, here and in test_columns.py)."""
    read = {i * s + j * d for i in range(o) for j in range(k)}
    last = max(read)
    pixels = range(p, p + n)
    return (sum(1 for x in pixels if x > last),
            sum(1 for x in pixels if x < last and x not in read))


def _sizes(k: int, s: int, p: int, d: int, ceil: bool, top: int) -> dict[int, int]:
    """Every input size 1..top with a window: its output size."""
    out = f.window_out_ceil if ceil else f.window_out
    found = {n: int(out(n, k, s, p, d)) for n in range(1, top + 1)}
    return {n: o for n, o in found.items() if o >= 1}


@pytest.mark.parametrize("ceil", [False, True], ids=["floor", "ceil"])
def test_counts_match_brute_force(ceil: bool) -> None:
    for k, s, p, d in GRID:
        for n, o in _sizes(k, s, p, d, ceil, 40).items():
            assert covered_counts(n, o, k, s, p, d) == brute_counts(n, o, k, s, p, d), \
                (n, k, s, p, d, ceil)


@pytest.mark.parametrize("big", [10**9, 10**12, 10**20, 10**30])
def test_counts_of_huge_sizes_follow_the_period(big: int) -> None:
    """Far from the edges the windows repeat every s pixels: each period adds the s - r
    positions of the residues no tap reads (r = min(k, s / gcd(d, s))) and nothing else,
    so a size m periods longer skips m(s - r) pixels more and discards as many."""
    for k, s, p, d in GRID:
        n = 60 + d * k + p
        o = int(f.window_out(n, k, s, p, d))
        discarded, skipped = covered_counts(n, o, k, s, p, d)
        reads = min(k, s // math.gcd(d, s))
        m = big // s
        far = n + m * s
        assert covered_counts(far, o + m, k, s, p, d) == (discarded, skipped + m * (s - reads))


def test_counts_with_wide_strides_and_huge_padding() -> None:
    # 1x1 windows every 2 pixels over 10**30: the last pixel discarded, every other skipped
    assert covered_counts(10**30, 10**30 // 2, 1, 2, 0, 1) == (1, 10**30 // 2 - 1)
    # two windows of 10**9 taps 3 apart, 10**9 + 7 apart (≡ 2 mod 3): residues 0 and 2 mod 3
    # read 10**9 times each up to the last tap at 4*10**9 + 4, residue 1 never
    assert covered_counts(10**12, 2, 10**9, 10**9 + 7, 0, 3) == \
        (10**12 - 4 * 10**9 - 5, 4 * 10**9 + 5 - 2 * 10**9)
    assert covered_counts(10**10, 10, 10**9, 10**9 + 1, 0, 1) == (0, 9)  # one gap each
    n = 10**25
    o = int(f.window_out(n, 1000, 999, 10**8, 7))
    # the closed form of the same layer one period shorter, plus one period's gaps (none)
    assert covered_counts(n, o, 1000, 999, 10**8, 7) == \
        covered_counts(n - 999, o - 1, 1000, 999, 10**8, 7)


@pytest.mark.parametrize("ceil", [False, True], ids=["floor", "ceil"])
def test_skipping_sizes_match_brute_force(ceil: bool) -> None:
    """skip_sizes names exactly the input sizes at which some pixel is skipped, checked on
    every size up to 90 (past the sizes where the pattern becomes periodic)."""
    for k, s, p, d in GRID:
        sizes = skip_sizes(k, s, p, d, ceil)
        assert sizes is not None
        for n, o in _sizes(k, s, p, d, ceil, 90).items():
            assert (n in sizes) == (brute_counts(n, o, k, s, p, d)[1] > 0), (n, k, s, p, d, ceil)


@pytest.mark.parametrize(
    ("k", "s", "p", "d"),
    [(1000, 999, 0, 7), (200, 199, 0, 3), (3, 1, 10**8, 2), (1000, 999, 10**8, 7),
     (5, 10**30, 10**29, 7), (7, 3, 0, 10), (3, 1, 0, 30)],
)
def test_skipping_sizes_of_large_windows_match_the_counts(k: int, s: int, p: int,
                                                          d: int) -> None:
    """The walk stops after a few blocks of s sizes whatever the padding; its answer agrees
    with the counts at sizes around every boundary it names and far beyond."""
    sizes = skip_sizes(k, s, p, d)
    assert sizes is not None
    edges = {sizes.smallest, *(x for run in sizes.runs for x in run)}
    if sizes.tail is not None:
        edges |= {sizes.tail, sizes.tail + sizes.offset}
    probes = {n + delta for n in edges for delta in (-2, -1, 0, 1, 2)}
    probes |= {max(edges) + j * s + r for j in (1, 7, 10**6) for r in (0, 1, s // 2, s - 1)}
    for n in sorted(probes):
        o = int(f.window_out(n, k, s, p, d))
        if n >= 1 and o >= 1:
            assert (n in sizes) == (covered_counts(n, o, k, s, p, d)[1] > 0), (n, sizes)


@pytest.mark.parametrize("ceil", [False, True], ids=["floor", "ceil"])
def test_a_symbolic_warning_says_the_sizes_it_happens_at(ceil: bool) -> None:
    """A symbolic skipped warning is there exactly when some size 1..60 skips, and where it
    names sizes, they are the sizes that skip."""
    w = sympy.Symbol("W", integer=True, positive=True)
    for k, s, p, d in itertools.product(range(1, 5), range(1, 5), range(3), range(1, 4)):
        out = f.window_out_ceil if ceil else f.window_out
        warnings = {x.guard: x for x in axis_warnings("W", w, out(w, k, s, p, d), k, s, p, d,
                                                      ceil=ceil)}
        skipping = [n for n, o in _sizes(k, s, p, d, ceil, 60).items()
                    if brute_counts(n, o, k, s, p, d)[1]]
        sizes = skip_sizes(k, s, p, d, ceil)
        assert sizes is not None
        assert (Guard.SKIPPED in warnings) == (sizes.tail is not None or bool(skipping)), \
            (k, s, p, d)
        if Guard.SKIPPED in warnings:
            text = warnings[Guard.SKIPPED].text
            named = " when W is " in text
            assert named == (bool(sizes.runs) or sizes.tail != sizes.smallest
                             or sizes.offset != 0), text
            if not named:  # every size skips
                assert skipping == list(_sizes(k, s, p, d, ceil, 60)), (k, s, p, d, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("input 1 x W\nconv 1 k=3 s=1 d=2",
         "L: pixels skipped between windows (dilation 2 leaves gaps between a window's "
         "taps) when W is 5\n"),
        ("input 1 x W\nconv 1 k=1 s=2",
         "windows read 1 of every 2 positions, the others are skipped (kernel 1 < stride 2) "
         "when W is at least 3\n"),
        ("input 1 x W\nconv 1 k=1000 s=999 d=7",
         "L: pixels skipped between windows (dilation 7 leaves gaps between a window's "
         "taps)\n"),
        ("input 1 x W\nconv 1 k=2 s=5 d=3\nconv 1 k=3 s=1 d=4",
         "2 conv1d: L: pixels skipped between windows (dilation 4 leaves gaps between a "
         "window's taps) when its input L (= floor((W + 1)/5)) is 9 to 11\n"),
        ("input 1 x 100000000000\nconv 1 k=1 s=2",
         "L: 49,999,999,999 pixels of 100,000,000,000 skipped between windows"),
        ("input 1 x 1000000000000000000000000000000\nconv 1 k=1 s=2",
         "L: 1 pixel of 1,000,000,000,000,000,000,000,000,000,000 discarded at the end"),
    ],
)
def test_check_states_the_sizes(text: str, expected: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", "-e", text])
    assert code == 0 and expected in out.getvalue(), out.getvalue() + err.getvalue()


@pytest.mark.parametrize(
    "text",
    ["input 1 x W\nconv 1 k=1000 s=999 d=7", "input 1 x W\nconv 1 k=3 s=1 p=100000000",
     "input 1 x 1000000000000000000000000000000\nconv 1 k=1 s=2 d=3"],
)
def test_long_inputs_and_wide_windows_are_answered(text: str) -> None:
    records = symconv.parse(text).table()
    assert records[-1].warnings is not None


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["table", "-e", "input 1 x 100000000000\nconv 1 k=1 s=2"],
         "49,999,999,999 pixels of 100,000,000,000 skipped"),
        (["design", "--size", "1000000000000", "--target", "500000000000", "--top", "2"],
         "kernel"),
        (["table", "-e", "input 1 x W\nconv 1 k=3 s=1 p=100000000"], "W + 199999998"),
        (["check", "-e", "input 1 x W\nconv 1 k=5 s=3 d=7 p=100000000"], "floor(W/3) + 66666658"),
    ],
)
def test_commands_answer_for_huge_sizes(argv: list[str], expected: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code == 0 and expected in out.getvalue(), out.getvalue() + err.getvalue()
