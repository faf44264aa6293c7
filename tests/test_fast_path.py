"""Numeric calls through compiled code (symconv/numeric/fast.py) and batches
(symconv/numeric/batch.py) give exactly what the trace gives: the same records, numbers
and errors; exact Python ints, with or without NumPy, past int64 too."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import random
import sys
import threading
import typing

import pytest
import sympy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_evaluate import NETWORKS, VALUE_RANGES, random_networks

import symconv
import symconv.numeric.fast
from symconv.engine.records import Record
from symconv.language import layers
from symconv.network import _public
from symconv.numeric import batch
from symconv.numeric.fast import evaluator_of, fast_records
from symconv.render.table import flat_rows

# One network per layer kind (symbols where the kind takes them), each behind a conv.
KINDS = {
    "Conv": "conv 8 k=K s=S p=P d=D g=2",
    "ConvTranspose": "convT 4 k=K s=S p=P op=O",
    "Pool": "maxpool k=K s=S p=P ceil",
    "AdaptivePool": "adaptive_avgpool (O, None)",
    "Flatten": "flatten",
    "Linear": "flatten\nlinear O",
    "BatchNorm": "bn",
    "GroupNorm": "groupnorm 2",
    "LayerNorm": "layernorm (4, H, W)",
    "InstanceNorm": "instancenorm",
    "Pad": "pad padding=P",
    "PixelShuffle": "pixelshuffle 2",
    "Upsample": "upsample scale_factor=S",
    "GlobalPool": "mean keepdim",
    "ChannelShuffle": "channelshuffle 2",
    "Chunk": "chunk 2 index=1",
    "Activation": "relu",
    "Dropout": "dropout 0.5",
    "Repeat": "repeat N { conv 4 k=3 p=1 }",
    "Residual": "residual { conv 4 k=K p=P } shortcut { maxpool k=1 }",
    "Concat": "concat { conv 4 k=1 } { avgpool k=3 s=1 p=1 }",
    "Scale": "scale { adaptive_avgpool 1\nconv 4 k=1\nsigmoid }",
    "ChannelNorm": "layernorm2d",
    "LayerScale": "layerscale",
    "ChannelsLast": "channels_last { layernorm 4\nlinear O\ngelu\nlinear 4 }",
    "Bind": "a = conv 4 k=K s=S p=P\ng = adaptive_avgpool 1\nmul a g",
    "Join": "u = upsample scale_factor=S\nd = maxpool k=S\nconcat x d\nuse u\nmaxpool k=S\n"
            "add d x",
}


def test_the_table_holds_every_layer_kind() -> None:
    assert set(KINDS) == {t.__name__ for t in typing.get_args(layers.Layer)}


def number_types(record: Record) -> list[type]:
    """The types of a record's numbers: ints, SymPy Rationals in a field, None for a jump."""
    return [type(v) for v in (*record.input_shape, *record.output_shape, record.params,
                              record.neurons, record.connections, record.macs,
                              *(v for fd in record.fields for v in (fd.size, fd.jump, fd.start)))]


def check_agrees(network: symconv.Network, values: dict[str, int]) -> bool:
    """Every numeric method, compiled, gives the trace's answer or its error (same type and
    message); whether the trace accepted the values. The compiled path is really taken."""
    evaluator_of(network)  # compiled from the first call on
    try:
        expected = network.traced_records(**values)
    except symconv.SymconvError as error:
        calls = [network.records, network.table, network.output_shape, network.params,
                 network.totals]
        for call in calls:
            with pytest.raises(type(error)) as caught:
                call(**values)
            assert str(caught.value) == str(error)
        return False
    fast = fast_records(network, values)
    assert fast is not None, "the compiled path left an accepted call to the trace"
    assert fast == expected  # every field: layer, shapes, counts, receptive fields, children
    assert list(map(number_types, fast)) == list(map(number_types, expected))  # (1 == 1.0 too)
    assert network.table(**values) == tuple(_public(r) for r in expected)
    check_tables(network, values)
    shape = network.output_shape(**values)
    assert shape == expected[-1].output_shape and all(type(n) is int for n in shape)
    totals = network.totals(**values)
    for name in ("params", "neurons", "connections", "macs"):
        assert totals[name] == sum(getattr(r, name) for r in expected)
        assert type(totals[name]) is int
    assert network.params(**values) == totals["params"] and type(totals["params"]) is int
    return True


