"""The options of a solve question, from the command line and from Python, against oracles:
--set values go into the target too; --layer N (Network.upto) asks for layer N's output,
checked against the whole network's evaluation; --convention tensorflow follows TensorFlow's
'SAME' rule, checked against its formula and against PyTorch with the padding written out."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from test_robustness import run  # the one way the tests call the command line

import symconv
from symconv import NoSolutionError, SymconvError, UnknownNameError, parse, solve
from symconv.engine import formulas as f
from symconv.language.parse import parse_expression
from symconv.solve.layers import Convention, sizes_in

torch.set_num_threads(1)

RESNET18 = (Path(__file__).parent.parent / "examples" / "resnet18.net").read_text("utf-8")



def said(name: str, values: list[int]) -> str:
    """How an answer of these values prints: one value, a run lo..hi, or the set."""
    if len(values) == 1:
        return f"{name} = {values[0]}"
    if values == list(range(values[0], values[-1] + 1)):
        return f"{name} in {values[0]}..{values[-1]}"
    return f"{name} in {{{', '.join(map(str, values))}}}"

def spatial(net: symconv.Network, **values: int) -> tuple[int, ...] | None:
    try:
        return tuple(int(v) for v in net.output_shape(**values)[1:])
    except SymconvError:
        return None


# ---------------------------------------------------------------- --set into the target

STRIDED = "input 3 x W\nconv 8 k=3 s=2 p=P"


def test_set_values_reach_the_target_on_the_command_line():
    code, out, err = run(["solve", "-e", STRIDED, "--for", "P", "--target", "ceiling(W/2)",
                          "--set", "W=224"])
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "P = 1"
    assert "ceiling" not in out  # the target is 112, not a formula in W


@pytest.mark.parametrize("target", ["ceiling(W/2)", "floor(W/2)", "W - 2", "floor(W/3) + 1",
                                    "2*W", "ceiling(W/4) + 1"])
def test_set_values_reach_the_target_in_python(target):
    """For random W, solving with W given equals solving for the number the target is at W,
    and both are the brute-force set of paddings."""
    net = parse(STRIDED)
    expression = parse_expression(target)
    for w in random.Random(target).sample(range(1, 120), 10):
        number = int(expression.subs(symconv.symbol("W"), w))
        if number < 1:
            with pytest.raises(NoSolutionError, match="a target size must be a positive"):
                solve(net, "P", target, W=w)
            continue
        given = solve(net, "P", target, W=w)
        assert given.values == solve(net, "P", number, W=w).values
        brute = tuple(p for p in range(0, 200) if spatial(net, W=w, P=p) == (number,))
        assert given.values == brute, (target, w)


@pytest.mark.parametrize("argv", [["--set", "W=224"], []])
def test_a_target_symbol_foreign_to_the_network_is_named(argv):
    code, out, err = run(["solve", "-e", STRIDED, "--for", "P", "--target", "ceiling(Q/2)",
                          *argv])
    assert code == 2 and out == ""
    assert err == ("symconv: error: the target ceiling(Q/2) names Q, which is no symbol of the "
                   "network and has no value (the network's symbols: P, W); a new symbol may "
                   "stand alone for the output size (such as O), not inside an expression\n")
    with pytest.raises(UnknownNameError, match=r"names Q, which is no symbol"):
        solve(parse(STRIDED), "P", "Q + W", W=3)
    with pytest.raises(UnknownNameError, match=r"names Q, R, which is no symbol"):
        solve(parse(STRIDED), "P", "R*Q", W=3)


def test_a_new_symbol_alone_is_the_output_size():
    """--target O: the answer for every output size O, checked by brute force."""
    solution = solve(parse(STRIDED), "P", "O", W=10)
    for o in range(1, 12):
        for p in range(0, 12):
            assert solution.contains(p, O=o) == (spatial(parse(STRIDED), W=10, P=p) == (o,))


def test_a_target_that_the_values_make_no_size_is_refused():
    with pytest.raises(NoSolutionError, match=r"got W - 300 = -76 with the values given"):
        solve(parse(STRIDED), "P", "W - 300", W=224)


# ---------------------------------------------------------------- --layer N


@cache
def resnet18_evaluator():
    return parse(RESNET18, "3 x W x W").evaluator()


def resnet18_layer17(w: int) -> tuple[int, ...] | None:
    """Layer 17's spatial output by the whole network's numeric evaluation (an oracle that
    never truncates the network)."""
    try:
        records = resnet18_evaluator()(W=w)
    except SymconvError:
        return None
    return tuple(records[16].output_shape[1:])


def test_layer_targets_resnet18_feature_map():
    code, out, err = run(["solve", "-e", RESNET18, "--input", "3xWxW", "--for", "W",
                          "--target", "7", "--layer", "17"])
    assert (code, err) == (0, "")
    brute = [w for w in range(1, 400) if resnet18_layer17(w) == (7, 7)]
    assert brute == list(range(193, 225))
    assert out.splitlines()[0] == said("W", brute)
    net = parse(RESNET18, "3 x W x W")
    assert solve(net.upto(17), "W", 7).values == tuple(brute)


def test_upto_keeps_the_first_layers_and_their_numbering():
    net = parse(RESNET18, "3 x W x W")
    for n in (1, 4, 5, 17, 20):
        head = net.upto(n)
        assert head.layers == net.layers[:n] and head.input_shape == net.input_shape
        assert [r.index for r in head.table(W=64)] == list(range(1, n + 1))
        assert head.output_shape(W=64) == net.table(W=64)[n - 1].output_shape


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ("21", "symconv: error: --layer: no layer 21: the network has layers 1 to 20\n"),
        ("0", "symconv: error: --layer: no layer 0: the network has layers 1 to 20\n"),
        ("-3", "symconv: error: --layer: no layer -3: the network has layers 1 to 20\n"),
        ("19", "symconv: error: the output of layer 19 (flatten) has no spatial axes (a "
         "flatten or linear layer ends them); a target is a spatial size, so ask for an "
         "earlier layer's output (--layer N, or network.upto(N) from Python)\n"),
        ("20", "symconv: error: the output of layer 20 (linear) has no spatial axes"),
        ("x", "symconv: error: argument --layer: expected a whole number, got 'x'\n"),
    ],
)
def test_layer_errors_name_the_layer_and_the_rule(layer, message):
    code, out, err = run(["solve", "-e", RESNET18, "--input", "3xWxW", "--for", "W",
                          "--target", "7", "--layer", layer])
    assert code == 2 and out == ""
    assert err.splitlines()[-1] + "\n" == message or err.startswith(message)


@pytest.mark.parametrize(("n", "error", "message"), [
    (21, UnknownNameError, "no layer 21: the network has layers 1 to 20"),
    (0, UnknownNameError, "no layer 0: the network has layers 1 to 20"),
    (2.5, SymconvError, "layer"),
])
def test_upto_errors(n, error, message):
    with pytest.raises(error, match=message):
        parse(RESNET18).upto(n)


def test_layer_set_values_of_later_layers_are_not_part_of_the_question():
    """--set gives values to the whole description; a symbol only after --layer is left
    out of the question instead of refused."""
    text = "input 1 x W\nconv 4 k=3 s=2 p=1\nconv 4 k=K"
    code, out, _ = run(["solve", "-e", text, "--for", "W", "--target", "5", "--layer", "1",
                        "--set", "K=3"])
    assert code == 0 and out.startswith("W in 9..10")
    code, _, err = run(["solve", "-e", text, "--for", "W", "--target", "5", "--layer", "1",
                        "--set", "Z=3"])
    assert code == 2 and "unknown symbol 'Z'" in err


# ---------------------------------------------------------------- --convention tensorflow


def torch_same(n: int, k: int, s: int, d: int) -> int:
    """TensorFlow's 'SAME' done in PyTorch: the padding of TF's rule written out with
    F.pad (before, after), then a 'VALID' convolution. Returns the output length."""
    total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
    before = total // 2
    x = F.pad(torch.zeros(1, 1, n), (before, total - before))
    return int(F.conv1d(x, torch.zeros(1, 1, k), stride=s, dilation=d).shape[-1])


CASES = [(n, k, s, d) for n in range(1, 23) for k in (1, 2, 3, 4, 7) for s in (1, 2, 3, 5)
         for d in (1, 2)]


def test_tensorflow_same_sizes_match_the_formula_and_pytorch():
    for n, k, s, d in CASES:
        text = f"input 1 x {n}\nconv 1 k={k} s={s} d={d} p=same"
        got = spatial(sizes_in(parse(text), Convention.TENSORFLOW))
        assert got == (f.tf_same_out(n, s),) == (-(-n // s),) == (torch_same(n, k, s, d),), (
            n, k, s, d)
        # and the (before, after) padding the layers module reports gives the same size
        before, after = f.tf_same_padding(n, k, s, d)
        assert f.window_out(n + before + after, k, s, 0, d) == got[0]


TF_NET = "input 3 x W x W\nconv 8 k=7 s=2 p=same\nconv 8 k=3 s=S p=same\nconv 8 k=3 p=1"


def tf_out(w: int, stride: int) -> int:
    """The TensorFlow network's output by TF's rule alone: ceil, ceil, then a plain conv."""
    return f.window_out(up(up(w, 2), stride), 3, 1, 1, 1)


@pytest.mark.parametrize("target", [1, 4, 7, 12])
def test_tensorflow_convention_solves_input_sizes_and_strides(target):
    code, out, err = run(["solve", "-e", TF_NET, "--for", "W", "--target", str(target),
                          "--set", "S=2", "--convention", "tensorflow"])
    brute = [w for w in range(1, 200) if tf_out(w, 2) == target]
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == said("W", brute)
    net = sizes_in(parse(TF_NET), Convention.TENSORFLOW)
    strides = solve(net, "S", target, W=56)
    for s in range(1, 60):
        assert strides.contains(s) == (tf_out(56, s) == target)


def test_tensorflow_convention_kernel_does_not_decide():
    code, out, err = run(["solve", "-e", "input 3 x 14 x 14\nconv 8 k=K s=2 p=same", "--for",
                          "K", "--target", "7", "--convention", "tensorflow"])
    assert code == 2 and out == ""
    assert err == ("symconv: error: 'K' does not decide the output's spatial size in "
                   "TensorFlow's convention: padding='same' gives ceil(n/s) whatever the kernel "
                   "and dilation\n")


def test_pytorch_convention_is_the_default_and_refuses_strided_same():
    argv = ["solve", "-e", "input 3 x W\nconv 8 k=7 s=2 p=same", "--for", "W", "--target", "7"]
    code, out, _ = run(argv)
    assert code == 1 and "padding='same' is not supported for strided convolutions" in out
    assert run([*argv, "--convention", "torch"])[1] == out
    code, out, _ = run([*argv, "--convention", "tensorflow"])
    assert code == 0 and out.startswith("W in 13..14")


def test_convention_with_aligned_is_refused():
    code, _, err = run(["solve", "-e", TF_NET, "--aligned", "--convention", "tensorflow"])
    assert code == 2
    assert err == ("symconv: error: aligned sizes follow PyTorch's padding; TensorFlow's "
                   "padding='same' pads by an amount that depends on the size (solve for a size "
                   "with --for and --target instead)\n")


def up(n: int, s: int) -> int:
    return -(-n // s)


def test_the_rewrite_reaches_into_blocks():
    text = ("input 1 x W\nrepeat 2 { conv 1 k=3 s=2 p=same }\nresidual { conv 1 k=5 s=2 p=same }"
            " shortcut { conv 1 k=1 s=2 }\nconcat { conv 1 k=3 s=3 p=same } { maxpool k=3 }")
    net = sizes_in(parse(text), Convention.TENSORFLOW)
    for w in range(1, 120):
        e = up(up(up(w, 2), 2), 2)  # the repeat, then the residual (both paths agree)
        # the concat's branches must agree: 'SAME' ceil(e/3) against maxpool's floor(e/3)
        assert spatial(net, W=w) == ((up(e, 3),) if e % 3 == 0 else None), w
    for target in (1, 2, 3, 5):
        assert solve(net, "W", target).values == tuple(
            w for w in range(1, 200) if spatial(net, W=w) == (target,))
