"""What symconv refuses rather than invent or wait on.

- Layers PyTorch does not have: a layer at a rank (number of spatial axes) for which
  torch.nn has no class is refused when the description is built, by name, with the rule.
  Oracle: torch.nn itself (the class exists, and runs on such an input).
- No hang: every loop whose length a user controls has a closed form or a limit checked
  before the work starts; each input below answers or refuses within seconds, under a
  watchdog, with the exact answer or refusal."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, TimeoutError
from typing import Any

import pytest
import torch
from torch import nn

import symconv
from symconv.solve.align import aligned_sizes
from symconv.solve.design import Bounds, design_search

RANKS = range(5)
# symconv's layer, the torch.nn class it stands for at a rank, and how to build that class.
LAYERS = {
    "conv 4 k=3 p=1": ("Conv{r}d", lambda c: c(4, 4, 3, padding=1)),
    "convT 4 k=3 p=1": ("ConvTranspose{r}d", lambda c: c(4, 4, 3, padding=1)),
    "maxpool k=2": ("MaxPool{r}d", lambda c: c(2)),
    "avgpool k=2": ("AvgPool{r}d", lambda c: c(2)),
    "adaptive_maxpool 2": ("AdaptiveMaxPool{r}d", lambda c: c(2)),
    "adaptive_avgpool 2": ("AdaptiveAvgPool{r}d", lambda c: c(2)),
    "bn": ("BatchNorm{b}d", lambda c: c(4)),
    "relu": ("ReLU", lambda c: c()),
    "dropout 0.5": ("Dropout", lambda c: c(0.5)),
    "linear 3": ("Linear", lambda c: c(8, 3)),
    "flatten": ("Flatten", lambda c: c()),
}
# The rule each refusal states.
RULES = {
    0: "needs spatial axes",
    4: "PyTorch's convolutions and pools have 1 to 3 spatial axes; this input has 4",
}


@pytest.mark.parametrize("rank", RANKS)
@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_layer_exists_at_a_rank_where_pytorch_has_it(layer: str, rank: int) -> None:
    pattern, make = LAYERS[layer]
    name = pattern.format(r=rank, b=max(rank, 1))
    shape = (4, *(8,) * rank)
    text = f"input {' x '.join(map(str, shape))}\n{layer}"
    if hasattr(nn, name):
        (record,) = symconv.parse(text).table()
        module = make(getattr(nn, name))
        features = shape[-1] if layer.startswith("linear") else None
        if features is not None:
            module = nn.Linear(features, 3)
        assert module(torch.zeros(2, *shape)).shape[1:] == tuple(record.output_shape)
        return
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(text)
    message = str(caught.value)
    assert message.startswith(f"line 2, column 1, {layer.split()[0]}: ")
    rule = RULES[rank]
    if layer == "bn":
        rule = f"PyTorch has BatchNorm1d to BatchNorm3d: this input has {rank} spatial axes"
    assert rule in message


# ---------------------------------------------------------------- no hang

def _table(text: str, **values: int) -> str:
    return str(symconv.parse(text).table(**values)[-1].output_shape)


def _connections(text: str) -> str:
    return str(symconv.parse(text).table()[-1].connections)


def _receptive(text: str) -> str:
    return str(symconv.parse(text).table()[-1].receptive_field)


def _evaluate(text: str, **values: int) -> str:
    return str(symconv.parse(text).evaluator()(**values)[-1].output_shape)


def _design(**options: object) -> str:
    return str(len(design_search(224, 112, **options)))  # type: ignore[arg-type]


def _aligned(text: str, low: int = 1, high: int = 0) -> str:
    (alignment,) = aligned_sizes(text)
    if high:
        return str(len(alignment.sizes(low, high)))
    return f"W = {alignment.residues} mod {alignment.modulus}, W >= {alignment.least}"


NESTED = "input 3 x 8\nrepeat 1000 { repeat 1000 { repeat 1000 { conv 3 k=1 } } }"
HANGS = [
    # adaptive pooling: windows in closed form, not one by one
    (_table, ("input 3 x 10**9\nadaptive_avgpool 10**9",), "(3, 1000000000)"),
    (_connections, ("input 3 x 10**9\nadaptive_maxpool 999999937",), "5999999808"),
    (_connections, ("input 3 x W\nadaptive_avgpool 10**9",),
     "3*W - 3*gcd(W, 1000000000) + 3000000000"),
    (_receptive, ("input 3 x 10**9\nadaptive_avgpool 999999937",), "(3,)"),
    # repeats: the limits multiply, checked before the first pass
    (_table, (NESTED,), "repeat 1000: unrolled, it would apply 1001001000 layers, more than "
     "the 10000 symconv unrolls; write a count as a symbol (repeat N) for the closed form"),
    (_evaluate, ("input 3 x W\nrepeat N { repeat 1000 { conv 3 k=1 } }", {"W": 5, "N": 1000}),
     "repeat 1000: unrolled, it would apply 1001000 layers, more than the 10000"),
    (_table, ("input 3 x 8\nrepeat 10**12 { relu }",), "repeat 1000000000000: counts above "
     "10000 are too many to unroll; write the count as a symbol (repeat N) for the closed form"),
    (_table, ("input 3 x W\nrepeat 1000 { conv 3 k=3 s=2 p=1 }",), "repeat 1000: unrolled on "
     "symbolic sizes, it would apply 1000 strided layers, more than the 32 symconv unrolls "
     "there; give the sizes numbers, or write the count as a symbol (repeat N) for the closed "
     "form"),
    (_receptive, ("input 3 x W\nrepeat N { conv 3 k=3 s=2 p=1 }",), "(2*2**N - 1,)"),
    (_receptive, ("input 3 x 8\nrepeat 5000 { conv 3 k=1 s=2 }",), "(1,)"),
    # shapes of two paths agreeing for some sizes: a long period is left as the equation
    (_table, ("input 3 x W\nconcat { avgpool k=1 s=3001 } { avgpool k=1 s=3001 ceil }",),
     "(6, ceiling(W/3001))"),
    (_table, ("input 3 x W\nresidual { conv 3 k=2 s=1000003 } shortcut { conv 3 k=1 "
              "s=1000003 }",), "(3, ceiling(W/1000003 - 1/1000003))"),
    # the design search
    (_design, (), "19"),
    (_design, ({"bounds": Bounds(kernel=(1, 10**9))},), "the ranges hold 72000000000 windows, "
     "more than the 1000000 the search tries; narrow the kernel, stride, padding or dilation "
     "range"),
    (_design, ({"axes": 10**9},), "1000000000 axes: PyTorch's convolutions have 1 to 3 spatial "
     "axes"),
    # aligned sizes
    (_aligned, ("input 3 x W\nconv 3 k=3 s=2 p=1",), "W = (1,) mod 2, W >= 1"),
    (_aligned, ("input 3 x W\nconv 3 k=3 s=2 p=1", 1, 10**5), "50000"),
    (_aligned, ("input 3 x W\nconv 3 k=3 s=2 p=1", 1, 10**12), "500000000000 aligned sizes "
     "from 1 to 1000000000000, more than the 100000 symconv lists; narrow the range"),
    (_aligned, ("input 3 x W\nrepeat 19 { conv 3 k=3 s=2 }",), "the strides along W multiply "
     "to 524288, too many sizes to examine through 19 layers"),
    (_aligned, ("input 3 x W\nconv 3 k=1 s=999983",), "the strides along W multiply to "
     "999983, too many sizes to examine through 1 layer"),
]


def _within(seconds: float, run: Callable[[], str]) -> str:
    """run()'s answer, or its SymconvError's message; fails past `seconds` (a thread, so
    that a hang fails the test instead of stopping the suite)."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(run)
        try:
            return future.result(timeout=seconds)
        except symconv.SymconvError as error:
            return str(error)
        except TimeoutError:
            pytest.fail(f"no answer within {seconds} s")
            raise


