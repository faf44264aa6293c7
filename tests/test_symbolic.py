"""Symbolic results substituted equal numeric results, always: random networks are written
with a symbol in place of every number, traced once symbolically, and the closed forms are
substituted and compared with the numeric trace of the same network with numbers."""

from __future__ import annotations

import random

import pytest
import sympy

import symconv


def random_network(rng: random.Random) -> tuple[str, str, dict[str, int]]:
    """(symbolic text, numeric text, values): the same 2-D network both ways."""
    values: dict[str, int] = {"C0": rng.randint(1, 4), "H": rng.randint(40, 90),
                              "W": rng.randint(40, 90)}
    sym_lines, num_lines = ["input C0 x H x W"], [f"input {values['C0']} x {values['H']} x "
                                                  f"{values['W']}"]
    for i in range(rng.randint(1, 5)):
        kind = rng.choice(["conv", "pool", "convT", "act"])
        if kind == "act":
            sym_lines.append("relu")
            num_lines.append("relu")
            continue
        names = {"k": f"K{i}", "s": f"S{i}", "p": f"P{i}"}
        chosen = {"k": rng.randint(1, 4), "s": rng.randint(1, 2), "p": rng.randint(0, 1)}
        if kind == "pool":
            chosen["k"] = max(chosen["k"], 2 * chosen["p"])
        head = {"conv": f"conv O{i}", "convT": f"convT O{i}", "pool": "maxpool"}[kind]
        extra = ""
        if kind == "convT":
            extra = " op=0"
        if kind == "pool" and rng.random() < 0.5:
            extra = " ceil"
        sym_lines.append(head + "".join(f" {k}={v}" for k, v in names.items()) + extra)
        num_head = head.replace(f"O{i}", str(o := rng.randint(1, 5)))
        values.update({names[k]: chosen[k] for k in names})
        if kind != "pool":
            values[f"O{i}"] = o
        num_lines.append(num_head + "".join(f" {k}={chosen[k]}" for k in names) + extra)
    return "\n".join(sym_lines), "\n".join(num_lines), values


@pytest.mark.parametrize("seed", range(40))
def test_closed_forms_substitute_to_the_numeric_trace(seed: int) -> None:
    sym_text, num_text, values = random_network(random.Random(seed))
    try:
        numeric = symconv.parse(num_text).table()
    except symconv.SymconvError:
        with pytest.raises(symconv.SymconvError):
            symconv.parse(sym_text).table(**values)
        return
    symbolic = symconv.parse(sym_text).table()
    subs = {symconv.symbol(k): v for k, v in values.items()}
    assert len(symbolic) == len(numeric)
    for s, n in zip(symbolic, numeric, strict=True):
        for field in ("params", "neurons", "connections", "macs"):
            assert sympy.sympify(getattr(s, field)).xreplace(subs) == getattr(n, field)
        assert tuple(v.xreplace(subs) for v in s.output_shape) == n.output_shape
