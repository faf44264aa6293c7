"""`symconv formulas [-o docs/formulas.md]`: the formula sheet, generated from the code."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from symconv.commands.options import write_file


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "formulas", help="the formula sheet (Markdown or LaTeX) from symconv/engine/formulas.py"
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="default, or -: standard output")
    parser.add_argument("--format", choices=("markdown", "latex"), default="markdown")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at load: every other command starts without latexify.
    from symconv.documents.formula_sheet import sheet_latex, sheet_markdown
    from symconv.documents.notes import MACROS

    # The LaTeX sheet scales wide definitions with the notes' macros, which it brings along.
    text = sheet_markdown() if args.format == "markdown" else MACROS + "\n" + sheet_latex()
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    write_file(args.output, text)
    return 0
