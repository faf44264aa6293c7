"""Layers -> per-layer records: output shape, parameters, neurons, connections, multiply-adds.

One `match` over the layer kinds; the arithmetic is the formulas module's. The rules PyTorch
enforces are checked here too, wherever the numbers decide them (symbols may leave a rule
undecided; it is checked again once values are substituted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, assert_never

import sympy

from symconv.algebra.simplify import simplify_rounding
from symconv.algebra.symbols import Value, free_names, truth
from symconv.engine import formulas as f
from symconv.engine import receptive, windows
from symconv.engine.blocks import block_record
from symconv.engine.joins import join_record
from symconv.engine.receptive import INPUT
from symconv.engine.records import PENDING_RULES, SCALED_SIZES, Chain, Record, Shape, axis_names
from symconv.errors import (
    InvalidLayerError,
    LayerSource,
    ShapeError,
    SymconvError,
    UnsupportedError,
)
from symconv.language.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Bind,
    Block,
    ChannelNorm,
    ChannelShuffle,
    ChannelsLast,
    Chunk,
    Concat,
    Conv,
    Convention,
    ConvTranspose,
    Dropout,
    Flatten,
    GlobalPool,
    GroupNorm,
    InstanceNorm,
    Join,
    Layer,
    LayerNorm,
    LayerScale,
    Linear,
    Pad,
    PixelShuffle,
    Pool,
    PoolOp,
    Repeat,
    Residual,
    Scale,
    Upsample,
    Window,
    kind_of,
    shared_of,
    unbound,
)
from symconv.language.parse import MAX_DIGITS, too_big
from symconv.present.values import text_shape


@dataclass(frozen=True, slots=True)
class _Effect:
    output_shape: Shape
    params: Value = 0
    inputs_per_neuron: Value = 1  # links into one output element (bias counted as one)
    macs: Value = 0
    connections: Value | None = None  # where links are not uniform per output element


def trace(input_shape: Shape, layers: Sequence[Layer]) -> tuple[Record, ...]:
    """The record of every layer, each layer's output feeding the next."""
    start = Chain(input_shape, tuple(INPUT for _ in input_shape[1:]), tuple(input_shape[1:]))
    return chain(layers, start)[0]


def chain(layers: Sequence[Layer], at: Chain, path: int = 0) -> tuple[tuple[Record, ...], Chain]:
    """The records of layers applied in sequence from `at`, and where the chain ends. A
    join reads the tensors named by the Binds before it; a name none bound is the chain's
    start, the network input (language/names.check_names allows no other)."""
    records = []
    start, named = at, dict[str, Chain]()
    for index, layer in enumerate(layers, start=1):
        try:
            _check_complexity(at)
            if isinstance(join := unbound(layer), Join):
                record = join_record(index, join, [named.get(n, start) for n in join.names],
                                     path)
                record = dataclasses.replace(record, kind=kind_of(layer))
            else:
                record = _record(index, layer, at, path)
            _check_magnitude(record)
        except SymconvError as error:
            if error.source is None and error.layer is None:
                # a rule one written value breaks points at that value
                where = layer.source
                if isinstance(where, LayerSource):
                    where = where.argument(getattr(error, "argument", None))
                raise type(error)(error.message, where, _label(index, layer)) from None
            raise
        records.append(record)
        at = Chain(record.output_shape, record.fields, at.input_spatial)
        if isinstance(layer, Bind):
            named[layer.name] = at
    return tuple(records), at


def _record(index: int, layer: Layer, at: Chain, path: int) -> Record:
    if isinstance(layer, Bind):  # the layer's record, its row labelled with the name
        inner = _record(index, layer.layer, at, path)
        return dataclasses.replace(inner, kind=kind_of(layer))
    if isinstance(layer, Join):
        raise AssertionError("joins are traced by chain, which knows the named tensors")
    if isinstance(layer, Block):
        if isinstance(layer, Repeat):
            check_size("the count of repeat", layer.count, 1, argument="count")

        return block_record(index, layer, at, path, chain)
    shape = at.shape
    effect = _effect(layer, shape)
    neurons = f.product(effect.output_shape)
    links = effect.connections
    if links is None:
        links = f.connections(neurons, effect.inputs_per_neuron)
    fields = receptive.layer_fields(layer, at.fields, shape[1:], at.input_spatial)
    # A layer that reuses another's parameters owns none: they are counted at the first use.
    shared = shared_of(layer)
    params = 0 if shared is not None and shared.reuse else effect.params
    return Record(index, kind_of(layer), layer, shape, effect.output_shape, params,
                  neurons, links, effect.macs, fields, path=path)


