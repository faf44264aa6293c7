"""Bad input gets a clear error naming the line, the layer and the rule; the message is part of
the interface, so each row asserts it."""

from __future__ import annotations

import unicodedata

import pytest
import sympy

import symconv
from symconv.errors import (
    InvalidLayerError,
    ShapeError,
    SymconvError,
    SyntaxProblem,
    UnknownNameError,
    UnsupportedError,
)

IN = "input 3 x 32 x 32\n"

ROWS = [
    # syntax: line, column, the line with a caret, what was expected in words
    (IN + "conv 10 k=3 s=", SyntaxProblem,
     ["line 2, column 15", "expected a value", "conv 10 k=3 s=\n", "^"]),
    (IN + "conv 10 k=(3,3", SyntaxProblem, ["line 2", "expected ')' or ','"]),
    (IN + "conv 10 k=3 @", SyntaxProblem, ["line 2, column 13", "unexpected character '@'"]),
    # unknown names suggest the closest one
    (IN + "convv 10 k=3", UnknownNameError, ["line 2", "unknown layer 'convv'",
                                             "did you mean 'conv'?"]),
    (IN + "conv 10 kernal=3", UnknownNameError, ["line 2, column 9",
                                                 "unknown parameter 'kernal' for conv",
                                                 "did you mean 'kernel'?"]),
    (IN + "nn.Conv2D(3, 10, 3)", UnknownNameError, ["did you mean 'nn.Conv2d'?"]),
    (IN + "maxpool k=3 strde=2", UnknownNameError, ["did you mean 'stride'?"]),
    (IN + "max(3, 4)\nrelu", SyntaxProblem,
     ["line 2, column 1", "a number (4) stands where a layer is expected"]),
    ("input 3 x nn.ReLU()\nrelu", SyntaxProblem,
     ["line 1, column 11", "a layer (nn.ReLU) stands where a number or a name is expected"]),
    (IN + "conv 8 k=3 p=smae", UnknownNameError,
     ["line 2, column 12", "padding: unknown word 'smae'; did you mean 'same'?"]),
    # impossible shapes name the layer, the axis and the numbers
    ("input 3 x 4 x 5\nconv 10 k=7", ShapeError,
     ["line 2", "layer 1 (conv2d)", "output H would be -2", "input H = 4"]),
    ("input 3 x 9 x 5\nrelu\nmaxpool k=6 s=1", ShapeError,
     ["line 3", "layer 2 (maxpool2d)", "output W would be 0", "input W = 5"]),
    ("input 3 x 1\nconvT 3 k=1 p=1", ShapeError,
     ["layer 1 (convtranspose1d)", "output L would be -1"]),
    # PyTorch's rules, with the rule in the message
    (IN + "conv 10 k=3 g=2", InvalidLayerError,
     ["layer 1 (conv2d)", "in_channels (3) must be divisible by groups (2)"]),
    ("input 4 x 8 x 8\nconv 10 k=3 g=4", InvalidLayerError,
     ["out_channels (10) must be divisible by groups (4)"]),
    (IN + "convT 10 k=3 s=2 op=2", InvalidLayerError,
     ["output_padding (2) must be smaller than either stride (2) or dilation (1)"]),
    (IN + "maxpool k=3 p=2", InvalidLayerError,
     ["padding (2) should be at most half of kernel size (3)"]),
    (IN + "avgpool k=2 p=2", InvalidLayerError,
     ["padding (2) should be at most half of kernel size (2)"]),
    (IN + "conv 10 k=3 s=2 p=same", InvalidLayerError,
     ["padding='same' is not supported for strided convolutions (stride 2)"]),
    ("input 3 x 2 x 8 x 8\navgpool k=3", ShapeError,
     ["input D (2) is smaller than the kernel (3)"]),
    (IN + "conv 10 k=0", InvalidLayerError, ["kernel_size must be at least 1, got 0"]),
    (IN + "conv 10 k=3 p=-1", InvalidLayerError, ["padding must be at least 0, got -1"]),
    # declared sizes that contradict the running shape name both numbers
    ("input 3 x 224 x 224\nnn.Conv2d(1, 96, kernel_size=11)", ShapeError,
     ["in_channels is declared as 1 but the input has 3"]),
    ("input 1 x 28 x 28\nflatten\nnn.Linear(6400, 10)", ShapeError,
     ["layer 2 (linear)", "in_features is declared as 6400 but the input has 784"]),
    ("input 8 x 4 x 4\nnn.BatchNorm2d(16)", ShapeError,
     ["num_features is declared as 16 but the input has 8"]),
    # arguments
    (IN + "nn.Conv1d(3, 4, 3)", ShapeError, ["nn.Conv1d needs an input with 1 spatial axis"]),
    (IN + "conv 10 k=(3,3,3)", InvalidLayerError, ["kernel_size: 3 values for 2 spatial axes"]),
    (IN + "conv 10 k=3 k=5", InvalidLayerError, ["'kernel_size' is given twice"]),
    (IN + "conv 10 20 k=3", InvalidLayerError, ["too many values: conv takes out_channels"]),
    (IN + "conv k=3", InvalidLayerError, ["missing out_channels"]),
    (IN + "conv 10 k=3 bias=maybe", InvalidLayerError, ["bias: expected true or false"]),
    (IN + "dropout 1.5", InvalidLayerError, ["expected a probability between 0 and 1"]),
    (IN + "conv 10 k=2.5", InvalidLayerError,
     ["layer 1 (conv2d): kernel_size must be a whole number, got 5/2"]),
    (IN + "flatten\nconv 3 k=1", ShapeError, ["line 3", "its input is flat"]),
    (IN + "nn.Conv2d(3, 8, 3, padding='reflect')", InvalidLayerError,
     ["expected a size, one per axis, 'same' or 'valid', got 'reflect'"]),
    (IN + "nn.Flatten(start_dim=2)", UnsupportedError, ["start_dim=1, end_dim=-1"]),
    # the description as a whole
    ("# nothing here\n", ShapeError, ["no input shape"]),
    ("input 3 x 32 x 32\n", ShapeError, ["the description has no layers"]),
    ("conv 10 k=3", ShapeError, ["line 1", "no input shape", "--input"]),
    (IN + "relu\ninput 3 x 3 x 3", ShapeError, ["line 3", "before the first layer"]),
]


