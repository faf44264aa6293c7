"""One function per quantity, for one spatial axis.

Each formula is plain arithmetic that works on Python ints (exact, fast) and on SymPy
expressions alike (where `//` becomes floor). These functions are the single source of the
engine's arithmetic: shapes, counts, solvers, derivations and the formula sheet call them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import sympy

from symconv.algebra.symbols import Value, truth

# ---------------------------------------------------------------- integer helpers


def ceil_div(a: Any, b: Any) -> Any:
    """The ceiling of a / b: exact for ints, `ceiling` for SymPy expressions."""
    if isinstance(a, int) and isinstance(b, int):
        return -((-a) // b)
    return sympy.ceiling(sympy.sympify(a, strict=True) / b)


def exact_div(a: Any, b: Any) -> Any:
    """a / b where b is known to divide a (validated by the caller): an int or an expression."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    return sympy.sympify(a, strict=True) / b


def select(condition: Any, then: Any, otherwise: Any) -> Any:
    """`then` where the condition holds, else `otherwise`; a Piecewise when undecided."""
    decided = truth(condition)
    if decided is True:
        return then
    if decided is False:
        return otherwise
    return sympy.Piecewise((then, condition), (otherwise, True))


def both(a: Any, b: Any) -> Any:
    """a and b, for Python bools and SymPy relations alike (b is not looked at if a is False)."""
    if truth(a) is False:
        return False
    if isinstance(a, bool) and isinstance(b, bool):
        return a and b
    return sympy.And(a, b)


def either(a: Any, b: Any) -> Any:
    """a or b, for Python bools and SymPy relations alike."""
    if truth(a) is True:
        return True
    if isinstance(a, bool) and isinstance(b, bool):
        return a or b
    return sympy.Or(a, b)


def equal(a: Any, b: Any) -> Any:
    """a == b as a bool for numbers, as an equation (decided where SymPy can) otherwise."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return sympy.Eq(a, b)


def product(values: Iterable[Any]) -> Any:
    """The product of the values (1 for none)."""
    result: Any = 1
    for v in values:
        result = result * v
    return result


# ---------------------------------------------------------------- output sizes


def window_out(n: Value, k: Value, s: Value, p: Value, d: Value) -> Value:
    """Output length of a convolution or floor-mode pooling along one axis (PyTorch)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def window_out_ceil(n: Value, k: Value, s: Value, p: Value, d: Value) -> Value:
    """Output length of ceil_mode pooling: the division rounds up, but a last window that
    would start inside the right padding (at or past n + p) is dropped, as in PyTorch."""
    out = ceil_windows(n, k, s, p, d)
    return select(last_window_in_padding(n, k, s, p, d), out - 1, out)


def ceil_windows(n: Value, k: Value, s: Value, p: Value, d: Value) -> Value:
    """The windows ceil_mode pooling counts before it looks at the last one: the division
    rounded up."""
    return ceil_div(n + 2 * p - d * (k - 1) - 1, s) + 1


def last_window_in_padding(n: Value, k: Value, s: Value, p: Value, d: Value) -> Any:
    """Whether ceil_mode's last window would start at or past n + p, in the right padding
    (PyTorch drops it): a bool, or a SymPy condition where undecided."""
    out = ceil_windows(n, k, s, p, d)
    # The last window starts before (out - 1)s < n + 2p - d(k-1) - 1 + s, so it can only
    # start at or past n + p when s + p exceeds the window's span d(k-1) + 1.
    return both(s + p > effective_kernel(k, d), (out - 1) * s >= n + p)


def transposed_out(n: Value, k: Value, s: Value, p: Value, d: Value, op: Value) -> Value:
    """Output length of a transposed convolution along one axis (PyTorch)."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def pad_out(n: Value, before: Value, after: Value) -> Value:
    """Output length of a padding layer along one axis (negative amounts crop)."""
    return n + before + after


def upsample_out(n: Value, scale: Value) -> Value:
    """Output length of upsampling by a scale factor along one axis: n·scale rounded down.
    With numbers, the product is taken in double precision, as PyTorch takes it (90 · 4.1
    is 368.99999999999994 there, so 368); with symbols, exactly: a formula to read, which
    numbers then follow only where the product is exact (the compiled evaluator computes
    each such size by scaled_size, and the solver refuses a scale that is not whole)."""
    if isinstance(n, int | sympy.Integer) and isinstance(scale, int | sympy.Rational):
        return scaled_size(int(n), scale)
    return (n * scale) // 1


def scaled_size(n: int, scale: int | sympy.Rational | Fraction) -> int:
    """floor(n·scale) as PyTorch computes it: n and scale rounded to doubles, their product
    rounded to a double, then rounded down. OverflowError where the product is past the
    doubles' range (about 1.8·10^308)."""
    if isinstance(scale, int):
        factor = float(scale)
    else:  # an exact ratio of whole numbers, divided with one rounding (as float(4.1) is)
        num, den = ((scale.p, scale.q) if isinstance(scale, sympy.Rational)
                    else (scale.numerator, scale.denominator))
        factor = num / den
    return math.floor(float(n) * factor)


