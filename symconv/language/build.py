"""Statements -> layers: names and arguments resolved with the parameter table (catalog.py).

The builder walks the statements once, knowing the number of spatial axes from the input,
so scalars broadcast to every axis and PyTorch names (Conv2d) are checked against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

import sympy

from symconv.algebra.symbols import Value, free_names
from symconv.errors import (
    InvalidLayerError,
    LayerSource,
    ShapeError,
    Source,
    UnknownNameError,
    UnsupportedError,
    did_you_mean,
)
from symconv.language import catalog
from symconv.language.arguments import (
    ArgumentReader,
    Written,
    bind_arguments,
    show_value,
    whole_value,
)
from symconv.language.catalog import Entry, Family
from symconv.language.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Bind,
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
    JoinOp,
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
    not_per_position,
)
from symconv.language.names import INPUT_NAME, check_names
from symconv.language.parse import (
    ConventionDecl,
    InputDecl,
    RawBinding,
    RawBlock,
    RawLayer,
    Statement,
    TorchImport,
)


@dataclass(frozen=True, slots=True)
class Built:
    """What a description declares: the input shape (if any) and the layers in order."""

    input_shape: tuple[Value, ...] | None
    input_source: Source | None
    layers: tuple[Layer, ...]
    convention: Convention = Convention.TORCH
    input_name: str = INPUT_NAME


def build(statements: Sequence[Statement], input_shape: tuple[Value, ...] | None = None,
          convention: Convention | None = None) -> Built:
    """Resolve statements into layers; `input_shape` (from --input) replaces an input line,
    `convention` (from --convention) a convention line."""
    builder = _Builder(input_shape, convention)
    builder.later = {s.name: s.source for s in statements if isinstance(s, RawBinding)}
    for statement in statements:
        builder.statement(statement)
    check_names(builder.layers, builder.input_name)
    return Built(builder.input_shape, builder.input_source, tuple(builder.layers),
                 builder.convention, builder.input_name)


def convention_named(word: str, source: Source | None = None) -> Convention:
    """The convention a word names (torch, tensorflow), or an error that lists them."""
    for convention in Convention:
        if word == convention.value:
            return convention
    names = [c.value for c in Convention]
    raise UnknownNameError(f"unknown convention '{word}'{did_you_mean(word, names)}; the "
                           f"conventions are {' and '.join(names)}", source)


def no_words(shape: tuple[Value, ...], source: Source | None) -> None:
    """Refuse True, False or None as an input size: words of the language, never symbols
    (as a value given for a symbol may not be one either)."""
    for value in shape:
        if isinstance(value, sympy.Basic) and (words := free_names(value) & _WORDS):
            raise ShapeError(f"an input size is a number or an expression over symbols, not "
                             f"the word {sorted(words)[0]}", source)


_WORDS = {"True", "False", "None"}


class _Builder:
    def __init__(self, input_shape: tuple[Value, ...] | None,
                 convention: Convention | None = None):
        self.input_shape = input_shape
        self.given_input = input_shape is not None
        self.input_source: Source | None = None
        self.convention = Convention.TORCH if convention is None else convention
        self.given_convention = convention is not None
        self.convention_source: Source | None = None
        self.layers: list[Layer] = []
        self.rank: int | None = None if input_shape is None else len(input_shape) - 1
        if input_shape is not None:
            no_words(input_shape, None)
        self.input_name = INPUT_NAME
        self.top = True  # names are bound and read at the top level only (language/names.py)
        self.ranks: dict[str, int] = {}  # the spatial axes of each named tensor
        self.later: dict[str, Source] = {}  # every name the description binds, and where

    def statement(self, statement: Statement) -> None:
        match statement:
            case InputDecl(shape=shape, source=source, name=name):
                self._input(shape, source)
                if name is not None:
                    self.input_name = name
            case ConventionDecl(word=word, source=source):
                self._convention(word, source)
            case RawLayer():
                self._layer(statement)
            case RawBlock():
                self.layers.append(self._block(statement))
            case RawBinding():
                self._binding(statement)
            case TorchImport():
                pass  # PyTorch's import above pasted code: nothing to build
            case _:
                assert_never(statement)

    # ---------------------------------------------------------- names

    def _outside(self, what: str, source: Source, name: str) -> None:
        if not self.top:
            raise InvalidLayerError(f"{what} inside a block: names are bound and read at the "
                                    "top level of a network only", source, name)

    def _binding(self, raw: RawBinding) -> None:
        """`name = layer`: the layer built, wrapped in a Bind (the names' rules are
        language/names.py's, checked with the join that reads them and at the end)."""
        self._outside(f"the binding '{raw.name}'", raw.source, raw.name)
        before = len(self.layers)
        self.statement(raw.statement)
        built = self.layers[before:]
        if len(built) != 1:
            raise InvalidLayerError(f"'{raw.name} = ...' names one layer; here it is "
                                    f"{len(built)}", raw.source, raw.name)
        self.layers[before] = Bind(raw.name, built[0], raw.source)
        if self.rank is not None:
            self.ranks[raw.name] = self.rank

    def _join(self, raw: RawLayer) -> None:
        """`concat a b`, `add a b`, `mul a b`, `use a`: each argument a name."""
        self._outside(f"'{raw.name}' of named tensors", raw.source, raw.name)
        if self.rank is None:
            raise ShapeError("no input shape: start with a line such as 'input 3 x 224 x 224' "
                             "or give --input", raw.source, raw.name)
        if raw.keywords:
            raise InvalidLayerError(f"{raw.name} takes names of tensors, not keywords "
                                    f"({raw.keywords[0].name}=)", raw.keywords[0].source,
                                    raw.name)
        names = []
        for arg in raw.args:
            if not (isinstance(arg.value, sympy.Symbol)):
                raise InvalidLayerError(f"{raw.name} takes names of tensors (bound by name = "
                                        f"layer, or the input), not {show_value(arg.value)}",
                                        arg.source, raw.name)
            names.append(arg.value.name)
        join = Join(JoinOp(raw.name), tuple(names), raw.source)
        self.ranks.setdefault(self.input_name, self._input_rank())
        if not names or any(name not in self.ranks for name in names):
            # raises, naming the rule (a name bound later, or none at all)
            check_names([*self.layers, join], self.input_name, self.later)
        ranks = {self.ranks[name] for name in names}
        if len(ranks) > 1:
            shown = ", ".join(f"{name}: {self.ranks[name]}" for name in names)
            raise ShapeError(f"{raw.name} joins tensors with different numbers of spatial "
                             f"axes ({shown})", raw.source, raw.name)
        self.layers.append(join)
        (self.rank,) = ranks

    def _input_rank(self) -> int:
        assert self.input_shape is not None  # a join needs the input shape (checked first)
        return len(self.input_shape) - 1

    def _input(self, shape: tuple[Value, ...], source: Source) -> None:
        if self.layers:
            raise ShapeError("the input must be declared before the first layer", source)
        if self.input_source is not None:
            raise ShapeError(
                f"a second input declaration (the first is on line {self.input_source.line})",
                source,
            )
        self.input_source = source
        no_words(shape, source)
        if not self.given_input:  # --input wins over the description's own line
            self.input_shape = shape
            self.rank = len(shape) - 1

    def _convention(self, word: str, source: Source) -> None:
        if self.layers:
            raise ShapeError("the convention must be declared before the first layer", source)
        if self.convention_source is not None:
            raise ShapeError(f"a second convention line (the first is on line "
                             f"{self.convention_source.line})", source)
        self.convention_source = source
        convention = convention_named(word, source)
        if not self.given_convention:  # --convention wins over the description's own line
            self.convention = convention

    def _layer(self, raw: RawLayer) -> None:
        if not raw.call and raw.name in JOINS:
            self._join(raw)
            return
        entry = _lookup(raw)
        if entry is None:  # a container: nn.Sequential(a, b, ...)
            for arg in raw.args:
                if not isinstance(arg.value, RawLayer):
                    raise InvalidLayerError(
                        "nn.Sequential takes layers, such as nn.ReLU()", arg.source, raw.name
                    )
                self._layer(arg.value)
            return
        if self.rank is None:
            raise ShapeError(
                "no input shape: start with a line such as 'input 3 x 224 x 224' "
                "or give --input",
                raw.source,
                raw.name,
            )
        values = bind_arguments(raw, entry.spec)
        layer = _make(entry, values, self.rank, raw, self.convention)
        self.layers.append(layer)
        if isinstance(layer, Flatten) or (isinstance(layer, GlobalPool) and not layer.keepdim):
            self.rank = 0


    # ---------------------------------------------------------- blocks

    def _block(self, raw: RawBlock) -> Layer:
        """repeat N { ... }, residual { ... } [shortcut] { ... }, concat { ... } { ... }."""
        if self.rank is None:
            raise ShapeError("no input shape: start with a line such as 'input 3 x 224 x 224' "
                             "or give --input", raw.source, raw.name)
        rank, shape = self.rank, _BLOCKS.get(raw.name)
        if shape is None:
            raise UnknownNameError(
                f"unknown block '{raw.name}'{did_you_mean(raw.name, list(_BLOCKS))}; "
                "the blocks are " + ", ".join(_BLOCKS.values()), raw.source, raw.name)
        low, high = {"repeat": (1, 1), "residual": (1, 2), "scale": (1, 1),
                     "channels_last": (1, 1)}.get(raw.name, (2, None))
        if (raw.argument is None) != (raw.name != "repeat") or not (
            low <= len(raw.bodies) and (high is None or len(raw.bodies) <= high)
        ):
            raise InvalidLayerError(f"a {raw.name} block is written {shape}", raw.source,
                                    raw.name)
        bodies = [self._body(statements, raw) for statements in raw.bodies]
        ranks = {r for _, r in bodies}
        if raw.name == "scale":
            # The gate's axes must be the input's: checked with the sizes (blocks._scale).
            return Scale(bodies[0][0], raw.source)
        if raw.name == "channels_last":
            return ChannelsLast(per_position(bodies[0][0], rank, raw.source), raw.source)
        if len(ranks) > 1 or (raw.name == "repeat" and ranks != {rank}):
            raise ShapeError(
                f"the paths of a {raw.name} block must keep the same number of spatial axes "
                f"(here {', '.join(str(r) for _, r in bodies)}; the input has {rank})",
                raw.source, raw.name)
        self.rank = bodies[0][1]
        if raw.name == "repeat":
            assert raw.argument is not None
            given = raw.argument.value

            if not isinstance(given, int | sympy.Expr):  # the number itself: trace.check_size
                raise InvalidLayerError(
                    f"the count of repeat must be a whole number (at least 1) or a symbol, got "
                    f"{show_value(given)}", raw.argument.source, raw.name)
            count = whole_value(given)
            return Repeat(count, bodies[0][0],
                          _located(raw.source, {"count": raw.argument.source}))
        if raw.name == "residual":
            shortcut = bodies[1][0] if len(bodies) == 2 else ()
            return Residual(bodies[0][0], shortcut, raw.source)
        return Concat(tuple(body for body, _ in bodies), raw.source)

    def _body(
        self, statements: Sequence[Statement], raw: RawBlock
    ) -> tuple[tuple[Layer, ...], int]:
        """The layers of one body and the number of spatial axes after it."""
        inner = _Builder(None, self.convention)
        inner.rank = self.rank
        inner.top = False
        for statement in statements:
            if isinstance(statement, InputDecl | ConventionDecl):
                what = "an input" if isinstance(statement, InputDecl) else "a convention"
                raise ShapeError(f"{what} declaration cannot stand inside a block",
                                 statement.source, raw.name)
            inner.statement(statement)
        if not inner.layers:
            raise InvalidLayerError(f"a body of {raw.name} has no layers", raw.source, raw.name)
        assert inner.rank is not None
        return tuple(inner.layers), inner.rank


# The joins of named tensors, written as a layer with names: `concat x0 y1` (a `concat`
# followed by bodies is the block).
JOINS = tuple(op.value for op in JoinOp)

_BLOCKS = {
    "repeat": "repeat N { ... }",
    "residual": "residual { ... } with an optional shortcut { ... }",
    "concat": "concat { ... } { ... } with two or more branches",
    "scale": "scale { ... } (the input times what the body computes from it)",
    "channels_last": "channels_last { ... } (layers applied to the channels at every "
                     "position)",
}


def per_position(body: tuple[Layer, ...], rank: int, source: Source | None,
                 where: str = "channels_last") -> tuple[Layer, ...]:
    """The body of a channels-last section, checked: only layers that act on each position's
    vector of channels alone (layernorm over C, linear, activations, dropout), after an input
    with spatial axes; an InvalidLayerError naming the first other layer and the rule."""
    if rank == 0:
        raise ShapeError(f"{where} needs an input with spatial axes (C x H x W); this input is "
                         "flat (a vector of features), whose channels are already last",
                         source, where)
    for layer in body:
        why = not_per_position(layer)
        if why is not None:
            what = kind_of(layer)
            raise InvalidLayerError(f"{what} cannot stand inside {where}: {why}",
                                    layer.source, what)
    return body


def _strip_prefix(name: str) -> str:
    for prefix in catalog.TORCH_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _lookup(raw: RawLayer) -> Entry | None:
    """The table entry for a layer name; None for a container; an error with a suggestion."""
    name = _strip_prefix(raw.name) if raw.call else raw.name
    if name in catalog.CONTAINERS:
        return None
    entry = catalog.DSL_NAMES.get(name) or catalog.TORCH_NAMES.get(name)
    if entry is None and raw.call:
        entry = catalog.DSL_NAMES.get(name.lower())
    if entry is not None:
        return entry
    known = [*catalog.DSL_NAMES, *(f"nn.{n}" for n in catalog.TORCH_NAMES)]
    raise UnknownNameError(
        f"unknown layer '{raw.name}'{did_you_mean(raw.name, known)}", raw.source, raw.name
    )


def _located(source: Source, arguments: dict[str, Source]) -> LayerSource:
    """The layer's source with where each of its arguments was written (the trace points at
    the argument whose value breaks a rule)."""
    return LayerSource(source.line, source.column, source.text, tuple(arguments.items()))


def _window(read: ArgumentReader, kernel: tuple[Value, ...], stride: tuple[Value, ...],
            dilation: tuple[Value, ...], convention: Convention, what: str | None) -> Window:
    """The window of a convolution or pooling layer; padding='same' in the description's
    convention. `what` names a layer kind that takes 'same' only in TensorFlow's convention
    (None: a convolution, which takes PyTorch's too)."""
    padding, same = read.padding()
    if same and convention is Convention.TORCH and what is not None:
        raise read.refuse("padding", f"'same' on {what} is TensorFlow's convention (PyTorch's "
                          f"{what} have no padding='same'): add a line 'convention "
                          "tensorflow' or give --convention tensorflow")
    return Window(kernel, stride, padding, dilation, same,
                  convention if same else Convention.TORCH)


def _make(entry: Entry, given: dict[str, Written], rank: int, raw: RawLayer,
          convention: Convention = Convention.TORCH) -> Layer:
    """The layer object for one resolved statement."""
    spec, source = entry.spec, _located(raw.source, {n: w.source for n, w in given.items()})
    if entry.rank is not None and entry.spec.family is not Family.DROPOUT:
        allowed = {entry.rank, 0} if spec.family is Family.BATCH_NORM and entry.rank == 1 else {
            entry.rank
        }
        if rank not in allowed:
            raise ShapeError(
                f"{raw.name} needs an input with {entry.rank} spatial "
                f"ax{'i' if entry.rank == 1 else 'e'}s, but here it has {rank}",
                source,
                raw.name,
            )
    read = ArgumentReader(raw, spec, given, rank)
    family = spec.family
    windowed = (Family.CONV, Family.CONV_TRANSPOSE, Family.MAX_POOL, Family.AVG_POOL)
    if family in windowed and rank == 0:
        raise ShapeError(
            f"{raw.name} needs spatial axes, but its input is flat (a vector of features)",
            source,
            raw.name,
        )
    if family in (*windowed, Family.ADAPTIVE_MAX_POOL, Family.ADAPTIVE_AVG_POOL) and rank > 3:
        raise UnsupportedError(
            f"PyTorch's convolutions and pools have 1 to 3 spatial axes; this "
            f"input has {rank}",
            source,
            raw.name,
        )
    if family is Family.BATCH_NORM and rank > 3:
        raise UnsupportedError(
            f"PyTorch has BatchNorm1d to BatchNorm3d: this input has {rank} spatial axes",
            source,
            raw.name,
        )
    if family is Family.CONV:
        window = _window(read, read.axes("kernel_size"), read.axes("stride"),
                         read.axes("dilation"), convention, None)
        return Conv(_required(read.size("out_channels")), window, _required(read.size("groups")),
                    read.flag("bias"), read.size("in_channels"), source, read.padding_mode())
    if family is Family.CONV_TRANSPOSE:
        window = _window(read, read.axes("kernel_size"), read.axes("stride"),
                         read.axes("dilation"), convention, "transposed convolutions")
        read.padding_mode()  # 'zeros', the only mode PyTorch's transposed convolutions take
        output_padding = read.axes("output_padding")
        if window.same and any(op != 0 for op in output_padding):
            raise read.refuse("output_padding", "TensorFlow's 'same' transposed convolution "
                              "gives n·s and takes no output_padding (Keras, given one, pads "
                              "(d(k-1)+1)//2 on each side: write that as p)")
        return ConvTranspose(_required(read.size("out_channels")), window,
                             output_padding, _required(read.size("groups")),
                             read.flag("bias"), read.size("in_channels"), source)
    if family in (Family.MAX_POOL, Family.AVG_POOL):
        kernel = read.axes("kernel_size")
        stride = kernel if read._raw("stride") is None else read.axes("stride")
        dilation = read.axes("dilation") if family is Family.MAX_POOL else (1,) * rank
        window = _window(read, kernel, stride, dilation, convention, "pools")
        op = PoolOp.MAX if family is Family.MAX_POOL else PoolOp.AVG
        ceil_mode = read.flag("ceil_mode")
        if window.same and ceil_mode:
            raise read.refuse("ceil_mode", "padding='same' decides the output (ceil(n/s)); "
                              "leave out ceil_mode")
        return Pool(op, window, ceil_mode, source)
    if family in (Family.ADAPTIVE_MAX_POOL, Family.ADAPTIVE_AVG_POOL):
        if rank == 0:
            raise ShapeError(f"{raw.name} needs spatial axes", source, raw.name)
        op = PoolOp.MAX if family is Family.ADAPTIVE_MAX_POOL else PoolOp.AVG
        return AdaptivePool(op, read.axes("output_size", allow_none=True), source)
    if family is Family.FLATTEN:
        start, end = read.dim("start_dim"), read.dim("end_dim")
        if (start, end) != (1, -1):
            raise UnsupportedError(
                "only flatten of every axis but the batch (start_dim=1, end_dim=-1) is modelled",
                source,
                raw.name,
            )
        return Flatten(source)
    if family is Family.LINEAR:
        return Linear(_required(read.size("out_features")), read.flag("bias"),
                      read.size("in_features"), source)
    if family is Family.BATCH_NORM:
        return BatchNorm(max(rank, 1), read.size("num_features"), read.flag("affine"), source,
                         scale=read.flag("scale"), center=read.flag("center"))
    if family is Family.DROPOUT:
        return Dropout(read.rate("p"), entry.kind_name, source)
    if family is Family.ACTIVATION:
        return Activation(entry.kind_name, source)
    return _make_more(entry, read, rank, raw, source)


def _make_more(entry: Entry, read: ArgumentReader, rank: int, raw: RawLayer,
               source: LayerSource) -> Layer:
    """The layers beyond convolutions, pooling and the flat ones: normalisations, padding,
    pixel shuffles, upsampling, global pooling."""
    family = entry.spec.family
    spatial = (Family.INSTANCE_NORM, Family.ZERO_PAD, Family.CONSTANT_PAD, Family.UPSAMPLE,
               Family.GLOBAL_POOL, Family.PIXEL_SHUFFLE, Family.PIXEL_UNSHUFFLE)
    if family in spatial and not 1 <= rank <= 3:
        what = "flat (a vector of features)" if rank == 0 else f"of {rank} spatial axes"
        raise ShapeError(f"{raw.name} needs 1 to 3 spatial axes, but its input is {what}",
                         source, raw.name)
    if family is Family.GROUP_NORM:
        return GroupNorm(_required(read.size("num_groups")), read.size("num_channels"),
                         read.flag("affine"), source)
    if family is Family.LAYER_NORM:
        return LayerNorm(read.shape("normalized_shape"), read.flag("elementwise_affine"),
                         read.flag("bias"), source)
    if family is Family.INSTANCE_NORM:
        return InstanceNorm(rank, read.size("num_features"), read.flag("affine"), source)
    if family is Family.ZERO_PAD:
        return Pad(read.pad_amounts("padding"), 0, source)
    if family is Family.CONSTANT_PAD:
        return Pad(read.pad_amounts("padding"), read.number("value"), source)
    if family in (Family.PIXEL_SHUFFLE, Family.PIXEL_UNSHUFFLE):
        inverse = family is Family.PIXEL_UNSHUFFLE
        factor = read.size("downscale_factor" if inverse else "upscale_factor")
        return PixelShuffle(_required(factor), inverse, source)
    if family is Family.UPSAMPLE:
        size = read.axes("size") if read._raw("size") is not None else None
        scale = read.scale("scale_factor")
        if (size is None) == (scale is None):
            raise InvalidLayerError("give either size or scale_factor, not "
                                    + ("both" if size is not None else "neither"),
                                    source, raw.name)
        mode = read.mode("mode")
        corners = read.optional_flag("align_corners")
        if corners is not None and mode not in ("linear", "bilinear", "bicubic", "trilinear"):
            raise InvalidLayerError(f"align_corners goes with the linear and cubic modes, not "
                                    f"'{mode}'", source, raw.name)
        return Upsample(size, scale, mode, corners, source=source)
    if family is Family.GLOBAL_POOL:
        op = PoolOp.AVG if entry.kind_name == "mean" else PoolOp.MAX
        return GlobalPool(op, read.flag("keepdim"), rank, source)
    if family is Family.CHANNEL_SHUFFLE:
        return ChannelShuffle(_required(read.size("groups")), source)
    if family is Family.CHANNEL_NORM:
        if rank == 0:
            raise ShapeError(f"{raw.name} normalises the channels at every position and "
                             "needs spatial axes; for a flat input write layernorm C",
                             source, raw.name)
        return ChannelNorm(_channels(read, raw, source), read.flag("elementwise_affine"),
                           read.flag("bias"), source)
    if family is Family.LAYER_SCALE:
        return LayerScale(read.size("channels"), None, source)
    if family is Family.CHUNK:
        return Chunk(_required(read.size("chunks")), _required(read.size("index")), source)
    raise AssertionError(family)


def _channels(read: ArgumentReader, raw: RawLayer, source: LayerSource) -> Value | None:
    """LayerNorm2d's channels: a size, or the tuple of one size PyTorch prints, (96,)."""
    if not isinstance(read._raw("normalized_shape"), tuple):
        return read.size("normalized_shape")
    shape = read.shape("normalized_shape")
    if len(shape) != 1:
        raise InvalidLayerError(f"{raw.name} normalises the channels: normalized_shape is one "
                                f"size, C, not {len(shape)}", source.argument("normalized_shape"),
                                raw.name)
    return shape[0]


def _required(value: Value | None) -> Value:
    assert value is not None  # REQUIRED parameters never default to None
    return value
