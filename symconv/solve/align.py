"""Aligned input sizes: those from which no layer of a network discards pixels.

A convolution or pooling discards the `window_leftover` elements after its last window; an
input size is aligned when every such leftover, on every path (residual shortcuts and
concatenated branches too), is 0. Along one axis the aligned sizes are periodic with period
M, the product of the strides of all windows on that axis: adding M to the input adds to
each layer's input a multiple of the product of the strides still to come (a division by
a stride divides the shift exactly, a transposed convolution multiplies it, an adaptive
pooling makes it 0), so each floor shifts by an integer and each leftover stays the same.
Sizes grow with the input, so the valid inputs are those from some least size on. The
answer is therefore the residues mod M found over one period from that least size,
reduced to the smallest period that describes them (e.g. W = 0 mod 32, W >= 32).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from symconv.algebra.symbols import Value
from symconv.engine import formulas as f
from symconv.engine.records import axis_names
from symconv.errors import NoSolutionError, UnsupportedError
from symconv.language.layers import (
    Bind,
    Concat,
    Conv,
    Convention,
    ConvTranspose,
    Join,
    Layer,
    PixelShuffle,
    Pool,
    Repeat,
    Residual,
    Window,
    unbound,
)
from symconv.network import Network, bind_whole, parse
from symconv.solve.solution import first_true
from symconv.solve.walk import FLAT, axis_size, joined

# Input sizes times layers walked to find the aligned residues (about a second), and the
# most sizes `Alignment.sizes` lists.
WORK_LIMIT = 300_000
SIZES_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class Alignment:
    """The aligned input sizes along one axis: n = r (mod modulus) for r in residues, and
    n >= least (the smallest input every layer accepts)."""

    axis: str
    modulus: int
    residues: tuple[int, ...]
    least: int

    def __contains__(self, n: object) -> bool:
        return isinstance(n, int) and n >= self.least and n % self.modulus in self.residues

    def sizes(self, low: int, high: int) -> list[int]:
        """The aligned sizes from low to high (counted first: at most SIZES_LIMIT)."""
        low = max(low, self.least)
        firsts = [low + (r - low) % self.modulus for r in self.residues]
        count = sum(max(0, (high - first) // self.modulus + 1) for first in firsts)
        if count > SIZES_LIMIT:
            raise UnsupportedError(
                f"{count} aligned sizes from {low} to {high}, more than the {SIZES_LIMIT} "
                "symconv lists; narrow the range")
        return sorted(n for first in firsts for n in range(first, high + 1, self.modulus))

    def condition(self) -> sympy.Expr:
        """The set as a SymPy condition on the axis's symbol."""
        n = sympy.Symbol(self.axis, integer=True, positive=True)
        classes = [sympy.Eq(sympy.Mod(n - r, self.modulus), 0) for r in self.residues]
        return sympy.And(sympy.Or(*classes), n >= self.least)


def aligned_sizes(network: Network | str, /, **values: object) -> tuple[Alignment, ...]:
    """The aligned input sizes of each spatial axis, the layers' symbols taking `values`."""
    net = bind_whole(parse(network) if isinstance(network, str) else network, values)
    net.records()  # the layers' own rules first (a stride of 0, say), with their messages
    rank = len(net.input_shape) - 1
    names = axis_names(rank)
    return tuple(
        _axis(net.layers, axis, v.name if isinstance(v, sympy.Symbol) else names[axis])
        for axis, v in enumerate(net.input_shape[1:])
    )


def leftovers_zero(layers: Sequence[Layer], axis: int, n: int) -> bool | None:
    """Whether no layer discards elements of an input of length n along the axis; None when
    some layer's output would be empty."""
    walked = _walk(layers, axis, n)
    return None if walked is None else walked[1]


def _axis(layers: Sequence[Layer], axis: int, name: str) -> Alignment:
    period = _period(layers, axis)
    walked = _layers(layers)
    if period * walked > WORK_LIMIT:
        raise UnsupportedError(f"the strides along {name} multiply to {period}, too many sizes "
                               f"to examine through {walked} layer{'' if walked == 1 else 's'}")
    least = first_true(lambda n: _walk(layers, axis, n) is not None, 1, 2**40)
    if least > 2**40:
        raise NoSolutionError(f"no input size along {name} gives every layer an output")
    residues = sorted(n % period for n in range(least, least + period)
                      if leftovers_zero(layers, axis, n))
    if not residues:
        raise NoSolutionError(f"every input size along {name} leaves some layer with elements "
                              "it discards")
    found = set(residues)
    modulus = min(m for m in _divisors(period)
                  if all((r + m) % period in found for r in residues))
    return Alignment(name, modulus, tuple(sorted({r % modulus for r in residues})), least)


