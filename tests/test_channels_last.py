"""ConvNeXt's layers: layernorm2d, layerscale and the channels_last section.

PyTorch is the oracle: output shapes from a forward pass on CPU (small inputs) and
parameters as sum(p.numel()), for blocks written in the language and for the same modules
read by from_torch; receptive fields are what autograd reaches; the compiled path equals the
trace; the code to_torch_code writes runs and reads back; every refusal names the line or
module and the rule.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import torch
from oracle_cases import forward_facts, network_facts
from test_fast_path import check_agrees
from torch import nn
from torchvision_zoo import import_torchvision

import symconv
from symconv.cli import main
from symconv.interop.torch_code import to_torch_module
from symconv.language.layers import ChannelsLast, Linear

TV = import_torchvision()
LayerNorm2d = TV.models.convnext.LayerNorm2d
CNBlock = TV.models.convnext.CNBlock


class Permute(nn.Module):
    def __init__(self, *dims: int):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


class Gamma(nn.Module):
    """A layer scale as a model of one's own writes it: a parameter times the input."""

    def __init__(self, shape: tuple[int, ...], buffer: bool = False):
        super().__init__()
        if buffer:
            self.register_buffer("gamma", torch.rand(shape))
        else:
            self.gamma = nn.Parameter(torch.rand(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * x


CN_BODY = "    channels_last {\n        layernorm 16\n        linear 64\n        gelu\n" \
          "        linear 16\n    }\n"
CN_BLOCK = f"residual {{\n    conv 16 k=7 p=3 g=16\n{CN_BODY}    layerscale\n    identity\n}}"

# (description, the same computation as PyTorch modules)
CASES: dict[str, tuple[str, Callable[[], nn.Module]]] = {
    "channels last 2-D": (
        "input 8 x 5 x 7\nchannels_last {\n layernorm 8\n linear 32\n gelu\n linear 16\n}",
        lambda: nn.Sequential(Permute(0, 2, 3, 1), nn.LayerNorm(8), nn.Linear(8, 32),
                              nn.GELU(), nn.Linear(32, 16), Permute(0, 3, 1, 2))),
    "channels last 1-D": (
        "input 6 x 9\nchannels_last {\n linear 3 bias=false\n relu\n dropout 0.1\n}",
        lambda: nn.Sequential(Permute(0, 2, 1), nn.Linear(6, 3, bias=False), nn.ReLU(),
                              nn.Dropout(0.1), Permute(0, 2, 1))),
    "channels last 3-D": (
        "input 4 x 3 x 5 x 2\nchannels_last {\n layernorm 4 affine=false\n linear 2\n}",
        lambda: nn.Sequential(Permute(0, 2, 3, 4, 1), nn.LayerNorm(4, elementwise_affine=False),
                              nn.Linear(4, 2), Permute(0, 4, 1, 2, 3))),
    "layernorm2d": ("input 8 x 5 x 5\nlayernorm2d", lambda: LayerNorm2d(8)),
    "layernorm2d without bias": ("input 8 x 5 x 5\nlayernorm2d 8 bias=false",
                                 lambda: LayerNorm2d(8, bias=False)),
    "layernorm2d without affine": ("input 8 x 5 x 6\nlayernorm2d affine=false",
                                   lambda: LayerNorm2d(8, elementwise_affine=False)),
    "layerscale": ("input 8 x 5 x 5\nlayerscale", lambda: Gamma((8, 1, 1))),
    "layerscale 1 x C x 1 x 1": ("input 8 x 5 x 5\nlayerscale 8", lambda: Gamma((1, 8, 1, 1))),
    "ConvNeXt block": (f"input 16 x 9 x 9\n{CN_BLOCK}", lambda: CNBlock(16, 1e-6, 0.1)),
    "ConvNeXt stage": (
        f"input 3 x 37 x 36\nconv 16 k=4 s=4\nlayernorm2d\n{CN_BLOCK}\n{CN_BLOCK}\n"
        "layernorm2d\nconv 32 k=2 s=2\nlayernorm2d 32\nadaptive_avgpool 1\nflatten\nlinear 10",
        lambda: nn.Sequential(nn.Conv2d(3, 16, 4, 4), LayerNorm2d(16), CNBlock(16, 1e-6, 0.0),
                              CNBlock(16, 1e-6, 0.0), LayerNorm2d(16), nn.Conv2d(16, 32, 2, 2),
                              LayerNorm2d(32), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                              nn.Linear(32, 10))),
}


def kinds(records: Any) -> list[str]:
    return [k for r in records for k in (r.kind, *kinds(r.children))]


def without_identity(records: Any) -> list[str]:
    return [k for k in kinds(records) if k != "identity"]


def shape_of(network: symconv.Network) -> tuple[int, ...]:
    return tuple(int(v) for v in network.input_shape)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_language_agrees_with_pytorch(case: str) -> None:
    text, module = CASES[case]
    network = symconv.parse(text)
    assert network_facts(network) == forward_facts(module(), shape_of(network))


@pytest.mark.parametrize("case", sorted(CASES))
def test_from_torch_reads_the_same_network(case: str) -> None:
    text, module = CASES[case]
    written = symconv.parse(text)
    model = module()
    read = symconv.from_torch(model, shape_of(written))
    assert network_facts(read) == forward_facts(model, shape_of(written))
    assert kinds(read.records()) == kinds(written.records())
    assert read.unused_parameters == ()


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_written_code_builds_the_same_model_and_reads_back(case: str) -> None:
    network = symconv.parse(CASES[case][0])
    namespace: dict[str, Any] = {}
    exec(network.to_torch_code(), namespace)
    written = namespace["net"]
    assert forward_facts(written, shape_of(network)) == network_facts(network)
    back = symconv.from_torch(written, shape_of(network))
    # (the written Residual's shortcut, nn.Identity, reads back as an identity layer)
    assert without_identity(back.records()) == without_identity(network.records())
    assert network_facts(back) == network_facts(network)


def test_a_layernorm_alone_with_the_channels_last_is_layernorm2d() -> None:
    """What torchvision's LayerNorm2d computes, whoever writes it: read as one layernorm2d."""
    model = nn.Sequential(Permute(0, 2, 3, 1), nn.LayerNorm(8, bias=False), Permute(0, 3, 1, 2))
    read = symconv.from_torch(model, (8, 4, 4))
    assert [r.kind for r in read.records()] == ["layernorm2d"]
    assert network_facts(read) == forward_facts(model, (8, 4, 4)) == ((8, 4, 4), 8)


@pytest.mark.parametrize("c, h, w, c_out", [(8, 5, 7, 32), (96, 56, 56, 384), (3, 1, 9, 1)])
def test_a_linear_with_the_channels_last_counts_as_fvcore_does(c: int, h: int, w: int,
                                                               c_out: int) -> None:
    """fvcore counts a Linear on N x H x W x C as H·W·C·C' multiply-adds; C·C' + C'
    parameters; the section keeps H x W and gives C' channels."""
    network = symconv.parse(f"input {c} x {h} x {w}\nchannels_last {{\n linear {c_out}\n}}")
    (block,) = network.records()
    (linear,) = block.children
    assert isinstance(block.layer, ChannelsLast) and isinstance(linear.layer, Linear)
    assert linear.input_shape == (h, w, c) and linear.output_shape == (h, w, c_out)
    assert (linear.macs, linear.params) == (h * w * c * c_out, c * c_out + c_out)
    assert block.output_shape == (c_out, h, w)
    assert (block.macs, block.params) == (linear.macs, linear.params)


def test_symbolic_sizes_substituted_agree_with_pytorch() -> None:
    _, module = CASES["ConvNeXt stage"]
    model = module()
    network = symconv.from_torch(model)
    assert [str(v) for v in network.input_shape] == ["3", "H", "W"]
    for h, w in [(37, 36), (64, 40), (8, 8)]:
        assert network_facts(network.bind({"H": h, "W": w})) == forward_facts(model, (3, h, w))


# ---------------------------------------------------------------- receptive fields

RF_NETWORKS = [
    "input 1 x 13 x 12\nconv 4 k=3 s=2 p=1\nchannels_last {\n layernorm 4\n linear 8\n gelu\n"
    " linear 4\n}\nlayerscale\nlayernorm2d\nconv 2 k=3 p=1",
    "input 1 x 17\nconv 3 k=5 s=2 p=2\nlayernorm2d\nchannels_last {\n linear 5\n tanh\n}\n"
    "conv 2 k=3 d=2",
    f"input 16 x 11 x 11\n{CN_BLOCK}\nconv 4 k=2 s=2",
]


def autograd_reach(model: nn.Module, shape: tuple[int, ...], unit: tuple[int, ...]
                   ) -> set[tuple[int, ...]]:
    """The input positions whose value changes output unit `unit` (summed over its channels):
    where the gradient is not zero, at random weights and input."""
    x = torch.randn(1, *shape, dtype=torch.float64, requires_grad=True)
    model(x)[(0, slice(None), *unit)].sum().backward()
    assert x.grad is not None
    moved = x.grad[0].abs().sum(0).nonzero().tolist()
    return {tuple(p) for p in moved}


@pytest.mark.parametrize("text", RF_NETWORKS)
def test_the_receptive_field_is_what_autograd_reaches(text: str) -> None:
    torch.manual_seed(0)
    network = symconv.parse(text)
    model = to_torch_module(network).double().eval()
    for p in model.parameters():  # layer scales start at one: every parameter at random
        nn.init.uniform_(p, 0.5, 1.5)
    shape = shape_of(network)
    last = len(network.layers)
    outs = tuple(int(v) for v in network.output_shape()[1:])
    units = [tuple(random.Random(i).randrange(n) for n in outs) for i in range(6)]
    for unit in units:
        reached = autograd_reach(model, shape, unit)
        region = network.region(last, unit)
        for axis, (first, end) in enumerate(region):
            n = shape[1 + axis]
            along = [p[axis] for p in reached]
            # the region is exact: its ends, cut to the input, are reached
            assert (min(along), max(along)) == (max(int(first), 0), min(int(end), n - 1))
        if "residual" not in text:  # (draw shows chains of layers)
            figure = network.draw(unit=unit, layers=(1, last)).figure
            assert figure.levels[0].interval == tuple(region)


# ---------------------------------------------------------------- the compiled path


def test_the_compiled_path_equals_the_trace() -> None:
    network = symconv.parse(
        "input 4 x H x W\nconv 4 k=K p=P\nchannels_last {\n layernorm 4\n linear O\n gelu\n"
        " linear 4\n}\nlayerscale\nlayernorm2d\nconv 8 k=2 s=2\nlayernorm2d 8")
    rng = random.Random(7)
    accepted = sum(check_agrees(network, {"H": rng.randint(1, 40), "W": rng.randint(1, 40),
                                          "K": rng.randint(1, 4), "P": rng.randint(0, 2),
                                          "O": rng.randint(1, 9)}) for _ in range(12))
    assert accepted >= 3


def test_the_solver_walks_through_the_section() -> None:
    solution = symconv.solve(
        "input 8 x W x W\nconv 8 k=3 s=2 p=1\nchannels_last {\n layernorm 8\n linear 32\n}\n"
        "layerscale\nlayernorm2d\nconv 8 k=3 s=2 p=1", "W", 16)
    assert (solution.low, solution.high) == (61, 64)
    assert str(solution).startswith("W in 61..64")


# ---------------------------------------------------------------- errors

LANGUAGE_ERRORS = [
    ("input 8 x 5 x 5\nchannels_last {\n  linear 4\n  conv 3 k=1\n}", "line 4, column 3, conv2d: "
     "conv2d cannot stand inside channels_last: the section holds only layers that act on "
     "each position's channels alone (layernorm over C, linear, activations, dropout)"),
    ("input 8 x 5 x 5\nchannels_last {\n  layernorm (5, 8)\n}", "line 3, column 3, layernorm: "
     "layernorm cannot stand inside channels_last: a layernorm over 2 axes would normalise "
     "across positions"),
    ("input 8 x 5 x 5\nchannels_last {\n  repeat 2 {\n    linear 8\n  }\n}", "line 3, column 3,"
     " repeat: repeat cannot stand inside channels_last: the section holds only layers"),
    ("input 8 x 5 x 5\nchannels_last {\n  layerscale\n}", "layerscale cannot stand inside "
     "channels_last"),
    ("input 8 x 5 x 5\nchannels_last {\n  maxpool k=2\n}", "maxpool2d cannot stand inside"),
    ("input 8\nchannels_last {\n  layernorm 8\n}", "line 2, column 1, channels_last: "
     "channels_last needs an input with spatial axes (C x H x W); this input is flat"),
    ("input 8 x 5 x 5\nchannels_last {\n  layernorm 7\n}", "line 3, column 3, layer 1 "
     "(layernorm): normalized_shape 7 must equal the input's last axes 8 (the input is "
     "5 x 5 x 8)"),
    ("input 8 x 5 x 5\nchannels_last {\n  linear 4 in=5\n}", "in_features is declared as 5 "
     "but the input has 8"),
    ("input 8 x 5 x 5\nchannels_last {\n}", "a body of channels_last has no layers"),
    ("input 8 x 5 x 5\nchannels_last 2 {\n  linear 4\n}", "a channels_last block is written "
     "channels_last { ... }"),
    ("input 8 x 5 x 5\nlayernorm2d 7", "line 2, column 1, layer 1 (layernorm2d): "
     "normalized_shape is declared as 7 but the input has 8"),
    ("input 8 x 5 x 5\nlayernorm2d (8, 5)", "line 2, column 13, layernorm2d: layernorm2d "
     "normalises the channels: normalized_shape is one size, C, not 2"),
    ("input 8\nlayernorm2d", "layernorm2d normalises the channels at every position and needs "
     "spatial axes; for a flat input write layernorm C"),
    ("input 8 x 5 x 5\nlayerscale c=7", "line 2, column 1, layer 1 (layerscale): channels is "
     "declared as 7 but the input has 8"),
]


@pytest.mark.parametrize("text, message", LANGUAGE_ERRORS)
def test_language_errors_name_the_line_and_the_rule(text: str, message: str) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(text).output_shape()
    assert message in str(caught.value)


def test_the_command_line_says_it_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", "-e", LANGUAGE_ERRORS[0][0]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symconv: error: line 4, column 3, conv2d: conv2d cannot stand")
    assert "Traceback" not in err


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.permute(0, 2, 3, 1)
        return (self.lin(y) + y).permute(0, 3, 1, 2)


TORCH_ERRORS = [
    (lambda: nn.Sequential(Permute(0, 2, 3, 1), nn.Linear(8, 8), nn.MaxPool2d(2),
                           Permute(0, 3, 1, 2)),
     "nn.MaxPool2d at '2' (maxpool2d) stands between Tensor.permute(0, 2, 3, 1) in the forward "
     "of '0' (Permute) and Tensor.permute(0, 3, 1, 2) in the forward of '3' (Permute), with "
     "the channels last: the section holds only layers that act on each position's channels "
     "alone"),
    (lambda: nn.Sequential(Permute(0, 2, 3, 1), nn.LayerNorm((5, 8)), Permute(0, 3, 1, 2)),
     "nn.LayerNorm at '1' (layernorm) stands between Tensor.permute(0, 2, 3, 1) in the forward "
     "of '0' (Permute) and Tensor.permute(0, 3, 1, 2) in the forward of '2' (Permute), with "
     "the channels last: a layernorm over 2 axes would normalise across positions"),
    (lambda: nn.Sequential(Permute(0, 3, 2, 1), nn.Linear(8, 8), Permute(0, 3, 2, 1)),
     "Tensor.permute(0, 3, 2, 1) in the forward of '0' (Permute) reorders the axes as "
     "permute(0, 3, 2, 1); symconv reads a permute only as the pair that puts the channels "
     "last, permute(0, 2, 3, 1), and first again, permute(0, 3, 1, 2), around layers that act "
     "on each position's channels alone"),
    (lambda: nn.Sequential(Permute(0, 2, 3, 1), nn.Linear(8, 8)),
     "Tensor.permute(0, 2, 3, 1) in the forward of '0' (Permute) puts the channels last, but "
     "no permute(0, 3, 1, 2) puts them first again in the same branch"),
    (lambda: nn.Sequential(Permute(0, 2, 3, 1), nn.Linear(8, 8), Permute(0, 2, 3, 1)),
     "(the next permute, Tensor.permute(0, 2, 3, 1) in the forward of '2' (Permute), is "
     "permute(0, 2, 3, 1))"),
    (lambda: nn.Sequential(nn.Linear(8, 8), Permute(0, 3, 1, 2)),
     "Tensor.permute(0, 3, 1, 2) in the forward of '1' (Permute) reorders the axes as "
     "permute(0, 3, 1, 2)"),
    (lambda: _Residual(),
     "the addition x + y in the forward (residual) stands between Tensor.permute(0, 2, 3, 1) "
     "in the forward and Tensor.permute(0, 3, 1, 2) in the forward"),
    (lambda: nn.Sequential(Permute(0, 2, 3, 4, 1), nn.Linear(8, 8), Permute(0, 4, 1, 2, 3)),
     "the layers between Tensor.permute(0, 2, 3, 4, 1) in the forward of '0' (Permute) and "
     "Tensor.permute(0, 4, 1, 2, 3) in the forward of '2' (Permute): the permutes around it "
     "take 3 spatial axes, but its input has 2"),
    (lambda: Gamma((8,)),
     "the product x * y in the forward multiplies by the parameter 'gamma' of shape (8,); "
     "symconv reads a product with a parameter of one value per channel, of shape C x 1 x 1 "
     "(or 1 x C x 1 x 1), as a layer scale"),
    (lambda: Gamma((1, 1, 5, 5)), "multiplies by the parameter 'gamma' of shape (1, 1, 5, 5)"),
    (lambda: Gamma((8, 1, 1), buffer=True),
     "the forward uses the tensor 'gamma' directly (in Tensor.mul); symconv reads parameters "
     "only through the layer modules that own them"),
    (lambda: Gamma((8, 1)),
     "the layer scale 'gamma' in the forward: the layer scale's parameter, of shape 8 x 1, "
     "scales the channels of an input with 1 spatial axis, but the input 8 x 5 x 5 has 2"),
    (lambda: Gamma((7, 1, 1)), "the layer scale 'gamma' in the forward: channels is declared "
     "as 7 but the input has 8"),
]


@pytest.mark.parametrize("module, message", TORCH_ERRORS)
def test_from_torch_errors_name_the_module_and_the_rule(module: Callable[[], nn.Module],
                                                        message: str) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.from_torch(module(), (8, 5, 5))
    assert message in str(caught.value)
