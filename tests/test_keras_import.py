"""symconv.from_keras against Keras 3 itself (torch backend): keras.applications' MobileNet,
ResNet50, InceptionV3 and EfficientNetB0 (weights=None) and a table of small hand models, each
layer's output shape (Keras's channels-last shape as symconv's C x H x W) and the parameters:
symconv's are Keras's trainable weights; count_params() adds the non-trainable ones (batch
normalisation's moving mean and variance, Normalization's statistics)."""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sympy

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported (here, or anywhere)
import keras  # the keras extra, part of the test extra
from keras import layers as L

import symconv
from symconv.engine.trace import Record
from symconv.language.layers import BatchNorm


def channels_first(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Keras's (batch, *spatial, channels) as symconv's (channels, *spatial)."""
    sizes = tuple(shape[1:])
    return tuple(int(n) for n in (sizes[-1:] + sizes[:-1]))


def weights(ws: list[Any]) -> int:
    return sum(math.prod(int(n) for n in w.shape) for w in ws)


def all_records(records: tuple[Record, ...]) -> Iterator[Record]:
    for r in records:
        yield r
        yield from all_records(r.children)


def layer_name(record: Record) -> str:
    source = getattr(record.layer, "source", None)
    return getattr(source, "path", "")


def check_model(model: keras.Model) -> symconv.Network:
    """from_keras agrees with the model: every named layer's output shape (the last record a
    Keras layer became: a separable convolution is two), the output, the parameters."""
    net = symconv.from_keras(model)
    records = net.records()
    last: dict[str, Record] = {}
    for r in all_records(records):
        if layer_name(r):
            last[layer_name(r)] = r
    for layer in model.layers:
        if layer.name not in last:
            # a model used as a layer is its own layers, and a global pooling before a
            # reshape to 1 x 1 x C one row with it (named for the reshape)
            assert isinstance(layer, L.InputLayer | L.GlobalAveragePooling2D | keras.Model), (
                layer.name)
            continue
        want = channels_first(layer.output.shape)
        assert tuple(int(v) for v in last[layer.name].output_shape) == want, layer.name
    out = model.outputs[0].shape
    want = channels_first(out) if len(out) > 2 else (int(out[1]),)
    assert tuple(int(v) for v in net.output_shape()) == want
    assert int(net.params()) == weights(model.trainable_weights)
    frozen = weights(model.non_trainable_weights)
    assert model.count_params() == int(net.params()) + frozen
    # the non-trainable numbers are the moving statistics of symconv's batch normalisations
    # (2C each) and a Normalization layer's mean, variance and count (2C + 1)
    moving = sum(2 * int(r.input_shape[0]) for r in all_records(records)
                 if isinstance(r.layer, BatchNorm))
    normalizations = [ly for ly in model.layers if isinstance(ly, L.Normalization)]
    assert frozen == moving + sum(weights(ly.non_trainable_weights) for ly in normalizations)
    return net


APPLICATIONS = ["MobileNet", "ResNet50", "InceptionV3", "EfficientNetB0"]


@functools.cache
def application(name: str) -> keras.Model:
    """keras.applications' model, built once for this file (weights=None)."""
    return getattr(keras.applications, name)(weights=None)


@pytest.mark.parametrize("name", APPLICATIONS)
def test_keras_applications(name: str, record_property: Callable[[str, object], None],
                            capsys: pytest.CaptureFixture[str]) -> None:
    model = application(name)
    start = time.perf_counter()
    net = check_model(model)
    seconds = time.perf_counter() - start
    record_property("from_keras_seconds", round(seconds, 3))
    with capsys.disabled():
        print(f"\n  from_keras({name}): {seconds:.2f} s, {int(net.params()):,} parameters")
    assert net.input_shape == channels_first(model.inputs[0].shape)


# ---------------------------------------------------------------- small hand models


def seq(shape: tuple[int, ...], *layers: keras.Layer) -> keras.Model:
    return keras.Sequential([keras.Input(shape), *layers])


def se_block() -> keras.Model:
    x = keras.Input((9, 9, 16))
    s = L.GlobalAveragePooling2D()(x)
    s = L.Reshape((1, 1, 16))(s)
    s = L.Conv2D(4, 1, activation="relu")(s)
    s = L.Conv2D(16, 1, activation="sigmoid")(s)
    return keras.Model(x, L.Multiply()([x, s]))


def residual_and_concat() -> keras.Model:
    x = keras.Input((17, 17, 8))
    a = L.Conv2D(8, 3, padding="same", use_bias=False)(x)
    a = L.BatchNormalization(scale=False)(a)
    y = L.Add()([x, a])
    b1 = L.Conv2D(4, 1)(y)
    b2 = L.MaxPooling2D(3, strides=1, padding="same")(y)
    b3 = L.SeparableConv2D(6, 3, padding="same", depth_multiplier=2)(y)
    z = L.Concatenate()([b1, b2, b3])
    z = L.Conv2D(10, 3, strides=2, padding="same")(z)
    return keras.Model(x, L.GlobalMaxPooling2D()(z))


