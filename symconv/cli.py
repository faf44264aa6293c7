"""The command line: `symconv SUBCOMMAND NET ...`; every subcommand reads NET the same way.

NET is a file, `-` for standard input, or `-e TEXT`. Errors a user can cause print one clear
message and exit 2; success exits 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from symconv.errors import SymconvError, UnknownNameError
from symconv.network import Network, parse
from symconv.parse import parse_expression
from symconv.symbols import Value


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """NET, -e TEXT, --input SHAPE and repeated --set NAME=VALUE."""
    parser.add_argument("net", nargs="?", metavar="NET",
                        help="a description file, or - for standard input")
    parser.add_argument("-e", "--expr", metavar="TEXT", help="the description itself")
    parser.add_argument("--input", metavar="SHAPE",
                        help="input shape such as 3x224x224 or 'C x H x W' "
                        "(replaces an input line)")
    parser.add_argument("--set", metavar="NAME=VALUE", action="append", default=[],
                        help="give a symbol a value (repeatable): --set W=224")


def read_text(args: argparse.Namespace) -> str:
    """The description named by NET, -, or -e."""
    if args.expr is not None and args.net is not None:
        raise SymconvError("give the network either as NET or with -e, not both")
    if args.expr is not None:
        return str(args.expr).replace("\\n", "\n")
    if args.net is None:
        raise SymconvError("no network: give a file, - for standard input, or -e TEXT")
    if args.net == "-":
        return sys.stdin.read()
    try:
        with open(args.net, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise SymconvError(f"cannot read {args.net}: {reason}") from None


def load_network(args: argparse.Namespace) -> Network:
    return parse(read_text(args), args.input)


def values_from(args: argparse.Namespace) -> dict[str, Value]:
    """The --set NAME=VALUE pairs as {name: value}."""
    values: dict[str, Value] = {}
    for item in args.set:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise UnknownNameError(f"--set takes NAME=VALUE, such as W=224; got '{item}'")
        values[name] = parse_expression(text)
    return values


def build_parser() -> argparse.ArgumentParser:
    from symconv.commands import COMMANDS

    parser = argparse.ArgumentParser(
        prog="symconv",
        description="Closed-form arithmetic of convolutional networks: shapes, counts, "
        "receptive fields, solvers and LaTeX derivations.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except SymconvError as error:
        print(f"symconv: error: {error}", file=sys.stderr)
        return 2
    except RecursionError:
        print("symconv: error: the description is nested too deeply", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    raise SystemExit(main())
