"""symconv's own symbols never read as a user's: every name symconv gives a symbol of its
own (the unit index u of `rf`, the parameter total params of the notes, the size n of a
message, a repeat's summation index i, j, l, the derivations' K_1, H_1, R_1, ..., the
evaluator's _u0) is taken as the name of a user's symbol, and every command that makes
internal symbols (rf, derive, notes, solve, table and its closed forms) is run: no two
different symbols in an answer may print alike (the internal one is primed, or another
name), and the evaluator answers as the trace does."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sympy

import symconv
from symconv.commands.rf import _report
from symconv.derive.steps import Given
from symconv.documents.notes import build_notes, notes_body

INTERNAL = ["u", "n", "params", "i", "j", "l", "i2", "k", "K_1", "H_1", "R_1", "J_1",
            "S_1", "P_2", "params_1", "C_1", "L_1", "W_1", "_u0", "_u1", "x"]


def _network(name: str) -> symconv.Network:
    # the name in a repeat's body (summed over passes), a strided layer and a pooling
    return symconv.parse(f"input 3 x W\nrepeat N {{ conv 3 k=2*{name}+1 s=2 p={name} }}\n"
                         f"conv 4 k={name} s=2\nmaxpool k=2 ceil")


def _symbols(obj: Any) -> Iterator[sympy.Symbol]:
    """Every symbol in an answer, bound ones (a Sum's index) and dummies included (not a
    derivation's number put in for a name, which prints as the number)."""
    if isinstance(obj, sympy.Basic):
        for s in obj.atoms(sympy.Symbol):
            yield from _symbols(s.value) if isinstance(s, Given) else (s,)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _symbols(key)
            yield from _symbols(value)
    elif isinstance(obj, tuple | list):
        for item in obj:
            yield from _symbols(item)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _symbols(getattr(obj, f.name))


def _rf(net: symconv.Network) -> Any:
    records = net.records()
    return _report(net, records, len(records), None)


COMMANDS: dict[str, Callable[[symconv.Network], Any]] = {
    "rf": _rf,
    "derive": lambda net: symconv.derive(net),
    "notes": lambda net: build_notes(net, {}),
    "table": lambda net: net.table(),
    "solve": lambda net: symconv.solve(net, "W", 3, N=2, **{
        s: 1 for s in net.symbols if s not in ("W", "N")}),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("name", INTERNAL)
def test_no_internal_symbol_reads_as_a_users(name: str, command: str) -> None:
    net = _network(name)
    assert name in net.symbols
    answer = COMMANDS[command](net)
    printed: dict[str, set[sympy.Symbol]] = {}
    for s in _symbols(answer):
        printed.setdefault(str(s), set()).add(s)
    alike = {text: group for text, group in printed.items() if len(group) > 1}
    assert not alike, alike
    if command == "notes":
        notes_body(answer)  # renders


@pytest.mark.parametrize("name", INTERNAL)
def test_the_evaluator_answers_as_the_trace_with_any_name(name: str) -> None:
    net = _network(name)
    values = {"W": 64, "N": 2, name: 1}
    fields = ("index", "kind", "output_shape", "params", "neurons", "connections", "macs")
    assert [tuple(getattr(r, f) for f in fields) for r in net.evaluator()(**values)] == [
        tuple(getattr(r, f) for f in fields) for r in net.table(**values)]


@pytest.mark.parametrize(("name", "shown"), [("n", "n'"), ("m", "n")])
def test_a_message_names_its_own_size_apart_from_the_users(name: str, shown: str) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(f"input 3 x W\nrepeat N {{ convt 3 k=2 s=2\nconv 3 k={name} s=3 }}"
                      ).table()
    assert f"(one pass maps L = {shown} to " in str(caught.value)