def nested() -> keras.Model:
    inner = seq((8, 8, 4), L.Conv2D(4, 3, padding="same"), L.ReLU(6.0))
    x = keras.Input((8, 8, 4))
    return keras.Model(x, L.Add()([x, inner(x)]))


HAND = {
    "conv-stack": lambda: seq((32, 32, 3), L.Conv2D(8, 3, strides=2, padding="same"),
                              L.BatchNormalization(), L.ReLU(), L.Conv2D(16, 5, strides=2),
                              L.Flatten(), L.Dropout(0.5), L.Dense(10, activation="softmax")),
    "zero-pad-then-valid": lambda: seq((15, 16, 3), L.ZeroPadding2D(((0, 1), (1, 2))),
                                       L.Conv2D(4, 3, strides=2), L.AveragePooling2D(2)),
    "depthwise-separable": lambda: seq((20, 20, 6), L.DepthwiseConv2D(3, 2, padding="same",
                                                                      depth_multiplier=3),
                                       L.SeparableConv2D(5, (3, 1), padding="same"),
                                       L.DepthwiseConv2D(3, use_bias=False)),
    "transposed": lambda: seq((5, 6, 3), L.Conv2DTranspose(4, 3, strides=2, padding="same"),
                              L.Conv2DTranspose(2, 2, strides=3),
                              L.Conv2DTranspose(3, 4, strides=2, padding="same",
                                                output_padding=1)),
    "conv1d-causal": lambda: seq((50, 2), L.Conv1D(4, 5, padding="causal", dilation_rate=2),
                                 L.MaxPooling1D(3, padding="same"),
                                 L.GlobalAveragePooling1D(keepdims=True), L.Flatten()),
    "conv3d": lambda: seq((7, 9, 9, 2), L.Conv3D(3, (3, 2, 3), strides=(1, 2, 2),
                                                 padding="same"),
                          L.MaxPooling3D(2, padding="same"), L.ZeroPadding3D(1),
                          L.AveragePooling3D(2)),
    "dense-on-channels": lambda: seq((6, 6, 5), L.Dense(7), L.Activation("swish"),
                                     L.Rescaling(1 / 255), L.SpatialDropout2D(0.1),
                                     L.GlobalAveragePooling2D(), L.Dense(3, use_bias=False)),
    "normalization": lambda: seq((8, 8, 3), L.Normalization(mean=0.5, variance=0.2),
                                 L.Conv2D(2, 3), L.Reshape((-1,))),
    "squeeze-excitation": se_block,
    "residual-concat": residual_and_concat,
    "nested-model": nested,
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_models_parameter_table(name: str) -> None:
    check_model(HAND[name]())


def test_shapes_are_channels_first_and_same_is_tensorflows() -> None:
    net = symconv.from_keras(seq((225, 224, 3), L.Conv2D(8, 3, strides=2, padding="same")))
    assert net.input_shape == (3, 225, 224)
    assert net.output_shape() == (8, 113, 112)
    assert net.table()[0].start == (0, 1)  # 225 pads 1 before, 224 none
    text = str(symconv.derive(net))
    assert "ceiling(225/2)" in text


def test_open_sizes_are_symbols() -> None:
    net = symconv.from_keras(seq((None, None, 3), L.Conv2D(8, 3, strides=2, padding="same")))
    H, W = symconv.symbol("H"), symconv.symbol("W")
    assert net.output_shape() == (8, sympy.ceiling(H / 2), sympy.ceiling(W / 2))


# ---------------------------------------------------------------- refusals


def two_inputs() -> keras.Model:
    a, b = keras.Input((4, 4, 2)), keras.Input((4, 4, 2))
    return keras.Model([a, b], L.Add()([a, b]))


def spatial_concat() -> keras.Model:
    x = keras.Input((4, 4, 2))
    return keras.Model(x, L.Concatenate(axis=1)([L.Conv2D(2, 1)(x), x]))


def subtract() -> keras.Model:
    x = keras.Input((4, 4, 2))
    return keras.Model(x, L.Subtract()([L.Conv2D(2, 1)(x), x]))


@pytest.mark.parametrize(("build", "message"), [
    (lambda: seq((8, 8, 3), L.UpSampling2D()),
     "layer 'up_sampling2d"),
    (lambda: seq((8, 8, 3), L.UpSampling2D()),
     "(UpSampling2D) is not a layer symconv reads; it reads Conv1D-3D"),
    (two_inputs, "has 2 inputs and 1 outputs; symconv reads models with one input and one "
                 "output"),
    (spatial_concat, "(Concatenate) joins along axis 1; symconv reads concatenations of the "
                     "channels"),
    (subtract, "layer 'subtract' (Subtract) takes 2 tensors; symconv reads branches that "
               "meet in Add, Concatenate or Multiply"),
    (lambda: keras.Sequential([L.Conv2D(2, 3)]), "is not built: give it an input "
                                                 "(keras.Input(shape)) or call model.build"),
    (lambda: seq((8, 8, 3), L.Reshape((4, 16, 3))),
     "(Reshape): it reshapes (8, 8, 3) to (4, 16, 3); symconv reads a reshape to flat "
     "features, or of C features to 1 x ... x 1 x C"),
    (lambda: seq((8, 8, 3), L.BatchNormalization(axis=1)),
     "(BatchNormalization): it normalises axis 1; symconv reads batch normalisation of the "
     "channels"),
])
def test_refusals_name_the_layer_and_the_rule(build: Callable[[], keras.Model],
                                              message: str) -> None:
    try:
        model = build()
    except ValueError as error:  # Keras refused the model itself
        pytest.fail(f"Keras refused the model: {error}")
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.from_keras(model)
    assert message in str(caught.value)


def test_not_a_model_is_refused() -> None:
    with pytest.raises(symconv.SymconvError, match="from_keras takes a Keras model, not Conv2D"):
        symconv.from_keras(L.Conv2D(2, 3))


# ---------------------------------------------------------------- the examples in TensorFlow's


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name: str) -> symconv.Network:
    return symconv.parse((EXAMPLES / f"{name}.net").read_text(encoding="utf-8"))


