"""The questions a student or a lecturer asks symconv, as a table: each row is the command
line, the answer it prints (text and LaTeX) and a brute-force oracle of that answer.

The oracle never uses the solver's inversion: it enumerates the unknown over a range, at
every point of a grid of the other symbols, and runs the network forward (the compiled
numeric evaluator, which applies PyTorch's rules; a row may bring its own forward rule, as
TensorFlow's 'SAME' rows do). The answer must agree at every point: `Solution.contains` for
symbolic answers, `values`/`low`/`high` for numeric ones. The same question asked on the
command line (--format json) must give the answer the Python API gives.

What each question prints (text and LaTeX) is the row's golden file,
tests/golden/textbook_<question>.txt, read by eye when it changes (`pytest --update-golden`).
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sympy
from test_robustness import run  # the one way the tests call the command line

import symconv
from symconv import SymconvError
from symconv.engine import formulas as f
from symconv.language.parse import parse_expression
from symconv.present.values import json_value
from symconv.render.solution import solution_dict
from symconv.solve.layers import Convention, sizes_in


def printed(golden: Callable[[str, str], None], asked: str, outputs: list[tuple[list[str], str]]
            ) -> None:
    """The commands of a row and what they print, against the row's golden file."""
    slug = re.sub(r"[^a-z0-9]+", "_", asked.lower()).strip("_")[:80]
    shown = "".join(f"$ symconv {shlex.join(argv)}\n{out}\n" for argv, out in outputs)
    golden(f"textbook_{slug}.txt", shown)

EXAMPLES = Path(__file__).parent.parent / "examples"
RESNET18 = (EXAMPLES / "resnet18.net").read_text("utf-8")
UNET = (EXAMPLES / "unet.net").read_text("utf-8")

Point = Mapping[str, int]
Forward = Callable[[Point], tuple[int, ...] | None]


@dataclass(frozen=True, eq=False)  # hashed by identity: a row is its own cache key
class Question:
    """One row: what is asked, the description and the options, and the grid the oracle
    checks the answer on."""

    asked: str
    net: str
    options: tuple[str, ...]  # after `symconv solve -e NET`
    span: range  # the unknown's values the oracle enumerates
    grid: Mapping[str, range] = field(default_factory=dict)  # the other symbols
    forward: Forward | None = None  # the output's spatial sizes, where not the evaluator's
    none: bool = False  # no value solves it anywhere on the grid (else some must)

    def option(self, name: str) -> str | None:
        return self.options[self.options.index(name) + 1] if name in self.options else None

    @property
    def unknown(self) -> str:
        return str(self.option("--for"))

    @property
    def values(self) -> dict[str, int]:
        return {k: int(v) for k, _, v in (s.partition("=") for s in self._all("--set"))}

    def _all(self, name: str) -> list[str]:
        return [self.options[i + 1] for i, o in enumerate(self.options) if o == name]


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def tf_chain(*strides_of: Callable[[Point], int]) -> Forward:
    """TensorFlow's 'SAME' layers by TF's rule alone: each gives ceil(n/s)."""

    def forward(point: Point) -> tuple[int, ...]:
        n = point["W"]
        for stride in strides_of:
            n = ceil_div(n, stride(point))
        return (n,)

    return forward


UP_DOWN = "input 1 x H\nconcat { identity } { maxpool k=2\nconvT 1 k=2 s=2 }"
STEM = "input 3 x W x W\nconv 64 k=7 s=2 p=3\nbn\nrelu\nmaxpool k=3 s=2 p=1"
VGG_POOLS = "input 3 x W x W\n" + "conv 8 k=3 p=1\nmaxpool k=2\n" * 5
HEAD = "input 1 x W\nconv 4 k=3 s=2 p=1\nconv 4 k=3 s=2 p=1\nflatten\nlinear 10"
TF_TWO = "input 3 x W x W\nconv 8 k=7 s=2 p=same\nconv 8 k=3 s=S p=same"
E = ("-e",)

