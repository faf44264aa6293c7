"""What a lecturer can choose about the notes: which layers, which parts, the heading level,
the digit grouping, slides or an article. One frozen record, read by `symconv.notes`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from symconv.errors import InvalidValueError

Level = Literal["section", "subsection", "none"]
LEVELS: tuple[str, ...] = get_args(Level)
# The notations of symconv.documents.notation (kept here, beside the other choices).
NOTATIONS = ("symconv", "cs231n", "dumoulin")
# What goes between groups of three digits: a comma (11,712), a thin space, or nothing.
DIGITS = {"comma": "{,}", "thin": r"\,", "none": ""}


@dataclass(frozen=True, slots=True)
class NotesOptions:
    """`layers`: the top-level layer numbers whose derivations are shown (None: all);
    `formula_sheet`: whether the formula sheet ends the notes; `level`: the heading of each
    part (\\section, \\subsection or none at all, for a document with its own structure);
    `digits`: the digit grouping's name in DIGITS; `beamer`: slides, one layer per frame;
    `figures`: a figure of the first layer of each kind, beside its derivation;
    `notation`: the letters of the derivations and the formula sheet (see
    symconv.documents.notation)."""

    layers: frozenset[int] | None = None
    formula_sheet: bool = True
    level: Level = "section"
    digits: str = "comma"
    beamer: bool = False
    figures: bool = False
    notation: str = "symconv"

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise InvalidValueError(f"level: expected one of {', '.join(LEVELS)}, "
                                    f"got {self.level!r}")
        if self.notation not in NOTATIONS:
            raise InvalidValueError(f"notation: expected one of {', '.join(NOTATIONS)}, "
                                    f"got {self.notation!r}")
        if self.digits not in DIGITS:
            raise InvalidValueError(f"digits: expected one of {', '.join(DIGITS)}, "
                                    f"got {self.digits!r}")

    def shows(self, index: int) -> bool:
        return self.layers is None or index in self.layers


DEFAULT = NotesOptions()

_PART = re.compile(r"\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?")


def parse_layers(spec: str, count: int) -> frozenset[int]:
    """'1-5,9' as the set {1, 2, 3, 4, 5, 9}; each number must name one of the network's
    `count` top-level layers. Raises InvalidValueError saying which part is wrong."""
    if count == 0:
        raise InvalidValueError(f"--layers {spec}: the network has no layers")
    chosen: set[int] = set()
    for part in spec.split(","):
        m = _PART.fullmatch(part)
        if m is None:
            raise InvalidValueError(
                f"--layers {spec}: '{part.strip()}' is not a layer number or a range such as "
                "1-5 (write e.g. --layers 1-5,9)")
        for digits in (m[1], m[2] or ""):
            if len(digits) > 9:  # no network has that many layers (and int() of a huge
                # string of digits is slow or refused)
                raise InvalidValueError(
                    f"--layers {spec[:40]}{'...' if len(spec) > 40 else ''}: there is no layer "
                    f"{digits[:12]}... (the network's layers are numbered 1 to {count})")
        first = int(m[1])
        last = int(m[2]) if m[2] is not None else first
        if last < first:
            raise InvalidValueError(f"--layers {spec}: the range {first}-{last} runs backwards "
                                    f"(write {last}-{first})")
        for n in (first, last):
            if not 1 <= n <= count:
                raise InvalidValueError(f"--layers {spec}: there is no layer {n} (the network's "
                                        f"layers are numbered 1 to {count})")
        chosen.update(range(first, last + 1))
    return frozenset(chosen)
