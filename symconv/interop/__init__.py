"""PyTorch interop: networks from torch modules, and torch code from networks.

Nothing here imports torch until a function that needs it is called, so `import symconv`
works without torch installed (it is the optional extra `symconv[torch]`).
"""

from symconv.interop.torch_code import to_torch_code, to_torch_module
from symconv.interop.torch_import import from_torch

__all__ = ["from_torch", "to_torch_code", "to_torch_module"]
