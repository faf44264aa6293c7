"""The reference architectures in examples/, loaded both ways and compared with PyTorch:
symconv text -> torch (the code to_torch_code writes, run on the meta device), and a plain
torch definition (no torchvision) -> from_torch -> the same table as the text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from test_seeds import alexnet_torch  # seed 004's network, as d2l defines it
from torch import nn

import symconv
from symconv.engine.records import Record
from symconv.interop.torch_check import compare

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str, input_shape: tuple[int, ...] | None = None) -> symconv.Network:
    """An example network; `input_shape` replaces its input line (some examples keep the
    spatial sizes as symbols, H x W)."""
    text = (EXAMPLES / f"{name}.net").read_text(encoding="utf-8")
    return symconv.parse(text, input_shape)


# ---------------------------------------------------------------- torch definitions


class LeNet5(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(torch.tanh(self.conv1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.conv2(x)), 2)
        x = x.view(-1, 16 * 5 * 5)
        x = torch.tanh(self.fc1(x))
        return self.fc3(torch.tanh(self.fc2(x)))


class VGG16(nn.Module):
    """Configuration D, written the way torchvision writes it."""

    CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M")

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for item in self.CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1),
                           nn.ReLU(inplace=True)]
                channels = int(item)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, 1000),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True))


class UNet(nn.Module):
    """A two-level U-Net, skips joined with torch.cat as the original's PyTorch ports do."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1, self.enc2 = double_conv(3, 32), double_conv(32, 64)
        self.bottleneck = double_conv(64, 128)
        self.up2, self.dec2 = nn.ConvTranspose2d(128, 64, 2, stride=2), double_conv(128, 64)
        self.up1, self.dec1 = nn.ConvTranspose2d(64, 32, 2, stride=2), double_conv(64, 32)
        self.head = nn.Conv2d(32, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip1 = self.enc1(x)
        skip2 = self.enc2(F.max_pool2d(skip1, 2))
        x = self.up2(self.bottleneck(F.max_pool2d(skip2, 2)))
        x = self.up1(self.dec2(torch.cat([skip2, x], dim=1)))
        return self.head(self.dec1(torch.cat([skip1, x], dim=1)))


class M5(nn.Module):
    """The torchaudio speech-commands tutorial's model, with its global average pooling
    written as a layer."""

    def __init__(self, n_input: int = 1, n_output: int = 35, n_channel: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=80, stride=16)
        self.bn1, self.pool1 = nn.BatchNorm1d(n_channel), nn.MaxPool1d(4)
        self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
        self.bn2, self.pool2 = nn.BatchNorm1d(n_channel), nn.MaxPool1d(4)
        self.conv3 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
        self.bn3, self.pool3 = nn.BatchNorm1d(2 * n_channel), nn.MaxPool1d(4)
        self.conv4 = nn.Conv1d(2 * n_channel, 2 * n_channel, kernel_size=3)
        self.bn4, self.pool4 = nn.BatchNorm1d(2 * n_channel), nn.MaxPool1d(4)
        self.gap = nn.AdaptiveAvgPool1d(1)
        self.fc1 = nn.Linear(2 * n_channel, n_output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(F.relu(self.bn1(self.conv1(x))))
        x = self.pool2(F.relu(self.bn2(self.conv2(x))))
        x = self.pool3(F.relu(self.bn3(self.conv3(x))))
        x = self.pool4(F.relu(self.bn4(self.conv4(x))))
        return self.fc1(torch.flatten(self.gap(x), 1))


class C3D(nn.Module):
    """Written as the common PyTorch port of C3D is: one shared ReLU, a view before fc6."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(3, 64, kernel_size=3, padding=1)
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))
        self.conv2 = nn.Conv3d(64, 128, kernel_size=3, padding=1)
        self.pool2 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv3a = nn.Conv3d(128, 256, kernel_size=3, padding=1)
        self.conv3b = nn.Conv3d(256, 256, kernel_size=3, padding=1)
        self.pool3 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv4a = nn.Conv3d(256, 512, kernel_size=3, padding=1)
        self.conv4b = nn.Conv3d(512, 512, kernel_size=3, padding=1)
        self.pool4 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv5a = nn.Conv3d(512, 512, kernel_size=3, padding=1)
        self.conv5b = nn.Conv3d(512, 512, kernel_size=3, padding=1)
        self.pool5 = nn.MaxPool3d(kernel_size=2, stride=2, padding=(0, 1, 1))
        self.fc6, self.fc7, self.fc8 = (nn.Linear(8192, 4096), nn.Linear(4096, 4096),
                                        nn.Linear(4096, 487))
        self.relu, self.dropout = nn.ReLU(), nn.Dropout(p=0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool1(self.relu(self.conv1(x)))
        h = self.pool2(self.relu(self.conv2(h)))
        h = self.pool3(self.relu(self.conv3b(self.relu(self.conv3a(h)))))
        h = self.pool4(self.relu(self.conv4b(self.relu(self.conv4a(h)))))
        h = self.pool5(self.relu(self.conv5b(self.relu(self.conv5a(h)))))
        h = h.view(-1, 8192)
        h = self.dropout(self.relu(self.fc6(h)))
        h = self.dropout(self.relu(self.fc7(h)))
        return self.fc8(h)


class BasicBlock(nn.Module):
    """ResNet's basic block as torchvision writes it: `out += identity`, then a ReLU."""

    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, width, 3, stride=stride, padding=1, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = _projection(c_in, width * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """ResNet v1.5's bottleneck: 1 x 1 down, 3 x 3 (strided), 1 x 1 up by 4."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3, self.relu = nn.BatchNorm2d(width * 4), nn.ReLU(inplace=True)
        self.downsample = _projection(c_in, width * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _projection(c_in: int, c_out: int, stride: int) -> nn.Module | None:
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(c_out))


class ResNet(nn.Module):
    def __init__(self, block: type[BasicBlock | Bottleneck], depths: tuple[int, ...]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        stages: list[nn.Module] = []
        channels = 64
        for i, depth in enumerate(depths):
            width = 64 * 2**i
            blocks = []
            for j in range(depth):
                blocks.append(block(channels, width, 2 if i > 0 and j == 0 else 1))
                channels = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18() -> nn.Module:
    return ResNet(BasicBlock, (2, 2, 2, 2))


def resnet50() -> nn.Module:
    return ResNet(Bottleneck, (3, 4, 6, 3))


class SmallDenseNet(nn.Module):
    """examples/densenet_block.net: each module named as the text names its output (x0, y1,
    ...), so that from_torch, which names a tensor after the node that makes it, reads the
    same names."""

    def __init__(self) -> None:
        super().__init__()
        self.x0 = nn.Conv2d(3, 24, 3, padding=1, bias=False)
        for i in range(1, 5):
            channels = 24 + 12 * (i - 1)
            setattr(self, f"b{i}", nn.Sequential(
                nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, 48, 1, bias=False),
                nn.BatchNorm2d(48), nn.ReLU()))
            setattr(self, f"y{i}", nn.Conv2d(48, 12, 3, padding=1, bias=False))
        self.transition = nn.Sequential(nn.BatchNorm2d(72), nn.ReLU(),
                                        nn.Conv2d(72, 36, 1, bias=False), nn.AvgPool2d(2))
        self.head = nn.Sequential(nn.BatchNorm2d(36), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.Linear(36, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [self.x0(x)]
        for i in range(1, 5):
            block, last = getattr(self, f"b{i}"), getattr(self, f"y{i}")
            source = features[0] if i == 1 else torch.cat(features, 1)
            features.append(last(block(source)))
        return self.head(self.transition(torch.cat(features, 1)))


# example file, torch definition, input shape (no batch axis)
REFERENCES = [
    ("lenet5", LeNet5, (1, 32, 32)),
    ("alexnet", alexnet_torch, (1, 224, 224)),
    ("vgg16", VGG16, (3, 224, 224)),
    ("unet", UNet, (3, 128, 128)),
    ("audio1d", M5, (1, 8000)),
    ("video3d", C3D, (3, 16, 112, 112)),
    ("resnet18", resnet18, (3, 224, 224)),
    ("resnet50", resnet50, (3, 224, 224)),
    ("densenet_block", SmallDenseNet, (3, 32, 32)),
]
NAMES = [name for name, *_ in REFERENCES]


def on_meta(make: type[nn.Module] | object) -> nn.Module:
    """The torch model with meta parameters: shapes without memory (VGG-16 is 138M)."""
    with torch.device("meta"):
        return make()  # type: ignore[operator, no-any-return]


def torch_facts(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """Output shape (no batch axis) and parameter count of a meta-device forward."""
    with torch.no_grad():
        out = model.eval()(torch.empty(1, *input_shape, device="meta"))
    return tuple(out.shape[1:]), sum(p.numel() for p in model.parameters())


def rows(records: Sequence[Record]) -> list[tuple[str, tuple[object, ...], object]]:
    """Kind, output shape and parameters of every layer and block, the layers inside a block
    after it; a repeat stands for its copies (a torch model writes them out)."""
    out = []
    for r in records:
        if r.kind != "repeat":
            out.append((r.kind, r.output_shape, r.params))
        out += rows(r.children)
    return out


@pytest.mark.parametrize(("name", "make", "input_shape"), REFERENCES, ids=NAMES)
def test_text_to_torch_agrees_layer_by_layer(
    name: str, make: object, input_shape: tuple[int, ...]
) -> None:
    network = load(name, input_shape)
    comparison = compare(network, {})
    assert comparison.torch_error is None
    assert [r for r in comparison.rows if not r.agrees] == []
    assert len(comparison.rows) == len(rows(network.records())) + sum(
        1 for r in network.records() if r.kind == "repeat")


@pytest.mark.parametrize(("name", "make", "input_shape"), REFERENCES, ids=NAMES)
def test_torch_definition_reads_as_the_text(
    name: str, make: object, input_shape: tuple[int, ...]
) -> None:
    model = on_meta(make)
    network = symconv.from_torch(model, input_shape)
    assert rows(network.records()) == rows(load(name, input_shape).records())
    shape, params = torch_facts(model, input_shape)
    assert (tuple(int(v) for v in network.output_shape()), int(network.params())) == (
        shape, params)


PUBLISHED = [
    ("lenet5", 61_706),  # LeCun et al. 1998, as rebuilt with a 5x5 convolution for C5
    ("vgg16", 138_357_544),  # Simonyan & Zisserman 2015, torchvision's vgg16
    ("audio1d", 26_915),  # M5, torchaudio speech-commands tutorial
    ("alexnet", 46_764_746),  # seed 004's d2l variant (1 channel in, 10 classes)
    ("resnet18", 11_689_512),  # He et al. 2016, torchvision's resnet18
    ("resnet50", 25_557_032),  # He et al. 2016, torchvision's resnet50 (v1.5)
]


@pytest.mark.parametrize(("name", "total"), PUBLISHED, ids=[n for n, _ in PUBLISHED])
def test_published_parameter_totals(name: str, total: int) -> None:
    assert load(name).params() == total

