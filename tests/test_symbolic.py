"""Symbolic results substituted equal numeric results, always: random networks are written
with a symbol in place of every number, traced once symbolically, and the closed forms are
substituted and compared with the numeric trace of the same network with numbers."""

from __future__ import annotations

import random
import re

import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

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


# ---------------------------------------------------------------- nested symbolic blocks
# Every closed form a rewrite produces (nested roundings merged, a repeat N in closed form,
# the receptive field over N passes) must equal the trace of the same network with the
# numbers written in before tracing: a rewrite whose premise is not proven (a ceiling folded
# over a divisor of unknown sign) shows up as a disagreement at some point.

_NAME = re.compile(r"\b[A-Z][A-Za-z0-9_]*\b")


@st.composite
def nested_networks(draw: st.DrawFn) -> tuple[str, dict[str, tuple[int, int]]]:
    """(text with symbols, {symbol: range of its values}): a 1-D network of 3 channels with
    symbolic repeats (nested too), residuals, concatenations and windows whose kernel,
    stride and padding are symbols or numbers."""
    ranges: dict[str, tuple[int, int]] = {"W": (1, 90)}
    counter = iter(range(100))

    def value(kind: str, low: int, high: int) -> str:
        if draw(st.booleans()):
            return str(draw(st.integers(low - (kind == "P"), high)))
        name = f"{kind}{next(counter)}"
        ranges[name] = (low, high)
        return name

    def window() -> str:
        # Symbols are positive integers; a number may also be 0.
        return f"k={value('K', 1, 4)} s={value('S', 1, 3)} p={value('P', 1, 2)}"

    def body(depth: int, size: int) -> list[str]:
        lines: list[str] = []
        for _ in range(draw(st.integers(1, size))):
            kind = draw(st.sampled_from(
                ["conv", "pool", "convT", "relu"] + ["repeat", "residual", "concat"] * (depth > 0)))
            if kind == "conv":
                lines.append(f"conv 3 {window()}")
            elif kind == "pool":
                op = draw(st.sampled_from(["maxpool", "avgpool"]))
                ceil = " ceil" if draw(st.booleans()) else ""
                lines.append(f"{op} {window()}{ceil}")
            elif kind == "convT":
                lines.append(f"convT 3 {window()}")
            elif kind == "relu":
                lines.append("relu")
            elif kind == "repeat":
                count = draw(st.sampled_from(["N", "M"]))
                ranges[count] = (1, 3)
                lines += [f"repeat {count} {{", *body(depth - 1, 2), "}"]
            elif kind == "residual":
                lines += ["residual {", *body(depth - 1, 2), "}"]
                if draw(st.booleans()):  # the shortcut follows the body's brace: } shortcut {
                    lines[-1] = "} shortcut {"
                    lines += [*body(depth - 1, 1), "}"]
            else:
                lines += ["concat {", *body(depth - 1, 2), "} {", *body(depth - 1, 2), "}",
                          "conv 3 k=1"]
        return lines

    return "\n".join(["input 3 x W", *body(2, 3)]), ranges


def _numeric_text(text: str, values: dict[str, int]) -> str:
    return _NAME.sub(lambda m: str(values[m.group()]), text)


def _at(value: object, subs: dict[sympy.Symbol, sympy.Integer]) -> object:
    return sympy.sympify(value).xreplace(subs).doit()


@settings(max_examples=30, deadline=None)
@given(nested_networks(), st.randoms(use_true_random=False))
@example(("input 3 x W\nrepeat N {\nrepeat N {\nconv 3 k=3 s=2 p=1\n}\n}",
          {"W": (1, 90), "N": (1, 3)}), random.Random(0))
@example(("input 3 x W\nconcat {\nconv 3 k=K0 s=S1 p=P2\n} {\nconv 3 k=2 s=1 p=P3\n}\n"
          "conv 3 k=1", {"W": (1, 90), "K0": (1, 4), "S1": (1, 3), "P2": (1, 2),
                         "P3": (1, 2)}), random.Random(0))
def test_nested_closed_forms_equal_the_numeric_trace(
    case: tuple[str, dict[str, tuple[int, int]]], rng: random.Random
) -> None:
    text, ranges = case
    network = symconv.parse(text)
    try:
        records = network.records()
    except symconv.SymconvError:
        return  # refused (no closed form, or invalid for every value): never wrong
    for _ in range(12):
        values = {name: rng.randint(*span) for name, span in ranges.items()}
        try:
            numeric = symconv.parse(_numeric_text(text, values)).records()
        except symconv.SymconvError as refused:
            # Invalid at this point: the symbolic network with the values given refuses too.
            with pytest.raises(symconv.SymconvError):
                network.output_shape(**values)
            assert refused.message
            continue
        subs = {symconv.symbol(k): sympy.Integer(v) for k, v in values.items()}
        at = f"at {values} of\n{text}"
        for s, n in zip(records, numeric, strict=True):
            assert tuple(_at(v, subs) for v in s.output_shape) == n.output_shape, at
            for name in ("params", "neurons", "connections", "macs"):
                assert _at(getattr(s, name), subs) == getattr(n, name), (name, at)
            for fs, fn in zip(s.fields, n.fields, strict=True):
                assert (_at(fs.size, subs), _at(fs.jump, subs), _at(fs.start, subs)) == (
                    fn.size, fn.jump, fn.start), ("receptive field", at)
