"""TensorFlow's convention in the language: the `convention` line and --convention, its
refusals, and oracles for its padding: a TensorFlow 'same' window equals an explicit pad layer
with formulas.tf_same_padding's (before, after) and a 'valid' window (shape, receptive field,
start), brute-force enumeration of the padding, and symbolic results substituted at points."""

from __future__ import annotations

import random

import pytest
import sympy

import symconv
from symconv.cli import main
from symconv.engine import formulas as f


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own refusals
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- the padding, brute force


def brute_same(n: int, k: int, s: int, d: int) -> tuple[int, int, int]:
    """TensorFlow's 'SAME' by its definition: the fewest zeros that let ceil(n/s) windows
    fit, the odd one after; returns (before, after, output) found by enumeration."""
    out = -(-n // s)
    for total in range(0, d * (k - 1) + 2 + s):
        if (out - 1) * s + d * (k - 1) + 1 <= n + total:
            return total // 2, total - total // 2, out
    raise AssertionError("no padding found")


@pytest.mark.parametrize("k", range(1, 7))
@pytest.mark.parametrize("s", range(1, 5))
@pytest.mark.parametrize("d", (1, 2, 3))
def test_tf_same_padding_is_the_fewest_zeros_that_fit_ceil_n_over_s_windows(k, s, d):
    for n in range(1, 25):
        before, after, out = brute_same(n, k, s, d)
        assert f.tf_same_padding(n, k, s, d) == (before, after)
        assert f.tf_same_out(n, s) == out
        assert f.window_out(n + before + after, k, s, 0, d) == out


# ---------------------------------------------------------------- same = pad + valid


def _tup(values) -> str:
    return "(" + ", ".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"


def _layers(rng: random.Random, rank: int):
    """A random stack of TensorFlow 'same' convolutions and pools."""
    out = []
    for _ in range(rng.randint(1, 4)):
        k = tuple(rng.randint(1, 5) for _ in range(rank))
        s = tuple(rng.randint(1, 3) for _ in range(rank))
        word = rng.choice(("conv 4", "maxpool", "avgpool"))
        d = tuple(rng.randint(1, 2) for _ in range(rank)) if word == "conv 4" else (1,) * rank
        out.append((word, k, s, d))
    return out


CASES = [(seed, rank) for seed in range(40) for rank in (1, 2, 3)]


@pytest.mark.parametrize(("seed", "rank"), CASES)
def test_same_is_the_pad_layer_of_its_padding_before_a_valid_window(seed, rank):
    rng = random.Random(seed)
    sizes = tuple(rng.randint(1, 30 if rank < 3 else 9) for _ in range(rank))
    stack = _layers(rng, rank)
    same = ["convention tensorflow", f"input 2 x {' x '.join(map(str, sizes))}"]
    explicit = [f"input 2 x {' x '.join(map(str, sizes))}"]
    spatial = list(sizes)
    for word, k, s, d in stack:
        dil = f" d={_tup(d)}" if word.startswith("conv") else ""
        same.append(f"{word} k={_tup(k)} s={_tup(s)} p=same{dil}")
        pads = [f.tf_same_padding(n, kk, ss, dd)
                for n, kk, ss, dd in zip(spatial, k, s, d, strict=True)]
        flat = [v for before, after in reversed(pads) for v in (before, after)]  # PyTorch order
        explicit.append(f"pad {_tup(flat)}")
        explicit.append(f"{word} k={_tup(k)} s={_tup(s)} p=0{dil}")
        spatial = [f.tf_same_out(n, ss) for n, ss in zip(spatial, s, strict=True)]
    a = symconv.parse("\n".join(same)).table()
    b = symconv.parse("\n".join(explicit)).table()[1::2]  # the windows, after their pads
    for x, y in zip(a, b, strict=True):
        assert x.output_shape == y.output_shape
        assert x.params == y.params
        assert x.receptive_field == y.receptive_field
        assert x.jump == y.jump
        assert x.start == y.start  # the start counts the padding before


@pytest.mark.parametrize(("k", "s", "d"), [(3, 2, 1), (4, 2, 1), (7, 2, 1), (3, 3, 2), (1, 2, 1),
                                          (5, 1, 2), (2, 3, 1)])
def test_symbolic_sizes_padding_and_start_agree_with_numbers(k, s, d):
    text = (f"convention tensorflow\ninput 1 x W\nconv 2 k={k} s={s} d={d} p=same\n"
            "maxpool k=3 s=2 p=same")
    net = symconv.parse(text)
    rows = net.table()
    W = sympy.Symbol("W", integer=True, positive=True)
    for w in range(1, 40):
        numeric = symconv.parse(text, input_shape=(1, w)).table()
        for sym, num in zip(rows, numeric, strict=True):
            at = {W: w}
            assert tuple(sympy.sympify(v).subs(at) for v in sym.output_shape) == num.output_shape
            assert tuple(sympy.sympify(v).subs(at) for v in sym.start) == num.start, w


def test_transposed_same_is_n_times_s_and_its_field_crops_before():
    net = symconv.parse("convention tensorflow\ninput 1 x W\nconvt 1 k=4 s=2 p=same")
    assert net.table()[-1].output_shape == (1, 2 * sympy.Symbol("W", integer=True, positive=True))
    for k, s, d in [(4, 2, 1), (3, 2, 1), (1, 3, 1), (3, 1, 2), (5, 3, 1)]:
        before, after = f.tf_same_transposed_padding(k, s, d)
        assert before + after == max(d * (k - 1) + 1 - s, 0) and after - before in (0, 1)


# ---------------------------------------------------------------- derivation and solver


def test_the_derivation_shows_ceil_n_over_s_and_the_padding_rule():
    net = symconv.parse("convention tensorflow\ninput 3 x 225 x 224\nconv 8 k=3 s=2 p=same")
    text = str(symconv.derive(net))
    assert "H_1 = ceiling(H_0/S_1)" in text and "= ceiling(225/2)" in text and "= 113" in text
    assert ("TensorFlow's padding='same': ceil(n/s) whatever the kernel; it pads "
            "max((ceil(n/s) - 1)s + d(k-1) + 1 - n, 0), the odd one after: here 1 before and 1 "
            "after, so") in text
    assert "here 0 before and 1 after, so" in text  # W: 224 needs one zero, after
    symbolic = str(symconv.derive(symconv.parse(
        "convention tensorflow\ninput 3 x H\nconv 8 k=3 s=2 p=same")))
    # H odd pads one on each side, H even one after: before = H mod 2
    assert "here ceiling(-H/2) + ceiling(H/2) before and 1 after, so" in symbolic
    assert "L_1 = ceiling(L_0/S_1)" in symbolic


def up(n: int, s: int) -> int:
    return -(-n // s)


@pytest.mark.parametrize("target", [1, 2, 3, 7, 12])
def test_the_solver_follows_the_convention(target):
    text = "convention tensorflow\ninput 1 x W\nconv 2 k=3 s=2 p=same\nmaxpool k=2 s=3 p=same"
    found = symconv.solve(symconv.parse(text), "W", target).values
    brute = tuple(w for w in range(1, 200) if up(up(w, 2), 3) == target)
    assert found == brute


def test_the_kernel_of_a_tensorflow_same_window_does_not_decide_the_size():
    net = symconv.parse("convention tensorflow\ninput 3 x 14\nconv 8 k=K s=2 p=same")
    with pytest.raises(symconv.SymconvError, match="'K' does not decide the output's spatial "
                       "size in TensorFlow's convention: padding='same' gives ceil"):
        symconv.solve(net, "K", 7)


# ---------------------------------------------------------------- the line and the option


@pytest.mark.parametrize(("text", "message"), [
    ("convention tensorfow\ninput 3 x 8\nconv 1 k=3",
     "line 1, column 1: unknown convention 'tensorfow'; did you mean 'tensorflow'?; the "
     "conventions are torch and tensorflow"),
    ("input 3 x 8\nconv 1 k=3\nconvention tensorflow\nconv 1 k=3",
     "line 3, column 1: the convention must be declared before the first layer"),
    ("convention torch\nconvention tensorflow\ninput 3 x 8\nconv 1 k=3",
     "line 2, column 1: a second convention line (the first is on line 1)"),
    ("input 3 x 8\nresidual { convention tensorflow\nconv 3 k=3 p=same }",
     "a convention declaration cannot stand inside a block"),
    ("input 3 x 8\nmaxpool k=3 s=2 p=same",
     "padding: 'same' on pools is TensorFlow's convention (PyTorch's pools have no "
     "padding='same'): add a line 'convention tensorflow' or give --convention tensorflow"),
    ("input 3 x 8\nconvt 2 k=3 s=2 p=same",
     "padding: 'same' on transposed convolutions is TensorFlow's convention"),
    ("convention tensorflow\ninput 3 x 8\nmaxpool k=3 s=2 p=same ceil",
     "ceil_mode: padding='same' decides the output (ceil(n/s)); leave out ceil_mode"),
    ("convention tensorflow\ninput 3 x 8\nconvt 2 k=3 s=2 p=same op=1",
     "output_padding: TensorFlow's 'same' transposed convolution gives n·s and takes no "
     "output_padding"),
    ("input 3 x 8\nconv 2 k=3 s=2 p=same",
     "padding='same' is not supported for strided convolutions (stride 2) in PyTorch's "
     "convention; TensorFlow's ('convention tensorflow') takes any stride"),
])
def test_refusals_name_the_line_and_the_rule(text, message):
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(text).table()
    assert message in str(caught.value)


def test_the_default_is_pytorchs_and_the_option_wins_over_the_line():
    text = "convention tensorflow\ninput 3 x 9\nconv 2 k=3 s=1 p=same\nmaxpool k=2 s=2 p=0"
    assert symconv.parse(text).table()[0].output_shape == (2, 9)
    torch_text = "input 3 x 9\nconv 2 k=4 p=same"
    assert (symconv.parse(torch_text).layers
            == symconv.parse("convention torch\n" + torch_text).layers)
    strided = "convention torch\ninput 3 x 9\nconv 2 k=3 s=2 p=same"
    assert symconv.parse(strided, convention="tensorflow").table()[0].output_shape == (2, 5)
    with pytest.raises(symconv.SymconvError, match="unknown convention 'keras'"):
        symconv.parse(strided, convention="keras")


def test_the_command_line_option(capsys, tmp_path):
    net = tmp_path / "n.net"
    net.write_text("input 3 x 9 x 9\nconv 2 k=3 s=2 p=same\n")
    code, out, err = run(["table", str(net)], capsys)
    assert code == 2 and "padding='same' is not supported for strided convolutions" in err
    code, out, err = run(["table", str(net), "--convention", "tensorflow"], capsys)
    assert code == 0 and "2 x 5 x 5" in out.replace("×", "x")
    code, out, err = run(["table", str(net), "--convention", "keras"], capsys)
    assert code == 2 and "invalid choice: 'keras'" in err
    code, out, err = run(["rf", str(net), "--convention", "tensorflow"], capsys)
    assert code == 0, err


def test_pytorch_code_refuses_a_tensorflow_window():
    net = symconv.parse("convention tensorflow\ninput 3 x 8 x 8\nconv 2 k=3 s=2 p=same")
    with pytest.raises(symconv.SymconvError, match="TensorFlow's padding='same' has no "
                       "PyTorch argument"):
        net.to_torch_code()


def test_the_numeric_paths_agree_with_a_trace_of_numbers():
    text = ("convention tensorflow\ninput 3 x H x W\nconv 8 k=3 s=2 p=same\n"
            "maxpool k=3 s=2 p=same\nconvt 4 k=3 s=2 p=same\nconv 2 k=4 s=3 d=1 p=same")
    net = symconv.parse(text)
    sizes = [(h, w) for h in range(1, 14) for w in (h, h + 1, 3 * h + 2)]
    for h, w in sizes:
        exact = symconv.parse(text, input_shape=(3, h, w)).table()
        fast = net.table(H=h, W=w)
        assert [(r.output_shape, r.params, r.start, r.receptive_field) for r in fast] == [
            (r.output_shape, r.params, r.start, r.receptive_field) for r in exact], (h, w)
    batch = net.evaluator().many(H=[h for h, _ in sizes], W=[w for _, w in sizes])
    for i, (h, w) in enumerate(sizes):
        want = symconv.parse(text, input_shape=(3, h, w)).output_shape()
        assert tuple(int(a[i]) for a in batch.output_shape) == want
