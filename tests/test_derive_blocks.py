"""Derivations inside blocks: every inner layer's numbers are the engine's (an oracle over
every example), identical repeat passes are derived once, residual blocks show both
paths, concats every branch and the channel sum; golden files for ResNet-18's strided
block with its 1 x 1 shortcut and U-Net's transposed convolutions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sympy

import symconv
from symconv.derive.derivation import LayerDerivation, derive
from symconv.derive.steps import Quantity, evaluate
from symconv.documents.layout import Seen
from symconv.documents.notes import group_lines, group_title, layer_groups
from symconv.engine.records import Record
from symconv.present.latex import digit_groups
from symconv.present.values import row_label

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.net"))
BLOCKS = "input 8 x 32 x 32\n"


def _records(records: tuple[Record, ...], parent: str = "") -> Iterator[tuple[str, Record]]:
    for r in records:
        label = row_label(parent, r.index, r.path)
        yield label, r
        yield from _records(r.children, label)


def _inner(layers: tuple[LayerDerivation, ...]) -> Iterator[LayerDerivation]:
    for layer in layers:
        if layer.label:
            yield layer
        for part in layer.parts:
            yield from _inner(part.layers)


def _axes(rank: int) -> tuple[str, ...]:
    return {1: ("F",), 2: ("C", "L"), 3: ("C", "H", "W"), 4: ("C", "D", "H", "W")}[rank]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_inner_layers_derive_the_engines_numbers(path: Path) -> None:
    """Oracle: each size and count derived inside a block is the one the table gives the
    layer with that row label, and every line of it evaluates to that value."""
    network = symconv.parse(path.read_text())
    by_label = dict(_records(network.records()))
    checked = 0
    for layer in _inner(derive(network).layers):
        record = by_label[layer.label]
        assert record.kind == layer.kind
        names = {f"{axis}_{layer.label}": v
                 for axis, v in zip(_axes(len(record.output_shape)), record.output_shape,
                                    strict=True)}
        for step in layer.steps:
            for line in step.lines()[1:]:
                assert evaluate(line) == step.value, step
            if step.quantity is Quantity.PARAMS:
                assert step.value == record.params, (layer.label, step)
                checked += 1
            elif step.target.name in names:
                assert step.value == sympy.sympify(names[step.target.name]), step
                checked += 1
    has_blocks = any(r.children for r in network.records())
    assert (checked > 0) == has_blocks, (path.stem, checked)


@pytest.mark.parametrize(
    ("text", "titles"),
    [
        # the same numbers on every pass: derived once
        ("repeat 3 {\n conv 8 k=3 p=1\n relu\n}",
         [("passes 1–3, the same numbers each time", "× 3")]),
        # a stride halves the size on every pass: each pass its own
        ("repeat 3 {\n conv 8 k=3 s=2 p=1\n}",
         [("pass 1", ""), ("pass 2", ""), ("pass 3", "")]),
        # 32 -> 32 -> 16 -> 16: a run of one, a run of two... by what each pass computes
        ("repeat 2 {\n conv 8 k=3 p=1\n}\nrepeat 2 {\n maxpool k=2\n}",
         [("passes 1–2, the same numbers each time", "× 2")]),
        ("repeat N {\n conv 8 k=3 p=1\n}", [("pass 1 of N; the table sums all N", "")]),
        ("residual {\n conv 8 k=3 p=1\n relu\n}",
         [("body", ""), ("shortcut: the input itself", "")]),
        ("residual {\n conv 16 k=3 s=2 p=1\n} shortcut {\n conv 16 k=1 s=2\n}",
         [("body", ""), ("shortcut", "")]),
        ("concat {\n conv 4 k=1\n} {\n conv 6 k=3 p=1\n} {\n maxpool k=3 s=1 p=1\n}",
         [("branch 1", ""), ("branch 2", ""), ("branch 3", "")]),
    ],
)
def test_block_parts(text: str, titles: list[tuple[str, str]]) -> None:
    first = derive(BLOCKS + text).layers[0]
    assert [(p.title, p.passes) for p in first.parts] == titles


def test_a_concat_derives_its_channels_as_the_sum_of_its_branches() -> None:
    layer = derive(BLOCKS + "concat {\n conv 4 k=1\n} {\n conv 6 k=3 p=1\n} {\n"
                   " maxpool k=3 s=1 p=1\n}").layers[0]
    channels = next(s for s in layer.steps if s.target.name == "C_1")
    assert str(channels.formula) == "C_0 + C_1.a1 + C_1.b1"
    assert channels.value == 4 + 6 + 8


def test_a_symbolic_concat_sums_symbols() -> None:
    layer = derive("input C x 32 x 32\nconcat {\n conv A k=1\n} {\n identity\n}").layers[0]
    channels = next(s for s in layer.steps if s.target.name == "C_1")
    assert channels.value == symconv.symbol("A") + symconv.symbol("C")


def _block_lines(path: str, index: int) -> str:
    layers = derive((ROOT / "examples" / path).read_text()).layers
    seen = Seen()
    for layer in layers[:index - 1]:  # the general formulas the notes showed before
        for group in layer_groups([layer]):
            group_lines(group, seen, 235.0)
    group = [layers[index - 1]]
    return "\n".join([group_title(group), *group_lines(group, seen, 235.0)]) + "\n"


@pytest.mark.parametrize(("name", "path", "index"), [
    ("notes_block_resnet18_shortcut.tex", "resnet18.net", 6),
    ("notes_block_unet_convt.tex", "unet.net", 7),
])
def test_block_derivations_match_golden(name: str, path: str, index: int,
                                        golden: Callable[[str, str], None]) -> None:
    with digit_groups("{,}"):  # as the notes print numbers
        golden(name, _block_lines(path, index))
