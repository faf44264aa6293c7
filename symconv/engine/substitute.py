"""Values put into the IR: a copy of layers (windows, tuples, any IR dataclass) with every
symbolic value substituted, and the names such a structure holds."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import sympy

from symconv.algebra.symbols import as_value, free_names
from symconv.errors import InvalidValueError, Source
from symconv.language.parse import high_degree


def collect_names(obj: Any, names: set[str]) -> None:
    if isinstance(obj, sympy.Basic):
        names |= free_names(obj)
    elif isinstance(obj, tuple):
        for item in obj:
            collect_names(item, names)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type | Source):
        for f in dataclasses.fields(obj):
            collect_names(getattr(obj, f.name), names)


def substitute(obj: Any, subs: Mapping[sympy.Symbol, sympy.Expr]) -> Any:
    """A copy of obj (layers, windows, tuples) with every symbolic value substituted."""
    if isinstance(obj, sympy.Basic):
        if not obj.free_symbols:
            return obj
        value = obj.xreplace(subs)
        if (why := high_degree(value)) is not None:
            raise InvalidValueError(f"with the values given, {why}")
        return as_value(value)
    if isinstance(obj, tuple):
        return tuple(substitute(item, subs) for item in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type | Source):
        changes = {
            f.name: substitute(getattr(obj, f.name), subs)
            for f in dataclasses.fields(obj)
            if f.init and f.name not in ("source", "input_source")
        }
        return dataclasses.replace(obj, **changes)
    return obj
