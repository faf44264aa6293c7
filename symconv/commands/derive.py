"""`symconv derive NET`: every layer's quantities written out step by step."""

from __future__ import annotations

import argparse
from typing import Any

from symconv.commands.options import add_network_arguments, load_network, values_from
from symconv.derive.steps import QUANTITIES
from symconv.render.latex import derivation_latex
from symconv.render.markdown import derivation_markdown
from symconv.render.text import derivation_text

FORMATS = {"text": derivation_text, "latex": derivation_latex, "markdown": derivation_markdown}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "derive",
        help="derivations per layer and axis: general formula, numbers put in, value",
    )
    add_network_arguments(parser)
    parser.add_argument("--quantity", choices=(*QUANTITIES, "all"), default="all",
                        help="which quantities to derive (default: all)")
    parser.add_argument("--format", choices=tuple(FORMATS), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from symconv.derive.derivation import derive  # here, not at load: only this command's

    derivation = derive(load_network(args), args.quantity, **values_from(args))
    print(FORMATS[args.format](derivation), end="")
    return 0
