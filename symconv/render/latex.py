"""LaTeX: derivations as aligned blocks, and the per-layer table as one display-math array
(the printer itself is symconv.present.latex)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from symconv.derive.steps import Step
from symconv.present.latex import escape_text, latex, math_text

if TYPE_CHECKING:
    from symconv.derive.derivation import Derivation, LayerDerivation

# ---------------------------------------------------------------- derivations


def step_lines(step: Step) -> list[str]:
    """The right-hand sides of a step, each written once (a line equal to the one before it
    is dropped)."""
    lines: list[str] = []
    for expr in step.lines():
        tex = latex(expr, step.order)
        if not lines or lines[-1] != tex:
            lines.append(tex)
    return lines


def step_latex(step: Step, fit: str | None = None) -> str:
    """The rows of an aligned block: `target &= line` and then `&= line` for the rest.
    With `fit`, each right-hand side is wrapped in that macro (which scales what is too wide
    to the line)."""
    # (a note set in math: math_text, which MathJax and TeX both read; \text{a\_b} shows a
    # backslash in MathJax)
    rows = [f"& {math_text(step.note)}"] if step.note else []
    for i, line in enumerate(step_lines(step)):
        body = f"{fit}{{{line}}}" if fit else line
        lhs = latex(step.target) if i == 0 else ""
        rows.append(f"{lhs} &= {body}")
    return " \\\\\n".join(rows)


def layer_heading(layer: LayerDerivation) -> str:
    """'Layer 3: maxpool2d' as text-mode LaTeX (escaped)."""
    return escape_text(layer.title)


def input_sizes(derivation: Derivation) -> str:
    """'$C_{0} = 3$, $H_{0} = 32$, ...': the input's sizes as inline math."""
    return ", ".join(f"${latex(s.target)} = {latex(s.value)}$" for s in derivation.inputs)


def derivation_latex(derivation: Derivation) -> str:
    """The input sizes, then one aligned block per layer, each introduced by its heading
    (amsmath's align*)."""
    parts = [f"Input sizes: {input_sizes(derivation)}.\n"]
    for layer in derivation.layers:
        parts.append(f"\\paragraph{{{layer_heading(layer)}}}")
        if not layer.steps:
            continue
        rows = " \\\\\n".join(step_latex(s) for s in layer.steps)
        parts.append("\\begin{align*}\n" + rows + "\n\\end{align*}\n")
    return "\n".join(parts)


def derivation_math(derivation: Derivation) -> str:
    """The whole derivation as one display-math block (for Jupyter's `_repr_latex_`): the
    input sizes, then each layer that has steps, as the Markdown form shows them."""
    given = ", ".join(f"{latex(s.target)} = {latex(s.value)}" for s in derivation.inputs)
    rows = [r"&\text{Input: } " + given]
    for layer in derivation.layers:
        if not layer.steps:
            continue
        rows.append("&" + math_text(layer.title))
        rows.extend(step_latex(s) for s in layer.steps)
    return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"