SOLVE = [
    # ---- same padding
    Question("which padding keeps the size, for any kernel?",
             "input C x W\nconv C k=K p=P", ("--for", "P", "--target", "W"), range(0, 12),
             {"C": range(2, 3), "K": range(1, 10), "W": range(1, 21)}),
    Question("which padding keeps the size of a dilated 3 x 3 convolution?",
             "input C x W\nconv C k=3 d=D p=P", ("--for", "P", "--target", "W"), range(0, 12),
             {"C": range(2, 3), "D": range(1, 9), "W": range(1, 25)}),
    Question("which padding keeps the size, for any kernel and dilation?",
             "input 1 x W\nconv 1 k=K d=D p=P", ("--for", "P", "--target", "W"), range(0, 10),
             {"K": range(1, 6), "D": range(1, 4), "W": range(1, 13, 2)}),
    Question("which padding keeps 32 x 32 with a 5 x 5 kernel?",
             "input 3 x 32 x 32\nconv 64 k=5 p=P", ("--for", "P", "--target", "32"),
             range(0, 40)),
    Question("which padding keeps 32 x 32 with a 4 x 4 kernel? (none: even kernel)",
             "input 3 x 32 x 32\nconv 64 k=4 p=P", ("--for", "P", "--target", "32"),
             range(0, 40), none=True),
    Question("which padding keeps the size for a 5 x 5 kernel, any input?",
             "input 3 x W x W\nconv 64 k=K p=P", ("--for", "P", "--target", "W", "--set",
                                                  "K=5"), range(0, 10), {"W": range(1, 40)}),
    Question("which padding keeps a 7 x 7 dilation-2 convolution's 56 x 56?",
             "input 8 x 56 x 56\nconv 8 k=7 d=2 p=P", ("--for", "P", "--target", "56"),
             range(0, 30)),
    Question("which padding halves the size with stride 2 (k=3)?",
             "input 3 x W\nconv 8 k=3 s=2 p=P", ("--for", "P", "--target", "ceiling(W/2)"),
             range(0, 8), {"W": range(1, 65)}),
    Question("which padding halves the size with a dilated stride-2 3 x 3 convolution?",
             "input 1 x W\nconv 1 k=3 d=D s=2 p=P", ("--for", "P", "--target",
                                                     "ceiling(W/2)"), range(0, 8),
             {"D": range(1, 5), "W": range(1, 25)}),
    Question("which padding halves 224 with stride 2 (k=3), W given with --set?",
             "input 3 x W\nconv 8 k=3 s=2 p=P", ("--for", "P", "--target", "ceiling(W/2)",
                                                 "--set", "W=224"), range(0, 20)),
    Question("which padding takes 224 to 112 with ResNet's 7 x 7 stride-2 stem?",
             "input 3 x 224 x 224\nconv 64 k=7 s=2 p=P", ("--for", "P", "--target", "112"),
             range(0, 30)),
    Question("which padding gives an output of O, for any kernel and stride?",
             "input 1 x W\nconv 1 k=K s=S p=P", ("--for", "P", "--target", "O"), range(0, 6),
             {"W": range(1, 9, 2), "K": range(1, 5), "S": range(1, 4), "O": range(1, 7)}),
    Question("which padding makes a 3 x 3 pooling keep the size?",
             "input 8 x W\nmaxpool k=3 s=1 p=P", ("--for", "P", "--target", "W"),
             range(0, 5), {"W": range(1, 30)}),
    # ---- strides
    Question("which stride halves 32 (k=3, p=1)?",
             "input 3 x 32 x 32\nconv 64 k=3 s=S p=1", ("--for", "S", "--target", "16"),
             range(1, 40)),
    Question("which stride gives ceil(W/2) (k=3, p=1), W given?",
             "input 1 x W\nconv 1 k=3 s=S p=1", ("--for", "S", "--target", "ceiling(W/2)",
                                                 "--set", "W=9"), range(1, 30)),
    Question("which stride gives ceil(W/2) (k=3, p=1), for every W?",
             "input 1 x W\nconv 1 k=3 s=S p=1", ("--for", "S", "--target", "ceiling(W/2)"),
             range(1, 50), {"W": range(1, 41)}),
    Question("which stride gives 3, for any input size, kernel and padding?",
             "input 1 x W\nconv 1 k=K s=S p=P", ("--for", "S", "--target", "3"), range(1, 12),
             {"W": range(1, 25, 2), "K": range(1, 5), "P": range(0, 3)}),
    Question("which stride of a 3 x 3 max pooling gives 7 from 56?",
             "input 8 x 56 x 56\nmaxpool k=3 s=S p=1", ("--for", "S", "--target", "7"),
             range(1, 80)),
    Question("which stride of a ceil-mode pooling gives 2 from 7?",
             "input 1 x 7\nmaxpool k=2 s=S p=1 ceil", ("--for", "S", "--target", "2"),
             range(1, 40)),
    Question("which stride of a ceil-mode 3 x 3 pooling gives 28 from 56?",
             "input 8 x 56 x 56\nmaxpool k=3 s=S ceil", ("--for", "S", "--target", "28"),
             range(1, 80)),
    # ---- kernels and dilations
    Question("which kernel takes 224 to 112 with stride 2, padding 3?",
             "input 3 x 224 x 224\nconv 64 k=K s=2 p=3", ("--for", "K", "--target", "112"),
             range(1, 40)),
    Question("which kernel shrinks the input by 4 without padding?",
             "input 1 x W\nconv 1 k=K", ("--for", "K", "--target", "W - 4"), range(1, 12),
             {"W": range(5, 40)}),
    Question("which kernel gives an output of O, for any input, stride and padding?",
             "input 1 x W\nconv 1 k=K s=S p=P", ("--for", "K", "--target", "O"), range(1, 12),
             {"W": range(1, 13, 4), "S": range(1, 4), "P": range(0, 3, 2), "O": range(1, 6)}),
    Question("which dilation of a 3 x 3 kernel shrinks the input by 6?",
             "input 1 x W\nconv 1 k=3 d=D", ("--for", "D", "--target", "W - 6"), range(1, 10),
             {"W": range(7, 40)}),
    Question("which kernel of a stride-2 pooling gives 7 from 14, padding 0?",
             "input 8 x 14 x 14\nmaxpool k=K s=2", ("--for", "K", "--target", "7"),
             range(1, 20)),
    # ---- output_padding and transposed convolutions
    Question("which output_padding takes 28 back to 56 (k=3, s=2, p=1)?",
             "input 64 x 28 x 28\nconvT 32 k=3 s=2 p=1 op=OP", ("--for", "OP", "--target",
                                                               "56"), range(0, 6)),
    Question("which output_padding makes a convT undo a conv k=K s=S p=P?",
             "input 1 x W\nconv 1 k=K s=S p=P\nconvT 1 k=K s=S p=P op=O",
             ("--for", "O", "--target", "W"), range(0, 5),
             {"W": range(1, 17, 3), "K": range(1, 5), "S": range(1, 4), "P": range(0, 2)}),
    Question("which output_padding takes 55 back through k=3 s=2 p=1?",
             "input 1 x 55\nconv 1 k=3 s=2 p=1\nconvT 1 k=3 s=2 p=1 op=O",
             ("--for", "O", "--target", "55"), range(0, 4)),
    Question("which input does a 4 x 4 stride-2 convT double to 64?",
             "input 1 x W\nconvT 1 k=4 s=2 p=1", ("--for", "W", "--target", "64"),
             range(1, 80)),
    Question("which input does a convT k=K s=S p=P take to O?",
             "input 1 x W\nconvT 1 k=K s=S p=P", ("--for", "W", "--target", "O"),
             range(1, 12), {"K": range(1, 5, 2), "S": range(1, 4), "P": range(0, 2),
                            "O": range(1, 14, 2)}),
    # ---- input sizes
    Question("which inputs do two stride-2 convolutions take to 7?",
             "input 3 x W x W\nconv 64 k=3 s=2 p=1\nconv 64 k=3 s=2 p=1",
             ("--for", "W", "--target", "7"), range(1, 80)),
    Question("which inputs does ResNet's stem take to 56 x 56?", STEM,
             ("--for", "W", "--target", "56"), range(1, 300)),
    Question("which inputs does AlexNet's first layer take to 55 x 55?",
             "input 3 x W x W\nconv 64 k=11 s=4 p=2", ("--for", "W", "--target", "55"),
             range(1, 300)),
    Question("which inputs do VGG's five poolings take to 7 x 7?", VGG_POOLS,
             ("--for", "W", "--target", "7"), range(1, 300)),
    Question("which inputs does a kernel-K stride-2 convolution take to 10?",
             "input 1 x W\nconv 1 k=K s=2", ("--for", "W", "--target", "10"), range(1, 40),
             {"K": range(1, 9)}),
    Question("which inputs do two stride-2 convolutions of kernel K take to 7?",
             "input 1 x W\nconv 1 k=K s=2 p=1\nconv 1 k=K s=2 p=1",
             ("--for", "W", "--target", "7"), range(1, 60), {"K": range(1, 10)}),
    Question("which inputs does a ceil-mode 3 x 3 stride-2 pooling take to 7?",
             "input 1 x W\nmaxpool k=3 s=2 ceil", ("--for", "W", "--target", "7"),
             range(1, 40)),
    Question("which H keep the skip and the up-sampled branch of a U-Net level equal?",
             UP_DOWN, ("--for", "H", "--target", "O"), range(1, 24), {"O": range(1, 20)}),
    Question("which H give a U-Net level an output of 8?", UP_DOWN,
             ("--for", "H", "--target", "8"), range(1, 30)),
    # ---- ResNet stages and --layer
    Question("which inputs give ResNet-18 a 7 x 7 feature map before its head?", RESNET18,
             ("--input", "3xWxW", "--for", "W", "--target", "7", "--layer", "17"),
             range(150, 260)),
    Question("which inputs give ResNet-18's stage 2 a 28 x 28 map?", RESNET18,
             ("--input", "3xWxW", "--for", "W", "--target", "28", "--layer", "9"),
             range(180, 260)),
    Question("which inputs give ResNet-18's stage 3 a 14 x 14 map?", RESNET18,
             ("--input", "3xWxW", "--for", "W", "--target", "14", "--layer", "13"),
             range(180, 260)),
    Question("which inputs give the second convolution 4 before a flatten?", HEAD,
             ("--for", "W", "--target", "4", "--layer", "2"), range(1, 40)),
    Question("which inputs give the first convolution 4 (--layer 1)?", HEAD,
             ("--for", "W", "--target", "4", "--layer", "1"), range(1, 40)),
    # ---- TensorFlow's 'SAME'
    Question("which inputs do two TensorFlow 'SAME' stride-2 layers take to 7?", TF_TWO,
             ("--for", "W", "--target", "7", "--set", "S=2", "--convention", "tensorflow"),
             range(1, 60), forward=tf_chain(lambda p: 2, lambda p: 2)),
    Question("which stride of a TensorFlow 'SAME' layer gives 7 after a stride-2 one?", TF_TWO,
             ("--for", "S", "--target", "7", "--convention", "tensorflow"), range(1, 40),
             {"W": range(1, 60, 4)}, forward=tf_chain(lambda p: 2, lambda p: p["S"])),
]


