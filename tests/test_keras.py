"""Keras 3 as the oracle for TensorFlow's convention: a grid of random layers (convolutions of
1 to 3 axes, transposed and depthwise convolutions, max and average pooling; strides,
dilations, both paddings), each written in symconv's language under `convention tensorflow`
and compared with Keras's `compute_output_shape` and `count_params()`; a sample checked again
by a real forward pass. Keras runs on its torch backend (TensorFlow is not needed)."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported (here, or anywhere)
import keras  # the keras extra, part of the test extra
import numpy as np

import symconv
from symconv.engine.formulas import tf_same_padding

# (the Keras class, spatial axes, symconv's layer word)
KINDS = {
    "Conv1D": (1, "conv"), "Conv2D": (2, "conv"), "Conv3D": (3, "conv"),
    "Conv2DTranspose": (2, "convt"), "DepthwiseConv2D": (2, "conv"),
    "MaxPooling1D": (1, "maxpool"), "MaxPooling2D": (2, "maxpool"),
    "MaxPooling3D": (3, "maxpool"), "AveragePooling1D": (1, "avgpool"),
    "AveragePooling2D": (2, "avgpool"), "AveragePooling3D": (3, "avgpool"),
}
CHANNELS, FILTERS, MULTIPLIER = 3, 4, 2


@dataclass(frozen=True)
class Case:
    kind: str
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: str  # Keras's: 'valid' or 'same'
    size: tuple[int, ...]  # the input's spatial sizes

    def __str__(self) -> str:
        return (f"{self.kind}-k{self.kernel}-s{self.stride}-d{self.dilation}-{self.padding}-"
                f"n{self.size}").replace(" ", "")

    def keras_layer(self) -> keras.layers.Layer:
        cls = getattr(keras.layers, self.kind)
        if self.kind.startswith(("Max", "Average")):
            return cls(self.kernel, strides=self.stride, padding=self.padding)
        if self.kind == "DepthwiseConv2D":
            return cls(self.kernel, strides=self.stride, padding=self.padding,
                       dilation_rate=self.dilation, depth_multiplier=MULTIPLIER)
        return cls(FILTERS, self.kernel, strides=self.stride, padding=self.padding,
                   dilation_rate=self.dilation)

    def description(self) -> str:
        """The layer in symconv's language, TensorFlow's convention."""
        word = KINDS[self.kind][1]
        size = " x ".join(str(n) for n in (CHANNELS, *self.size))
        p = "same" if self.padding == "same" else "0"
        args = f"k={tup(self.kernel)} s={tup(self.stride)} p={p}"
        if word in ("conv", "convt"):
            args += f" d={tup(self.dilation)}"
        if self.kind == "DepthwiseConv2D":
            layer = f"conv {CHANNELS * MULTIPLIER} {args} g={CHANNELS}"
        elif word == "convt":
            layer = f"convt {FILTERS} {args}"
            if self.padding == "valid":
                # Keras's 'valid' transposed output n·s + max(d(k-1)+1 - s, 0): PyTorch's
                # formula with the output_padding max(s - d(k-1) - 1, 0), below s as it must be
                ops = [max(s - d * (k - 1) - 1, 0)
                       for k, s, d in zip(self.kernel, self.stride, self.dilation, strict=True)]
                layer += f" op={tup(ops)}"
        elif word == "conv":
            layer = f"conv {FILTERS} {args}"
        else:
            layer = f"{word} {args}"
        return f"convention tensorflow\ninput {size}\n{layer}\n"


def tup(values: tuple[int, ...] | list[int]) -> str:
    """A tuple as the language writes it: (3, 5), or (3,) for one axis."""
    return "(" + ", ".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"


def _cases(count: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    kinds = sorted(KINDS)
    out = []
    while len(out) < count:
        kind = kinds[len(out) % len(kinds)]
        rank = KINDS[kind][0]
        kernel = tuple(rng.randint(1, 5) for _ in range(rank))
        stride = ((1,) * rank if rng.random() < .3
                  else tuple(rng.randint(1, 4) for _ in range(rank)))
        dilation = (1,) * rank
        # Keras takes a dilation above 1 only with stride 1; pools have none
        if not kind.startswith(("Max", "Average")) and set(stride) == {1} and rng.random() < .6:
            dilation = tuple(rng.randint(1, 3) for _ in range(rank))
        padding = rng.choice(("valid", "same"))
        size = tuple(rng.randint(d * (k - 1) + 1 if padding == "valid" else 1,
                                 (d * (k - 1) + 1) + (9 if rank < 3 else 4))
                     for k, d in zip(kernel, dilation, strict=True))
        out.append(Case(kind, kernel, stride, dilation, padding, size))
    return out


CASES = _cases(330, seed=20261201)


def _channels_first(shape: tuple[int | None, ...]) -> tuple[int, ...]:
    """Keras's (batch, *spatial, channels) as symconv's (channels, *spatial)."""
    return (int(shape[-1]), *(int(n) for n in shape[1:-1]))  # type: ignore[arg-type]


def test_the_grid_covers_every_kind_padding_stride_and_dilation() -> None:
    assert {c.kind for c in CASES} == set(KINDS)
    for kind in KINDS:
        mine = [c for c in CASES if c.kind == kind]
        assert {c.padding for c in mine} == {"valid", "same"}, kind
        assert any(max(c.stride) > 1 and c.padding == "same" for c in mine), kind
        # an uneven 'same' padding: more after than before along some axis
        assert any(c.padding == "same" and any(
            tf_same_padding(n, k, s, d)[1] > tf_same_padding(n, k, s, d)[0]
            for n, k, s, d in zip(c.size, c.kernel, c.stride, c.dilation, strict=True))
            for c in mine), kind
        if not kind.startswith(("Max", "Average")):
            assert any(max(c.dilation) > 1 for c in mine), kind


@pytest.mark.parametrize("case", CASES, ids=str)
def test_each_layer_agrees_with_keras(case: Case) -> None:
    layer = case.keras_layer()
    shape = (1, *case.size, CHANNELS)
    want = _channels_first(layer.compute_output_shape(shape))
    layer.build(shape)
    net = symconv.parse(case.description())
    row = net.table()[-1]
    assert tuple(int(v) for v in row.output_shape) == want, case.description()
    assert int(row.params) == layer.count_params(), case.description()


# Keras's forward pass agrees with its compute_output_shape on every layer of this sample
# (torch backend, keras 3.15): no case to name. Checked on every eleventh layer of the grid.
@pytest.mark.parametrize("case", CASES[::11], ids=str)
def test_keras_forward_pass_agrees_with_its_output_shape(case: Case) -> None:
    layer = case.keras_layer()
    shape = (1, *case.size, CHANNELS)
    x = np.random.default_rng(0).random(shape, dtype="float32")
    got = tuple(int(n) for n in layer(x).shape)
    assert got == tuple(layer.compute_output_shape(shape))
    net = symconv.parse(case.description())
    assert tuple(int(v) for v in net.table()[-1].output_shape) == _channels_first(got)


@pytest.mark.parametrize(("kind", "size"), [
    ("Conv2D", 3), ("MaxPooling2D", 2), ("AveragePooling1D", 1), ("Conv1D", 4),
])
def test_a_valid_window_longer_than_the_input_is_refused_by_both(kind: str, size: int) -> None:
    rank = KINDS[kind][0]
    case = Case(kind, (5,) * rank, (1,) * rank, (1,) * rank, "valid", (size,) * rank)
    layer = case.keras_layer()
    shape = (1, *case.size, CHANNELS)
    with pytest.raises(ValueError):
        out = layer.compute_output_shape(shape)
        if any(n is not None and n < 1 for n in out[1:]):  # Keras says so in the shape
            raise ValueError(out)
    with pytest.raises(symconv.SymconvError, match="the input is too small for this window"):
        symconv.parse(case.description()).table()
