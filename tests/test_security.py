"""Text is never code: no entry point of symconv evaluates what a user writes as Python.

Three nets for the one class of bug:
- a static walk over symconv/ refuses any sympify without strict=True, and any parse_expr,
  eval or exec outside the two that run code symconv generates itself;
- a guard fails a test where sympify or parse_expr is ever called on a string;
- a payload that would create a file is fed to every entry point (every CLI subcommand and
  option, every source of a description, every public function that takes values): nothing
  is created, and the outcome is a SymconvError (exit 2 with `symconv: error:`).
"""

from __future__ import annotations

import ast
import io
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sympy
import sympy.parsing.sympy_parser

import symconv
from symconv.cli import main
from symconv.commands import COMMANDS
from symconv.solve.design import design_search

PACKAGE = Path(symconv.__file__).parent

# exec of source symconv writes itself from its IR (never from text a user wrote): the
# evaluator's straight-line integer code, and the nn.Sequential of to_torch_code (whose only
# free-form argument, the variable name, must be a Python identifier).
GENERATED_CODE = {("numeric/evaluate.py", "exec"), ("interop/torch_code.py", "exec")}


def _calls() -> Iterator[tuple[str, int, str, ast.Call]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else (
                    func.attr if isinstance(func, ast.Attribute) else "")
                yield str(path.relative_to(PACKAGE)), node.lineno, name, node


def test_every_sympify_is_strict_and_no_text_is_evaluated() -> None:
    found, code_runs = [], set()
    for where, line, name, call in _calls():
        if name in ("sympify", "S"):
            strict = [k for k in call.keywords if k.arg == "strict"]
            if not (strict and isinstance(strict[0].value, ast.Constant)
                    and strict[0].value.value is True):
                found.append(f"{where}:{line}: {name} without strict=True")
        elif name in ("parse_expr", "eval", "exec", "lambdify", "nsimplify"):
            is_method = isinstance(call.func, ast.Attribute) and name == "eval" and not (
                isinstance(call.func.value, ast.Name) and call.func.value.id == "builtins")
            if is_method:
                continue  # torch's module.eval(): the mode, not Python's eval
            if (where, name) in GENERATED_CODE:
                code_runs.add((where, name))
            elif name == "nsimplify" and _float_only(where, line):
                continue
            else:
                found.append(f"{where}:{line}: {name}")
    assert found == []
    assert code_runs == GENERATED_CODE  # the allowance names exactly what exists


def _float_only(where: str, line: int) -> bool:
    """nsimplify (which sympifies text) only on a value known to be a float."""
    text = (PACKAGE / where).read_text(encoding="utf-8").splitlines()
    nearby = "\n".join(text[max(0, line - 4):line])
    return "isinstance(" in nearby and "float" in nearby


def test_the_static_walk_sees_a_bad_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    """The walk is not vacuous: it finds the calls it looks for."""
    names = {name for _, _, name, _ in _calls()}
    assert {"sympify", "exec"} <= names
    strict = [c for _, _, n, c in _calls() if n == "sympify"]
    assert strict and all(any(k.arg == "strict" for k in c.keywords) for c in strict)


# ---------------------------------------------------------------- the guard


@pytest.fixture
def no_text_to_sympy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """sympify and parse_expr, wrapped to record every call with a string."""
    seen: list[str] = []
    module = sys.modules["sympy.core.sympify"]  # sympy.core.sympify is the function too
    original = module.sympify
    parse_expr = sympy.parsing.sympy_parser.parse_expr

    def sympify(a: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(a, str):
            seen.append(f"sympify({a!r})")
        return original(a, *args, **kwargs)

    def parse(s: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(f"parse_expr({s!r})")
        return parse_expr(s, *args, **kwargs)

    monkeypatch.setattr(sympy, "sympify", sympify)
    monkeypatch.setattr(module, "sympify", sympify)
    monkeypatch.setattr(sympy.core, "sympify", sympify)
    monkeypatch.setattr(sympy.parsing.sympy_parser, "parse_expr", parse)
    yield seen
    assert seen == [], "text reached SymPy's parser"


def test_the_guard_catches_text(no_text_to_sympy: list[str]) -> None:
    sympy.sympify("1")
    assert no_text_to_sympy == ["sympify('1')", "parse_expr('1')"]
    no_text_to_sympy.clear()


# ---------------------------------------------------------------- payloads

MARKER = "MARKER"
CODE = f"__import__('pathlib').Path('{MARKER}').touch()"
PAYLOADS = {
    "bare": CODE,
    "double quotes": f'"{CODE}"',
    "single quotes": f"'{CODE}'",
    "sum": f"{CODE}*0+1",
    "quoted sum": f'"{CODE}*0+1"',
}
NET = "input 3 x W x W\nconv 8 k=K p=P\n"
HOLES = {  # a description with {} where the payload goes
    "dropout rate": "input 3 x 8 x 8\ndropout p={}",
    "keyword value": "input 3 x 8 x 8\nconv 8 k={}",
    "padding": "input 3 x 8 x 8\nconv 8 k=3 p={}",
    "positional": "input 3 x 8 x 8\nconv {} k=3",
    "flag": "input 3 x 8 x 8\nconv 8 k=3 bias={}",
    "input line": "input 3 x {} x 8\nrelu",
    "repeat count": "input 3 x 8 x 8\nrepeat {} {{ relu }}",
    "nn.Dropout": "input 3 x 8 x 8\nnn.Dropout({})",
    "nn.Conv2d channels": "input 3 x 8 x 8\nnn.Conv2d(3, {}, 3)",
    "nn.Conv2d padding": "input 3 x 8 x 8\nnn.Conv2d(3, 8, 3, padding={})",
    "nn.Flatten dim": "input 3 x 8 x 8\nnn.Flatten(start_dim={})",
}
NET_COMMANDS = ("table", "check", "rf", "derive", "notes", "solve", "draw")


def test_every_subcommand_is_covered() -> None:
    names = {c.__name__.rsplit(".", 1)[-1] for c in COMMANDS}
    assert names == {*NET_COMMANDS, "formulas", "design"}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse refusing an option's type
        code = int(stop.code or 0)
    return code, capsys.readouterr().err


def _nothing_made(where: Path, allowed: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    assert not (where / MARKER).exists()
    assert set(os.listdir(where)) <= allowed


def _cli_refuses(argv: list[str], where: Path, capsys: pytest.CaptureFixture[str],
                 allowed: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    code, err = _run(argv, capsys)
    _nothing_made(where, allowed)
    assert code == 2, err
    # argparse refuses an option of the wrong type after its usage line, in the same words
    assert err.startswith("symconv: error: ") or (
        err.startswith("usage: symconv ") and re.search(r"^symconv: error: ", err, re.M))


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            no_text_to_sympy: list[str]) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# Every payload with table; one (the quoted one, which the grammar reads as a string) with
# every other subcommand: they all read the description the same way.
DESCRIPTION_CASES = [
    *((command, "double quotes") for command in NET_COMMANDS),
    *(("table", payload) for payload in PAYLOADS if payload != "double quotes"),
]


@pytest.mark.parametrize(("command", "payload"),
                         [(c, PAYLOADS[p]) for c, p in DESCRIPTION_CASES],
                         ids=[f"{c}-{p}" for c, p in DESCRIPTION_CASES])
@pytest.mark.parametrize("hole", HOLES.values(), ids=HOLES.keys())
def test_payload_in_a_description(command: str, hole: str, payload: str, sandbox: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    extra = {"solve": ["--for", "W", "--target", "4"], "draw": ["--layer", "1"]}.get(command, [])
    _cli_refuses([command, "-e", hole.format(payload), *extra], sandbox, capsys)


@pytest.mark.parametrize("hole", HOLES.values(), ids=HOLES.keys())
@pytest.mark.parametrize("how", ["file", "stdin"])
def test_payload_from_a_file_or_stdin(how: str, hole: str, sandbox: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    text = hole.format(PAYLOADS["double quotes"])
    if how == "file":
        (sandbox / "net.txt").write_text(text, encoding="utf-8")
        _cli_refuses(["table", "net.txt"], sandbox, capsys, {"net.txt"})
    else:
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        _cli_refuses(["table", "-"], sandbox, capsys)


OPTIONS = {  # argv with {} for the payload
    "--set": ["table", "-e", NET, "--set", "W={}"],
    "--set name": ["table", "-e", NET, "--set", "{}=3"],
    "--input": ["table", "-e", "conv 8 k=3", "--input", "{}"],
    "--input axis": ["table", "-e", "conv 8 k=3", "--input", "3x{}x8"],
    "--target": ["solve", "-e", NET, "--for", "P", "--target", "{}", "--set", "W=8",
                 "--set", "K=3"],
    "--for": ["solve", "-e", NET, "--for", "{}", "--target", "4"],
    "solve --range": ["solve", "-e", "input 3 x W x W\nconv 8 k=3 s=2", "--aligned",
                      "--range", "{}"],
    "design --kernel": ["design", "--size", "8", "--target", "4", "--kernel", "{}"],
    "design --size": ["design", "--size", "{}", "--target", "4"],
    "rf --unit": ["rf", "-e", "input 3 x 8 x 8\nconv 8 k=3", "--unit", "{},0"],
    "rf --layer": ["rf", "-e", "input 3 x 8 x 8\nconv 8 k=3", "--layer", "{}"],
    "check --sizes": ["check", "-e", NET, "--sizes", "{}"],
    "derive --set": ["derive", "-e", NET, "--set", "K={}"],
    "notes --set": ["notes", "-e", NET, "--set", "P={}"],
    "draw --unit": ["draw", "-e", "input 3 x 8 x 8\nconv 8 k=3", "--layer", "1", "--unit",
                    "{},0"],
    "draw --layers": ["draw", "-e", "input 3 x 8 x 8\nconv 8 k=3", "--layers", "1-{}"],
    "draw --set": ["draw", "-e", NET, "--layer", "1", "--set", "W={}"],
}


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("argv", OPTIONS.values(), ids=OPTIONS.keys())
def test_payload_in_an_option(argv: list[str], payload: str, sandbox: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    _cli_refuses([a.replace("{}", payload) for a in argv], sandbox, capsys)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_payload_as_a_title_is_only_text(payload: str, sandbox: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A title is text to print, so it is accepted, and runs nothing."""
    code, err = _run(["notes", "-e", "input 3 x 8 x 8\nconv 8 k=3", "--title", payload],
                     capsys)
    _nothing_made(sandbox)
    assert code == 0, err


def _network() -> symconv.Network:
    return symconv.parse(NET)


API: dict[str, Callable[[str], object]] = {
    "parse text": lambda p: symconv.parse(p),
    "parse input_shape": lambda p: symconv.parse("conv 8 k=3", p),
    "parse input_shape axis": lambda p: symconv.parse("conv 8 k=3", (3, p, 8)),
    "output_shape": lambda p: _network().output_shape(W=p, K=3, P=0),
    "params": lambda p: _network().params(K=p),
    "totals": lambda p: _network().totals(P=p),
    "table": lambda p: _network().table(W=p),
    "records": lambda p: _network().records(W=p),
    "bind": lambda p: _network().bind({"W": p}),
    "region unit": lambda p: _network().region(1, (p, 0), W=8, K=3, P=0),
    "region layer": lambda p: _network().region(p, (0, 0), W=8, K=3, P=0),  # type: ignore
    "draw layer": lambda p: _network().draw(p, W=8, K=3, P=0),
    "draw unit": lambda p: _network().draw(1, (p, 0), W=8, K=3, P=0),
    "draw layers": lambda p: _network().draw(layers=(1, p), W=8, K=3, P=0),
    "draw value": lambda p: _network().draw(1, W=p, K=3, P=0),
    "evaluator": lambda p: _network().evaluator()(W=p, K=3, P=0),
    "to_torch_code values": lambda p: _network().to_torch_code(W=p, K=3, P=0),
    "to_torch_code name": lambda p: symconv.to_torch_code(
        symconv.parse("input 3 x 8 x 8\nconv 8 k=3"), p),
    "solve network": lambda p: symconv.solve(p, "P", 4),
    "solve unknown": lambda p: symconv.solve(_network(), p, 4, W=8, K=3),
    "solve target": lambda p: symconv.solve(_network(), "P", p, W=8, K=3),
    "solve target axis": lambda p: symconv.solve(_network(), "P", (p, 4), W=8, K=3),
    "solve value": lambda p: symconv.solve(_network(), "P", 4, W=p, K=3),
    "derive network": lambda p: symconv.derive(p),
    "derive value": lambda p: symconv.derive(_network(), W=p),
    "simplify_rounding": lambda p: symconv.simplify_rounding(p),  # type: ignore[arg-type]
    "design size": lambda p: design_search(p, 4),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("call", API.values(), ids=API.keys())
def test_payload_through_the_python_api(call: Callable[[str], object], payload: str,
                                        sandbox: Path) -> None:
    with pytest.raises(symconv.SymconvError):
        call(payload)
    _nothing_made(sandbox)


@pytest.mark.parametrize("hole", HOLES.values(), ids=HOLES.keys())
def test_payload_in_a_description_through_the_api(hole: str, sandbox: Path) -> None:
    for payload in PAYLOADS.values():
        with pytest.raises(symconv.SymconvError):
            symconv.parse(hole.format(payload)).table()
    _nothing_made(sandbox)


def test_the_payload_would_run(sandbox: Path) -> None:
    """The oracle of the tests above: the payload does create the marker when evaluated."""
    eval(CODE)  # the point of this test
    assert (sandbox / MARKER).exists()
    (sandbox / MARKER).unlink()
