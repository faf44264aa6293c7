"""The fast numeric path follows the trace's rules exactly: upsampling by a scale factor in
PyTorch's double precision, the values `many` accepts, an Evaluator that pickles."""

from __future__ import annotations

import copy
import io
import math
import pickle
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st

import symconv
from symconv.numeric.fast import TRACED_CALLS

# ---------------------------------------------------------------- upsampling by a scale

# A scale factor as a user writes it (a decimal, or p/q) and as PyTorch receives it (a float).
scales = st.one_of(
    st.floats(0.01, 20, allow_nan=False).map(lambda x: (repr(x), x)),
    st.tuples(st.integers(1, 200), st.integers(1, 60)).map(
        lambda pq: (f"{pq[0]}/{pq[1]}", pq[0] / pq[1])),
    st.integers(1, 9).map(lambda k: (str(k), float(k))),
)
sizes = st.one_of(
    st.integers(1, 3000),
    st.integers(-40, 40).map(lambda k: 2**53 + k),
    st.integers(-40, 40).map(lambda k: 2**60 + k),
    st.integers(1, 2**62),
    st.integers(2**63, 2**70),  # past int64: the arrays' exact path
)


def torch_size(n: int, scale: float) -> int:
    """PyTorch's output length: F.interpolate on the meta device where its sizes fit int64
    storage, else Python's float rule (which is PyTorch's: floor(double(n)·scale))."""
    if n < 2**62 and n * scale < 2**62:
        x = torch.empty(1, 1, n, dtype=torch.uint8, device="meta")
        try:
            return int(F.interpolate(x, scale_factor=scale).shape[-1])
        except RuntimeError as error:  # PyTorch refuses an empty output
            assert "sizes should be greater than 0" in str(error)
            assert math.floor(float(n) * scale) == 0
            return 0
    return math.floor(float(n) * scale)


def scale_cases(text: str) -> list[str]:
    """The upsampling alone, and inside each kind of block (their sizes traced as one)."""
    up = f"upsample scale_factor={text}"
    return [f"input 1 x L\n{up}",
            f"input 1 x L\nrepeat 2 {{ {up} }}",
            f"input 1 x L\nresidual {{ {up} }} shortcut {{ {up} }}",
            f"input 1 x L\nconcat {{ {up} }} {{ {up} }}"]


@settings(deadline=None, max_examples=25)
@given(scales, st.lists(sizes, min_size=1, max_size=4))
@example(("4.1", 4.1), [90])  # 90·4.1 is 368.99999999999994 in double: 368, not 369
@example(("1", 1.0), [2**60 + 1])  # 2**60 + 1 rounds to 2**60 as a double
@example(("1/3", 1 / 3), [3])  # 3·(1/3) rounds up to 1.0 in double: 1, not 0
@example(("0.7", 0.7), [2**53 + 1, 10])
def test_upsample_by_scale_follows_pytorch_everywhere(scale, ns):
    text, factor = scale
    for description in scale_cases(text):
        evaluator = symconv.parse(description).evaluator()
        batch = evaluator.many_masked(L=ns)
        for row, n in enumerate(ns):
            once = torch_size(n, factor)
            want = torch_size(once, factor) if "repeat" in description and once else once
            fresh = symconv.parse(description)
            try:
                traced = fresh.output_shape(L=n)[-1]
            except symconv.ShapeError as error:
                assert want < 1 and "too small" in str(error)
                assert not batch.valid[row]
                with pytest.raises(symconv.ShapeError, match="too small"):
                    evaluator(L=n)
                continue
            assert (traced, evaluator(L=n)[-1].output_shape[-1], int(batch.output_shape[-1][row])
                    ) == (want, want, want), description


def test_a_loop_of_calls_never_changes_its_answer():
    net = symconv.parse("input 1 x H x W\nupsample scale_factor=4.1")
    answers = {net.output_shape(H=90, W=90) for _ in range(TRACED_CALLS + 4)}
    assert answers == {(1, 368, 368)}
    big = symconv.parse("input 1 x L\nupsample scale_factor=1")
    assert {big.output_shape(L=2**60 + 1) for _ in range(TRACED_CALLS + 4)} == {(1, 2**60)}


