"""`symconv design --size 224 --target 112`: every convolution window within bounds that
maps the size to the target, in the order solve.design.RANKING states (windows that skip
no pixel, then those that discard none, then the cheapest)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from symconv.commands.options import whole_option
from symconv.errors import SymconvError
from symconv.render.columns import wrap_line
from symconv.solve.design import RANKING, Bounds, Cost, design_search

COLUMNS = ("kernel", "stride", "padding", "dilation", "params", "macs", "skipped", "discarded")


def _range(text: str) -> tuple[int, int]:
    low, sep, high = text.partition("..")
    if not low.strip() or (sep and not high.strip()):
        raise argparse.ArgumentTypeError(f"expected a range such as 1..11, got '{text}'")
    return (whole_option(low), whole_option(high)) if sep else (whole_option(low),) * 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "design",
        help="every convolution window (kernel, stride, padding, dilation) within bounds "
        "that maps a size to a target, ranked by the pixels it skips and discards, then by "
        "parameters or multiply-adds",
        description=f"Ranking: {RANKING}. 'skipped' counts the input pixels of one axis "
        "that fall between windows (kernel < stride, or dilation gaps); 'discarded' those "
        "after the last window, which no window reads.",
    )
    parser.add_argument("--size", type=whole_option, required=True,
                        help="input length of each axis")
    parser.add_argument("--target", type=whole_option, required=True,
                        help="output length of each axis")
    defaults = Bounds()
    for name in ("kernel", "stride", "padding", "dilation"):
        low, high = getattr(defaults, name)
        parser.add_argument(f"--{name}", type=_range, default=(low, high), metavar="LO..HI",
                            help=f"range to search (default {low}..{high})")
    parser.add_argument("--in-channels", type=whole_option, default=1)
    parser.add_argument("--out-channels", type=whole_option, default=1)
    parser.add_argument("--axes", type=whole_option, default=2,
                        help="spatial axes, 1 to 3 (default 2)")
    parser.add_argument("--rank-by", choices=[c.value for c in Cost], default="params",
                        help="the cost that orders windows alike in what they skip and "
                        "discard (default params)")
    parser.add_argument("--top", type=whole_option, default=None,
                        help="show only the first N")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.axes < 1 or args.in_channels < 1 or args.out_channels < 1:
        raise SymconvError("--axes, --in-channels and --out-channels must be at least 1")
    bounds = Bounds(args.kernel, args.stride, args.padding, args.dilation)
    designs = design_search(args.size, args.target, bounds, in_channels=args.in_channels,
                            out_channels=args.out_channels, axes=args.axes,
                            cost=Cost(args.rank_by))[: _positive(args.top)]
    rows = [[getattr(d, c) for c in COLUMNS] for d in designs]
    if args.format == "json":
        print(json.dumps([dict(zip(COLUMNS, row, strict=True)) for row in rows], indent=2))
        return 0
    if not rows:
        print(f"no window within the bounds maps {args.size} to {args.target}")
        return 0
    shown = [[f"{v:,}" for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in shown)) for i, c in enumerate(COLUMNS)]
    for row in [list(COLUMNS), *shown]:
        print("  ".join(str(v).rjust(w) for v, w in zip(row, widths, strict=True)))
    print(wrap_line(f"ranked: {RANKING}; skipped and discarded are input pixels per axis", 100,
                    ""))
    return 0


def _positive(top: int | None) -> int | None:
    if top is not None and top < 1:
        raise SymconvError(f"--top {top}: give how many rows to show, 1 or more")
    return top
