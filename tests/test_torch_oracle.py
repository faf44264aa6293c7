"""PyTorch is the oracle: for thousands of random layers, symconv's output shape and parameter
count equal what torch computes, and PyTorch's rejections are rejected too. (Symbolic results
substituted against numeric ones: test_symbolic.py; compiled against traced: test_evaluate.py.)"""

from __future__ import annotations

import pytest
import torch
from oracle_cases import MAKERS, Case, cases

import symconv

CASES_PER_CHUNK = 250
CHUNKS = {"conv": 8, "convtranspose": 6, "pool": 8, "adaptive": 2}


def torch_answer(case: Case) -> tuple[tuple[int, ...], int] | None:
    """(output shape without the batch axis, parameters), or None where torch rejects the
    layer or returns an empty tensor (a transposed convolution may; symconv reports an empty
    output as an error naming the axis)."""
    try:
        module = case.module()
        with torch.no_grad():
            out = module(torch.zeros(1, *case.input_shape))
    except (RuntimeError, ValueError):
        return None
    if out.numel() == 0:
        return None
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters())


def symconv_answer(case: Case) -> tuple[tuple[int, ...], int] | None:
    try:
        network = symconv.parse(case.text)
        shape = network.output_shape()
        params = network.params()
    except symconv.SymconvError:
        return None
    return tuple(int(v) for v in shape), int(params)


@pytest.mark.parametrize(
    ("kind", "chunk"), [(k, c) for k, n in CHUNKS.items() for c in range(n)]
)
def test_layers_agree_with_torch(kind: str, chunk: int) -> None:
    disagreements = []
    accepted = 0
    for case in cases(kind, seed=1000 * chunk + len(kind), count=CASES_PER_CHUNK):
        expected, got = torch_answer(case), symconv_answer(case)
        accepted += expected is not None
        if expected != got:
            disagreements.append((case.text, expected, got))
    assert not disagreements, disagreements[:5]
    # The generator must exercise both sides: accepted layers and rejected ones.
    assert 0.3 * CASES_PER_CHUNK < accepted < CASES_PER_CHUNK or kind == "adaptive"


def test_generators_cover_every_torch_class() -> None:
    seen = {case.torch_class for kind in MAKERS for case in cases(kind, seed=7, count=300)}
    expected = {f"{name}{r}d" for r in (1, 2, 3) for name in (
        "Conv", "ConvTranspose", "MaxPool", "AvgPool", "AdaptiveMaxPool", "AdaptiveAvgPool")}
    assert seen == expected
