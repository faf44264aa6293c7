"""Fuzzing, the proof that nothing but symconv's own errors comes out: descriptions drawn from
the grammar itself (every rule, calls of every arity, strings, huge numbers, control
characters, Unicode), mutations of every example, and every option of every subcommand
(found by asking the CLI's own parser) given odd values.

Through Python only a SymconvError may come out; through the command line only exit 0, 1 or
2, where 2 says `symconv: error:`. An internal error (exit 70) is a failure here: the net in
`main` is for users, not a licence. Every example a hunt found is pinned with @example.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_robustness import evaluate

from symconv.cli import build_parser, main

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.net"))
FAST = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))

# ---------------------------------------------------------------- the grammar as a strategy

HUGE = "9" * 4001
NUMBERS = ["0", "1", "2", "3", "7", "64", "224", "2.5", ".5", "1.", "1e3", "1e-3", "1e4001",
           HUGE, "10" + "0" * 3998,
           # sizes symconv takes whose products outgrow 4000 digits, and a size of high degree
           "10^3999", "9^4190", "(W + 1)^32"]
NAMES = ["W", "H", "K", "P", "S", "N", "C", "x", "None", "True", "False", "same", "valid",
         "floor", "max", "nn", "W_in", "alpha"]
FUNCTIONS = ["floor", "ceil", "ceiling", "min", "max", "nn.ReLU", "nn.Conv2d", "nn.Sequential",
             "abs", "sqrt"]
LAYERS = ["conv", "convT", "maxpool", "avgpool", "relu", "bn", "flatten", "linear", "dropout",
          "adaptive_avgpool", "upsample", "convv", "input"]
KEYWORDS = ["k", "s", "p", "d", "g", "op", "kernel_size", "stride", "padding", "dilation",
            "groups", "bias", "ceil", "ceil_mode", "output_padding", "in_channels", "size"]
# Characters people paste by accident, and ones meant to fool a terminal or a parser.
NOISE = ["\x00", "\x1b[31m", "\r", "\r\n", "\t", "\x0c", "\x85", "\u2028", "\u202e", "\ufeff",
         "\u00d7", " \u00d7 ", "é", "卷积", "∑", "\udcff", "'", '"', "\\\n", "#", "(", ")",
         "[", "]", "{", "}", ",", "=", "x", "^", "**", "//"]

names = st.sampled_from(NAMES)
numbers = st.sampled_from(NUMBERS)


def _exprs(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One level of the expression grammar over `children`."""
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "//", "^", "**", " x "]),
                       children).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
    call = st.tuples(st.sampled_from(FUNCTIONS), st.lists(children, max_size=4)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})")  # every arity 0..4
    keyword_call = st.tuples(st.sampled_from(FUNCTIONS), children).map(
        lambda t: f"{t[0]}(x={t[1]})")
    return st.one_of(binary, call, keyword_call, children.map(lambda e: f"-{e}"),
                     children.map(lambda e: f"({e})"))


exprs = st.recursive(st.one_of(numbers, names), _exprs, max_leaves=6)
values = st.one_of(
    exprs,
    st.lists(exprs, max_size=3).map(lambda v: "(" + ", ".join(v) + ("," if len(v) == 1 else "")
                                    + ")"),
    st.lists(exprs, max_size=3).map(lambda v: "[" + ", ".join(v) + "]"),
    st.sampled_from(["'same'", '"valid"', "'\x1b[2J'", "''", "'卷'"]),
)
arguments = st.one_of(values, st.tuples(st.sampled_from(KEYWORDS), values).map("=".join))
layers = st.tuples(st.sampled_from(LAYERS), st.lists(arguments, max_size=4)).map(
    lambda t: " ".join([t[0], *t[1]]))
layer_calls = st.tuples(
    st.sampled_from(["nn.Conv2d", "nn.MaxPool2d", "nn.Linear", "nn.ReLU", "nn.Sequential",
                     "nn.BatchNorm2d", "nn.Flatten", "nn.AdaptiveAvgPool2d", "floor", "max"]),
    st.lists(arguments, max_size=4)).map(lambda t: f"{t[0]}({', '.join(t[1])})")
shapes = st.one_of(
    st.lists(st.sampled_from(["1", "3", "32", "224", HUGE]), min_size=1, max_size=6).map(
        "x".join),  # up to 5 spatial axes: flatten, linear and activations take any
    st.lists(exprs, min_size=1, max_size=4).map(" x ".join),
    st.lists(exprs, min_size=1, max_size=4).map(" \u00d7 ".join),
    st.lists(exprs, min_size=1, max_size=4).map(lambda v: "(" + ", ".join(v) + ")"),
)
inputs = shapes.map(lambda s: f"input {s}")


