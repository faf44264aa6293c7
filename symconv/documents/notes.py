"""Lecture notes: a LaTeX document (or a body to \\input) with the network table, every
layer's derivations, the closed forms and the formula sheet; compiled with pdflatex on request.

Everything a user typed (title, names) is escaped; pdflatex runs with -no-shell-escape.
Lines of math that are wider than the page are scaled to fit by the macros below, so long
closed forms are never cut off.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import assert_never

import sympy

from symconv.algebra.symbols import internal_symbol, symbol
from symconv.derive.derivation import Derivation, LayerDerivation, derive, internal_letters
from symconv.derive.steps import Quantity, Step
from symconv.documents.layout import Row, Seen, height, row_lines, step_rows, value_rows, width
from symconv.documents.notation import WORDS, renamer, sheet_in
from symconv.documents.notes_figures import PACKAGE as FIGURE_PACKAGE
from symconv.documents.notes_figures import figure_lines, layer_figures
from symconv.documents.notes_sheet import notes_sheet_latex
from symconv.documents.options import DEFAULT, DIGITS, NotesOptions
from symconv.engine.records import Record, axis_names
from symconv.errors import SymconvError
from symconv.network import LayerRecord, Network
from symconv.present.latex import digit_groups, escape_text, symbol_names
from symconv.present.values import shape_latex, value_latex
from symconv.render.latex import input_sizes
from symconv.render.table import params_latex, unused_note

PACKAGES = ("amsmath", "amssymb", "booktabs", "graphicx", "multicol")

# \symconvfit[width]{math}: the math in display style, scaled down to `width` if wider.
# \symconvfitbox{material}: a box (a table) scaled to the line's width and the page's height.
MACROS = r"""% symconv notes: needs \usepackage{amsmath,amssymb,booktabs,graphicx}; two
% columns where \usepackage{multicol} is loaded too
\ifdefined\symconvbox\else\newsavebox{\symconvbox}\fi
\providecommand{\symconvfit}[2][\linewidth]{%
  \sbox{\symconvbox}{$\displaystyle #2$}%
  \ifdim\wd\symconvbox>#1\relax\resizebox{#1}{!}{\usebox{\symconvbox}}%
  \else\usebox{\symconvbox}\fi}
\providecommand{\symconvfitbox}[1]{%
  \sbox{\symconvbox}{#1}%
  \ifdim\wd\symconvbox>\linewidth
    \sbox{\symconvbox}{\resizebox{\linewidth}{!}{\usebox{\symconvbox}}}\fi
  \ifdim\dimexpr\ht\symconvbox+\dp\symconvbox\relax>0.85\textheight
    \sbox{\symconvbox}{\resizebox*{!}{0.85\textheight}{\usebox{\symconvbox}}}\fi
  \usebox{\symconvbox}}
% (a row has no depth below its baseline: a column's last row, fractions and all, then ends
% within the column, where multicol splits columns at a line's baseline)
\providecommand{\symconvrow}[1]{\par\addvspace{2pt}\noindent\raisebox{\depth}{\symconvfit{#1}}\par}
\providecommand{\symconvnote}[1]{\par\noindent\textit{#1}\par}
\providecommand{\symconvpart}[1]{\par\smallskip\noindent\textit{#1}\par}
\providecommand{\symconvhead}[1]{\par\noindent\textbf{\small #1}\par\nopagebreak}
% \symconvneed{length}: a new page unless `length` fits on this one (as needspace.sty does)
\providecommand{\symconvneed}[1]{\par\penalty-100\begingroup
  \dimen0=\pagegoal\advance\dimen0-\pagetotal
  \ifdim\dimexpr#1\relax>\dimen0\ifdim\dimen0>0pt\vfil\fi\penalty-10000\fi\endgroup}
\ifdefined\symconvcolumns\else
  \ifdefined\multicols
    \newenvironment{symconvcolumns}{\begin{multicols}{2}\raggedcolumns}{\end{multicols}}
  \else\newenvironment{symconvcolumns}{}{}\fi
\fi
"""



def macros(figures: bool) -> str:
    """MACROS, whose first line names TikZ too where the notes hold figures."""
    if not figures:
        return MACROS
    return MACROS.replace("booktabs,graphicx}", "booktabs,graphicx,tikz}", 1)


# The right-hand side of an aligned row: the line less room for the left-hand side.
FIT = r"\symconvfit[\dimexpr\linewidth-7em\relax]"

# TeX cannot build a box wider than about 5.7 m, whatever the scale it is shown at: longer
# expressions are left to `symconv derive` / `symconv table`, which print them in full.
LINE_LIMIT = 4000  # characters of LaTeX in one line of a derivation
FITS = 60  # a line of at most this many characters of LaTeX fits without scaling
CELL_LIMIT = 160  # characters of LaTeX in one table entry
TOO_LONG = r"\text{(too long to typeset; \texttt{symconv derive} prints it)}"
LONG = r"\ldots"
LONG_NOTE = (r"Entries shown as \ldots{} are expressions too long for the table; "
             r"\texttt{symconv table} prints them in full.")


# Unicode in a title. The document keeps LaTeX's default OT1 Computer Modern (scalable Type 1
# fonts in every TeX Live; T1 would need cm-super or lmodern, which texlive-latex-recommended
# lacks, and falls back to bitmap fonts made by METAFONT). With it, LaTeX typesets the Latin-1
# and Latin Extended-A letters itself except those below, which OT1 has no glyph or accent
# for; math symbols become math; every other character (CJK, say: no font for it here) is
# declared with \DeclareUnicodeCharacter to print as its code point, [U+5377], so nothing a
# user wrote vanishes from the .tex or the PDF.
_OT1_LACKS = frozenset("\u00ab\u00bb\u00d0\u00de\u00f0\u00fe\u0104\u0105\u0110\u0111"
                       "\u0118\u0119\u0126\u0127\u012e\u012f\u0138\u013f\u0140\u0149"
                       "\u014a\u014b\u0166\u0167\u0172\u0173\u017f")
# Greek in the order of its code points (U+03B1 alpha ..., U+0391 Alpha ...); capitals that
# look like Latin letters are those letters, upright.
_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
          "kappa", "lambda", "mu", "nu", "xi", "o", "pi", "rho", "varsigma", "sigma", "tau",
          "upsilon", "phi", "chi", "psi", "omega")
_CAPITALS = ("A", "B", "Gamma", "Delta", "E", "Z", "H", "Theta", "I", "K", "Lambda", "M", "N",
             "Xi", "O", "Pi", "P", "-", "Sigma", "T", "Upsilon", "Phi", "X", "Psi", "Omega")
_UNICODE_MATH = {
    **{chr(0x3B1 + i): name if len(name) == 1 else "\\" + name
       for i, name in enumerate(_GREEK)},
    **{chr(0x391 + i): rf"\mathrm{{{name}}}" if len(name) == 1 else "\\" + name
       for i, name in enumerate(_CAPITALS) if name != "-"},
    "\u2211": "\\sum", "\u220f": "\\prod", "\u221e": "\\infty", "\u2264": "\\leq",
    "\u2265": "\\geq", "\u2260": "\\neq", "\u2248": "\\approx", "\u2192": "\\to",
    "\u2190": "\\leftarrow", "\u2194": "\\leftrightarrow", "\u21d2": "\\Rightarrow",
    "\u2208": "\\in", "\u2209": "\\notin", "\u2200": "\\forall", "\u2203": "\\exists",
    "\u2202": "\\partial", "\u2207": "\\nabla", "\u221a": "\\surd", "\u222b": "\\int",
    "\u2218": "\\circ", "\u2297": "\\otimes", "\u2295": "\\oplus", "\u2217": "\\ast",
    "\u2212": "-", "\u230a": "\\lfloor", "\u230b": "\\rfloor", "\u2308": "\\lceil",
    "\u2309": "\\rceil", "\u2022": "\\bullet", "\u22c5": "\\cdot",
    "\u00ab": "\\ll", "\u00bb": "\\gg",
}
_UNICODE_TEXT = {"\u2013": "\\textendash{}", "\u2014": "\\textemdash{}", "\u2018": "`",
                 "\u2019": "'", "\u201c": "``", "\u201d": "''", "\u2026": "\\ldots{}"}


def unicode_declarations(text: str) -> list[str]:
    """\\DeclareUnicodeCharacter lines for the characters of `text` that this TeX cannot
    typeset as they are: math symbols as math, the rest as a visible [U+XXXX]."""
    # (a line may break after each: a title of many such characters fits a slide)
    lines = [r"\providecommand{\symconvglyph}[1]{\texttt{[U+#1]}\allowbreak}"]
    for c in sorted(set(text)):
        if c.isascii() or (0xA0 <= ord(c) <= 0x17F and c not in _OT1_LACKS):
            continue
        code = f"{ord(c):04X}"
        body = (rf"\ensuremath{{{_UNICODE_MATH[c]}}}" if c in _UNICODE_MATH
                else _UNICODE_TEXT.get(c, rf"\symconvglyph{{{code}}}"))
        lines.append(rf"\DeclareUnicodeCharacter{{{code}}}{{{body}}}")
    return lines if len(lines) > 1 else []


class LatexError(SymconvError):
    """pdflatex is missing, or it could not compile the document."""


@dataclasses.dataclass(frozen=True, slots=True)
class Notes:
    """The parts of the notes, computed once: derivations and closed forms as data."""

    network: Network
    values: Mapping[str, object]
    derivation: Derivation
    closed_forms: tuple[Step, ...]


def build_notes(network: Network, values: Mapping[str, object] | None = None) -> Notes:
    """Derivations of every layer, and the closed forms of the sizes in the input's sizes."""
    values = dict(values or {})
    return Notes(network, values, derive(network, "all", **values),
                 _closed_forms(network.bind(values)))


def _closed_forms(network: Network) -> tuple[Step, ...]:
    """Every layer's sizes as expressions of the input's spatial sizes (which are made
    symbols H_0, W_0, ... where they are numbers), and the total parameter count."""
    shape = network.input_shape
    letters = internal_letters(network)  # H_0 is the input height only where no symbol is
    if len(shape) > 1:
        axes = axis_names(len(shape) - 1)
        shape = (shape[0], *(symbol(f"{letters[a]}_0") if isinstance(v, int) else v
                             for a, v in zip(axes, shape[1:], strict=True)))
    general = dataclasses.replace(network, input_shape=shape)
    steps = [dataclasses.replace(s, value=tidy(s.value))
             for s in derive(general, Quantity.SHAPE.value).steps
             if s.value.free_symbols and not s.target.name.startswith(f"{letters['C']}_")]
    total = tidy(sympy.sympify(general.params(), strict=True))
    name = internal_symbol("params", network.symbols)
    params = Step(Quantity.PARAMS, name, total, total, (), total)
    return (*steps, params)


def tidy(expr: sympy.Expr) -> sympy.Expr:
    """The same expression with each floor's or ceiling's argument over one denominator:
    floor((H - 9)/4) rather than floor(H/4 - 9/4)."""
    return expr.replace(
        lambda e: isinstance(e, sympy.floor | sympy.ceiling),
        lambda e: type(e)(sympy.factor_terms(sympy.together(e.args[0]))),
    )


def notes_body(notes: Notes, options: NotesOptions = DEFAULT) -> str:
    """The body: macros, the table, the derivations, the receptive fields, the closed forms
    and the formula sheet; headings at `options.level`. It never holds a preamble or
    \\appendix, so it can be \\input anywhere in a document of one's own."""
    if options.beamer:
        from symconv.documents.beamer import beamer_body

        return beamer_body(notes, options)
    with digit_groups(DIGITS[options.digits]), symbol_names(
            renamer(notes.network, options.notation)):
        return "\n".join(_parts(notes, options)) + "\n"


def heading(options: NotesOptions, depth: int, text: str) -> str:
    """A part's heading (depth 0) or a layer's (depth 1) at the options' level; with level
    none, bold words that start a paragraph, so a document's own numbering is untouched."""
    match options.level:
        case "section":
            return (r"\section{", r"\subsection*{")[depth] + text + "}"
        case "subsection":
            return (r"\subsection{", r"\subsubsection*{")[depth] + text + "}"
        case "none":
            return (r"\par\medskip\noindent\textbf{" + text + r"}\par\nopagebreak"
                    if depth == 0 else
                    r"\par\smallskip\noindent\textbf{" + text + r"}\par\nopagebreak")
        case _:
            assert_never(options.level)


def _parts(notes: Notes, options: NotesOptions) -> list[str]:
    network = notes.network
    records = network.table(**notes.values)  # the table's records: SymPy values
    input_shape = records[0].input_shape if records else network.input_shape
    table = network_tabular(network, records)
    figures = figures_of(notes, options)
    parts = [
        macros(bool(figures)),
        heading(options, 0, "Network"),
        "Input: $" + shape_latex(input_shape) + "$.",
        "",
        r"\begin{center}",
        r"\symconvfitbox{" + table + "}",
        r"\end{center}",
        "",
        *([LONG_NOTE, ""] if LONG in table else []),
        *(f"{escape_text(unused_note(u))}\n" for u in network.unused_parameters),
    ]
    seen = Seen()
    # (a heading is never the last line of a column: LaTeX's headings forbid a break before
    # the first row after them)
    layers = [[heading(options, 1, group_title(group)), *group_lines(group, seen, COLUMN),
               *(figure_lines(figures[group[0].index]) if group[0].index in figures else ()),
               ""]
              for group in layer_groups([layer for layer in notes.derivation.layers
                                         if options.shows(layer.index)])]
    # a new page first where the heading, the words and the first layer would not fit
    need = 8 + sum(map(height, layers[0])) if layers else 8
    parts += [
        rf"\symconvneed{{{min(need, 30):.0f}\baselineskip}}",
        heading(options, 0, "Derivations"),
        DERIVATIONS_INTRO,
        "",
        *([WORDS[options.notation], ""] if WORDS[options.notation] else []),
        f"Input sizes: {input_sizes(notes.derivation)}.",
        "",
        r"\begin{symconvcolumns}",
        *(line for lines in layers for line in lines),
        r"\end{symconvcolumns}",
        "",
    ]
    parts += _receptive_table(records_of(notes), options)
    parts += [
        heading(options, 0, "Closed forms"),
        "The sizes after each layer as functions of the input's sizes, and the number of "
        "parameters of the whole network.",
        "",
        r"\begin{symconvcolumns}",
        *rows_latex(closed_form_rows(notes, options), COLUMN, side_by_side=False),
        r"\end{symconvcolumns}",
        "",
    ]
    if options.formula_sheet:
        parts += [
            heading(options, 0, "Formula sheet"),
            SHEET_WORDS,
            "",
            r"\begin{symconvcolumns}",
            sheet_in(options.notation, notes_sheet_latex()),
            r"\end{symconvcolumns}",
        ]
    return parts


def figures_of(notes: Notes, options: NotesOptions) -> dict[int, str]:
    """Per layer number, the figure set with its derivation (none without options.figures;
    see symconv.documents.notes_figures)."""
    if not options.figures:
        return {}
    return layer_figures(notes.network, notes.values, options.layers)


SHEET_WORDS = (
    "The formulas behind every number above, in the derivations' notation (layer $l$ reads "
    "layer $l - 1$): written out by latexify-py from the functions in "
    "\\texttt{symconv/\\allowbreak formulas.py} that compute them.")
DERIVATIONS_INTRO = (
    "Each size and count: its general formula where the notes first use it, the numbers put "
    "in, the outermost operation worked out, the value; an axis shares the row of another "
    "where their numbers agree. The output of layer $l$ is the input of layer $l + 1$; a "
    "layer that keeps the shape is listed with the layer before it.")

# Width of a row of math in a column, in points (see notes_layout.width): two columns of a
# 10 pt article with 2 cm margins.
COLUMN = 235.0


def layer_groups(layers: Sequence[LayerDerivation]) -> list[list[LayerDerivation]]:
    """Consecutive layers grouped: a layer that changes the shape, then the layers after it
    that keep the shape (an activation, dropout, a normalisation), which have at most a
    parameter count to derive. A block starts a group of its own."""
    groups: list[list[LayerDerivation]] = []
    for layer in layers:
        keeps = not layer.parts and not any(s.quantity is Quantity.SHAPE for s in layer.steps)
        if groups and keeps and groups[-1][-1].index == layer.index - 1:
            groups[-1].append(layer)
        else:
            groups.append([layer])
    return groups


def group_title(group: Sequence[LayerDerivation]) -> str:
    """'Layer 1: conv2d' or 'Layers 1--3: conv2d, batchnorm2d, relu' (LaTeX text); inside a
    block the layers go by their row labels (6.a1)."""
    if len(group) == 1:
        return escape_text(group[0].title)
    kinds = ", ".join(escape_text(layer.kind if layer.reuses is None else
                                  f"{layer.kind} (reuses the parameters of layer "
                                  f"{layer.reuses}, 0 counted here)") for layer in group)
    return f"Layers {escape_text(group[0].name)}--{escape_text(group[-1].name)}: {kinds}"


def group_lines(group: Sequence[LayerDerivation], seen: Seen, limit: float) -> list[str]:
    """The lines of a group of layers: for a block, each of its paths derived layer by
    layer first; then the rows of each layer's own steps."""
    out: list[str] = []
    rows: list[Row] = []
    for layer in group:
        if layer.parts:
            out += rows_latex(rows, limit)
            rows = []
            out += _parts_lines(layer, seen, limit)
        rows += step_rows(layer.steps, seen)
    out += rows_latex(rows, limit)
    if not out:
        words = ("keeps the shape of its input and has no parameters" if len(group) == 1
                 else "keep the shape of their input and have no parameters")
        return [r"\symconvnote{" + ("It" if len(group) == 1 else "They") + f" {words}.}}"]
    return out


def _parts_lines(block: LayerDerivation, seen: Seen, limit: float) -> list[str]:
    """A block's paths: each path's title and output shape, then its layers grouped as at
    the top, under smaller headings."""
    out = []
    for part in block.parts:
        times = f" ({part.passes})" if part.passes else ""
        shape = "$" + shape_latex(part.shape) + "$"
        out.append(r"\symconvpart{" + escape_text(part.title[:1].upper() + part.title[1:])
                   + times + r" $\to$ " + shape + "}")
        for group in layer_groups(part.layers):
            out.append(r"\symconvhead{" + group_title(group) + "}")
            out += group_lines(group, seen, limit)
    return out


def rows_latex(rows: Sequence[Row], limit: float, side_by_side: bool = True) -> list[str]:
    """\\symconvrow lines; with `side_by_side`, short given values share a line (C_1 = 96,
    ...)."""
    out: list[str] = []
    givens: list[str] = []

    def flush() -> None:
        if givens:
            out.append(_row(r",\quad ".join(givens)))
            givens.clear()

    for row in rows:
        pair = f"{row.targets[0]} = {row.sides[0]}"
        if side_by_side and row.given and width(pair) < limit / 3:
            if givens and width(r",\quad ".join([*givens, pair])) > limit:
                flush()
            givens.append(pair)
            continue
        flush()
        if row.note:
            out.append(r"\symconvnote{" + escape_text(row.note) + "}")
        out.extend(_row(line) for line in row_lines(row, limit))
    flush()
    return out


def _row(tex: str) -> str:
    return r"\symconvrow{" + (TOO_LONG if len(tex) > LINE_LIMIT else tex) + "}"


def closed_form_rows(notes: Notes, options: NotesOptions) -> list[Row]:
    """The closed forms as rows: axes alike said once, equal sizes in one row."""
    shape = notes.network.input_shape
    twins: dict[sympy.Symbol, sympy.Symbol] = {}
    letters = internal_letters(notes.network)
    axes = axis_names(len(shape) - 1) if len(shape) > 1 else ()
    names = [v if isinstance(v, sympy.Symbol) else symbol(f"{letters[a]}_0")
             for a, v in zip(axes, shape[1:], strict=True)]
    for name in names[1:]:  # the first spatial axis's input size stands for the others
        twins[name] = names[0]
    shown = [s for s in notes.closed_forms
             if s.quantity is not Quantity.SHAPE or options.shows(_layer_of(s))]
    return value_rows(shown, twins)


def _layer_of(step: Step) -> int:
    """The layer number in a size's name (H_13 -> 13)."""
    rest = step.target.name.partition("_")[2].partition(",")[0]
    return int(rest) if rest.isdigit() else 0


def records_of(notes: Notes) -> tuple[Record, ...]:
    return notes.network.records(**notes.values)


def _receptive_table(records: tuple[Record, ...], options: NotesOptions) -> list[str]:
    """The receptive-field part: heading, words, table (nothing where no layer has one)."""
    table = receptive_tabular(records, options)
    if not table:
        return []
    return [heading(options, 0, "Receptive fields"), RECEPTIVE_WORDS, "", *table]


RECEPTIVE_WORDS = ("After each layer: how many input positions one output unit sees ($r$) "
                   "and the input distance between neighbouring units ($j$), per axis.")


def receptive_tabular(records: tuple[Record, ...], options: NotesOptions) -> list[str]:
    """A booktabs table of the receptive field and jump after every layer that has spatial
    axes (r: input positions one unit sees; j: input distance between neighbouring units);
    one column for all axes where they agree on every row."""
    rows = [r for r in records if r.fields and not any(fd.ended for fd in r.fields)
            and options.shows(r.index)]
    if not rows:
        return []
    axes = axis_names(len(rows[0].fields))
    alike = all(len({str(fd.size) for fd in r.fields}) == 1
                and len({str(fd.jump) for fd in r.fields}) == 1 for r in rows)
    if alike:
        shown = (" = ".join(f"r_{{{a}}}" for a in axes), " = ".join(f"j_{{{a}}}" for a in axes))
        head = ["\\#", "layer", f"${shown[0]}$", f"${shown[1]}$"]
    else:
        head = ["\\#", "layer", *(f"$r_{{{a}}}$" for a in axes),
                *(f"$j_{{{a}}}$" for a in axes)]
    lines = [
        r"\begin{center}",
        r"\symconvfitbox{\begin{tabular}{rl" + "r" * (len(head) - 2) + "}",
        r"\toprule",
        " & ".join(head) + r" \\",
        r"\midrule",
    ]
    for r in rows:
        fields = r.fields[:1] if alike else r.fields
        cells = [str(r.index), r"\texttt{" + escape_text(r.kind) + "}",
                 *(_cell(value_latex(fd.size)) for fd in fields),
                 *(_cell(value_latex(fd.jump)) for fd in fields)]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{center}", ""]
    if any(LONG in line for line in lines):
        lines += [LONG_NOTE.replace("symconv table", "symconv rf"), ""]
    return lines


def _cell(tex: str) -> str:
    """A table entry: the math, or LONG where it is too long for a cell."""
    return f"${tex}$" if len(tex) <= CELL_LIMIT else LONG


def network_tabular(network: Network, records: Sequence[LayerRecord]) -> str:
    """The per-layer table (booktabs); an entry too long for a table cell is shown as LONG,
    and LONG_NOTE follows the table."""

    def total(name: str) -> sympy.Expr:
        summed = sum((getattr(r, name) for r in records), sympy.Integer(0))
        return sympy.sympify(summed, strict=True)

    input_shape = records[0].input_shape if records else network.input_shape
    lines = [r"\begin{tabular}{rllrrrr}", r"\toprule",
             r"\# & layer & output shape & params & neurons & connections & macs \\",
             r"\midrule", f" & input & {_cell(shape_latex(input_shape))} & & & & " + r"\\"]
    for r in records:
        params = params_latex(r)
        lines.append(" & ".join([str(r.index), r"\texttt{" + escape_text(r.kind) + "}",
                                 _cell(shape_latex(r.output_shape)),
                                 params if params.startswith("\\text") else _cell(params),
                                 *(_cell(value_latex(v))
                                   for v in (r.neurons, r.connections, r.macs))
                                 ]) + r" \\")
    totals = [_cell(value_latex(total(n))) for n in ("params", "neurons", "connections", "macs")]
    lines += [r"\midrule", " & total & & " + " & ".join(totals) + r" \\",
              r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)


def notes_document(notes: Notes, title: str = "Network arithmetic",
                   options: NotesOptions = DEFAULT) -> str:
    """A standalone article (or, with `options.beamer`, slides): preamble, escaped title,
    body. Characters of the title or the names that pdflatex's fonts lack are declared."""
    if options.beamer:
        from symconv.documents.beamer import beamer_document

        return beamer_document(notes, title, options)
    title = escape_text(title)
    body = notes_body(notes, options)
    return "\n".join([
        r"\documentclass[10pt]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        *preamble(title + body, options.figures),
        r"\title{" + title + "}",
        r"\author{}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        body,
        r"\end{document}",
        "",
    ])


def preamble(text: str, figures: bool = False) -> list[str]:
    """The packages the notes need (TikZ only with `figures`), UTF-8 input, and the
    declarations of the characters in `text` that the fonts lack."""
    packages = (*PACKAGES, FIGURE_PACKAGE) if figures else PACKAGES
    return [r"\usepackage[utf8]{inputenc}", *(rf"\usepackage{{{p}}}" for p in packages),
            r"\setlength{\columnsep}{1.5em}", *unicode_declarations(text)]


# ---------------------------------------------------------------- pdflatex


def compile_pdf(tex: str, pdf: Path, what: str = "the notes") -> str:
    """Compile the document with pdflatex (-no-shell-escape) into `pdf`; returns the log.
    Raises LatexError with the log's error lines when the run fails."""
    exe = shutil.which("pdflatex")
    if exe is None:
        raise LatexError(
            "pdflatex is not installed; install TeX Live (Debian: texlive-latex-base "
            "texlive-latex-recommended) or leave out --pdf"
        )
    with tempfile.TemporaryDirectory(prefix="symconv-") as tmp:
        work = Path(tmp)
        (work / "notes.tex").write_text(tex, encoding="utf-8")
        try:
            run = subprocess.run(
                [exe, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                 "notes.tex"],
                cwd=work, capture_output=True, text=True, errors="replace", timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise LatexError("pdflatex did not finish within 300 s") from None
        log_file = work / "notes.log"
        log = log_file.read_text(errors="replace") if log_file.exists() else run.stdout
        if run.returncode != 0 or not (work / "notes.pdf").exists():
            raise LatexError(f"pdflatex could not compile {what}:\n" + error_lines(log))
        try:
            shutil.copyfile(work / "notes.pdf", pdf)
        except OSError as error:
            raise LatexError(f"cannot write {pdf}: {error.strerror or error}") from None
    return log


def error_lines(log: str, context: int = 3) -> str:
    """The lines of a TeX log that say what went wrong: each '!' line and a few after it."""
    lines = log.splitlines()
    picked: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("!"):
            picked.extend(lines[i:i + context + 1])
    return "\n".join(picked) if picked else "\n".join(lines[-15:])


def overfull_boxes(log: str) -> list[str]:
    """The log's warnings about boxes that stick out of the line (material cut off)."""
    return [line for line in log.splitlines() if re.match(r"Overfull \\[hv]box", line)]