# (example, its Keras application, the layer: a comment on its line in the example or the
# last record, its name in the Keras model, published receptive field, stride, padding)
PUBLISHED = [
    ("mobilenet_v1", "MobileNet", "# Conv2d_13_pointwise", "conv_pw_13", 315, 32, 126),
    ("inception_v3_tf", "InceptionV3", None, "mixed10", 1311, 32, None),
]


@pytest.mark.parametrize(("name", "app", "comment", "keras_name", "r", "stride", "padding"),
                         PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_examples_match_published_fields_and_keras(name: str, app: str, comment: str | None,
                                                   keras_name: str, r: int, stride: int,
                                                   padding: int | None) -> None:
    net = example(name)
    records = net.records()
    index = records[-1].index if comment is None else _commented(name, net, comment)
    if comment is None:  # the last block with spatial axes
        index = max(rec.index for rec in records if len(rec.output_shape) > 1)
    for form in net.closed_forms(index):
        assert (form.receptive_field, form.stride) == (r, stride)
        if padding is not None:
            assert form.padding == padding
    # from_keras of the application: the same shape, parameters and field at that layer
    model = application(app)
    read = symconv.from_keras(model)
    assert net.output_shape() == read.output_shape()
    assert net.params() == read.params() == weights(model.trainable_weights)
    assert net.input_shape == read.input_shape
    at = next(rec for rec in read.records() if layer_name(rec) == keras_name)
    for form in read.closed_forms(at.index):
        assert (form.receptive_field, form.stride) == (r, stride)
        if padding is not None:
            assert form.padding == padding


def _commented(name: str, net: symconv.Network, comment: str) -> int:
    lines = (EXAMPLES / f"{name}.net").read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, start=1) if comment in line)
    return next(rec.index for rec in net.records()
                if rec.layer.source is not None and rec.layer.source.line == number)


def _dense_block() -> keras.Model:
    x = keras.Input((9, 9, 3))
    y1 = L.Conv2D(4, 3, padding="same", name="y1")(x)
    y2 = L.Conv2D(4, 3, padding="same", name="y2")(L.Concatenate()([x, y1]))
    return keras.Model(x, L.Concatenate()([x, y1, y2]))


def _shared_layer() -> keras.Model:
    x = keras.Input((8, 8, 4))
    conv = L.Conv2D(4, 3, padding="same", name="shared")
    return keras.Model(x, conv(conv(x)))


@pytest.mark.parametrize(("make", "message"), [
    (_dense_block, "the output of layer 'y1' (Conv2D) is read by more than one join (as in a "
                   "dense block); from_keras reads branches that leave one tensor and meet "
                   "again, and would count its layers twice"),
    (_shared_layer, "layer 'shared' (Conv2D) is called more than once (one layer, shared): "
                    "from_keras would count its parameters twice"),
])
def test_a_graph_it_would_copy_is_refused_never_counted_twice(make: Any, message: str) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.from_keras(make())
    assert message in str(caught.value)
