"""PyTorch interop: from_torch, to_torch_code and `symconv check --torch`, with torch as the
oracle for every shape and parameter count."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import symconv.layers as symconv_layers
import torch
import torch.nn.functional as F
from oracle_cases import canonical
from test_examples import BasicBlock
from torch import nn

import symconv
from symconv.cli import main
from symconv.interop import torch_check


def torch_outputs(module: nn.Module, input_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """Output shape without the batch axis, and parameter count, as torch computes them."""
    module.eval()
    with torch.no_grad():
        out = module(torch.zeros(2, *input_shape))
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters())


def symconv_outputs(network: symconv.Network) -> tuple[tuple[int, ...], int]:
    return tuple(int(v) for v in network.output_shape()), int(network.params())


# ---------------------------------------------------------------- torch is optional


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=60)


def test_import_symconv_does_not_import_torch() -> None:
    result = run_python("""
        import sys
        import symconv
        symconv.parse("input 3 x 32 x 32\\nconv 8 k=3").table()
        assert "torch" not in sys.modules, "import symconv imported torch"
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stderr


def test_without_torch_every_entry_point_says_how_to_install_it() -> None:
    """from_torch, to_torch_module and `symconv check --torch`, with torch made unimportable;
    the command line exits 2."""
    result = run_python("""
        import contextlib, io, sys
        sys.modules["torch"] = None  # as if torch were not installed
        import symconv, symconv.interop
        from symconv.cli import main
        net = symconv.parse("input 3 x 8 x 8\\nconv 4 k=3")
        for call in (lambda: symconv.from_torch(object()),
                     lambda: symconv.interop.to_torch_module(net)):
            try:
                call()
            except symconv.SymconvError as error:
                print(error)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["check", "-e", "input 3 x 8 x 8\\nconv 4 k=3", "--torch"])
        print(code, err.getvalue().strip())
    """)
    hint = 'PyTorch is not installed; install it with: pip install "symconv[torch]"'
    assert result.stdout.splitlines() == [hint, hint, f"2 symconv: error: {hint}"], result.stderr


# ---------------------------------------------------------------- from_torch, layer by layer

SINGLE_LAYERS: list[tuple[nn.Module, tuple[int, ...]]] = [
    (nn.Conv1d(2, 4, 5, stride=2, padding=3, dilation=2), (2, 40)),
    (nn.Conv2d(4, 8, (3, 5), stride=(2, 1), padding=(1, 2), groups=2, bias=False), (4, 17, 19)),
    (nn.Conv2d(3, 6, 4, padding="same", dilation=3), (3, 20, 21)),
    (nn.Conv2d(3, 6, 3, padding="valid", padding_mode="reflect"), (3, 9, 9)),
    (nn.Conv3d(2, 3, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)), (2, 4, 15, 16)),
    (nn.ConvTranspose1d(3, 5, 4, stride=3, padding=1, output_padding=2), (3, 11)),
    (nn.ConvTranspose2d(4, 8, 3, stride=2, padding=1, output_padding=1, groups=4,
                        dilation=2), (4, 7, 9)),
    (nn.ConvTranspose3d(2, 2, 2, stride=2, bias=False), (2, 3, 4, 5)),
    (nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True), (3, 30)),
    (nn.MaxPool2d((3, 2), ceil_mode=True), (3, 13, 11)),
    (nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), (3, 14, 15)),
    (nn.AvgPool3d(2), (2, 5, 6, 7)),
    (nn.AdaptiveAvgPool2d((None, 3)), (3, 10, 11)),
    (nn.AdaptiveMaxPool1d(4), (2, 9)),
    (nn.BatchNorm2d(3), (3, 5, 5)),
    (nn.BatchNorm1d(6, affine=False), (6, 7)),
    (nn.Sequential(nn.Flatten(), nn.Linear(48, 7, bias=False)), (3, 4, 4)),
    (nn.Sequential(nn.Dropout2d(0.3), nn.LeakyReLU(0.2), nn.Softmax(dim=1)), (3, 4, 4)),
]


@pytest.mark.parametrize(("module", "input_shape"), SINGLE_LAYERS,
                         ids=[type(m).__name__ for m, _ in SINGLE_LAYERS])
