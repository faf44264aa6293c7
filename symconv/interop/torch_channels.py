"""Channel operations in a traced forward: ShuffleNet's channel split and channel shuffle.

x.chunk(n, dim=1) is read at each part taken from it (x.chunk(n, 1)[i] is a Chunk); the
split itself changes nothing. The shuffle is three nodes that mean one layer only together,

    x.view(b, g, c // g, h, w) -> transpose(1, 2) [-> contiguous()] -> view(b, c, h, w)

(the sizes read from x.size(), the last view's c also -1), so each of them checks the whole
pattern: the first two read as nothing, the last as ChannelShuffle(g). Any other view,
transpose or indexing is refused by name.
"""

from __future__ import annotations

import operator
from typing import Any

from symconv.errors import UnsupportedError
from symconv.interop.torch_graph import located
from symconv.language.layers import ChannelShuffle, Chunk, Layer


def read_chunk(node: Any) -> None:
    """x.chunk(n, dim=1) or torch.chunk(x, n, 1): nothing yet, its parts are read where
    they are taken."""
    _chunk_parts(node)


def _chunk_parts(node: Any) -> int:
    """n of a chunk along the channels; any other axis is refused."""
    chunks = node.args[1] if len(node.args) > 1 else node.kwargs.get("chunks")
    dim = node.args[2] if len(node.args) > 2 else node.kwargs.get("dim", 0)
    if dim != 1 or not isinstance(chunks, int) or isinstance(chunks, bool):
        raise UnsupportedError(
            f"{located(node)} with chunks={chunks!r}, dim={dim!r}: symconv reads a split of "
            "the channels into a given number of parts, x.chunk(n, dim=1)")
    return chunks


def read_part(node: Any) -> Layer:
    """x.chunk(n, dim=1)[i]: a Chunk; any other indexing of a tensor is refused."""
    source, index = node.args
    if _is_call(source, "chunk") and isinstance(index, int) and not isinstance(index, bool):
        chunks = _chunk_parts(source)
        if index < 0:
            index += chunks
        return Chunk(chunks, index)
    raise UnsupportedError(
        f"{located(node)} is not something symconv reads: it indexes a tensor with "
        f"{index!r}, and symconv reads indexing only as a part of a split of the channels, "
        "x.chunk(n, dim=1)[i]")


def _is_call(node: Any, name: str) -> bool:
    """Whether the node calls Tensor.name or torch.name."""
    if not hasattr(node, "op"):
        return False
    if node.op == "call_method":
        return bool(node.target == name)
    return node.op == "call_function" and getattr(node.target, "__name__", None) == name


def shuffle_part(node: Any) -> Layer | None:
    """For a node of the channel shuffle pattern: None for its first view and its transpose,
    ChannelShuffle(g) for its last view. A transpose outside the pattern is refused; a view
    outside it is left to the caller (it may be a flatten) by raising LookupError."""
    if _is_call(node, "transpose"):
        last = _only_user(node)
        if last is not None and _is_call(last, "contiguous"):
            last = _only_user(last)
        if last is not None and _groups(last) is not None:
            return None
        raise UnsupportedError(
            f"{located(node)}: symconv reads a transpose only inside a channel shuffle, "
            "x.view(b, g, c // g, h, w).transpose(1, 2).view(b, c, h, w)")
    groups = _groups(node)
    if groups is not None:
        return ChannelShuffle(groups)
    user = _only_user(node)
    if user is not None and _is_call(user, "transpose") and _groups(_after(user)) is not None:
        return None  # the first view of a shuffle
    raise LookupError


def _after(transpose: Any) -> Any:
    """The node after a transpose, past a contiguous()."""
    user = _only_user(transpose)
    if user is not None and _is_call(user, "contiguous"):
        user = _only_user(user)
    return user


def _only_user(node: Any) -> Any:
    users = list(node.users)
    return users[0] if len(users) == 1 else None


def _shape(view: Any) -> list[Any]:
    shape = list(view.args[1:])
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = list(shape[0])
    return shape


def _groups(last: Any) -> int | None:
    """g where `last` is the final view of a channel shuffle of g groups, else None."""
    if last is None or not (_is_call(last, "view") or _is_call(last, "reshape")):
        return None
    before = last.args[0]
    if _is_call(before, "contiguous"):
        before = before.args[0]
    if not _is_call(before, "transpose") or _only_user(before) is None:
        return None
    dims = sorted(a for a in (*before.args[1:], *before.kwargs.values()))
    first = before.args[0]
    if dims != [1, 2] or not (_is_call(first, "view") or _is_call(first, "reshape")) or (
            _only_user(first) is not before):
        return None
    x, split, merged = first.args[0], _shape(first), _shape(last)
    if len(split) < 4 or len(merged) != len(split) - 1:
        return None
    groups = split[1]
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        return None
    channels = _size_of(x, 1)
    spatial = [_size_of(x, k) for k in range(2, len(merged))]
    if not (_size_of(x, 0) is not None and split[0] is merged[0] is _size_of(x, 0)
            and channels is not None and _floordiv(split[2], channels, groups)
            and (merged[1] == -1 or merged[1] is channels)
            and all(s is not None for s in spatial)
            and split[3:] == spatial == merged[2:]):
        return None
    return groups


def _size_of(x: Any, axis: int) -> Any:
    """The node x.size()[axis] (or x.shape[axis]) among x's users, if there is one."""
    for holder in x.users:
        method = _is_call(holder, "size") and len(holder.args) == 1
        attribute = holder.op == "call_function" and holder.target is getattr
        if not (method or (attribute and holder.args[1] == "shape")):
            continue
        for item in holder.users:
            if item.op == "call_function" and item.target is operator.getitem and (
                    item.args[1] == axis):
                return item
    return None


def _floordiv(node: Any, channels: Any, groups: int) -> bool:
    """Whether node is channels // groups."""
    return (hasattr(node, "op") and node.op == "call_function"
            and node.target is operator.floordiv and node.args[0] is channels
            and node.args[1] == groups)