@pytest.mark.parametrize(("text", "error", "fragments"), ROWS)
def test_bad_input_message(text: str, error: type[SymconvError], fragments: list[str]) -> None:
    with pytest.raises(error) as caught:
        symconv.parse(text).table()
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message
    assert isinstance(caught.value, ValueError)  # callers may catch ValueError


def test_errors_point_at_the_line_with_a_caret() -> None:
    with pytest.raises(UnknownNameError) as caught:
        symconv.parse("input 3 x 8 x 8\nconv 4 k=3\n  relu\n  sigmoidd")
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("line 4, column 3")
    assert lines[1:] == ["    sigmoidd", "    ^"]


def test_unknown_symbol_in_values_is_named() -> None:
    network = symconv.parse("input 3 x H x W\nconv 8 k=K")
    with pytest.raises(UnknownNameError, match="unknown symbol 'w'; did you mean 'W'"):
        network.output_shape(w=3)


def test_symbols_leave_rules_open_until_values_decide() -> None:
    network = symconv.parse("input 3 x W x W\nconv 8 k=3 s=S p=same")
    assert network.output_shape(W=9, S=1) == (8, 9, 9)
    with pytest.raises(InvalidLayerError, match="strided convolutions"):
        network.output_shape(S=2)


# Functions in expressions: each takes a count of arguments and only numbers or expressions;
# anything else is refused at the call, saying what the function takes (it was lark's
# VisitError, a traceback).
@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("floor()", "column 10: floor() takes one number or expression; none given"),
        ("floor(1, 2)", "column 10: floor() takes one number or expression; 2 given"),
        ("ceil(1, 2, 3)", "column 10: ceil() takes one number or expression; 3 given"),
        ("ceiling(1, 2, 3, 4)", "column 10: ceiling() takes one number or expression; 4 given"),
        ("min()", "column 10: min() takes two or more numbers or expressions; none given"),
        ("max(3)", "column 10: max() takes two or more numbers or expressions; 1 given"),
        ("floor(x=2)",
         "column 10: floor() takes one number or expression; a keyword given (x=)"),
        ("max(3, k=2)",
         "column 10: max() takes two or more numbers or expressions; a keyword given"),
        ("max('same', 2)", "column 14: max() takes two or more numbers or expressions, not "
                           "a quoted string ('same')"),
        ("floor((1, 2))", "column 16: floor() takes one number or expression, not a tuple"),
        ("min(nn.ReLU(), 2)",
         "column 14: min() takes two or more numbers or expressions, not a layer (nn.ReLU)"),
    ],
)
def test_function_calls_check_arity_and_kinds(call: str, message: str) -> None:
    with pytest.raises(SyntaxProblem) as caught:
        symconv.parse(f"{IN}conv 8 k={call}")
    assert str(caught.value).startswith(f"line 2, {message}")
    assert str(caught.value).splitlines()[1] == f"  conv 8 k={call}"


@pytest.mark.parametrize(("call", "value"), [("floor(7/2)", 3), ("ceil(7/2)", 4),
                                              ("ceiling(7/2)", 4), ("min(5, 3)", 3),
                                              ("max(1, 2, 3, 4)", 4), ("min(3, 2, 5)", 2)])
def test_function_calls_of_the_right_arity(call: str, value: int) -> None:
    network = symconv.parse(f"input 1 x 9\nconv 1 k={call}")
    assert network.output_shape() == (1, 10 - value)


