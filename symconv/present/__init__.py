"""The presentation stage: readable forms of the engine's expressions and answers, between the
engine and the renderers, each checked against the raw form before it is shown.

- `conditions`: a condition as a reader states it (residues, spans of one symbol, relations).
"""
