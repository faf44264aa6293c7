"""`symconv draw NET --layer N`: Dumoulin & Visin's figure of a layer's window, or with
`--layers A-B` the receptive field of a unit through several layers (Araujo et al.), as SVG,
TikZ, PDF, PNG or the geometry as JSON."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symconv.commands.options import (
    add_network_arguments,
    load_network,
    read_option,
    values_from,
    whole_option,
    write_file,
)
from symconv.errors import SymconvError
from symconv.language.parse import parse_expression

if TYPE_CHECKING:
    from symconv.render.figure import Drawing  # made by Network.draw, when the command runs

FORMATS = ("svg", "tikz", "pdf", "png", "json")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "draw", help="a figure of a layer's sliding window, or of a unit's receptive field "
        "through layers (SVG, TikZ, PDF, PNG, JSON)"
    )
    add_network_arguments(parser)
    parser.add_argument("--layer", type=whole_option, metavar="N",
                        help="the layer whose window is drawn (conv, convT or pool)")
    parser.add_argument("--layers", metavar="A-B",
                        help="draw the receptive field of a unit of layer B through layers A "
                        "to B instead")
    parser.add_argument("--unit", metavar="I,J",
                        help="the output unit whose window is drawn (default 0,0)")
    parser.add_argument("--format", choices=FORMATS, default="svg")
    parser.add_argument("--animate", action="store_true",
                        help="an animated SVG (SMIL): the window at every shown output unit "
                        "in turn")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="where to write the figure (default: standard output; PDF and "
                        "PNG need a file)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.layer is None and args.layers is None:
        raise SymconvError("draw needs --layer N (one window) or --layers A-B (a receptive "
                           "field through layers A to B)")
    if args.layer is not None and args.layers is not None:
        raise SymconvError("give --layer N or --layers A-B, not both")
    if args.animate and args.format != "svg":
        raise SymconvError("--animate makes an animated SVG; use --format svg (PDF, PNG and "
                           "TikZ are single frames: give --unit for the window you want)")
    if args.animate and args.layers is not None:
        raise SymconvError("--animate moves one layer's window; leave it out with --layers")
    if args.format in ("pdf", "png") and args.output in (None, "-"):
        raise SymconvError(f"--format {args.format} writes a binary file: give -o FILE")
    network = load_network(args)
    values = values_from(args)
    unit = None if args.unit is None else _unit(args.unit)
    layers = None if args.layers is None else _layers(args.layers)
    drawing = network.draw(args.layer, unit, layers=layers, animate=args.animate, **values)
    if args.format in ("pdf", "png"):
        _compile(drawing, Path(args.output), args.format)
        return 0
    text = {"svg": drawing.svg, "tikz": drawing.tikz, "json": drawing.json}[args.format]()
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        write_file(args.output, text)
    return 0


def _unit(text: str) -> tuple[int, ...]:
    """--unit I,J as whole numbers."""
    out = []
    for part in text.split(","):
        value = read_option("--unit", parse_expression, part)
        if not isinstance(value, int):
            raise SymconvError(f"--unit takes whole numbers such as 0,0; got '{text}'")
        out.append(value)
    return tuple(out)


def _layers(text: str) -> tuple[int, int]:
    """--layers A-B (or a single layer A)."""
    first, _, last = text.partition("-")
    try:
        a = whole_option(first)
        b = whole_option(last) if last else a
    except argparse.ArgumentTypeError as error:
        raise SymconvError(f"--layers takes A-B, such as 1-3: {error}") from None
    if a > b:
        raise SymconvError(f"--layers {text}: the first layer comes after the last")
    return a, b


def _compile(drawing: Drawing, output: Path, fmt: str) -> None:
    """PDF through pdflatex on the TikZ (as `notes --pdf`); PNG from that PDF by pdftoppm."""
    from symconv.documents.notes import compile_pdf

    if fmt == "pdf":
        compile_pdf(drawing.tikz_document(), output, "the figure")
        return
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise SymconvError("--format png needs pdftoppm (Debian: poppler-utils); install it, "
                           "or write --format svg or pdf")
    with tempfile.TemporaryDirectory(prefix="symconv-") as tmp:
        pdf = Path(tmp) / "figure.pdf"
        compile_pdf(drawing.tikz_document(), pdf, "the figure")
        run = subprocess.run([exe, "-png", "-r", "150", "-singlefile", str(pdf),
                              str(Path(tmp) / "figure")],
                             capture_output=True, text=True, timeout=120, check=False)
        made = Path(tmp) / "figure.png"
        if run.returncode != 0 or not made.exists():
            raise SymconvError(f"pdftoppm could not make the PNG: {run.stderr.strip()[:300]}")
        try:
            shutil.copyfile(made, output)
        except OSError as error:
            raise SymconvError(f"cannot write {output}: {error.strerror or error}") from None
