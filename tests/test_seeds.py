"""The worked examples of the lecture notes in shared/seeds, computed by the engine and, where
a network is involved, checked against PyTorch too."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy
import torch
from torch import nn

import symconv

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize(
    ("text", "shape", "params"),
    [
        # seed 000 and 001: 32x32x3 input, ten 5x5 filters, stride 1, no padding -> 760
        ("input 3 x 32 x 32\nconv 10 k=5 s=1 p=0", (10, 28, 28), 760),
        # seed 001: the same filters with pad 2 keep 32 x 32 ("Whoa, same size!")
        ("input 3 x 32 x 32\nconv 10 k=5 s=1 p=2", (10, 32, 32), 760),
        # seed 001: one 3x5x5 filter gives 1x28x28; six give 6x28x28
        ("input 3 x 32 x 32\nconv 1 k=5", (1, 28, 28), 76),
        ("input 3 x 32 x 32\nconv 6 k=5", (6, 28, 28), 456),
        # seed 002: (3,6,6) with 64 3x3x3 filters, stride 2: (6-3)/2+1 = 2.5 floors to 2
        ("input 3 x 6 x 6\nconv 64 k=3 s=2", (64, 2, 2), 64 * 28),
        # seed 003: 224x224x3, 32 3x3 filters with bias. The note prints 3*(3*3+1)*32 = 960;
        # the count is (3*3*3 + 1)*32 = 896 (bias is one per filter, not one per channel).
        ("input 3 x 224 x 224\nconv 32 k=3", (32, 222, 222), 896),
        # seed 003: valid 3x3 conv on 5x5 -> 3x3; full conv of 2x2 with 3x3 (p=2) -> 4x4
        ("input 1 x 5 x 5\nconv 1 k=3", (1, 3, 3), 10),
        ("input 1 x 2 x 2\nconv 1 k=3 p=2", (1, 4, 4), 10),
    ],
)
def test_seed_examples(text: str, shape: tuple[int, ...], params: int) -> None:
    network = symconv.parse(text)
    assert network.output_shape() == shape
    assert network.params() == params


def test_seed_000_counting_checklist() -> None:
    """neurons = out_w * out_h * K, parameters = (F*F*C + 1)*K,
    connections = neurons * (F*F*C + 1), as symbols."""
    network = symconv.parse("input C x H x W\nconv K k=F s=S")
    (record,) = network.table()
    C, H, W, K, F, S = (symconv.symbol(n) for n in "CHWKFS")
    out_w = sympy.floor((W - F) / S) + 1
    out_h = sympy.floor((H - F) / S) + 1
    assert sympy.simplify(record.neurons - out_w * out_h * K) == 0
    assert sympy.expand(record.params - (F * F * C + 1) * K) == 0
    assert sympy.simplify(record.connections - record.neurons * (F * F * C + 1)) == 0


def test_seed_000_dense_layer() -> None:
    """dense_parameters = (flattened_inputs + 1) * units = dense_connections."""
    (flat, dense) = symconv.parse("input C x H x W\nflatten\nlinear U").table()
    C, H, W, U = (symconv.symbol(n) for n in "CHWU")
    assert flat.output_shape == (C * H * W,)
    assert sympy.expand(dense.params - (C * H * W + 1) * U) == 0
    assert dense.connections == dense.params


ALEXNET_SHAPES = [
    ("conv2d", (96, 54, 54)), ("relu", (96, 54, 54)), ("maxpool2d", (96, 26, 26)),
    ("conv2d", (256, 26, 26)), ("relu", (256, 26, 26)), ("maxpool2d", (256, 12, 12)),
    ("conv2d", (384, 12, 12)), ("relu", (384, 12, 12)), ("conv2d", (384, 12, 12)),
    ("relu", (384, 12, 12)), ("conv2d", (256, 12, 12)), ("relu", (256, 12, 12)),
    ("maxpool2d", (256, 5, 5)), ("flatten", (6400,)), ("linear", (4096,)), ("relu", (4096,)),
    ("dropout", (4096,)), ("linear", (4096,)), ("relu", (4096,)), ("dropout", (4096,)),
    ("linear", (10,)),
]


def alexnet_torch() -> nn.Sequential:
    """seed 004's network, as d2l defines it."""
    return nn.Sequential(
        nn.Conv2d(1, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten(),
        nn.Linear(6400, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 10),
    )


def test_alexnet_shapes_as_printed_in_seed_004() -> None:
    records = symconv.parse((EXAMPLES / "alexnet.net").read_text()).table()
    assert [(r.kind, r.output_shape) for r in records] == ALEXNET_SHAPES


def test_alexnet_agrees_with_torch_layer_by_layer() -> None:
    records = symconv.parse((EXAMPLES / "alexnet.net").read_text()).table()
    model = alexnet_torch()
    x = torch.empty(1, 1, 224, 224, device="meta")
    for record, module in zip(records, model.to("meta"), strict=True):
        x = module(x)
        assert record.kind == type(module).__name__.lower()
        assert record.output_shape == tuple(x.shape[1:])
        assert record.params == sum(p.numel() for p in module.parameters())