# The most case splits (Piecewise and ITE nodes) a size or field entering a layer may
# hold. Real networks have none but where a ceil-mode pool has symbolic parameters; with a
# symbolic stride, every such pool splits every case again (1, 4, 12, 32 after one to four
# pools) and SymPy's time grows with them (a fourth such pool took 5 s, a fifth minutes).
MAX_CASES = 10


def _check_complexity(at: Chain) -> None:
    """Refuse to go on from sizes whose closed form holds more than MAX_CASES case splits."""
    for value in (*at.shape, *(field.size for field in at.fields)):
        if isinstance(value, int):
            continue
        stack, cases = [value], 0
        while stack:
            node = stack.pop()
            cases += isinstance(node, sympy.Piecewise | sympy.ITE)
            if cases > MAX_CASES:
                names = ", ".join(sorted(free_names(value)))
                raise UnsupportedError(
                    f"the closed form of the size entering this layer splits into more than "
                    f"{MAX_CASES} cases (ceil mode with symbolic parameters splits every case "
                    f"again at each pool); give values to {names} (--set, or keywords in "
                    "Python)")
            stack.extend(node.args)


def _check_magnitude(record: Record) -> None:
    """Refuse a size, count or receptive field beyond MAX_DIGITS digits, as a written number
    is: a chain of strides or transposed convolutions would otherwise grow its numbers
    without bound, each layer slower than the last, and Python prints no int beyond 4300
    digits."""
    names = axis_names(len(record.output_shape) - 1) if len(record.output_shape) > 1 else ()
    quantities = [("output channels" if names else "output size", record.output_shape[0])]
    quantities += [(f"output {axis}", n) for axis, n in
                   zip(names, record.output_shape[1:], strict=True)]
    for axis, field in zip(axis_names(len(record.fields)), record.fields, strict=True):
        quantities += [(f"the receptive field along {axis}", field.size),
                       (f"the jump along {axis}", field.jump),
                       (f"the start along {axis}", field.start)]
    quantities += [("the parameter count", record.params), ("the neuron count", record.neurons),
                   ("the connection count", record.connections),
                   ("the multiply-add count", record.macs)]
    for what, value in quantities:
        if too_big(value):
            raise ShapeError(f"{what} would have more than {MAX_DIGITS} digits (symconv takes "
                             f"numbers of at most {MAX_DIGITS} digits)")


def _label(index: int, layer: Layer) -> str:
    return f"layer {index} ({kind_of(layer)})"


def _effect(layer: Layer, shape: Shape) -> _Effect:
    match layer:
        case Conv():
            return _conv(layer, shape)
        case ConvTranspose():
            return _conv_transpose(layer, shape)
        case Pool():
            return _pool(layer, shape)
        case AdaptivePool():
            return _adaptive_pool(layer, shape)
        case Flatten():
            return _Effect((f.product(shape),))
        case Linear():
            return _linear(layer, shape)
        case BatchNorm():
            return _batchnorm(layer, shape)
        case GroupNorm():
            return _groupnorm(layer, shape)
        case LayerNorm():
            return _layernorm(layer, shape)
        case InstanceNorm():
            return _instancenorm(layer, shape)
        case Pad():
            return _pad(layer, shape)
        case PixelShuffle():
            return _pixel_shuffle(layer, shape)
        case Upsample():
            return _upsample(layer, shape)
        case GlobalPool():
            return _global_pool(layer, shape)
        case ChannelShuffle():
            return _channel_shuffle(layer, shape)
        case Chunk():
            return _chunk(layer, shape)
        case Activation() | Dropout():
            return _Effect(shape)
        case ChannelNorm():
            return _channel_norm(layer, shape)
        case LayerScale():
            return _layer_scale(layer, shape)
        case Repeat() | Residual() | Concat() | Scale() | ChannelsLast():
            raise AssertionError("blocks are traced by symconv.blocks")
        case Bind(layer=inner):
            return _effect(inner, shape)
        case Join():
            raise AssertionError("joins are traced by engine.joins")
        case _:
            assert_never(layer)