# Echoed source lines: whatever the line holds, the terminal shows it as text (an escape
# sequence does not recolour, a CR does not rewind, a bidi override does not reorder), and
# the caret stands under the character the message is about.
@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("\x1b[31m", "\\x1b[31m"),
        ("\x00", "\\x00"),
        ("\x07", "\\x07"),
        ("\x7f", "\\x7f"),
        ("\x9b", "\\x9b"),
        ("\u202e", "\\u202e"),
        ("\u2066", "\\u2066"),
        ("\u200b", "\\u200b"),
        ("\u2028", "\\u2028"),
        ("卷积", "卷积"),
    ],
)
def test_echoed_lines_escape_control_characters(hostile: str, shown: str) -> None:
    with pytest.raises(SyntaxProblem) as caught:
        symconv.parse(f"{IN}conv 8 k='{hostile}' @")
    _, line, caret = str(caught.value).splitlines()
    assert line == f"  conv 8 k='{shown}' @"
    assert all(c.isprintable() for c in str(caught.value).replace("\n", ""))
    wide = sum(unicodedata.east_asian_width(c) == "W" for c in shown)  # two columns each
    assert len(caret) - 1 == line.index("@") + wide


def test_a_lone_cr_ends_a_line_and_the_caret_stays_put() -> None:
    with pytest.raises(SymconvError) as caught:
        symconv.parse("input 3 x 8 x 8\rconv 8 k=3\r  relu @")
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("line 3, column 8")
    assert lines[1:] == ["    relu @", "         ^"]


def test_nesting_too_deep_is_said_where_it_is() -> None:
    with pytest.raises(SyntaxProblem) as caught:
        symconv.parse(IN + "conv 8 k=" + "floor(" * 150 + "3" + ")" * 150)
    assert str(caught.value).startswith("line 2, column ")
    assert "nested too deeply: more than 100 levels" in str(caught.value)
    symconv.parse(IN + "conv 8 k=" + "floor(" * 40 + "3" + ")" * 40)  # real nesting reads


# A value that breaks the rule of its parameter points at itself: every kind of parameter
# checked by the trace (window sizes, channel counts, groups, output padding and size,
# features, a repeat's count), written as a literal or as a symbol given later (whose value
# the message names). The caret's column is found, not counted: where the marked argument
# (a keyword with its name) begins.
CARETS = [
    ("conv 64 [k=2.5]", "kernel_size must be a whole number, got 5/2"),
    ("conv 64 [k=(3, 1/2)]", "kernel_size must be a whole number, got 1/2"),
    ("conv 64 k=3 [s=0]", "stride must be at least 1, got 0"),
    ("conv 64 k=3 [s=3/2]", "stride must be a whole number, got 3/2"),
    ("conv 64 k=3 [p=-1]", "padding must be at least 0, got -1"),
    ("conv 64 k=3 [d=0]", "dilation must be at least 1, got 0"),
    ("conv [0] k=3", "out_channels must be at least 1, got 0"),
    ("conv 64 k=3 [g=1/2]", "groups must be a whole number, got 1/2"),
    ("convT 4 k=3 s=2 [output_padding=1/2]", "output_padding must be a whole number, got 1/2"),
    ("maxpool k=3 [s=3/2]", "stride must be a whole number, got 3/2"),
    ("avgpool [k=0]", "kernel_size must be at least 1, got 0"),
    ("adaptive_avgpool [0]", "output_size must be at least 1, got 0"),
    ("flatten\nlinear [5/2]", "out_features must be a whole number, got 5/2"),
    ("nn.Conv2d(3, [0], 3)", "out_channels must be at least 1, got 0"),
    ("nn.Conv2d(3, 4, [kernel_size=5/2])", "kernel_size must be a whole number, got 5/2"),
    ("nn.Conv2d([3/2], 4, 3)", "in_channels must be a whole number, got 3/2"),
    ("repeat [2.5] { relu }", "the count of repeat must be a whole number, got 5/2"),
    ("repeat [0] { relu }", "the count of repeat must be at least 1, got 0"),
    ("relu\nrepeat 2 { conv 3 [k=1/2] }", "kernel_size must be a whole number, got 1/2"),
    ("conv 64 [k=K]", "kernel_size must be a whole number, got 3/2 (K = 3/2)"),
    ("conv 64 k=3 [s=S]", "stride must be at least 1, got 0 (S = 0)"),
    ("repeat [N] { relu }", "the count of repeat must be at least 1, got 0 (N = 0)"),
]
VALUES = {"K": sympy.Rational(3, 2), "S": 0, "N": 0}


@pytest.mark.parametrize(("layer", "rule"), CARETS)
def test_a_broken_rule_points_at_the_value_that_breaks_it(layer: str, rule: str) -> None:
    lines = ("input 3 x 8 x 8\n" + layer).splitlines()
    line = len(lines)
    column = lines[-1].index("[") + 1
    text = "\n".join(lines).replace("[", "").replace("]", "")
    network = symconv.parse(text)
    values = {k: v for k, v in VALUES.items() if k in network.symbols}
    with pytest.raises(InvalidLayerError) as caught:
        network.table(**values)
    message = str(caught.value)
    assert message.splitlines()[0].startswith(f"line {line}, column {column}, layer "), message
    assert message.splitlines()[0].endswith(rule), message
    shown = lines[-1].replace("[", "").replace("]", "")
    assert message.splitlines()[1:] == [f"  {shown}", "  " + " " * (column - 1) + "^"]
