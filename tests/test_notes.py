"""Lecture notes compile with a real pdflatex: every example network, long symbolic closed
forms, hostile titles; the formula sheet in docs/ is what the generator writes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import symconv
from symconv.cli import main
from symconv.documents.formula_sheet import entries, sheet_markdown
from symconv.documents.notes import (
    LatexError,
    build_notes,
    compile_pdf,
    notes_body,
    notes_document,
    overfull_boxes,
)

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.net"))



def _compile(tex: str, where: Path) -> str:
    """The log of a successful pdflatex run, with no box sticking out of the page."""
    log = compile_pdf(tex, where)
    assert where.exists() and where.stat().st_size > 1000
    assert overfull_boxes(log) == [], overfull_boxes(log)
    return log


def _text_of(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def pages(log: str) -> int:
    """The page count pdflatex reports at the end of its log."""
    found = re.search(r"Output written on .*?\((\d+) pages?", log)
    assert found is not None, log[-500:]
    return int(found.group(1))


def _example_pdf(path: Path, where: Path) -> tuple[Path, int]:
    notes = build_notes(symconv.parse(path.read_text()))
    pdf = where / f"{path.stem}.pdf"
    return pdf, pages(_compile(notes_document(notes, f"Notes: {path.name}"), pdf))


# The most pages each example's notes may take (docs/tutorial-latex.md lists the counts).
PAGES = {"alexnet": 5, "alexnet_v2": 4, "audio1d": 5, "densenet_block": 5, "lenet5": 4,
         "resnet18": 6, "resnet50": 7, "seed_conv": 3, "symbolic": 3, "unet": 5, "vgg16": 6,
         "video3d": 6, "mobilenet_v1": 8, "inception_v3_tf": 14}


def test_every_example_compiles_to_a_pdf(pdflatex: str, tmp_path: Path) -> None:
    assert EXAMPLES, "no example networks found"
    with ProcessPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        compiled = list(pool.map(_example_pdf, EXAMPLES, [tmp_path] * len(EXAMPLES)))
    counts = {p.stem: n for p, (_, n) in zip(EXAMPLES, compiled, strict=True)}
    assert set(counts) == set(PAGES), "an example without a page budget, or a budget without one"
    assert {name: n for name, n in counts.items() if n > PAGES[name]} == {}, counts
    assert counts["alexnet"] <= 6  # the issue's budget: table, derivations, ..., formula sheet
    pdfs = [pdf for pdf, _ in compiled]
    text = _text_of(pdfs[[p.stem for p in EXAMPLES].index("alexnet")])
    for words in ("Derivations", "Receptive fields", "Closed forms", "Formula sheet",
                  "Layers 1–2: conv2d, relu", "11,712"):
        assert words in text


def test_long_symbolic_closed_forms_fit_the_page(pdflatex: str, tmp_path: Path) -> None:
    text = "input C x H x W\n" + "\n".join(
        f"conv K{i} k=F{i} s=S{i} p=P{i}\nmaxpool k=Q{i} s=T{i}" for i in range(1, 4)
    ) + "\nflatten\nlinear N"
    notes = build_notes(symconv.parse(text))
    assert max(len(str(s.value)) for s in notes.closed_forms) > 300  # wider than a page
    _compile(notes_document(notes), tmp_path / "long.pdf")


@pytest.mark.parametrize(
    "title",
    [
        r"\input{/etc/passwd}",
        r"50% off & more: #1 $x$ a_b {braces} \\ ^~ \end{document}",
        "\\immediate\\write18{touch /tmp/symconv-pwned}",
    ],
)
def test_titles_are_text_not_commands(pdflatex: str, tmp_path: Path, title: str) -> None:
    notes = build_notes(symconv.parse("input 3 x 8 x 8\nconv 4 k=3"))
    pdf = tmp_path / "t.pdf"
    _compile(notes_document(notes, title), pdf)
    text = _text_of(pdf)
    assert "root:" not in text
    assert not Path("/tmp/symconv-pwned").exists()
    first = " ".join(text.split()[:14])
    # (pdftotext reads the underscore of the OT1 fonts as a space)
    expected = {r"\input{/etc/passwd}": ["input{/etc/passwd}"],
                "50%": ["50% off & more: #1 $x$ a", "b {braces}", r"\end{document}"],
                "\\immediate": ["immediate", "write18{touch /tmp/symconv-pwned}"]}
    for start, words in expected.items():
        if title.startswith(start):
            for word in words:
                assert word in first, (word, first)


def test_fragment_goes_into_a_document_of_ones_own(pdflatex: str, tmp_path: Path) -> None:
    (tmp_path / "body.tex").write_text(
        notes_body(build_notes(symconv.parse("input 3 x 32 x 32\nconv 10 k=5 p=2"))))
    main_tex = (
        "\\documentclass{article}\\usepackage{amsmath,amssymb,booktabs,graphicx}\n"
        f"\\begin{{document}}\\input{{{tmp_path / 'body.tex'}}}\\end{{document}}\n"
    )
    log = _compile(main_tex, tmp_path / "main.pdf")
    assert "body.tex" in log
    assert "760" in _text_of(tmp_path / "main.pdf")


def test_notes_command_writes_tex_and_pdf(pdflatex: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "seed.tex"
    code = main(["notes", str(ROOT / "examples" / "seed_conv.net"), "-o", str(out), "--pdf",
                 "--title", "Seed & 001"])
    assert code == 0, capsys.readouterr().err
    tex = out.read_text()
    assert tex.startswith("\\documentclass") and r"\title{Seed \& 001}" in tex
    assert r"\left\lfloor \frac{32 - 5 + 2 \cdot 2}{1} \right\rfloor + 1" in tex
    assert out.with_suffix(".pdf").exists()
    assert main(["notes", str(ROOT / "examples" / "seed_conv.net"), "--fragment"]) == 0
    body = capsys.readouterr().out
    assert "\\documentclass" not in body and "\\section{Derivations}" in body


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["notes", "examples/seed_conv.net", "--pdf"],
         "symconv: error: --pdf needs -o FILE.tex (the PDF is written beside it)\n"),
        (["notes", "examples/seed_conv.net", "--pdf", "--fragment", "-o", "x.tex"],
         "symconv: error: --pdf compiles a whole document; leave out --fragment\n"),
        (["derive", "-e", "input 3 x 8 x 8\nconv 4 k=3", "--set", "Q=1"],
         "symconv: error: unknown symbol 'Q' (the network's symbols: none)\n"),
        (["notes", "no/such.net"], "symconv: error: cannot read no/such.net: "
         "No such file or directory\n"),
    ],
)
def test_command_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    assert capsys.readouterr().err == message


def test_a_failing_run_reports_the_log_lines(pdflatex: str, tmp_path: Path) -> None:
    bad = "\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n"
    with pytest.raises(LatexError) as error:
        compile_pdf(bad, tmp_path / "bad.pdf")
    assert str(error.value).startswith("pdflatex could not compile the notes:\n"
                                       "! Undefined control sequence.")


def test_missing_pdflatex_is_a_clear_error(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(LatexError, match="pdflatex is not installed; install TeX Live"):
        compile_pdf("x", tmp_path / "x.pdf")


def test_pdflatex_never_runs_shell_escape(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append(argv)
        raise subprocess.TimeoutExpired(argv, 1)

    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/pdflatex")
    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(LatexError, match="did not finish"):
        compile_pdf("x", tmp_path / "x.pdf")
    assert "-no-shell-escape" in seen[0] and "-shell-escape" not in seen[0]


def test_derive_command_prints_the_issue_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", str(ROOT / "examples" / "seed_conv.net"), "--format", "latex",
                 "--quantity", "params"]) == 0
    out = capsys.readouterr().out
    assert r"\left(3 \cdot 5 \cdot 5 + 1\right) \cdot 10" in out and "&= 760" in out
    assert "lfloor" not in out


def test_formula_sheet_in_docs_is_generated(golden: Callable[[str, str], None]) -> None:
    committed = (ROOT / "docs" / "formulas.md").read_text()
    assert committed == sheet_markdown(), (
        "docs/formulas.md is out of date: run `symconv formulas -o docs/formulas.md`"
    )
    names = [e.name for e in entries()]
    assert "window_out" in names and "conv_params" in names
    window_out = entries()[names.index("window_out")]
    assert window_out.latex == (
        r"\mathrm{window\_out}(n, k, s, p, d) = \left\lfloor\frac{n + 2 p - d \cdot "
        r"\mathopen{}\left( k - 1 \mathclose{}\right) - 1}{s}\right\rfloor + 1"
    )


def test_seed_notes_fragment_matches_golden(golden: Callable[[str, str], None]) -> None:
    body = notes_body(build_notes(symconv.parse((ROOT / "examples" / "seed_conv.net")
                                                .read_text())))
    golden("notes_seed_conv.tex", body[:body.index("\\section{Formula sheet}")])


def test_formula_sheet_as_latex_compiles_on_its_own(pdflatex: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["formulas", "--format", "latex"]) == 0
    sheet = capsys.readouterr().out
    document = ("\\documentclass{article}\\usepackage{amsmath,amssymb,graphicx}\n"
                "\\begin{document}\\sloppy\n" + sheet + "\\end{document}\n")
    _compile(document, tmp_path / "sheet.pdf")
    # (pdftotext reads the OT1 fonts' underscore as a space)
    assert "window out(n, k, s, p, d)" in _text_of(tmp_path / "sheet.pdf")


# Unicode titles with the TeX .ci/run installs (OT1 Computer Modern, no CJK fonts): Latin
# accents are typeset, math symbols become math, anything else shows as its code point;
# nothing is dropped from the .tex, and every title compiles.
@pytest.mark.parametrize(
    ("title", "in_pdf"),
    [
        ("Réseaux convolutifs à la française", ["Réseaux", "française"]),
        ("∑ and ∞ ≤ α·β", ["and", "∞", "≤", "α", "β"]),
        ("卷积网络", ["[U+5377][U+79EF][U+7F51][U+7EDC]"]),
        ("Sieć ąę «Þ» 😀 e\u0301", ["Sie", "[U+0105][U+0119]", "[U+00DE]", "[U+1F600]",
                                   "[U+0301]"]),
        # every Latin-1 and Latin Extended-A character
        (" ".join(map(chr, range(0xA0, 0x180))), ["¡", "Ÿ", "ž", "[U+00D0]"]),
    ],
)
def test_unicode_titles_compile(pdflatex: str, tmp_path: Path, title: str,
                                in_pdf: list[str]) -> None:
    notes = build_notes(symconv.parse("input 3 x 8 x 8\nconv 4 k=3"))
    tex = notes_document(notes, title)
    assert all(c in tex for c in title if c.isprintable())  # nothing dropped from the .tex
    _compile(tex, tmp_path / "t.pdf")
    # (OT1 builds accents over letters: pdftotext reads them decomposed)
    text = unicodedata.normalize("NFC", " ".join(_text_of(tmp_path / "t.pdf").split()[:300]))
    for words in in_pdf:
        assert words in text, (words, text)
