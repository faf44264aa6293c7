"""The LaTeX printer and escaping as tables, and the oracle that the LaTeX parses back: the
substituted, worked-out and final lines of every derivation, read with SymPy's LaTeX parser,
equal the engine's own expressions."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy
from sympy.parsing.latex import parse_latex

import symconv
from symconv.algebra.symbols import symbol
from symconv.derive.derivation import derive
from symconv.derive.steps import Given, Step
from symconv.present.latex import escape_text, latex, name_latex

EXAMPLES = Path(__file__).parent.parent / "examples"

# SymPy's lark LaTeX parser takes about 0.1 s a line, so the parse-back oracle reads each
# distinct line once, on networks that together hold every layer kind and quantity.
PARSE_BACK = {
    "seed_conv": (EXAMPLES / "seed_conv.net").read_text(),
    "lenet5": (EXAMPLES / "lenet5.net").read_text(),
    "kinds": "input 4 x 20 x 18\nconv 8 k=3 d=2 groups=2\nconvt 4 k=3 s=2 output_padding=1\n"
             "maxpool k=3 s=2 ceil\nbatchnorm\nconv 6 k=(3, 1) s=(2, 1)\n"
             "adaptive_avgpool (2, 2)\nflatten\nlinear 5",
    "audio": "input 1 x 100\nconv 8 k=5 s=2\navgpool k=2\nflatten\nlinear 3 bias=false",
}


@pytest.mark.parametrize(
    ("name", "tex"),
    [
        ("W", "W"),
        ("W_in", r"W_{\mathrm{in}}"),
        ("W_0", "W_{0}"),
        ("alpha", r"\alpha"),
        ("alpha_1", r"\alpha_{1}"),
        ("Sigma_out", r"\Sigma_{\mathrm{out}}"),
        ("x1", "x_{1}"),
        ("width", r"\mathrm{width}"),
        ("K_1,H", "K_{1,H}"),
        ("C_in_max", r"C_{\mathrm{in},\mathrm{max}}"),
        ("params_12", r"\mathrm{params}_{12}"),
    ],
)
def test_symbol_names_as_math(name: str, tex: str) -> None:
    assert name_latex(name) == tex
    assert latex(sympy.Symbol(name)) == tex


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain words", "plain words"),
        ("a_b", r"a\_b"),
        ("50% & #1", r"50\% \& \#1"),
        ("$x$", r"\$x\$"),
        ("{}", r"\{\}"),
        (r"\input{/etc/passwd}", r"\textbackslash{}input\{/etc/passwd\}"),
        ("^~", r"\textasciicircum{}\textasciitilde{}"),
        ("line\nbreak\x00", "linebreak"),
        ("kernel 1 > stride 3", r"kernel 1 \textgreater{} stride 3"),
        ("a < b | c", r"a \textless{} b \textbar{} c"),
        ("'it' `s`", r"\textquotesingle{}it\textquotesingle{} \textasciigrave{}s\textasciigrave{}"),
        ("a--b, c,,d", "a-{}-b, c,{},d"),
    ],
)
def test_escape_text(text: str, escaped: str) -> None:
    assert escape_text(text) == escaped


# Every printable ASCII character, then each non-alphanumeric one doubled (a pair of some
# forms a ligature: -- an en dash, '' a closing quote, ?` an inverted question mark).
# In groups of eight, so that no line breaks after a hyphen (which pdftotext would join).
_ASCII = "".join(map(chr, range(33, 127)))
_GROUPS = " ".join(_ASCII[i:i + 8] for i in range(0, len(_ASCII), 8))
_PAIRS = " ".join(c * 2 for c in _ASCII if not c.isalnum()) + " ?` !` -- ,, << >>"
# What pdftotext reads for a character TeX's default font (OT1) draws as another glyph that
# still means it: ^ and ~ as accents, " as a closing quote; \_ is drawn as a rule (no text).
_OT1_GLYPHS = {"ˆ": "^", "˜": "~", "”": '"'}


@pytest.mark.parametrize("encoding", ["", r"\usepackage[T1]{fontenc}"])
def test_escaped_text_compiles_to_the_same_characters(pdflatex: str, tmp_path: Path,
                                                      encoding: str) -> None:
    """A note holding every printable ASCII character compiles without error, and the PDF's
    text is the note's text (pdftotext), in TeX's default font encoding and in T1."""
    text = _GROUPS + " " + _PAIRS
    source = (rf"\documentclass{{article}}{encoding}\begin{{document}}\raggedright" + "\n"
              + escape_text(text) + "\n\\end{document}\n")
    (tmp_path / "note.tex").write_text(source, encoding="utf-8")
    run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "note.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    log = (tmp_path / "note.log").read_text(encoding="utf-8", errors="replace")
    assert run.returncode == 0 and "! " not in log, log[-2000:]
    assert "Missing character" not in log
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:  # without poppler: the escapes cover every character TeX treats
        specials = set("\\{}$&#%_^~<>|'`")  # specially or draws as another glyph in OT1
        assert all(escape_text(c) != c for c in specials)
        return
    shown = subprocess.run([pdftotext, "note.pdf", "-"], cwd=tmp_path, capture_output=True,
                           text=True, check=True).stdout
    for glyph, char in _OT1_GLYPHS.items():
        shown = shown.replace(glyph, char)
    expected = text if encoding else text.replace("_", "")
    assert "".join(shown.split()).rstrip("1") == "".join(expected.split())


H, K, S, P, D = (sympy.Symbol(n) for n in ("H_0", "K_1", "S_1", "P_1", "D_1"))


@pytest.mark.parametrize(
    ("expr", "order", "tex"),
    [
        (sympy.floor((H - K + 2 * P) / S) + 1, ("H_0", "K_1", "S_1", "P_1"),
         r"\left\lfloor \frac{H_{0} - K_{1} + 2 P_{1}}{S_{1}} \right\rfloor + 1"),
        (sympy.floor((H - K + 2 * P) / S) + 1, (),
         r"\left\lfloor \frac{H_{0} - K_{1} + 2 P_{1}}{S_{1}} \right\rfloor + 1"),
        (sympy.ceiling(H / 2), (), r"\left\lceil \frac{H_{0}}{2} \right\rceil"),
        (H - D * (K - 1) + 2 * P - 1, ("H_0", "K_1", "S_1", "P_1", "D_1"),
         r"H_{0} - \left(K_{1} - 1\right) D_{1} + 2 P_{1} - 1"),
        (2 * Given("P_1", 2) + Given("H_0", 32), ("H_0", "P_1"), r"32 + 2 \cdot 2"),
        (Given("D_1", 1) * (Given("K_1", 5) - 1), ("K_1", "D_1"),
         r"\left(5 - 1\right) \cdot 1"),
        (Given("H_0", sympy.floor(symbol("H") / 2) + 1) - Given("K_1", 3), ("H_0", "K_1"),
         r"\left(\left\lfloor \frac{H}{2} \right\rfloor + 1\right) - 3"),
        (-H / 2, (), r"- \frac{H_{0}}{2}"),
        (3 * H / 4, (), r"\frac{3 H_{0}}{4}"),
    ],
)
def test_printer(expr: sympy.Expr, order: tuple[str, ...], tex: str) -> None:
    assert latex(expr, order) == tex


@functools.cache
def _parse(tex: str) -> sympy.Expr:
    """SymPy's LaTeX parser (lark backend, no antlr), with the parsed symbols made the
    engine's integer symbols again."""
    parsed = parse_latex(tex, backend="lark")
    return parsed.xreplace({s: symbol(s.name) for s in parsed.free_symbols})


