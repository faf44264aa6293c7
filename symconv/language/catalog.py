"""What each layer's parameters mean: names, aliases, positional order, defaults.

This table is the only place that knows how `conv 64 k=3` and `nn.Conv2d(3, 64, 3)` spell a
layer; `build.py` reads it to turn raw statements into layers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Family(enum.Enum):
    CONV = "conv"
    CONV_TRANSPOSE = "convtranspose"
    MAX_POOL = "maxpool"
    AVG_POOL = "avgpool"
    ADAPTIVE_MAX_POOL = "adaptivemaxpool"
    ADAPTIVE_AVG_POOL = "adaptiveavgpool"
    FLATTEN = "flatten"
    LINEAR = "linear"
    BATCH_NORM = "batchnorm"
    ACTIVATION = "activation"
    DROPOUT = "dropout"
    GROUP_NORM = "groupnorm"
    LAYER_NORM = "layernorm"
    INSTANCE_NORM = "instancenorm"
    ZERO_PAD = "zeropad"
    CONSTANT_PAD = "constantpad"
    PIXEL_SHUFFLE = "pixelshuffle"
    PIXEL_UNSHUFFLE = "pixelunshuffle"
    UPSAMPLE = "upsample"
    GLOBAL_POOL = "globalpool"
    CHANNEL_SHUFFLE = "channelshuffle"
    CHUNK = "chunk"
    CHANNEL_NORM = "layernorm2d"
    LAYER_SCALE = "layerscale"


class Kind(enum.Enum):
    SIZE = "a size"  # one value
    AXES = "a size or one per spatial axis"  # broadcast scalar or tuple
    PADDING = "a size, one per axis, 'same' or 'valid'"
    OUTPUT_SIZE = "a size or one per spatial axis (None keeps the input's)"
    FLAG = "true or false"
    PADDING_MODE = "zeros, reflect, replicate or circular"
    ZEROS_ONLY = "zeros (the only mode of PyTorch's transposed convolutions)"
    RATE = "a probability between 0 and 1"
    DIM = "a dimension index"
    SHAPE = "a size or a tuple of sizes (the input's last axes)"
    PAD = "a size, or two per spatial axis (before, after), the last axis first as in PyTorch"
    NUMBER = "a number"
    SCALE = "a positive number or one per spatial axis"
    MODE = "nearest, nearest-exact, linear, bilinear, bicubic or trilinear"
    OPTIONAL_FLAG = "true or false (None: PyTorch's default)"
    IGNORED = "any value (it does not change shapes or counts)"


REQUIRED = object()  # default of a parameter that must be given


@dataclass(frozen=True, slots=True)
class Param:
    name: str  # PyTorch's keyword
    kind: Kind
    default: object = REQUIRED
    aliases: tuple[str, ...] = ()  # symconv's short spellings


@dataclass(frozen=True, slots=True)
class Spec:
    family: Family
    params: tuple[Param, ...]
    positional: tuple[str, ...]  # symconv's words: conv 64 ...
    torch_positional: tuple[str, ...]  # PyTorch's: nn.Conv2d(3, 64, 3, ...)
    flags: tuple[str, ...] = ()  # bare words that set a FLAG to true: avgpool k=2 ceil

    def param(self, name: str) -> Param | None:
        """The parameter called `name` or one of its aliases."""
        for p in self.params:
            if name == p.name or name in p.aliases:
                return p
        return None

    def spellings(self) -> list[str]:
        return [s for p in self.params for s in (p.name, *p.aliases)]


_K = Param("kernel_size", Kind.AXES, aliases=("k", "kernel"))
_S1 = Param("stride", Kind.AXES, 1, aliases=("s",))
_S_POOL = Param("stride", Kind.AXES, None, aliases=("s",))  # None: the kernel size
_P = Param("padding", Kind.PADDING, 0, aliases=("p", "pad"))
_D = Param("dilation", Kind.AXES, 1, aliases=("d",))
_G = Param("groups", Kind.SIZE, 1, aliases=("g",))
_BIAS = Param("bias", Kind.FLAG, True)
_IN_CH = Param("in_channels", Kind.SIZE, None, aliases=("in", "c_in"))
_OUT_CH = Param("out_channels", Kind.SIZE, aliases=("out", "c_out", "filters"))
_CEIL = Param("ceil_mode", Kind.FLAG, False, aliases=("ceil",))
# What fills the padding; PyTorch's ConvTranspose accepts 'zeros' only.
_MODE = Param("padding_mode", Kind.PADDING_MODE, "zeros", aliases=("mode",))
_MODE_ZEROS = Param("padding_mode", Kind.ZEROS_ONLY, "zeros", aliases=("mode",))
# The words each padding_mode kind takes.
PADDING_MODES = {
    Kind.PADDING_MODE: ("zeros", "reflect", "replicate", "circular"),
    Kind.ZEROS_ONLY: ("zeros",),
}


def _ignored(*names: str) -> tuple[Param, ...]:
    return tuple(Param(n, Kind.IGNORED, None) for n in names)


_TORCH_EXTRAS = _ignored("device", "dtype")

CONV = Spec(
    Family.CONV,
    (_IN_CH, _OUT_CH, _K, _S1, _P, _D, _G, _BIAS, _MODE, *_TORCH_EXTRAS),
    ("out_channels",),
    ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
     "bias", "padding_mode"),
)
CONV_TRANSPOSE = Spec(
    Family.CONV_TRANSPOSE,
    (_IN_CH, _OUT_CH, _K, _S1, _P,
     Param("output_padding", Kind.AXES, 0, aliases=("op",)),
     _G, _BIAS, _D, _MODE_ZEROS, *_TORCH_EXTRAS),
    ("out_channels",),
    ("in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding",
     "groups", "bias", "dilation", "padding_mode"),
)
MAX_POOL = Spec(
    Family.MAX_POOL,
    (_K, _S_POOL, _P, _D, _CEIL, *_ignored("return_indices")),
    (),
    ("kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"),
    flags=("ceil",),
)
AVG_POOL = Spec(
    Family.AVG_POOL,
    (_K, _S_POOL, _P, _CEIL, *_ignored("count_include_pad", "divisor_override")),
    (),
    ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    flags=("ceil",),
)
_OUT_SIZE = Param("output_size", Kind.OUTPUT_SIZE, aliases=("size", "o"))
ADAPTIVE_MAX_POOL = Spec(
    Family.ADAPTIVE_MAX_POOL, (_OUT_SIZE, *_ignored("return_indices")), ("output_size",),
    ("output_size", "return_indices"),
)
ADAPTIVE_AVG_POOL = Spec(
    Family.ADAPTIVE_AVG_POOL, (_OUT_SIZE,), ("output_size",), ("output_size",)
)
FLATTEN = Spec(
    Family.FLATTEN,
    (Param("start_dim", Kind.DIM, 1), Param("end_dim", Kind.DIM, -1)),
    (),
    ("start_dim", "end_dim"),
)
LINEAR = Spec(
    Family.LINEAR,
    (Param("in_features", Kind.SIZE, None, aliases=("in",)),
     Param("out_features", Kind.SIZE, aliases=("out", "units")), _BIAS, *_TORCH_EXTRAS),
    ("out_features",),
    ("in_features", "out_features", "bias"),
)
BATCH_NORM = Spec(
    Family.BATCH_NORM,
    (Param("num_features", Kind.SIZE, None, aliases=("c", "channels")),
     Param("affine", Kind.FLAG, True),
     # Keras's BatchNormalization(scale=False) / (center=False): no scale, or no shift
     Param("scale", Kind.FLAG, True), Param("center", Kind.FLAG, True),
     *_ignored("eps", "momentum", "track_running_stats"), *_TORCH_EXTRAS),
    (),
    ("num_features", "eps", "momentum", "affine", "track_running_stats"),
)
DROPOUT = Spec(
    Family.DROPOUT,
    (Param("p", Kind.RATE, 0.5, aliases=("rate",)), *_ignored("inplace")),
    ("p",),
    ("p", "inplace"),
)
# Element-wise activations take a few settings that change neither shapes nor counts
# (LeakyReLU(0.2), Softmax(dim=1), Hardtanh(-1, 1)); up to three positional ones.
ACTIVATION = Spec(
    Family.ACTIVATION,
    _ignored("inplace", "negative_slope", "alpha", "dim", "approximate", "beta", "threshold",
             "min_val", "max_val", "lambd", "setting_1", "setting_2", "setting_3"),
    (),
    ("setting_1", "setting_2", "setting_3"),
)

_AFFINE = Param("affine", Kind.FLAG, True)
GROUP_NORM = Spec(
    Family.GROUP_NORM,
    (Param("num_groups", Kind.SIZE, aliases=("groups", "g")),
     Param("num_channels", Kind.SIZE, None, aliases=("c", "channels")), _AFFINE,
     *_ignored("eps"), *_TORCH_EXTRAS),
    ("num_groups",),
    ("num_groups", "num_channels", "eps", "affine"),
)
LAYER_NORM = Spec(
    Family.LAYER_NORM,
    (Param("normalized_shape", Kind.SHAPE, aliases=("shape",)),
     Param("elementwise_affine", Kind.FLAG, True, aliases=("affine",)), _BIAS,
     *_ignored("eps"), *_TORCH_EXTRAS),
    ("normalized_shape",),
    ("normalized_shape", "eps", "elementwise_affine", "bias"),
)
INSTANCE_NORM = Spec(
    Family.INSTANCE_NORM,
    (Param("num_features", Kind.SIZE, None, aliases=("c", "channels")),
     Param("affine", Kind.FLAG, False),
     *_ignored("eps", "momentum", "track_running_stats"), *_TORCH_EXTRAS),
    (),
    ("num_features", "eps", "momentum", "affine", "track_running_stats"),
)
_PADDING = Param("padding", Kind.PAD, aliases=("p", "pad"))
ZERO_PAD = Spec(Family.ZERO_PAD, (_PADDING,), ("padding",), ("padding",))
CONSTANT_PAD = Spec(
    Family.CONSTANT_PAD,
    (_PADDING, Param("value", Kind.NUMBER, aliases=("fill",))),
    ("padding",),
    ("padding", "value"),
)
PIXEL_SHUFFLE = Spec(
    Family.PIXEL_SHUFFLE,
    (Param("upscale_factor", Kind.SIZE, aliases=("r", "factor")),),
    ("upscale_factor",),
    ("upscale_factor",),
)
PIXEL_UNSHUFFLE = Spec(
    Family.PIXEL_UNSHUFFLE,
    (Param("downscale_factor", Kind.SIZE, aliases=("r", "factor")),),
    ("downscale_factor",),
    ("downscale_factor",),
)
UPSAMPLE = Spec(
    Family.UPSAMPLE,
    (Param("size", Kind.AXES, None, aliases=("o",)),
     Param("scale_factor", Kind.SCALE, None, aliases=("scale",)),
     Param("mode", Kind.MODE, "nearest"),
     Param("align_corners", Kind.OPTIONAL_FLAG, None), *_ignored("recompute_scale_factor")),
    (),
    ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"),
)
UPSAMPLE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear")
# x.mean(spatial axes) and x.amax(...): PyTorch has no module for them.
GLOBAL_POOL = Spec(
    Family.GLOBAL_POOL,
    (Param("keepdim", Kind.FLAG, False),),
    (),
    ("keepdim",),
    flags=("keepdim",),
)
# nn.ChannelShuffle(groups), and x.chunk(chunks, dim=1)[index] (no module in PyTorch).
CHANNEL_SHUFFLE = Spec(
    Family.CHANNEL_SHUFFLE,
    (Param("groups", Kind.SIZE, aliases=("g",)),),
    ("groups",),
    ("groups",),
)
CHUNK = Spec(
    Family.CHUNK,
    (Param("chunks", Kind.SIZE, aliases=("n", "parts")), Param("index", Kind.SIZE, 0,
                                                                aliases=("i",))),
    ("chunks", "index"),
    (),
)
# torchvision's LayerNorm2d(C) (ConvNeXt): nn.LayerNorm over the channels at every position.
CHANNEL_NORM = Spec(
    Family.CHANNEL_NORM,
    (Param("normalized_shape", Kind.SIZE, None, aliases=("c", "channels")),
     Param("elementwise_affine", Kind.FLAG, True, aliases=("affine",)), _BIAS,
     *_ignored("eps"), *_TORCH_EXTRAS),
    ("normalized_shape",),
    ("normalized_shape", "eps", "elementwise_affine", "bias"),
)
# ConvNeXt's layer scale, gamma * x with gamma of shape C x 1 x 1 (no module in PyTorch).
LAYER_SCALE = Spec(
    Family.LAYER_SCALE,
    (Param("channels", Kind.SIZE, None, aliases=("c",)),),
    ("channels",),
    (),
)

# PyTorch class names (lower case) of the element-wise layers symconv models.
ACTIVATIONS = (
    "relu", "relu6", "leakyrelu", "elu", "selu", "celu", "gelu", "silu",
    "mish", "sigmoid", "logsigmoid", "tanh", "softmax", "logsoftmax", "softmax2d", "hardswish",
    "hardsigmoid", "hardtanh", "softplus", "softsign", "tanhshrink", "hardshrink",
    "softshrink", "identity",
)


@dataclass(frozen=True, slots=True)
class Entry:
    """A layer name as a user may write it."""

    spec: Spec
    rank: int | None  # spatial axes fixed by a PyTorch name (Conv2d: 2); None: from the input
    kind_name: str  # for activations and dropout: the PyTorch class name in lower case


def _torch_entries() -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for rank in (1, 2, 3):
        for cls, spec in (
            ("Conv", CONV), ("ConvTranspose", CONV_TRANSPOSE), ("MaxPool", MAX_POOL),
            ("AvgPool", AVG_POOL), ("AdaptiveMaxPool", ADAPTIVE_MAX_POOL),
            ("AdaptiveAvgPool", ADAPTIVE_AVG_POOL), ("BatchNorm", BATCH_NORM),
        ):
            name = f"{cls}{rank}d"
            entries[name] = Entry(spec, rank, name.lower())
        entries[f"Dropout{rank}d"] = Entry(DROPOUT, rank, f"dropout{rank}d")
        for cls, spec in (("InstanceNorm", INSTANCE_NORM), ("ZeroPad", ZERO_PAD),
                          ("ConstantPad", CONSTANT_PAD)):
            name = f"{cls}{rank}d"
            entries[name] = Entry(spec, rank, name.lower())
    entries["GroupNorm"] = Entry(GROUP_NORM, None, "groupnorm")
    entries["LayerNorm"] = Entry(LAYER_NORM, None, "layernorm")
    entries["PixelShuffle"] = Entry(PIXEL_SHUFFLE, None, "pixelshuffle")
    entries["PixelUnshuffle"] = Entry(PIXEL_UNSHUFFLE, None, "pixelunshuffle")
    entries["Upsample"] = Entry(UPSAMPLE, None, "upsample")
    entries["ChannelShuffle"] = Entry(CHANNEL_SHUFFLE, None, "channelshuffle")
    entries["Linear"] = Entry(LINEAR, None, "linear")
    entries["Flatten"] = Entry(FLATTEN, None, "flatten")
    entries["Dropout"] = Entry(DROPOUT, None, "dropout")
    torch_case = {
        "relu": "ReLU", "relu6": "ReLU6", "leakyrelu": "LeakyReLU", "elu": "ELU",
        "selu": "SELU", "celu": "CELU", "gelu": "GELU", "silu": "SiLU", "mish": "Mish",
        "sigmoid": "Sigmoid", "logsigmoid": "LogSigmoid", "tanh": "Tanh",
        "softmax": "Softmax", "logsoftmax": "LogSoftmax", "softmax2d": "Softmax2d",
        "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid", "hardtanh": "Hardtanh",
        "softplus": "Softplus", "softsign": "Softsign", "tanhshrink": "Tanhshrink",
        "hardshrink": "Hardshrink", "softshrink": "Softshrink", "identity": "Identity",
    }
    for lower, cls in torch_case.items():
        entries[cls] = Entry(ACTIVATION, None, lower)
    return entries


def _dsl_entries() -> dict[str, Entry]:
    entries = {
        "conv": Entry(CONV, None, "conv"),
        "convT": Entry(CONV_TRANSPOSE, None, "convtranspose"),
        "convt": Entry(CONV_TRANSPOSE, None, "convtranspose"),
        "deconv": Entry(CONV_TRANSPOSE, None, "convtranspose"),
        "maxpool": Entry(MAX_POOL, None, "maxpool"),
        "avgpool": Entry(AVG_POOL, None, "avgpool"),
        "adaptive_maxpool": Entry(ADAPTIVE_MAX_POOL, None, "adaptivemaxpool"),
        "adaptive_avgpool": Entry(ADAPTIVE_AVG_POOL, None, "adaptiveavgpool"),
        "flatten": Entry(FLATTEN, None, "flatten"),
        "linear": Entry(LINEAR, None, "linear"),
        "dense": Entry(LINEAR, None, "linear"),
        "fc": Entry(LINEAR, None, "linear"),
        "bn": Entry(BATCH_NORM, None, "batchnorm"),
        "batchnorm": Entry(BATCH_NORM, None, "batchnorm"),
        "dropout": Entry(DROPOUT, None, "dropout"),
        "swish": Entry(ACTIVATION, None, "silu"),
        "leaky_relu": Entry(ACTIVATION, None, "leakyrelu"),
        "groupnorm": Entry(GROUP_NORM, None, "groupnorm"),
        "layernorm": Entry(LAYER_NORM, None, "layernorm"),
        "instancenorm": Entry(INSTANCE_NORM, None, "instancenorm"),
        "pad": Entry(ZERO_PAD, None, "zeropad"),
        "zeropad": Entry(ZERO_PAD, None, "zeropad"),
        "constantpad": Entry(CONSTANT_PAD, None, "constantpad"),
        "pixelshuffle": Entry(PIXEL_SHUFFLE, None, "pixelshuffle"),
        "pixelunshuffle": Entry(PIXEL_UNSHUFFLE, None, "pixelunshuffle"),
        "upsample": Entry(UPSAMPLE, None, "upsample"),
        "mean": Entry(GLOBAL_POOL, None, "mean"),
        "amax": Entry(GLOBAL_POOL, None, "amax"),
        "channelshuffle": Entry(CHANNEL_SHUFFLE, None, "channelshuffle"),
        "chunk": Entry(CHUNK, None, "chunk"),
        "layernorm2d": Entry(CHANNEL_NORM, None, "layernorm2d"),
        "layerscale": Entry(LAYER_SCALE, None, "layerscale"),
    }
    for lower in ACTIVATIONS:
        entries[lower] = Entry(ACTIVATION, None, lower)
    return entries


TORCH_NAMES = _torch_entries()
DSL_NAMES = _dsl_entries()
TORCH_PREFIXES = ("torch.nn.", "nn.")
CONTAINERS = ("Sequential",)
