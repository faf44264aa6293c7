"""from_torch on forwards that resize to a tensor's size and return a dict: a segmentation
head upsampled back to its input (FCN), a pooling branch upsampled back to its branch's
input (DeepLabV3's ASPP). PyTorch is the oracle: output shape and parameters at several
input sizes, and the symbolic closed form substituted at each."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import symconv


class Segmenter(nn.Module):
    """A strided trunk, a head, and the logits upsampled back to the input's size."""

    def __init__(self, mode: str, slicing: str, out: str) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                                   nn.Conv2d(8, 8, 3, stride=2))
        self.head = nn.Conv2d(8, 5, 1)
        self.mode, self.slicing, self.out = mode, slicing, out

    def forward(self, x: torch.Tensor) -> Any:
        size = {"last": x.shape[-2:], "spatial": x.shape[2:], "method": x.size()[2:]}[
            self.slicing]
        y = F.interpolate(self.head(self.trunk(x)), size=size, mode=self.mode)
        return {"dict": {"out": y}, "tuple": (y,), "tensor": y}[self.out]


class PoolBranch(nn.Module):
    """ASPP's pooling branch: pooled to 1 x 1, and upsampled back to its own input's size."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(4, 3, 1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        return F.interpolate(self.pool(x), size=size, mode="bilinear", align_corners=False)


class Aspp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, stride=3)
        self.convs = nn.ModuleList([nn.Conv2d(4, 3, 1), nn.Conv2d(4, 3, 3, padding=2,
                                                                   dilation=2), PoolBranch()])
        self.project = nn.Conv2d(9, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return self.project(torch.cat([c(x) for c in self.convs], dim=1))


def _torch(model: nn.Module, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    with torch.no_grad():
        out = model(torch.zeros(1, *shape))
    if isinstance(out, dict | tuple):
        (out,) = out.values() if isinstance(out, dict) else out
    return tuple(out.shape[1:]), sum(p.numel() for p in model.parameters())


MODELS = [
    pytest.param(lambda: Segmenter("bilinear", "last", "dict"), id="dict-bilinear-shape[-2:]"),
    pytest.param(lambda: Segmenter("nearest", "spatial", "tuple"), id="tuple-nearest-shape[2:]"),
    pytest.param(lambda: Segmenter("bicubic", "method", "tensor"), id="tensor-size()[2:]"),
    pytest.param(Aspp, id="aspp-pooling-branch"),
]
SIZES = [(32, 32), (37, 50), (9, 14)]


@pytest.mark.parametrize("make", MODELS)
def test_a_resize_to_a_branch_input_agrees_with_torch(make: Any) -> None:
    model = make().eval()
    symbolic = symconv.from_torch(model)
    for h, w in SIZES:
        expected = _torch(model, (3, h, w))
        network = symconv.from_torch(model, (3, h, w))
        assert (network.output_shape(), network.params()) == expected
        records = symbolic.records(H=h, W=w)
        assert (tuple(int(v) for v in records[-1].output_shape),
                sum(int(r.params) for r in records)) == expected


def test_the_written_code_resizes_to_the_numbers_of_the_given_input() -> None:
    model = Aspp().eval()
    network = symconv.from_torch(model, (3, 40, 31))
    namespace: dict[str, Any] = {}
    exec(network.to_torch_code(), namespace)
    assert _torch(namespace["net"].eval(), (3, 40, 31)) == _torch(model, (3, 40, 31))


class FromOther(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 3, stride=2), nn.Conv2d(4, 4, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        return F.interpolate(self.b(y), size=y.shape[-2:])


class FromArithmetic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.a(x), size=x.shape[2])


class ThreeAxes(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.a(x), size=x.shape[-3:])


class TwoOutputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 3), nn.Conv2d(4, 2, 1)

    def forward(self, x: torch.Tensor) -> Any:
        y = self.a(x)
        return {"out": self.b(y), "aux": y}


REFUSED = [
    (FromArithmetic, "takes its size from _operator.getitem; symconv reads a resize"),
    (ThreeAxes, "the size is the last 3 axes of a tensor with 2 spatial axes"),
]


@pytest.mark.parametrize(("make", "message"), REFUSED)
def test_what_cannot_be_read_is_refused_by_name(make: Any, message: str) -> None:
    with pytest.raises(symconv.UnsupportedError) as caught:
        symconv.from_torch(make(), (3, 16, 16))
    assert message in str(caught.value)