def _read_back(step: Step) -> None:
    substituted = latex(step.substituted, step.order)
    given = step.substituted.atoms(Given)
    numeric = all(g.value.is_Number for g in given)
    if step.substituted.has(sympy.Piecewise):  # ceil-mode pooling: the parser has no cases
        assert _parse(latex(step.value)) == step.value
        return
    readable = all(len(s.name) == 1 for g in given for s in g.value.free_symbols)
    if numeric or (readable and not any(g.by_name for g in given)):
        parsed = _parse(substituted)
        assert parsed == step.value or _agree(parsed, step.value), (substituted, step.value)
    for line in step.simplified:
        assert _parse(latex(line, step.order)) == step.value, (line, step.value)
    if numeric:
        assert _parse(latex(step.value)) == step.value


def _agree(a: sympy.Expr, b: sympy.Expr) -> bool:
    names = sorted(a.free_symbols | b.free_symbols, key=str)
    points = ({x: 5 + (7 * seed + 3 * i) % 40 for i, x in enumerate(names)}
              for seed in range(30))
    return all(a.xreplace(p) == b.xreplace(p) for p in points)


@pytest.mark.parametrize("name", sorted(PARSE_BACK))
def test_latex_parses_back_to_the_engines_expressions(name: str) -> None:
    steps = derive(PARSE_BACK[name]).steps
    assert steps
    for step in steps:
        _read_back(step)


def test_symbolic_lines_parse_back() -> None:
    network = symconv.parse("input C x H x W\nconv K k=F s=S p=P\nmaxpool k=2 s=2")
    for step in derive(network).steps:
        _read_back(step)
    (h1,) = [s for s in derive(network, "shape").steps if s.target.name == "H_1"]
    H_, F_, S_, P_ = (symbol(n) for n in "HFSP")
    assert _parse(latex(h1.substituted, h1.order)) == sympy.floor((H_ - F_ + 2 * P_) / S_) + 1


def test_parser_reads_the_floor_as_written() -> None:
    """The parse-back oracle relies on the parser knowing \\left\\lfloor … \\right\\rfloor."""
    assert _parse(r"\left\lfloor \frac{32 - 5 + 2 \cdot 2}{1} \right\rfloor + 1") == 32
    assert _parse(r"\left\lfloor \frac{215}{4} \right\rfloor + 1") == 54
    assert _parse(r"\left(3 \cdot 5 \cdot 5 + 1\right) \cdot 10") == 760


@pytest.mark.parametrize("description", [
    "input 8 x 8 x 8\nchannels_last { layernorm 8, linear 16, gelu }",  # a kind with _
    "input 3 x 8 x 8\nmaxpool k=3 s=2 ceil_mode=True",  # a step with a note
])
def test_the_math_display_sets_text_that_mathjax_reads(description: str) -> None:
    """Jupyter's MathJax shows \\text{a\\_b} with its backslash: the one-block display sets
    every title and note in math (math_text), never an escape inside \\text."""
    shown = symconv.derive(symconv.parse(description))._repr_latex_()
    groups = re.findall(r"\\text\{([^{}]*)\}", shown)
    assert groups and not [g for g in groups if "\\" in g]
