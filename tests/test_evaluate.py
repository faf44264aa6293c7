"""The compiled evaluator gives exactly what the trace gives: same numbers, same rejections,
same messages; generated code stays exact on integers of any size."""

from __future__ import annotations

import random

import pytest
from oracle_cases import MAKERS, cases

import symconv

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
        values = random_values(network, rng)
        try:
            expected = network.table(**values)
        except symconv.SymconvError as error:
            with pytest.raises(type(error)) as caught:
                evaluator(**values)
            assert str(caught.value) == str(error)
            rejected += 1
            continue
        got = evaluator(**values)
        fields = ("index", "kind", "output_shape", "params", "neurons", "connections", "macs")
        assert [[getattr(r, f) for f in fields] for r in expected] == [
            [getattr(r, f) for f in fields] for r in got]
        agreed += 1
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
