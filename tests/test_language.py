"""Every form of the layer language parses exactly as written, into the expected layer."""

from __future__ import annotations

from pathlib import Path

import pytest
import sympy

import symconv
from symconv.language.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Conv,
    ConvTranspose,
    Dropout,
    Flatten,
    Linear,
    Pool,
    PoolOp,
    Window,
)

F, K, P, S = (symconv.symbol(n) for n in "FKPS")


def only_layer(line: str, input_line: str = "input 3 x 32 x 32") -> object:
    (layer,) = symconv.parse(f"{input_line}\n{line}").layers
    return layer


def window(k: object, s: object = 1, p: object = 0, d: object = 1, same: bool = False,
           rank: int = 2) -> Window:
    def axes(v: object) -> tuple[object, ...]:
        return v if isinstance(v, tuple) else (v,) * rank

    return Window(axes(k), axes(s), axes(p), axes(d), same)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("conv 10 k=5 s=1 p=0", Conv(10, window(5))),
        ("conv K k=F s=S p=P", Conv(K, window(F, S, P))),
        ("conv 64 k=(7,5) s=2 p=(3,2) d=2 g=4 bias=false",
         Conv(64, window((7, 5), 2, (3, 2), 2), groups=4, bias=False)),
        ("conv 64 k=3 p=same", Conv(64, window(3, same=True))),
        ("conv 64 k=3 p=valid", Conv(64, window(3))),
        ("convT 32 k=3 s=2 p=1 op=1", ConvTranspose(32, window(3, 2, 1), (1, 1))),
        ("convT 32 k=3 s=2 d=2", ConvTranspose(32, window(3, 2, 0, 2), (0, 0))),
        ("maxpool k=3 s=2", Pool(PoolOp.MAX, window(3, 2))),
        ("maxpool k=2", Pool(PoolOp.MAX, window(2, 2))),  # stride defaults to the kernel
        ("avgpool k=2 s=2 p=1 ceil", Pool(PoolOp.AVG, window(2, 2, 1), ceil_mode=True)),
        ("adaptive_avgpool (7,7)", AdaptivePool(PoolOp.AVG, (7, 7))),
        ("adaptive_maxpool 1", AdaptivePool(PoolOp.MAX, (1, 1))),
        ("flatten", Flatten()),
        ("linear 4096", Linear(4096)),
        ("dense 10", Linear(10)),
        ("fc 10 bias=false", Linear(10, bias=False)),
        ("bn", BatchNorm(2)),
        ("batchnorm", BatchNorm(2)),
        ("relu", Activation("relu")),
        ("gelu", Activation("gelu")),
        ("dropout 0.5", Dropout(sympy.Rational(1, 2))),
        # PyTorch layer text, as pasted from a model definition
        ("nn.Conv2d(3, 96, kernel_size=11, stride=4, padding=1)",
         Conv(96, window(11, 4, 1), in_channels=3)),
        ("nn.Conv2d(3, 8, 3, 1, 'same', bias=False)",
         Conv(8, window(3, same=True), bias=False, in_channels=3)),
        ("torch.nn.MaxPool2d(kernel_size=3, stride=2)", Pool(PoolOp.MAX, window(3, 2))),
        ("nn.AvgPool2d(2, ceil_mode=True)", Pool(PoolOp.AVG, window(2, 2), ceil_mode=True)),
        ("nn.ConvTranspose2d(3, 16, 4, stride=2, padding=1, output_padding=1)",
         ConvTranspose(16, window(4, 2, 1), (1, 1), in_channels=3)),
        ("nn.AdaptiveAvgPool2d((6, 6))", AdaptivePool(PoolOp.AVG, (6, 6))),
        ("nn.AdaptiveAvgPool2d((None, 6))", AdaptivePool(PoolOp.AVG, (None, 6))),
        ("nn.BatchNorm2d(3, eps=1e-5, momentum=0.1)", BatchNorm(2, num_features=3)),
        ("nn.ReLU(inplace=True)", Activation("relu")),
        ("nn.LeakyReLU(0.2, inplace=True)", Activation("leakyrelu")),
        ("nn.Dropout(p=0.5)", Dropout(sympy.Rational(1, 2))),
        ("nn.Dropout2d(0.25)", Dropout(sympy.Rational(1, 4), "dropout2d")),
        ("nn.Flatten()", Flatten()),
        ("Conv2d(3, 4, 3)", Conv(4, window(3), in_channels=3)),
    ],
)
def test_layer_lines(line: str, expected: object) -> None:
    assert only_layer(line) == expected


@pytest.mark.parametrize(
    ("input_line", "shape"),
    [
        ("input 3 x 32 x 32", (3, 32, 32)),
        ("input 3x32x32", (3, 32, 32)),
        ("input 2 x 100", (2, 100)),
        ("input 3 x 8 x 32 x 32", (3, 8, 32, 32)),
        ("input C x H x W", tuple(symconv.symbol(n) for n in "CHW")),
        ("input 3 x 2*H x W + 1", (3, 2 * symconv.symbol("H"), symconv.symbol("W") + 1)),
        ("input 784", (784,)),
        ("input (3, 32, 32)", (3, 32, 32)),  # as PyTorch writes a shape
        ("input (C, H, W)", tuple(symconv.symbol(n) for n in "CHW")),
    ],
)
def test_input_lines(input_line: str, shape: tuple[object, ...]) -> None:
    assert symconv.parse(f"{input_line}\nrelu").input_shape == shape


