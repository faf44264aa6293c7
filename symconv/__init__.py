"""symconv: closed-form arithmetic of convolutional networks, symbolic and exact."""

from symconv import _moved
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
from symconv.interop import from_torch, to_torch_code
from symconv.language.values import simplify_rounding
from symconv.network import LayerRecord, Network, closed_forms, parse
from symconv.render.table_object import Table
from symconv.solve import Solution, solve

_moved.install()


def __getattr__(name: str) -> object:
    """`symconv.formulas` and the other modules that were attributes of the package before
    it was cut into stages: the module where the code now lives, imported on first use."""
    return _moved.attribute(name)

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
    "from_torch",
    "parse",
    "simplify_rounding",
    "solve",
    "symbol",
    "to_torch_code",
]
