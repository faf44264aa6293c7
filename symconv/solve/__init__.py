"""The solver: inverse questions on a network.

- `solution`: which values of one symbol give a target output size (`solve`, `Solution`);
- `walk`: where an unknown acts and how it moves the output; the relation the formulas write;
- `invert`: closed-form inversion of one output-size expression into an integer interval;
- `layers`: one layer's questions ('same' padding in both conventions, output_padding);
- `align`: input sizes a network maps without discarding pixels;
- `design`: searches for whole layer designs under bounds and a cost.
"""

from symconv.solve.solution import Solution, solve

__all__ = ["Solution", "solve"]
