"""'same' padding, the output_padding that undoes a convolution, and the sizes a transposed
convolution can produce, against PyTorch; and where the formulas printed in
shared/seeds/003 (its (2) and (4)) disagree with the ones derived from the conv relation."""

from __future__ import annotations

import itertools

import pytest
import sympy
import torch
import torch.nn.functional as F

from symconv import NoSolutionError
from symconv.engine import formulas as f
from symconv.solve.layers import Convention, same_padding, transposed_sizes, undo_output_padding
from symconv.solve.solution import solve

# Tensors of a few elements: one thread answers in microseconds, a pool in milliseconds.
torch.set_num_threads(1)


def torch_conv(n, k, s=1, p=0, d=1):
    """PyTorch's output length of a 1-D convolution (padding a number or a (before, after))."""
    x = torch.zeros(1, 1, n)
    if isinstance(p, tuple):
        x, p = F.pad(x, p), 0
    return F.conv1d(x, torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1]


def torch_transposed(n, k, s=1, p=0, d=1, op=0):
    x, w = torch.zeros(1, 1, n), torch.zeros(1, 1, k)
    return F.conv_transpose1d(x, w, stride=s, padding=p, output_padding=op, dilation=d).shape[-1]


# ---------------------------------------------------------------- seed formula (2)
#
# The seed solves its conv relation (1), out = (n - K + 2P)/S + 1, for the padding that keeps
# the size (out = n) and prints P = ((n - 1)/S - n + K)/2. Solving (1) gives instead
#     S(n - 1) = n - K + 2P   =>   P = (S(n - 1) - n + K)/2.


def seed_same_padding(n, k, s):
    """Formula (2) as the seed prints it."""
    return sympy.Rational(1, 2) * (sympy.Rational(n - 1, s) - n + k)


def derived_same_padding(n, k, s):
    """The padding that keeps n, from the conv relation."""
    return sympy.Rational(s * (n - 1) - n + k, 2)


@pytest.mark.parametrize(
    ("n", "k", "s"),
    [(32, 4, 2), (32, 3, 3), (10, 3, 3), (7, 3, 2), (16, 5, 3), (9, 7, 4)],
)
def test_seed_same_padding_is_wrong_with_stride(n, k, s):
    printed, derived = seed_same_padding(n, k, s), derived_same_padding(n, k, s)
    assert printed != derived
    # The derived padding keeps the size, in symconv's formula and in PyTorch.
    assert derived.is_Integer and derived >= 0
    assert f.window_out(n, k, s, int(derived), 1) == n == torch_conv(n, k, s, int(derived))
    # The printed one is not even a padding, or one that changes the size.
    assert not (printed.is_Integer and printed >= 0) or torch_conv(n, k, s, int(printed)) != n
    # The solver finds every padding that keeps n, and the derived one is the least.
    solution = solve(f"input 1 x {n}\nconv 1 k={k} s={s} p=P", "P", n)
    assert solution.values is not None and solution.values[0] == derived
    assert all(torch_conv(n, k, s, p) == n for p in solution.values)


def test_seed_same_padding_agrees_only_at_stride_one():
    for n, k, s in itertools.product(range(1, 30), range(1, 8), range(1, 5)):
        agree = seed_same_padding(n, k, s) == derived_same_padding(n, k, s)
        assert agree == (s == 1 or n == 1), (n, k, s)


# ---------------------------------------------------------------- seed formula (4)
#
# The seed's offset (output_padding) for a transposed convolution that restores the size W
# a convolution started from is printed as (W - 2P - K) % S. From the conv relation,
# W + 2P - K = S(out - 1) + r with r = (W + 2P - D(K-1) - 1) mod S, and the transposed
# convolution gives (out - 1)S - 2P + D(K-1) + 1 + op = W - r + op: so op = r.


def seed_offset(w, k, s, p):
    return (w - 2 * p - k) % s


@pytest.mark.parametrize(
    ("w", "k", "s", "p"),
    [(10, 3, 3, 1), (11, 3, 3, 1), (8, 3, 3, 2), (20, 5, 5, 1), (15, 4, 3, 1), (9, 2, 6, 1)],
)
def test_seed_offset_is_wrong(w, k, s, p):
    derived = undo_output_padding(w, k, s, p)
    assert seed_offset(w, k, s, p) != derived
    out = torch_conv(w, k, s, p)
    assert torch_transposed(out, k, s, p, op=derived) == w
    assert torch_transposed(out, k, s, p, op=seed_offset(w, k, s, p)) != w


