"""Blocks: repeat N { ... }, residual { ... } shortcut { ... }, concat { ... } { ... }.

Oracles: a block repeated a symbolic N times against the same block with N a number (every
field, by substitution); branch counts against PyTorch modules; branch receptive fields
against the brute-force index sets of each path."""

from __future__ import annotations

import pytest
import sympy
import torch

import symconv
from symconv.algebra.symbols import symbol
from symconv.engine.blocks import describe
from symconv.engine.records import Record

N = symbol("N")


def _values(record: symconv.LayerRecord) -> tuple[object, ...]:
    return (record.output_shape, record.params, record.neurons, record.connections,
            record.macs, record.receptive_field, record.jump, record.start)


def _doit(value: object) -> object:
    v = sympy.sympify(value)
    return v.doit() if v.has(sympy.Sum) else v


@pytest.mark.parametrize(
    "body",
    [
        "conv 8 k=3",
        "conv 8 k=3 s=2 p=1",
        "conv C k=K s=S p=P",
        "conv 8 k=3 p=1 d=2\nrelu\nmaxpool k=2 s=2",
        "conv 8 k=4 p=same\nbn",
        "maxpool k=3 s=2 p=1 ceil",
        "residual { conv C k=3 p=1\nrelu\nconv C k=3 p=1 }",
        "convt 4 k=2 s=2",
    ],
)
def test_symbolic_repeat_equals_the_unrolled_block(body: str) -> None:
    text = f"input C x W\nrepeat N {{\n{body}\n}}"
    symbolic = symconv.parse(text)
    for n in (1, 2, 3):
        for values in ({"C": 3, "W": 200, "K": 3, "S": 2, "P": 1},
                       {"C": 8, "W": 97, "K": 2, "S": 1, "P": 0}):
            used = {k: v for k, v in values.items() if k in symbolic.symbols}
            (closed,) = symbolic.table(**used, N=n)
            (unrolled,) = symconv.parse(text.replace("repeat N", f"repeat {n}")).table(**used)
            (expected,) = symbolic.bind(N=n).table(**used)
            assert _values(unrolled) == _values(expected)
            # The closed form in N, evaluated at N = n, gives the same numbers.
            (in_n,) = symbolic.table()
            subs = {symbol(k): v for k, v in used.items()} | {N: n}
            got = tuple(
                tuple(_doit(sympy.sympify(v).subs(subs)) for v in field)
                if isinstance(field, tuple) else _doit(sympy.sympify(field).subs(subs))
                for field in _values(in_n)
            )
            assert got == _values(closed), (body, n, values)


def test_repeat_closed_forms_in_n() -> None:
    (record,) = symconv.parse("input 3 x W\nrepeat N { conv 3 k=3 s=2 p=1 }").table()
    W = symbol("W")
    assert record.output_shape == (3, sympy.ceiling(W / 2**N))
    assert sympy.expand(record.receptive_field[0] - (2 ** (N + 1) - 1)) == 0
    assert record.jump == (2**N,)
    assert record.params == 30 * N


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("input 3 x W\nrepeat N { conv 3 k=3\nadaptive_avgpool 4 }", "give N a number"),
        ("input 3 x W\nrepeat 2 { conv 3 k=3\nflatten }",
         "the paths of a repeat block must keep the same number of spatial axes"),
        ("input 3 x W\nrepeat N { convt 3 k=2 s=2\nconv 3 k=3 s=3 }",
         "the output size after N passes has no closed form here"),
        ("input 3 x W\nrepeat 0 { conv 3 k=3 }", "the count of repeat must be at least 1, got 0"),
        ("input 3 x W\nrepeat { conv 3 k=3 }", "a repeat block is written repeat N { ... }"),
        ("input 3 x W\nloop 2 { conv 3 k=3 }", "unknown block 'loop'"),
        ("input 3 x 32\nresidual { conv 8 k=3 p=1 }",
         "the body gives 8 x 32 and the input (no shortcut) 3 x 32: they cannot be added"),
        ("input 3 x 32\nresidual { conv 3 k=3 s=2 } shortcut { conv 3 k=1 s=2 }",
         "the body gives 3 x 15 and the shortcut 3 x 16: they cannot be added"),
        ("input 3 x W\nresidual { conv 3 k=3 s=2 } shortcut { conv 3 k=1 }",
         "they cannot be added for any input size"),
        ("input 3 x 32\nconcat { conv 3 k=3 } { conv 3 k=1 }",
         "branch 1 gives 30 and branch 2 32: they cannot be concatenated"),
        ("input 3 x 32\nconcat { conv 3 k=3 }", "a concat block is written"),
    ],
)
def test_errors_name_the_rule(text: str, message: str) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(text).table()
    assert message in str(caught.value)
    assert "line 2" in str(caught.value)


