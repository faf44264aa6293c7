"""Whatever text arrives, nothing but symconv's own errors comes out: arbitrary text and
mutations of valid descriptions, through the Python API and the command line."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

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


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.sampled_from(["text", "json", "markdown", "latex"]))
def test_command_line_exits_0_or_2(text: str, fmt: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["table", "-e", text, "--format", fmt])
    assert code in (0, 2)
    if code == 2:
        assert err.getvalue().startswith("symconv: error: ")
        assert out.getvalue() == ""


@SETTINGS
@given(st.integers(-3, 10**18), st.integers(1, 9), st.integers(1, 4), st.integers(0, 4))
def test_sizes_up_to_10_to_the_18_stay_exact(n: int, k: int, s: int, p: int) -> None:
    network = symconv.parse(f"input 1 x N\nconv 1 k={k} s={s} p={p}")
    try:
        (_, out) = network.output_shape(N=n)
    except symconv.SymconvError:
        assert n < 1 or n + 2 * p < k or 2 * p > 10**19  # only impossible shapes are refused
        return
    assert out == (n + 2 * p - k) // s + 1  # Python's exact integers as the reference
