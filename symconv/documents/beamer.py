"""The notes as Beamer slides: the table, then one frame per layer (a layer with the
shape-keeping layers after it), the receptive fields, the closed forms and the formula sheet.
The rows are the article's (symconv.notes), set one column wide on a slide."""

from __future__ import annotations

from symconv.documents.layout import Seen
from symconv.documents.notation import renamer, sheet_in
from symconv.documents.notes import (
    Notes,
    closed_form_rows,
    figures_of,
    group_lines,
    group_title,
    layer_groups,
    macros,
    network_tabular,
    preamble,
    receptive_tabular,
    records_of,
    rows_latex,
)
from symconv.documents.notes_figures import figure_lines
from symconv.documents.notes_sheet import notes_sheet_latex
from symconv.documents.options import DIGITS, NotesOptions
from symconv.present.latex import digit_groups, escape_text, symbol_names
from symconv.render.latex import input_sizes

# Width of a row of math on a 128 mm slide at Beamer's 11 pt, in points.
SLIDE = 300.0


def _frame(title: str, lines: list[str], breaks: bool = False) -> list[str]:
    option = "[allowframebreaks]" if breaks else ""
    return [rf"\begin{{frame}}{option}{{{title}}}", r"\small", *lines, r"\end{frame}", ""]


def beamer_body(notes: Notes, options: NotesOptions) -> str:
    """The frames (and the macros they use), to \\input into a Beamer document."""
    with digit_groups(DIGITS[options.digits]), symbol_names(
            renamer(notes.network, options.notation)):
        return "\n".join(_frames(notes, options)) + "\n"


def _frames(notes: Notes, options: NotesOptions) -> list[str]:
    network = notes.network
    figures = figures_of(notes, options)
    out = [macros(bool(figures))]
    out += _frame("Network", [r"\begin{center}", r"\symconvfitbox{" +
                              network_tabular(network, network.table(**notes.values)) + "}",
                              r"\end{center}"])
    seen = Seen()
    layers = [layer for layer in notes.derivation.layers if options.shows(layer.index)]
    for i, group in enumerate(layer_groups(layers)):
        first = [f"Input sizes: {input_sizes(notes.derivation)}.", ""] if i == 0 else []
        body = group_lines(group, seen, SLIDE)
        out += _frame(group_title(group), [*first, *body], breaks=len(body) > 12)
        if group[0].index in figures:  # a frame of its own: the figure at a readable size
            out += _frame(group_title(group) + ": the window",
                          [r"\begin{center}", *figure_lines(figures[group[0].index]),
                           r"\end{center}"])
    table = receptive_tabular(records_of(notes), options)
    if table:
        out += _frame("Receptive fields", table)
    out += _frame("Closed forms",
                  rows_latex(closed_form_rows(notes, options), SLIDE, side_by_side=False),
                  breaks=True)
    if options.formula_sheet:
        out += _frame("Formula sheet", [sheet_in(options.notation, notes_sheet_latex())],
                      breaks=True)
    return out


def beamer_document(notes: Notes, title: str, options: NotesOptions) -> str:
    """A Beamer document: preamble, a title frame, the frames."""
    title = escape_text(title)
    body = beamer_body(notes, options)
    return "\n".join([
        r"\documentclass[11pt]{beamer}",
        *(line for line in preamble(title + body, options.figures) if "multicol" not in line),
        r"\setbeamertemplate{navigation symbols}{}",
        r"\title{" + title + "}",
        r"\date{}",
        r"\begin{document}",
        r"\begin{frame}\titlepage\end{frame}",
        body,
        r"\end{document}",
        "",
    ])