@pytest.mark.parametrize("description", scale_cases("4.1"))
def test_a_product_past_the_doubles_is_refused_with_the_reason(description):
    net = symconv.parse(description)
    message = "PyTorch computes n·scale_factor in double precision"
    with pytest.raises(symconv.ShapeError, match=message):
        net.output_shape(L=10**400)
    with pytest.raises(symconv.ShapeError, match=message):
        net.evaluator()(L=10**400)
    assert list(net.evaluator().many_masked(L=[10**400, 90]).valid) == [False, True]
    with pytest.raises(symconv.ShapeError, match=f"{message}.*row 0 of the batch"):
        net.evaluator().many(L=[10**400, 90])


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(sizes, st.integers(0, 5)), min_size=1, max_size=5))
@example([(90, 0), (2**62, 3), (2**70, 1)])
def test_a_symbolic_scale_factor_is_the_same_rule(rows):
    description = "input 1 x L\nupsample scale_factor=S"
    evaluator = symconv.parse(description).evaluator()
    ns, ss = [n for n, _ in rows], [s for _, s in rows]
    batch = evaluator.many_masked(L=ns, S=ss)
    for row, (n, s) in enumerate(rows):
        want = math.floor(float(n) * s)
        assert bool(batch.valid[row]) == (want >= 1)
        if want >= 1:
            assert symconv.parse(description).output_shape(L=n, S=s)[-1] == want
            assert evaluator(L=n, S=s)[-1].output_shape[-1] == want
            assert int(batch.output_shape[-1][row]) == want


@pytest.mark.parametrize("size", [1, 90, 2**53 + 1])
def test_a_symbolic_scale_of_a_fixed_size_is_the_same_rule(size):
    # The array program then multiplies a plain number by a column of scale factors.
    description = f"input 1 x {size}\nupsample scale_factor=S"
    scales = [1, 2, 0, 3, 2**62, 5]
    batch = symconv.parse(description).evaluator().many_masked(S=scales)
    want = [math.floor(float(size) * s) for s in scales]
    assert batch.valid.tolist() == [w >= 1 for w in want]
    assert [int(v) for v in batch.output_shape[-1]] == [max(w, 0) for w in want]
    assert [symconv.parse(description).output_shape(S=s)[-1] for s in scales if s] == \
        [w for w in want if w]


# ---------------------------------------------------------------- the solver and the rule

@pytest.mark.parametrize(("description", "shown", "column"), [
    ("input 1 x H x W\nupsample scale_factor=4.1", "41/10", 10),
    ("input 1 x H x W\nconv 3 k=3\nupsample scale=(2, 1.5)", "3/2", 10),
    ("input 1 x H x W\nrepeat 2 { upsample scale_factor=1/3 }", "1/3", 21),
    ("input 1 x H x W\nresidual { upsample scale_factor=2 } shortcut { upsample "
     "scale_factor=2.5 }", "5/2", 58),
    ("input 1 x H x W\nconcat { upsample scale_factor=0.5 } { maxpool k=2 }", "1/2", 19),
])
def test_the_solver_refuses_a_scale_that_is_not_whole(description, shown, column,
                                                      monkeypatch, capsys):
    from symconv.cli import main

    message = (f"upsample: solve: upsample by scale_factor {shown}, not a whole number: "
               "PyTorch computes floor(n·scale_factor) in double precision")
    with pytest.raises(symconv.UnsupportedError, match=re.escape(f", column {column}, {message}")):
        symconv.solve(description, "H", 368)
    monkeypatch.setattr("sys.stdin", io.StringIO(description))
    assert main(["solve", "-", "--for", "H", "--target", "369x368"]) == 2
    assert capsys.readouterr().err.startswith("symconv: error: line ")


@pytest.mark.parametrize("scale", [1, 2, 3, 7])
@pytest.mark.parametrize("target", [1, 12, 368, 1001])
def test_a_whole_scale_is_solved_as_the_numbers_follow(scale, target):
    description = f"input 1 x H x 5\nupsample scale_factor={scale}"
    solution = symconv.solve(description, "H", (target, 5 * scale))
    heights = np.arange(1, 1100)
    batch = symconv.parse(description).evaluator().many(H=heights)
    brute = set(heights[batch.output_shape[1] == target].tolist())
    assert {h for h in range(1, 1100) if solution.contains(h)} == brute


# ---------------------------------------------------------------- what many() takes

TAKES = ("takes a whole number (or its text, as a single call takes it) or an ordered "
         "sequence of them: a list, tuple, range or 1-d NumPy integer array")

