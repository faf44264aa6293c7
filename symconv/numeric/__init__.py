"""Numbers, fast and exact: a network's formulas compiled once into Python (evaluate), the
path every numeric call of a Network takes (fast), and batches of input sizes evaluated at
once, with NumPy where it is installed (batch)."""
