"""The compiled evaluator gives exactly what the trace gives: same numbers, same rejections,
same messages; generated code stays exact on integers of any size."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle_cases import MAKERS, cases

import symconv
from symconv.numeric.evaluate import Evaluator

NETWORKS = [
    "input 3 x H x W\nconv 64 k=7 s=2 p=3\nbn\nrelu\nmaxpool k=3 s=2 p=1\n"
    "conv 128 k=3 s=2 p=1 g=4\navgpool k=2 ceil\nadaptive_avgpool (1,1)\nflatten\nlinear 10",
    "input C x L\nconv K k=F s=S p=P d=D\nconvT C k=F s=S p=P op=O\nflatten\ndense 3",
    "input 2 x D x H x W\nconv 4 k=(1,3,3) p=(0,1,1)\nmaxpool k=2 ceil\nconv 8 k=3 p=same\n"
    "dropout 0.5",
    "input 3 x H x W\nconv 8 k=3 p=1\nresidual {\n  conv 8 k=3 p=1\n  relu\n}\n"
    "concat { conv 4 k=1 } { maxpool k=3 s=1 p=1 }",
]


def random_values(network: symconv.Network, rng: random.Random) -> dict[str, int]:
    return {name: rng.randint(0, 40) if name != "D" else rng.randint(1, 3)
            for name in network.symbols}


@pytest.mark.parametrize("text", NETWORKS)
def test_compiled_equals_traced(text: str) -> None:
    network = symconv.parse(text)
    evaluator = network.evaluator()
    rng = random.Random(len(text))
    agreed = rejected = 0
    for _ in range(150):
        if compare(network, random_values(network, rng), evaluator):
            agreed += 1
        else:
            rejected += 1
    assert agreed > 10 and rejected > 0


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_compiled_single_layers_equal_traced(kind: str) -> None:
    compared = 0
    for case in cases(kind, seed=99, count=120):
        try:
            expected = symconv.parse(case.text).table()
        except symconv.SymconvError:
            continue  # rejected layers are covered by the networks above
        got = symconv.parse(case.text).evaluator()()
        assert got[-1].output_shape == expected[-1].output_shape
        assert got[-1].params == expected[-1].params
        compared += 1
    assert compared > 40


def test_exact_for_huge_sizes() -> None:
    network = symconv.parse("input 3 x N\nconv 8 k=3 s=2 p=1\nmaxpool k=3 s=2 ceil\nlinear 5")
    n = 10**18 + 12345
    assert network.evaluator()(N=n)[-1].output_shape == tuple(network.output_shape(N=n))


def test_missing_or_unknown_values_are_named() -> None:
    evaluator = symconv.parse("input 3 x H x W\nconv 8 k=3").evaluator()
    with pytest.raises(symconv.SymconvError, match="missing: W"):
        evaluator(H=5)
    with pytest.raises(symconv.UnknownNameError, match="did you mean 'W'"):
        evaluator(H=5, W=5, w=5)


# ---------------------------------------------------------------- every network the trace takes

# Symbols a random network may use, with the values a call draws for each (0 and oversized
# values included, so that the rejections are compared too).
VALUE_RANGES = {"H": (1, 40), "W": (1, 40), "C": (1, 8), "K": (0, 4), "S": (0, 3),
                "P": (0, 2), "D": (1, 3), "O": (1, 5), "N": (0, 3), "M": (0, 2), "Q": (0, 2)}


def _pick(draw: st.DrawFn, *options: object) -> str:
    return str(draw(st.sampled_from(options)))


@st.composite
def _layer(draw: st.DrawFn, rank: int, depth: int) -> str:
    kinds = ["conv", "convT", "maxpool", "avgpool", "adaptive", "plain"]
    if depth < 2:
        kinds += ["repeat", "residual", "concat"]
    kind = draw(st.sampled_from(kinds))
    k, s, p = _pick(draw, 1, 2, 3, "K"), _pick(draw, 1, 2, "S"), _pick(draw, 0, 1, "P")
    match kind:
        case "conv":
            return (f"conv {_pick(draw, 4, 8, 'C')} k={k} s={s} p={p} d={_pick(draw, 1, 2, 'D')}"
                    f" g={_pick(draw, 1, 2)}")
        case "convT":
            return (f"convT {_pick(draw, 4, 8)} k={k} s={s} p={p} op={_pick(draw, 0, 1, 'Q')} "
                    f"d={_pick(draw, 1, 2, 'D')} g={_pick(draw, 1, 2)}")
        case "maxpool":
            return f"maxpool k={k} s={s} p={p} d={_pick(draw, 1, 2, 'D')}{_pick(draw, '', ' ceil')}"
        case "avgpool":
            return f"avgpool k={k} s={s} p={p}{_pick(draw, '', ' ceil')}"
        case "adaptive":
            size = _pick(draw, 1, 3, 7, "O", *(["(None, O)", "(2, None)"] if rank == 2 else []))
            return f"adaptive_{_pick(draw, 'max', 'avg')}pool {size}"
        case "plain":
            return _pick(draw, "bn", "relu", "dropout 0.25", "identity")
        case "repeat":
            body = _body(draw, rank, depth)
            return f"repeat {_pick(draw, 1, 2, 3, 'N', 'M')} {{\n{body}\n}}"
        case "residual":
            shortcut = (f" shortcut {{\n{_body(draw, rank, depth)}\n}}" if draw(st.booleans())
                        else "")
            return f"residual {{\n{_body(draw, rank, depth)}\n}}{shortcut}"
        case _:
            return "concat " + " ".join(f"{{\n{_body(draw, rank, depth)}\n}}" for _ in range(2))


def _body(draw: st.DrawFn, rank: int, depth: int) -> str:
    return "\n".join(draw(st.lists(_layer(rank, depth + 1), min_size=1, max_size=2)))


@st.composite
def random_networks(draw: st.DrawFn) -> str:
    rank = draw(st.sampled_from([1, 2]))
    spatial = " x ".join(("W",) if rank == 1 else ("H", "W"))
    layers = draw(st.lists(_layer(rank, 0), min_size=1, max_size=4))
    tail = ["flatten", "linear 5"] if draw(st.booleans()) else []
    return "\n".join([f"input {_pick(draw, 4, 'C')} x {spatial}", *layers, *tail])


def compare(network: symconv.Network, values: dict[str, int],
            evaluator: Evaluator | None = None) -> bool:
    """The evaluator gives the trace's numbers, or its error with the same message; whether
    the trace accepted the values."""
    evaluator = evaluator or network.evaluator()
    try:
        expected = network.table(**values)
    except symconv.SymconvError as error:
        with pytest.raises(type(error)) as caught:
            evaluator(**values)
        assert str(caught.value) == str(error)
        return False
    got = evaluator(**values)
    fields = ("index", "kind", "output_shape", "params", "neurons", "connections", "macs")
    assert [[getattr(r, f) for f in fields] for r in expected] == [
        [getattr(r, f) for f in fields] for r in got]
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(), st.randoms(use_true_random=False))
def test_evaluator_equals_the_trace_on_random_networks(text: str, rng: random.Random) -> None:
    """Every layer kind and block (symbolic and nested repeats, residual, concat, adaptive
    and ceil-mode pools, convT with output_padding, dilation, groups): the compiled
    evaluator's numbers are the trace's, and so are its refusals."""
    network = symconv.parse(text)
    evaluator = network.evaluator()  # compiles every network the trace takes
    assert "builtins" not in evaluator.source
    for _ in range(4):
        compare(network, {n: rng.randint(*VALUE_RANGES[n]) for n in network.symbols}, evaluator)


@pytest.mark.parametrize(
    ("text", "values", "accepted"),
    [
        # docs/language.md: the body applied N times, N given at the call
        ("input 16 x W x W\nrepeat N {\n    conv 16 k=3 s=2 p=1\n}", {"W": 100, "N": 3}, True),
        ("input 16 x W x W\nrepeat N { repeat M { conv 16 k=3 p=1 } }", {"W": 9, "N": 3, "M": 2},
         True),
        ("input 3 x W\nresidual { repeat N { conv 3 k=3 p=1 } }", {"W": 20, "N": 4}, True),
        ("input 512 x 13 x 11\nadaptive_avgpool (O, None)", {"O": 5}, True),
        ("input 512 x H x W\nadaptive_maxpool O", {"H": 13, "W": 11, "O": 7}, True),
        ("input 4 x 10**9\nadaptive_avgpool 999999937", {}, True),
        # shapes that agree only for some sizes: refused at the call, as the trace refuses
        ("input 3 x W\nresidual { maxpool k=2 } shortcut { maxpool k=2 ceil }", {"W": 5}, False),
        ("input 3 x W\nresidual { maxpool k=2 } shortcut { maxpool k=2 ceil }", {"W": 6}, True),
        ("input 3 x W\nconcat { avgpool k=2 } { avgpool k=2 ceil }", {"W": 7}, False),
        # past the unroll limit, nested or not: the trace's refusal
        ("input 3 x W\nrepeat N { conv 3 k=1 }", {"W": 5, "N": 20_000}, False),
        ("input 3 x W\nrepeat N { repeat 100 { conv 3 k=1 } }", {"W": 5, "N": 101}, False),
        ("input 3 x W\nrepeat N { repeat 100 { conv 3 k=1 } }", {"W": 5, "N": 9}, True),
    ],
)
def test_evaluator_handles(text: str, values: dict[str, int], accepted: bool) -> None:
    assert compare(symconv.parse(text), values) is accepted
