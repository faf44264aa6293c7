"""A torch.fx graph -> symconv's layers, with branches as blocks.

The graph is walked backwards from the output. A node that joins tensors (x + y, torch.add,
torch.cat along the channels) is a block: each of its inputs is followed back to the node
where the paths forked, and each path becomes a branch (an empty one where the input is the
fork itself, as in an identity shortcut). Branches may nest.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from symconv.algebra.symbols import Value
from symconv.errors import UnsupportedError
from symconv.language.layers import (
    PER_POSITION,
    Activation,
    Bind,
    ChannelNorm,
    ChannelsLast,
    Concat,
    Layer,
    LayerNorm,
    Residual,
    Scale,
    kind_of,
    not_per_position,
)

# The binary operations read between two tensors, and what is said of one with a number.
_TWO_TENSORS = {
    "add": "adds a number to a tensor; symconv reads additions of two branches (a residual "
           "block)",
    "mul": "multiplies a tensor by a number; symconv reads a tensor times a gate computed "
           "from it (x * s, a scale block)",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One layer read from the module, with where it came from for messages."""

    layer: Layer
    where: str  # "nn.MaxPool2d at 'features.3'" or "torch.flatten in the forward"
    features: Value | None = None  # x.view(-1, 400) declares the flattened size
    # x.permute(...): the axes' new order (read in pairs around a channels-last section); for
    # the section, the spatial axes its permutes take (checked against the shapes).
    permute: tuple[int, ...] | None = None
    rank: int | None = None
    # torch_named.py: the named tensor whose spatial size a resize takes (y.shape[-2:]); None
    # for the input of the branch (the forward's input at the top)
    size_of: str | None = None


class NotATree(Exception):
    """The graph is no tree of branches that leave one tensor and meet again (a tensor read
    by several later joins, as in a dense block): torch_named.py reads it with names."""


# A node read into a step; the second argument is where the node's path starts (the input
# of the branch it is in, or the forward's input), which a size taken from a tensor may name.
Reader = Callable[[Any, Any], "Step | None"]


# Arithmetic on sizes (c // groups) is a size too.
_SIZE_ARITHMETIC = (operator.floordiv, operator.mul, operator.add, operator.sub)


def is_size_query(node: Any) -> bool:
    """x.size(0), x.shape[0], x.dim(), x.size(1) // 2: questions about a shape, not layers."""
    if node.op == "call_method" and node.target in ("size", "dim"):
        return True
    if node.op != "call_function":
        return False
    if node.target is getattr:
        return bool(node.args[1] == "shape")
    if node.target in _SIZE_ARITHMETIC:
        operands = [a for a in node.args if hasattr(a, "op")]
        return bool(operands) and all(is_size_query(a) for a in operands)
    return node.target is operator.getitem and is_size_query(node.args[0])


def name_of(node: Any) -> str:
    """How a node is called in messages: 'layer1.0.conv1', Tensor.view, torch.cat."""
    if node.op == "call_module":
        return f"'{node.target}'"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    if target in (operator.add, operator.iadd):
        return "the addition x + y"
    if target in (operator.mul, operator.imul):
        return "the product x * y"
    module = getattr(target, "__module__", None) or "torch"
    return f"{module}.{getattr(target, '__name__', target)}"