def shuffle_channels(c: Value, r: Value) -> Value:
    """Channels after PixelShuffle(r): C/r², the rest spread over an r x r block."""
    return exact_div(c, r * r)


def unshuffle_channels(c: Value, r: Value) -> Value:
    """Channels after PixelUnshuffle(r): every r x r block stacked into C·r² channels."""
    return c * r * r


def chunk_channels(c: Value, n: Value) -> Value:
    """Channels of one of n equal parts of C (x.chunk(n, dim=1)[i]): C/n."""
    return exact_div(c, n)


def interpolation_reads(mode: str, rank: int) -> int:
    """Input elements one output element of upsampling reads: 1 for nearest, 2 per axis
    for (bi/tri)linear, 4 per axis for bicubic."""
    return {"bicubic": 4 ** rank}.get(mode, 1 if mode.startswith("nearest") else 2 ** rank)


def effective_kernel(k: Value, d: Value) -> Value:
    """The span of a dilated kernel: d*(k-1) + 1 input elements."""
    return d * (k - 1) + 1


def same_padding(k: Value, d: Value) -> tuple[Value, Value]:
    """PyTorch's padding='same' (stride 1): total d*(k-1), split (before, after) with the
    odd element after."""
    total = d * (k - 1)
    before = total // 2
    return before, total - before


def adaptive_window(i: Value, n: Value, o: Value) -> tuple[Value, Value]:
    """The input interval [start, end) that adaptive pooling's output index i reads."""
    return (i * n) // o, ceil_div((i + 1) * n, o)


class gcd(sympy.Function):
    """The greatest common divisor of two whole numbers, left unevaluated for symbols
    (SymPy's own `gcd` is the polynomials' one: gcd(W, O) = 1 for any symbols)."""

    is_integer = True

    @classmethod
    def eval(cls, a: sympy.Expr, b: sympy.Expr) -> sympy.Expr | None:
        if a.is_Integer and b.is_Integer:
            return sympy.Integer(math.gcd(int(a), int(b)))
        if a == b:
            return a
        if a == 1 or b == 1:
            return sympy.Integer(1)
        return None

    def _eval_is_positive(self) -> bool | None:
        return True if all(a.is_positive for a in self.args) else None


def greatest_common_divisor(a: Value, b: Value) -> Value:
    """gcd(a, b): an int for ints, the unevaluated `gcd` for expressions."""
    if isinstance(a, int) and isinstance(b, int):
        return math.gcd(a, b)
    return gcd(a, b)


def adaptive_reads(n: Value, o: Value) -> Value:
    """Input elements adaptive pooling reads along one axis, summed over its o windows (they
    may overlap). Window i covers [floor(i*n/o), ceil((i+1)*n/o)), of width ceil((r + n)/o)
    where r = i*n mod o; r takes each multiple of gcd(n, o) below o once."""
    return n + o - greatest_common_divisor(n, o)


def adaptive_widest(n: Value, o: Value) -> Value:
    """The widest window of adaptive pooling along one axis: the width ceil((r + n)/o) at the
    largest r, o - gcd(n, o) (n/o where o divides n)."""
    return ceil_div(adaptive_reads(n, o), o)


# ---------------------------------------------------------------- counts


def conv_weights_per_filter(c_in: Value, kernel_volume: Value, groups: Value, bias: bool) -> Value:
    """Inputs one output element of a convolution reads, plus its bias: (C/g)*prod(k) + b."""
    return exact_div(c_in, groups) * kernel_volume + int(bias)


def conv_params(
    c_in: Value, c_out: Value, kernel_volume: Value, groups: Value, bias: bool
) -> Value:
    """Learnable numbers of a convolution: one shared filter per output channel."""
    return c_out * conv_weights_per_filter(c_in, kernel_volume, groups, bias)


