"""Derivations as data: every derived quantity written out the way a teacher does.

For each layer, each axis and each quantity a `Step` holds SymPy objects only:

    target = formula            the general formula, in symbols (H_1, K_1, S_1, P_1, ...)
           = substituted        the same formula with every number put in (`Given` atoms)
           = simplified ...     the operands of the outermost operation worked out
           = value              the number, or the closed form where symbols remain

Every line comes from calling the functions in `symconv.formulas`: with symbols for the
general formula, with `Given` atoms for the substituted line and with the values for the
value, so a derivation cannot say something the engine does not compute. Layers are
chained: layer l's output sizes are layer l + 1's inputs. Renderers (symconv.render.latex,
.markdown, .text) only format these records.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import assert_never

import sympy

from symconv.algebra.pickling import Unevaluated
from symconv.algebra.simplify import simplify_rounding
from symconv.algebra.symbols import Value, free_names, truth
from symconv.derive.steps import QUANTITIES, Quantity, Slot, Step, call, given_step
from symconv.engine import formulas as f
from symconv.engine import receptive, windows
from symconv.engine.records import Record, axis_names
from symconv.errors import InvalidValueError, UnknownNameError
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
    LayerNorm,
    LayerScale,
    Linear,
    Pad,
    PixelShuffle,
    Pool,
    Repeat,
    Residual,
    Scale,
    Upsample,
    Window,
    shared_of,
)
from symconv.network import Network, as_network
from symconv.present.values import row_label, text_value


@dataclass(frozen=True, slots=True)
class LayerDerivation:
    """The steps of one layer (none for a layer that keeps the shape and has no parameters)."""

    index: int
    kind: str
    steps: tuple[Step, ...]
    # A module used at more than one place (from_torch): the row of the layer whose
    # parameters this one reuses; none are counted here.
    reuses: str | None = None
    # Inside a block: the row label the table gives the layer (6.a1); "" at the top.
    label: str = ""
    # A block's paths, each derived layer by layer (symconv.derive_blocks).
    parts: tuple[Part, ...] = ()

    @property
    def name(self) -> str:
        """What the table calls the layer: its number, or its row label inside a block."""
        return self.label or str(self.index)

    @property
    def title(self) -> str:
        title = f"Layer {self.name}: {self.kind}"
        if self.reuses is None:
            return title
        return f"{title} (reuses the parameters of layer {self.reuses}, 0 counted here)"


# What names a layer's sizes: its number at the top (H_5), its row label in a block (H_5.a1).
Label = int | str


@dataclass(frozen=True, slots=True)
class Part:
    """One path of a block, derived layer by layer: a repeat's body (`passes` says which
    passes it stands for: identical passes are derived once), a residual's body or
    shortcut, a concat's branch, a scale's gate; `shape` is the path's output."""

    title: str
    layers: tuple[LayerDerivation, ...]
    shape: tuple[Value, ...]
    passes: str = ""


@dataclass(frozen=True, slots=True, repr=False)
class Derivation(Unevaluated):
    """The derivations of a whole network: the input sizes and then every layer's steps.

    Prints as text; its repr is one line; Jupyter shows it as rendered math (`_repr_latex_`,
    `_repr_markdown_`: the input sizes, then each layer that has steps)."""

    inputs: tuple[Step, ...]
    layers: tuple[LayerDerivation, ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for layer in self.layers for s in layer.steps)

    def __str__(self) -> str:
        from symconv.render.text import derivation_text

        return derivation_text(self)

    def __repr__(self) -> str:
        from symconv.present.text import text

        given = ", ".join(f"{text(s.target)} = {text(s.value)}" for s in self.inputs)
        shown = [layer for layer in self.layers if layer.steps]
        return (f"<symconv Derivation: input {given}; {len(self.steps)} steps in "
                f"{len(shown)} of {len(self.layers)} layers; print() shows them>")

    def _repr_latex_(self) -> str:
        from symconv.render.latex import derivation_math

        return derivation_math(self)

    def _repr_markdown_(self) -> str:
        from symconv.render.markdown import derivation_markdown

        return derivation_markdown(self)