# ---------------------------------------------------------------- rules


def _rule(
    condition: Any,
    message: str,
    error: type[SymconvError] = InvalidLayerError,
    **fields: object,
) -> None:
    """Reject where the numbers decide that the condition fails; the message is a template
    filled with `fields` only then (this check runs for every layer of every evaluation)."""
    if condition is True:
        return
    decided = truth(condition)
    if decided is False:
        raise error(message.format(**fields))
    if decided is None and (pending := PENDING_RULES.get()) is not None:
        pending.append(condition)  # left to whoever substitutes numbers later (evaluate.py)


def whole(value: Value) -> Any:
    """The condition that a value is a whole number: True, False, or an equation in its
    symbols (which are whole numbers, so only a quotient such as K/2 leaves it open)."""
    if isinstance(value, int) or value.is_integer:
        return True
    if value.is_number:
        return False
    return sympy.Eq(sympy.Mod(value, 1), 0)


def check_size(name: str, value: Value, least: int,
               error: type[SymconvError] = InvalidLayerError, argument: str | None = None
               ) -> None:
    """The rule every size and layer parameter obeys, whether written as a number or given
    later for a symbol (--set, a Python keyword): a whole number, at least `least`. The
    error names the argument (`argument`, else `name`) whose value broke it, where the
    layer's source says where that was written."""
    try:
        _rule(whole(value), "{name} must be a whole number, got {v}", error, name=name,
              v=value)
        _rule(value >= least, "{name} must be at least {least}, got {v}", error,
              name=name, least=least, v=value)
    except SymconvError as broken:
        broken.argument = argument or name  # type: ignore[attr-defined]
        raise


def check_input(shape: Shape) -> None:
    """The input's sizes: whole numbers, at least 1 (a ShapeError naming the shape)."""
    for size in shape:
        _rule(whole(size), "input sizes must be whole numbers, got {shape}", ShapeError,
              shape=_Shown(shape))
        _rule(size >= 1, "input sizes must be at least 1, got {shape}", ShapeError,
              shape=_Shown(shape))
        if too_big(size):  # a symbol's value can be a power of one of MAX_DIGITS digits
            raise ShapeError(f"an input size has more than {MAX_DIGITS} digits (symconv takes "
                             f"numbers of at most {MAX_DIGITS} digits)")


class _Shown:
    """A shape printed only when a message needs it."""

    def __init__(self, shape: Shape):
        self.shape = shape

    def __format__(self, spec: str) -> str:
        return text_shape(self.shape)


def _check_window(window: Window) -> None:
    for name, values, least in (
        ("kernel_size", window.kernel, 1),
        ("stride", window.stride, 1),
        ("dilation", window.dilation, 1),
        ("padding", window.padding, 0),
    ):
        for v in values:
            check_size(name, v, least)


def _check_spatial(shape: Shape, rank: int) -> None:
    if len(shape) - 1 != rank:
        raise ShapeError(
            f"the layer has {rank} spatial axes but its input {text_shape(shape)} has "
            f"{len(shape) - 1}"
        )


def _check_out(outs: Shape, ins: Shape, rank: int, formula: str) -> None:
    for axis, out, n in zip(axis_names(rank), outs, ins, strict=True):
        _rule(
            out >= 1,
            "output {axis} would be {out} (input {axis} = {n}; {formula}): the input is too "
            "small for this window",
            ShapeError,
            axis=axis, out=out, n=n, formula=formula,
        )


