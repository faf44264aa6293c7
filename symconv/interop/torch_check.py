"""symconv's numbers beside PyTorch's: the network built in torch and run on the meta device.

The meta device computes shapes without data or memory, so even VGG-16's 138 million
parameters cost nothing; each layer's output shape and parameter count are read with hooks.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy

from symconv.algebra.symbols import free_names
from symconv.engine.records import Record
from symconv.errors import SymconvError
from symconv.interop._torch import require_torch
from symconv.interop.torch_code import to_torch_module
from symconv.language.layers import ChannelsLast, Concat, Repeat, Residual, Scale
from symconv.language.names import has_names
from symconv.present.values import row_label, text_shape
from symconv.render.table import unused_note

if TYPE_CHECKING:
    from symconv.network import Network, Unused

Ints = tuple[int, ...]
# Value sets random_values draws in all, whatever --sizes asks: each is a trace of the
# network (a few milliseconds, more for a long one), so --sizes 100 on a network almost no
# value fits stays about a second instead of 20,000 traces.
MAX_DRAWS = 200


@dataclass(frozen=True, slots=True)
class Row:
    """One layer: what symconv says and what torch did (None where torch stopped before)."""

    label: str  # as in `symconv table`: 3, 3.a1, 3.b1, 4.2
    kind: str
    shape: Ints
    params: int
    torch_shape: Ints | None
    torch_params: int | None

    @property
    def agrees(self) -> bool:
        return (self.shape, self.params) == (self.torch_shape, self.torch_params)


@dataclass(frozen=True, slots=True)
class Comparison:
    """One input size: the values used, the input shape, a row per layer, and torch's error
    message if torch rejected the network where symconv accepted it."""

    values: Mapping[str, int]
    input_shape: Ints
    rows: tuple[Row, ...]
    torch_error: str | None = None
    # from_torch: parameters of the original model that its forward never uses; neither
    # side counts them (the module compared is the one to_torch_code writes).
    unused: tuple[Unused, ...] = ()

    @property
    def agrees(self) -> bool:
        return self.torch_error is None and all(row.agrees for row in self.rows)


def _ints(values: Sequence[object]) -> Ints:
    return tuple(int(sympy.sympify(v, strict=True)) for v in values)


def compare(network: Network, values: Mapping[str, int]) -> Comparison:
    """symconv's records and torch's meta-device forward for one set of values."""
    torch = require_torch()
    records = network.records(**values)
    input_shape = _ints(records[0].input_shape)
    module = to_torch_module(network, device="meta", **values).eval()
    # A network with named tensors is a module whose rows are its attributes layer1, ...
    rows_of = (list(module) if not has_names(network.layers)
               else [getattr(module, f"layer{r.index}") for r in records])
    pairs = _pairs(records, rows_of)
    # Every call's output shape, in call order: a module used twice is called twice.
    calls: dict[int, list[Ints]] = {}

    def hook(layer: Any, inputs: object, output: Any) -> None:
        calls.setdefault(id(layer), []).append(tuple(output.shape[1:]))

    for child in {id(child): child for _, _, child in pairs}.values():
        child.register_forward_hook(hook)
    error = None
    try:
        with torch.no_grad():
            module(torch.empty(1, *input_shape, device="meta"))
    except Exception as problem:  # torch rejects with RuntimeError, ValueError, ...
        error = str(problem).strip().splitlines()[0] if str(problem).strip() else repr(problem)
    owned = _owned_params(pairs)
    taken: dict[int, int] = {}
    rows = []
    for label, record, child in pairs:
        k = taken[id(child)] = taken.get(id(child), -1) + 1
        made = calls.get(id(child), [])
        torch_shape, torch_params = (made[k], owned[label]) if k < len(made) else (None, None)
        rows.append(Row(label, record.kind, _ints(record.output_shape),
                        int(sympy.sympify(record.params, strict=True)), torch_shape, torch_params))
    return Comparison(dict(values), input_shape, tuple(rows), error, network.unused_parameters)


def _owned_params(pairs: Sequence[tuple[str, Record, Any]]) -> dict[str, int]:
    """Each row's parameters as PyTorch counts them, every tensor once: a layer's are those no
    earlier layer used (as model.parameters() lists them), a block's those of its layers."""
    seen: set[int] = set()
    owned: dict[str, int] = {}
    for label, record, child in pairs:
        if not record.children:
            fresh = [p for p in child.parameters() if id(p) not in seen]
            seen |= {id(p) for p in fresh}
            owned[label] = sum(p.numel() for p in fresh)
    for label, record, _ in pairs:
        if record.children:
            owned[label] = sum(n for inner, n in owned.items() if inner.startswith(label + "."))
    return owned


