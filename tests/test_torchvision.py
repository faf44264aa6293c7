"""torchvision's CNNs read by from_torch, PyTorch as the oracle: output shape and parameter
count at the usual input, and with symbolic H x W, the closed form substituted at three
sizes against a forward pass at each (all on the meta device, without weights).

A representative set, kept fast: squeeze-and-excitation (EfficientNet B0 and V2-S with
stochastic depth, MobileNetV3 small and large, RegNetY), spatial means (MNASNet, S3D), and
models that imported before (ResNet, MobileNetV2, RegNetX, SqueezeNet, GoogLeNet,
Inception v3, VGG, AlexNet, the 3-D ResNet), segmentation models returning {'out': ...}
upsampled back to their input's size (FCN, DeepLabV3 with its ASPP pooling branch),
channel split and shuffle (ShuffleNetV2), channels-last sections, LayerNorm2d and layer scale
(ConvNeXt), dense blocks read with named tensors (DenseNet-121), and LR-ASPP's product of
tensors from two depths resized to a third's size (named tensors too).
bench/bench_torchvision.py runs all 78.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torchvision_zoo import build, cnn_names, import_torchvision, input_shape, torch_answer

import symconv

EXACT = [
    "efficientnet_b0", "efficientnet_v2_s", "mobilenet_v3_small", "mobilenet_v3_large",
    "regnet_y_400mf", "regnet_y_800mf", "mnasnet0_5", "mnasnet1_0", "s3d",
    "resnet18", "resnet50", "mobilenet_v2", "regnet_x_400mf", "squeezenet1_1", "googlenet",
    "inception_v3", "vgg11_bn", "alexnet", "r3d_18",
    "fcn_resnet50", "deeplabv3_mobilenet_v3_large", "shufflenet_v2_x0_5", "convnext_tiny",
    "densenet121", "lraspp_mobilenet_v3_large",
]

SYMBOLIC = ["efficientnet_b0", "mobilenet_v3_small", "regnet_y_400mf", "mnasnet0_5",
            "resnet18", "mobilenet_v2", "deeplabv3_mobilenet_v3_large", "shufflenet_v2_x0_5",
            "convnext_tiny", "densenet121"]
SIZES = [(224, 224), (193, 257), (96, 64)]


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    """Each model built once for the module's tests."""
    import_torchvision()
    return {}


def _model(models: dict[str, Any], name: str) -> Any:
    if name not in models:
        models[name] = build(name)
    return models[name]


@pytest.mark.parametrize("name", EXACT)
def test_from_torch_agrees_with_torch(models: dict[str, Any], name: str) -> None:
    model = _model(models, name)
    shape = input_shape(name)
    network = symconv.from_torch(model, shape)
    unused = sum(u.params for u in network.unused_parameters)  # GoogLeNet's auxiliary heads
    got = (tuple(int(v) for v in network.output_shape()), int(network.params()) + unused)
    assert got == torch_answer(model, shape)


@pytest.mark.parametrize("name", SYMBOLIC)
def test_symbolic_height_and_width_substituted_agree_with_torch(
        models: dict[str, Any], name: str) -> None:
    model = _model(models, name)
    network = symconv.from_torch(model)  # C x H x W with H, W symbols
    assert [str(v) for v in network.input_shape] == ["3", "H", "W"]
    for h, w in SIZES:
        records = network.records(H=h, W=w)
        got = (tuple(int(v) for v in records[-1].output_shape),
               sum(int(r.params) for r in records))
        shape, params = torch_answer(model, (3, h, w))
        assert got == (shape, params - sum(u.params for u in network.unused_parameters))


def test_squeeze_and_excitation_is_a_scale_block() -> None:
    model = build("mobilenet_v3_small")
    network = symconv.from_torch(model, (3, 224, 224))

    def kinds(records: Any) -> list[str]:
        return [k for r in records for k in (r.kind, *kinds(r.children))]

    found = kinds(network.records())
    assert found.count("scale") == 9  # the SE blocks of MobileNetV3-small
    assert "hardsigmoid" in found and "hardswish" in found


def test_stochastic_depth_reads_as_the_identity() -> None:
    tv = import_torchvision()
    depth = tv.ops.StochasticDepth(0.2, "row")
    model = nn.Sequential(nn.Conv2d(3, 4, 3), depth, nn.ReLU())
    network = symconv.from_torch(model, (3, 8, 8))
    assert [r.kind for r in network.table()] == ["conv2d", "identity", "relu"]
    with torch.no_grad():
        assert tuple(model.eval()(torch.zeros(1, 3, 8, 8)).shape[1:]) == network.output_shape()


def test_a_stochastic_depth_that_computes_otherwise_is_traced_into() -> None:
    tv = import_torchvision()

    class Halving(tv.ops.StochasticDepth):  # type: ignore[name-defined,misc]
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, :1]

    with pytest.raises(symconv.UnsupportedError) as caught:
        symconv.from_torch(nn.Sequential(nn.Conv2d(3, 4, 3), Halving(0.2, "row")), (3, 8, 8))
    assert "'1' (Halving)" in str(caught.value)


def test_the_zoo_lists_the_78_cnns() -> None:
    names = cnn_names()
    assert len(names) == 78
    assert not [n for n in names if n.startswith(("vit_", "swin", "maxvit", "mvit"))]
    assert {"efficientnet_b0", "deeplabv3_resnet50", "s3d", "densenet121"} <= set(names)


@pytest.mark.parametrize("name", ["efficientnet_b0", "mobilenet_v3_small", "mnasnet0_5",
                                  "shufflenet_v2_x0_5"])
def test_the_written_code_builds_the_same_model_and_reads_back(
        models: dict[str, Any], name: str) -> None:
    model = _model(models, name)
    network = symconv.from_torch(model, (3, 224, 224))
    namespace: dict[str, Any] = {}
    with torch.device("meta"):
        exec(network.to_torch_code(), namespace)
    written = namespace["net"].eval()
    assert torch_answer(written, (3, 224, 224)) == torch_answer(model, (3, 224, 224))
    back = symconv.from_torch(written, (3, 224, 224))
    assert [r.kind for r in back.table()] == [r.kind for r in network.table()]