def _check_declared(declared: Value | None, actual: Value, what: str) -> None:
    if declared is not None:
        check_size(what, declared, 1)
        _rule(
            f.equal(declared, actual),
            "{what} is declared as {declared} but the input has {actual}",
            ShapeError,
            what=what, declared=declared, actual=actual,
        )


def _check_groups(c_in: Value, c_out: Value, groups: Value) -> None:
    check_size("groups", groups, 1)
    for name, channels in (("in_channels", c_in), ("out_channels", c_out)):
        _rule(
            f.equal(channels % groups, 0),
            "{name} ({channels}) must be divisible by groups ({groups})",
            name=name, channels=channels, groups=groups,
        )





# ---------------------------------------------------------------- layers


def _check_convolution(layer: Conv | ConvTranspose, shape: Shape) -> None:
    """The rules both convolutions share: rank, declared channels, window, groups."""
    _check_spatial(shape, layer.window.rank)
    _check_declared(layer.in_channels, shape[0], "in_channels")
    _check_window(layer.window)
    check_size("out_channels", layer.out_channels, 1)
    _check_groups(shape[0], layer.out_channels, layer.groups)


def _conv(layer: Conv, shape: Shape) -> _Effect:
    _check_convolution(layer, shape)
    w = layer.window
    c_in, *spatial = shape
    if w.same and w.convention is Convention.TORCH:
        for s in w.stride:
            _rule(f.equal(s, 1),
                  "padding='same' is not supported for strided convolutions (stride {s}) in "
                  "PyTorch's convention; TensorFlow's ('convention tensorflow') takes any "
                  "stride", s=s)
    outs = tuple(simplify_rounding(windows.out_of(w, axis, n)) for axis, n in enumerate(spatial))
    if not w.same:
        _check_out(outs, tuple(spatial), w.rank, "floor((n + 2p - d(k-1) - 1)/s) + 1")
    _check_padding_mode(layer, tuple(spatial))
    volume = f.product(w.kernel)
    out_shape = (layer.out_channels, *outs)
    neurons = f.product(out_shape)
    return _Effect(
        out_shape,
        f.conv_params(c_in, layer.out_channels, volume, layer.groups, layer.bias),
        f.conv_weights_per_filter(c_in, volume, layer.groups, layer.bias),
        f.conv_macs(neurons, c_in, volume, layer.groups),
    )


def _check_padding_mode(layer: Conv, spatial: Shape) -> None:
    """PyTorch pads by reflection only with less than the input's length, and circularly with
    at most the input's length (so that the padding wraps around at most once)."""
    w = layer.window
    if layer.padding_mode not in ("reflect", "circular"):
        return
    reflect = layer.padding_mode == "reflect"
    for axis, n, (_, pad) in zip(axis_names(w.rank), spatial, windows.paddings(w, spatial),
                                 strict=True):  # 'same' puts the larger part after
        _rule(
            pad < n if reflect else pad <= n,
            "padding_mode='{mode}' needs the padding ({pad}) {bound} the input {axis} ({n})",
            ShapeError, mode=layer.padding_mode, pad=pad, axis=axis, n=n,
            bound="smaller than" if reflect else "at most",
        )


def _conv_transpose(layer: ConvTranspose, shape: Shape) -> _Effect:
    _check_convolution(layer, shape)
    w = layer.window
    c_in, *spatial = shape
    for op, s, d in zip(layer.output_padding, w.stride, w.dilation, strict=True):
        check_size("output_padding", op, 0)
        _rule(
            f.either(op < s, op < d),
            "output_padding ({op}) must be smaller than either stride ({s}) or dilation ({d})",
            op=op, s=s, d=d,
        )
    outs = tuple(windows.transposed_out_of(w, axis, n, op)
                 for axis, (n, op) in enumerate(zip(spatial, layer.output_padding, strict=True)))
    _check_out(outs, tuple(spatial), w.rank, "(n - 1)s - 2p + d(k-1) + op + 1")
    volume = f.product(w.kernel)
    out_shape = (layer.out_channels, *outs)
    in_elements = f.product(shape)
    weight_links = f.transposed_macs(in_elements, layer.out_channels, volume, layer.groups)
    return _Effect(
        out_shape,
        f.transposed_params(c_in, layer.out_channels, volume, layer.groups, layer.bias),
        macs=weight_links,
        connections=weight_links + int(layer.bias) * f.product(out_shape),
    )