# ---------------------------------------------------------------- the oracle


@cache
def network(q: Question) -> symconv.Network:
    """The network the row asks about: its description, the --input shape, up to --layer,
    in the row's convention."""
    shape = q.option("--input")
    net = symconv.parse(q.net, None if shape is None else shape.replace("x", " x "))
    if (layer := q.option("--layer")) is not None:
        net = net.upto(int(layer))
    return sizes_in(net, Convention(q.option("--convention") or "torch"))


@cache
def evaluator(text: str, shape: str | None) -> tuple[Any, tuple[str, ...]]:
    """The whole description compiled for numeric evaluation (never truncated), and its
    symbols."""
    net = symconv.parse(text, None if shape is None else shape.replace("x", " x "))
    return net.evaluator(), net.symbols


@cache
def forward(q: Question, point: tuple[tuple[str, int], ...]) -> tuple[int, ...] | None:
    """The output's spatial sizes at `point` (every symbol a number), of layer --layer when
    given; None where PyTorch refuses the network."""
    given = dict(point)
    if q.forward is not None:
        return q.forward(given)
    run_, names = evaluator(q.net, q.option("--input"))
    try:
        records = run_(**{k: v for k, v in given.items() if k in names})  # not a target's O
    except SymconvError:
        return None
    layer = int(q.option("--layer") or len(records))
    return tuple(records[layer - 1].output_shape[1:])


