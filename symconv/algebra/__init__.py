"""The symbols (W, H, K, … as whole positive SymPy symbols) and the algebra on them: nested
floors and ceilings merged, periods of floor expressions. The lowest stage: it imports nothing
of symconv but errors."""
