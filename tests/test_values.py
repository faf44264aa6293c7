"""Values from any entry point obey the rules a literal obeys.

- A value that is not a value (None, a bool, a float, Decimal, Fraction, complex, a list,
  garbage text) given to any Python function that takes sizes or symbol values is an
  InvalidValueError naming the argument; numpy and SymPy integers and text are read.
- A layer parameter, repeat count or input size that becomes 3/2, 0 or negative through a
  symbol's value (--set, a Python keyword) is refused with the literal's rule and wording,
  naming the layer and the symbol.
"""

from __future__ import annotations

import decimal
import fractions
from collections.abc import Callable

import numpy
import pytest
import sympy

import symconv
from symconv.cli import main
from symconv.errors import InvalidValueError
from symconv.solve.design import design_search

NET = "input 3 x W x W\nconv 8 k=K p=P"
GOOD = {"W": 16, "K": 3, "P": 1}


def _net() -> symconv.Network:
    return symconv.parse(NET)


# Every function that takes a size or a symbol's value: (argument name in the message, call).
TAKERS: dict[str, tuple[str, Callable[[object], object]]] = {
    "output_shape": ("K", lambda v: _net().output_shape(**{**GOOD, "K": v})),
    "params": ("W", lambda v: _net().params(**{**GOOD, "W": v})),
    "totals": ("P", lambda v: _net().totals(**{**GOOD, "P": v})),
    "table": ("K", lambda v: _net().table(**{**GOOD, "K": v})),
    "bind": ("W", lambda v: _net().bind(W=v)),
    "region": ("unit[0]", lambda v: _net().region(1, (v, 0), **GOOD)),
    "evaluator": ("K", lambda v: _net().evaluator()(**{**GOOD, "K": v})),
    "to_torch_code": ("K", lambda v: _net().to_torch_code(**{**GOOD, "K": v})),
    "derive": ("P", lambda v: symconv.derive(_net(), **{**GOOD, "P": v})),
    "solve value": ("W", lambda v: symconv.solve(_net(), "P", 16, W=v, K=3)),
    "solve target": ("target", lambda v: symconv.solve(_net(), "P", v, W=16, K=3)),
    "solve target axis": ("target", lambda v: symconv.solve(_net(), "P", (16, v), W=16, K=3)),
    "parse input_shape": ("input_shape[1]", lambda v: symconv.parse("conv 8 k=3", (3, v, 8))),
    "simplify_rounding": ("simplify_rounding", lambda v: symconv.simplify_rounding(v)),  # type: ignore[arg-type]
    "design_search": ("size", lambda v: design_search(v, 4)),  # type: ignore[arg-type]
}
NOT_VALUES = {
    "None": (None, "NoneType None"),
    "True": (True, "bool True"),
    "False": (False, "bool False"),
    "float 3.0": (3.0, "float 3.0"),
    "float 3.5": (3.5, "float 3.5"),
    "Decimal": (decimal.Decimal(3), "Decimal('3')"),
    "Fraction": (fractions.Fraction(3), "Fraction(3, 1)"),
    "complex": (3j, "complex 3j"),
    "list": ([3], "list [3]"),
    "sympy Float": (sympy.Float(3), "Float 3.00000000000000"),
    "sympy I": (sympy.I, "ImaginaryUnit I"),
    "relation": (sympy.Eq(symconv.symbol("W"), 3), "Equality Eq(W, 3)"),
}
EXPECTED = "expected a whole number, an expression over symbols, or its text"


@pytest.mark.parametrize(("value", "shown"), NOT_VALUES.values(), ids=NOT_VALUES.keys())
@pytest.mark.parametrize(("name", "call"), TAKERS.values(), ids=TAKERS.keys())
def test_a_value_that_is_not_a_value_is_refused(name: str, call: Callable[[object], object],
                                                value: object, shown: str) -> None:
    if call is TAKERS["solve target"][1] and isinstance(value, list):
        return  # a list of sizes is a target: its items are checked (solve target axis)
    if call is TAKERS["simplify_rounding"][1] and isinstance(value, sympy.Basic):
        return  # it simplifies any SymPy expression, a size or not
    with pytest.raises(InvalidValueError) as caught:
        call(value)
    assert str(caught.value) == f"{name}: {EXPECTED} (such as 224 or '2*K + 1'), got {shown}"


@pytest.mark.parametrize("text", ["garbage(", "3 +", "K ==", "'3'", "nn.ReLU()", "None",
                                  "True"])
@pytest.mark.parametrize(("name", "call"), TAKERS.values(), ids=TAKERS.keys())
def test_garbage_text_is_refused(name: str, call: Callable[[object], object], text: str
                                 ) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        call(text)
    assert str(caught.value).startswith(f"{name}: ")


INTEGERS = {
    "int": 16,
    "numpy int64": numpy.int64(16),
    "numpy uint8": numpy.uint8(16),
    "sympy Integer": sympy.Integer(16),
    "text": "16",
    "text expression": "4*4",
}