def target_at(q: Question, point: Point) -> tuple[int, ...] | None:
    """The target's size at `point`, read with symconv's expression parser and substituted
    (None where it is no size)."""
    expression = sympy.sympify(parse_expression(str(q.option("--target"))), strict=True)
    value = expression.xreplace({symconv.symbol(k): sympy.Integer(v) for k, v in point.items()})
    return (int(value),) if value.is_Integer and value >= 1 else None


def points(q: Question) -> list[dict[str, int]]:
    names = sorted(q.grid)
    return [{**q.values, **dict(zip(names, combo, strict=True))}
            for combo in itertools.product(*(q.grid[n] for n in names))]


def answer(q: Question) -> symconv.Solution:
    values = {k: v for k, v in q.values.items() if k in network(q).symbols}
    return symconv.solve(network(q), q.unknown, str(q.option("--target")), **values)


@pytest.mark.parametrize("q", SOLVE, ids=[q.asked for q in SOLVE])
def test_answer_agrees_with_brute_force(q: Question):
    solution = answer(q)
    solved = 0
    for point in points(q):
        want = target_at(q, point)
        rank_free = {k: v for k, v in point.items() if k not in q.values}
        truth = [v for v in q.span
                 if want is not None and _spatial(q, {**point, q.unknown: v}, want)]
        if not q.grid:  # a numeric answer: its list, its ends
            assert solution.values is not None or solution.high == sympy.oo, q.asked
            if solution.values:
                assert [v for v in solution.values if v in q.span] == truth, q.asked
                assert (solution.low, solution.high) == solution.values[::len(
                    solution.values) - 1 or 1][:2] * (2 if len(solution.values) == 1 else 1)
            assert solution.empty == (solution.values == ())
        got = [v for v in q.span if solution.contains(v, **rank_free)]
        assert got == truth, (q.asked, point)
        solved += bool(truth)
    assert bool(solved) != q.none  # the grid reaches the answers (the check is not vacuous)