def derive(
    network: Network | str, quantity: str | Sequence[str] = "all", **values: object
) -> Derivation:
    """The derivations of `network` (a Network or its description) for `quantity` ('shape',
    'params' or 'all'), with the symbols in `values` given numbers first."""
    network = as_network(network, "derive")
    wanted = _quantities(quantity)
    records = network.records(**values)
    bound = network.bind(values)
    chain = _Chain.start(bound.input_shape, internal_letters(bound))
    inputs = tuple(chain.given(i, v) for i, v in enumerate(chain.values))
    layers = []
    for record in records:
        parts, own = block_parts(record, chain, record.index)  # before the chain moves on
        steps = [*_layer_steps(record, chain), *_rf_steps(record, chain)]
        steps = _with_own(steps, own)
        reuses = _reused_from(record, records)
        if reuses is not None:  # no formula: its parameters are counted at their first use
            steps = [*(s for s in steps if s.quantity is not Quantity.PARAMS),
                     given_step(Quantity.PARAMS, f"params_{record.index}", 0)]
        layers.append(
            LayerDerivation(record.index, record.kind,
                            tuple(s for s in steps if s.quantity in wanted), reuses,
                            parts=_wanted_parts(parts, wanted))
        )
    return Derivation(inputs, tuple(layers))


def _with_own(steps: list[Step], own: Sequence[Step]) -> list[Step]:
    """A block's steps with its own derived ones (a concat's channel sum) in the place of
    the values given for the same names."""
    by_target = {s.target: s for s in own}
    replaced = [by_target.pop(s.target, s) for s in steps]
    return [*by_target.values(), *replaced]


def _wanted_parts(parts: Sequence[Part], wanted: frozenset[Quantity]) -> tuple[Part, ...]:
    return tuple(dataclasses.replace(part, layers=tuple(
        dataclasses.replace(layer, steps=tuple(s for s in layer.steps if s.quantity in wanted),
                            parts=_wanted_parts(layer.parts, wanted))
        for layer in part.layers)) for part in parts)


def block_parts(record: Record, chain: _Chain, at: Label) -> tuple[tuple[Part, ...], list[Step]]:
    """The paths of a block derived layer by layer, each from a copy of the chain at the
    block's input, and the block's own steps that follow from them (a concat's channels
    as the sum of its branches'); nothing for a layer that is not a block."""
    from symconv.derive.blocks import parts_of

    return parts_of(record, chain, at)


# The letters of the names derivations give sizes, windows and fields: C_1, H_1, K_1, ...
INTERNAL = ("C", "F", "L", "D", "H", "W", "K", "S", "P", "O", "G", "R", "J", "params")


def internal_letters(network: Network) -> dict[str, str]:
    """Per internal letter, the letter to write it with: itself, or primed (K') where some
    symbol of the network is named like its names (a user's K_1 beside layer 1's kernel
    K_1). A prime is fresh: no symbol a description names can contain one. An input size
    named after its own axis (input 3 x H_0 x W_0) means what H_0 means and is no clash."""
    axes = _axes(len(network.input_shape))
    own = {f"{axis}{prime}_0" for axis, v in zip(axes, network.input_shape, strict=True)
           for prime in ("", "'") if isinstance(v, sympy.Symbol) and v.name == f"{axis}{prime}_0"}
    taken = set(network.symbols) - {
        name for name in own
        if not any(name in free_names(v) for v in _values(network.layers))}
    return {letter: letter + "'" if any(_reads_like(n, letter) for n in taken) else letter
            for letter in (*INTERNAL, *axes)}  # axes beyond 3 are named axis4, axis5, ...


def _reads_like(name: str, letter: str) -> bool:
    """Whether a symbol's name prints like a name of the letter: K_1, K1 (K_{1} too), K_x."""
    return name.startswith(letter + "_") or re.fullmatch(rf"{letter}[0-9]+", name) is not None


def _values(obj: object) -> list[object]:
    """Every value inside layers (their parameters, blocks' bodies too)."""
    if isinstance(obj, tuple | list):
        return [v for item in obj for v in _values(item)]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _values(tuple(getattr(obj, f.name) for f in dataclasses.fields(obj)))
    return [obj]


