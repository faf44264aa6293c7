"""What `net.table()`, a Network, a Derivation and a Solution show: the Table is still the tuple
of records it was, prints as `symconv table` does, converts to dicts and pandas, and its
HTML, Markdown and LaTeX forms hold the same rows; reprs are one short line."""

from __future__ import annotations

import copy
import html
import pickle
import sys

import pytest
import sympy
from display_forms import (
    derivation_rows_latex,
    derivation_rows_markdown,
    html_rows,
    normalised,
    solution_rows_latex,
    solution_rows_markdown,
    table_rows_latex,
    table_rows_markdown,
)
from torch import nn

import symconv
from symconv.cli import main
from symconv.engine.statistics import memory_of
from symconv.language.parse import parse_expression
from symconv.network import LayerRecord, _public
from symconv.render.table import COLUMNS, flat_rows, markdown_cell, row_cells, table_text
from symconv.render.table_object import Table

BLOCKS = ("input 3 x 32 x 32\nconv 16 k=3 s=2 p=1\nresidual { conv 16 k=3 p=1\n relu }\n"
          "repeat 2 { conv 16 k=3 p=1 }\nconcat { conv 4 k=1 } { maxpool k=3 s=1 p=1 }\n"
          "flatten\nlinear 10")


def _shared() -> symconv.Network:
    conv = nn.Conv2d(8, 8, 3, padding=1)
    return symconv.from_torch(nn.Sequential(conv, nn.ReLU(), conv), (8, 16, 16))


