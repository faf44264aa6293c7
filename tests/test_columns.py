"""The torchinfo columns and the guard-rails, each against an oracle: PyTorch (parameter and
activation bytes, trainable counts, kernel shapes, module names) and brute force (which
input positions no window reads)."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path

import pytest
import sympy
import torch
from test_guards import brute_counts as _brute

import symconv
from symconv.cli import main
from symconv.engine import formulas as f
from symconv.engine.guards import Guard, axis_warnings, covered_counts
from symconv.engine.statistics import DTYPES, memory_of
from symconv.errors import InvalidValueError, UnknownNameError
from symconv.interop.torch_check import random_values
from symconv.interop.torch_code import to_torch_module
from symconv.render.table import ALL_COLUMNS, chosen, flat_rows, megabytes, table_text
from symconv.solve.design import design_search

# PyTorch is the oracle here: the examples in TensorFlow's convention (its 'same', Keras's
# scale=false) have no PyTorch module, and Keras is theirs (tests/test_keras_import.py).
EXAMPLES = sorted(p for p in (Path(__file__).parent.parent / "examples").glob("*.net")
                  if "\nconvention tensorflow\n" not in p.read_text())
TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16,
                "bfloat16": torch.bfloat16, "float64": torch.float64, "int8": torch.int8}
# Module classes of to_torch_code whose forward makes a new tensor of its own (the sum, the
# product); a Concat's output is its branches' outputs side by side, counted once (see
# symconv.statistics), and a Sequential's output is its last layer's.
NEW_TENSOR = ("Residual", "Scale")


def run(*argv: str) -> tuple[int, str, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def _forward(network: symconv.Network, values: dict[str, int], dtype: torch.dtype, batch: int
             ) -> tuple[int, int, list[tuple[int, ...]]]:
    """(parameter bytes, activation bytes, weight shapes in call order) of the network built
    in PyTorch on the meta device and run on `batch` examples."""
    module = to_torch_module(network, "meta", **values).to(dtype)
    outputs: list[int] = []
    weights: list[tuple[int, ...]] = []

    def hook(m: torch.nn.Module, _: object, out: torch.Tensor) -> None:
        if type(m).__name__ == "Join" and getattr(m, "op", "") in ("concat", "use"):
            return  # named tensors joined as a concat block joins its branches: no neurons
        if not list(m.children()) or type(m).__name__ in NEW_TENSOR:
            outputs.append(out.numel() * out.element_size())
        weight = getattr(m, "weight", None)
        if not list(m.children()) and weight is not None and weight.dim() >= 2:
            weights.append(tuple(weight.shape))

    # A residual block without a shortcut adds its input itself (an nn.Identity in the code
    # symconv writes, which makes no tensor and is no layer of the description).
    implicit = {id(m.shortcut) for m in module.modules() if type(m).__name__ == "Residual"
                and isinstance(m.shortcut, torch.nn.Identity)}
    for m in module.modules():
        if m is not module and id(m) not in implicit:
            m.register_forward_hook(hook)
    shape = tuple(int(v) for v in network.bind(values).input_shape)
    module(torch.empty((batch, *shape), device="meta", dtype=dtype))
    param_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    return param_bytes, sum(outputs), weights


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_memory_and_kernel_shapes_agree_with_pytorch_on_every_example(path: Path) -> None:
    network = symconv.parse(path.read_text())
    values = random_values(network, {}, 1, 0)[0]
    small = path.stem in ("lenet5", "audio1d")
    for dtype, batch in (("float32", 1), ("float16", 3), *(
            (("float64", 2), ("bfloat16", 1)) if small else ())):
        records = network.table(dtype=dtype, batch=batch, **values)
        param_bytes, activation_bytes, weights = _forward(network, values, TORCH_DTYPES[dtype],
                                                          batch)
        assert sum(r.param_bytes for r in records) == param_bytes, dtype
        assert sum(r.activation_bytes for r in records) == activation_bytes, dtype
        shapes = [tuple(int(v) for v in r.kernel_shape) for _, r in flat_rows(records)
                  if r.kernel_shape]
        assert shapes == weights


def test_activation_memory_is_a_formula_in_the_batch_and_the_input() -> None:
    network = symconv.parse("input 3 x H x W\nconv 8 k=3 p=1\nrelu\nmaxpool k=2 s=2")
    records = network.table(batch="N", dtype="float16")
    total = sum(r.activation_bytes for r in records)
    n, h, w = (sympy.Symbol(x, integer=True, positive=True) for x in "NHW")
    assert sympy.simplify(total - 2 * n * 8 * (2 * h * w + (h // 2) * (w // 2))) == 0
    for batch, height, width in ((1, 224, 224), (5, 31, 17), (8, 2, 9)):
        numeric = network.table(dtype="float16", batch=batch, H=height, W=width)
        assert total.subs({n: batch, h: height, w: width}) == sum(
            r.activation_bytes for r in numeric)


def test_trainable_module_names_and_depth_from_torch() -> None:
    block = torch.nn.Sequential(OrderedDict(conv1=torch.nn.Conv2d(3, 8, 3, padding=1),
                                            bn1=torch.nn.BatchNorm2d(8)))
    model = torch.nn.Sequential(OrderedDict(
        stem=torch.nn.Conv2d(3, 3, 1), layer2=torch.nn.Sequential(block), relu=torch.nn.ReLU(),
        pool=torch.nn.AdaptiveAvgPool2d(1), flat=torch.nn.Flatten(),
        fc=torch.nn.Linear(8, 10)))
    model.stem.weight.requires_grad_(False)
    model.layer2[0].bn1.requires_grad_(False)
    network = symconv.from_torch(model, "3x16x16")
    records = network.table()
    assert [(r.name, r.depth) for r in records] == [
        ("stem", 1), ("layer2.0.conv1", 3), ("layer2.0.bn1", 3), ("relu", 1), ("pool", 1),
        ("flat", 1), ("fc", 1)]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    assert sum(r.trainable for r in records) == trainable
    assert sum(r.non_trainable for r in records) == frozen == 9 + 16
    # BatchNorm's running statistics are buffers: counted in no parameter column
    assert sum(r.params for r in records) == sum(p.numel() for p in model.parameters())
    named = dict(model.named_modules())
    for r in records:
        weight = getattr(named[r.name], "weight", None)
        if r.kernel_shape:
            assert tuple(r.kernel_shape) == tuple(weight.shape)
    code, out, _ = run("table", "-e", "input 3 x 8 x 8\nconv 4 k=3", "--columns",
                       "name,depth,kernel_shape,trainable,non_trainable")
    assert code == 0 and "4 x 3 x 3 x 3" in out


def test_a_description_counts_every_parameter_as_trainable() -> None:
    records = symconv.parse("input 3 x 32 x 32\nconv 8 k=3\nbn\nrelu\nflatten\nlinear 10"
                            ).table()
    assert [r.trainable for r in records] == [r.params for r in records]
    assert all(r.non_trainable == 0 and r.name == "" for r in records)


# ---------------------------------------------------------------- guard-rails


def test_discarded_and_skipped_pixels_match_brute_force() -> None:
    for n, k, s, p, d in itertools.product(range(1, 26), range(1, 5), range(1, 5), range(3),
                                           range(1, 4)):
        for out in (f.window_out, f.window_out_ceil):
            o = int(out(n, k, s, p, d))
            if o < 1:
                continue
            assert covered_counts(n, o, k, s, p, d) == _brute(n, o, k, s, p, d), (n, k, s, p, d)


def test_numeric_warnings_say_the_counts() -> None:
    for n, k, s, p, d in itertools.product(range(5, 20), range(1, 4), range(1, 4), range(2),
                                           range(1, 3)):
        o = int(f.window_out(n, k, s, p, d))
        discarded, skipped = _brute(n, o, k, s, p, d)
        warnings = {w.guard: w for w in axis_warnings("W", n, o, k, s, p, d)}
        assert (Guard.DISCARDED in warnings) == (discarded > 0)
        assert (Guard.SKIPPED in warnings) == (skipped > 0)
        assert Guard.RESIDUE not in warnings  # a number has one residue
        if discarded:
            assert warnings[Guard.DISCARDED].count == discarded
            assert f"{discarded} pixel{'s' if discarded > 1 else ''} of {n} discarded at " \
                   "the right" in warnings[Guard.DISCARDED].text


def test_symbolic_warnings_hold_for_every_input_size() -> None:
    w = sympy.Symbol("W", integer=True, positive=True)
    for k, s, p, d in itertools.product(range(1, 5), range(1, 5), range(2), range(1, 3)):
        if p >= k:
            continue
        o = f.window_out(w, k, s, p, d)
        warnings = {x.guard: x for x in axis_warnings("W", w, o, k, s, p, d)}
        sizes = [n for n in range(1, 60) if f.window_out(n, k, s, p, d) >= 1]
        counts = [_brute(n, int(f.window_out(n, k, s, p, d)), k, s, p, d) for n in sizes]
        if Guard.DISCARDED in warnings:
            formula = warnings[Guard.DISCARDED].count
            assert [formula.xreplace({w: n}) for n in sizes] == [c[0] for c in counts]
        else:
            assert all(c[0] == 0 for c in counts), (k, s, p, d)
        # skipping at any size, short inputs too (tests/test_guards.py names the sizes)
        assert (Guard.SKIPPED in warnings) == any(c[1] for c in counts), (k, s, p, d)
        outs = [f.window_out(n, k, s, p, d) for n in range(40, 40 + 2 * s)]
        linear = all(b - a == outs[1] - outs[0] for a, b in itertools.pairwise(outs))
        assert (Guard.RESIDUE in warnings) == (not linear or (s > 1 and outs[1] == outs[0]))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("input 3 x 224 x 224\nconv 96 k=11 s=4",
         "warning: 1 conv2d: H: 1 pixel of 224 discarded at the bottom (no window reads it); "
         "W alike"),
        ("input 3 x 227 x 227\nconv 96 k=1 s=4",
         "warning: 1 conv2d: H: 2 pixels of 227 discarded at the bottom"),
        ("input 3 x 227 x 227\nconv 96 k=1 s=4",
         "H: 168 pixels of 227 skipped between windows (kernel 1 < stride 4); W alike"),
        ("input 1 x L\nmaxpool k=2 s=2",
         "warning: 1 maxpool1d: L: L mod 2 pixels discarded at the end"),
        ("input 1 x L\nmaxpool k=2 s=2", "L: the output size depends on the parity of L"),
        ("input 3 x H x W\nconv 3 k=3 p=1 d=2 s=2",
         "windows read 1 of every 2 positions, the others are skipped (dilation 2 leaves "
         "gaps between a window's taps)"),
    ],
)
def test_check_warns(text: str, expected: str) -> None:
    code, out, err = run("check", "-e", text)
    assert code == 0 and expected in out, out + err


@pytest.mark.parametrize("text", ["input 3 x 227 x 227\nconv 96 k=11 s=4",
                                  "input 3 x H x W\nconv 8 k=3 p=1\nconvt 8 k=2 s=2"])
def test_check_is_quiet_where_nothing_is_lost(text: str) -> None:
    code, out, _ = run("check", "-e", text)
    assert code == 0 and "warning" not in out, out


def test_tables_note_the_warnings_in_every_format() -> None:
    network = symconv.parse("input 3 x 224 x 224\nconv 96 k=11 s=4")
    records = network.table()
    line = "1 conv2d: H: 1 pixel of 224 discarded at the bottom (no window reads it); W alike"
    assert line in table_text(network, records)
    for fmt in ("markdown", "latex"):
        code, out, _ = run("table", "-e", "input 3 x 224 x 224\nconv 96 k=11 s=4", "--format",
                           fmt)
        assert code == 0 and "1 pixel of 224 discarded" in out
    code, out, _ = run("table", "-e", "input 3 x 224 x 224\nconv 96 k=11 s=4", "--format",
                       "json")
    row = json.loads(out)["layers"][0]
    assert [(w["kind"], w["axis"], w["count"]) for w in row["warnings"]] == [
        ("discarded", "H", 1), ("discarded", "W", 1)]


def test_design_ranks_windows_that_read_every_pixel_first() -> None:
    designs = design_search(224, 56)
    keys = [(d.skipped > 0, d.discarded > 0) for d in designs]
    assert keys == sorted(keys) and keys[0] == (False, False)
    # the example: k=1 s=4, the cheapest, reads one pixel of four and discards 3
    where = next(i for i, d in enumerate(designs) if (d.kernel, d.stride, d.padding) == (1, 4, 0))
    assert (designs[where].skipped, designs[where].discarded) == (165, 3)
    assert all(d.skipped for d in designs[where:]) and designs[0].params > designs[where].params
    for d in designs:
        assert (d.discarded, d.skipped) == _brute(224, 56, d.kernel, d.stride, d.padding,
                                                  d.dilation)
    code, out, _ = run("design", "--size", "224", "--target", "56", "--help")
    assert code == 0 and "no" in out and "skipped" in out


# ---------------------------------------------------------------- text and options


def test_thousands_separators_in_text_tables() -> None:
    text = "input 3 x 224 x 224\nconv 64 k=3 p=1\nflatten\nlinear 1000"
    code, out, _ = run("table", "-e", text)
    assert code == 0
    assert "3,211,265,000" in out and "1,792" in out
    total = next(line for line in out.splitlines() if "total" in line)
    assert total.split()[1] == "3,211,266,792"
    code, out, _ = run("table", "-e", text, "--no-separators")
    assert "3211266792" in out and "," not in out
    # a symbolic cell keeps its own form: no separator inside an expression
    code, out, _ = run("table", "-e", "input 3 x W\nconv 1000 k=1")
    assert "1000*W" in out
    # numbers stay right-justified
    rows = [line for line in out.splitlines() if "conv1d" in line]
    assert rows and rows[0].split()[5] == "4,000" and rows[0].index("4,000") > \
        out.splitlines()[0].index("params")


def test_memory_summary_and_options() -> None:
    code, out, _ = run("table", "examples/resnet18.net", "--columns", "memory", "--batch", "N",
                       "--dtype", "float16")
    assert code == 0
    assert "parameters: 11,689,512 trainable, 0 non-trainable" in out
    assert "memory for float16, batch N: parameters 23,379,024 bytes (23.38 MB)" in out
    for key in ("param_bytes", "activation_bytes", "backward_bytes"):
        assert next(c for c in ALL_COLUMNS if c.key == key).title in out
    code, _, err = run("table", "examples/resnet18.net", "--columns", "parms")
    assert code == 2 and "no column 'parms'; did you mean 'params'?" in err
    code, _, err = run("table", "examples/resnet18.net", "--batch", "0")
    assert code == 2 and "--batch: expected a whole number of examples" in err
    with pytest.raises(InvalidValueError, match="dtype: expected one of float32"):
        memory_of("float8")
    with pytest.raises(UnknownNameError, match="no column 'x'"):
        chosen(["x"])
    assert {name: TORCH_DTYPES[name].itemsize for name in DTYPES} == DTYPES


SYMBOLIC = "input 3 x H x W\nconv 8 k=K"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch", "N-10"], "--batch: expected a whole number of examples, 1 or more, or a "
         "symbol such as N; got N - 10, which is less than 1 for some values of its symbols"),
        (["--batch", "N/2"], "got N/2, which is less than 1 for some values of its symbols"),
        (["--batch=-N"], "got -N, which is less than 1\n"),
        (["--batch", "0"], "got 0, which is less than 1\n"),
        (["--batch", "3/2"], "got 3/2, which is not whole\n"),
        (["--batch", "N + 1/2"], "got N + 1/2, which is not whole\n"),
        (["--batch", "H"], "--batch: H is a symbol of the network (an input size or a layer's "
         "argument); the batch size needs a symbol of its own, such as N"),
        (["--batch", "2*K"], "--batch: K is a symbol of the network"),
        (["--batch", "H", "--set", "H=32"], "--batch: H is a symbol of the network"),
        (["--columns", ""], "--columns: expected column names separated by commas, got '' "
         "(the columns: name, depth, output_shape"),
        (["--columns", ","], "--columns: expected column names separated by commas, got ','"),
        (["--columns", "params,"], "got 'params,'"),
        (["--columns", "params,params"], "the column 'params' is asked for twice"),
        (["--columns", "macs,neurons,MACs"], "no column 'MACs'"),
    ],
)
def test_table_options_are_refused_with_the_rule(argv: list[str], message: str) -> None:
    code, out, err = run("table", "-e", SYMBOLIC, *argv)
    assert (code, out) == (2, "") and err.startswith("symconv: error: ") and message in err, err


@pytest.mark.parametrize("batch", ["N", "2*N", "N + 1", "N**2", "7"])
def test_a_batch_that_is_whole_for_every_value_is_taken(batch: str) -> None:
    code, out, err = run("table", "-e", SYMBOLIC, "--batch", batch, "--columns", "memory")
    assert code == 0 and "memory for float32, batch " in out, err


@pytest.mark.parametrize(("batch", "message"), [("H", "batch: H is a symbol of the network"),
                                                ("N - 1", "which is less than 1 for some")])
def test_the_python_table_refuses_the_same_batches(batch: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=re.escape(message)):
        symconv.parse(SYMBOLIC).table(batch=batch)


@pytest.mark.parametrize("count", [0, 1, 4_999, 5_000, 5_001, 994_999, 995_000, 10**6 - 1,
                                   123_456_789, 10**400 + 5_000, 4 * 10**3999 + 12_345])
def test_megabytes_are_exact_for_every_size(count: int) -> None:
    hundredths = Fraction(count, 10**4)
    rounded = math.floor(hundredths + Fraction(1, 2))  # half up
    assert megabytes(count) == f"{rounded // 100:,}.{rounded % 100:02d}"


def test_memory_of_an_astronomical_batch() -> None:
    code, out, err = run("table", "examples/alexnet.net", "--batch", "10**3999", "--columns",
                         "memory")
    assert code == 0, err
    words = "".join(out.split())  # the long numbers wrap
    assert "forwardpass5,360,168" in words and ",000.00MB)" in words


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("input 1 x 3 x 3\nconv 1 k=1", "ok: 1 layer, output 1 x 3 x 3, 2 parameters ("),
        ("input 3 x 224 x 224\nconv 96 k=11 s=4 p=2\nconv 1 k=1",
         "ok: 2 layers, output 1 x 55 x 55, 35,041 parameters ("),
        ("input 3 x H x W\nconv 8 k=K", "8*(3*K**2 + 1) parameters ("),
        ("input 1 x 1000000001\nconv 1 k=2 s=2", "1 pixel of 1,000,000,001 discarded"),
    ],
)
def test_check_says_counts_as_sentences(text: str, line: str) -> None:
    code, out, err = run("check", "-e", text)
    assert code == 0 and line in out, out + err
