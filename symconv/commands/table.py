"""`symconv table NET`: every layer's output shape and counts, and the columns a torchinfo
summary shows (module name, kernel shape, trainable parameters, memory) on request."""

from __future__ import annotations

import argparse
from typing import Any

from symconv.commands.options import (
    add_network_arguments,
    load_network,
    read_option,
    values_from,
    whole_option,
)
from symconv.engine.statistics import DTYPES, memory_of
from symconv.language.parse import parse_expression
from symconv.render.fold import fold_depth
from symconv.render.table import (
    ALL_COLUMNS,
    DEFAULT_COLUMNS,
    RENDERERS,
    column_keys,
    table_json,
    table_latex,
    table_markdown,
    table_text,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "table", help="per-layer output shapes, parameters, neurons, connections, multiply-adds",
        description="Every layer's output shape and counts; warnings (pixels discarded or "
        "skipped, sizes that depend on the input's parity) are noted under the table. "
        "Columns: " + "; ".join(f"{c.key}" + (f" ({c.help})" if c.help else "")
                                for c in ALL_COLUMNS) + ".",
    )
    add_network_arguments(parser)
    parser.add_argument("--format", choices=tuple(RENDERERS), default="text")
    parser.add_argument("--columns", metavar="LIST",
                        help=f"comma-separated columns to show, or 'all' or 'memory' "
                        f"(default {','.join(DEFAULT_COLUMNS)})")
    parser.add_argument("--dtype", choices=tuple(DTYPES), default="float32",
                        help="element type of the memory columns (default float32)")
    parser.add_argument("--batch", metavar="N", default="1",
                        help="batch size of the activation memory: a number or a symbol "
                        "of its own such as N, not one of the network's (default 1)")
    parser.add_argument("--depth", metavar="N", type=whole_option,
                        help="nest rows no deeper than N, each deeper row folded into its "
                        "parent, which sums it (as torchinfo's depth; for a torch model a row "
                        "per module whose path has at most N parts)")
    parser.add_argument("--separators", action=argparse.BooleanOptionalAction, default=True,
                        help="thousands separators in whole numbers of the text table "
                        "(default on, as torchinfo prints them)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    network = load_network(args)
    columns = _columns(args.columns)
    batch = read_option("--batch", parse_expression, args.batch)
    memory = memory_of(args.dtype, batch, "--batch", network.symbols)
    depth = None if args.depth is None else fold_depth(args.depth, "--depth")
    records = network.table(dtype=args.dtype, batch=memory.batch, depth=depth,
                            **values_from(args))
    if args.format == "text":
        text = table_text(network, records, columns, args.separators, memory)
    elif args.format == "json":
        text = table_json(network, records, memory)
    elif args.format == "markdown":
        text = table_markdown(network, records, columns, memory)
    else:
        text = table_latex(network, records, columns, memory)
    print(text, end="")
    return 0


def _columns(text: str | None) -> tuple[str, ...] | None:
    """The columns --columns names (None: the default ones); an unknown name is refused
    with the names there are."""
    return column_keys(text)
