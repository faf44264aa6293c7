"""torchvision's convolutional models, built as an engineer would bring them: every
constructor of classification, segmentation and video models but the transformers, with
`weights=None` (and `weights_backbone=None`) on the meta device, so nothing is downloaded
and no memory is filled. Shared by tests/test_torchvision.py and bench/bench_torchvision.py.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from unittest.mock import patch

import torch

# The transformers are out of scope: symconv reads convolutional networks.
TRANSFORMERS = ("vit_", "swin", "maxvit", "mvit")


def import_torchvision() -> Any:
    """torchvision, also where its compiled operators cannot load beside the torch in use (a
    CUDA build of torchvision beside the CPU build of torch). Its model constructors need none
    of those operators, but its import registers meta kernels for two of them, which fails
    where they were never defined: their schemas are defined here first (never a kernel, so
    calling them still fails)."""
    try:
        torch.ops.torchvision.nms  # noqa: B018 (defined by torchvision's compiled library)
    except (AttributeError, RuntimeError):
        try:
            import torchvision.extension
        except RuntimeError:
            _define_schemas()
    import torchvision

    return torchvision


_LIBRARY: list[Any] = []


def _define_schemas() -> None:
    import sys

    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]  # the import that failed half-way is started again
    try:
        torch.ops.torchvision.nms  # noqa: B018
        return
    except (AttributeError, RuntimeError):
        pass
    library = torch.library.Library("torchvision", "DEF")
    library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.append(library)  # kept alive: the schemas live as long as the library object


def cnn_names() -> list[str]:
    """The constructors in scope, sorted: classification, segmentation, video CNNs."""
    tv = import_torchvision()
    models = tv.models
    names = []
    for module in (models, models.segmentation, models.video):
        names += [n for n in models.list_models(module=module)
                  if not n.startswith(TRANSFORMERS)]
    return sorted(names)


def build(name: str) -> Any:
    """The model `name` on the meta device, without weights, in eval mode."""
    tv = import_torchvision()
    kwargs: dict[str, Any] = {"weights": None}
    if name.startswith(("fcn_", "deeplabv3_", "lraspp_")):
        kwargs["weights_backbone"] = None
    # RegNet computes its stage widths with tensors while it is constructed (and reads
    # them back with .tolist()): that arithmetic runs on the CPU, the modules on meta.
    params = tv.models.regnet.BlockParams
    original = params.from_init_params.__func__

    def on_cpu(cls: Any, *args: Any, **kw: Any) -> Any:
        with torch.device("cpu"):
            return original(cls, *args, **kw)

    with torch.device("meta"), patch.object(params, "from_init_params", classmethod(on_cpu)), \
            warnings.catch_warnings():
        # GoogLeNet and Inception v3 warn that their default initialisation will change.
        warnings.simplefilter("ignore", FutureWarning)
        model = tv.models.get_model(name, **kwargs)
    return model.eval()


def input_shape(name: str) -> tuple[int, ...]:
    """The input without the batch axis: 3 x 16 x 112 x 112 for video (224 x 224 for S3D),
    else 3 x 224 x 224 (299 for Inception v3)."""
    if name == "s3d":
        return (3, 16, 224, 224)
    if name in ("mc3_18", "r2plus1d_18", "r3d_18"):
        return (3, 16, 112, 112)
    if name == "inception_v3":
        return (3, 299, 299)
    return (3, 224, 224)


def torch_answer(model: Any, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """(output shape without the batch axis, parameters) as PyTorch gives them: the shape
    from a forward pass on the meta device (of the one output a segmentation model returns
    in a dict, {'out': ...})."""
    with torch.no_grad():
        out = model(torch.zeros(1, *shape, device="meta"))
    if isinstance(out, dict):
        (out,) = out.values()
    return tuple(out.shape[1:]), sum(p.numel() for p in model.parameters())


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    seconds: float
    reason: str = ""


def try_import(name: str, from_torch: Callable[[Any, Any], Any]) -> Outcome:
    """Whether from_torch reads the model with PyTorch's output shape and parameter count."""
    model = build(name)
    shape = input_shape(name)
    start = time.perf_counter()
    try:
        network = from_torch(model, shape)
        # PyTorch counts the parameters the forward never uses (GoogLeNet's auxiliary
        # heads in eval mode) too: symconv lists them apart.
        unused = sum(u.params for u in network.unused_parameters)
        got = (tuple(int(v) for v in network.output_shape()), int(network.params()) + unused)
    except Exception as error:  # the report names every failure, whatever its type
        return Outcome(name, False, time.perf_counter() - start,
                       f"{type(error).__name__}: {str(error).splitlines()[0][:160]}")
    seconds = time.perf_counter() - start
    expected = torch_answer(model, shape)
    if got != expected:
        return Outcome(name, False, seconds, f"wrong: symconv {got}, PyTorch {expected}")
    return Outcome(name, True, seconds)
