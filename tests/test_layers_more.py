"""The layers beyond convolution and pooling (group, layer and instance normalisation,
padding, pixel shuffles, upsampling, global mean and maximum, the scale block), with PyTorch
as the oracle: for each row of a table the description, the module from_torch reads and the
code to_torch_code writes give PyTorch's output shape and parameter count, and what PyTorch
refuses symconv refuses with a message naming the rule."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import symconv

Outcome = tuple[tuple[int, ...], int]


def torch_outcome(module: nn.Module, shape: tuple[int, ...]) -> Outcome:
    module.eval()
    with torch.no_grad():
        out = module(torch.zeros(1, *shape))
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters())


def symconv_outcome(network: symconv.Network, **sizes: int) -> Outcome:
    records = network.records(**sizes)
    return (tuple(int(v) for v in records[-1].output_shape),
            int(sum(int(r.params) for r in records)))


def text(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape))


class SE(nn.Module):
    """Squeeze-and-excitation as torchvision writes it: scale * input."""

    def __init__(self, c: int, squeeze: int, gate: type[nn.Module] = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)
        self.act, self.gate = nn.ReLU(), gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gate(self.fc2(self.act(self.fc1(self.avgpool(x)))))
        return scale * x


class MeanGate(nn.Module):
    """A gate from torch.mean with keepdim, multiplied the other way round (x * s)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.fc = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mul(x, F.hardsigmoid(self.fc(torch.mean(x, (2, 3), keepdim=True))))


