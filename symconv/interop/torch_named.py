"""A torch.fx graph -> symconv's layers with named tensors, where it is no tree of blocks.

torch_graph.py reads branches that leave one tensor and meet again as blocks. A graph where
a tensor is read by several later joins (DenseNet's dense block: each layer reads the
concatenation of every output before it), or a product of two tensors computed from one
(LR-ASPP's head), is no such tree: as blocks its layers would be copied. Here the graph is
read once, in its own order: a tensor read by a join, or by a layer that does not follow
it, becomes a binding (`name = layer`, named as torch.fx names the node), a join reads the
names (`concat a b`, `add a b`, `mul a b`), and a layer whose input is not the previous
layer's output starts with `use name`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from symconv.errors import UnsupportedError
from symconv.interop.torch_graph import (
    Reader,
    Step,
    _join_kind,
    _the_output,
    _Walk,
    channels_last_sections,
    inside,
    is_size_query,
    located,
    name_of,
)
from symconv.interop.torch_sizes import _shape_slice
from symconv.language.layers import Bind, Join, JoinOp

_OPS = {"cat": JoinOp.CONCAT, "add": JoinOp.ADD, "mul": JoinOp.MUL}


def read_named(graph: Any, read: Reader
               ) -> tuple[list[Step], str, tuple[tuple[str, str], ...]]:
    """The steps of a traced forward with one input, each tensor that more than one later
    node reads (or that a join reads) named; the input's name; and where the forward
    returns several tensors (a dict or a tuple), each one's key and name (the first is
    where the steps end)."""
    inputs = [n for n in graph.nodes if n.op == "placeholder"]
    if len(inputs) != 1:
        raise UnsupportedError(f"the forward takes {len(inputs)} inputs; symconv reads models "
                               "with one input tensor")
    (start,) = inputs
    (output,) = [n for n in graph.nodes if n.op == "output"]
    results = _outputs(output.args[0])
    result = results[0][1]
    wanted = set().union(*(_ancestors(node) for _, node in results))
    walk = _Walk(read, start)
    origin: dict[Any, Any] = {start: start}  # node -> the node whose tensor it is
    items: list[_Item] = []
    current = start
    for node in graph.nodes:
        if node not in wanted or node is start or is_size_query(node):
            continue
        kind = _join_kind(node)
        if kind is not None:
            joined = [origin[_tensor(t, node)] for t in walk.inputs(node)]
            _check_dim(node, kind)
            items.append(_Item(node, Step(Join(_OPS[kind], ()), located(node)), joined))
            origin[node] = current = node
            continue
        inputs = walk.inputs(node)
        if len(inputs) != 1:
            raise UnsupportedError(
                f"{name_of(node)}{inside(node)} combines {len(inputs)} tensors; symconv reads "
                "tensors that meet in an addition, a product or torch.cat")
        source = origin[inputs[0]]
        # F.interpolate(x, size=y.shape[-2:]) with y any tensor: y is named, and its size put
        # in once the shapes are known (torch_import._check)
        base = _size_base(node)
        step = read(node, start if base is None else base)
        if step is None:  # a node that changes nothing: its tensor is its input's
            origin[node] = source
            continue
        if source is not current:  # go on from a named tensor
            items.append(_Item(None, Step(Join(JoinOp.USE, ()), located(node)), [source]))
        sized = [] if base is None or origin[base] is start else [origin[base]]
        items.append(_Item(node, step, sized))
        origin[node] = current = node
    if origin[result] is not current:
        items.append(_Item(None, Step(Join(JoinOp.USE, ()), "the forward's output"),
                           [origin[result]]))
    named = {n for item in items for n in item.joined}
    outputs: tuple[tuple[str, str], ...] = ()
    if len(results) > 1:
        named |= {origin[node] for _, node in results}
        outputs = tuple((key, origin[node].name) for key, node in results)
    steps = [item.step_named(named, start) for item in items]
    # a pair of permutes around per-position layers: one channels-last section, as in a tree
    return channels_last_sections(steps), start.name, outputs


@dataclass(frozen=True, slots=True)
class _Item:
    """One step in the graph's order: a layer's node (None for a `use`), and the nodes
    whose tensors a join reads."""

    node: Any
    step: Step
    joined: list[Any]

    def step_named(self, named: set[Any], start: Any) -> Step:
        """The step with the names it reads, and its own where a later node reads it."""
        step = self.step
        if isinstance(step.layer, Join):
            join = Join(step.layer.op, tuple(n.name for n in self.joined))
            step = Step(join, step.where, step.features)
        elif self.joined:  # a resize to a named tensor's size
            step = dataclasses.replace(step, size_of=self.joined[0].name)
        if self.node is not None and self.node in named and self.node is not start:
            step = dataclasses.replace(step, layer=Bind(self.node.name, step.layer))
        return step


def _outputs(result: Any) -> list[tuple[str, Any]]:
    """(key, tensor) of each output: one tensor (key ''), or every value of a dict, tuple
    or list of tensors (keys as given, or 0, 1, ...)."""
    if hasattr(result, "op"):
        return [("", result)]
    named = (list(result.items()) if isinstance(result, dict)
             else list(enumerate(result)) if isinstance(result, tuple | list) else [])
    if not named or not all(hasattr(value, "op") for _, value in named):
        _the_output(result)  # refused, in its words (it takes one tensor only)
    return [(str(key), value) for key, value in named]


def _size_base(node: Any) -> Any:
    """The tensor y of F.interpolate(x, size=y.shape[-2:]) (or y.size()[2:]), else None."""
    if node.op != "call_function" or getattr(node.target, "__name__", "") != "interpolate":
        return None
    size = node.args[1] if len(node.args) > 1 else node.kwargs.get("size")
    if not hasattr(size, "op"):
        return None
    base, _ = _shape_slice(size)
    return base


def _tensor(value: Any, join: Any) -> Any:
    if not hasattr(value, "op"):
        raise UnsupportedError(f"{located(join)} joins something other than tensors")
    return value


def _check_dim(node: Any, kind: str) -> None:
    if kind != "cat":
        return
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    if dim != 1:
        raise UnsupportedError(f"{located(node)} joins along dim={dim}; symconv reads "
                               "concatenations of the channels (dim=1)")


def _ancestors(result: Any) -> set[Any]:
    """The nodes the output is computed from (itself included): nodes outside are never
    run for it, and are left out."""
    found, stack = set(), [result]
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        stack.extend(node.all_input_nodes)
    return found