ONE_ROW = [  # a single value, as a single call takes it: one row
    224, np.int64(224), np.uint16(224), np.array(224), np.array(224, dtype=np.uint8), "224",
    "2*112", [224], (224,), range(224, 225), np.array([224]), np.array([224], dtype=np.uint64),
    ["224"], [np.int32(224)], [np.array(224)],
]


@pytest.mark.parametrize("given", ONE_ROW, ids=repr)
def test_many_takes_a_value_as_a_single_call_does(given):
    evaluator = symconv.parse("input 1 x W\nconv 1 k=3").evaluator()
    batch = evaluator.many(W=given)
    assert len(batch) == 1 and int(batch.output_shape[-1][0]) == 222
    if not isinstance(given, list | tuple | range | np.ndarray) or np.ndim(given) == 0:
        assert evaluator(W=given)[-1].output_shape == (1, 222)


@pytest.mark.parametrize(("given", "message"), [
    (b"224", f"many: W {TAKES}, got bytes b'224'"),
    (bytearray(b"224"), f"many: W {TAKES}, got bytearray"),
    ({224, 225}, f"many: W {TAKES}, got set {{224, 225}} (which has no order for the rows)"),
    (frozenset({224}), f"many: W {TAKES}, got frozenset"),
    ({224: 1}, f"many: W {TAKES}, got dict {{224: 1}} (which has no order for the rows)"),
    (iter([224]), f"many: W {TAKES}, got"),
    ((w for w in [224]), f"many: W {TAKES}, got"),
    (np.array([[224]]), f"many: W {TAKES}, got ndarray"),
    (np.array([224.0]), f"many: W is a NumPy array of float64 values; it {TAKES}"),
    (np.array([True]), f"many: W is a NumPy array of bool values; it {TAKES}"),
    (np.array(224.0), f"many: W {TAKES}, got ndarray"),
    (224.0, f"many: W {TAKES}, got float 224.0"),
    (True, f"many: W {TAKES}, got bool True"),
    (None, f"many: W {TAKES}, got NoneType None"),
    ([224, 1.5], "W[1]: expected a whole number"),
    ([224, b"224"], "W[1]: expected a whole number"),
    ([224, {1}], "W[1]: expected a whole number"),
    ([224, "K"], "numeric evaluation takes a whole number for every symbol, got W[1] = K"),
    ("3/2", "numeric evaluation takes a whole number for every symbol, got W = 3/2"),
], ids=repr)
def test_many_refuses_anything_else_naming_the_symbol(given, message):
    evaluator = symconv.parse("input 1 x W\nconv 1 k=3").evaluator()
    for call in (evaluator.many, evaluator.many_masked):
        with pytest.raises(symconv.InvalidValueError) as caught:
            call(W=given)
        assert str(caught.value).startswith(message)


def test_many_takes_unsigned_numbers_past_int64_exactly():
    evaluator = symconv.parse("input 1 x W\nconv 1 k=3").evaluator()
    batch = evaluator.many(W=np.array([2**64 - 1, 5], dtype=np.uint64))
    assert [int(v) for v in batch.output_shape[-1]] == [2**64 - 3, 3]


# ---------------------------------------------------------------- an Evaluator pickles

@pytest.mark.parametrize("description", [
    "input 3 x H x W\nconv 8 k=3 s=S\nupsample scale_factor=4.1\nrepeat N { conv 8 k=3 p=1 }",
    "input 3 x 32 x 32\nresidual { conv 3 k=3 p=1 }\nflatten\nlinear 10",
    "input C x L\nrepeat N { conv C k=3 p=1 }\nconcat { conv 2 k=1 } { maxpool k=1 }",
])
def test_an_evaluator_pickles_and_copies_as_its_network_compiled_again(description):
    evaluator = symconv.parse(description).evaluator()
    values = {name: 90 if name in "HWL" else 3 if name == "C" else 1
              for name in evaluator.symbols}
    for copied in (pickle.loads(pickle.dumps(evaluator)), copy.deepcopy(evaluator),
                   copy.copy(evaluator)):
        assert copied == evaluator and copied.source == evaluator.source
        assert copied(**values) == evaluator(**values)
        columns = {name: [v, v + 1] for name, v in values.items()}
        assert [list(map(int, a)) for a in copied.many(**columns).output_shape] == \
            [list(map(int, a)) for a in evaluator.many(**columns).output_shape]
