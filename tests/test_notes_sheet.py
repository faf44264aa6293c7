"""The notes' formula sheet: each entry is the function it was generated from (evaluated at
random points), in the derivations' notation, with no Python helper left; the closed forms
of the receptive field equal the engine's."""

from __future__ import annotations

import ast
import inspect
import math
import random
import re
from collections.abc import Callable
from typing import Any

import pytest
import sympy

from symconv.documents.notes_sheet import (
    SHEET,
    closed_forms,
    formula_latex,
    rewritten,
    sheet_entries,
)
from symconv.engine import receptive

ENTRIES = [item for _, items in SHEET for item in items]


def _run(tree: ast.Module, args: dict[str, Any]) -> Any:
    """A small interpreter for the arithmetic the sheet shows (no eval): names, numbers,
    + - * / //, math.ceil, max, tuples, assignments and if-expressions."""
    env = dict(args)

    def value(node: ast.expr) -> Any:
        match node:
            case ast.Constant(value=v):
                return v
            case ast.Name(id=name):
                return env[name]
            case ast.Tuple(elts=elts):
                return tuple(value(e) for e in elts)
            case ast.BinOp(left=a, op=op, right=b):
                x, y = value(a), value(b)
                ops: dict[type, Callable[[Any, Any], Any]] = {
                    ast.Add: lambda p, q: p + q, ast.Sub: lambda p, q: p - q,
                    ast.Mult: lambda p, q: p * q, ast.Div: lambda p, q: sympy.Rational(p, q),
                    ast.FloorDiv: lambda p, q: p // q}
                return ops[type(op)](x, y)
            case ast.Call(func=ast.Attribute(attr="ceil"), args=[a]):
                return math.ceil(value(a))
            case ast.Call(func=ast.Name(id="max"), args=args_):
                return max(value(a) for a in args_)
            case ast.IfExp(test=t, body=b, orelse=o):
                return value(b) if value(t) else value(o)
        raise AssertionError(f"the sheet shows something that is not arithmetic: {ast.dump(node)}")

    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    for statement in function.body:
        if isinstance(statement, ast.Assign):
            target = statement.targets[0]
            assert isinstance(target, ast.Name)
            env[target.id] = value(statement.value)
        elif isinstance(statement, ast.Return):
            assert statement.value is not None
            return value(statement.value)
    raise AssertionError("no return")


def _point(fn: Callable[..., Any], rng: random.Random) -> dict[str, Any]:
    args = {}
    for name in inspect.signature(fn).parameters:
        args[name] = (rng.choice([True, False]) if name in ("bias", "affine")
                      else rng.randint(1, 6) if name in ("k", "s", "d", "groups")
                      else rng.randint(0, 3) if name in ("p", "op")
                      else rng.randint(1, 40))
    if "groups" in args:  # the channels a group count divides
        for name in ("c_in", "c_out"):
            if name in args:
                args[name] = args["groups"] * rng.randint(1, 8)
    if "j" in args and "s" in args:  # a transposed convolution's jump divides by its stride
        args["j"] = args["s"] * rng.randint(1, 4)
    return args


@pytest.mark.parametrize("item", ENTRIES, ids=[e.function.__name__ for e in ENTRIES])
def test_each_entry_is_the_function_it_came_from(item: Any) -> None:
    """Oracle: the rewritten source (helpers as mathematics, inner formulas put in) computes
    what the function computes, at 200 random points."""
    rng = random.Random(11)
    tree = rewritten(item.function)
    for _ in range(200):
        args = _point(item.function, rng)
        expected = item.function(**args)
        shown = _run(tree, {k: int(v) if isinstance(v, bool) and k == "bias" else v
                            for k, v in args.items()})
        assert sympy.sympify(shown) == sympy.sympify(expected) if not isinstance(expected, tuple) \
            else tuple(map(sympy.sympify, shown)) == tuple(map(sympy.sympify, expected)), args


ALLOWED_WORDS = {"params", "macs", "affine", "if", "otherwise", "total", "before", "after"}


@pytest.mark.parametrize("item", ENTRIES, ids=[e.function.__name__ for e in ENTRIES])
def test_no_python_helper_or_name_appears(item: Any) -> None:
    tex = f"{item.target} = {formula_latex(item.function)}"
    for helper in ("select", "either", "exact", "ceil\\_div", "maximum", "int", "zq", "\\_",
                   "ratio", "effective", "tf\\_", "window"):
        assert helper not in tex, (helper, tex)
    words = set(re.findall(r"\\mathrm\{([^}]*)\}", tex))
    assert words <= ALLOWED_WORDS, words


@pytest.mark.parametrize(
    ("name", "names"),
    [("window_out", ["H_{l-1}", "K_l", "S_l", "P_l", "D_l"]),
     ("transposed_out", ["H_{l-1}", "K_l", "S_l", "P_l", "D_l", "O_l"]),
     ("conv_params", ["C_{l-1}", "C_l", "K_{l,H} K_{l,W}", "G_l", "b_l"]),
     ("linear_params", ["F_{l-1}", "F_l", "b_l"]),
     ("_window_field", ["R_{l-1}", "J_{l-1}", "K_l", "D_l"])],
)
def test_arguments_are_named_as_the_derivations_name_them(name: str, names: list[str]) -> None:
    item = next(e for e in ENTRIES if e.function.__name__ == name)
    tex = formula_latex(item.function)
    for n in names:
        assert "{" + n + "}" in tex, (n, tex)


def test_the_sheet_has_every_quantity_the_issue_lists() -> None:
    words = " ".join(w for _, rows in sheet_entries() for w, _ in rows)
    for needed in ("Convolution, dilated", "Ceil-mode pooling", "Transposed convolution, output "
                   "padding", "PyTorch's padding=`same'", "TensorFlow's padding=`SAME'",
                   "After a convolution or pooling", "The jump", "Receptive field after L",
                   "Fully connected", "Multiply-adds of a convolution"):
        assert needed in words, needed


@pytest.mark.parametrize("seed", range(20))
def test_closed_forms_equal_the_engines(seed: int) -> None:
    """Oracle: the sum and product of the sheet, evaluated for random chains of windows,
    are receptive.closed_form's receptive field and stride."""
    rng = random.Random(seed)
    depth = rng.randint(1, 5)
    k = [rng.randint(1, 7) for _ in range(depth)]
    s = [rng.randint(1, 3) for _ in range(depth)]
    d = [rng.randint(1, 3) for _ in range(depth)]
    stages = [receptive.Stage(di * (ki - 1) + 1, si, 0) for ki, si, di in zip(k, s, d, strict=True)]
    engine = receptive.closed_form(stages)
    (_, _, field), (_, _, jump) = closed_forms()
    values = {sympy.Symbol("L", integer=True, positive=True): depth}

    def put(expr: sympy.Expr) -> sympy.Expr:
        done = expr.subs(values).doit()
        for name, seq in (("K", k), ("S", s), ("D", d)):
            base = sympy.IndexedBase(name)
            done = done.subs({base[i + 1]: v for i, v in enumerate(seq)})
        return sympy.sympify(done)

    assert put(field) == engine.receptive_field
    assert put(jump) == engine.stride