def _reused_from(record: Record, records: Sequence[Record]) -> str | None:
    """The row label (as `symconv table` shows it) of the layer whose parameters `record`
    reuses; None for a layer with parameters of its own."""
    shared = shared_of(record.layer)
    if shared is None or not shared.reuse:
        return None

    def rows(inner: Sequence[Record], parent: str) -> Iterator[tuple[str, Record]]:
        for r in inner:
            label = row_label(parent, r.index, r.path)
            yield label, r
            yield from rows(r.children, label)

    return next(label for label, r in rows(records, "")
                if (first := shared_of(r.layer)) is not None and first.name == shared.name)


def _quantities(quantity: str | Sequence[str]) -> frozenset[Quantity]:
    if isinstance(quantity, str):
        names = [quantity]
    elif isinstance(quantity, list | tuple) and all(isinstance(n, str) for n in quantity):
        names = list(quantity)
    else:
        raise InvalidValueError(f"quantity: expected one of {', '.join(QUANTITIES)} or all, "
                                f"or a list of them, got {type(quantity).__name__}")
    if "all" in names:
        return frozenset(Quantity)
    chosen = set()
    for name in names:
        try:
            chosen.add(Quantity(name))
        except ValueError:
            raise UnknownNameError(
                f"unknown quantity '{name}' (choose from {', '.join(QUANTITIES)} or all)"
            ) from None
    return frozenset(chosen)


@dataclass
class _Chain:
    """The sizes flowing from layer to layer: per axis, the symbol that last named it
    (H_0, H_1, ...) and its value."""

    names: list[str]
    values: list[Value]
    # Per spatial axis of the network input: the receptive field's and the jump's symbol
    # names and values (None once the field covers the whole input, as after flatten).
    fields: list[_Field | None]
    letters: dict[str, str]  # the letter each internal name is written with
    # What each axis is called where it is not the usual order (channels last: H, W, C).
    axes: tuple[str, ...] | None = None

    @classmethod
    def start(cls, shape: Sequence[Value], letters: dict[str, str]) -> _Chain:
        spatial = axis_names(len(shape) - 1) if len(shape) > 1 else ()
        return cls([f"{letters[axis]}_0" for axis in _axes(len(shape))], list(shape),
                   [_Field.start(axis, len(spatial), letters) for axis in spatial], letters)

    def name(self, letter: str, rest: object) -> str:
        """An internal name such as K_1 or K_1,H, in the letter that clashes with no user's
        symbol."""
        return f"{self.letters[letter]}_{rest}"

    def given(self, i: int, value: Value) -> Step:
        return given_step(Quantity.SHAPE, self.names[i], value)

    def slot(self, i: int) -> Slot:
        return ((self.names[i], self.values[i]),)

    def reshape(self, rank: int) -> None:
        """A new number of axes (flatten): the names restart from the axis letters."""
        self.names = [self.name(axis, "?") for axis in _axes(rank)]
        self.values = [0] * rank
        self.axes = None

    def advance(self, i: int, index: Label, value: Value) -> str:
        """Name axis i's size after layer `index`; returns the new name."""
        axis = (self.axes or _axes(len(self.names)))[i]
        self.names[i] = self.name(axis, index)
        self.values[i] = value
        return self.names[i]


@dataclass
class _Field:
    axis: str
    rank: int
    r: tuple[str, Value]
    j: tuple[str, Value]

    @classmethod
    def start(cls, axis: str, rank: int, letters: dict[str, str]) -> _Field:
        return cls(axis, rank, (cls.name(letters["R"], 0, axis, rank), 1),
                   (cls.name(letters["J"], 0, axis, rank), 1))

    @staticmethod
    def name(letter: str, index: int, axis: str, rank: int) -> str:
        return f"{letter}_{index}" if rank == 1 else f"{letter}_{index},{axis}"


def _axes(length: int) -> tuple[str, ...]:
    """What each axis of a shape is called: F for a flat shape; C then L / H, W / D, H, W."""
    return ("F",) if length == 1 else ("C", *axis_names(length - 1))


