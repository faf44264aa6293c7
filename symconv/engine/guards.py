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
  exactly, per residue class mod s, in O(min(k, s)) steps whatever the input size
  (tests/test_guards.py checks against brute force); with a symbolic input size the
  warning names the input sizes at which some pixel is skipped (skip_sizes).
- residue: with a symbolic input size, an output size that depends on the input's residue
  mod s (its parity for s = 2): the remainder above is not constant.
"""

from __future__ import annotations

import enum
import functools
import math
import re
from collections.abc import Callable, Sequence
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
        case Conv(window=w) | Pool(window=w) if not w.same:  # 'same' leaves no leftover
            window: Window = w
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
    if (rule := _skip_rule(axis, n, k, s, p, d, ceil)) is not None:
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
            f"{axis}: {_pixels(discarded)} of {n:,} discarded at the {edge} (no window "
            f"reads {'it' if discarded == 1 else 'them'})"))
    if skipped:
        found.append(LayerWarning(
            Guard.SKIPPED, axis, skipped, n,
            f"{axis}: {_pixels(skipped)} of {n:,} skipped between windows "
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
    p on each side. Counted per residue class, in O(min(k, s, o, d)) steps whatever n."""
    if o < 1 or n < 1:
        return 0, 0
    last = (o - 1) * s + d * (k - 1)  # the last position any window reads
    end = min(last, p + n - 1)
    discarded = min(n, max(0, p + n - 1 - last))
    if end < p or (d == 1 and k >= s) or (s == 1 and o >= d):
        return discarded, 0  # windows (or taps) overlap or touch: no gap between them
    g = math.gcd(d, s)
    if min(o, d // g) < min(k, s // g):
        # The positions i*s + j*d are symmetric in (windows, stride) and (taps, dilation):
        # group by whichever has fewer classes (a 1-D window of 10**9 taps: one class mod 1).
        o, k, s, d = k, o, d, s
    covered = 0
    for base, taps, step in _tap_classes(k, s, d):
        # Positions base + s*y; taps u = 0..taps-1 read y in [u*step, u*step + o).
        first = -((base - p) // s)  # ceil((p - base) / s)
        covered += max(0, _read_below((end - base) // s + 1, taps, step, o)
                       - _read_below(first, taps, step, o))
    return discarded, end - p + 1 - covered


def _tap_classes(k: int, s: int, d: int) -> list[tuple[int, int, int]]:
    """The taps grouped by the residue mod s they read: per group (base, taps, step), taps
    c, c + t, c + 2t, ... (t = s / gcd(d, s)) whose windows read the positions base + s*y,
    base = c*d, each tap reading o consecutive y from its own start, `step` apart."""
    g = math.gcd(d, s)
    t, step = s // g, d // g
    return [(c * d, (k - c + t - 1) // t, step) for c in range(min(k, t))]


def _read_below(y: int, taps: int, step: int, o: int) -> int:
    """How many of 0..y-1 the union of [u*step, u*step + o), u < taps, holds."""
    y = max(0, min(y, (taps - 1) * step + o))
    if step <= o:
        return y
    whole, rest = divmod(y, step)
    return whole * o + min(rest, o)


def _first_unread(lo: int, o: int, k: int, s: int, d: int) -> int:
    """The first position at or after lo that none of o windows reads (it may lie past the
    last window)."""
    firsts = []
    for base, taps, step in _tap_classes(k, s, d):
        y = -((base - lo) // s)
        if y >= 0:
            if step <= o:
                y = max(y, (taps - 1) * step + o)
            elif y // step < taps and y % step < o:
                y = y // step * step + o
        firsts.append(base + s * y)
    read = {base % s for base, _, _ in _tap_classes(k, s, d)}
    if len(read) < s:  # residues no tap reads
        firsts.append(next(x for x in range(lo, lo + s) if x % s not in read))
    return min(firsts)


# The work skip_sizes may do (window blocks x tap classes) before it says only "may".
_SEARCH_BUDGET = 400_000


@dataclass(frozen=True, slots=True)
class SkipSizes:
    """The input sizes at which windows skip pixels: the sizes in `runs` (first, last
    pairs), and from `tail` on (None: none), in every `period` sizes, the last
    period - offset of them (every size where offset is 0)."""

    runs: tuple[tuple[int, int], ...]
    tail: int | None
    period: int
    offset: int
    smallest: int  # the smallest input size with a window

    def __contains__(self, n: object) -> bool:
        assert isinstance(n, int)
        if any(a <= n <= b for a, b in self.runs):
            return True
        return self.tail is not None and n >= self.tail and \
            (n - self.tail) % self.period >= self.offset


def skip_sizes(k: int, s: int, p: int, d: int, ceil: bool = False) -> SkipSizes | None:
    """The input sizes n at which o(n) windows skip some input pixel (formulas.window_out,
    or window_out_ceil for ceil mode). The windows are fixed by o; for each o (a block of
    input sizes) the sizes that skip are those whose input reaches the first unread
    position. Beyond a few blocks the pattern repeats with period s (the windows overlap
    within each residue class, and only the right edge moves with n), so the walk stops
    there. None where that walk would exceed a work budget."""
    from symconv.engine import formulas

    span = d * (k - 1)
    step = d // math.gcd(d, s)
    blocks = step + 2 * (span // s) + 8  # enough to reach the periodic regime
    if blocks * (min(k, s) + 64) > _SEARCH_BUDGET:
        return None
    window_out = formulas.window_out_ceil if ceil else formulas.window_out

    def out(n: int) -> int:
        return int(window_out(n, k, s, p, d))

    n = max(1, span + 1 - 2 * p - (s - 1 if ceil else 0))  # the smallest, give or take
    while out(n) < 1:
        n += 1
    smallest = n
    runs: list[tuple[int, int]] = []
    for _ in range(2 * blocks):
        o = out(n)
        last_n = _block_end(out, n, o)
        first = _first_unread(p, o, k, s, d)
        # the sizes of this block whose input reaches the first unread position, if any
        skips = max(n, first - p + 1) if first <= min((o - 1) * s + span, p + last_n - 1) \
            else None
        steady = (o > step and (o - 1) * s >= p and n > max(s, span - p + 1)
                  and last_n - n + 1 == s)
        if steady:
            if skips is None:
                return SkipSizes(tuple(runs), None, s, 0, smallest)
            offset = skips - n
            if offset == 0 and runs and runs[-1][1] == n - 1:
                n = runs.pop()[0]  # every size from that run on skips
            return SkipSizes(tuple(runs), n, s, offset, smallest)
        if skips is not None:
            if runs and runs[-1][1] == skips - 1:
                runs[-1] = (runs[-1][0], last_n)
            else:
                runs.append((skips, last_n))
        n = last_n + 1
    return None


def _block_end(out: Callable[[int], int], n: int, o: int) -> int:
    """The last input size from n on with o windows (the output grows with the input)."""
    low, high = n, n + 1
    while out(high) == o:
        low, high = high, high + 2 * (high - n)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if out(middle) == o else (low, middle)
    return low


def _skip_rule(axis: str, n: Value, k: Value, s: Value, p: Value, d: Value,
               ceil: bool) -> str | None:
    """How windows skip input of a symbolic size n, and at which sizes: None where they
    read every pixel at every size."""
    from symconv.present.values import text_value

    if all(isinstance(v, int) for v in (k, s, p, d)):
        assert isinstance(k, int) and isinstance(s, int) and isinstance(p, int)
        assert isinstance(d, int)
        why = _why_skipped(k, s, d)
        sizes = skip_sizes(k, s, p, d, ceil)
        if sizes is None:
            return f"windows may skip pixels at some input sizes ({why})"
        if not sizes.runs and sizes.tail is None:
            return None
        reads = min(k, s // math.gcd(d, s))
        what = (f"windows read {reads} of every {s} positions, the others are skipped"
                if reads < s else "pixels skipped between windows")
        if not sizes.runs and sizes.tail == sizes.smallest and sizes.offset == 0:
            return f"{what} ({why})"
        name = n.name if isinstance(n, sympy.Symbol) else f"its input {axis}"
        shown = "" if isinstance(n, sympy.Symbol) else f" (= {text_value(n)})"
        return f"{what} ({why}) when {name}{shown} is {_sizes_text(sizes, name)}"
    if d != 1:
        return (f"windows may skip input (kernel {text_value(k)}, stride {text_value(s)}, "
                f"dilation {text_value(d)}): they read every position only where the stride "
                "and the dilation have no common factor and the kernel is at least the stride")
    if truth(k < s) is False:
        return None
    where = "" if truth(k < s) else f", where {text_value(k)} < {text_value(s)}"
    return (f"windows read {text_value(k)} of every {text_value(s)} positions{where}, the "
            "others are skipped")


def _sizes_text(sizes: SkipSizes, name: str) -> str:
    """The sizes in words: '5, 9 to 11 or at least 20', 'odd and at least 7'."""
    runs = [f"{a:,}" if a == b else f"{a:,} to {b:,}" for a, b in sizes.runs]
    if len(runs) > 5:
        runs = [*runs[:4], f"{len(runs) - 4} more runs of sizes up to {sizes.runs[-1][1]:,}"]
    if sizes.tail is not None:
        s, start = sizes.period, sizes.tail + sizes.offset
        if sizes.offset == 0:
            runs.append(f"at least {start:,}")
        elif s == 2:
            runs.append(f"{'odd' if start % 2 else 'even'} and at least {start:,}")
        else:
            residues = [(start + i) % s for i in range(s - sizes.offset)]
            listed = (", ".join(map(str, residues[:-1])) + f" or {residues[-1]}"
                      if 1 < len(residues) <= 6 else str(residues[0]) if len(residues) == 1
                      else f"{residues[0]}, {residues[1]}, ... or {residues[-1]}")
            runs.append(f"at least {start:,} with {name} mod {s} = {listed}")
    return ", ".join(runs[:-1]) + f" or {runs[-1]}" if len(runs) > 1 else runs[0]


def _why_skipped(k: int, s: int, d: int) -> str:
    if k < s:
        return f"kernel {k} < stride {s}"
    return f"dilation {d} leaves gaps between a window's taps"


def _pixels(count: int) -> str:
    return f"{count:,} pixel{'' if count == 1 else 's'}"


def _free(value: object) -> set[sympy.Symbol]:
    return set(getattr(value, "free_symbols", ()))