def _spatial(q: Question, point: dict[str, int], want: tuple[int, ...]) -> bool:
    out = forward(q, tuple(sorted(point.items())))
    return out is not None and all(o == want[0] for o in out)


@pytest.mark.parametrize("q", SOLVE, ids=[q.asked for q in SOLVE])
def test_command_line_asks_the_same_question(q: Question, golden: Callable[[str, str], None]):
    """The argv of the row gives, as JSON, the answer the Python API gives; its text and
    LaTeX are the row's golden file."""
    argv = ["solve", "-e", q.net, *q.options]
    code, out, err = run([*argv, "--format", "json"])
    solution = answer(q)
    assert err == "" and code == (1 if solution.empty else 0)
    assert json.loads(out) == json.loads(json.dumps(solution_dict(solution)))
    outputs = []
    for fmt in ("text", "latex"):
        code, out, err = run([*argv, "--format", fmt])
        assert err == "" and out.strip()
        outputs.append(([*argv, "--format", fmt], out))
    printed(golden, q.asked, outputs)


# ---------------------------------------------------------------- receptive fields


def brute_field(windows: list[tuple[int, int, int, int]]) -> int:
    """The receptive field of output unit 0: the input positions (padding included) it
    depends on, found by walking the windows back from {0}."""
    reach = {0}
    for k, s, p, d in reversed(windows):
        reach = {i * s - p + j * d for i in reach for j in range(k)}
    return max(reach) - min(reach) + 1


@dataclass(frozen=True)
class Field:
    asked: str
    net: str
    windows: Callable[[Point], list[tuple[int, int, int, int]]]
    grid: Mapping[str, range]


RF = [
    Field("receptive field of L convolutions k=K stride S",
          "input 1 x W\nrepeat L { conv 1 k=K s=S }",
          lambda p: [(p["K"], p["S"], 0, 1)] * p["L"],
          {"K": range(1, 6), "S": range(1, 4), "L": range(1, 5)}),
    Field("receptive field of L stride-1 3 x 3 convolutions",
          "input 1 x W\nrepeat L { conv 1 k=3 p=1 }", lambda p: [(3, 1, 1, 1)] * p["L"],
          {"L": range(1, 9)}),
    Field("receptive field of a dilated convolution then a strided one",
          "input 1 x W\nconv 1 k=K d=D\nconv 1 k=3 s=2",
          lambda p: [(p["K"], 1, 0, p["D"]), (3, 2, 0, 1)],
          {"K": range(1, 6), "D": range(1, 5)}),
    Field("receptive field of ResNet's stem", "input 1 x W\nconv 1 k=7 s=2 p=3\n"
          "maxpool k=3 s=2 p=1", lambda p: [(7, 2, 3, 1), (3, 2, 1, 1)], {}),
    Field("receptive field of L blocks of two 3 x 3 convolutions and a stride-2 pooling",
          "input 1 x W\nrepeat L { conv 1 k=3 p=1\nconv 1 k=3 p=1\nmaxpool k=2 }",
          lambda p: [(3, 1, 1, 1), (3, 1, 1, 1), (2, 2, 0, 1)] * p["L"], {"L": range(1, 5)}),
]


