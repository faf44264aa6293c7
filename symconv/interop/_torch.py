"""The one place that imports torch, with the message a user without torch gets."""

from __future__ import annotations

from types import ModuleType

from symconv.errors import SymconvError

INSTALL_HINT = 'PyTorch is not installed; install it with: pip install "symconv[torch]"'


def require_torch() -> ModuleType:
    """The torch module, or a SymconvError that says how to install it."""
    try:
        import torch
    except ImportError:
        raise SymconvError(INSTALL_HINT) from None
    return torch
