"""`symconv notes --figures`: one figure per distinct layer kind, the TikZ that `symconv draw`
writes for the first layer of that kind, beside its derivation; TikZ in the preamble only
then; the notes compile as an article, a fragment in a host document and Beamer slides;
AlexNet's notes with figures keep to their page budget."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import need_tikz
from test_notes_options import _pdf_text

import symconv
from symconv.cli import main
from symconv.documents.notes import build_notes, notes_body, notes_document
from symconv.documents.options import NotesOptions

ROOT = Path(__file__).parent.parent
# every kind of window layer, each twice, a symbolic layer first (it cannot be drawn) and a
# window inside a block (symconv draw draws top-level layers only)
KINDS = ("input 1 x 16 x 16\nconv 2 k=3 p=1\nrelu\nconv 2 k=3 p=2 d=2\nconv 2 k=3 p=1\n"
         "maxpool k=2\nmaxpool k=2\nconv 2 k=3 p=2 d=2\nmaxpool k=3 s=2 ceil\n"
         "avgpool k=1\nconvT 2 k=2 s=2\nconvT 2 k=3 s=2 p=1 op=1\nresidual {\n conv 2 k=3 p=1\n}")


def _pictures(tex: str) -> list[str]:
    return re.findall(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", tex, re.S)


def _draw(text: str, layer: int, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["draw", "-e", text, "--layer", str(layer), "--format", "tikz"]) == 0
    return capsys.readouterr().out.rstrip("\n")


@pytest.mark.parametrize(("text", "options", "drawn"), [
    (KINDS, NotesOptions(figures=True), [1, 3, 5, 8, 9, 10]),
    (KINDS, NotesOptions(figures=True, layers=frozenset({2, 3, 4, 6, 12})), [3, 4, 6]),
    ("input 1 x H x 16\nconv 2 k=3\nconv 2 k=5", NotesOptions(figures=True), []),
    ("input 1 x 4 x 4 x 4\nconv 2 k=3\nmaxpool k=2", NotesOptions(figures=True), []),
    ("input 1 x 20\nconv 2 k=3\navgpool k=2\nconv 2 k=3 d=2\nconv 2 k=2",
     NotesOptions(figures=True), [1, 2, 3]),
    (KINDS, NotesOptions(), []),
])
def test_one_figure_per_kind_is_what_symconv_draw_writes(
        capsys: pytest.CaptureFixture[str], text: str, options: NotesOptions,
        drawn: list[int]) -> None:
    tex = notes_body(build_notes(symconv.parse(text)), options)
    # the oracle: the command's own TikZ, each once, in the order of the layers
    assert _pictures(tex) == [_draw(text, n, capsys) for n in drawn]
    assert ("tikz}" in tex.splitlines()[0]) == bool(drawn)  # the packages the fragment needs


def test_each_figure_follows_its_layers_derivation() -> None:
    tex = notes_body(build_notes(symconv.parse(KINDS)), NotesOptions(figures=True))
    for n in (1, 3, 5, 8, 9, 10):
        after = tex.split(f"{{Layer {n}: " if f"{{Layer {n}: " in tex else f"{{Layers {n}--")[1]
        heading, picture = after.index("\n"), after.index(r"\begin{tikzpicture}")
        assert heading < picture < after.index("\\subsection*{"), n


@pytest.mark.parametrize("figures", [False, True])
def test_tikz_is_in_the_preamble_only_with_figures(figures: bool) -> None:
    notes = build_notes(symconv.parse(KINDS))
    for beamer in (False, True):
        tex = notes_document(notes, "t", NotesOptions(figures=figures, beamer=beamer))
        assert (r"\usepackage{tikz}" in tex) == figures
        assert (r"\begin{tikzpicture}" in tex) == figures


@pytest.mark.parametrize("beamer", [False, True])
def test_notes_with_figures_compile(tmp_path: Path, beamer: bool) -> None:
    need_tikz()
    notes = build_notes(symconv.parse(KINDS))
    text, _ = _pdf_text(notes_document(notes, "Figures", NotesOptions(figures=True,
                                                                      beamer=beamer,
                                                                      formula_sheet=False)),
                        tmp_path)
    for words in ("layer 1 (conv2d): k=3, s=1, p=1", "d=2", "zeros between inputs",
                  "input 16 × 16"):
        assert words in text, words
    if beamer:
        assert "Layer 10: convtranspose2d: the window" in text


def test_a_fragment_with_figures_goes_into_a_host_with_tikz(tmp_path: Path) -> None:
    need_tikz()
    body = notes_body(build_notes(symconv.parse(KINDS)),
                      NotesOptions(figures=True, level="subsection", formula_sheet=False))
    assert "\\usepackage" not in "".join(line for line in body.splitlines() if
                                      not line.startswith("%"))
    (tmp_path / "body.tex").write_text(body)
    host = ("\\documentclass{article}\\usepackage{amsmath,amssymb,booktabs,graphicx,multicol,"
            "tikz}\n\\begin{document}\\section{Convolutions}\\input{" + str(tmp_path / "body.tex")
            + "}\\section{Training CNNs}\\end{document}\n")
    text, _ = _pdf_text(host, tmp_path)
    assert "2 Training CNNs" in text and "zeros between inputs" in text


def test_alexnets_notes_with_figures_keep_to_six_pages(tmp_path: Path) -> None:
    need_tikz()
    net = symconv.parse((ROOT / "examples" / "alexnet.net").read_text())
    tex = notes_document(build_notes(net), "AlexNet", NotesOptions(figures=True))
    assert len(_pictures(tex)) == 2  # conv2d, maxpool2d
    text, pages = _pdf_text(tex, tmp_path)
    assert pages <= 6 and "layer 3 (maxpool2d): k=3, s=2, p=0" in text


def test_the_command_line_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "-e", KINDS, "--figures", "--fragment", "--beamer"]) == 0
    out = capsys.readouterr().out
    assert len(_pictures(out)) == 6 and r"\begin{frame}" in out
