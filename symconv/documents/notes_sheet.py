"""The notes' formula sheet: the quantity functions of `symconv.formulas` (and the
receptive-field recursion the derivations call) written out by latexify-py, in the notation
the derivations use (H_{l-1}, K_l, S_l, P_l, D_l, ...), never a Python helper.

Each function's source is read by latexify's parser and rewritten before its code generator
runs: a call of another formula function is replaced by that function's expression (so
`conv_weights_per_filter`, `effective_kernel` and `tf_same_out` appear as the arithmetic they
are), and the integer helpers by the mathematics they implement (`exact_div(a, b)` → a/b,
`ceil_div(a, b)` → ⌈a/b⌉, `maximum` → max, `int(bias)` → b). Arguments and local names are
replaced by placeholders that the finished LaTeX swaps for the derivations' names. The
closed forms of the receptive field are sums and products, which no formula function is:
they are SymPy expressions, checked against `receptive.closed_form` in the tests.
"""

from __future__ import annotations

import ast
import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import sympy
from latexify import codegen, parser, transformers

from symconv.engine import formulas as f
from symconv.engine import receptive


def _window_field(r: Any, d: Any, k: Any, j: Any) -> Any:
    """The receptive field after a window layer (symconv.derive writes it so)."""
    return receptive.field_size(r, j, f.effective_kernel(k, d))


def _transposed_field(r: Any, d: Any, k: Any, j: Any, s: Any) -> Any:
    """The receptive field after a transposed convolution: the jump divided by the stride."""
    return receptive.field_size(r, receptive.ratio(j, s), f.effective_kernel(k, d))


# The names the derivations give each argument (symconv.derive): layer l reads layer l - 1.
N = "H_{l-1}"
NAMES = {"n": N, "k": "K_l", "s": "S_l", "p": "P_l", "d": "D_l", "op": "O_l",
         "c_in": "C_{l-1}", "c_out": "C_l", "kernel_volume": r"K_{l,H} K_{l,W}",
         "groups": "G_l", "bias": "b_l", "f_in": "F_{l-1}", "f_out": "F_l",
         "channels": "C_l", "affine": r"\mathrm{affine}", "r": "R_{l-1}", "j": "J_{l-1}",
         "neurons": "C_l H_l W_l", "in_elements": "C_{l-1} H_{l-1} W_{l-1}",
         "total": r"P_l^{\mathrm{total}}", "before": r"P_l^{\mathrm{before}}",
         "out": r"H_l^{\lceil\rceil}"}


@dataclass(frozen=True, slots=True)
class Formula:
    """One entry: what it computes (words, LaTeX text written here, never a user's), the
    left-hand side, the function."""

    words: str
    target: str
    function: Callable[..., Any]


SHEET: tuple[tuple[str, tuple[Formula, ...]], ...] = (
    ("Output sizes", (
        Formula("Convolution, dilated or not, and floor-mode pooling", "H_l", f.window_out),
        Formula("Ceil-mode pooling: the division rounded up; one window fewer where the last "
                "would start in the right padding", "H_l^{\\lceil\\rceil}", f.ceil_windows),
        Formula("Transposed convolution, output padding $O_l$", "H_l", f.transposed_out),
        Formula("PyTorch's padding=`same' (stride 1), before and after",
                r"\left(P_l^{\mathrm{before}}, P_l^{\mathrm{after}}\right)", f.same_padding),
        Formula("TensorFlow's padding=`SAME': the output size", "H_l", f.tf_same_out),
        Formula("TensorFlow's padding=`SAME': the padding, before and after",
                r"\left(P_l^{\mathrm{before}}, P_l^{\mathrm{after}}\right)", f.tf_same_padding),
    )),
    ("Receptive field and jump", (
        Formula("After a convolution or pooling", "R_l", _window_field),
        Formula("The jump", "J_l", receptive.field_jump),
        Formula("After a transposed convolution", "R_l", _transposed_field),
    )),
    ("Parameters and multiply-adds", (
        Formula("Convolution ($b_l = 1$ with a bias, 0 without)", r"\mathrm{params}_l",
                f.conv_params),
        Formula("Transposed convolution", r"\mathrm{params}_l", f.transposed_params),
        Formula("Fully connected", r"\mathrm{params}_l", f.linear_params),
        Formula("Batch, group and instance normalisation", r"\mathrm{params}_l",
                f.batchnorm_params),
        Formula("Multiply-adds of a convolution", r"\mathrm{macs}_l", f.conv_macs),
        Formula("Multiply-adds of a transposed convolution", r"\mathrm{macs}_l",
                f.transposed_macs),
    )),
)

# The helpers, each as the mathematics it implements (a function of the call's arguments).
_HELPERS: dict[str, Callable[[list[ast.expr]], ast.expr]] = {
    "exact_div": lambda a: ast.BinOp(a[0], ast.Div(), a[1]),
    "ratio": lambda a: ast.BinOp(a[0], ast.Div(), a[1]),
    "ceil_div": lambda a: ast.Call(ast.Attribute(ast.Name("math", ast.Load()), "ceil",
                                                 ast.Load()),
                                   [ast.BinOp(a[0], ast.Div(), a[1])], []),
    "maximum": lambda a: ast.Call(ast.Name("max", ast.Load()), list(a), []),
    "int": lambda a: a[0],
}


