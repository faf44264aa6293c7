"""`symconv check NET [--torch]`: is the description valid, and does PyTorch agree with it?

Exit 0 when everything agrees, 1 when torch and symconv differ, 2 on a user error. Without
--torch, the layers' warnings follow the "ok" line (pixels discarded at the border or skipped
between windows, output sizes that depend on the input's parity); they do not change the
exit status.
"""

from __future__ import annotations

import argparse
from typing import Any

import sympy

from symconv.commands.options import add_network_arguments, load_network, values_from, whole_option
from symconv.errors import SymconvError
from symconv.present.values import counted, text_shape
from symconv.render.columns import wrap_line
from symconv.render.table import row_notes

MAX_SIZES = 100  # each is a PyTorch run of the whole network


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate a network; with --torch, compare every layer's shape and parameter "
        "count with PyTorch's",
    )
    add_network_arguments(parser)
    parser.add_argument("--torch", action="store_true",
                        help="build the network in PyTorch and run it on the meta device")
    parser.add_argument("--sizes", type=whole_option, default=3, metavar="N",
                        help="random values to try for symbols left without --set (default 3, "
                        f"at most {MAX_SIZES})")
    parser.add_argument("--seed", type=whole_option, default=0,
                        help="seed of those random values")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    network = load_network(args)
    values = {name: _int(name, v) for name, v in values_from(args).items()}
    if not args.torch:
        records = network.table(**values)
        params = sympy.sympify(sum((r.params for r in records), 0), strict=True)
        print(f"ok: {counted(len(records), 'layer')}, output "
              f"{text_shape(records[-1].output_shape)}, {counted(params, 'parameter')} (add "
              "--torch to compare with PyTorch)")
        # as under a table: each layer's warnings, and where a block's branches agree only
        # for some inputs, or centre their units differently
        for line in row_notes(records):
            print(wrap_line(f"warning: {line}"))
        return 0
    from symconv.interop.torch_check import compare, random_values, report

    if args.sizes < 1:
        raise SymconvError(f"--sizes takes a positive count, got {args.sizes}")
    if args.sizes > MAX_SIZES:
        raise SymconvError(f"--sizes takes at most {MAX_SIZES} (each is a PyTorch run), got "
                           f"{args.sizes}")
    agree = True
    for chosen in random_values(network, values, args.sizes, args.seed):
        comparison = compare(network, chosen)
        print(report(comparison), end="")
        agree = agree and comparison.agrees
    return 0 if agree else 1


def _int(name: str, value: object) -> int:
    number = sympy.sympify(value, strict=True)
    if not number.is_Integer:
        raise SymconvError(f"--set {name}: check needs a whole number, got {value}")
    return int(number)
