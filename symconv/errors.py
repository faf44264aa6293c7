"""The one exception hierarchy of symconv: every error a user can cause is one of these."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Source:
    """Where something was written: 1-based line and column, and the text of that line."""

    line: int
    column: int
    text: str

    def where(self) -> str:
        return f"line {self.line}, column {self.column}"

    def pointer(self) -> str:
        """The source line with a caret under the column ('' without a line)."""
        return f"  {self.text}\n  {' ' * (self.column - 1)}^" if self.text else ""


@dataclass(frozen=True, slots=True)
class ModuleSource(Source):
    """Where a layer read from a torch module came from: `text` is e.g. "nn.Conv2d at
    'features.0'" (from_torch); there is no line to point at."""

    def where(self) -> str:
        return self.text

    def pointer(self) -> str:
        return ""


class SymconvError(Exception):
    """Base of every error symconv reports; the message is meant for the user as it is."""

    def __init__(self, message: str, source: Source | None = None, layer: str | None = None):
        self.message = message
        self.source = source
        self.layer = layer
        super().__init__(self.render())

    def render(self) -> str:
        """The full message: where, which layer, what rule, and the offending line."""
        where = []
        if self.source is not None:
            where.append(self.source.where())
        if self.layer is not None:
            where.append(self.layer)
        head = f"{', '.join(where)}: {self.message}" if where else self.message
        pointer = self.source.pointer() if self.source is not None else ""
        return f"{head}\n{pointer}" if pointer else head


class SyntaxProblem(SymconvError, ValueError):
    """The text does not follow the layer language."""


class UnknownNameError(SymconvError, ValueError):
    """A layer, parameter or symbol name that symconv does not know."""


class InvalidLayerError(SymconvError, ValueError):
    """A layer that breaks a rule PyTorch enforces (groups, output_padding, pool padding, ...)."""


class ShapeError(SymconvError, ValueError):
    """A shape that cannot exist: an empty output, a contradicting channel count, no input."""


class NoSolutionError(SymconvError, ValueError):
    """A solver question with no answer, or one that needs more numbers."""


class InvalidValueError(SymconvError, ValueError):
    """A value given for a symbol or a size that is not a whole number or an expression."""


class UnsupportedError(SymconvError, ValueError):
    """Something that is valid PyTorch but outside what symconv models."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """'; did you mean 'X'?' for the closest known name (case-insensitive), or ''."""
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean '{lowered[close[0]]}'?" if close else ""
