"""`symconv notes --notation symconv|cs231n|dumoulin`: the derivations, closed forms and
formula sheet in CS231n's letters (F the filter size, K the filter count never a kernel) or
Dumoulin & Visin's (i, k, s, p, d, a, o), renamed consistently, compiled, no symconv letter
left where another notation was asked for, and a user's own names never taken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_notes_options import _pdf_text

import symconv
from symconv.cli import main
from symconv.documents.notes import build_notes, notes_body, notes_document
from symconv.documents.options import NotesOptions
from symconv.errors import InvalidValueError

# every letter the notes use: conv, dilated conv (D), pooling, groups (G), transposed conv
# with output padding (O), flatten and linear (F), receptive fields (R, J)
NET = ("input 2 x 16 x 16\nconv 4 k=3 s=2 p=1\nrelu\nconv 4 k=3 p=2 d=2 groups=2\nmaxpool k=2\n"
       "convT 4 k=3 s=2 p=1 op=1\nflatten\nlinear 10")
ONE_D = "input 1 x 10\nconv 2 k=3\nconvT 2 k=3 s=2 op=1\nflatten\nlinear 3"
# a letter with a subscript, as math or as a closed form's indexed letter ({K}_{l})
TOKEN = re.compile(r"(?<![A-Za-z\\])\{?([A-Za-z])'?\}?_(\{[^{}]*\}|[A-Za-z0-9])")


def _math(tex: str) -> str:
    """The notes without the macros (which name no symbol) and the notation's words."""
    return "\n".join(line for line in tex.splitlines()
                     if line.startswith(r"\symconvrow") or "Input sizes" in line)


def _tokens(tex: str) -> set[str]:
    return {m[1] for m in TOKEN.finditer(_math(tex))}


def _body(text: str, notation: str) -> str:
    return notes_body(build_notes(symconv.parse(text)), NotesOptions(notation=notation))


@pytest.mark.parametrize("text", [NET, ONE_D])
def test_cs231n_is_symconvs_notes_with_f_for_the_kernel_and_n_for_features(text: str) -> None:
    ours, theirs = _body(text, "symconv"), _body(text, "cs231n")
    assert "K" not in _tokens(theirs)  # K is the number of filters: never a kernel
    # the oracle: symconv's own notes with K -> F and F -> N in every name, nothing else
    swap = {"K": "F", "F": "N"}
    renamed = TOKEN.sub(lambda m: m[0].replace(m[1], swap.get(m[1], m[1]), 1), _math(ours))
    assert renamed == _math(theirs)
    assert {"F", "N", "S", "C"} <= _tokens(theirs)


@pytest.mark.parametrize(("text", "present"), [
    (NET, ["i_{H}", "o_{1,H}", "k_{1}", "s_{1}", "p_{1}", "d_{3}", "a_{5}", "o_{l-1}",
           "k_{l,H}", "{k}_{l}"]),
    (ONE_D, ["i - k_{1}", "o_{1}", "a_{2}"]),
])
def test_dumoulin_and_visin_leave_no_symconv_letter(text: str, present: list[str]) -> None:
    theirs = _body(text, "dumoulin")
    assert _tokens(theirs) & set("HWLKSPDO") == set(), _tokens(theirs)
    for name in present:
        assert name in theirs, name
    # the same rows as symconv's notes (a wider row may go on in a second line), the same
    # numbers in them
    ours = _body(text, "symconv")

    def rows(tex: str) -> int:
        return _math(tex).count(r"\symconvrow") - _math(tex).count(r"\symconvrow{\qquad")

    assert rows(ours) == rows(theirs)
    assert re.findall(r"= (\d[\d{},]*)\}$", _math(ours), re.M) == re.findall(
        r"= (\d[\d{},]*)\}$", _math(theirs), re.M)


@pytest.mark.parametrize(("text", "notation", "name", "taken"), [
    ("input 3 x 16 x 16\nconv 8 k=k\nconv 2 k=3", "dumoulin", r"i_{H} - \mathrm{k'}_{1}",
     "i_{H} - k_{1}"),
    # (the general formula's filter size; the closed forms hold the user's F_1 itself)
    ("input 3 x 16 x 16\nconv 8 k=F_1\nconv 2 k=3", "cs231n",
     r"\frac{H_{0} - \mathrm{F'}_{1} + 2 P_{1}}", r"\frac{H_{0} - F_{1} + 2 P_{1}}"),
    ("input 3 x 16 x 16\nconv 8 k=3 s=o\nconv 2 k=3", "dumoulin", r"\mathrm{o'}_{1,H} =",
     "o_{1,H} ="),
])
def test_a_users_name_is_never_taken(text: str, notation: str, name: str, taken: str) -> None:
    tex = _body(text, notation)
    assert name in tex and taken not in tex


@pytest.mark.parametrize("notation", ["symconv", "cs231n", "dumoulin"])
def test_each_notation_compiles(pdflatex: str, tmp_path: Path, notation: str) -> None:
    notes = build_notes(symconv.parse(NET))
    text, _ = _pdf_text(notes_document(notes, "Notation", NotesOptions(notation=notation)),
                        tmp_path)
    words = {"symconv": "Formula sheet", "cs231n": "the filter size",
             "dumoulin": "the kernel"}[notation]
    assert words in text


def test_beamer_slides_in_another_notation() -> None:
    notes = build_notes(symconv.parse(NET))
    tex = notes_body(notes, NotesOptions(notation="dumoulin", beamer=True))
    assert "o_{1,H}" in tex and "H_{1}" not in tex and "K_{" not in tex


def test_the_option_is_checked() -> None:
    with pytest.raises(InvalidValueError) as error:
        NotesOptions(notation="torch")
    assert str(error.value) == ("notation: expected one of symconv, cs231n, dumoulin, got "
                                "'torch'")


def test_the_command_line_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notes", "-e", NET, "--fragment", "--notation", "cs231n"]) == 0
    out = capsys.readouterr().out
    assert "F_{1}" in out and "K_{1}" not in out
    with pytest.raises(SystemExit):
        main(["notes", "-e", NET, "--notation", "dumoulin-visin"])
    assert "invalid choice: 'dumoulin-visin'" in capsys.readouterr().err
