"""`symconv notes NET -o notes.tex [--pdf]`: lecture notes as LaTeX, compiled on request."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from symconv.commands.options import add_network_arguments, load_network, values_from, write_file
from symconv.documents.options import DIGITS, LEVELS, NOTATIONS, NotesOptions, parse_layers
from symconv.errors import SymconvError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "notes", help="a LaTeX document with the table, derivations, closed forms and formulas"
    )
    add_network_arguments(parser)
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="where to write the .tex file (default, or -: standard "
                        "output)")
    parser.add_argument("--pdf", action="store_true",
                        help="also compile it with pdflatex into FILE with .pdf")
    parser.add_argument("--title", help="the document's title")
    parser.add_argument("--fragment", action="store_true",
                        help="write only the body, to \\input into a document of your own "
                        "(no preamble, no \\appendix)")
    parser.add_argument("--layers", metavar="LIST",
                        help="derive only these layers, e.g. 1-5,9 (the table shows all)")
    parser.add_argument("--no-formula-sheet", dest="formula_sheet", action="store_false",
                        help="leave out the formula sheet")
    parser.add_argument("--level", choices=LEVELS, default="section",
                        help="each part's heading: \\section (default), \\subsection, or "
                        "none (bold words, for a document with its own sections)")
    parser.add_argument("--digits", choices=tuple(DIGITS), default="comma",
                        help="what separates groups of three digits: comma (11,712; "
                        "default), thin (a thin space) or none")
    parser.add_argument("--beamer", action="store_true",
                        help="Beamer slides: one frame per layer")
    parser.add_argument("--figures", action="store_true",
                        help="a figure of the first layer of each kind (conv, dilated conv, "
                        "pooling, transposed conv, ...) beside its derivation, as symconv draw "
                        "draws it (TikZ: the preamble loads tikz)")
    parser.add_argument("--notation", choices=NOTATIONS, default="symconv",
                        help="the letters of the derivations and the formula sheet: symconv's "
                        "(H, K, S, P, D; default), CS231n's (W, F, S, P; K filters = the "
                        "output channels C) or Dumoulin & Visin's (i, k, s, p, d, o)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.output == "-":
        args.output = None
    if args.pdf and args.output is None:
        raise SymconvError("--pdf needs -o FILE.tex (the PDF is written beside it)")
    if args.pdf and args.fragment:
        raise SymconvError("--pdf compiles a whole document; leave out --fragment")
    # Imported here, not at load: the notes bring latexify and every renderer.
    from symconv.documents.notes import build_notes, compile_pdf, notes_body, notes_document

    network = load_network(args)
    layers = None if args.layers is None else parse_layers(args.layers, len(network.layers))
    options = NotesOptions(layers=layers, formula_sheet=args.formula_sheet, level=args.level,
                           digits=args.digits, beamer=args.beamer, figures=args.figures,
                           notation=args.notation)
    notes = build_notes(network, values_from(args))
    title = args.title if args.title is not None else _default_title(args)
    tex = notes_body(notes, options) if args.fragment else notes_document(notes, title, options)
    if args.output is None:
        sys.stdout.write(tex)
        return 0
    write_file(args.output, tex)
    out = Path(args.output)
    if args.pdf:
        compile_pdf(tex, out.with_suffix(".pdf"))
    return 0


def _default_title(args: argparse.Namespace) -> str:
    if args.net and args.net != "-":
        return f"Network arithmetic: {Path(args.net).name}"
    return "Network arithmetic"
