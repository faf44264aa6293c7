"""A solve answer as the renderers read it: the set of the unknown (Answer) in each case of
the other symbols (Case), with the working to show (Presented). Built by solve.present and
checked by solve.present_check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy

from symconv.solve.invert import Between
from symconv.solve.walk import Condition

if TYPE_CHECKING:
    from symconv.solve.solution import Solution


@dataclass(frozen=True, slots=True)
class Answer:
    """The set of the unknown: the integers `values` and low <= u <= high (high may be
    sympy.oo; low None: no interval). Empty when both are empty."""

    low: Any = None
    high: Any = None
    values: tuple[int, ...] = ()

    @property
    def empty(self) -> bool:
        return self.low is None and not self.values

    @property
    def single(self) -> Any:
        """The one value where the set is one value (a number or an expression), else None."""
        if self.low is not None and not self.values and sympy.expand(self.high - self.low) == 0:
            return self.low
        if self.low is None and len(self.values) == 1:
            return sympy.Integer(self.values[0])
        return None


NONE = Answer()


@dataclass(frozen=True, slots=True)
class Case:
    """When the other symbols satisfy `when`, the unknown's set is `answer`. `point`: a
    single value of one symbol listed apart (W = 1: S >= 1)."""

    when: Any
    answer: Answer
    point: bool = False


@dataclass(frozen=True, slots=True)
class Presented:
    """A solve answer ready for the renderers: the cases (in order), the conditions still to
    hold besides them, a reason in words, and the equation and inequalities to show."""

    unknown: str
    cases: tuple[Case, ...]
    where: tuple[Condition, ...]
    reason: str
    equations: tuple[sympy.Eq, ...]
    inequalities: tuple[Between, ...]


def answer_of(solution: Solution) -> Answer:
    if solution.empty:
        return NONE
    if solution.values is not None:
        v = solution.values
        if v[-1] - v[0] + 1 == len(v):
            return Answer(sympy.Integer(v[0]), sympy.Integer(v[-1]))
        return Answer(values=tuple(v))
    return Answer(solution.low, solution.high, tuple(solution.isolated))
