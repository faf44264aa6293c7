"""Whatever text arrives, nothing but symconv's own errors comes out: arbitrary text and
mutations of valid descriptions, through the Python API and the command line."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symconv
from symconv.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"
VALID = [
    "input 3 x 32 x 32\nconv 10 k=5 s=1 p=2\nmaxpool k=3 s=2 ceil\nflatten\nlinear 10",
    "input C x H x W\nconv K k=F s=S p=P\nconvT 8 k=3 s=2 p=1 op=1\nbn\nrelu\ndropout 0.5",
    "input 2 x 8 x 16 x 16\nconv 4 k=(1,3,3) p=(0,1,1) d=2 g=2\navgpool k=2 p=1",
    "input 3x64x64\nnn.Conv2d(3, 8, kernel_size=3, padding='same', bias=False),\n"
    "nn.AdaptiveAvgPool2d((None, 6)), nn.Flatten(), nn.Linear(8 * 64 * 6, 10)",
    (EXAMPLES / "alexnet.net").read_text(),
    "input 3 x H x W\nrepeat N {\n  conv 8 k=3 s=2 p=1\n  relu\n}\n"
    "residual {\n  conv 8 k=3 p=1\n} shortcut {\n  conv 8 k=1\n}\n"
    "concat { conv 4 k=1 } { maxpool k=3 s=1 p=1 }\nflatten\nlinear 10",
]
# Pieces of the language, so that mutations stay close to real descriptions.
PIECES = ["conv", "k=", "s=", "p=", "same", "(", ")", ",", "x", "=", "\n", " ", "0", "-1", "W",
          "nn.", "Conv2d(", "1e9", "10**18", "2^64", "/", "//", "*", "#", "{", "}", "'", '"',
          "repeat", "input", "flatten", "None", "True", "bias=false", "ceil", "op=", "g=3"]

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def run(argv: list[str]) -> tuple[int, str, str]:
    """The command line's exit status, standard output and standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def evaluate(text: str) -> None:
    """Parse and evaluate; only symconv's errors may come out."""
    try:
        network = symconv.parse(text)
        network.table()
        network.totals(**dict.fromkeys(network.symbols, 7))
    except symconv.SymconvError as error:
        assert str(error)  # a message, always


@SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    evaluate(text)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(PIECES))
        end = min(len(text), at + draw(st.integers(1, 6)))
        if action == "insert":
            text = text[:at] + piece + text[at:]
        elif action == "delete":
            text = text[:at] + text[end:]
        else:
            text = text[:at] + piece + text[end:]
    return text


@SETTINGS
@given(mutated())
def test_mutated_descriptions(text: str) -> None:
    evaluate(text)


# Options as a user might get them wrong: numbers out of range, fractions, symbols, layers.
ODD = st.sampled_from(["0", "-1", "1", "3", "7", "1/2", "2.5", "W", "P", "10**6", "(3, 5)",
                       "nn.ReLU()", "x", "", "3x3", "ceil(W/2)"])