def _layer_steps(record: Record, chain: _Chain, at: Label | None = None) -> list[Step]:
    """The steps of one layer, its sizes named after `at` (its number by default; a row
    label such as 6.a1 inside a block); advances the chain to the layer's output."""
    layer = record.layer
    at = record.index if at is None else at
    match layer:
        case Conv() | ConvTranspose():
            return [_channels_step(layer, at, chain), *_window_steps(layer, at, chain),
                    *_conv_params(layer, at, chain)]
        case Pool():
            return _window_steps(layer, at, chain)
        case AdaptivePool():
            return [
                given_step(Quantity.SHAPE, chain.advance(a + 1, at, out), out)
                for a, (size, out) in enumerate(
                    zip(layer.output_size, record.output_shape[1:], strict=True))
                if size is not None
            ]
        case Flatten():
            step_args = tuple(((name, value),)
                              for name, value in zip(chain.names, chain.values, strict=True))
            chain.reshape(1)
            target = chain.advance(0, at, record.output_shape[0])
            return [call(Quantity.SHAPE, target, lambda *xs: f.product(xs), *step_args,
                          chained=[name for (name, _), in step_args])]
        case Linear():
            last = len(chain.names) - 1
            f_in, before = chain.slot(last), list(chain.names)
            target = chain.advance(last, at, layer.out_features)
            return [
                given_step(Quantity.SHAPE, target, layer.out_features),
                call(Quantity.PARAMS, chain.name("params", at), f.linear_params, f_in,
                      ((target, layer.out_features),), layer.bias, chained=before),
            ]
        case BatchNorm(scale=False) | BatchNorm(center=False) if layer.affine:
            return [call(Quantity.PARAMS, chain.name("params", at), f.batchnorm_kept_params,
                         chain.slot(0), layer.scale, layer.center, chained=chain.names)]
        case BatchNorm() | GroupNorm() | InstanceNorm():
            if not layer.affine:
                return []
            return [call(Quantity.PARAMS, chain.name("params", at), f.batchnorm_params,
                         chain.slot(0), True, chained=chain.names)]
        case Activation() | Dropout() | ChannelShuffle():
            return []
        # Layers without a window of their own: their sizes and parameters as the engine
        # computes them (the table lists them), as for a block.
        case (LayerNorm() | Pad() | PixelShuffle() | Upsample() | GlobalPool() | Chunk()
              | ChannelNorm() | LayerScale()):
            return _block_steps(record, chain, at)
        case Repeat() | Residual() | Concat() | Scale() | ChannelsLast():
            return _block_steps(record, chain, at)
        # A join's output as the engine computes it from the named tensors, every size given
        # (the chain's names were the previous layer's, which the join need not read). A
        # Bind never reaches here: its record holds the layer it names.
        case Join() | Bind():
            return _block_steps(record, chain, at, every=True)
        case _:
            assert_never(layer)


def _block_steps(record: Record, chain: _Chain, at: Label, every: bool = False
                 ) -> list[Step]:
    """A block's output sizes and parameters as the engine sums them over its inner layers
    (the table lists them); the chain continues from the block's output."""
    shape = record.output_shape
    if len(shape) != len(chain.names):
        chain.reshape(len(shape))
    steps = [given_step(Quantity.SHAPE, chain.advance(i, at, v), v)
             for i, v in enumerate(shape)
             if every or chain.values[i] != v or chain.names[i][-1] == "?"]
    if record.params != 0:
        steps.append(given_step(Quantity.PARAMS, chain.name("params", at), record.params))
    return steps


def _channels_step(layer: Conv | ConvTranspose, at: Label, chain: _Chain) -> Step:
    # The input channels stay in the chain for the parameter count; see _conv_params.
    return given_step(Quantity.SHAPE, chain.name("C", at), layer.out_channels)


def _suffix(window: Window, axis: str) -> str:
    """',H' when the window differs between axes (so K_1 needs saying which axis)."""
    uniform = all(len(set(map(str, v))) == 1 for v in
                  (window.kernel, window.stride, window.padding, window.dilation))
    return "" if uniform else f",{axis}"


