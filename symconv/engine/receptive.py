"""Receptive fields, per axis: the recursion layer by layer, and the closed forms.

Coordinates are input indices: input element i has its centre at i. Every unit of a layer's
output along one axis is described by three numbers (Araujo, Norris & Sim, Distill 2019):

    r      the receptive field: how many input positions one unit's region spans
    j      the jump: the input distance between the centres of neighbouring units
    start  the centre of unit 0's region, so unit u is centred at start + u·j

A window layer with span k_eff = d(k − 1) + 1, stride s and padding p before advances them:
r' = r + (k_eff − 1)·j,  j' = j·s,  start' = start + ((k_eff − 1)/2 − p)·j.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, assert_never

import sympy

from symconv.algebra.simplify import cancelled, geometric_sum, simplify_rounding
from symconv.algebra.symbols import Value, as_value, truth
from symconv.engine import formulas as f
from symconv.engine import windows
from symconv.errors import InvalidValueError, UnsupportedError
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
    Layer,
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
)


@dataclass(frozen=True, slots=True)
class Field:
    """The receptive field of one axis's units (`jump` None: the chain has ended, as after
    flatten, and every unit sees the whole input)."""

    size: Value
    jump: Value | None
    start: Value

    @property
    def ended(self) -> bool:
        return self.jump is None

    def centre(self, unit: Value) -> Value:
        """Centre of unit `unit`'s region: start + unit·j."""
        return self.start if self.jump is None else exact(self.start + unit * self.jump)

    def interval(self, unit: Value) -> tuple[Value, Value]:
        """The input positions [first, last] unit `unit` sees (beyond 0 and n − 1: padding)."""
        centre, half = self.centre(unit), ratio(self.size - 1, 2)
        return exact(centre - half), exact(centre + half)


INPUT = Field(1, 1, 0)


def exact(value: Any) -> Value:
    """An int where the value is one, else an exact SymPy number or expression."""
    if isinstance(value, int):
        return value
    if isinstance(value, sympy.Rational):
        return as_value(value)
    e = sympy.sympify(value, strict=True)
    pieces = list(e.atoms(sympy.Piecewise))
    if pieces:  # 1 + (K − 1)·Σ rather than 1 + K·Σ − Σ, the sums left as summed
        e = sympy.collect(sympy.expand(e, deep=False), pieces, func=sympy.factor)
    elif _unexpanded(e):  # SymPy spreads a number over a sum itself; symbols need expand
        e = sympy.expand(e)
    return as_value(simplify_rounding(e))


def _unexpanded(e: sympy.Expr) -> bool:
    return any(
        isinstance(term, sympy.Mul | sympy.Pow) and any(isinstance(f, sympy.Add) for f in term.args)
        for term in sympy.Add.make_args(e)
    )


def ratio(a: Value, b: Value) -> Value:
    """a / b exactly: an int, a Rational such as 1/2, or an expression."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b if a % b == 0 else sympy.Rational(a, b)
    return exact(sympy.sympify(a, strict=True) / b)


# ---------------------------------------------------------------- one window


@dataclass(frozen=True, slots=True)
class Geometry:
    """A layer's window along one axis as the recursion sees it: span, stride, padding."""

    span: Value  # k_eff
    stride: Value
    before: Value  # padding before the first element
    after: Value