@st.composite
def command(draw: st.DrawFn) -> list[str]:
    """A subcommand with a mutated description and odd option values."""
    text = draw(st.one_of(st.sampled_from(VALID), mutated()))  # valid ones reach further
    odd = draw(ODD)
    which = draw(st.sampled_from(["table", "rf", "derive", "solve", "aligned", "notes",
                                  "check", "design", "draw"]))
    if which == "design":
        return ["design", "--size", draw(ODD), "--target", odd, "--top", draw(ODD)]
    base = {
        "table": ["table", "-e", text, "--format", draw(st.sampled_from(["text", "json"]))],
        "rf": ["rf", "-e", text, "--layer" if draw(st.booleans()) else "--unit", odd],
        "derive": ["derive", "-e", text, "--quantity",
                   draw(st.sampled_from(["shape", "params", "rf", "all"]))],
        "solve": ["solve", "-e", text, "--for", draw(st.sampled_from(["P", "W", "K", "Q"])),
                  "--target", odd],
        "aligned": ["solve", "-e", text, "--aligned"],
        "notes": ["notes", "-e", text, "-o", os.devnull],
        "check": ["check", "-e", text],
        "draw": ["draw", "-e", text, "--layer" if draw(st.booleans()) else "--layers", odd,
                 "--unit", draw(ODD), "--format", draw(st.sampled_from(["svg", "tikz", "json"]))],
    }[which]
    if draw(st.booleans()):
        base += ["--set", f"{draw(st.sampled_from(['W', 'K', 'N', 'P', 'w']))}={draw(ODD)}"]
    return base


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command())
def test_every_subcommand_exits_0_1_or_2(argv: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's own usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
    assert code in (0, 1, 2), argv  # 1: solve found no value, or check found a disagreement
    if code == 2:
        assert "Traceback" not in err.getvalue()
        assert err.getvalue().startswith(("symconv: error: ", "usage: "))


@SETTINGS
@given(st.integers(-3, 10**18), st.integers(1, 9), st.integers(1, 4), st.integers(0, 4))
def test_sizes_up_to_10_to_the_18_stay_exact(n: int, k: int, s: int, p: int) -> None:
    network = symconv.parse(f"input 1 x N\nconv 1 k={k} s={s} p={p}")
    try:
        (_, out) = network.output_shape(N=n)
    except symconv.SymconvError:
        assert n < 1 or n + 2 * p < k  # only impossible shapes are refused
        return
    assert out == (n + 2 * p - k) // s + 1  # Python's exact integers as the reference


# One digit limit, one message, on every path that reads digits: descriptions (numbers,
# shape literals, tuples, results of arithmetic and powers) and every option that takes one.
HUGE = "9" * 4001
TOO_LARGE = "is too large (symconv takes at most 4000 digits)"
NET = "input 3 x W x W\nconv 8 k=3 p=P"


@pytest.mark.parametrize(
    "text",
    [
        f"input 3 x {HUGE} x 8\nrelu",
        f"input 3x{HUGE}x8\nrelu",  # a shape literal
        f"input (3, {HUGE}, 8)\nrelu",
        f"input 3x8x8\nconv {HUGE} k=3",
        f"input 3x8x8\nconv 8 k=({HUGE}, 3)",
        f"input 3x8x8\nnn.Conv2d(3, 8, [{HUGE}, 3])",
        "input 3x8x8\nconv 8 k=1e4001",
        "input 3x8x8\nconv 8 k=2^4096^4096",
        "input 3x8x8\nconv 8 k=9^4000 * 9^4000",
        "input 3x8x8\nconv 8 k=1" + "0" * 3999 + " * 1" + "0" * 3999,
        "input 3x8x8\nconv 8 k=floor(1" + "0" * 3999 + " ** 2)",
    ],
)
def test_huge_numbers_in_a_description(text: str) -> None:
    with pytest.raises(symconv.SymconvError, match=re.escape(TOO_LARGE)) as caught:
        symconv.parse(text)
    assert str(caught.value).startswith("line ")


@pytest.mark.parametrize(
    "argv",
    [
        ["table", "-e", NET, "--set", f"W={HUGE}"],
        ["table", "-e", "conv 8 k=3", "--input", f"3x{HUGE}x8"],
        ["table", "-e", "conv 8 k=3", "--input", f"3 x {HUGE} x 8"],
        ["solve", "-e", NET, "--for", "P", "--target", HUGE],
        ["solve", "-e", NET, "--aligned", "--range", f"1..{HUGE}"],
        ["rf", "-e", NET, "--set", "W=8", "--set", "P=1", "--layer", HUGE],
        ["rf", "-e", NET, "--set", "W=8", "--set", "P=1", "--unit", f"{HUGE},1"],
        ["check", "-e", NET, "--sizes", HUGE],
        ["draw", "-e", NET, "--set", "W=8", "--set", "P=1", "--layer", HUGE],
        ["draw", "-e", NET, "--set", "W=8", "--set", "P=1", "--layers", f"1-{HUGE}"],
        ["draw", "-e", NET, "--set", "W=8", "--set", "P=1", "--layer", "1", "--unit",
         f"{HUGE},1"],
        ["check", "-e", NET, "--seed", HUGE],
        *(["design", "--size", "8", "--target", "4", option, HUGE]
          for option in ("--size", "--target", "--in-channels", "--out-channels", "--axes",
                         "--top")),
        *(["design", "--size", "8", "--target", "4", option, f"1..{HUGE}"]
          for option in ("--kernel", "--stride", "--padding", "--dilation")),
    ],
)
def test_huge_numbers_in_every_option(argv: list[str]) -> None:
    code, out, err = run(argv)
    assert (code, out) == (2, "")
    assert "symconv: error: " in err and TOO_LARGE in err
