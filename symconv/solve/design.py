"""Design search: every convolution window (K, S, P, D) within bounds that maps an input
length to a target length, ranked by RANKING: windows that skip no input pixel first, then
those that discard none at the border, then by parameters or multiply-adds.

Each candidate is judged by `formulas.window_out`, the definition of the output length; the
counts are `formulas.conv_params` and `formulas.conv_macs`. A kernel of 1 reads one element
whatever the dilation, so only dilation 1 is listed for it (the others are the same layer).
"""

from __future__ import annotations

import enum
import itertools
import math
from dataclasses import dataclass

from symconv.engine import formulas as f
from symconv.engine.guards import covered_counts
from symconv.errors import NoSolutionError, UnsupportedError
from symconv.language.values import whole_number

# The order of the designs, as `symconv design` states it.
RANKING = ("windows that read every input pixel first (none skipped between windows), then "
           "those that discard no pixel at the border, then the cheapest (--rank-by), then "
           "the smallest kernel, stride, padding and dilation")

# Windows the search tries at most (about a second).
MAX_CANDIDATES = 1_000_000


class Cost(enum.Enum):
    PARAMS = "params"
    MACS = "macs"


@dataclass(frozen=True, slots=True)
class Bounds:
    """Inclusive ranges of the search: kernel, stride, padding, dilation."""

    kernel: tuple[int, int] = (1, 11)
    stride: tuple[int, int] = (1, 4)
    padding: tuple[int, int] = (0, 5)
    dilation: tuple[int, int] = (1, 3)


@dataclass(frozen=True, slots=True)
class Design:
    """One window that works, the same on every axis, with what it costs."""

    kernel: int
    stride: int
    padding: int
    dilation: int
    params: int
    macs: int
    skipped: int = 0  # input pixels per axis that no window reads, between windows
    discarded: int = 0  # input pixels per axis after the last window (symconv.guards)


def design_search(
    size: int,
    target: int,
    bounds: Bounds = Bounds(),
    *,
    in_channels: int = 1,
    out_channels: int = 1,
    axes: int = 2,
    groups: int = 1,
    bias: bool = True,
    cost: Cost = Cost.PARAMS,
) -> tuple[Design, ...]:
    """Every (K, S, P, D) within the bounds for which a convolution turns `size` into
    `target` on each of `axes` axes, in the order RANKING states."""
    size, target, in_channels, out_channels, axes, groups = (
        whole_number(name, value) for name, value in (
            ("size", size), ("target", target), ("in_channels", in_channels),
            ("out_channels", out_channels), ("axes", axes), ("groups", groups)))
    low_high = {name: (whole_number(name, getattr(bounds, name)[0]),
                       whole_number(name, getattr(bounds, name)[1]))
                for name in ("kernel", "stride", "padding", "dilation")}
    bounds = Bounds(**low_high)
    for name, (low, high), least in (("kernel", bounds.kernel, 1), ("stride", bounds.stride, 1),
                                     ("padding", bounds.padding, 0),
                                     ("dilation", bounds.dilation, 1)):
        if low < least or high < low:
            raise NoSolutionError(f"the {name} range {low}..{high} is empty or starts below "
                                  f"{least}")
    if size < 1 or target < 1:
        raise NoSolutionError("sizes must be at least 1")
    if not 1 <= axes <= 3:
        raise UnsupportedError(f"{axes} axes: PyTorch's convolutions have 1 to 3 spatial axes")
    candidates = math.prod(max(high - low + 1, 0) for low, high in (
        bounds.kernel, bounds.stride, bounds.padding, bounds.dilation))
    if candidates > MAX_CANDIDATES:
        raise UnsupportedError(
            f"the ranges hold {candidates} windows, more than the {MAX_CANDIDATES} the search "
            "tries; narrow the kernel, stride, padding or dilation range")
    found = []
    for k, s, p, d in itertools.product(*(range(low, high + 1) for low, high in (
            bounds.kernel, bounds.stride, bounds.padding, bounds.dilation))):
        if (k == 1 and d > 1) or f.window_out(size, k, s, p, d) != target:
            continue
        volume = k**axes
        neurons = out_channels * target**axes
        discarded, skipped = covered_counts(size, target, k, s, p, d)
        found.append(Design(k, s, p, d,
                            f.conv_params(in_channels, out_channels, volume, groups, bias),
                            f.conv_macs(neurons, in_channels, volume, groups),
                            skipped, discarded))
    rank = (lambda x: x.params) if cost is Cost.PARAMS else (lambda x: x.macs)
    return tuple(sorted(found, key=lambda x: (x.skipped > 0, x.discarded > 0, rank(x),
                                              x.kernel, x.stride, x.padding, x.dilation)))