def inside(node: Any) -> str:
    """" in the forward of 'features.0' (MyConv)" for a node inside a module that was traced
    into; "" for one in the model's own forward."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path, cls = list(stack.values())[-1]
    return f" in the forward of '{path}' ({getattr(cls, '__name__', cls)})"


def located(node: Any) -> str:
    """A node named with the forward it is in: "torch.cat in the forward", or
    "torch.conv2d in the forward of 'features.0' (MyConv)"."""
    return f"{name_of(node)}{inside(node) or ' in the forward'}"


def is_layer_scale(node: Any) -> bool:
    """Whether the node multiplies a tensor by a tensor the model holds (a get_attr: a
    parameter, as ConvNeXt's layer_scale * x); torch_import reads it as a layer scale."""
    if node.op != "call_function" or node.kwargs or len(node.args) != 2:
        return False
    import torch

    if node.target not in (operator.mul, operator.imul, torch.mul):
        return False
    held = [a for a in node.args if hasattr(a, "op") and a.op == "get_attr"]
    return len(held) == 1 and all(hasattr(a, "op") for a in node.args)


def permutation(node: Any) -> tuple[int, ...] | None:
    """The new order of the axes where the node is x.permute(...) or torch.permute(x, ...),
    negative axes counted from the end; else None."""
    import torch

    if not ((node.op == "call_method" and node.target == "permute")
            or (node.op == "call_function" and node.target is torch.permute)):
        return None
    dims = node.args[1:] or (node.kwargs.get("dims"),)
    if len(dims) == 1 and isinstance(dims[0], tuple | list):
        dims = tuple(dims[0])
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise UnsupportedError(f"{located(node)} with axes {dims}: symconv reads a permute "
                               "of axes given as numbers")
    return tuple(d % len(dims) if d < 0 else d for d in dims)


def to_last(rank: int) -> tuple[int, ...]:
    """The axes' order that puts the channels last: (0, 2, 3, 1) in 2D."""
    return (0, *range(2, rank + 2), 1)


def to_first(rank: int) -> tuple[int, ...]:
    """The axes' order that puts them first again: (0, 3, 1, 2) in 2D."""
    return (0, rank + 1, *range(1, rank + 1))


def _shown(dims: tuple[int, ...]) -> str:
    return f"permute({', '.join(map(str, dims))})"


def channels_last_sections(steps: list[Step]) -> list[Step]:
    """The steps with every pair of permutes, channels last then first again, and the layers
    between them made one channels-last section (a layernorm alone between them: one
    layernorm2d, which is what torchvision's LayerNorm2d computes); an UnsupportedError for
    a permute that is not such a pair, or a layer between them that is not per position."""
    out: list[Step] = []
    i = 0
    while i < len(steps):
        opening = steps[i]
        if opening.permute is None:
            out.append(opening)
            i += 1
            continue
        rank = len(opening.permute) - 2
        if rank < 1 or opening.permute != to_last(rank):
            raise UnsupportedError(
                f"{opening.where} reorders the axes as {_shown(opening.permute)}; symconv "
                f"reads a permute only as the pair that puts the channels last, "
                f"{_shown(to_last(max(rank, 1)))}, and first again, "
                f"{_shown(to_first(max(rank, 1)))}, around {PER_POSITION}")
        j = next((k for k in range(i + 1, len(steps)) if steps[k].permute is not None), None)
        if j is None or steps[j].permute != to_first(rank):
            found = ("" if j is None else
                     f" (the next permute, {steps[j].where}, is {_shown(steps[j].permute or ())})")
            raise UnsupportedError(
                f"{opening.where} puts the channels last, but no {_shown(to_first(rank))} "
                f"puts them first again in the same branch{found}; symconv reads the pair "
                f"around {PER_POSITION}")
        closing = steps[j]
        body = steps[i + 1:j]
        if isinstance(opening.layer, Bind):  # (torch_named.py names a tensor read twice)
            raise UnsupportedError(
                f"{opening.where} puts the channels last in a tensor that other layers read "
                f"too; symconv reads a permute only as the pair around {PER_POSITION}")
        for step in body:
            why = not_per_position(step.layer)
            if why is not None:
                raise UnsupportedError(
                    f"{step.where} ({kind_of(step.layer)}) stands between {opening.where} "
                    f"and {closing.where}, with the channels last: {why}")
        layers = tuple(step.layer for step in body)
        where = f"the layers between {opening.where} and {closing.where}"
        section: Step | None
        match layers:
            case ():
                section = None  # the axes put back as they were: nothing happens
            case (LayerNorm(normalized_shape=(channels,)) as norm,):
                section = Step(ChannelNorm(channels, norm.affine, norm.bias, norm.source,
                                           norm.shared), body[0].where, rank=rank)
            case _:
                section = Step(ChannelsLast(layers), where, rank=rank)
        if isinstance(closing.layer, Bind):  # the section's output is a named tensor
            section = section or Step(Activation("identity"), closing.where)
            section = dataclasses.replace(section, layer=Bind(closing.layer.name,
                                                              section.layer))
        if section is not None:
            out.append(section)
        i = j + 1
    return out


def _join_kind(node: Any) -> str | None:
    """'add', 'mul' or 'cat' where the node joins tensors, else None."""
    if node.op != "call_function" or is_layer_scale(node):
        return None
    import torch

    if node.target in (operator.add, operator.iadd, torch.add):
        return "add"
    if node.target in (torch.cat, torch.concat):
        return "cat"
    if node.target in (operator.mul, operator.imul, torch.mul):
        return "mul"
    return None


class _Walk:
    def __init__(self, read: Reader, start: Any):
        self.read, self.start = read, start
        self.forks: dict[Any, Any] = {}
        self.seen: set[Any] = set()  # every node read into a step: none is read twice
        self.before: dict[Any, Any] = {}  # previous(node), worked out once per node

    def inputs(self, node: Any) -> list[Any]:
        kind = _join_kind(node)
        if kind == "cat":  # torch.cat(xs, 1), or torch.cat(tensors=xs, dim=1)
            tensors = node.args[0] if node.args else node.kwargs.get("tensors")
            if not isinstance(tensors, list | tuple):
                raise UnsupportedError(f"{name_of(node)} of something other than a list")
            return list(tensors)
        if kind in _TWO_TENSORS:
            # x + y, torch.add(x, y), torch.add(input=x, other=y); x * s, s * x, torch.mul
            tensors = [a for a in (*node.args, *node.kwargs.values()) if hasattr(a, "op")]
            if len(tensors) != 2:
                raise UnsupportedError(f"{located(node)} {_TWO_TENSORS[kind]}")
            return tensors
        # A tensor the model holds (a layer scale's parameter) is not a path.
        return [a for a in node.all_input_nodes if not is_size_query(a) and a.op != "get_attr"]

    def previous(self, node: Any) -> Any:
        """The node before this one on its path: its input, or for a join, the fork."""
        if node not in self.before:
            self.before[node] = self._previous(node)
        return self.before[node]

    def _previous(self, node: Any) -> Any:
        if _join_kind(node):
            return self.fork(node)
        inputs = self.inputs(node)
        if len(inputs) != 1:
            raise UnsupportedError(
                f"{name_of(node)}{inside(node)} combines {len(inputs)} tensors; symconv reads "
                "branches that meet in an addition (a residual block) or torch.cat (a "
                "concatenation)"
            )
        return inputs[0]

    def path_back(self, node: Any) -> list[Any]:
        """The nodes from `node` back to the input, each branch skipped at its join."""
        path = [node]
        while path[-1] is not self.start:
            path.append(self.previous(path[-1]))
        return path

    def fork(self, join: Any) -> Any:
        """Where the paths into a join went apart: the nearest node on all of them."""
        if join not in self.forks:
            paths = [self.path_back(n) for n in self.inputs(join)]
            shared = set.intersection(*(set(p) for p in paths[1:])) if len(paths) > 1 else set()
            self.forks[join] = next(n for n in paths[0] if n in shared or len(paths) == 1)
        return self.forks[join]

    def steps(self, end: Any, start: Any) -> list[Step]:
        """The steps from `start` (excluded) to `end` (included)."""
        steps: list[Step] = []
        node = end
        while node is not start:
            if node is self.start or node in self.seen:
                # A branch that starts elsewhere, or a node on more than one branch: as a
                # tree, its layers would be copied (torch_named.py names the tensors).
                raise NotATree
            self.seen.add(node)
            before = self.previous(node)
            if _join_kind(node):
                steps.append(self.block(node))
            else:
                step = self.read(node, start)
                if step is not None:
                    steps.append(step)
            node = before
        return channels_last_sections(steps[::-1])

    def block(self, join: Any) -> Step:
        fork = self.fork(join)
        branches = [tuple(s.layer for s in self.steps(n, fork)) for n in self.inputs(join)]
        where = located(join)
        if _join_kind(join) == "cat":
            dim = join.args[1] if len(join.args) > 1 else join.kwargs.get("dim", 0)
            if dim != 1:
                raise UnsupportedError(
                    f"{where} joins along dim={dim}; symconv reads concatenations of the "
                    "channels (dim=1)"
                )
            # A branch that is the input itself (a U-Net's skip) is written as `identity`,
            # as the language writes it: a concat body needs a layer.
            return Step(Concat(tuple(b or (Activation("identity"),) for b in branches)), where)
        if _join_kind(join) == "mul":
            gates = [b for b in branches if b]
            if len(gates) == 2:  # two tensors computed from one: named (torch_named.py)
                raise NotATree
            if len(gates) != 1:
                raise UnsupportedError(
                    f"{where} multiplies "
                    + ("a tensor by itself" if not gates else "two tensors computed from one")
                    + "; symconv reads a tensor times a gate computed from it (x * s, as in "
                    "squeeze-and-excitation: a scale block)"
                )
            return Step(Scale(gates[0]), where)
        body, shortcut = branches
        if not body:
            body, shortcut = shortcut, body
        if not body:
            raise UnsupportedError(f"{where} adds a tensor to itself")
        return Step(Residual(body, shortcut), where)


def read_graph(graph: Any, read: Reader) -> list[Step]:
    """The steps of a traced forward with one input and one output, blocks nested."""
    inputs = [n for n in graph.nodes if n.op == "placeholder"]
    if len(inputs) != 1:
        names = ", ".join(f"'{n.target}'" for n in inputs)
        raise UnsupportedError(
            f"the forward takes {len(inputs)} inputs ({names}); symconv reads models with one "
            "input tensor"
        )
    (output,) = [n for n in graph.nodes if n.op == "output"]
    result = _the_output(output.args[0])
    return _Walk(read, inputs[0]).steps(result, inputs[0])


def _the_output(result: Any) -> Any:
    """The tensor a forward returns: itself, or the one value of a dict, tuple or list (a
    segmentation model's {'out': ...})."""
    if hasattr(result, "op"):
        return result
    named = (list(result.items()) if isinstance(result, dict)
             else list(enumerate(result)) if isinstance(result, tuple | list) else [])
    tensors = [(name, value) for name, value in named if hasattr(value, "op")]
    if len(tensors) == 1 and len(named) == 1:
        return tensors[0][1]
    shown = ", ".join(repr(name) for name, _ in named) or repr(result)
    raise UnsupportedError(
        f"the forward returns {len(named) or 'no'} outputs ({shown}); symconv reads models "
        "with one output tensor (alone, or the one value of a dict, tuple or list)"
    )
