"""padding_mode in a description (PyTorch text and symconv's `mode=`): PyTorch is the oracle.

A description is accepted exactly where PyTorch's forward runs, with the same output shape;
where PyTorch raises, symconv names the rule (for numbers in the input line, and for symbolic
sizes given values later). An unknown mode is refused with a suggestion, a transposed
convolution takes 'zeros' only, and to_torch_code writes the mode back.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch
from torch import nn

import symconv
from symconv.errors import SymconvError
from symconv.interop.torch_code import to_torch_module


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    """Tiny tensors: threads only cost time (on a shared machine, a lot of it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

MODES = ("zeros", "reflect", "replicate", "circular")

# (kernel, padding, dilation): padding past the kernel, 'same' (split unevenly for an even
# kernel), and a dilated window whose 'same' padding exceeds small inputs.
WINDOWS: list[tuple[int, int | str, int]] = [
    (3, 0, 1), (3, 1, 1), (3, 2, 1), (3, 3, 1), (1, 4, 1), (2, "same", 1), (3, "same", 2),
    (5, "same", 1),
]
SIZES = (1, 2, 3, 4)


def _torch_text(rank: int, kernel: int, padding: int | str, dilation: int, mode: str) -> str:
    pad = f"'{padding}'" if isinstance(padding, str) else padding
    return (f"nn.Conv{rank}d(2, 3, {kernel}, padding={pad}, dilation={dilation}, "
            f"padding_mode='{mode}')")


def _symconv_text(kernel: int, padding: int | str, dilation: int, mode: str) -> str:
    return f"conv 3 k={kernel} p={padding} d={dilation} mode={mode}"


def _torch_shape(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The output shape without the batch axis; None where the forward raises or is empty."""
    try:
        with torch.no_grad():
            out = module(torch.zeros(1, *shape))
    except (RuntimeError, ValueError, NotImplementedError):
        return None
    return None if out.numel() == 0 else tuple(out.shape[1:])


def _symconv_shape(description: str, **values: int) -> tuple[tuple[int, ...] | None, str]:
    try:
        shape = symconv.parse(description).output_shape(**values)
    except SymconvError as error:
        return None, str(error)
    return tuple(int(v) for v in shape), ""


def _cases() -> list[Any]:
    cases = []
    for rank, mode, (kernel, padding, dilation) in itertools.product(
            (1, 2), MODES, WINDOWS):
        cases.append(pytest.param(rank, mode, kernel, padding, dilation,
                                  id=f"{rank}d-{mode}-k{kernel}-p{padding}-d{dilation}"))
    return cases


@pytest.mark.parametrize(("rank", "mode", "kernel", "padding", "dilation"), _cases())
def test_descriptions_are_refused_exactly_where_torch_raises(
    rank: int, mode: str, kernel: int, padding: int | str, dilation: int
) -> None:
    """Both spellings, every input size, numbers in the input line and symbols given later
    (to the table and to the compiled evaluator); one axis at a time is the short one, so
    each axis's rule is checked."""
    conv = getattr(nn, f"Conv{rank}d")
    module = conv(2, 3, kernel, padding=padding, dilation=dilation, padding_mode=mode).eval()
    layers = (_torch_text(rank, kernel, padding, dilation, mode),
              _symconv_text(kernel, padding, dilation, mode))
    zeros = conv(2, 3, kernel, padding=padding, dilation=dilation).eval()
    names = ("L",) if rank == 1 else ("H", "W")
    evaluators = {layer: symconv.parse(f"input 2 x {' x '.join(names)}\n{layer}").evaluator()
                  for layer in layers}
    for n in SIZES:
        spatial = (n,) if rank == 1 else (n, 5)
        for sizes in {spatial, spatial[::-1]}:
            expected = _torch_shape(module, (2, *sizes))
            # Where the same window with zero padding runs, the mode's own rule is named.
            own_rule = expected is None and _torch_shape(zeros, (2, *sizes)) is not None
            numbers = " x ".join(str(v) for v in (2, *sizes))
            for layer in layers:
                got, message = _symconv_shape(f"input {numbers}\n{layer}")
                symbolic = f"input 2 x {' x '.join(names)}\n{layer}"
                later, later_message = _symconv_shape(
                    symbolic, **dict(zip(names, sizes, strict=True)))
                assert got == expected, (layer, sizes, message)
                assert later == expected, (layer, sizes, later_message)
                compiled = evaluators[layer]
                try:
                    records = compiled(**dict(zip(names, sizes, strict=True)))
                    assert tuple(records[-1].output_shape) == expected, (layer, sizes)
                except SymconvError as error:
                    assert expected is None, (layer, sizes, str(error))
                if own_rule:
                    bound = "smaller than" if mode == "reflect" else "at most"
                    for text in (message, later_message):
                        assert f"padding_mode='{mode}' needs the padding" in text, text
                        assert bound in text, text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rank", [1, 2, 3])
def test_to_torch_code_writes_the_mode_back(rank: int, mode: str) -> None:
    """The written module has the mode, runs where symconv accepts, and reads back equal."""
    sizes = (4,) * rank
    network = symconv.parse(f"input 2 x {' x '.join(map(str, sizes))}\n"
                            f"conv 3 k=3 p=2 mode={mode} in=2\nrelu\n"
                            f"conv 3 k=1 p=1 mode={mode} in=3")
    code = network.to_torch_code()
    if mode == "zeros":  # PyTorch's default is not written
        assert "padding_mode" not in code
    else:
        assert code.count(f"padding_mode='{mode}'") == 2
    module = to_torch_module(network)
    assert [m.padding_mode for m in module if isinstance(m, nn.modules.conv._ConvNd)] == [mode] * 2
    assert _torch_shape(module.eval(), (2, *sizes)) == tuple(network.output_shape())
    assert symconv.from_torch(module, (2, *sizes)) == network


BAD_MODES = [
    # layer, message
    ("conv 3 k=3 mode=reflection", "padding_mode: unknown mode 'reflection' (it takes zeros, "
     "reflect, replicate or circular); did you mean 'reflect'?"),
    ("nn.Conv2d(2, 3, 3, padding_mode='zero')", "padding_mode: unknown mode 'zero' (it takes "
     "zeros, reflect, replicate or circular); did you mean 'zeros'?"),
    ("nn.Conv2d(2, 3, 3, padding_mode='Reflect')", "did you mean 'reflect'?"),
    ("conv 3 k=3 padding_mode=wrap", "padding_mode: unknown mode 'wrap' (it takes zeros, "
     "reflect, replicate or circular)"),
    ("conv 3 k=3 mode=1", "padding_mode: expected zeros, reflect, replicate or circular, got 1"),
    ("conv 3 k=3 mode=true", "padding_mode: unknown mode 'true'"),
    ("nn.Conv2d(2, 3, 3, 1, 0, 1, 1, True, 'mirror')", "unknown mode 'mirror'"),
    ("convT 3 k=3 mode=reflect", "padding_mode: takes zeros (the only mode of PyTorch's "
     "transposed convolutions), not 'reflect'"),
    ("nn.ConvTranspose2d(2, 3, 3, padding_mode='circular')", "padding_mode: takes zeros (the "
     "only mode of PyTorch's transposed convolutions), not 'circular'"),
    ("deconv 3 k=3 mode=zero", "unknown mode 'zero' (it takes zeros (the only mode of "
     "PyTorch's transposed convolutions)); did you mean 'zeros'?"),
]


@pytest.mark.parametrize(("layer", "message"), BAD_MODES, ids=[row[0] for row in BAD_MODES])
def test_a_mode_torch_refuses_is_refused_by_name(layer: str, message: str) -> None:
    with pytest.raises(SymconvError) as caught:
        symconv.parse(f"input 2 x 6 x 6\n{layer}")
    assert message in str(caught.value)
    assert caught.value.source is not None and caught.value.source.line == 2


@pytest.mark.parametrize("mode", [*MODES, "zero", "reflection", "mirror", "Reflect"])
@pytest.mark.parametrize("transposed", [False, True])
def test_the_modes_symconv_accepts_are_the_modes_torch_accepts(mode: str,
                                                               transposed: bool) -> None:
    """At construction: PyTorch's constructor raises exactly where the description is
    refused."""
    cls = nn.ConvTranspose2d if transposed else nn.Conv2d
    try:
        cls(2, 3, 3, padding_mode=mode)
        torch_accepts = True
    except ValueError:
        torch_accepts = False
    name = "nn.ConvTranspose2d" if transposed else "nn.Conv2d"
    for layer in (f"{name}(2, 3, 3, padding_mode='{mode}')",
                  f"{'convT' if transposed else 'conv'} 3 k=3 mode={mode}"):
        try:
            symconv.parse(f"input 2 x 6 x 6\n{layer}")
            accepts = True
        except SymconvError:
            accepts = False
        assert accepts == torch_accepts, layer
