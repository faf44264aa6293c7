"""Channel split and channel shuffle (ShuffleNetV2): `chunk` and `channelshuffle` in the
language and read from a traced forward, PyTorch as the oracle for shapes and counts; what
only looks like them is refused by name."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import symconv


def _torch(model: nn.Module, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, *shape))
    return tuple(out.shape[1:]), sum(p.numel() for p in model.parameters())


def shuffle(x: torch.Tensor, groups: int, merged: str = "c") -> torch.Tensor:
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, -1 if merged == "-1" else c, h, w)


class Unit(nn.Module):
    """ShuffleNetV2's unit: half the channels kept, half through a branch, then shuffled."""

    def __init__(self, channels: int, parts: int = 2, groups: int = 2, keep: int = 0,
                 merged: str = "c") -> None:
        super().__init__()
        self.parts, self.groups, self.keep, self.merged = parts, groups, keep, merged
        half = channels // parts
        self.branch = nn.Sequential(nn.Conv2d(half, half, 1), nn.BatchNorm2d(half),
                                    nn.Conv2d(half, half, 3, padding=1, groups=half))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = x.chunk(self.parts, dim=1)
        out = torch.cat((parts[self.keep], self.branch(parts[1 - self.keep])), dim=1)
        return shuffle(out, self.groups, self.merged)


MODELS = [
    pytest.param(lambda: Unit(8), (8, 6, 5), id="shufflenet-unit"),
    pytest.param(lambda: Unit(12, groups=3, merged="-1"), (12, 7, 7), id="groups-3-view-1"),
    pytest.param(lambda: Unit(12, parts=3, keep=2), (12, 4, 9), id="three-parts"),
    pytest.param(lambda: nn.Sequential(nn.Conv2d(3, 6, 3), nn.ChannelShuffle(3)), (3, 9, 9),
                 id="nn.ChannelShuffle"),
]


@pytest.mark.parametrize(("make", "shape"), MODELS)
def test_channel_split_and_shuffle_agree_with_torch(make: Any, shape: tuple[int, ...]) -> None:
    model = make()
    network = symconv.from_torch(model, shape)
    assert (network.output_shape(), network.params()) == _torch(model, shape)
    kinds = [r.kind for r in network.table()]
    assert "channelshuffle" in kinds
    namespace: dict[str, Any] = {}
    exec(network.to_torch_code(), namespace)  # written back, read back: the same network
    written = namespace["net"]
    assert _torch(written, shape) == _torch(model, shape)
    assert [r.kind for r in symconv.from_torch(written, shape).table()] == kinds


TEXTS = [
    ("input 8x5x5\nchunk 2 index=1\nconv 6 k=3\nchannelshuffle 3",
     nn.Sequential(nn.Conv2d(4, 6, 3), nn.ChannelShuffle(3)), (4, 5, 5)),
    ("input 12x4x4\nchunk 3 i=2\nchannelshuffle g=2", nn.ChannelShuffle(2), (4, 4, 4)),
    ("input 6x3\nchunk n=2\nconv 4 k=1", nn.Conv1d(3, 4, 1), (3, 3)),
]


@pytest.mark.parametrize(("text", "after", "shape"), TEXTS)
def test_the_language_writes_them(text: str, after: nn.Module, shape: tuple[int, ...]) -> None:
    """The layers after the chunk agree with PyTorch on the chunk's part."""
    network = symconv.parse(text)
    assert (network.output_shape(), network.params()) == _torch(after, shape)


@pytest.mark.parametrize(("text", "message"), [
    ("input 7x4x4\nchunk 2", "the channels (7) must be divisible by chunks (2): symconv reads "
                             "equal parts"),
    ("input 8x4x4\nchunk 2 index=2", "index (2) must be less than chunks (2): the parts are "
                                     "counted from 0"),
    ("input 8x4x4\nchannelshuffle 3", "the channels (8) must be divisible by groups (3)"),
    ("input 8x4x4\nchunk 0", "chunks must be at least 1, got 0"),
])
def test_the_language_refuses_what_torch_would_do_otherwise(text: str, message: str) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(text).table()
    assert message in str(caught.value)


class Forward(nn.Module):
    def __init__(self, forward: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.run = forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(self.conv(x))  # type: ignore[no-any-return]


def _spatial_transpose(x: torch.Tensor) -> torch.Tensor:
    return x.transpose(2, 3)


def _wrong_merge(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.size()
    y = x.view(b, 2, c // 2, h, w).transpose(1, 2).contiguous()
    return y.view(b, c, w, h)  # h and w swapped: not a shuffle


REFUSED = [
    (lambda x: x.chunk(2, dim=2)[0],
     "Tensor.chunk in the forward with chunks=2, dim=2: symconv reads a split "
     "of the channels into a given number of parts, x.chunk(n, dim=1)"),
    (lambda x: x[:, :4], "_operator.getitem in the forward is not something symconv reads: "
                         "it indexes a tensor with (slice(None, None, None), slice(None, 4, "
                         "None)), and symconv reads indexing only as a part of a split of the "
                         "channels, x.chunk(n, dim=1)[i]"),
    (_spatial_transpose, "symconv reads a transpose only inside a channel shuffle"),
    (_wrong_merge, "Tensor.view with shape (getitem, getitem_1, getitem_3, getitem_2): "
                   "symconv reads a reshape only as a flatten, x.view(x.size(0), -1), or in a "
                   "channel shuffle, x.view(b, g, c // g, h, w).transpose(1, 2).view(b, c, h, "
                   "w)"),
]


@pytest.mark.parametrize(("forward", "message"), REFUSED)
def test_what_only_looks_like_a_split_or_shuffle_is_refused(forward: Any, message: str) -> None:
    with pytest.raises(symconv.UnsupportedError) as caught:
        symconv.from_torch(Forward(forward), (3, 6, 6))
    assert message in str(caught.value)


def test_an_uneven_chunk_is_refused_where_torch_gives_unequal_parts() -> None:
    """torch.chunk cuts 7 channels into 4 and 3: symconv reads equal parts only."""

    class Uneven(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 7, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x).chunk(2, dim=1)[1]

    with pytest.raises(symconv.SymconvError) as caught:
        symconv.from_torch(Uneven(), (3, 5, 5))
    assert "the channels (7) must be divisible by chunks (2)" in str(caught.value)
