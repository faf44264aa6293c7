"""Aligned input sizes and the design search against brute force; the `solve` and `design`
commands."""

from __future__ import annotations

import itertools
import json
import random

import pytest
import torch
import torch.nn.functional as F

from symconv import NoSolutionError, parse
from symconv.cli import main
from symconv.language.layers import Conv, Pool
from symconv.solve.align import aligned_sizes
from symconv.solve.design import Bounds, Cost, design_search

torch.set_num_threads(1)


# ---------------------------------------------------------------- alignment


def discards(text, size):
    """Brute force: whether some layer leaves elements after its last window, from the
    records of the traced network (None where the network rejects the size)."""
    try:
        records = parse(text).records(W=size)
    except Exception:
        return None
    for r in records:
        if isinstance(r.layer, Conv | Pool) and not r.layer.window.same:
            w = r.layer.window
            n, k, s, p, d = r.input_shape[1], w.kernel[0], w.stride[0], w.padding[0], w.dilation[0]
            if (n + 2 * p - d * (k - 1) - 1) % s:
                return True
    return False


def random_text(rng):
    lines = ["input 1 x W"]
    for _ in range(rng.randint(1, 4)):
        k, s, p = rng.randint(1, 5), rng.randint(1, 3), rng.randint(0, 2)
        kind = rng.choice(["conv 2", "conv 2", "maxpool", "convt 2", "maxpool ceil=true"])
        if "pool" in kind:
            k, p = max(k, 2), min(p, 1)
        lines.append(f"{kind} k={k} s={s} p={p}")
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(2))
def test_aligned_sizes_are_exactly_those_where_nothing_is_discarded(seed):
    rng = random.Random(seed)
    for _ in range(12):
        text = random_text(rng)
        try:
            (alignment,) = aligned_sizes(text)
        except NoSolutionError:
            assert all(discards(text, n) in (True, None) for n in range(1, 91))
            continue
        for n in range(1, 91):
            assert (n in alignment) == (discards(text, n) is False), (text, n)


@pytest.mark.parametrize(
    ("text", "modulus", "residues", "least"),
    [
        ("input 3 x W x W\nrepeat 5 { conv 8 k=2 s=2 }", 32, (0,), 32),
        ("input 3 x W x W\nconv 8 k=7 s=2 p=3\nmaxpool k=3 s=2 p=1\n"
         "repeat 3 { conv 8 k=3 s=2 p=1 }", 32, (1,), 1),
        ("input 3 x W x W\nconv 8 k=3 p=1\n"
         "residual { conv 8 k=3 s=2 p=1 } shortcut { conv 8 k=1 s=2 }", 2, (1,), 1),
        ("input 3 x W x W\nconv 8 k=3 s=1 p=same", 1, (0,), 1),
    ],
)
def test_known_alignments(text, modulus, residues, least):
    for alignment in aligned_sizes(text):
        assert (alignment.modulus, alignment.residues, alignment.least) == (modulus, residues,
                                                                           least)


def test_alignment_needs_numbers():
    with pytest.raises(NoSolutionError, match="give S a value"):
        aligned_sizes("input 3 x W x W\nconv 8 k=3 s=S")


# ---------------------------------------------------------------- design search


def torch_out(n, k, s, p, d):
    return F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p,
                    dilation=d).shape[-1]


@pytest.mark.parametrize(("size", "target"), [(224, 112), (32, 32), (28, 14), (9, 3), (50, 7)])
def test_design_search_finds_exactly_the_windows_pytorch_agrees_with(size, target):
    designs = design_search(size, target, axes=1)
    found = {(x.kernel, x.stride, x.padding, x.dilation) for x in designs}
    expected = {
        (k, s, p, d)
        for k, s, p, d in itertools.product(range(1, 12), range(1, 5), range(6), range(1, 4))
        if (k > 1 or d == 1) and d * (k - 1) + 1 <= size + 2 * p
        and torch_out(size, k, s, p, d) == target
    }
    assert found == expected


def test_design_search_ranks_by_cost():
    # Within each group alike in what it skips and discards (see test_columns for the
    # groups' order), cheapest first.
    for cost, attribute in ((Cost.PARAMS, "params"), (Cost.MACS, "macs")):
        designs = design_search(224, 56, in_channels=3, out_channels=16, cost=cost)
        keys = [(x.skipped > 0, x.discarded > 0, getattr(x, attribute)) for x in designs]
        assert keys == sorted(keys) and designs
        module = torch.nn.Conv2d(3, 16, designs[0].kernel)
        assert designs[0].params == sum(t.numel() for t in module.parameters())