class _Rewrite(ast.NodeTransformer):
    """Helpers become mathematics; calls of formula functions become their expressions;
    x + 1 - 1 (an effective kernel less one) becomes x."""

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.generic_visit(node)  # type: ignore[assignment]
        left = node.left
        if (isinstance(node.op, ast.Sub) and isinstance(left, ast.BinOp)
                and isinstance(left.op, ast.Add) and isinstance(node.right, ast.Constant)
                and isinstance(left.right, ast.Constant)
                and node.right.value == left.right.value):
            return left.left
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        node = self.generic_visit(node)  # type: ignore[assignment]
        name = (node.func.attr if isinstance(node.func, ast.Attribute)
                else node.func.id if isinstance(node.func, ast.Name) else "")
        if name in _HELPERS:
            return _HELPERS[name](list(node.args))
        inner = getattr(f, name, None) or getattr(receptive, name, None)
        if callable(inner) and name != "gcd":
            return _inlined(inner, list(node.args))
        return node


def _inlined(fn: Callable[..., Any], args: list[ast.expr]) -> ast.expr:
    """The expression a one-line function returns, its arguments put in (rewritten too)."""
    body = _function(fn).body
    returns = [s for s in body if isinstance(s, ast.Return)]
    if len(body) - _docstring(body) != 1 or len(returns) != 1 or returns[0].value is None:
        raise ValueError(f"{fn.__name__} is not one expression")
    params = list(inspect.signature(fn).parameters)
    by_name = dict(zip(params, args, strict=True))

    class Put(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> Any:
            return copy.deepcopy(by_name[node.id]) if node.id in by_name else node

    return _Rewrite().visit(Put().visit(copy.deepcopy(returns[0].value)))


def _docstring(body: list[ast.stmt]) -> int:
    first = body[0] if body else None
    return int(isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant))


def _function(fn: Callable[..., Any]) -> ast.FunctionDef:
    tree = parser.parse_function(fn)
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def rewritten(fn: Callable[..., Any]) -> ast.Module:
    """The function's source with its helpers and inner formula calls rewritten."""
    tree = parser.parse_function(fn)
    tree = transformers.DocstringRemover().visit(tree)
    tree = _Rewrite().visit(tree)
    return ast.fix_missing_locations(tree)


@cache
def formula_latex(fn: Callable[..., Any]) -> str:
    """The right-hand side of `fn` in the derivations' notation (an array of lines where
    the function names intermediate values)."""
    tree = rewritten(fn)
    names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} & set(NAMES))
    holders = {name: f"zq{chr(97 + i)}" for i, name in enumerate(names)}
    tree = transformers.IdentifierReplacer(holders).visit(tree)
    if fn is f.same_padding:  # a tuple of two short expressions: one line
        tree = transformers.AssignmentReducer().visit(tree)
    tex = str(codegen.FunctionCodegen(use_signature=False).visit(tree))
    for name, holder in holders.items():
        tex = tex.replace(rf"\mathrm{{{holder}}}", "{" + NAMES[name] + "}")
    return tex.replace(r"\mathrm{max}", r"\max")


def closed_forms() -> list[tuple[str, str, sympy.Expr]]:
    """The receptive field and jump after L window layers from the input, as sums and
    products (Araujo et al.): (words, target, expression)."""
    layer, i, depth = sympy.symbols("l i L", integer=True, positive=True)
    k, s, d = (sympy.IndexedBase(name) for name in ("K", "S", "D"))
    jump = sympy.Product(s[i], (i, 1, layer - 1))
    field = 1 + sympy.Sum(d[layer] * (k[layer] - 1) * jump, (layer, 1, depth))
    return [("Receptive field after L window layers", "R_L", field),
            ("Jump after L window layers", "J_L", sympy.Product(s[layer], (layer, 1, depth)))]


def sheet_entries() -> list[tuple[str, list[tuple[str, str]]]]:
    """Per section, (words, display math) of each entry."""
    out = []
    for title, formulas in SHEET:
        out.append((title, [(item.words, f"{item.target} = {formula_latex(item.function)}")
                            for item in formulas]))
    if out:
        closed = [(words, f"{target} = {sympy.latex(expr)}")
                  for words, target, expr in closed_forms()]
        out.insert(2, ("Receptive field in closed form", closed))
    return out


def notes_sheet_latex() -> str:
    """The sheet as the notes print it: each section's entries, words then the formula."""
    lines = []
    for title, rows in sheet_entries():
        lines.append(r"\symconvhead{" + title + "}")
        for words, math in rows:
            lines += [r"\symconvnote{" + words + "}",
                      r"\symconvrow{" + math + "}"]
        lines.append("")
    return "\n".join(lines)


def placeholders_left(tex: str) -> bool:
    """Whether a placeholder escaped the substitution (the tests assert it never does)."""
    return "zq" in tex

