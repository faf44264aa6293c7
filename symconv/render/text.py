"""Plain text: derivations as a person reads them in a terminal (SymPy syntax, exact)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from symconv.derive.steps import Step
from symconv.present.text import text

if TYPE_CHECKING:
    from symconv.derive.derivation import Derivation


def step_text(step: Step, indent: str = "  ") -> str:
    """target = first line, then '= line' aligned under it for the rest."""
    lhs = text(step.target)
    lines: list[str] = []
    for expr in step.lines():
        line = text(expr, step.order)
        if not lines or lines[-1] != line:
            lines.append(line)
    pad = " " * len(lhs)
    note = [f"{indent}{step.note}"] if step.note else []
    return "\n".join([*note, *(
        f"{indent}{lhs if i == 0 else pad} = {line}" for i, line in enumerate(lines)
    )])


def derivation_text(derivation: Derivation) -> str:
    """Input sizes, then each layer that has steps, its title and its steps."""
    out = ["Input: " + ", ".join(f"{text(s.target)} = {text(s.value)}"
                                 for s in derivation.inputs)]
    for layer in derivation.layers:
        if layer.steps:
            out.append(layer.title)
            out.extend(step_text(s) for s in layer.steps)
    return "\n".join(out) + "\n"