def test_design_search_bounds_are_checked():
    with pytest.raises(NoSolutionError, match=r"stride range 0\.\.2"):
        design_search(10, 5, Bounds(stride=(0, 2)))


# ---------------------------------------------------------------- commands


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_solve_command_json(capsys):
    code, out, _ = run(capsys, "solve", "-e", "input 3 x W x W\nconv 64 k=7 s=2 p=P", "--for",
                       "P", "--target", "112x112", "--set", "W=224", "--format", "json")
    document = json.loads(out)
    assert code == 0
    assert (document["unknown"], document["solutions"], document["interval"]) == ("P", [3],
                                                                                  [3, 3])


def test_solve_command_symbolic_and_unbounded(capsys):
    _, out, _ = run(capsys, "solve", "-e", "input 3 x W x W\nconv 64 k=K s=S p=P", "--for", "P",
                    "--target", "O", "--format", "json")
    document = json.loads(out)
    assert document["solutions"] is None
    assert document["interval"] == ["Max(0, ceiling((K + S*(O - 1) - W)/2))",
                                    "floor((K + O*S - W - 1)/2)"]
    _, out, _ = run(capsys, "solve", "-e", "input 3 x 224 x 224\nconv 64 k=7 s=S p=3", "--for",
                    "S", "--target", "1", "--format", "json")
    assert json.loads(out)["interval"] == [224, "oo"] and json.loads(out)["solutions"] is None


def test_solve_command_text_and_latex(capsys):
    args = ("solve", "-e", "input 3 x 224 x 224\nconv 64 k=7 s=4 p=P", "--for", "P", "--target",
            "55")
    _, out, _ = run(capsys, *args)
    assert out.splitlines()[0] == "P in 0..1"
    _, out, _ = run(capsys, *args, "--format", "latex")
    assert out.startswith("\\begin{gather*}") and "P \\in \\{0, 1\\}" in out


def test_solve_command_aligned(capsys):
    _, out, _ = run(capsys, "solve", "-e", "input 3 x W x W\nrepeat 5 { conv 8 k=2 s=2 }",
                    "--aligned", "--range", "1..100")
    assert out.splitlines()[:2] == ["W = 0 (mod 32), W >= 32", "  32, 64, 96"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("solve", "-e", "input 1 x 9\nconv 1 k=3 p=P", "--for", "Q", "--target", "9"),
         "unknown symbol 'Q'"),
        (("solve", "-e", "input 1 x 9\nconv 1 k=3 p=P", "--target", "9"), "--for P"),
        (("design", "--size", "9", "--target", "3", "--axes", "0"), "at least 1"),
        (("solve", "-e", "input 1 x W\nconv 1 k=3", "--aligned", "--for", "W"),
         "leave out --for"),
        (("solve", "-e", "input 1 x W\nconv 1 k=3", "--for", "W", "--target", "3", "--range",
          "1..9"), "use it with --aligned"),
        (("solve", "-e", "input 1 x W\nconv 1 k=3 s=2", "--for", "W", "--target", "3",
          "--set", "W=4"), "is the unknown"),
    ],
)
def test_commands_report_errors(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_design_command(capsys):
    _, out, _ = run(capsys, "design", "--size", "224", "--target", "112", "--top", "2",
                    "--in-channels", "3", "--out-channels", "64")
    lines = out.splitlines()
    assert lines[0].split() == ["kernel", "stride", "padding", "dilation", "params", "macs",
                                "skipped", "discarded"]
    # k=1 s=2 (256 parameters) skips every other pixel: it is no longer first
    assert lines[1].split() == ["2", "2", "0", "1", "832", "9,633,792", "0", "0"]
    assert lines[3].startswith("ranked: windows that read every input pixel first")


def test_latex_answers_compile(tmp_path, pdflatex):
    import subprocess

    from symconv.render.solution import solution_latex
    from symconv.solve.solution import solve

    exe = pdflatex
    answers = [
        solve("input 3 x W x W\nconv 64 k=K s=S p=P", "P", "O"),
        solve("input 3 x 224 x 224\nconv 64 k=7 s=S p=3", "S", 1),
        solve("input 3 x 10 x 10\nconv 64 k=3 s=2 p=P", "P", 3),
        solve("input 1 x 33\nmaxpool k=7 s=4 p=X ceil=true", "X", 9),
    ]
    body = "".join(solution_latex(a) for a in answers)
    (tmp_path / "answers.tex").write_text(
        "\\documentclass{article}\\usepackage{amsmath,amssymb}\\begin{document}\n"
        f"{body}\\end{{document}}\n", encoding="utf-8")
    run = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "answers.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout[-2000:]
