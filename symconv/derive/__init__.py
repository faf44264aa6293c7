"""Worked derivations: one quantity as the steps a teacher writes (steps), and a network's
layers derived one after another (derivation)."""

from symconv.derive.derivation import Derivation, LayerDerivation, derive

__all__ = ["Derivation", "LayerDerivation", "derive"]