def _window_steps(layer: Conv | ConvTranspose | Pool, at: Label, chain: _Chain) -> list[Step]:
    w = layer.window
    rank = w.rank
    steps = []
    for a, axis in enumerate(axis_names(rank)):
        i = a + 1
        n = chain.slot(i)
        sfx = _suffix(w, axis)
        k, s, p = (((chain.name(letter, f"{at}{sfx}"), v[a]),) for letter, v in
                   (("K", w.kernel), ("S", w.stride), ("P", w.padding)))
        d: Slot = 1 if w.dilation[a] == 1 else ((chain.name("D", f"{at}{sfx}"), w.dilation[a]),)
        target = chain.name(axis, at)
        match layer:
            case Conv(window=Window(same=True, convention=Convention.TORCH)):
                step = call(Quantity.SHAPE, target, lambda x: x, n, chained=chain.names)
            case Conv(window=Window(same=True)) | Pool(window=Window(same=True)):
                step = dataclasses.replace(
                    call(Quantity.SHAPE, target, f.tf_same_out, n, s, chained=chain.names),
                    note=_tf_same_note(w, a, chain.slot(i)))
            case ConvTranspose(window=Window(same=True)):
                step = dataclasses.replace(
                    call(Quantity.SHAPE, target, f.tf_same_transposed_out, n, s,
                         chained=chain.names),
                    note="TensorFlow's padding='same' (transposed): n*s, whatever the kernel")
            case Conv():
                step = call(Quantity.SHAPE, target, f.window_out, n, k, s, p, d,
                             chained=chain.names)
            case ConvTranspose(output_padding=ops):
                op: Slot = 0 if ops[a] == 0 else ((chain.name("O", f"{at}{sfx}"), ops[a]),)
                step = call(Quantity.SHAPE, target, f.transposed_out, n, k, s, p, d, op,
                             chained=chain.names)
            case Pool(ceil_mode=True):
                step = _ceil_step(target, chain.names, n, k, s, p, d)
            case Pool():
                step = call(Quantity.SHAPE, target, f.window_out, n, k, s, p, d,
                             chained=chain.names)
            case _:
                assert_never(layer)
        chain.advance(i, at, step.value if not step.value.is_Integer else int(step.value))
        steps.append(step)
    return steps


def _tf_same_note(w: Window, axis: int, n: Slot) -> str:
    """The words before a TensorFlow 'same' size: the rule, and the padding it applies."""
    size = f.product(v for _, v in n) if isinstance(n, tuple) else n
    before, after = windows.padding_of(w, axis, size)
    rule = ("TensorFlow's padding='same': ceil(n/s) whatever the kernel; it pads "
            "max((ceil(n/s) - 1)s + d(k-1) + 1 - n, 0), the odd one after")
    before, after = (text_value(simplify_rounding(v)) for v in (before, after))
    return f"{rule}: here {before} before and {after} after, so"


# What ceil mode does with the last window, as the line before the step says it.
CEIL_INSIDE = "ceil mode: the last window starts inside the input, so"
CEIL_DROPPED = "ceil mode: the last window would start in the right padding and is dropped, so"
CEIL_EITHER = "ceil mode: one window fewer where the last one would start in the right padding:"


def _ceil_step(target: str, chained: Sequence[str], *slots: Slot) -> Step:
    """A ceil-mode pooling size: the condition on the last window decided with the values
    put in, and the step of the case that applies; both cases where it stays undecided."""
    values = [f.product(v for _, v in slot) if isinstance(slot, tuple) else slot
              for slot in slots]
    dropped = truth(f.last_window_in_padding(*values))
    if dropped is None:
        step = call(Quantity.SHAPE, target, f.window_out_ceil, *slots, chained=chained)
        return dataclasses.replace(step, note=CEIL_EITHER)
    formula = _ceil_dropped if dropped else f.ceil_windows
    step = call(Quantity.SHAPE, target, formula, *slots, chained=chained)
    return dataclasses.replace(step, note=CEIL_DROPPED if dropped else CEIL_INSIDE)


def _ceil_dropped(n: Value, k: Value, s: Value, p: Value, d: Value) -> Value:
    return f.ceil_windows(n, k, s, p, d) - 1


