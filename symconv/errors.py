"""The one exception hierarchy of symconv: every error a user can cause is one of these."""

from __future__ import annotations

import difflib
import unicodedata
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
        """The source line with a caret under the column ('' without a line). Control
        characters (an escape sequence, a lone CR, NUL, a bidi override) are shown escaped,
        so the line cannot repaint or reorder the terminal; the caret counts what is shown
        before it."""
        if not self.text:
            return ""
        before = self.text[: self.column - 1]
        indent = sum(_width(c) for c in visible(before))
        return f"  {visible(self.text)}\n  {' ' * indent}^"


@dataclass(frozen=True, slots=True)
class ModuleSource(Source):
    """Where a layer read from a torch module came from: `text` is e.g. "nn.Conv2d at
    'features.0'" (from_torch); there is no line to point at. `path` is the module's name as
    model.named_modules() gives it ('layer2.0.conv1'); `frozen` counts its parameters with
    requires_grad=False (the non-trainable ones)."""

    path: str = ""
    frozen: int = 0

    def where(self) -> str:
        return visible(self.text)

    def pointer(self) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class LayerSource(Source):
    """Where a layer was written, and each of its arguments (parameter name -> where its
    value stands), so that a rule broken by one value points at that value."""

    arguments: tuple[tuple[str, Source], ...] = ()

    def argument(self, name: str | None) -> Source:
        """Where the argument `name` was written; the layer itself where it was not."""
        return next((where for key, where in self.arguments if key == name), self)

    def holds(self, source: Source | None) -> bool:
        """Whether `source` is the layer's or one of its arguments'."""
        return source is self or any(where is source for _, where in self.arguments)


def _hidden(c: str) -> bool:
    """Characters a terminal acts on or hides: C0/C1 controls, format characters (bidi
    overrides, zero-width ones), line and paragraph separators, surrogates, private use."""
    return unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def visible(text: str, keep: str = "") -> str:
    """The text with every hidden character escaped (\\x1b, \\u202e), tabs as spaces,
    except the characters in `keep`."""
    out = []
    for c in text:
        if c in keep:
            out.append(c)
        elif c == "\t":
            out.append(" ")
        elif _hidden(c):
            out.append(f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
                       if ord(c) < 0x10000 else f"\\U{ord(c):08x}")
        else:
            out.append(c)
    return "".join(out)


def _width(c: str) -> int:
    """Columns a character takes on a terminal: 2 for wide (CJK), 0 for combining marks."""
    if unicodedata.combining(c):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


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
        message = visible(self.message, keep="\n")
        head = f"{', '.join(where)}: {message}" if where else message
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
