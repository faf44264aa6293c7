"""`symconv table NET`: every layer's output shape and counts."""

from __future__ import annotations

import argparse
from typing import Any

from symconv.commands.options import add_network_arguments, load_network, values_from
from symconv.render.table import RENDERERS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "table", help="per-layer output shapes, parameters, neurons, connections, multiply-adds"
    )
    add_network_arguments(parser)
    parser.add_argument("--format", choices=tuple(RENDERERS), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    network = load_network(args)
    records = network.table(**values_from(args))
    print(RENDERERS[args.format](network, records), end="")
    return 0
