"""Guard-rails: what a sliding window leaves of its input, per spatial axis.

A convolution or pooling layer moves a window of k taps, d apart, by s along each axis of its
padded input (n + 2p positions; the input's pixels are positions p to p + n - 1). Three things
are worth a warning, each computed here from the layer's window and its input and output
sizes:

- discarded: input pixels after the last window, which no window reads. The last window ends
  at (o - 1)s + d(k - 1), so max(0, n + p - 1 - (o - 1)s - d(k - 1)) pixels are discarded; in
  floor mode that is max(0, (n + 2p - d(k - 1) - 1) mod s - p), the remainder CS231n asks to
  be whole. Symbolic inputs give it as a formula.
- skipped: input pixels before the last window that no window reads: the gaps between windows
  where k < s, or between a dilated window's taps. Far from the edges a window reads
  min(k, s / gcd(d, s)) of every s positions. With numbers the skipped pixels are counted
  exactly (the covered positions marked, as tests/test_columns.py checks by brute force);
  with a symbolic input size the periodic rule is stated.
- residue: with a symbolic input size, an output size that depends on the input's residue
  mod s (its parity for s = 2): the remainder above is not constant.
"""

from __future__ import annotations

import enum
import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from symconv.algebra.symbols import Value, truth
from symconv.language.layers import Conv, Layer, Pool, Window

# Where each spatial axis's discarded pixels lie (the last positions along it).
_EDGES = {"L": "end", "D": "back", "H": "bottom", "W": "right"}


class Guard(enum.Enum):
    DISCARDED = "discarded"
    SKIPPED = "skipped"
    RESIDUE = "residue"


@dataclass(frozen=True, slots=True)
class LayerWarning:
    """One warning about one spatial axis of a layer. `count` is the number of input pixels
    discarded or skipped (an int, or a SymPy expression in the input's symbols; None for a
    residue warning); `size` the axis's input length; `text` the sentence tables print."""

    guard: Guard
    axis: str
    count: Value | None
    size: Value
    text: str

    def __str__(self) -> str:
        return self.text


def layer_warnings(layer: Layer, input_shape: Sequence[Value],
                   output_shape: Sequence[Value]) -> tuple[LayerWarning, ...]:
    """The warnings of a layer given its input and output shapes (C, *spatial): for a
    convolution (not padding='same', which has stride 1) or a pooling, per axis; () for
    every other layer."""
    match layer:
        case Conv(window=w) if not w.same:
            window: Window = w
        case Pool(window=w):
            window = w
        case _:
            return ()
    from symconv.engine.records import axis_names

    found: list[LayerWarning] = []
    axes = zip(axis_names(window.rank), input_shape[1:], output_shape[1:], window.kernel,
               window.stride, window.padding, window.dilation, strict=True)
    for axis, n, o, k, s, p, d in axes:
        found += axis_warnings(axis, n, o, k, s, p, d, ceil=isinstance(layer, Pool)
                               and layer.ceil_mode)
    return tuple(found)


def axis_warnings(axis: str, n: Value, o: Value, k: Value, s: Value, p: Value, d: Value,
                  ceil: bool = False) -> list[LayerWarning]:
    """The warnings along one axis: input length n, output o (windows), kernel k, stride s,
    padding p, dilation d; `ceil` for ceil_mode pooling (whose output rounds up)."""
    if (isinstance(n, int) and isinstance(o, int) and isinstance(k, int)
            and isinstance(s, int) and isinstance(p, int) and isinstance(d, int)):
        return list(_numeric_warnings(axis, n, o, k, s, p, d))
    from symconv.present.values import text_value

    edge = _EDGES.get(axis, "end")
    found = []
    leftover = sympy.Mod(n + 2 * p - d * (k - 1) - 1, s)
    if ceil:
        # ceil_mode's windows reach the end, unless it drops a last window that would start
        # in the padding, which needs s + p > d(k - 1) + 1 (formulas.last_window_in_padding).
        span = d * (k - 1) + 1
        possible = truth(s + p > span)
        if possible is not False:
            where = "" if possible else (f" where {text_value(s)} + {text_value(p)} > "
                                         f"{text_value(span)}")
            found.append(LayerWarning(
                Guard.DISCARDED, axis, None, n,
                f"{axis}: pixels may be discarded at the {edge}{where} (ceil_mode drops a "
                "last window that would start in the padding)"))
    else:
        discarded_expr = leftover if p == 0 else sympy.Max(0, leftover - p)
        never = truth(s - 1 - p <= 0) or truth(sympy.Le(discarded_expr, 0))
        shown = text_value(leftover)
        if p != 0:
            shown = f"max(0, {shown} - {text_value(p)})"
        if not never and text_value(discarded_expr) != "0":
            found.append(LayerWarning(
                Guard.DISCARDED, axis, discarded_expr, n,
                f"{axis}: {shown} pixels discarded at the {edge}, for the input sizes where "
                "that is not 0"))
    if (rule := _skip_rule(k, s, p, d)) is not None:
        found.append(LayerWarning(Guard.SKIPPED, axis, None, n, f"{axis}: {rule}"))
    if _free(leftover) & _free(n):
        residue = "the parity" if s == 2 else f"the remainder mod {text_value(s)}"
        of = n.name if isinstance(n, sympy.Symbol) else f"its input {axis} = {text_value(n)}"
        found.append(LayerWarning(
            Guard.RESIDUE, axis, None, n,
            f"{axis}: the output size depends on {residue} of {of}"))
    return found