def _pool(layer: Pool, shape: Shape) -> _Effect:
    w = layer.window
    _check_spatial(shape, w.rank)
    channels, *spatial = shape
    _check_window(w)
    for k, p in zip(w.kernel, w.padding, strict=True):
        _rule(
            2 * p <= k,
            "padding ({p}) should be at most half of kernel size ({k})", p=p, k=k,
        )
    if layer.op is PoolOp.AVG and w.rank == 3 and not w.same:
        # PyTorch's 3-D average pooling alone also wants every unpadded axis >= the kernel.
        for axis, n, k in zip(axis_names(3), spatial, w.kernel, strict=True):
            _rule(
                n >= k,
                "input {axis} ({n}) is smaller than the kernel ({k}): 3-D average pooling "
                "needs every input axis at least as long as the kernel",
                ShapeError, axis=axis, n=n, k=k,
            )
    outs = tuple(simplify_rounding(windows.out_of(w, axis, n, layer.ceil_mode))
                 for axis, n in enumerate(spatial))
    _check_out(outs, tuple(spatial), w.rank, "pooling output size")
    return _Effect((channels, *outs), inputs_per_neuron=f.product(w.kernel))


def _adaptive_pool(layer: AdaptivePool, shape: Shape) -> _Effect:
    rank = len(layer.output_size)
    _check_spatial(shape, rank)
    channels, *spatial = shape
    outs = tuple(n if o is None else o for o, n in zip(layer.output_size, spatial, strict=True))
    for o in outs:
        check_size("output_size", o, 1)
    # Windows may overlap: the links are the input elements each window reads, summed.
    links = channels * f.product(f.adaptive_reads(n, o) for n, o in zip(spatial, outs, strict=True))
    return _Effect((channels, *outs), connections=links)


def _linear(layer: Linear, shape: Shape) -> _Effect:
    f_in = shape[-1]
    _check_declared(layer.in_features, f_in, "in_features")
    check_size("out_features", layer.out_features, 1)
    out_shape = (*shape[:-1], layer.out_features)
    neurons = f.product(out_shape)
    return _Effect(
        out_shape,
        f.linear_params(f_in, layer.out_features, layer.bias),
        f_in + int(layer.bias),
        neurons * f_in,
    )


def _batchnorm(layer: BatchNorm, shape: Shape) -> _Effect:
    channels = shape[0]
    _check_declared(layer.num_features, channels, "num_features")
    # Inference: one multiply-add per element (scale and shift folded together).
    params = (f.batchnorm_params(channels, layer.affine) if layer.scale and layer.center
              else f.batchnorm_kept_params(channels, layer.affine and layer.scale,
                                           layer.affine and layer.center))
    return _Effect(shape, params, macs=f.product(shape))


# Normalisations other than batch normalisation: one multiply-add per element, as for
# batch normalisation (the scale and shift applied once the statistics are known; the
# statistics themselves are not counted).


def _groupnorm(layer: GroupNorm, shape: Shape) -> _Effect:
    channels = shape[0]
    check_size("num_groups", layer.groups, 1)
    _check_declared(layer.num_channels, channels, "num_channels")
    _rule(f.equal(channels % layer.groups, 0),
          "the channels ({channels}) must be divisible by num_groups ({groups})",
          channels=channels, groups=layer.groups)
    return _Effect(shape, f.batchnorm_params(channels, layer.affine), macs=f.product(shape))