@pytest.mark.parametrize("q", RF, ids=[q.asked for q in RF])
def test_receptive_field_agrees_with_brute_force(q: Field, golden: Callable[[str, str], None]):
    net = symconv.parse(q.net)
    (field_,) = net.table()[-1].receptive_field
    names = sorted(q.grid)
    for combo in itertools.product(*(q.grid[n] for n in names)):
        point = dict(zip(names, combo, strict=True))
        got = field_.xreplace({symconv.symbol(k): sympy.Integer(v) for k, v in point.items()})
        assert got == brute_field(q.windows(point)), (q.asked, point)
    code, out, err = run(["rf", "-e", q.net, "--format", "json"])
    assert (code, err) == (0, "")
    assert json.loads(out)["rows"][-1]["r"] == json.loads(json.dumps(json_value(field_)))
    code, out, err = run(["rf", "-e", q.net])
    assert (code, err) == (0, "") and out.strip()
    printed(golden, q.asked, [(["rf", "-e", q.net], out)])


# ---------------------------------------------------------------- aligned input sizes


@dataclass(frozen=True)
class Aligned:
    asked: str
    net: str
    windows: list[tuple[int, int, int, int]]  # the path a size goes down, in order


ALIGNED = [
    Aligned("which sizes does a 2 x 2 pooling halve without losing a row?",
            "input 3 x H x H\nmaxpool k=2", [(2, 2, 0, 1)]),
    Aligned("which sizes do two stride-2 3 x 3 convolutions map without loss?",
            "input 3 x W x W\nconv 64 k=3 s=2 p=1\nconv 64 k=3 s=2 p=1",
            [(3, 2, 1, 1), (3, 2, 1, 1)]),
    Aligned("which sizes does the U-Net example take without losing pixels?", UNET,
            [(2, 2, 0, 1)] * 2),
    Aligned("which sizes does ResNet's stem map without loss?",
            "input 3 x W x W\nconv 64 k=7 s=2 p=3\nmaxpool k=3 s=2 p=1",
            [(7, 2, 3, 1), (3, 2, 1, 1)]),
]


def lossless(n: int, windows: list[tuple[int, int, int, int]]) -> bool:
    """Whether every window fits and reads every padded element up to its last one."""
    for k, s, p, d in windows:
        span = n + 2 * p - d * (k - 1) - 1
        if span < 0 or span % s:
            return False
        n = span // s + 1
    return True


@pytest.mark.parametrize("q", ALIGNED, ids=[q.asked for q in ALIGNED])
def test_aligned_sizes_agree_with_brute_force(q: Aligned, golden: Callable[[str, str], None]):
    code, out, err = run(["solve", "-e", q.net, "--aligned", "--range", "1..200",
                          "--format", "json"])
    assert (code, err) == (0, "")
    truth = [n for n in range(1, 201) if lossless(n, q.windows)]
    for alignment in json.loads(out):
        assert alignment["sizes"] == truth
    code, out, err = run(["solve", "-e", q.net, "--aligned"])
    assert (code, err) == (0, "") and out.strip()
    printed(golden, q.asked, [(["solve", "-e", q.net, "--aligned"], out)])


def test_the_table_is_large_enough():
    assert len(SOLVE) + len(RF) + len(ALIGNED) >= 40
    assert len({q.asked for q in SOLVE + RF + ALIGNED}) == len(SOLVE) + len(RF) + len(ALIGNED)


def test_the_oracle_forms_agree():
    """The hand-written forward rules used above against symconv's formulas."""
    for n in range(1, 40):
        for s in range(1, 6):
            assert ceil_div(n, s) == f.tf_same_out(n, s) == f.window_out(n, 1, s, 0, 1)
