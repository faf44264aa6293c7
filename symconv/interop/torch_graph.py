"""A torch.fx graph -> symconv's layers, with branches as blocks.

The graph is walked backwards from the output. A node that joins tensors (x + y, torch.add,
torch.cat along the channels) is a block: each of its inputs is followed back to the node
where the paths forked, and each path becomes a branch (an empty one where the input is the
fork itself, as in an identity shortcut). Branches may nest.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from symconv.algebra.symbols import Value
from symconv.errors import UnsupportedError
from symconv.language.layers import Activation, Concat, Layer, Residual, Scale

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


def _join_kind(node: Any) -> str | None:
    """'add', 'mul' or 'cat' where the node joins tensors, else None."""
    if node.op != "call_function":
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
        return [a for a in node.all_input_nodes if not is_size_query(a)]

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
        return steps[::-1]

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