@functools.lru_cache(maxsize=1 << 12, typed=True)
def _numeric_warnings(axis: str, n: int, o: int, k: int, s: int, p: int, d: int
                      ) -> tuple[LayerWarning, ...]:
    """axis_warnings on whole numbers: the pixels counted, kept for the next call with the
    same numbers (a network repeats its layers' geometry; a table is asked again and again)."""
    edge = _EDGES.get(axis, "end")
    found = []
    discarded, skipped = covered_counts(n, int(o), int(k), int(s), int(p), int(d))
    if discarded:
        found.append(LayerWarning(
            Guard.DISCARDED, axis, discarded, n,
            f"{axis}: {_pixels(discarded)} of {n} discarded at the {edge} (no window "
            f"reads {'it' if discarded == 1 else 'them'})"))
    if skipped:
        found.append(LayerWarning(
            Guard.SKIPPED, axis, skipped, n,
            f"{axis}: {_pixels(skipped)} of {n} skipped between windows "
            f"({_why_skipped(int(k), int(s), int(d))})"))
    return tuple(found)


def notes(warnings: Sequence[LayerWarning]) -> list[str]:
    """The warnings of one layer as a table's notes say them: one per kind, its first axis in
    full and the other axes 'alike' where they say the same of their own axis."""
    lines: list[str] = []
    for guard in Guard:
        these = [w for w in warnings if w.guard is guard]
        if not these:
            continue
        first, rest = these[0], these[1:]
        alike = [w.axis for w in rest if _generic(w) == _generic(first)]
        lines.append(first.text + (f"; {', '.join(alike)} alike" if alike else ""))
        lines += [w.text for w in rest if w.axis not in alike]
    return lines


def _generic(w: LayerWarning) -> str:
    """The warning's text with its axis's name and edge replaced, to compare across axes."""
    text = w.text.replace(f" at the {_EDGES.get(w.axis, 'end')}", " at the EDGE")
    return re.sub(rf"\b{re.escape(w.axis)}\b", "AXIS", text)


def covered_counts(n: int, o: int, k: int, s: int, p: int, d: int) -> tuple[int, int]:
    """(discarded, skipped): the input pixels after the last window, and those before it
    that no window reads, for o windows of k taps d apart moved by s over n pixels padded by
    p on each side."""
    if o < 1 or n < 1:
        return 0, 0
    last = (o - 1) * s + d * (k - 1)  # the last position any window reads
    end = min(last, p + n - 1)
    discarded = min(n, max(0, p + n - 1 - last))
    if (d == 1 and k >= s) or (s == 1 and o >= d):
        return discarded, 0  # windows (or taps) overlap or touch: no gap between them
    covered = bytearray(last + 1)
    for tap in range(k):
        start = tap * d
        covered[start: start + (o - 1) * s + 1: s] = b"\x01" * o
    return discarded, covered[p: end + 1].count(0)


def _skip_rule(k: Value, s: Value, p: Value, d: Value) -> str | None:
    """How windows skip input on a long input of symbolic size: None where they read every
    position."""
    from symconv.present.values import text_value

    if all(isinstance(v, int) for v in (k, s, p, d)):
        assert isinstance(k, int) and isinstance(s, int) and isinstance(p, int)
        assert isinstance(d, int)
        reads = min(k, s // math.gcd(d, s))
        if reads < s:
            return (f"windows read {reads} of every {s} positions, the others are skipped "
                    f"({_why_skipped(k, s, d)})")
        # Every residue is read far from the edges; a dilated window can still miss a few
        # positions near the edges, as many for long inputs of the same residue mod s:
        # count them on one long input of each residue.
        windows = 4 * (d * k + s + p)
        shortest = (windows - 1) * s + d * (k - 1) + 1 - 2 * p
        counts = {covered_counts(n, (n + 2 * p - d * (k - 1) - 1) // s + 1, k, s, p, d)[1]
                  for n in range(max(shortest, 1), max(shortest, 1) + s)}
        if counts == {0}:
            return None
        amount = _pixels(max(counts)) if len(counts) == 1 else \
            f"up to {_pixels(max(counts))} (as the input size's remainder mod {s} decides)"
        return f"{amount} near the edges skipped between windows ({_why_skipped(k, s, d)})"
    if d != 1:
        return (f"windows may skip input (kernel {text_value(k)}, stride {text_value(s)}, "
                f"dilation {text_value(d)}): they read every position only where the stride "
                "and the dilation have no common factor and the kernel is at least the stride")
    if truth(k < s) is False:
        return None
    where = "" if truth(k < s) else f", where {text_value(k)} < {text_value(s)}"
    return (f"windows read {text_value(k)} of every {text_value(s)} positions{where}, the "
            "others are skipped")


def _why_skipped(k: int, s: int, d: int) -> str:
    if k < s:
        return f"kernel {k} < stride {s}"
    return f"dilation {d} leaves gaps between a window's taps"


def _pixels(count: int) -> str:
    return f"{count:,} pixel{'' if count == 1 else 's'}"


def _free(value: object) -> set[sympy.Symbol]:
    return set(getattr(value, "free_symbols", ()))