def _layernorm(layer: LayerNorm, shape: Shape) -> _Effect:
    normalized = layer.normalized_shape
    for size in normalized:
        check_size("normalized_shape", size, 1)
    if not 1 <= len(normalized) <= len(shape):
        raise ShapeError(f"normalized_shape {text_shape(normalized)} has {len(normalized)} "
                         f"sizes but the input {text_shape(shape)} has {len(shape)} axes")
    last = shape[len(shape) - len(normalized):]
    for n, size in zip(last, normalized, strict=True):
        _rule(f.equal(n, size),
              "normalized_shape {normalized} must equal the input's last axes {last} "
              "(the input is {shape})", ShapeError, normalized=_Shown(normalized),
              last=_Shown(last), shape=_Shown(shape))
    params = f.layernorm_params(f.product(normalized), layer.affine, layer.bias)
    return _Effect(shape, params, macs=f.product(shape))


def _channel_norm(layer: ChannelNorm, shape: Shape) -> _Effect:
    """LayerNorm2d: nn.LayerNorm over the C channels at every position."""
    if len(shape) < 2:
        raise ShapeError(f"layernorm2d normalises the channels at every position and needs "
                         f"spatial axes, but its input is {text_shape(shape)}")
    channels = shape[0]
    _check_declared(layer.num_channels, channels, "normalized_shape")
    params = f.layernorm_params(channels, layer.affine, layer.bias)
    return _Effect(shape, params, macs=f.product(shape))


def _layer_scale(layer: LayerScale, shape: Shape) -> _Effect:
    """A learned scale per channel, broadcast over the positions: one multiply per element."""
    channels = shape[0]
    if layer.rank is not None and len(shape) - 1 != layer.rank:
        own = (layer.channels if layer.channels is not None else channels, *(1,) * layer.rank)
        raise ShapeError(f"the layer scale's parameter, of shape {text_shape(own)}, scales "
                         f"the channels of an input with {layer.rank} spatial "
                         f"ax{'i' if layer.rank == 1 else 'e'}s, but the "
                         f"input {text_shape(shape)} has {len(shape) - 1}")
    _check_declared(layer.channels, channels, "channels")
    return _Effect(shape, channels, macs=f.product(shape))


def _instancenorm(layer: InstanceNorm, shape: Shape) -> _Effect:
    _check_spatial(shape, layer.rank)
    channels = shape[0]
    _check_declared(layer.num_features, channels, "num_features")
    return _Effect(shape, f.batchnorm_params(channels, layer.affine), macs=f.product(shape))


def _pad(layer: Pad, shape: Shape) -> _Effect:
    _check_spatial(shape, layer.rank)
    channels, *spatial = shape
    for before, after in layer.padding:
        for amount in (before, after):
            _rule(whole(amount), "padding must be whole numbers, got {v}", v=amount)
    outs = tuple(simplify_rounding(f.pad_out(n, before, after))
                 for n, (before, after) in zip(spatial, layer.padding, strict=True))
    _check_out(outs, tuple(spatial), layer.rank, "n + before + after")
    return _Effect((channels, *outs))


def _pixel_shuffle(layer: PixelShuffle, shape: Shape) -> _Effect:
    name = "PixelUnshuffle" if layer.inverse else "PixelShuffle"
    if len(shape) != 3:
        raise ShapeError(f"{name} needs an input with 2 spatial axes (C x H x W), but here it "
                         f"is {text_shape(shape)}")
    r = layer.factor
    check_size(f"{'downscale' if layer.inverse else 'upscale'}_factor", r, 1)
    channels, *spatial = shape
    if layer.inverse:
        for axis, n in zip(axis_names(2), spatial, strict=True):
            _rule(f.equal(n % r, 0), "the input {axis} ({n}) must be divisible by the "
                  "downscale_factor ({r})", ShapeError, axis=axis, n=n, r=r)
        out = (f.unshuffle_channels(channels, r), *(f.exact_div(n, r) for n in spatial))
    else:
        _rule(f.equal(channels % (r * r), 0), "the channels ({c}) must be divisible by the "
              "square of the upscale_factor ({r}² = {rr})", ShapeError, c=channels, r=r,
              rr=r * r)
        out = (f.shuffle_channels(channels, r), *(n * r for n in spatial))
    return _Effect(out)


