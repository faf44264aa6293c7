"""A table folded to a depth, as torchinfo's `depth` folds its summary: the rows nested no
deeper than `depth`, each row deeper folded into its parent, whose numbers are then the sums
of all it holds.

For a torch model (rows named by module path, from_torch) the nesting is the model's own:
a row per module whose path has at most `depth` parts ('layer1' at depth 1, 'layer1.0' at 2,
'layer1.0.conv1' at 3), the modules inside it nested under it, as torchinfo shows them. A
module that has no row of its own ('layer1', an nn.Sequential) gets one, of kind 'module',
summing the rows inside it. What a block adds of its own (the sum of a residual, the
product of a scale) belongs to the module around its layers (their common path); a layer
without a module (a function) belongs to the module that most likely called it (see
_pieces), or is a row of its own at the top. For a description, whose rows have no module
names, the nesting is the blocks': a block at `depth` keeps its row (which already sums its
layers) and shows none of its layers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy

from symconv.errors import InvalidValueError
from symconv.language.values import value_of

if TYPE_CHECKING:
    from symconv.network import LayerRecord

# The columns a folded row sums over what it holds.
SUMMED = ("params", "neurons", "connections", "macs", "trainable", "non_trainable",
          "param_bytes", "activation_bytes")


def fold_depth(given: object, name: str = "depth") -> int:
    """The depth a table is folded to, checked: a whole number, 1 or more; `name` is how
    messages call it."""
    value = value_of(name, given)
    if not isinstance(value, int) or value < 1:
        raise InvalidValueError(f"{name}: expected a whole number of levels, 1 or more (1: the "
                                f"top-level modules only), got {value}")
    return value


def fold(records: Sequence[LayerRecord], depth: int) -> tuple[LayerRecord, ...]:
    """The rows of a table nested no deeper than `depth` (see the module's docstring)."""
    if not any(r.name for r in _all(records)):
        return _truncated(records, depth, 1)
    top: list[_Node] = []
    for piece in _pieces(records, (), [()]):
        key = piece.path[:depth]
        if not key:  # no module: a row of its own at the top
            top.append(_Node((), [piece], held=[piece]))
            continue
        level = top
        for j in range(1, len(key) + 1):
            if not level or level[-1].path != key[:j] or _called_again(level[-1], piece):
                level.append(_Node(key[:j]))
            node = level[-1]
            node.pieces.append(piece)
            level = node.children
        node.held.append(piece)
    return tuple(_row(node, i) for i, node in enumerate(top, start=1))


def _called_again(node: _Node, piece: _Piece) -> bool:
    """Whether the piece is a second call of the module the node already is (a module used
    twice in a row is two rows, as torchinfo shows it)."""
    name = piece.record.name
    return bool(name) and piece.path == node.path and any(
        p.record.name == name for p in node.held)


def _all(records: Sequence[LayerRecord]) -> Iterator[LayerRecord]:
    for r in records:
        yield r
        yield from _all(r.children)


def _truncated(records: Sequence[LayerRecord], depth: int, level: int
               ) -> tuple[LayerRecord, ...]:
    """A description's rows: a block at `depth` without its layers."""
    return tuple(dataclasses.replace(r, children=() if level >= depth else
                                     _truncated(r.children, depth, level + 1))
                 for r in records)


@dataclass(frozen=True, slots=True)
class _Piece:
    """What one row adds of its own (a block: its numbers less its layers'), and the module
    path it belongs to."""

    path: tuple[str, ...]
    record: LayerRecord
    whole: bool  # the record itself, not a block's own part


@dataclass(slots=True)
class _Node:
    """A row of the folded table: the module `path`, every piece inside it (`pieces`), the
    pieces folded into it (`held`: those of its path or deeper, below the depth), and the
    modules nested under it."""

    path: tuple[str, ...]
    pieces: list[_Piece] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)
    held: list[_Piece] = field(default_factory=list)


def _pieces(records: Sequence[LayerRecord], around: tuple[str, ...],
            caller: list[tuple[str, ...]]) -> Iterator[_Piece]:
    """The pieces of the rows in order, a block's own part after its layers (so that the
    last piece of a module gives its output shape). A function (a row without a module)
    belongs to the module that most likely called it, `caller[0]`, where that lies inside
    the block (`around`): right after a block, the block's module (F.relu after the sum of
    a residual in a BasicBlock's forward, torch.channel_shuffle after ShuffleNet's concat);
    inside a block, right after a layer, the module around that layer (F.relu after
    'inception3a.branch1.bn' to 'inception3a.branch1'). At the top, after a layer, a
    function belongs to no module (torch.flatten after 'avgpool')."""
    branch = None
    for r in records:
        if r.path != branch:  # a new branch of a block: nothing ran before on it
            branch, caller[0] = r.path, ()
        if not r.children:
            if r.name:
                path = tuple(r.name.split("."))
                caller[0] = path[:-1] if around else ()
            else:
                path = caller[0] if len(caller[0]) > len(around) and \
                    caller[0][:len(around)] == around else around
            yield _Piece(path, r, True)
            continue
        names = [tuple(c.name.split(".")) for c in _all(r.children) if c.name]
        path = _common(names) if names else around
        yield from _pieces(r.children, path, [()])
        own = {f: getattr(r, f) - sum((getattr(c, f) for c in r.children), sympy.S.Zero)
               for f in SUMMED}
        yield _Piece(path, dataclasses.replace(r, children=(), **own), False)
        caller[0] = path


def _common(paths: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    n = 0
    while n < len(first) and all(len(p) > n and p[n] == first[n] for p in paths):
        n += 1
    return first[:n]


def _row(node: _Node, index: int) -> LayerRecord:
    """The node as a table row, numbered `index` among its siblings."""
    children = tuple(_row(child, i) for i, child in enumerate(node.children, start=1))
    (first, *_), last = node.pieces, node.pieces[-1]
    if len(node.pieces) == 1 and first.whole and first.path == node.path and not children:
        return dataclasses.replace(first.record, index=index, path=0)
    record = last.record
    # (the records' own SymPy values summed: no text reaches sympify)
    sums: dict[str, Any] = {
        f: sympy.sympify(sum((getattr(p.record, f) for p in node.pieces), sympy.S.Zero),
                         strict=True)
        for f in SUMMED}
    return dataclasses.replace(
        record, index=index, path=0, kind="module" if node.path else record.kind,
        input_shape=first.record.input_shape, children=children,
        name=".".join(node.path), depth=len(node.path) or record.depth, kernel_shape=(),
        shared=None, aligned=_aligned(node.held), condition=_condition(node.held),
        warnings=tuple(w for p in node.held for w in p.record.warnings), **sums)


def _condition(held: Sequence[_Piece]) -> Any:
    """Where the shapes of the branches of the blocks folded into a row agree (None: always)."""
    found = [p.record.condition for p in held if not p.whole and p.record.condition is not None]
    return sympy.And(*found) if found else None


def _aligned(held: Sequence[_Piece]) -> Any:
    """The first of the blocks folded into a row whose branches are not always aligned, as
    it says (None: none)."""
    return next((p.record.aligned for p in held if not p.whole
                 and p.record.aligned is not None and p.record.aligned is not True), None)
