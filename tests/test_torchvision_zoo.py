"""Every convolutional model of torchvision (tests/torchvision_zoo.py: 78 constructors, the
transformers left out), read by from_torch, each checked four ways:

- output shape and parameter count at the usual input, PyTorch the oracle;
- with symbolic H x W (D x H x W for video), the closed form substituted at three sizes
  against a forward pass at each;
- the multiply-adds of the convolutions and linear layers against fvcore's
  FlopCountAnalysis (one fused multiply-add is one of its "flops"), on the CPU at a small
  input; what else fvcore counts follows conventions of its own (docs/conventions.md);
- the code to_torch_code writes (its imports and helper classes included) builds the same
  model, and reads back through from_torch to the same network; a plain nn.Sequential, as
  pasted after an `input` line, reads back through the description reader too.

from_torch reads all 78 (a refusal fails the test with from_torch's message); torchvision's
transformers, out of scope, are each listed in docs/tutorial-python.md and refused by name
(never answered wrong). The heavier half
carries the `zoo` marker: `python -m pytest` runs everything, `-m 'not zoo'` leaves it out of
a quick local run. Measured on the 2-core machine at load 2: the quick half 55 s, the heavy
half 2.5 min (40 s of it DenseNet's 10 s each); under load 4-10, 4.2 and 13 min. fvcore's
trace takes about half.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import torch
from oracle_cases import canonical
from torchvision_zoo import (
    TRANSFORMERS,
    build,
    cnn_names,
    import_torchvision,
    input_shape,
    torch_answer,
)

import symconv
from symconv.language.layers import Conv, ConvTranspose, Linear

NAMES = cnn_names()

# The heavier half: the models that took longest over the four tests (2.5 of 3.4 min for
# all 78 at load 2 on 2 cores), but for one small model per family
# (EfficientNet B0, RegNetX and RegNetY 400MF, DeepLabV3 MobileNetV3), kept in the quick run.
HEAVY = ("deeplabv3_resnet101", "deeplabv3_resnet50", "densenet121", "densenet161",
         "densenet169", "densenet201", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
         "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
         "efficientnet_v2_l", "efficientnet_v2_m", "efficientnet_v2_s", "fcn_resnet101",
         "inception_v3", "mobilenet_v3_large", "regnet_x_32gf", "regnet_x_3_2gf",
         "regnet_x_8gf", "regnet_y_128gf", "regnet_y_16gf", "regnet_y_1_6gf", "regnet_y_32gf",
         "regnet_y_3_2gf", "regnet_y_800mf", "regnet_y_8gf", "resnet101", "resnet152",
         "resnext101_32x8d", "resnext101_64x4d", "s3d", "wide_resnet101_2")

PARAMS = [pytest.param(name, marks=pytest.mark.zoo) if name in HEAVY else name
          for name in NAMES]


@cache
def model(name: str) -> Any:
    return build(name)


@cache
def network(name: str) -> symconv.Network | symconv.SymconvError:
    """The model read at its usual input, or the error from_torch refuses it with."""
    try:
        return symconv.from_torch(model(name), input_shape(name))
    except symconv.SymconvError as error:
        return error


def imported(name: str) -> symconv.Network:
    """The network (from_torch reads every convolutional model of torchvision)."""
    found = network(name)
    assert not isinstance(found, symconv.SymconvError), f"{name} is refused: {found}"
    return found


@pytest.mark.parametrize("name", PARAMS)
def test_reads_exactly(name: str) -> None:
    found = imported(name)
    # PyTorch counts the parameters the forward never uses (GoogLeNet's auxiliary heads)
    unused = sum(u.params for u in found.unused_parameters)
    got = (tuple(int(v) for v in found.output_shape()), int(found.params()) + unused)
    assert got == torch_answer(model(name), input_shape(name))


# Three sizes per model: the usual one, an odd one and a small one (D x H x W for video).
def sizes(name: str) -> list[tuple[int, ...]]:
    shape = input_shape(name)
    if name == "s3d":  # its last pooling window is 2 x 7 x 7 after strides 8 x 32 x 32
        return [shape[1:], (17, 225, 251), (16, 224, 224)]
    if len(shape) == 4:
        return [shape[1:], (9, 97, 130), (4, 32, 32)]
    if name == "inception_v3":  # its smallest input is 75 x 75
        return [shape[1:], (193, 257), (75, 80)]
    return [shape[1:], (193, 257), (64, 64)]


@cache
def symbolic(name: str) -> symconv.Network:
    """The model read without an input size: C x H x W (C x D x H x W) with symbols."""
    return symconv.from_torch(model(name))


def axes(name: str) -> tuple[str, ...]:
    return ("D", "H", "W") if len(input_shape(name)) == 4 else ("H", "W")


@pytest.mark.parametrize("name", PARAMS)
def test_symbolic_sizes_substituted_agree_with_torch(name: str) -> None:
    read = imported(name)
    net = symbolic(name)
    assert [str(v) for v in net.input_shape] == ["3", *axes(name)]
    unused = sum(u.params for u in read.unused_parameters)
    for size in sizes(name):
        records = net.records(**dict(zip(axes(name), size, strict=True)))
        got = (tuple(int(v) for v in records[-1].output_shape),
               sum(int(r.params) for r in records) + unused)
        assert got == torch_answer(model(name), (3, *size)), size


def conv_linear_macs(records: Any) -> int:
    """symconv's multiply-adds of the convolutions and linear layers among the records."""
    return sum(conv_linear_macs(r.children) if r.children
               else int(r.macs) if isinstance(r.layer, Conv | ConvTranspose | Linear) else 0
               for r in records)


