"""Random layer configurations written both ways: as symconv text and as a torch module.

Shared by the PyTorch oracle tests and the benchmark; values are kept small so that a real
CPU forward pass is cheap, and they stray on purpose into what PyTorch rejects.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Case:
    text: str  # a symconv description: input line + one layer (DSL or PyTorch text)
    input_shape: tuple[int, ...]  # C, *spatial
    torch_class: str  # e.g. "Conv2d"
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def module(self) -> Any:
        from torch import nn

        return getattr(nn, self.torch_class)(*self.args, **self.kwargs)


def _axes(rng: random.Random, rank: int, lo: int, hi: int) -> int | tuple[int, ...]:
    if rng.random() < 0.5:
        return rng.randint(lo, hi)
    return tuple(rng.randint(lo, hi) for _ in range(rank))


def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ",".join(str(v) for v in value) + ")"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


# symconv's short names for PyTorch's keywords.
_SHORT = {"stride": "s", "padding": "p", "dilation": "d", "groups": "g", "output_padding": "op"}


def _dsl(head: str, kwargs: dict[str, Any]) -> str:
    """The layer in symconv's words, from the same keyword arguments torch is given."""
    words = [head]
    for name, value in kwargs.items():
        if name == "bias":
            words.append(f"bias={'true' if value else 'false'}")
        elif name == "ceil_mode":
            words += ["ceil"] if value else []
        else:
            words.append(f"{_SHORT[name]}={value if isinstance(value, str) else _fmt(value)}")
    return " ".join(words)


def _text(input_shape: tuple[int, ...], torch_class: str, args: tuple[Any, ...],
          kwargs: dict[str, Any], dsl: str | None) -> str:
    head = "input " + " x ".join(str(v) for v in input_shape)
    if dsl is not None:
        return f"{head}\n{dsl}"
    parts = [_fmt(a) for a in args] + [f"{k}={_fmt(v)}" for k, v in kwargs.items()]
    return f"{head}\nnn.{torch_class}({', '.join(parts)})"


def _input(rng: random.Random, rank: int, channels: int) -> tuple[int, ...]:
    top = {1: 14, 2: 10, 3: 6}[rank]
    return (channels, *(rng.randint(1, top) for _ in range(rank)))


def conv_case(rng: random.Random) -> Case:
    rank = rng.randint(1, 3)
    groups = rng.choice((1, 1, 2, 3))
    c_in = groups * rng.randint(1, 3) + (1 if rng.random() < 0.05 else 0)
    c_out = groups * rng.randint(1, 3) + (1 if rng.random() < 0.05 else 0)
    shape = _input(rng, rank, c_in)
    k, s, d = _axes(rng, rank, 1, 4), _axes(rng, rank, 1, 3), _axes(rng, rank, 1, 3)
    p: Any = rng.choice(("same", "valid")) if rng.random() < 0.15 else _axes(rng, rank, 0, 3)
    bias = rng.random() < 0.7
    kwargs = dict(stride=s, padding=p, dilation=d, groups=groups, bias=bias)
    cls = f"Conv{rank}d"
    dsl = _dsl(f"conv {c_out} k={_fmt(k)}", kwargs) if rng.random() < 0.5 else None
    return Case(_text(shape, cls, (c_in, c_out, k), kwargs, dsl), shape, cls, (c_in, c_out, k),
                kwargs)


def conv_transpose_case(rng: random.Random) -> Case:
    rank = rng.randint(1, 3)
    groups = rng.choice((1, 1, 2))
    c_in, c_out = groups * rng.randint(1, 3), groups * rng.randint(1, 3)
    shape = _input(rng, rank, c_in)
    k, s, d = _axes(rng, rank, 1, 4), _axes(rng, rank, 1, 3), _axes(rng, rank, 1, 2)
    p, op = _axes(rng, rank, 0, 3), _axes(rng, rank, 0, 2)
    bias = rng.random() < 0.7
    kwargs = dict(stride=s, padding=p, output_padding=op, groups=groups, bias=bias, dilation=d)
    cls = f"ConvTranspose{rank}d"
    dsl = _dsl(f"convT {c_out} k={_fmt(k)}", kwargs) if rng.random() < 0.5 else None
    return Case(_text(shape, cls, (c_in, c_out, k), kwargs, dsl), shape, cls, (c_in, c_out, k),
                kwargs)


