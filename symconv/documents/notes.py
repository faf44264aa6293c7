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

import sympy

from symconv.algebra.symbols import internal_symbol, symbol
from symconv.derive.derivation import Derivation, derive, internal_letters
from symconv.derive.steps import Quantity, Step
from symconv.documents.formula_sheet import sheet_latex
from symconv.engine.records import Record, axis_names
from symconv.errors import SymconvError
from symconv.network import LayerRecord, Network
from symconv.present.latex import escape_text, latex
from symconv.present.values import shape_latex, value_latex
from symconv.render.latex import input_sizes, step_lines
from symconv.render.table import params_latex, unused_note

PACKAGES = ("amsmath", "amssymb", "booktabs", "graphicx")

# \symconvfit[width]{math}: the math in display style, scaled down to `width` if wider.
# \symconvfitbox{material}: a box (a table) scaled to the line's width and the page's height.
MACROS = r"""% symconv notes: needs \usepackage{amsmath,amssymb,booktabs,graphicx}
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
"""

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
    lines = [r"\providecommand{\symconvglyph}[1]{\texttt{[U+#1]}}"]
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


def notes_body(notes: Notes) -> str:
    """The body: macros, the table, the derivations, the closed forms and the formula sheet."""
    network = notes.network
    records = network.table(**notes.values)  # the table's records: SymPy values
    input_shape = records[0].input_shape if records else network.input_shape
    table = _table(network, records)
    parts = [
        MACROS,
        r"\section{Network}",
        "Input: $" + shape_latex(input_shape) + "$.",
        "",
        r"\begin{center}",
        r"\symconvfitbox{" + table + "}",
        r"\end{center}",
        "",
        *([LONG_NOTE, ""] if LONG in table else []),
        *(f"{escape_text(unused_note(u))}\n" for u in network.unused_parameters),
        r"\section{Derivations}",
        "Each quantity is written as its general formula, the formula with the numbers put "
        "in, the outermost operation worked out, and the value. The output of layer $l$ is "
        "the input of layer $l + 1$.",
        "",
    ]
    parts += [f"Input sizes: {input_sizes(notes.derivation)}.", ""]
    quiet = []
    for layer in notes.derivation.layers:
        if not layer.steps:
            quiet.append(f"{layer.index} ({escape_text(layer.kind)})")
            continue
        parts += [r"\subsection*{" + escape_text(layer.title) + "}", _aligned(layer.steps), ""]
    if quiet:
        parts += ["Layers " + ", ".join(quiet) + " keep the shape of their input and have "
                  "no parameters.", ""]
    parts += _receptive_table(records_of(notes))
    parts += [
        r"\section{Closed forms}",
        "The sizes after each layer as functions of the input's sizes, and the number of "
        "parameters of the whole network.",
        "",
        _aligned(notes.closed_forms, values_only=True),
        "",
        r"\appendix",
        r"\section{Formula sheet}",
        "The functions in \\texttt{symconv/engine/formulas.py} that compute every number above, "
        "written out by latexify-py.",
        r"\sloppy",  # long code names in the docstrings: stretch spaces rather than overflow
        "",
        sheet_latex(),
    ]
    return "\n".join(parts) + "\n"


def records_of(notes: Notes) -> tuple[Record, ...]:
    return notes.network.records(**notes.values)


def _receptive_table(records: tuple[Record, ...]) -> list[str]:
    """A booktabs table of the receptive field and jump after every layer that has spatial
    axes (r: input positions one unit sees; j: input distance between neighbouring units)."""
    rows = [r for r in records if r.fields and not any(fd.ended for fd in r.fields)]
    if not rows:
        return []
    axes = axis_names(len(rows[0].fields))
    head = ["\\#", "layer", *(f"$r_{{{a}}}$" for a in axes), *(f"$j_{{{a}}}$" for a in axes)]
    lines = [
        r"\section{Receptive fields}",
        "After each layer: how many input positions one output unit sees ($r$) and the input "
        "distance between neighbouring units ($j$), per axis.",
        "",
        r"\begin{center}",
        r"\symconvfitbox{\begin{tabular}{rl" + "r" * (2 * len(axes)) + "}",
        r"\toprule",
        " & ".join(head) + r" \\",
        r"\midrule",
    ]
    for r in rows:
        cells = [str(r.index), r"\texttt{" + escape_text(r.kind) + "}",
                 *(_cell(value_latex(fd.size)) for fd in r.fields),
                 *(_cell(value_latex(fd.jump)) for fd in r.fields)]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{center}", ""]
    if any(LONG in line for line in lines):
        lines += [LONG_NOTE.replace("symconv table", "symconv rf"), ""]
    return lines


def _aligned(steps: tuple[Step, ...], values_only: bool = False) -> str:
    """An align* block of the steps; a line too long for TeX to typeset at any scale is
    replaced by a pointer to `symconv derive`."""
    rows = []
    for step in steps:
        lines = [latex(step.value)] if values_only else step_lines(step)
        for i, line in enumerate(lines):
            body = (TOO_LONG if len(line) > LINE_LIMIT
                    else f"{FIT}{{{line}}}" if len(line) > FITS else line)
            rows.append(f"{latex(step.target) if i == 0 else ''} &= {body}")
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def _cell(tex: str) -> str:
    """A table entry: the math, or LONG where it is too long for a cell."""
    return f"${tex}$" if len(tex) <= CELL_LIMIT else LONG


def _table(network: Network, records: Sequence[LayerRecord]) -> str:
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


def notes_document(notes: Notes, title: str = "Network arithmetic") -> str:
    """A standalone article: preamble, escaped title, body."""
    title = escape_text(title)
    return "\n".join([
        r"\documentclass[11pt]{article}",
        r"\usepackage[margin=2.2cm]{geometry}",
        *(rf"\usepackage{{{p}}}" for p in PACKAGES),
        *unicode_declarations(title),
        r"\allowdisplaybreaks",
        r"\title{" + title + "}",
        r"\author{}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        notes_body(notes),
        r"\end{document}",
        "",
    ])


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