class _WithAux(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.aux = nn.Conv2d(3, 8, 3), nn.Linear(8, 2)

    def forward(self, x: object) -> object:
        return self.conv(x)


# (name, network, values): numbers, symbols, blocks, cases, reused and unused parameters
NETWORKS = [
    ("flat", lambda: symconv.parse("input 1 x 28 x 28\nconv 8 k=3 p=1\nmaxpool k=2\nflatten\n"
                                   "linear 10"), {}),
    ("blocks", lambda: symconv.parse(BLOCKS), {}),
    ("symbolic", lambda: symconv.parse("input C x H x W\nconv K k=F s=S p=P\nmaxpool k=2"), {}),
    ("symbolic blocks", lambda: symconv.parse(BLOCKS.replace("32 x 32", "H x W")), {}),
    ("bound", lambda: symconv.parse(BLOCKS.replace("32 x 32", "H x W")), {"H": 40, "W": 24}),
    ("repeat N", lambda: symconv.parse("input 3 x W\nrepeat N { conv 3 k=3 s=2 p=1 }"), {}),
    ("cases", lambda: symconv.parse("input 3 x H x H\nmaxpool k=3 s=2 ceil_mode=true"), {}),
    ("reused", _shared, {}),
    ("unused", lambda: symconv.from_torch(_WithAux(), (3, 8, 8)), {}),
]
IDS = [name for name, _, _ in NETWORKS]


@pytest.fixture(params=NETWORKS, ids=IDS)
def case(request: pytest.FixtureRequest) -> tuple[symconv.Network, dict[str, int], Table]:
    _, make, values = request.param
    network = make()
    return network, values, network.table(**values)


# ---------------------------------------------------------------- the tuple it was


def test_the_table_is_the_tuple_of_records_it_was(case: tuple) -> None:
    network, values, table = case
    records = tuple(_public(r, memory_of("float32", 1)) for r in network.records(**values))
    assert isinstance(table, Table) and isinstance(table, tuple)
    assert table == records and records == table and hash(table) == hash(records)
    assert len(table) == len(records) and list(table) == list(records)
    assert all(isinstance(r, LayerRecord) for r in table)
    assert table[0] == records[0] and table[-1] == records[-1]
    assert table[1:] == records[1:]
    first, *rest = table
    assert (first, *rest) == records
    for copied in (pickle.loads(pickle.dumps(table)), copy.copy(table), copy.deepcopy(table)):
        assert copied == table and str(copied) == str(table)


def test_str_is_the_table_symconv_table_prints(tmp_path, capsys: pytest.CaptureFixture[str]
                                               ) -> None:
    path = tmp_path / "net.net"
    path.write_text(BLOCKS)
    assert main(["table", str(path)]) == 0
    printed = capsys.readouterr().out
    network = symconv.parse(BLOCKS)
    assert str(network.table()) == printed == str(network)
    assert str(network.table()) == table_text(network, network.table())


@pytest.mark.parametrize("values", [{"H": 8, "W": 8}, {"H": 100, "W": 37}])
def test_a_bound_table_prints_the_bound_input(values: dict[str, int]) -> None:
    network = symconv.parse(BLOCKS.replace("32 x 32", "H x W"))
    assert str(network.table(**values)) == str(network.bind(values).table())


# ---------------------------------------------------------------- as data


def _data(value: sympy.Expr) -> int | str:
    """What to_dicts holds for a value: an int for a whole number, else its text form."""
    from symconv.present.values import text_value

    return int(value) if value.is_Integer else text_value(value)


def test_to_dicts_gives_one_dict_per_row_with_ints_and_text(case: tuple) -> None:
    table = case[2]
    dicts = table.to_dicts()
    rows = flat_rows(table)
    assert len(dicts) == len(rows)
    for row, (label, record) in zip(dicts, rows, strict=True):
        assert list(row) == list(COLUMNS)
        assert row["#"] == label and row["layer"] == record.kind
        assert row["output shape"] == [_data(v) for v in record.output_shape]
        for name in ("neurons", "connections", "macs"):
            assert row[name] == _data(getattr(record, name))
            assert type(row[name]) is (int if getattr(record, name).is_Integer else str)
        reused = record.shared is not None and record.shared.reuse
        assert row["params"] == ("reused" if reused else _data(record.params))


@pytest.mark.parametrize("seed", range(4))
def test_to_dicts_text_reads_back_to_the_numbers(seed: int) -> None:
    """Oracle: a symbolic table's text, read with symconv's expression parser and given
    values, is the numeric table's ints."""
    import random

    rng = random.Random(seed)
    network = symconv.parse("input C x H x W\nconv K k=3 p=1\nconv 8 k=1\nlinear 4")
    values = {"C": rng.randint(1, 9), "H": rng.randint(1, 40), "W": rng.randint(1, 40),
              "K": rng.randint(1, 9)}
    subs = {symconv.symbol(k): v for k, v in values.items()}
    numeric = network.table(**values).to_dicts()
    for symbolic, expected in zip(network.table().to_dicts(), numeric, strict=True):
        for name in ("params", "neurons", "connections", "macs"):
            got = symbolic[name]
            read = got if isinstance(got, int) else parse_expression(got).xreplace(subs)
            assert read == expected[name], (name, got)


def test_to_pandas_has_the_rows_of_to_dicts() -> None:
    import pandas  # noqa: F401  (the test extra has it; to_pandas imports it itself)
    table = symconv.parse(BLOCKS).table()
    frame = table.to_pandas()
    assert list(frame.columns) == list(COLUMNS)
    assert frame.to_dict("records") == table.to_dicts()


def test_to_pandas_without_pandas_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(BLOCKS).table().to_pandas()
    assert str(caught.value) == ("Table.to_pandas needs pandas, which is not installed (pip "
                                 "install pandas); to_dicts() gives the same rows without it")


# ---------------------------------------------------------------- HTML, Markdown, LaTeX


def test_html_is_well_formed_and_holds_every_row(case: tuple) -> None:
    table = case[2]
    rows, details = html_rows(table._repr_html_())
    cells = [row for row in rows if row]  # the rows that hold a <details> have no cell
    flat = flat_rows(table)
    # the input, every row (a block's rows inside its <details>), the total
    assert len(cells) == len(flat) + 2
    assert details == sum(1 for _, r in flat if r.children)
    by_label = {row[0]: row for row in cells[1:-1]}
    for label, record in flat:
        assert by_label[label] == [label, record.kind, *map(markdown_cell, row_cells(record))]
    symbolic = any(not sympy.sympify(v).is_Integer for v in (*table[-1].output_shape,
                                                             table[-1].macs))
    assert ("$" in table._repr_html_()) == symbolic


def test_html_escapes_what_it_shows() -> None:
    record = symconv.parse("input 3 x 8 x 8\nconv 4 k=3").table()[0]
    hostile = LayerRecord(1, "<script>alert(1)</script>", record.output_shape, record.params,
                          record.neurons, record.connections, record.macs, record.input_shape)
    shown = Table([hostile], symconv.parse("input 3 x 8 x 8\nconv 4 k=3"))._repr_html_()
    assert "<script>" not in shown and html.escape("<script>alert(1)</script>") in shown
    html_rows(shown)


def test_markdown_and_latex_show_the_same_rows(case: tuple) -> None:
    """The Network's (and the Table's) Markdown and LaTeX forms: the same rows, a block's
    rows after it in both, the same math in every cell."""
    network, values, table = case
    shown = network.bind(values) if values else network
    for markdown, latex in ((table._repr_markdown_(), table._repr_latex_()),
                            (shown._repr_markdown_(), shown._repr_latex_())):
        rows = table_rows_markdown(markdown)
        assert normalised(rows) == normalised(table_rows_latex(latex))
        assert len([r for r in rows if " & " in r]) == len(flat_rows(table)) + 2


# ---------------------------------------------------------------- reprs


@pytest.mark.parametrize("make, starts", [
    (lambda: symconv.parse(BLOCKS), "<symconv Network: input 3 x 32 x 32, 6 layers (conv2d, "
                                    "residual, repeat, concat, flatten, linear)>"),
    (lambda: symconv.parse((BLOCKS + "\nrelu") * 1), "<symconv Network: input 3 x 32 x 32, "
                                                    "7 layers (conv2d, residual, repeat, "
                                                    "concat, flatten, linear, …)>"),
    (lambda: symconv.parse("input C x H x W\nconv K k=F"),
     "<symconv Network: input C x H x W, 1 layer (conv2d); symbols C, F, H, K, W>"),
    (lambda: symconv.parse(BLOCKS).table(), "<symconv Table: 6 rows, output 10; print() "
                                            "shows it>"),
    (lambda: symconv.derive("input 3 x 8 x 8\nconv 4 k=3\nrelu"),
     "<symconv Derivation: input C_0 = 3, H_0 = 8, W_0 = 8; 6 steps in 1 of 2 layers; "
     "print() shows them>"),
    (lambda: symconv.solve("input 3 x 224 x 224\nconv 64 k=7 s=2 p=P", "P", 112),
     "<symconv Solution for P: P = 3>"),
    (lambda: symconv.solve("input 3 x W x W\nconv 8 k=3 s=2 p=P", "P", "H"),
     "<symconv Solution for P: P = (2*H - W + 1)/2 for W odd and 2*H - W + 1 >= 0; P = H - "
     "W/2 + 1 for W even and 2*H - W + 2 >= 0…>"),
])
def test_reprs_are_one_short_line(make: object, starts: str) -> None:
    shown = repr(make())  # type: ignore[operator]
    assert shown == starts and len(shown) < 200 and "\n" not in shown


def test_reprs_keep_dataclass_equality() -> None:
    assert symconv.parse(BLOCKS) == symconv.parse(BLOCKS)
    assert symconv.parse(BLOCKS) != symconv.parse(BLOCKS.replace("16", "8"))
    text = "input 3 x 8 x 8\nconv 4 k=3"
    assert symconv.derive(text) == symconv.derive(text)
    assert symconv.solve(text.replace("k=3", "k=K"), "K", 6) == symconv.solve(
        text.replace("k=3", "k=K"), "K", 6)


@pytest.mark.parametrize("values", [{}, {"H": 32, "W": 32}, {"H": 9, "W": 5, "K": 3, "F": 1}])
def test_a_derivation_shows_the_same_rows_in_markdown_and_latex(values: dict[str, int]) -> None:
    derivation = symconv.derive(
        "input C x H x W\nconv K k=F s=2 p=1\nrelu\nmaxpool k=2\nflatten\nlinear 10", **values)
    assert derivation_rows_markdown(derivation._repr_markdown_()) == derivation_rows_latex(
        derivation._repr_latex_())


@pytest.mark.parametrize("text, unknown, target, values", [
    ("input 3 x 224 x 224\nconv 64 k=7 s=2 p=P", "P", 112, {}),
    ("input 3 x W x W\nconv 8 k=3 s=2 p=P", "P", "H", {}),
    ("input 3 x W\nconv 8 k=3 s=2", "W", 7, {}),
    ("input 3 x W\nconv 8 k=3 s=S", "S", 2, {"W": 9}),
    ("input 3 x 8\nconv 8 k=K", "K", 20, {}),
])
def test_a_solution_shows_its_answer_as_math_the_same_in_both_forms(
        text: str, unknown: str, target: object, values: dict[str, int]) -> None:
    solution = symconv.solve(text, unknown, target, **values)
    markdown, latex = solution._repr_markdown_(), solution._repr_latex_()
    assert "```" not in markdown and markdown.startswith("$$\n")
    assert solution_rows_markdown(markdown) == solution_rows_latex(latex)