@pytest.mark.parametrize(
    ("input_line", "line", "output"),
    [
        ("input 2 x 100", "conv 4 k=5 s=5", (4, 20)),  # 1-D from the input's rank
        ("input 2 x 8 x 16 x 16", "conv 4 k=3 p=1 s=2", (4, 4, 8, 8)),  # 3-D
        ("input 2 x 8 x 16 x 16", "conv 4 k=(1,3,3) p=(0,1,1)", (4, 8, 16, 16)),
        ("input 784", "linear 10", (10,)),
    ],
)
def test_dimensionality_comes_from_the_input(input_line: str, line: str,
                                             output: tuple[int, ...]) -> None:
    assert symconv.parse(f"{input_line}\n{line}").output_shape() == output


def test_comments_blank_lines_and_a_whole_sequential() -> None:
    text = """
    # a comment line

    input 1 x 28 x 28   # trailing comment
    model = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),   # C1
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Sequential(nn.Linear(16 * 5 * 5, 120), nn.Sigmoid()),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10),
    )
    """
    network = symconv.parse(text)
    assert len(network.layers) == 12
    assert network.output_shape() == (10,)
    assert network.params() == 61706  # LeNet-5 as in d2l


def test_symconv_words_and_pytorch_text_mix() -> None:
    text = "input 3 x 32 x 32\nconv 8 k=3 p=1\nnn.ReLU(),\nmaxpool k=2\nnn.Flatten()\nfc 10"
    assert symconv.parse(text).output_shape() == (10,)


def test_input_option_replaces_the_input_line() -> None:
    network = symconv.parse("input 3 x 32 x 32\nconv 8 k=3", input_shape="3x64x64")
    assert network.output_shape() == (8, 62, 62)


@pytest.mark.parametrize(
    ("values", "shape"),
    [
        ({"W": 224, "H": 224}, (64, 112, 112)),
        ({"W": 225, "H": 10**18}, (64, 5 * 10**17, 113)),  # sizes up to 10^18 stay exact
    ],
)
def test_values_substitute_by_name_and_stay_exact(values: dict[str, int],
                                                  shape: tuple[int, ...]) -> None:
    network = symconv.parse("input 3 x H x W\nconv 64 k=7 s=2 p=3")
    result = network.output_shape(**values)
    assert result == shape
    assert all(type(v) is int for v in result)  # exact: Python ints for a numeric call


def test_huge_sizes_are_exact_through_a_network() -> None:
    n = 10**18 + 7
    network = symconv.parse("input 3 x N\nconv 8 k=3 s=2 p=1\nmaxpool k=3 s=2 ceil\nconv 4 k=1")
    expected = n
    expected = (expected + 2 - 2 - 1) // 2 + 1
    expected = -((-(expected - 3)) // 2) + 1
    assert network.output_shape(N=n) == (4, expected)
    assert network.table(N=n)[-1].neurons == 4 * expected


def test_results_are_sympy_objects() -> None:
    records = symconv.parse("input C x H x W\nconv K k=3").table(C=3)
    for record in records:
        for value in (record.params, record.neurons, record.connections, record.macs,
                      *record.output_shape):
            assert isinstance(value, sympy.Basic)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ceiling(W/2)", sympy.ceiling(symconv.symbol("W") / 2)),
        ("ceil(7/2)", 4),
        ("floor(7/2) + 1", 4),
        ("max(3, K//2)", sympy.Max(3, sympy.floor(symconv.symbol("K") / 2))),
        ("min(2, 5)", 2),
    ],
)
def test_expressions_may_round_and_compare(text: str, value: object) -> None:
    from symconv.language.parse import parse_expression

    assert parse_expression(text) == value


def test_functions_and_layers_share_the_call_syntax() -> None:
    network = symconv.parse("input 3x8x8\nnn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())\n"
                            "conv floor(9/2) k=max(1, 3)")
    assert network.output_shape() == (4, 4, 4)


# ---------------------------------------------------------------- pasted code, imports and all

@pytest.mark.parametrize("text", [
    "from torch import nn", "import torch", "import torch.nn as nn",
    "from torch import nn as nn_1", "import torch\nfrom torch import nn",
])
def test_pytorchs_imports_above_pasted_code_are_read_and_left_aside(text: str) -> None:
    assert symconv.parse(f"input 3 x 8 x 8\n{text}\nconv 4 k=3") == \
        symconv.parse("input 3 x 8 x 8\nconv 4 k=3")


@pytest.mark.parametrize(("line", "message"), [
    ("import os", "line 2, column 1: only PyTorch's own imports are read (torch and torch.nn, "
                  "as to_torch_code writes them), not 'os'"),
    ("from os import path", "not 'os.path'"),
    ("from torch import optim", "not 'torch.optim'"),
    ("import", "line 2, column 7: unexpected end of line; expected a module such as torch.nn"),
    ("from torch import", "expected a name"),
])
def test_any_other_import_is_refused_never_run(line: str, message: str) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(f"input 3 x 8 x 8\n{line}\nconv 4 k=3")
    assert message in str(caught.value)


def _leaves(network: symconv.Network) -> list[tuple[object, ...]]:
    from symconv.render.table import flat_rows

    return [(r.kind, r.output_shape, r.params) for _, r in flat_rows(network.table())
            if not r.children]


@pytest.mark.parametrize("name", ["alexnet", "vgg16", "lenet5", "audio1d", "video3d"])
def test_the_code_to_torch_code_writes_reads_back_as_pasted(name: str) -> None:
    """The whole code, its import line included, pasted after an input line: the same
    layers (a repeat written out as its passes)."""
    network = symconv.parse((Path(__file__).parent.parent / "examples" / f"{name}.net")
                            .read_text())
    code = network.to_torch_code()
    assert code.startswith("# Written by symconv") and "from torch import nn" in code
    shape = " x ".join(map(str, network.input_shape))
    assert _leaves(symconv.parse(f"input {shape}\n{code}")) == _leaves(network)
