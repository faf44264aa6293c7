"""The presentation stage: how one value reads, between the engine and the renderers.

- `conditions`: a condition as a reader states it (residues, spans of one symbol, relations).
- `expressions`: an expression as its cases, each checked against the raw form (`check`).
- `text`, `latex`: symconv's SymPy printers; `terms`: the order of terms and given numbers.
- `words`, `values`, `cases`: conditions, cases and shapes in words, text and LaTeX.
"""