UPSAMPLE_RANKS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _upsample(layer: Upsample, shape: Shape) -> _Effect:
    rank = len(shape) - 1
    if not 1 <= rank <= 3:
        raise ShapeError(f"upsampling needs 1 to 3 spatial axes, but its input is "
                         f"{text_shape(shape)}")
    wanted = UPSAMPLE_RANKS.get(layer.mode)
    if wanted is not None and wanted != rank:
        raise ShapeError(f"mode '{layer.mode}' upsamples inputs with {wanted} spatial "
                         f"ax{'i' if wanted == 1 else 'e'}s, but here it has {rank}")
    channels, *spatial = shape
    layer = layer.per_axis(rank)
    given = layer.size if layer.size is not None else layer.scale
    assert given is not None  # exactly one of size and scale: checked where it is read
    if len(given) != rank:
        what = "size" if layer.size is not None else "scale_factor"
        raise ShapeError(f"{what} has {len(given)} values for {rank} spatial "
                         f"ax{'i' if rank == 1 else 'e'}s")
    if layer.size is not None:
        for o in layer.size:
            check_size("size", o, 1)
        outs: Shape = tuple(layer.size)
    else:
        for q in given:
            _rule(sympy.sympify(q, strict=True) > 0, "scale_factor must be positive, got {q}",
                  q=q)
        outs = tuple(_scaled(n, q) for n, q in zip(spatial, given, strict=True))
        _check_out(outs, tuple(spatial), rank, "floor(n·scale_factor)")
    out_shape = (channels, *outs)
    reads = f.interpolation_reads(layer.mode, rank)
    neurons = f.product(out_shape)
    # Nearest copies; interpolation weighs each input it reads: one multiply-add each.
    return _Effect(out_shape, inputs_per_neuron=reads,
                   macs=0 if reads == 1 else neurons * reads)


def _scaled(n: Value, q: Value) -> Value:
    """One axis's size after upsampling by q: floor(n·q), in double precision for numbers as
    PyTorch computes it. Where the compiler collects them (SCALED_SIZES), a size that is not
    yet a number is a fresh unknown, which its compiled code computes by the same rule."""
    pending = SCALED_SIZES.get()
    numbers = isinstance(n, int | sympy.Integer) and isinstance(q, int | sympy.Rational)
    if pending is not None and not numbers:
        size = sympy.Symbol(f"_scaled{len(pending)}", integer=True)
        pending.append((size, n, q))
        return size
    try:
        return simplify_rounding(f.upsample_out(n, q))
    except OverflowError:
        raise ShapeError(f"upsampling {n} by scale_factor {q}: PyTorch computes n·scale_factor "
                         f"in double precision, which holds numbers below 1.8·10^308") from None


def _global_pool(layer: GlobalPool, shape: Shape) -> _Effect:
    _check_spatial(shape, layer.rank)
    channels = shape[0]
    out = (channels, *(1,) * layer.rank) if layer.keepdim else (channels,)
    # Every input element is read once, by the one output of its channel.
    return _Effect(out, connections=f.product(shape))


def _channel_shuffle(layer: ChannelShuffle, shape: Shape) -> _Effect:
    check_size("groups", layer.groups, 1, argument="groups")
    _rule(f.equal(shape[0] % layer.groups, 0),
          "the channels ({channels}) must be divisible by groups ({groups})",
          channels=shape[0], groups=layer.groups)
    # Every output element is one input element, moved.
    return _Effect(shape)


def _chunk(layer: Chunk, shape: Shape) -> _Effect:
    channels, *rest = shape
    check_size("chunks", layer.chunks, 1, argument="chunks")
    check_size("index", layer.index, 0, argument="index")
    _rule(sympy.sympify(layer.index < layer.chunks, strict=True),
          "index ({index}) must be less than chunks ({chunks}): the parts are counted from 0",
          index=layer.index, chunks=layer.chunks)
    # torch.chunk gives unequal parts (and sometimes fewer) where C is not divisible by n:
    # symconv reads equal ones.
    _rule(f.equal(channels % layer.chunks, 0),
          "the channels ({channels}) must be divisible by chunks ({chunks}): symconv reads "
          "equal parts", channels=channels, chunks=layer.chunks)
    return _Effect((f.chunk_channels(channels, layer.chunks), *rest))
