"""The Python API against a hostile or careless caller: whatever is passed to any public
function or Network method, the answer is exact or a SymconvError that says what was wrong,
never another exception, never text evaluated as Python, never a silently wrong answer.

Classes hunted: values of every Python, numpy and SymPy type (objects whose __index__ or
__repr__ fail, int and str subclasses that lie, numbers beyond symconv's digit limit, SymPy
expressions the language cannot write, symbols made outside symconv); arguments of the
wrong kind where a network, a name or a quantity belongs; results too large to print;
texts too long to parse quickly; the words True, False and None as input sizes."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy

import symconv
from symconv.language.parse import MAX_DIGITS, parse_shape

NET_TEXT = ("input 3 x H x W\nconv K k=3 s=S p=P\nmaxpool k=2 ceil\n"
            "repeat N { conv 8 k=3 p=1 }\nflatten\nlinear 10")
NET = symconv.parse(NET_TEXT)
VALUES = {"H": 32, "W": 32, "S": 1, "P": 1, "K": 4, "N": 2}
SOLVED = symconv.parse("input 3 x H x W\nconv K k=3 s=S p=P\nrepeat N { conv 8 k=3 p=1 }")
OTHERS = {k: v for k, v in VALUES.items() if k != "P"}  # P is solved for
H = symconv.symbol("H")


class IndexRaises:
    def __index__(self) -> int:
        raise RuntimeError("boom")


class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("boom")

    __str__ = __repr__


class LyingInt(int):
    """An int that prints as another number."""

    def __repr__(self) -> str:
        return "999"

    __str__ = __repr__


class LyingStr(str):
    def __str__(self) -> str:
        return "__import__('os')"

    def __format__(self, spec: str) -> str:
        return "x = __import__('os')\nnet"


# Every public place that takes a value for a symbol, called with `v` for one symbol.
TAKERS: dict[str, Callable[[Any], object]] = {
    "output_shape": lambda v: NET.output_shape(**{**VALUES, "W": v}),
    "table": lambda v: NET.table(K=v),
    "params": lambda v: NET.params(**{**VALUES, "N": v}),
    "totals": lambda v: NET.totals(H=v),
    "records": lambda v: NET.records(**{**VALUES, "S": v}),
    "bind": lambda v: NET.bind(P=v),
    "bind mapping": lambda v: NET.bind({"P": v}),
    "evaluator": lambda v: NET.evaluator()(**{**VALUES, "W": v}),
    "region unit": lambda v: NET.region(1, (v, 0), **VALUES),
    "region layer": lambda v: NET.region(v, (0, 0), **VALUES),
    "parse input_shape": lambda v: symconv.parse("conv 3 k=3", (3, v, 5)),
    "solve target": lambda v: symconv.solve(SOLVED, "P", v, **OTHERS),
    "solve value": lambda v: symconv.solve(SOLVED, "P", 16, **{**OTHERS, "H": v}),
    "derive": lambda v: symconv.derive(NET, W=v),
    "to_torch_code": lambda v: NET.to_torch_code("net", **{**VALUES, "H": v}),
    "contains": lambda v: symconv.solve("input 3 x W\nconv 4 k=K", "W", 5).contains(4, K=v),
}

# (value, what the message says)
HOSTILE: list[tuple[object, str]] = [
    (IndexRaises(), "its __index__ raised RuntimeError"),
    (ReprRaises(), "a ReprRaises object"),
    (10**5000, f"too large (symconv takes at most {MAX_DIGITS} digits)"),
    (-(10**5000), f"too large (symconv takes at most {MAX_DIGITS} digits)"),
    (sympy.Integer(10) ** 4001, f"too large (symconv takes at most {MAX_DIGITS} digits)"),
    (3.0, "got float 3.0"),
    (np.float64(3.0), "expected a whole number"),
    (np.array([3, 4]), "expected a whole number"),
    (b"3", "got bytes b'3'"),
    (sympy.pi, "got Pi pi"),
    (H + sympy.pi, "got Add H + pi"),
    (sympy.sin(H), "got sin(H)"),
    (sympy.sqrt(H), "got Pow sqrt(H)"),
    (sympy.Function("f")(H), "got f(H)"),
    (sympy.Dummy("H"), "expected a whole number"),
    (sympy.IndexedBase("a")[1], "got Indexed a[1]"),
    (sympy.Piecewise((1, H > 3), (2, True)), "got Piecewise((1, H > 3)"),
    (sympy.oo, "got Infinity oo"),
    (sympy.zoo, "got ComplexInfinity zoo"),
    (sympy.nan, "got NaN nan"),
    (sympy.I, "got ImaginaryUnit I"),
    (sympy.Float(3), "expected a whole number"),
    (sympy.Eq(H, 1), "expected a whole number"),
    ("__import__('os').system('true')", "cannot read"),
    ("1+" * 20000 + "1", "is much shorter (symconv reads at most 20000)"),
    ({3}, "got set {3}"),
]


@pytest.mark.parametrize(("value", "message"), HOSTILE,
                         ids=[f"{type(v).__name__}-{i}" for i, (v, _) in enumerate(HOSTILE)])
@pytest.mark.parametrize("taker", list(TAKERS))
def test_every_hostile_value_is_refused_by_name(taker: str, value: object, message: str
                                                ) -> None:
    start = time.perf_counter()
    with pytest.raises(symconv.SymconvError) as refused:
        TAKERS[taker](value)
    assert time.perf_counter() - start < 2
    text = str(refused.value)
    assert len(text) < 1000  # a huge value is never printed whole
    if taker not in ("region layer",):  # a layer number says its own name
        assert message in text, text


@pytest.mark.parametrize("value", [LyingInt(4), np.int64(4), np.array(4), sympy.Integer(4)])
def test_integers_of_every_kind_are_their_value(value: object) -> None:
    assert NET.output_shape(**{**VALUES, "K": value}) == NET.output_shape(**VALUES)
    assert NET.evaluator()(**{**VALUES, "K": value}) == NET.evaluator()(**VALUES)
    # A message quotes the number itself, not what the object prints.
    with pytest.raises(symconv.SymconvError, match=r"input H = 1;"):
        NET.output_shape(**{**VALUES, "H": LyingInt(1), "P": 0})


# Symbols made outside symconv (plain SymPy symbols, with other assumptions or none) are
# symconv's symbols of the same name: substituting H later reaches them too.
@pytest.mark.parametrize("foreign", [
    sympy.Symbol("H"), sympy.Symbol("H", real=True), sympy.Symbol("H", integer=True),
    sympy.Symbol("H", negative=True), sympy.Symbol("H", commutative=True),
])
@pytest.mark.parametrize("width", [lambda h: h, lambda h: 2 * h + 1, lambda h: h // 2 + 3,
                                   lambda h: sympy.Max(h, 9), lambda h: sympy.ceiling(h / 3)])
def test_foreign_symbols_are_symconvs(foreign: sympy.Symbol,
                                      width: Callable[[Any], Any]) -> None:
    net = symconv.parse("input 3 x H x W\nconv 8 k=3 s=2 p=1")
    bound = net.bind(W=width(foreign))
    assert bound.symbols == ("H",)
    for h in (5, 17, 40):
        expected = net.output_shape(H=h, W=width(foreign).xreplace({foreign: h}))
        assert bound.output_shape(H=h) == expected
        assert bound.evaluator()(H=h)[-1].output_shape == expected


# Arguments of the wrong kind where a network, a name, a mapping or a quantity belongs.
WRONG_KINDS: list[tuple[Callable[[], object], str]] = [
    (lambda: symconv.solve(3, "P", 16), "solve: expected a Network (from symconv.parse)"),
    (lambda: symconv.solve(None, "P", 16), "got NoneType"),
    (lambda: symconv.solve(NET, 3, 16), "solve: the unknown is a symbol's name"),
    (lambda: symconv.solve(NET, np.array(["P", "K"]), 16), "got ndarray"),
    (lambda: symconv.derive(object()), "derive: expected a Network"),
    (lambda: symconv.derive(NET, quantity=3), "quantity: expected one of"),
    (lambda: symconv.derive(NET, quantity=None), "quantity: expected one of"),
    (lambda: symconv.derive(NET, quantity=[3]), "quantity: expected one of"),
    (lambda: symconv.to_torch_code(b"input 3x8x8"), "to_torch_code: expected a Network"),
    (lambda: NET.to_torch_code([3], **VALUES), "name: expected a Python name such as net, "
                                               "got [3]"),
    (lambda: NET.to_torch_code(ReprRaises(), **VALUES), "got a ReprRaises object"),
    (lambda: NET.to_torch_code("x; import os", **VALUES), "name: expected a Python name"),
    (lambda: symconv.closed_forms(3), "closed_forms: expected a list of receptive fields"),
    (lambda: symconv.closed_forms("abc"), "closed_forms: expected a list"),
    (lambda: symconv.closed_forms([(1, 2)]), "closed_forms: expected a list"),
    (lambda: symconv.symbol(3), "a symbol's name must be text such as 'W', got int 3"),
    (lambda: symconv.symbol(["W"]), "a symbol's name must be text"),
    (lambda: symconv.symbol(ReprRaises()), "a ReprRaises object"),
    (lambda: NET.bind({3: 4}), "bind: a symbol's name must be text"),
    (lambda: NET.bind([("H", 3)]), "bind: expected a mapping"),
    (lambda: symconv.parse(b"input 3x8x8\nrelu"), "the description must be text, got bytes"),
    (lambda: symconv.parse("relu", ReprRaises()), "a ReprRaises object"),
    (lambda: symconv.solve("input 3 x W\nconv 4 k=K", "W", 5).contains(3.5, K=1),
     "W: expected a whole number"),
    (lambda: symconv.solve("input 3 x W\nconv 4 k=K", "W", 5).contains(4, K="K"),
     "K: expected a whole number, got K"),
]


@pytest.mark.parametrize(("call", "message"), WRONG_KINDS)
def test_arguments_of_the_wrong_kind_are_refused_by_name(call: Callable[[], object],
                                                         message: str) -> None:
    with pytest.raises(symconv.SymconvError) as refused:
        call()
    assert message in str(refused.value)


def test_a_str_subclass_is_its_text() -> None:
    assert symconv.symbol(LyingStr("W")) is symconv.symbol("W")
    code = NET.to_torch_code(LyingStr("net"), **VALUES)
    assert "__import__" not in code and "\nnet = nn.Sequential(" in code
    assert NET.output_shape(**{**VALUES, "W": LyingStr("32")}) == NET.output_shape(**VALUES)


# Results beyond MAX_DIGITS digits are refused as the parser refuses such numbers (Python
# itself cannot print an int beyond 4300 digits: every table, message and LaTeX would fail).
@pytest.mark.parametrize(("text", "values", "where"), [
    ("input 3 x H x H\nflatten\nlinear 10 in=5", {"H": 10**3000}, "layer 1 (flatten)"),
    ("input 3 x H x H\nconv 4 k=3", {"H": 10**3999}, "layer 1 (conv2d)"),
    ("input 3 x H\nconvT 4 k=1 s=S\nconvT 4 k=1 s=S", {"H": 2, "S": 10**2500},
     "layer 2 (convtranspose1d)"),
    ("input 3 x H\nconv 40 k=1", {"H": sympy.Integer(10) ** 3999 * symconv.symbol("A")},
     "layer 1 (conv1d)"),
])
def test_results_beyond_the_digit_limit_are_refused(text: str, values: dict[str, object],
                                                    where: str) -> None:
    net = symconv.parse(text)
    calls: list[Callable[[], object]] = [lambda: net.table(**values),
                                         lambda: net.bind(values)._repr_markdown_(),
                                         lambda: net.bind(values)._repr_latex_(),
                                         lambda: symconv.derive(net, **values)]
    if not any(isinstance(v, sympy.Basic) for v in values.values()):
        calls.append(lambda: net.evaluator()(**values))
    for call in calls:
        with pytest.raises(symconv.ShapeError, match=re.escape(where) + ": .* would have "
                                                     f"more than {MAX_DIGITS} digits"):
            call()
    # Just below the limit, the answer is exact.
    assert symconv.parse("input 3 x H\nconv 4 k=1").output_shape(H=10**3990) == (4, 10**3990)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: parse_shape("x" * 100_000), "a shape is much shorter"),
    (lambda: symconv.parse("relu", "x" * 100_000), "a shape is much shorter"),
    (lambda: symconv.solve(NET, "P", "x" * 100_000, H=32), "a shape is much shorter"),
    (lambda: NET.output_shape(W="(" * 30_000 + "1" + ")" * 30_000), "a value is much shorter"),
])
def test_long_texts_are_refused_before_parsing(call: Callable[[], object],
                                               message: str) -> None:
    start = time.perf_counter()
    with pytest.raises(symconv.SymconvError, match=message):
        call()
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize(("text", "shape", "message"), [
    ("input 3 x None x None\nconv 8 k=3", None, "not the word None"),
    ("input 3 x (True + 1) x 4\nconv 8 k=3", None, "not the word True"),
    ("conv 8 k=3", "3 x False x 4", "not the word False"),
    # A required size written as None is refused, never an assertion.
    ("input 3 x 8 x 8\nconv None k=3", None, "out_channels: expected a size, got None"),
    ("input 3 x 8 x 8\nlinear None", None, "out_features: expected a size, got None"),
    ("input 3 x 8 x 8\nconv 8 k=3 g=None", None, "groups: expected a size, got None"),
    ("input 3 x 8 x 8\nnn.Conv2d(3, None, 3)", None, "out_channels: expected a size"),
])
def test_words_are_not_sizes(text: str, shape: str | None, message: str) -> None:
    with pytest.raises(symconv.SymconvError, match=message):
        symconv.parse(text, shape)


# ---------------------------------------------------------------- from_torch
import torch  # noqa: E402  (the oracle: installed with symconv[test], never skipped)

nn = torch.nn


class _CatKeywords(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(3, 2, 1)

    def forward(self, x: Any) -> Any:
        return torch.cat(tensors=[self.a(x), self.b(x)], dim=1)


class _AddKeywords(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: Any) -> Any:
        return torch.add(input=x, other=self.a(x))


class _ViewFlatten(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 4, 3, bias=False), nn.Linear(4 * 6 * 6, 10)

    def forward(self, x: Any) -> Any:
        x = torch.nn.functional.relu(self.conv(x), inplace=True)
        return self.fc(x.view(x.size(0), -1))


# Models written in the ordinary ways a forward is written: read exactly (PyTorch's shape
# and parameter count), in train and in eval mode.
@pytest.mark.parametrize("model", [_CatKeywords, _AddKeywords, _ViewFlatten])
@pytest.mark.parametrize("train", [True, False])
def test_forwards_written_with_keywords_are_read_exactly(model: type, train: bool) -> None:
    module = model().train(train)
    with torch.no_grad():
        expected = tuple(module(torch.zeros(1, 3, 8, 8)).shape[1:])
    net = symconv.from_torch(module, (3, 8, 8))
    assert net.output_shape() == expected
    assert net.params() == sum(p.numel() for p in module.parameters())


# An input shape is whole numbers (or text): a float is refused, never cut to an int.
@pytest.mark.parametrize(("shape", "message"), [
    ((3, 9.7, 9), "input_shape[1]: expected a whole number"),
    ((3, True, 9), "input_shape[1]: expected a whole number"),
    ((3, np.float32(9), 9), "input_shape[1]: expected a whole number"),
    (3, "input_shape: expected a shape such as (3, 224, 224)"),
    ((3, 10**5000, 9), "input_shape[1]: the number is too large"),
    ("3 x None x 9", "not the word None"),
])
def test_from_torch_input_shapes_are_whole_numbers(shape: object, message: str) -> None:
    with pytest.raises(symconv.SymconvError, match=re.escape(message)):
        symconv.from_torch(nn.Sequential(nn.Conv2d(3, 4, 3)), shape)  # type: ignore[arg-type]
    # torch.Size, numpy and torch integers are whole numbers.
    for good in (torch.Size([3, 9, 9]), (np.int64(3), torch.tensor(9), 9)):
        assert symconv.from_torch(nn.Sequential(nn.Conv2d(3, 4, 3)), good).output_shape() == (
            4, 7, 7)


class _Pausing(nn.Module):
    """A model whose forward, while torch.fx traces it, waits until told to go on."""

    def __init__(self, inner: nn.Module, entered: threading.Event, go_on: threading.Event
                 ) -> None:
        super().__init__()
        self.inner = inner
        self.entered, self.go_on = entered, go_on

    def forward(self, x: Any) -> Any:
        self.entered.set()
        self.go_on.wait(5)
        return self.inner(x)


def test_a_model_read_while_another_is_traced_is_read_exactly() -> None:
    """torch.fx patches torch.nn.Module for every thread while it traces: a module read by
    another thread meanwhile (the same model, or one sharing layers) saw tracing proxies for
    its weights (TraceError) or took its bias for a tensor used directly. Deterministic: the
    model is read while a trace of a model holding it is held open."""
    entered, go_on = threading.Event(), threading.Event()
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=True), nn.ReLU(),
                          nn.Conv2d(8, 4, 3, dilation=2), nn.Flatten())
    expected = symconv.from_torch(model, (3, 16, 16)).table()
    answers: list[object] = []

    def read(what: Any, into: list[object]) -> None:
        try:
            into.append(symconv.from_torch(what, (3, 16, 16)).table())
        except BaseException as error:  # reported below, with its type
            into.append(error)

    first: list[object] = []
    tracing = threading.Thread(target=read, args=(_Pausing(model, entered, go_on), first))
    tracing.start()
    assert entered.wait(5)
    second = threading.Thread(target=read, args=(model, answers))
    second.start()
    second.join(0.5)  # long enough to read the model if nothing holds it back
    go_on.set()
    tracing.join()
    second.join()
    assert answers == [expected]
    assert isinstance(first[0], tuple)


def test_sixteen_threads_reading_models_give_the_single_thread_answers() -> None:
    models = [(nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                             nn.MaxPool2d(3, 2, ceil_mode=True), nn.Conv2d(8, 4, 3, dilation=2)),
               (3, 32, 32)), (_ViewFlatten(), (3, 8, 8)), (_CatKeywords(), (3, 8, 8))]

    def answers(index: int) -> str:
        model, shape = models[index % len(models)]
        return (str(symconv.from_torch(model, shape).table())
                + str(symconv.parse(NET_TEXT).table(**VALUES))
                + str(symconv.solve("input 3 x W\nconv 8 k=K s=2 p=1", "W", 7, K=3)))

    expected = [answers(i) for i in range(16)]
    start = threading.Barrier(16)
    results: dict[int, object] = {}

    def work(i: int) -> None:
        start.wait()
        try:
            results[i] = [answers(i) for _ in range(2)]
        except BaseException as error:  # reported below, with its type
            results[i] = error

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {i: [expected[i]] * 2 for i in range(16)}