# Every field of a LayerRecord that holds numbers: read, each is a SymPy object (a shape a
# tuple of them; a jump after flatten None).
NUMBER_FIELDS = ("params", "neurons", "connections", "macs", "trainable", "non_trainable",
                 "param_bytes", "activation_bytes")
SHAPE_FIELDS = ("output_shape", "input_shape", "receptive_field", "jump", "start",
                "kernel_shape")


def check_tables(network: symconv.Network, values: dict[str, int]) -> None:
    """The compiled table is the trace's in every column and every form: its records (every
    field, receptive fields and warnings too), the text and HTML tables and the rows as data,
    with the default columns, with all of them for another dtype and batch, and folded to
    depth 1 (every option a numeric call takes, on either path). The trace's
    table is a deep copy's, whose first calls are traced."""
    assert "evaluator" in network._fast
    for options in ({}, {"columns": "all", "dtype": "float16", "batch": 3}, {"depth": 1}):
        clone = copy.deepcopy(network)
        traced = clone.table(**options, **values)
        assert "evaluator" not in clone._fast  # (the trace answered)
        table = network.table(**options, **values)
        assert table == traced and hash(table) == hash(traced)
        for record, reference in zip(flat_rows(table), flat_rows(traced), strict=True):
            assert repr(record) == repr(reference)
            for name in NUMBER_FIELDS:
                assert isinstance(getattr(record[1], name), sympy.Basic), name
            for name in SHAPE_FIELDS:
                assert all(isinstance(v, sympy.Basic) or (v is None and name == "jump")
                           for v in getattr(record[1], name)), name
        assert str(table) == str(traced)
        assert table._repr_html_() == traced._repr_html_()
        assert table.to_dicts() == traced.to_dicts()


@pytest.mark.parametrize(
    "text",
    [
        # even kernels and transposed convolutions: fractions in the start and the jump
        "input 3 x H x W\nconv 4 k=2\nconvT 4 k=K s=S p=P\nmaxpool k=2 s=2\nconv 4 k=4 p=1",
        # flatten ends the fields (the whole input's), linear after it
        "input 2 x H x W\nconv 4 k=K s=2\nflatten\nlinear 3",
        # adaptive pooling (the recursion at run time), then compiled layers again
        "input 3 x H x W\nadaptive_avgpool (O, None)\nconv 4 k=3 s=2\nmaxpool k=K",
        # blocks: their records by the trace at run time, the layers after them compiled
        "input 3 x H x W\nresidual { conv 3 k=3 p=1 }\nconv 4 k=2 s=S\n"
        "repeat N { conv 4 k=3 s=2 p=1 }\nconcat { conv 2 k=1 } { maxpool k=3 s=1 p=1 }\n"
        "avgpool k=K",
        "input 4 x H x W\nupsample scale_factor=S\npad padding=P\npixelshuffle 2\nconv 4 k=K",
        "input 4 x H x W\nconv 4 k=3\nupsample size=(9, 13) mode=bilinear\nconv 4 k=2 s=2",
        "input 8 x W\nmean keepdim\nconv 4 k=1",
        # blocks that end the fields, and layers after them
        "input 3 x H x W\nconv 3 k=K\nresidual { conv 3 k=3 p=1\nflatten } shortcut { flatten }"
        "\nlinear 4",
        "input 3 x H x W\nconv 3 k=K\nconcat { flatten } { flatten }\nlinear 4",
        # TensorFlow's 'same': the padding before depends on the input's size
        "convention tensorflow\ninput 3 x H x W\nconv 4 k=3 s=2 p=same\n"
        "maxpool k=3 s=2 p=same\nconv 4 k=K s=S p=same\nconvT 4 k=3 s=2 p=same\n"
        "avgpool k=2 s=S p=same",
        "convention tensorflow\ninput 3 x W\nconv 4 k=K s=S p=same d=2\nconv 4 k=4 s=3 p=same",
    ],
)
def test_compiled_fields_equal_the_trace(text: str) -> None:
    network = symconv.parse(text)
    rng = random.Random(text)
    ranges = {**VALUE_RANGES, "H": (4, 40), "W": (4, 40), "K": (1, 4), "S": (1, 3),
              "O": (3, 9), "N": (0, 3)}
    accepted = 0
    for _ in range(10):
        accepted += check_agrees(network, {n: rng.randint(*ranges[n]) for n in network.symbols})
    assert accepted >= 3


