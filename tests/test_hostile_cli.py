"""The command line against a hostile or careless user: each row is a class of input that once
ended as an internal error (exit 70), a hang or a silently wrong answer. Every row must end
as exit 0 with the right numbers, or as exit 2 with `symconv: error:` and the message shown.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_robustness import run

BIG = "10^3999"  # a size symconv takes (4000 digits)


COMMANDS = [["table"], ["table", "--format", "latex"], ["derive"], ["rf"], ["check"], ["notes"]]

# Numbers a network computes from sizes it takes: a chain of strides or transposed
# convolutions grows them without bound (each layer slower than the last), and Python prints
# no int beyond 4300 digits. Each is refused at the layer where it outgrows 4000 digits.
GROWTH = [
    (f"input 1 x 2\nconvT 1 k=1 s={BIG}\nconvT 1 k=1 s={BIG}",
     "line 3, column 1, layer 2 (convtranspose1d): output L would have more than 4000 digits"),
    (f"input 1 x 2\nrepeat 300 {{\nconvT 1 k=1 s={BIG}\n}}",  # the body's layer 1
     "line 3, column 1, layer 1 (convtranspose1d): output L would have more than 4000 digits"),
    (f"input 1 x 1 x 1\nconv 1 k=1 s={BIG}\nconv 1 k=1 s={BIG}",
     "line 3, column 1, layer 2 (conv2d): the jump along H would have more than 4000 digits"),
    ("input 1 x 5\nconv 1 k=3 s=10^2000\nrepeat 3 {\nmaxpool k=1 s=10^1000\n}",  # body
     "line 4, column 1, layer 1 (maxpool1d): the jump along L would have more than 4000 digits"),
    (f"input {BIG} x {BIG} x {BIG}\nconv {BIG} k=3",
     "line 2, column 1, layer 1 (conv2d): the parameter count would have more than 4000 digits"),
    (f"input 2000 x 1 x 1\nflatten\nlinear {BIG}\nlinear {BIG}",
     "line 3, column 1, layer 2 (linear): the parameter count would have more than 4000 digits"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(("text", "message"), GROWTH)
def test_numbers_that_grow_past_4000_digits_are_refused(command: list[str], text: str,
                                                         message: str) -> None:
    code, _, err = run([*command, "-e", text])
    assert (code, err.splitlines()[0]) == (2, f"symconv: error: {message} (symconv takes "
                                              "numbers of at most 4000 digits)")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["table", "-e", "input C x W x W\nconv C k=3", "--set", f"W={BIG}", "--set",
          f"C={BIG}"], "the parameter count would have more than 4000 digits"),
        (["rf", "-e", "input 1 x W\nconv 1 k=1 s=S\nconv 1 k=1 s=S", "--set", "W=1",
          "--set", f"S={BIG}"], "the jump along L would have more than 4000 digits"),
        (["table", "-e", "input 1 x W^2\nrelu", "--set", f"W={BIG}"],
         "an input size has more than 4000 digits"),
    ],
)
def test_values_given_that_grow_past_4000_digits_are_refused(argv: list[str],
                                                             message: str) -> None:
    code, _, err = run(argv)
    assert code == 2 and message in err, err


@pytest.mark.parametrize(
    "argv",
    [
        # A value on the way is longer than Python prints by default: a rule's message, a
        # solver's bounds.
        ["table", "-e", f"input 4 x {BIG} x 4\nconv 1 k={BIG} d={BIG}"],
        ["solve", "-e", f"input 1 x W x W\nconv 1 k=1 s={BIG}", "--for", "W", "--target", BIG],
        ["solve", "-e", f"input 1 x W\nconvT 1 k=1 s={BIG}\nconvT 1 k=1 s={BIG}", "--for",
         "W", "--target", BIG],
        ["solve", "-e", f"input 1 x W\nconv 1 k=1 s={BIG}\nconv 1 k=1 s={BIG}", "--aligned"],
    ],
)
def test_long_values_on_the_way_are_no_internal_error(argv: list[str]) -> None:
    limit = sys.get_int_max_str_digits()
    code, _, err = run(argv)
    assert code in (0, 1, 2) and "internal error" not in err, err
    assert sys.get_int_max_str_digits() == limit  # the process's limit is given back


def test_a_count_of_4000_digits_is_printed_exactly() -> None:
    n = 10**1300
    code, out, err = run(["table", "--format", "json", "-e",
                          "input 10^1300 x 10^1300 x 10^1300\nconv 1 k=1"])
    assert code == 0, err
    assert str(n**3 + n**2) in out  # connections: (C*1*1 + 1) per output, n^2 outputs


# A size is a polynomial of low degree in its names; SymPy's floor reasoning slows down
# steeply with the degree ((W + 1)^32 took minutes), however the degree is written.
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["table", "-e", "input 1 x (W+1)^32\nconv 1 k=3 s=2"],
         "line 1, column 11: (W + 1)**32 has degree 32 in its names"),
        (["rf", "-e", "input 1 x " + "*".join(f"(W+{i})" for i in range(1, 17)) + "\nrelu"],
         "has degree 5 in its names"),
        (["table", "-e", "input 1 x W\nconv 1 k=(K+H)^8 s=2"], "has degree 8 in its names"),
        (["table", "-e", "input 1 x W^4\nconv 1 k=3 s=2", "--set", "W=H^4"],
         "with the values given, H**16 has degree 16 in its names"),
        (["table", "-e", "input 1 x W\nrelu", "--set", "W=(H+1)^9"],
         "--set W, column 1: (H + 1)**9 has degree 9 in its names"),
    ],
)
def test_sizes_of_high_degree_are_refused(argv: list[str], message: str) -> None:
    code, _, err = run(argv)
    assert code == 2 and message in err and "(symconv takes sizes of degree at most 4)" in err, err


@pytest.mark.parametrize("text", ["input C*D*H*W\nlinear 10", "input 1 x (H + W)^2 x H*W\nrelu",
                                  "input 3 x 2^N*W x W^2\nconv 8 k=3", "input 1 x 2^W*W^3\nrelu"])
def test_sizes_of_degree_up_to_4_are_read(text: str) -> None:
    code, _, err = run(["table", "-e", text])
    assert code == 0, err


# Inputs with more than 3 spatial axes are read (flatten, linear and activations take any),
# so every command must name their axes.
@pytest.mark.parametrize("command", [*COMMANDS, ["derive", "--format", "markdown"]],
                         ids=" ".join)
@pytest.mark.parametrize("text", ["input 2x8x8x8x5\nrelu\nflatten\nlinear 3",
                                  "input 2 x " + " x ".join(["3"] * 12) + "\nrelu"])
def test_inputs_with_more_than_3_spatial_axes(command: list[str], text: str) -> None:
    code, out, err = run([*command, "-e", text])
    assert code == 0, err
    if command == ["derive"]:
        assert out.startswith("Input: C_0 = 2, axis1_0 = ")


# PyTorch text pasted as it is written, odd but valid Python: PyTorch itself is the oracle
# (the text is run as Python here, in the test, never by symconv).
PASTED = [
    "nn.Sequential(\n    nn.Conv2d(3, 8, kernel_size=3,),  # trailing comma\n"
    "    nn.ReLU(inplace=True),\n)",
    "nn.Sequential(torch.nn.Conv2d(3, 8, 3, 1, 1, 1, 1, True, 'zeros'), nn.Identity())",
    "nn.Sequential(nn.Conv2d(3, 8, \\\n    3), nn.MaxPool2d(kernel_size=3, stride=None))",
    "nn.Sequential(nn.MaxPool2d(2, None, 0), nn.AvgPool2d(3, None, 1, True))",
    "nn.Sequential(nn.AvgPool2d(3, 2, 1, False, True, None),\n"
    "              nn.MaxPool2d(3, 2, 1, 1, False, True))",
    "nn.Sequential(nn.Conv2d(3, 8, 3, padding='same', padding_mode='reflect'),\n"
    "              nn.BatchNorm2d(8, 1e-05, 0.1, False), nn.LeakyReLU(0.2, True))",
    "nn.Sequential(nn.ConvTranspose2d(3, 8, 3, 2, 1, 1, 1, True, 1), nn.Dropout(.5, False))",
    "nn.Sequential(nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2),\n"
    "                        groups=1, bias=False, device=None, dtype=None),\n"
    "              nn.AdaptiveAvgPool2d((None, 7)), nn.Flatten(1, -1), nn.Linear(8 * 16 * 7, 10))",
]


@pytest.mark.parametrize("text", PASTED)
def test_pasted_pytorch_text_agrees_with_pytorch(text: str) -> None:
    import torch  # the oracle: installed with symconv[test], never skipped

    import symconv

    model = eval(text, {"nn": torch.nn, "torch": torch})  # the test's own text
    expected = tuple(model(torch.zeros(1, 3, 32, 32)).shape[1:])
    assert symconv.parse(f"input 3 x 32 x 32\n{text}").output_shape() == expected


@pytest.mark.parametrize("command", [["notes", "-e", "input 3x8x8\nrelu"], ["formulas"]],
                         ids=["notes", "formulas"])
@pytest.mark.parametrize(("name", "message"), [
    ("{tmp}/new.tex/", "cannot write {tmp}/new.tex/: Is a directory"),  # never the file new.tex
    ("", "cannot write '': No such file or directory"),
    ("{tmp}", "cannot write {tmp}: Is a directory"),
])
def test_output_file_named_as_written(command: list[str], name: str, message: str,
                                      tmp_path: Path) -> None:
    code, _, err = run([*command, "-o", name.format(tmp=tmp_path)])
    assert (code, err) == (2, f"symconv: error: {message.format(tmp=tmp_path)}\n")
    assert not (tmp_path / "new.tex").exists()
