"""PyTorch and Keras interop: networks from torch modules and Keras models, and torch code
from networks.

Nothing here imports torch or keras until a function that needs it is called, so `import
symconv` works without them installed (the optional extras `symconv[torch]`, `symconv[keras]`).
"""

from symconv.interop.keras_import import from_keras
from symconv.interop.torch_code import to_torch_code, to_torch_module
from symconv.interop.torch_import import from_torch

__all__ = ["from_keras", "from_torch", "to_torch_code", "to_torch_module"]