def test_from_torch_agrees_with_torch(module: nn.Module, input_shape: tuple[int, ...]) -> None:
    network = symconv.from_torch(module, input_shape)
    assert symconv_outputs(network) == torch_outputs(module, input_shape)


@pytest.mark.parametrize(("module", "input_shape"), SINGLE_LAYERS,
                         ids=[type(m).__name__ for m, _ in SINGLE_LAYERS])
def test_to_torch_code_of_from_torch_agrees_with_torch(
    module: nn.Module, input_shape: tuple[int, ...]
) -> None:
    """Both directions: the code symconv writes for a module builds the same numbers."""
    code = symconv.to_torch_code(symconv.from_torch(module, input_shape))
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    assert torch_outputs(namespace["net"], input_shape) == torch_outputs(module, input_shape)


class Nested(nn.Module):
    """Containers inside containers, and a custom forward with functional calls."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()))
        self.body = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)])
        self.head = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.body:
            x = layer(x)
        x = F.max_pool2d(F.relu(x), 2, stride=2, ceil_mode=True)
        x = F.adaptive_avg_pool2d(torch.sigmoid(x), (4, 4))
        x = x.view(x.size(0), -1)
        x = F.dropout(x, p=0.25, training=self.training)
        return self.head(x).relu_()


def test_nested_containers_and_a_custom_forward() -> None:
    network = symconv.from_torch(Nested(), (3, 21, 19))
    assert [r.kind for r in network.table()] == [
        "conv2d", "relu", "conv2d", "batchnorm2d", "relu", "maxpool2d", "sigmoid",
        "adaptiveavgpool2d", "flatten", "dropout", "linear", "relu",
    ]
    assert symconv_outputs(network) == torch_outputs(Nested(), (3, 21, 19))


def test_without_an_input_shape_the_spatial_sizes_are_symbols() -> None:
    network_module = nn.Sequential(nn.ReLU(), nn.Conv2d(3, 8, 3, stride=2))
    network = symconv.from_torch(network_module)
    assert str(network.input_shape) == "(3, H, W)"
    for h, w in [(3, 3), (9, 10), (64, 17)]:
        assert network.output_shape(H=h, W=w) == torch_outputs(network_module, (3, h, w))[0]
    one_d = symconv.from_torch(nn.Conv1d(2, 3, 3))
    assert str(one_d.input_shape) == "(2, L)"


def test_the_input_shape_may_be_text() -> None:
    network = symconv.from_torch(nn.Conv2d(3, 8, 3), "3x32x32")
    assert network.output_shape() == (8, 30, 30)


class Inception(nn.Module):
    """Four parallel branches joined along the channels, one of them with a residual inside."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(8, 4, 1)
        self.b = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1))
        self.c = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(8, 2, 1))
        self.d = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.a(x), self.b(x), self.c(x), torch.add(x, self.d(x))], dim=1)


BRANCHING = [
    (nn.Sequential(BasicBlock(4, 4, 1), BasicBlock(4, 8, 2)), (4, 15, 16),
     ["residual", "relu", "residual", "relu"]),
    (nn.Sequential(nn.Conv2d(3, 8, 3), Inception(), nn.ReLU()), (3, 12, 12),
     ["conv2d", "concat", "relu"]),
]


@pytest.mark.parametrize(("module", "input_shape", "kinds"), BRANCHING,
                         ids=["basic-blocks", "inception"])
def test_branches_become_blocks(
    module: nn.Module, input_shape: tuple[int, ...], kinds: list[str]
) -> None:
    network = symconv.from_torch(module, input_shape)
    assert [r.kind for r in network.table()] == kinds
    assert symconv_outputs(network) == torch_outputs(module, input_shape)
    namespace: dict[str, Any] = {}
    exec(network.to_torch_code(), namespace)
    assert torch_outputs(namespace["net"], input_shape) == torch_outputs(module, input_shape)