def test_seed_offset_agrees_only_where_four_p_is_a_multiple_of_s():
    for w, k, s, p in itertools.product(range(1, 25), range(1, 6), range(1, 5), range(0, 4)):
        if f.window_out(w, k, s, p, 1) >= 1:
            agree = seed_offset(w, k, s, p) == undo_output_padding(w, k, s, p)
            assert agree == (4 * p % s == 0), (w, k, s, p)


# ---------------------------------------------------------------- transposed convolution


def test_output_padding_undoes_every_convolution_of_a_grid():
    checked = 0
    for n, k, s, p, d in itertools.product(range(1, 41), range(1, 6), range(1, 5), range(3),
                                           range(1, 4)):
        out = f.window_out(n, k, s, p, d)
        if out < 1:
            continue
        assert torch_conv(n, k, s, p, d) == out
        op = undo_output_padding(n, k, s, p, d)
        assert 0 <= op < s
        assert torch_transposed(out, k, s, p, d, op) == n
        checked += 1
    assert checked > 5000


def test_output_padding_formula_is_symbolic():
    n, k, s, p, d = (sympy.Symbol(c, integer=True, positive=True) for c in "nkspd")
    op = undo_output_padding(n, k, s, p, d)
    back = f.transposed_out(f.window_out(n, k, s, p, d), k, s, p, d, op)
    assert sympy.simplify(back - n) == 0


def test_transposed_sizes_are_what_pytorch_accepts():
    for n, k, s, p, d in itertools.product(range(1, 8), range(1, 5), range(1, 4), range(3),
                                           range(1, 3)):
        low, high = f.transposed_out_range(n, k, s, p, d)
        if high < 1:
            with pytest.raises(NoSolutionError):
                transposed_sizes(n, k, s, p, d)
            continue
        made = set()
        for op in range(max(s, d)):
            size = f.transposed_out(n, k, s, p, d, op)
            if size >= 1:
                made.add(torch_transposed(n, k, s, p, d, op))
        assert made == set(range(max(low, 1), high + 1)) == set(
            range(transposed_sizes(n, k, s, p, d)[0], transposed_sizes(n, k, s, p, d)[1] + 1))
        with pytest.raises(RuntimeError, match="output padding must be smaller"):
            torch_transposed(n, k, s, p, d, max(s, d))


def test_undo_output_padding_rejects_an_empty_convolution():
    with pytest.raises(NoSolutionError, match="no output for an input of 2"):
        undo_output_padding(2, 5)


# ---------------------------------------------------------------- 'same' padding


def test_torch_same_padding_matches_pytorch_values():
    # Not only the size: the split (extra element after) gives PyTorch's very numbers.
    torch.manual_seed(0)
    for n, k, d in itertools.product(range(1, 12), range(1, 7), range(1, 4)):
        x, w = torch.randn(1, 1, n), torch.randn(1, 1, k)
        same = same_padding(n, k, 1, d)
        ours = F.conv1d(F.pad(x, (same.before, same.after)), w, dilation=d)
        assert same.output == n
        assert torch.allclose(ours, F.conv1d(x, w, padding="same", dilation=d)), (n, k, d)
        assert same.symmetric == (d * (k - 1) % 2 == 0)


def test_tensorflow_same_gives_ceil_n_over_s():
    for n, k, s, d in itertools.product(range(1, 30), range(1, 7), range(1, 5), range(1, 3)):
        same = same_padding(n, k, s, d, Convention.TENSORFLOW)
        assert same.output == -(-n // s)
        assert torch_conv(n, k, s, (same.before, same.after), d) == same.output
        assert 0 <= same.after - same.before <= 1


@pytest.mark.parametrize(("n", "k", "s", "d"), [(224, 3, 2, 1), (7, 4, 3, 1), (10, 1, 2, 2)])
def test_the_conventions_differ_only_with_stride(n, k, s, d):
    # Stride 1: the same padding in both. Stride above 1: PyTorch refuses, TensorFlow pads.
    torch_one = same_padding(n, k, 1, d)
    assert torch_one == same_padding(n, k, 1, d, Convention.TENSORFLOW)
    with pytest.raises(NoSolutionError, match="PyTorch's padding='same' needs stride 1"):
        same_padding(n, k, s, d)
    with pytest.raises(RuntimeError, match="not supported for strided"):
        F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding="same")
    assert same_padding(n, k, s, d, Convention.TENSORFLOW).output == -(-n // s)


def test_same_padding_of_an_even_kernel_is_asymmetric():
    # PyTorch's single padding number cannot keep the size of an even kernel: the solver
    # finds no symmetric padding, and 'same' pads one more element after.
    assert solve("input 1 x 16\nconv 1 k=4 p=P", "P", 16).empty
    assert same_padding(16, 4) == same_padding(16, 4, 1, 1, Convention.TORCH)
    assert (same_padding(16, 4).before, same_padding(16, 4).after) == (1, 2)
