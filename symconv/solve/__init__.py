"""The solver: inverse questions on a network.

- `solution`: which values of one symbol give a target output size (`solve`, `Solution`);
- `walk`: where an unknown acts and how it moves the output; the relation the formulas write;
- `invert`: closed-form inversion of one output-size expression into an integer interval;
- `layers`: one layer's questions ('same' padding in both conventions, output_padding);
- `align`: input sizes a network maps without discarding pixels;
- `design`: searches for whole layer designs under bounds and a cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from symconv.solve.solution import Solution, solve

__all__ = ["Solution", "solve"]


def __getattr__(name: str) -> Any:
    """`Solution` and `solve`, loaded when first asked for: the modules beside them (design,
    layers, align) import without the solver's answers and their presentation."""
    if name not in __all__:
        raise AttributeError(f"module 'symconv.solve' has no attribute {name!r}")
    from symconv.solve import solution

    return getattr(solution, name)