def _pairs(records: Sequence[Record], modules: Sequence[Any], parent: str = ""
           ) -> list[tuple[str, Record, Any]]:
    """Each record with its label and the torch module to_torch_code wrote for it, blocks
    followed by the layers inside them (as `symconv table` lists them)."""
    pairs = []
    for record, module in zip(records, modules, strict=True):
        label = row_label(parent, record.index, record.path)
        pairs.append((label, record, module))
        inner = _inner_modules(record, module)
        pairs += _pairs(record.children, inner, label)
    return pairs


def _inner_modules(record: Record, module: Any) -> list[Any]:
    """The modules of a block's children, in the order of record.children."""
    match record.layer:
        case Repeat():
            return list(module)
        case Residual(shortcut=shortcut):
            return [*module.body, *(module.shortcut if shortcut else ())]
        case Concat():
            return [child for branch in module.branches for child in branch]
        case Scale() | ChannelsLast():
            return list(module.body)
        case _:
            return []


def random_values(
    network: Network, given: Mapping[str, int], count: int, seed: int
) -> list[dict[str, int]]:
    """`count` random values for the symbols left after `given`, each set one that symconv
    accepts (input sizes drawn from 1..512, other symbols from 1..16), from at most
    MAX_DRAWS draws; [given] if none left."""
    bound = network.bind(given)
    names = bound.symbols
    if not names:
        return [dict(given)]
    input_names = set().union(*(free_names(v) for v in bound.input_shape[1:]))
    draw = random.Random(seed)
    found: list[dict[str, int]] = []
    for _ in range(MAX_DRAWS):
        values = {n: draw.randint(1, 512 if n in input_names else 16) for n in names}
        try:
            bound.records(**values)
        except SymconvError:
            continue
        found.append({**given, **values})
        if len(found) == count:
            return found
    if not found:
        raise SymconvError(
            f"found no values for {', '.join(names)} that give a valid network; "
            "give them with --set NAME=VALUE"
        )
    raise SymconvError(
        f"found {len(found)} of the {count} value sets asked for ({', '.join(names)}) in "
        f"{MAX_DRAWS} random draws; ask for fewer with --sizes, or give values with --set "
        "NAME=VALUE"
    )


def report(comparison: Comparison) -> str:
    """The comparison as an aligned text table, with a verdict line."""
    shape = text_shape(comparison.input_shape)
    drawn = ", ".join(f"{k}={v}" for k, v in sorted(comparison.values.items()))
    lines = [f"input {shape}" + (f" ({drawn})" if drawn else "")]
    table = [("#", "layer", "symconv shape", "torch shape", "symconv params", "torch params", "")]
    for row in comparison.rows:
        torch_shape = "-" if row.torch_shape is None else text_shape(row.torch_shape)
        torch_params = "-" if row.torch_params is None else str(row.torch_params)
        verdict = "ok" if row.agrees else "DIFFERENT" if row.torch_shape is not None else ""
        table.append((row.label, row.kind, text_shape(row.shape), torch_shape,
                      str(row.params), torch_params, verdict))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        cells = [c.rjust(w) if i in (0, 4, 5) else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append(("  " + "  ".join(cells)).rstrip())
    if comparison.torch_error is not None:
        lines.append(f"torch rejected the network: {comparison.torch_error}")
    lines += [unused_note(u) for u in comparison.unused]
    differ = sum(1 for row in comparison.rows if not row.agrees)
    if comparison.agrees:
        n = len(comparison.rows)
        lines.append(f"all {n} layers agree" if n > 1 else "the layer agrees")
    else:
        lines.append(f"{differ} of {len(comparison.rows)} layers differ")
    return "\n".join(lines) + "\n"



