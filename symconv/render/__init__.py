"""Renderers: tables, derivations and solutions as text, Markdown and LaTeX documents, built
from the engine's records and the presentation stage's printers."""