def test_branch_condition_is_stated_and_checked() -> None:
    net = symconv.parse("input 8 x W\nresidual { conv 8 k=2 s=2 } shortcut { conv 8 k=1 s=2 }")
    (record,) = net.table()
    assert describe(record.condition) == "W even"
    assert record.aligned is False  # centres 1/2 apart
    assert net.table(W=64)[0].output_shape == (8, 32)
    with pytest.raises(symconv.ShapeError, match="the body gives 8 x 32 and the shortcut 8 x 33"):
        net.table(W=65)
    from symconv.render.table import table_text

    text = table_text(net, net.table())
    assert "1 residual: the branches' shapes agree only where W even" in text
    assert "1 residual: the branches centre their units differently (not aligned)" in text


def test_agreement_proved_for_every_size() -> None:
    (record,) = symconv.parse(
        "input 8 x H x W\nresidual { conv 16 k=3 s=2 p=1\nrelu\nconv 16 k=3 p=1 } "
        "shortcut { conv 16 k=1 s=2 }").table()
    H, W = symbol("H"), symbol("W")
    assert record.condition is None
    assert record.output_shape == (16, sympy.ceiling(H / 2), sympy.ceiling(W / 2))
    assert record.aligned is True
    assert record.receptive_field == (7, 7)  # the body's: 3, then 3 + 2·2