@pytest.mark.parametrize("value", INTEGERS.values(), ids=INTEGERS.keys())
def test_whole_numbers_of_every_type_are_read_alike(value: object) -> None:
    net = _net()
    expected = net.output_shape(**GOOD)
    assert net.output_shape(**{**GOOD, "W": value}) == expected
    assert net.evaluator()(**{**GOOD, "W": value})[-1].output_shape == tuple(expected)
    assert symconv.parse("conv 8 k=3 p=1", (3, value, value)).output_shape() == expected
    assert symconv.solve(net, "P", value, W=value, K=3).values == (1,)


# ------------------------------------------------- values given later obey the literal's rules

# (description with {} for the value, the rule's message with {v} for the value); each row is
# run with the number written in place, and with a symbol X given the number by --set and by
# a Python keyword (as an int, a SymPy number or text).
RULES = {
    "kernel_size": ("input 3 x 8 x 8\nconv 8 k={}", "kernel_size must be {rule}"),
    "stride": ("input 3 x 8 x 8\nconv 8 k=3 s={}", "stride must be {rule}"),
    "dilation": ("input 3 x 8 x 8\nconv 8 k=3 d={}", "dilation must be {rule}"),
    "padding": ("input 3 x 8 x 8\nconv 8 k=3 p={}", "padding must be {rule}"),
    "groups": ("input 4 x 8 x 8\nconv 4 k=3 g={}", "groups must be {rule}"),
    "out_channels": ("input 3 x 8 x 8\nconv {} k=3", "out_channels must be {rule}"),
    "in_channels": ("input 3 x 8 x 8\nnn.Conv2d({}, 8, 3)", "in_channels must be {rule}"),
    "output_padding": ("input 3 x 8 x 8\nconvt 8 k=3 s=2 op={}",
                       "output_padding must be {rule}"),
    "pool kernel": ("input 3 x 8 x 8\nmaxpool k={}", "kernel_size must be {rule}"),
    "out_features": ("input 3 x 8 x 8\nflatten\nlinear {}", "out_features must be {rule}"),
    "output_size": ("input 3 x 8 x 8\nadaptive_avgpool {}", "output_size must be {rule}"),
    "repeat count": ("input 3 x 8 x 8\nrepeat {} {{ relu }}", "the count of repeat must be {rule}"),
    "input size": ("input 3 x {} x 8\nconv 8 k=1", "input sizes must be {rule}"),
}
LEAST = {"padding": 0, "output_padding": 0}
BAD = {"3/2": sympy.Rational(3, 2), "0": 0, "-1": -1}


def _rule(name: str, template: str, text: str) -> str:
    value = BAD[text]
    if name == "input size":
        shape = f"3 x {text} x 8"
        return template.format(rule=f"whole numbers, got {shape}" if text == "3/2"
                               else f"at least 1, got {shape}")
    least = LEAST.get(name, 1)
    if text == "3/2":
        return template.format(rule=f"a whole number, got {text}")
    if value >= least:
        return ""
    return template.format(rule=f"at least {least}, got {text}")


def _message(error: symconv.SymconvError) -> str:
    return error.message


CASES = [(name, text) for name in RULES for text in BAD if _rule(name, RULES[name][1], text)]


def test_every_parameter_has_its_bad_values() -> None:
    assert len(CASES) == 3 * len(RULES) - len(LEAST)  # only a padding of 0 is fine


@pytest.mark.parametrize(("name", "text"), CASES, ids=[f"{n}={t}" for n, t in CASES])
def test_a_value_given_later_obeys_the_literal_rule(
    name: str, text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    description, template = RULES[name]
    rule = _rule(name, template, text)
    with pytest.raises(symconv.SymconvError) as literal:
        symconv.parse(description.format(text)).table()
    assert _message(literal.value) == rule
    symbolic = symconv.parse(description.format("X"))
    for given in (BAD[text], text, sympy.sympify(BAD[text], strict=True)):
        with pytest.raises(symconv.SymconvError) as keyword:
            symbolic.table(X=given)
        assert _message(keyword.value) == f"{rule} (X = {text})"
        assert keyword.value.layer == literal.value.layer  # the same layer named
        with pytest.raises(symconv.SymconvError) as fast:
            symbolic.evaluator()(X=given)
        assert _message(fast.value) == f"{rule} (X = {text})"
    assert main(["table", "-e", description.format("X"), "--set", f"X={text}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symconv: error: ")
    assert f"{rule} (X = {text})" in err


def test_a_symbol_that_only_becomes_whole_in_an_expression_is_still_whole() -> None:
    """Every symbol is a whole number (the formulas assume it): K = 3/2 is refused even
    where 2*K is a fine kernel."""
    with pytest.raises(InvalidValueError) as caught:
        symconv.parse("input 3 x 8 x 8\nconv 8 k=2*K").table(K=sympy.Rational(3, 2))
    assert str(caught.value) == "K = 3/2: every symbol stands for a whole number"


def test_an_expression_that_is_not_whole_is_refused_where_it_lands() -> None:
    net = symconv.parse("input 3 x 8 x 8\nconv 8 k=K/2")
    for run in (lambda: net.table(K=3), lambda: net.evaluator()(K=3)):
        with pytest.raises(symconv.InvalidLayerError) as caught:
            run()
        assert caught.value.message == "kernel_size must be a whole number, got 3/2 (K = 3)"
    assert net.evaluator()(K=6)[-1].output_shape == (8, 6, 6)
