"""LaTeX: symconv's SymPy printer, escaping of user text, and derivations as aligned blocks.

The printer extends SymPy's LatexPrinter by type (`_print_floor`, `_print_Symbol`, ...):
floors as \\left\\lfloor … \\right\\rfloor, symbol names as proper math (`W_in` →
W_{\\mathrm{in}}, `alpha` → \\alpha), numbers put in for symbols (`Given`) in the place of
the symbol, and terms ordered the way the formula's arguments are (W - K + 2P, not -K + 2P + W).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

import sympy
from sympy.printing.latex import LatexPrinter

from symconv.derive import Derivation, LayerDerivation
from symconv.network import LayerRecord, Network
from symconv.render.text import OrderedTerms
from symconv.steps import Given, Step, numeric, term_rank

# The characters that mean something to TeX, and what stands for each in running text.
_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
}
_SPECIAL = re.compile("|".join(re.escape(c) for c in _TEXT_ESCAPES))

_GREEK = frozenset((
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi",
    "Psi", "Omega",
))


def escape_text(text: str) -> str:
    """Text that TeX typesets as it is: special characters are escaped, control characters
    dropped, so user-provided names can neither break nor inject into a document."""
    printable = "".join(c for c in text if c.isprintable() or c == " ")
    return _SPECIAL.sub(lambda m: _TEXT_ESCAPES[m.group(0)], printable)


def name_latex(name: str) -> str:
    """A symbol name as math: `W_in` → W_{\\mathrm{in}}, `alpha` → \\alpha, `K_1,H` → K_{1,H},
    `width` → \\mathrm{width}."""
    base, _, sub = name.partition("_")
    tex = _word(base)
    if sub:
        parts = [_word(p) for p in re.split(r"[_,]", sub) if p]
        tex += "_{" + ",".join(parts) + "}"
    return tex


def _word(word: str) -> str:
    if word in _GREEK:
        return "\\" + word
    if re.fullmatch(r"[A-Za-z]|[0-9]+", word):
        return word
    match = re.fullmatch(r"([A-Za-z])([0-9]+)", word)  # x1 → x_{1}
    if match:
        return f"{match.group(1)}_{{{match.group(2)}}}"
    return r"\mathrm{" + escape_text(word) + "}"


class SymconvLatexPrinter(OrderedTerms, LatexPrinter):
    """SymPy's LaTeX printer with symconv's notation (see the module docstring)."""

    printmethod = "_symconv_latex"
    _default_settings: ClassVar[dict[str, Any]] = {
        **LatexPrinter._default_settings,
        "mul_symbol": None,
        "arg_order": (),  # symbol names in the formula's argument order
    }

    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Any]:
        return self.ordered_terms(expr, list(super()._as_ordered_terms(expr, order)))

    def _print_Mul(self, expr: sympy.Mul) -> str:
        if expr.could_extract_minus_sign():
            rest = -expr
            tex = self._print(rest)
            return f"- \\left({tex}\\right)" if rest.is_Add else f"- {tex}"
        # SymPy's _print_Pow hands a reciprocal (1/S) here as it is: one factor, not a Mul
        args = expr.args if isinstance(expr, sympy.Mul) else (expr,)
        numerator = [a for a in args if not _reciprocal(a) and not _fraction(a)]
        denominator = [sympy.Pow(a.base, -a.exp) for a in args if _reciprocal(a)]
        for a in filter(_fraction, args):  # H_0/2, not 1/2 H_0
            numerator += [sympy.Integer(a.p)] if a.p != 1 else []
            denominator.append(sympy.Integer(a.q))
        if denominator:
            return (r"\frac{" + self._product(numerator or [sympy.S.One]) + "}{"
                    + self._product(denominator) + "}")
        return self._product(numerator)

    def _product(self, factors: list[sympy.Basic]) -> str:
        """Factors in the formula's order, numbers first; a dot between numbers, side by
        side otherwise (2 P_1, 2 \\cdot 2, D_1 \\left(K_1 - 1\\right))."""
        order = self._settings["arg_order"]
        ordered = sorted(factors, key=lambda a: (not a.is_Number, term_rank(a, order)))
        if len(ordered) == 1:
            return str(self._print(ordered[0]))
        tex = ""
        previous: sympy.Basic | None = None
        for factor in ordered:
            piece = str(self._print(factor))
            bracketed = self._needs_mul_brackets(factor, first=previous is None, last=False)
            if bracketed:
                piece = rf"\left({piece}\right)"
            if previous is not None:
                # 2 P and 2 \left(…\right) for a coefficient; a dot after a number put in
                # for a symbol, so that 1 \cdot S never reads as 1S
                dot = (numeric(factor) or (isinstance(previous, Given) and numeric(previous))
                       or (numeric(previous) and bracketed))
                tex += r" \cdot " if dot else " "
            tex += piece
            previous = factor
        return tex

    def _print_Given(self, expr: Given) -> str:
        if expr.by_name:
            return name_latex(expr.name)
        value = sympy.sympify(expr.value, strict=True)
        tex = str(self._print(value))
        if value.is_Atom and not (value.is_Number and value < 0):
            return tex
        if isinstance(value, sympy.Function):
            return tex
        return rf"\left({tex}\right)"

    def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str:
        return name_latex(expr.name)

    def _print_floor(self, expr: sympy.Basic, exp: Any = None) -> str:
        return self._bracket(r"\left\lfloor ", r" \right\rfloor", expr, exp)

    def _print_ceiling(self, expr: sympy.Basic, exp: Any = None) -> str:
        return self._bracket(r"\left\lceil ", r" \right\rceil", expr, exp)

    def _bracket(self, left: str, right: str, expr: sympy.Basic, exp: Any) -> str:
        tex = left + str(self._print(expr.args[0])) + right
        return f"{tex}^{{{exp}}}" if exp is not None else tex


def _fraction(expr: sympy.Basic) -> bool:
    return isinstance(expr, sympy.Rational) and not expr.is_Integer


def _reciprocal(expr: sympy.Basic) -> bool:
    return isinstance(expr, sympy.Pow) and bool(expr.exp.is_negative)


def latex(expr: object, order: Sequence[str] = ()) -> str:
    """The expression in symconv's notation; `order` lists symbol names in the order the
    formula takes them, to order terms and factors the same way."""
    printer = SymconvLatexPrinter({"arg_order": tuple(order)})
    return str(printer.doprint(sympy.sympify(expr, strict=True)))


# ---------------------------------------------------------------- derivations


def step_lines(step: Step) -> list[str]:
    """The right-hand sides of a step, each written once (a line equal to the one before it
    is dropped)."""
    lines: list[str] = []
    for expr in step.lines():
        tex = latex(expr, step.order)
        if not lines or lines[-1] != tex:
            lines.append(tex)
    return lines


def step_latex(step: Step, fit: str | None = None) -> str:
    """The rows of an aligned block: `target &= line` and then `&= line` for the rest.
    With `fit`, each right-hand side is wrapped in that macro (which scales what is too wide
    to the line)."""
    rows = []
    for i, line in enumerate(step_lines(step)):
        body = f"{fit}{{{line}}}" if fit else line
        lhs = latex(step.target) if i == 0 else ""
        rows.append(f"{lhs} &= {body}")
    return " \\\\\n".join(rows)


def layer_heading(layer: LayerDerivation) -> str:
    """'Layer 3: maxpool2d' as text-mode LaTeX (escaped)."""
    return escape_text(layer.title)


def input_sizes(derivation: Derivation) -> str:
    """'$C_{0} = 3$, $H_{0} = 32$, ...': the input's sizes as inline math."""
    return ", ".join(f"${latex(s.target)} = {latex(s.value)}$" for s in derivation.inputs)