def advance(field: Field, g: Geometry) -> Field:
    """The field after one window layer (the recursion of the module docstring)."""
    if field.jump is None:
        return field
    j = field.jump
    r, start, span, stride, before = field.size, field.start, g.span, g.stride, g.before
    if (type(r) is int and type(j) is int and type(start) is int and type(span) is int
            and type(stride) is int and type(before) is int and span % 2):
        # whole numbers: plain int arithmetic (tested one by one: this runs per layer and
        # axis of every numeric table)
        return Field(field_size(r, j, span), field_jump(j, stride),
                     start + ((span - 1) // 2 - before) * j)
    numbers = (r, j, start, span, stride, before)
    if all(isinstance(v, int | sympy.Rational) for v in numbers):  # exact fractions
        r, j_, start, span, stride, before = (_fraction(v) for v in numbers)
        return Field(_number(field_size(r, j_, span)), _number(field_jump(j_, stride)),
                     _number(start + ((span - 1) / 2 - before) * j_))
    return Field(
        exact(field_size(field.size, j, g.span)),
        exact(field_jump(j, g.stride)),
        exact(field.start + (ratio(g.span - 1, 2) - g.before) * j),
    )


def field_size(r: Any, j: Any, span: Any) -> Any:
    """The receptive field after a window of span k_eff over units j apart:
    r + (k_eff − 1)·j (the derivation steps write it so)."""
    return r + (span - 1) * j


def field_jump(j: Any, s: Any) -> Any:
    """The jump after a window of stride s: j·s."""
    return j * s


def _fraction(v: int | sympy.Rational) -> Fraction:
    return Fraction(v) if isinstance(v, int) else Fraction(int(v.p), int(v.q))


def _number(v: Fraction) -> Value:
    return v.numerator if v.denominator == 1 else sympy.Rational(v.numerator, v.denominator)


def window_geometry(w: Window, spatial: Sequence[Value]) -> tuple[Geometry, ...]:
    """Per axis: k_eff, s and the padding on each side, as the window applies it to an input
    of sizes `spatial` (windows.padding_of: p, or 'same' in the window's convention)."""
    if not (w.same and w.convention is Convention.TENSORFLOW) and all(
            type(v) is int for v in (*w.kernel, *w.stride, *w.padding, *w.dilation)):
        return _numeric_geometry(w)  # the padding does not depend on the sizes
    return _geometry(w, tuple(spatial))


@functools.lru_cache(maxsize=1 << 10)
def _numeric_geometry(w: Window) -> tuple[Geometry, ...]:
    """window_geometry of a window of plain ints whose padding does not depend on the input
    (frozen: kept for the next layer or call with the same window; a Window of ints is equal
    only to one of the same ints)."""
    return _geometry(w, (0,) * w.rank)


def _geometry(w: Window, spatial: tuple[Value, ...]) -> tuple[Geometry, ...]:
    return tuple(Geometry(f.effective_kernel(k, d), s, before, after)
                 for k, s, d, (before, after) in zip(w.kernel, w.stride, w.dilation,
                                                     windows.paddings(w, spatial), strict=True))


def transposed(field: Field, k: Value, s: Value, p: Value, d: Value) -> Field:
    """The field after a transposed convolution: a stride-1 window of span k_eff over its
    input spread out by s (zeros between), so the jump divides, j' = j/s, and the window
    is padded by k_eff − 1 − p before."""
    if field.jump is None:
        return field
    spread = Field(field.size, ratio(field.jump, s), field.start)
    span = f.effective_kernel(k, d)
    return advance(spread, Geometry(span, 1, span - 1 - p, span - 1 - p))


# ---------------------------------------------------------------- one layer


def whole_input(input_spatial: Sequence[Value]) -> tuple[Field, ...]:
    """Every unit sees the whole input: r = n and the centre of the input, per axis."""
    return tuple(Field(n, None, ratio(n - 1, 2)) for n in input_spatial)


def layer_fields(
    layer: Layer,
    fields: tuple[Field, ...],
    in_spatial: Sequence[Value],
    input_spatial: Sequence[Value],
) -> tuple[Field, ...]:
    """The fields after one (non-block) layer; `input_spatial` is the network input's size."""
    if any(field.ended for field in fields):
        return fields
    match layer:
        case Conv(window=w) | Pool(window=w):
            return tuple(advance(fd, g)
                         for fd, g in zip(fields, window_geometry(w, in_spatial), strict=True))
        case ConvTranspose(window=w):
            return tuple(
                transposed(fd, k, s, windows.transposed_padding_of(w, axis), d)
                for axis, (fd, k, s, d) in enumerate(zip(fields, w.kernel, w.stride, w.dilation,
                                                         strict=True))
            )
        case AdaptivePool(output_size=size):
            return tuple(
                _adaptive(fd, n, n if o is None else o)
                for fd, n, o in zip(fields, in_spatial, size, strict=True)
            )
        case Flatten() | Linear() | GlobalPool(keepdim=False):
            return whole_input(input_spatial)
        case GlobalPool():
            return tuple(_adaptive(fd, n, 1) for fd, n in zip(fields, in_spatial, strict=True))
        case Pad(padding=padding):
            return tuple(advance(fd, Geometry(1, 1, before, after))
                         for fd, (before, after) in zip(fields, padding, strict=True))
        case PixelShuffle(factor=r, inverse=True):
            return tuple(advance(fd, Geometry(r, r, 0, 0)) for fd in fields)
        case PixelShuffle(factor=r):
            return tuple(transposed(fd, r, r, 0, 1) for fd in fields)
        case Upsample():
            return tuple(_upsampled(layer, fd, n)
                         for fd, n in zip(fields, _upsample_factors(layer, in_spatial),
                                          strict=True))
        # The statistics of group, layer and instance normalisation span the whole input,
        # as a gate does; like them they are left out (docs/conventions.md).
        case BatchNorm() | GroupNorm() | LayerNorm() | InstanceNorm() | Activation() | Dropout():
            return fields
        # Moving or selecting channels leaves every position where it is; so does what acts
        # on each position's channels alone.
        case ChannelShuffle() | Chunk() | ChannelNorm() | LayerScale():
            return fields
        case Repeat() | Residual() | Concat() | Scale() | ChannelsLast():
            raise AssertionError("blocks are traced by trace.py")
        case Bind(layer=inner):
            return layer_fields(inner, fields, in_spatial, input_spatial)
        # A join's inputs are named tensors, whose fields trace.chain keeps (engine/joins.py).
        case Join():
            raise AssertionError("joins are traced by trace.py")
        case _:
            assert_never(layer)


def _upsample_factors(layer: Upsample, in_spatial: Sequence[Value]) -> tuple[Value, ...]:
    """Per axis, the factor q by which the upsampling multiplies the size (the output over
    the input, where a size is given)."""
    layer = layer.per_axis(len(in_spatial))
    if layer.scale is not None:
        return tuple(layer.scale)
    assert layer.size is not None
    return tuple(ratio(o, n) for o, n in zip(layer.size, in_spatial, strict=True))


def _upsampled(layer: Upsample, field: Field, q: Value) -> Field:
    """Upsampling by a whole factor q reads what a transposed convolution with stride q
    reads: kernel q (nearest, one input per output), 2q padded q - ⌊q/2⌋ (linear: the two
    nearest inputs), 4q padded 2q - ⌊q/2⌋ (cubic: four); tests/test_layers_more.py checks
    this against the inputs PyTorch's interpolation reads. Any other factor (or
    align_corners) takes the mean stride 1/q with the widest window, ⌈q⌉ in place of q, as
    adaptive pooling does: unit centres then wander by under one input element."""
    reads = f.interpolation_reads(layer.mode, 1)
    whole = ceiling(q)
    padding = 0 if reads == 1 else (reads // 2) * whole - whole // 2
    return transposed(field, reads * whole, q, padding, 1)


def ceiling(q: Value) -> Value:
    """⌈q⌉ for a factor: an int for numbers, `ceiling` for symbols."""
    if isinstance(q, int):
        return q
    return as_value(sympy.ceiling(q))


def _adaptive(field: Field, n: Value, o: Value) -> Field:
    """Adaptive pooling: where o divides n, a pool with k = s = n/o; otherwise the widest
    window (formulas.adaptive_widest) with the mean stride n/o (unit centres then wander by
    under one)."""
    divides = truth(sympy.Eq(sympy.Mod(n, o), 0))
    if divides is False:
        span = f.adaptive_widest(n, o)
        return advance(field, Geometry(span, ratio(n, o), 0, 0))
    k = ratio(n, o)
    return advance(field, Geometry(k, k, 0, 0))


# ---------------------------------------------------------------- blocks


def repeat_fields(before: Field, once: Field, count: Value) -> Field:
    """The field after a block repeated `count` times, given the field before it and after
    one pass. Per pass j multiplies by J and r, start grow by R·j, T·j, so after N passes
    r = r₀ + R·j₀·Σ_{i<N} J^i (a geometric sum, N where J = 1)."""
    if before.jump is None or once.jump is None:
        raise UnsupportedError(
            "the receptive field of a block repeated a symbolic number of times is known only "
            "for blocks of window layers; give the count as a number"
        )
    j0 = before.jump
    growth = ratio(once.jump, j0)
    total = geometric_sum(growth, count)
    # Kept factored, so that 1 + (K − 1)·(S^N − 1)/(S − 1) reads as it is derived, unless
    # the fraction cancels ((2^N − 1)·(2^(N²) − 1)/(2^N − 1) reads better as 2^(N²) − 1).
    return Field(
        before.size + _shorter(sympy.factor(once.size - before.size) * total),
        exact(j0 * sympy.sympify(growth, strict=True) ** count),
        before.start + _shorter(sympy.factor(once.start - before.start) * total),
    )


def _shorter(e: Any) -> Any:
    c = cancelled(e)
    return c if sympy.count_ops(c) < sympy.count_ops(e) else e


def merge_paths(paths: Sequence[tuple[Field, ...]]) -> tuple[tuple[Field, ...], Any]:
    """Fields of paths that meet (sum or concatenation): the largest receptive field over the
    paths, and whether the paths are aligned (every path centres unit u at the same place):
    True, False, or the condition under which they are."""
    numbers = _plain_numbers(paths)
    if numbers is not None:
        return numbers
    merged, conditions = [], []
    for axis in zip(*paths, strict=True):
        widest = axis[0]
        for fd in axis[1:]:
            wider = sympy.sympify(fd.size, strict=True) > widest.size
            decided = truth(wider)
            if decided is True:
                widest = fd
            elif decided is None and not (fd.ended or widest.ended):
                widest = _either(wider, fd, widest)  # the symbols decide which is wider
        merged.append(widest)
        for fd in axis[1:]:
            if fd.ended or widest.ended:
                conditions.append(sympy.sympify(fd.ended == widest.ended, strict=True))
                continue
            conditions += [_equal(fd.jump, widest.jump), _equal(fd.start, widest.start)]
    aligned = sympy.And(*conditions)
    decided = truth(aligned)
    return tuple(merged), aligned if decided is None else decided


def _plain_numbers(paths: Sequence[tuple[Field, ...]]
                   ) -> tuple[tuple[Field, ...], bool] | None:
    """merge_paths in int arithmetic where every field is whole numbers (a dense block's
    concatenations merge dozens of paths, at every numeric trace); None otherwise."""
    if not all(type(fd.size) is int and type(fd.jump) is int and type(fd.start) is int
               for fields in paths for fd in fields):
        return None
    merged, aligned = [], True
    for axis in zip(*paths, strict=True):
        widest = axis[0]
        for fd in axis[1:]:
            if fd.size > widest.size:
                widest = fd
        merged.append(widest)
        aligned = aligned and all(fd.jump == widest.jump and fd.start == widest.start
                                  for fd in axis)
    return tuple(merged), aligned


def _either(condition: Any, a: Field, b: Field) -> Field:
    """a where the condition holds, else b, component by component."""
    def pick(x: Value, y: Value) -> Value:
        return x if x == y else sympy.Piecewise((x, condition), (y, True))

    assert a.jump is not None and b.jump is not None
    return Field(pick(a.size, b.size), pick(a.jump, b.jump), pick(a.start, b.start))


def _equal(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return sympy.true if exact(a - b) == 0 else sympy.Eq(a, b)


# ---------------------------------------------------------------- closed forms


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of a path as an equivalent window, in units of its input's jump:
    k = 1 + Δr/j, s = j'/j, p = (k − 1)/2 − Δstart/j (a block counts as one stage)."""

    kernel: Value
    stride: Value
    padding: Value


def stage(before: Field, after: Field) -> Stage | None:
    """The window equivalent to the step from `before` to `after` (None past a chain end)."""
    if before.jump is None or after.jump is None:
        return None
    j = before.jump
    k = exact(1 + ratio(exact(after.size - before.size), j))
    return Stage(k, ratio(after.jump, j), exact(ratio(k - 1, 2) - ratio(
        exact(after.start - before.start), j)))


@dataclass(frozen=True, slots=True)
class ClosedForm:
    """Araujo et al.'s closed forms over a chain of stages, for one axis."""

    receptive_field: Value  # 1 + Σ_l (k_l − 1)·Π_{i<l} s_i
    stride: Value  # Π_l s_l
    padding: Value  # Σ_l p_l·Π_{i<l} s_i
    terms: tuple[Value, ...]  # the (k_l − 1)·Π_{i<l} s_i

    def centre(self, unit: Value) -> Value:
        """Centre of output unit `unit`'s region: u·S − P + (r − 1)/2."""
        return exact(unit * self.stride - self.padding + ratio(self.receptive_field - 1, 2))


def closed_form(stages: Sequence[Stage]) -> ClosedForm:
    """The sums and products of the closed forms, evaluated stage by stage."""
    terms: list[Value] = []
    stride: Value = 1
    padding: Value = 0
    for st in stages:
        terms.append(exact((st.kernel - 1) * stride))
        padding = exact(padding + st.padding * stride)
        stride = exact(stride * st.stride)
    return ClosedForm(exact(1 + sum(terms, 0)), stride, padding, tuple(terms))


def closed_forms(path: Sequence[tuple[Field, ...]]) -> tuple[ClosedForm, ...]:
    """Per axis, the closed forms of a chain given the fields after each of its steps, the
    first entry being the input's (steps past a chain end are left out)."""
    if not (isinstance(path, list | tuple) and all(
            isinstance(fields, tuple) and all(isinstance(fd, Field) for fd in fields)
            for fields in path)):
        raise InvalidValueError("closed_forms: expected a list of receptive fields, one tuple "
                                "of Field per step (the .fields of Network.records()), or a "
                                f"Network, got {type(path).__name__}")
    out = []
    for axis in zip(*path, strict=True):
        stages = [st for st in itertools.starmap(stage, itertools.pairwise(axis))
                  if st is not None]
        out.append(closed_form(stages))
    return tuple(out)


def padding_after(field: Field, n_in: Value, n_out: Value) -> Value:
    """How far the last unit's region reaches past the input's last element (its effective
    padding on the far side; negative where trailing input elements are never seen)."""
    if field.jump is None:
        return 0
    return exact(field.centre(n_out - 1) + ratio(field.size - 1, 2) - (n_in - 1))