@pytest.mark.parametrize(("ask", "args", "expected"), HANGS)
def test_answers_or_refuses_at_once(ask: Callable[..., str], args: tuple[Any, ...],
                                    expected: str) -> None:
    kwargs = args[-1] if args and isinstance(args[-1], dict) else {}
    positional = args[:-1] if kwargs else args
    answer = _within(5, lambda: ask(*positional, **kwargs))
    assert expected in answer, answer


@pytest.mark.parametrize("text", ["input 3 x W\nconv 3 k=3 s=2 p=1\nmaxpool k=3 s=3",
                                  "input 3 x W\nrepeat 3 { conv 3 k=2 s=2 }\nconv 3 k=3 s=5"])
def test_aligned_sizes_listed_by_residue_equal_the_brute_force(text: str) -> None:
    (alignment,) = aligned_sizes(text)
    assert alignment.sizes(3, 700) == [n for n in range(3, 701) if n in alignment]


# ---------------------------------------------------------------- no hang: the solver's own walk

def _solve(text: str, unknown: str, target: int, **values: int) -> str:
    return str(symconv.solve(text, unknown, target, **values)).splitlines()[0]


# The solver computes the output from the formulas alone, apart from the trace: its repeats
# obey the trace's limits (the count it loops over is a user's, or one its search sets).
SOLVER_HANGS = [
    (("input 3 x W\nrepeat 10**9 { convT 3 k=2 }", "W", 5), "repeat 1000000000: counts above "
     "10000 are too many to unroll; write the count as a symbol (repeat N) for the closed form"),
    (("input 3 x W\nrepeat N { convT 3 k=2 }", "W", 100, {"N": 10**9}),
     "repeat 1000000000: counts above 10000 are too many to unroll"),
    (("input 3 x W\nrepeat 5000 { conv 3 k=1 s=2 }", "W", 1), "repeat 5000: unrolled on "
     "symbolic sizes, it would apply 5000 strided layers, more than the 32 symconv unrolls "
     "there"),
    (("input 3 x W\nrepeat 40 { conv 3 k=3 s=2 p=1 }", "W", 1), "repeat 40: unrolled on "
     "symbolic sizes, it would apply 40 strided layers, more than the 32"),
    (("input 3 x W\nrepeat 100 { repeat 200 { convT 3 k=2 } }", "W", 5),
     "repeat 100: unrolled, it would apply 20100 layers, more than the 10000"),
    (("input 3 x 8\nrepeat 20000 { convT 3 k=K }", "K", 5),
     "repeat 20000: counts above 10000 are too many to unroll"),
    # a count the search sets: the passes stop at the output's fixed point (from where on
    # every count gives it: each pass only shrinks the size)
    (("input 3 x W\nrepeat N { conv 3 k=1 s=2 }", "N", 1, {"W": 100}), "N >= 7"),
]