def _conv_params(layer: Conv | ConvTranspose, at: Label, chain: _Chain) -> list[Step]:
    rank = layer.window.rank
    kernel = tuple(
        (chain.name("K", at if rank == 1 else f"{at},{axis}"), k)
        for axis, k in zip(axis_names(rank), layer.window.kernel, strict=True)
    )
    groups: Slot = 1 if layer.groups == 1 else ((chain.name("G", at), layer.groups),)
    c_in, c_name = chain.slot(0), chain.names[0]
    c_out = ((chain.name("C", at), layer.out_channels),)
    chain.advance(0, at, layer.out_channels)
    formula = f.conv_params if isinstance(layer, Conv) else f.transposed_params
    return [call(Quantity.PARAMS, chain.name("params", at), formula, c_in, c_out, kernel, groups,
                  layer.bias, chained=[c_name])]


# ---------------------------------------------------------------- receptive fields


def _rf_steps(record: Record, chain: _Chain) -> list[Step]:
    """Receptive field (and jump, where the stride changes it) after a window layer, by the
    recursion of symconv.receptive; after flatten or a linear layer every unit sees the whole
    input; blocks and adaptive pooling take the engine's values."""
    if not chain.fields or any(fd is None for fd in chain.fields) or not record.fields:
        return []
    layer, at = record.layer, record.index
    steps: list[Step] = []
    for a, (fd, field) in enumerate(zip(chain.fields, record.fields, strict=True)):
        assert fd is not None
        r_name = _Field.name(chain.letters["R"], at, fd.axis, fd.rank)
        match layer:
            case Conv(window=w) | Pool(window=w) | ConvTranspose(window=w):
                sfx = _suffix(w, fd.axis) if w.rank > 1 else ""
                k: Slot = ((chain.name("K", f"{at}{sfx}"), w.kernel[a]),)
                s: Slot = ((chain.name("S", f"{at}{sfx}"), w.stride[a]),)
                d: Slot = (1 if w.dilation[a] == 1 else
                           ((chain.name("D", f"{at}{sfx}"), w.dilation[a]),))
                if isinstance(layer, ConvTranspose):
                    steps.append(call(Quantity.RF, r_name, _transposed_field, (fd.r,), d, k,
                                       (fd.j,), s, chained=(fd.r[0], fd.j[0]),
                                       close=receptive.exact))
                else:
                    steps.append(call(Quantity.RF, r_name, _window_field, (fd.r,), d, k,
                                       (fd.j,), chained=(fd.r[0], fd.j[0]),
                                       close=receptive.exact))
                if w.stride[a] != 1:
                    j_name = _Field.name(chain.letters["J"], at, fd.axis, fd.rank)
                    jump = (receptive.ratio if isinstance(layer, ConvTranspose)
                            else receptive.field_jump)
                    steps.append(call(Quantity.RF, j_name, jump, (fd.j,), s,
                                       chained=(fd.j[0],), close=receptive.exact))
                    fd.j = (j_name, steps[-1].value)
                fd.r = (r_name, steps[-1 if w.stride[a] == 1 else -2].value)
            case _ if field.ended:
                steps.append(given_step(Quantity.RF, r_name, field.size))
                chain.fields[a] = None
            case _ if field.size != fd.r[1] or field.jump != fd.j[1]:
                steps.append(given_step(Quantity.RF, r_name, field.size))
                fd.r = (r_name, field.size)
                if field.jump is not None:
                    fd.j = (fd.j[0], field.jump)
    return steps


def _window_field(r: Value, d: Value, k: Value, j: Value) -> Value:
    """R_l = R_{l-1} + D_l(K_l − 1)·J_{l-1}: the recursion's own formula, the arguments in
    the order a teacher writes them."""
    return receptive.field_size(r, j, f.effective_kernel(k, d))


def _transposed_field(r: Value, d: Value, k: Value, j: Value, s: Value) -> Value:
    """R_l = R_{l-1} + D_l(K_l − 1)·J_{l-1}/S_l: the input spread out by S_l (the jump
    divides), then a stride-1 window (receptive.transposed)."""
    return receptive.field_size(r, receptive.ratio(j, s), f.effective_kernel(k, d))
