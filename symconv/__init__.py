"""symconv: closed-form arithmetic of convolutional networks, symbolic and exact."""

from symconv.derive import Derivation, derive
from symconv.errors import (
    InvalidLayerError,
    NoSolutionError,
    ShapeError,
    SymconvError,
    SyntaxProblem,
    UnknownNameError,
    UnsupportedError,
)
from symconv.interop import from_torch, to_torch_code
from symconv.network import LayerRecord, Network, parse
from symconv.solve import Solution, solve
from symconv.symbols import symbol

__all__ = [
    "Derivation",
    "InvalidLayerError",
    "LayerRecord",
    "Network",
    "NoSolutionError",
    "ShapeError",
    "Solution",
    "SymconvError",
    "SyntaxProblem",
    "UnknownNameError",
    "UnsupportedError",
    "derive",
    "from_torch",
    "parse",
    "solve",
    "symbol",
    "to_torch_code",
]
