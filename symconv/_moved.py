"""Module paths from before the packages by stage (symconv.formulas, symconv.trace, …): each
old name imports the module where the code lives now, the same module object, loaded only
when it is imported. symconv's own code never uses these names (tests/test_layout.py).

`symconv.parse` is not among them: it is the public function, and importing a module of that
name would replace the function on the package."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

MOVED = {
    "symconv.symbols": "symconv.algebra.symbols",
    "symconv.simplify": "symconv.algebra.simplify",
    "symconv.catalog": "symconv.language.catalog",
    "symconv.arguments": "symconv.language.arguments",
    "symconv.build": "symconv.language.build",
    "symconv.layers": "symconv.language.layers",
    "symconv.formulas": "symconv.engine.formulas",
    "symconv.trace": "symconv.engine.trace",
    "symconv.blocks": "symconv.engine.blocks",
    "symconv.receptive": "symconv.engine.receptive",
    "symconv.steps": "symconv.derive.steps",
    "symconv.notes": "symconv.documents.notes",
    "symconv.formula_sheet": "symconv.documents.formula_sheet",
    "symconv.render.cases": "symconv.present.cases",
    "symconv.render.words": "symconv.present.words",
    "symconv.render.values": "symconv.present.values",
    "symconv.present.solution": "symconv.solve.present",
    "symconv.present.solution_check": "symconv.solve.present_check",
    "symconv.present.bounds": "symconv.solve.bounds",
    "symconv.evaluate": "symconv.numeric.evaluate",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old name and loads it as the module it moved to (that module's own spec
    restored after the import system has stamped the alias's on it)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.machinery.ModuleSpec(fullname, self) if fullname in MOVED else None

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(MOVED[spec.name])
        self._specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._specs[module.__name__]


def install() -> None:
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())


def attribute(name: str) -> ModuleType:
    """The module an old attribute of the package (symconv.formulas) names; AttributeError
    for any other name, as a module says it."""
    if f"symconv.{name}" not in MOVED:
        raise AttributeError(f"module 'symconv' has no attribute '{name}'")
    return importlib.import_module(f"symconv.{name}")