@pytest.mark.parametrize(("args", "expected"), SOLVER_HANGS)
def test_the_solver_answers_or_refuses_at_once(args: tuple[Any, ...], expected: str) -> None:
    kwargs = args[-1] if isinstance(args[-1], dict) else {}
    positional = args[:-1] if kwargs else args
    answer = _within(5, lambda: _solve(*positional, **kwargs))
    assert expected in answer, answer


def _check(*argv: str) -> str:
    """`symconv check --torch` in process: its output, or its error line."""
    import contextlib
    import io

    from symconv.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(["check", "--torch", *argv])
    return (out.getvalue() + err.getvalue()).strip().splitlines()[-1]


@pytest.mark.parametrize(("argv", "expected"), [
    # no values fit: the draws stop at MAX_DRAWS whatever --sizes asks
    (("-e", "input 3 x W\nconv 3 k=K\nconv 3 k=1000", "--sizes", "100"),
     "symconv: error: found no values for K, W that give a valid network; give them with "
     "--set NAME=VALUE"),
    # few values fit: as many as the draws found, then a refusal that says so
    (("-e", "input 3 x W\nconv 3 k=500", "--sizes", "100"),
     "in 200 random draws; ask for fewer with --sizes, or give values with --set NAME=VALUE"),
    (("-e", "input 3 x W\nconv 3 k=3", "--sizes", "2"), "the layer agrees"),
])
def test_check_torch_draws_a_bounded_number_of_values(argv: tuple[str, ...],
                                                      expected: str) -> None:
    assert expected in _within(5, lambda: _check(*argv))


# ---------------------------------------------------------------- no hang: symbolic terms

def _names(count: int, start: int = 0) -> str:
    return "+".join(f"a{i}" for i in range(start, start + count))


# SymPy's sums cost more with every term, and every term is carried through every layer:
# the description's distinct names and its layers times distinct terms are limited where
# they are read, with the column of the name or argument that passes the limit.
TERMS = [
    # 1,000 distinct symbols over 20 statements: a199, the 201st name (W is one), passes the
    # limit, the 50th name of line 5 (13 + 49 * 5 + 1)
    ("input 3 x W\n" + "\n".join(f"conv 3 k=1 p={_names(50, 50 * i)}" for i in range(20)),
     "line 5, column 259: more than 200 different names: symconv takes at most 200 symbols "
     "in a description (the formulas carry each through every layer)"),
    # few names, many products of them, many statements
    ("input 3 x W\n" + "\n".join(
        "conv 3 k=1 p=" + "+".join(f"b{i}*b{j}" for j in range(i + 1, i + 21))
        for i in range(40)),
     "too many symbolic terms for this many layers: "),
    # the same few terms in many layers: as many layers as the file holds
    ("input 3 x W\n" + "conv 3 k=1 p=" + _names(40) + "\n" + "conv 3 k=1\n" * 200,
     "41 different terms (a symbol, or a product or rounding of symbols) over 122 layers so "
     "far, and symconv takes at most 5000 terms times layers"),
    # within the limits: answered
    ("input 3 x W\n" + "\n".join(f"conv 3 k=1 p={_names(40, 40 * (i % 4))}"
                                 for i in range(30)), "(3, W"),
    # ceil mode with a symbolic stride splits every case again at each pool (1, 4, 12, 32
    # cases): the fourth pool is refused before SymPy's time explodes
    ("input 3 x W\nrepeat 5 { maxpool k=3 s=S ceil }",
     "line 2, column 12, layer 1 (maxpool1d): the closed form of the size entering this layer "
     "splits into more than 10 cases"),
    ("input 3 x W\nmaxpool k=3 s=S ceil\nmaxpool k=3 s=S ceil\nconv 4 k=3\n"
     "maxpool k=K s=S p=P ceil\nrelu", "line 6, column 1, layer 5 (relu): the closed form"),
    ("input 3 x W\nrepeat 3 { maxpool k=3 s=S ceil }", "(3, Piecewise("),
]


@pytest.mark.parametrize(("text", "expected"), TERMS)
def test_many_symbolic_terms_are_refused_where_they_are_read(text: str, expected: str) -> None:
    # a watchdog against a hang (minutes), not a speed test: the table presents every
    # cell of 30 layers of 40-symbol sums, 3.5 s on a quiet machine
    assert expected in _within(15, lambda: _table(text))
