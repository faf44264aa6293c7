"""Pickling and deep copies of objects that hold unevaluated SymPy expressions.

SymPy pickles an expression as its class and arguments and rebuilds it by calling the class,
which evaluates: the working line `Eq(26, 7)` of a solution comes back as `False`, and a
substituted line of a derivation as its value. The dataclasses that hold such lines
(`Solution`, `Derivation`, `Step`) take `Unevaluated` as a base: their fields are pickled as
one blob that is read back with SymPy's evaluation off, so each expression is rebuilt with
exactly the arguments it had, and a deep copy is such a round trip.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import sympy

__all__ = ["Unevaluated"]


class Unevaluated:
    """A base for a frozen dataclass whose SymPy fields may be unevaluated."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return _rebuilt, (type(self), pickle.dumps(fields, pickle.HIGHEST_PROTOCOL))

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        rebuild, args = self.__reduce__()
        return rebuild(*args)


def _rebuilt(cls: type, blob: bytes) -> Any:
    """The object of class `cls` whose fields were pickled as `blob`, every SymPy expression
    in them rebuilt as it was (unevaluated)."""
    with sympy.evaluate(False):
        fields = pickle.loads(blob)  # symconv's own blob, made by __reduce__
    obj: Any = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(obj, name, value)
    return obj
