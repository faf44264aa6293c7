"""The compact layout of the notes: derivation steps arranged as the rows a lecturer writes.

A step's lines become one row, `H_1 = W_1 = ⌊(224 − 11 + 2·1)/4⌋ + 1 = ⌊215/4⌋ + 1 = 54`:
the axes share a row where their numbers agree, the general formula is shown the first time
the notes use it (not again for every layer), and a line that only divides or multiplies by
one is left out. Rows hold LaTeX strings; every string comes from the steps' SymPy lines
through `symconv.render.latex`, so a row says what the derivation computed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sympy

from symconv.derive.steps import Given, Step, evaluate
from symconv.present.latex import escape_text, latex


@dataclass(frozen=True, slots=True)
class Row:
    """One row: targets that are equal to each other, then right-hand sides, each equal to
    the one before it; `note` is words said before the row (a case of the formula)."""

    targets: tuple[str, ...]
    sides: tuple[str, ...]
    note: str = ""

    @property
    def given(self) -> bool:
        """A value with nothing derived (C_1 = 96)."""
        return len(self.sides) == 1 and len(self.targets) == 1 and not self.note


@dataclass
class Seen:
    """The general formulas the notes have shown so far, by their shape (indices left out),
    so that a formula is written out once, where it is first used."""

    formulas: set[str] = field(default_factory=set)

    def first(self, tex: str) -> bool:
        # H_0 - K_1 and W_3 - K_4 are one formula: subscripts and axis letters left out
        bare = re.sub(r"_\{(?:[^{}]|\{[^{}]*\})*\}", "", tex)
        key = re.sub(r"(?<![A-Za-z\\])[DHWLio](?![A-Za-z])", "X", bare)
        if key in self.formulas:
            return False
        self.formulas.add(key)
        return True


# ---------------------------------------------------------------- lines of one step


def drop_ones(expr: sympy.Basic) -> sympy.Basic:
    """The line with every division by one and multiplication by one taken out: ⌊25/1⌋ + 1
    reads 25 + 1 and 1·4 reads 4 (what is left is the same number)."""
    if not isinstance(expr, sympy.Add | sympy.Mul | sympy.Pow | sympy.floor | sympy.ceiling):
        return expr  # a number or a name put in, or a form (cases) left as it is
    if isinstance(expr, sympy.floor | sympy.ceiling):
        inner = drop_ones(expr.args[0])
        if not isinstance(inner, sympy.floor | sympy.ceiling) and _whole(inner):
            return inner  # the rounding of a division by one rounds nothing
        return type(expr)(inner, evaluate=False)
    args = [drop_ones(a) for a in expr.args]
    if isinstance(expr, sympy.Mul):
        args = [a for a in args if not _one(a)] or [sympy.S.One]
        return args[0] if len(args) == 1 else sympy.Mul(*args, evaluate=False)
    if isinstance(expr, sympy.Pow) and _one(args[0]):
        return sympy.S.One
    return expr.func(*args, evaluate=False)


def _one(expr: sympy.Basic) -> bool:
    return expr == 1 or (isinstance(expr, Given) and expr.value == 1)


def _whole(expr: sympy.Basic) -> bool:
    """A product or sum of numbers put in with no division left: an integer as written."""
    if isinstance(expr, Given):
        return bool(expr.value.is_Integer)
    if isinstance(expr, sympy.Pow):
        return bool(expr.exp.is_nonnegative) and _whole(expr.base)
    if isinstance(expr, sympy.Add | sympy.Mul):
        return all(_whole(a) for a in expr.args)
    return bool(expr.is_Integer)


def step_sides(step: Step) -> tuple[str | None, list[str]]:
    """The general formula (None where the step has none: a value given, or symbols only)
    and the numeric right-hand sides, each written once, lines that only divide or multiply
    by one left out."""
    lines = step.lines()
    numbers = bool(step.substituted.atoms(Given)) and len(lines) > 1
    general = latex(lines[0], step.order) if numbers else None
    rest = lines[1:] if numbers else lines
    texts: list[str] = []
    bare: list[str] = []  # each shown line with its ones taken out
    for i, expr in enumerate(rest):
        tex = latex(expr if i == 0 else drop_ones(expr), step.order)
        without = latex(drop_ones(expr), step.order)
        if bare and (without == texts[-1] or (without == bare[-1] and i < len(rest) - 1)):
            continue  # it repeats the line before, or only takes out a division by one
        texts.append(tex)
        bare.append(without)
    # the line with the numbers put in is only a multiplication by one (J_0 S_1 = 1·4)
    if len(texts) > 1 and bare[0] == texts[-1]:
        texts.pop(0)
    if general is not None and evaluate(lines[0]) == lines[0] and general == texts[0]:
        general = None
    return general, texts


# ---------------------------------------------------------------- rows of a layer


_SIZE = re.compile(r"(?P<axis>[DHWL])(?P<prime>'?)_(?P<rest>[^,]+)")
_PER_AXIS = re.compile(r"(?P<base>[^,]+),(?P<axis>[DHWL])")


def axis_key(name: str) -> str | None:
    """The name with its spatial axis taken out (H_1 and W_1 give one key, R_1,H and R_1,W
    another); None for a name that is not per axis."""
    if (m := _SIZE.fullmatch(name)) is not None:
        return f"size{m['prime']}_{m['rest']}"
    if (m := _PER_AXIS.fullmatch(name)) is not None:
        return m["base"]
    return None


def step_rows(steps: Sequence[Step], seen: Seen) -> list[Row]:
    """The rows of a layer's steps: a step whose numbers equal those of the same quantity on
    another axis shares its row (H_1 = W_1 = ...); a general formula is shown the first
    time the notes use it, as a row of its own before the numbers."""
    pending: list[tuple[Step, list[str], str | None, list[str]]] = []
    for step in steps:
        general, sides = step_sides(step)
        key = axis_key(step.target.name)
        for other, targets, other_general, other_sides in pending:
            if (key is not None and axis_key(other.target.name) == key
                    and other.quantity is step.quantity and other.note == step.note
                    and other_sides == sides and (other_general is None) == (general is None)):
                targets.append(latex(step.target))
                break
        else:
            pending.append((step, [latex(step.target)], general, sides))
    rows: list[Row] = []
    for step, targets, general, sides in pending:
        if general is not None and seen.first(general):
            rows.append(Row((targets[0],), (general,), step.note))
            rows.append(Row(tuple(targets), tuple(sides)))
        else:
            rows.append(Row(tuple(targets), tuple(sides), step.note))
    return rows


def value_rows(steps: Iterable[Step], twins: dict[sympy.Symbol, sympy.Symbol]) -> list[Row]:
    """Closed forms: a size whose expression is another axis's with that axis's input size
    put in (W_1 beside H_1 for a square-agnostic formula) is said with it; consecutive
    sizes with the same expression share a row (H_6 = H_7 = ...)."""
    entries: list[tuple[list[str], sympy.Expr, list[str]]] = []
    by_key: dict[tuple[str, sympy.Expr], list[str]] = {}
    for step in steps:
        key = axis_key(step.target.name)
        own, mapped = _rebuilt(step.value), _rebuilt(step.value.xreplace(twins))
        if key is not None and (key, mapped) in by_key and mapped != own:
            by_key[(key, mapped)].append(latex(step.target))
            continue
        alike: list[str] = []
        if key is not None:
            by_key[(key, own)] = alike
        if entries and entries[-1][1] == step.value and not entries[-1][2] and not alike:
            entries[-1][0].append(latex(step.target))
            continue
        entries.append(([latex(step.target)], step.value, alike))
    # twins of consecutive rows merged after the fact: compare again
    merged: list[tuple[list[str], sympy.Expr, list[str]]] = []
    for targets, value, alike in entries:
        if merged and merged[-1][1] == value and bool(merged[-1][2]) == bool(alike):
            merged[-1][0].extend(targets)
            merged[-1][2].extend(alike)
            continue
        merged.append((targets, value, alike))
    rows = []
    for targets, value, alike in merged:
        side = latex(value)
        if alike:
            side += r"\quad\text{(likewise }" + ", ".join(alike) + r"\text{)}"
        rows.append(Row(tuple(targets), (side,)))
    return rows


def _rebuilt(expr: sympy.Expr) -> sympy.Expr:
    """The expression built again with SymPy's own evaluation, so that two ways of writing
    it (floor((H - 5)/4), floor(H/4 - 5/4)) compare equal."""
    if expr.is_Atom:
        return expr
    return expr.func(*(_rebuilt(a) for a in expr.args))


# ---------------------------------------------------------------- widths


_PT = {"digit": 5.0, "capital": 7.8, "letter": 5.5, "op": 9.5, "rel": 13.0, "paren": 3.9}
_COMMANDS = {r"\cdot": 7.8, r"\times": 13.0, r"\lfloor": 4.5, r"\rfloor": 4.5,
             r"\lceil": 4.5, r"\rceil": 4.5, r"\quad": 10.0, r"\qquad": 20.0,
             r"\ldots": 13.0, r"\bmod": 20.0, r"\infty": 10.0}
_IGNORED = {r"\left", r"\right", r"\displaystyle", r"\mathopen", r"\mathclose"}


def width(tex: str) -> float:
    """About how wide the math is at 10 pt, in points (an estimate to decide where a row
    breaks; the fit macro still scales anything that comes out wider)."""
    total, i = 0.0, 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            assert m is not None
            name = m.group(0)
            i += len(name)
            if name == r"\frac":
                top, i = _group(tex, i)
                bottom, i = _group(tex, i)
                total += max(width(top), width(bottom)) + 2
            elif name in (r"\mathrm", r"\text", r"\texttt", r"\mathit"):
                body, i = _group(tex, i)
                total += (5.0 * len(body) if name != r"\mathrm" else width(body))
            elif name in _IGNORED:
                continue
            else:
                total += _COMMANDS.get(name, 8.0 if name[1:].isalpha() else 2.0)
        elif c in "_^":
            body, i = _group(tex, i + 1)
            total += 0.7 * width(body)
        elif c in "{} ":
            i += 1
        else:
            total += (_PT["digit"] if c.isdigit() else _PT["capital"] if c.isupper()
                      else _PT["letter"] if c.isalpha()
                      else _PT["rel"] if c == "=" else _PT["op"] if c in "+-<>"
                      else _PT["paren"])
            i += 1
    return total


def height(tex: str) -> float:
    """About how many lines of text a line of the notes takes: one, and more for each level
    of fractions stacked in it."""
    return 1.0 + 1.2 * _stacked(tex)


def _stacked(tex: str) -> int:
    """How many fractions deep the math goes."""
    deepest, i = 0, 0
    while (i := tex.find(r"\frac", i)) >= 0:
        top, i = _group(tex, i + len(r"\frac"))
        bottom, i = _group(tex, i)
        deepest = max(deepest, 1 + max(_stacked(top), _stacked(bottom)))
    return deepest


def _group(tex: str, i: int) -> tuple[str, int]:
    """The braced group (or single character) at i, and the index after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] != "{":
        m = re.match(r"\\[A-Za-z]+|.", tex[i:])
        assert m is not None
        return m.group(0), i + len(m.group(0))
    depth, j = 0, i
    while j < len(tex):
        if tex[j] == "\\":
            j += 2
            continue
        depth += {"{": 1, "}": -1}.get(tex[j], 0)
        if depth == 0:
            return tex[i + 1:j], j + 1
        j += 1
    return tex[i + 1:], len(tex)


def row_lines(row: Row, limit: float) -> list[str]:
    """The row as lines of math at most about `limit` points wide: `H_1 = W_1 = a = b`,
    broken before an equals sign where it is longer (the next line starting `= c`)."""
    head = " = ".join(row.targets)
    lines: list[str] = []
    current = head
    for side in row.sides:
        if (lines or current != head) and width(current) + width(side) + 13 > limit:
            lines.append(current)
            current = r"\qquad = " + side
            continue
        current += " = " + side
    lines.append(current)
    return lines


def note_text(row: Row) -> str:
    return escape_text(row.note)