class Functional(nn.Module):
    """What a forward writes without modules: means, maxima, interpolation."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.how == "mean":
            return x.mean((2, 3))
        if self.how == "mean-list":
            return x.mean([-1, -2])
        if self.how == "amax-keepdim":
            return x.amax(dim=(2, 3), keepdim=True)
        if self.how == "torch.mean":
            return torch.mean(x, dim=(2, 3), keepdim=False)
        if self.how == "interpolate":
            return F.interpolate(x, scale_factor=2, mode="bilinear")
        return F.interpolate(x, size=(7, 9))


# (description of one layer, the PyTorch module, input shape)
ROWS: list[tuple[str, Callable[[], nn.Module], tuple[int, ...]]] = [
    ("groupnorm 4", lambda: nn.GroupNorm(4, 8), (8, 5, 5)),
    ("groupnorm 2 affine=false", lambda: nn.GroupNorm(2, 6, affine=False), (6, 7)),
    ("groupnorm 1", lambda: nn.GroupNorm(1, 3), (3, 2, 3, 4)),
    ("groupnorm 4", lambda: nn.GroupNorm(4, 8), (8,)),
    ("layernorm (8, 5, 5)", lambda: nn.LayerNorm([8, 5, 5]), (8, 5, 5)),
    ("layernorm 5", lambda: nn.LayerNorm(5), (8, 4, 5)),
    ("layernorm (4, 5) bias=false", lambda: nn.LayerNorm((4, 5), bias=False), (8, 4, 5)),
    ("layernorm 6 affine=false", lambda: nn.LayerNorm(6, elementwise_affine=False), (6,)),
    ("instancenorm", lambda: nn.InstanceNorm2d(8), (8, 5, 5)),
    ("instancenorm affine=true", lambda: nn.InstanceNorm1d(8, affine=True), (8, 9)),
    ("instancenorm affine=true", lambda: nn.InstanceNorm3d(4, affine=True), (4, 3, 3, 3)),
    ("pad 1", lambda: nn.ZeroPad2d(1), (3, 4, 5)),
    ("pad (1, 2, 3, 0)", lambda: nn.ZeroPad2d((1, 2, 3, 0)), (3, 4, 5)),
    ("pad (0, 2)", lambda: nn.ZeroPad1d((0, 2)), (3, 4)),
    ("pad (1, 0, 0, 2, 3, 1)", lambda: nn.ZeroPad3d((1, 0, 0, 2, 3, 1)), (2, 3, 4, 5)),
    ("pad -1", lambda: nn.ZeroPad2d(-1), (3, 6, 5)),
    ("constantpad 2 value=0.5", lambda: nn.ConstantPad2d(2, 0.5), (3, 4, 5)),
    ("constantpad (1, 0) value=-1", lambda: nn.ConstantPad1d((1, 0), -1.0), (3, 4)),
    ("pixelshuffle 2", lambda: nn.PixelShuffle(2), (8, 3, 5)),
    ("pixelshuffle 3", lambda: nn.PixelShuffle(3), (18, 2, 2)),
    ("pixelunshuffle 2", lambda: nn.PixelUnshuffle(2), (3, 4, 6)),
    ("upsample scale=2", lambda: nn.Upsample(scale_factor=2), (3, 4, 5)),
    ("upsample scale=1.5", lambda: nn.Upsample(scale_factor=1.5), (3, 5, 7)),
    ("upsample scale=(2, 3) mode=bilinear",
     lambda: nn.Upsample(scale_factor=(2, 3), mode="bilinear"), (3, 4, 5)),
    ("upsample scale=0.5", lambda: nn.Upsample(scale_factor=0.5), (3, 9, 7)),
    ("upsample size=(7, 3) mode=bicubic align_corners=true",
     lambda: nn.Upsample(size=(7, 3), mode="bicubic", align_corners=True), (3, 4, 5)),
    ("upsample size=11 mode=linear", lambda: nn.Upsample(size=11, mode="linear"), (2, 4)),
    ("upsample scale=2 mode=trilinear",
     lambda: nn.Upsample(scale_factor=2, mode="trilinear"), (2, 2, 3, 4)),
    ("upsample scale=4.1", lambda: nn.Upsample(scale_factor=4.1), (1, 90)),  # 368, as torch
    ("mean", lambda: Functional("mean"), (8, 5, 5)),
    ("mean", lambda: Functional("mean-list"), (8, 5, 5)),
    ("amax keepdim", lambda: Functional("amax-keepdim"), (8, 5, 5)),
    ("mean keepdim=false", lambda: Functional("torch.mean"), (8, 5, 5)),
    ("upsample scale=2 mode=bilinear", lambda: Functional("interpolate"), (3, 4, 5)),
    ("upsample size=(7, 9)", lambda: Functional("size"), (3, 4, 5)),
    ("scale {\nadaptive_avgpool 1\nconv 2 k=1\nrelu\nconv 8 k=1\nsigmoid\n}",
     lambda: SE(8, 2), (8, 5, 5)),
    ("scale {\nadaptive_avgpool 1\nconv 4 k=1\nrelu\nconv 16 k=1\nhardsigmoid\n}",
     lambda: SE(16, 4, nn.Hardsigmoid), (16, 7, 3)),
    ("scale {\nmean keepdim\nconv 8 k=1\nhardsigmoid\n}", lambda: MeanGate(8), (8, 6, 6)),
]
IDS = [f"{row[0].splitlines()[0]}-{'x'.join(map(str, row[2]))}" for row in ROWS]


@pytest.mark.parametrize(("line", "make", "shape"), ROWS, ids=IDS)
def test_description_agrees_with_torch(line: str, make: Callable[[], nn.Module],
                                       shape: tuple[int, ...]) -> None:
    network = symconv.parse(f"input {text(shape)}\n{line}")
    assert symconv_outcome(network) == torch_outcome(make(), shape)


@pytest.mark.parametrize(("line", "make", "shape"), ROWS, ids=IDS)
def test_from_torch_agrees_with_torch(line: str, make: Callable[[], nn.Module],
                                      shape: tuple[int, ...]) -> None:
    module = make()
    network = symconv.from_torch(module, shape)
    assert symconv_outcome(network) == torch_outcome(module, shape)
    # The same layers as the description reads.
    described = symconv.parse(f"input {text(shape)}\n{line}")
    assert [r.kind for r in network.table()] == [r.kind for r in described.table()]


@pytest.mark.parametrize(("line", "make", "shape"), ROWS, ids=IDS)
def test_written_code_agrees_and_reads_back(line: str, make: Callable[[], nn.Module],
                                            shape: tuple[int, ...]) -> None:
    network = symconv.parse(f"input {text(shape)}\n{line}")
    namespace: dict[str, Any] = {}
    exec(network.to_torch_code(), namespace)
    written = namespace["net"]
    assert torch_outcome(written, shape) == torch_outcome(make(), shape)
    back = symconv.from_torch(written, shape)
    assert symconv_outcome(back) == symconv_outcome(network)
    assert [r.kind for r in back.table()] == [r.kind for r in network.table()]


# Symbolic sizes: the closed form, substituted, is the numeric answer.
SYMBOLIC = [(line, shape) for line, _, shape in ROWS if "size=" not in line
            and "layernorm" not in line and len(shape) > 1]


@pytest.mark.parametrize(("line", "shape"), SYMBOLIC, ids=[s[0].splitlines()[0] for s in SYMBOLIC])
def test_symbolic_sizes_substituted_give_the_numeric_answer(line: str,
                                                            shape: tuple[int, ...]) -> None:
    names = ("D", "H", "W")[3 - (len(shape) - 1):]
    symbolic = symconv.parse(f"input {shape[0]} x {' x '.join(names)}\n{line}")
    draw = random.Random(line)
    for _ in range(3):
        sizes = {n: draw.randint(8, 40) * (6 if "shuffle" in line else 1) for n in names}
        numeric = symconv.parse(f"input {shape[0]} x {' x '.join(map(str, sizes.values()))}"
                                f"\n{line}")
        assert symconv_outcome(symbolic, **sizes) == symconv_outcome(numeric)
        last = symbolic.records(**sizes)[-1]
        assert last.macs == numeric.records()[-1].macs


# (description, PyTorch's module on that input, the message symconv gives)
REFUSED: list[tuple[str, Callable[[], nn.Module], str]] = [
    ("input 8 x 5 x 5\ngroupnorm 3", lambda: nn.GroupNorm(3, 8),
     "the channels (8) must be divisible by num_groups (3)"),
    ("input 8 x 5 x 5\ngroupnorm 2 c=6", lambda: nn.GroupNorm(2, 6),
     "num_channels is declared as 6 but the input has 8"),
    ("input 8 x 5 x 4\nlayernorm 5", lambda: nn.LayerNorm(5),
     "normalized_shape 5 must equal the input's last axes 4 (the input is 8 x 5 x 4)"),
    ("input 8 x 5 x 4\nlayernorm (8, 5, 4, 1)", lambda: nn.LayerNorm((8, 5, 4, 1)),
     "normalized_shape 8 x 5 x 4 x 1 has 4 sizes but the input 8 x 5 x 4 has 3 axes"),
    ("input 8 x 5 x 5\ninstancenorm c=4 affine=true", lambda: nn.InstanceNorm2d(4, affine=True),
     "num_features is declared as 4 but the input has 8"),
    ("input 3 x 4 x 5\npad -3", lambda: nn.ZeroPad2d(-3),
     "output H would be -2 (input H = 4; n + before + after)"),
    ("input 9 x 3 x 3\npixelshuffle 2", lambda: nn.PixelShuffle(2),
     "the channels (9) must be divisible by the square of the upscale_factor (2² = 4)"),
    ("input 2 x 5 x 4\npixelunshuffle 2", lambda: nn.PixelUnshuffle(2),
     "the input H (5) must be divisible by the downscale_factor (2)"),
    ("input 3 x 4\nupsample scale=2 mode=bilinear",
     lambda: nn.Upsample(scale_factor=2, mode="bilinear"),
     "mode 'bilinear' upsamples inputs with 2 spatial axes, but here it has 1"),
    ("input 3 x 4 x 4\nupsample scale=0.1", lambda: nn.Upsample(scale_factor=0.1),
     "output H would be 0 (input H = 4; floor(n·scale_factor))"),
    ("input 8 x 5 x 5\nscale {\nconv 8 k=3\n}", lambda: _Product(nn.Conv2d(8, 8, 3)),
     "the gate gives 8 x 3 x 3 and the input is 8 x 5 x 5: the gate does not broadcast to "
     "the input (each of its sizes must be 1 or the input's)"),
    ("input 8 x 5 x 5\nscale {\nadaptive_avgpool 1\nconv 4 k=1\n}",
     lambda: _Product(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 4, 1))),
     "the gate gives 4 x 1 x 1 and the input is 8 x 5 x 5: the gate does not broadcast"),
    ("input 8 x 5 x 5\nscale {\nmean\n}", lambda: _Product(Functional("mean")),
     "the gate gives 8 and the input is 8 x 5 x 5: a gate must have the input's axes"),
]


class _Product(nn.Module):
    def __init__(self, gate: nn.Module) -> None:
        super().__init__()
        self.gate = gate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)


def _input(description: str) -> tuple[int, ...]:
    first = description.splitlines()[0].removeprefix("input ")
    return tuple(int(v) for v in first.split(" x "))


@pytest.mark.parametrize(("description", "make", "message"), REFUSED,
                         ids=[r[2][:40] for r in REFUSED])
def test_what_torch_refuses_is_refused_with_the_rule(
        description: str, make: Callable[[], nn.Module], message: str) -> None:
    shape = _input(description)
    with pytest.raises((RuntimeError, ValueError)):
        torch_outcome(make(), shape)
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(description).records()
    assert message in str(caught.value), str(caught.value)
    try:
        module = make()
    except ValueError:
        return  # PyTorch refuses to build it: there is no module to read
    # from_torch names the same rule, with the module's place in the model.
    with pytest.raises(symconv.SymconvError) as read:
        symconv.from_torch(module, shape)
    assert message.split(":")[0].split(" (")[0] in str(read.value), str(read.value)


WRITTEN_WRONG = [
    ("input 3 x 8\npad (1, 2, 3)", "padding: 3 values for 1 spatial axis (PyTorch takes one, "
     "or two per axis: 2)"),
    ("input 3 x 8 x 8\nupsample", "give either size or scale_factor, not neither"),
    ("input 3 x 8 x 8\nupsample size=4 scale=2", "give either size or scale_factor, not both"),
    ("input 3 x 8 x 8\nupsample scale=2 mode=nearest align_corners=true",
     "align_corners goes with the linear and cubic modes, not 'nearest'"),
    ("input 3 x 8 x 8\nupsample scale=2 mode=bilinar",
     "mode: expected nearest, nearest-exact, linear, bilinear, bicubic or trilinear, got "
     "bilinar; did you mean 'bilinear'?"),
    ("input 3 x 8 x 8\nupsample scale=-2", "scale_factor: expected a positive number"),
    ("input 3 x 8 x 8\nconstantpad 1", "missing value"),
    ("input 12\nmean", "mean needs 1 to 3 spatial axes, but its input is flat"),
    ("input 12\npixelshuffle 2", "pixelshuffle needs 1 to 3 spatial axes, but its input is "
     "flat"),
    ("input 3 x 8 x 8\nscale { conv 3 k=1 } { relu }", "a scale block is written scale { ... }"),
]


@pytest.mark.parametrize(("description", "message"), WRITTEN_WRONG,
                         ids=[m[:40] for _, m in WRITTEN_WRONG])
def test_descriptions_written_wrong_say_why(description: str, message: str) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(description).records()
    assert message in str(caught.value), str(caught.value)


# ---------------------------------------------------------------- receptive fields


def _reads(mode: str, q: int, n: int) -> dict[int, set[int]]:
    """For each output index, the inputs PyTorch's interpolation weighs (brute force: one
    input set to 1 at a time)."""
    found: dict[int, set[int]] = {}
    for i in range(n):
        x = torch.zeros(1, 1, 1, n)
        x[..., i] = 1
        y = F.interpolate(x, scale_factor=(1, q), mode=mode if mode != "linear" else "bilinear")
        for o, v in enumerate(y[0, 0, 0].tolist()):
            if abs(v) > 1e-9:
                found.setdefault(o, set()).add(i)
    return found


@pytest.mark.parametrize("mode", ["nearest", "linear", "bicubic"])
@pytest.mark.parametrize("q", [2, 3, 4, 5])
def test_an_upsampled_unit_sees_every_input_it_reads(mode: str, q: int) -> None:
    n = 8
    mode_word = "bilinear" if mode == "linear" else mode
    network = symconv.parse(f"input 1 x 1 x {n}\nupsample scale=(1, {q}) mode={mode_word}")
    field = network.records()[-1].fields[1]
    for o, inputs in _reads(mode, q, n).items():
        first, last = field.interval(o)
        assert first <= min(inputs) and max(inputs) <= last, (o, inputs, (first, last))


def test_a_scale_block_repeated_n_times_has_a_closed_form() -> None:
    """The gate keeps its input's size, so a block holding one repeats in closed form; the
    closed form substituted is the numeric answer."""
    text_n = ("input 8 x W x W\nrepeat N {\nscale {\nmean keepdim\nconv 8 k=1\nsigmoid\n}\n"
              "conv 8 k=3 s=2 p=1\n}")
    network = symconv.parse(text_n)
    for n in (1, 2, 3):
        for w in (17, 64):
            numeric = symconv.parse(text_n.replace("N", str(n)).replace("W", str(w)))
            a, b = network.records(N=n, W=w)[-1], numeric.records()[-1]
            assert (a.output_shape, a.params, a.neurons, a.connections, a.macs) == (
                b.output_shape, b.params, b.neurons, b.connections, b.macs)


@pytest.mark.parametrize("line", ["mean keepdim", "upsample size=4"])
def test_a_layer_that_sets_the_size_cannot_repeat_n_times(line: str) -> None:
    with pytest.raises(symconv.UnsupportedError) as caught:
        symconv.parse(f"input 8 x W x W\nrepeat N {{\n{line}\n}}").records()
    assert ("a block repeated N times can hold only layers that keep spatial axes with a "
            f"fixed window (here {line.split()[0]}); give N a number") in str(caught.value)
