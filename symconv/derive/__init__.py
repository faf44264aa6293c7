"""Worked derivations: one quantity as the steps a teacher writes (steps), and a network's
layers derived one after another (derivation)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from symconv.derive.derivation import Derivation, LayerDerivation, derive

__all__ = ["Derivation", "LayerDerivation", "derive"]


def __getattr__(name: str) -> Any:
    """The names of `derivation`, loaded when first asked for: `steps` and `figures` import
    without it."""
    if name not in __all__:
        raise AttributeError(f"module 'symconv.derive' has no attribute {name!r}")
    from symconv.derive import derivation

    return getattr(derivation, name)