@pytest.mark.parametrize(
    "text",
    [
        # a jump past MAX_DIGITS digits after two strides, the same at every input size
        "input 3 x W\nconv 3 k=1 s=10**2500\nconv 3 k=1 s=10**2500",
        "input 3 x W\nconv 3 k=1 s=S\nconv 3 k=1 s=S",
    ],
)
def test_a_field_too_big_is_the_traces_error(text: str) -> None:
    message = "layer 2 \\(conv1d\\): the jump along L would have more than 4000 digits"
    network = symconv.parse(text)
    values = {"W": 5, **({"S": 10**2500} if "S" in network.symbols else {})}
    network.evaluator()
    for call in (network.records, network.table, network.receptive_fields):
        with pytest.raises(symconv.ShapeError, match=message):
            call(**values)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_layer_kind_with_symbols(kind: str) -> None:
    network = symconv.parse(f"input 4 x H x W\nconv 4 k=3 p=1\n{KINDS[kind]}")
    rng = random.Random(kind)
    ranges = {**VALUE_RANGES, "K": (1, 4), "S": (1, 3), "O": (1, 6), "N": (0, 3)}
    accepted = 0
    for _ in range(12):
        accepted += check_agrees(network, {n: rng.randint(*ranges[n]) for n in network.symbols})
    assert accepted >= 3


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(), st.randoms(use_true_random=False))
@example("input 4 x W\nrepeat N {\nrepeat M {\nconv 4 k=3 p=1\n}\n}\nadaptive_maxpool O",
         random.Random(0))
def test_fast_path_equals_the_trace_on_random_networks(text: str, rng: random.Random) -> None:
    """Random networks of every kind the generator writes (symbolic and nested repeats,
    residual, concat, adaptive and ceil-mode pools, convT, dilation, groups): the records,
    numbers and errors of the compiled path, and a batch's rows."""
    network = symconv.parse(text)
    for _ in range(3):
        check_agrees(network, {n: rng.randint(*VALUE_RANGES[n]) for n in network.symbols})
    check_batch(network.evaluator(), rng)  # NumPy's arrays, and the rows they leave


@pytest.mark.parametrize("call", ["output_shape", "params", "totals", "records", "table"])
def test_symbolic_calls_keep_the_trace(call: str) -> None:
    network = symconv.parse("input 3 x H x W\nconv 8 k=3 s=2 p=1")
    for _ in range(3):
        answer = getattr(network, call)(H=sympy.Symbol("H") + 1)  # not a number: traced
    assert "evaluator" not in network._fast and "calls" not in network._fast  # not counted
    assert str(answer) == str(getattr(network, call)(H=sympy.Symbol("H") + 1))
    assert network.output_shape(H=5, W=7) == (8, 3, 4)