def test_branch_layers_land_in_body_and_shortcut() -> None:
    network = symconv.from_torch(BasicBlock(4, 8, 2), (4, 9, 9))
    block = network.layers[0]
    assert isinstance(block, symconv_layers.Residual)
    assert [type(layer).__name__ for layer in block.body] == [
        "Conv", "BatchNorm", "Activation", "Conv", "BatchNorm"]
    assert [type(layer).__name__ for layer in block.shortcut] == ["Conv", "BatchNorm"]
    identity = symconv.from_torch(BasicBlock(4, 4, 1), (4, 9, 9)).layers[0]
    assert isinstance(identity, symconv_layers.Residual)
    assert identity.shortcut == ()


class TwoInputs(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x


class Halved(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0.5


class CatAlongWidth(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, F.relu(x)], dim=3)


class Double(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x


class DataDependent(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.sum() > 0 else -x


class Reshaped(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.fc = nn.Conv2d(1, 6, 5), nn.Linear(400, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).view(-1, 400))


class Upsampling(nn.Module):
    """Upsampled to the size of a tensor other than its branch's input."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return F.interpolate(self.conv(y), size=y.shape[-2:])


ERRORS = [
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Unfold(2)), (3, 8, 8),
     "UnsupportedError",
     "nn.Unfold at '1' is a layer symconv does not model (the layers it reads are "
     "listed in docs/language.md)"),
    (nn.Sequential(nn.LayerNorm(5)), (8,), "ShapeError",
     "nn.LayerNorm at '0': normalized_shape 5 must equal the input's last axes 8"),
    (Halved(), (4, 8, 8), "UnsupportedError",
     "the product x * y in the forward multiplies a tensor by a number; symconv reads a "
     "tensor times a gate computed from it (x * s, a scale block)"),
    (CatAlongWidth(), (4, 8, 8), "UnsupportedError",
     "torch.cat in the forward joins along dim=3; symconv reads concatenations of the "
     "channels (dim=1)"),
    (TwoInputs(), (3, 8, 8), "UnsupportedError",
     "the forward takes 2 inputs ('x', 'y'); symconv reads models with one input tensor"),
    (DataDependent(), (3, 8, 8), "UnsupportedError",
     "torch.fx cannot trace the forward of DataDependent"),
    (nn.Sequential(nn.Flatten(2)), (3, 8, 8), "UnsupportedError",
     "nn.Flatten at '0': only a flatten of every axis but the batch (start_dim=1, end_dim=-1) "
     "is modelled, not start_dim=2, end_dim=-1"),
    (Reshaped(), (1, 28, 28), "ShapeError",
     "Tensor.view in the forward: the forward flattens to 400 features, but the input here "
     "has 3456 per example"),
    (nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(100, 2)), (3, 8, 8),
     "ShapeError",
     "nn.Linear at '2': in_features is declared as 100 but the input has 288"),
    (nn.Sequential(nn.Conv2d(3, 8, 5)), (3, 4, 4), "ShapeError",
     "nn.Conv2d at '0': output H would be 0"),
    (nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), None, "ShapeError",
     "the first layers do not tell the input's channels; give the input shape without the "
     "batch axis, as in from_torch(model, (3, 224, 224))"),
    (nn.Sequential(), (3, 8, 8), "ShapeError", "the module has no layers"),
    (nn.Sequential(nn.Conv2d(3, 8, 3)), (1, 3, 32, 32), "ShapeError",
     "the input shape (1, 3, 32, 32) has one axis more than the first layer takes: symconv's "
     "shapes have no batch axis; give (3, 32, 32)"),
    ("not a module", None, "UnsupportedError", "from_torch takes a torch.nn.Module, not str"),
]


@pytest.mark.parametrize(("module", "input_shape", "kind", "message"), ERRORS,
                         ids=[m for *_, m in ERRORS])
def test_from_torch_names_what_it_cannot_read(
    module: Any, input_shape: tuple[int, ...] | None, kind: str, message: str
) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.from_torch(module, input_shape)
    assert type(caught.value).__name__ == kind
    assert str(caught.value).startswith(message)


# ---------------------------------------------------------------- to_torch_code

def test_to_torch_code_writes_one_line_per_layer() -> None:
    network = symconv.parse(
        "input 3 x 32 x 32\nconv 16 k=(3,5) s=2 p=(1,2) bias=false\n"
        "maxpool k=3 s=2 p=1 ceil\nconvT 8 k=2 s=2 op=1 d=2 g=2\nbn\nsoftmax\n"
        "adaptive_avgpool (None, 4)\nflatten\ndropout 0.2\nlinear 10"
    )
    assert network.to_torch_code() == textwrap.dedent("""\
        # Written by symconv for the input 3 x 32 x 32 (PyTorch adds the batch axis in front).
        from torch import nn

        net = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=(3, 5), stride=2, padding=(1, 2), bias=False),  # -> 16 x 16 x 16
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=True),  # -> 16 x 9 x 9
            nn.ConvTranspose2d(16, 8, kernel_size=2, stride=2, output_padding=1, dilation=2, groups=2),  # -> 8 x 20 x 20
            nn.BatchNorm2d(8),  # -> 8 x 20 x 20
            nn.Softmax(dim=1),  # -> 8 x 20 x 20
            nn.AdaptiveAvgPool2d((None, 4)),  # -> 8 x 20 x 4
            nn.Flatten(),  # -> 640
            nn.Dropout(p=0.2),  # -> 640
            nn.Linear(640, 10),  # -> 10
        )
    """)  # noqa: E501
    namespace: dict[str, Any] = {}
    exec(network.to_torch_code(), namespace)
    assert torch_outputs(namespace["net"], (3, 32, 32)) == symconv_outputs(network)


def test_to_torch_code_needs_numbers_for_channels_and_windows() -> None:
    network = symconv.parse("input C x H x W\nconv K k=F s=S p=P")
    with pytest.raises(symconv.ShapeError) as caught:
        network.to_torch_code()
    assert str(caught.value) == (
        "PyTorch code needs numbers for every channel count, window size and repeat count; "
        "give values for C, F, K, P, S"
    )
    code = network.to_torch_code(C=3, K=8, F=3, S=1, P=1, name="layer")
    assert "layer = nn.Sequential(" in code
    assert "nn.Conv2d(3, 8, kernel_size=3, padding=1),  # -> 8 x H x W" in code


def test_symbolic_spatial_sizes_need_no_numbers_until_a_linear_layer() -> None:
    code = symconv.parse("input 3 x H x W\nconv 8 k=3").to_torch_code()
    assert "nn.Conv2d(3, 8, kernel_size=3),  # -> 8 x (H - 2) x (W - 2)" in code
    with pytest.raises(symconv.ShapeError, match="give values for H, W"):
        symconv.parse("input 3 x H x W\nconv 8 k=3\nflatten\nlinear 2").to_torch_code()


# ---------------------------------------------------------------- symconv check


def test_check_agrees_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "-e", "input 3 x 12 x 12\nconv 4 k=3 s=2\nrelu", "--torch"])
    assert code == 0
    assert capsys.readouterr().out == textwrap.dedent("""\
        input 3 x 12 x 12
          #  layer   symconv shape  torch shape  symconv params  torch params
          1  conv2d  4 x 5 x 5      4 x 5 x 5               112           112  ok
          2  relu    4 x 5 x 5      4 x 5 x 5                 0             0  ok
        all 2 layers agree
    """)


def test_check_tries_random_sizes_for_symbols(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "-e", "input 3 x H x W\nconv 4 k=3 s=2\nflatten\nlinear 2",
                 "--torch", "--sizes", "4", "--seed", "7"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("all 3 layers agree") == 4
    assert out.count("(H=") == 4


def test_check_without_torch_flag_validates_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "examples/lenet5.net"]) == 0
    assert capsys.readouterr().out == (
        "ok: 12 layers, output 10, 61,706 parameters (add --torch to compare with PyTorch)\n"
    )


def replace_torch_layer(monkeypatch: pytest.MonkeyPatch, index: int, layer: nn.Module) -> None:
    """Make `symconv check` build a torch model whose layer `index` differs from symconv's."""
    real = torch_check.to_torch_module

    def changed(network: symconv.Network, device: Any = None, **values: object) -> Any:
        module = real(network, device, **values)
        module[index] = layer.to(device)
        return module

    monkeypatch.setattr(torch_check, "to_torch_module", changed)


