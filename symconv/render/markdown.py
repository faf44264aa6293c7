"""Markdown: derivations with $…$ and $$…$$ math, for notebooks, READMEs and issue threads."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from symconv.render.latex import input_sizes, step_latex

if TYPE_CHECKING:
    from symconv.derive.derivation import Derivation

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|$])")


def escape_markdown(text: str) -> str:
    """Text shown as it is in Markdown (no emphasis, links or math from user names)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def derivation_markdown(derivation: Derivation) -> str:
    """The input sizes inline, then per layer a bold title and an aligned display block."""
    out = [f"Input: {input_sizes(derivation)}", ""]
    for layer in derivation.layers:
        if not layer.steps:
            continue
        rows = " \\\\\n".join(step_latex(s) for s in layer.steps)
        out += [f"**{escape_markdown(layer.title)}**", "",
                "$$\n\\begin{aligned}\n" + rows + "\n\\end{aligned}\n$$", ""]
    return "\n".join(out)