def transposed_params(
    c_in: Value, c_out: Value, kernel_volume: Value, groups: Value, bias: bool
) -> Value:
    """Learnable numbers of a transposed convolution: weight (C_in, C_out/g, *k) + bias."""
    return c_in * exact_div(c_out, groups) * kernel_volume + int(bias) * c_out


def linear_params(f_in: Value, f_out: Value, bias: bool) -> Value:
    """Learnable numbers of a fully connected layer: (inputs + bias) * outputs."""
    return (f_in + int(bias)) * f_out


def batchnorm_params(channels: Value, affine: bool) -> Value:
    """Learnable numbers of batch normalisation: a scale and a shift per channel (group and
    instance normalisation have the same)."""
    return 2 * channels if affine else 0


def batchnorm_kept_params(channels: Value, scale: bool, center: bool) -> Value:
    """Learnable numbers of a Keras batch normalisation that keeps the scale, the shift or
    both (scale=False, center=False): one per channel for each kept."""
    return channels * (int(scale) + int(center))


def layernorm_params(normalized_volume: Value, affine: bool, bias: bool) -> Value:
    """Learnable numbers of layer normalisation: a scale, and a shift unless bias=False, for
    every element of the normalised shape."""
    return normalized_volume * (int(affine) + int(affine and bias))


def connections(neurons: Value, inputs_per_neuron: Value) -> Value:
    """Links into the outputs: every output element times the inputs (and bias) it reads."""
    return neurons * inputs_per_neuron


def conv_macs(neurons: Value, c_in: Value, kernel_volume: Value, groups: Value) -> Value:
    """Multiply-adds of a convolution: (C/g)*prod(k) for every output element."""
    return neurons * exact_div(c_in, groups) * kernel_volume


def transposed_macs(
    in_elements: Value, c_out: Value, kernel_volume: Value, groups: Value
) -> Value:
    """Multiply-adds of a transposed convolution, counted on its input: every input element
    is scattered through (C_out/g)*prod(k) weights."""
    return in_elements * exact_div(c_out, groups) * kernel_volume


# ---------------------------------------------------------------- leftovers and conventions


def maximum(a: Any, b: Any) -> Any:
    """The larger of a and b: `max` for ints, `Max` for SymPy expressions."""
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    return sympy.Max(a, b)


def window_leftover(n: Value, k: Value, s: Value, p: Value, d: Value) -> Value:
    """Padded input elements after the last window, which no window reads (0 when the
    division in window_out is exact). It is also the output_padding with which a transposed
    convolution of the same window gives back n: transposed_out(window_out(...), ...) = n."""
    return n + 2 * p - effective_kernel(k, d) - s * (window_out(n, k, s, p, d) - 1)


def transposed_out_range(n: Value, k: Value, s: Value, p: Value, d: Value) -> tuple[Value, Value]:
    """Smallest and largest output of a transposed convolution: output_padding from 0 up to
    max(s, d) - 1, the values PyTorch accepts."""
    return transposed_out(n, k, s, p, d, 0), transposed_out(n, k, s, p, d, maximum(s, d) - 1)


def tf_same_out(n: Value, s: Value) -> Value:
    """Output length of TensorFlow's padding='SAME': ceil(n / s), whatever the kernel."""
    return ceil_div(n, s)


def tf_same_padding(n: Value, k: Value, s: Value, d: Value) -> tuple[Value, Value]:
    """TensorFlow's padding='SAME' along one axis, (before, after) with the odd element after:
    the total max((ceil(n/s) - 1)s + d(k-1) + 1 - n, 0) lets ceil(n/s) windows fit."""
    total = maximum((tf_same_out(n, s) - 1) * s + effective_kernel(k, d) - n, 0)
    before = total // 2
    return before, total - before


def tf_same_transposed_out(n: Value, s: Value) -> Value:
    """Output length of TensorFlow's transposed convolution with padding='SAME' (Keras's
    Conv2DTranspose without output_padding): n·s, whatever the kernel."""
    return n * s


def tf_same_transposed_padding(k: Value, s: Value, d: Value) -> tuple[Value, Value]:
    """The padding TensorFlow's 'SAME' transposed convolution crops, (before, after): that of
    the 'SAME' convolution from n·s back to n, max(d(k-1) + 1 - s, 0) in total, the odd
    element after."""
    total = maximum(effective_kernel(k, d) - s, 0)
    before = total // 2
    return before, total - before