def test_numeric_calls_compile_once_for_all_threads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    network = symconv.parse("input 3 x H x W\nconv 8 k=3 s=2 p=1\nmaxpool k=2 ceil")
    built = []
    compile_network = symconv.numeric.evaluate.compile_network

    def counting(net: symconv.Network) -> object:
        built.append(net)
        return compile_network(net)

    monkeypatch.setattr(symconv.numeric.evaluate, "compile_network", counting)
    for _ in range(symconv.numeric.fast.TRACED_CALLS):  # traced: a few answers pay no compile
        assert network.output_shape(H=9, W=9) == (8, 3, 3)
    assert "evaluator" not in network._fast and not built
    answers: list[object] = []
    threads = [threading.Thread(target=lambda: answers.append(network.output_shape(H=9, W=9)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [(8, 3, 3)] * 8 and len(built) == 1
    assert network.evaluator() is network._fast["evaluator"]


def test_deep_copies_and_pickles_leave_the_compiled_code_behind() -> None:
    network = symconv.parse("input 3 x W\nconv 8 k=3")
    network.evaluator()
    assert copy.copy(network).evaluator() is network.evaluator()  # the same network's parts
    for clone in (copy.deepcopy(network), pickle.loads(pickle.dumps(network))):
        assert clone == network and "evaluator" not in clone._fast
        assert clone.output_shape(W=10) == (8, 8)
    assert "evaluator" not in network.bind(W=10)._fast


# ---------------------------------------------------------------- batches


def scalar_rows(evaluator: symconv.numeric.evaluate.Evaluator, columns: dict[str, list[int]],
                rows: int) -> list[tuple[object, ...] | None]:
    """Each row by the scalar path: (output shape, totals), or None where it is refused."""
    answers: list[tuple[object, ...] | None] = []
    for i in range(rows):
        values = {n: c[i] for n, c in columns.items()}
        try:
            records = evaluator(**values)
        except symconv.SymconvError:
            answers.append(None)
            continue
        answers.append((records[-1].output_shape,
                        *(sum(getattr(r, q) for r in records)
                          for q in ("params", "neurons", "connections", "macs"))))
    return answers


def batch_rows(result: batch.Batch) -> list[tuple[object, ...] | None]:
    return [
        (tuple(int(axis[i]) for axis in result.output_shape), int(result.params[i]),
         int(result.neurons[i]), int(result.connections[i]), int(result.macs[i]))
        if result.valid[i] else None
        for i in range(len(result))
    ]


@pytest.fixture(params=["numpy", "no numpy"])
def arrays(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "no numpy":
        monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` fails
    return str(request.param)


def check_batch(evaluator: symconv.numeric.evaluate.Evaluator, rng: random.Random, rows: int = 12,
                ranges: dict[str, tuple[int, int]] = VALUE_RANGES) -> batch.Batch:
    """A batch of random rows (one symbol, where there are several, given as one number for
    every row) answers as the scalar path answers each row."""
    columns = {n: [rng.randint(*ranges[n]) for _ in range(rows)] for n in evaluator.symbols}
    fixed = evaluator.symbols[0] if len(columns) > 1 else None
    given: dict[str, object] = {n: (c[0] if n == fixed else c) for n, c in columns.items()}
    if fixed is not None:
        columns[fixed] = [columns[fixed][0]] * rows
    result = evaluator.many_masked(**given)
    assert batch_rows(result) == scalar_rows(evaluator, columns, rows if columns else 1)
    return result


@pytest.mark.parametrize("text", NETWORKS)
def test_batch_equals_the_scalar_path(arrays: str, text: str) -> None:
    evaluator = symconv.parse(text).evaluator()
    ranges = {n: (0, 12) for n in evaluator.symbols}  # 0 and small sizes: refused rows too
    result = check_batch(evaluator, random.Random(text), rows=40, ranges=ranges)
    assert isinstance(result.params, list) == (arrays == "no numpy")
    assert 0 < sum(result.valid) < len(result)


def test_a_million_sizes_in_one_call() -> None:
    network = symconv.parse("input 3 x H x W\nconv 16 k=3 s=2 p=1\nmaxpool k=3 s=2 ceil\n"
                            "adaptive_avgpool (2, None)\nflatten\nlinear 10")
    evaluator = network.evaluator()
    result = evaluator.many(H=224, W=range(5, 10**6 + 5))
    assert len(result) == 10**6 and result.output_shape[0].dtype.kind == "i"
    for w in (5, 6, 7, 223, 224, 4097, 10**6 + 4):
        assert result.params[w - 5] == network.params(H=224, W=w)
        assert result.macs[w - 5] == network.totals(H=224, W=w)["macs"]


OVERFLOW = "input 3 x H x W\nconv 8 k=3 s=2 p=1\nflatten\nlinear 5"


@pytest.mark.parametrize(
    "sizes",
    [
        [5, 2**31, 2**40, 10**12],  # macs pass int64 for the largest: that chunk is exact
        [2**62, 2**63 - 1, 2**63, 2**64 + 3, 7],  # inputs past int64 themselves
        [10**30, 10**40],
        [10**300, 10**600, 3],  # past MAX_DIGITS digits: refused, as the scalar path refuses
    ],
)
def test_past_int64_the_answers_are_exact(arrays: str, sizes: list[int]) -> None:
    network = symconv.parse(OVERFLOW)
    evaluator = network.evaluator()
    result = evaluator.many(H=sizes, W=sizes)
    assert batch_rows(result) == scalar_rows(evaluator, {"H": sizes, "W": sizes}, len(sizes))
    assert all(type(x) is int for x in list(result.macs)) or arrays == "numpy"
    if arrays == "numpy":
        assert result.macs.dtype == object  # not int64 wrapped round
        assert all(type(x) is int for x in result.macs)


def test_no_wrapped_value_in_int64_arrays() -> None:
    """Rows whose numbers fit stay int64; a chunk that could pass it is redone exactly."""
    network = symconv.parse(OVERFLOW)
    for top in (2**20, 2**30, 2**31 + 1, 2**32):
        result = network.evaluator().many(H=range(top - 3, top), W=top)
        expected = [network.totals(H=h, W=top)["macs"] for h in range(top - 3, top)]
        assert [int(x) for x in result.macs] == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"H": [9, 1, 0], "W": 9}, "input sizes must be at least 1, got 3 x 0 x 9 (H = 0, W = 9)"
         " (row 2 of the batch: 1 of 3 rows refused; many_masked marks them instead)"),
        ({"H": [9, 9], "W": [1, 2, 3]}, "many: every sequence of values must have the same "
         "length, got H: 2, W: 3"),
        ({"H": [9, 2.5], "W": 9}, "H[1]: expected"),
        ({"H": 9}, "numeric evaluation needs a number for every symbol; missing: W"),
        ({"H": 9, "W": 9, "w": 1}, "unknown symbol 'w'"),
    ],
)
def test_batch_errors_are_the_scalar_ones(arrays: str, given: dict[str, object],
                                          message: str) -> None:
    evaluator = symconv.parse("input 3 x H x W\nconv 8 k=3 p=1").evaluator()
    with pytest.raises(symconv.SymconvError) as caught:
        evaluator.many(**given)
    assert message in str(caught.value)


def test_masked_rows_are_marked_and_zero(arrays: str) -> None:
    evaluator = symconv.parse("input 3 x W\nconv 8 k=5 s=2").evaluator()
    result = evaluator.many_masked(W=[3, 4, 5, 6])
    assert list(result.valid) == [False, False, True, True]
    assert [int(x) for x in result.output_shape[1]] == [0, 0, 1, 1]
    assert [int(x) for x in result.params] == [0, 0, 128, 128]


# ---------------------------------------------------------------- rows of ints


@pytest.mark.parametrize(
    "values",
    [
        (1, "conv2d", (8, 3, 4), 224, 96, 2016, 1920, (3, 5, 6), (3, 3), (1, 1), (1, 1)),
        (2, "flatten", (5,), 0, 5, 5, 0, (5, 1, 1), (7, 6), (None, None),
         (3, sympy.Rational(5, 2))),
        (3, "conv2d", (8, sympy.Symbol("H") - 2, 4), 224, 0, 0, 0, (3, sympy.Symbol("H"), 6)),
    ],
)
def test_a_record_of_ints_reads_as_sympy(values: tuple[object, ...]) -> None:
    """A LayerRecord made of Python ints (as the compiled path makes them) reads, compares,
    hashes, prints, pickles, copies and replaces as the one made of SymPy values."""
    def sympified(v: object) -> object:
        if isinstance(v, tuple):
            return tuple(map(sympified, v))
        return None if v is None else sympy.sympify(v, strict=True)

    made = symconv.LayerRecord(*values, param_bytes=896)  # type: ignore[arg-type]
    index, kind, *numbers = values
    reference = symconv.LayerRecord(index, kind, *map(sympified, numbers),  # type: ignore[arg-type]
                                    param_bytes=sympy.Integer(896))
    assert made == reference and hash(made) == hash(reference)
    assert repr(made) == repr(reference)
    for name in NUMBER_FIELDS:
        assert isinstance(getattr(made, name), sympy.Basic), name
    for name in SHAPE_FIELDS:
        assert all(isinstance(v, sympy.Basic) or v is None for v in getattr(made, name)), name
    assert made.param_bytes == 896 and made.index == values[0] and type(made.index) is int
    for copied in (pickle.loads(pickle.dumps(made)), copy.copy(made), copy.deepcopy(made)):
        assert copied == reference
    changed = dataclasses.replace(made, index=9, params=7)
    assert changed.index == 9 and changed.params == sympy.Integer(7)
    assert changed.macs == reference.macs and dataclasses.is_dataclass(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.params = 3  # type: ignore[misc]
