"""LaTeX: symconv's SymPy printer, escaping of user text, values and shapes.

The printer extends SymPy's LatexPrinter by type (`_print_floor`, `_print_Symbol`, ...):
floors as \\left\\lfloor … \\right\\rfloor, symbol names as proper math (`W_in` →
W_{\\mathrm{in}}, `alpha` → \\alpha), numbers put in for symbols (`Given`) in the place of
the symbol, and terms ordered the way the formula's arguments are (W - K + 2P, not -K + 2P + W).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from symconv.present.cases import cases
from symconv.present.terms import Given, numeric, powers, term_rank
from symconv.present.text import OrderedTerms, one_fraction

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
    # in TeX's default font encoding (OT1) these print as other glyphs (< as ¡, > as ¿,
    # | as an em dash); ' and ` pair into curly quotes, and `?`/`!` into ¡ and ¿
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "'": r"\textquotesingle{}",
    "`": r"\textasciigrave{}",
}
# Characters that join the next one into a ligature (-- an en dash, ,, a low quote in T1):
# an empty group after each keeps them apart.
_LIGATURE = "-,"
_SPECIAL = re.compile("|".join(re.escape(c) for c in _TEXT_ESCAPES)
                      + f"|[{re.escape(_LIGATURE)}](?=[{re.escape(_LIGATURE)}])")

# What goes between groups of three digits in whole numbers of 10,000 or more ('' for
# nothing): the notes set it (`digit_groups`) so that 46764746 reads 46{,}764{,}746.
DIGIT_GROUPS: ContextVar[str] = ContextVar("digit_groups", default="")


@contextmanager
def digit_groups(separator: str) -> Iterator[None]:
    """Within the block, whole numbers of five digits or more are printed with `separator`
    between groups of three (`{,}` or `\\,`; TeX's own spacing, no package needed)."""
    token = DIGIT_GROUPS.set(separator)
    try:
        yield
    finally:
        DIGIT_GROUPS.reset(token)


# How symbol names are written (None: as they are): the notes set it (`symbol_names`) to
# print the derivations in another notation (symconv.documents.notation), the symbols
# themselves left as they are.
SYMBOL_NAMES: ContextVar[Callable[[str], str] | None] = ContextVar("symbol_names",
                                                                   default=None)


@contextmanager
def symbol_names(rename: Callable[[str], str] | None) -> Iterator[None]:
    """Within the block, every symbol name is printed as `rename` gives it."""
    token = SYMBOL_NAMES.set(rename)
    try:
        yield
    finally:
        SYMBOL_NAMES.reset(token)


def group_digits(digits: str, separator: str) -> str:
    """'46764746' as '46{,}764{,}746' (a sign kept in front; four digits or fewer as they
    are, 4096, as style guides print them)."""
    sign, body = ("-", digits[1:]) if digits.startswith("-") else ("", digits)
    if not separator or len(body) < 5 or not body.isdigit():
        return digits
    head = len(body) % 3 or 3
    groups = [body[:head], *(body[i:i + 3] for i in range(head, len(body), 3))]
    return sign + separator.join(groups)

_GREEK = frozenset((
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi",
    "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi",
    "Psi", "Omega",
))


# Inside math, the characters that \text{} cannot hold in both LaTeX and Jupyter's MathJax
# (which reads no text-mode macros in \text: \_ there shows as \_), each as math that
# shows it in both.
MATH_ESCAPES = {
    "\\": r"\backslash",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\hat{\ }",
    "~": r"\sim",
    "<": "<",
    ">": ">",
    "|": r"\vert",
}


def math_text(text: str) -> str:
    """Text to set inside math (a display that Jupyter's MathJax or LaTeX typesets): runs
    of plain characters as \text{…}, each special character as the math that shows it,
    control characters dropped."""
    printable = "".join(c for c in text if c.isprintable() or c == " ")
    parts = re.split(f"([{re.escape(''.join(MATH_ESCAPES))}])", printable)
    return "".join(("{" + MATH_ESCAPES[part] + "}" if i % 2 else r"\text{" + part + "}")
                   for i, part in enumerate(parts) if part)


def escape_text(text: str) -> str:
    """Text that TeX typesets as it is: special characters are escaped, control characters
    dropped, so user-provided names can neither break nor inject into a document."""
    printable = "".join(c for c in text if c.isprintable() or c == " ")
    return _SPECIAL.sub(lambda m: _TEXT_ESCAPES.get(m.group(0), m.group(0) + "{}"),
                        printable)


def name_latex(name: str) -> str:
    """A symbol name as math: `W_in` → W_{\\mathrm{in}}, `alpha` → \\alpha, `K_1,H` → K_{1,H},
    `width` → \\mathrm{width}; renamed first where `symbol_names` says so."""
    rename = SYMBOL_NAMES.get()
    if rename is not None:
        name = rename(name)
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
    # in math a ' is a prime (a notation's renamed letter, k'), not a quote to escape
    return r"\mathrm{" + escape_text(word).replace(r"\textquotesingle{}", "'") + "}"


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
        numerator = powers([a for a in args if not _reciprocal(a) and not _fraction(a)])
        denominator = [sympy.Pow(a.base, -a.exp) for a in args if _reciprocal(a)]
        for a in filter(_fraction, args):  # H_0/2, not 1/2 H_0
            numerator += [sympy.Integer(a.p)] if a.p != 1 else []
            denominator.append(sympy.Integer(a.q))
        if denominator:
            return (r"\frac{" + self._product(numerator or [sympy.S.One]) + "}{"
                    + self._product(denominator) + "}")
        return self._product(numerator)

    def _product(self, factors: list[sympy.Basic]) -> str:
        """Factors in the formula's order, numbers first; side by side (2 P_1,
        D_1 \\left(K_1 - 1\\right)) except where two printed factors could read as one
        number: a dot before a factor that begins with a digit (2 \\cdot 2,
        2 \\cdot 2^{N}), after a number put in for a symbol (1 \\cdot S, never 1S) and
        between a number and a parenthesised sum (2 \\cdot \\left(3 + 4\\right))."""
        order = self._settings["arg_order"]
        # as the text form writes them: SymPy's order where no formula gives one
        written = factors if order else sorted(factors, key=sympy.default_sort_key)
        ordered = sorted(written, key=lambda a: (not a.is_Number, term_rank(a, order)))
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
                dot = (_leads_with_digit(factor)
                       or (isinstance(previous, Given) and numeric(previous))
                       or (numeric(previous) and bracketed))
                tex += r" \cdot " if dot else " "
            tex += piece
            previous = factor
        return tex

    def _print_Integer(self, expr: sympy.Integer) -> str:
        return group_digits(str(expr.p), DIGIT_GROUPS.get())

    def _print_int(self, expr: int) -> str:
        return group_digits(str(expr), DIGIT_GROUPS.get())

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

    # An unbounded end of a solution's interval (SymPy's own printer would be reached
    # through the class name here, as \text{Infinity}).
    def _print_Infinity(self, expr: sympy.Basic) -> str:
        return r"\infty"

    def _print_NegativeInfinity(self, expr: sympy.Basic) -> str:
        return r"-\infty"

    def _print_Mod(self, expr: sympy.Mod, exp: Any = None) -> str:
        """(W + 2P - K) mod S, terms with a plus sign first, as the text form writes it."""
        a, b = expr.args
        if a.is_Add:
            terms = sorted(self._as_ordered_terms(a), key=lambda t: t.could_extract_minus_sign())
            shown = self._print(terms[0])
            for t in terms[1:]:
                shown += (f" - {self.parenthesize(-t, PRECEDENCE['Add'])}"
                          if t.could_extract_minus_sign()
                          else f" + {self.parenthesize(t, PRECEDENCE['Add'])}")
            shown = f"\\left({shown}\\right)"
        else:  # (-W) mod 2, not -W mod 2
            shown = self._print(a) if a.is_Atom else f"\\left({self._print(a)}\\right)"
        tex = f"{shown} \\bmod {self.parenthesize(b, PRECEDENCE['Mul'])}"
        return f"\\left({tex}\\right)^{{{exp}}}" if exp is not None else tex

    def _print_floor(self, expr: sympy.Basic, exp: Any = None) -> str:
        return self._bracket(r"\left\lfloor ", r" \right\rfloor", expr, exp)

    def _print_ceiling(self, expr: sympy.Basic, exp: Any = None) -> str:
        return self._bracket(r"\left\lceil ", r" \right\rceil", expr, exp)

    def _bracket(self, left: str, right: str, expr: sympy.Basic, exp: Any) -> str:
        """The rounded argument as one fraction, never a sum of fractions."""
        joined = one_fraction(expr.args[0])
        inner = (self._print(expr.args[0]) if joined is None else
                 r"\frac{" + self._print(joined[0]) + "}{" + self._print(joined[1]) + "}")
        tex = left + str(inner) + right
        return f"{tex}^{{{exp}}}" if exp is not None else tex


    # Conditions, in words: S = 1, K < P + S, a and b.
    def _print_And(self, expr: sympy.Basic) -> str:
        return self._connect(r" \text{ and } ", expr)

    def _print_Or(self, expr: sympy.Basic) -> str:
        return self._connect(r" \text{ or } ", expr)

    def _print_ITE(self, expr: sympy.Basic) -> str:
        return str(self._print(expr.to_nnf()))

    def _connect(self, word: str, expr: sympy.Basic) -> str:
        args = sorted(expr.args, key=sympy.default_sort_key)
        return word.join(rf"\left({self._print(a)}\right)" if isinstance(a, sympy.And | sympy.Or)
                         else str(self._print(a)) for a in args)

    def _print_Piecewise(self, expr: sympy.Piecewise) -> str:
        """The cases (symconv.render.cases), each with its condition in words."""
        top = self._print_level <= 1  # latex() has put the checked cases outside
        rows = [f"{self._print(value)} & " + (r"\text{otherwise}" if condition == sympy.true
                                              else rf"\text{{for }} {self._print(condition)}")
                for value, condition in (expr.args if top else cases(expr))]
        tex = r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"
        return tex if top else rf"\left({tex}\right)"


def _leads_with_digit(expr: sympy.Basic) -> bool:
    """Whether the factor's printed form begins with a digit: a number (put in or not), a
    power of one (2^{N}), or a number's value put in whose form begins with a digit."""
    if numeric(expr):
        return True
    if isinstance(expr, sympy.Pow):
        return _leads_with_digit(expr.base) and not bool(expr.exp.is_negative)
    if isinstance(expr, Given) and not expr.by_name and expr.value.is_Pow:
        return _leads_with_digit(expr.value)
    return False


def _fraction(expr: sympy.Basic) -> bool:
    return isinstance(expr, sympy.Rational) and not expr.is_Integer


def _reciprocal(expr: sympy.Basic) -> bool:
    return isinstance(expr, sympy.Pow) and bool(expr.exp.is_negative)


def latex(expr: object, order: Sequence[str] = ()) -> str:
    """The expression in symconv's notation; `order` lists symbol names in the order the
    formula takes them, to order terms and factors the same way."""
    printer = SymconvLatexPrinter({"arg_order": tuple(order)})
    e = sympy.sympify(expr, strict=True)
    if isinstance(e, sympy.Expr) and e.has(sympy.Piecewise):
        e = sympy.Piecewise(*cases(e), evaluate=False)  # the cases outside, checked
    return str(printer.doprint(e))