def pool_case(rng: random.Random) -> Case:
    rank = rng.randint(1, 3)
    shape = _input(rng, rank, rng.randint(1, 3))
    op = rng.choice(("Max", "Avg"))
    k = _axes(rng, rank, 1, 4)
    kwargs: dict[str, Any] = {"padding": _axes(rng, rank, 0, 2), "ceil_mode": rng.random() < 0.5}
    if rng.random() < 0.7:
        kwargs["stride"] = _axes(rng, rank, 1, 3)
    if op == "Max" and rng.random() < 0.5:
        kwargs["dilation"] = _axes(rng, rank, 1, 2)
    cls = f"{op}Pool{rank}d"
    dsl = _dsl(f"{op.lower()}pool k={_fmt(k)}", kwargs) if rng.random() < 0.5 else None
    return Case(_text(shape, cls, (k,), kwargs, dsl), shape, cls, (k,), kwargs)


def adaptive_case(rng: random.Random) -> Case:
    rank = rng.randint(1, 3)
    shape = _input(rng, rank, rng.randint(1, 3))
    op = rng.choice(("Max", "Avg"))
    size = _axes(rng, rank, 1, 5)
    cls = f"Adaptive{op}Pool{rank}d"
    dsl = f"adaptive_{op.lower()}pool {_fmt(size)}" if rng.random() < 0.5 else None
    return Case(_text(shape, cls, (size,), {}, dsl), shape, cls, (size,), {})


MAKERS = {
    "conv": conv_case,
    "convtranspose": conv_transpose_case,
    "pool": pool_case,
    "adaptive": adaptive_case,
}


def cases(kind: str, seed: int, count: int) -> list[Case]:
    rng = random.Random(seed)
    return [MAKERS[kind](rng) for _ in range(count)]


def canonical(network: Any) -> Any:
    """The network with shared parameters named by order of first use (the module paths of
    the model read and of the code written back differ), and a residual block's identity
    shortcut as none: what a network read from a torch model and one read from the code
    to_torch_code wrote for it have in common (tests/test_interop.py,
    tests/test_torchvision_zoo.py); named tensors renamed by order of binding."""
    import symconv.language.layers as symconv_layers

    identity = symconv_layers.Activation("identity")
    names: dict[str, str] = {}
    # named tensors by order of binding (the model's torch.fx node names, the written code's
    # attribute names)
    tensors = {network.input_name: "input"}

    def tensor(name: str) -> str:
        return tensors.setdefault(name, f"t{len(tensors)}")

    def rename(obj: Any) -> Any:
        if isinstance(obj, tuple):
            return tuple(rename(x) for x in obj)
        if isinstance(obj, symconv_layers.Bind):
            obj = dataclasses.replace(obj, name=tensor(obj.name))
        if isinstance(obj, symconv_layers.Join):
            obj = dataclasses.replace(obj, names=tuple(map(tensor, obj.names)))
        if isinstance(obj, symconv_layers.Residual) and obj.shortcut == (identity,):
            obj = dataclasses.replace(obj, shortcut=())  # the written Residual's nn.Identity
        if isinstance(obj, symconv_layers.Shared):
            return dataclasses.replace(obj, name=names.setdefault(obj.name, f"s{len(names)}"))
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.replace(obj, **{f.name: rename(getattr(obj, f.name))
                                               for f in dataclasses.fields(obj) if f.init})
        return obj

    layers = rename(network.layers)
    outputs = tuple((key, tensor(name)) for key, name in network.outputs)
    return dataclasses.replace(network, layers=layers, input_name="input", outputs=outputs)


def forward_facts(model: Any, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """PyTorch's answer for a model: (output shape without the batch axis, parameters), by a
    forward pass on the CPU (tests/test_named.py, tests/test_channels_last.py)."""
    import torch

    with torch.no_grad():
        out = model.eval()(torch.randn(2, *shape))
    return tuple(out.shape[1:]), sum(p.numel() for p in model.parameters())


def network_facts(network: Any) -> tuple[tuple[int, ...], int]:
    """symconv's answer for the same: (output shape, parameters)."""
    return tuple(int(v) for v in network.output_shape()), int(network.params())