# fvcore's operators that are convolutions or matrix products (aten::_convolution is
# "conv"; aten::linear, addmm, matmul, mm, bmm, einsum by their names).
FVCORE_PRODUCTS = ("conv", "linear", "addmm", "matmul", "mm", "bmm", "einsum")


def fvcore_operators(name: str, size: tuple[int, ...]) -> dict[str, int]:
    """fvcore's count per operator for the model at the input 3 x `size`, batch 1: the model
    on the CPU with zeros for its parameters and buffers (no initialisation), traced by
    torch.jit."""
    cpu = build(name).to_empty(device="cpu")
    with torch.no_grad():
        for tensor in (*cpu.parameters(), *cpu.buffers()):
            tensor.zero_()
    with warnings.catch_warnings():
        # torch.jit's deprecation, which fvcore's import meets, and the tracer's warnings
        # about the models' own code
        warnings.simplefilter("ignore")
        from fvcore.nn import FlopCountAnalysis

        analysis = FlopCountAnalysis(cpu, torch.zeros(1, 3, *size))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return dict(analysis.by_operator())  # the trace runs here


@pytest.mark.parametrize("name", PARAMS)
def test_conv_and_linear_multiply_adds_agree_with_fvcore(name: str) -> None:
    imported(name)
    size = sizes(name)[-1]
    ours = conv_linear_macs(symbolic(name).records(**dict(zip(axes(name), size, strict=True))))
    counted = fvcore_operators(name, size)
    assert ours == sum(v for k, v in counted.items() if k in FVCORE_PRODUCTS)
    assert counted.get("conv", 0) > 0


@pytest.mark.parametrize("name", PARAMS)
def test_written_code_builds_the_model_and_reads_back(name: str) -> None:
    read = imported(name)
    shape = input_shape(name)
    code = read.to_torch_code()
    namespace: dict[str, Any] = {}
    with torch.device("meta"):
        exec(compile(code, f"<to_torch_code of {name}>", "exec"), namespace)
    written = namespace["net"].eval()
    out, params = torch_answer(model(name), shape)
    unused = sum(u.params for u in read.unused_parameters)  # never called: not written
    assert torch_answer(written, shape) == (out, params - unused)
    assert canonical(symconv.from_torch(written, shape)) == canonical(read)
    if "\nclass " in code:  # helper classes (Residual, Concat, ...) are Python, not layers
        return
    pasted = "input " + " x ".join(map(str, shape)) + "\n" + code[code.index("net = "):]
    assert symconv.parse(pasted) == read


TRANSFORMER_SHAPES = {"swin3d_": (3, 16, 224, 224), "mvit_": (3, 16, 224, 224)}


def transformer_names() -> list[str]:
    tv = import_torchvision()
    found = []
    for module in (tv.models, tv.models.segmentation, tv.models.video):
        found += [n for n in tv.models.list_models(module=module) if n.startswith(TRANSFORMERS)]
    return sorted(found)


def test_the_docs_list_every_transformer_out_of_scope() -> None:
    page = (Path(__file__).parent.parent / "docs" / "tutorial-python.md").read_text()
    listed = page[page.index("#### Out of scope: torchvision's transformers"):]
    assert transformer_names() and all(f"`{n}`" in listed for n in transformer_names())


@pytest.mark.parametrize("name", ["vit_b_16", "swin_t", "swin3d_t", "maxvit_t", "mvit_v2_s"])
def test_a_transformer_is_refused_by_name(name: str) -> None:
    with torch.device("meta"):
        built = import_torchvision().models.get_model(name, weights=None).eval()
    shape = next((s for start, s in TRANSFORMER_SHAPES.items() if name.startswith(start)),
                 (3, 224, 224))
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.from_torch(built, shape)
    assert "directly" in str(caught.value) and "symconv reads parameters only through the " \
        "layer modules that own them" in str(caught.value)