@pytest.mark.parametrize(
    ("text", "index", "layer", "expected"),
    [
        # one more output channel than symconv's layer
        ("input 3 x 12 x 12\nconv 4 k=3 s=2", 0, nn.Conv2d(3, 5, 3, stride=2),
         ["  1  conv2d  4 x 5 x 5      5 x 5 x 5               112           140  DIFFERENT",
          "1 of 1 layers differ"]),
        # a layer torch rejects: it expects 5 channels and gets 4
        ("input 3 x 12 x 12\nconv 4 k=3\nconv 2 k=1", 1, nn.Conv2d(5, 2, 1),
         ["  2  conv2d  2 x 10 x 10    -                        10             -",
          "torch rejected the network: "]),
    ],
    ids=["different", "rejected"],
)
def test_check_reports_a_disagreement_and_exits_1(
    text: str, index: int, layer: nn.Module, expected: list[str],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    replace_torch_layer(monkeypatch, index, layer)
    code = main(["check", "-e", text, "--torch"])
    out = capsys.readouterr().out
    assert code == 1
    for line in expected:
        assert line in out, out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "-e", "input 3 x 8 x 8\nconv 4 k=9", "--torch"],
         "symconv: error: line 2, column 1, layer 1 (conv2d): output H would be 0 (input H = 8;"),
        (["check", "-e", "input 3 x 8 x 8\nconv 4 k=3", "--torch", "--sizes", "0"],
         "symconv: error: --sizes takes a positive count, got 0"),
        (["check", "-e", "input 3 x 8 x 8\nconv 4 k=3", "--torch", "--set", "X=2/3"],
         "symconv: error: --set X: check needs a whole number, got 2/3"),
        (["check", "-e", "input 3 x H x 8\nconv 4 k=H+9", "--torch"],
         "symconv: error: found no values for H that give a valid network; "
         "give them with --set NAME=VALUE"),
    ],
)
def test_check_user_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(message)


