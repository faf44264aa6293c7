"""Networks parsed and evaluated from many threads at once give the single-thread answers.

SymPy's global switches (such as `sympy.evaluate(False)`) are per thread, but its cache is
shared by every thread: an expression built unevaluated in one thread was handed from the
cache to another, whose arithmetic then recursed without end (RecursionError). Every
answer below is computed first in one thread, then by 16 threads started together."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sympy.core.parameters import global_parameters

import symconv
from symconv.engine.receptive import INPUT

NETWORK = """input C x H x W
conv K k=F s=S p=P
relu
maxpool k=2 ceil
repeat N { conv K k=3 s=2 p=1 }
residual { conv K k=3 p=1 }
concat { conv 4 k=1 } { avgpool k=3 s=1 p=1 }
adaptive_avgpool O
flatten
linear 10"""
VALUES = {"C": 3, "H": 64, "W": 48, "K": 8, "F": 3, "S": 1, "P": 1, "N": 2, "O": 3}
SOLVED = "input 3 x W\nconv 8 k=3 s=2 p=1\nmaxpool k=3 s=2 ceil\nconv 8 k=K p=1"
THREADS = 16


def answers() -> list[str]:
    """Everything a user asks of a network, as text, in a fixed order."""
    network = symconv.parse(NETWORK)
    table = network.records()
    path = [tuple(INPUT for _ in network.input_shape[1:]), *(r.fields for r in table)]
    out: list[Any] = [
        network.table(),
        network.output_shape(**VALUES),
        network.table(**VALUES),
        network.evaluator()(**VALUES),
        symconv.closed_forms(path),
        symconv.derive(SOLVED, "all", K=3),
        symconv.solve(SOLVED, "W", 7, K=3),
        symconv.solve(SOLVED, "K", 3, W=31),
        symconv.solve("input 3 x W\nconv 8 k=K s=S p=P", "W", 7),
    ]
    return [str(x) for x in out]


def test_sixteen_threads_give_the_single_thread_answers() -> None:
    expected = answers()
    start = threading.Barrier(THREADS)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            results.append(answers())
        except BaseException as error:  # reported below, with its type
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == THREADS
    assert all(result == expected for result in results)


def test_no_answer_switches_sympys_global_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    """The race's cause, found deterministically: a switch of SymPy's per-thread parameters
    (`evaluate`, `distribute`) clears the shared cache, so none may happen."""
    switched: list[tuple[str, object]] = []
    parameters = type(global_parameters)
    setattr_ = parameters.__setattr__

    def record(self: object, name: str, value: object) -> None:
        switched.append((name, value))
        setattr_(self, name, value)

    monkeypatch.setattr(parameters, "__setattr__", record)
    answers()
    assert switched == []