def derivation_latex(derivation: Derivation) -> str:
    """The input sizes, then one aligned block per layer, each introduced by its heading
    (amsmath's align*)."""
    parts = [f"Input sizes: {input_sizes(derivation)}.\n"]
    for layer in derivation.layers:
        parts.append(f"\\paragraph{{{layer_heading(layer)}}}")
        if not layer.steps:
            continue
        rows = " \\\\\n".join(step_latex(s) for s in layer.steps)
        parts.append("\\begin{align*}\n" + rows + "\n\\end{align*}\n")
    return "\n".join(parts)


def derivation_math(derivation: Derivation) -> str:
    """The whole derivation as one display-math block (for Jupyter's `_repr_latex_`)."""
    rows = []
    for layer in derivation.layers:
        rows.append(r"&\text{" + layer_heading(layer) + "}")
        rows.extend(step_latex(s) for s in layer.steps)
    return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"


# ---------------------------------------------------------------- tables


def table_math(network: Network, records: Sequence[LayerRecord]) -> str:
    """The per-layer table as one display-math array (what Jupyter's MathJax can show)."""
    from symconv.render.table import COLUMNS, params_latex, unused_note

    def row(cells: Sequence[str]) -> str:
        return " & ".join(cells) + r" \\"

    input_shape = records[0].input_shape if records else network.input_shape
    lines = [r"$$\begin{array}{rllrrrr}",
             row([r"\text{" + escape_text(c) + "}" for c in COLUMNS]), r"\hline",
             row(["", r"\text{input}", shape_latex(input_shape), "", "", "", ""])]
    for r in records:
        lines.append(row([str(r.index), r"\text{" + escape_text(r.kind) + "}",
                          shape_latex(r.output_shape),
                          params_latex(r).replace(r"\textit", r"\text"),
                          *(latex(v) for v in (r.neurons, r.connections, r.macs))]))
    totals = [latex(sum((getattr(r, f) for r in records), sympy.Integer(0)))
              for f in ("params", "neurons", "connections", "macs")]
    lines += [r"\hline", row(["", r"\text{total}", "", *totals]), r"\end{array}$$"]
    lines += [escape_text(unused_note(u)) for u in network.unused_parameters]
    return "\n".join(lines)


def shape_latex(shape: Sequence[object]) -> str:
    """C × H × W, a sum in parentheses so that × binds as it reads."""
    return r" \times ".join(
        rf"\left({latex(v)}\right)" if sympy.sympify(v, strict=True).is_Add else latex(v)
        for v in shape
    )