def _blocks(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    body = st.lists(children, max_size=3).map(lambda b: "{\n" + "\n".join(b) + "\n}")
    return st.one_of(
        st.tuples(st.sampled_from(["repeat", "residual", "concat", "block"]),
                  st.one_of(st.just(""), exprs), st.lists(body, min_size=1, max_size=2),
                  st.booleans(), body).map(
            lambda t: f"{t[0]} {t[1]} {' '.join(t[2])}" + (f" shortcut {t[4]}" if t[3] else "")),
        st.tuples(names, layer_calls).map(lambda t: f"{t[0]} = {t[1]}"),
    )


statements = st.recursive(st.one_of(layers, layer_calls, inputs), _blocks, max_leaves=4)


@st.composite
def descriptions(draw: st.DrawFn) -> str:
    """A description from the grammar: an input line (usually), statements, separators of
    every kind, and now and then a piece of noise put anywhere."""
    parts = [draw(inputs)] if draw(st.integers(0, 4)) else []
    parts += draw(st.lists(statements, min_size=1, max_size=4))
    text = ""
    for part in parts:
        text += part + draw(st.sampled_from(["\n", "\n", ", ", "\r\n", "\r", "\n\n  "]))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(NOISE)) + text[at:]
    return text


@FAST
@given(descriptions())
@example("input 3x8x8\nconv 8 k=floor(1, 2)")  # lark's VisitError escaped
@example("input 3x8x8\nconv 8 k=max(3)")
@example("input 3x8x8\nconv 8 k=ceil(x=2)")
@example("input 3x8x8\nconv 8 k=min('same', 2)")
@example(f"input {HUGE}x3\nrelu")  # Python's int() refused past 4300 digits
@example("input 3x8x8\nconv 8 k=2^4096^4096")
@example("input 3x8x8\nconv 8 k=10**18**18")
@example("input 3x8x8\nconv 8 k=" + "*".join(["10" + "0" * 3998] * 3))
@example("input 3 \u00d7 32 \u00d7 32\nrelu")
@example("\ufeffinput 3x8x8\rconv 8 k=3\r\nrelu")
@example("input 3x8x8\nconv 8 k=" + "(" * 300 + "3" + ")" * 300)
@example("input 3x8x8\nconv 8 k=" + "-" * 3000 + "3")
@example("input 3x8x8\nconv 8 k=" + "+".join(["W"] * 3000))
@example("input 3x8x8\n" + "repeat 2 {\n" * 200 + "relu\n" + "}\n" * 200)
@example("input 1 x 2\nconvT 1 k=1 s=10^3999\nconvT 1 k=1 s=10^3999")  # past Python's 4300 digits
@example("input 1 x (W + 1)^32\nconv 1 k=3 s=2")  # SymPy's floor took minutes
def test_grammar_descriptions(text: str) -> None:
    evaluate(text)


