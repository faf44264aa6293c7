"""A table folded to a depth, as torchinfo's `depth` folds its summary (`net.table(depth=N)`,
`symconv table --depth N`): PyTorch's own parameter count of each named submodule is the
oracle, and torchinfo's summary of ResNet-18 at depths 1 and 2, written out by hand, is
the table expected."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torchvision_zoo import build

import symconv
from symconv.cli import main
from symconv.render.table import flat_rows

SUMMED = ("params", "neurons", "connections", "macs", "trainable", "non_trainable",
          "param_bytes", "activation_bytes")


@pytest.fixture(scope="module")
def resnet() -> tuple[Any, symconv.Network]:
    model = build("resnet18")
    return model, symconv.from_torch(model, (3, 224, 224))


# torchinfo's summary(resnet18(), depth=1): each row's name and Param #; symconv lists
# torch.flatten (a function, which torchinfo does not list) as a row of its own.
DEPTH_1 = [("conv1", 9_408), ("bn1", 128), ("relu", 0), ("maxpool", 0), ("layer1", 147_968),
           ("layer2", 525_568), ("layer3", 2_099_712), ("layer4", 8_393_728),
           ("avgpool", 0), ("", 0), ("fc", 513_000)]
# ... and at depth 2, the blocks inside each stage after the stage's row.
DEPTH_2 = [*DEPTH_1[:5], ("layer1.0", 73_984), ("layer1.1", 73_984),
           DEPTH_1[5], ("layer2.0", 230_144), ("layer2.1", 295_424),
           DEPTH_1[6], ("layer3.0", 919_040), ("layer3.1", 1_180_672),
           DEPTH_1[7], ("layer4.0", 3_673_088), ("layer4.1", 4_720_640), *DEPTH_1[8:]]


@pytest.mark.parametrize(("depth", "expected"), [(1, DEPTH_1), (2, DEPTH_2)])
def test_resnet18_folds_as_torchinfo_shows_it(resnet: Any, depth: int,
                                              expected: list[tuple[str, int]]) -> None:
    _, network = resnet
    rows = [r for _, r in flat_rows(network.table(depth=depth))]
    assert [(r.name, int(r.params)) for r in rows] == expected
    assert [r.depth for r in rows if r.name] == [n.count(".") + 1 for n, _ in expected if n]
    # a container, which owns no layer, is a row of kind 'module'; a layer keeps its kind
    assert [r.kind for r in rows if r.name in ("layer1", "layer1.0", "conv1")] == \
        ["conv2d", "module", *(["module"] if depth == 2 else [])]


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_each_module_row_is_what_pytorch_counts_and_sums_its_layers(resnet: Any,
                                                                    depth: int) -> None:
    model, network = resnet
    check_folded(model, network, depth)
    # ResNet-18's functions (torch.flatten) and blocks (the residual sums) count no
    # multiply-adds: a module's are those of the layers named inside it
    unfolded = [r for _, r in flat_rows(network.table()) if not r.children]
    for label, r in flat_rows(network.table(depth=depth)):
        inside = [u for u in unfolded if u.name == r.name or u.name.startswith(r.name + ".")]
        assert not r.name or int(r.macs) == sum(int(u.macs) for u in inside), label


# Concatenations (GoogLeNet, ShuffleNet), functions between modules (F.relu in GoogLeNet's
# BasicConv2d, channel_shuffle, torch.flatten, the mean of MNASNet), squeeze-and-excitation
# (EfficientNet), 3-D (S3D).
@pytest.mark.parametrize("name", ["googlenet", "shufflenet_v2_x0_5", "efficientnet_b0",
                                  "mobilenet_v2", "mnasnet0_5", "s3d"])
def test_every_model_folds_to_pytorchs_count_of_each_module(name: str) -> None:
    from torchvision_zoo import input_shape

    model = build(name)
    network = symconv.from_torch(model, input_shape(name))
    for depth in (1, 2, 3):
        check_folded(model, network, depth)
        names = [r.name for _, r in flat_rows(network.table(depth=depth)) if r.name]
        assert len(names) == len(set(names)), depth  # one row per module called once


def check_folded(model: Any, network: symconv.Network, depth: int) -> None:
    """Each row of the table folded to `depth`: no deeper, its parameters PyTorch's count of
    its module (those the forward uses), a parent's numbers its children's sums, and the
    totals those of the unfolded table."""
    unused = [u.path + "." for u in network.unused_parameters]
    folded = network.table(depth=depth)
    for label, r in flat_rows(folded):
        assert r.depth <= depth
        if not r.name:
            continue
        used = [p.numel() for path, p in model.get_submodule(r.name).named_parameters(r.name)
                if not path.startswith(tuple(unused))]
        assert int(r.params) == sum(used), label
        if r.children:  # a parent's numbers are its children's sums
            for key in ("params", "macs"):
                assert getattr(r, key) == sum(getattr(c, key) for c in r.children), label
    # the totals are the unfolded table's, column by column
    for key in SUMMED:
        assert sum(getattr(r, key) for r in folded) == sum(getattr(r, key)
                                                          for r in network.table()), key


def test_module_names_are_indented_by_depth(resnet: Any) -> None:
    _, network = resnet
    lines = str(network.table(depth=3, columns="name,params")).splitlines()
    row = {line.split()[0]: line for line in lines if line.split()}
    top = row["5"].index("layer1")  # depth 1: where the column starts
    assert row["5.1"].index("layer1.0") == top + 2
    assert row["5.1.1"].index("layer1.0.conv1") == top + 4
    assert row["1"].index("conv1") == top
    markdown = network.table(depth=2, columns="name")._repr_markdown_()
    assert "| &nbsp;&nbsp;layer1\\.0 |" in markdown and "| layer1 |" in markdown


class TwiceShared(nn.Module):
    """One convolution called in two stages: its parameters count once."""

    def __init__(self) -> None:
        super().__init__()
        self.stage1 = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.shared = nn.Conv2d(4, 4, 3, padding=1)
        self.stage2 = nn.Sequential(nn.BatchNorm2d(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.shared(self.stage1(x))
        return self.stage2(self.shared(x))


def test_a_reused_module_is_marked_and_counted_once_at_every_depth() -> None:
    model = TwiceShared().eval()
    network = symconv.from_torch(model, (3, 8, 8))
    total = sum(p.numel() for p in model.parameters())
    for depth in (1, 2):
        table = network.table(depth=depth)
        assert sum(int(r.params) for r in table) == total
        text = str(table)
        assert "reused" in text
        assert "reuses the parameters of 'shared' (row 2), counted there" in text


def test_a_description_folds_its_blocks() -> None:
    network = symconv.parse("input 3 x 32 x 32\nconv 8 k=3\nresidual { conv 8 k=3 p=1\n"
                            "repeat 2 { conv 8 k=3 p=1 } }\nflatten\nlinear 10")
    whole = network.table()
    assert [label for label, _ in flat_rows(network.table(depth=2))] == \
        ["1", "2", "2.a1", "2.a2", "3", "4"]
    one = network.table(depth=1)
    assert [label for label, _ in flat_rows(one)] == ["1", "2", "3", "4"]
    assert [(r.params, r.macs, r.output_shape) for r in one] == \
        [(r.params, r.macs, r.output_shape) for r in whole]
    assert network.table(depth=3) == whole


@pytest.mark.parametrize("form", ["text", "json", "markdown", "latex"])
def test_symconv_table_depth_folds_every_form(capsys: pytest.CaptureFixture[str],
                                              form: str) -> None:
    text = "input 3 x 8 x 8\nconv 4 k=3\nresidual { conv 4 k=3 p=1 }"
    assert main(["table", "-e", text, "--depth", "1", "--format", form]) == 0
    out = capsys.readouterr().out
    assert "residual" in out and "2.a1" not in out and "conv" in out


@pytest.mark.parametrize("given", [0, -1, "x", 1.5, True])
def test_a_depth_that_is_not_a_level_is_refused(given: object) -> None:
    network = symconv.parse("input 3 x 8 x 8\nconv 4 k=3")
    with pytest.raises(symconv.InvalidValueError) as caught:
        network.table(depth=given)
    assert str(caught.value).startswith("depth: expected")


@pytest.mark.parametrize(("given", "message"), [
    ("0", "symconv: error: --depth: expected a whole number of levels, 1 or more (1: the "
          "top-level modules only), got 0"),
    ("two", "symconv: error: argument --depth: expected a whole number, got 'two'"),
])
def test_symconv_table_refuses_a_depth_that_is_not_a_level(
        capsys: pytest.CaptureFixture[str], given: str, message: str) -> None:
    try:
        code = main(["table", "-e", "input 3 x 8 x 8\nconv 4 k=3", "--depth", given])
    except SystemExit as stop:  # argparse's own refusal
        code = stop.code
    assert code == 2
    assert message in capsys.readouterr().err