def test_every_subpackage_ships_in_the_wheel() -> None:
    """A package missing from pyproject's list works in an editable install and breaks in a
    real one (symconv.commands once did: the command line had no subcommands)."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"])
    found = {".".join(init.parent.relative_to(root).parts)
             for init in (root / "symconv").rglob("__init__.py")}
    assert found - listed == set()


def random_chain(draw: random.Random) -> tuple[nn.Sequential, tuple[int, ...]]:
    """A few random layers of one dimensionality, and an input for them."""
    rank = draw.choice((1, 2, 3))
    conv, convt, maxpool, avgpool, bn = (
        getattr(nn, f"{name}{rank}d")
        for name in ("Conv", "ConvTranspose", "MaxPool", "AvgPool", "BatchNorm"))
    channels = draw.choice((1, 2, 3, 4))
    shape = (channels, *(draw.randint(6, 24 if rank < 3 else 10) for _ in range(rank)))
    layers: list[nn.Module] = []
    for _ in range(draw.randint(1, 4)):
        k, s = draw.randint(1, 4), draw.randint(1, 3)
        kind = draw.choice(("conv", "convt", "maxpool", "avgpool", "bn", "relu"))
        if kind in ("conv", "convt"):
            groups = draw.choice([g for g in (1, 2) if channels % g == 0])
            out = groups * draw.randint(1, 3)
            if kind == "conv":
                layers.append(conv(channels, out, k, stride=s, padding=draw.randint(0, 2),
                                   dilation=draw.randint(1, 2), groups=groups))
            else:
                layers.append(convt(channels, out, k, stride=s, padding=draw.randint(0, 1),
                                    output_padding=draw.randint(0, s - 1), groups=groups))
            channels = out
        elif kind == "maxpool":
            layers.append(maxpool(k, stride=s, padding=draw.randint(0, k // 2),
                                  dilation=draw.randint(1, 2), ceil_mode=draw.random() < 0.5))
        elif kind == "avgpool":
            layers.append(avgpool(k, stride=s, padding=draw.randint(0, k // 2),
                                  ceil_mode=draw.random() < 0.5))
        else:
            layers.append(bn(channels) if kind == "bn" else nn.ReLU())
    return nn.Sequential(*layers), shape


@pytest.mark.parametrize("seed", range(3))
def test_random_chains_read_and_written_agree_with_torch(seed: int) -> None:
    """Random chains: torch accepts exactly those symconv reads without error, and then the
    shapes and counts agree, both of the module read and of the code written back."""
    draw = random.Random(seed)
    compared = 0
    for _ in range(60):
        module, shape = random_chain(draw)
        try:
            expected = torch_outputs(module, shape)
        except RuntimeError:
            expected = None
        if expected is not None and 0 in expected[0]:
            expected = None  # an empty output: symconv reports it as an error
        try:
            network = symconv.from_torch(module, shape)
            got = symconv_outputs(network)
        except symconv.SymconvError:
            got = None
        assert got == expected, (module, shape)
        if got is not None:
            namespace: dict[str, Any] = {}
            exec(network.to_torch_code(), namespace)
            assert torch_outputs(namespace["net"], shape) == expected, (module, shape)
            compared += 1
    assert compared >= 10  # the generator makes enough valid chains to mean something


# ---------------------------------------------------------------- the code's own names


class _Mixed(nn.Module):
    """A shared convolution (called three times), a residual block and a concatenation."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.stem = nn.Conv2d(3, 4, 1)
        self.side = nn.Sequential(nn.Conv2d(4, 2, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.conv(x) + x
        return torch.cat([self.conv(x), self.side(x), self.conv(x)], dim=1)


class _TwoShared(nn.Module):
    """Two modules each used twice: shared1 and shared2 in the code."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(self.b(self.a(x))))


# Every name the code defines or uses, names that differ from them by a suffix, and names a
# reader might fear (locals of the written classes, builtins, torch's functional alias).
NAMES = ["net", "nn", "torch", "Residual", "Concat", "shared1", "shared2", "shared3", "nn_1",
         "torch_1", "shared1_1", "x", "F", "self", "super", "body", "branch", "branches",
         "shortcut", "print", "Sequential", "match", "_"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("make", "shape"), [(_Mixed, (3, 5, 5)), (_TwoShared, (2, 4, 4))],
                         ids=["mixed", "two-shared"])
def test_the_code_runs_and_reads_back_whatever_the_network_is_called(
    name: str, make: Any, shape: tuple[int, ...]
) -> None:
    """The written code, run as a user runs it (a fresh namespace), defines `name` as a
    module that computes what the model computes and reads back to the same network; the
    code's own names never clash with it."""
    model = make().eval()
    network = symconv.from_torch(model, shape)
    code = network.to_torch_code(name)
    namespace: dict[str, Any] = {}
    exec(compile(code, "<written>", "exec"), namespace)
    written = namespace[name].eval()
    assert isinstance(written, nn.Sequential)
    assert torch_outputs(written, shape) == torch_outputs(model, shape)
    assert canonical(symconv.from_torch(written, shape)) == canonical(network)
    assert code.count(f"\n{name} = ") == 1  # the network's is the only such definition


@pytest.mark.parametrize("name", ["class", "None", "lambda", "3net", "my net", "", 7])
def test_a_name_that_is_not_a_python_variable_is_refused(name: Any) -> None:
    network = symconv.parse("input 3 x 8 x 8\nconv 4 k=3")
    with pytest.raises(symconv.InvalidValueError) as caught:
        network.to_torch_code(name)
    assert str(caught.value).startswith(f"name: expected a Python name such as net, got "
                                        f"{name!r}")


@pytest.mark.parametrize("call", ["size=(8, 8)", "size=8", "scale_factor=(2, 2)",
                                  "scale_factor=2", "scale_factor=(2, 3)",
                                  "size=(8, 8), mode='bilinear'"])
def test_an_upsampling_reads_back_as_the_layer_it_was_written_from(call: str) -> None:
    """A size or scale per axis is written per axis, even where the values are equal (one
    value would read back as one for every axis, another layer: the segmentation models'
    upsampling to their input's size was)."""
    network = symconv.parse(f"input 3 x 4 x 4\nnn.Upsample({call})")
    namespace: dict[str, Any] = {}
    exec(network.to_torch_code(), namespace)
    assert symconv.from_torch(namespace["net"], (3, 4, 4)).layers == network.layers
