"""symconv: closed-form arithmetic of convolutional networks, symbolic and exact.

The public names load on first use (PEP 562), so that `import symconv` and the command line
pay only for the stages they use: `symconv table NET` never loads the solver, the
derivations or the document writers.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from symconv import _moved

if TYPE_CHECKING:
    from symconv.algebra.symbols import symbol
    from symconv.derive.derivation import Derivation, derive
    from symconv.engine.receptive import ClosedForm, Field
    from symconv.errors import (
        InvalidLayerError,
        InvalidValueError,
        NoSolutionError,
        ShapeError,
        SymconvError,
        SyntaxProblem,
        UnknownNameError,
        UnsupportedError,
    )
    from symconv.interop import from_keras, from_torch, to_torch_code
    from symconv.language.values import simplify_rounding
    from symconv.network import LayerRecord, Network, closed_forms, parse
    from symconv.render.table_object import Table
    from symconv.solve import Solution, solve

# Each public name (__all__) and the module it lives in.
_HOMES = {
    "ClosedForm": "symconv.engine.receptive",
    "Derivation": "symconv.derive.derivation",
    "Field": "symconv.engine.receptive",
    "InvalidLayerError": "symconv.errors",
    "InvalidValueError": "symconv.errors",
    "LayerRecord": "symconv.network",
    "Network": "symconv.network",
    "NoSolutionError": "symconv.errors",
    "ShapeError": "symconv.errors",
    "Solution": "symconv.solve.solution",
    "SymconvError": "symconv.errors",
    "SyntaxProblem": "symconv.errors",
    "Table": "symconv.render.table_object",
    "UnknownNameError": "symconv.errors",
    "UnsupportedError": "symconv.errors",
    "closed_forms": "symconv.network",
    "derive": "symconv.derive.derivation",
    "from_keras": "symconv.interop.keras_import",
    "from_torch": "symconv.interop.torch_import",
    "parse": "symconv.network",
    "simplify_rounding": "symconv.language.values",
    "solve": "symconv.solve.solution",
    "symbol": "symconv.algebra.symbols",
    "to_torch_code": "symconv.interop.torch_code",
}


__all__ = [
    "ClosedForm",
    "Derivation",
    "Field",
    "InvalidLayerError",
    "InvalidValueError",
    "LayerRecord",
    "Network",
    "NoSolutionError",
    "ShapeError",
    "Solution",
    "SymconvError",
    "SyntaxProblem",
    "Table",
    "UnknownNameError",
    "UnsupportedError",
    "closed_forms",
    "derive",
    "from_keras",
    "from_torch",
    "parse",
    "simplify_rounding",
    "solve",
    "symbol",
    "to_torch_code",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for; or a module
    that was an attribute of the package before it was cut into stages (symconv.formulas:
    the module where the code now lives, see _moved)."""
    home = _HOMES.get(name)
    if home is None:
        return _moved.attribute(name)
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The package, whose public names `derive` and `solve` are functions: importing the
    subpackage of the same name (symconv.derive, symconv.solve) must not replace them. The
    subpackage stays in sys.modules, where every `from symconv.solve import …` finds it."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _HOMES:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
_moved.install()