def test_counts_agree_with_pytorch() -> None:
    nn = torch.nn
    net = symconv.parse(
        "input 8 x 20 x 20\n"
        "residual { conv 16 k=3 s=2 p=1\nbn\nrelu\nconv 16 k=3 p=1 } shortcut { conv 16 k=1 s=2 }\n"
        "concat { conv 4 k=1 } { conv 6 k=3 p=1\nconv 6 k=3 p=1 } { maxpool k=3 s=1 p=1 }\n"
        "repeat 2 { conv 26 k=3 p=1 }")
    modules = [nn.Conv2d(8, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.Conv2d(16, 16, 3, 1, 1),
               nn.Conv2d(8, 16, 1, 2), nn.Conv2d(16, 4, 1), nn.Conv2d(16, 6, 3, 1, 1),
               nn.Conv2d(6, 6, 3, 1, 1), nn.Conv2d(26, 26, 3, 1, 1), nn.Conv2d(26, 26, 3, 1, 1)]
    expected = sum(p.numel() for m in modules for p in m.parameters())
    residual, concat, repeat = net.table()
    assert residual.params + concat.params + repeat.params == expected == net.params()
    assert concat.output_shape == (26, 10, 10)
    x = torch.zeros(1, 8, 20, 20)
    body = nn.Sequential(*modules[:3])(x)
    assert tuple(body.shape[1:]) == residual.output_shape == tuple(modules[3](x).shape[1:])
    # The sum adds one neuron and two connections per output element, no parameters.
    elements = 16 * 10 * 10
    children = residual.children
    assert residual.neurons == sum(c.neurons for c in children) + elements
    assert residual.connections == sum(c.connections for c in children) + 2 * elements


def test_branch_receptive_field_is_the_widest_path() -> None:
    from tests.test_receptive import Win, dependence

    net = symconv.parse("input 1 x 40\nconcat { conv 1 k=5 p=2 } { conv 1 k=3 p=1\nconv 1 k=3 p=1 }"
                        " { conv 1 k=4 p=same }")
    (record,) = net.table()
    paths = [(Win("conv", 5, 1, 2),), (Win("conv", 3, 1, 1), Win("conv", 3, 1, 1)),
             (Win("conv", 4, 1, "same"),)]
    spans = [max(dependence(p)(0)) - min(dependence(p)(0)) + 1 for p in paths]
    assert record.receptive_field == (max(spans),)
    assert record.aligned is False  # the k=4 branch centres its units half a step over


def test_table_rows_of_a_block() -> None:
    from symconv.render.table import flat_rows, table_text

    net = symconv.parse("input 3 x 16\nresidual { conv 3 k=3 p=1 } shortcut { conv 3 k=1 }\n"
                        "repeat 2 { conv 3 k=3 p=1 }")
    labels = [label for label, _ in flat_rows(net.table())]
    assert labels == ["1", "1.a1", "1.b1", "2", "2.1", "2.2"]
    assert "  1.a1     conv1d" in table_text(net, net.table())


def test_resnet18_example() -> None:
    """examples/resnet18.net read with a symbolic input: torchvision's parameter count
    (11,689,512), the stages down to ⌈W/32⌉, every residual block aligned, and the receptive
    field before pooling."""
    from symconv.engine.receptive import INPUT, closed_forms

    with open("examples/resnet18.net", encoding="utf-8") as handle:
        net = symconv.parse(handle.read(), "3 x H x W")
    assert net.params() == 11_689_512
    records = net.records()
    before_pool = next(r.index for r in records if r.kind.startswith("adaptive")) - 1
    H, W = symbol("H"), symbol("W")
    assert records[before_pool - 1].output_shape == (512, sympy.ceiling(H / 32),
                                                     sympy.ceiling(W / 32))

    def residuals(rows: tuple[Record, ...]) -> list[Record]:
        found: list[Record] = []
        for r in rows:
            found += ([r] if r.kind == "residual" else []) + residuals(r.children)
        return found

    blocks = residuals(records)
    assert len(blocks) == 8 and all(b.aligned is True for b in blocks)
    path = [(INPUT, INPUT), *(r.fields for r in records[:before_pool])]
    forms = closed_forms(path)
    assert [(cf.receptive_field, cf.stride, cf.padding) for cf in forms] == [(435, 32, 217)] * 2
    assert records[before_pool - 1].receptive_field == (435, 435)


# ---------------------------------------------------------------- when branches agree

BRANCHES = [
    "avgpool k=3 s=2 p=1 ceil\nupsample scale_factor=2",  # 2*floor(W/2) + 2: never W
    "maxpool k=2\nupsample scale_factor=2",  # W even
    "conv 4 k=3 s=2 p=1\nupsample scale_factor=2",  # W even
    "maxpool k=3 s=3 ceil\nupsample scale_factor=3",  # W a multiple of 3
    "avgpool k=2 s=2 ceil\nupsample scale_factor=2\nconv 4 k=2",  # W even... or not: brute
    "conv 4 k=3 p=1",  # always
]


@pytest.mark.parametrize("branch", BRANCHES)
def test_where_a_concat_agrees_is_what_numbers_say(branch: str) -> None:
    """The symbolic condition under which the branches agree (or the refusal where they never
    do) against the numeric trace at every size from 2 to 40."""
    text = f"input 4 x W x W\nconcat {{ conv 4 k=1 }} {{ {branch} }}"
    works = {}
    for w in range(2, 41):
        try:
            symconv.parse(text).output_shape(W=w)
            works[w] = True
        except symconv.SymconvError:
            works[w] = False
    try:
        (record,) = symconv.parse(text).table()
    except symconv.SymconvError as error:
        assert not any(works.values()), error
        assert "cannot be concatenated for any input size" in str(error)
        return
    assert any(works.values()), "branches that never agree must be refused, not kept"
    condition = record.condition
    said = {w: True if condition is None else bool(condition.subs(symbol("W"), w))
            for w in works}
    assert said == works


def test_check_says_where_a_concat_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    from symconv.cli import main

    main(["check", "-e", "input 4 x W x W\nconcat { conv 8 k=3 s=2 p=1 } { maxpool k=2 }"])
    assert "warning: 1 concat: the branches' shapes agree only where W even" in \
        capsys.readouterr().out
