"""The options of `symconv notes`, each compiled with pdflatex: --layers, --no-formula-sheet,
--level (with --fragment, which never holds a preamble or \\appendix, so a host document's
numbering goes on), --digits, --beamer; Unicode titles in every form."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

import symconv
from symconv.cli import main
from symconv.documents.notes import (
    build_notes,
    compile_pdf,
    notes_body,
    notes_document,
    overfull_boxes,
)
from symconv.documents.options import NotesOptions, parse_layers
from symconv.errors import InvalidValueError

NET = ("input 3 x 64 x 64\nconv 16 k=3 s=2 p=1\nrelu\nmaxpool k=2\n"
       "residual {\n conv 16 k=3 p=1\n relu\n}\nconv 123456 k=1\nflatten\nlinear 10")
HOST = ("\\documentclass{article}\\usepackage{amsmath,amssymb,booktabs,graphicx,multicol}\n"
        "\\begin{document}\\section{Convolutions}\\input{BODY}\\section{Training CNNs}"
        "\\end{document}\n")


def _pdf_text(tex: str, where: Path) -> tuple[str, int]:
    """The text of the compiled document and its page count; no box sticks out."""
    pdf = where / "notes.pdf"
    log = compile_pdf(tex, pdf)
    assert overfull_boxes(log) == [], overfull_boxes(log)
    found = re.search(r"Output written on .*?\((\d+) pages?", log)
    assert found is not None
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return " ".join(text.split()), int(found.group(1))


@pytest.fixture(scope="module")
def notes() -> symconv.notes.Notes:  # type: ignore[name-defined]
    return build_notes(symconv.parse(NET))


@pytest.mark.parametrize(
    ("options", "present", "absent"),
    [
        (NotesOptions(), ["Formula sheet", "Layers 1–2: conv2d, relu", "123,456", "1 Network"],
         []),
        (NotesOptions(layers=frozenset({1, 2, 5})),
         ["Layers 1–2: conv2d, relu", "Layer 5: conv2d"],
         ["Layer 3: maxpool2d", "Layer 4: residual", "Layer 7: linear"]),
        (NotesOptions(formula_sheet=False), ["Closed forms"], ["Formula sheet", "window out"]),
        (NotesOptions(level="subsection"), ["0.1 Network", "0.2 Derivations"],
         ["Options 1 Network"]),
        (NotesOptions(level="none"), ["Network", "Derivations"], ["1 Network", "0.1"]),
        (NotesOptions(digits="none"), ["123456"], ["123,456"]),
        (NotesOptions(digits="thin"), ["123 456"], ["123,456"]),
    ],
    ids=["default", "layers", "no-sheet", "subsection", "none", "digits-none", "digits-thin"],
)
def test_each_option_compiles(pdflatex: str, tmp_path: Path, notes: object,
                              options: NotesOptions, present: list[str],
                              absent: list[str]) -> None:
    text, _ = _pdf_text(notes_document(notes, "Options", options), tmp_path)  # type: ignore[arg-type]
    for words in present:
        assert words in text, words
    for words in absent:
        assert words not in text, words


@pytest.mark.parametrize("level", ["section", "subsection", "none"])
def test_a_fragment_keeps_the_host_documents_numbering(pdflatex: str, tmp_path: Path,
                                                       notes: object, level: str) -> None:
    body = notes_body(notes, NotesOptions(level=level))  # type: ignore[arg-type]
    assert "\\appendix" not in body and "\\documentclass" not in body
    assert "\\begin{document}" not in body
    (tmp_path / "body.tex").write_text(body)
    text, _ = _pdf_text(HOST.replace("BODY", str(tmp_path / "body.tex")), tmp_path)
    # the host's next section is numbered on from the notes' own sections, never "B"
    after = {"section": "7 Training CNNs", "subsection": "2 Training CNNs",
             "none": "2 Training CNNs"}[level]
    assert after in text, text[-400:]
    assert "B Training" not in text


def test_beamer_slides_compile_one_layer_per_frame(pdflatex: str, tmp_path: Path,
                                                   notes: object) -> None:
    tex = notes_document(notes, "Slides: ∑ α", NotesOptions(beamer=True))  # type: ignore[arg-type]
    assert tex.startswith("\\documentclass[11pt]{beamer}")
    frames = re.findall(r"\\begin\{frame\}(?:\[allowframebreaks\])?\{([^}]*)\}", tex)
    assert frames == ["Network", "Layers 1--2: conv2d, relu", "Layer 3: maxpool2d",
                      "Layer 4: residual", "Layer 5: conv2d", "Layer 6: flatten",
                      "Layer 7: linear", "Receptive fields", "Closed forms", "Formula sheet"]
    text, pages = _pdf_text(tex, tmp_path)
    assert pages >= len(frames) + 1 and "Slides:" in text


def test_a_beamer_fragment_goes_into_a_deck_of_ones_own(pdflatex: str, tmp_path: Path,
                                                        notes: object) -> None:
    body = notes_body(notes, NotesOptions(beamer=True, formula_sheet=False))  # type: ignore[arg-type]
    assert "\\documentclass" not in body and "\\appendix" not in body
    (tmp_path / "frames.tex").write_text(body)
    deck = ("\\documentclass{beamer}\\usepackage{booktabs}\\begin{document}"
            f"\\begin{{frame}}{{Mine}}Hello\\end{{frame}}\\input{{{tmp_path / 'frames.tex'}}}"
            "\\end{document}\n")
    text, _ = _pdf_text(deck, tmp_path)
    assert "Hello" in text and "Closed forms" in text


@pytest.mark.parametrize(("title", "beamer"), [
    ("卷积网络的算术", True), ("Συνελικτικά δίκτυα αβγ", False), ("Ünïcödé – “quotes”", True)])
def test_unicode_titles_compile_in_every_form(pdflatex: str, tmp_path: Path, notes: object,
                                              title: str, beamer: bool) -> None:
    options = NotesOptions(beamer=beamer, formula_sheet=False)
    tex = notes_document(notes, title, options)  # type: ignore[arg-type]
    assert title in tex  # nothing dropped from the .tex
    text, _ = _pdf_text(tex, tmp_path)
    assert "Network" in text


@pytest.mark.parametrize(
    ("spec", "count", "chosen"),
    [("1-5,9", 21, {1, 2, 3, 4, 5, 9}), ("3", 3, {3}), (" 1 - 2 , 2 ", 4, {1, 2}),
     ("1-1", 1, {1})],
)
def test_parse_layers(spec: str, count: int, chosen: set[int]) -> None:
    assert parse_layers(spec, count) == chosen


@pytest.mark.parametrize(
    ("spec", "count", "message"),
    [
        ("5-1", 9, "--layers 5-1: the range 5-1 runs backwards (write 1-5)"),
        ("0", 9, "--layers 0: there is no layer 0 (the network's layers are numbered 1 to 9)"),
        ("1-30", 21, "--layers 1-30: there is no layer 30 (the network's layers are numbered "
         "1 to 21)"),
        ("x", 9, "--layers x: 'x' is not a layer number or a range such as 1-5 (write e.g. "
         "--layers 1-5,9)"),
        ("1,,2", 9, "--layers 1,,2: '' is not a layer number"),
        ("-3", 9, "--layers -3: '-3' is not a layer number"),
        ("1.5", 9, "--layers 1.5: '1.5' is not a layer number"),
        ("1", 0, "--layers 1: the network has no layers"),
        ("1-" + "9" * 5000, 9, "--layers 1-99999999999999999999999999999999999999...: there is "
         "no layer 999999999999... (the network's layers are numbered 1 to 9)"),
    ],
)
def test_parse_layers_refuses(spec: str, count: int, message: str) -> None:
    with pytest.raises(InvalidValueError) as error:
        parse_layers(spec, count)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--layers", "4-2"], "symconv: error: --layers 4-2: the range 4-2 runs backwards "
         "(write 2-4)\n"),
        (["--layers", "99"], "symconv: error: --layers 99: there is no layer 99 (the "
         "network's layers are numbered 1 to 7)\n"),
    ],
)
def test_command_line_option_errors(argv: list[str], message: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "-e", NET, *argv]) == 2
    assert capsys.readouterr().err == message


def test_command_line_options_reach_the_notes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "-e", NET, "--fragment", "--level", "none", "--layers", "5",
                 "--no-formula-sheet", "--digits", "thin"]) == 0
    out = capsys.readouterr().out
    assert "\\section" not in out and "\\appendix" not in out and "Formula sheet" not in out
    assert "Layer 5: conv2d" in out and "Layer 3:" not in out and r"123\,456" in out
    assert main(["notes", "-e", NET, "--beamer", "--fragment"]) == 0
    assert "\\begin{frame}" in capsys.readouterr().out