@st.composite
def mutated_examples(draw: st.DrawFn) -> str:
    """An example network with a few pieces of the language or noise put in or cut out."""
    text = draw(st.sampled_from(EXAMPLES)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        end = min(len(text), at + draw(st.integers(1, 8)))
        piece = draw(st.one_of(st.sampled_from(NOISE), numbers, names, exprs))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        text = (text[:at] + piece + text[at:] if action == "insert"
                else text[:at] + text[end:] if action == "delete"
                else text[:at] + piece + text[end:])
    return text


@FAST
@given(mutated_examples())
def test_mutated_examples(text: str) -> None:
    evaluate(text)


# ---------------------------------------------------------------- every option of every command

def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


SUBCOMMANDS = _subcommands()
ODD = ["", " ", "-1", "0", "1", "2", "3", "7", "+5", "1..3", "5..1", "..", "1..", "3x3",
       "2x2x2", "W", "P", "Q", "w", "word", "ceil(W/2)", "floor(1, 2)", "max(3)", "1/2", "2.5",
       "1e9", "nn.ReLU()", "(3, 5)", HUGE, "-" + HUGE, f"1..{HUGE}", "1..99999999999",
       "1e4001", "Réseaux", "∑ and ∞", "卷积网络", "\x1b[31mred", "a\rb", "\u202eevil", "٣",
       "１２", "W=", "=3", "W=" + HUGE, "W==3", "é=3"]


def output_paths(tmp: Path) -> st.SearchStrategy[str]:
    """Where -o may point: a file, standard output, a full disk, a directory, nowhere."""
    return st.sampled_from([str(tmp / "out.tex"), "-", "/dev/full", str(tmp),
                            str(tmp / "no" / "such" / "dir" / "x.tex")])


# A sensible value for each option that takes one (by its dest), so that a command line
# with one odd value reaches as far as that value is read.
SENSIBLE = {"input": "3x32x32", "set": "W=32", "target": "16", "unknown": "P",
            "span": "1..64", "layer": "1", "unit": "0,0", "size": "32", "kernel": "1..5",
            "stride": "1..2", "padding": "0..2", "dilation": "1..2", "in_channels": "3",
            "out_channels": "4", "axes": "2", "top": "3", "sizes": "2", "seed": "0",
            "title": "Notes", "layers": "1-2"}
DESCRIPTIONS = ["input 3 x W x W\nconv 8 k=3 s=2 p=P\nmaxpool k=2\nflatten\nlinear 10",
                *(p.read_text() for p in EXAMPLES[:3])]


@st.composite
def command_lines(draw: st.DrawFn, tmp: Path) -> list[str]:
    """A subcommand, a description (valid ones reach furthest), and each of its options
    present or not; all sensible but (usually) one, which is odd."""
    name = draw(st.sampled_from(sorted(SUBCOMMANDS)))
    actions = [a for a in SUBCOMMANDS[name]._actions if a.option_strings and a.dest != "help"]
    odd = draw(st.sampled_from([a.dest for a in actions] + [None]))
    argv = [name]
    for action in actions:
        required = action.required or (name == "solve" and action.dest in ("unknown", "target"))
        if not (required or action.dest == odd or draw(st.booleans())):
            continue
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            argv.append(flag)
        elif action.dest == "expr":
            argv += [flag, draw(st.one_of(st.sampled_from(DESCRIPTIONS), descriptions(),
                                          mutated_examples()))]
        elif action.dest == "output":
            argv += [flag, draw(output_paths(tmp))]
        elif action.dest == odd:
            argv += [flag, draw(st.sampled_from(ODD))]
        elif action.choices is not None:
            argv += [flag, draw(st.sampled_from(list(action.choices)))]
        else:
            argv += [flag, SENSIBLE[action.dest]]
    if any(a.dest == "expr" for a in actions) and "-e" not in argv and "--expr" not in argv:
        argv.append(draw(st.sampled_from([str(p) for p in EXAMPLES] + ["-", "/dev/null"])))
    return argv


def run_cli(argv: list[str]) -> tuple[int, str]:
    """main(argv) with empty standard input; the exit code and what went to stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(""))
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse: usage errors and --help
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, err.getvalue()


def assert_clean(argv: list[str], code: int, err: str) -> None:
    assert "internal error" not in err and "Traceback" not in err, (argv, err)
    assert code in (0, 1, 2), (argv, code, err)  # 1: solve found nothing, check disagrees
    if code == 2:
        assert "symconv: error: " in err, (argv, err)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_every_option_of_every_subcommand(tmp_path_factory: pytest.TempPathFactory,
                                          data: st.DataObject) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    argv = data.draw(command_lines(tmp))
    code, err = run_cli(argv)
    assert_clean(argv, code, err)


PINNED = [
    ["design", "--size", HUGE, "--target", "3"],
    ["design", "--size", "8", "--target", "3", "--kernel", f"1..{HUGE}"],
    ["design", "--size", "8", "--target", "3", "--axes", "99999999"],
    ["design", "--size", "8", "--target", "3", "--kernel", "1..99999999"],
    ["design", "--size", "٣", "--target", "3"],
    ["rf", str(EXAMPLES[0]), "--layer", HUGE],
    ["rf", str(EXAMPLES[0]), "--unit", "floor(1, 2)"],
    ["check", str(EXAMPLES[0]), "--sizes", HUGE],
    ["check", "-e", "input 1 x W\nconv 1 k=3", "--sizes", "99999999", "--torch"],
    ["solve", "-e", "input 3 x W x W\nconv 8 k=3", "--aligned", "--range", "1..99999999999"],
    ["solve", "-e", "input 3 x W x W\nconv 8 k=3", "--for", "W", "--target", HUGE],
    ["table", str(EXAMPLES[0]), "--set", "W=" + HUGE],
    ["table", str(EXAMPLES[0]), "--input", HUGE + "x3"],
    ["table", "-e", "input 3x8x8\nconv 8 k=floor(1, 2)"],
    ["notes", str(EXAMPLES[0]), "-o", "/dev/full"],
    ["notes", str(EXAMPLES[0]), "--title", "卷积网络 \x1b[31m", "-o", "/dev/full"],
    ["formulas", "-o", "/dev/full"],
    ["table", "-"],  # empty standard input
    ["table", "-e", "input 1 x 1\nconv 1 k=1 s=10^3999\nconv 1 k=1 s=10^3999"],
    ["derive", "-e", "input 1 x W^4\nrelu", "--set", "W=H^4"],
]


@pytest.mark.parametrize("argv", PINNED)
def test_pinned_command_lines(argv: list[str]) -> None:
    code, err = run_cli(argv)
    assert_clean(argv, code, err)
    assert code == 2, (argv, err)  # each is the user's error, said as one