def _divisors(n: int) -> list[int]:
    """The divisors of n, in about √n steps."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})


def _layers(layers: Sequence[Layer]) -> int:
    """How many layers one walk of an input size steps through (repeats unrolled)."""
    total = 0
    for layer in layers:
        match layer:
            case Repeat(count=count, body=body):
                total += _int(count) * _layers(body)
            case Residual(body=body, shortcut=shortcut):
                total += _layers(body) + _layers(shortcut)
            case Concat(branches=branches):
                total += sum(_layers(b) for b in branches)
            case _:
                total += 1
    return total


def _int(v: Value) -> int:
    if not isinstance(v, int):
        raise NoSolutionError(f"the layers must be numbers to find aligned sizes; give {v} a "
                              "value with --set")
    return v


def _known(v: Value) -> Value:
    """A layer's argument that must be known (a scale factor may be a fraction)."""
    if sympy.sympify(v, strict=True).free_symbols:
        _int(v)  # the same refusal as for a whole-number argument
    return v


def _period(layers: Sequence[Layer], axis: int) -> int:
    period = 1
    for layer in layers:
        match layer:
            case Conv(window=w) | Pool(window=w):
                _torch_same_only(w)
                period *= 1 if w.same else _int(w.stride[axis])
            case Repeat(count=count, body=body):
                period *= _period(body, axis) ** _int(count)
            case Residual(body=body, shortcut=shortcut):
                period *= _period(body, axis) * _period(shortcut, axis)
            case Concat(branches=branches):
                for branch in branches:
                    period *= _period(branch, axis)
    return period


def _torch_same_only(w: Window) -> None:
    """Refuse TensorFlow's 'same', whose padding depends on the size (aligned sizes are
    PyTorch's question: which input sizes leave no window's leftover)."""
    if w.same and w.convention is not Convention.TORCH:
        raise NoSolutionError("aligned sizes follow PyTorch's padding; TensorFlow's "
                              "padding='same' pads by an amount that depends on the size "
                              "(solve for a size with --for and --target instead)")


def _walk(layers: Sequence[Layer], axis: int, n: int) -> tuple[int, bool] | None:
    """The length after the layers and whether none discarded anything (None: empty). A
    join goes on from the lengths of the tensors it names (walk.joined)."""
    exact, start, named = True, n, dict[str, int]()
    for layer in layers:
        if isinstance(join := unbound(layer), Join):
            sizes = joined(join, [(named.get(name, start),) for name in join.names], False)
            assert sizes is not None
            walked: tuple[int, bool] | None = (sizes[0], True)
        else:
            walked = _step(unbound(layer), axis, n)
        if walked is None or walked[0] < 1:
            return None
        n, exact = walked[0], exact and walked[1]
        if isinstance(layer, Bind):
            named[layer.name] = n
    return n, exact


def _step(layer: Layer, axis: int, n: int) -> tuple[int, bool] | None:
    """The length after one layer (walk.axis_size) and whether it read every element: a
    window's leftover is 0, a pixel unshuffle divides exactly (None: it cannot)."""
    match layer:
        case Repeat(count=count, body=body):
            return _paths((body,) * _int(count), axis, n, chained=True)
        case Residual(body=body, shortcut=shortcut):
            return _paths((body, shortcut), axis, n)
        case Concat(branches=branches):
            return _paths(branches, axis, n)
        case PixelShuffle(factor=r, inverse=True) if n % _int(r):
            return None
        case Conv(window=w) | Pool(window=w) | ConvTranspose(window=w) if w.same:
            _torch_same_only(w)
        case Conv(window=w) | Pool(window=w):
            k, s, p, d = (_int(v[axis]) for v in (w.kernel, w.stride, w.padding, w.dilation))
            return axis_size(layer, axis, n, _int), f.window_leftover(n, k, s, p, d) == 0
    out = axis_size(layer, axis, n, _known)
    return (n if out is FLAT else int(out)), True  # after a flatten nothing is spatial


def _paths(paths: Sequence[Sequence[Layer]], axis: int, n: int, chained: bool = False
           ) -> tuple[int, bool] | None:
    """Paths that all read n (a residual's body and shortcut, concatenated branches; the
    first one's output goes on), or that follow one another when chained (a repeat)."""
    first, exact = None, True
    for path in paths:
        walked = _walk(path, axis, n)
        if walked is None:
            return None
        exact = exact and walked[1]
        first = walked[0] if first is None else first
        n = walked[0] if chained else n
    return (n if chained else (first if first is not None else n)), exact
