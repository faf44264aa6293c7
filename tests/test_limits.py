"""What symconv refuses rather than invent or wait on.

- Layers PyTorch does not have: a layer at a rank (number of spatial axes) for which
  torch.nn has no class is refused when the description is built, by name, with the rule.
  Oracle: torch.nn itself (the class exists, and runs on such an input).
- No hang: every loop whose length a user controls has a closed form or a limit checked
  before the work starts; each input below answers or refuses within seconds, under a
  watchdog, with the exact answer or refusal."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import symconv

RANKS = range(5)
# symconv's layer, the torch.nn class it stands for at a rank, and how to build that class.
LAYERS = {
    "conv 4 k=3 p=1": ("Conv{r}d", lambda c: c(4, 4, 3, padding=1)),
    "convT 4 k=3 p=1": ("ConvTranspose{r}d", lambda c: c(4, 4, 3, padding=1)),
    "maxpool k=2": ("MaxPool{r}d", lambda c: c(2)),
    "avgpool k=2": ("AvgPool{r}d", lambda c: c(2)),
    "adaptive_maxpool 2": ("AdaptiveMaxPool{r}d", lambda c: c(2)),
    "adaptive_avgpool 2": ("AdaptiveAvgPool{r}d", lambda c: c(2)),
    "bn": ("BatchNorm{b}d", lambda c: c(4)),
    "relu": ("ReLU", lambda c: c()),
    "dropout 0.5": ("Dropout", lambda c: c(0.5)),
    "linear 3": ("Linear", lambda c: c(8, 3)),
    "flatten": ("Flatten", lambda c: c()),
}
# The rule each refusal states.
RULES = {
    0: "needs spatial axes",
    4: "PyTorch's convolutions and pools have 1 to 3 spatial axes; this input has 4",
}


@pytest.mark.parametrize("rank", RANKS)
@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_layer_exists_at_a_rank_where_pytorch_has_it(layer: str, rank: int) -> None:
    pattern, make = LAYERS[layer]
    name = pattern.format(r=rank, b=max(rank, 1))
    shape = (4, *(8,) * rank)
    text = f"input {' x '.join(map(str, shape))}\n{layer}"
    if hasattr(nn, name):
        (record,) = symconv.parse(text).table()
        module = make(getattr(nn, name))
        features = shape[-1] if layer.startswith("linear") else None
        if features is not None:
            module = nn.Linear(features, 3)
        assert module(torch.zeros(2, *shape)).shape[1:] == tuple(record.output_shape)
        return
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(text)
    message = str(caught.value)
    assert message.startswith(f"line 2, column 1, {layer.split()[0]}: ")
    rule = RULES[rank]
    if layer == "bn":
        rule = f"PyTorch has BatchNorm1d to BatchNorm3d: this input has {rank} spatial axes"
    assert rule in message
