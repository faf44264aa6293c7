"""`symconv solve NET --for P --target 112x112 [--set W=224]`: the values of one symbol that
give the network's output that size; `--aligned` instead: the input sizes from which no
layer discards pixels."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

import sympy

from symconv.algebra.symbols import Value
from symconv.commands.design import _range
from symconv.commands.options import (
    add_network_arguments,
    load_network,
    read_option,
    values_from,
    whole_option,
)
from symconv.errors import SymconvError
from symconv.language.parse import parse_shape
from symconv.network import Network, bind_whole

if TYPE_CHECKING:
    from symconv.solve.align import Alignment


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "solve",
        help="values of one symbol (padding, stride, kernel, dilation, input size, "
        "output_padding) that give a target output size",
        description="Solve for one symbol of the description, e.g. --for P --target 112x112 "
        "for 'conv 64 k=7 s=2 p=P'. The input size is solved for by naming a symbol of the "
        "input line ('input 3 x W x W', --for W). One target number stands for every axis.",
        epilog="Exit status: 0 when some value gives the target, 1 when none does (the reason "
        "is printed), 2 on an error in the input.",
    )
    add_network_arguments(parser)
    parser.add_argument("--for", dest="unknown", metavar="NAME", help="the symbol to solve for")
    parser.add_argument("--target", metavar="SIZE",
                        help="the output's spatial size: 112x112, or 56 for every axis")
    parser.add_argument("--aligned", action="store_true",
                        help="instead: the input sizes from which no layer discards pixels")
    parser.add_argument("--range", dest="span", type=_range, metavar="LO..HI",
                        help="with --aligned: list the aligned sizes from LO to HI")
    parser.add_argument("--layer", type=whole_option, metavar="N",
                        help="the target is the output of layer N (numbered as 'symconv table' "
                        "and 'symconv rf' number them); the layers after it are left out")
    parser.add_argument("--format", choices=("text", "json", "latex"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    network = load_network(args)
    values = values_from(args)
    bind_whole(network, values)  # every --set names a symbol of the description, each whole
    if args.layer is not None:
        network = read_option("--layer", network.upto, args.layer)
    if args.aligned:
        if args.unknown is not None or args.target is not None:
            raise SymconvError("--aligned answers for the input sizes; leave out --for and "
                               "--target")
        return _aligned(network, _kept(network, values), args)
    if args.span is not None:
        raise SymconvError("--range lists aligned sizes; use it with --aligned")
    if args.unknown is None or args.target is None:
        raise SymconvError("give the symbol to solve for and the size: --for P --target 112x112")
    # Imported here, not at load: the solver's answers and their presentation.
    from symconv.render.solution import solution_dict, solution_latex, solution_text
    from symconv.solve.solution import solve

    target = read_option("--target", parse_shape, args.target)
    solution = solve(network, args.unknown, target, **_kept(network, values))
    if args.format == "json":
        print(json.dumps(solution_dict(solution), indent=2))
    elif args.format == "latex":
        print(solution_latex(solution), end="")
    else:
        print(solution_text(solution), end="")
    return 1 if solution.empty else 0  # as grep does when nothing matches


def _kept(network: Network, values: dict[str, Value]) -> dict[str, Value]:
    """The --set values of the symbols the question still has (those of layers after
    --layer are not part of it)."""
    return {name: v for name, v in values.items() if name in network.symbols}


def _aligned(network: Network, values: dict[str, Value], args: argparse.Namespace) -> int:
    sizes = sorted(set(values) & {s.name for v in network.input_shape[1:]
                                  for s in sympy.sympify(v, strict=True).free_symbols})
    if sizes:
        raise SymconvError(f"--aligned answers for the input sizes; give {', '.join(sizes)} "
                           "no value (to test one size, solve for it or use 'symconv table')")
    from symconv.solve.align import aligned_sizes  # here, not at load: only --aligned's

    # Axes that share a symbol (input 3 x W x W) share their condition: say it once.
    alignments = list(dict.fromkeys(aligned_sizes(network, **values)))
    if args.format == "json":
        print(json.dumps([_alignment_dict(a, args.span) for a in alignments], indent=2))
    elif args.format == "latex":
        rows = [sympy.latex(a.condition()) for a in alignments]
        print("\\begin{gather*}\n" + " \\\\\n".join(rows) + "\n\\end{gather*}")
    else:
        for a in alignments:
            classes = " or ".join(f"{a.axis} = {r} (mod {a.modulus})" for r in a.residues)
            print(f"{classes}, {a.axis} >= {a.least}")
            if args.span is not None:
                print(f"  {', '.join(map(str, a.sizes(*args.span))) or 'none in the range'}")
    return 0


def _alignment_dict(a: Alignment, span: tuple[int, int] | None) -> dict[str, Any]:
    document: dict[str, Any] = {"axis": a.axis, "modulus": a.modulus,
                                "residues": list(a.residues), "least": a.least}
    if span is not None:
        document["sizes"] = a.sizes(*span)
    return document
